//! Splits a JSON document into record texts, without parsing the records and without recursion.
//!
//! Shapes: JSON Lines; concatenated objects; an array of records (on one line, one record per
//! line or pretty-printed); arrays back to back; Graph response pages
//! (`{"@odata.context":..,"value":[records],..}`), one or several. The splitter is a small
//! pushdown automaton over the JSON grammar (one bit of stack per level, numbers and literals
//! checked) that resumes where it stopped when the buffer ends, so a record may span any number
//! of chunks.
//!
//! Once the document shows itself to be JSON Lines (its first object ends on the line it starts
//! on), a line that starts with `{` or `[` is taken whole with one `memchr`: the parser finds out
//! whether it is valid, and a bad line never costs the next one.
//!
//! Damage. A record is damaged where its text stops being JSON (a `{` where a property name
//! should be, a line break inside a string, a bracket closing the wrong thing, a word that is no
//! value), where it runs past the size limit, where the input ends inside it, or where text
//! that cannot start the next record follows it (a damaged record that happens to close early
//! is not taken for a whole one). The damaged text then runs from the record's start to the
//! next record that can be found, and is one error naming its lines and bytes. The next record
//! is looked for from just after the damaged one's start, because a record cut short swallows
//! the records after it before its damage shows (a record cut after `"Folders": [` takes the
//! next records as its folders): a record is an object that is complete JSON, has a key only
//! records have (`Operation`, `AuditData`, ...) and starts where a record can (after `,` `[`
//! `}` `]`, or at the start of a line no further right than the damaged record's), or a Graph
//! page. Looking again costs at most a few times the damaged text, so reading stays linear. In
//! JSON Lines the damaged text ends where a line starts with `{`, `[` or `"`. Values in a row
//! that cannot be records (numbers, `{}`) are one error, however many.

use std::sync::LazyLock;

use memchr::{memchr, memchr3, memmem};

use super::{Lines, Piece};
use crate::error::{ErrorKind, RecordError};
use crate::input::interpret::MAX_NESTING;

/// Keys only a record, or an object wrapping one, has at its top level.
const RECORD_KEYS: [&str; 5] = ["Operation", "Operations", "ActionType", "AuditData", "RawEventData"];

/// What the end of a Graph page holds: a record's properties there are the rest of a record cut
/// short by a `}`.
const ODATA_ONLY: &str = "an @odata. property (the end of a Graph page holds nothing else)";

/// Looking again for records in damaged text may rescan at most this many times the damaged
/// text, plus [`RESCAN_ALLOWANCE`] bytes; after that it only looks forward.
const RESCAN_FACTOR: u64 = 4;
const RESCAN_ALLOWANCE: u64 = 64 * 1024;

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
    /// Elements of an array that cannot be records (numbers, literals, stray characters), up to
    /// the next element that can: one error for the run.
    Junk,
    /// A JSON string at the top level (AuditData written as a string, one a line): up to the end
    /// of its line.
    StringLine,
    /// JSON Lines: `{` or `[` at the start of a line; the whole line once it is known to be one
    /// value.
    Line { classified: bool },
    /// The rest of a Graph page after its `value` array; not a record.
    WrapperTail,
}

/// What the grammar allows next at the innermost level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    /// After `{`: a property name or `}`.
    KeyOrEnd,
    /// After `,` in an object.
    Key,
    /// After a property name.
    Colon,
    /// After `:`, after `,` in an array, and the value a scan starts with.
    Value,
    /// After `[`: a value or `]`.
    ValueOrEnd,
    /// After a value: `,` or the end of its object or array.
    CommaOrEnd,
}

impl Expect {
    fn wants_value(self) -> bool {
        matches!(self, Expect::Value | Expect::ValueOrEnd)
    }

    fn describe(self) -> &'static str {
        match self {
            Expect::KeyOrEnd => "a property name or `}`",
            Expect::Key => "a property name",
            Expect::Colon => "`:`",
            Expect::Value | Expect::ValueOrEnd => "a value",
            Expect::CommaOrEnd => "`,` or the end of an object or array",
        }
    }
}

#[derive(Debug)]
struct Scan {
    kind: Kind,
    start: u64,
    line: u64,
    depth: u64,
    max_depth: u64,
    /// Bit `d - 1` is set when level `d` (1 to 128) is an array.
    arrays: u128,
    expect: Expect,
    in_string: bool,
    escape: bool,
    /// The string being read is a property name.
    in_key: bool,
    key_start: u64,
    /// 1: just read the key "value" at the top level; 2: and its ':'.
    wrapper_stage: u8,
    /// A top-level object, which may be a Graph page.
    page: bool,
    /// The top-level object has a key only records have.
    record_key: bool,
    /// Line, StringLine and Junk only: longer than the limit, its bytes are no longer kept.
    oversize: bool,
    /// Where on its line the value starts, when known.
    column: Option<u64>,
    /// A look for the next record after damage: a string holding `,{` (the start of a record
    /// taken into a string cut short) makes it none.
    candidate: bool,
    /// The end of a Graph page: only `@odata.` properties.
    odata_only: bool,
}

impl Scan {
    fn new(kind: Kind, start: u64, line: u64) -> Scan {
        Scan {
            kind,
            start,
            line,
            column: None,
            candidate: false,
            odata_only: false,
            depth: 0,
            max_depth: 0,
            arrays: 0,
            expect: Expect::Value,
            in_string: false,
            escape: false,
            in_key: false,
            key_start: 0,
            wrapper_stage: 0,
            page: false,
            record_key: false,
            oversize: false,
        }
    }

    /// A scan starting at the offset `lines` was last asked for.
    fn at(kind: Kind, start: u64, line: u64, lines: &Lines) -> Scan {
        Scan { column: lines.column(), ..Scan::new(kind, start, line) }
    }

    fn is_array(&self, level: u64) -> bool {
        (1..=MAX_NESTING).contains(&level) && self.arrays & (1u128 << (level - 1)) != 0
    }
}

enum Step {
    NeedMore,
    /// The value ends before this offset.
    Done(u64),
    /// The top-level object is a Graph page; its records start after this offset.
    Wrapper(u64),
    /// The text stops being this value's at `at`: `found` where `expected`.
    Damaged {
        at: u64,
        found: u8,
        expected: &'static str,
    },
    /// The value runs past the size limit.
    Oversize,
    /// The input ends inside the value.
    Eof,
}

/// A complete value waiting for what follows it: text that cannot start the next record means
/// the value was a damaged record that closed early.
#[derive(Debug)]
struct Pending {
    start: u64,
    end: u64,
    line: u64,
    /// `{` for an object or array, `"` for a string.
    class: u8,
    comma: bool,
    newline: bool,
    /// A top-level object: whether it fits on one line (which tells JSON Lines).
    one_line: Option<bool>,
    column: Option<u64>,
    /// The array that held it has ended since: what follows the array says what the record was.
    closed_array: Option<Ctx>,
}

impl Pending {
    /// A value the scanner read whole, from its start to `end`, awaiting what follows it.
    fn scanned(scan: &Scan, end: u64, one_line: Option<bool>, column: Option<u64>) -> Pending {
        let class = if scan.kind == Kind::Str { b'"' } else { b'{' };
        Pending { start: scan.start, end, line: scan.line, class, comma: false, newline: false, one_line, column, closed_array: None }
    }
}

enum Confirmation {
    /// A comma: look at what follows it.
    Wait,
    /// The end of its array: look at what follows that.
    Carry,
    Accept,
    Reject,
}

/// Damaged text being skipped: where it started, why, and where to look for the next record.
#[derive(Debug)]
struct Damage {
    start: u64,
    line: u64,
    kind: ErrorKind,
    reason: String,
    /// The damaged record's context: the record found after it is in the same one.
    ctx: Ctx,
    /// Where to look for the next record from.
    search: u64,
    /// Bytes rescanned by looks that failed.
    spent: u64,
    /// The damaged record's column: a record starting a line further left (or as far) may be
    /// the next.
    column: Option<u64>,
}

pub(crate) struct JsonSplitter {
    pos: u64,
    ctx: Ctx,
    scan: Option<Scan>,
    /// Some(true) once the document is known to be JSON Lines.
    lines_mode: Option<bool>,
    at_line_start: bool,
    max_record: usize,
    pending: Option<Pending>,
    damage: Option<Damage>,
    /// Values in a row that cannot be records: one error for the run, however long.
    junk: Option<Junk>,
}

/// A run of values that are not records.
#[derive(Debug)]
struct Junk {
    line: u64,
    last_line: u64,
    values: u64,
    /// Only objects so far (they have no key a record has).
    objects: bool,
}

impl JsonSplitter {
    pub fn new(max_record: usize) -> JsonSplitter {
        JsonSplitter {
            pos: 0,
            ctx: Ctx::Top,
            scan: None,
            lines_mode: None,
            at_line_start: true,
            max_record,
            pending: None,
            damage: None,
            junk: None,
        }
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
    pub fn scan(&mut self, buf: &[u8], base: u64, eof: bool, lines: &mut Lines, out: &mut Vec<Piece>, stop: &dyn Fn() -> bool) -> u64 {
        let end = base + buf.len() as u64;
        loop {
            if self.scan.is_some() {
                if self.step_value(buf, base, eof, lines, out) {
                    continue;
                }
                break;
            }
            if self.damage.is_some() {
                if stop() || !self.resync(buf, base, eof, lines, out) {
                    break;
                }
                continue;
            }
            let i = (self.pos - base) as usize;
            if i >= buf.len() && eof && matches!(self.ctx, Ctx::Array { wrapper: true }) && self.end_inside_page() {
                continue;
            }
            if i >= buf.len() || stop() {
                break;
            }
            let b = buf[i];
            if self.pending.is_some() && !matches!(b, b' ' | b'\t' | b'\r' | b'\n' | 0x0C) && !self.follow_pending(b, buf, base, lines, out)
            {
                continue;
            }
            match self.ctx {
                Ctx::Top => self.step_top(b, buf, base, lines),
                Ctx::Array { wrapper } => self.step_array(b, wrapper, buf, base, lines),
            }
        }
        if eof && self.scan.is_none() && self.pos >= end && !stop() {
            self.finish_input(end, buf, base, lines, out);
        }
        self.first_needed(base, end)
    }

    /// Goes on with the value in progress. Returns false when it needs more input.
    fn step_value(&mut self, buf: &[u8], base: u64, eof: bool, lines: &mut Lines, out: &mut Vec<Piece>) -> bool {
        let scan = self.scan.as_mut().expect("scan in progress");
        let limit = scan.start + self.max_record as u64;
        let step = match scan.kind {
            Kind::Container | Kind::WrapperTail => step_container(scan, buf, base, &mut self.pos, eof, limit),
            Kind::Str => step_string(scan, buf, base, &mut self.pos, eof, limit),
            Kind::Junk => step_junk(buf, base, &mut self.pos, eof),
            Kind::StringLine => step_line(buf, base, &mut self.pos, eof),
            Kind::Line { classified: false } => match classify_line(scan, buf, base, eof) {
                None => Step::NeedMore,
                Some(true) => {
                    scan.kind = Kind::Line { classified: true };
                    step_line(buf, base, &mut self.pos, eof)
                }
                Some(false) if buf[(scan.start - base) as usize] == b'[' => {
                    // A lone `[`: the start of an array of records over many lines.
                    self.pos = scan.start + 1;
                    self.scan = None;
                    self.ctx = Ctx::Array { wrapper: false };
                    return true;
                }
                Some(false) => {
                    // A lone `{` or a Graph page: read it structurally.
                    scan.kind = Kind::Container;
                    scan.page = true;
                    self.pos = scan.start;
                    return true;
                }
            },
            Kind::Line { classified: true } => step_line(buf, base, &mut self.pos, eof),
        };
        if matches!(step, Step::NeedMore) {
            if !scan.oversize && self.pos - scan.start > self.max_record as u64 {
                scan.oversize = true;
            }
            return false;
        }
        let scan = self.scan.take().expect("scan in progress");
        self.finish(scan, step, buf, base, lines, out);
        true
    }

    /// The input ends inside a Graph page's records: the last one may have taken in the page's
    /// end (and records after it) to close. Returns whether that made it damaged text.
    fn end_inside_page(&mut self) -> bool {
        let Some(pending) = self.pending.take() else { return false };
        let reason =
            "the input ends inside the Graph page that holds it: the record may be cut short and closed by the page's end".to_string();
        self.start_damage(pending.start, pending.line, pending.column, ErrorKind::InvalidJson, reason, self.ctx);
        true
    }

    /// The byte `b` after a complete value that waits for it: returns whether `b` is still to be
    /// read in the current context (false: it was taken, or it made the value damaged text).
    fn follow_pending(&mut self, b: u8, buf: &[u8], base: u64, lines: &mut Lines, out: &mut Vec<Piece>) -> bool {
        match self.confirm(b) {
            Confirmation::Wait => {
                self.pos += 1;
                false
            }
            // The array's `]` is read in its context; the record waits for what follows.
            Confirmation::Carry => true,
            Confirmation::Accept => {
                self.accept_pending(out);
                true
            }
            Confirmation::Reject => {
                let pending = self.pending.take().expect("pending");
                let at = self.pos;
                let reason = format!(
                    "the record is damaged: {} follows it where the next record should start, at line {}",
                    describe_byte(b),
                    lines.line_of(buf, base, at)
                );
                let ctx = pending.closed_array.unwrap_or(self.ctx);
                self.start_damage(pending.start, pending.line, pending.column, ErrorKind::InvalidJson, reason, ctx);
                false
            }
        }
    }

    /// The byte `b` between values at the top of the document.
    fn step_top(&mut self, b: u8, buf: &[u8], base: u64, lines: &mut Lines) {
        match b {
            b'\n' => {
                self.at_line_start = true;
                if let Some(pending) = self.pending.as_mut() {
                    pending.newline = true;
                }
                self.pos += 1;
            }
            b' ' | b'\t' | b'\r' | 0x0C => self.pos += 1,
            b',' => {
                self.at_line_start = false;
                self.pos += 1;
            }
            b'[' if self.lines_mode == Some(true) && self.at_line_start => {
                let line = lines.line_of(buf, base, self.pos);
                self.scan = Some(Scan::at(Kind::Line { classified: false }, self.pos, line, lines));
                self.at_line_start = false;
            }
            b'[' => {
                self.at_line_start = false;
                self.ctx = Ctx::Array { wrapper: false };
                self.pos += 1;
            }
            b'{' => {
                let line = lines.line_of(buf, base, self.pos);
                let kind =
                    if self.lines_mode == Some(true) && self.at_line_start { Kind::Line { classified: false } } else { Kind::Container };
                let mut scan = Scan::at(kind, self.pos, line, lines);
                scan.page = true;
                self.scan = Some(scan);
                self.at_line_start = false;
            }
            // AuditData written as a JSON string, one a line.
            b'"' if self.at_line_start => {
                let line = lines.line_of(buf, base, self.pos);
                self.scan = Some(Scan::at(Kind::StringLine, self.pos, line, lines));
                self.at_line_start = false;
            }
            _ => {
                // Text that cannot start a record: damaged, up to the next record.
                let line = lines.line_of(buf, base, self.pos);
                let column = lines.column();
                let (kind, reason) = if b == 0 {
                    (
                        ErrorKind::InvalidEncoding,
                        format!("the text holds a NUL byte at line {line} (UTF-16 text without a byte order mark looks like this)"),
                    )
                } else {
                    (ErrorKind::InvalidJson, format!("the text is not a record: it starts with {} at line {line}", describe_byte(b)))
                };
                self.start_damage(self.pos, line, column, kind, reason, Ctx::Top);
                self.at_line_start = false;
            }
        }
    }

    /// The byte `b` between values in an array of records (`wrapper`: a Graph page's `value`).
    fn step_array(&mut self, b: u8, wrapper: bool, buf: &[u8], base: u64, lines: &mut Lines) {
        match b {
            b' ' | b'\t' | b'\r' | b'\n' | 0x0C | b',' => self.pos += 1,
            b']' => {
                self.pos += 1;
                self.ctx = Ctx::Top;
                self.at_line_start = false;
                if wrapper {
                    let line = lines.line_of(buf, base, self.pos);
                    let mut scan = Scan::at(Kind::WrapperTail, self.pos, line, lines);
                    scan.depth = 1;
                    scan.expect = Expect::CommaOrEnd;
                    scan.odata_only = true;
                    self.scan = Some(scan);
                }
            }
            b'{' | b'[' => {
                let line = lines.line_of(buf, base, self.pos);
                self.scan = Some(Scan::at(Kind::Container, self.pos, line, lines));
            }
            b'"' => {
                let line = lines.line_of(buf, base, self.pos);
                let mut scan = Scan::at(Kind::Str, self.pos, line, lines);
                scan.in_string = true;
                self.pos += 1;
                self.scan = Some(scan);
            }
            _ => {
                let line = lines.line_of(buf, base, self.pos);
                self.scan = Some(Scan::at(Kind::Junk, self.pos, line, lines));
            }
        }
    }

    /// At the end of the input, between values: what waits is handed on.
    fn finish_input(&mut self, end: u64, buf: &[u8], base: u64, lines: &mut Lines, out: &mut Vec<Piece>) {
        if self.pending.is_some() {
            self.accept_pending(out);
        }
        if self.damage.is_some() {
            self.close_damage(end, true, buf, base, lines, out);
        }
        self.flush_junk(out);
    }

    /// The first offset of the text the splitter still needs (for a value or damaged text in
    /// progress, or a value awaiting what follows it).
    fn first_needed(&self, base: u64, end: u64) -> u64 {
        let mut keep = self.pos.min(end);
        if let Some(scan) = &self.scan {
            if !scan.oversize {
                keep = keep.min(scan.start);
            }
        }
        if let Some(pending) = &self.pending {
            keep = keep.min(pending.start);
        }
        if let Some(damage) = &self.damage {
            keep = keep.min(damage.search);
        }
        keep.max(base)
    }

    /// The text at the end of an input that broke off (a read failure): the value waiting for
    /// what follows it is whole, anything in progress is lost. Returns where the lost text starts.
    pub fn abandon(&mut self, out: &mut Vec<Piece>) -> Option<u64> {
        if self.pending.is_some() {
            self.accept_pending(out);
        }
        self.flush_junk(out);
        let lost = self.damage.as_ref().map(|d| d.start).or(self.scan.as_ref().map(|s| s.start));
        self.scan = None;
        self.damage = None;
        lost
    }

    /// What the first byte after a complete value says about it.
    fn confirm(&mut self, b: u8) -> Confirmation {
        let pending = self.pending.as_mut().expect("pending");
        if b == b',' {
            if pending.comma {
                return Confirmation::Reject;
            }
            pending.comma = true;
            return Confirmation::Wait;
        }
        let accept = match self.ctx {
            Ctx::Top => matches!(b, b'{' | b'[') || (pending.newline && !matches!(b, b':' | b'"')),
            // A record cut short that closes early is followed by the rest of its text: a
            // property name, or a closing bracket. In a Graph page, whose records are always
            // comma-separated, a record that took in the page's end is followed by the next
            // page.
            Ctx::Array { wrapper } => match b {
                b'}' | b':' => false,
                b'"' => pending.class == b'"',
                b']' => {
                    pending.closed_array = Some(self.ctx);
                    pending.comma = false;
                    pending.newline = false;
                    return Confirmation::Carry;
                }
                b'{' | b'[' => !wrapper || pending.comma,
                // A number or a word right after it is the rest of its own text (`5}0,...`).
                _ => pending.comma,
            },
        };
        if accept {
            Confirmation::Accept
        } else {
            Confirmation::Reject
        }
    }

    fn accept_pending(&mut self, out: &mut Vec<Piece>) {
        let pending = self.pending.take().expect("pending");
        if let (None, Some(one_line)) = (self.lines_mode, pending.one_line) {
            self.lines_mode = Some(one_line);
        }
        self.push(out, Piece::Json { start: pending.start, end: pending.end, line: pending.line, whole_line: false });
    }

    /// Hands on a piece, after the run of values that are not records before it.
    fn push(&mut self, out: &mut Vec<Piece>, piece: Piece) {
        self.flush_junk(out);
        out.push(piece);
    }

    fn flush_junk(&mut self, out: &mut Vec<Piece>) {
        let Some(junk) = self.junk.take() else { return };
        let span =
            if junk.last_line > junk.line { format!("lines {} to {}", junk.line, junk.last_line) } else { format!("line {}", junk.line) };
        let message = if junk.values == 1 && junk.objects {
            format!("the object ({span}) is not an audit record: it has no Operation, Operations, ActionType, AuditData or RawEventData")
        } else if junk.objects {
            format!(
                "{} objects in a row ({span}) are not audit records: none has Operation, Operations, ActionType, AuditData or RawEventData",
                junk.values
            )
        } else {
            format!(
                "{} values in a row ({span}) are not audit records (numbers, literals, text, or objects without Operation or AuditData)",
                junk.values
            )
        };
        out.push(Piece::Error { line: junk.line, error: RecordError::new(ErrorKind::NotAnAuditRecord, message) });
    }

    fn add_junk(&mut self, line: u64, last_line: u64, values: u64, objects: bool) {
        match self.junk.as_mut() {
            Some(junk) => {
                junk.last_line = last_line;
                junk.values += values;
                junk.objects &= objects;
            }
            None => self.junk = Some(Junk { line, last_line, values, objects }),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn start_damage(&mut self, start: u64, line: u64, column: Option<u64>, kind: ErrorKind, reason: String, ctx: Ctx) {
        self.damage = Some(Damage { start, line, kind, reason, ctx, search: start + 1, spent: 0, column });
        self.pos = start + 1;
    }

    /// Ends the damaged text before `at` with its error.
    fn close_damage(&mut self, at: u64, at_end: bool, buf: &[u8], base: u64, lines: &mut Lines, out: &mut Vec<Piece>) {
        let damage = self.damage.take().expect("damage");
        let bytes = at - damage.start;
        let mut last = lines.line_of(buf, base, at);
        if at > base && at - base <= buf.len() as u64 && buf[(at - base - 1) as usize] == b'\n' && last > damage.line {
            last -= 1;
        }
        let span = if last > damage.line { format!("lines {} to {last}", damage.line) } else { format!("line {last}") };
        let until = if at_end { "up to the end of the input" } else { "up to the next record" };
        let message = format!("{}; {bytes} bytes ({span}) could not be read as records, {until}", damage.reason);
        self.push(out, Piece::Error { line: damage.line, error: RecordError::new(damage.kind, message) });
    }

    /// Damaged text: looks for the next record. Returns false when it needs more input.
    fn resync(&mut self, buf: &[u8], base: u64, eof: bool, lines: &mut Lines, out: &mut Vec<Piece>) -> bool {
        let end = base + buf.len() as u64;
        let damage = self.damage.as_mut().expect("damage");
        let from = (damage.search.max(base) - base) as usize;
        if self.lines_mode == Some(true) {
            // JSON Lines: the damaged text ends where a line starts with `{`, `[` or `"`.
            let mut i = from.min(buf.len());
            loop {
                let Some(k) = memchr(b'\n', &buf[i..]) else {
                    damage.search = end;
                    self.pos = end;
                    if eof {
                        self.close_damage(end, true, buf, base, lines, out);
                    }
                    return eof;
                };
                let next = i + k + 1;
                if next >= buf.len() {
                    // What the next line starts with is not known yet.
                    damage.search = base + (i + k) as u64;
                    self.pos = damage.search;
                    if eof {
                        self.close_damage(end, true, buf, base, lines, out);
                        self.pos = end;
                    }
                    return eof;
                }
                if matches!(buf[next], b'{' | b'[' | b'"') {
                    let at = base + next as u64;
                    self.close_damage(at, false, buf, base, lines, out);
                    self.pos = at;
                    self.ctx = Ctx::Top;
                    self.at_line_start = true;
                    return true;
                }
                i = next;
            }
        }
        let Some(k) = memchr(b'{', &buf[from.min(buf.len())..]) else {
            damage.search = end;
            self.pos = end;
            if eof {
                self.close_damage(end, true, buf, base, lines, out);
            }
            return eof;
        };
        let at = from + k;
        let brace = base + at as u64;
        // AuditData written as strings: `"{\"CreationTime\":...}"` (the object after the quote is
        // tried next when the string is no record).
        let quoted = at > from && buf[at - 1] == b'"';
        if !can_start_a_record(buf, if quoted { at - 1 } else { at }, damage.column) {
            // `{{"Operation"...`: a record starts only where one can (after `,` `[` `}` `]`, or
            // at the start of a line).
            damage.search = brace + 1;
            self.pos = damage.search;
            return true;
        }
        let mut scan = if quoted {
            let mut scan = Scan::new(Kind::Str, brace - 1, 0);
            scan.in_string = true;
            scan
        } else {
            let mut scan = Scan::new(Kind::Container, brace, 0);
            scan.page = true;
            scan
        };
        scan.candidate = true;
        self.pos = brace;
        self.scan = Some(scan);
        true
    }

    fn finish(&mut self, scan: Scan, step: Step, buf: &[u8], base: u64, lines: &mut Lines, out: &mut Vec<Piece>) {
        let end = base + buf.len() as u64;
        if self.damage.is_some() {
            self.finish_candidate(scan, step, buf, base, end, lines, out);
            return;
        }
        let max = self.max_record as u64;
        match step {
            Step::NeedMore => unreachable!(),
            Step::Wrapper(after) => {
                self.pos = after;
                self.ctx = Ctx::Array { wrapper: true };
            }
            Step::Done(stop) => {
                self.pos = stop;
                match scan.kind {
                    Kind::WrapperTail => {}
                    Kind::Junk => {
                        let last_line = lines.line_of(buf, base, stop);
                        let values = buf[(scan.start - base) as usize..(stop - base) as usize]
                            .split(|b| *b == b',')
                            .filter(|v| !v.trim_ascii().is_empty())
                            .count();
                        self.add_junk(scan.line, last_line, values.max(1) as u64, false);
                    }
                    Kind::StringLine | Kind::Line { .. } => {
                        let mut value_end = stop;
                        if !scan.oversize {
                            // Trailing blanks (and the CR of CRLF) are not part of the record.
                            let text = &buf[(scan.start - base) as usize..(stop - base) as usize];
                            let kept = text.len() - text.iter().rev().take_while(|b| b.is_ascii_whitespace()).count();
                            value_end = scan.start + kept as u64;
                        }
                        // A line holds no line break: nothing to count again.
                        lines.line_at(buf, base, scan.start);
                        lines.skip_unbroken(stop);
                        let size = stop - scan.start;
                        if scan.oversize || size > max {
                            self.push(out, Piece::Error { line: scan.line, error: too_large(size, max) });
                        } else {
                            self.push(
                                out,
                                Piece::Json {
                                    start: scan.start,
                                    end: value_end,
                                    line: scan.line,
                                    whole_line: matches!(scan.kind, Kind::Line { .. }),
                                },
                            );
                        }
                    }
                    Kind::Container | Kind::Str => {
                        if scan.max_depth > MAX_NESTING {
                            self.push(out, Piece::Error { line: scan.line, error: too_deep(scan.max_depth) });
                            return;
                        }
                        let object = buf[(scan.start - base) as usize] == b'{';
                        let text_first =
                            buf[(scan.start - base) as usize + 1..(stop - base) as usize].iter().find(|b| !b.is_ascii_whitespace());
                        let no_record = match scan.kind {
                            Kind::Str => text_first != Some(&b'{'),
                            _ => !object || !scan.record_key,
                        };
                        if no_record && object && matches!(self.ctx, Ctx::Array { .. }) {
                            // An object among records that is none: a record cut short that took
                            // in the records after it (and the end of their Graph page) to close.
                            let reason = "the object is not an audit record (it has no Operation, Operations, ActionType, AuditData or RawEventData): it may be a record cut short".to_string();
                            self.start_damage(scan.start, scan.line, scan.column, ErrorKind::NotAnAuditRecord, reason, self.ctx);
                            return;
                        }
                        if no_record {
                            // Not a record whatever it holds: one error for the run it is part of.
                            let last_line = lines.line_of(buf, base, stop);
                            self.add_junk(scan.line, last_line, 1, object);
                            return;
                        }
                        let one_line = (scan.kind == Kind::Container && scan.page && self.ctx == Ctx::Top)
                            .then(|| memchr(b'\n', &buf[(scan.start - base) as usize..(stop - base) as usize]).is_none());
                        self.pending = Some(Pending::scanned(&scan, stop, one_line, scan.column));
                    }
                }
            }
            Step::Damaged { at, found, expected } => {
                let line = lines.line_of(buf, base, at);
                let (kind, reason) = if found == 0 {
                    let hint = "UTF-16 text without a byte order mark looks like this";
                    (ErrorKind::InvalidEncoding, format!("the record holds a NUL byte at line {line} ({hint})"))
                } else if found == b'\n' && expected.is_empty() {
                    (ErrorKind::InvalidJson, format!("the record is damaged: a line break inside a string at line {line}"))
                } else {
                    (
                        ErrorKind::InvalidJson,
                        format!("the record is damaged: {} where {expected} should be, at line {line}", describe_byte(found)),
                    )
                };
                if scan.kind == Kind::WrapperTail {
                    let reason = reason.replacen("the record is", "the end of the Graph page is", 1);
                    self.damaged_page_end(&scan, reason, kind, expected == ODATA_ONLY, out);
                } else {
                    self.start_damage(scan.start, scan.line, scan.column, kind, reason, self.ctx);
                }
            }
            Step::Oversize if scan.kind == Kind::WrapperTail => {
                let reason = format!("the end of the Graph page is more than the {max} bytes allowed for one record");
                self.damaged_page_end(&scan, reason, ErrorKind::TooLarge, false, out);
            }
            Step::Oversize => {
                let reason = format!("the record is more than the {max} bytes allowed for one record");
                self.start_damage(scan.start, scan.line, scan.column, ErrorKind::TooLarge, reason, self.ctx);
            }
            Step::Eof => match scan.kind {
                Kind::Junk | Kind::StringLine | Kind::Line { .. } => self.finish(scan, Step::Done(end), buf, base, lines, out),
                Kind::WrapperTail => {
                    let reason = "the input ends inside the Graph page that holds the records above it (it is truncated)".to_string();
                    self.damaged_page_end(&scan, reason, ErrorKind::InvalidJson, false, out);
                }
                Kind::Container | Kind::Str => {
                    let reason =
                        format!("the input ends inside the record: it is truncated ({} bytes from line {})", end - scan.start, scan.line);
                    self.start_damage(scan.start, scan.line, scan.column, ErrorKind::InvalidJson, reason, self.ctx);
                }
            },
        }
    }

    /// The end of a Graph page is damaged. When it holds a record's properties, the page's last
    /// record (still waiting to be confirmed) is damaged too: a record cut short by a `}`, whose
    /// rest was read as the page's end; the records after it are looked for in the page.
    /// Otherwise the last record stands and only the page's end is an error.
    fn damaged_page_end(&mut self, tail: &Scan, reason: String, kind: ErrorKind, holds_a_record: bool, out: &mut Vec<Piece>) {
        if holds_a_record {
            if let Some(last) = self.pending.take() {
                let ctx = last.closed_array.unwrap_or(Ctx::Array { wrapper: true });
                self.start_damage(last.start, last.line, last.column, kind, reason, ctx);
                return;
            }
        }
        if self.pending.is_some() {
            self.accept_pending(out);
        }
        self.start_damage(tail.start, tail.line, tail.column, kind, reason, Ctx::Top);
    }

    /// A look for the next record inside damaged text ended.
    #[allow(clippy::too_many_arguments)]
    fn finish_candidate(&mut self, mut scan: Scan, step: Step, buf: &[u8], base: u64, end: u64, lines: &mut Lines, out: &mut Vec<Piece>) {
        match step {
            Step::NeedMore => unreachable!(),
            Step::Wrapper(after) => {
                self.close_damage(scan.start, false, buf, base, lines, out);
                lines.rewind(buf, base, scan.start);
                self.pos = after;
                self.ctx = Ctx::Array { wrapper: true };
            }
            Step::Done(stop) => {
                let is_record = match scan.kind {
                    Kind::Container => scan.record_key && scan.max_depth <= MAX_NESTING,
                    Kind::Str => string_holds_record(&buf[(scan.start - base) as usize..(stop - base) as usize]),
                    _ => false,
                };
                if !is_record {
                    // Not a record: part of the damaged text. What it holds is looked at too (the
                    // damage may have made records after it part of it), while the budget lasts.
                    self.reject_candidate(&scan, stop);
                    return;
                }
                let ctx = self.damage.as_ref().expect("damage").ctx;
                self.close_damage(scan.start, false, buf, base, lines, out);
                scan.line = lines.line_of(buf, base, scan.start);
                lines.rewind(buf, base, scan.start);
                self.ctx = ctx;
                self.pos = stop;
                self.at_line_start = false;
                let one_line = (scan.kind == Kind::Container && ctx == Ctx::Top)
                    .then(|| memchr(b'\n', &buf[(scan.start - base) as usize..(stop - base) as usize]).is_none());
                self.pending = Some(Pending::scanned(&scan, stop, one_line, column_at(buf, base, scan.start)));
            }
            Step::Damaged { at, .. } => self.reject_candidate(&scan, at),
            Step::Oversize => self.reject_candidate(&scan, self.pos.min(end)),
            Step::Eof => self.reject_candidate(&scan, end),
        }
    }

    /// A look that failed at `at`: look again just after it started while the rescan budget
    /// lasts, else after where it failed.
    fn reject_candidate(&mut self, scan: &Scan, at: u64) {
        let damage = self.damage.as_mut().expect("damage");
        let next = scan.start + 1;
        damage.spent += at.saturating_sub(scan.start);
        let allowed = RESCAN_FACTOR * (at.max(damage.search) - damage.start) + RESCAN_ALLOWANCE;
        damage.search = if damage.spent <= allowed { next } else { at.max(next) };
        self.pos = damage.search;
    }
}

fn too_large(size: u64, max: u64) -> RecordError {
    super::too_large("record", size, max as usize)
}

fn too_deep(depth: u64) -> RecordError {
    RecordError::too_deep("the record", depth)
}

/// How a byte is named in an error message.
fn describe_byte(b: u8) -> String {
    match b {
        b'\n' => "a line break".to_string(),
        b'`' => "a backtick".to_string(),
        0x21..=0x7E => format!("`{}`", b as char),
        _ => format!("the byte 0x{b:02X}"),
    }
}

/// The column of the byte at `offset`, when its line starts not too far back in `buf`.
fn column_at(buf: &[u8], base: u64, offset: u64) -> Option<u64> {
    let at = (offset - base) as usize;
    let from = at.saturating_sub(4096);
    match memchr::memrchr(b'\n', &buf[from..at]) {
        Some(k) => Some((at - from - k - 1) as u64),
        None if from == 0 && base == 0 => Some(at as u64),
        None => None,
    }
}

/// Whether a value starting at `at` can be a record after damage: it follows what can end the
/// value before it (`,` `[` `}` `]`), or starts a line no further right than the damaged record
/// did (in `{\n  {"Operation"...` from a record at column 0, yes; in a pretty record's own
/// lines, no). Blanks are skipped, up to a point (then it may).
fn can_start_a_record(buf: &[u8], at: usize, damaged_column: Option<u64>) -> bool {
    let mut column = 0u64;
    let mut starts_line = false;
    for &b in buf[..at].iter().rev().take(4096) {
        match b {
            b' ' | b'\t' | b'\r' | 0x0C => {
                if !starts_line {
                    column += 1;
                }
            }
            b'\n' => starts_line = true,
            b',' | b'[' | b'}' | b']' => return true,
            _ => return starts_line && column <= damaged_column.unwrap_or(u64::MAX),
        }
    }
    true
}

/// A JSON string (with its quotes) whose text is AuditData: an object with a key only records
/// have, as written inside a string.
fn string_holds_record(text: &[u8]) -> bool {
    static KEYS: LazyLock<Vec<memmem::Finder<'static>>> =
        LazyLock::new(|| RECORD_KEYS.iter().map(|k| memmem::Finder::new(&format!("\\\"{k}\\\"")).into_owned()).collect());
    text.len() > 2 && text[1] == b'{' && KEYS.iter().any(|k| k.find(text).is_some())
}

/// A key (with its quotes) that only records have, matched as the parser matches keys: trimmed,
/// case-insensitively, escapes read.
fn is_record_key(quoted: &[u8]) -> bool {
    let is_one = |key: &[u8]| {
        let key = key.trim_ascii();
        RECORD_KEYS.iter().any(|k| key.eq_ignore_ascii_case(k.as_bytes()))
    };
    let key = &quoted[1..quoted.len() - 1];
    if memchr(b'\\', key).is_none() {
        return is_one(key);
    }
    serde_json::from_slice::<String>(quoted).is_ok_and(|key| is_one(key.as_bytes()))
}

/// JSON Lines: is the line starting with this `{` or `[` one value (true), or a lone `{` or `[`
/// or a Graph page to read structurally (false)? None: not enough bytes yet.
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
    if buf[(scan.start - base) as usize] == b'[' {
        return Some(true);
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

/// Up to the next element that could be a record, or the end of the array.
fn step_junk(buf: &[u8], base: u64, pos: &mut u64, eof: bool) -> Step {
    step_until(buf, base, pos, eof, |rest| rest.iter().position(|b| matches!(b, b'{' | b'[' | b'"' | b']')))
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

enum StringPart {
    Open,
    Closed,
    /// A raw line break (never valid inside a JSON string), at the index.
    LineBreak,
}

/// Inside a string: the closing quote, an escape, or a raw line break.
#[inline]
fn string_part(s: &mut Scan, buf: &[u8], i: &mut usize, n: usize) -> StringPart {
    if s.escape {
        s.escape = false;
        *i += 1;
        return StringPart::Open;
    }
    match memchr3(b'"', b'\\', b'\n', &buf[*i..n]) {
        None => {
            *i = n;
            StringPart::Open
        }
        Some(k) => {
            *i += k;
            match buf[*i] {
                b'\\' => {
                    s.escape = true;
                    *i += 1;
                    StringPart::Open
                }
                b'"' => {
                    s.in_string = false;
                    *i += 1;
                    StringPart::Closed
                }
                _ => StringPart::LineBreak,
            }
        }
    }
}

/// The end of what a scan may read: the buffer, or the size limit.
#[inline]
fn scan_end(buf: &[u8], base: u64, limit: u64) -> usize {
    (limit.saturating_sub(base) as usize).min(buf.len())
}

fn step_string(s: &mut Scan, buf: &[u8], base: u64, pos: &mut u64, eof: bool, limit: u64) -> Step {
    let n = scan_end(buf, base, limit);
    let mut i = (*pos - base) as usize;
    while i < n {
        match string_part(s, buf, &mut i, n) {
            StringPart::Open => {}
            StringPart::Closed => {
                *pos = base + i as u64;
                return Step::Done(*pos);
            }
            StringPart::LineBreak => {
                *pos = base + i as u64;
                return Step::Damaged { at: *pos, found: b'\n', expected: "" };
            }
        }
    }
    *pos = base + i as u64;
    if n < buf.len() || base + i as u64 >= limit {
        Step::Oversize
    } else if eof {
        Step::Eof
    } else {
        Step::NeedMore
    }
}

/// A number or `true`, `false`, `null`, as JSON writes them.
fn is_scalar(text: &[u8]) -> bool {
    match text {
        b"true" | b"false" | b"null" => true,
        _ => {
            let digits = text.strip_prefix(b"-").unwrap_or(text);
            let int_len = digits.iter().take_while(|b| b.is_ascii_digit()).count();
            if int_len == 0 || (int_len > 1 && digits[0] == b'0') {
                return false;
            }
            let mut rest = &digits[int_len..];
            if let Some(frac) = rest.strip_prefix(b".") {
                let n = frac.iter().take_while(|b| b.is_ascii_digit()).count();
                if n == 0 {
                    return false;
                }
                rest = &frac[n..];
            }
            if let Some(exp) = rest.strip_prefix(b"e").or_else(|| rest.strip_prefix(b"E")) {
                let exp = exp.strip_prefix(b"+").or_else(|| exp.strip_prefix(b"-")).unwrap_or(exp);
                let n = exp.iter().take_while(|b| b.is_ascii_digit()).count();
                if n == 0 {
                    return false;
                }
                rest = &exp[n..];
            }
            rest.is_empty()
        }
    }
}

fn is_scalar_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'+' | b'.')
}

fn step_container(s: &mut Scan, buf: &[u8], base: u64, pos: &mut u64, eof: bool, limit: u64) -> Step {
    let n = scan_end(buf, base, limit);
    let mut i = (*pos - base) as usize;
    macro_rules! damaged {
        ($found:expr, $expected:expr) => {{
            *pos = base + i as u64;
            return Step::Damaged { at: *pos, found: $found, expected: $expected };
        }};
    }
    while i < n {
        if s.in_string {
            match string_part(s, buf, &mut i, n) {
                StringPart::Open => {}
                StringPart::Closed => {
                    let text = (s.key_start >= base).then(|| &buf[(s.key_start - base) as usize..i - 1]);
                    if s.candidate && text.is_some_and(|t| memmem::find(t, b",{").is_some()) {
                        damaged!(b'"', "a string that does not hold the start of another record");
                    }
                    if s.in_key {
                        s.expect = Expect::Colon;
                        if let (1, Some(key)) = (s.depth, text) {
                            if s.page {
                                s.wrapper_stage = u8::from(key == b"value");
                            }
                            if s.odata_only && !key.starts_with(b"@odata.") {
                                damaged!(b'"', ODATA_ONLY);
                            }
                            s.record_key |= is_record_key(&buf[(s.key_start - base) as usize - 1..i]);
                        }
                    } else {
                        s.expect = Expect::CommaOrEnd;
                    }
                }
                StringPart::LineBreak => damaged!(b'\n', ""),
            }
            continue;
        }
        let b = buf[i];
        if s.depth > MAX_NESTING {
            // Too deep to follow the grammar: only the nesting is counted (the record is refused).
            match b {
                b'"' => {
                    s.in_string = true;
                    s.in_key = false;
                }
                b'{' | b'[' => {
                    s.depth += 1;
                    s.max_depth = s.max_depth.max(s.depth);
                }
                b'}' | b']' => {
                    s.depth -= 1;
                    s.expect = Expect::CommaOrEnd;
                }
                _ => {}
            }
            i += 1;
            continue;
        }
        match b {
            b' ' | b'\t' | b'\r' | b'\n' => i += 1,
            b'"' => {
                s.in_key = match s.expect {
                    Expect::KeyOrEnd | Expect::Key => true,
                    Expect::Value | Expect::ValueOrEnd => false,
                    other => damaged!(b, other.describe()),
                };
                if !s.in_key {
                    s.wrapper_stage = 0;
                }
                s.in_string = true;
                s.key_start = base + i as u64 + 1;
                i += 1;
            }
            b'{' | b'[' => {
                if !s.expect.wants_value() {
                    damaged!(b, s.expect.describe());
                }
                if b == b'[' && s.wrapper_stage == 2 && s.depth == 1 {
                    *pos = base + i as u64 + 1;
                    return Step::Wrapper(*pos);
                }
                s.wrapper_stage = 0;
                s.depth += 1;
                s.max_depth = s.max_depth.max(s.depth);
                if s.depth <= MAX_NESTING && b == b'[' {
                    s.arrays |= 1u128 << (s.depth - 1);
                } else if s.depth <= MAX_NESTING {
                    s.arrays &= !(1u128 << (s.depth - 1));
                }
                s.expect = if b == b'{' { Expect::KeyOrEnd } else { Expect::ValueOrEnd };
                i += 1;
            }
            b'}' | b']' => {
                let array = s.is_array(s.depth);
                let fits = s.depth >= 1
                    && if b == b'}' {
                        !array && matches!(s.expect, Expect::KeyOrEnd | Expect::CommaOrEnd)
                    } else {
                        array && matches!(s.expect, Expect::ValueOrEnd | Expect::CommaOrEnd)
                    };
                if !fits {
                    let expected = if s.depth == 0 {
                        "a value"
                    } else if array != (b == b']') {
                        if array {
                            "the end of an array (`]`)"
                        } else {
                            "the end of an object (`}`)"
                        }
                    } else {
                        s.expect.describe()
                    };
                    damaged!(b, expected);
                }
                s.wrapper_stage = 0;
                s.depth -= 1;
                s.expect = Expect::CommaOrEnd;
                i += 1;
                if s.depth == 0 {
                    *pos = base + i as u64;
                    return Step::Done(*pos);
                }
            }
            b':' => {
                if s.expect != Expect::Colon {
                    damaged!(b, s.expect.describe());
                }
                s.wrapper_stage = if s.wrapper_stage == 1 { 2 } else { 0 };
                s.expect = Expect::Value;
                i += 1;
            }
            b',' => {
                if s.expect != Expect::CommaOrEnd || s.depth == 0 {
                    damaged!(b, s.expect.describe());
                }
                s.wrapper_stage = 0;
                s.expect = if s.is_array(s.depth) { Expect::Value } else { Expect::Key };
                i += 1;
            }
            _ => {
                if !s.expect.wants_value() || !is_scalar_byte(b) {
                    damaged!(b, s.expect.describe());
                }
                let run = buf[i..n].iter().take_while(|&&c| is_scalar_byte(c)).count();
                if i + run == n {
                    if n < buf.len() || base + n as u64 >= limit {
                        *pos = base + i as u64;
                        return Step::Oversize;
                    }
                    if !eof {
                        // The value may go on in the next chunk: read it whole then.
                        break;
                    }
                }
                if !is_scalar(&buf[i..i + run]) {
                    damaged!(b, "a value (a string, number, true, false or null)");
                }
                s.wrapper_stage = 0;
                s.expect = Expect::CommaOrEnd;
                i += run;
            }
        }
    }
    *pos = base + i as u64;
    if n < buf.len() || (i == n && base + i as u64 >= limit) {
        Step::Oversize
    } else if eof && i >= buf.len() {
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
        check(
            "{\"Operation\":1}\n\n{\"b\":\"}\"}\r\n  {\"c\":[1]}  \n",
            &[("{\"Operation\":1}", 1), ("{\"b\":\"}\"}", 3), ("{\"c\":[1]}", 4)],
        );
    }

    #[test]
    fn a_bad_line_does_not_swallow_the_next() {
        check(
            "{\"Operation\":1}\n{\"b\":\"unterminated\n{\"c\":2}\n{\"d\":[1,\n{\"e\":3}\n[\"f\":1}\n{\"g\":4}\n",
            &[
                ("{\"Operation\":1}", 1),
                ("{\"b\":\"unterminated", 2),
                ("{\"c\":2}", 3),
                ("{\"d\":[1,", 4),
                ("{\"e\":3}", 5),
                ("[\"f\":1}", 6),
                ("{\"g\":4}", 7),
            ],
        );
        // Before the document is known to be JSON Lines, the damage shows structurally and the
        // next record is found.
        check("{\"b\":\"unterminated\n{\"Operation\":2}\n", &[("!InvalidJson", 1), ("{\"Operation\":2}", 2)]);
        check("{\"b\":{\"x\":1\n{\"Operation\":2}\n", &[("!InvalidJson", 1), ("{\"Operation\":2}", 2)]);
        // A lone `{` costs only itself.
        check("{\n{\"Operation\":1}\n{\"Operation\":2}\n", &[("!InvalidJson", 1), ("{\"Operation\":1}", 2), ("{\"Operation\":2}", 3)]);
        // Cut after `:` or `[`, the first line swallows the next before the damage shows.
        check(
            "{\"a\":\n{\"Operation\":1}\n{\"Operation\":2}\n",
            &[("!InvalidJson", 1), ("{\"Operation\":1}", 2), ("{\"Operation\":2}", 3)],
        );
        check(
            "{\"a\":[\n{\"Operation\":1}\n{\"Operation\":2}\n",
            &[("!InvalidJson", 1), ("{\"Operation\":1}", 2), ("{\"Operation\":2}", 3)],
        );
    }

    #[test]
    fn arrays_pretty_and_back_to_back() {
        let text = "[\n{\n\"Operation\": [\n{\n\"x\": 1\n}\n],\n\"b\": \"\\\\In\"\n},\n{\"Operation\":2}\n][{\"Operation\":3}]\n[\n  {\"Operation\":4}\n]";
        check(
            text,
            &[
                ("{\n\"Operation\": [\n{\n\"x\": 1\n}\n],\n\"b\": \"\\\\In\"\n}", 2),
                ("{\"Operation\":2}", 10),
                ("{\"Operation\":3}", 11),
                ("{\"Operation\":4}", 13),
            ],
        );
    }

    #[test]
    fn damage_in_arrays_costs_the_damaged_record() {
        let r = |n: u32| {
            format!("{{\"Operation\":\"MailItemsAccessed\",\"Id\":\"r{n}\",\"Folders\":[{{\"Path\":\"\\\\Inbox\",\"FolderItems\":[{{\"InternetMessageId\":\"<m{n}@x>\"}}]}}]}}")
        };
        let (r1, r3) = (r(1), r(3));
        let damaged = [
            // A quote lost at the end swallows the next record's start into a string.
            r(2).replacen("m2@x>\"", "m2@x>", 1),
            // A brace lost.
            r(2).replacen("}]}]}", "]}]}", 1),
            // A record that closes early: what follows cannot start a record.
            r(2).replacen(",\"Folders\"", "},\"Folders\"", 1),
            // A word that is not a value.
            r(2).replacen("\"r2\"", "r2", 1),
            // The first brace flipped.
            r(2).replacen('{', "[", 1),
        ];
        for r2 in &damaged {
            let layouts = [
                (format!("[{r1},{r2},{r3}]"), "!InvalidJson"),
                (format!("[\n  {r1},\n  {r2},\n  {r3}\n]"), "!InvalidJson"),
                // JSON Lines: the line is handed on whole, for the parser to refuse.
                (format!("{r1}\n{r2}\n{r3}\n"), r2.as_str()),
            ];
            for (text, middle) in &layouts {
                for chunk in [1, 7, 1 << 20] {
                    let got = split(text, chunk, 1 << 20);
                    let got: Vec<&str> = got.iter().map(|(t, _)| t.as_str()).collect();
                    assert_eq!(got, [r1.as_str(), middle, r3.as_str()], "chunk {chunk}: {text}");
                }
            }
        }
    }

    #[test]
    fn concatenated_pretty_objects() {
        check(
            "{\n  \"Operation\": 1\n}\n{\n  \"AuditData\": {\n    \"c\": 2\n  }\n}{\"Operation\":4}",
            &[("{\n  \"Operation\": 1\n}", 1), ("{\n  \"AuditData\": {\n    \"c\": 2\n  }\n}", 4), ("{\"Operation\":4}", 8)],
        );
    }

    #[test]
    fn graph_pages() {
        let page = "{\"@odata.context\":\"x\",\"value\":[{\"operation\":1},{\"operation\":{\"value\":[2]}}],\"@odata.nextLink\":\"y{[\"}";
        let text = format!("{page}\n{page}{{\n \"value\" : [ ]\n}}\n{{\"value\":[{{\"operation\":3}}]}}");
        check(
            &text,
            &[
                ("{\"operation\":1}", 1),
                ("{\"operation\":{\"value\":[2]}}", 1),
                ("{\"operation\":1}", 2),
                ("{\"operation\":{\"value\":[2]}}", 2),
                ("{\"operation\":3}", 5),
            ],
        );
    }

    #[test]
    fn a_damaged_page_tail_is_an_error_and_loses_nothing_else() {
        let page = |n: u32| format!("{{\"@odata.context\":\"x\",\"value\":[{{\"Operation\":{n}}}],\"@odata.nextLink\":\"y\"}}");
        let (p1, p3) = (page(1), page(3));
        for p2 in [
            "{\"@odata.context\":\"x\",\"value\":[{\"Operation\":2}],\"@odata.nextLink\":".to_string(),
            "{\"value\":[]{".to_string(),
            "{\"value\":[{\"Operation\":2}]".to_string(),
        ] {
            let text = format!("{p1}\n{p2}\n{p3}\n");
            for chunk in [1, 5, 1 << 20] {
                let got = split(&text, chunk, 1 << 20);
                let got: Vec<&str> = got.iter().map(|(t, _)| t.as_str()).collect();
                let expected: Vec<&str> = if p2.contains("Operation\":2") {
                    vec!["{\"Operation\":1}", "{\"Operation\":2}", "!InvalidJson", "{\"Operation\":3}"]
                } else {
                    vec!["{\"Operation\":1}", "!InvalidJson", "{\"Operation\":3}"]
                };
                assert_eq!(got, expected, "chunk {chunk}: {p2}");
            }
        }
    }

    #[test]
    fn graph_pages_as_json_lines() {
        let text = "{\"Operation\":1}\n{\"@odata.context\":\"x\",\"value\":[{\"Operation\":2},{\"Operation\":3}]}\n{\"d\":4}\n{\n\"Operation\":5\n}\n";
        check(
            text,
            &[("{\"Operation\":1}", 1), ("{\"Operation\":2}", 2), ("{\"Operation\":3}", 2), ("{\"d\":4}", 3), ("{\n\"Operation\":5\n}", 4)],
        );
    }

    #[test]
    fn strings_junk_and_garbage() {
        check("[\"{\\\"a\\\":1}\", 42, null,}]", &[("\"{\\\"a\\\":1}\"", 1), ("!NotAnAuditRecord", 1)]);
        check("garbage here\n{\"Operation\":1}", &[("!InvalidJson", 1), ("{\"Operation\":1}", 2)]);
        // Objects without a key records have, however many, are one error.
        check("[{\"a\":1},{},{\"b\":[2]},{\"Operation\":1}]", &[("!NotAnAuditRecord", 1), ("{\"Operation\":1}", 1)]);
        // A million values that are not records are one error, not a million.
        let many = format!("[{}1]", "1,".repeat(100_000));
        assert_eq!(split(&many, 4096, 1 << 20), [("!NotAnAuditRecord".to_string(), 1)]);
    }

    #[test]
    fn truncated_at_the_end() {
        check("[{\"Operation\":1},{\"b\":", &[("{\"Operation\":1}", 1), ("!InvalidJson", 1)]);
        check("{\"Operation\":1}\n{\"b\":", &[("{\"Operation\":1}", 1), ("{\"b\":", 2)]);
    }

    #[test]
    fn too_large_and_too_deep() {
        let big = format!("{{\"Operation\":\"{}\"}}", "x".repeat(100));
        let small = "{\"Operation\":1}";
        let text = format!("[{big},{small}]\n{big}\n");
        for chunk in [1, 7, 1 << 20] {
            let got = split(&text, chunk, 50);
            assert_eq!(got, [("!TooLarge".to_string(), 1), (small.to_string(), 1), ("!TooLarge".to_string(), 2)], "chunk {chunk}");
        }
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let text = format!("[{deep},{{\"Operation\":1}}]");
        assert_eq!(split(&text, 4096, 1 << 20), [("!TooDeep".to_string(), 1), ("{\"Operation\":1}".to_string(), 1)]);
    }

    #[test]
    fn scalars_are_checked() {
        for good in ["0", "-1", "1.5", "2e10", "1E-3", "true", "false", "null"] {
            assert!(is_scalar(good.as_bytes()), "{good}");
        }
        for bad in ["01", "1.", ".5", "-", "tru", "nul", "abc", "1e", "0x1"] {
            assert!(!is_scalar(bad.as_bytes()), "{bad}");
        }
    }
}
