//! Find-MailAccessMessage: every access to given messages.

use std::collections::HashSet;
use std::sync::atomic::AtomicBool;

use chrono::{DateTime, Utc};

use super::{distinct_items, mailbox_sort_key, Analysis, AnalysisOutput, AnalysisResult, Cancelled, ContextKey, ContextText, Strings};
use crate::model::{normalize_message_id, MailAccessRecord};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageAccess {
    pub internet_message_id: String,
    pub mailbox: Option<String>,
    pub creation_time: DateTime<Utc>,
    pub folder_path: Option<String>,
    pub size_in_bytes: Option<u64>,
    pub context: ContextText,
    pub app_id: Option<String>,
    pub client_app_id: Option<String>,
    pub record_id: Option<String>,
}

pub struct FindAnalysis {
    wanted: HashSet<String>,
    accesses: Vec<MessageAccess>,
    strings: Strings,
}

impl FindAnalysis {
    /// `ids` with or without angle brackets; blank ones are ignored.
    pub fn new<'a>(ids: impl IntoIterator<Item = &'a str>) -> FindAnalysis {
        FindAnalysis {
            wanted: ids.into_iter().filter_map(normalize_message_id).collect(),
            accesses: Vec::new(),
            strings: Strings::default(),
        }
    }
}

impl Analysis for FindAnalysis {
    fn add(&mut self, record: &MailAccessRecord) {
        for item in distinct_items(record) {
            if self.wanted.contains(&item.internet_message_id) {
                let context = ContextKey::of(record, &mut self.strings);
                self.accesses.push(MessageAccess {
                    internet_message_id: item.internet_message_id.clone(),
                    mailbox: record.mailbox.clone(),
                    creation_time: record.creation_time,
                    folder_path: item.folder_path.as_deref().map(str::to_string),
                    size_in_bytes: item.size_in_bytes,
                    context: context.describe(&self.strings),
                    app_id: record.app_id.clone(),
                    client_app_id: record.client_app_id.clone(),
                    record_id: record.record_id.clone(),
                });
            }
        }
    }

    fn finish(mut self: Box<Self>, _cancel: &AtomicBool) -> Result<AnalysisResult, Cancelled> {
        self.accesses.sort_by_cached_key(|a| {
            (mailbox_sort_key(a.mailbox.as_deref()), a.creation_time, a.record_id.clone(), a.internet_message_id.clone())
        });
        Ok(AnalysisResult::new(AnalysisOutput::Accesses(self.accesses), Vec::new()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::testing::{rec, run};

    #[test]
    fn find_accesses_to_given_messages() {
        let result = run(
            Box::new(FindAnalysis::new(["a@x", "<b@x>", " "])),
            vec![
                rec("r2", "2024-05-02T10:00:00Z")
                    .mailbox("v@x")
                    .ip("203.0.113.5")
                    .bind(&[("a@x", "\\Inbox", 120), ("b@x", "\\Inbox", 5)])
                    .done(),
                rec("r1", "2024-05-01T10:00:00Z")
                    .mailbox("v@x")
                    .ip("192.0.2.10")
                    .bind(&[("<a@x>", "\\Inbox", 100), ("c@x", "\\Inbox", 1)])
                    .done(),
            ],
        );
        let got: Vec<_> =
            result.output.accesses().unwrap().iter().map(|a| (a.record_id.clone().unwrap(), a.internet_message_id.clone())).collect();
        assert_eq!(got, vec![("r1".into(), "<a@x>".to_string()), ("r2".into(), "<a@x>".into()), ("r2".into(), "<b@x>".into())]);
        assert_eq!(result.output.accesses().unwrap()[1].context.client_ip_address.as_deref(), Some("203.0.113.5"));
    }
}
