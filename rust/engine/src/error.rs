//! Errors for one record: what went wrong, and where, so that a user can find the record.

use std::fmt;

use crate::model::SourcePosition;

pub use crate::vocabulary::ErrorKind;

/// A record that could not be analysed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordError {
    pub kind: ErrorKind,
    /// One sentence: the reason, with the field and the position inside the record when known.
    pub message: String,
    /// The record's Id when it could be read before the error.
    pub record_id: Option<String>,
    pub position: SourcePosition,
    /// JSON text in the record held a whole value with more text after it (serde_json's
    /// "trailing characters"): the text may be several records. Known from where the parse
    /// stopped ([`parse_json`]), never read from the message.
    pub(crate) text_after_value: bool,
}

impl RecordError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> RecordError {
        RecordError { kind, message: message.into(), record_id: None, position: SourcePosition::default(), text_after_value: false }
    }

    pub(crate) fn with_record_id(mut self, record_id: Option<String>) -> RecordError {
        self.record_id = record_id;
        self
    }

    /// Classifies a serde_json error: syntax, nesting and type errors are different problems
    /// for the user.
    pub fn from_json(context: &str, failure: &JsonFailure) -> RecordError {
        let err = &failure.error;
        let text = err.to_string();
        let kind = if text.starts_with("recursion limit exceeded") {
            ErrorKind::TooDeep
        } else if err.is_data() {
            ErrorKind::InvalidValue
        } else {
            ErrorKind::InvalidJson
        };
        // serde_json has no public code for its recursion limit (nor does classify() tell it
        // from other syntax errors): its message is the only signal.
        let mut error = RecordError::new(kind, format!("{context}: {text}"));
        error.text_after_value = failure.after_value;
        error
    }
}

/// A serde_json failure, and the step that failed: serde_json has no public code for an error
/// after a whole value ("trailing characters"), so [`parse_json`] tells it by where it stopped.
#[derive(Debug)]
pub struct JsonFailure {
    pub error: serde_json::Error,
    /// A whole value was read, and the text goes on after it.
    pub after_value: bool,
}

/// `serde_json::from_str` in its own two steps (the value, then the end of the text), so that a
/// failure says which one failed.
pub fn parse_json<'a, T: serde::Deserialize<'a>>(text: &'a str) -> Result<T, JsonFailure> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let value = T::deserialize(&mut deserializer).map_err(|error| JsonFailure { error, after_value: false })?;
    deserializer.end().map_err(|error| JsonFailure { error, after_value: true })?;
    Ok(value)
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.name(), self.message)
    }
}

impl std::error::Error for RecordError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_json_failure_says_whether_a_whole_value_came_first() {
        let after = parse_json::<serde_json::Value>("{\"a\":1} {\"b\":2}").unwrap_err();
        assert!(after.after_value);
        let within = parse_json::<serde_json::Value>("{\"a\":1").unwrap_err();
        assert!(!within.after_value);
        // The same errors as serde_json::from_str, in the same words.
        for text in ["{\"a\":1} x", "{\"a\":", "[1,]", ""] {
            let ours = parse_json::<serde_json::Value>(text).unwrap_err().error.to_string();
            assert_eq!(ours, serde_json::from_str::<serde_json::Value>(text).unwrap_err().to_string());
        }
        let error = RecordError::from_json("the record is not valid JSON", &after);
        assert!(error.text_after_value);
        assert_eq!(error.kind, ErrorKind::InvalidJson);
    }
}
