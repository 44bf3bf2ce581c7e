//! Errors for one record: what went wrong, and where, so that a user can find the record.

use std::fmt;

use crate::model::SourcePosition;

/// The category of a record error. The numeric values cross the C ABI.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum ErrorKind {
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

impl ErrorKind {
    /// Stable identifier, used in PowerShell error ids.
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::InvalidJson => "InvalidJson",
            ErrorKind::InvalidEncoding => "InvalidEncoding",
            ErrorKind::InvalidValue => "InvalidValue",
            ErrorKind::MissingField => "MissingField",
            ErrorKind::TooLarge => "TooLarge",
            ErrorKind::TooDeep => "TooDeep",
            ErrorKind::InvalidCsv => "InvalidCsv",
            ErrorKind::NotAnAuditRecord => "NotAnAuditRecord",
            ErrorKind::Unreadable => "Unreadable",
        }
    }
}

/// A record that could not be analysed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordError {
    pub kind: ErrorKind,
    /// One sentence: the reason, with the field and the position inside the record when known.
    pub message: String,
    /// The record's Id when it could be read before the error.
    pub record_id: Option<String>,
    pub position: SourcePosition,
}

impl RecordError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> RecordError {
        RecordError { kind, message: message.into(), record_id: None, position: SourcePosition::default() }
    }

    /// Classifies a serde_json error: syntax, nesting and type errors are different problems
    /// for the user.
    pub fn from_json(context: &str, err: &serde_json::Error) -> RecordError {
        let text = err.to_string();
        let kind = if text.starts_with("recursion limit exceeded") {
            ErrorKind::TooDeep
        } else if err.is_data() {
            ErrorKind::InvalidValue
        } else {
            ErrorKind::InvalidJson
        };
        RecordError::new(kind, format!("{context}: {text}"))
    }
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.name(), self.message)
    }
}

impl std::error::Error for RecordError {}
