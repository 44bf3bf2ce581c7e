//! From raw fields to a [`MailAccessRecord`]: decides the shape (AuditData alone, a wrapper
//! around AuditData, a flattened row), takes each field from the record first and from its
//! wrapper second, and recovers what stringified ("degraded") records still hold.

use std::borrow::Cow;
use std::sync::{Arc, LazyLock};

use memchr::memmem;
use serde::Deserialize;

use crate::address::ClientAddress;
use crate::error::{deeper_than_read, parse_json, parse_measured_json, ErrorKind, JsonFailure, RecordError};
use crate::input::raw::{
    parse_bool_text, AppAccessContext, FolderEntry, ItemEntry, ListOrText, NestedRecord, PropertyEntry, RawFields, Scalar,
};
use crate::model::{
    normalize_folder_path, normalize_message_id, trim, FolderAccess, LogonType, MailAccessRecord, MailAccessType, MessageItem,
    ResultPosition, SourcePosition, UserType,
};
use crate::time::{parse_timestamp, DateOrder};

/// The first non-blank value among the named fields, looking through the record before its
/// wrapper.
macro_rules! pick {
    ($levels:expr; $($field:ident),+) => {{
        let mut found = None;
        for level in $levels.iter().flatten() {
            $(
                if found.is_none() {
                    if let Some(value) = level.$field.as_ref() {
                        if !is_blank(value) {
                            found = Some(value);
                        }
                    }
                }
            )+
            if found.is_some() {
                break;
            }
        }
        found
    }};
}

pub const MAIL_ITEMS_ACCESSED: &str = "MailItemsAccessed";

pub use crate::error::MAX_NESTING;

/// What one input record turned out to be.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    Record(Box<MailAccessRecord>),
    /// A record of another operation; the operation name is kept for the tally.
    Skipped {
        operation: String,
    },
}

#[derive(Clone, Copy, Debug)]
pub struct InterpretOptions {
    /// How to read all-numeric dates (culture-formatted CSV exports).
    pub date_order: DateOrder,
    /// Records larger than this are refused (no real AuditData comes near it).
    pub max_record_bytes: usize,
}

impl Default for InterpretOptions {
    fn default() -> Self {
        InterpretOptions { date_order: DateOrder::MonthFirst, max_record_bytes: 16 * 1024 * 1024 }
    }
}

/// A record given as JSON text: AuditData, or any wrapper of it, serialised as JSON.
pub fn interpret_json(text: &str, options: &InterpretOptions) -> Result<Outcome, RecordError> {
    interpret_json_at(text, options, None)
}

/// A record's outcome, and its place in its query's results when its wrapper says.
pub type Placed = (Result<Outcome, RecordError>, Option<ResultPosition>);

/// [`interpret_json`] for text that starts on `first_line` of a document: syntax errors name
/// the line of the document. Every JSON record text is read here, from a file or a pipeline,
/// so that one record has one outcome whichever way it arrives.
pub fn interpret_json_at(text: &str, options: &InterpretOptions, first_line: Option<u64>) -> Result<Outcome, RecordError> {
    interpret_json_placed(text, options, first_line).0
}

/// [`interpret_json_at`], with the record's place in its query's results when the text is a
/// wrapper that carries one (a Search-UnifiedAuditLog object as JSON, a collection's line).
pub fn interpret_json_placed(text: &str, options: &InterpretOptions, first_line: Option<u64>) -> Placed {
    if let Err(error) = check_size("the record", text.len(), options).and_then(|()| check_json_text("the record", text)) {
        return (Err(error), None);
    }
    if let Some(skipped) = skip_other_operation(text) {
        return (Ok(skipped), None);
    }
    match parse_measured_json::<RawFields>(text) {
        Ok(raw) => (interpret_fields(&raw, options), result_position(&raw)),
        Err(e) => (Err(json_error("the record is not valid JSON", &e, first_line)), None),
    }
}

/// A serde_json error; serde_json counts lines from the start of the text, the user needs the
/// line in the document.
pub(crate) fn json_error(context: &str, failure: &JsonFailure, first_line: Option<u64>) -> RecordError {
    let mut error = RecordError::from_json(context, failure);
    if let (Some(line), Some(at)) = (first_line, failure.line()) {
        error.message.push_str(&format!(" (line {} of the input)", line + at as u64 - 1));
    }
    error
}

/// What any JSON text of a record must pass before it is parsed: no NUL byte, and no deeper
/// nesting than [`MAX_NESTING`].
fn check_json_text(what: &str, text: &str) -> Result<(), RecordError> {
    let bytes = text.as_bytes();
    if let Some(at) = memchr::memchr(0, bytes) {
        return Err(RecordError::new(ErrorKind::InvalidEncoding, format!("{what} holds a NUL byte (byte {})", at + 1)));
    }
    // Before the operation is looked at: a record too deep is an error whatever its operation.
    if let Some(depth) = deeper_than_read(bytes) {
        return Err(RecordError::too_deep(what, depth));
    }
    Ok(())
}

/// A record whose fields were already read (from JSON, a pipeline object or a CSV row).
///
/// AuditData given as text is the whole record: the wrapper's own fields (a CSV row's
/// CreationDate or Operation, a Search-UnifiedAuditLog object's Identity) only name the record
/// in an error. Pipeline objects with AuditData text are handed to the engine as that text
/// alone, so reading the wrapper's fields here would read one record two ways.
pub fn interpret_fields(raw: &RawFields<'_>, options: &InterpretOptions) -> Result<Outcome, RecordError> {
    let nested = raw.audit_data.as_ref().or(raw.raw_event_data.as_ref());
    match nested {
        None => build(raw, None, options),
        Some(NestedRecord::Fields(inner)) => build(inner, Some(raw), options),
        Some(NestedRecord::Text(text)) => {
            check_size("AuditData", text.len(), options).map_err(|e| with_wrapper_id(e, raw))?;
            check_json_text("AuditData", text).map_err(|e| with_wrapper_id(e, raw))?;
            if let Some(skipped) = skip_other_operation(text) {
                return Ok(skipped);
            }
            let inner: RawFields =
                parse_measured_json(text).map_err(|e| with_wrapper_id(RecordError::from_json("AuditData is not valid JSON", &e), raw))?;
            build(&inner, None, options).map_err(|e| with_wrapper_id(e, raw))
        }
    }
}

/// The record's place in its query's results, from the wrapper's `ResultIndex` and
/// `ResultCount` (Search-UnifiedAuditLog objects and their Export-Csv rows); None when the
/// wrapper does not carry both as whole numbers.
pub fn result_position(raw: &RawFields<'_>) -> Option<ResultPosition> {
    let index = raw.result_index.as_ref()?.signed_number()?;
    let count = raw.result_count.as_ref()?.signed_number()?;
    Some(ResultPosition { index, count })
}

/// Records of other operations are a fifth of a typical pull: they are counted by name without
/// being interpreted, when that is certain. A MailItemsAccessed record always holds the literal
/// operation name; text without it cannot be one. The name to count is the text's own top-level
/// `Operation`, read only when the text is one well-formed JSON object: anything else (several
/// records, a page of them, a malformed record) is left to the full reading, which tells those
/// apart.
fn skip_other_operation(text: &str) -> Option<Outcome> {
    static NAME: LazyLock<memmem::Finder<'static>> = LazyLock::new(|| memmem::Finder::new(MAIL_ITEMS_ACCESSED));
    if NAME.find(text.as_bytes()).is_some() {
        return None;
    }
    let operation = serde_json::from_str::<OperationOnly>(text).ok()?.operation?;
    if operation.is_empty() || operation.eq_ignore_ascii_case(MAIL_ITEMS_ACCESSED) {
        return None;
    }
    Some(Outcome::Skipped { operation: operation.into_owned() })
}

/// One JSON object's top-level `Operation`; every other member is checked for well-formedness
/// and skipped, without being kept.
#[derive(Deserialize)]
struct OperationOnly<'a> {
    #[serde(rename = "Operation", borrow)]
    operation: Option<Cow<'a, str>>,
}

fn check_size(what: &str, len: usize, options: &InterpretOptions) -> Result<(), RecordError> {
    if len > options.max_record_bytes {
        return Err(RecordError::new(
            ErrorKind::TooLarge,
            format!("{what} is {} bytes, more than the {} bytes allowed for one record", len, options.max_record_bytes),
        ));
    }
    Ok(())
}

/// An error in AuditData still names the record when its wrapper carries the id.
fn with_wrapper_id(mut error: RecordError, wrapper: &RawFields<'_>) -> RecordError {
    if error.record_id.is_none() {
        if let Some(id) = pick!([Some(wrapper)]; id, record_id, identity, office_id) {
            error.record_id = Some(scalar_text(id).into_owned());
        }
    }
    error
}

fn is_blank(value: &Scalar<'_>) -> bool {
    match value {
        Scalar::Null => true,
        Scalar::Str(s) => trim(s).is_empty(),
        _ => false,
    }
}

fn scalar_text<'a>(value: &'a Scalar<'_>) -> Cow<'a, str> {
    value.text().unwrap_or(Cow::Borrowed(""))
}

/// Collects why a record is degraded: every note is one thing a reader can check.
#[derive(Default)]
struct Degradation {
    notes: Vec<String>,
    /// More distinct notes than [`MAX_NOTES`] (a record with thousands of damaged folders).
    more: bool,
}

/// Notes kept for one record: the reason stays readable, and collecting it linear.
const MAX_NOTES: usize = 16;

impl Degradation {
    fn note(&mut self, note: impl Into<String>) {
        let note = note.into();
        if !self.notes.contains(&note) {
            if self.notes.len() < MAX_NOTES {
                self.notes.push(note);
            } else {
                self.more = true;
            }
        }
    }

    fn into_reason(self) -> Option<String> {
        if self.notes.is_empty() {
            None
        } else if self.more {
            Some(format!("{}; and more of the same kind", self.notes.join("; ")))
        } else {
            Some(self.notes.join("; "))
        }
    }
}

/// The record's fields and its wrapper's (CSV row, Graph envelope, Search-UnifiedAuditLog
/// object), the record's first.
type Levels<'l, 'a> = [Option<&'l RawFields<'a>>; 2];

fn build<'a>(primary: &RawFields<'a>, wrapper: Option<&RawFields<'a>>, options: &InterpretOptions) -> Result<Outcome, RecordError> {
    let levels: Levels = [Some(primary), wrapper];
    let record_id = pick!(levels; id, record_id, identity, office_id).map(|v| scalar_text(v).into_owned());
    let fail = |kind, message: String| RecordError::new(kind, message).with_record_id(record_id.clone());
    // An error of a part of the record, as the record's (with what its parse found).
    let fail_part = |error: RecordError| RecordError { position: SourcePosition::default(), ..error.with_record_id(record_id.clone()) };

    let operation = match pick!(levels; operation, operations, action_type) {
        Some(op) => scalar_text(op),
        None => {
            return Err(fail(
                ErrorKind::NotAnAuditRecord,
                "the record has no Operation (nor Operations, nor AuditData holding one)".to_string(),
            ))
        }
    };
    if !operation.eq_ignore_ascii_case(MAIL_ITEMS_ACCESSED) {
        return Ok(Outcome::Skipped { operation: operation.into_owned() });
    }

    let creation_time = read_creation_time(&levels, options).map_err(|(kind, message)| fail(kind, message))?;

    let mut degradation = Degradation::default();
    let text_of = |value: Option<&Scalar<'_>>| value.and_then(|v| v.text()).map(Cow::into_owned);

    let (access_type, is_throttled) =
        match pick_list(primary.operation_properties.as_ref(), wrapper.and_then(|w| w.operation_properties.as_ref())) {
            Some(list) => read_operation_properties(list, &mut degradation).map_err(fail_part)?,
            None => (MailAccessType::Unknown, None),
        };

    let (folders, items) = read_accessed(primary, &mut degradation).map_err(fail_part)?;
    let operation_count = read_operation_count(&levels, &mut degradation);
    let external_access = read_external_access(&levels, &mut degradation);
    let logon_type = read_logon_type(&levels);

    let client_address = pick!(levels; client_ip_address, sentinel_client_ip_address, client_ip, ip_address)
        .and_then(|v| v.text())
        .and_then(|t| ClientAddress::parse(&t));

    let originating_server = text_of(pick!(levels; originating_server));

    let token = match pick_list(primary.app_access_context.as_ref(), wrapper.and_then(|w| w.app_access_context.as_ref())) {
        Some(context) => read_app_access_context(context, options, &mut degradation),
        None => TokenContext::default(),
    };

    let record = MailAccessRecord {
        record_id,
        creation_time,
        mailbox: text_of(pick!(levels; mailbox_owner_upn)),
        mailbox_guid: text_of(pick!(levels; mailbox_guid)),
        // Graph's envelope `userId` is the UserKey; its UPN is `userPrincipalName`.
        user_id: text_of(pick!(levels; user_principal_name, user_ids, user_id)),
        user_type: pick!(levels; user_type).and_then(read_user_type),
        access_type,
        is_throttled,
        client_address,
        client_info_string: text_of(pick!(levels; client_info_string)),
        session_id: text_of(pick!(levels; session_id)),
        app_id: text_of(pick!(levels; app_id)),
        client_app_id: text_of(pick!(levels; client_app_id)),
        aad_session_id: token.aad_session_id,
        unique_token_id: token.unique_token_id,
        issued_at_time: token.issued_at_time,
        logon_type,
        external_access,
        operation_count,
        originating_server,
        folders,
        items,
        degraded: degradation.into_reason(),
        source: SourcePosition::default(),
        origin: None,
    };
    Ok(Outcome::Record(Box::new(record)))
}

/// The record's time, within the dates .NET can hold; the error's kind and message otherwise.
fn read_creation_time(levels: &Levels, options: &InterpretOptions) -> Result<chrono::DateTime<chrono::Utc>, (ErrorKind, String)> {
    let creation_time = match pick!(levels; creation_time, creation_date, created_date_time, time_generated, timestamp, last_accessed) {
        Some(Scalar::Str(text)) => {
            parse_timestamp(text, options.date_order).map_err(|reason| (ErrorKind::InvalidValue, format!("CreationTime: {reason}")))?
        }
        Some(other) => return Err((ErrorKind::InvalidValue, format!("CreationTime: {:?} is not a timestamp", other))),
        None => return Err((ErrorKind::MissingField, "the record has no CreationTime".to_string())),
    };
    // .NET dates run from year 1 to 9999; a day's margin keeps every window (+24 h) inside.
    if !(MIN_TIME..=MAX_TIME).contains(&creation_time) {
        return Err((
            ErrorKind::InvalidValue,
            format!("CreationTime {} is outside the dates this tool can represent (years 1 to 9999)", creation_time.to_rfc3339()),
        ));
    }
    Ok(creation_time)
}

/// The folders and messages the record names: `Folders` (or Search-MailboxAuditLog's
/// aggregated form) and the ExchangeItem `Item`.
fn read_accessed(primary: &RawFields<'_>, degradation: &mut Degradation) -> Result<(Vec<FolderAccess>, Vec<MessageItem>), RecordError> {
    let mut folders = Vec::new();
    let mut items = Vec::new();
    if let Some(list) = primary.folders.as_ref().or(primary.aggregated_folders.as_ref()) {
        read_folders(list, &mut folders, &mut items, degradation, 0)?;
    }
    if let Some(item) = primary.item.as_ref() {
        read_exchange_item(item, &mut folders, &mut items, degradation);
    }
    Ok((folders, items))
}

fn read_operation_count(levels: &Levels, degradation: &mut Degradation) -> Option<u64> {
    let value = pick!(levels; operation_count, aggregated_count)?;
    value.whole_number().unwrap_or_else(|()| {
        degradation.note(format!("OperationCount '{}' is not a whole number", scalar_text(value)));
        None
    })
}

fn read_external_access(levels: &Levels, degradation: &mut Degradation) -> Option<bool> {
    let value = pick!(levels; external_access)?;
    value.boolean().unwrap_or_else(|()| {
        degradation.note(format!("ExternalAccess '{}' is not True or False", scalar_text(value)));
        None
    })
}

/// A number is read as its text would be, without writing the text out (AuditData writes `0`).
fn read_user_type(value: &Scalar<'_>) -> Option<UserType> {
    let code = match value {
        Scalar::Int(code) => Some(*code),
        Scalar::UInt(code) => i64::try_from(*code).ok(),
        _ => None,
    };
    match code {
        Some(code) => Some(UserType::from_code(code)),
        None => value.text().map(|t| UserType::from_text(&t)),
    }
}

fn read_logon_type(levels: &Levels) -> Option<LogonType> {
    pick!(levels; logon_type, sentinel_logon_type).and_then(|value| match value {
        Scalar::Int(code) => Some(LogonType::from_code(*code)),
        Scalar::UInt(code) => Some(LogonType::from_code(i64::try_from(*code).unwrap_or(i64::MAX))),
        other => other.text().map(|t| LogonType::from_text(&t)),
    })
}

/// .NET's range, a day inside at each end; computed when the engine is compiled.
const MIN_TIME: chrono::DateTime<chrono::Utc> = match chrono::DateTime::from_timestamp(-62_135_510_400, 0) {
    Some(time) => time, // 0001-01-02
    None => panic!("0001-01-02 is a valid time"),
};
const MAX_TIME: chrono::DateTime<chrono::Utc> = match chrono::DateTime::from_timestamp(253_402_128_000, 0) {
    Some(time) => time, // 9999-12-30
    None => panic!("9999-12-30 is a valid time"),
};

fn pick_list<'x, T>(first: Option<&'x T>, second: Option<&'x T>) -> Option<&'x T> {
    first.or(second)
}

/// What `AppAccessContext` says of the token behind the access.
#[derive(Default)]
struct TokenContext {
    aad_session_id: Option<String>,
    unique_token_id: Option<String>,
    issued_at_time: Option<chrono::DateTime<chrono::Utc>>,
}

/// Reads `AppAccessContext` as an object or as JSON text; what cannot be read is noted, not
/// guessed.
fn read_app_access_context(context: &AppAccessContext<'_>, options: &InterpretOptions, degradation: &mut Degradation) -> TokenContext {
    match context {
        AppAccessContext::Fields { aad_session_id, unique_token_id, issued_at_time } => {
            let text = |value: &Option<Scalar<'_>>| value.as_ref().and_then(|v| v.text()).map(Cow::into_owned);
            let issued_at_time = match issued_at_time.as_ref().and_then(|v| v.text()) {
                None => None,
                Some(time) => match parse_timestamp(&time, options.date_order) {
                    Ok(time) => Some(time),
                    Err(reason) => {
                        degradation.note(format!("AppAccessContext.IssuedAtTime: {reason}"));
                        None
                    }
                },
            };
            TokenContext { aad_session_id: text(aad_session_id), unique_token_id: text(unique_token_id), issued_at_time }
        }
        AppAccessContext::Text(text) => {
            let trimmed = text.trim();
            if trimmed.is_empty() {
                return TokenContext::default();
            }
            match serde_json::from_str::<AppAccessContext>(trimmed) {
                Ok(parsed @ AppAccessContext::Fields { .. }) => read_app_access_context(&parsed, options, degradation),
                _ => {
                    degradation.note(format!("AppAccessContext '{}' could not be read; the token's session is unknown", shorten(text)));
                    TokenContext::default()
                }
            }
        }
    }
}

/// Reads `MailAccessType` and `IsThrottled` from OperationProperties in any of its forms.
fn read_operation_properties(
    list: &ListOrText<'_, PropertyEntry<'_>>,
    degradation: &mut Degradation,
) -> Result<(MailAccessType, Option<bool>), RecordError> {
    let mut access_type = MailAccessType::Unknown;
    let mut is_throttled = None;
    let mut apply = |name: &str, value: &str, degradation: &mut Degradation| {
        let name = trim(name);
        if name.eq_ignore_ascii_case("MailAccessType") {
            access_type = MailAccessType::parse(value);
        } else if name.eq_ignore_ascii_case("IsThrottled") {
            match parse_bool_text(value) {
                Ok(v) => is_throttled = v,
                Err(()) => degradation.note(format!("IsThrottled '{}' is not True or False", value.trim())),
            }
        }
    };
    match list {
        ListOrText::List(entries) => {
            for entry in entries {
                match entry {
                    PropertyEntry::Pair { name, value } => {
                        let name = name.as_ref().and_then(|n| n.text()).unwrap_or_default();
                        let value = value.as_ref().and_then(|v| v.text()).unwrap_or_default();
                        apply(&name, &value, degradation);
                    }
                    PropertyEntry::Text(text) => {
                        if let Some(pairs) = parse_stringified_object(text) {
                            degradation.note(
                                "OperationProperties were turned into text (@{...}) by an earlier tool; values recovered from the text",
                            );
                            let name = lookup(&pairs, "Name").unwrap_or_default();
                            let value = lookup(&pairs, "Value").unwrap_or_default();
                            apply(name, value, degradation);
                        } else if let Some((name, value)) = text.split_once(':') {
                            // Search-MailboxAuditLog writes `MailAccessType:Bind`.
                            apply(name, value, degradation);
                        } else {
                            degradation.note(format!("OperationProperties entry '{}' could not be read", shorten(text)));
                        }
                    }
                }
            }
        }
        ListOrText::Text(text) => {
            let trimmed = text.trim_start();
            if trimmed.starts_with('[') || trimmed.starts_with('{') {
                let parsed: ListOrText<PropertyEntry> =
                    parse_json(trimmed).map_err(|e| RecordError::from_json("OperationProperties is text but not valid JSON", &e))?;
                if let ListOrText::Text(_) = parsed {
                    return Ok((MailAccessType::Unknown, None));
                }
                return read_operation_properties(&parsed, degradation);
            }
            // Joined `Name:Value` text, as a flattened Search-MailboxAuditLog export writes it.
            let mut found = false;
            for token in text.split(|c: char| c.is_whitespace() || c == ';' || c == ',') {
                if let Some((name, value)) = token.split_once(':') {
                    found = true;
                    apply(name, value, degradation);
                }
            }
            if !found {
                degradation.note(format!("OperationProperties '{}' could not be read", shorten(text)));
            }
        }
    }
    Ok((access_type, is_throttled))
}

/// Reads Folders (or AggregatedRecordFoldersData) in any of its forms.
fn read_folders(
    list: &ListOrText<'_, FolderEntry<'_>>,
    folders: &mut Vec<FolderAccess>,
    items: &mut Vec<MessageItem>,
    degradation: &mut Degradation,
    depth: u8,
) -> Result<(), RecordError> {
    match list {
        ListOrText::List(entries) => {
            for entry in entries {
                match entry {
                    FolderEntry::Folder { id, path, items: folder_items } => {
                        let path = path.as_ref().and_then(|p| p.text()).and_then(|p| normalize_folder_path(&p));
                        let id = id.as_ref().and_then(|i| i.text()).map(Cow::into_owned);
                        let item_count = match folder_items {
                            None => None,
                            Some(list) => read_folder_items(list, path.as_deref().map(Arc::from).as_ref(), items, degradation)?,
                        };
                        folders.push(FolderAccess { path, id, item_count });
                    }
                    FolderEntry::Text(text) => read_stringified_folder(text, folders, items, degradation),
                }
            }
            Ok(())
        }
        ListOrText::Text(text) => {
            let trimmed = text.trim_start();
            if (trimmed.starts_with('[') || trimmed.starts_with('{')) && depth == 0 {
                let parsed: ListOrText<FolderEntry> =
                    parse_json(trimmed).map_err(|e| RecordError::from_json("Folders is text but not valid JSON", &e))?;
                read_folders(&parsed, folders, items, degradation, depth + 1)
            } else if trimmed.starts_with("@{") {
                read_stringified_folder(text, folders, items, degradation);
                Ok(())
            } else if trimmed.is_empty() {
                Ok(())
            } else {
                degradation
                    .note(format!("Folders '{}' is text an earlier tool left; the folders and items it held are lost", shorten(text)));
                Ok(())
            }
        }
    }
}

/// Returns the number of items the folder lists, None when the list itself was lost.
fn read_folder_items(
    list: &ListOrText<'_, ItemEntry<'_>>,
    folder_path: Option<&Arc<str>>,
    items: &mut Vec<MessageItem>,
    degradation: &mut Degradation,
) -> Result<Option<u64>, RecordError> {
    match list {
        ListOrText::List(entries) => {
            for entry in entries {
                match entry {
                    ItemEntry::Item { internet_message_id, size_in_bytes, .. } => {
                        push_item(internet_message_id.as_ref(), size_in_bytes.as_ref(), folder_path, items, degradation);
                    }
                    ItemEntry::Text(text) => {
                        degradation.note("FolderItems were turned into text by an earlier tool");
                        match parse_stringified_object(text) {
                            Some(pairs) => {
                                let id = lookup(&pairs, "InternetMessageId").map(|s| Scalar::Str(Cow::Borrowed(s)));
                                let size = lookup(&pairs, "SizeInBytes").map(|s| Scalar::Str(Cow::Borrowed(s)));
                                push_item(id.as_ref(), size.as_ref(), folder_path, items, degradation);
                            }
                            None => {
                                degradation.note(format!("FolderItems entry '{}' could not be read; its message id is lost", shorten(text)))
                            }
                        }
                    }
                }
            }
            Ok(Some(entries.len() as u64))
        }
        ListOrText::Text(text) => {
            let trimmed = text.trim_start();
            if trimmed.starts_with('[') {
                let parsed: ListOrText<ItemEntry> =
                    parse_json(trimmed).map_err(|e| RecordError::from_json("FolderItems is text but not valid JSON", &e))?;
                if let ListOrText::List(_) = parsed {
                    return read_folder_items(&parsed, folder_path, items, degradation);
                }
            }
            degradation.note(format!(
                "FolderItems of folder '{}' is '{}': the message ids were lost by an earlier tool",
                folder_path.map(|p| &**p).unwrap_or("?"),
                shorten(text)
            ));
            Ok(None)
        }
    }
}

fn push_item(
    internet_message_id: Option<&Scalar<'_>>,
    size_in_bytes: Option<&Scalar<'_>>,
    folder_path: Option<&Arc<str>>,
    items: &mut Vec<MessageItem>,
    degradation: &mut Degradation,
) {
    let Some(id) = internet_message_id.and_then(|v| v.text()).and_then(|t| normalize_message_id(&t)) else {
        degradation.note("an item has no InternetMessageId");
        return;
    };
    let size_in_bytes = match size_in_bytes {
        None => None,
        Some(size) => size.whole_number().unwrap_or_else(|()| {
            degradation.note(format!("SizeInBytes '{}' is not a whole number", scalar_text(size)));
            None
        }),
    };
    items.push(MessageItem { internet_message_id: id, folder_path: folder_path.cloned(), size_in_bytes });
}

/// `@{Id=LgAAAA...; Path=\Inbox; FolderItems=System.Object[]}`: the path and id survive, the
/// items do not.
fn read_stringified_folder(text: &str, folders: &mut Vec<FolderAccess>, items: &mut Vec<MessageItem>, degradation: &mut Degradation) {
    let Some(pairs) = parse_stringified_object(text) else {
        degradation.note(format!("Folders entry '{}' could not be read; its folder and items are lost", shorten(text)));
        return;
    };
    let path = lookup(&pairs, "Path").and_then(normalize_folder_path);
    let id = lookup(&pairs, "Id").map(str::to_string);
    let item_count = match lookup(&pairs, "FolderItems") {
        None => None,
        Some(items_text) => {
            let trimmed = items_text.trim_start();
            if trimmed.starts_with('[') {
                // Rare: the item list survived as JSON inside the text.
                if let Ok(ListOrText::List(entries)) = serde_json::from_str::<ListOrText<ItemEntry>>(trimmed) {
                    let list = ListOrText::List(entries);
                    read_folder_items(&list, path.as_deref().map(Arc::from).as_ref(), items, degradation).ok().flatten()
                } else {
                    None
                }
            } else {
                degradation.note(format!(
                    "Folders were turned into text by an earlier tool: FolderItems of folder '{}' is '{}', the message ids are lost",
                    path.as_deref().unwrap_or("?"),
                    shorten(items_text)
                ));
                None
            }
        }
    };
    if item_count.is_some() {
        degradation.note("Folders were turned into text by an earlier tool");
    }
    folders.push(FolderAccess { path, id, item_count });
}

/// The ExchangeItem form: `Item.ParentFolder` names the folder.
fn read_exchange_item(item: &ItemEntry<'_>, folders: &mut Vec<FolderAccess>, items: &mut Vec<MessageItem>, degradation: &mut Degradation) {
    match item {
        ItemEntry::Item { internet_message_id, size_in_bytes, parent_folder } => {
            let path = parent_folder.as_ref().and_then(|p| {
                p.path
                    .as_ref()
                    .and_then(|v| v.text())
                    .or_else(|| p.name.as_ref().and_then(|v| v.text()))
                    .and_then(|t| normalize_folder_path(&t))
            });
            let id = parent_folder.as_ref().and_then(|p| p.id.as_ref()).and_then(|v| v.text()).map(Cow::into_owned);
            let has_message = internet_message_id.as_ref().is_some_and(|v| !is_blank(v));
            if has_message {
                push_item(
                    internet_message_id.as_ref(),
                    size_in_bytes.as_ref(),
                    path.as_deref().map(Arc::from).as_ref(),
                    items,
                    degradation,
                );
            }
            if path.is_some() || id.is_some() {
                folders.push(FolderAccess { path, id, item_count: has_message.then_some(1) });
            }
        }
        // Sentinel's OfficeActivity keeps the nested object as JSON text; read it as the object.
        // Anything else (PowerShell's `@{...}` form, a JSON text holding text) is noted, not guessed.
        ItemEntry::Text(text) => match serde_json::from_str::<ItemEntry>(text.trim()) {
            Ok(parsed @ ItemEntry::Item { .. }) => read_exchange_item(&parsed, folders, items, degradation),
            _ => degradation.note(format!("Item '{}' is text an earlier tool left", shorten(text))),
        },
    }
}

/// Reads PowerShell's string form of an object, `@{Key=Value; Key=Value}`. A value may itself
/// contain `; ` (folder names can), so a piece only starts a new pair when it begins with a
/// known key.
fn parse_stringified_object(text: &str) -> Option<Vec<(&str, &str)>> {
    const KEYS: [&str; 7] = ["Id", "Path", "FolderItems", "Name", "Value", "InternetMessageId", "SizeInBytes"];
    let body = text.trim().strip_prefix("@{")?.strip_suffix('}')?;
    // (key, value start, value end) as offsets into body
    let mut pairs: Vec<(&str, usize, usize)> = Vec::new();
    let mut offset = 0;
    for piece in body.split("; ") {
        let (piece_start, piece_end) = (offset, offset + piece.len());
        offset = piece_end + 2;
        match piece.split_once('=') {
            Some((key, _)) if KEYS.iter().any(|k| k.eq_ignore_ascii_case(key.trim())) => {
                pairs.push((key.trim(), piece_start + key.len() + 1, piece_end));
            }
            _ => pairs.last_mut()?.2 = piece_end,
        }
    }
    Some(pairs.into_iter().map(|(key, start, end)| (key, &body[start..end])).collect())
}

fn lookup<'t>(pairs: &[(&str, &'t str)], key: &str) -> Option<&'t str> {
    pairs.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| *v)
}

fn shorten(text: &str) -> String {
    let trimmed = text.trim();
    if trimmed.chars().count() <= 80 {
        trimmed.to_string()
    } else {
        let mut out: String = trimmed.chars().take(80).collect();
        out.push('…');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_type_number_reads_as_its_text() {
        for value in
            [Scalar::Int(0), Scalar::Int(5), Scalar::Int(-1), Scalar::Int(42), Scalar::UInt(3), Scalar::UInt(u64::MAX), Scalar::Float(2.0)]
        {
            let text = value.text().map(|t| UserType::from_text(&t));
            assert_eq!(read_user_type(&value), text, "{value:?}");
        }
    }

    #[test]
    fn other_operations_are_counted_without_a_full_parse() {
        let skip = skip_other_operation;
        assert_eq!(skip(r#"{ "Operation" : "Send" }"#), Some(Outcome::Skipped { operation: "Send".into() }));
        assert_eq!(skip(r#"{"Operation":"Se\u006ed"}"#), Some(Outcome::Skipped { operation: "Send".into() }));
        // Never for a MailItemsAccessed record, nor when the name is uncertain.
        assert_eq!(skip(r#"{"Operation":"MailItemsAccessed"}"#), None);
        assert_eq!(skip(r#"{"Note":"\"Operation\":\"Send\"","Operation":"MailItemsAccessed"}"#), None);
        assert_eq!(skip(r#"{"Note":"x \"Operation\":\"Send\""}"#), None);
        assert_eq!(skip(r#"{"operation":"Send"}"#), None);
        // Nor for text that is not one well-formed record: a malformed record is an error, and
        // several records are each counted.
        assert_eq!(skip(r#"{"CreationTime":"x","Operation":"HardDelete","Broken": [}"#), None);
        assert_eq!(skip("{\"Operation\":\"Send\"}\n{\"Operation\":\"HardDelete\"}"), None);
        assert_eq!(skip(r#"{"value":[{"Operation":"Send"}]}"#), None);
        // A skipped record is still counted by its name (the full parse agrees).
        let full = interpret_json(r#"{"Operation":"Send","CreationTime":"2024-01-01T00:00:00"}"#, &InterpretOptions::default()).unwrap();
        assert_eq!(full, Outcome::Skipped { operation: "Send".into() });
    }

    #[test]
    fn dates_dotnet_cannot_hold_are_errors() {
        let options = InterpretOptions::default();
        for time in ["0000-12-31T00:00:00Z", "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-05:00"] {
            let text = format!(r#"{{"Operation":"MailItemsAccessed","CreationTime":"{time}"}}"#);
            let err = interpret_json(&text, &options).unwrap_err();
            assert_eq!(err.kind, ErrorKind::InvalidValue, "{time}");
            assert!(err.message.contains("outside the dates"), "{}", err.message);
        }
        let ok = r#"{"Operation":"MailItemsAccessed","CreationTime":"9999-12-29T00:00:00Z"}"#;
        assert!(interpret_json(ok, &options).is_ok());
    }

    #[test]
    fn the_exchange_item_is_read_as_an_object_or_as_json_text() {
        let options = InterpretOptions::default();
        let record = |item: &str| match interpret_json(
            &format!(r#"{{"Operation":"MailItemsAccessed","CreationTime":"2025-10-26T13:20:00","Item":{item}}}"#),
            &options,
        )
        .unwrap()
        {
            Outcome::Record(record) => record,
            other => panic!("{other:?}"),
        };
        let folder = |record: &MailAccessRecord| record.folders.iter().map(|f| (f.path.clone(), f.id.clone())).collect::<Vec<_>>();
        let object = record(r#"{"ParentFolder":{"Id":"LgAA1","Path":"\\Inbox"}}"#);
        // Sentinel's OfficeActivity keeps the nested object as JSON text: the same folder, not a degraded record.
        let text = record(r#""{\"ParentFolder\":{\"Id\":\"LgAA1\",\"Path\":\"\\\\Inbox\"}}""#);
        assert_eq!(folder(&object), vec![(Some("\\Inbox".to_string()), Some("LgAA1".to_string()))]);
        assert_eq!(folder(&text), folder(&object));
        assert_eq!((object.degraded.as_deref(), text.degraded.as_deref()), (None, None));
        let with_message = record(r#""{\"InternetMessageId\":\"<m1@x>\",\"ParentFolder\":{\"Path\":\"\\\\Inbox\"}}""#);
        assert_eq!(with_message.items.len(), 1);
        // PowerShell's string form and JSON text holding text stay degraded, said, not guessed.
        for garbled in [r#""@{ParentFolder=}""#, r#""\"{}\"""#] {
            let record = record(garbled);
            assert!(record.folders.is_empty(), "{garbled}");
            assert!(record.degraded.as_deref().unwrap().contains("is text an earlier tool left"), "{garbled}: {:?}", record.degraded);
        }
    }

    #[test]
    fn the_token_comes_from_app_access_context_as_an_object_or_as_text() {
        let options = InterpretOptions::default();
        let record = |text: &str| match interpret_json(text, &options).unwrap() {
            Outcome::Record(record) => record,
            other => panic!("{other:?}"),
        };
        let object = record(
            r#"{"Operation":"MailItemsAccessed","CreationTime":"2025-10-26T13:20:00","AppAccessContext":{"AADSessionId":"E1","IssuedAtTime":"2025-10-26T13:12:18","UniqueTokenId":"tok"}}"#,
        );
        assert_eq!((object.aad_session_id.as_deref(), object.unique_token_id.as_deref()), (Some("E1"), Some("tok")));
        assert_eq!(object.issued_at_time.unwrap().to_rfc3339(), "2025-10-26T13:12:18+00:00");
        assert!(object.degraded.is_none());
        // Sentinel keeps nested objects as JSON text.
        let text = record(
            r#"{"Operation":"MailItemsAccessed","CreationTime":"2025-10-26T13:20:00","AppAccessContext":"{\"AADSessionId\":\"E2\",\"UniqueTokenId\":\"t2\"}"}"#,
        );
        assert_eq!((text.aad_session_id.as_deref(), text.unique_token_id.as_deref()), (Some("E2"), Some("t2")));
        // What cannot be read is said, not guessed.
        let bad = record(
            r#"{"Operation":"MailItemsAccessed","CreationTime":"2025-10-26T13:20:00","AppAccessContext":{"AADSessionId":"E3","IssuedAtTime":"soon"}}"#,
        );
        assert_eq!(bad.aad_session_id.as_deref(), Some("E3"));
        assert_eq!(bad.issued_at_time, None);
        assert!(bad.degraded.as_deref().unwrap().contains("AppAccessContext.IssuedAtTime"), "{:?}", bad.degraded);
        let garbled =
            record(r#"{"Operation":"MailItemsAccessed","CreationTime":"2025-10-26T13:20:00","AppAccessContext":"@{AADSessionId=x}"}"#);
        assert!(
            garbled.degraded.as_deref().unwrap().contains("AppAccessContext '@{AADSessionId=x}' could not be read"),
            "{:?}",
            garbled.degraded
        );
    }

    #[test]
    fn a_record_with_thousands_of_damaged_folders_has_a_short_reason() {
        let folders: Vec<String> =
            (0..50_000).map(|i| format!("\"@{{Id=LgAA{i}; Path=\\\\F{i}; FolderItems=System.Object[]}}\"")).collect();
        let text = format!(r#"{{"Operation":"MailItemsAccessed","CreationTime":"2024-01-01T00:00:00","Folders":[{}]}}"#, folders.join(","));
        let started = std::time::Instant::now();
        let Outcome::Record(record) = interpret_json(&text, &InterpretOptions::default()).unwrap() else { panic!() };
        assert_eq!(record.folders.len(), 50_000);
        let reason = record.degraded.unwrap();
        assert!(reason.len() < 4000 && reason.ends_with("and more of the same kind"), "{reason}");
        assert!(started.elapsed() < std::time::Duration::from_secs(30), "{:?}", started.elapsed());
    }

    #[test]
    fn stringified_objects() {
        let pairs = parse_stringified_object("@{Value=Bind; Name=MailAccessType}").unwrap();
        assert_eq!(lookup(&pairs, "Value"), Some("Bind"));
        assert_eq!(lookup(&pairs, "Name"), Some("MailAccessType"));
        let pairs = parse_stringified_object("@{Id=LgAA; Path=\\Inbox; Odd; FolderItems=System.Object[]}").unwrap();
        assert_eq!(lookup(&pairs, "Id"), Some("LgAA"));
        assert_eq!(lookup(&pairs, "Path"), Some("\\Inbox; Odd"));
        assert_eq!(lookup(&pairs, "FolderItems"), Some("System.Object[]"));
        assert_eq!(parse_stringified_object("not one"), None);
        assert_eq!(parse_stringified_object("@{nokey}"), None);
    }

    /// The depth rule is ours alone (error.rs `parse_json`): the same limit however deep a value
    /// sits and whichever parser would have met it, and no serde_json message read.
    #[test]
    fn nesting_deeper_than_128_is_too_deep_wherever_it_is() {
        const RECORD: &str = r#""Operation":"MailItemsAccessed","CreationTime":"2024-01-01T00:00:00""#;
        // Levels counted from the record's own braces as level 1.
        type Shape = (&'static str, fn(u64) -> String);
        let shapes: [Shape; 3] = [
            // AuditData objects inside AuditData: serde_json recurses into each (its own limit
            // refused 128 here, where the rule is 128).
            ("nested AuditData", |levels| {
                let n = levels as usize - 1;
                format!("{}{{{RECORD}}}{}", r#"{"AuditData":"#.repeat(n), "}".repeat(n))
            }),
            // Arrays in a field the engine does not read: serde_json skips them without recursion.
            ("an unknown field", |levels| {
                let n = levels as usize - 1;
                format!("{{{RECORD},\"X\":{}{}}}", "[".repeat(n), "]".repeat(n))
            }),
            // JSON text inside a string, parsed on its own.
            ("Folders as text", |levels| {
                let n = levels as usize;
                format!("{{{RECORD},\"Folders\":\"{}{}\"}}", "[".repeat(n), "]".repeat(n))
            }),
        ];
        for (shape, text) in shapes {
            for levels in [1, 2, 127, 128, 129, 1000, 100_000] {
                let kind = interpret_json(&text(levels), &InterpretOptions::default()).err().map(|e| e.kind);
                let too_deep = kind == Some(ErrorKind::TooDeep);
                assert_eq!(too_deep, levels > MAX_NESTING, "{shape}, {levels} levels: {kind:?}");
            }
        }
        let error = interpret_json(&shapes[2].1(1000), &InterpretOptions::default()).unwrap_err();
        assert_eq!(error.message, "Folders is text but not valid JSON: it nests 1000 levels deep, more than the 128 this tool reads");
    }
}
