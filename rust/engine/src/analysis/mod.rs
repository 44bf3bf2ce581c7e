//! Microsoft's four forensic steps over MailItemsAccessed records, and the verdict.
//! See docs/semantics.md for what each answers.
//!
//! Every analysis takes records one at a time ([`Analysis::add`]) and keeps aggregates: memory
//! grows with the number of distinct mailboxes, contexts and messages, plus small per-record
//! evidence references where an output lists record ids.

pub mod pattern;
mod steps;
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

use crate::address::{AddressKey, ClientAddress};
use crate::model::MailAccessRecord;
pub use pattern::{AddressRange, Wildcard};
pub use steps::{ContextAnalysis, ContextOptions, ContextSummary, FindAnalysis, MessageAccess, MessageRead, ReadAnalysis, SyncAnalysis, SyncGroup};
pub use throttling::{ThrottlingAnalysis, ThrottlingResult, UnauditedWindow};
pub use verdict::{EvidenceRecord, Finding, FindingKind, Indicators, VerdictAnalysis, VerdictOptions, VerdictResult};

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

/// What an analysis produced; `warnings` are sentences for the user.
#[derive(Debug, Default)]
pub struct AnalysisResult {
    pub windows: Vec<UnauditedWindow>,
    pub syncs: Vec<SyncGroup>,
    pub contexts: Vec<ContextSummary>,
    pub reads: Vec<MessageRead>,
    pub accesses: Vec<MessageAccess>,
    pub findings: Vec<Finding>,
    /// The records behind the findings (the verdict), each once, by time.
    pub evidence: Vec<EvidenceRecord>,
    /// (finding, evidence record) pairs: indexes into `findings` and `evidence`.
    pub finding_evidence: Vec<(u32, u32)>,
    pub warnings: Vec<String>,
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
/// (mailboxes, users, sessions) are interned lower-cased, with the first spelling seen kept
/// for display; each exact spelling is remembered, so folding costs once per spelling.
/// Addresses are interned by their parsed value, record ids in a table of their own.
#[derive(Default)]
pub(crate) struct Strings {
    /// Ids by their key's hash; the keys live once, in `keys`.
    ids: HashTable<u32>,
    keys: Vec<Box<str>>,
    /// The first spelling of folded keys whose spelling differs from the key.
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

    /// Interned by its lower-cased form; displayed as first seen.
    pub(crate) fn intern_folded(&mut self, text: &str) -> u32 {
        if let Some(&id) = self.folded.get(text) {
            return id;
        }
        let key = text.to_lowercase();
        let known = self.keys.len();
        let id = self.intern(&key);
        if id as usize == known && key != text {
            self.display.insert(id, text.into());
        }
        self.folded.insert(text.into(), id);
        id
    }

    /// An address, by [`ClientAddress::key`] (its parsed value, else its lower-cased text).
    pub(crate) fn intern_address(&mut self, address: &ClientAddress) -> u32 {
        match address.key() {
            AddressKey::Ip(ip) => match self.addresses.get(&ip) {
                Some(&id) => id,
                None => {
                    let id = self.intern(&ip.to_string());
                    self.addresses.insert(ip, id);
                    id
                }
            },
            AddressKey::Text(text) => self.intern(&text),
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
    let bytes = text.as_bytes();
    if bytes.len() != 36 || bytes[8] != b'-' || bytes[13] != b'-' || bytes[18] != b'-' || bytes[23] != b'-' {
        return None;
    }
    let mut out = [0u8; 16];
    let mut nibbles = bytes.iter().filter(|&&b| b != b'-');
    for byte in out.iter_mut() {
        let mut value = 0u8;
        for _ in 0..2 {
            let digit = match *nibbles.next()? {
                c @ b'0'..=b'9' => c - b'0',
                c @ b'a'..=b'f' => c - b'a' + 10,
                _ => return None,
            };
            value = value * 16 + digit;
        }
        *byte = value;
    }
    Some(out)
}

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
            client_info_string: text(self.client),
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
    let distinct = |pick: fn(&ContextKey) -> Option<u32>| {
        let set: BTreeSet<&str> = contexts.clone().filter_map(pick).map(|id| strings.display(id)).collect();
        set.into_iter().map(str::to_string).collect::<Vec<_>>()
    };
    (distinct(|c| c.address), distinct(|c| c.session), distinct(|c| c.client))
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

/// The distinct message ids of a record's items: a record that lists one message twice (in two
/// folders) still read it once. Records list a handful of items: a scan beats a hash set.
pub(crate) fn distinct_items(record: &MailAccessRecord) -> Vec<&crate::model::MessageItem> {
    let mut items: Vec<&crate::model::MessageItem> = Vec::with_capacity(record.items.len());
    for item in &record.items {
        if !items.iter().any(|seen| seen.internet_message_id == item.internet_message_id) {
            items.push(item);
        }
    }
    items
}

/// The distinct folder paths a record names (a path named twice is one folder); a record that
/// names none has one unnamed folder.
pub(crate) fn folder_paths(record: &MailAccessRecord) -> Vec<Option<&str>> {
    let mut paths: Vec<Option<&str>> = Vec::new();
    for folder in &record.folders {
        let path = folder.path.as_deref();
        if !paths.contains(&path) {
            paths.push(path);
        }
    }
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
        let texts = ["461a38ce-fc36-4a4d-b73e-643262cc063f", "0c1f8a5e-6b2d-4c9e-a7f3-2d5e8b000030", "ANONYMIZED", "461A38CE-FC36-4A4D-B73E-643262CC063F", ""];
        let ids: Vec<u32> = texts.iter().map(|t| strings.record(Some(t))).collect();
        for (id, text) in ids.iter().zip(texts) {
            assert_eq!(strings.record_text(*id), text);
        }
        let mut by_text: Vec<u32> = ids.clone();
        by_text.sort_by(|a, b| strings.record_text(*a).cmp(&strings.record_text(*b)));
        let mut by_cmp = ids.clone();
        by_cmp.sort_by(|a, b| strings.record_cmp(*a, *b));
        assert_eq!(by_cmp, by_text);
        assert_eq!(parse_guid("461a38ce-fc36-4a4d-b73e-643262cc063g"), None);
    }

    #[test]
    fn folded_keys_remember_each_spelling() {
        let mut strings = Strings::default();
        let a = strings.intern_folded("Alice@Contoso.com");
        let b = strings.intern_folded("alice@contoso.com");
        let c = strings.intern_folded("ALICE@CONTOSO.COM");
        assert_eq!((a, a), (b, c));
        assert_eq!(strings.display(a), "Alice@Contoso.com");
        assert_eq!(strings.key(a), "alice@contoso.com");
    }
}
