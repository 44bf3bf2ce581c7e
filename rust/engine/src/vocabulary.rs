//! The words the engine shares with the shim: each enum here is written once, and the C# twin
//! of every one is generated from it (rust/ffi/build.rs writes
//! dotnet-shim/src/Native/Vocabulary.g.cs), so the two sides cannot drift.
//!
//! This file stands alone (no `crate::` paths): the build script of `maf_native` compiles it
//! too, to read the tables [`CSHARP`] lists.

/// One enum as the C# generator sees it.
#[derive(Debug)]
pub struct CsEnum {
    /// The Rust name, for the generated comment.
    pub rust: &'static str,
    /// The C# name, namespace and accessibility (`public` for the module's surface).
    pub name: &'static str,
    pub namespace: &'static str,
    pub access: &'static str,
    /// The underlying type: `u8` or `u32`.
    pub repr: &'static str,
    pub doc: &'static [&'static str],
    pub members: &'static [CsMember],
}

#[derive(Debug)]
pub struct CsMember {
    pub name: &'static str,
    pub value: u32,
    pub doc: &'static [&'static str],
}

/// Defines an enum with explicit values, its `name()`, `from_name()` and `code()`, and its
/// [`CsEnum`] table (`CSHARP`) for the generator.
macro_rules! shared_enum {
    (
        $(#[doc = $doc:literal])*
        #[derive($($derive:ident),*)]
        #[csharp($cs_name:literal, $cs_namespace:literal, $cs_access:literal)]
        $vis:vis enum $name:ident : $repr:ident {
            $( $(#[doc = $member_doc:literal])* $member:ident = $value:literal, )*
        }
    ) => {
        $(#[doc = $doc])*
        #[derive($($derive),*)]
        #[repr($repr)]
        $vis enum $name {
            $( $(#[doc = $member_doc])* $member = $value, )*
        }

        impl $name {
            /// Every member, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$member),*];

            /// The generator's table for this enum.
            pub const CSHARP: CsEnum = CsEnum {
                rust: stringify!($name),
                name: $cs_name,
                namespace: $cs_namespace,
                access: $cs_access,
                repr: stringify!($repr),
                doc: &[$($doc),*],
                members: &[$(CsMember { name: stringify!($member), value: $value, doc: &[$($member_doc),*] }),*],
            };

            /// Stable identifier (the member's name), used in PowerShell error ids and output.
            pub fn name(self) -> &'static str {
                match self {
                    $($name::$member => stringify!($member),)*
                }
            }

            /// The member with this exact name.
            pub fn from_name(text: &str) -> Option<$name> {
                match text {
                    $(stringify!($member) => Some($name::$member),)*
                    _ => None,
                }
            }

            /// The member's number, as it crosses the C ABI.
            pub fn code(self) -> $repr {
                self as $repr
            }

            /// The member with this number.
            pub fn from_code(code: $repr) -> Option<$name> {
                match code {
                    $($value => Some($name::$member),)*
                    _ => None,
                }
            }
        }
    };
}

shared_enum! {
    /// The category of a record error. The numeric values cross the C ABI.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    #[csharp("ErrorKind", "MailAccessForensics.Native", "internal")]
    pub enum ErrorKind: u32 {
        /// Text that should be JSON is not (truncated, bad escape, trailing garbage).
        InvalidJson = 1,
        /// Bytes that are not valid UTF-8 / UTF-16, or NUL bytes.
        InvalidEncoding = 2,
        /// A field is present with a value that cannot be read (wrong type, bad timestamp).
        InvalidValue = 3,
        /// A field every record needs is missing (Operation, CreationTime).
        MissingField = 4,
        /// The record is larger than the per-record limit.
        TooLarge = 5,
        /// The record nests deeper than the parser allows.
        TooDeep = 6,
        /// A CSV row that cannot be read (broken quoting, wrong number of fields).
        InvalidCsv = 7,
        /// The input is not an audit record of any shape this tool reads.
        NotAnAuditRecord = 8,
        /// A file could not be opened or read.
        Unreadable = 9,
    }
}

shared_enum! {
    /// Kinds of CompromiseFinding, in the order they sort within one mailbox and start time.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
    #[csharp("CompromiseKind", "MailAccessForensics", "public")]
    pub enum CompromiseKind: u32 {
        /// An unaudited window: all the mailbox's mail presumed read in it.
        ThrottledWindow = 1,
        /// A folder synced in an attacker context: every message in it presumed read.
        SyncedFolder = 2,
        /// A message read in an attacker context.
        AccessedMessage = 3,
        /// A read in an attacker context whose message ids cannot be recovered.
        UnresolvedAccess = 4,
        /// An address or session of the attacker, given or linked, and why.
        AttackerIndicator = 5,
        /// An address or session the attacker's records carry that other contexts used before the
        /// attacker's known activity: not followed (-ExpandSharedIndicator follows it), and why.
        SharedIndicator = 6,
    }
}

shared_enum! {
    /// MailAccessType of a MailItemsAccessed record.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    #[csharp("MailAccessType", "MailAccessForensics", "public")]
    pub enum MailAccessType: u8 {
        /// Individual messages were read; the record lists them.
        Bind = 1,
        /// A client downloaded a whole folder.
        Sync = 2,
        /// The record does not say, or says something unknown.
        Unknown = 0,
    }
}

shared_enum! {
    /// The tag that starts every node of the object-batch encoding (see tree.rs).
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    #[csharp("ObjectBatchTag", "MailAccessForensics.Native", "internal")]
    pub enum ObjectBatchTag: u8 {
        Null = 0,
        False = 1,
        True = 2,
        /// Followed by an i64, little-endian.
        Int = 3,
        /// Followed by the f64's bits as an i64.
        Float = 4,
        /// Followed by a u32 length and that many bytes of UTF-8.
        String = 5,
        /// Followed by .NET ticks (UTC) as an i64.
        DateTime = 6,
        /// Followed by a u32 count and that many nodes.
        List = 7,
        /// Followed by a u32 count and that many pairs of a key (a string without its tag) and a node.
        Map = 8,
        /// A value the shim could not read: followed by its reason (a u32 UnreadableReason) and
        /// the reason in words (a string without its tag).
        Unreadable = 9,
    }
}

shared_enum! {
    /// Why the shim could not read a value it sends as unreadable: the engine turns the code,
    /// never the words, into the record error's kind.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    #[csharp("UnreadableReason", "MailAccessForensics.Native", "internal")]
    pub enum UnreadableReason: u32 {
        /// Reading the value failed (a property getter threw).
        ReadFailed = 1,
        /// The text holds a lone surrogate: invalid UTF-16.
        InvalidUtf16 = 2,
        /// The value is nested deeper than the shim walks.
        TooDeep = 3,
        /// The object holds more values than any audit record.
        TooLarge = 4,
    }
}

shared_enum! {
    /// The analyses a session can run (its `Analysis` option), one per cmdlet.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    #[csharp("AnalysisName", "MailAccessForensics.Native", "internal")]
    pub enum AnalysisName: u32 {
        /// Get-MailAccessThrottling.
        Throttling = 1,
        /// Get-MailAccessSync.
        Sync = 2,
        /// Get-MailAccessContext.
        Context = 3,
        /// Get-MailAccessBind.
        Bind = 4,
        /// Find-MailAccessMessage.
        Find = 5,
        /// Get-CompromisedMailAccess.
        Verdict = 6,
    }
}

shared_enum! {
    /// What a message of the engine says: a warning, a finding's reason, or a phrase of one.
    /// The engine says it as data (this code, values and phrases: analysis/message.rs); the
    /// shim words it, naming the cmdlets' parameters (dotnet-shim/src/Model/EngineWording.cs).
    /// Values are invariant text (numbers in decimal, times as yyyy-MM-ddTHH:mm:ssZ); each
    /// member says its values and phrases, by position; a value marked ? may be absent.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    #[csharp("MessageCode", "MailAccessForensics.Native", "internal")]
    pub enum MessageCode: u32 {
        /// Warning. Values: mailbox?, records. None of a mailbox's records says whether it was throttled.
        ThrottlingUnknownInAll = 1,
        /// Warning. Values: mailbox?, unknown, records. Some of a mailbox's records do not say.
        ThrottlingUnknownInSome = 2,
        /// Warning: the suspicious-context signals that need the end of a baseline were asked
        /// for without one.
        NoBaselineEnd = 3,
        /// Warning: the verdict was given no attacker indicator.
        NoIndicator = 4,
        /// Warning. Phrase: the indicator (an Indicator* phrase). It matched no record in the period.
        IndicatorMatchedNothing = 5,
        /// Warning. Values: the attacker's records, the period's records, then each address. Records
        /// carry an address that is not a client's, through which expansion never links.
        PlaceholderAddresses = 6,
        /// Warning. Values: identifiers. Phrase: the baseline (a Baseline* phrase). Identifiers
        /// of the attacker's records were in use by other contexts and were not followed.
        SharedNotFollowed = 7,
        /// Warning. Values: why. The verdict could not read back its temporary file.
        DetailLogUnreadable = 8,
        /// Warning. Values: why. The verdict could not use a temporary file and kept the details in memory.
        DetailLogInMemory = 9,
        /// A ThrottledWindow's reason. Values: throttled records, start, end.
        ThrottledWindowReason = 20,
        /// A SyncedFolder's reason. Values: folder?, syncs, then each address.
        SyncedFolderReason = 21,
        /// An AccessedMessage's reason. Values: message id, records, first time, then each address.
        AccessedMessageReason = 22,
        /// An UnresolvedAccess's reason. Values: record id, items?, folder?, how an earlier tool
        /// lost the message ids?, message ids recovered? (the last two together).
        UnresolvedAccessReason = 23,
        /// An AttackerIndicator's reason, given. Values: the indicator as given. Phrase: the identifier.
        GivenIndicatorReason = 24,
        /// An AttackerIndicator's reason, linked. Values: the linking record's id, its time, and
        /// when others used the identifier before (followed anyway), how many. Phrases: the
        /// identifier, why the record is the attacker's (an AttributedBy* phrase), and when
        /// shared, the baseline and the first few contexts (ContextUse, MoreContexts).
        LinkedIndicatorReason = 25,
        /// A SharedIndicator's reason. Values: other contexts, records left out, the record that
        /// would have linked it, its time. Phrases: the identifier, why that record is the
        /// attacker's, the baseline, the first few contexts (ContextUse, MoreContexts).
        SharedIndicatorReason = 26,
        /// Phrase: the attacker address given (an address or a range). Values: the indicator.
        IndicatorIpAddress = 40,
        /// Phrase: the attacker session given. Values: the indicator.
        IndicatorSessionId = 41,
        /// Phrase: the attacker client pattern given. Values: the indicator.
        IndicatorClientInfoString = 42,
        /// Phrase: the attacker application given. Values: the indicator.
        IndicatorAppId = 43,
        /// Phrase: the attacker Entra session given. Values: the indicator.
        IndicatorAadSessionId = 44,
        /// Phrase: an address that links records. Values: the address.
        IdentifierAddress = 50,
        /// Phrase: an Exchange session that links records. Values: the session.
        IdentifierSession = 51,
        /// Phrase: an Entra session that links records. Values: the session.
        IdentifierEntraSession = 52,
        /// Phrase: a context is the attacker's as it matches an indicator. Phrase: the indicator.
        AttributedByIndicator = 60,
        /// Phrase: a context is the attacker's as it carries an identifier of theirs. Phrase: the identifier.
        AttributedByLink = 61,
        /// Phrase: the baseline ends at the period's start. Values: the start.
        BaselineStartDate = 70,
        /// Phrase: the baseline ends at the first record that matches an indicator. Values: its time.
        BaselineFirstIndicatorMatch = 71,
        /// Phrase: the baseline ends at the attacker's known activity.
        BaselineKnownActivity = 72,
        /// Phrase: a context that used an identifier before. Values: account?, client?, its first time.
        ContextUse = 80,
        /// Phrase: more contexts than those named. Values: how many more.
        MoreContexts = 81,
    }
}

/// Every enum the C# generator writes, in the order it writes them.
pub const CSHARP: &[CsEnum] = &[
    ErrorKind::CSHARP,
    CompromiseKind::CSHARP,
    MailAccessType::CSHARP,
    ObjectBatchTag::CSHARP,
    UnreadableReason::CSHARP,
    AnalysisName::CSHARP,
    MessageCode::CSHARP,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_codes_round_trip() {
        for kind in ErrorKind::ALL {
            assert_eq!(ErrorKind::from_name(kind.name()), Some(*kind));
            assert_eq!(ErrorKind::from_code(kind.code()), Some(*kind));
        }
        for kind in CompromiseKind::ALL {
            assert_eq!(CompromiseKind::from_code(kind.code()), Some(*kind));
        }
        assert_eq!(MailAccessType::Unknown.code(), 0);
        assert_eq!(AnalysisName::from_name("Verdict"), Some(AnalysisName::Verdict));
        assert_eq!(AnalysisName::from_name("verdict"), None);
        assert_eq!(ObjectBatchTag::from_code(10), None);
    }

    #[test]
    fn every_table_lists_each_member_once() {
        for table in CSHARP {
            let mut values: Vec<u32> = table.members.iter().map(|m| m.value).collect();
            values.sort_unstable();
            values.dedup();
            assert_eq!(values.len(), table.members.len(), "{}", table.rust);
        }
    }
}
