//! Splits CSV text into rows (RFC 4180 quoting: doubled quotes, line breaks inside quoted
//! fields) and a row into fields.
//!
//! The row splitter and the field splitter follow the same rules, so they always agree: a
//! quote opens a quoted field only at the start of a field; inside it `""` is a quote and a
//! lone `"` closes it; anything between the closing quote and the next delimiter is kept as
//! written. A quote that never closes is reported at the row where it opens, with how much of
//! the input could therefore not be read as rows.

use std::borrow::Cow;
use std::sync::Arc;

use memchr::{memchr, memchr2};

use super::{Lines, Piece};
use crate::error::{ErrorKind, RecordError};

/// The column names, and the delimiter found in the header.
#[derive(Debug)]
pub struct CsvHeader {
    pub names: Vec<String>,
    pub delimiter: u8,
    /// (first, later) columns that name the same field (two `AuditData` columns): a row is read
    /// only when they agree.
    pub duplicates: Vec<(usize, usize)>,
}

impl CsvHeader {
    fn new(names: Vec<String>, delimiter: u8) -> CsvHeader {
        let mut duplicates = Vec::new();
        let fields: Vec<Option<u8>> = names.iter().map(|n| crate::input::raw::top_level_field(n)).collect();
        for (later, field) in fields.iter().enumerate() {
            if let Some(first) = field.and_then(|f| fields[..later].iter().position(|g| *g == Some(f))) {
                duplicates.push((first, later));
            }
        }
        CsvHeader { names, delimiter, duplicates }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    Start,
    Unquoted,
    Quoted,
    /// Just read a `"` inside a quoted field: `""` or the end of the quoted part.
    QuoteInQuoted,
}

#[derive(Debug)]
struct RowScan {
    start: u64,
    line: u64,
    state: Field,
    oversize: bool,
}

enum RowStep {
    NeedMore,
    /// The row's text ends before `end` (line break excluded); the next row starts at `next`.
    Done {
        end: u64,
        next: u64,
    },
    Eof,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    /// Blank lines, Windows PowerShell's `#TYPE ...` line, Excel's `sep=;` line.
    Preamble,
    Header,
    Rows,
}

pub(crate) struct CsvSplitter {
    pos: u64,
    stage: Stage,
    delimiter: Option<u8>,
    header: Option<Arc<CsvHeader>>,
    row: Option<RowScan>,
    max_record: usize,
}

impl CsvSplitter {
    pub fn new(max_record: usize) -> CsvSplitter {
        CsvSplitter { pos: 0, stage: Stage::Preamble, delimiter: None, header: None, row: None, max_record }
    }

    /// Starts at this offset of the text (what comes before was blank).
    pub fn starting_at(mut self, pos: u64) -> CsvSplitter {
        self.pos = pos;
        self
    }

    pub fn header(&self) -> Option<&Arc<CsvHeader>> {
        self.header.as_ref()
    }

    /// Splits what `buf` holds (text from offset `base`); returns the first offset still needed.
    pub fn scan(&mut self, buf: &[u8], base: u64, eof: bool, lines: &mut Lines, out: &mut Vec<Piece>, stop: &dyn Fn() -> bool) -> u64 {
        let end = base + buf.len() as u64;
        loop {
            if self.stage == Stage::Preamble {
                let i = (self.pos - base) as usize;
                let Some(line_end) = memchr(b'\n', &buf[i..]).map(|k| i + k).or(if eof { Some(buf.len()) } else { None }) else {
                    if buf.len() - i > self.max_record {
                        // No line break in sight: take it as the header.
                        self.stage = Stage::Header;
                        continue;
                    }
                    break;
                };
                let text = &buf[i..line_end];
                let trimmed = text.trim_ascii();
                if trimmed.is_empty() && line_end < buf.len() {
                    self.pos = base + line_end as u64 + 1;
                } else if trimmed.is_empty() {
                    // Nothing but blank lines: no rows.
                    self.pos = end;
                    break;
                } else if starts_with_ignore_case(trimmed, b"#TYPE") {
                    self.pos = base + (line_end + 1).min(buf.len()) as u64;
                } else if let Some(named) = sep_line(text) {
                    match named {
                        Ok(delimiter) => self.delimiter = Some(delimiter),
                        Err(what) => {
                            let line = lines.line_at(buf, base, self.pos);
                            out.push(Piece::Error {
                                line,
                                error: RecordError::new(
                                    ErrorKind::InvalidCsv,
                                    format!("the `sep=` line names {what}, which this tool cannot split fields on (only an ASCII character): the separator is found from the header instead"),
                                ),
                            });
                        }
                    }
                    self.pos = base + (line_end + 1).min(buf.len()) as u64;
                } else {
                    if self.delimiter.is_none() {
                        self.delimiter = Some(detect_delimiter(text));
                    }
                    self.stage = Stage::Header;
                }
                continue;
            }

            if self.row.is_none() {
                let i = (self.pos - base) as usize;
                if i >= buf.len() || stop() {
                    break;
                }
                let line = lines.line_at(buf, base, self.pos);
                self.row = Some(RowScan { start: self.pos, line, state: Field::Start, oversize: false });
            }
            let delimiter = self.delimiter.unwrap_or(b',');
            let row = self.row.as_mut().expect("row in progress");
            match step_row(row, buf, base, &mut self.pos, eof, delimiter) {
                RowStep::NeedMore => {
                    if !row.oversize && self.pos - row.start > self.max_record as u64 {
                        row.oversize = true;
                    }
                    break;
                }
                RowStep::Done { end: row_end, next } => {
                    let row = self.row.take().expect("row in progress");
                    self.pos = next;
                    if let Some(retry) = self.finish_row(row, row_end, buf, base, lines, out) {
                        self.pos = retry;
                    }
                }
                RowStep::Eof => {
                    let row = self.row.take().expect("row in progress");
                    self.pos = end;
                    let size = end - row.start;
                    let text = &buf[(row.start.max(base) - base) as usize..];
                    if row.state == Field::Quoted
                        && self.stage == Stage::Rows
                        && !row.oversize
                        && size <= self.max_record as u64
                        && memchr(b'\n', text).is_some_and(|k| k + 1 < text.len())
                    {
                        // The quote may be the only damage: the lines after the first are read again.
                        let k = memchr(b'\n', text).expect("a line break");
                        let last_line = row.line + memchr::memchr_iter(b'\n', text).count() as u64 - u64::from(buf.last() == Some(&b'\n'));
                        out.push(Piece::Error {
                            line: row.line,
                            error: RecordError::new(
                                ErrorKind::InvalidCsv,
                                format!(
                                    "a quoted field in this row (line {}) never closes: read that way it would take the rest of the input (lines {} to {last_line}); line {} was skipped and the lines after it are read again",
                                    row.line, row.line, row.line
                                ),
                            ),
                        });
                        self.pos = row.start + k as u64 + 1;
                        continue;
                    }
                    if row.state == Field::Quoted {
                        let last_line = lines.line_at(buf, base, end) - u64::from(buf.last() == Some(&b'\n'));
                        let bytes = end - row.start;
                        let what = if self.stage == Stage::Header { "the header" } else { "this row" };
                        out.push(Piece::Error {
                            line: row.line,
                            error: RecordError::new(
                                ErrorKind::InvalidCsv,
                                format!(
                                    "a quoted field in {what} (line {}) never closes: the rest of the input, {bytes} bytes over {} lines (lines {} to {last_line}), could not be read as rows",
                                    row.line,
                                    last_line.saturating_sub(row.line) + 1,
                                    row.line
                                ),
                            ),
                        });
                        self.stage = Stage::Rows;
                    } else if let Some(retry) = self.finish_row(row, end, buf, base, lines, out) {
                        self.pos = retry;
                    }
                }
            }
        }
        match &self.row {
            Some(row) if !row.oversize => row.start,
            _ => self.pos.min(end).max(base),
        }
    }

    /// The input broke off (a read failure): the row in progress is lost. Returns where it starts.
    pub fn abandon(&mut self) -> Option<u64> {
        self.row.take().map(|row| row.start)
    }

    /// Hands on a row; returns where to read again when the row turns out to be several lines
    /// joined by a quote that should have closed.
    #[allow(clippy::too_many_arguments)]
    fn finish_row(&mut self, row: RowScan, row_end: u64, buf: &[u8], base: u64, lines: &mut Lines, out: &mut Vec<Piece>) -> Option<u64> {
        let size = row_end - row.start;
        if self.stage == Stage::Header {
            self.stage = Stage::Rows;
            if row.oversize || size > self.max_record as u64 {
                out.push(Piece::Error {
                    line: row.line,
                    error: RecordError::new(
                        ErrorKind::InvalidCsv,
                        format!(
                            "the CSV header is {size} bytes long, more than the {} bytes allowed: the rows cannot be read",
                            self.max_record
                        ),
                    ),
                });
                self.header = Some(Arc::new(CsvHeader::new(Vec::new(), b',')));
                return None;
            }
            let text = String::from_utf8_lossy(&buf[(row.start - base) as usize..(row_end - base) as usize]);
            let delimiter = self.delimiter.unwrap_or(b',');
            let mut fields = Vec::new();
            split_fields(&text, delimiter, &mut fields);
            let names = fields.iter().map(|f| header_name(f)).collect();
            self.header = Some(Arc::new(CsvHeader::new(names, delimiter)));
            return None;
        }
        if row.oversize || size > self.max_record as u64 {
            out.push(Piece::Error { line: row.line, error: super::too_large("row", size, self.max_record) });
            return None;
        }
        let text = &buf[(row.start - base) as usize..(row_end - base) as usize];
        if text.trim_ascii().is_empty() {
            return None;
        }
        // The line breaks of the row are counted once, now rather than when the next row starts.
        let last_line = lines.line_at(buf, base, row_end);
        if let (Some(header), true) = (self.header.as_deref(), last_line > row.line) {
            let fields = count_fields(text, header.delimiter);
            if !header.names.is_empty() && fields != header.names.len() {
                // Quoting that runs over lines and gives the wrong number of fields: a quote that
                // should have closed joined this line to the next. Only this line is lost.
                let k = memchr(b'\n', text).expect("a row over several lines");
                lines.rewind(buf, base, row.start + k as u64 + 1);
                out.push(Piece::Error {
                    line: row.line,
                    error: RecordError::new(
                        ErrorKind::InvalidCsv,
                        format!(
                            "a quote in this row does not close where it should: read as one row it runs over lines {} to {last_line} and has {fields} fields where the header has {}; line {} was skipped and the lines after it are read again",
                            row.line,
                            header.names.len(),
                            row.line
                        ),
                    ),
                });
                return Some(row.start + k as u64 + 1);
            }
        }
        out.push(Piece::Csv { start: row.start, end: row_end, line: row.line });
        None
    }
}

/// Excel's `sep=;` line: Some(Ok(delimiter)), Some(Err(what it names)) when that cannot be a
/// delimiter here, None when the line is not one.
fn sep_line(line: &[u8]) -> Option<Result<u8, String>> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if !starts_with_ignore_case(line, b"sep=") {
        return None;
    }
    let named = &line[4..];
    match named {
        [b] if b.is_ascii() && !matches!(b, b'"' | b'\r' | b'\n') => Some(Ok(*b)),
        [b] if !b.is_ascii() => Some(Err(format!("the byte 0x{b:02X}"))),
        _ => match std::str::from_utf8(named) {
            Ok(text) if text.chars().count() == 1 => Some(Err(format!("'{text}'"))),
            _ => None,
        },
    }
}

/// The number of fields [`split_fields`] finds in a row, from its bytes.
fn count_fields(row: &[u8], delimiter: u8) -> usize {
    let n = row.len();
    let mut i = 0;
    let mut count = 0;
    loop {
        count += 1;
        let mut j = i;
        if i < n && row[i] == b'"' {
            j = i + 1;
            loop {
                match memchr(b'"', &row[j..]) {
                    None => {
                        j = n;
                        break;
                    }
                    Some(k) => {
                        j += k;
                        if j + 1 < n && row[j + 1] == b'"' {
                            j += 2;
                        } else {
                            j += 1;
                            break;
                        }
                    }
                }
            }
        }
        i = memchr(delimiter, &row[j..]).map_or(n, |k| j + k);
        if i >= n {
            break;
        }
        i += 1;
        if i == n {
            count += 1;
            break;
        }
    }
    count
}

fn starts_with_ignore_case(text: &[u8], prefix: &[u8]) -> bool {
    text.len() >= prefix.len() && text[..prefix.len()].eq_ignore_ascii_case(prefix)
}

/// The delimiter is the most frequent of `,` `;` and tab outside quotes in the header line.
fn detect_delimiter(line: &[u8]) -> u8 {
    let mut counts = [0usize; 3];
    let mut quoted = false;
    for &b in line {
        match b {
            b'"' => quoted = !quoted,
            b',' if !quoted => counts[0] += 1,
            b';' if !quoted => counts[1] += 1,
            b'\t' if !quoted => counts[2] += 1,
            _ => {}
        }
    }
    let candidates = [b',', b';', b'\t'];
    let best = (0..3).max_by_key(|&k| (counts[k], std::cmp::Reverse(k))).unwrap_or(0);
    candidates[best]
}

/// Column names as exports write them: trimmed; Log Analytics adds ` [UTC]` to time columns.
fn header_name(field: &str) -> String {
    let name = field.trim();
    let name = match name.len().checked_sub(5) {
        Some(at) if name.is_char_boundary(at) && name[at..].eq_ignore_ascii_case("[UTC]") => name[..at].trim_end(),
        _ => name,
    };
    name.to_string()
}

fn step_row(row: &mut RowScan, buf: &[u8], base: u64, pos: &mut u64, eof: bool, delimiter: u8) -> RowStep {
    let n = buf.len();
    let mut i = (*pos - base) as usize;
    while i < n {
        match row.state {
            Field::Start => match buf[i] {
                b'"' => {
                    row.state = Field::Quoted;
                    i += 1;
                }
                b'\n' => return row_done(row, buf, base, i, pos),
                b if b == delimiter => i += 1,
                _ => row.state = Field::Unquoted,
            },
            Field::Unquoted => match memchr2(delimiter, b'\n', &buf[i..]) {
                None => i = n,
                Some(k) => {
                    i += k;
                    if buf[i] == b'\n' {
                        return row_done(row, buf, base, i, pos);
                    }
                    row.state = Field::Start;
                    i += 1;
                }
            },
            Field::Quoted => match memchr(b'"', &buf[i..]) {
                None => i = n,
                Some(k) => {
                    i += k + 1;
                    row.state = Field::QuoteInQuoted;
                }
            },
            Field::QuoteInQuoted => {
                if buf[i] == b'"' {
                    row.state = Field::Quoted;
                    i += 1;
                } else {
                    row.state = Field::Unquoted;
                }
            }
        }
    }
    *pos = base + i as u64;
    if eof {
        RowStep::Eof
    } else {
        RowStep::NeedMore
    }
}

fn row_done(row: &RowScan, buf: &[u8], base: u64, newline: usize, pos: &mut u64) -> RowStep {
    let mut end = base + newline as u64;
    if end > row.start && newline > 0 && buf[newline - 1] == b'\r' {
        end -= 1;
    }
    *pos = base + newline as u64 + 1;
    RowStep::Done { end, next: *pos }
}

/// Splits one row (without its line break) into fields, unquoting them; borrowed unless a
/// field holds a doubled quote or text after its closing quote.
pub(crate) fn split_fields<'a>(row: &'a str, delimiter: u8, out: &mut Vec<Cow<'a, str>>) {
    // Slicing at the delimiter's bytes is only safe on character boundaries.
    assert!(delimiter.is_ascii(), "CSV delimiters are ASCII");
    let b = row.as_bytes();
    let n = b.len();
    let mut i = 0;
    loop {
        if i < n && b[i] == b'"' {
            let content_start = i + 1;
            let first_quote = memchr(b'"', &b[content_start..]).map(|k| content_start + k);
            // (unquoted text when it must be copied, end of the content, first byte after the closing quote)
            let (owned, content_end, j) = match first_quote {
                // Only a row cut by the end of the input gets here.
                None => (None, n, n),
                Some(q) if q + 1 < n && b[q + 1] == b'"' => {
                    let (text, end) = unquote_from(b, content_start, q);
                    (Some(text), end, (end + 1).min(n))
                }
                Some(q) => (None, q, q + 1),
            };
            let tail_end = memchr(delimiter, &b[j..]).map_or(n, |k| j + k);
            let field = match owned {
                None if tail_end == j => Cow::Borrowed(&row[content_start..content_end]),
                None => Cow::Owned(format!("{}{}", &row[content_start..content_end], &row[j..tail_end])),
                Some(mut text) => {
                    text.push_str(&row[j..tail_end]);
                    Cow::Owned(text)
                }
            };
            out.push(field);
            i = tail_end;
        } else {
            let end = memchr(delimiter, &b[i..]).map_or(n, |k| i + k);
            out.push(Cow::Borrowed(&row[i..end]));
            i = end;
        }
        if i >= n {
            break;
        }
        i += 1;
        if i == n {
            out.push(Cow::Borrowed(""));
            break;
        }
    }
}

/// The content of a quoted field that holds a doubled quote at `first_doubled`, unquoted, and
/// where it ends (its closing quote, or the end of the row). One pass, sixteen bytes at a time:
/// AuditData doubles every quote, a quote every few bytes, too often for a search and a copy
/// per quote to pay.
fn unquote_from(b: &[u8], content_start: usize, first_doubled: usize) -> (String, usize) {
    const CHUNK: usize = 16;
    const QUOTES: u128 = u128::from_ne_bytes([b'"'; CHUNK]);
    const LOW: u128 = u128::from_ne_bytes([0x01; CHUNK]);
    const HIGH: u128 = u128::from_ne_bytes([0x80; CHUNK]);
    let n = b.len();
    // The text is never longer than the rest of the row, and a chunk written past its end fits.
    let mut out = vec![0u8; n - content_start + CHUNK];
    let mut w = first_doubled + 1 - content_start;
    out[..w].copy_from_slice(&b[content_start..=first_doubled]);
    let mut j = first_doubled + 2;
    let end = loop {
        // To the next quote: whole chunks are copied, and what lies past the quote is written over.
        while let (Some(chunk), Some(dest)) = (b.get(j..j + CHUNK), out.get_mut(w..w + CHUNK)) {
            dest.copy_from_slice(chunk);
            let x = u128::from_le_bytes(chunk.try_into().expect("a chunk")) ^ QUOTES;
            // The lowest byte that was a quote is exact (bits above it may not be).
            let quotes = x.wrapping_sub(LOW) & !x & HIGH;
            if quotes == 0 {
                j += CHUNK;
                w += CHUNK;
            } else {
                let at = (quotes.trailing_zeros() / 8) as usize;
                j += at;
                w += at;
                break;
            }
        }
        if j + CHUNK > n {
            // The last bytes of the row.
            let rest = memchr(b'"', &b[j..]).map_or(n, |k| j + k);
            out[w..w + (rest - j)].copy_from_slice(&b[j..rest]);
            w += rest - j;
            j = rest;
        }
        if j >= n {
            break n;
        }
        // b[j] is a quote: doubled, it is one quote of the text; alone, it closes the field.
        if j + 1 < n && b[j + 1] == b'"' {
            out[w] = b'"';
            w += 1;
            j += 2;
        } else {
            break j;
        }
    };
    out.truncate(w);
    // Only ASCII quotes were taken out of UTF-8 text: still UTF-8.
    (String::from_utf8(out).expect("UTF-8 without some of its quotes is UTF-8"), end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::split_in_chunks;

    fn fields(row: &str, delimiter: u8) -> Vec<String> {
        let mut out = Vec::new();
        split_fields(row, delimiter, &mut out);
        out.into_iter().map(Cow::into_owned).collect()
    }

    #[test]
    fn fields_are_unquoted() {
        assert_eq!(fields("a,b,c", b','), ["a", "b", "c"]);
        assert_eq!(fields("a,,", b','), ["a", "", ""]);
        assert_eq!(fields("\"a,b\",\"say \"\"hi\"\"\",\"\"", b','), ["a,b", "say \"hi\"", ""]);
        assert_eq!(fields("\"\"\"\"", b','), ["\""]);
        assert_eq!(fields("\"multi\nline\";x", b';'), ["multi\nline", "x"]);
        assert_eq!(fields("\"q\"tail,x", b','), ["qtail", "x"]);
        assert_eq!(fields("a\"b,c", b','), ["a\"b", "c"]);
        assert_eq!(fields("", b','), [""]);
    }

    /// The rules of the module comment, one character at a time: what the fast field splitter
    /// must agree with wherever a quote falls (before, inside or after a sixteen-byte chunk).
    fn fields_slowly(row: &str, delimiter: char) -> Vec<String> {
        let mut out = vec![String::new()];
        let mut chars = row.chars().peekable();
        let mut at_field_start = true;
        while let Some(c) = chars.next() {
            if c == delimiter {
                out.push(String::new());
                at_field_start = true;
                continue;
            }
            if c == '"' && at_field_start {
                loop {
                    match chars.next() {
                        None => break,
                        Some('"') if chars.peek() == Some(&'"') => {
                            chars.next();
                            out.last_mut().unwrap().push('"');
                        }
                        Some('"') => break,
                        Some(other) => out.last_mut().unwrap().push(other),
                    }
                }
            } else {
                out.last_mut().unwrap().push(c);
            }
            at_field_start = false;
        }
        out
    }

    #[test]
    fn quoted_fields_are_unquoted_wherever_the_quotes_fall() {
        const PIECES: [&str; 6] = ["a", "\"", "\"\"", ",", "é", "xyzxyzxyz"];
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..20_000 {
            let mut row = String::from("\"");
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let pieces = (state % 24) as usize;
            for k in 0..pieces {
                row.push_str(PIECES[((state >> (2 * k + 8)) % 6) as usize]);
            }
            assert_eq!(fields(&row, b','), fields_slowly(&row, ','), "{row:?}");
            let doubled = format!("\"{{\"\"Key{}\"\":\"\"{}\"\"}}\",x", "k".repeat(pieces), row.replace('"', "\"\""));
            assert_eq!(fields(&doubled, b','), fields_slowly(&doubled, ','), "{doubled:?}");
        }
    }

    #[test]
    fn borrowed_when_possible() {
        let mut out = Vec::new();
        split_fields("\"plain\",x", b',', &mut out);
        assert!(matches!(out[0], Cow::Borrowed("plain")));
    }

    #[test]
    fn delimiters() {
        assert_eq!(detect_delimiter(b"\"a\",\"b\""), b',');
        assert_eq!(detect_delimiter(b"\"a,x\";\"b\";c"), b';');
        assert_eq!(detect_delimiter(b"a\tb\tc"), b'\t');
        assert_eq!(detect_delimiter(b"single"), b',');
    }

    #[test]
    fn header_names_lose_the_utc_suffix() {
        assert_eq!(header_name(" TimeGenerated [UTC] "), "TimeGenerated");
        assert_eq!(header_name("AuditData"), "AuditData");
    }

    fn rows(text: &str, chunk: usize) -> Vec<(String, u64)> {
        let mut splitter = CsvSplitter::new(1 << 20);
        let pieces = split_in_chunks(text, chunk, |buf, base, eof, lines, pieces| splitter.scan(buf, base, eof, lines, pieces, &|| false));
        pieces
            .into_iter()
            .map(|(piece, text)| match piece {
                Piece::Csv { line, .. } => (text, line),
                Piece::Error { line, error } => (format!("!{}", error.message), line),
                Piece::Json { .. } => unreachable!(),
            })
            .collect()
    }

    #[test]
    fn rows_with_type_line_crlf_and_multiline_fields() {
        let text = "#TYPE Deserialized.Thing\r\n\"A\",\"B\"\r\n\"1\",\"x\r\ny\"\r\n\r\n2,\"q\"\"\"\r\n3,4";
        for chunk in [1, 2, 3, 7, 1 << 20] {
            let got = rows(text, chunk);
            assert_eq!(got, [("\"1\",\"x\r\ny\"".to_string(), 3), ("2,\"q\"\"\"".to_string(), 6), ("3,4".to_string(), 7)], "chunk {chunk}");
        }
    }

    #[test]
    fn an_unclosed_quote_costs_its_line() {
        // At the end of the input, and before a quote that closes it far too late.
        for (text, last) in [("A,B\n1,2\n3,\"open\n4,5\n6,7\n", "6,7"), ("A,B\n1,2\n3,\"open\n4,5\n6,\"7\",x\n8,9\n", "8,9")] {
            for chunk in [1, 4, 1 << 20] {
                let got = rows(text, chunk);
                assert_eq!(got[0], ("1,2".to_string(), 2));
                assert_eq!(got[1].1, 3);
                assert!(got[1].0.contains("line 3 was skipped and the lines after it are read again"), "{}", got[1].0);
                assert_eq!(got[2], ("4,5".to_string(), 4), "{got:?}");
                assert_eq!(got.last().unwrap().0, last, "{got:?}");
            }
        }
    }

    #[test]
    fn fields_are_counted_as_they_are_split() {
        for row in [
            "a,b,c",
            "a,,",
            "\"a,b\",\"say \"\"hi\"\"\",\"\"",
            "\"\"\"\"",
            "\"multi\nline\",x",
            "\"q\"tail,x",
            "a\"b,c",
            "",
            ",",
            "\"open,x",
        ] {
            assert_eq!(count_fields(row.as_bytes(), b','), fields(row, b',').len(), "{row}");
        }
    }

    #[test]
    fn sep_lines() {
        assert_eq!(sep_line(b"sep=;"), Some(Ok(b';')));
        assert_eq!(sep_line(b"SEP=\t\r"), Some(Ok(b'\t')));
        assert_eq!(sep_line(b"sep=\xE9"), Some(Err("the byte 0xE9".to_string())));
        assert_eq!(sep_line("sep=é".as_bytes()), Some(Err("'é'".to_string())));
        assert_eq!(sep_line(b"sep=ab"), None);
        assert_eq!(sep_line(b"Id,AuditData"), None);
    }
}
