//! Step 3 of the guidance: the access contexts (client address, client, session, user), with the
//! signals `-Suspicious` ranks them by.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::net::IpAddr;
use std::sync::atomic::AtomicBool;

use chrono::{DateTime, Utc};

use super::message::AnalysisWarning;
use super::pattern::AddressRange;
use super::{distinct_items, token_of, widen, Analysis, AnalysisOutput, AnalysisResult, Cancelled, ContextKey, ContextText, Strings};
use crate::model::{MailAccessRecord, MailAccessType, UserType};

#[derive(Clone, Debug, Default)]
pub struct ContextOptions {
    /// Keep only contexts whose address is in one of these ranges.
    pub addresses: Vec<AddressRange>,
    /// Keep only contexts with one of these sessions (case-insensitive).
    pub sessions: Vec<String>,
    /// Rank contexts by suspicion signals instead of listing them all.
    pub suspicious: bool,
    /// Records before this time are the baseline of normal activity.
    pub baseline_end: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessContext {
    pub context: ContextText,
    pub app_ids: Vec<String>,
    pub client_app_ids: Vec<String>,
    /// The Entra sessions and tokens (AppAccessContext) of the context's records.
    pub aad_session_ids: Vec<String>,
    pub unique_token_ids: Vec<String>,
    pub mailboxes: Vec<String>,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub record_count: u64,
    pub bind_count: u64,
    pub sync_count: u64,
    pub message_count: u64,
    pub bytes: u64,
    /// With `suspicious`: the signals that fired, and their number.
    pub signals: Vec<String>,
    pub score: u32,
}

struct ContextState {
    ip: Option<IpAddr>,
    app_ids: BTreeSet<u32>,
    client_app_ids: BTreeSet<u32>,
    aad_session_ids: BTreeSet<u32>,
    unique_token_ids: BTreeSet<u32>,
    mailboxes: BTreeSet<u32>,
    span: (DateTime<Utc>, DateTime<Utc>),
    records: u64,
    binds: u64,
    syncs: u64,
    /// Distinct (mailbox, message) read, with the largest size known.
    messages: HashMap<(u32, u32), Option<u64>>,
    records_before_baseline: u64,
    synced_before_baseline: HashSet<u32>,
    synced_after_baseline: HashSet<u32>,
    application: bool,
    other_mailbox: bool,
}

#[derive(Default)]
pub struct ContextAnalysis {
    options: ContextOptions,
    strings: Strings,
    contexts: HashMap<ContextKey, ContextState>,
    /// (mailbox, address) pairs seen before the baseline end, for NewAddress.
    baseline_addresses: HashSet<(u32, u32)>,
    /// Records per mailbox, and per (mailbox, client), for RareClient.
    mailbox_records: HashMap<u32, u64>,
    mailbox_client_records: HashMap<(u32, Option<u32>), u64>,
}

/// A client string seen in fewer than this share of a mailbox's records is rare for it.
const RARE_CLIENT_SHARE: f64 = 0.05;

impl ContextAnalysis {
    pub fn new(options: ContextOptions) -> ContextAnalysis {
        ContextAnalysis { options, ..Default::default() }
    }

    fn signals(&self, key: &ContextKey, state: &ContextState) -> Vec<String> {
        let mut signals = Vec::new();
        if let Some(baseline_end) = self.options.baseline_end {
            if state.span.0 >= baseline_end && state.records_before_baseline == 0 {
                signals.push("NewInPeriod".to_string());
            }
            if let Some(address) = key.address {
                if state.mailboxes.iter().any(|m| !self.baseline_addresses.contains(&(*m, address))) {
                    signals.push("NewAddress".to_string());
                }
            }
            if state.synced_after_baseline.iter().any(|m| !state.synced_before_baseline.contains(m)) {
                signals.push("NewSync".to_string());
            }
        }
        let rare = state.mailboxes.iter().any(|mailbox| {
            let total = self.mailbox_records.get(mailbox).copied().unwrap_or(0);
            let with_client = self.mailbox_client_records.get(&(*mailbox, key.client)).copied().unwrap_or(0);
            total > 0 && (with_client as f64) < RARE_CLIENT_SHARE * total as f64
        });
        if rare {
            signals.push("RareClient".to_string());
        }
        if state.application {
            signals.push("ApplicationOnly".to_string());
        }
        if state.other_mailbox {
            signals.push("OtherMailbox".to_string());
        }
        signals
    }

    fn keeps(&self, key: &ContextKey, state: &ContextState) -> bool {
        let address_ok =
            self.options.addresses.is_empty() || state.ip.is_some_and(|ip| self.options.addresses.iter().any(|r| r.contains(&ip)));
        let session_ok = self.options.sessions.is_empty()
            || key.session.is_some_and(|s| {
                let session = self.strings.key(s);
                self.options.sessions.iter().any(|wanted| wanted.eq_ignore_ascii_case(session))
            });
        address_ok && session_ok
    }
}

impl Analysis for ContextAnalysis {
    fn add(&mut self, record: &MailAccessRecord) {
        let key = ContextKey::of(record, &mut self.strings);
        let mailbox = record.mailbox.as_deref().map(|m| self.strings.intern_folded(m));
        let app = record.app_id.as_deref().map(|a| self.strings.intern(a));
        let client_app = record.client_app_id.as_deref().map(|a| self.strings.intern(a));
        let aad_session = record.aad_session_id.as_deref().map(|s| self.strings.intern_folded(s));
        let token = token_of(record, &mut self.strings);
        let items: Vec<(u32, Option<u64>)> = if record.access_type == MailAccessType::Sync {
            Vec::new()
        } else {
            distinct_items(record).into_iter().map(|item| (self.strings.intern(&item.internet_message_id), item.size_in_bytes)).collect()
        };
        let baseline_end = self.options.baseline_end;
        let state = self.contexts.entry(key).or_insert_with(|| ContextState {
            ip: record.client_address.as_ref().and_then(|a| a.ip),
            app_ids: BTreeSet::new(),
            client_app_ids: BTreeSet::new(),
            aad_session_ids: BTreeSet::new(),
            unique_token_ids: BTreeSet::new(),
            mailboxes: BTreeSet::new(),
            span: (record.creation_time, record.creation_time),
            records: 0,
            binds: 0,
            syncs: 0,
            messages: HashMap::new(),
            records_before_baseline: 0,
            synced_before_baseline: HashSet::new(),
            synced_after_baseline: HashSet::new(),
            application: false,
            other_mailbox: false,
        });
        widen(&mut state.span, record.creation_time);
        state.records += 1;
        state.app_ids.extend(app);
        state.client_app_ids.extend(client_app);
        state.aad_session_ids.extend(aad_session);
        state.unique_token_ids.extend(token);
        state.mailboxes.extend(mailbox);
        let before_baseline = baseline_end.is_some_and(|end| record.creation_time < end);
        if before_baseline {
            state.records_before_baseline += 1;
        }
        match record.access_type {
            MailAccessType::Bind => state.binds += 1,
            MailAccessType::Sync => {
                state.syncs += 1;
                if let Some(m) = mailbox {
                    if before_baseline {
                        state.synced_before_baseline.insert(m);
                    } else {
                        state.synced_after_baseline.insert(m);
                    }
                }
            }
            MailAccessType::Unknown => {}
        }
        if let Some(m) = mailbox {
            for (message, size) in items {
                let known = state.messages.entry((m, message)).or_insert(None);
                *known = (*known).max(size);
            }
        }
        if matches!(record.user_type, Some(UserType::Application | UserType::ServicePrincipal)) {
            state.application = true;
        }
        // An account reading another's mailbox; an application has no mailbox of its own (that
        // is ApplicationOnly).
        if let (Some(mailbox), Some(user)) = (record.mailbox.as_deref(), record.user_id.as_deref()) {
            if user.contains('@') && !mailbox.eq_ignore_ascii_case(user) {
                state.other_mailbox = true;
            }
        }
        if let (Some(m), Some(address), true) = (mailbox, key.address, before_baseline) {
            self.baseline_addresses.insert((m, address));
        }
        if let Some(m) = mailbox {
            *self.mailbox_records.entry(m).or_insert(0) += 1;
            *self.mailbox_client_records.entry((m, key.client)).or_insert(0) += 1;
        }
    }

    fn finish(self: Box<Self>, _cancel: &AtomicBool) -> Result<AnalysisResult, Cancelled> {
        let strings = &self.strings;
        // App ids are exact strings, mailboxes folded ones.
        let sorted_texts = |ids: &BTreeSet<u32>, folded: bool| {
            let mut texts: Vec<String> =
                ids.iter().map(|&i| if folded { strings.display(i) } else { strings.key(i) }.to_string()).collect();
            texts.sort_by_key(|t| t.to_lowercase());
            texts
        };
        let mut contexts: Vec<(AccessContext, [&str; 4])> = Vec::new();
        for (key, state) in &self.contexts {
            if !self.keeps(key, state) {
                continue;
            }
            let signals = if self.options.suspicious { self.signals(key, state) } else { Vec::new() };
            if self.options.suspicious && signals.is_empty() {
                continue;
            }
            let summary = AccessContext {
                context: key.describe(strings),
                app_ids: sorted_texts(&state.app_ids, false),
                client_app_ids: sorted_texts(&state.client_app_ids, false),
                aad_session_ids: sorted_texts(&state.aad_session_ids, true),
                unique_token_ids: sorted_texts(&state.unique_token_ids, false),
                mailboxes: sorted_texts(&state.mailboxes, true),
                start: state.span.0,
                end: state.span.1,
                record_count: state.records,
                bind_count: state.binds,
                sync_count: state.syncs,
                message_count: state.messages.len() as u64,
                bytes: state.messages.values().map(|s| s.unwrap_or(0)).sum(),
                score: signals.len() as u32,
                signals,
            };
            contexts.push((summary, key.sort_key(strings)));
        }
        contexts.sort_by(|(a, ka), (b, kb)| b.score.cmp(&a.score).then(a.start.cmp(&b.start)).then_with(|| ka.cmp(kb)));
        let mut warnings = Vec::new();
        if self.options.suspicious && self.options.baseline_end.is_none() {
            warnings.push(AnalysisWarning::NoBaselineEnd);
        }
        Ok(AnalysisResult::new(AnalysisOutput::Contexts(contexts.into_iter().map(|(c, _)| c).collect()), warnings))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::testing::{rec, run};

    const OWNER_OWA: (&str, &str, &str) = ("192.0.2.10", "Client=OWA;Action=ViaProxy", "s-owner");

    #[test]
    fn contexts_group_by_the_four_fields_and_count_distinct_messages() {
        let (ip, client, session) = OWNER_OWA;
        let result = run(
            Box::new(ContextAnalysis::new(ContextOptions::default())),
            vec![
                rec("r1", "2024-05-01T10:00:00Z")
                    .mailbox("v@x")
                    .user("v@x")
                    .ip(ip)
                    .client(client)
                    .session(session)
                    .app("app-1")
                    .bind(&[("a@x", "\\Inbox", 100), ("b@x", "\\Inbox", 50)])
                    .done(),
                rec("r2", "2024-05-01T12:00:00Z")
                    .mailbox("v@x")
                    .user("V@X")
                    .ip(ip)
                    .client(client)
                    .session(session)
                    .app("app-1")
                    .bind(&[("a@x", "\\Inbox", 100)])
                    .done(),
                // Same address spelled differently: same context.
                rec("r3", "2024-05-01T13:00:00Z")
                    .mailbox("v@x")
                    .user("v@x")
                    .ip("::ffff:192.0.2.10")
                    .client(client)
                    .session(session)
                    .sync(&["\\Inbox"])
                    .done(),
                // Another session: another context.
                rec("r4", "2024-05-01T09:00:00Z")
                    .mailbox("v@x")
                    .user("v@x")
                    .ip(ip)
                    .client(client)
                    .session("s-other")
                    .bind(&[("c@x", "\\Inbox", 7)])
                    .done(),
            ],
        );
        assert_eq!(result.output.contexts().unwrap().len(), 2);
        let other = &result.output.contexts().unwrap()[0];
        assert_eq!(other.context.session_id.as_deref(), Some("s-other"));
        let owner = &result.output.contexts().unwrap()[1];
        assert_eq!(owner.context.client_ip_address.as_deref(), Some("192.0.2.10"));
        // One account spelled two ways: shown the way that sorts first, whatever the order.
        assert_eq!(owner.context.user_id.as_deref(), Some("V@X"));
        assert_eq!((owner.record_count, owner.bind_count, owner.sync_count), (3, 2, 1));
        assert_eq!((owner.message_count, owner.bytes), (2, 150));
        assert_eq!(owner.app_ids, vec!["app-1"]);
        // The account is one whether it reads or is read: one spelling for both.
        assert_eq!(owner.mailboxes, vec!["V@X"]);
        assert_eq!(owner.start.to_rfc3339(), "2024-05-01T10:00:00+00:00");
        assert_eq!(owner.end.to_rfc3339(), "2024-05-01T13:00:00+00:00");
    }

    #[test]
    fn context_filters_by_range_and_session() {
        let records = || {
            vec![
                rec("r1", "2024-05-01T10:00:00Z").ip("192.0.2.10").session("S-1").done(),
                rec("r2", "2024-05-01T10:00:00Z").ip("203.0.113.5").session("s-2").done(),
            ]
        };
        let by_range = run(
            Box::new(ContextAnalysis::new(ContextOptions {
                addresses: vec![AddressRange::parse("203.0.113.0/24").unwrap()],
                ..Default::default()
            })),
            records(),
        );
        assert_eq!(by_range.output.contexts().unwrap().len(), 1);
        assert_eq!(by_range.output.contexts().unwrap()[0].context.session_id.as_deref(), Some("s-2"));
        let by_session =
            run(Box::new(ContextAnalysis::new(ContextOptions { sessions: vec!["s-1".into()], ..Default::default() })), records());
        assert_eq!(by_session.output.contexts().unwrap().len(), 1);
        assert_eq!(by_session.output.contexts().unwrap()[0].context.session_id.as_deref(), Some("S-1"));
    }

    #[test]
    fn suspicious_signals() {
        let mut records = Vec::new();
        // 25 baseline records of the owner, one client.
        for i in 0..25 {
            records.push(
                rec(&format!("b{i:02}"), &format!("2024-05-01T{:02}:00:00Z", i % 24))
                    .mailbox("v@x")
                    .user("v@x")
                    .ip("192.0.2.10")
                    .client("Client=OWA")
                    .session("s-owner")
                    .bind(&[("a@x", "\\Inbox", 1)])
                    .done(),
            );
        }
        // The owner's desktop synced before the baseline end and again after.
        records.push(
            rec("d1", "2024-05-01T08:00:00Z")
                .mailbox("v@x")
                .user("v@x")
                .ip("192.0.2.11")
                .client("Client=MSExchangeRPC")
                .sync(&["\\Inbox"])
                .done(),
        );
        records.push(
            rec("d2", "2024-05-03T08:00:00Z")
                .mailbox("v@x")
                .user("v@x")
                .ip("192.0.2.11")
                .client("Client=MSExchangeRPC")
                .sync(&["\\Inbox"])
                .done(),
        );
        // New after the baseline: a rare client, a sync, and another user's mailbox.
        records.push(
            rec("e1", "2024-05-03T09:00:00Z")
                .mailbox("v@x")
                .user("v@x")
                .ip("203.0.113.5")
                .client("python-requests")
                .sync(&["\\Inbox"])
                .done(),
        );
        records.push(
            rec("e2", "2024-05-03T09:05:00Z")
                .mailbox("boss@x")
                .user("v@x")
                .ip("203.0.113.5")
                .client("python-requests")
                .bind(&[("z@x", "\\Inbox", 1)])
                .done(),
        );
        records.push(
            rec("e3", "2024-05-03T10:00:00Z")
                .mailbox("v@x")
                .user_type("Application")
                .ip("198.51.100.3")
                .client("Client=REST;;")
                .bind(&[("a@x", "\\Inbox", 1)])
                .done(),
        );
        let options =
            ContextOptions { suspicious: true, baseline_end: Some("2024-05-02T00:00:00Z".parse().unwrap()), ..Default::default() };
        let result = run(Box::new(ContextAnalysis::new(options)), records);
        let got: Vec<_> = result
            .output
            .contexts()
            .unwrap()
            .iter()
            .map(|c| (c.context.client_ip_address.clone().unwrap(), c.signals.join(","), c.score))
            .collect();
        assert_eq!(
            got,
            vec![
                ("203.0.113.5".to_string(), "NewInPeriod,NewAddress,NewSync,RareClient,OtherMailbox".to_string(), 5),
                ("198.51.100.3".to_string(), "NewInPeriod,NewAddress,RareClient,ApplicationOnly".to_string(), 4),
            ]
        );
        // The owner's desktop synced before and after the baseline end (not a new sync), and its
        // client is 2 of the mailbox's 29 records (not rare): no signal, not listed.
        assert!(result.warnings.is_empty());
    }
}
