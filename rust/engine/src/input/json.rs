//! Splits a JSON document into record texts, without parsing the records and without recursion.
//!
//! Shapes: JSON Lines; concatenated objects; an array of records; arrays back to back; Graph
//! response pages (`{"@odata.context":..,"value":[records],..}`), one or several. The splitter is a
//! small state machine that resumes where it stopped when the buffer ends, so a record may span
//! any number of chunks; a record longer than the limit is skipped over (not buffered) and
//! reported as too large.
//!
//! Once the document shows itself to be JSON Lines (its first object ends on the line it starts
//! on), a line that starts with `{` is taken whole with one `memchr`: the parser finds out
//! whether it is valid, and a bad line never swallows the next one.
//!
//! Elsewhere, a record is cut short (reported, and reading resumes) when a line starts with `{`
//! or `[` at column 1 where the record cannot continue that way: inside a string, or after a
//! value that is not followed by `,` `:` `[` or `{`. This is how a truncated record followed by
//! more records shows itself in concatenated or pretty-printed input.

use memchr::{memchr, memchr3};

use super::{Lines, Piece};
use crate::error::{ErrorKind, RecordError};

/// Deeper than this, a record is refused (serde_json's own recursion limit).
pub(crate) const MAX_DEPTH: u64 = 128;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ctx {
    /// Between top-level values.
    Top,
    /// Between the elements of an array of records (a Graph page's `value` when `wrapper`).
    Array { wrapper: bool },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// An object or array, up to its matching bracket.
    Container,
    /// A JSON string element.
    Str,
    /// A number, literal or stray text inside an array.
    Scalar,
    /// Text at the top level that cannot start a record: up to the end of its line.
    Garbage,
    /// JSON Lines: `{` at the start of a line; the whole line once it is known to be a record.
    Line { classified: bool },
    /// The rest of a Graph page after its `value` array; not a record.
    WrapperTail,
}

#[derive(Debug)]
struct Scan {
    kind: Kind,
    start: u64,
    line: u64,
    depth: u64,
    max_depth: u64,
    in_string: bool,
    escape: bool,
    last_sig: u8,
    /// An object at the top level: it may be a Graph page.
    top_object: bool,
    key_start: u64,
    /// 1: just read the key "value"; 2: and its ':'.
    wrapper_stage: u8,
    /// Longer than the limit: its bytes are no longer kept.
    oversize: bool,
}

impl Scan {
    fn new(kind: Kind, start: u64, line: u64) -> Scan {
        Scan {
            kind,
            start,
            line,
            depth: 0,
            max_depth: 0,
            in_string: false,
            escape: false,
            last_sig: 0,
            top_object: false,
            key_start: 0,
            wrapper_stage: 0,
            oversize: false,
        }
    }
}

enum Step {
    NeedMore,
    /// The value ends before this offset.
    Done(u64),
    /// A line starting at this offset + 1 begins a new record before this one ends.
    Truncated(u64),
    /// The top-level object is a Graph page; its records start after this offset.
    Wrapper(u64),
    /// The input ends inside the value.
    Eof,
}

pub(crate) struct JsonSplitter {
    pos: u64,
    ctx: Ctx,
    scan: Option<Scan>,
    /// Some(true) once the document is known to be JSON Lines.
    lines_mode: Option<bool>,
    at_line_start: bool,
    max_record: usize,
}

impl JsonSplitter {
    pub fn new(max_record: usize) -> JsonSplitter {
        JsonSplitter { pos: 0, ctx: Ctx::Top, scan: None, lines_mode: None, at_line_start: true, max_record }
    }

    /// A splitter that never takes whole lines: for text already known to hold several records.
    pub fn structural(max_record: usize) -> JsonSplitter {
        JsonSplitter { lines_mode: Some(false), ..JsonSplitter::new(max_record) }
    }

    /// Starts at this offset of the text (what comes before was blank).
    pub fn starting_at(mut self, pos: u64) -> JsonSplitter {
        self.pos = pos;
        self
    }

    /// Splits what `buf` holds (the bytes of the text from offset `base`), appending pieces to
    /// `out`. Returns the first offset still needed: bytes before it may be dropped.
    pub fn scan(
        &mut self,
        buf: &[u8],
        base: u64,
        eof: bool,
        lines: &mut Lines,
        out: &mut Vec<Piece>,
        stop: &dyn Fn() -> bool,
    ) -> u64 {
        let end = base + buf.len() as u64;
        loop {
            if let Some(scan) = self.scan.as_mut() {
                let step = match scan.kind {
                    Kind::Container | Kind::WrapperTail => step_container(scan, buf, base, &mut self.pos, eof),
                    Kind::Str => step_string(scan, buf, base, &mut self.pos, eof),
                    Kind::Scalar => step_scalar(buf, base, &mut self.pos, eof),
                    Kind::Garbage => step_line(buf, base, &mut self.pos, eof),
                    Kind::Line { classified: false } => match classify_line(scan, buf, base, eof) {
                        None => Step::NeedMore,
                        Some(true) => {
                            scan.kind = Kind::Line { classified: true };
                            step_line(buf, base, &mut self.pos, eof)
                        }
                        Some(false) => {
                            // A lone `{` or a Graph page: read it structurally.
                            scan.kind = Kind::Container;
                            scan.top_object = true;
                            self.pos = scan.start;
                            continue;
                        }
                    },
                    Kind::Line { classified: true } => step_line(buf, base, &mut self.pos, eof),
                };
                if matches!(step, Step::NeedMore) {
                    if !scan.oversize && self.pos - scan.start > self.max_record as u64 {
                        scan.oversize = true;
                    }
                    break;
                }
                let scan = self.scan.take().expect("scan in progress");
                self.finish(scan, step, buf, base, end, lines, out);
                continue;
            }

            let i = (self.pos - base) as usize;
            if i >= buf.len() {
                break;
            }
            if stop() {
                break;
            }
            let b = buf[i];
            match self.ctx {
                Ctx::Top => match b {
                    b'\n' => {
                        self.at_line_start = true;
                        self.pos += 1;
                    }
                    b' ' | b'\t' | b'\r' | 0x0C => self.pos += 1,
                    b',' => {
                        self.at_line_start = false;
                        self.pos += 1;
                    }
                    b'[' => {
                        self.at_line_start = false;
                        self.ctx = Ctx::Array { wrapper: false };
                        self.pos += 1;
                    }
                    b'{' => {
                        let line = lines.line_at(buf, base, self.pos);
                        let kind = if self.lines_mode == Some(true) && self.at_line_start {
                            Kind::Line { classified: false }
                        } else {
                            Kind::Container
                        };
                        let mut scan = Scan::new(kind, self.pos, line);
                        scan.top_object = true;
                        self.scan = Some(scan);
                        self.at_line_start = false;
                    }
                    _ => {
                        let line = lines.line_at(buf, base, self.pos);
                        self.scan = Some(Scan::new(Kind::Garbage, self.pos, line));
                        self.at_line_start = false;
                    }
                },
                Ctx::Array { wrapper } => match b {
                    b' ' | b'\t' | b'\r' | b'\n' | 0x0C | b',' => self.pos += 1,
                    b']' => {
                        self.pos += 1;
                        self.ctx = Ctx::Top;
                        if wrapper {
                            let line = lines.line_at(buf, base, self.pos);
                            let mut scan = Scan::new(Kind::WrapperTail, self.pos, line);
                            scan.depth = 1;
                            scan.last_sig = b']';
                            self.scan = Some(scan);
                        }
                    }
                    b'{' | b'[' => {
                        let line = lines.line_at(buf, base, self.pos);
                        self.scan = Some(Scan::new(Kind::Container, self.pos, line));
                    }
                    b'"' => {
                        let line = lines.line_at(buf, base, self.pos);
                        let mut scan = Scan::new(Kind::Str, self.pos, line);
                        scan.in_string = true;
                        self.pos += 1;
                        self.scan = Some(scan);
                    }
                    _ => {
                        let line = lines.line_at(buf, base, self.pos);
                        self.scan = Some(Scan::new(Kind::Scalar, self.pos, line));
                        // A stray closing brace is one byte of garbage, not the end of a scalar.
                        if b == b'}' {
                            self.pos += 1;
                        }
                    }
                },
            }
        }
        match &self.scan {
            Some(scan) if !scan.oversize => scan.start,
            _ => self.pos.min(end),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn finish(&mut self, scan: Scan, step: Step, buf: &[u8], base: u64, end: u64, lines: &mut Lines, out: &mut Vec<Piece>) {
        let max = self.max_record as u64;
        match step {
            Step::NeedMore => unreachable!(),
            Step::Wrapper(after) => {
                self.pos = after;
                self.ctx = Ctx::Array { wrapper: true };
            }
            Step::Done(stop) => {
                self.pos = stop;
                if scan.kind == Kind::WrapperTail {
                    return;
                }
                let mut value_end = stop;
                if matches!(scan.kind, Kind::Garbage | Kind::Line { .. }) && !scan.oversize {
                    // Trailing blanks (and the CR of CRLF) are not part of the record.
                    let from = (scan.start - base) as usize;
                    let text = &buf[from..(stop - base) as usize];
                    let kept = text.len() - text.iter().rev().take_while(|b| b.is_ascii_whitespace()).count();
                    value_end = scan.start + kept as u64;
                }
                if matches!(scan.kind, Kind::Line { .. } | Kind::Garbage) && lines.line_at(buf, base, scan.start) == scan.line {
                    // A line holds no line break: nothing to count again.
                    lines.skip_unbroken(stop);
                }
                let size = stop - scan.start;
                if scan.oversize || size > max {
                    out.push(Piece::Error { line: scan.line, error: too_large(size, max) });
                } else if scan.max_depth > MAX_DEPTH {
                    out.push(Piece::Error {
                        line: scan.line,
                        error: RecordError::new(
                            ErrorKind::TooDeep,
                            format!(
                                "the record nests {} levels deep, more than the {} this tool reads",
                                scan.max_depth, MAX_DEPTH
                            ),
                        ),
                    });
                } else {
                    let whole_line = matches!(scan.kind, Kind::Line { .. });
                    out.push(Piece::Json { start: scan.start, end: value_end, line: scan.line, whole_line });
                }
                if self.lines_mode.is_none()
                    && scan.kind == Kind::Container
                    && scan.top_object
                    && !scan.oversize
                    && self.ctx == Ctx::Top
                {
                    let from = (scan.start - base) as usize;
                    let to = (stop - base) as usize;
                    self.lines_mode = Some(memchr(b'\n', &buf[from..to]).is_none());
                }
            }
            Step::Truncated(newline) => {
                self.pos = newline + 1;
                self.ctx = Ctx::Top;
                self.at_line_start = true;
                if scan.kind == Kind::WrapperTail {
                    return;
                }
                let next_line = lines.line_at(buf, base, newline + 1);
                let size = newline - scan.start;
                let error = if scan.oversize || size > max {
                    too_large(size, max)
                } else {
                    RecordError::new(
                        ErrorKind::InvalidJson,
                        format!(
                            "the record is cut short: line {next_line} starts a new record before this one ends ({size} bytes from line {})",
                            scan.line
                        ),
                    )
                };
                out.push(Piece::Error { line: scan.line, error });
            }
            Step::Eof => {
                self.pos = end;
                match scan.kind {
                    Kind::WrapperTail => {}
                    // Text that simply runs to the end is complete.
                    Kind::Scalar | Kind::Garbage | Kind::Line { .. } => {
                        self.finish(scan, Step::Done(end), buf, base, end, lines, out)
                    }
                    Kind::Container | Kind::Str => {
                        let size = end - scan.start;
                        let error = if scan.oversize || size > max {
                            too_large(size, max)
                        } else {
                            RecordError::new(
                                ErrorKind::InvalidJson,
                                format!(
                                    "the input ends inside this record: it is truncated ({size} bytes from line {})",
                                    scan.line
                                ),
                            )
                        };
                        out.push(Piece::Error { line: scan.line, error });
                    }
                }
            }
        }
    }
}

fn too_large(size: u64, max: u64) -> RecordError {
    super::too_large("record", size, max as usize)
}

/// JSON Lines: is the line starting with this `{` one record (true), or a lone `{` or a Graph
/// page to read structurally (false)? None: not enough bytes yet.
fn classify_line(scan: &Scan, buf: &[u8], base: u64, eof: bool) -> Option<bool> {
    let mut i = (scan.start - base) as usize + 1;
    while i < buf.len() && matches!(buf[i], b' ' | b'\t' | b'\r') {
        i += 1;
    }
    if i >= buf.len() {
        return if eof { Some(false) } else { None };
    }
    if buf[i] == b'\n' {
        return Some(false);
    }
    // A Graph page starts with its context annotation (or, hand-made, with its records).
    const PAGE_STARTS: [&[u8]; 2] = [b"\"@odata.", b"\"value\""];
    let rest = &buf[i..];
    for start in PAGE_STARTS {
        if rest.len() < start.len() && !eof && start.starts_with(rest) {
            return None;
        }
        if rest.starts_with(start) {
            return Some(false);
        }
    }
    Some(true)
}

/// Up to the end of the line (exclusive).
fn step_line(buf: &[u8], base: u64, pos: &mut u64, eof: bool) -> Step {
    step_until(buf, base, pos, eof, |rest| memchr(b'\n', rest))
}

/// Up to the end of a bare value (a number, true, false, null).
fn step_scalar(buf: &[u8], base: u64, pos: &mut u64, eof: bool) -> Step {
    step_until(buf, base, pos, eof, |rest| {
        rest.iter().position(|b| matches!(b, b',' | b']' | b'}' | b'{' | b'[' | b' ' | b'\t' | b'\r' | b'\n'))
    })
}

/// Moves `pos` to where `find` stops in what is buffered, or past it all when it does not.
#[inline]
fn step_until(buf: &[u8], base: u64, pos: &mut u64, eof: bool, find: impl Fn(&[u8]) -> Option<usize>) -> Step {
    let i = (*pos - base) as usize;
    match find(&buf[i..]) {
        Some(k) => {
            *pos = base + (i + k) as u64;
            Step::Done(*pos)
        }
        None => {
            *pos = base + buf.len() as u64;
            if eof {
                Step::Eof
            } else {
                Step::NeedMore
            }
        }
    }
}

/// Inside a string: the closing quote, an escape, or a raw line break (never valid in JSON).
/// Returns Some(step) when the value stops, None to go on.
#[inline]
fn string_part(s: &mut Scan, buf: &[u8], base: u64, i: &mut usize, eof: bool) -> Option<Step> {
    let n = buf.len();
    if s.escape {
        s.escape = false;
        *i += 1;
        return None;
    }
    match memchr3(b'"', b'\\', b'\n', &buf[*i..]) {
        None => {
            *i = n;
            None
        }
        Some(k) => {
            *i += k;
            match buf[*i] {
                b'\\' => {
                    s.escape = true;
                    *i += 1;
                }
                b'"' => {
                    s.in_string = false;
                    s.last_sig = b'"';
                    if s.top_object && s.depth == 1 && !s.oversize && s.key_start >= base {
                        let from = (s.key_start - base) as usize;
                        s.wrapper_stage = u8::from(&buf[from..*i] == b"value");
                    }
                    *i += 1;
                }
                _ => {
                    // A raw line break inside a string: the record is broken. If the next
                    // line starts a record, this one was cut short there.
                    if *i + 1 >= n {
                        if !eof {
                            return Some(Step::NeedMore);
                        }
                    } else if matches!(buf[*i + 1], b'{' | b'[') {
                        return Some(Step::Truncated(base + *i as u64));
                    }
                    *i += 1;
                }
            }
            None
        }
    }
}

fn step_string(s: &mut Scan, buf: &[u8], base: u64, pos: &mut u64, eof: bool) -> Step {
    let mut i = (*pos - base) as usize;
    while i < buf.len() {
        if let Some(step) = string_part(s, buf, base, &mut i, eof) {
            *pos = base + i as u64;
            return step;
        }
        if !s.in_string {
            *pos = base + i as u64;
            return Step::Done(*pos);
        }
    }
    *pos = base + i as u64;
    if eof {
        Step::Eof
    } else {
        Step::NeedMore
    }
}

fn step_container(s: &mut Scan, buf: &[u8], base: u64, pos: &mut u64, eof: bool) -> Step {
    let n = buf.len();
    let mut i = (*pos - base) as usize;
    while i < n {
        if s.in_string {
            if let Some(step) = string_part(s, buf, base, &mut i, eof) {
                *pos = base + i as u64;
                return step;
            }
            continue;
        }
        let b = buf[i];
        match b {
            b'"' => {
                s.in_string = true;
                s.wrapper_stage = 0;
                s.key_start = base + i as u64 + 1;
                i += 1;
            }
            b'{' | b'[' => {
                if b == b'[' && s.wrapper_stage == 2 && s.depth == 1 {
                    *pos = base + i as u64 + 1;
                    return Step::Wrapper(*pos);
                }
                s.wrapper_stage = 0;
                s.depth += 1;
                s.max_depth = s.max_depth.max(s.depth);
                s.last_sig = b;
                i += 1;
            }
            b'}' | b']' => {
                s.wrapper_stage = 0;
                s.depth = s.depth.saturating_sub(1);
                s.last_sig = b;
                i += 1;
                if s.depth == 0 {
                    *pos = base + i as u64;
                    return Step::Done(*pos);
                }
            }
            b':' => {
                s.wrapper_stage = if s.wrapper_stage == 1 { 2 } else { 0 };
                s.last_sig = b;
                i += 1;
            }
            b'\n' => {
                if i + 1 >= n {
                    if !eof {
                        *pos = base + i as u64;
                        return Step::NeedMore;
                    }
                } else if matches!(buf[i + 1], b'{' | b'[') && !matches!(s.last_sig, b',' | b':' | b'[' | b'{') {
                    *pos = base + i as u64;
                    return Step::Truncated(*pos);
                }
                i += 1;
            }
            b' ' | b'\t' | b'\r' => i += 1,
            _ => {
                s.wrapper_stage = 0;
                s.last_sig = b;
                i += 1;
            }
        }
    }
    *pos = base + i as u64;
    if eof {
        Step::Eof
    } else {
        Step::NeedMore
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::split_in_chunks;

    /// Splits `text` fed `chunk` bytes at a time; returns (text or error kind, line) per piece.
    fn split(text: &str, chunk: usize, max: usize) -> Vec<(String, u64)> {
        let mut splitter = JsonSplitter::new(max);
        let pieces = split_in_chunks(text, chunk, |buf, base, eof, lines, pieces| splitter.scan(buf, base, eof, lines, pieces, &|| false));
        pieces
            .into_iter()
            .map(|(piece, text)| match piece {
                Piece::Json { line, .. } => (text, line),
                Piece::Error { line, error } => (format!("!{}", error.kind.name()), line),
                Piece::Csv { .. } => unreachable!(),
            })
            .collect()
    }

    fn check(text: &str, expected: &[(&str, u64)]) {
        for chunk in [1, 2, 3, 5, 8, 13, 1 << 20] {
            let got = split(text, chunk, 1 << 20);
            let got: Vec<(&str, u64)> = got.iter().map(|(t, l)| (t.as_str(), *l)).collect();
            assert_eq!(got, expected, "chunk {chunk}");
        }
    }

    #[test]
    fn json_lines() {
        check("{\"a\":1}\n\n{\"b\":\"}\"}\r\n  {\"c\":[1]}  \n", &[("{\"a\":1}", 1), ("{\"b\":\"}\"}", 3), ("{\"c\":[1]}", 4)]);
    }

    #[test]
    fn a_bad_line_does_not_swallow_the_next() {
        check(
            "{\"a\":1}\n{\"b\":\"unterminated\n{\"c\":2}\n{\"d\":[1,\n{\"e\":3}\n",
            &[("{\"a\":1}", 1), ("{\"b\":\"unterminated", 2), ("{\"c\":2}", 3), ("{\"d\":[1,", 4), ("{\"e\":3}", 5)],
        );
        // Before the document is known to be JSON Lines, the structural rule cuts it.
        check("{\"b\":\"unterminated\n{\"c\":2}\n", &[("!InvalidJson", 1), ("{\"c\":2}", 2)]);
        check("{\"b\":{\"x\":1\n{\"c\":2}\n", &[("!InvalidJson", 1), ("{\"c\":2}", 2)]);
    }

    #[test]
    fn arrays_pretty_and_back_to_back() {
        let text = "[\n{\n\"a\": [\n{\n\"x\": 1\n}\n],\n\"b\": \"\\\\In\"\n},\n{\"c\":2}\n][{\"d\":3}]\n[\n  {\"e\":4}\n]";
        check(
            text,
            &[
                ("{\n\"a\": [\n{\n\"x\": 1\n}\n],\n\"b\": \"\\\\In\"\n}", 2),
                ("{\"c\":2}", 10),
                ("{\"d\":3}", 11),
                ("{\"e\":4}", 13),
            ],
        );
    }

    #[test]
    fn concatenated_pretty_objects() {
        check("{\n  \"a\": 1\n}\n{\n  \"b\": {\n    \"c\": 2\n  }\n}{\"d\":4}", &[("{\n  \"a\": 1\n}", 1), ("{\n  \"b\": {\n    \"c\": 2\n  }\n}", 4), ("{\"d\":4}", 8)]);
    }

    #[test]
    fn graph_pages() {
        let page = "{\"@odata.context\":\"x\",\"value\":[{\"a\":1},{\"b\":{\"value\":[2]}}],\"@odata.nextLink\":\"y{[\"}";
        let text = format!("{page}\n{page}{{\n \"value\" : [ ]\n}}\n{{\"value\":[{{\"c\":3}}]}}");
        check(
            &text,
            &[
                ("{\"a\":1}", 1),
                ("{\"b\":{\"value\":[2]}}", 1),
                ("{\"a\":1}", 2),
                ("{\"b\":{\"value\":[2]}}", 2),
                ("{\"c\":3}", 5),
            ],
        );
    }

    #[test]
    fn graph_pages_as_json_lines() {
        let text = "{\"a\":1}\n{\"@odata.context\":\"x\",\"value\":[{\"b\":2},{\"c\":3}]}\n{\"d\":4}\n{\n\"e\":5\n}\n";
        check(text, &[("{\"a\":1}", 1), ("{\"b\":2}", 2), ("{\"c\":3}", 2), ("{\"d\":4}", 3), ("{\n\"e\":5\n}", 4)]);
    }

    #[test]
    fn strings_scalars_and_garbage() {
        check("[\"{\\\"a\\\":1}\", 42, null,}]", &[("\"{\\\"a\\\":1}\"", 1), ("42", 1), ("null", 1), ("}", 1)]);
        check("garbage here\n{\"a\":1}", &[("garbage here", 1), ("{\"a\":1}", 2)]);
    }

    #[test]
    fn truncated_at_the_end() {
        check("[{\"a\":1},{\"b\":", &[("{\"a\":1}", 1), ("!InvalidJson", 1)]);
        check("{\"a\":1}\n{\"b\":", &[("{\"a\":1}", 1), ("{\"b\":", 2)]);
    }

    #[test]
    fn too_large_and_too_deep() {
        let big = format!("{{\"a\":\"{}\"}}", "x".repeat(100));
        let text = format!("[{big},{{\"b\":1}}]\n{big}\n");
        for chunk in [1, 7, 1 << 20] {
            let got = split(&text, chunk, 50);
            assert_eq!(got, [("!TooLarge".to_string(), 1), ("{\"b\":1}".to_string(), 1), ("!TooLarge".to_string(), 2)], "chunk {chunk}");
        }
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let text = format!("[{deep},{{\"b\":1}}]");
        assert_eq!(split(&text, 4096, 1 << 20), [("!TooDeep".to_string(), 1), ("{\"b\":1}".to_string(), 1)]);
    }
}
