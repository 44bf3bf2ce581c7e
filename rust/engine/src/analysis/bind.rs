//! Step 4 of the guidance: the messages read (`MailAccessType` Bind), each with its contexts.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::AtomicBool;

use chrono::{DateTime, Utc};

use super::{distinct_items, widen, Analysis, AnalysisOutput, AnalysisResult, Cancelled, ContextKey, ContextText, Strings};
use crate::model::{MailAccessRecord, MailAccessType};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageRead {
    pub mailbox: Option<String>,
    pub internet_message_id: String,
    pub folder_path: Option<String>,
    pub size_in_bytes: Option<u64>,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub access_count: u64,
    pub contexts: Vec<ContextText>,
}

struct ReadState {
    mailbox: Option<String>,
    span: (DateTime<Utc>, DateTime<Utc>),
    /// Folder of the latest access (ties: the greater path, to stay deterministic).
    latest_folder: (DateTime<Utc>, Option<std::sync::Arc<str>>),
    size: Option<u64>,
    count: u64,
    contexts: HashSet<ContextKey>,
}

#[derive(Default)]
pub struct BindAnalysis {
    strings: Strings,
    /// By mailbox (folded) and message.
    messages: HashMap<(Option<u32>, u32), ReadState>,
}

impl BindAnalysis {
    pub fn new() -> BindAnalysis {
        BindAnalysis::default()
    }
}

impl Analysis for BindAnalysis {
    fn add(&mut self, record: &MailAccessRecord) {
        if record.access_type == MailAccessType::Sync || record.items.is_empty() {
            return;
        }
        let context = ContextKey::of(record, &mut self.strings);
        let mailbox = record.mailbox.as_deref().map(|m| self.strings.intern_folded(m));
        for item in distinct_items(record) {
            let message = self.strings.intern(&item.internet_message_id);
            let key = (mailbox, message);
            let time = record.creation_time;
            let state = self.messages.entry(key).or_insert_with(|| ReadState {
                mailbox: record.mailbox.clone(),
                span: (time, time),
                latest_folder: (time, item.folder_path.clone()),
                size: None,
                count: 0,
                contexts: HashSet::new(),
            });
            widen(&mut state.span, time);
            let candidate = (time, item.folder_path.clone());
            if candidate > state.latest_folder {
                state.latest_folder = candidate;
            }
            state.size = state.size.max(item.size_in_bytes);
            state.count += 1;
            state.contexts.insert(context);
        }
    }

    fn finish(self: Box<Self>, _cancel: &AtomicBool) -> Result<AnalysisResult, Cancelled> {
        let strings = &self.strings;
        let mut messages: Vec<_> = self.messages.iter().collect();
        messages.sort_by(|((ma, ia), a), ((mb, ib), b)| {
            (strings.key_or_empty(*ma), a.span.0, strings.key(*ia)).cmp(&(strings.key_or_empty(*mb), b.span.0, strings.key(*ib)))
        });
        let reads = messages
            .into_iter()
            .map(|((_, message), state)| {
                let mut contexts: Vec<&ContextKey> = state.contexts.iter().collect();
                contexts.sort_by_key(|c| c.sort_key(strings));
                MessageRead {
                    mailbox: state.mailbox.clone(),
                    internet_message_id: strings.key(*message).to_string(),
                    folder_path: state.latest_folder.1.as_deref().map(str::to_string),
                    size_in_bytes: state.size,
                    start: state.span.0,
                    end: state.span.1,
                    access_count: state.count,
                    contexts: contexts.into_iter().map(|c| c.describe(strings)).collect(),
                }
            })
            .collect();
        Ok(AnalysisResult::new(AnalysisOutput::Reads(reads), Vec::new()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::testing::{rec, run};

    #[test]
    fn messages_read_with_their_contexts() {
        let result = run(
            Box::new(BindAnalysis::new()),
            vec![
                rec("r1", "2024-05-01T10:00:00Z")
                    .mailbox("v@x")
                    .user("v@x")
                    .ip("192.0.2.10")
                    .bind(&[("<a@x>", "\\Inbox", 100), ("a@x", "\\Inbox", 100)])
                    .done(),
                rec("r2", "2024-05-02T10:00:00Z").mailbox("v@x").user("v@x").ip("203.0.113.5").bind(&[("a@x", "\\Archive", 120)]).done(),
                rec("r3", "2024-05-01T11:00:00Z").mailbox("other@x").user("v@x").ip("203.0.113.5").bind(&[("a@x", "\\Inbox", 100)]).done(),
                rec("r4", "2024-05-01T11:00:00Z").mailbox("v@x").sync(&["\\Inbox"]).done(),
            ],
        );
        assert_eq!(result.output.reads().unwrap().len(), 2);
        let other = &result.output.reads().unwrap()[0];
        assert_eq!(other.mailbox.as_deref(), Some("other@x"));
        let read = &result.output.reads().unwrap()[1];
        assert_eq!(read.internet_message_id, "<a@x>");
        // r1 lists the message twice: one access.
        assert_eq!(read.access_count, 2);
        assert_eq!(read.folder_path.as_deref(), Some("\\Archive"));
        assert_eq!(read.size_in_bytes, Some(120));
        assert_eq!(read.start.to_rfc3339(), "2024-05-01T10:00:00+00:00");
        assert_eq!(read.end.to_rfc3339(), "2024-05-02T10:00:00+00:00");
        let ips: Vec<_> = read.contexts.iter().map(|c| c.client_ip_address.clone().unwrap()).collect();
        assert_eq!(ips, vec!["192.0.2.10", "203.0.113.5"]);
    }
}
