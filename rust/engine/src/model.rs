//! The record model: one analysed MailItemsAccessed record, whatever shape it came in.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::address::ClientAddress;

pub use crate::vocabulary::MailAccessType;

impl MailAccessType {
    pub fn parse(text: &str) -> MailAccessType {
        let text = trim(text);
        if text.eq_ignore_ascii_case("bind") {
            MailAccessType::Bind
        } else if text.eq_ignore_ascii_case("sync") {
            MailAccessType::Sync
        } else {
            MailAccessType::Unknown
        }
    }
}

/// An enum of the Management Activity API by name: AuditData writes the numbers, Graph and
/// Sentinel the names (any case). A value outside the documented list is kept as written.
macro_rules! exchange_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident,)+ }) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $($variant,)+
            /// A value outside the documented enum, kept as it was written.
            Other(String),
        }

        impl $name {
            /// The documented values, in code order.
            const KNOWN: &'static [$name] = &[$($name::$variant,)+];

            pub fn from_code(code: i64) -> $name {
                usize::try_from(code).ok().and_then(|i| $name::KNOWN.get(i)).cloned().unwrap_or_else(|| $name::Other(code.to_string()))
            }

            pub fn from_text(text: &str) -> $name {
                let text = trim(text);
                if let Ok(code) = text.parse::<i64>() {
                    return $name::from_code(code);
                }
                $name::KNOWN
                    .iter()
                    .find(|known| known.as_str().eq_ignore_ascii_case(text))
                    .cloned()
                    .unwrap_or_else(|| $name::Other(text.to_string()))
            }

            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => stringify!($variant),)+
                    $name::Other(text) => text,
                }
            }
        }
    };
}

exchange_enum! {
    /// Exchange `LogonType`.
    LogonType { Owner, Admin, Delegated, Transport, SystemService, BestAccess, DelegatedAdmin, }
}

exchange_enum! {
    /// Exchange `UserType`.
    UserType {
        Regular,
        Reserved,
        Admin,
        DcAdmin,
        System,
        Application,
        ServicePrincipal,
        CustomPolicy,
        SystemPolicy,
        PartnerTechnician,
        Guest,
    }
}

/// A folder named by the record: for Sync, the folder that was synchronised; for Bind, the
/// folder holding the items that were read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FolderAccess {
    /// Normalised path (always starts with a backslash), or None when the record has none.
    pub path: Option<String>,
    /// Store folder id (`LgAAAA...`), when present.
    pub id: Option<String>,
    /// Number of items the record lists for this folder; None when the list was lost or absent.
    pub item_count: Option<u64>,
}

/// One message named by a Bind record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageItem {
    /// Normalised `<...>` form (see [`normalize_message_id`]).
    pub internet_message_id: String,
    /// Shared by the items of one folder (one allocation a folder, not one an item).
    pub folder_path: Option<Arc<str>>,
    pub size_in_bytes: Option<u64>,
}

/// Where a record came from, for error messages and provenance.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SourcePosition {
    /// 0-based ordinal of the record in its input (pipeline object or record in a file).
    pub index: u64,
    /// Index into the session's list of files; None for pipeline input.
    pub file: Option<u32>,
    /// 1-based line where the record starts, for text files.
    pub line: Option<u64>,
    /// Where the service put the record in its query's results (Search-UnifiedAuditLog's
    /// `ResultIndex` and `ResultCount`), when the record's wrapper says.
    pub result: Option<ResultPosition>,
}

/// A record's place in the results of the query that returned it: Search-UnifiedAuditLog's
/// `ResultIndex` ("hits in the current iteration", -1 after an internal timeout) and
/// `ResultCount` (documented as the hits of all iterations; since 2026 it mirrors
/// `-ResultSize`). Neither is trusted alone; [`crate::completeness`] reads them together.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResultPosition {
    pub index: i64,
    pub count: i64,
}

/// One analysed MailItemsAccessed record.
#[derive(Clone, Debug, PartialEq)]
pub struct MailAccessRecord {
    pub record_id: Option<String>,
    pub creation_time: DateTime<Utc>,
    /// MailboxOwnerUPN: the mailbox that was read.
    pub mailbox: Option<String>,
    pub mailbox_guid: Option<String>,
    /// The acting account (differs from `mailbox` for delegate access).
    pub user_id: Option<String>,
    pub user_type: Option<UserType>,
    pub access_type: MailAccessType,
    /// `IsThrottled`; None when the record does not say.
    pub is_throttled: Option<bool>,
    pub client_address: Option<ClientAddress>,
    pub client_info_string: Option<String>,
    pub session_id: Option<String>,
    pub app_id: Option<String>,
    pub client_app_id: Option<String>,
    /// `AppAccessContext.AADSessionId`: the Entra (Azure AD) sign-in session of the token. A
    /// stolen token replayed under a new Exchange session keeps it.
    pub aad_session_id: Option<String>,
    /// `AppAccessContext.UniqueTokenId`: the access token itself.
    pub unique_token_id: Option<String>,
    /// `AppAccessContext.IssuedAtTime`: when the token was issued (UTC).
    pub issued_at_time: Option<DateTime<Utc>>,
    pub logon_type: Option<LogonType>,
    pub external_access: Option<bool>,
    pub operation_count: Option<u64>,
    pub originating_server: Option<String>,
    pub folders: Vec<FolderAccess>,
    pub items: Vec<MessageItem>,
    /// Why the record is degraded (an earlier tool lost part of it); None when it is whole.
    pub degraded: Option<String>,
    pub source: SourcePosition,
    /// Where the record was first read, as the module wrote it (`audit.csv:12`), when it came
    /// back in as one of the module's own records; None when this command read it first.
    pub origin: Option<String>,
}

/// [`str::trim`], without its walk over the characters when the text starts and ends with a
/// visible ASCII character, where no white space can be: nearly every value of a record.
#[inline]
pub(crate) fn trim(text: &str) -> &str {
    match text.as_bytes() {
        [first, .., last] if first.is_ascii_graphic() && last.is_ascii_graphic() => text,
        [only] if only.is_ascii_graphic() => text,
        _ => text.trim(),
    }
}

/// Message ids are compared in their `<local@domain>` form: records carry them with or
/// without the angle brackets.
pub fn normalize_message_id(text: &str) -> Option<String> {
    let trimmed = trim(text);
    let inner = trimmed
        .strip_prefix('<')
        .map(|rest| rest.strip_suffix('>').unwrap_or(rest))
        .unwrap_or_else(|| trimmed.strip_suffix('>').unwrap_or(trimmed));
    let inner = trim(inner);
    if inner.is_empty() {
        return None;
    }
    let mut out = String::with_capacity(inner.len() + 2);
    out.push('<');
    out.push_str(inner);
    out.push('>');
    Some(out)
}

/// Folder paths are compared with a leading backslash: some records omit it.
pub fn normalize_folder_path(text: &str) -> Option<String> {
    let trimmed = trim(text);
    if trimmed.is_empty() {
        return None;
    }
    if trimmed.starts_with('\\') {
        Some(trimmed.to_string())
    } else {
        let mut out = String::with_capacity(trimmed.len() + 1);
        out.push('\\');
        out.push_str(trimmed);
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trim_is_str_trim() {
        let ends = ["", "a", "<", "~", " ", "\t", "\r\n", "\u{a0}", "\u{3000}", "\u{85}", "é", "\u{1f}", "\u{7f}", "\0"];
        for first in ends {
            for middle in ["", "x", " x ", "\u{2028}"] {
                for last in ends {
                    let text = format!("{first}{middle}{last}");
                    assert_eq!(trim(&text), text.trim(), "{text:?}");
                }
            }
        }
    }

    #[test]
    fn message_ids_compare_with_or_without_brackets() {
        assert_eq!(normalize_message_id("<a@b>").as_deref(), Some("<a@b>"));
        assert_eq!(normalize_message_id("a@b").as_deref(), Some("<a@b>"));
        assert_eq!(normalize_message_id(" <a@b> ").as_deref(), Some("<a@b>"));
        assert_eq!(normalize_message_id("<>"), None);
        assert_eq!(normalize_message_id(""), None);
    }

    #[test]
    fn folder_paths_get_a_leading_backslash() {
        assert_eq!(normalize_folder_path("\\Inbox").as_deref(), Some("\\Inbox"));
        assert_eq!(normalize_folder_path("Boite de reception").as_deref(), Some("\\Boite de reception"));
        assert_eq!(normalize_folder_path("  "), None);
    }

    #[test]
    fn logon_type_from_code_and_name() {
        assert_eq!(LogonType::from_code(0), LogonType::Owner);
        assert_eq!(LogonType::from_text("Delegated"), LogonType::Delegated);
        assert_eq!(LogonType::from_text("2"), LogonType::Delegated);
        assert_eq!(LogonType::from_text("42").as_str(), "42");
    }

    #[test]
    fn user_type_from_code_and_name() {
        assert_eq!(UserType::from_text("5"), UserType::Application);
        assert_eq!(UserType::from_text(" regular"), UserType::Regular);
        assert_eq!(UserType::from_text("42"), UserType::Other("42".into()));
        assert_eq!(UserType::from_text("Robot").as_str(), "Robot");
        assert_eq!(UserType::Guest.as_str(), "Guest");
    }

    #[test]
    fn access_type_is_case_insensitive() {
        assert_eq!(MailAccessType::parse("bind"), MailAccessType::Bind);
        assert_eq!(MailAccessType::parse(" Sync"), MailAccessType::Sync);
        assert_eq!(MailAccessType::parse("Other"), MailAccessType::Unknown);
    }
}
