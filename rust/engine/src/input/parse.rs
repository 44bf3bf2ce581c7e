//! One piece of a document to its outcome: runs on the parse workers.

use std::borrow::Cow;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicBool, Ordering};

use memchr::memchr;
use serde::de::{self, value::MapDeserializer, Deserialize, Deserializer, IntoDeserializer, Visitor};

use super::csv::{split_fields, CsvHeader};
use super::decode::TextEncoding;
use super::json::JsonSplitter;
use super::{Lines, Piece};
use crate::error::{parse_json, ErrorKind, RecordError};
use crate::input::interpret::{interpret_fields, interpret_json_placed, json_error, result_position, InterpretOptions, Placed};
use crate::input::raw::RawFields;

pub(crate) struct Context<'a> {
    pub options: &'a InterpretOptions,
    pub encoding: TextEncoding,
    pub header: Option<&'a CsvHeader>,
}

/// A record's outcome, and its place in its query's results when its wrapper says.
pub(crate) type Interpreted = Placed;

pub(crate) enum PieceResult {
    One(u64, Interpreted),
    /// A line of JSON Lines that held several records (concatenated objects, a Graph page).
    Many(u64, Vec<Interpreted>),
    Cancelled,
}

pub(crate) fn parse_piece(piece: Piece, data: &[u8], base: u64, ctx: &Context<'_>, cancel: &AtomicBool) -> PieceResult {
    if cancel.load(Ordering::Relaxed) {
        return PieceResult::Cancelled;
    }
    let slice = |start: u64, end: u64| &data[(start - base) as usize..(end - base) as usize];
    match piece {
        Piece::Error { line, error } => PieceResult::One(line, (Err(error), None)),
        Piece::Json { start, end, line, whole_line: true } => parse_json_line(slice(start, end), line, ctx),
        Piece::Json { start, end, line, whole_line: false } => PieceResult::One(line, parse_json_value(slice(start, end), line, ctx)),
        Piece::Csv { start, end, line } => PieceResult::One(line, parse_csv_row(slice(start, end), line, ctx)),
    }
}

/// The record's text, if it is valid in the document's encoding and holds no NUL byte.
fn check_text(bytes: &[u8], line: u64, encoding: TextEncoding) -> Result<&str, RecordError> {
    let line_of = |at: usize| line + memchr::memchr_iter(b'\n', &bytes[..at]).count() as u64;
    let text = simdutf8::compat::from_utf8(bytes).map_err(|e| {
        let at = e.valid_up_to();
        RecordError::new(
            ErrorKind::InvalidEncoding,
            format!(
                "the record holds bytes that are not valid {} at line {} (byte {} of the record)",
                encoding.family(),
                line_of(at),
                at + 1
            ),
        )
    })?;
    if let Some(at) = memchr(0, bytes) {
        let hint = if encoding == TextEncoding::Utf8 { " (UTF-16 text without a byte order mark looks like this)" } else { "" };
        return Err(RecordError::new(
            ErrorKind::InvalidEncoding,
            format!("the record holds a NUL byte at line {} (byte {} of the record){hint}", line_of(at), at + 1),
        ));
    }
    Ok(text)
}

fn parse_json_value(bytes: &[u8], line: u64, ctx: &Context<'_>) -> Interpreted {
    let text = match check_text(bytes, line, ctx.encoding) {
        Ok(text) => text,
        Err(error) => return (Err(error), None),
    };
    if text.starts_with('"') {
        // AuditData written as a JSON string (an array of strings, a line holding one).
        let inner: Cow<str> = match parse_json(text) {
            Ok(inner) => inner,
            Err(e) => return (Err(json_error("the record is not valid JSON", &e, Some(line))), None),
        };
        if !inner.trim_start().starts_with('{') {
            let error =
                RecordError::new(ErrorKind::NotAnAuditRecord, "a string that is not AuditData JSON (an object) is not an audit record");
            return (Err(error), None);
        }
        return interpret_json_placed(&inner, ctx.options, None);
    }
    interpret_json_placed(text, ctx.options, Some(line))
}

fn parse_json_line(bytes: &[u8], line: u64, ctx: &Context<'_>) -> PieceResult {
    let text = match check_text(bytes, line, ctx.encoding) {
        Ok(text) => text,
        Err(error) => return PieceResult::One(line, (Err(error), None)),
    };
    // An array holds records; a line too deep, or holding several values or a Graph page, is
    // read value by value (each measured for depth on its own).
    let first = if text.starts_with('[') {
        None
    } else {
        match interpret_json_placed(text, ctx.options, Some(line)) {
            (Err(error), _) if error.kind == ErrorKind::TooDeep => None,
            (Err(error), result) if error.kind == ErrorKind::NotAnAuditRecord || error.text_after_value => Some((Err(error), result)),
            other => return PieceResult::One(line, other),
        }
    };
    // Several records on the line, or a wrapper around them?
    let mut splitter = JsonSplitter::structural(ctx.options.max_record_bytes);
    let mut lines = Lines::default();
    let mut pieces = Vec::new();
    splitter.scan(bytes, 0, true, &mut lines, &mut pieces, &|| false);
    if let [Piece::Json { start: 0, end, .. }] = pieces.as_slice() {
        if *end as usize == bytes.len() {
            return PieceResult::One(line, first.unwrap_or_else(|| parse_json_value(bytes, line, ctx)));
        }
    }
    if let Some(first) = first {
        // Nothing on the line reads as a record of its own: the line is one damaged record.
        if !pieces.iter().any(|p| matches!(p, Piece::Json { .. })) {
            return PieceResult::One(line, first);
        }
    }
    let results = pieces
        .into_iter()
        .map(|piece| match piece {
            Piece::Json { start, end, .. } => parse_json_value(&bytes[start as usize..end as usize], line, ctx),
            Piece::Error { error, .. } => (Err(error), None),
            Piece::Csv { .. } => unreachable!("the JSON splitter makes no CSV rows"),
        })
        .collect();
    PieceResult::Many(line, results)
}

fn parse_csv_row(bytes: &[u8], line: u64, ctx: &Context<'_>) -> Interpreted {
    let (outcome, result) = read_csv_row(bytes, line, ctx);
    let outcome = outcome.map_err(|mut error| {
        // A row over several lines that does not read: a quote may have joined lines.
        let breaks = memchr::memchr_iter(b'\n', bytes).count() as u64;
        if breaks > 0 && !error.message.contains("a quote may be missing") {
            error.message.push_str(&format!(" (the row runs over lines {line} to {}: a quote may be missing)", line + breaks));
        }
        error
    });
    (outcome, result)
}

fn read_csv_row(bytes: &[u8], line: u64, ctx: &Context<'_>) -> Interpreted {
    let text = match check_text(bytes, line, ctx.encoding) {
        Ok(text) => text,
        Err(error) => return (Err(error), None),
    };
    let header = ctx.header.expect("CSV rows come with their header");
    let mut fields = Vec::with_capacity(header.names.len());
    split_fields(text, header.delimiter, &mut fields);
    if fields.len() == header.names.len() && !header.duplicates.is_empty() {
        return parse_csv_row_with_duplicates(header, fields, ctx);
    }
    if fields.len() != header.names.len() {
        let breaks = memchr::memchr_iter(b'\n', bytes).count() as u64;
        let span =
            if breaks > 0 { format!(" (it runs over lines {line} to {}: a quote may be missing)", line + breaks) } else { String::new() };
        let error = RecordError::new(
            ErrorKind::InvalidCsv,
            format!("the row has {} fields where the header has {}{span}", fields.len(), header.names.len()),
        );
        return (Err(error), None);
    }
    let pairs = header.names.iter().map(String::as_str).zip(fields.into_iter().map(Cell::new));
    interpret_row(RawFields::deserialize(MapDeserializer::<_, de::value::Error>::new(pairs)), ctx)
}

/// A CSV row's fields to its outcome, with its place in its query's results (an Export-Csv of
/// Search-UnifiedAuditLog output keeps ResultIndex and ResultCount as columns).
fn interpret_row(raw: Result<RawFields<'_>, de::value::Error>, ctx: &Context<'_>) -> Interpreted {
    match raw {
        Ok(raw) => (interpret_fields(&raw, ctx.options), result_position(&raw)),
        Err(e) => (Err(RecordError::new(ErrorKind::InvalidValue, format!("the row cannot be read: {e}"))), None),
    }
}

/// A header names one field in two columns: the row is read when they agree (or one is blank),
/// from the one that is not blank; when they differ, which one the export meant is unknown.
fn parse_csv_row_with_duplicates<'a>(header: &CsvHeader, mut fields: Vec<Cow<'a, str>>, ctx: &Context<'_>) -> Interpreted {
    let mut dropped = vec![false; fields.len()];
    for &(first, later) in &header.duplicates {
        let (a, b) = (fields[first].trim(), fields[later].trim());
        if !a.is_empty() && !b.is_empty() && a != b {
            let error = RecordError::new(
                ErrorKind::InvalidCsv,
                format!(
                    "columns {} and {} both hold {} and differ in this row: which one is the record's cannot be told",
                    first + 1,
                    later + 1,
                    header.names[first].trim()
                ),
            );
            return (Err(error), None);
        }
        if a.is_empty() {
            fields.swap(first, later);
        }
        dropped[later] = true;
    }
    let pairs = header
        .names
        .iter()
        .map(String::as_str)
        .zip(fields.into_iter().map(Cell::new))
        .zip(dropped)
        .filter(|(_, dropped)| !dropped)
        .map(|(pair, _)| pair);
    interpret_row(RawFields::deserialize(MapDeserializer::<_, de::value::Error>::new(pairs)), ctx)
}

/// One CSV field for [`RawFields`]: text, borrowed from the row when it can be; a blank field
/// is an absent value.
struct Cell<'de, E> {
    text: Cow<'de, str>,
    marker: PhantomData<E>,
}

impl<'de, E> Cell<'de, E> {
    fn new(text: Cow<'de, str>) -> Self {
        Cell { text, marker: PhantomData }
    }
}

impl<'de, E: de::Error> IntoDeserializer<'de, E> for Cell<'de, E> {
    type Deserializer = Self;
    fn into_deserializer(self) -> Self {
        self
    }
}

impl<'de, E: de::Error> Deserializer<'de> for Cell<'de, E> {
    type Error = E;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        match self.text {
            Cow::Borrowed(text) => visitor.visit_borrowed_str(text),
            Cow::Owned(text) => visitor.visit_string(text),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        if self.text.trim().is_empty() {
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf unit
        unit_struct newtype_struct seq tuple tuple_struct map struct enum identifier ignored_any
    }
}
