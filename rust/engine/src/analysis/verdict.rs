//! The verdict: which mail must be treated as compromised, given what is known of the
//! attacker, with the evidence for each answer (docs/semantics.md, Get-CompromisedMailAccess).
//!
//! Records are aggregated per context as they come ([`Analysis::add`]); [`attribution`]
//! decides which contexts are the attacker's; `finish` writes one finding per throttled
//! window, synced folder, message read, unresolved read and indicator, then keeps the findings
//! the cmdlet's -Mailbox and -UserIds select.

mod attribution;
mod detail;
mod evidence;

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::sync::atomic::AtomicBool;

use chrono::{DateTime, Utc};
use rustc_hash::FxHashMap;
use smallvec::SmallVec;

use self::attribution::{Attribution, BaselineUse, Ident, Link, Why};
use super::message::{
    AnalysisWarning, AttributionReason, Baseline, ContextUse, ContextUses, FindingReason, GivenIndicator, Identifier, IdentifierKind,
    Indicator, Linker, CONTEXT_USES_SHOWN,
};
use super::pattern::{any_match, AddressRange, Wildcard};
use super::throttling::ThrottlingAnalysis;
use super::{
    actors, check, context_lists, distinct_items, evidence_ids, folder_paths, mailbox_sort_key, record_ref, ref_cmp, token_of, widen,
    Actors, Analysis, AnalysisOutput, AnalysisResult, AppKey, Cancelled, ContextKey, RecordRef, Strings,
};
use crate::address::is_client_address;
use crate::model::{MailAccessRecord, MailAccessType};

use self::detail::DetailLog;
use self::evidence::EvidenceLog;
pub use self::evidence::EvidenceRecord;

/// What is known of the attacker.
#[derive(Clone, Debug, Default)]
pub struct Indicators {
    pub addresses: Vec<AddressRange>,
    pub sessions: Vec<String>,
    pub client_info_strings: Vec<Wildcard>,
    /// Matched against AppId and ClientAppId.
    pub app_ids: Vec<String>,
    /// Entra sessions (AppAccessContext.AADSessionId).
    pub aad_sessions: Vec<String>,
}

impl Indicators {
    pub fn is_empty(&self) -> bool {
        self.addresses.is_empty()
            && self.sessions.is_empty()
            && self.client_info_strings.is_empty()
            && self.app_ids.is_empty()
            && self.aad_sessions.is_empty()
    }
}

#[derive(Clone, Debug)]
pub struct VerdictOptions {
    pub indicators: Indicators,
    /// Follow links between the attacker's addresses and sessions to a fixed point.
    pub expand: bool,
    /// Follow also addresses and sessions that other contexts used before the attacker's
    /// known activity (they are otherwise reported as SharedIndicator, not followed).
    pub expand_shared: bool,
    /// The period of attacker access; records outside it take no part in attribution.
    pub period_start: Option<DateTime<Utc>>,
    pub period_end: Option<DateTime<Utc>>,
    /// Which findings are reported (-Mailbox, -UserIds); every record takes part in attribution.
    pub mailboxes: Vec<Wildcard>,
    pub users: Vec<Wildcard>,
}

impl Default for VerdictOptions {
    fn default() -> Self {
        VerdictOptions {
            indicators: Indicators::default(),
            expand: true,
            expand_shared: false,
            period_start: None,
            period_end: None,
            mailboxes: Vec::new(),
            users: Vec::new(),
        }
    }
}

pub use crate::vocabulary::CompromiseKind;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub kind: CompromiseKind,
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
    /// The accounts, applications, Entra sessions and tokens of the evidence. For an indicator
    /// of an Entra session, `actors.aad_session_ids` holds the indicator.
    pub actors: Actors,
    pub reason: FindingReason,
    pub evidence_record_ids: Vec<String>,
}

impl Finding {
    fn new(kind: CompromiseKind, start: DateTime<Utc>, end: DateTime<Utc>, reason: FindingReason) -> Finding {
        Finding {
            kind,
            mailbox: None,
            folder_path: None,
            internet_message_id: None,
            size_in_bytes: None,
            start,
            end,
            access_count: None,
            client_ip_addresses: Vec::new(),
            session_ids: Vec::new(),
            client_info_strings: Vec::new(),
            actors: Actors::default(),
            reason,
            evidence_record_ids: Vec::new(),
        }
    }
}

/// What attribution tells contexts apart by: the context, with the applications (the app
/// indicator matches them) and the Entra session (an identifier that links).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct FineKey {
    context: ContextKey,
    apps: AppKey,
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

/// A context seen before -StartDate: the baseline of who used which address and session.
struct BeforeState {
    ip: Option<IpAddr>,
    first: RecordRef,
}

pub struct VerdictAnalysis {
    options: VerdictOptions,
    strings: Strings,
    throttling: ThrottlingAnalysis,
    contexts: Vec<FineState>,
    index: FxHashMap<FineKey, usize>,
    /// Contexts of the records before -StartDate.
    before: FxHashMap<FineKey, BeforeState>,
    /// The token of each record that names one (in the period, and the first of each context
    /// before it), by its entry in the record table.
    tokens: FxHashMap<u32, u32>,
    /// What the aggregates do not keep of the records, for the evidence of each finding.
    evidence: EvidenceLog,
    /// The in-period records' details until attribution; None: added as they come (the
    /// design before the log, kept for the differential test).
    details: Option<DetailLog>,
}

/// The columns a finding takes from its evidence.
struct Evidence {
    ips: Vec<String>,
    sessions: Vec<String>,
    clients: Vec<String>,
    actors: Actors,
    ids: Vec<String>,
}

impl VerdictAnalysis {
    pub fn new(options: VerdictOptions) -> VerdictAnalysis {
        VerdictAnalysis {
            options,
            strings: Strings::default(),
            throttling: ThrottlingAnalysis::new(),
            contexts: Vec::new(),
            index: FxHashMap::default(),
            before: FxHashMap::default(),
            tokens: FxHashMap::default(),
            evidence: EvidenceLog::default(),
            details: Some(DetailLog::default()),
        }
    }

    /// Every record's details kept in memory as they come, as the verdict did before the
    /// detail log: what the differential test compares the log with.
    #[cfg(test)]
    fn eager(options: VerdictOptions) -> VerdictAnalysis {
        VerdictAnalysis { details: None, ..VerdictAnalysis::new(options) }
    }

    fn key_of(&mut self, record: &MailAccessRecord) -> FineKey {
        FineKey { context: ContextKey::of(record, &mut self.strings), apps: AppKey::of(record, &mut self.strings) }
    }

    /// Before the period: only who used which address and session, for the baseline.
    fn add_before(&mut self, record: &MailAccessRecord) {
        let key = self.key_of(record);
        let reference = record_ref(record, &mut self.strings);
        let first = match self.before.get_mut(&key) {
            Some(state) => {
                let earlier = ref_cmp(&reference, &state.first, &self.strings).is_lt();
                if earlier {
                    state.first = reference;
                }
                earlier
            }
            None => {
                let ip = record.client_address.as_ref().and_then(|a| a.ip);
                self.before.insert(key, BeforeState { ip, first: reference });
                true
            }
        };
        // A context's first record before the period is evidence of a shared indicator.
        if first {
            self.evidence.note(reference, record, &mut self.strings);
            if let Some(token) = token_of(record, &mut self.strings) {
                self.tokens.insert(reference.id, token);
            }
        }
    }

    /// In the period: the context's aggregates now; the rest of the record to the detail log,
    /// for once attribution has said whose the record is ([`detail`]).
    fn add_in_period(&mut self, record: &MailAccessRecord) {
        let key = self.key_of(record);
        let reference = record_ref(record, &mut self.strings);
        // A mailbox shows in the spelling of all its records that sorts first: every
        // record's spelling is seen now, not only those of the records replayed.
        if let Some(mailbox) = record.mailbox.as_deref() {
            self.strings.intern_folded(mailbox);
        }
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
        if ref_cmp(&reference, &state.earliest, &self.strings).is_lt() {
            state.earliest = reference;
        }
        match &mut self.details {
            Some(log) => log.push(index as u32, reference, record),
            None => self.add_detail(index, reference, record),
        }
    }

    /// The evidence of a record of the period: its provenance and its token.
    fn note_evidence(&mut self, reference: RecordRef, record: &MailAccessRecord) {
        self.evidence.note(reference, record, &mut self.strings);
        if let Some(token) = token_of(record, &mut self.strings) {
            self.tokens.insert(reference.id, token);
        }
    }

    /// What one record of a context read and synced, and its evidence.
    fn add_detail(&mut self, index: usize, reference: RecordRef, record: &MailAccessRecord) {
        self.note_evidence(reference, record);
        let strings = &mut self.strings;
        let mailbox = record.mailbox.as_deref().map(|m| strings.intern_folded(m));
        let state = &mut self.contexts[index];
        if record.access_type == MailAccessType::Sync {
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

    /// Reads the detail log back: the attacker's contexts keep their records' details, the
    /// others only the evidence of their earliest record (a shared identifier's baseline).
    fn replay_details(&mut self, attribution: &Attribution, cancel: &AtomicBool) -> Result<Option<AnalysisWarning>, Cancelled> {
        let Some(mut log) = self.details.take() else { return Ok(None) };
        // The write in flight may yet fail and leave its buffer in memory.
        log.settle();
        let kept_in_memory = log.failure().map(str::to_string);
        // A record is decoded only for an attacker's context, or as its context's earliest.
        let earliest: Vec<u32> = self.contexts.iter().map(|c| c.earliest.id).collect();
        let mut cancelled = false;
        let wanted = |context: u32, reference: RecordRef| {
            if cancelled || check(cancel).is_err() {
                cancelled = true;
                return false;
            }
            let index = context as usize;
            attribution.why[index].is_some() || earliest[index] == reference.id
        };
        let replayed = log.replay(wanted, |detail| {
            let index = detail.context as usize;
            if attribution.why[index].is_some() {
                self.add_detail(index, detail.reference, &detail.record);
            } else {
                self.note_evidence(detail.reference, &detail.record);
            }
        });
        if cancelled {
            return Err(Cancelled);
        }
        Ok(match (replayed, kept_in_memory) {
            (Err(reason), _) => Some(AnalysisWarning::DetailLogUnreadable(reason.to_string())),
            (Ok(_), Some(reason)) => Some(AnalysisWarning::DetailLogInMemory(reason)),
            (Ok(_), None) => None,
        })
    }

    /// The context, time span, accounts and applications of some records of the period.
    fn evidence<'k>(&self, keys: impl Iterator<Item = &'k FineKey> + Clone, refs: &[RecordRef]) -> Evidence {
        let strings = &self.strings;
        let (ips, sessions, clients) = context_lists(keys.clone().map(|k| &k.context), strings);
        let tokens = refs.iter().filter_map(|r| self.tokens.get(&r.id).copied());
        Evidence {
            ips,
            sessions,
            clients,
            actors: actors(keys.map(|k| (&k.context, &k.apps)), tokens, strings),
            ids: evidence_ids(refs, strings),
        }
    }

    fn mailbox_text(&self, mailbox: Option<u32>) -> Option<String> {
        mailbox.map(|m| self.strings.display(m).to_string())
    }

    /// Whether the cmdlet's -Mailbox and -UserIds select a finding. Findings of no mailbox
    /// (indicators) are the attacker's, not a mailbox's: always reported.
    fn reports(&self, finding: &Finding) -> bool {
        if finding.mailbox.is_none() && matches!(finding.kind, CompromiseKind::AttackerIndicator | CompromiseKind::SharedIndicator) {
            return true;
        }
        let mailbox = self.options.mailboxes.is_empty() || any_match(&self.options.mailboxes, finding.mailbox.as_deref());
        let user = self.options.users.is_empty() || finding.actors.user_ids.iter().any(|u| any_match(&self.options.users, Some(u)));
        mailbox && user
    }

    /// Every throttled window that overlaps the period, whatever the context.
    fn throttled_windows(&self) -> Vec<Finding> {
        let (period_start, period_end) = (self.options.period_start, self.options.period_end);
        let mut findings = Vec::new();
        for window in self.throttling.result().windows {
            let overlaps = period_end.is_none_or(|e| window.start < e) && period_start.is_none_or(|s| window.end > s);
            if !overlaps {
                continue;
            }
            let reason =
                FindingReason::ThrottledWindow { throttled_records: window.throttled_record_count, start: window.start, end: window.end };
            let mut finding = Finding::new(CompromiseKind::ThrottledWindow, window.start, window.end, reason);
            finding.mailbox = window.mailbox;
            finding.access_count = Some(window.throttled_record_count);
            finding.client_ip_addresses = window.client_ip_addresses;
            finding.session_ids = window.session_ids;
            finding.client_info_strings = window.client_info_strings;
            finding.actors = window.actors;
            finding.evidence_record_ids = window.record_ids;
            findings.push(finding);
        }
        findings
    }

    /// Each (mailbox, folder) synced by the attacker's contexts.
    fn synced_folders(&self, attacker: &[&FineState], cancel: &AtomicBool) -> Result<Vec<Finding>, Cancelled> {
        let strings = &self.strings;
        type Synced = (Option<u32>, Option<u32>, Vec<RecordRef>, BTreeSet<FineKey>);
        let mut synced: BTreeMap<(String, String), Synced> = BTreeMap::new();
        for state in attacker {
            check(cancel)?;
            for (&(mailbox, folder), refs) in &state.syncs {
                let sort = (mailbox.map(|m| strings.key(m).to_string()).unwrap_or_default(), strings.key_or_empty(folder).to_string());
                let entry = synced.entry(sort).or_insert_with(|| (mailbox, folder, Vec::new(), BTreeSet::new()));
                entry.2.extend(refs);
                entry.3.insert(state.key);
            }
        }
        let mut findings = Vec::with_capacity(synced.len());
        for (_, (mailbox, folder, refs, keys)) in synced {
            let evidence = self.evidence(keys.iter(), &refs);
            let (start, end) = span(&refs);
            let folder = folder.map(|f| strings.key(f).to_string());
            let reason = FindingReason::SyncedFolder { folder: folder.clone(), syncs: refs.len() as u64, addresses: evidence.ips.clone() };
            let mut finding = Finding::new(CompromiseKind::SyncedFolder, start, end, reason);
            finding.mailbox = self.mailbox_text(mailbox);
            finding.folder_path = folder;
            finding.access_count = Some(refs.len() as u64);
            fill(&mut finding, evidence);
            findings.push(finding);
        }
        Ok(findings)
    }

    /// Each (mailbox, message) among the items of the attacker's non-Sync records.
    fn accessed_messages(&self, attacker: &[&FineState], cancel: &AtomicBool) -> Result<Vec<Finding>, Cancelled> {
        let strings = &self.strings;
        type Read = (Option<u32>, (DateTime<Utc>, Option<u32>), Option<u64>, Vec<RecordRef>, BTreeSet<FineKey>);
        let mut read: BTreeMap<(String, &str), Read> = BTreeMap::new();
        for state in attacker {
            check(cancel)?;
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
        let mut findings = Vec::with_capacity(read.len());
        for ((_, message_id), (mailbox, (_, folder), size, refs, keys)) in read {
            check(cancel)?;
            let evidence = self.evidence(keys.iter(), &refs);
            let (start, end) = span(&refs);
            let reason = FindingReason::AccessedMessage {
                message: message_id.to_string(),
                records: refs.len() as u64,
                first: start,
                addresses: evidence.ips.clone(),
            };
            let mut finding = Finding::new(CompromiseKind::AccessedMessage, start, end, reason);
            finding.mailbox = self.mailbox_text(mailbox);
            finding.folder_path = folder.map(|f| strings.key(f).to_string());
            finding.internet_message_id = Some(message_id.to_string());
            finding.size_in_bytes = size;
            finding.access_count = Some(refs.len() as u64);
            fill(&mut finding, evidence);
            findings.push(finding);
        }
        Ok(findings)
    }

    /// Each attacker read whose message ids cannot be recovered.
    fn unresolved_accesses(&self, attacker: &[&FineState]) -> Vec<Finding> {
        let mut findings = Vec::new();
        for state in attacker {
            for unresolved in &state.unresolved {
                let evidence = self.evidence(std::iter::once(&state.key), &[unresolved.reference]);
                let reason = FindingReason::UnresolvedAccess {
                    record: self.strings.record_text(unresolved.reference.id),
                    items: unresolved.operation_count,
                    folder: unresolved.folder.clone(),
                    lost: unresolved.degraded.clone().map(|how| (how, unresolved.recovered)),
                };
                let time = unresolved.reference.time;
                let mut finding = Finding::new(CompromiseKind::UnresolvedAccess, time, time, reason);
                finding.mailbox = unresolved.mailbox.clone();
                finding.folder_path = unresolved.folder.clone();
                finding.access_count = unresolved.operation_count;
                fill(&mut finding, evidence);
                findings.push(finding);
            }
        }
        findings
    }

    /// The contexts of the period that carry each of some identifiers, in one pass.
    fn carriers_of(&self, wanted: impl Iterator<Item = Ident>) -> FxHashMap<Ident, Vec<usize>> {
        let mut carriers: FxHashMap<Ident, Vec<usize>> = wanted.map(|ident| (ident, Vec::new())).collect();
        for (i, state) in self.contexts.iter().enumerate() {
            let carried = [
                state.key.context.address.map(Ident::Address),
                state.key.context.session.map(Ident::Session),
                state.key.apps.aad_session.map(Ident::Entra),
            ];
            for ident in carried.into_iter().flatten() {
                if let Some(list) = carriers.get_mut(&ident) {
                    list.push(i);
                }
            }
        }
        carriers
    }

    /// An identifier as messages name it.
    fn identifier(&self, ident: Ident) -> Identifier {
        let (kind, id) = match ident {
            Ident::Address(a) => (IdentifierKind::Address, a),
            Ident::Session(s) => (IdentifierKind::Session, s),
            Ident::Entra(e) => (IdentifierKind::EntraSession, e),
        };
        Identifier { kind, value: self.strings.display(id).to_string() }
    }

    /// A finding about an identifier: exactly one of its address, session and Entra session
    /// columns holds it.
    fn ident_finding(
        &self,
        kind: CompromiseKind,
        ident: Ident,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        reason: FindingReason,
    ) -> Finding {
        let mut finding = Finding::new(kind, start, end, reason);
        match ident {
            Ident::Address(a) => finding.client_ip_addresses = vec![self.strings.display(a).to_string()],
            Ident::Session(s) => finding.session_ids = vec![self.strings.display(s).to_string()],
            Ident::Entra(e) => finding.actors.aad_session_ids = vec![self.strings.display(e).to_string()],
        }
        finding
    }

    fn attribution_reason(&self, why: &Why) -> AttributionReason {
        let given =
            |indicator: Indicator, value: &str| AttributionReason::Indicator(GivenIndicator { indicator, value: value.to_string() });
        match why {
            Why::Address(range) => given(Indicator::IpAddress, range),
            Why::Session(session) => given(Indicator::SessionId, session),
            Why::ClientInfoString(pattern) => given(Indicator::ClientInfoString, pattern),
            Why::App(app) => given(Indicator::AppId, app),
            Why::Entra(session) => given(Indicator::AadSessionId, session),
            Why::Linked(ident) => AttributionReason::Link(self.identifier(*ident)),
        }
    }

    /// The earliest record of an attacker context, and why the context is the attacker's.
    fn linker(&self, context: usize, attribution: &Attribution) -> Linker {
        let state = &self.contexts[context];
        Linker {
            record: self.strings.record_text(state.earliest.id),
            time: state.earliest.time,
            why: self.attribution_reason(attribution.why[context].as_ref().expect("a record that links is the attacker's")),
        }
    }

    /// The contexts that used an identifier before, as a reader can check them: the first few
    /// by account and client, with when each first did.
    fn context_uses(&self, users: &[BaselineUse]) -> ContextUses {
        let strings = &self.strings;
        let first = users
            .iter()
            .take(CONTEXT_USES_SHOWN)
            .map(|u| ContextUse {
                user: u.key.context.user.map(|id| strings.display(id).to_string()),
                client: u.key.context.client.map(|id| strings.display(id).to_string()),
                first: u.first.time,
            })
            .collect();
        ContextUses { count: users.len(), first }
    }

    /// Where the baseline ends.
    fn baseline(&self, attribution: &Attribution) -> Baseline {
        match (self.options.period_start, attribution.baseline_end) {
            (Some(start), _) => Baseline::StartDate(start),
            (None, Some(end)) => Baseline::FirstIndicatorMatch(end),
            (None, None) => Baseline::KnownActivity,
        }
    }

    /// The attacker's addresses and sessions, given or linked, and why each is theirs.
    fn attacker_indicators(&self, attribution: &Attribution) -> Vec<Finding> {
        let mut findings = Vec::new();
        let carriers = self.carriers_of(attribution.links.keys().copied());
        for (&ident, link) in &attribution.links {
            let carrying: Vec<&FineState> =
                carriers[&ident].iter().filter(|&&i| attribution.why[i].is_some()).map(|&i| &self.contexts[i]).collect();
            let start = carrying.iter().map(|s| s.span.0).min().expect("an indicator comes from a context");
            let end = carrying.iter().map(|s| s.span.1).max().expect("an indicator comes from a context");
            let identifier = self.identifier(ident);
            let records = Some(carrying.iter().map(|s| s.records).sum());
            let finding = match link {
                Link::Given(given) => {
                    let reason = FindingReason::GivenIndicator { identifier, given: given.clone() };
                    let mut finding = self.ident_finding(CompromiseKind::AttackerIndicator, ident, start, end, reason);
                    finding.access_count = records;
                    finding
                }
                Link::Linked { context, shared } => {
                    let state = &self.contexts[*context];
                    let evidence = self.evidence(std::iter::once(&state.key), &[state.earliest]);
                    let shared = (!shared.is_empty()).then(|| (self.baseline(attribution), self.context_uses(shared)));
                    let reason = FindingReason::LinkedIndicator { identifier, linker: self.linker(*context, attribution), shared };
                    let mut finding = self.ident_finding(CompromiseKind::AttackerIndicator, ident, start, end, reason);
                    finding.access_count = records;
                    take_actors(&mut finding, evidence.actors);
                    finding.evidence_record_ids = evidence.ids;
                    finding
                }
            };
            findings.push(finding);
        }
        findings
    }

    /// Identifiers the attacker's records carry that other contexts used before the
    /// attacker's known activity, which expansion did not follow.
    fn shared_indicators(&self, attribution: &Attribution) -> Vec<Finding> {
        let mut findings = Vec::new();
        let carriers = self.carriers_of(attribution.refused.iter().map(|r| r.ident));
        for refusal in &attribution.refused {
            let linker = &self.contexts[refusal.context];
            let mut refs: Vec<RecordRef> = refusal.users.iter().map(|u| u.first).collect();
            refs.push(linker.earliest);
            let keys: Vec<FineKey> = refusal.users.iter().map(|u| u.key).chain(std::iter::once(linker.key)).collect();
            let evidence = self.evidence(keys.iter(), &refs);
            let (start, end) = span(&refs);
            // What following it would have pulled in: the period's records that carry it and
            // are not the attacker's.
            let left_out: u64 =
                carriers[&refusal.ident].iter().filter(|&&i| attribution.why[i].is_none()).map(|&i| self.contexts[i].records).sum();
            let reason = FindingReason::SharedIndicator {
                identifier: self.identifier(refusal.ident),
                linker: self.linker(refusal.context, attribution),
                baseline: self.baseline(attribution),
                users: self.context_uses(&refusal.users),
                left_out,
            };
            let mut finding = self.ident_finding(CompromiseKind::SharedIndicator, refusal.ident, start, end, reason);
            finding.access_count = Some(left_out);
            finding.client_info_strings = evidence.clients;
            take_actors(&mut finding, evidence.actors);
            finding.evidence_record_ids = evidence.ids;
            findings.push(finding);
        }
        findings
    }

    /// Indicators that matched nothing are worth saying: a typo, or the wrong period.
    fn unmatched_indicators(&self) -> Vec<AnalysisWarning> {
        let strings = &self.strings;
        let indicators = &self.options.indicators;
        let mut warnings = Vec::new();
        let mut unmatched = |indicator: Indicator, value: &str| {
            warnings.push(AnalysisWarning::IndicatorMatchedNothing(GivenIndicator { indicator, value: value.to_string() }))
        };
        for range in &indicators.addresses {
            if !self.contexts.iter().any(|c| c.ip.is_some_and(|ip| range.contains(&ip))) {
                unmatched(Indicator::IpAddress, range.text());
            }
        }
        let matches = |given: &str, id: Option<u32>| id.is_some_and(|id| strings.key(id).eq_ignore_ascii_case(given));
        for session in &indicators.sessions {
            if !self.contexts.iter().any(|c| matches(session, c.key.context.session)) {
                unmatched(Indicator::SessionId, session);
            }
        }
        for pattern in &indicators.client_info_strings {
            if !self.contexts.iter().any(|c| c.key.context.client.is_some_and(|s| pattern.is_match(strings.key(s)))) {
                unmatched(Indicator::ClientInfoString, pattern.text());
            }
        }
        for app in &indicators.app_ids {
            if !self.contexts.iter().any(|c| matches(app, c.key.apps.app) || matches(app, c.key.apps.client_app)) {
                unmatched(Indicator::AppId, app);
            }
        }
        for session in &indicators.aad_sessions {
            if !self.contexts.iter().any(|c| matches(session, c.key.apps.aad_session)) {
                unmatched(Indicator::AadSessionId, session);
            }
        }
        warnings
    }

    /// Said once: the attacker's records that carry an address no client has, through which
    /// expansion did not link.
    fn placeholder_warning(&self, attribution: &Attribution) -> Option<AnalysisWarning> {
        if !self.options.expand {
            return None;
        }
        let mut addresses: BTreeSet<&str> = BTreeSet::new();
        let (mut attacker_records, mut all_records) = (0u64, 0u64);
        for (i, state) in self.contexts.iter().enumerate() {
            let Some(address) = state.key.context.address else { continue };
            if state.ip.is_some_and(|ip| is_client_address(&ip)) {
                continue;
            }
            all_records += state.records;
            if attribution.why[i].is_some() {
                attacker_records += state.records;
                addresses.insert(self.strings.display(address));
            }
        }
        (attacker_records > 0).then(|| AnalysisWarning::PlaceholderAddresses {
            attacker_records,
            all_records,
            addresses: addresses.into_iter().map(str::to_string).collect(),
        })
    }
}

impl Analysis for VerdictAnalysis {
    fn add(&mut self, record: &MailAccessRecord) {
        self.throttling.add_record(record);
        self.evidence.note_throttled(record);
        let time = record.creation_time;
        if self.options.period_start.is_some_and(|s| time < s) {
            self.add_before(record);
        } else if self.options.period_end.is_none_or(|e| time < e) {
            self.add_in_period(record);
        }
    }

    /// A record outside -Mailbox or -UserIds (or the dates) still takes part in attribution:
    /// the filters choose the findings reported, not the records that link.
    fn add_filtered(&mut self, record: &MailAccessRecord) {
        self.add(record);
    }

    fn finish(mut self: Box<Self>, cancel: &AtomicBool) -> Result<AnalysisResult, Cancelled> {
        check(cancel)?;
        let mut findings = self.throttled_windows();
        let mut warnings = Vec::new();
        if self.options.indicators.is_empty() {
            warnings.push(AnalysisWarning::NoIndicator);
            return Ok(AnalysisResult::new(AnalysisOutput::Verdict(self.with_evidence(self.selected(findings), None)), warnings));
        }
        let attribution = self.attribute(cancel)?;
        warnings.extend(self.replay_details(&attribution, cancel)?);
        let attacker: Vec<&FineState> =
            self.contexts.iter().zip(&attribution.why).filter(|(_, why)| why.is_some()).map(|(c, _)| c).collect();
        findings.extend(self.synced_folders(&attacker, cancel)?);
        findings.extend(self.accessed_messages(&attacker, cancel)?);
        findings.extend(self.unresolved_accesses(&attacker));
        findings.extend(self.attacker_indicators(&attribution));
        findings.extend(self.shared_indicators(&attribution));
        warnings.extend(self.placeholder_warning(&attribution));
        if !attribution.refused.is_empty() {
            warnings
                .push(AnalysisWarning::SharedNotFollowed { identifiers: attribution.refused.len(), baseline: self.baseline(&attribution) });
        }
        warnings.extend(self.unmatched_indicators());
        check(cancel)?;
        Ok(AnalysisResult::new(AnalysisOutput::Verdict(self.with_evidence(self.selected(findings), Some(&attribution))), warnings))
    }
}

impl VerdictAnalysis {
    /// The findings -Mailbox and -UserIds select, in order.
    fn selected(&self, findings: Vec<Finding>) -> Vec<Finding> {
        sorted(findings.into_iter().filter(|f| self.reports(f)).collect())
    }
}

/// The accounts, applications and tokens of an indicator's evidence. Its Entra session column,
/// like its address and session columns, holds the indicator only (empty for an address or a
/// session), so that a reader sees at once which identifier the finding is about.
fn take_actors(finding: &mut Finding, actors: Actors) {
    let indicator = std::mem::take(&mut finding.actors.aad_session_ids);
    finding.actors = Actors { aad_session_ids: indicator, ..actors };
}

/// Takes the evidence columns into a finding.
fn fill(finding: &mut Finding, evidence: Evidence) {
    finding.client_ip_addresses = evidence.ips;
    finding.session_ids = evidence.sessions;
    finding.client_info_strings = evidence.clients;
    finding.actors = evidence.actors;
    finding.evidence_record_ids = evidence.ids;
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

/// Sorted by mailbox, start, kind, then what the finding is about (folder, message, address or
/// session), then its first evidence.
fn sorted(mut findings: Vec<Finding>) -> Vec<Finding> {
    fn subject(f: &Finding) -> &str {
        fn first(v: &[String]) -> Option<&str> {
            v.first().map(String::as_str)
        }
        match f.kind {
            CompromiseKind::ThrottledWindow => "",
            CompromiseKind::SyncedFolder | CompromiseKind::UnresolvedAccess => f.folder_path.as_deref().unwrap_or(""),
            CompromiseKind::AccessedMessage => f.internet_message_id.as_deref().unwrap_or(""),
            CompromiseKind::AttackerIndicator | CompromiseKind::SharedIndicator => {
                first(&f.client_ip_addresses).or_else(|| first(&f.session_ids)).or_else(|| first(&f.actors.aad_session_ids)).unwrap_or("")
            }
        }
    }
    findings.sort_by_cached_key(|f| {
        (mailbox_sort_key(f.mailbox.as_deref()), f.start, f.kind, subject(f).to_string(), f.evidence_record_ids.first().cloned())
    });
    findings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::testing::{rec, VerdictRun};

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
            rec("o1", "2024-05-01T08:00:00Z")
                .mailbox(VICTIM)
                .user(VICTIM)
                .ip(OWNER)
                .client(OWA)
                .session("s-owner")
                .bind(&[("m1@x", "\\Inbox", 100), ("m2@x", "\\Inbox", 200)])
                .done(),
            rec("o2", "2024-05-01T09:00:00Z").mailbox(VICTIM).user(VICTIM).ip(OWNER).client(RPC).sync(&["\\Inbox"]).done(),
            rec("a1", "2024-05-02T10:00:00Z")
                .mailbox(VICTIM)
                .user(VICTIM)
                .ip(A)
                .client(OWA)
                .session("s-att")
                .bind(&[("m1@x", "\\Inbox", 100)])
                .done(),
            rec("a2", "2024-05-02T11:00:00Z")
                .mailbox(VICTIM)
                .user(VICTIM)
                .ip(B)
                .client(OWA)
                .session("s-att")
                .bind(&[("m3@x", "\\Finance", 300)])
                .done(),
            rec("a3", "2024-05-02T12:00:00Z")
                .mailbox(VICTIM)
                .user(VICTIM)
                .ip(B)
                .client(REST)
                .session("s-rest")
                .bind(&[("m1@x", "\\Inbox", 100), ("m4@x", "\\Inbox", 50)])
                .done(),
            rec("a4", "2024-05-02T13:00:00Z")
                .mailbox(VICTIM)
                .user(VICTIM)
                .ip(B)
                .client(RPC)
                .session("s-rest")
                .sync(&["\\Inbox", "\\Finance"])
                .done(),
            rec("a5", "2024-05-02T14:00:00Z")
                .mailbox(BOSS)
                .user(VICTIM)
                .ip(B)
                .client(REST)
                .session("s-rest")
                .bind(&[("b1@x", "\\Inbox", 999)])
                .done(),
            rec("a6", "2024-05-02T15:00:00Z").mailbox(VICTIM).user(VICTIM).ip(A).client(OWA).session("s-att").degraded("\\Inbox", 7).done(),
            // The owner again, sharing only the user and the client with the attacker.
            rec("o3", "2024-05-02T16:00:00Z")
                .mailbox(VICTIM)
                .user(VICTIM)
                .ip(OWNER)
                .client(OWA)
                .session("s-owner-2")
                .bind(&[("m3@x", "\\Finance", 300)])
                .done(),
            rec("t1", "2024-05-03T00:00:00Z")
                .mailbox(VICTIM)
                .user(VICTIM)
                .ip(OWNER)
                .client(OWA)
                .session("s-owner-2")
                .throttled(Some(true))
                .bind(&[("m5@x", "\\Inbox", 1)])
                .done(),
        ]
    }

    fn verdict(options: VerdictOptions) -> VerdictRun {
        let mut analysis = Box::new(VerdictAnalysis::new(options));
        for r in breach() {
            analysis.add(&r);
        }
        VerdictRun::of(analysis.finish(&AtomicBool::new(false)).unwrap())
    }

    pub(super) fn by_ip(ip: &str) -> VerdictOptions {
        VerdictOptions {
            indicators: Indicators { addresses: vec![AddressRange::parse(ip).unwrap()], ..Default::default() },
            ..Default::default()
        }
    }

    fn summary(result: &VerdictRun) -> Vec<String> {
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
        assert_eq!(
            address_b.reason,
            FindingReason::LinkedIndicator {
                identifier: Identifier { kind: IdentifierKind::Address, value: B.into() },
                linker: Linker {
                    record: "a2".into(),
                    time: "2024-05-02T11:00:00Z".parse().unwrap(),
                    why: AttributionReason::Link(Identifier { kind: IdentifierKind::Session, value: "s-att".into() }),
                },
                shared: None,
            }
        );
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
        assert_eq!(result.warnings, [AnalysisWarning::NoIndicator]);
    }

    #[test]
    fn an_indicator_that_matches_nothing_is_a_warning() {
        let result = verdict(by_ip("2001:db8::1"));
        assert_eq!(summary(&result), vec!["ThrottledWindow victim@contoso.com - 192.0.2.10|s-owner-2 n=1 ev=t1"]);
        assert_eq!(
            result.warnings,
            [AnalysisWarning::IndicatorMatchedNothing(GivenIndicator { indicator: Indicator::IpAddress, value: "2001:db8::1".into() })]
        );
    }

    #[test]
    fn identifiers_that_name_nothing_never_link() {
        // The attacker's record and an owner's share a nil session and an address that is not
        // an IP address, and nothing else.
        let records = [
            rec("x1", "2024-05-02T10:00:00Z")
                .mailbox(VICTIM)
                .ip(A)
                .session("00000000-0000-0000-0000-000000000000")
                .bind(&[("m1@x", "\\Inbox", 1)])
                .done(),
            rec("x2", "2024-05-02T11:00:00Z").mailbox(VICTIM).ip("ANONYMIZED").session("s-att").bind(&[("m2@x", "\\Inbox", 1)]).done(),
            rec("o1", "2024-05-02T12:00:00Z")
                .mailbox(VICTIM)
                .ip(OWNER)
                .session("00000000-0000-0000-0000-000000000000")
                .bind(&[("m3@x", "\\Inbox", 1)])
                .done(),
            rec("o2", "2024-05-02T13:00:00Z").mailbox(VICTIM).ip("anonymized").session("s-owner").bind(&[("m4@x", "\\Inbox", 1)]).done(),
        ];
        let options = VerdictOptions {
            indicators: Indicators {
                addresses: vec![AddressRange::parse(A).unwrap()],
                sessions: vec!["s-att".into()],
                ..Default::default()
            },
            ..Default::default()
        };
        let mut analysis = Box::new(VerdictAnalysis::new(options));
        for r in &records {
            analysis.add(r);
        }
        let result = VerdictRun::of(analysis.finish(&AtomicBool::new(false)).unwrap());
        let messages: Vec<&str> = result.findings.iter().filter_map(|f| f.internet_message_id.as_deref()).collect();
        assert_eq!(messages, ["<m1@x>", "<m2@x>"]);
        // Case-only variants show in the spelling that sorts first (ordinal), whatever the order.
        // Text that is not an address is folded, and shown in the spelling that sorts first
        // (issue #14: the output does not depend on the order of the input).
        assert!(
            result.warnings.iter().any(|w| *w
                == AnalysisWarning::PlaceholderAddresses { attacker_records: 1, all_records: 2, addresses: vec!["ANONYMIZED".into()] }),
            "{:?}",
            result.warnings
        );
    }

    #[test]
    fn the_filters_choose_findings_and_every_record_still_links() {
        // The boss's record links only through the victim's: a5 is in s-rest, linked by a3.
        let all = verdict(by_ip(A));
        let mut options = by_ip(A);
        options.mailboxes = vec![Wildcard::new("BOSS@*").unwrap()];
        let mut analysis = Box::new(VerdictAnalysis::new(options));
        for r in breach() {
            analysis.add_filtered(&r);
        }
        let boss = VerdictRun::of(analysis.finish(&AtomicBool::new(false)).unwrap());
        let expected: Vec<&Finding> = all.findings.iter().filter(|f| f.mailbox.is_none() || f.mailbox.as_deref() == Some(BOSS)).collect();
        assert_eq!(boss.findings.iter().collect::<Vec<_>>(), expected);
        assert!(boss.findings.iter().any(|f| f.internet_message_id.as_deref() == Some("<b1@x>")));
        // -UserIds: the delegate read of the boss's mailbox is the victim's account acting.
        let mut options = by_ip(A);
        options.users = vec![Wildcard::new("nobody@*").unwrap()];
        let mut analysis = Box::new(VerdictAnalysis::new(options));
        for r in breach() {
            analysis.add(&r);
        }
        let nobody = VerdictRun::of(analysis.finish(&AtomicBool::new(false)).unwrap());
        assert!(nobody.findings.iter().all(|f| f.kind == CompromiseKind::AttackerIndicator), "{:?}", summary(&nobody));
    }

    #[test]
    fn input_order_does_not_change_the_verdict() {
        let forward = verdict(by_ip(A));
        let mut analysis = Box::new(VerdictAnalysis::new(by_ip(A)));
        for r in breach().iter().rev() {
            analysis.add(r);
        }
        assert_eq!(VerdictRun::of(analysis.finish(&AtomicBool::new(false)).unwrap()).findings, forward.findings);
    }
}

/// The verdict with the detail log against the verdict that kept every record's details as they
/// came (the design before it), on generated tenants: the same findings, evidence and warnings.
#[cfg(test)]
mod differential {
    use super::detail::DetailLog;
    use super::*;
    use crate::analysis::testing::{rec, Rng, VerdictRun};
    use crate::model::SourcePosition;

    const ATTACKER: &str = "203.0.113.77";
    const OFFICE: &str = "192.0.2.10";

    /// A tenant: owners from their own and a shared office address, delegates, apps without
    /// sessions, the attacker from its address and the office one, across sessions, Entra
    /// sessions and tokens; syncs, degraded and throttled records, records without ids or with
    /// ids that are not GUIDs, case variants; in a shuffled order.
    fn tenant(seed: u64, count: usize) -> Vec<MailAccessRecord> {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let clients = ["Client=OWA;Action=ViaProxy", "Client=MSExchangeRPC", "Client=REST;;", "Client=IMAP4"];
        let folders = ["\\Inbox", "\\Sent Items", "\\Finance", "\\Archive\\2024"];
        let mut records = Vec::with_capacity(count);
        for i in 0..count {
            let mailbox_n = rng.below(6);
            let mailbox = if rng.below(5) == 0 { format!("User{mailbox_n}@Contoso.com") } else { format!("user{mailbox_n}@contoso.com") };
            let attacker = rng.below(8) == 0;
            let (ip, session, user) = if attacker {
                let ip = if rng.below(4) == 0 { OFFICE.to_string() } else { ATTACKER.to_string() };
                (ip, format!("s-att-{}", rng.below(3)), format!("user{}@contoso.com", rng.below(2)))
            } else {
                let ip = match rng.below(4) {
                    0 => OFFICE.to_string(),
                    1 => "0.0.0.0".to_string(),
                    _ => format!("198.51.100.{}", mailbox_n * 10 + rng.below(3)),
                };
                (ip, format!("s-{mailbox_n}-{}", rng.below(4)), format!("user{mailbox_n}@contoso.com"))
            };
            let id = match rng.below(10) {
                0 => String::new(),
                1 => format!("REC-{}", rng.below(count as u64)),
                _ => format!("{:08x}-0000-4000-8000-{:012x}", rng.below(1 << 30), i),
            };
            let day = 1 + rng.below(9);
            let time = format!("2024-05-{day:02}T{:02}:{:02}:{:02}Z", rng.below(24), rng.below(60), rng.below(60));
            let mut r = rec(&id, &time).mailbox(&mailbox).user(&user).ip(&ip).client(rng.pick(&clients));
            if rng.below(6) != 0 {
                r = r.session(&session);
            }
            if rng.below(3) == 0 {
                r = r.entra(&format!("e-{}", if attacker { 99 } else { mailbox_n }), &format!("tok-{}", rng.below(50)));
            }
            if rng.below(9) == 0 {
                r = r.app(if attacker { "app-evil" } else { "app-backup" });
            }
            r = match rng.below(12) {
                0 => r.sync(&[rng.pick(&folders), rng.pick(&folders)]),
                1 => r.degraded(rng.pick(&folders), 1 + rng.below(20)),
                _ => {
                    let n = 1 + rng.below(4) as usize;
                    let messages: Vec<String> = (0..n).map(|_| format!("m{}-{}@x", mailbox_n, rng.below(40))).collect();
                    let items: Vec<(&str, &str, u64)> =
                        messages.iter().map(|m| (m.as_str(), rng.pick(&folders), 10 + rng.below(5000))).collect();
                    r.bind(&items)
                }
            };
            if rng.below(150) == 0 {
                r = r.throttled(Some(true));
            } else if rng.below(7) == 0 {
                r = r.throttled(None);
            }
            let mut record = r.done();
            if id.is_empty() {
                record.record_id = None;
            }
            record.source = SourcePosition { index: i as u64, file: Some((i % 2) as u32), line: Some(i as u64 + 2), result: None };
            if rng.below(20) == 0 {
                record.origin = Some(format!("audit.csv:{}", i + 2));
            }
            records.push(record);
        }
        // Shuffled: the input is in no order.
        for i in (1..records.len()).rev() {
            let j = rng.below(i as u64 + 1) as usize;
            records.swap(i, j);
        }
        records
    }

    fn option_sets() -> Vec<VerdictOptions> {
        let by_ip = |ip: &str| VerdictOptions {
            indicators: Indicators { addresses: vec![AddressRange::parse(ip).unwrap()], ..Default::default() },
            ..Default::default()
        };
        let mut sets = vec![by_ip(ATTACKER), VerdictOptions::default()];
        let mut shared = by_ip(ATTACKER);
        shared.expand_shared = true;
        sets.push(shared);
        let mut unexpanded = by_ip(ATTACKER);
        unexpanded.expand = false;
        sets.push(unexpanded);
        let mut period = by_ip(ATTACKER);
        period.period_start = Some("2024-05-03T00:00:00Z".parse().unwrap());
        period.period_end = Some("2024-05-08T00:00:00Z".parse().unwrap());
        sets.push(period);
        let mut filtered = by_ip(ATTACKER);
        filtered.mailboxes = vec![Wildcard::new("USER1@*").unwrap()];
        filtered.users = vec![Wildcard::new("user0@*").unwrap(), Wildcard::new("user1@*").unwrap()];
        sets.push(filtered);
        sets.push(VerdictOptions {
            indicators: Indicators {
                sessions: vec!["S-ATT-1".into()],
                aad_sessions: vec!["e-99".into()],
                app_ids: vec!["app-evil".into()],
                client_info_strings: vec![Wildcard::new("*IMAP*").unwrap()],
                ..Default::default()
            },
            ..Default::default()
        });
        sets
    }

    fn run(mut analysis: Box<VerdictAnalysis>, records: &[MailAccessRecord]) -> VerdictRun {
        for record in records {
            analysis.add(record);
        }
        VerdictRun::of(analysis.finish(&AtomicBool::new(false)).unwrap())
    }

    #[test]
    fn the_detail_log_gives_the_verdict_of_the_eager_design() {
        let mut attacker_findings = 0;
        for seed in 1..=6u64 {
            let records = tenant(seed, 1500);
            for options in option_sets() {
                let eager = run(Box::new(VerdictAnalysis::eager(options.clone())), &records);
                for spill_at in [1, detail::SPILL_BYTES] {
                    let log =
                        VerdictAnalysis { details: Some(DetailLog::with_spill_at(spill_at)), ..VerdictAnalysis::new(options.clone()) };
                    let logged = run(Box::new(log), &records);
                    let what = format!("seed {seed}, spill at {spill_at}, {options:?}");
                    assert_eq!(logged.findings, eager.findings, "{what}");
                    assert_eq!(logged.evidence, eager.evidence, "{what}");
                    assert_eq!(logged.finding_evidence, eager.finding_evidence, "{what}");
                    assert_eq!(logged.warnings, eager.warnings, "{what}");
                }
                attacker_findings += eager.findings.iter().filter(|f| f.kind == CompromiseKind::AccessedMessage).count();
                assert!(eager.evidence.len() <= records.len());
            }
        }
        // The tenants hold a breach worth comparing.
        assert!(attacker_findings > 1000, "{attacker_findings}");
    }

    /// A full disk: the same verdict, from memory, and a warning that says so.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_full_disk_keeps_the_verdict_and_says_so() {
        let records = tenant(7, 600);
        let options = option_sets().remove(0);
        let eager = run(Box::new(VerdictAnalysis::eager(options.clone())), &records);
        let full = std::fs::File::options().read(true).write(true).open("/dev/full").unwrap();
        let log = VerdictAnalysis { details: Some(DetailLog::with_file(full, 1)), ..VerdictAnalysis::new(options) };
        let logged = run(Box::new(log), &records);
        assert_eq!(logged.findings, eager.findings);
        assert_eq!(logged.evidence, eager.evidence);
        assert!(matches!(&logged.warnings[0], AnalysisWarning::DetailLogInMemory(why) if !why.is_empty()), "{:?}", logged.warnings);
        assert_eq!(logged.warnings[1..], eager.warnings[..]);
    }

    /// What the verdict holds grows with the contexts and the attacker's findings: the
    /// messages others read are not kept (not even their ids), nor their records' evidence.
    #[test]
    fn only_the_attackers_messages_are_kept() {
        let owners = |first: usize, count: usize| -> Vec<MailAccessRecord> {
            (first..first + count)
                .map(|i| {
                    let message = format!("owner-{i}@x");
                    // GUID ids, as real records have: their text is not interned.
                    rec(&format!("00000000-0000-4000-8000-{i:012x}"), "2024-05-02T09:00:00Z")
                        .mailbox("owner@contoso.com")
                        .ip(OFFICE)
                        .session(&format!("s-owner-{}", i % 10))
                        .bind(&[(message.as_str(), "\\Inbox", 1)])
                        .done()
                })
                .collect()
        };
        let attacker = rec("a1", "2024-05-02T10:00:00Z")
            .mailbox("owner@contoso.com")
            .ip(ATTACKER)
            .session("s-att")
            .bind(&[("read@x", "\\Inbox", 1)])
            .done();
        let options = option_sets().remove(0);
        let mut held = Vec::new();
        for count in [2_000, 8_000] {
            let mut analysis = VerdictAnalysis { details: Some(DetailLog::with_spill_at(4096)), ..VerdictAnalysis::new(options.clone()) };
            for record in owners(0, count).iter().chain(std::iter::once(&attacker)) {
                analysis.add(record);
            }
            let attribution = analysis.attribute(&AtomicBool::new(false)).unwrap();
            assert_eq!(analysis.replay_details(&attribution, &AtomicBool::new(false)).unwrap(), None);
            let messages: usize = analysis.contexts.iter().map(|c| c.messages.len()).sum();
            assert_eq!(messages, 1, "only the attacker's message");
            held.push((analysis.strings.len(), analysis.evidence.len(), analysis.contexts.len()));
        }
        // 11 contexts; their strings, and the evidence of the attacker's record and of each
        // context's earliest: four times the records, the same.
        assert_eq!(held[0], held[1]);
        assert_eq!(held[0].2, 11);
        assert_eq!(held[0].1, 11);
    }
}
