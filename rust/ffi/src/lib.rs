//! `maf_native`: the C ABI over the MailAccessForensics engine, for the PowerShell shim.
//!
//! Conventions (after rustls-ffi):
//! - every export is named `maf_*`; fallible ones return [`MafStatus`], with the message
//!   available from `maf_last_error` on the calling thread;
//! - no panic crosses the boundary: every body runs inside [`boundary::guard`];
//! - pointer arguments are borrowed for the duration of the call unless the export says
//!   otherwise; everything handed out is owned by the caller and released with the matching
//!   `*_free`, exactly once. `*_free` accepts null.
//!
//! The C# declarations in `dotnet-shim/src/Native/NativeMethods.g.cs` are generated from this
//! file and `abi.rs` by `build.rs`.

// Every unsafe operation sits in its own block, saying why it holds (as rustls-ffi does).
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::undocumented_unsafe_blocks)]

pub mod abi;
mod allocator;
mod boundary;
mod collect;
mod rows;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use mailaccess_engine::analysis::{
    AddressRange, Analysis, BindAnalysis, ContextAnalysis, ContextOptions, FindAnalysis, Indicators, RecordFilter, SyncAnalysis,
    ThrottlingAnalysis, VerdictAnalysis, VerdictOptions, Wildcard,
};
use mailaccess_engine::input::objects::parse_objects;
use mailaccess_engine::input::tree::{BatchReader, NodeDeserializer};
use mailaccess_engine::input::{FileDigest, PrefetchingReader, ProgressHandle, ReadResult, ReaderOptions, RecordReader};
use mailaccess_engine::time::{self, DateOrder};
use mailaccess_engine::vocabulary::AnalysisName;
use mailaccess_engine::{kql, report, InterpretOptions, Session, SessionOptions, Tally};
use serde::de::DeserializeOwned;
use serde::Deserialize;

use abi::*;
use boundary::{guard, guard_void, FfiError};
use rows::{AnalysisOwner, BatchOwner, DigestOwner, TallyOwner};

// Records are many small allocations made on one thread and freed on another: mimalloc does
// that several times faster than the system allocator (the benchmark measures it). Its
// options are set with the first session (allocator.rs).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// An analysis session: records go in by batches, results come out. Opaque to the caller.
pub struct MafSession {
    session: Mutex<Session>,
    /// Shared with the threads reading files ahead.
    cancelled: Arc<AtomicBool>,
    /// How files are read into this session.
    reader_options: ReaderOptions,
    /// Tells this session's readers from others' (unlike an address, never reused).
    id: u64,
}

/// The next session's [`MafSession::id`].
static NEXT_SESSION_ID: AtomicU64 = AtomicU64::new(1);

impl MafSession {
    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Session>, FfiError> {
        self.session.lock().map_err(|_| {
            FfiError::new(MafStatus::Panic, "the session is unusable after an earlier internal error; start the command again")
        })
    }

    /// Refuses more work once the command was stopped.
    fn ensure_running(&self) -> Result<(), FfiError> {
        if self.cancelled.load(Ordering::SeqCst) {
            return Err(FfiError::new(MafStatus::Cancelled, "the command was stopped"));
        }
        Ok(())
    }
}

/// Session options as the shim sends them: a map in the object-batch encoding, keyed by the
/// cmdlet parameter names (dates arrive as ISO 8601 UTC text).
#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct OptionsWire {
    return_records: Option<bool>,
    /// The culture writes the day before the month (`13/05/2020`).
    day_first_dates: Option<bool>,
    max_record_bytes: Option<u64>,
    /// Workers parsing files (default: the machine's cores).
    threads: Option<u32>,
    /// Throttling, Sync, Context, Bind, Find or Verdict; absent for none.
    analysis: Option<String>,
    start_date: Option<String>,
    end_date: Option<String>,
    mailbox: Option<Vec<String>>,
    user_ids: Option<Vec<String>>,
    #[serde(rename = "ClientIPAddress")]
    client_ip_address: Option<Vec<String>>,
    session_id: Option<Vec<String>>,
    suspicious: Option<bool>,
    baseline_end_date: Option<String>,
    internet_message_id: Option<Vec<String>>,
    #[serde(rename = "AttackerIPAddress")]
    attacker_ip_address: Option<Vec<String>>,
    attacker_session_id: Option<Vec<String>>,
    attacker_client_info_string: Option<Vec<String>>,
    attacker_app_id: Option<Vec<String>>,
    attacker_aad_session_id: Option<Vec<String>>,
    no_context_expansion: Option<bool>,
    expand_shared_indicator: Option<bool>,
}

fn wire_time(parameter: &str, text: &Option<String>) -> Result<Option<chrono::DateTime<chrono::Utc>>, FfiError> {
    match text {
        None => Ok(None),
        Some(text) => time::parse_timestamp(text, DateOrder::MonthFirst)
            .map(Some)
            .map_err(|reason| FfiError::invalid_argument(format!("-{parameter}: {reason}"))),
    }
}

fn wire_wildcards(parameter: &str, values: &Option<Vec<String>>) -> Result<Vec<Wildcard>, FfiError> {
    values
        .iter()
        .flatten()
        .map(|v| Wildcard::new(v).map_err(|reason| FfiError::invalid_argument(format!("-{parameter}: {reason}"))))
        .collect()
}

fn wire_ranges(parameter: &str, values: &Option<Vec<String>>) -> Result<Vec<AddressRange>, FfiError> {
    values
        .iter()
        .flatten()
        .map(|v| AddressRange::parse(v).map_err(|reason| FfiError::invalid_argument(format!("-{parameter}: {reason}"))))
        .collect()
}

fn wire_texts(values: &Option<Vec<String>>) -> Vec<String> {
    values.iter().flatten().map(|v| v.trim().to_string()).filter(|v| !v.is_empty()).collect()
}

impl OptionsWire {
    fn reader_options(&self, interpret: InterpretOptions) -> ReaderOptions {
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        let threads = self.threads.map(|t| t.max(1) as usize).unwrap_or(cores);
        ReaderOptions { interpret, threads, ..ReaderOptions::default() }
    }

    /// The session's options, and how it reads files.
    fn into_options(self) -> Result<(SessionOptions, ReaderOptions), FfiError> {
        let mut interpret = InterpretOptions::default();
        if self.day_first_dates == Some(true) {
            interpret.date_order = DateOrder::DayFirst;
        }
        if let Some(max) = self.max_record_bytes {
            interpret.max_record_bytes = usize::try_from(max)
                .ok()
                .filter(|m| *m > 0)
                .ok_or_else(|| FfiError::invalid_argument("MaxRecordBytes must be positive"))?;
        }
        let start = wire_time("StartDate", &self.start_date)?;
        let end = wire_time("EndDate", &self.end_date)?;
        if let (Some(s), Some(e)) = (start, end) {
            if s >= e {
                return Err(FfiError::invalid_argument(format!(
                    "-StartDate ({}) must be before -EndDate ({})",
                    time::format_iso(&s),
                    time::format_iso(&e)
                )));
            }
        }
        let filter = RecordFilter {
            start,
            end,
            mailboxes: wire_wildcards("Mailbox", &self.mailbox)?,
            users: wire_wildcards("UserIds", &self.user_ids)?,
        };
        // Named by the vocabulary, which the shim's AnalysisName is generated from.
        let name = self.analysis.as_deref().map(|text| AnalysisName::from_name(text).ok_or(text));
        let analysis: Option<Box<dyn Analysis>> = match name {
            None => None,
            Some(Ok(AnalysisName::Throttling)) => Some(Box::new(ThrottlingAnalysis::new())),
            Some(Ok(AnalysisName::Sync)) => Some(Box::new(SyncAnalysis::new())),
            Some(Ok(AnalysisName::Context)) => Some(Box::new(ContextAnalysis::new(ContextOptions {
                addresses: wire_ranges("ClientIPAddress", &self.client_ip_address)?,
                sessions: wire_texts(&self.session_id),
                suspicious: self.suspicious.unwrap_or(false),
                baseline_end: wire_time("BaselineEndDate", &self.baseline_end_date)?,
            }))),
            Some(Ok(AnalysisName::Bind)) => Some(Box::new(BindAnalysis::new())),
            Some(Ok(AnalysisName::Find)) => {
                let ids = wire_texts(&self.internet_message_id);
                Some(Box::new(FindAnalysis::new(ids.iter().map(String::as_str))))
            }
            // The verdict reads the records outside the filters too (counted as Filtered): the
            // dates bound the period of attacker access (records before it are the baseline,
            // and a throttled record before it can open a window into it), and -Mailbox and
            // -UserIds choose the findings reported, not the records that link.
            Some(Ok(AnalysisName::Verdict)) => Some(Box::new(VerdictAnalysis::new(VerdictOptions {
                indicators: Indicators {
                    addresses: wire_ranges("AttackerIPAddress", &self.attacker_ip_address)?,
                    sessions: wire_texts(&self.attacker_session_id),
                    client_info_strings: wire_wildcards("AttackerClientInfoString", &self.attacker_client_info_string)?,
                    app_ids: wire_texts(&self.attacker_app_id),
                    aad_sessions: wire_texts(&self.attacker_aad_session_id),
                },
                expand: !self.no_context_expansion.unwrap_or(false),
                expand_shared: self.expand_shared_indicator.unwrap_or(false),
                period_start: start,
                period_end: end,
                mailboxes: filter.mailboxes.clone(),
                users: filter.users.clone(),
            }))),
            Some(Err(other)) => return Err(FfiError::invalid_argument(format!("unknown analysis '{other}'"))),
        };
        let reader = self.reader_options(interpret);
        let session = SessionOptions { return_records: self.return_records.unwrap_or(false), filter, analysis };
        Ok((session, reader))
    }
}

/// # Safety
/// `ptr` must be null (with `len` 0) or valid for `len` bytes.
unsafe fn bytes<'a>(ptr: *const u8, len: usize) -> Result<&'a [u8], FfiError> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(FfiError::invalid_argument("null buffer with a non-zero length"));
    }
    // SAFETY: not null, and the caller guarantees `len` readable bytes for 'a.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// # Safety
/// `session` must be null or a live pointer from `maf_session_new`.
unsafe fn session_ref<'a>(session: *const MafSession) -> Result<&'a MafSession, FfiError> {
    // SAFETY: the caller guarantees null or a live session for 'a; `as_ref` checks null.
    unsafe { session.as_ref() }.ok_or_else(|| FfiError::invalid_argument("null session"))
}

/// # Safety
/// `reader` must be null or a live pointer from `maf_reader_open`.
unsafe fn reader_ref<'a>(reader: *const MafReader) -> Result<&'a MafReader, FfiError> {
    // SAFETY: the caller guarantees null or a live reader for 'a; `as_ref` checks null.
    unsafe { reader.as_ref() }.ok_or_else(|| FfiError::invalid_argument("null reader"))
}

/// Options sent as one node of the object-batch encoding (`what` names them in errors).
fn read_options<T: DeserializeOwned>(buf: &[u8], what: &str) -> Result<T, FfiError> {
    let node = BatchReader::new(buf).next_node().map_err(|e| FfiError::invalid_argument(format!("{what}: {e}")))?;
    T::deserialize(NodeDeserializer::new(&node)).map_err(|e| FfiError::invalid_argument(format!("{what}: {e}")))
}

/// The body of the `_free` exports of boxed objects.
///
/// # Safety
/// `ptr` must be null or from `Box::into_raw`, not freed before.
unsafe fn free_boxed<T>(ptr: *mut T) {
    guard_void(|| {
        if !ptr.is_null() {
            // SAFETY: from `Box::into_raw` and not freed before (the caller's contract).
            drop(unsafe { Box::from_raw(ptr) });
        }
    })
}

/// An export's output slot, borrowed for `'a` (the export's call: never keep it longer).
///
/// # Safety
/// `out` must be null or valid for reads and writes of a `T`, not aliased, for `'a`.
unsafe fn out_ptr<'a, T>(out: *mut T) -> Result<&'a mut T, FfiError> {
    // SAFETY: the caller guarantees null or a writable, unaliased slot for 'a; `as_mut` checks null.
    unsafe { out.as_mut() }.ok_or_else(|| FfiError::invalid_argument("null output pointer"))
}

/// The ABI version this library implements ([`MAF_ABI_VERSION`]).
#[no_mangle]
pub extern "C" fn maf_abi_version() -> u32 {
    MAF_ABI_VERSION
}

/// Copies `text` into `buf` (up to `cap` bytes) and returns its full length.
///
/// # Safety
/// `buf` must be null (with `cap` 0) or writable for `cap` bytes.
unsafe fn copy_text(text: &str, buf: *mut u8, cap: usize) -> usize {
    if !buf.is_null() && cap > 0 {
        let n = text.len().min(cap);
        // SAFETY: `buf` is writable for `cap` >= `n` bytes (the caller's contract) and cannot
        // overlap `text`, which the library owns.
        unsafe { std::ptr::copy_nonoverlapping(text.as_ptr(), buf, n) };
    }
    text.len()
}

/// Copies the engine's version (UTF-8, not NUL-terminated) into `buf`, up to `cap` bytes, and
/// returns its full length, as `maf_last_error` does.
///
/// # Safety
/// `buf` must be null (with `cap` 0) or writable for `cap` bytes.
#[no_mangle]
pub unsafe extern "C" fn maf_engine_version(buf: *mut u8, cap: usize) -> usize {
    let mut full = 0;
    // SAFETY: `buf` is null or writable for `cap` bytes (this export's contract).
    guard_void(|| full = unsafe { copy_text(env!("CARGO_PKG_VERSION"), buf, cap) });
    full
}

/// Copies the calling thread's last error message (UTF-8, not NUL-terminated) into `buf`, up
/// to `cap` bytes, and returns the message's full length: call again with a larger buffer
/// when it exceeds `cap`.
///
/// # Safety
/// `buf` must be null (with `cap` 0) or writable for `cap` bytes.
#[no_mangle]
pub unsafe extern "C" fn maf_last_error(buf: *mut u8, cap: usize) -> usize {
    let mut full = 0;
    guard_void(|| {
        // SAFETY: `buf` is null or writable for `cap` bytes (this export's contract).
        boundary::with_last_error(|message| full = unsafe { copy_text(message, buf, cap) })
    });
    full
}

/// Creates a session. `options` is a map in the object-batch encoding (keys: ReturnRecords,
/// DayFirstDates, MaxRecordBytes); empty for defaults. On success `*out` owns the session:
/// free it with `maf_session_free`.
///
/// # Safety
/// `options` must be valid for `options_len` bytes; `out` must be writable.
#[no_mangle]
pub unsafe extern "C" fn maf_session_new(options: *const u8, options_len: usize, out: *mut *mut MafSession) -> MafStatus {
    guard(|| {
        // SAFETY: `out` is writable (this export\'s contract).
        let out = unsafe { out_ptr(out) }?;
        *out = std::ptr::null_mut();
        // SAFETY: `options` is valid for `options_len` bytes (this export's contract).
        let buf = unsafe { bytes(options, options_len) }?;
        let wire: OptionsWire = if buf.is_empty() { OptionsWire::default() } else { read_options(buf, "session options")? };
        let options = wire.into_options()?;
        allocator::tune();
        let session = MafSession {
            reader_options: options.1,
            session: Mutex::new(Session::new(options.0)),
            cancelled: Arc::new(AtomicBool::new(false)),
            id: NEXT_SESSION_ID.fetch_add(1, Ordering::Relaxed),
        };
        *out = Box::into_raw(Box::new(session));
        Ok(())
    })
}

/// Frees a session. Null is ignored.
///
/// # Safety
/// `session` must be null or from `maf_session_new`, not freed before, and not in use by
/// another thread.
#[no_mangle]
pub unsafe extern "C" fn maf_session_free(session: *mut MafSession) {
    // SAFETY: `session` is null or unfreed from its `_new` export, and not in use (this export's contract).
    unsafe { free_boxed(session) }
}

/// Asks a session to stop at the next record boundary (safe from any thread, also while
/// another call runs on the session). Later calls on it return `MafStatus::Cancelled`.
///
/// # Safety
/// `session` must be null or live.
#[no_mangle]
pub unsafe extern "C" fn maf_session_cancel(session: *const MafSession) {
    guard_void(|| {
        // SAFETY: `session` is null or live (this export's contract).
        if let Some(session) = unsafe { session.as_ref() } {
            session.cancelled.store(true, Ordering::SeqCst);
        }
    })
}

/// Pipeline objects read but not yet counted: the result of `maf_session_parse_objects`.
/// Opaque to the caller.
pub struct MafParsed {
    results: Vec<ReadResult>,
}

/// Reads a batch of pipeline objects (the object-batch encoding, one top-level node per
/// object; `first_index` is the 0-based pipeline position of the first) into records, without
/// counting them: batches can be parsed on several threads at once, while another batch is
/// being counted. On success `*out` owns the parsed batch: hand it to `maf_session_accept`, or
/// free it with `maf_parsed_free`. `batch` may be reused once this returns.
///
/// # Safety
/// `session` must be live; `batch` valid for `batch_len` bytes; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn maf_session_parse_objects(
    session: *const MafSession,
    batch: *const u8,
    batch_len: usize,
    first_index: u64,
    out: *mut *mut MafParsed,
) -> MafStatus {
    guard(|| {
        // SAFETY: `out` is writable (this export\'s contract).
        let out = unsafe { out_ptr(out) }?;
        *out = std::ptr::null_mut();
        // SAFETY: `session` is null or live (this export\'s contract).
        let session = unsafe { session_ref(session) }?;
        session.ensure_running()?;
        // SAFETY: `batch` is valid for `batch_len` bytes (this export's contract).
        let batch = unsafe { bytes(batch, batch_len) }?;
        let results = parse_objects(batch, first_index, &session.reader_options.interpret, &session.cancelled)
            .map_err(|e| FfiError::new(MafStatus::BadBatch, e.to_string()))?;
        *out = Box::into_raw(Box::new(MafParsed { results }));
        Ok(())
    })
}

/// Counts a parsed batch into the session (duplicates, filters, tally, analysis), in the order
/// batches are accepted, and hands out what it produced: `*out` owns a batch (records when the
/// session returns records, and the errors of malformed records; free with `maf_batch_free`).
/// Takes ownership of `parsed`, whatever the status.
///
/// # Safety
/// `session` must be live; `parsed` from `maf_session_parse_objects`, not freed nor accepted
/// before; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn maf_session_accept(session: *const MafSession, parsed: *mut MafParsed, out: *mut *mut MafBatch) -> MafStatus {
    guard(|| {
        // SAFETY: `parsed` is null or from `maf_session_parse_objects`, not freed nor accepted
        // before (this export's contract): this call takes it over.
        let parsed = (!parsed.is_null()).then(|| unsafe { Box::from_raw(parsed) });
        // SAFETY: `out` is writable (this export\'s contract).
        let out = unsafe { out_ptr(out) }?;
        *out = std::ptr::null_mut();
        let parsed = parsed.ok_or_else(|| FfiError::invalid_argument("null parsed batch"))?;
        // SAFETY: `session` is null or live (this export\'s contract).
        let session = unsafe { session_ref(session) }?;
        session.ensure_running()?;
        let output = session.lock()?.ingest_results(parsed.results);
        *out = BatchOwner::build(&output).into_raw();
        Ok(())
    })
}

/// Frees a parsed batch that will not be accepted (the command was stopped). Null is ignored.
///
/// # Safety
/// `parsed` must be null or from `maf_session_parse_objects`, not freed nor accepted before.
#[no_mangle]
pub unsafe extern "C" fn maf_parsed_free(parsed: *mut MafParsed) {
    // SAFETY: `parsed` is null or unfreed from its `_new` export, and not in use (this export's contract).
    unsafe { free_boxed(parsed) }
}

/// Frees a batch result. Null is ignored.
///
/// # Safety
/// `batch` must be null or from an ingest call, not freed before.
#[no_mangle]
pub unsafe extern "C" fn maf_batch_free(batch: *mut MafBatch) {
    guard_void(|| {
        if !batch.is_null() {
            // SAFETY: not null, from the export that made it, not freed before (this export's contract).
            unsafe { BatchOwner::free(batch) };
        }
    })
}

/// The session's accounting so far. On success `*out` owns it: free with `maf_tally_free`.
///
/// # Safety
/// `session` must be live; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn maf_session_tally(session: *const MafSession, out: *mut *mut MafTally) -> MafStatus {
    guard(|| {
        // SAFETY: `out` is writable (this export\'s contract).
        let out = unsafe { out_ptr(out) }?;
        *out = std::ptr::null_mut();
        // SAFETY: `session` is null or live (this export\'s contract).
        let session = unsafe { session_ref(session) }?;
        let tally = session.lock()?.summary();
        *out = TallyOwner::build(&tally).into_raw();
        Ok(())
    })
}

/// Frees a tally. Null is ignored.
///
/// # Safety
/// `tally` must be null or from `maf_session_tally`, not freed before.
#[no_mangle]
pub unsafe extern "C" fn maf_tally_free(tally: *mut MafTally) {
    guard_void(|| {
        if !tally.is_null() {
            // SAFETY: not null, from the export that made it, not freed before (this export's contract).
            unsafe { TallyOwner::free(tally) };
        }
    })
}

/// Whether a tally's counts add up, by the engine's rule (`Tally::is_balanced`): the shim's
/// InputSummary asks here instead of keeping its own copy of the rule. `skipped_by_operation`
/// is the sum of the skipped records counted by operation. Returns MAF_TRUE or MAF_FALSE
/// (counts whose sums overflow do not add up).
#[no_mangle]
#[allow(clippy::too_many_arguments, reason = "one argument per count of the tally, as InputSummary holds them")]
pub extern "C" fn maf_tally_is_balanced(
    read: u64,
    analysed: u64,
    skipped: u64,
    duplicates: u64,
    filtered: u64,
    errors: u64,
    throttled: u64,
    not_throttled: u64,
    throttling_unknown: u64,
    skipped_by_operation: u64,
) -> u8 {
    let sums = [
        [analysed, skipped, duplicates, filtered, errors].iter().try_fold(0u64, |sum, &n| sum.checked_add(n)),
        [throttled, not_throttled, throttling_unknown].iter().try_fold(0u64, |sum, &n| sum.checked_add(n)),
    ];
    if sums.iter().any(Option::is_none) {
        return MAF_FALSE;
    }
    let tally = Tally {
        read,
        analysed,
        skipped,
        duplicates,
        filtered,
        errors,
        throttled,
        not_throttled,
        throttling_unknown,
        skipped_operations: [(String::new(), skipped_by_operation)].into_iter().collect(),
        ..Tally::default()
    };
    if tally.is_balanced() {
        MAF_TRUE
    } else {
        MAF_FALSE
    }
}

/// A file being read into a session. Opaque to the caller.
pub struct MafReader {
    /// Reads and parses ahead on its own thread while the caller counts.
    reader: Mutex<PrefetchingReader>,
    /// Readable while another thread waits in `maf_reader_next`.
    progress: ProgressHandle,
    /// The SHA-256 of the file's bytes as they are read.
    digest: Option<FileDigest>,
    /// `maf_reader_next` has reached the end of the records.
    ended: AtomicBool,
    /// The session the reader was opened for: the only one it reads into.
    session_id: u64,
}

impl MafReader {
    /// Refuses a session other than the reader's: its records would be counted in one
    /// session while its file is named and its cancellation watched in another.
    fn ensure_session(&self, session: &MafSession) -> Result<(), FfiError> {
        if self.session_id != session.id {
            return Err(FfiError::invalid_argument("the reader was opened for another session"));
        }
        Ok(())
    }
}

/// Opens a file of audit records for reading into `session`. `path` is UTF-16 (any file name
/// Windows allows crosses unchanged); `file_index` is the caller's number for the file, echoed
/// in every position it reads. On success `*out` owns the reader: free it with
/// `maf_reader_free`. A file that cannot be opened is `MafStatus::Io`, with the path and the
/// reason in `maf_last_error`.
///
/// # Safety
/// `session` must be live; `path` valid for `path_len` UTF-16 units; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn maf_reader_open(
    session: *const MafSession,
    path: *const u16,
    path_len: usize,
    file_index: u32,
    out: *mut *mut MafReader,
) -> MafStatus {
    guard(|| {
        // SAFETY: `out` is writable (this export\'s contract).
        let out = unsafe { out_ptr(out) }?;
        *out = std::ptr::null_mut();
        // SAFETY: `session` is null or live (this export\'s contract).
        let session = unsafe { session_ref(session) }?;
        if path.is_null() || path_len == 0 {
            return Err(FfiError::invalid_argument("empty path"));
        }
        // SAFETY: not null, and valid for `path_len` UTF-16 units (this export's contract).
        let path = unsafe { widestring::U16Str::from_ptr(path, path_len) };
        let path = std::path::PathBuf::from(path.to_os_string());
        let reader =
            RecordReader::open(&path, file_index, session.reader_options.clone()).map_err(|e| FfiError::new(MafStatus::Io, e.message))?;
        session.lock()?.completeness_mut().name_file(file_index, path.display().to_string());
        let digest = reader.digest();
        let reader = PrefetchingReader::spawn(reader, Arc::clone(&session.cancelled));
        let progress = reader.progress_handle();
        *out = Box::into_raw(Box::new(MafReader {
            reader: Mutex::new(reader),
            progress,
            digest,
            ended: AtomicBool::new(false),
            session_id: session.id,
        }));
        Ok(())
    })
}

/// Reads the next chunk of the file into the session (its filters, tally and analysis apply)
/// and hands out what it produced: `*out` owns a batch (records when the session returns
/// records, and the errors of unreadable records; free it with `maf_batch_free`), or is null
/// at the end of the file. Returns `MafStatus::Cancelled` promptly after `maf_session_cancel`;
/// a fault while reading ahead is `MafStatus::Panic` (the reader is then unusable), never the end.
///
/// `session` must be the one the reader was opened for (another is InvalidArgument).
///
/// # Safety
/// `session` and `reader` must be live; `out` writable. One call at a time per reader.
#[no_mangle]
pub unsafe extern "C" fn maf_reader_next(session: *const MafSession, reader: *const MafReader, out: *mut *mut MafBatch) -> MafStatus {
    guard(|| {
        // SAFETY: `out` is writable (this export\'s contract).
        let out = unsafe { out_ptr(out) }?;
        *out = std::ptr::null_mut();
        // SAFETY: `session` is null or live (this export\'s contract).
        let session = unsafe { session_ref(session) }?;
        // SAFETY: `reader` is null or live (this export\'s contract).
        let reader = unsafe { reader_ref(reader) }?;
        reader.ensure_session(session)?;
        let chunk = reader
            .reader
            .lock()
            .map_err(|_| FfiError::new(MafStatus::Panic, "the reader is unusable after an earlier internal error"))?
            .next_chunk();
        session.ensure_running()?;
        match chunk {
            Some(results) => {
                let output = session.lock()?.ingest_results(results);
                *out = BatchOwner::build(&output).into_raw();
            }
            None => reader.ended.store(true, Ordering::SeqCst),
        }
        Ok(())
    })
}

/// The reader's progress after its last chunk; safe while another thread is in
/// `maf_reader_next`.
///
/// # Safety
/// `reader` must be live; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn maf_reader_progress(reader: *const MafReader, out: *mut MafProgress) -> MafStatus {
    guard(|| {
        // SAFETY: `reader` is null or live (this export\'s contract).
        let reader = unsafe { reader_ref(reader) }?;
        // SAFETY: `out` is writable (this export's contract).
        let out = unsafe { out_ptr(out) }?;
        let progress = reader.progress.get();
        *out = MafProgress { bytes_read: progress.bytes_read, bytes_total: rows::number(progress.bytes_total), records: progress.records };
        Ok(())
    })
}

/// The SHA-256 of the file's bytes. Call it once `maf_reader_next` has reached the end: the
/// library then reads (and hashes) what the reader left of the file, so the hash is the file's
/// (as Get-FileHash gives it) whenever the file can be read to its end. Before the end, or once
/// the session was cancelled, the hash covers only the bytes read so far and `complete` is 0.
/// On success `*out` owns the digest: free it with `maf_digest_free`.
///
/// `session` must be the one the reader was opened for (another is InvalidArgument).
///
/// # Safety
/// `session` and `reader` must be live; `out` writable. Not while `maf_reader_next` runs.
#[no_mangle]
pub unsafe extern "C" fn maf_reader_digest(session: *const MafSession, reader: *const MafReader, out: *mut *mut MafDigest) -> MafStatus {
    guard(|| {
        // SAFETY: `out` is writable (this export\'s contract).
        let out = unsafe { out_ptr(out) }?;
        *out = std::ptr::null_mut();
        // SAFETY: `session` is null or live (this export\'s contract).
        let session = unsafe { session_ref(session) }?;
        // SAFETY: `reader` is null or live (this export\'s contract).
        let reader = unsafe { reader_ref(reader) }?;
        reader.ensure_session(session)?;
        let digest = reader.digest.as_ref().ok_or_else(|| FfiError::invalid_argument("the reader has no digest"))?;
        let outcome = digest.finish(reader.ended.load(Ordering::SeqCst), &session.cancelled);
        *out = DigestOwner::build(&outcome).into_raw();
        Ok(())
    })
}

/// Frees a digest. Null is ignored.
///
/// # Safety
/// `digest` must be null or from `maf_reader_digest`, not freed before.
#[no_mangle]
pub unsafe extern "C" fn maf_digest_free(digest: *mut MafDigest) {
    guard_void(|| {
        if !digest.is_null() {
            // SAFETY: not null, from the export that made it, not freed before (this export's contract).
            unsafe { DigestOwner::free(digest) };
        }
    })
}

/// Frees a reader (closes its file). Null is ignored.
///
/// # Safety
/// `reader` must be null or from `maf_reader_open`, not freed before, and not in use.
#[no_mangle]
pub unsafe extern "C" fn maf_reader_free(reader: *mut MafReader) {
    // SAFETY: `reader` is null or unfreed from its `_new` export, and not in use (this export's contract).
    unsafe { free_boxed(reader) }
}

/// Ends the session's analysis and hands out its results: `*out` owns them (free with
/// `maf_analysis_free`). Call once, after every input was read; a second call, or a session
/// without an analysis, is an InvalidArgument error.
///
/// # Safety
/// `session` must be live; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn maf_session_finish(session: *const MafSession, out: *mut *mut MafAnalysis) -> MafStatus {
    guard(|| {
        // SAFETY: `out` is writable (this export\'s contract).
        let out = unsafe { out_ptr(out) }?;
        *out = std::ptr::null_mut();
        // SAFETY: `session` is null or live (this export\'s contract).
        let session = unsafe { session_ref(session) }?;
        session.ensure_running()?;
        let result = session
            .lock()?
            .finish_analysis(&session.cancelled)
            .ok_or_else(|| FfiError::invalid_argument("the session has no analysis to finish"))?
            .map_err(|cancelled| FfiError::new(MafStatus::Cancelled, cancelled.to_string()))?;
        *out = AnalysisOwner::build(result).into_raw();
        Ok(())
    })
}

/// Frees analysis results. Null is ignored.
///
/// # Safety
/// `analysis` must be null or from `maf_session_finish`, not freed before.
#[no_mangle]
pub unsafe extern "C" fn maf_analysis_free(analysis: *mut MafAnalysis) {
    guard_void(|| {
        if !analysis.is_null() {
            // SAFETY: not null, from the export that made it, not freed before (this export's contract).
            unsafe { AnalysisOwner::free(analysis) };
        }
    })
}

/// Report options as the shim sends them.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct ReportOptionsWire {
    /// Html, Csv, Json or JsonLines.
    format: String,
    title: Option<String>,
    /// Who made the report (module and version).
    generator: Option<String>,
}

/// Renders a report of results: `items` holds one `{Type, Properties}` map per object (the
/// object-batch encoding): findings, at most one `MailAccessForensics.MailAccessRun` (the run
/// the findings came from) and one `InputSummary`, and other results; `options` a map with
/// Format (Html, Csv, Json or JsonLines), Title and Generator. On success `*out` owns the
/// text: free it with `maf_report_free`.
///
/// # Safety
/// `items` and `options` valid for their lengths; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn maf_report_render(
    items: *const u8,
    items_len: usize,
    options: *const u8,
    options_len: usize,
    out: *mut *mut MafReport,
) -> MafStatus {
    guard(|| {
        // SAFETY: `out` is writable (this export\'s contract).
        let out = unsafe { out_ptr(out) }?;
        *out = std::ptr::null_mut();
        // SAFETY: `options` is valid for `options_len` bytes (this export's contract).
        let options = unsafe { bytes(options, options_len) }?;
        let options: ReportOptionsWire = read_options(options, "report options")?;
        let format = report::ReportFormat::parse(&options.format)
            .ok_or_else(|| FfiError::invalid_argument(format!("unknown report format '{}'", options.format)))?;
        // SAFETY: `items` is valid for `items_len` bytes (this export's contract).
        let items = unsafe { bytes(items, items_len) }?;
        let mut reader = BatchReader::new(items);
        let mut nodes = Vec::new();
        while !reader.is_empty() {
            nodes.push(reader.next_node().map_err(|e| FfiError::new(MafStatus::BadBatch, e.to_string()))?);
        }
        let items = nodes
            .iter()
            .map(report::ReportItem::from_node)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| FfiError::new(MafStatus::BadBatch, e))?;
        let text = report::render(
            format,
            options.title.as_deref().unwrap_or("MailItemsAccessed investigation"),
            options.generator.as_deref().unwrap_or("MailAccessForensics"),
            &items,
        );
        let text = text.into_bytes().into_boxed_slice();
        let report = MafReport { text_len: text.len() as u64, text: Box::into_raw(text) as *const u8 };
        *out = Box::into_raw(Box::new(report));
        Ok(())
    })
}

/// Frees a report. Null is ignored.
///
/// # Safety
/// `report` must be null or from `maf_report_render`, not freed before.
#[no_mangle]
pub unsafe extern "C" fn maf_report_free(report: *mut MafReport) {
    guard_void(|| {
        if !report.is_null() {
            // SAFETY: not null, from `Box::into_raw` in its export, not freed before (this
            // export's contract); its text is the boxed slice made there, of `text_len` bytes.
            unsafe {
                let report = Box::from_raw(report);
                let text = std::ptr::slice_from_raw_parts_mut(report.text as *mut u8, report.text_len as usize);
                drop(Box::from_raw(text));
            }
        }
    })
}

/// Get-MailAccessKqlQuery's parameters as the shim sends them (dates as ISO 8601 UTC text).
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct KqlOptionsWire {
    /// OfficeActivity or CloudAppEvents.
    table: String,
    /// Throttling, Sync, Context, Bind or Verdict.
    step: String,
    start_date: Option<String>,
    end_date: Option<String>,
    mailbox: Option<Vec<String>>,
    user_ids: Option<Vec<String>>,
    #[serde(rename = "AttackerIPAddress")]
    attacker_ip_address: Option<Vec<String>>,
    attacker_session_id: Option<Vec<String>>,
    attacker_aad_session_id: Option<Vec<String>>,
    attacker_app_id: Option<Vec<String>>,
    attacker_client_info_string: Option<Vec<String>>,
    expansion_rounds: Option<u32>,
    expand_shared_indicator: Option<bool>,
}

impl KqlOptionsWire {
    fn render(self) -> Result<String, FfiError> {
        let table = kql::Table::parse(&self.table).map_err(FfiError::invalid_argument)?;
        let step = kql::Step::parse(&self.step).map_err(FfiError::invalid_argument)?;
        let options = kql::QueryOptions {
            start: wire_time("StartDate", &self.start_date)?,
            end: wire_time("EndDate", &self.end_date)?,
            mailboxes: wire_wildcards("Mailbox", &self.mailbox)?,
            user_ids: wire_wildcards("UserIds", &self.user_ids)?,
            addresses: wire_ranges("AttackerIPAddress", &self.attacker_ip_address)?,
            sessions: wire_texts(&self.attacker_session_id),
            aad_sessions: wire_texts(&self.attacker_aad_session_id),
            app_ids: wire_texts(&self.attacker_app_id),
            client_info_strings: wire_wildcards("AttackerClientInfoString", &self.attacker_client_info_string)?,
            expansion_rounds: self.expansion_rounds,
            expand_shared: self.expand_shared_indicator.unwrap_or(false),
        };
        kql::query(table, step, &options).map_err(FfiError::invalid_argument)
    }
}

/// Writes the KQL query of one table and step: `options` is a map in the object-batch
/// encoding (Table, Step, and the indicator, date and mailbox parameters of
/// Get-MailAccessKqlQuery). Values that cannot be indicators are an InvalidArgument error naming
/// the parameter. On success `*out` owns the text: free it with `maf_kql_query_free`.
///
/// # Safety
/// `options` valid for `options_len` bytes; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn maf_kql_query(options: *const u8, options_len: usize, out: *mut *mut MafKqlQuery) -> MafStatus {
    guard(|| {
        // SAFETY: `out` is writable (this export\'s contract).
        let out = unsafe { out_ptr(out) }?;
        *out = std::ptr::null_mut();
        // SAFETY: `options` is valid for `options_len` bytes (this export's contract).
        let options = unsafe { bytes(options, options_len) }?;
        let wire: KqlOptionsWire = read_options(options, "KQL options")?;
        let text = wire.render()?.into_bytes().into_boxed_slice();
        let query = MafKqlQuery { text_len: text.len() as u64, text: Box::into_raw(text) as *const u8 };
        *out = Box::into_raw(Box::new(query));
        Ok(())
    })
}

/// Frees a query. Null is ignored.
///
/// # Safety
/// `query` must be null or from `maf_kql_query`, not freed before.
#[no_mangle]
pub unsafe extern "C" fn maf_kql_query_free(query: *mut MafKqlQuery) {
    guard_void(|| {
        if !query.is_null() {
            // SAFETY: not null, from `Box::into_raw` in its export, not freed before (this
            // export's contract); its text is the boxed slice made there, of `text_len` bytes.
            unsafe {
                let query = Box::from_raw(query);
                let text = std::ptr::slice_from_raw_parts_mut(query.text as *mut u8, query.text_len as usize);
                drop(Box::from_raw(text));
            }
        }
    })
}

/// Panics inside the boundary and returns what the boundary made of it: lets tests (and a
/// user in doubt) check that a fault in the engine comes back as an error, not a crash.
#[no_mangle]
pub extern "C" fn maf_selftest_panic() -> MafStatus {
    guard(|| panic!("self-test panic"))
}

/// The same, with the panic on one of the engine's worker threads (as a fault while parsing a
/// batch in parallel would be): it comes back as this call's error, with its location.
#[no_mangle]
pub extern "C" fn maf_selftest_worker_panic() -> MafStatus {
    guard(|| {
        rayon::join(|| (), || panic!("worker self-test panic"));
        Ok(())
    })
}
