//! The evidence behind each finding, record by record: when, which mailbox, who, how, from
//! which context, which folders and messages, and where the record is in the input (file and
//! line), for the report's evidence appendix and for each finding's `Evidence`.
//!
//! The verdict keeps aggregates per context, not records. What a record contributed is rebuilt
//! at the end from the attacker's contexts (their messages, syncs and unresolved reads refer to
//! records by [`RecordRef`]); what the aggregates do not hold is kept per record, compactly
//! ([`Provenance`]: its position, mailbox, access type, throttling and folders, 32 bytes), for
//! the records of the attacker's contexts and the earliest of every context, as the detail log
//! gives them back after attribution (detail.rs): not for every record read. Records before
//! -StartDate are noted only when they are a context's first (the baseline a SharedIndicator
//! names). Throttled records are rare and may be outside the period: they are kept whole.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use rustc_hash::FxHashMap;

use super::attribution::{Attribution, Ident, Link};
use super::{CompromiseKind, FineKey, VerdictAnalysis};
use crate::analysis::throttling::UNAUDITED_PERIOD_HOURS;
use crate::analysis::{distinct_items, folder_paths, mailbox_sort_key, ContextText, RecordRef, Strings, Verdict};
use crate::model::{MailAccessRecord, MailAccessType, SourcePosition};

/// One record behind one or more findings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvidenceRecord {
    pub time: DateTime<Utc>,
    pub record_id: Option<String>,
    /// The mailbox that was read.
    pub mailbox: Option<String>,
    pub access_type: MailAccessType,
    pub is_throttled: Option<bool>,
    /// Address, client, session and acting account.
    pub context: ContextText,
    pub app_id: Option<String>,
    pub client_app_id: Option<String>,
    /// AppAccessContext: the Entra session and the token.
    pub aad_session_id: Option<String>,
    pub unique_token_id: Option<String>,
    /// The folders the record names, in its order.
    pub folders: Vec<String>,
    /// The message ids it lists (for the findings it supports), sorted.
    pub items: Vec<String>,
    /// OperationCount, when it matters (an unresolved or throttled read).
    pub operation_count: Option<u64>,
    pub source: SourcePosition,
    /// Where the record was first read, when it came in as one of the module's own records.
    pub origin: Option<String>,
}

/// What the aggregates do not keep of an in-period record.
#[derive(Clone, Copy, Debug)]
struct Provenance {
    index: u64,
    /// 0 when unknown.
    line: u64,
    /// `u32::MAX` for pipeline input.
    file: u32,
    /// The mailbox (a folded id), `u32::MAX` when absent.
    mailbox: u32,
    /// Its distinct folder paths: `folder_lists[folders_start..][..folders_len]`.
    folders_start: u32,
    folders_len: u16,
    access: MailAccessType,
    throttled: Option<bool>,
}

const NO_FILE: u32 = u32::MAX;
const NO_MAILBOX: u32 = u32::MAX;

impl Provenance {
    fn source(&self) -> SourcePosition {
        SourcePosition {
            index: self.index,
            file: (self.file != NO_FILE).then_some(self.file),
            line: (self.line != 0).then_some(self.line),
            // The evidence appendix names the record by file and line; its query position is
            // the completeness check's, not the evidence's.
            result: None,
        }
    }

    fn mailbox(&self) -> Option<u32> {
        (self.mailbox != NO_MAILBOX).then_some(self.mailbox)
    }
}

/// Kept while reading, for [`VerdictAnalysis::with_evidence`].
#[derive(Default)]
pub(super) struct EvidenceLog {
    /// By the record's entry in the verdict's record table ([`RecordRef::id`]): the records of
    /// the attacker's contexts and each context's earliest, not every record read.
    provenance: FxHashMap<u32, Provenance>,
    /// Interned folder paths of the records, record after record.
    folder_lists: Vec<u32>,
    /// The origin (interned) of the records that came in as the module's own, by entry.
    origins: FxHashMap<u32, u32>,
    /// Every throttled record (in the period or not: a window can reach into it).
    throttled: Vec<EvidenceRecord>,
}

impl EvidenceLog {
    /// A record just given `reference` in the verdict's record table: every record of the
    /// period, and the first of each context before it.
    pub(super) fn note(&mut self, reference: RecordRef, record: &MailAccessRecord, strings: &mut Strings) {
        let folders_start = self.folder_lists.len() as u32;
        for path in folder_paths(record).into_iter().flatten() {
            self.folder_lists.push(strings.intern(path));
        }
        let entry = Provenance {
            index: record.source.index,
            line: record.source.line.unwrap_or(0),
            file: record.source.file.unwrap_or(NO_FILE),
            mailbox: record.mailbox.as_deref().map(|m| strings.intern_folded(m)).unwrap_or(NO_MAILBOX),
            folders_start,
            folders_len: (self.folder_lists.len() as u32 - folders_start).min(u16::MAX as u32) as u16,
            access: record.access_type,
            throttled: record.is_throttled,
        };
        self.provenance.insert(reference.id, entry);
        if let Some(origin) = record.origin.as_deref() {
            self.origins.insert(reference.id, strings.intern(origin));
        }
    }

    /// How many records' provenance is kept.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.provenance.len()
    }

    /// Any record, in the period or not: kept whole when it was throttled.
    pub(super) fn note_throttled(&mut self, record: &MailAccessRecord) {
        if record.is_throttled != Some(true) {
            return;
        }
        let mut items: Vec<String> = distinct_items(record).iter().map(|i| i.internet_message_id.clone()).collect();
        items.sort();
        self.throttled.push(EvidenceRecord {
            time: record.creation_time,
            record_id: record.record_id.clone(),
            mailbox: record.mailbox.clone(),
            access_type: record.access_type,
            is_throttled: Some(true),
            context: ContextText {
                client_ip_address: record.client_address.as_ref().map(|a| a.canonical().to_string()),
                client_info_string: record.client_info_string.clone(),
                session_id: record.session_id.clone(),
                user_id: record.user_id.clone(),
            },
            app_id: record.app_id.clone(),
            client_app_id: record.client_app_id.clone(),
            aad_session_id: record.aad_session_id.clone(),
            unique_token_id: record.unique_token_id.clone(),
            folders: folder_paths(record).into_iter().flatten().map(str::to_string).collect(),
            items,
            operation_count: record.operation_count,
            source: record.source.clone(),
            origin: record.origin.clone(),
        });
    }
}

/// An attacker-context record as the aggregates describe it.
struct AttackerRow {
    reference: RecordRef,
    context: usize,
    items: BTreeSet<u32>,
    unresolved_count: Option<u64>,
}

/// A finding's evidence before it is numbered: an attacker record, a kept throttled record,
/// or a record of another context (by its entry and context) that used a shared identifier.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum RowHandle {
    Attacker(u32),
    Throttled(usize),
    Other(RecordRef, FineKey),
}

/// An identifier as findings about it hold it: which column, and its text.
type IdentText<'s> = (u8, &'s str);

fn ident_text(ident: Ident, strings: &Strings) -> IdentText<'_> {
    match ident {
        Ident::Address(a) => (0, strings.display(a)),
        Ident::Session(s) => (1, strings.display(s)),
        Ident::Entra(e) => (2, strings.display(e)),
    }
}

/// The identifier an indicator finding is about: exactly one of its address, session and
/// Entra session columns holds it.
fn finding_ident(finding: &super::Finding) -> IdentText<'_> {
    if let Some(address) = finding.client_ip_addresses.first() {
        (0, address)
    } else if let Some(session) = finding.session_ids.first() {
        (1, session)
    } else {
        (2, finding.actors.aad_session_ids.first().map(String::as_str).unwrap_or(""))
    }
}

/// Where a record is: unique per record in a run.
type SourceKey = (u32, u64, u64);

fn source_key(source: &SourcePosition) -> SourceKey {
    (source.file.unwrap_or(NO_FILE), source.index, source.line.unwrap_or(0))
}

impl VerdictAnalysis {
    /// The mailbox as the verdict displays it (its first spelling), from any spelling.
    fn mailbox_display(&self, mailbox: Option<&str>) -> Option<String> {
        let text = mailbox?;
        Some(match self.strings.folded.get(text) {
            Some(&id) => self.strings.display(id).to_string(),
            None => text.to_string(),
        })
    }

    /// The verdict of some sorted findings, with the records behind each: `evidence` in the
    /// order of time, record id and position, and `finding_evidence` pairs. Every record in a
    /// finding's `evidence_record_ids` is among its evidence records, and no other (the tests
    /// check it). A new kind of finding needs its case in [`Self::handles_of`].
    pub(super) fn with_evidence(&self, findings: Vec<super::Finding>, attribution: Option<&Attribution>) -> Verdict {
        let index = self.evidence_index(attribution);
        let handles: Vec<Vec<RowHandle>> = findings.iter().map(|finding| self.handles_of(finding, &index)).collect();
        let (records, keys) = self.evidence_records(&index, &handles);
        let (evidence, finding_evidence) = numbered(records, &keys);
        Verdict { findings, evidence, finding_evidence }
    }

    /// What each attacker record did, from the aggregates of its context, and the records
    /// behind each message, folder, unresolved read and identifier.
    fn evidence_index(&self, attribution: Option<&Attribution>) -> EvidenceIndex<'_> {
        let strings = &self.strings;
        let mut index = EvidenceIndex::default();
        let Some(attribution) = attribution else { return index };
        for (i, state) in self.contexts.iter().enumerate() {
            if attribution.why[i].is_none() {
                continue;
            }
            fn row(rows: &mut FxHashMap<u32, AttackerRow>, reference: RecordRef, context: usize) -> &mut AttackerRow {
                rows.entry(reference.id).or_insert_with(|| AttackerRow {
                    reference,
                    context,
                    items: BTreeSet::new(),
                    unresolved_count: None,
                })
            }
            for (&(mailbox, message), m) in &state.messages {
                let key = (mailbox_sort_key(mailbox.map(|m| strings.key(m))), strings.key(message));
                for reference in &m.refs {
                    row(&mut index.rows, *reference, i).items.insert(message);
                    index.by_message.entry(key.clone()).or_default().push(reference.id);
                }
            }
            for (&(mailbox, folder), refs) in &state.syncs {
                let key = (mailbox_sort_key(mailbox.map(|m| strings.key(m))), folder.map(|f| strings.key(f)));
                for reference in refs {
                    row(&mut index.rows, *reference, i);
                    index.by_folder.entry(key.clone()).or_default().push(reference.id);
                }
            }
            for unresolved in &state.unresolved {
                row(&mut index.rows, unresolved.reference, i).unresolved_count = unresolved.operation_count;
                let key = (
                    mailbox_sort_key(unresolved.mailbox.as_deref()),
                    unresolved.reference.time,
                    strings.record_text(unresolved.reference.id),
                );
                index.by_unresolved.entry(key).or_default().push(unresolved.reference.id);
            }
        }
        // A linked identifier: the earliest record of the context that linked it.
        for (&ident, link) in &attribution.links {
            if let Link::Linked { context, .. } = link {
                index.by_indicator.insert(ident_text(ident, strings), self.contexts[*context].earliest.id);
            }
        }
        // A shared identifier: the first record of each other context that used it before,
        // and the record that would have linked it (an attacker record).
        for refusal in &attribution.refused {
            let mut of_refusal: Vec<RowHandle> = refusal.users.iter().map(|u| RowHandle::Other(u.first, u.key)).collect();
            of_refusal.push(RowHandle::Attacker(self.contexts[refusal.context].earliest.id));
            index.by_shared.insert(ident_text(refusal.ident, strings), of_refusal);
        }
        index
    }

    /// A finding's records.
    fn handles_of(&self, finding: &super::Finding, index: &EvidenceIndex<'_>) -> Vec<RowHandle> {
        let mailbox = mailbox_sort_key(finding.mailbox.as_deref());
        let attacker = |ids: Option<&Vec<u32>>| ids.into_iter().flatten().map(|&id| RowHandle::Attacker(id)).collect::<Vec<_>>();
        match finding.kind {
            CompromiseKind::AccessedMessage => {
                let message = finding.internet_message_id.as_deref().unwrap_or("");
                attacker(index.by_message.get(&(mailbox, message)))
            }
            CompromiseKind::SyncedFolder => attacker(index.by_folder.get(&(mailbox, finding.folder_path.as_deref()))),
            CompromiseKind::UnresolvedAccess => {
                let record = finding.evidence_record_ids.first().cloned().unwrap_or_default();
                attacker(index.by_unresolved.get(&(mailbox, finding.start, record)))
            }
            CompromiseKind::AttackerIndicator => {
                index.by_indicator.get(&finding_ident(finding)).map(|&id| vec![RowHandle::Attacker(id)]).unwrap_or_default()
            }
            CompromiseKind::SharedIndicator => index.by_shared.get(&finding_ident(finding)).cloned().unwrap_or_default(),
            // Windows are disjoint per mailbox, and each holds every throttled record of the
            // mailbox from its start to 24 hours before its end.
            CompromiseKind::ThrottledWindow => {
                let period = Duration::hours(UNAUDITED_PERIOD_HOURS);
                self.evidence
                    .throttled
                    .iter()
                    .enumerate()
                    .filter(|(_, t)| {
                        mailbox_sort_key(t.mailbox.as_deref()) == mailbox && t.time >= finding.start && t.time + period <= finding.end
                    })
                    .map(|(i, _)| RowHandle::Throttled(i))
                    .collect()
            }
        }
    }

    /// A record of the verdict's table, described by its context and its provenance.
    fn describe(&self, entry: u32, time: DateTime<Utc>, key: &FineKey, provenance: &Provenance) -> EvidenceRecord {
        let (strings, log) = (&self.strings, &self.evidence);
        let folders = &log.folder_lists[provenance.folders_start as usize..][..provenance.folders_len as usize];
        let record_id = strings.record_text(entry);
        let text = |id: Option<u32>| id.map(|i| strings.display(i).to_string());
        EvidenceRecord {
            time,
            record_id: (!record_id.is_empty()).then_some(record_id),
            mailbox: text(provenance.mailbox()),
            access_type: provenance.access,
            is_throttled: provenance.throttled,
            context: key.context.describe(strings),
            app_id: text(key.apps.app),
            client_app_id: text(key.apps.client_app),
            aad_session_id: text(key.apps.aad_session),
            unique_token_id: text(self.tokens.get(&entry).copied()),
            folders: folders.iter().map(|&f| strings.key(f).to_string()).collect(),
            items: Vec::new(),
            operation_count: None,
            source: provenance.source(),
            origin: text(log.origins.get(&entry).copied()),
        }
    }

    /// An attacker record, with what it contributed.
    fn describe_attacker(&self, row: &AttackerRow, provenance: &Provenance) -> EvidenceRecord {
        let state = &self.contexts[row.context];
        let mut record = self.describe(row.reference.id, row.reference.time, &state.key, provenance);
        record.items = row.items.iter().map(|&m| self.strings.key(m).to_string()).collect();
        record.items.sort();
        record.operation_count = row.unresolved_count;
        record
    }

    /// A throttled record kept whole, its mailbox as the verdict displays it.
    fn displayed(&self, kept: &EvidenceRecord) -> EvidenceRecord {
        let mut kept = kept.clone();
        kept.mailbox = self.mailbox_display(kept.mailbox.as_deref());
        kept
    }

    /// Each record behind the findings once (an attacker record may also be a throttled one),
    /// by where it is, and each finding's records by that key.
    fn evidence_records(
        &self,
        index: &EvidenceIndex<'_>,
        handles: &[Vec<RowHandle>],
    ) -> (BTreeMap<SourceKey, EvidenceRecord>, Vec<Vec<SourceKey>>) {
        let log = &self.evidence;
        let throttled_at: FxHashMap<SourceKey, usize> = if index.by_shared.is_empty() {
            FxHashMap::default()
        } else {
            log.throttled.iter().enumerate().map(|(i, t)| (source_key(&t.source), i)).collect()
        };
        let mut records: BTreeMap<SourceKey, EvidenceRecord> = BTreeMap::new();
        let mut keys: Vec<Vec<SourceKey>> = Vec::with_capacity(handles.len());
        for of_finding in handles {
            let mut finding_keys = Vec::with_capacity(of_finding.len());
            for handle in of_finding {
                let key = match *handle {
                    RowHandle::Attacker(id) => {
                        // Every attacker record has a row and a provenance; were one missing, the
                        // finding would lack that record rather than the verdict fail.
                        let (Some(row), Some(provenance)) = (index.rows.get(&id), log.provenance.get(&id)) else { continue };
                        let key = source_key(&provenance.source());
                        records.entry(key).or_insert_with(|| self.describe_attacker(row, provenance));
                        key
                    }
                    RowHandle::Other(reference, context) => {
                        let Some(provenance) = log.provenance.get(&reference.id) else { continue };
                        let key = source_key(&provenance.source());
                        // A throttled record is kept whole: the same object for every finding.
                        let kept = throttled_at.get(&key).map(|&i| &log.throttled[i]);
                        records.entry(key).or_insert_with(|| match kept {
                            Some(kept) => self.displayed(kept),
                            None => self.describe(reference.id, reference.time, &context, provenance),
                        });
                        key
                    }
                    RowHandle::Throttled(i) => {
                        let kept = &log.throttled[i];
                        let key = source_key(&kept.source);
                        records.entry(key).or_insert_with(|| self.displayed(kept));
                        key
                    }
                };
                finding_keys.push(key);
            }
            keys.push(finding_keys);
        }
        (records, keys)
    }
}

/// What [`VerdictAnalysis::evidence_index`] finds: the attacker's records by entry, and the
/// records behind each (mailbox, message), (mailbox, folder), (mailbox, time, record) of an
/// unresolved read, linked identifier and shared identifier.
#[derive(Default)]
struct EvidenceIndex<'s> {
    rows: FxHashMap<u32, AttackerRow>,
    by_message: FxHashMap<(String, &'s str), Vec<u32>>,
    by_folder: FxHashMap<(String, Option<&'s str>), Vec<u32>>,
    by_unresolved: FxHashMap<(String, DateTime<Utc>, String), Vec<u32>>,
    by_indicator: FxHashMap<IdentText<'s>, u32>,
    by_shared: FxHashMap<IdentText<'s>, Vec<RowHandle>>,
}

/// The records in order (time, record id, position), and (finding, record) pairs by those
/// numbers, each once.
fn numbered(records: BTreeMap<SourceKey, EvidenceRecord>, keys: &[Vec<SourceKey>]) -> (Vec<EvidenceRecord>, Vec<(u32, u32)>) {
    let mut ordered: Vec<(SourceKey, EvidenceRecord)> = records.into_iter().collect();
    ordered.sort_by(|(ka, a), (kb, b)| (a.time, &a.record_id, ka).cmp(&(b.time, &b.record_id, kb)));
    let number: FxHashMap<SourceKey, u32> = ordered.iter().enumerate().map(|(n, (key, _))| (*key, n as u32)).collect();
    let mut pairs = Vec::new();
    for (finding, finding_keys) in keys.iter().enumerate() {
        let mut numbers: Vec<u32> = finding_keys.iter().map(|k| number[k]).collect();
        numbers.sort_unstable();
        numbers.dedup();
        pairs.extend(numbers.into_iter().map(|n| (finding as u32, n)));
    }
    (ordered.into_iter().map(|(_, record)| record).collect(), pairs)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicBool;

    use super::super::tests::{breach, by_ip};
    use super::*;
    use crate::analysis::testing::{rec, VerdictRun};
    use crate::analysis::{Analysis, VerdictOptions};

    /// Records, each at line (its position + 2) of file 0, as a CSV export has them.
    fn verdict_of(records: Vec<MailAccessRecord>, options: VerdictOptions) -> VerdictRun {
        let mut analysis = Box::new(VerdictAnalysis::new(options));
        for (i, mut record) in records.into_iter().enumerate() {
            record.source = SourcePosition { index: i as u64, file: Some(0), line: Some(i as u64 + 2), result: None };
            analysis.add(&record);
        }
        VerdictRun::of(analysis.finish(&AtomicBool::new(false)).unwrap())
    }

    /// The breach.
    fn verdict(options: VerdictOptions) -> VerdictRun {
        verdict_of(breach(), options)
    }

    /// The breach, and the attacker's session s-att once from the owner's office address,
    /// which the owner's contexts used the day before: a shared address, not followed.
    fn shared_breach() -> Vec<MailAccessRecord> {
        let mut records = breach();
        records.push(
            rec("a7", "2024-05-02T17:00:00Z")
                .mailbox("victim@contoso.com")
                .user("victim@contoso.com")
                .ip("192.0.2.10")
                .client("Client=OWA;Action=ViaProxy")
                .session("s-att")
                .entra("e-att", "tok-a7")
                .bind(&[("m6@x", "\\Inbox", 10)])
                .done(),
        );
        records
    }

    /// The evidence records of one finding, by record id.
    fn evidence_of(result: &VerdictRun, finding: usize) -> Vec<&EvidenceRecord> {
        result.finding_evidence.iter().filter(|(f, _)| *f as usize == finding).map(|(_, e)| &result.evidence[*e as usize]).collect()
    }

    /// Each finding's evidence records, as its (time, id) list must read.
    fn check_every_finding(result: &VerdictRun) {
        for (i, finding) in result.findings.iter().enumerate() {
            let mut got: Vec<(DateTime<Utc>, String)> = result
                .finding_evidence
                .iter()
                .filter(|(f, _)| *f as usize == i)
                .map(|(_, e)| &result.evidence[*e as usize])
                .map(|e| (e.time, e.record_id.clone().unwrap_or_default()))
                .collect();
            got.sort();
            got.dedup();
            let ids: Vec<String> = got.into_iter().map(|(_, id)| id).collect();
            assert_eq!(ids, finding.evidence_record_ids, "{} {:?}", finding.kind.name(), finding.reason);
        }
        let referenced: BTreeSet<u32> = result.finding_evidence.iter().map(|(_, e)| *e).collect();
        assert_eq!(referenced.len(), result.evidence.len(), "every evidence record supports a finding");
    }

    fn record<'a>(result: &'a VerdictRun, id: &str) -> &'a EvidenceRecord {
        result.evidence.iter().find(|e| e.record_id.as_deref() == Some(id)).unwrap_or_else(|| panic!("no evidence {id}"))
    }

    #[test]
    fn every_finding_has_exactly_its_records() {
        check_every_finding(&verdict(by_ip("203.0.113.77")));
        let mut options = by_ip("203.0.113.77");
        options.expand = false;
        check_every_finding(&verdict(options));
        let mut options = by_ip("203.0.113.77");
        options.period_start = Some("2024-05-02T10:30:00Z".parse().unwrap());
        check_every_finding(&verdict(options));
        check_every_finding(&verdict(VerdictOptions::default()));
        // With a shared identifier, refused or (-ExpandSharedIndicator) followed, and with the
        // baseline before -StartDate.
        check_every_finding(&verdict_of(shared_breach(), by_ip("203.0.113.77")));
        let mut options = by_ip("203.0.113.77");
        options.expand_shared = true;
        check_every_finding(&verdict_of(shared_breach(), options));
        let mut options = by_ip("203.0.113.77");
        options.period_start = Some("2024-05-02T00:00:00Z".parse().unwrap());
        check_every_finding(&verdict_of(shared_breach(), options));
    }

    #[test]
    fn a_shared_indicator_rests_on_who_used_it_before_and_the_record_that_would_link_it() {
        for start in [None, Some("2024-05-02T00:00:00Z")] {
            let mut options = by_ip("203.0.113.77");
            options.period_start = start.map(|s| s.parse().unwrap());
            let result = verdict_of(shared_breach(), options);
            let shared =
                result.findings.iter().position(|f| f.kind == CompromiseKind::SharedIndicator).expect("the office address is shared");
            assert_eq!(result.findings[shared].client_ip_addresses, ["192.0.2.10"]);
            let evidence = evidence_of(&result, shared);
            let ids: Vec<&str> = evidence.iter().map(|e| e.record_id.as_deref().unwrap()).collect();
            // The owner's two contexts first used it in o1 and o2 (before the period, with
            // -StartDate); a7 would have linked it.
            assert_eq!(ids, ["o1", "o2", "a7"], "{start:?}");
            let o1 = evidence[0];
            assert_eq!(o1.mailbox.as_deref(), Some("victim@contoso.com"));
            assert_eq!(o1.context.session_id.as_deref(), Some("s-owner"));
            assert_eq!((o1.access_type, o1.folders.as_slice()), (MailAccessType::Bind, &["\\Inbox".to_string()][..]));
            assert_eq!(o1.source, SourcePosition { index: 0, file: Some(0), line: Some(2), result: None });
            assert!(o1.items.is_empty(), "a record that is not the attacker's lists no message of a finding");
            let a7 = evidence[2];
            assert_eq!(a7.items, ["<m6@x>"], "a7 is also the evidence of the message it read");
            assert_eq!((a7.aad_session_id.as_deref(), a7.unique_token_id.as_deref()), (Some("e-att"), Some("tok-a7")));
        }
    }

    #[test]
    fn each_record_says_what_where_and_from_which_context() {
        let result = verdict(by_ip("203.0.113.77"));
        // Attacker records a1..a6 and the throttled t1, each once, by time.
        let ids: Vec<&str> = result.evidence.iter().map(|e| e.record_id.as_deref().unwrap()).collect();
        assert_eq!(ids, ["a1", "a2", "a3", "a4", "a5", "a6", "t1"]);
        let sync = record(&result, "a4");
        assert_eq!(sync.access_type, MailAccessType::Sync);
        assert_eq!(sync.folders, ["\\Inbox", "\\Finance"]);
        assert!(sync.items.is_empty());
        assert_eq!(sync.context.client_ip_address.as_deref(), Some("198.51.100.20"));
        assert_eq!(sync.context.session_id.as_deref(), Some("s-rest"));
        assert_eq!(sync.source, SourcePosition { index: 5, file: Some(0), line: Some(7), result: None });
        let read = record(&result, "a3");
        assert_eq!(read.items, ["<m1@x>", "<m4@x>"]);
        assert_eq!(read.folders, ["\\Inbox"]);
        assert_eq!(read.context.user_id.as_deref(), Some("victim@contoso.com"));
        let delegate = record(&result, "a5");
        assert_eq!(delegate.mailbox.as_deref(), Some("boss@contoso.com"));
        let unresolved = record(&result, "a6");
        assert_eq!(unresolved.operation_count, Some(7));
        let throttled = record(&result, "t1");
        assert_eq!((throttled.is_throttled, throttled.items.as_slice()), (Some(true), &["<m5@x>".to_string()][..]));
        // The address B was linked by a2: the indicator's evidence is that record.
        let b = result
            .findings
            .iter()
            .position(|f| f.client_ip_addresses == ["198.51.100.20"] && f.kind == CompromiseKind::AttackerIndicator)
            .unwrap();
        let evidence: Vec<&str> = result
            .finding_evidence
            .iter()
            .filter(|(f, _)| *f as usize == b)
            .map(|(_, e)| result.evidence[*e as usize].record_id.as_deref().unwrap())
            .collect();
        assert_eq!(evidence, ["a2"]);
    }

    #[test]
    fn what_is_kept_per_record_stays_small() {
        // Every evidence record (an attacker's, a context's earliest) costs this, plus 4 bytes
        // a folder, until the verdict ends.
        assert!(std::mem::size_of::<Provenance>() <= 32, "{}", std::mem::size_of::<Provenance>());
    }

    #[test]
    fn records_outside_the_period_are_not_evidence() {
        let mut options = by_ip("203.0.113.77");
        options.period_start = Some("2024-05-02T10:30:00Z".parse().unwrap());
        options.period_end = Some("2024-05-02T15:30:00Z".parse().unwrap());
        let result = verdict(options);
        assert!(result.evidence.iter().all(|e| e.record_id.as_deref() != Some("a1")));
        // The throttled window starts after the period: t1 supports nothing.
        assert!(result.evidence.iter().all(|e| e.record_id.as_deref() != Some("t1")));
    }
}
