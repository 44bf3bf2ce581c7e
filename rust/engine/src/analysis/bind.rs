//! Step 4 of the guidance: the messages read (`MailAccessType` Bind), each with its contexts.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use rustc_hash::FxHashMap;
use smallvec::SmallVec;

use super::{distinct_items, widen, Analysis, AnalysisOutput, AnalysisResult, Cancelled, ContextKey, ContextText, Strings};
use crate::model::{MailAccessRecord, MailAccessType};

/// One message read, with every context that read it. The texts many rows share (mailbox,
/// folder, contexts) are shared, not copied: a tenant's messages outnumber its contexts by far.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageRead {
    pub mailbox: Option<Arc<str>>,
    pub internet_message_id: String,
    pub folder_path: Option<Arc<str>>,
    pub size_in_bytes: Option<u64>,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub access_count: u64,
    pub contexts: Vec<Arc<ContextText>>,
}

/// What is kept of one message while reading: numbers only (ids into [`Strings`] and into the
/// analysis' context table), since it is kept for every message read by anyone.
struct ReadState {
    /// The mailbox as the first record spelled it (an exact id).
    mailbox: Option<u32>,
    span: (DateTime<Utc>, DateTime<Utc>),
    /// Folder of the latest access (ties: the greater path, to stay deterministic); an exact id.
    latest_folder: (DateTime<Utc>, Option<u32>),
    size: Option<u64>,
    count: u64,
    /// Distinct contexts, as indexes into `BindAnalysis::contexts` (most messages have one).
    contexts: SmallVec<[u32; 2]>,
}

#[derive(Default)]
pub struct BindAnalysis {
    strings: Strings,
    /// By mailbox (folded) and message.
    messages: FxHashMap<(Option<u32>, u32), ReadState>,
    contexts: Vec<ContextKey>,
    context_ids: FxHashMap<ContextKey, u32>,
}

impl BindAnalysis {
    pub fn new() -> BindAnalysis {
        BindAnalysis::default()
    }

    fn context_id(&mut self, context: ContextKey) -> u32 {
        let contexts = &mut self.contexts;
        *self.context_ids.entry(context).or_insert_with(|| {
            contexts.push(context);
            (contexts.len() - 1) as u32
        })
    }
}

impl Analysis for BindAnalysis {
    fn add(&mut self, record: &MailAccessRecord) {
        if record.access_type == MailAccessType::Sync || record.items.is_empty() {
            return;
        }
        let context = ContextKey::of(record, &mut self.strings);
        let context = self.context_id(context);
        let mailbox = record.mailbox.as_deref().map(|m| self.strings.intern_folded(m));
        let time = record.creation_time;
        for item in distinct_items(record) {
            let message = self.strings.intern(&item.internet_message_id);
            let folder = item.folder_path.as_deref().map(|f| self.strings.intern(f));
            let strings = &mut self.strings;
            let state = self.messages.entry((mailbox, message)).or_insert_with(|| ReadState {
                mailbox: record.mailbox.as_deref().map(|m| strings.intern(m)),
                span: (time, time),
                latest_folder: (time, folder),
                size: None,
                count: 0,
                contexts: SmallVec::new(),
            });
            widen(&mut state.span, time);
            let strings = &self.strings;
            let path = |id: Option<u32>| id.map(|id| strings.key(id));
            if (time, path(folder)) > (state.latest_folder.0, path(state.latest_folder.1)) {
                state.latest_folder = (time, folder);
            }
            state.size = state.size.max(item.size_in_bytes);
            state.count += 1;
            if !state.contexts.contains(&context) {
                state.contexts.push(context);
            }
        }
    }

    fn finish(self: Box<Self>, _cancel: &AtomicBool) -> Result<AnalysisResult, Cancelled> {
        let BindAnalysis { strings, messages, contexts, .. } = *self;
        let mut messages: Vec<_> = messages.into_iter().collect();
        messages.sort_by(|((ma, ia), a), ((mb, ib), b)| {
            (strings.key_or_empty(*ma), a.span.0, strings.key(*ia)).cmp(&(strings.key_or_empty(*mb), b.span.0, strings.key(*ib)))
        });
        let described: Vec<Arc<ContextText>> = contexts.iter().map(|c| Arc::new(c.describe(&strings))).collect();
        // One shared text per distinct mailbox spelling and folder.
        let mut shared: FxHashMap<u32, Arc<str>> = FxHashMap::default();
        let mut text = |id: Option<u32>| id.map(|id| Arc::clone(shared.entry(id).or_insert_with(|| strings.key(id).into())));
        let reads = messages
            .into_iter()
            .map(|((_, message), state)| {
                let mut ids = state.contexts;
                ids.sort_by_key(|&c| contexts[c as usize].sort_key(&strings));
                MessageRead {
                    mailbox: text(state.mailbox),
                    internet_message_id: strings.key(message).to_string(),
                    folder_path: text(state.latest_folder.1),
                    size_in_bytes: state.size,
                    start: state.span.0,
                    end: state.span.1,
                    access_count: state.count,
                    contexts: ids.into_iter().map(|c| Arc::clone(&described[c as usize])).collect(),
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
