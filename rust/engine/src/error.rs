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

    /// `subject` (the record, a field) nests `depth` levels, more than [`MAX_NESTING`]: one
    /// wording wherever the depth was measured.
    pub(crate) fn too_deep(subject: &str, depth: u64) -> RecordError {
        RecordError::new(ErrorKind::TooDeep, format!("{subject} nests {depth} levels deep, more than the {MAX_NESTING} this tool reads"))
    }

    /// Classifies a failure to read JSON text: nesting, syntax and type errors are different
    /// problems for the user.
    pub fn from_json(context: &str, failure: &JsonFailure) -> RecordError {
        match failure {
            JsonFailure::TooDeep { depth } => RecordError::too_deep(&format!("{context}: it"), *depth),
            JsonFailure::Invalid { error, after_value } => {
                let kind = if error.is_data() { ErrorKind::InvalidValue } else { ErrorKind::InvalidJson };
                let mut record_error = RecordError::new(kind, format!("{context}: {error}"));
                record_error.text_after_value = *after_value;
                record_error
            }
        }
    }
}

/// Records nesting deeper than this are refused, whichever way they arrive: JSON text by
/// [`parse_json`] (and the file reader's scanner), pipeline objects by the shim and the object
/// reader.
pub const MAX_NESTING: u64 = 128;

/// Why JSON text could not be read.
#[derive(Debug)]
pub enum JsonFailure {
    /// It nests deeper than [`MAX_NESTING`]: refused by our own count, before serde_json reads it.
    TooDeep { depth: u64 },
    /// serde_json's error, and the step that failed: serde_json has no public code for an error
    /// after a whole value ("trailing characters"), so [`parse_json`] tells it by where it stopped.
    Invalid {
        error: serde_json::Error,
        /// A whole value was read, and the text goes on after it.
        after_value: bool,
    },
}

impl JsonFailure {
    /// The line of the text serde_json stopped at, when it did.
    pub fn line(&self) -> Option<usize> {
        match self {
            JsonFailure::Invalid { error, .. } if error.line() > 0 => Some(error.line()),
            _ => None,
        }
    }
}

/// `serde_json::from_str` in its own steps (the depth, the value, then the end of the text), so
/// that a failure says which one failed.
///
/// The depth is ours to check: serde_json's recursion limit is told from other syntax errors only
/// by its message (no code, nor `classify()`), and it refuses 128 levels where we read 128. So
/// the text is measured first ([`deeper_than_read`]: a count of brackets, then a walk over
/// strings only when there are enough of them), and serde_json's own limit is switched off: what
/// reaches it nests at most [`MAX_NESTING`] levels, so its recursion (and the stack) stay as
/// bounded as its limit would keep them. serde_json skips unknown fields without recursion.
pub fn parse_json<'a, T: serde::Deserialize<'a>>(text: &'a str) -> Result<T, JsonFailure> {
    if let Some(depth) = deeper_than_read(text.as_bytes()) {
        return Err(JsonFailure::TooDeep { depth });
    }
    parse_measured_json(text)
}

/// [`parse_json`] for text already measured by [`deeper_than_read`] (a record's text is, before
/// its operation is looked at): the count is not made twice.
pub(crate) fn parse_measured_json<'a, T: serde::Deserialize<'a>>(text: &'a str) -> Result<T, JsonFailure> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    deserializer.disable_recursion_limit();
    let value = T::deserialize(&mut deserializer).map_err(|error| JsonFailure::Invalid { error, after_value: false })?;
    deserializer.end().map_err(|error| JsonFailure::Invalid { error, after_value: true })?;
    Ok(value)
}

/// The depth of JSON text that nests deeper than [`MAX_NESTING`]; None for text that does not.
/// Counts brackets outside strings; for text serde_json would read, as deep as it would recurse
/// before it stops (on the first error, the count over the valid text before it is the same).
pub(crate) fn deeper_than_read(bytes: &[u8]) -> Option<u64> {
    if memchr::memchr2_iter(b'{', b'[', bytes).count() as u64 <= MAX_NESTING {
        return None;
    }
    let depth = nesting_depth(bytes);
    (depth > MAX_NESTING).then_some(depth)
}

/// The deepest nesting of brackets outside strings.
fn nesting_depth(bytes: &[u8]) -> u64 {
    let (mut depth, mut deepest, mut i) = (0u64, 0u64, 0usize);
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                // To the closing quote, over escapes.
                i += 1;
                loop {
                    match memchr::memchr2(b'"', b'\\', &bytes[i.min(bytes.len())..]) {
                        None => {
                            i = bytes.len();
                            break;
                        }
                        Some(k) => {
                            i += k;
                            if bytes[i] == b'"' {
                                break;
                            }
                            i += 2;
                        }
                    }
                }
            }
            b'{' | b'[' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    deepest
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
        assert!(matches!(after, JsonFailure::Invalid { after_value: true, .. }));
        let within = parse_json::<serde_json::Value>("{\"a\":1").unwrap_err();
        assert!(matches!(within, JsonFailure::Invalid { after_value: false, .. }));
        // The same errors as serde_json::from_str, in the same words.
        for text in ["{\"a\":1} x", "{\"a\":", "[1,]", ""] {
            let JsonFailure::Invalid { error: ours, .. } = parse_json::<serde_json::Value>(text).unwrap_err() else { panic!("{text}") };
            let ours = ours.to_string();
            assert_eq!(ours, serde_json::from_str::<serde_json::Value>(text).unwrap_err().to_string());
        }
        let error = RecordError::from_json("the record is not valid JSON", &after);
        assert!(error.text_after_value);
        assert_eq!(error.kind, ErrorKind::InvalidJson);
    }
}
