//! Microsoft's four forensic steps over MailItemsAccessed records, and the verdict.
//! See docs/semantics.md for what each answers.
//!
//! Every analysis takes records one at a time ([`Analysis::add`]) and keeps aggregates: memory
//! grows with the number of distinct mailboxes, contexts and messages, plus small per-record
//! evidence references where an output lists record ids.

mod bind;
mod context;
mod find;
pub mod message;
pub mod pattern;
mod sync;
#[cfg(test)]
pub(crate) mod testing;
mod throttling;
mod verdict;

use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::net::IpAddr;
use std::sync::atomic::AtomicBool;

use chrono::{DateTime, Utc};
use hashbrown::HashTable;
use rustc_hash::FxHashMap;

use crate::address::ClientAddress;
use crate::model::MailAccessRecord;
pub use bind::{BindAnalysis, MessageRead};
pub use context::{AccessContext, ContextAnalysis, ContextOptions};
pub use find::{FindAnalysis, MessageAccess};
use message::AnalysisWarning;
pub use pattern::{AddressRange, Wildcard};
pub use sync::{SyncActivity, SyncAnalysis};
pub use throttling::{ThrottlingAnalysis, ThrottlingResult, UnauditedWindow};
pub use verdict::{CompromiseKind, EvidenceRecord, Finding, Indicators, VerdictAnalysis, VerdictOptions};

/// An analysis fed one record at a time.
pub trait Analysis: Send {
    fn add(&mut self, record: &MailAccessRecord);

    /// A record outside the cmdlet's filters (counted as Filtered). Most analyses never see
    /// one; the verdict reads them for attribution and reports only the findings the filters
    /// select.
    fn add_filtered(&mut self, _record: &MailAccessRecord) {}

    /// The results. An analysis whose work can run long checks `cancel` in its loops and gives
    /// up with [`Cancelled`] once it is set (the command was stopped).
    fn finish(self: Box<Self>, cancel: &AtomicBool) -> Result<AnalysisResult, Cancelled>;
}

/// The command was stopped while an analysis was finishing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cancelled;

impl std::fmt::Display for Cancelled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the command was stopped")
    }
}

/// Gives up when the command was stopped: called in the loops of long work.
pub(crate) fn check(cancel: &AtomicBool) -> Result<(), Cancelled> {
    if cancel.load(std::sync::atomic::Ordering::Relaxed) {
        Err(Cancelled)
    } else {
        Ok(())
    }
}

/// What an analysis produced, and what the user should be told of it (as data: the front end
/// words it).
#[derive(Debug)]
pub struct AnalysisResult {
    pub output: AnalysisOutput,
    pub warnings: Vec<AnalysisWarning>,
}

impl AnalysisResult {
    pub fn new(output: AnalysisOutput, warnings: Vec<AnalysisWarning>) -> AnalysisResult {
        AnalysisResult { output, warnings }
    }
}

/// The rows of one analysis: each analysis answers with its own kind.
#[derive(Debug)]
pub enum AnalysisOutput {
    /// Get-MailAccessThrottling.
    Windows(Vec<UnauditedWindow>),
    /// Get-MailAccessSync.
    Syncs(Vec<SyncActivity>),
    /// Get-MailAccessContext.
    Contexts(Vec<AccessContext>),
    /// Get-MailAccessBind.
    Reads(Vec<MessageRead>),
    /// Find-MailAccessMessage.
    Accesses(Vec<MessageAccess>),
    /// Get-CompromisedMailAccess.
    Verdict(Verdict),
}

impl AnalysisOutput {
    /// The verdict's rows; None for another analysis.
    pub fn verdict(&self) -> Option<&Verdict> {
        match self {
            AnalysisOutput::Verdict(verdict) => Some(verdict),
            _ => None,
        }
    }

    pub fn into_verdict(self) -> Option<Verdict> {
        match self {
            AnalysisOutput::Verdict(verdict) => Some(verdict),
            _ => None,
        }
    }

    pub fn windows(&self) -> Option<&[UnauditedWindow]> {
        match self {
            AnalysisOutput::Windows(windows) => Some(windows),
            _ => None,
        }
    }

    pub fn accesses(&self) -> Option<&[MessageAccess]> {
        match self {
            AnalysisOutput::Accesses(accesses) => Some(accesses),
            _ => None,
        }
    }

    pub fn contexts(&self) -> Option<&[AccessContext]> {
        match self {
            AnalysisOutput::Contexts(contexts) => Some(contexts),
            _ => None,
        }
    }

    pub fn syncs(&self) -> Option<&[SyncActivity]> {
        match self {
            AnalysisOutput::Syncs(syncs) => Some(syncs),
            _ => None,
        }
    }

    pub fn reads(&self) -> Option<&[MessageRead]> {
        match self {
            AnalysisOutput::Reads(reads) => Some(reads),
            _ => None,
        }
    }
}

/// The verdict: its findings, and the records behind them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Verdict {
    pub findings: Vec<Finding>,
    /// The records behind the findings, each once, by time.
    pub evidence: Vec<EvidenceRecord>,
    /// (finding, evidence record) pairs: indexes into `findings` and `evidence`.
    pub finding_evidence: Vec<(u32, u32)>,
}

/// Which records an analysis considers (records outside are counted as Filtered).
#[derive(Clone, Debug, Default)]
pub struct RecordFilter {
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
    pub mailboxes: Vec<Wildcard>,
    pub users: Vec<Wildcard>,
}

impl RecordFilter {
    pub fn accepts(&self, record: &MailAccessRecord) -> bool {
        self.start.is_none_or(|start| record.creation_time >= start)
            && self.end.is_none_or(|end| record.creation_time < end)
            && pattern::any_match(&self.mailboxes, record.mailbox.as_deref())
            && pattern::any_match(&self.users, record.user_id.as_deref())
    }
}

/// Strings kept once and referred to by number. Keys that compare case-insensitively
/// (mailboxes, users, sessions, addresses that are not IP addresses) are interned lower-cased,
/// and shown in the spelling that sorts first (ordinal) of those seen, so that the output does
/// not depend on the order of the input; each exact spelling is remembered, so folding costs
/// once per spelling. IP addresses are interned by their parsed value, record ids in a table of
/// their own. Ids of exact strings (clients, app ids) are shown by [`Strings::key`], of folded
/// ones by [`Strings::display`].
#[derive(Default)]
pub(crate) struct Strings {
    /// Ids by their key's hash; the keys live once, in `keys`.
    ids: HashTable<u32>,
    keys: Vec<Box<str>>,
    /// The spelling shown for folded keys, where it differs from the key.
    display: FxHashMap<u32, Box<str>>,
    /// Exact spelling -> folded id.
    folded: FxHashMap<Box<str>, u32>,
    addresses: FxHashMap<IpAddr, u32>,
    records: Vec<RecordId>,
}

impl std::fmt::Debug for Strings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Strings({} keys, {} records)", self.keys.len(), self.records.len())
    }
}

fn hash_text(text: &str) -> u64 {
    use std::hash::BuildHasher;
    rustc_hash::FxBuildHasher.hash_one(text)
}

impl Strings {
    pub(crate) fn intern(&mut self, text: &str) -> u32 {
        let hash = hash_text(text);
        let keys = &self.keys;
        if let Some(&id) = self.ids.find(hash, |&id| &*keys[id as usize] == text) {
            return id;
        }
        let id = self.keys.len() as u32;
        self.keys.push(text.into());
        let keys = &self.keys;
        self.ids.insert_unique(hash, id, |&id| hash_text(&keys[id as usize]));
        id
    }

    /// Interned by its lower-cased form; shown in the spelling that sorts first.
    pub(crate) fn intern_folded(&mut self, text: &str) -> u32 {
        if let Some(&id) = self.folded.get(text) {
            return id;
        }
        let key = text.to_lowercase();
        let id = self.intern(&key);
        let shown = match self.display.get(&id) {
            Some(spelling) => Some(&**spelling),
            // The key itself is a spelling seen (not only an exact string of the same text).
            None => self.folded.get(key.as_str()).filter(|&&known| known == id).map(|_| key.as_str()),
        };
        if shown.is_none_or(|shown| text < shown) {
            if text == key {
                self.display.remove(&id);
            } else {
                self.display.insert(id, text.into());
            }
        }
        self.folded.insert(text.into(), id);
        id
    }

    /// An address: an IP address by its parsed value (shown in its canonical form), other text
    /// folded (as written, trimmed).
    pub(crate) fn intern_address(&mut self, address: &ClientAddress) -> u32 {
        match address.ip {
            Some(ip) => match self.addresses.get(&ip) {
                Some(&id) => id,
                None => {
                    let id = self.intern(&ip.to_string());
                    self.addresses.insert(ip, id);
                    id
                }
            },
            None => self.intern_folded(address.original.trim()),
        }
    }

    pub(crate) fn key(&self, id: u32) -> &str {
        &self.keys[id as usize]
    }

    /// The key of an optional id; empty when absent (so that absent sorts first).
    pub(crate) fn key_or_empty(&self, id: Option<u32>) -> &str {
        id.map(|id| self.key(id)).unwrap_or("")
    }

    pub(crate) fn display(&self, id: u32) -> &str {
        match self.display.get(&id) {
            Some(spelling) => spelling,
            None => &self.keys[id as usize],
        }
    }

    /// A record, by its Id: every call is a new record (two records may share an Id).
    pub(crate) fn record(&mut self, record_id: Option<&str>) -> u32 {
        let id = RecordId::of(record_id.unwrap_or(""), self);
        self.records.push(id);
        (self.records.len() - 1) as u32
    }

    /// How many distinct texts are interned.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.keys.len()
    }

    pub(crate) fn record_text(&self, record: u32) -> String {
        self.records[record as usize].text(self)
    }

    /// Records ordered by their Id's text, without writing GUIDs out.
    pub(crate) fn record_cmp(&self, a: u32, b: u32) -> Ordering {
        let (a, b) = (self.records[a as usize], self.records[b as usize]);
        match (a.is_guid(), b.is_guid()) {
            (true, true) => a.guid.cmp(&b.guid),
            _ => a.text(self).cmp(&b.text(self)),
        }
    }
}

/// A record Id: a canonical (lower-case) GUID as its 16 bytes, any other text interned.
/// GUID bytes order as the GUID's text does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct RecordId {
    guid: [u8; 16],
    /// `u32::MAX` for a GUID; otherwise the interned text.
    other: u32,
}

impl RecordId {
    pub(crate) fn of(text: &str, strings: &mut Strings) -> RecordId {
        match parse_guid(text) {
            Some(guid) => RecordId { guid, other: u32::MAX },
            None => RecordId { guid: [0; 16], other: strings.intern(text) },
        }
    }

    fn is_guid(&self) -> bool {
        self.other == u32::MAX
    }

    fn text(&self, strings: &Strings) -> String {
        if !self.is_guid() {
            return strings.key(self.other).to_string();
        }
        let hex: String = self.guid.iter().map(|b| format!("{b:02x}")).collect();
        format!("{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32])
    }
}

/// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` in lower case only: anything else keeps its text.
fn parse_guid(text: &str) -> Option<[u8; 16]> {
    let bytes: &[u8; 36] = text.as_bytes().try_into().ok()?;
    if bytes[8] != b'-' || bytes[13] != b'-' || bytes[18] != b'-' || bytes[23] != b'-' {
        return None;
    }
    // Every record has one (twice: the duplicate set and the record table): a table and no
    // early exit, so that the loop has no branch but the one at its end.
    /// Where each byte's two digits start.
    const DIGITS: [u8; 16] = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];
    let mut out = [0u8; 16];
    let mut bad = 0u8;
    for (byte, &at) in out.iter_mut().zip(&DIGITS) {
        let (high, low) = (HEX[bytes[at as usize] as usize], HEX[bytes[at as usize + 1] as usize]);
        bad |= high | low;
        *byte = (high << 4) | (low & 0x0f);
    }
    (bad & 0xf0 == 0).then_some(out)
}

/// The value of a lower-case hex digit; 0xff for any other byte.
const HEX: [u8; 256] = {
    let mut table = [0xffu8; 256];
    let mut i = 0;
    while i < 10 {
        table[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        table[b'a' as usize + i] = 10 + i as u8;
        i += 1;
    }
    table
};

/// The context of a record: client address, client, session and acting user. Ids refer to
/// [`Strings`]; None when the record does not say.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct ContextKey {
    pub address: Option<u32>,
    pub client: Option<u32>,
    pub session: Option<u32>,
    pub user: Option<u32>,
}

impl ContextKey {
    pub(crate) fn of(record: &MailAccessRecord, strings: &mut Strings) -> ContextKey {
        ContextKey {
            address: record.client_address.as_ref().map(|a| strings.intern_address(a)),
            client: record.client_info_string.as_deref().map(|c| strings.intern(c)),
            session: record.session_id.as_deref().map(|s| strings.intern_folded(s)),
            user: record.user_id.as_deref().map(|u| strings.intern_folded(u)),
        }
    }

    /// Sort key: the displayed texts, absent first.
    pub(crate) fn sort_key<'s>(&self, strings: &'s Strings) -> [&'s str; 4] {
        let text = |id: Option<u32>| id.map(|i| strings.key(i)).unwrap_or("");
        [text(self.address), text(self.client), text(self.session), text(self.user)]
    }

    pub(crate) fn describe(&self, strings: &Strings) -> ContextText {
        let text = |id: Option<u32>| id.map(|i| strings.display(i).to_string());
        ContextText {
            client_ip_address: text(self.address),
            client_info_string: self.client.map(|i| strings.key(i).to_string()),
            session_id: text(self.session),
            user_id: text(self.user),
        }
    }
}

/// What acted besides the context: the applications, and the Entra session of the token. Ids
/// refer to [`Strings`]; None when the record does not say.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct AppKey {
    pub app: Option<u32>,
    pub client_app: Option<u32>,
    /// Folded: Entra session ids are GUIDs, compared case-insensitively.
    pub aad_session: Option<u32>,
}

impl AppKey {
    pub(crate) fn of(record: &MailAccessRecord, strings: &mut Strings) -> AppKey {
        AppKey {
            app: record.app_id.as_deref().map(|a| strings.intern(a)),
            client_app: record.client_app_id.as_deref().map(|a| strings.intern(a)),
            aad_session: record.aad_session_id.as_deref().map(|s| strings.intern_folded(s)),
        }
    }
}

/// A record's token (UniqueTokenId, compared exactly: it is base64).
pub(crate) fn token_of(record: &MailAccessRecord, strings: &mut Strings) -> Option<u32> {
    record.unique_token_id.as_deref().map(|t| strings.intern(t))
}

/// Who acted in a finding's evidence: the distinct acting accounts (UserId), applications
/// (AppId, ClientAppId), Entra sessions and tokens of its records, each sorted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Actors {
    pub user_ids: Vec<String>,
    pub app_ids: Vec<String>,
    pub client_app_ids: Vec<String>,
    pub aad_session_ids: Vec<String>,
    pub unique_token_ids: Vec<String>,
}

/// The actors of records known by their context and applications, and their tokens.
pub(crate) fn actors<'a>(
    keys: impl Iterator<Item = (&'a ContextKey, &'a AppKey)> + Clone,
    tokens: impl Iterator<Item = u32>,
    strings: &Strings,
) -> Actors {
    let distinct = |ids: &mut dyn Iterator<Item = u32>| {
        let set: BTreeSet<&str> = ids.map(|id| strings.display(id)).collect();
        set.into_iter().map(str::to_string).collect::<Vec<_>>()
    };
    Actors {
        user_ids: distinct(&mut keys.clone().filter_map(|(c, _)| c.user)),
        app_ids: distinct(&mut keys.clone().filter_map(|(_, a)| a.app)),
        client_app_ids: distinct(&mut keys.clone().filter_map(|(_, a)| a.client_app)),
        aad_session_ids: distinct(&mut keys.filter_map(|(_, a)| a.aad_session)),
        unique_token_ids: distinct(&mut tokens.into_iter()),
    }
}

/// A context written out.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct ContextText {
    pub client_ip_address: Option<String>,
    pub client_info_string: Option<String>,
    pub session_id: Option<String>,
    pub user_id: Option<String>,
}

/// A record's time and its entry in [`Strings`]' record table, for evidence lists (sorted by
/// time, then id).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct RecordRef {
    pub time: DateTime<Utc>,
    pub id: u32,
}

pub(crate) fn record_ref(record: &MailAccessRecord, strings: &mut Strings) -> RecordRef {
    RecordRef { time: record.creation_time, id: strings.record(record.record_id.as_deref()) }
}

/// Orders references by time, then record Id.
pub(crate) fn ref_cmp(a: &RecordRef, b: &RecordRef, strings: &Strings) -> Ordering {
    a.time.cmp(&b.time).then_with(|| strings.record_cmp(a.id, b.id))
}

/// Widens a first/last pair with one more time.
pub(crate) fn widen(span: &mut (DateTime<Utc>, DateTime<Utc>), time: DateTime<Utc>) {
    span.0 = span.0.min(time);
    span.1 = span.1.max(time);
}

/// The distinct addresses, sessions and clients of some contexts, as text, each sorted: the
/// context columns of a finding.
pub(crate) fn context_lists<'a>(
    contexts: impl Iterator<Item = &'a ContextKey> + Clone,
    strings: &Strings,
) -> (Vec<String>, Vec<String>, Vec<String>) {
    let distinct = |pick: fn(&ContextKey) -> Option<u32>, folded: bool| {
        let show = |id: u32| if folded { strings.display(id) } else { strings.key(id) };
        let set: BTreeSet<&str> = contexts.clone().filter_map(pick).map(show).collect();
        set.into_iter().map(str::to_string).collect::<Vec<_>>()
    };
    (distinct(|c| c.address, true), distinct(|c| c.session, true), distinct(|c| c.client, false))
}

/// Evidence ids in order: by time, then id; each once.
pub(crate) fn evidence_ids(refs: &[RecordRef], strings: &Strings) -> Vec<String> {
    let mut sorted: Vec<(DateTime<Utc>, String)> = refs.iter().map(|r| (r.time, strings.record_text(r.id))).collect();
    sorted.sort();
    sorted.dedup();
    sorted.into_iter().map(|(_, id)| id).collect()
}

/// Mailbox sort key (case-insensitive; absent first).
pub(crate) fn mailbox_sort_key(mailbox: Option<&str>) -> String {
    mailbox.map(str::to_lowercase).unwrap_or_default()
}

/// Up to this many values, finding the distinct ones by a scan beats a hash set; beyond, a scan
/// would cost the square of their number (a Sync record can name 100,000 folders).
const SCAN_DISTINCT: usize = 16;

/// The first of each distinct key, in order, in linear time.
fn distinct_by<'a, T: ?Sized, K: Eq + std::hash::Hash + Copy>(
    values: impl Iterator<Item = &'a T>,
    len: usize,
    key: impl Fn(&'a T) -> K,
) -> Vec<&'a T> {
    let mut out: Vec<&T> = Vec::with_capacity(len);
    if len <= SCAN_DISTINCT {
        for value in values {
            if !out.iter().any(|seen| key(seen) == key(value)) {
                out.push(value);
            }
        }
    } else {
        let mut seen = rustc_hash::FxHashSet::with_capacity_and_hasher(len, Default::default());
        out.extend(values.filter(|value| seen.insert(key(value))));
    }
    out
}

/// The distinct message ids of a record's items: a record that lists one message twice (in two
/// folders) still read it once.
pub(crate) fn distinct_items(record: &MailAccessRecord) -> Vec<&crate::model::MessageItem> {
    distinct_by(record.items.iter(), record.items.len(), |item| item.internet_message_id.as_str())
}

/// The distinct folder paths a record names (a path named twice is one folder); a record that
/// names none has one unnamed folder.
pub(crate) fn folder_paths(record: &MailAccessRecord) -> Vec<Option<&str>> {
    let folders = distinct_by(record.folders.iter(), record.folders.len(), |folder| folder.path.as_deref());
    let mut paths: Vec<Option<&str>> = folders.into_iter().map(|folder| folder.path.as_deref()).collect();
    if paths.is_empty() {
        paths.push(None);
    }
    paths
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_ids_keep_their_text_and_order() {
        let mut strings = Strings::default();
        let texts = [
            "461a38ce-fc36-4a4d-b73e-643262cc063f",
            "0c1f8a5e-6b2d-4c9e-a7f3-2d5e8b000030",
            "ANONYMIZED",
            "461A38CE-FC36-4A4D-B73E-643262CC063F",
            "",
        ];
        let ids: Vec<u32> = texts.iter().map(|t| strings.record(Some(t))).collect();
        for (id, text) in ids.iter().zip(texts) {
            assert_eq!(strings.record_text(*id), text);
        }
        let mut by_text: Vec<u32> = ids.clone();
        by_text.sort_by_key(|a| strings.record_text(*a));
        let mut by_cmp = ids.clone();
        by_cmp.sort_by(|a, b| strings.record_cmp(*a, *b));
        assert_eq!(by_cmp, by_text);
        assert_eq!(parse_guid("461a38ce-fc36-4a4d-b73e-643262cc063g"), None);
    }

    #[test]
    fn a_guid_is_its_bytes_only_in_canonical_form() {
        let text = "0123abcd-ef45-6789-a0b1-c2d3e4f5a6b7";
        let guid = parse_guid(text).expect("a canonical GUID");
        assert_eq!(guid, [0x01, 0x23, 0xab, 0xcd, 0xef, 0x45, 0x67, 0x89, 0xa0, 0xb1, 0xc2, 0xd3, 0xe4, 0xf5, 0xa6, 0xb7]);
        let mut strings = Strings::default();
        assert_eq!(RecordId::of(text, &mut strings).text(&strings), text);
        // Any one character out of place, at any position, and it is text.
        for at in 0..text.len() {
            for wrong in ['g', 'A', 'F', '-', ' ', '/', ':', '`', '0'] {
                let mut bad: Vec<char> = text.chars().collect();
                if bad[at] == wrong || (wrong == '0' && bad[at] != '-') {
                    continue;
                }
                bad[at] = wrong;
                let bad: String = bad.into_iter().collect();
                assert_eq!(parse_guid(&bad), None, "{bad}");
            }
        }
        assert_eq!(parse_guid(&text[1..]), None);
        assert_eq!(parse_guid(&format!("{text}0")), None);
        assert_eq!(parse_guid("é123abcd-ef45-6789-a0b1-c2d3e4f5a6b"), None);
    }

    #[test]
    fn distinct_items_and_folders_are_found_in_linear_time() {
        use crate::model::{FolderAccess, MessageItem};
        // Found by a scan, 200,000 distinct values cost 2·10^10 comparisons: hours unoptimised.
        let n = 200_000;
        let mut record = testing::rec("r1", "2024-05-01T10:00:00Z").done();
        record.items = (0..n)
            .map(|i| MessageItem { internet_message_id: format!("<m{}@x>", i % (n / 2)), folder_path: None, size_in_bytes: None })
            .collect();
        record.folders = (0..n).map(|i| FolderAccess { path: Some(format!("\\F{}", i % (n / 2))), id: None, item_count: None }).collect();
        let started = std::time::Instant::now();
        let items = distinct_items(&record);
        let folders = folder_paths(&record);
        assert_eq!((items.len(), folders.len()), (n / 2, n / 2));
        // The first of each, in order.
        assert_eq!(items[1].internet_message_id, "<m1@x>");
        assert_eq!(folders[1], Some("\\F1"));
        assert!(started.elapsed() < std::time::Duration::from_secs(30), "{:?}", started.elapsed());
        // A few: by a scan, the same answer.
        record.items.truncate(3);
        record.items[2].internet_message_id = "<m0@x>".to_string();
        assert_eq!(distinct_items(&record).len(), 2);
    }

    #[test]
    fn folded_keys_show_one_spelling_whatever_the_order() {
        let spellings = ["Alice@Contoso.com", "alice@contoso.com", "ALICE@CONTOSO.COM"];
        for order in [[0, 1, 2], [1, 0, 2], [2, 1, 0], [1, 2, 0]] {
            let mut strings = Strings::default();
            // An exact string with the key's text does not lend it its spelling.
            strings.intern("alice@contoso.com");
            let ids: Vec<u32> = order.iter().map(|&i| strings.intern_folded(spellings[i])).collect();
            assert!(ids.iter().all(|&id| id == ids[0]));
            assert_eq!(strings.display(ids[0]), "ALICE@CONTOSO.COM", "{order:?}");
            assert_eq!(strings.key(ids[0]), "alice@contoso.com");
        }
        let mut strings = Strings::default();
        let id = strings.intern_folded("bob@x");
        assert_eq!(strings.display(id), "bob@x");
    }

    #[test]
    fn an_address_that_is_not_an_ip_keeps_its_spelling() {
        let spellings = ["Proxy-A.contoso.com", "proxy-a.CONTOSO.com", " PROXY-a.contoso.com "];
        for order in [[0, 1, 2], [2, 1, 0], [1, 2, 0]] {
            let mut strings = Strings::default();
            let ids: Vec<u32> = order.iter().map(|&i| strings.intern_address(&ClientAddress::parse(spellings[i]).unwrap())).collect();
            assert!(ids.iter().all(|&id| id == ids[0]));
            assert_eq!(strings.display(ids[0]), "PROXY-a.contoso.com", "{order:?}");
        }
        let mut strings = Strings::default();
        let ip = strings.intern_address(&ClientAddress::parse("FE80::0").unwrap());
        assert_eq!(strings.display(ip), "fe80::");
    }
}
