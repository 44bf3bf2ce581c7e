//! Pipeline objects: batches the shim encodes from what PowerShell hands a cmdlet
//! (`Search-UnifiedAuditLog` results, `Import-Csv` rows, Graph and Sentinel objects, text), read
//! into the same [`ReadResult`]s the document readers give, without touching a session.

use std::sync::atomic::AtomicBool;

use rayon::prelude::*;
use serde::Deserialize;

use crate::error::{ErrorKind, RecordError};
use crate::input::interpret::{
    interpret_fields, interpret_json_placed, InterpretOptions, Outcome, Placed, MAIL_ITEMS_ACCESSED, MAX_NESTING,
};
use crate::input::module_record::{module_record_properties, read_module_record};
use crate::input::raw::RawFields;
use crate::input::tree::{BatchFormatError, BatchReader, Node, NodeDeserializer};
use crate::input::{ReadResult, ReaderOptions, RecordReader};
use crate::model::{ResultPosition, SourcePosition};
use crate::vocabulary::UnreadableReason;

/// Batches smaller than this are read on the calling thread (not worth the hand-off).
const PARALLEL_BATCH: usize = 64;

/// Reads a batch of pipeline objects in the shim's encoding into results, without touching a
/// session: batches can be read in parallel with each other, then counted in order with
/// [`Session::ingest_results`](crate::session::Session::ingest_results). Records are read in parallel; text holding a whole document
/// (`Get-Content -Raw` of an export) is read as a file would be, its positions naming the
/// pipeline object and the line in it. `cancel` stops a long document at its next chunk.
pub fn parse_objects(
    batch: &[u8],
    first_index: u64,
    options: &InterpretOptions,
    cancel: &AtomicBool,
) -> Result<Vec<ReadResult>, BatchFormatError> {
    let mut reader = BatchReader::new(batch);
    let mut nodes = Vec::new();
    while !reader.is_empty() {
        nodes.push(reader.next_node_with_depth()?);
    }
    let read = |(node, depth): &(Node<'_>, u64)| -> Option<Placed> {
        // An object's place in its query's results is its own (ResultIndex and ResultCount
        // beside AuditData), whatever its record turns out to be: a skipped or damaged record
        // still counts toward its query.
        let result = object_result_position(node);
        if *depth > MAX_NESTING {
            let error = RecordError::new(
                ErrorKind::TooDeep,
                format!("the object nests more than {MAX_NESTING} levels deep, more than this tool reads"),
            );
            return Some((Err(error), result));
        }
        match node {
            Node::Str(text) => {
                let text = without_bom(text);
                if is_document(text) {
                    return None;
                }
                match interpret_text(text, options) {
                    (Err(error), _) if reads_as_document(text, &error) => None,
                    placed => Some(placed),
                }
            }
            _ => Some((interpret_node(node, options), result)),
        }
    };
    let outcomes: Vec<Option<Placed>> =
        if nodes.len() >= PARALLEL_BATCH { nodes.par_iter().map(read).collect() } else { nodes.iter().map(read).collect() };
    let mut results = Vec::with_capacity(outcomes.len());
    for (offset, ((node, _), outcome)) in nodes.iter().zip(outcomes).enumerate() {
        let index = first_index + offset as u64;
        match (outcome, node) {
            (Some((outcome, result)), _) => {
                results.push(ReadResult { position: SourcePosition { index, result, ..SourcePosition::default() }, outcome })
            }
            (None, Node::Str(text)) => read_document(without_bom(text), index, options, cancel, &mut results),
            (None, _) => unreachable!("only text is read as a document"),
        }
    }
    Ok(results)
}

/// Text read by .NET keeps no byte order mark, but text put together by hand may.
fn without_bom(text: &str) -> &str {
    text.strip_prefix('\u{feff}').unwrap_or(text)
}

/// One piped text that did not read as one record, but may be several: several values (JSON
/// Lines piped with -Raw), one object holding records (a saved Graph response page), or text
/// over several lines (the first of several records damaged) is read as a document, as a file
/// of that text would be.
fn reads_as_document(text: &str, error: &RecordError) -> bool {
    error.text_after_value || error.kind == ErrorKind::NotAnAuditRecord || text.trim().contains('\n')
}

fn read_document(text: &str, index: u64, options: &InterpretOptions, cancel: &AtomicBool, results: &mut Vec<ReadResult>) {
    let options = ReaderOptions { interpret: *options, threads: 1, ..ReaderOptions::default() };
    let bytes = text.as_bytes().to_vec();
    let total = bytes.len() as u64;
    let mut reader = RecordReader::from_reader(Box::new(std::io::Cursor::new(bytes)), None, Some(total), options);
    while let Some(chunk) = reader.next_chunk(cancel) {
        for result in chunk {
            let position = SourcePosition { index, line: result.position.line, result: result.position.result, file: None };
            results.push(ReadResult { position, outcome: result.outcome });
        }
    }
}

/// Text that is a document of records rather than one: a JSON array, or a CSV export (a header
/// line and more). A JSON object is read as one record first; several objects in one string
/// show as text after its value and are then read as a document.
fn is_document(text: &str) -> bool {
    let trimmed = text.trim();
    trimmed.starts_with('[') || (!trimmed.starts_with('{') && trimmed.contains('\n'))
}

/// One piped text as one record, with its place in its query's results when it is a wrapper
/// that carries one (a Search-UnifiedAuditLog object converted to JSON).
fn interpret_text(text: &str, options: &InterpretOptions) -> Placed {
    let (outcome, result) = interpret_json_placed(text, options, None);
    let outcome = outcome.map_err(|mut error| {
        let trimmed = text.trim_start();
        if !trimmed.starts_with('{') && !trimmed.starts_with('[') && trimmed.contains(',') {
            error.message.push_str(" (this looks like a line of CSV: read CSV exports with Import-Csv or -Path)");
        }
        error
    });
    (outcome, result)
}

/// A pipeline object's `ResultIndex` and `ResultCount` (Search-UnifiedAuditLog output, and the
/// Import-Csv rows of its Export-Csv, where they are text), spelled as [`RawFields`] reads
/// them; None unless both are whole numbers.
fn object_result_position(node: &Node<'_>) -> Option<ResultPosition> {
    let Node::Map(entries) = node else { return None };
    let number = |name: &str| {
        entries.iter().find(|(key, _)| key.trim().eq_ignore_ascii_case(name)).and_then(|(_, value)| match value {
            Node::Int(i) => Some(*i),
            Node::Float(f) if f.is_finite() && f.fract() == 0.0 && f.abs() < 9.0e15 => Some(*f as i64),
            Node::Str(text) => text.trim().parse::<i64>().ok(),
            _ => None,
        })
    };
    Some(ResultPosition { index: number("ResultIndex")?, count: number("ResultCount")? })
}

/// Reads one top-level pipeline object: JSON text, or an object's properties.
pub fn interpret_node(node: &Node<'_>, options: &InterpretOptions) -> Result<Outcome, RecordError> {
    match node {
        Node::Str(text) => interpret_text(text, options).0,
        Node::Map(_) => {
            // The module's own records are the record model written out: read, not interpreted.
            if let Some(properties) = module_record_properties(node) {
                return read_module_record(properties).map(|record| Outcome::Record(Box::new(record)));
            }
            let raw = match RawFields::deserialize(NodeDeserializer::new(node)) {
                Ok(raw) => raw,
                Err(e) => {
                    // As for JSON text: a record of another operation is skipped unread.
                    if let Some(operation) = other_operation(node) {
                        return Ok(Outcome::Skipped { operation: operation.to_string() });
                    }
                    let kind = e.unreadable.map_or(ErrorKind::InvalidValue, |reason| unreadable_kind(reason, false));
                    return Err(RecordError::new(kind, e.message));
                }
            };
            interpret_fields(&raw, options)
        }
        Node::Unreadable(reason, words) => {
            Err(RecordError::new(unreadable_kind(*reason, true), format!("the object could not be read: {words}")))
        }
        other => Err(RecordError::new(
            ErrorKind::NotAnAuditRecord,
            format!("{} is not an audit record (expected an object or AuditData JSON text)", describe(other)),
        )),
    }
}

/// The record error's kind for a value the shim could not read, from the reason code it sent
/// (never from its words). A whole object that could not be read counts as unreadable bytes,
/// a value inside one as a bad value.
fn unreadable_kind(reason: UnreadableReason, whole_object: bool) -> ErrorKind {
    match reason {
        UnreadableReason::InvalidUtf16 => ErrorKind::InvalidEncoding,
        UnreadableReason::TooDeep => ErrorKind::TooDeep,
        UnreadableReason::TooLarge => ErrorKind::TooLarge,
        UnreadableReason::ReadFailed if whole_object => ErrorKind::InvalidEncoding,
        UnreadableReason::ReadFailed => ErrorKind::InvalidValue,
    }
}

/// The object's own `Operation` when it is certainly another operation's record, by the rule
/// JSON text follows: no text in it names MailItemsAccessed.
fn other_operation<'a>(node: &Node<'a>) -> Option<&'a str> {
    let Node::Map(entries) = node else { return None };
    if mentions(node, MAIL_ITEMS_ACCESSED) {
        return None;
    }
    entries.iter().find_map(|(key, value)| match value {
        Node::Str(operation) if *key == "Operation" && !operation.trim().is_empty() => Some(operation.trim()),
        _ => None,
    })
}

fn mentions(node: &Node<'_>, name: &str) -> bool {
    match node {
        Node::Str(text) | Node::Unreadable(_, text) => text.contains(name),
        Node::List(items) => items.iter().any(|item| mentions(item, name)),
        Node::Map(entries) => entries.iter().any(|(key, value)| key.contains(name) || mentions(value, name)),
        _ => false,
    }
}

fn describe(node: &Node<'_>) -> &'static str {
    match node {
        Node::Null => "null",
        Node::Bool(_) => "a boolean",
        Node::Int(_) | Node::Float(_) => "a number",
        Node::DateTime(_) => "a date",
        Node::List(_) => "a list",
        Node::Str(_) => "text",
        Node::Map(_) => "an object",
        Node::Unreadable(..) => "an unreadable value",
    }
}
