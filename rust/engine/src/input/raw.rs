//! The raw fields of one record, read by a single serde visitor from any map-shaped source:
//! AuditData JSON, a Search-UnifiedAuditLog object or CSV row (with AuditData inside), a
//! Search-MailboxAuditLog object, a Graph record, a Sentinel or Defender row.
//!
//! Keys are matched trimmed and case-insensitively (real records carry `"ExternalAccess "`, and
//! Graph writes camelCase). Values are kept loosely typed here; [`crate::input::interpret`] decides
//! what they mean. Nested JSON held in strings (AuditData, Sentinel's Folders) is kept as text
//! and parsed by the interpreter, so one bad field names itself in the error.

use std::borrow::Cow;
use std::fmt;
use std::sync::LazyLock;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::model::trim;

/// A loosely typed scalar: audit tools write numbers as strings and booleans as "False".
#[derive(Clone, Debug, PartialEq)]
pub enum Scalar<'de> {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Str(Cow<'de, str>),
}

impl Scalar<'_> {
    /// The value as text; None for null and for empty or blank strings.
    pub fn text(&self) -> Option<Cow<'_, str>> {
        match self {
            Scalar::Null => None,
            Scalar::Bool(b) => Some(Cow::Borrowed(if *b { "True" } else { "False" })),
            Scalar::Int(i) => Some(Cow::Owned(i.to_string())),
            Scalar::UInt(u) => Some(Cow::Owned(u.to_string())),
            Scalar::Float(f) => Some(Cow::Owned(f.to_string())),
            Scalar::Str(s) => {
                let trimmed = trim(s);
                if trimmed.is_empty() {
                    None
                } else {
                    Some(Cow::Borrowed(trimmed))
                }
            }
        }
    }

    /// A non-negative whole number: `7`, `"7"`, `7.0`, `"1352491.00"`.
    /// Err(()) when present but not such a number; Ok(None) when absent.
    #[allow(clippy::result_unit_err)] // the caller words the error: it knows the field and the record
    pub fn whole_number(&self) -> Result<Option<u64>, ()> {
        match self {
            Scalar::Null => Ok(None),
            Scalar::Int(i) => u64::try_from(*i).map(Some).map_err(|_| ()),
            Scalar::UInt(u) => Ok(Some(*u)),
            Scalar::Float(f) => float_to_whole(*f).map(Some),
            Scalar::Bool(_) => Err(()),
            Scalar::Str(s) => {
                let t = trim(s);
                if t.is_empty() {
                    return Ok(None);
                }
                if let Ok(u) = t.parse::<u64>() {
                    return Ok(Some(u));
                }
                match t.parse::<f64>() {
                    Ok(f) => float_to_whole(f).map(Some),
                    Err(_) => Err(()),
                }
            }
        }
    }

    /// A whole number that may be negative: `-1`, `"-1"`, `5000`. None when absent or not one.
    pub fn signed_number(&self) -> Option<i64> {
        match self {
            Scalar::Int(i) => Some(*i),
            Scalar::UInt(u) => i64::try_from(*u).ok(),
            Scalar::Float(f) if f.is_finite() && f.fract() == 0.0 && f.abs() < 9.0e15 => Some(*f as i64),
            Scalar::Str(s) => trim(s).parse::<i64>().ok(),
            _ => None,
        }
    }

    /// A boolean: `true`, `"False"`, `"true"`, `1`, `0`. Err(()) when present but not boolean.
    #[allow(clippy::result_unit_err)] // the caller words the error: it knows the field and the record
    pub fn boolean(&self) -> Result<Option<bool>, ()> {
        match self {
            Scalar::Null => Ok(None),
            Scalar::Bool(b) => Ok(Some(*b)),
            Scalar::Int(0) | Scalar::UInt(0) => Ok(Some(false)),
            Scalar::Int(1) | Scalar::UInt(1) => Ok(Some(true)),
            Scalar::Str(s) => parse_bool_text(s),
            _ => Err(()),
        }
    }
}

pub(crate) fn parse_bool_text(text: &str) -> Result<Option<bool>, ()> {
    let t = trim(text);
    if t.is_empty() {
        Ok(None)
    } else if t.eq_ignore_ascii_case("true") || t == "1" {
        Ok(Some(true))
    } else if t.eq_ignore_ascii_case("false") || t == "0" {
        Ok(Some(false))
    } else {
        Err(())
    }
}

fn float_to_whole(f: f64) -> Result<u64, ()> {
    if f.is_finite() && f >= 0.0 && f.fract() == 0.0 && f <= u64::MAX as f64 {
        Ok(f as u64)
    } else {
        Err(())
    }
}

impl<'de> Deserialize<'de> for Scalar<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ScalarVisitor;
        impl<'de> Visitor<'de> for ScalarVisitor {
            type Value = Scalar<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string, number, boolean or null")
            }
            fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
                Ok(Scalar::Bool(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
                Ok(Scalar::Int(v))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
                Ok(Scalar::UInt(v))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
                Ok(Scalar::Float(v))
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Scalar::Str(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Scalar::Str(Cow::Owned(v.to_string())))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(Scalar::Str(Cow::Owned(v)))
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(Scalar::Null)
            }
            fn visit_none<E>(self) -> Result<Self::Value, E> {
                Ok(Scalar::Null)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
                Scalar::deserialize(d)
            }
        }
        deserializer.deserialize_any(ScalarVisitor)
    }
}

/// A list written as a list, as one object, or as text (JSON or a PowerShell stringification)
/// to be read later.
#[derive(Clone, Debug, PartialEq)]
pub enum ListOrText<'de, T> {
    List(Vec<T>),
    Text(Cow<'de, str>),
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for ListOrText<'de, T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ListVisitor<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for ListVisitor<T> {
            type Value = ListOrText<'de, T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list, an object or text")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(ListOrText::List(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                let one = T::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(ListOrText::List(vec![one]))
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(ListOrText::Text(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(ListOrText::Text(Cow::Owned(v.to_string())))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(ListOrText::Text(Cow::Owned(v)))
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(ListOrText::List(Vec::new()))
            }
            fn visit_none<E>(self) -> Result<Self::Value, E> {
                Ok(ListOrText::List(Vec::new()))
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
                d.deserialize_any(self)
            }
        }
        deserializer.deserialize_any(ListVisitor(std::marker::PhantomData))
    }
}

/// An AuditData value: JSON text (Search-UnifiedAuditLog, CSV exports) or an object (Graph,
/// Defender, ConvertFrom-Json output).
#[derive(Clone, Debug, PartialEq)]
pub enum NestedRecord<'de> {
    Text(Cow<'de, str>),
    Fields(Box<RawFields<'de>>),
}

impl<'de> Deserialize<'de> for NestedRecord<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NestedVisitor;
        impl<'de> Visitor<'de> for NestedVisitor {
            type Value = NestedRecord<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("AuditData as JSON text or as an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                Ok(NestedRecord::Fields(Box::new(RawFields::from_map(map)?)))
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(NestedRecord::Text(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(NestedRecord::Text(Cow::Owned(v.to_string())))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(NestedRecord::Text(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_any(NestedVisitor)
    }
}

/// One `OperationProperties` entry: `{"Name":..,"Value":..}`, or text: `Name:Value`
/// (Search-MailboxAuditLog) or `@{Value=Bind; Name=MailAccessType}` (stringified).
#[derive(Clone, Debug, PartialEq)]
pub enum PropertyEntry<'de> {
    Pair { name: Option<Scalar<'de>>, value: Option<Scalar<'de>> },
    Text(Cow<'de, str>),
}

/// One `Folders` entry, or its stringified text (`@{Id=..; Path=..; FolderItems=System.Object[]}`).
#[derive(Clone, Debug, PartialEq)]
pub enum FolderEntry<'de> {
    Folder {
        id: Option<Scalar<'de>>,
        path: Option<Scalar<'de>>,
        /// None when the folder has no `FolderItems` key (a Sync folder).
        items: Option<ListOrText<'de, ItemEntry<'de>>>,
    },
    Text(Cow<'de, str>),
}

/// One `FolderItems` entry (also the ExchangeItem `Item`), or its stringified text.
#[derive(Clone, Debug, PartialEq)]
pub enum ItemEntry<'de> {
    Item { internet_message_id: Option<Scalar<'de>>, size_in_bytes: Option<Scalar<'de>>, parent_folder: Option<ParentFolder<'de>> },
    Text(Cow<'de, str>),
}

/// `AppAccessContext`: the token behind the access (newer records), or its text (Sentinel
/// keeps nested objects as JSON text).
#[derive(Clone, Debug, PartialEq)]
pub enum AppAccessContext<'de> {
    Fields { aad_session_id: Option<Scalar<'de>>, unique_token_id: Option<Scalar<'de>>, issued_at_time: Option<Scalar<'de>> },
    Text(Cow<'de, str>),
}

/// `Item.ParentFolder` of the ExchangeItem form.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct ParentFolder<'de> {
    pub id: Option<Scalar<'de>>,
    pub name: Option<Scalar<'de>>,
    pub path: Option<Scalar<'de>>,
}

/// Every key any supported shape uses, with its usual spelling. Keys not listed are skipped
/// without being read.
macro_rules! keys {
    ($($key:ident = $spelling:literal,)+) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        enum Key {
            $($key,)+
            Unknown,
        }

        impl Key {
            /// Every key with its usual spelling, in the order above.
            const ALL: &'static [(&'static str, Key)] = &[$(($spelling, Key::$key),)+];

            /// The usual spelling matches exactly (the fast path for every real AuditData);
            /// otherwise trimmed and case-insensitively (`"ExternalAccess "`, Graph's camelCase),
            /// compared only to the spellings of the same length and first and last letter: a
            /// record has a dozen keys this tool does not read, each compared to every spelling
            /// before.
            fn from_text(raw: &str) -> Key {
                match raw {
                    $($spelling => return Key::$key,)+
                    _ => {}
                }
                let key = trim(raw);
                let bytes = key.as_bytes();
                let (Some(&first), Some(&last)) = (bytes.first(), bytes.last()) else {
                    return Key::Unknown;
                };
                for &(spelling, known) in &KEY_BUCKETS[key_bucket(bytes.len(), first, last)] {
                    // No two spellings differ only in case (a test says): the first that
                    // matches is the one the order above would find.
                    if spelling.eq_ignore_ascii_case(key) {
                        return known;
                    }
                }
                Key::Unknown
            }

            fn spelling(self) -> &'static str {
                match self {
                    $(Key::$key => $spelling,)+
                    Key::Unknown => "?",
                }
            }
        }
    };
}

keys! {
    // AuditData (Management Activity API schema)
    Id = "Id",
    CreationTime = "CreationTime",
    Operation = "Operation",
    UserId = "UserId",
    UserType = "UserType",
    MailboxOwnerUpn = "MailboxOwnerUPN",
    MailboxGuid = "MailboxGuid",
    ClientIpAddress = "ClientIPAddress",
    ClientIp = "ClientIP",
    ClientInfoString = "ClientInfoString",
    SessionId = "SessionId",
    AppId = "AppId",
    ClientAppId = "ClientAppId",
    LogonType = "LogonType",
    ExternalAccess = "ExternalAccess",
    OperationProperties = "OperationProperties",
    OperationCount = "OperationCount",
    Folders = "Folders",
    Item = "Item",
    OriginatingServer = "OriginatingServer",
    AppAccessContext = "AppAccessContext",
    // Wrappers
    AuditData = "AuditData",
    RawEventData = "RawEventData",
    Identity = "Identity",
    RecordId = "RecordId",
    CreationDate = "CreationDate",
    CreatedDateTime = "createdDateTime",
    Operations = "Operations",
    UserIds = "UserIds",
    UserPrincipalName = "userPrincipalName",
    AuditLogRecordType = "auditLogRecordType",
    OfficeId = "OfficeId",
    SentinelClientIpAddress = "Client_IPAddress",
    SentinelLogonType = "Logon_Type",
    TimeGenerated = "TimeGenerated",
    ActionType = "ActionType",
    Timestamp = "Timestamp",
    IpAddress = "IPAddress",
    LastAccessed = "LastAccessed",
    AggregatedCount = "AuditOperationsCountInAggregatedRecord",
    AggregatedFolders = "AggregatedRecordFoldersData",
    ResultIndex = "ResultIndex",
    ResultCount = "ResultCount",
    // FolderItems / Item / ParentFolder / OperationProperties entries
    Path = "Path",
    Name = "Name",
    Value = "Value",
    FolderItems = "FolderItems",
    InternetMessageId = "InternetMessageId",
    SizeInBytes = "SizeInBytes",
    ParentFolder = "ParentFolder",
    // AppAccessContext entries
    AadSessionId = "AADSessionId",
    UniqueTokenId = "UniqueTokenId",
    IssuedAtTime = "IssuedAtTime",
}

/// The spellings by [`key_bucket`].
static KEY_BUCKETS: LazyLock<Vec<Vec<(&'static str, Key)>>> = LazyLock::new(|| {
    let mut buckets = vec![Vec::new(); KEY_BUCKET_COUNT];
    for &(spelling, key) in Key::ALL {
        let bytes = spelling.as_bytes();
        buckets[key_bucket(bytes.len(), bytes[0], bytes[bytes.len() - 1])].push((spelling, key));
    }
    buckets
});

const KEY_BUCKET_COUNT: usize = 256;

/// Where a key's spellings are: from its length and its first and last byte, the same for
/// every case of an ASCII letter.
fn key_bucket(len: usize, first: u8, last: u8) -> usize {
    (len.wrapping_mul(37) ^ usize::from(first | 0x20).wrapping_mul(7) ^ usize::from(last | 0x20)) % KEY_BUCKET_COUNT
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a property name")
            }
            fn visit_str<E>(self, v: &str) -> Result<Key, E> {
                Ok(Key::from_text(v))
            }
        }
        deserializer.deserialize_identifier(KeyVisitor)
    }
}

/// The raw fields of a record or of its wrapper. Both levels use the same struct: which
/// fields are set tells the interpreter the shape.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RawFields<'de> {
    pub id: Option<Scalar<'de>>,
    pub creation_time: Option<Scalar<'de>>,
    pub operation: Option<Scalar<'de>>,
    pub user_id: Option<Scalar<'de>>,
    pub user_type: Option<Scalar<'de>>,
    pub mailbox_owner_upn: Option<Scalar<'de>>,
    pub mailbox_guid: Option<Scalar<'de>>,
    pub client_ip_address: Option<Scalar<'de>>,
    pub client_ip: Option<Scalar<'de>>,
    pub client_info_string: Option<Scalar<'de>>,
    pub session_id: Option<Scalar<'de>>,
    pub app_id: Option<Scalar<'de>>,
    pub client_app_id: Option<Scalar<'de>>,
    pub logon_type: Option<Scalar<'de>>,
    pub external_access: Option<Scalar<'de>>,
    pub operation_properties: Option<ListOrText<'de, PropertyEntry<'de>>>,
    pub operation_count: Option<Scalar<'de>>,
    pub folders: Option<ListOrText<'de, FolderEntry<'de>>>,
    pub item: Option<ItemEntry<'de>>,
    pub originating_server: Option<Scalar<'de>>,
    pub app_access_context: Option<AppAccessContext<'de>>,

    pub audit_data: Option<NestedRecord<'de>>,
    pub raw_event_data: Option<NestedRecord<'de>>,
    pub identity: Option<Scalar<'de>>,
    pub record_id: Option<Scalar<'de>>,
    pub creation_date: Option<Scalar<'de>>,
    pub created_date_time: Option<Scalar<'de>>,
    pub operations: Option<Scalar<'de>>,
    pub user_ids: Option<Scalar<'de>>,
    pub user_principal_name: Option<Scalar<'de>>,
    pub audit_log_record_type: Option<Scalar<'de>>,
    pub office_id: Option<Scalar<'de>>,
    pub sentinel_client_ip_address: Option<Scalar<'de>>,
    pub sentinel_logon_type: Option<Scalar<'de>>,
    pub time_generated: Option<Scalar<'de>>,
    pub action_type: Option<Scalar<'de>>,
    pub timestamp: Option<Scalar<'de>>,
    pub ip_address: Option<Scalar<'de>>,
    pub last_accessed: Option<Scalar<'de>>,
    /// Search-MailboxAuditLog `AuditOperationsCountInAggregatedRecord`.
    pub aggregated_count: Option<Scalar<'de>>,
    /// Search-MailboxAuditLog `AggregatedRecordFoldersData` (JSON text).
    pub aggregated_folders: Option<ListOrText<'de, FolderEntry<'de>>>,
    /// Search-UnifiedAuditLog `ResultIndex` and `ResultCount` (the envelope's, not AuditData's).
    pub result_index: Option<Scalar<'de>>,
    pub result_count: Option<Scalar<'de>>,
}

/// The field a record's top level reads under this name (trimmed, case-insensitive), as a
/// number; None for names it does not read. Two names with the same number are one field.
pub(crate) fn top_level_field(name: &str) -> Option<u8> {
    let key = Key::from_text(name);
    key.is_top_level().then_some(key as u8)
}

impl Key {
    /// Read at a record's top level (the others name the parts of entries).
    fn is_top_level(self) -> bool {
        !matches!(
            self,
            Key::Unknown
                | Key::Path
                | Key::Name
                | Key::Value
                | Key::FolderItems
                | Key::InternetMessageId
                | Key::SizeInBytes
                | Key::ParentFolder
        )
    }
}

impl<'de> RawFields<'de> {
    fn from_map<A: MapAccess<'de>>(mut map: A) -> Result<Self, A::Error> {
        let mut raw = RawFields::default();
        // A field given twice would silently take the last value: refused instead.
        let mut seen = 0u64;
        while let Some(key) = map.next_key::<Key>()? {
            if key.is_top_level() {
                let bit = 1u64 << (key as u8);
                if seen & bit != 0 {
                    return Err(de::Error::custom(format!("the field {} is given twice", key.spelling())));
                }
                seen |= bit;
            }
            match key {
                Key::Id => raw.id = map.next_value()?,
                Key::CreationTime => raw.creation_time = map.next_value()?,
                Key::Operation => raw.operation = map.next_value()?,
                Key::UserId => raw.user_id = map.next_value()?,
                Key::UserType => raw.user_type = map.next_value()?,
                Key::MailboxOwnerUpn => raw.mailbox_owner_upn = map.next_value()?,
                Key::MailboxGuid => raw.mailbox_guid = map.next_value()?,
                Key::ClientIpAddress => raw.client_ip_address = map.next_value()?,
                Key::ClientIp => raw.client_ip = map.next_value()?,
                Key::ClientInfoString => raw.client_info_string = map.next_value()?,
                Key::SessionId => raw.session_id = map.next_value()?,
                Key::AppId => raw.app_id = map.next_value()?,
                Key::ClientAppId => raw.client_app_id = map.next_value()?,
                Key::LogonType => raw.logon_type = map.next_value()?,
                Key::ExternalAccess => raw.external_access = map.next_value()?,
                Key::OperationProperties => raw.operation_properties = map.next_value()?,
                Key::OperationCount => raw.operation_count = map.next_value()?,
                Key::Folders => raw.folders = map.next_value()?,
                Key::Item => raw.item = map.next_value()?,
                Key::OriginatingServer => raw.originating_server = map.next_value()?,
                Key::AppAccessContext => raw.app_access_context = map.next_value()?,
                Key::AuditData => raw.audit_data = map.next_value()?,
                Key::RawEventData => raw.raw_event_data = map.next_value()?,
                Key::Identity => raw.identity = map.next_value()?,
                Key::RecordId => raw.record_id = map.next_value()?,
                Key::CreationDate => raw.creation_date = map.next_value()?,
                Key::CreatedDateTime => raw.created_date_time = map.next_value()?,
                Key::Operations => raw.operations = map.next_value()?,
                Key::UserIds => raw.user_ids = map.next_value()?,
                Key::UserPrincipalName => raw.user_principal_name = map.next_value()?,
                Key::AuditLogRecordType => raw.audit_log_record_type = map.next_value()?,
                Key::OfficeId => raw.office_id = map.next_value()?,
                Key::SentinelClientIpAddress => raw.sentinel_client_ip_address = map.next_value()?,
                Key::SentinelLogonType => raw.sentinel_logon_type = map.next_value()?,
                Key::TimeGenerated => raw.time_generated = map.next_value()?,
                Key::ActionType => raw.action_type = map.next_value()?,
                Key::Timestamp => raw.timestamp = map.next_value()?,
                Key::IpAddress => raw.ip_address = map.next_value()?,
                Key::LastAccessed => raw.last_accessed = map.next_value()?,
                Key::AggregatedCount => raw.aggregated_count = map.next_value()?,
                Key::AggregatedFolders => raw.aggregated_folders = map.next_value()?,
                Key::ResultIndex => raw.result_index = map.next_value()?,
                Key::ResultCount => raw.result_count = map.next_value()?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(raw)
    }
}

impl<'de> Deserialize<'de> for RawFields<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FieldsVisitor;
        impl<'de> Visitor<'de> for FieldsVisitor {
            type Value = RawFields<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an audit record (an object)")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                RawFields::from_map(map)
            }
        }
        deserializer.deserialize_map(FieldsVisitor)
    }
}

/// Shared by the entry types: a map read into `T`, or text kept as it is.
macro_rules! map_or_text {
    ($ty:ident, $expecting:literal, |$map:ident| $from_map:expr) => {
        impl<'de> Deserialize<'de> for $ty<'de> {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct EntryVisitor;
                impl<'de> Visitor<'de> for EntryVisitor {
                    type Value = $ty<'de>;
                    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                        f.write_str($expecting)
                    }
                    fn visit_map<A: MapAccess<'de>>(self, $map: A) -> Result<Self::Value, A::Error> {
                        $from_map
                    }
                    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                        Ok($ty::Text(Cow::Borrowed(v)))
                    }
                    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                        Ok($ty::Text(Cow::Owned(v.to_string())))
                    }
                    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                        Ok($ty::Text(Cow::Owned(v)))
                    }
                }
                deserializer.deserialize_any(EntryVisitor)
            }
        }
    };
}

map_or_text!(PropertyEntry, "a {Name, Value} object or text", |map| {
    let mut map = map;
    let (mut name, mut value) = (None, None);
    while let Some(key) = map.next_key::<Key>()? {
        match key {
            Key::Name => name = map.next_value()?,
            Key::Value => value = map.next_value()?,
            _ => {
                map.next_value::<IgnoredAny>()?;
            }
        }
    }
    Ok(PropertyEntry::Pair { name, value })
});

map_or_text!(FolderEntry, "a folder object or text", |map| {
    let mut map = map;
    let (mut id, mut path, mut items) = (None, None, None);
    while let Some(key) = map.next_key::<Key>()? {
        match key {
            Key::Id => id = map.next_value()?,
            Key::Path => path = map.next_value()?,
            Key::FolderItems => items = map.next_value()?,
            _ => {
                map.next_value::<IgnoredAny>()?;
            }
        }
    }
    Ok(FolderEntry::Folder { id, path, items })
});

map_or_text!(ItemEntry, "an item object or text", |map| {
    let mut map = map;
    let (mut internet_message_id, mut size_in_bytes, mut parent_folder) = (None, None, None);
    while let Some(key) = map.next_key::<Key>()? {
        match key {
            Key::InternetMessageId => internet_message_id = map.next_value()?,
            Key::SizeInBytes => size_in_bytes = map.next_value()?,
            Key::ParentFolder => parent_folder = map.next_value()?,
            _ => {
                map.next_value::<IgnoredAny>()?;
            }
        }
    }
    Ok(ItemEntry::Item { internet_message_id, size_in_bytes, parent_folder })
});

map_or_text!(AppAccessContext, "an AppAccessContext object or text", |map| {
    let mut map = map;
    let (mut aad_session_id, mut unique_token_id, mut issued_at_time) = (None, None, None);
    while let Some(key) = map.next_key::<Key>()? {
        match key {
            Key::AadSessionId => aad_session_id = map.next_value()?,
            Key::UniqueTokenId => unique_token_id = map.next_value()?,
            Key::IssuedAtTime => issued_at_time = map.next_value()?,
            _ => {
                map.next_value::<IgnoredAny>()?;
            }
        }
    }
    Ok(AppAccessContext::Fields { aad_session_id, unique_token_id, issued_at_time })
});

impl<'de> Deserialize<'de> for ParentFolder<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ParentVisitor;
        impl<'de> Visitor<'de> for ParentVisitor {
            type Value = ParentFolder<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a ParentFolder object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut parent = ParentFolder::default();
                while let Some(key) = map.next_key::<Key>()? {
                    match key {
                        Key::Id => parent.id = map.next_value()?,
                        Key::Name => parent.name = map.next_value()?,
                        Key::Path => parent.path = map.next_value()?,
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(parent)
            }
        }
        deserializer.deserialize_map(ParentVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_match_trimmed_and_case_insensitively() {
        let raw: RawFields =
            serde_json::from_str(r#"{"ExternalAccess ": false, "mailboxOwnerUPN": "a@b", " Operation": "MailItemsAccessed"}"#).unwrap();
        assert_eq!(raw.external_access, Some(Scalar::Bool(false)));
        assert_eq!(raw.mailbox_owner_upn, Some(Scalar::Str("a@b".into())));
        assert_eq!(raw.operation, Some(Scalar::Str("MailItemsAccessed".into())));
    }

    #[test]
    fn every_spelling_is_its_key_in_any_case_and_padding() {
        for (i, &(spelling, key)) in Key::ALL.iter().enumerate() {
            // The lookup takes the first spelling that matches: none may match another.
            for &(other, _) in &Key::ALL[i + 1..] {
                assert!(!spelling.eq_ignore_ascii_case(other), "{spelling} and {other}");
            }
            for text in [spelling.to_string(), spelling.to_ascii_lowercase(), spelling.to_ascii_uppercase(), format!(" {spelling}\t")] {
                assert_eq!(Key::from_text(&text), key, "{text:?}");
            }
            assert_eq!(Key::from_text(&format!("{spelling}x")), Key::Unknown);
            assert_eq!(
                Key::from_text(&spelling[1..]),
                Key::ALL.iter().find(|(s, _)| s.eq_ignore_ascii_case(&spelling[1..])).map_or(Key::Unknown, |k| k.1)
            );
        }
        for unknown in ["", " ", "OrganizationId", "UserKey", "LogonUserSid", "I d", "Idé"] {
            assert_eq!(Key::from_text(unknown), Key::Unknown, "{unknown:?}");
        }
    }

    #[test]
    fn strings_borrow_from_the_input_when_they_can() {
        let text = r#"{"UserId":"plain","ClientInfoString":"with \"escape\""}"#;
        let raw: RawFields = serde_json::from_str(text).unwrap();
        assert!(matches!(raw.user_id, Some(Scalar::Str(Cow::Borrowed("plain")))));
        assert!(matches!(raw.client_info_string, Some(Scalar::Str(Cow::Owned(_)))));
    }

    #[test]
    fn lists_may_be_text_or_one_object() {
        let raw: RawFields = serde_json::from_str(
            r#"{"Folders":"[{\"Path\":\"\\\\Inbox\"}]","OperationProperties":{"Name":"MailAccessType","Value":"Sync"}}"#,
        )
        .unwrap();
        assert!(matches!(raw.folders, Some(ListOrText::Text(_))));
        match raw.operation_properties {
            Some(ListOrText::List(entries)) => assert_eq!(entries.len(), 1),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn scalar_numbers_and_booleans() {
        assert_eq!(Scalar::Str("7".into()).whole_number(), Ok(Some(7)));
        assert_eq!(Scalar::Float(1352491.0).whole_number(), Ok(Some(1352491)));
        assert_eq!(Scalar::Str("1352491.00".into()).whole_number(), Ok(Some(1352491)));
        assert_eq!(Scalar::Float(1.5).whole_number(), Err(()));
        assert_eq!(Scalar::Int(-1).whole_number(), Err(()));
        assert_eq!(Scalar::Str("False".into()).boolean(), Ok(Some(false)));
        assert_eq!(Scalar::Str("maybe".into()).boolean(), Err(()));
        assert_eq!(Scalar::Null.boolean(), Ok(None));
    }

    #[test]
    fn wrong_types_are_errors() {
        let err = serde_json::from_str::<RawFields>(r#"{"CreationTime":{"a":1}}"#).unwrap_err();
        assert!(err.to_string().contains("invalid type"), "{err}");
    }
}
