//! Records for analysis tests, built field by field.

use std::sync::atomic::AtomicBool;

use crate::address::ClientAddress;
use crate::analysis::message::AnalysisWarning;
use crate::analysis::{Analysis, AnalysisResult, EvidenceRecord, Finding, Verdict};
use crate::model::{FolderAccess, MailAccessRecord, MailAccessType, MessageItem, SourcePosition, UserType};

pub(crate) fn rec(id: &str, time: &str) -> Rec {
    Rec(MailAccessRecord {
        record_id: Some(id.to_string()),
        creation_time: time.parse().expect("RFC 3339 time"),
        mailbox: None,
        mailbox_guid: None,
        user_id: None,
        user_type: None,
        access_type: MailAccessType::Bind,
        is_throttled: Some(false),
        client_address: None,
        client_info_string: None,
        session_id: None,
        app_id: None,
        client_app_id: None,
        aad_session_id: None,
        unique_token_id: None,
        issued_at_time: None,
        logon_type: None,
        external_access: None,
        operation_count: None,
        originating_server: None,
        folders: vec![],
        items: vec![],
        degraded: None,
        source: SourcePosition::default(),
        origin: None,
    })
}

pub(crate) struct Rec(pub MailAccessRecord);

impl Rec {
    pub fn mailbox(mut self, m: &str) -> Self {
        self.0.mailbox = Some(m.into());
        self
    }
    pub fn user(mut self, u: &str) -> Self {
        self.0.user_id = Some(u.into());
        self
    }
    pub fn user_type(mut self, t: &str) -> Self {
        self.0.user_type = Some(UserType::from_text(t));
        self
    }
    pub fn ip(mut self, ip: &str) -> Self {
        self.0.client_address = ClientAddress::parse(ip);
        self
    }
    pub fn client(mut self, c: &str) -> Self {
        self.0.client_info_string = Some(c.into());
        self
    }
    pub fn session(mut self, s: &str) -> Self {
        self.0.session_id = Some(s.into());
        self
    }
    pub fn app(mut self, a: &str) -> Self {
        self.0.app_id = Some(a.into());
        self
    }
    pub fn entra(mut self, session: &str, token: &str) -> Self {
        self.0.aad_session_id = Some(session.into());
        self.0.unique_token_id = Some(token.into());
        self
    }
    pub fn throttled(mut self, t: Option<bool>) -> Self {
        self.0.is_throttled = t;
        self
    }
    /// A Bind of `(message id, folder, size)` items.
    pub fn bind(mut self, items: &[(&str, &str, u64)]) -> Self {
        self.0.access_type = MailAccessType::Bind;
        for (id, folder, size) in items {
            self.0.items.push(MessageItem {
                internet_message_id: crate::model::normalize_message_id(id).unwrap(),
                folder_path: Some((*folder).into()),
                size_in_bytes: Some(*size),
            });
            if !self.0.folders.iter().any(|f| f.path.as_deref() == Some(*folder)) {
                self.0.folders.push(FolderAccess { path: Some(folder.to_string()), id: None, item_count: None });
            }
        }
        for folder in &mut self.0.folders {
            folder.item_count = Some(items.iter().filter(|(_, f, _)| Some(*f) == folder.path.as_deref()).count() as u64);
        }
        self.0.operation_count = Some(items.len() as u64);
        self
    }
    pub fn sync(mut self, folders: &[&str]) -> Self {
        self.0.access_type = MailAccessType::Sync;
        for folder in folders {
            self.0.folders.push(FolderAccess { path: Some(folder.to_string()), id: None, item_count: None });
        }
        self
    }
    /// A record whose items were lost by an earlier tool.
    pub fn degraded(mut self, folder: &str, operation_count: u64) -> Self {
        self.0.access_type = MailAccessType::Bind;
        self.0.folders = vec![FolderAccess { path: Some(folder.into()), id: None, item_count: None }];
        self.0.items.clear();
        self.0.operation_count = Some(operation_count);
        self.0.degraded = Some("FolderItems lost".into());
        self
    }
    pub fn done(self) -> MailAccessRecord {
        self.0
    }
}

/// Feeds the records to the analysis, in order, and finishes it.
pub(crate) fn run(mut analysis: Box<dyn Analysis>, records: Vec<MailAccessRecord>) -> AnalysisResult {
    for r in &records {
        analysis.add(r);
    }
    analysis.finish(&AtomicBool::new(false)).unwrap()
}

/// A verdict's result as the tests read it: its rows and its warnings side by side.
#[derive(Debug)]
pub(crate) struct VerdictRun {
    pub findings: Vec<Finding>,
    pub evidence: Vec<EvidenceRecord>,
    pub finding_evidence: Vec<(u32, u32)>,
    pub warnings: Vec<AnalysisWarning>,
}

impl VerdictRun {
    pub(crate) fn of(result: AnalysisResult) -> VerdictRun {
        let Verdict { findings, evidence, finding_evidence } = result.output.into_verdict().expect("a verdict");
        VerdictRun { findings, evidence, finding_evidence, warnings: result.warnings }
    }
}

/// A small deterministic generator (xorshift), so that generated cases are the same every run.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }

    pub(crate) fn pick<'a>(&mut self, values: &[&'a str]) -> &'a str {
        values[self.below(values.len() as u64) as usize]
    }
}
