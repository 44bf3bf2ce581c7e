//! Step 2 of the guidance: the folders synchronised (`MailAccessType` Sync), by mailbox, folder and
//! access context.

use std::collections::HashMap;
use std::sync::atomic::AtomicBool;

use chrono::{DateTime, Utc};

use super::{
    evidence_ids, folder_paths, record_ref, widen, Analysis, AnalysisOutput, AnalysisResult, Cancelled, ContextKey, ContextText, RecordRef,
    Strings,
};
use crate::model::{MailAccessRecord, MailAccessType};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncActivity {
    pub mailbox: Option<String>,
    pub folder_path: Option<String>,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub sync_count: u64,
    pub context: ContextText,
    pub record_ids: Vec<String>,
}

struct SyncState {
    mailbox: Option<String>,
    folder: Option<String>,
    span: (DateTime<Utc>, DateTime<Utc>),
    refs: Vec<RecordRef>,
}

#[derive(Default)]
pub struct SyncAnalysis {
    strings: Strings,
    /// By mailbox (folded) and folder.
    groups: HashMap<(Option<u32>, Option<u32>, ContextKey), SyncState>,
}

impl SyncAnalysis {
    pub fn new() -> SyncAnalysis {
        SyncAnalysis::default()
    }
}

impl Analysis for SyncAnalysis {
    fn add(&mut self, record: &MailAccessRecord) {
        if record.access_type != MailAccessType::Sync {
            return;
        }
        let context = ContextKey::of(record, &mut self.strings);
        let reference = record_ref(record, &mut self.strings);
        let mailbox = record.mailbox.as_deref().map(|m| self.strings.intern_folded(m));
        for folder in folder_paths(record) {
            let key = (mailbox, folder.map(|f| self.strings.intern(f)), context);
            let state = self.groups.entry(key).or_insert_with(|| SyncState {
                mailbox: record.mailbox.clone(),
                folder: folder.map(str::to_string),
                span: (record.creation_time, record.creation_time),
                refs: Vec::new(),
            });
            widen(&mut state.span, record.creation_time);
            state.refs.push(reference);
        }
    }

    fn finish(self: Box<Self>, _cancel: &AtomicBool) -> Result<AnalysisResult, Cancelled> {
        let strings = &self.strings;
        let mut groups: Vec<_> = self.groups.iter().collect();
        groups.sort_by(|(ka, a), (kb, b)| {
            let folder = |f: Option<u32>| f.map(|f| strings.key(f));
            (strings.key_or_empty(ka.0), a.span.0, folder(ka.1), ka.2.sort_key(strings)).cmp(&(
                strings.key_or_empty(kb.0),
                b.span.0,
                folder(kb.1),
                kb.2.sort_key(strings),
            ))
        });
        let syncs = groups
            .into_iter()
            .map(|((_, _, context), state)| SyncActivity {
                mailbox: state.mailbox.clone(),
                folder_path: state.folder.clone(),
                start: state.span.0,
                end: state.span.1,
                sync_count: state.refs.len() as u64,
                context: context.describe(strings),
                record_ids: evidence_ids(&state.refs, strings),
            })
            .collect();
        Ok(AnalysisResult::new(AnalysisOutput::Syncs(syncs), Vec::new()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::testing::{rec, run};

    #[test]
    fn sync_groups_by_mailbox_folder_and_context() {
        let result = run(
            Box::new(SyncAnalysis::new()),
            vec![
                rec("r1", "2024-05-01T10:00:00Z")
                    .mailbox("v@x")
                    .user("v@x")
                    .ip("198.51.100.7")
                    .client("Client=MSExchangeRPC")
                    .sync(&["\\Inbox"])
                    .done(),
                rec("r2", "2024-05-01T11:00:00Z")
                    .mailbox("v@x")
                    .user("v@x")
                    .ip("198.51.100.7")
                    .client("Client=MSExchangeRPC")
                    .sync(&["\\Inbox"])
                    .done(),
                rec("r3", "2024-05-01T10:30:00Z")
                    .mailbox("v@x")
                    .user("v@x")
                    .ip("203.0.113.9")
                    .client("Client=MSExchangeRPC")
                    .sync(&["\\Inbox", "\\Sent Items"])
                    .done(),
                rec("r4", "2024-05-01T09:00:00Z").mailbox("v@x").user("v@x").ip("198.51.100.7").bind(&[("a@x", "\\Inbox", 10)]).done(),
            ],
        );
        let got: Vec<_> = result
            .output
            .syncs()
            .unwrap()
            .iter()
            .map(|s| (s.folder_path.clone().unwrap(), s.context.client_ip_address.clone().unwrap(), s.sync_count, s.record_ids.clone()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("\\Inbox".into(), "198.51.100.7".into(), 2, vec!["r1".to_string(), "r2".into()]),
                ("\\Inbox".into(), "203.0.113.9".into(), 1, vec!["r3".to_string()]),
                ("\\Sent Items".into(), "203.0.113.9".into(), 1, vec!["r3".to_string()]),
            ]
        );
        assert_eq!(result.output.syncs().unwrap()[0].start.to_rfc3339(), "2024-05-01T10:00:00+00:00");
        assert_eq!(result.output.syncs().unwrap()[0].end.to_rfc3339(), "2024-05-01T11:00:00+00:00");
    }
}
