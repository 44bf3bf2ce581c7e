//! The verdict: which mail must be treated as compromised, given what is known of the
//! attacker, with the evidence for each answer (docs/semantics.md, Get-CompromisedMailAccess).

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use chrono::{DateTime, Utc};

use super::pattern::{AddressRange, Wildcard};
use super::throttling::ThrottlingAnalysis;
use rustc_hash::FxHashMap;
use smallvec::SmallVec;

use super::{
    context_lists, distinct_items, evidence_ids, folder_paths, mailbox_sort_key, record_ref, ref_cmp, widen, Analysis, AnalysisResult,
    ContextKey, RecordRef, Strings,
};
use crate::model::{AccessType, MailAccessRecord};

mod evidence;
use evidence::{Attributed, EvidenceLog};
pub use evidence::EvidenceRecord;

/// What is known of the attacker.
#[derive(Clone, Debug, Default)]
pub struct Indicators {
    pub addresses: Vec<AddressRange>,
    pub sessions: Vec<String>,
    pub client_info_strings: Vec<Wildcard>,
    /// Matched against AppId and ClientAppId.
    pub app_ids: Vec<String>,
}

impl Indicators {
    pub fn is_empty(&self) -> bool {
        self.addresses.is_empty() && self.sessions.is_empty() && self.client_info_strings.is_empty() && self.app_ids.is_empty()
    }
}

#[derive(Clone, Debug)]
pub struct VerdictOptions {
    pub indicators: Indicators,
    /// Follow links between the attacker's addresses and sessions to a fixed point.
    pub expand: bool,
    /// The period of attacker access; records outside it take no part in attribution.
    pub period_start: Option<DateTime<Utc>>,
    pub period_end: Option<DateTime<Utc>>,
}

impl Default for VerdictOptions {
    fn default() -> Self {
        VerdictOptions { indicators: Indicators::default(), expand: true, period_start: None, period_end: None }
    }
}

/// Kinds of finding, in the order they sort within one mailbox and start time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u32)]
pub enum FindingKind {
    ThrottledWindow = 1,
    SyncedFolder = 2,
    AccessedMessage = 3,
    UnresolvedAccess = 4,
    AttackerIndicator = 5,
}

impl FindingKind {
    pub fn name(self) -> &'static str {
        match self {
            FindingKind::ThrottledWindow => "ThrottledWindow",
            FindingKind::SyncedFolder => "SyncedFolder",
            FindingKind::AccessedMessage => "AccessedMessage",
            FindingKind::UnresolvedAccess => "UnresolvedAccess",
            FindingKind::AttackerIndicator => "AttackerIndicator",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub kind: FindingKind,
    pub mailbox: Option<String>,
    pub folder_path: Option<String>,
    pub internet_message_id: Option<String>,
    pub size_in_bytes: Option<u64>,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// None when unknown (an unresolved record without OperationCount).
    pub access_count: Option<u64>,
    pub client_ip_addresses: Vec<String>,
    pub session_ids: Vec<String>,
    pub client_info_strings: Vec<String>,
    pub reason: String,
    pub evidence_record_ids: Vec<String>,
}

pub type VerdictResult = Vec<Finding>;

/// A context together with the application, which the app indicator matches on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct FineKey {
    context: ContextKey,
    app: Option<u32>,
    client_app: Option<u32>,
}

/// One message as one context read it. Most contexts read a message once: the first
/// reference lives inline.
struct MessageState {
    /// The latest access and its folder (interned path).
    latest_folder: (DateTime<Utc>, Option<u32>),
    size: Option<u64>,
    refs: SmallVec<[RecordRef; 1]>,
}

struct Unresolved {
    reference: RecordRef,
    mailbox: Option<String>,
    folder: Option<String>,
    operation_count: Option<u64>,
    recovered: usize,
    degraded: Option<String>,
}

/// Everything attribution needs of one context, aggregated over its in-period records.
struct FineState {
    key: FineKey,
    ip: Option<IpAddr>,
    records: u64,
    span: (DateTime<Utc>, DateTime<Utc>),
    earliest: RecordRef,
    /// By (mailbox, message): mailboxes are folded ids, display from [`Strings`].
    messages: FxHashMap<(Option<u32>, u32), MessageState>,
    /// By (mailbox, folder path).
    syncs: FxHashMap<(Option<u32>, Option<u32>), Vec<RecordRef>>,
    unresolved: Vec<Unresolved>,
}

/// Why a context is the attacker's.
#[derive(Clone, Debug)]
enum Attribution {
    Address(String),
    Session(String),
    ClientInfoString(String),
    App(String),
    LinkedAddress(u32),
    LinkedSession(u32),
}

/// Why an address or session is the attacker's.
#[derive(Clone, Debug)]
enum Link {
    Given(String),
    /// Linked by this context's earliest record.
    Linked { context: usize },
}

pub struct VerdictAnalysis {
    options: VerdictOptions,
    strings: Strings,
    throttling: ThrottlingAnalysis,
    contexts: Vec<FineState>,
    index: FxHashMap<FineKey, usize>,
    /// What the aggregates do not keep of the records, for the evidence of each finding.
    evidence: EvidenceLog,
}

impl VerdictAnalysis {
    pub fn new(options: VerdictOptions) -> VerdictAnalysis {
        VerdictAnalysis {
            options,
            strings: Strings::default(),
            throttling: ThrottlingAnalysis::new(),
            contexts: Vec::new(),
            index: FxHashMap::default(),
            evidence: EvidenceLog::default(),
        }
    }

    fn in_period(&self, time: DateTime<Utc>) -> bool {
        self.options.period_start.is_none_or(|s| time >= s) && self.options.period_end.is_none_or(|e| time < e)
    }

    /// The indicator a context matches by itself, if any.
    fn seed(&self, state: &FineState) -> Option<Attribution> {
        let indicators = &self.options.indicators;
        if let Some(ip) = state.ip {
            if let Some(range) = indicators.addresses.iter().find(|r| r.contains(&ip)) {
                return Some(Attribution::Address(range.text().to_string()));
            }
        }
        if let Some(session) = state.key.context.session {
            let text = self.strings.key(session);
            if let Some(given) = indicators.sessions.iter().find(|s| s.eq_ignore_ascii_case(text)) {
                return Some(Attribution::Session(given.clone()));
            }
        }
        if let Some(client) = state.key.context.client {
            let text = self.strings.key(client);
            if let Some(pattern) = indicators.client_info_strings.iter().find(|p| p.is_match(text)) {
                return Some(Attribution::ClientInfoString(pattern.text().to_string()));
            }
        }
        for app in [state.key.app, state.key.client_app].into_iter().flatten() {
            let text = self.strings.key(app);
            if let Some(given) = indicators.app_ids.iter().find(|a| a.eq_ignore_ascii_case(text)) {
                return Some(Attribution::App(given.clone()));
            }
        }
        None
    }

    /// Marks the attacker's contexts; with expansion, follows address and session links to a
    /// fixed point. Returns the attribution of each context and the attacker's addresses and
    /// sessions with why each is theirs.
    fn attribute(&self) -> (Vec<Option<Attribution>>, BTreeMap<u32, Link>, BTreeMap<u32, Link>) {
        let mut attributed: Vec<Option<Attribution>> = self.contexts.iter().map(|c| self.seed(c)).collect();
        let mut addresses: BTreeMap<u32, Link> = BTreeMap::new();
        let mut sessions: BTreeMap<u32, Link> = BTreeMap::new();
        for (i, state) in self.contexts.iter().enumerate() {
            match &attributed[i] {
                Some(Attribution::Address(range)) => {
                    if let Some(address) = state.key.context.address {
                        addresses.entry(address).or_insert_with(|| Link::Given(range.clone()));
                    }
                }
                Some(Attribution::Session(given)) => {
                    if let Some(session) = state.key.context.session {
                        sessions.entry(session).or_insert_with(|| Link::Given(given.clone()));
                    }
                }
                _ => {}
            }
        }
        if !self.options.expand {
            return (attributed, addresses, sessions);
        }
        loop {
            let mut changed = false;
            for (i, state) in self.contexts.iter().enumerate() {
                if attributed[i].is_some() {
                    continue;
                }
                let by_address = state.key.context.address.filter(|a| addresses.contains_key(a));
                let by_session = state.key.context.session.filter(|s| sessions.contains_key(s));
                if let Some(address) = by_address {
                    attributed[i] = Some(Attribution::LinkedAddress(address));
                    changed = true;
                } else if let Some(session) = by_session {
                    attributed[i] = Some(Attribution::LinkedSession(session));
                    changed = true;
                }
            }
            // New addresses and sessions, each linked by the earliest record that carries it.
            // A context links by its earliest record: the earliest such record wins.
            let earlier = |a: usize, b: usize| {
                let (x, y) = (&self.contexts[a].earliest, &self.contexts[b].earliest);
                ref_cmp(x, y, &self.strings).then(a.cmp(&b)) == std::cmp::Ordering::Less
            };
            let mut new_addresses: BTreeMap<u32, usize> = BTreeMap::new();
            let mut new_sessions: BTreeMap<u32, usize> = BTreeMap::new();
            for (i, state) in self.contexts.iter().enumerate() {
                if attributed[i].is_none() {
                    continue;
                }
                if let Some(address) = state.key.context.address.filter(|a| !addresses.contains_key(a)) {
                    let entry = new_addresses.entry(address).or_insert(i);
                    if earlier(i, *entry) {
                        *entry = i;
                    }
                }
                if let Some(session) = state.key.context.session.filter(|s| !sessions.contains_key(s)) {
                    let entry = new_sessions.entry(session).or_insert(i);
                    if earlier(i, *entry) {
                        *entry = i;
                    }
                }
            }
            for (address, context) in new_addresses {
                addresses.insert(address, Link::Linked { context });
                changed = true;
            }
            for (session, context) in new_sessions {
                sessions.insert(session, Link::Linked { context });
                changed = true;
            }
            if !changed {
                return (attributed, addresses, sessions);
            }
        }
    }

    fn describe_attribution(&self, attribution: &Attribution) -> String {
        match attribution {
            Attribution::Address(range) => format!("its address matches -AttackerIPAddress {range}"),
            Attribution::Session(session) => format!("its session is -AttackerSessionId {session}"),
            Attribution::ClientInfoString(pattern) => format!("its client matches -AttackerClientInfoString '{pattern}'"),
            Attribution::App(app) => format!("its application is -AttackerAppId {app}"),
            Attribution::LinkedAddress(a) => format!("its address {} is the attacker's", self.strings.display(*a)),
            Attribution::LinkedSession(s) => format!("its session {} is the attacker's", self.strings.display(*s)),
        }
    }

    fn link_reason(&self, what: &str, link: &Link, attributed: &[Option<Attribution>]) -> (String, Vec<String>) {
        match link {
            Link::Given(given) => (format!("{what} was given as an attacker indicator ({given})."), Vec::new()),
            Link::Linked { context } => {
                let state = &self.contexts[*context];
                let record = self.strings.record_text(state.earliest.id);
                let why = attributed[*context].as_ref().map(|a| self.describe_attribution(a)).unwrap_or_default();
                (
                    format!(
                        "{what} is linked to the attacker by record {record} at {}: {why}.",
                        state.earliest.time.format("%Y-%m-%dT%H:%M:%SZ")
                    ),
                    vec![record],
                )
            }
        }
    }
}

impl Analysis for VerdictAnalysis {
    fn add(&mut self, record: &MailAccessRecord) {
        self.throttling.add_record(record);
        self.evidence.note_throttled(record);
        if !self.in_period(record.creation_time) {
            return;
        }
        let strings = &mut self.strings;
        let key = FineKey {
            context: ContextKey::of(record, strings),
            app: record.app_id.as_deref().map(|a| strings.intern(a)),
            client_app: record.client_app_id.as_deref().map(|a| strings.intern(a)),
        };
        let reference = record_ref(record, strings);
        self.evidence.note(reference, record, strings);
        let mailbox = record.mailbox.as_deref().map(|m| strings.intern_folded(m));
        let index = match self.index.get(&key) {
            Some(&i) => i,
            None => {
                self.contexts.push(FineState {
                    key,
                    ip: record.client_address.as_ref().and_then(|a| a.ip),
                    records: 0,
                    span: (record.creation_time, record.creation_time),
                    earliest: reference,
                    messages: FxHashMap::default(),
                    syncs: FxHashMap::default(),
                    unresolved: Vec::new(),
                });
                self.index.insert(key, self.contexts.len() - 1);
                self.contexts.len() - 1
            }
        };
        let state = &mut self.contexts[index];
        state.records += 1;
        widen(&mut state.span, record.creation_time);
        if ref_cmp(&reference, &state.earliest, strings).is_lt() {
            state.earliest = reference;
        }
        if record.access_type == AccessType::Sync {
            for folder in folder_paths(record) {
                let folder = folder.map(|f| strings.intern(f));
                state.syncs.entry((mailbox, folder)).or_default().push(reference);
            }
            return;
        }
        let items = distinct_items(record);
        for item in &items {
            let message = strings.intern(&item.internet_message_id);
            let folder = item.folder_path.as_deref().map(|f| strings.intern(f));
            let entry = state.messages.entry((mailbox, message)).or_insert_with(|| MessageState {
                latest_folder: (record.creation_time, folder),
                size: None,
                refs: SmallVec::new(),
            });
            if is_later(strings, (record.creation_time, folder), entry.latest_folder) {
                entry.latest_folder = (record.creation_time, folder);
            }
            entry.size = entry.size.max(item.size_in_bytes);
            entry.refs.push(reference);
        }
        let lost_items = record.degraded.is_some() && record.folders.iter().any(|f| f.item_count.is_none());
        if items.is_empty() || lost_items {
            state.unresolved.push(Unresolved {
                reference,
                mailbox: record.mailbox.clone(),
                folder: record.folders.iter().find_map(|f| f.path.clone()),
                operation_count: record.operation_count,
                recovered: items.len(),
                degraded: record.degraded.clone(),
            });
        }
    }

    fn finish(self: Box<Self>) -> AnalysisResult {
        let mut findings = Vec::new();
        let mut warnings = Vec::new();
        let period_start = self.options.period_start;
        let period_end = self.options.period_end;

        // Throttled windows: whatever the context, inside or overlapping the period.
        for window in self.throttling.result().windows {
            let overlaps = period_end.is_none_or(|e| window.start < e) && period_start.is_none_or(|s| window.end > s);
            if !overlaps {
                continue;
            }
            findings.push(Finding {
                kind: FindingKind::ThrottledWindow,
                mailbox: window.mailbox.clone(),
                folder_path: None,
                internet_message_id: None,
                size_in_bytes: None,
                start: window.start,
                end: window.end,
                access_count: Some(window.throttled_record_count),
                client_ip_addresses: window.client_ip_addresses,
                session_ids: window.session_ids,
                client_info_strings: window.client_info_strings,
                reason: format!(
                    "IsThrottled was True in {} record(s): access to this mailbox was not audited from {} to {}; assume all its mail was read in that window.",
                    window.throttled_record_count,
                    window.start.format("%Y-%m-%dT%H:%M:%SZ"),
                    window.end.format("%Y-%m-%dT%H:%M:%SZ")
                ),
                evidence_record_ids: window.record_ids,
            });
        }

        if self.options.indicators.is_empty() {
            warnings.push("No attacker indicator was given (-AttackerIPAddress, -AttackerSessionId, -AttackerClientInfoString, -AttackerAppId): only throttled windows are reported; access cannot be attributed.".to_string());
            return self.with_evidence(sorted(findings, warnings), None);
        }

        let (attributed, addresses, sessions) = self.attribute();
        let strings = &self.strings;
        let attacker: Vec<&FineState> =
            self.contexts.iter().zip(&attributed).filter(|(_, a)| a.is_some()).map(|(c, _)| c).collect();
        let context_fields = |contexts: &BTreeSet<FineKey>| context_lists(contexts.iter().map(|k| &k.context), strings);

        // Synced folders.
        let mailbox_text = |mailbox: Option<u32>| mailbox.map(|m| strings.display(m).to_string());
        let mut synced: BTreeMap<(String, String), (Option<u32>, Option<u32>, Vec<RecordRef>, BTreeSet<FineKey>)> = BTreeMap::new();
        for state in &attacker {
            for (&(mailbox, folder), refs) in &state.syncs {
                let sort = (mailbox.map(|m| strings.key(m).to_string()).unwrap_or_default(), strings.key_or_empty(folder).to_string());
                let entry = synced.entry(sort).or_insert_with(|| (mailbox, folder, Vec::new(), BTreeSet::new()));
                entry.2.extend(refs);
                entry.3.insert(state.key);
            }
        }
        for (_, (mailbox, folder, refs, contexts)) in synced {
            let (ips, sessions_seen, clients) = context_fields(&contexts);
            let (start, end) = span(&refs);
            let folder = folder.map(|f| strings.key(f).to_string());
            findings.push(Finding {
                kind: FindingKind::SyncedFolder,
                mailbox: mailbox_text(mailbox),
                folder_path: folder.clone(),
                internet_message_id: None,
                size_in_bytes: None,
                start,
                end,
                access_count: Some(refs.len() as u64),
                reason: format!(
                    "Folder {} was synced {} time(s) in the attacker's context (from {}): a synced folder can be read offline, unaudited; assume every message in it was read.",
                    folder.as_deref().unwrap_or("(unnamed)"),
                    refs.len(),
                    list_or_unknown(&ips)
                ),
                client_ip_addresses: ips,
                session_ids: sessions_seen,
                client_info_strings: clients,
                evidence_record_ids: evidence_ids(&refs, strings),
            });
        }

        // Messages read.
        type MessageAgg = (Option<u32>, (DateTime<Utc>, Option<u32>), Option<u64>, Vec<RecordRef>, BTreeSet<FineKey>);
        let mut read: BTreeMap<(String, &str), MessageAgg> = BTreeMap::new();
        for state in &attacker {
            for (&(mailbox, message), m) in &state.messages {
                let sort = (mailbox.map(|id| strings.key(id).to_string()).unwrap_or_default(), strings.key(message));
                let entry = read.entry(sort).or_insert_with(|| (mailbox, m.latest_folder, None, Vec::new(), BTreeSet::new()));
                if is_later(strings, m.latest_folder, entry.1) {
                    entry.1 = m.latest_folder;
                }
                entry.2 = entry.2.max(m.size);
                entry.3.extend(&m.refs);
                entry.4.insert(state.key);
            }
        }
        for ((_, message_id), (mailbox, (_, folder), size, refs, contexts)) in read {
            let (ips, sessions_seen, clients) = context_fields(&contexts);
            let (start, end) = span(&refs);
            findings.push(Finding {
                kind: FindingKind::AccessedMessage,
                mailbox: mailbox_text(mailbox),
                folder_path: folder.map(|f| strings.key(f).to_string()),
                internet_message_id: Some(message_id.to_string()),
                size_in_bytes: size,
                start,
                end,
                access_count: Some(refs.len() as u64),
                reason: format!(
                    "Message {message_id} was read in {} record(s) in the attacker's context (from {}), first at {}.",
                    refs.len(),
                    list_or_unknown(&ips),
                    start.format("%Y-%m-%dT%H:%M:%SZ")
                ),
                client_ip_addresses: ips,
                session_ids: sessions_seen,
                client_info_strings: clients,
                evidence_record_ids: evidence_ids(&refs, strings),
            });
        }

        // Reads whose messages cannot be named.
        for state in &attacker {
            let (ips, sessions_seen, clients) = context_fields(&BTreeSet::from([state.key]));
            for unresolved in &state.unresolved {
                let record = strings.record_text(unresolved.reference.id);
                let count = unresolved.operation_count.map(|c| c.to_string()).unwrap_or_else(|| "an unknown number of".to_string());
                let why = match &unresolved.degraded {
                    Some(reason) => format!("an earlier tool lost its message ids ({reason}); {} were recovered", unresolved.recovered),
                    None => "the record lists no message ids".to_string(),
                };
                findings.push(Finding {
                    kind: FindingKind::UnresolvedAccess,
                    mailbox: unresolved.mailbox.clone(),
                    folder_path: unresolved.folder.clone(),
                    internet_message_id: None,
                    size_in_bytes: None,
                    start: unresolved.reference.time,
                    end: unresolved.reference.time,
                    access_count: unresolved.operation_count,
                    reason: format!(
                        "Record {record} read {count} item(s) in {} in the attacker's context, but {why}: find the messages from the folder and time.",
                        unresolved.folder.as_deref().unwrap_or("an unnamed folder")
                    ),
                    client_ip_addresses: ips.clone(),
                    session_ids: sessions_seen.clone(),
                    client_info_strings: clients.clone(),
                    evidence_record_ids: vec![record],
                });
            }
        }

        // The attacker's addresses and sessions, and why each is theirs.
        let indicator = |id: u32, link: &Link, is_address: bool| -> Finding {
            let carrying: Vec<&&FineState> = attacker
                .iter()
                .filter(|s| if is_address { s.key.context.address == Some(id) } else { s.key.context.session == Some(id) })
                .collect();
            let records: u64 = carrying.iter().map(|s| s.records).sum();
            let start = carrying.iter().map(|s| s.span.0).min().expect("an indicator comes from a context");
            let end = carrying.iter().map(|s| s.span.1).max().expect("an indicator comes from a context");
            let what = if is_address {
                format!("Address {}", strings.display(id))
            } else {
                format!("Session {}", strings.display(id))
            };
            let (reason, evidence) = self.link_reason(&what, link, &attributed);
            Finding {
                kind: FindingKind::AttackerIndicator,
                mailbox: None,
                folder_path: None,
                internet_message_id: None,
                size_in_bytes: None,
                start,
                end,
                access_count: Some(records),
                client_ip_addresses: if is_address { vec![strings.display(id).to_string()] } else { Vec::new() },
                session_ids: if is_address { Vec::new() } else { vec![strings.display(id).to_string()] },
                client_info_strings: Vec::new(),
                reason,
                evidence_record_ids: evidence,
            }
        };
        for (address, link) in &addresses {
            findings.push(indicator(*address, link, true));
        }
        for (session, link) in &sessions {
            findings.push(indicator(*session, link, false));
        }

        // Indicators that matched nothing are worth saying: a typo, or the wrong period.
        let indicators = &self.options.indicators;
        for range in &indicators.addresses {
            if !self.contexts.iter().any(|c| c.ip.is_some_and(|ip| range.contains(&ip))) {
                warnings.push(format!("-AttackerIPAddress {} matched no record in the period.", range.text()));
            }
        }
        for session in &indicators.sessions {
            if !self.contexts.iter().any(|c| c.key.context.session.is_some_and(|s| strings.key(s).eq_ignore_ascii_case(session))) {
                warnings.push(format!("-AttackerSessionId {session} matched no record in the period."));
            }
        }
        for pattern in &indicators.client_info_strings {
            if !self.contexts.iter().any(|c| c.key.context.client.is_some_and(|s| pattern.is_match(strings.key(s)))) {
                warnings.push(format!("-AttackerClientInfoString '{}' matched no record in the period.", pattern.text()));
            }
        }
        for app in &indicators.app_ids {
            let matches = |id: Option<u32>| id.is_some_and(|a| strings.key(a).eq_ignore_ascii_case(app));
            if !self.contexts.iter().any(|c| matches(c.key.app) || matches(c.key.client_app)) {
                warnings.push(format!("-AttackerAppId {app} matched no record in the period."));
            }
        }
        let attribution = Attributed { attributed: &attributed, addresses: &addresses, sessions: &sessions };
        self.with_evidence(sorted(findings, warnings), Some(attribution))
    }
}

/// Whether an access (time, folder) is later than another: a message's folder is the one of its
/// latest access, the greater folder text breaking a tie so that input order does not matter.
fn is_later(strings: &Strings, access: (DateTime<Utc>, Option<u32>), than: (DateTime<Utc>, Option<u32>)) -> bool {
    access.0 > than.0 || (access.0 == than.0 && strings.key_or_empty(access.1) > strings.key_or_empty(than.1))
}

fn span(refs: &[RecordRef]) -> (DateTime<Utc>, DateTime<Utc>) {
    let start = refs.iter().map(|r| r.time).min().expect("evidence is never empty");
    let end = refs.iter().map(|r| r.time).max().expect("evidence is never empty");
    (start, end)
}

fn list_or_unknown(values: &[String]) -> String {
    if values.is_empty() {
        "an unknown address".to_string()
    } else {
        values.join(", ")
    }
}

/// Sorted by mailbox, start, kind, then what the finding is about (folder, message, address or
/// session), then its first evidence.
fn sorted(mut findings: Vec<Finding>, warnings: Vec<String>) -> AnalysisResult {
    fn subject(f: &Finding) -> &str {
        fn first(v: &[String]) -> &str {
            v.first().map(String::as_str).unwrap_or("")
        }
        match f.kind {
            FindingKind::ThrottledWindow => "",
            FindingKind::SyncedFolder | FindingKind::UnresolvedAccess => f.folder_path.as_deref().unwrap_or(""),
            FindingKind::AccessedMessage => f.internet_message_id.as_deref().unwrap_or(""),
            FindingKind::AttackerIndicator => {
                if f.client_ip_addresses.is_empty() { first(&f.session_ids) } else { first(&f.client_ip_addresses) }
            }
        }
    }
    findings.sort_by_cached_key(|f| (mailbox_sort_key(f.mailbox.as_deref()), f.start, f.kind, subject(f).to_string(), f.evidence_record_ids.first().cloned()));
    AnalysisResult { findings, warnings, ..Default::default() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::testing::rec;

    const VICTIM: &str = "victim@contoso.com";
    const BOSS: &str = "boss@contoso.com";
    const OWA: &str = "Client=OWA;Action=ViaProxy";
    const RPC: &str = "Client=MSExchangeRPC";
    const REST: &str = "Client=REST;;";
    const A: &str = "203.0.113.77";
    const B: &str = "198.51.100.20";
    const OWNER: &str = "192.0.2.10";

    /// A small breach: the owner from OWNER; the attacker's OWA session s-att from A, then B;
    /// a second attacker session s-rest from B through REST; an attacker sync; delegate access
    /// to the boss's mailbox; a degraded record; a throttled record.
    pub(super) fn breach() -> Vec<MailAccessRecord> {
        vec![
            rec("o1", "2024-05-01T08:00:00Z").mailbox(VICTIM).user(VICTIM).ip(OWNER).client(OWA).session("s-owner").bind(&[("m1@x", "\\Inbox", 100), ("m2@x", "\\Inbox", 200)]).done(),
            rec("o2", "2024-05-01T09:00:00Z").mailbox(VICTIM).user(VICTIM).ip(OWNER).client(RPC).sync(&["\\Inbox"]).done(),
            rec("a1", "2024-05-02T10:00:00Z").mailbox(VICTIM).user(VICTIM).ip(A).client(OWA).session("s-att").bind(&[("m1@x", "\\Inbox", 100)]).done(),
            rec("a2", "2024-05-02T11:00:00Z").mailbox(VICTIM).user(VICTIM).ip(B).client(OWA).session("s-att").bind(&[("m3@x", "\\Finance", 300)]).done(),
            rec("a3", "2024-05-02T12:00:00Z").mailbox(VICTIM).user(VICTIM).ip(B).client(REST).session("s-rest").bind(&[("m1@x", "\\Inbox", 100), ("m4@x", "\\Inbox", 50)]).done(),
            rec("a4", "2024-05-02T13:00:00Z").mailbox(VICTIM).user(VICTIM).ip(B).client(RPC).session("s-rest").sync(&["\\Inbox", "\\Finance"]).done(),
            rec("a5", "2024-05-02T14:00:00Z").mailbox(BOSS).user(VICTIM).ip(B).client(REST).session("s-rest").bind(&[("b1@x", "\\Inbox", 999)]).done(),
            rec("a6", "2024-05-02T15:00:00Z").mailbox(VICTIM).user(VICTIM).ip(A).client(OWA).session("s-att").degraded("\\Inbox", 7).done(),
            // The owner again, sharing only the user and the client with the attacker.
            rec("o3", "2024-05-02T16:00:00Z").mailbox(VICTIM).user(VICTIM).ip(OWNER).client(OWA).session("s-owner-2").bind(&[("m3@x", "\\Finance", 300)]).done(),
            rec("t1", "2024-05-03T00:00:00Z").mailbox(VICTIM).user(VICTIM).ip(OWNER).client(OWA).session("s-owner-2").throttled(Some(true)).bind(&[("m5@x", "\\Inbox", 1)]).done(),
        ]
    }

    fn verdict(options: VerdictOptions) -> AnalysisResult {
        let mut analysis = Box::new(VerdictAnalysis::new(options));
        for r in breach() {
            analysis.add(&r);
        }
        analysis.finish()
    }

    pub(super) fn by_ip(ip: &str) -> VerdictOptions {
        VerdictOptions {
            indicators: Indicators { addresses: vec![AddressRange::parse(ip).unwrap()], ..Default::default() },
            ..Default::default()
        }
    }

    fn summary(result: &AnalysisResult) -> Vec<String> {
        result
            .findings
            .iter()
            .map(|f| {
                format!(
                    "{} {} {} {} n={} ev={}",
                    f.kind.name(),
                    f.mailbox.as_deref().unwrap_or("-"),
                    f.internet_message_id.as_deref().or(f.folder_path.as_deref()).unwrap_or("-"),
                    f.client_ip_addresses.join("+") + "|" + &f.session_ids.join("+"),
                    f.access_count.map(|c| c.to_string()).unwrap_or("?".into()),
                    f.evidence_record_ids.join("+")
                )
            })
            .collect()
    }

    #[test]
    fn expansion_follows_the_attacker_across_addresses_and_sessions() {
        let result = verdict(by_ip(A));
        assert_eq!(
            summary(&result),
            vec![
                // Indicators (no mailbox) first: A given; s-att seen from A; B used by s-att; s-rest used from B.
                "AttackerIndicator - - 203.0.113.77| n=2 ev=",
                "AttackerIndicator - - |s-att n=3 ev=a1",
                "AttackerIndicator - - 198.51.100.20| n=4 ev=a2",
                "AttackerIndicator - - |s-rest n=3 ev=a3",
                "AccessedMessage boss@contoso.com <b1@x> 198.51.100.20|s-rest n=1 ev=a5",
                "AccessedMessage victim@contoso.com <m1@x> 198.51.100.20+203.0.113.77|s-att+s-rest n=2 ev=a1+a3",
                "AccessedMessage victim@contoso.com <m3@x> 198.51.100.20|s-att n=1 ev=a2",
                "AccessedMessage victim@contoso.com <m4@x> 198.51.100.20|s-rest n=1 ev=a3",
                "SyncedFolder victim@contoso.com \\Finance 198.51.100.20|s-rest n=1 ev=a4",
                "SyncedFolder victim@contoso.com \\Inbox 198.51.100.20|s-rest n=1 ev=a4",
                "UnresolvedAccess victim@contoso.com \\Inbox 203.0.113.77|s-att n=7 ev=a6",
                "ThrottledWindow victim@contoso.com - 192.0.2.10|s-owner-2 n=1 ev=t1",
            ]
        );
        let address_b = &result.findings[2];
        assert!(address_b.reason.contains("record a2") && address_b.reason.contains("its session s-att is the attacker's"), "{}", address_b.reason);
        assert!(result.warnings.is_empty(), "{:?}", result.warnings);
    }

    #[test]
    fn without_expansion_only_the_indicator_counts() {
        let mut options = by_ip(A);
        options.expand = false;
        assert_eq!(
            summary(&verdict(options)),
            vec![
                "AttackerIndicator - - 203.0.113.77| n=2 ev=",
                "AccessedMessage victim@contoso.com <m1@x> 203.0.113.77|s-att n=1 ev=a1",
                "UnresolvedAccess victim@contoso.com \\Inbox 203.0.113.77|s-att n=7 ev=a6",
                "ThrottledWindow victim@contoso.com - 192.0.2.10|s-owner-2 n=1 ev=t1",
            ]
        );
    }

    #[test]
    fn the_period_bounds_attribution_but_not_throttled_windows() {
        let mut options = by_ip(A);
        options.period_start = Some("2024-05-02T10:30:00Z".parse().unwrap());
        options.period_end = Some("2024-05-02T15:30:00Z".parse().unwrap());
        let result = verdict(options);
        let lines = summary(&result);
        // a1 (10:00) is outside: A is then first seen in a6, which links s-att; s-att links B...
        assert!(lines.contains(&"AttackerIndicator - - 203.0.113.77| n=1 ev=".to_string()), "{lines:#?}");
        assert!(!lines.iter().any(|l| l.contains("ev=a1")), "{lines:#?}");
        // The throttled window starts after the period: not reported.
        assert!(!lines.iter().any(|l| l.starts_with("ThrottledWindow")), "{lines:#?}");
    }

    #[test]
    fn a_session_indicator_and_a_client_indicator() {
        let options = VerdictOptions {
            indicators: Indicators { sessions: vec!["S-REST".into()], ..Default::default() },
            expand: false,
            ..Default::default()
        };
        let lines = summary(&verdict(options));
        assert!(lines.contains(&"AccessedMessage boss@contoso.com <b1@x> 198.51.100.20|s-rest n=1 ev=a5".to_string()), "{lines:#?}");
        let options = VerdictOptions {
            indicators: Indicators { client_info_strings: vec![Wildcard::new("*REST*").unwrap()], ..Default::default() },
            expand: false,
            ..Default::default()
        };
        let lines = summary(&verdict(options));
        assert!(lines.contains(&"AccessedMessage victim@contoso.com <m4@x> 198.51.100.20|s-rest n=1 ev=a3".to_string()), "{lines:#?}");
        assert!(!lines.iter().any(|l| l.contains("SyncedFolder")), "the RPC sync does not match *REST*: {lines:#?}");
    }

    #[test]
    fn no_indicator_reports_throttling_and_warns() {
        let result = verdict(VerdictOptions::default());
        assert_eq!(summary(&result), vec!["ThrottledWindow victim@contoso.com - 192.0.2.10|s-owner-2 n=1 ev=t1"]);
        assert!(result.warnings[0].contains("No attacker indicator"));
    }

    #[test]
    fn an_indicator_that_matches_nothing_is_a_warning() {
        let result = verdict(by_ip("2001:db8::1"));
        assert_eq!(summary(&result), vec!["ThrottledWindow victim@contoso.com - 192.0.2.10|s-owner-2 n=1 ev=t1"]);
        assert!(result.warnings[0].contains("-AttackerIPAddress 2001:db8::1 matched no record"), "{:?}", result.warnings);
    }

    #[test]
    fn input_order_does_not_change_the_verdict() {
        let forward = verdict(by_ip(A));
        let mut analysis = Box::new(VerdictAnalysis::new(by_ip(A)));
        for r in breach().iter().rev() {
            analysis.add(r);
        }
        assert_eq!(analysis.finish().findings, forward.findings);
    }
}
