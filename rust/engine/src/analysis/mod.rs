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

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::model::MailAccessRecord;
pub use pattern::{AddressRange, Wildcard};
pub use steps::{ContextAnalysis, ContextOptions, ContextSummary, FindAnalysis, MessageAccess, MessageRead, ReadAnalysis, SyncAnalysis, SyncGroup};
pub use throttling::{ThrottlingAnalysis, ThrottlingResult, UnauditedWindow};
pub use verdict::{Finding, FindingKind, Indicators, VerdictAnalysis, VerdictOptions, VerdictResult};

/// An analysis fed one record at a time.
pub trait Analysis: Send {
    fn add(&mut self, record: &MailAccessRecord);
    fn finish(self: Box<Self>) -> AnalysisResult;
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
/// for display.
#[derive(Default, Debug)]
pub(crate) struct Strings {
    ids: HashMap<Box<str>, u32>,
    keys: Vec<Box<str>>,
    display: Vec<Box<str>>,
}

impl Strings {
    pub(crate) fn intern(&mut self, text: &str) -> u32 {
        if let Some(&id) = self.ids.get(text) {
            return id;
        }
        let id = self.keys.len() as u32;
        self.ids.insert(text.into(), id);
        self.keys.push(text.into());
        self.display.push(text.into());
        id
    }

    /// Interned by its lower-cased form; displayed as first seen.
    pub(crate) fn intern_folded(&mut self, text: &str) -> u32 {
        if text.bytes().all(|b| !b.is_ascii_uppercase()) && text.is_ascii() {
            return self.intern(text);
        }
        let key = text.to_lowercase();
        if let Some(&id) = self.ids.get(key.as_str()) {
            return id;
        }
        let id = self.intern(&key);
        self.display[id as usize] = text.into();
        id
    }

    pub(crate) fn key(&self, id: u32) -> &str {
        &self.keys[id as usize]
    }

    pub(crate) fn display(&self, id: u32) -> &str {
        &self.display[id as usize]
    }
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
            address: record.client_address.as_ref().map(|a| strings.intern(&address_text(a))),
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

/// A context written out.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct ContextText {
    pub client_ip_address: Option<String>,
    pub client_info_string: Option<String>,
    pub session_id: Option<String>,
    pub user_id: Option<String>,
}

/// The normalised text of an address: what contexts are grouped and compared by.
pub(crate) fn address_text(address: &crate::address::ClientAddress) -> String {
    match address.ip {
        Some(ip) => ip.to_string(),
        None => address.original.trim().to_ascii_lowercase(),
    }
}

/// A record's Id and time, for evidence lists (sorted by time, then id).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct RecordRef {
    pub time: DateTime<Utc>,
    pub id: u32,
}

pub(crate) fn record_ref(record: &MailAccessRecord, strings: &mut Strings) -> RecordRef {
    RecordRef {
        time: record.creation_time,
        id: strings.intern(record.record_id.as_deref().unwrap_or("")),
    }
}

/// Evidence ids in order: by time, then id text; each once.
pub(crate) fn evidence_ids(refs: &[RecordRef], strings: &Strings) -> Vec<String> {
    let mut sorted: Vec<(DateTime<Utc>, &str)> = refs.iter().map(|r| (r.time, strings.key(r.id))).collect();
    sorted.sort();
    sorted.dedup();
    sorted.into_iter().map(|(_, id)| id.to_string()).collect()
}

/// Mailbox sort key (case-insensitive; absent first).
pub(crate) fn mailbox_sort_key(mailbox: Option<&str>) -> String {
    mailbox.map(str::to_lowercase).unwrap_or_default()
}

/// The distinct message ids of a record's items: a record that lists one message twice (in two
/// folders) still read it once.
pub(crate) fn distinct_items(record: &MailAccessRecord) -> Vec<&crate::model::MessageItem> {
    let mut seen = std::collections::HashSet::new();
    record.items.iter().filter(|item| seen.insert(item.internet_message_id.as_str())).collect()
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
