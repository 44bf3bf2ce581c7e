//! The input side: everything that turns what an investigator holds into [`MailAccessRecord`]s
//! or record errors, and nothing after that.
//!
//! - [`raw`]: one serde visitor over the fields of every supported shape (AuditData, its CSV and
//!   Graph wrappers, Sentinel and Defender rows), borrowing from the input.
//! - [`interpret`]: fields to a record (times, access type, throttling, folders and items), what
//!   is lost noted as degradation.
//! - [`tree`]: the pipeline object encoding the shim writes (values, lists, maps; no JSON);
//!   [`objects`]: those batches read into [`ReadResult`]s; [`module_record`]: the module's own
//!   records piped back in.
//! - This module: whole documents (files, or text piped to a cmdlet), fast and in bounded memory,
//!   without losing a record silently.
//!
//! [`MailAccessRecord`]: crate::model::MailAccessRecord
//!
//! A [`RecordReader`] decodes the bytes ([`decode`]: gzip, byte order marks, UTF-16), tells JSON
//! from CSV by the first non-blank byte, and reads the text in chunks of
//! [`ReaderOptions::chunk_bytes`]. On the reading thread each chunk is split into record texts
//! ([`json`], [`csv`]: `memchr`-driven state machines that resume across chunks, without
//! recursion); the records are then parsed ([`parse`]) on the calling thread or on the process's
//! pool of workers ([`workers`]), while the next chunk is being read. Results come back in input order.
//!
//! Every record read produces exactly one [`ReadResult`], a record or an error with its
//! position: a record that is invalid, truncated, too large, too deep, badly encoded or a CSV
//! row that does not fit its header is an error, and reading goes on with the next one.

mod csv;
mod decode;
mod digest;
pub mod interpret;
mod json;
pub mod module_record;
pub mod objects;
mod parse;
pub mod raw;
pub mod tree;
mod workers;

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use rayon::prelude::*;

use self::csv::{CsvHeader, CsvSplitter};
pub use self::decode::TextEncoding;
use self::decode::{Counting, TextSource};
pub use self::digest::{DigestOutcome, FileDigest};
use self::json::JsonSplitter;
use self::parse::{parse_piece, Context, PieceResult};
use self::workers::Workers;
use crate::error::{ErrorKind, RecordError};
use crate::input::interpret::{InterpretOptions, Outcome};
use crate::model::{ResultPosition, SourcePosition};

/// One record read from a document: what it turned out to be, and where it was.
#[derive(Clone, Debug, PartialEq)]
pub struct ReadResult {
    pub position: SourcePosition,
    pub outcome: Result<Outcome, RecordError>,
}

/// How far reading has got.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    /// Bytes taken from the file or stream (compressed bytes for gzip).
    pub bytes_read: u64,
    /// The size of the file, when known.
    pub bytes_total: Option<u64>,
    /// Results returned so far (records and errors).
    pub records: u64,
}

#[derive(Clone, Debug)]
pub struct ReaderOptions {
    pub interpret: InterpretOptions,
    /// Text read per chunk (default 4 MiB). About three chunks are in memory at a time, plus
    /// the record in progress (at most `interpret.max_record_bytes`).
    pub chunk_bytes: usize,
    /// Parse workers; 1 parses on the calling thread. With more, the next chunk is read and
    /// split while the workers parse the current one.
    pub threads: usize,
}

impl Default for ReaderOptions {
    fn default() -> Self {
        ReaderOptions { interpret: InterpretOptions::default(), chunk_bytes: 4 * 1024 * 1024, threads: 1 }
    }
}

/// The shape of a document, from its first non-blank byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DocumentFormat {
    Json,
    Csv,
}

/// A record text found by a splitter, or an error found while splitting. Offsets are into the
/// decoded text.
#[derive(Debug)]
pub(crate) enum Piece {
    /// `whole_line`: a line of JSON Lines, which may turn out to hold several records.
    Json {
        start: u64,
        end: u64,
        line: u64,
        whole_line: bool,
    },
    Csv {
        start: u64,
        end: u64,
        line: u64,
    },
    Error {
        line: u64,
        error: RecordError,
    },
}

/// Line numbers: counts line breaks up to an offset, once.
#[derive(Debug, Default)]
pub(crate) struct Lines {
    pos: u64,
    breaks: u64,
    /// The last line break counted (None when unknown after moving back).
    last_break: Option<u64>,
}

impl Lines {
    /// The 1-based line of the byte at `offset` (which must not be before the last offset
    /// asked, and whose preceding bytes from there must still be in `buf`).
    pub fn line_at(&mut self, buf: &[u8], base: u64, offset: u64) -> u64 {
        if offset > self.pos {
            debug_assert!(self.pos >= base, "line breaks dropped before they were counted");
            let from = (self.pos.max(base) - base) as usize;
            let to = ((offset - base) as usize).min(buf.len());
            let breaks = memchr::memchr_iter(b'\n', &buf[from..to]).count() as u64;
            if breaks > 0 {
                self.breaks += breaks;
                self.last_break = memchr::memrchr(b'\n', &buf[from..to]).map(|k| base + (from + k) as u64);
            }
            self.pos = offset;
        }
        self.breaks + 1
    }

    /// The column (0-based) of the byte at the last offset asked, when known.
    pub fn column(&self) -> Option<u64> {
        match self.last_break {
            Some(at) => Some(self.pos - at - 1),
            None if self.breaks == 0 => Some(self.pos),
            None => None,
        }
    }

    /// Moves to `offset` over text known to hold no line break (a line already searched).
    pub fn skip_unbroken(&mut self, offset: u64) {
        if offset > self.pos {
            self.pos = offset;
        }
    }

    /// The line of the byte at `offset`, also before the last offset asked (the bytes between
    /// the two must be in `buf`); does not move back.
    pub fn line_of(&mut self, buf: &[u8], base: u64, offset: u64) -> u64 {
        if offset >= self.pos {
            return self.line_at(buf, base, offset);
        }
        self.breaks - self.breaks_back_to(buf, base, offset) + 1
    }

    /// Moves back to `offset` (text read again after damage: the bytes from there must be in
    /// `buf`), so that later offsets count from there.
    pub fn rewind(&mut self, buf: &[u8], base: u64, offset: u64) {
        if offset < self.pos {
            self.breaks -= self.breaks_back_to(buf, base, offset);
            self.pos = offset;
            self.last_break = None;
        }
    }

    fn breaks_back_to(&self, buf: &[u8], base: u64, offset: u64) -> u64 {
        debug_assert!(offset >= base, "line breaks dropped before they were counted");
        let from = ((offset.max(base) - base) as usize).min(buf.len());
        let to = ((self.pos - base) as usize).min(buf.len());
        memchr::memchr_iter(b'\n', &buf[from..to]).count() as u64
    }
}

// One per file being read, never in a collection: boxing the JSON splitter would buy nothing.
#[allow(clippy::large_enum_variant)]
enum Splitter {
    Undetected,
    Json(JsonSplitter),
    Csv(CsvSplitter),
}

/// How the document ends its lines, from its first line break: Excel's "CSV (Macintosh)" ends
/// them with CR alone, which is read as LF (`Import-Csv` reads those files too).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LineEnds {
    Unknown,
    Lf,
    Cr,
}

/// A chunk of text and the pieces found in it.
struct Batch {
    data: Vec<u8>,
    base: u64,
    pieces: VecDeque<Piece>,
    encoding: TextEncoding,
    header: Option<Arc<CsvHeader>>,
}

/// The reading side: bytes to text to pieces. Runs on one thread at a time.
struct Front {
    raw: Option<Box<dyn Read + Send>>,
    text: Option<TextSource>,
    encoding: TextEncoding,
    compressed: bool,
    /// `buf[..filled]` holds text; the rest is room, already initialised, for the next read.
    buf: Vec<u8>,
    filled: usize,
    /// Offset in the text of `buf[0]`.
    base: u64,
    eof: bool,
    done: bool,
    splitter: Splitter,
    lines: Lines,
    line_ends: LineEnds,
    chunk_bytes: usize,
    max_record: usize,
    spare: Vec<u8>,
}

impl Front {
    fn new(raw: Box<dyn Read + Send>, options: &ReaderOptions) -> Front {
        Front {
            raw: Some(raw),
            text: None,
            encoding: TextEncoding::Utf8,
            compressed: false,
            buf: Vec::new(),
            filled: 0,
            base: 0,
            eof: false,
            done: false,
            splitter: Splitter::Undetected,
            lines: Lines::default(),
            line_ends: LineEnds::Unknown,
            chunk_bytes: options.chunk_bytes.max(1),
            max_record: options.interpret.max_record_bytes,
            spare: Vec::new(),
        }
    }

    fn text(&self) -> &[u8] {
        &self.buf[..self.filled]
    }

    fn end(&self) -> u64 {
        self.base + self.filled as u64
    }

    fn fill(&mut self) -> io::Result<()> {
        if self.text.is_none() {
            let raw = self.raw.take().expect("the source is opened once");
            let text = TextSource::new(raw)?;
            self.encoding = text.encoding();
            self.compressed = text.compressed();
            self.text = Some(text);
        }
        let text = self.text.as_mut().expect("opened");
        // Room for one more chunk, and a few bytes so that UTF-16 always has room for a
        // character: a buffer only grows when a record in progress needs it.
        let want = self.filled + self.chunk_bytes + 8;
        if self.buf.len() < want {
            self.buf.reserve_exact(want - self.buf.len());
            self.buf.resize(want, 0);
        }
        let from = self.filled;
        let target = self.filled + self.chunk_bytes;
        while self.filled < target {
            let n = text.read_text(&mut self.buf[self.filled..want])?;
            if n == 0 {
                self.eof = true;
                break;
            }
            self.filled += n;
        }
        if self.line_ends == LineEnds::Unknown && !self.eof && self.buf[..self.filled].last() == Some(&b'\r') {
            // The byte after a CR tells CR from CRLF.
            if self.buf.len() < self.filled + 8 {
                self.buf.resize(self.filled + 8, 0);
            }
            let end = self.buf.len();
            match text.read_text(&mut self.buf[self.filled..end])? {
                0 => self.eof = true,
                n => self.filled += n,
            }
        }
        self.normalise_line_ends(from);
        Ok(())
    }

    /// Finds how lines end at the first line break, and turns lone CRs into LFs in the text
    /// read since `from`.
    fn normalise_line_ends(&mut self, from: usize) {
        if self.line_ends == LineEnds::Unknown {
            let text = &self.buf[..self.filled];
            let Some(k) = memchr::memchr2(b'\r', b'\n', &text[from..]).map(|k| from + k) else { return };
            self.line_ends = if text[k] == b'\n' || text.get(k + 1) == Some(&b'\n') {
                LineEnds::Lf
            } else if k + 1 < text.len() || self.eof {
                LineEnds::Cr
            } else {
                return;
            };
        }
        if self.line_ends == LineEnds::Cr {
            let text = &mut self.buf[from..self.filled];
            let mut i = 0;
            while let Some(k) = memchr::memchr(b'\r', &text[i..]) {
                text[i + k] = b'\n';
                i += k + 1;
            }
        }
    }

    /// The error for input that broke off; `lost` is where the record it cut starts.
    fn read_failure(&mut self, err: &io::Error, lost: Option<u64>) -> Piece {
        let end = self.end();
        let what = if self.compressed { "the gzip data could not be read" } else { "the input could not be read" };
        let buf = &self.buf[..self.filled];
        let lost = lost.filter(|&at| at >= self.base && at < end).map(|at| self.lines.line_of(buf, self.base, at));
        let line = self.lines.line_at(buf, self.base, end);
        let message = match lost {
            Some(from) => format!("{what} after {end} bytes of text (line {line}): {err}; the record it cut (from line {from}) and anything after it are lost"),
            None => format!("{what} after {end} bytes of text (line {line}): {err}; anything after that is lost"),
        };
        Piece::Error { line: lost.unwrap_or(line), error: RecordError::new(ErrorKind::Unreadable, message) }
    }

    /// The next chunk's pieces; None at the end (or when cancelled).
    fn next_batch(&mut self, cancel: &AtomicBool) -> Option<Batch> {
        while !self.done {
            if cancel.load(Ordering::Relaxed) {
                return None;
            }
            let mut failure = None;
            if !self.eof {
                if let Err(err) = self.fill() {
                    failure = Some(err);
                    self.eof = true;
                }
            }
            if let Splitter::Undetected = self.splitter {
                let end = self.end();
                match self.text().iter().position(|b| !b.is_ascii_whitespace()) {
                    Some(i) => {
                        let at = self.base + i as u64;
                        self.splitter = if matches!(self.buf[i], b'[' | b'{') {
                            Splitter::Json(JsonSplitter::new(self.max_record).starting_at(at))
                        } else {
                            Splitter::Csv(CsvSplitter::new(self.max_record).starting_at(at))
                        };
                    }
                    None => {
                        // Blank so far: nothing to keep.
                        self.lines.line_at(&self.buf[..self.filled], self.base, end);
                        self.base = end;
                        self.filled = 0;
                        if self.eof {
                            self.done = true;
                            let piece = failure.map(|err| self.read_failure(&err, None))?;
                            return Some(self.make_batch(vec![piece], end));
                        }
                        continue;
                    }
                }
            }
            let mut pieces = Vec::new();
            let stop = || cancel.load(Ordering::Relaxed);
            let text = &self.buf[..self.filled];
            // After a read failure the text is not complete: what is in progress is not a
            // record of its own, but what the failure cost.
            let complete = self.eof && failure.is_none();
            let mut keep = match &mut self.splitter {
                Splitter::Json(s) => s.scan(text, self.base, complete, &mut self.lines, &mut pieces, &stop),
                Splitter::Csv(s) => s.scan(text, self.base, complete, &mut self.lines, &mut pieces, &stop),
                Splitter::Undetected => unreachable!("detected above"),
            };
            if let Some(err) = failure {
                let lost = match &mut self.splitter {
                    Splitter::Json(s) => s.abandon(&mut pieces),
                    Splitter::Csv(s) => s.abandon(),
                    Splitter::Undetected => None,
                };
                pieces.push(self.read_failure(&err, lost));
                keep = self.end();
            }
            self.lines.line_at(&self.buf[..self.filled], self.base, keep);
            if self.eof && !stop() {
                self.done = true;
            }
            if !pieces.is_empty() {
                return Some(self.make_batch(pieces, keep));
            }
            self.keep_from(keep);
        }
        None
    }

    /// Hands the text read so far to a batch, keeping what is still needed.
    fn make_batch(&mut self, pieces: Vec<Piece>, keep: u64) -> Batch {
        let from = ((keep.max(self.base) - self.base) as usize).min(self.filled);
        let tail = self.filled - from;
        let mut next = std::mem::take(&mut self.spare);
        if next.len() < tail {
            next.resize(tail, 0);
        }
        next[..tail].copy_from_slice(&self.buf[from..self.filled]);
        let data = std::mem::replace(&mut self.buf, next);
        let base = self.base;
        self.base += from as u64;
        self.filled = tail;
        let header = match &self.splitter {
            Splitter::Csv(s) => s.header().cloned(),
            _ => None,
        };
        Batch { data, base, pieces: pieces.into(), encoding: self.encoding, header }
    }

    fn keep_from(&mut self, keep: u64) {
        let from = ((keep.max(self.base) - self.base) as usize).min(self.filled);
        self.buf.copy_within(from..self.filled, 0);
        self.filled -= from;
        self.base += from as u64;
    }

    /// A chunk's buffer, once parsed, is used again for reading (unless a long record made it big).
    fn recycle(&mut self, data: Vec<u8>) {
        if data.len() <= 2 * self.chunk_bytes + 16 && data.len() > self.spare.len() {
            self.spare = data;
        }
    }
}

/// Text whose records one call to `next_chunk` parses and returns when no chunk is read meanwhile
/// (one thread, or the last chunk): records are handed on in groups of about this much text, so
/// that only a few thousand are alive at a time. With workers, while the next chunk is read,
/// the group is the whole chunk: every group ends with the workers joining, and 256 KiB
/// groups (7,000 joins for 1,000,000 records) left the cores idle between them (side by side
/// on 2 cores: 1,000,000 records 4.0-4.7 s -> 3.7-4.2 s, 3,000,000 records 14.7-18.1 s ->
/// 12.4-13.3 s, 20-30 MB more at the peak; CONTRIBUTING.md, Benchmarks).
const GROUP_BYTES: u64 = 1024 * 1024;

/// Reads the records of one document, a chunk at a time.
pub struct RecordReader {
    front: Front,
    /// The chunk whose pieces are being parsed.
    current: Option<Batch>,
    /// The next chunk, split while the previous one was being parsed.
    pending: Option<Batch>,
    /// The process's workers for the threads asked; None for one thread.
    workers: Option<Workers>,
    options: ReaderOptions,
    file: Option<u32>,
    next_index: u64,
    bytes_read: Arc<AtomicU64>,
    bytes_total: Option<u64>,
    finished: bool,
    /// The hash of the file's bytes as they are read (files only).
    digest: Option<FileDigest>,
}

impl RecordReader {
    /// Opens a file; an error (ErrorKind::Unreadable) names the path and the OS reason.
    pub fn open(path: &Path, file_index: u32, options: ReaderOptions) -> Result<RecordReader, RecordError> {
        let fail = |reason: String| RecordError {
            position: SourcePosition { index: 0, file: Some(file_index), ..SourcePosition::default() },
            ..RecordError::new(ErrorKind::Unreadable, format!("{}: {reason}", path.display()))
        };
        let metadata = std::fs::metadata(path).map_err(|e| fail(e.to_string()))?;
        if metadata.is_dir() {
            return Err(fail("this is a folder, not a file".to_string()));
        }
        // A named pipe, a socket or a device can wait forever for data (the open itself waits
        // for a pipe's writer) and may never end: only regular files are read, and the check
        // is made again on the opened file, which never waits to open.
        if !metadata.is_file() {
            return Err(fail(not_regular(&metadata)));
        }
        let file = open_without_waiting(path).map_err(|e| fail(e.to_string()))?;
        let metadata = file.metadata().map_err(|e| fail(e.to_string()))?;
        if !metadata.is_file() {
            return Err(fail(not_regular(&metadata)));
        }
        // The hash of the chain of custody is taken of the bytes as they are read (digest.rs).
        let (file, digest) = digest::hashing(Box::new(file));
        let mut reader = RecordReader::from_reader(file, Some(file_index), Some(metadata.len()), options);
        reader.digest = Some(digest);
        Ok(reader)
    }

    /// Any byte stream (in-memory text piped to a cmdlet, tests).
    pub fn from_reader(
        reader: Box<dyn Read + Send>,
        file_index: Option<u32>,
        total_bytes: Option<u64>,
        options: ReaderOptions,
    ) -> RecordReader {
        let bytes_read = Arc::new(AtomicU64::new(0));
        let counting = Counting { inner: reader, count: Arc::clone(&bytes_read) };
        RecordReader {
            front: Front::new(Box::new(counting), &options),
            current: None,
            pending: None,
            workers: Workers::for_threads(options.threads),
            options,
            file: file_index,
            next_index: 0,
            bytes_read,
            bytes_total: total_bytes,
            finished: false,
            digest: None,
        }
    }

    /// The SHA-256 of the file's bytes, for a reader from [`RecordReader::open`]; it lives on
    /// after the reader is dropped. Ask it with [`FileDigest::finish`] once reading is over.
    pub fn digest(&self) -> Option<FileDigest> {
        self.digest.clone()
    }

    /// The next results in input order; None at the end. Memory stays bounded whatever the
    /// input size. Each call returns the records of about 1 MiB of text (the whole chunk while
    /// the workers also wait for the next chunk to be read); never an empty Vec. Once `cancel` is
    /// set, returns within one chunk: the results parsed before it (if any), then None.
    pub fn next_chunk(&mut self, cancel: &AtomicBool) -> Option<Vec<ReadResult>> {
        loop {
            if self.finished {
                return None;
            }
            if cancel.load(Ordering::Relaxed) {
                self.finished = true;
                return None;
            }
            if self.current.is_none() {
                self.current = self.pending.take().or_else(|| self.front.next_batch(cancel));
                if self.current.is_none() {
                    self.finished = true;
                    return None;
                }
            }
            let RecordReader { front, current, pending, workers, options, .. } = self;
            let batch = current.as_mut().expect("a chunk in progress");
            // With workers, the next chunk is read and split while this group is parsed: the
            // group is then the whole chunk, which keeps the workers busy as long as that takes.
            let read_ahead = workers.is_some() && pending.is_none() && !front.done;
            let group_bytes = if read_ahead { u64::MAX } else { GROUP_BYTES };
            let mut group = Vec::new();
            let mut bytes = 0;
            while bytes < group_bytes {
                let Some(piece) = batch.pieces.pop_front() else { break };
                bytes += match &piece {
                    Piece::Json { start, end, .. } | Piece::Csv { start, end, .. } => end - start,
                    Piece::Error { .. } => 1024,
                };
                group.push(piece);
            }
            let (data, base) = (&batch.data, batch.base);
            let ctx = Context { options: &options.interpret, encoding: batch.encoding, header: batch.header.as_deref() };
            let parsed = match workers {
                None => group.into_iter().map(|p| parse_piece(p, data, base, &ctx, cancel)).collect::<Vec<_>>(),
                Some(pool) => {
                    let parse =
                        || group.into_par_iter().with_min_len(16).map(|p| parse_piece(p, data, base, &ctx, cancel)).collect::<Vec<_>>();
                    if read_ahead {
                        let (parsed, next) = pool.install(|| rayon::join(parse, || front.next_batch(cancel)));
                        *pending = next;
                        parsed
                    } else {
                        pool.install(parse)
                    }
                }
            };
            if batch.pieces.is_empty() {
                let done = current.take().expect("a chunk in progress");
                front.recycle(done.data);
            }
            let (results, cancelled) = self.assemble(parsed);
            if cancelled {
                self.finished = true;
                self.current = None;
                self.pending = None;
            }
            if !results.is_empty() {
                return Some(results);
            }
        }
    }

    fn assemble(&mut self, parsed: Vec<PieceResult>) -> (Vec<ReadResult>, bool) {
        let mut results = Vec::with_capacity(parsed.len());
        for piece in parsed {
            match piece {
                PieceResult::One(line, (outcome, result)) => results.push(self.result(line, outcome, result)),
                PieceResult::Many(line, outcomes) => {
                    for (outcome, result) in outcomes {
                        results.push(self.result(line, outcome, result));
                    }
                }
                PieceResult::Cancelled => return (results, true),
            }
        }
        (results, false)
    }

    fn result(&mut self, line: u64, outcome: Result<Outcome, RecordError>, result: Option<ResultPosition>) -> ReadResult {
        let position = SourcePosition { index: self.next_index, file: self.file, line: Some(line), result };
        self.next_index += 1;
        let outcome = match outcome {
            Ok(Outcome::Record(mut record)) => {
                record.source = position.clone();
                Ok(Outcome::Record(record))
            }
            Err(mut error) => {
                error.position = position.clone();
                Err(error)
            }
            skipped => skipped,
        };
        ReadResult { position, outcome }
    }

    pub fn progress(&self) -> Progress {
        Progress { bytes_read: self.bytes_read.load(Ordering::Relaxed), bytes_total: self.bytes_total, records: self.next_index }
    }

    /// JSON or CSV; None until the first non-blank byte has been read.
    pub fn format(&self) -> Option<DocumentFormat> {
        match self.front.splitter {
            Splitter::Undetected => None,
            Splitter::Json(_) => Some(DocumentFormat::Json),
            Splitter::Csv(_) => Some(DocumentFormat::Csv),
        }
    }

    /// The text encoding found (UTF-8 until the first chunk has been read).
    pub fn encoding(&self) -> TextEncoding {
        self.front.encoding
    }

    /// Whether the input was gzip-compressed.
    pub fn compressed(&self) -> bool {
        self.front.compressed
    }
}

/// A [`RecordReader`] that reads ahead on a thread of its own: while the caller counts and
/// analyses one chunk, the next is being read and parsed. At most [`PREFETCH_CHUNKS`] chunks
/// wait, so memory stays bounded. Dropping it stops the thread.
pub struct PrefetchingReader {
    // An Option only so that Drop can close the channel before joining the thread.
    chunks: Option<std::sync::mpsc::Receiver<Vec<ReadResult>>>,
    progress: Arc<SharedProgress>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// Groups read ahead and waiting (each the records of one `next_chunk` call: with workers a
/// whole 4 MiB chunk, about 2,000 records). Four instead of two measured no faster and up to
/// 30 MB more.
pub const PREFETCH_CHUNKS: usize = 2;

struct SharedProgress {
    bytes_read: AtomicU64,
    bytes_total: Option<u64>,
    records: AtomicU64,
}

impl PrefetchingReader {
    /// Starts reading `reader` ahead. `cancel` stops it at the next record boundary.
    pub fn spawn(mut reader: RecordReader, cancel: Arc<AtomicBool>) -> PrefetchingReader {
        let (sender, chunks) = std::sync::mpsc::sync_channel(PREFETCH_CHUNKS);
        let progress = Arc::new(SharedProgress {
            bytes_read: AtomicU64::new(0),
            bytes_total: reader.progress().bytes_total,
            records: AtomicU64::new(0),
        });
        let shared = Arc::clone(&progress);
        let thread = std::thread::Builder::new()
            .name("maf-reader".into())
            .spawn(move || {
                while let Some(chunk) = reader.next_chunk(&cancel) {
                    let now = reader.progress();
                    shared.bytes_read.store(now.bytes_read, Ordering::Relaxed);
                    shared.records.store(now.records, Ordering::Relaxed);
                    // Fails once the reader is dropped: then nobody wants more.
                    if sender.send(chunk).is_err() {
                        break;
                    }
                }
            })
            .expect("start the reading thread");
        PrefetchingReader { chunks: Some(chunks), progress, thread: Some(thread) }
    }

    /// The next chunk, in input order; None at the end (or once cancelled). A panic while
    /// reading is raised again here, on the caller's thread (as rayon does), so that a failed
    /// read is never taken for the end of the input.
    pub fn next_chunk(&mut self) -> Option<Vec<ReadResult>> {
        if let Ok(chunk) = self.chunks.as_ref()?.recv() {
            return Some(chunk);
        }
        if let Some(thread) = self.thread.take() {
            if let Err(panic) = thread.join() {
                std::panic::resume_unwind(panic);
            }
        }
        None
    }

    /// How far reading has got (it runs ahead of the chunks handed out).
    pub fn progress(&self) -> Progress {
        self.progress_handle().get()
    }

    /// Progress that can be read from another thread while this one waits for a chunk.
    pub fn progress_handle(&self) -> ProgressHandle {
        ProgressHandle(Arc::clone(&self.progress))
    }
}

/// Reads a [`PrefetchingReader`]'s progress from any thread.
#[derive(Clone)]
pub struct ProgressHandle(Arc<SharedProgress>);

impl ProgressHandle {
    pub fn get(&self) -> Progress {
        Progress {
            bytes_read: self.0.bytes_read.load(Ordering::Relaxed),
            bytes_total: self.0.bytes_total,
            records: self.0.records.load(Ordering::Relaxed),
        }
    }
}

impl Drop for PrefetchingReader {
    fn drop(&mut self) {
        // Closing the channel makes a blocked or later send fail, so the thread ends after at
        // most the chunk it is reading.
        drop(self.chunks.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(unix)]
fn open_without_waiting(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    // Regular files read the same with O_NONBLOCK.
    std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(path)
}

#[cfg(not(unix))]
fn open_without_waiting(path: &Path) -> io::Result<File> {
    File::open(path)
}

/// Why a path that is not a regular file is not read.
fn not_regular(metadata: &std::fs::Metadata) -> String {
    #[cfg(unix)]
    let what = {
        use std::os::unix::fs::FileTypeExt;
        let kind = metadata.file_type();
        if kind.is_fifo() {
            "a named pipe (FIFO)"
        } else if kind.is_socket() {
            "a socket"
        } else if kind.is_char_device() {
            "a character device"
        } else if kind.is_block_device() {
            "a block device"
        } else {
            "not a regular file"
        }
    };
    #[cfg(not(unix))]
    let what = {
        let _ = metadata;
        "not a regular file"
    };
    format!("this is {what}, which is not read: reading it could wait for data forever; copy what it holds into a file and read that")
}

/// The error of a record (or CSV row) over the size limit, which splitters skip unread.
pub(crate) fn too_large(what: &str, size: u64, max: usize) -> RecordError {
    RecordError::new(
        ErrorKind::TooLarge,
        format!("the {what} is {size} bytes, more than the {max} bytes allowed for one record; it was skipped without being read"),
    )
}

/// Feeds `text` to a splitter's `scan`, `chunk` bytes at a time and keeping what it asks to
/// keep, as the reader does; returns each piece with its text (empty for an error).
#[cfg(test)]
pub(crate) fn split_in_chunks(
    text: &str,
    chunk: usize,
    mut scan: impl FnMut(&[u8], u64, bool, &mut Lines, &mut Vec<Piece>) -> u64,
) -> Vec<(Piece, String)> {
    let bytes = text.as_bytes();
    let mut lines = Lines::default();
    let mut out = Vec::new();
    let mut buf: Vec<u8> = Vec::new();
    let mut base = 0u64;
    let mut fed = 0;
    loop {
        let take = chunk.min(bytes.len() - fed);
        buf.extend_from_slice(&bytes[fed..fed + take]);
        fed += take;
        let eof = fed == bytes.len();
        let mut pieces = Vec::new();
        let keep = scan(&buf, base, eof, &mut lines, &mut pieces);
        for piece in pieces {
            let text = match piece {
                Piece::Json { start, end, .. } | Piece::Csv { start, end, .. } => {
                    String::from_utf8(buf[(start - base) as usize..(end - base) as usize].to_vec()).unwrap()
                }
                Piece::Error { .. } => String::new(),
            };
            out.push((piece, text));
        }
        lines.line_at(&buf, base, keep);
        buf.drain(..(keep - base) as usize);
        base = keep;
        if eof {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reader_can_move_between_threads() {
        fn send<T: Send>() {}
        send::<RecordReader>();
        send::<ReadResult>();
    }

    #[test]
    fn two_readers_share_the_process_pool() {
        let threads = rayon::current_num_threads() + 1;
        let open = || {
            let text: &'static [u8] = b"{\"Operation\":\"Send\"}\n";
            RecordReader::from_reader(Box::new(text), None, None, ReaderOptions { threads, ..ReaderOptions::default() })
        };
        let (mut a, mut b) = (open(), open());
        let (Some(Workers::Sized(first)), Some(Workers::Sized(second))) = (&a.workers, &b.workers) else {
            panic!("readers of {threads} threads have a pool");
        };
        assert!(Arc::ptr_eq(first, second));
        let cancel = AtomicBool::new(false);
        assert_eq!(a.next_chunk(&cancel).map(|chunk| chunk.len()), Some(1));
        assert_eq!(b.next_chunk(&cancel).map(|chunk| chunk.len()), Some(1));
        let one = RecordReader::from_reader(Box::new(&b""[..]), None, None, ReaderOptions::default());
        assert!(one.workers.is_none(), "a one-thread read stays on the calling thread");
    }

    #[test]
    fn workers_parse_a_whole_chunk_while_the_next_is_read_and_one_thread_a_group() {
        // Lines of 512 bytes: 10,240 of them are 5 MiB, two chunks of 2 MiB and half of one.
        const LINE: usize = 512;
        let line = format!("{{\"Operation\":\"Send\",\"Pad\":\"{}\"}}\n", "x".repeat(LINE - 30));
        assert_eq!(line.len(), LINE);
        let text = line.repeat(10_240).into_bytes();
        // A group ends with the piece (a line, its break not counted) that reaches its size.
        let per_group = GROUP_BYTES as usize / (LINE - 1) + 1;
        let cancel = AtomicBool::new(false);
        for threads in [1, 2] {
            let options = ReaderOptions { threads, chunk_bytes: 2 * GROUP_BYTES as usize, ..ReaderOptions::default() };
            let mut reader = RecordReader::from_reader(Box::new(io::Cursor::new(text.clone())), None, None, options);
            let mut calls = Vec::new();
            let mut next_index = 0;
            while let Some(results) = reader.next_chunk(&cancel) {
                for result in &results {
                    assert_eq!(result.position.index, next_index, "in input order");
                    next_index += 1;
                }
                calls.push(results.len());
            }
            assert_eq!(next_index, 10_240, "{threads} threads: every record, once");
            if threads == 1 {
                assert!(calls.iter().all(|&n| n <= per_group), "one thread: groups of about {GROUP_BYTES} bytes: {calls:?}");
            } else {
                // Every group ending in a join of the workers, a group is the whole chunk.
                let chunk = 2 * GROUP_BYTES as usize / LINE;
                assert!(calls[0] >= chunk - 1 && calls[0] > per_group, "two threads: the first chunk whole: {calls:?}");
            }
        }
    }

    #[test]
    fn line_numbers_count_each_break_once() {
        let text = b"a\nbb\n\nc";
        let mut lines = Lines::default();
        assert_eq!(lines.line_at(text, 0, 0), 1);
        assert_eq!(lines.line_at(text, 0, 2), 2);
        assert_eq!(lines.line_at(text, 0, 2), 2);
        assert_eq!(lines.line_at(text, 0, 6), 4);
        // Asking for an earlier offset does not count backwards.
        assert_eq!(lines.line_at(text, 0, 3), 4);
    }
}
