//! Step 1: throttling. A record with IsThrottled = True means access to its mailbox was not
//! audited for the next 24 hours: an unaudited window.

use std::sync::atomic::AtomicBool;

use chrono::{DateTime, Duration, Utc};
use rustc_hash::FxHashMap;

use super::message::AnalysisWarning;
use super::{
    actors, context_lists, evidence_ids, record_ref, ref_cmp, token_of, Actors, Analysis, AnalysisOutput, AnalysisResult, AppKey,
    Cancelled, ContextKey, RecordRef, Strings,
};
use crate::model::MailAccessRecord;

/// How long Exchange stops auditing a mailbox after throttling it.
pub const UNAUDITED_PERIOD_HOURS: i64 = 24;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnauditedWindow {
    pub mailbox: Option<String>,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub throttled_record_count: u64,
    /// The throttled records that opened the window, by time then id.
    pub record_ids: Vec<String>,
    /// The distinct addresses, sessions and clients of those records (who got it throttled).
    pub client_ip_addresses: Vec<String>,
    pub session_ids: Vec<String>,
    pub client_info_strings: Vec<String>,
    /// The accounts, applications, Entra sessions and tokens of those records.
    pub actors: Actors,
}

/// A throttled record: when, its context, and who acted.
#[derive(Clone, Copy, Debug)]
struct Throttled {
    reference: RecordRef,
    context: ContextKey,
    apps: AppKey,
    token: Option<u32>,
}

/// Per mailbox: what its records say about throttling.
#[derive(Default, Debug)]
struct MailboxThrottling {
    display: Option<String>,
    throttled: Vec<Throttled>,
    records: u64,
    unknown: u64,
}

#[derive(Default)]
pub struct ThrottlingAnalysis {
    strings: Strings,
    /// By folded mailbox id (None: records without a mailbox).
    mailboxes: FxHashMap<Option<u32>, MailboxThrottling>,
}

/// The windows and the per-mailbox coverage, before they are written out.
#[derive(Debug)]
pub struct ThrottlingResult {
    pub windows: Vec<UnauditedWindow>,
    /// Mailboxes with records that do not say whether they were throttled:
    /// (mailbox, records that do not say, all records).
    pub unknown: Vec<(Option<String>, u64, u64)>,
}

impl ThrottlingAnalysis {
    pub fn new() -> ThrottlingAnalysis {
        ThrottlingAnalysis::default()
    }

    pub(crate) fn add_record(&mut self, record: &MailAccessRecord) {
        let mailbox = record.mailbox.as_deref().map(|m| self.strings.intern_folded(m));
        let entry = self.mailboxes.entry(mailbox).or_default();
        if entry.display.is_none() {
            entry.display = record.mailbox.clone();
        }
        entry.records += 1;
        match record.is_throttled {
            Some(true) => {
                let strings = &mut self.strings;
                let throttled = Throttled {
                    reference: record_ref(record, strings),
                    context: ContextKey::of(record, strings),
                    apps: AppKey::of(record, strings),
                    token: token_of(record, strings),
                };
                entry.throttled.push(throttled);
            }
            Some(false) => {}
            None => entry.unknown += 1,
        }
    }

    pub(crate) fn result(&self) -> ThrottlingResult {
        let mut windows = Vec::new();
        let mut unknown = Vec::new();
        let mut mailboxes: Vec<(&str, &MailboxThrottling)> =
            self.mailboxes.iter().map(|(id, state)| (id.map(|m| self.strings.key(m)).unwrap_or(""), state)).collect();
        mailboxes.sort_by(|a, b| a.0.cmp(b.0));
        for (_, state) in mailboxes {
            windows.extend(merge_windows(state.display.as_deref(), &state.throttled, &self.strings));
            if state.unknown > 0 {
                unknown.push((state.display.clone(), state.unknown, state.records));
            }
        }
        ThrottlingResult { windows, unknown }
    }
}

/// One window per run of throttled records whose 24-hour windows overlap or touch.
fn merge_windows(mailbox: Option<&str>, throttled: &[Throttled], strings: &Strings) -> Vec<UnauditedWindow> {
    let mut sorted: Vec<Throttled> = throttled.to_vec();
    sorted.sort_by(|a, b| ref_cmp(&a.reference, &b.reference, strings));
    let period = Duration::hours(UNAUDITED_PERIOD_HOURS);
    let mut windows: Vec<(DateTime<Utc>, DateTime<Utc>, Vec<Throttled>)> = Vec::new();
    for record in sorted {
        let time = record.reference.time;
        match windows.last_mut() {
            Some((_, end, records)) if time <= *end => {
                *end = (*end).max(time + period);
                records.push(record);
            }
            _ => windows.push((time, time + period, vec![record])),
        }
    }
    windows
        .into_iter()
        .map(|(start, end, records)| {
            let refs: Vec<RecordRef> = records.iter().map(|r| r.reference).collect();
            let (client_ip_addresses, session_ids, client_info_strings) = context_lists(records.iter().map(|r| &r.context), strings);
            let actors = actors(records.iter().map(|r| (&r.context, &r.apps)), records.iter().filter_map(|r| r.token), strings);
            UnauditedWindow {
                mailbox: mailbox.map(str::to_string),
                start,
                end,
                throttled_record_count: refs.len() as u64,
                record_ids: evidence_ids(&refs, strings),
                client_ip_addresses,
                session_ids,
                client_info_strings,
                actors,
            }
        })
        .collect()
}

impl Analysis for ThrottlingAnalysis {
    fn add(&mut self, record: &MailAccessRecord) {
        self.add_record(record);
    }

    fn finish(self: Box<Self>, _cancel: &AtomicBool) -> Result<AnalysisResult, Cancelled> {
        let ThrottlingResult { windows, unknown } = self.result();
        let warnings = unknown
            .into_iter()
            .map(|(mailbox, unknown, records)| AnalysisWarning::ThrottlingUnknown { mailbox, unknown, records })
            .collect();
        Ok(AnalysisResult::new(AnalysisOutput::Windows(windows), warnings))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(mailbox: &str, time: &str, id: &str, throttled: Option<bool>) -> MailAccessRecord {
        crate::analysis::testing::rec(id, time).mailbox(mailbox).throttled(throttled).done()
    }

    fn windows(records: &[MailAccessRecord]) -> Vec<(String, String, String, u64, Vec<String>)> {
        let mut analysis = ThrottlingAnalysis::new();
        for r in records {
            analysis.add_record(r);
        }
        analysis
            .result()
            .windows
            .into_iter()
            .map(|w| (w.mailbox.unwrap(), w.start.to_rfc3339(), w.end.to_rfc3339(), w.throttled_record_count, w.record_ids))
            .collect()
    }

    #[test]
    fn a_throttled_record_opens_24_hours() {
        let got = windows(&[record("a@x", "2024-05-01T10:00:00Z", "r1", Some(true))]);
        assert_eq!(
            got,
            vec![("a@x".into(), "2024-05-01T10:00:00+00:00".into(), "2024-05-02T10:00:00+00:00".into(), 1, vec!["r1".to_string()])]
        );
    }

    #[test]
    fn overlapping_touching_and_separate_windows() {
        let got = windows(&[
            record("a@x", "2024-05-01T10:00:00Z", "r1", Some(true)),
            record("a@x", "2024-05-01T20:00:00Z", "r2", Some(true)), // overlaps r1
            record("a@x", "2024-05-02T20:00:00Z", "r3", Some(true)), // touches r2's end exactly
            record("a@x", "2024-05-05T00:00:00Z", "r4", Some(true)), // separate
            record("a@x", "2024-05-03T00:00:00Z", "r5", Some(false)),
        ]);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].1, "2024-05-01T10:00:00+00:00");
        assert_eq!(got[0].2, "2024-05-03T20:00:00+00:00");
        assert_eq!(got[0].3, 3);
        assert_eq!(got[0].4, vec!["r1", "r2", "r3"]);
        assert_eq!(got[1].1, "2024-05-05T00:00:00+00:00");
        assert_eq!(got[1].4, vec!["r4"]);
    }

    #[test]
    fn out_of_order_input_gives_the_same_windows() {
        let mut records = vec![
            record("a@x", "2024-05-02T20:00:00Z", "r3", Some(true)),
            record("a@x", "2024-05-01T10:00:00Z", "r1", Some(true)),
            record("a@x", "2024-05-05T00:00:00Z", "r4", Some(true)),
            record("a@x", "2024-05-01T20:00:00Z", "r2", Some(true)),
        ];
        let first = windows(&records);
        records.reverse();
        assert_eq!(windows(&records), first);
        assert_eq!(first.len(), 2);
    }

    #[test]
    fn mailboxes_are_separate_and_case_insensitive() {
        let got = windows(&[
            record("A@x", "2024-05-01T10:00:00Z", "r1", Some(true)),
            record("b@x", "2024-05-01T11:00:00Z", "r2", Some(true)),
            record("a@X", "2024-05-01T12:00:00Z", "r3", Some(true)),
        ]);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].0, "A@x");
        assert_eq!(got[0].3, 2);
        assert_eq!(got[1].0, "b@x");
    }

    #[test]
    fn unknown_throttling_is_reported_not_taken_as_false() {
        let mut analysis = Box::new(ThrottlingAnalysis::new());
        analysis.add(&record("a@x", "2024-05-01T10:00:00Z", "r1", None));
        analysis.add(&record("a@x", "2024-05-01T11:00:00Z", "r2", Some(false)));
        analysis.add(&record("b@x", "2024-05-01T11:00:00Z", "r3", None));
        let result = analysis.finish(&AtomicBool::new(false)).unwrap();
        assert!(result.output.windows().unwrap().is_empty());
        assert_eq!(result.warnings.len(), 2);
        assert_eq!(result.warnings[0], AnalysisWarning::ThrottlingUnknown { mailbox: Some("a@x".into()), unknown: 1, records: 2 });
        assert_eq!(result.warnings[1], AnalysisWarning::ThrottlingUnknown { mailbox: Some("b@x".into()), unknown: 1, records: 1 });
    }
}
