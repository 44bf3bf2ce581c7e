//! What the analyses tell the user, as data: warnings and the reasons of findings, with their
//! values. The engine does not word them: a front end does, naming its own parameters (the
//! shim, in dotnet-shim/src/Model/EngineWording.cs, says "-AttackerIPAddress" where the engine
//! says [`Indicator::IpAddress`]). Each crosses the C ABI as a [`Message`]: a
//! [`MessageCode`], values as invariant text, and phrases (messages of their own).

use chrono::{DateTime, Utc};

pub use crate::vocabulary::MessageCode;

/// Which of the verdict's attacker indicators (the cmdlet's -Attacker* parameters).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Indicator {
    IpAddress,
    SessionId,
    ClientInfoString,
    AppId,
    AadSessionId,
}

/// An indicator as it was given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GivenIndicator {
    pub indicator: Indicator,
    pub value: String,
}

/// What kind of identifier links records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IdentifierKind {
    Address,
    Session,
    EntraSession,
}

/// An identifier that links records: an address, an Exchange session, an Entra session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identifier {
    pub kind: IdentifierKind,
    pub value: String,
}

/// Why a context is the attacker's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AttributionReason {
    /// It matches an indicator given.
    Indicator(GivenIndicator),
    /// It carries an identifier of the attacker's.
    Link(Identifier),
}

/// Where the baseline of who used which identifier ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Baseline {
    /// At the period's start (-StartDate).
    StartDate(DateTime<Utc>),
    /// At the first record that matches an indicator.
    FirstIndicatorMatch(DateTime<Utc>),
    /// At the attacker's known activity (no record told it).
    KnownActivity,
}

/// A context that used an identifier before the baseline ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContextUse {
    pub user: Option<String>,
    pub client: Option<String>,
    pub first: DateTime<Utc>,
}

/// The contexts that used an identifier before: the first few, and how many there were.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContextUses {
    pub count: usize,
    pub first: Vec<ContextUse>,
}

/// How many of the contexts that used an identifier a reason names.
pub const CONTEXT_USES_SHOWN: usize = 3;

/// The record that linked an identifier (or would have), and why it is the attacker's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Linker {
    pub record: String,
    pub time: DateTime<Utc>,
    pub why: AttributionReason,
}

/// Why a finding is one: each kind's evidence, in values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FindingReason {
    ThrottledWindow {
        throttled_records: u64,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    },
    SyncedFolder {
        folder: Option<String>,
        syncs: u64,
        addresses: Vec<String>,
    },
    AccessedMessage {
        message: String,
        records: u64,
        first: DateTime<Utc>,
        addresses: Vec<String>,
    },
    UnresolvedAccess {
        record: String,
        items: Option<u64>,
        folder: Option<String>,
        /// How an earlier tool lost the message ids, and how many were recovered; None when
        /// the record lists none.
        lost: Option<(String, usize)>,
    },
    /// An identifier given as an indicator.
    GivenIndicator {
        identifier: Identifier,
        given: String,
    },
    /// An identifier linked to the attacker; `shared` when other contexts used it before (it
    /// was followed as -ExpandSharedIndicator was given).
    LinkedIndicator {
        identifier: Identifier,
        linker: Linker,
        shared: Option<(Baseline, ContextUses)>,
    },
    /// An identifier of the attacker's records that other contexts used before: not followed.
    SharedIndicator {
        identifier: Identifier,
        linker: Linker,
        baseline: Baseline,
        users: ContextUses,
        left_out: u64,
    },
}

/// What the user should be told of an analysis' result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AnalysisWarning {
    /// Records of a mailbox that do not say whether they were throttled (`unknown` of its
    /// `records`).
    ThrottlingUnknown { mailbox: Option<String>, unknown: u64, records: u64 },
    /// The signals that need the end of a baseline were asked for without one.
    NoBaselineEnd,
    /// The verdict was given no indicator: it cannot attribute access.
    NoIndicator,
    /// An indicator matched no record in the period.
    IndicatorMatchedNothing(GivenIndicator),
    /// The attacker's records that carry an address that is not a client's (placeholders,
    /// text), and all the period's records that do.
    PlaceholderAddresses { attacker_records: u64, all_records: u64, addresses: Vec<String> },
    /// Identifiers of the attacker's records that other contexts used before: not followed.
    SharedNotFollowed { identifiers: usize, baseline: Baseline },
    /// The verdict could not read back its temporary file: it may be incomplete.
    DetailLogUnreadable(String),
    /// The verdict could not use a temporary file and kept the details in memory: complete.
    DetailLogInMemory(String),
}

/// A message as it crosses to a front end: a code, values by position (absent ones None) and
/// phrases by position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub code: MessageCode,
    pub values: Vec<Option<String>>,
    pub phrases: Vec<Message>,
}

impl Message {
    fn new(code: MessageCode, values: Vec<Option<String>>, phrases: Vec<Message>) -> Message {
        Message { code, values, phrases }
    }
}

/// A time as messages carry it.
pub fn time_value(time: DateTime<Utc>) -> String {
    time.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn some(value: impl ToString) -> Option<String> {
    Some(value.to_string())
}

fn texts(values: &[String]) -> impl Iterator<Item = Option<String>> + '_ {
    values.iter().cloned().map(Some)
}

impl GivenIndicator {
    pub fn message(&self) -> Message {
        let code = match self.indicator {
            Indicator::IpAddress => MessageCode::IndicatorIpAddress,
            Indicator::SessionId => MessageCode::IndicatorSessionId,
            Indicator::ClientInfoString => MessageCode::IndicatorClientInfoString,
            Indicator::AppId => MessageCode::IndicatorAppId,
            Indicator::AadSessionId => MessageCode::IndicatorAadSessionId,
        };
        Message::new(code, vec![some(&self.value)], Vec::new())
    }
}

impl Identifier {
    pub fn message(&self) -> Message {
        let code = match self.kind {
            IdentifierKind::Address => MessageCode::IdentifierAddress,
            IdentifierKind::Session => MessageCode::IdentifierSession,
            IdentifierKind::EntraSession => MessageCode::IdentifierEntraSession,
        };
        Message::new(code, vec![some(&self.value)], Vec::new())
    }
}

impl AttributionReason {
    pub fn message(&self) -> Message {
        match self {
            AttributionReason::Indicator(given) => Message::new(MessageCode::AttributedByIndicator, Vec::new(), vec![given.message()]),
            AttributionReason::Link(identifier) => Message::new(MessageCode::AttributedByLink, Vec::new(), vec![identifier.message()]),
        }
    }
}

impl Baseline {
    pub fn message(&self) -> Message {
        match self {
            Baseline::StartDate(start) => Message::new(MessageCode::BaselineStartDate, vec![some(time_value(*start))], Vec::new()),
            Baseline::FirstIndicatorMatch(time) => {
                Message::new(MessageCode::BaselineFirstIndicatorMatch, vec![some(time_value(*time))], Vec::new())
            }
            Baseline::KnownActivity => Message::new(MessageCode::BaselineKnownActivity, Vec::new(), Vec::new()),
        }
    }
}

impl ContextUses {
    /// The phrases of the contexts named, then how many more there were.
    fn phrases(&self) -> impl Iterator<Item = Message> + '_ {
        let named = self
            .first
            .iter()
            .map(|u| Message::new(MessageCode::ContextUse, vec![u.user.clone(), u.client.clone(), some(time_value(u.first))], Vec::new()));
        let more = self.count.saturating_sub(self.first.len());
        named.chain((more > 0).then(|| Message::new(MessageCode::MoreContexts, vec![some(more)], Vec::new())))
    }
}

impl FindingReason {
    pub fn message(&self) -> Message {
        use FindingReason::*;
        match self {
            ThrottledWindow { throttled_records, start, end } => Message::new(
                MessageCode::ThrottledWindowReason,
                vec![some(throttled_records), some(time_value(*start)), some(time_value(*end))],
                Vec::new(),
            ),
            SyncedFolder { folder, syncs, addresses } => Message::new(
                MessageCode::SyncedFolderReason,
                [folder.clone(), some(syncs)].into_iter().chain(texts(addresses)).collect(),
                Vec::new(),
            ),
            AccessedMessage { message, records, first, addresses } => Message::new(
                MessageCode::AccessedMessageReason,
                [some(message), some(records), some(time_value(*first))].into_iter().chain(texts(addresses)).collect(),
                Vec::new(),
            ),
            UnresolvedAccess { record, items, folder, lost } => Message::new(
                MessageCode::UnresolvedAccessReason,
                vec![
                    some(record),
                    items.map(|n| n.to_string()),
                    folder.clone(),
                    lost.as_ref().map(|(how, _)| how.clone()),
                    lost.as_ref().map(|(_, recovered)| recovered.to_string()),
                ],
                Vec::new(),
            ),
            GivenIndicator { identifier, given } => {
                Message::new(MessageCode::GivenIndicatorReason, vec![some(given)], vec![identifier.message()])
            }
            LinkedIndicator { identifier, linker, shared } => {
                let mut values = vec![some(&linker.record), some(time_value(linker.time))];
                let mut phrases = vec![identifier.message(), linker.why.message()];
                if let Some((baseline, users)) = shared {
                    values.push(some(users.count));
                    phrases.push(baseline.message());
                    phrases.extend(users.phrases());
                }
                Message::new(MessageCode::LinkedIndicatorReason, values, phrases)
            }
            SharedIndicator { identifier, linker, baseline, users, left_out } => Message::new(
                MessageCode::SharedIndicatorReason,
                vec![some(users.count), some(left_out), some(&linker.record), some(time_value(linker.time))],
                [identifier.message(), linker.why.message(), baseline.message()].into_iter().chain(users.phrases()).collect(),
            ),
        }
    }
}

impl AnalysisWarning {
    pub fn message(&self) -> Message {
        use AnalysisWarning::*;
        match self {
            ThrottlingUnknown { mailbox, unknown, records } if unknown == records => {
                Message::new(MessageCode::ThrottlingUnknownInAll, vec![mailbox.clone(), some(records)], Vec::new())
            }
            ThrottlingUnknown { mailbox, unknown, records } => {
                Message::new(MessageCode::ThrottlingUnknownInSome, vec![mailbox.clone(), some(unknown), some(records)], Vec::new())
            }
            NoBaselineEnd => Message::new(MessageCode::NoBaselineEnd, Vec::new(), Vec::new()),
            NoIndicator => Message::new(MessageCode::NoIndicator, Vec::new(), Vec::new()),
            IndicatorMatchedNothing(given) => Message::new(MessageCode::IndicatorMatchedNothing, Vec::new(), vec![given.message()]),
            PlaceholderAddresses { attacker_records, all_records, addresses } => Message::new(
                MessageCode::PlaceholderAddresses,
                [some(attacker_records), some(all_records)].into_iter().chain(texts(addresses)).collect(),
                Vec::new(),
            ),
            SharedNotFollowed { identifiers, baseline } => {
                Message::new(MessageCode::SharedNotFollowed, vec![some(identifiers)], vec![baseline.message()])
            }
            DetailLogUnreadable(why) => Message::new(MessageCode::DetailLogUnreadable, vec![some(why)], Vec::new()),
            DetailLogInMemory(why) => Message::new(MessageCode::DetailLogInMemory, vec![some(why)], Vec::new()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn a_warning_names_its_indicator_by_code_and_carries_its_value() {
        let warning =
            AnalysisWarning::IndicatorMatchedNothing(GivenIndicator { indicator: Indicator::ClientInfoString, value: "*IMAP*".into() });
        let message = warning.message();
        assert_eq!(message.code, MessageCode::IndicatorMatchedNothing);
        assert!(message.values.is_empty());
        assert_eq!(message.phrases, [Message::new(MessageCode::IndicatorClientInfoString, vec![Some("*IMAP*".into())], Vec::new())]);
        let all = AnalysisWarning::ThrottlingUnknown { mailbox: None, unknown: 2, records: 2 }.message();
        assert_eq!((all.code, all.values), (MessageCode::ThrottlingUnknownInAll, vec![None, Some("2".into())]));
        let some = AnalysisWarning::ThrottlingUnknown { mailbox: Some("a@x".into()), unknown: 1, records: 2 }.message();
        assert_eq!(some.values, [Some("a@x".into()), Some("1".into()), Some("2".into())]);
    }

    #[test]
    fn a_reason_carries_its_phrases_in_order() {
        let users = ContextUses {
            count: 5,
            first: (0..CONTEXT_USES_SHOWN)
                .map(|i| ContextUse { user: (i != 1).then(|| format!("u{i}@x")), client: None, first: at("2024-05-01T08:00:00Z") })
                .collect(),
        };
        let reason = FindingReason::SharedIndicator {
            identifier: Identifier { kind: IdentifierKind::Address, value: "192.0.2.10".into() },
            linker: Linker {
                record: "a1".into(),
                time: at("2024-05-02T10:00:00Z"),
                why: AttributionReason::Link(Identifier { kind: IdentifierKind::Session, value: "s-att".into() }),
            },
            baseline: Baseline::StartDate(at("2024-05-02T00:00:00Z")),
            users,
            left_out: 7,
        };
        let message = reason.message();
        assert_eq!(message.code, MessageCode::SharedIndicatorReason);
        assert_eq!(message.values, ["5", "7", "a1", "2024-05-02T10:00:00Z"].map(|v| Some(v.to_string())));
        let codes: Vec<MessageCode> = message.phrases.iter().map(|p| p.code).collect();
        use MessageCode as C;
        assert_eq!(
            codes,
            [C::IdentifierAddress, C::AttributedByLink, C::BaselineStartDate, C::ContextUse, C::ContextUse, C::ContextUse, C::MoreContexts]
        );
        assert_eq!(message.phrases[1].phrases[0].values, [Some("s-att".to_string())]);
        assert_eq!(message.phrases[4].values, [None, None, Some("2024-05-01T08:00:00Z".to_string())]);
        assert_eq!(message.phrases[6].values, [Some("2".to_string())]);
    }
}
