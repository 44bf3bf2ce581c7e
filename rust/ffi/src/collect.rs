//! The exports of collection (Save-MailAccessAuditLog) and of collection folders as input.
//!
//! The shim drives a collector: it asks `maf_collector_next` what to do, runs the
//! Search-UnifiedAuditLog call asked for, and hands back the objects it returned
//! (`maf_collector_page`, in the object-batch encoding) or its error (`maf_collector_failed`).
//! The engine checks the pages, writes the records and the manifest; the shim never sees JSON.

use std::path::PathBuf;
use std::sync::Mutex;

use mailaccess_engine::collect::{self, Collector, CollectorOptions, Manifest, Policy, Step, WindowStatus};
use mailaccess_engine::input::tree::{BatchReader, NodeDeserializer};
use mailaccess_engine::time::{self, DateOrder};
use serde::Deserialize;

use crate::abi::*;
use crate::boundary::{guard, guard_void, FfiError};
use crate::rows::Arena;
use crate::{bytes, free_boxed, out_ptr, read_options, session_ref, wire_time, MafSession};

/// A collection being fetched. Opaque to the caller.
pub struct MafCollector {
    collector: Mutex<Collector>,
    /// The texts the last step lends out.
    step_texts: Mutex<(String, String)>,
}

/// Collector options as the shim sends them (keys are the cmdlet's parameter names).
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct CollectorWire {
    path: String,
    start_date: Option<String>,
    end_date: Option<String>,
    mailbox: Option<Vec<String>>,
    operations: Option<Vec<String>>,
    /// When the run starts (ISO text, UTC).
    now: String,
    run_id: String,
    tool: String,
    host: Option<serde_json::Value>,
    connection: Option<serde_json::Value>,
    /// The first wait after a failure (default 10 s); it doubles with each further one.
    retry_delay_milliseconds: Option<u64>,
}

impl MafCollector {
    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Collector>, FfiError> {
        self.collector.lock().map_err(|_| FfiError::new(MafStatus::Panic, "the collection is unusable after an earlier internal error"))
    }
}

/// # Safety
/// `collector` must be null or live.
unsafe fn collector_ref<'a>(collector: *const MafCollector) -> Result<&'a MafCollector, FfiError> {
    // SAFETY: the caller guarantees null or a live collector for 'a; `as_ref` checks null.
    unsafe { collector.as_ref() }.ok_or_else(|| FfiError::invalid_argument("null collector"))
}

/// An engine error of the collection: a folder or file problem is Io, the rest bad input.
fn collect_error(message: String) -> FfiError {
    FfiError::new(MafStatus::Io, message)
}

/// Opens (or starts) the collection in the folder `options` names (keys: Path, StartDate,
/// EndDate, Mailbox, Operations, Now, RunId, Tool, Host, Connection,
/// RetryDelayMilliseconds). Parameters left out are taken from the folder's manifest; given
/// ones must match it. On success `*out` owns the collector: free it with
/// `maf_collector_free` (after `maf_collector_finish`). A folder that cannot be used is
/// `MafStatus::Io`, with the reason in `maf_last_error`.
///
/// # Safety
/// `options` valid for `options_len` bytes; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn maf_collector_new(options: *const u8, options_len: usize, out: *mut *mut MafCollector) -> MafStatus {
    guard(|| {
        // SAFETY: `out` is writable (this export\'s contract).
        let out = unsafe { out_ptr(out) }?;
        *out = std::ptr::null_mut();
        // SAFETY: `options` is valid for `options_len` bytes (this export's contract).
        let options = unsafe { bytes(options, options_len) }?;
        let wire: CollectorWire = read_options(options, "collector options")?;
        let now = time::parse_timestamp(&wire.now, DateOrder::MonthFirst)
            .map_err(|reason| FfiError::invalid_argument(format!("Now: {reason}")))?;
        let mut policy = Policy::default();
        if let Some(ms) = wire.retry_delay_milliseconds {
            policy.retry_delay = chrono::Duration::milliseconds(ms.min(3_600_000) as i64);
        }
        let options = CollectorOptions {
            folder: PathBuf::from(&wire.path),
            start_date: wire_time("StartDate", &wire.start_date)?,
            end_date: wire_time("EndDate", &wire.end_date)?,
            mailbox: wire.mailbox,
            operations: wire.operations,
            now,
            run_id: wire.run_id,
            tool: wire.tool,
            host: wire.host.unwrap_or(serde_json::Value::Null),
            connection: wire.connection.unwrap_or(serde_json::Value::Null),
            policy,
        };
        let collector = Collector::open(options).map_err(collect_error)?;
        *out = Box::into_raw(Box::new(MafCollector { collector: Mutex::new(collector), step_texts: Mutex::new(Default::default()) }));
        Ok(())
    })
}

/// Frees a collector. Null is ignored. A collector freed before `maf_collector_finish` leaves
/// its folder as an interrupted run does (consistent, resumable).
///
/// # Safety
/// `collector` must be null or from `maf_collector_new`, not freed before, and not in use.
#[no_mangle]
pub unsafe extern "C" fn maf_collector_free(collector: *mut MafCollector) {
    // SAFETY: `collector` is null or unfreed from `maf_collector_new`, and not in use (this export's contract).
    unsafe { free_boxed(collector) }
}

/// What to do next: `*out` is filled; its texts are borrowed until the next call on the
/// collector.
///
/// # Safety
/// `collector` must be live; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn maf_collector_next(collector: *const MafCollector, out: *mut MafCollectStep) -> MafStatus {
    guard(|| {
        // SAFETY: `collector` is null or live (this export\'s contract).
        let handle = unsafe { collector_ref(collector) }?;
        // SAFETY: `out` is writable (this export's contract).
        let out = unsafe { out_ptr(out) }?;
        let mut c = handle.lock()?;
        let step = c.next_step();
        let notes = c.take_notes().join("\n");
        let (done, written, permille) = c.progress();
        let mut texts = handle
            .step_texts
            .lock()
            .map_err(|_| FfiError::new(MafStatus::Panic, "the collection is unusable after an earlier internal error"))?;
        let mut result = MafCollectStep {
            kind: MAF_STEP_DONE,
            page: 0,
            session: 0,
            permille,
            window: 0,
            start: 0,
            end: 0,
            wait_ms: 0,
            windows_done: done,
            records_written: written,
            session_id: std::ptr::null(),
            session_id_len: 0,
            notes: std::ptr::null(),
            notes_len: 0,
        };
        let mut session_text = String::new();
        match step {
            Step::Call { window, start, end, session_id, page, session } => {
                result.kind = MAF_STEP_CALL;
                result.window = window as u64 + 1;
                result.start = time::to_dotnet_ticks(&start);
                result.end = time::to_dotnet_ticks(&end);
                result.page = page;
                result.session = session;
                session_text = session_id;
            }
            Step::Wait(wait) => {
                result.kind = MAF_STEP_WAIT;
                result.wait_ms = wait.num_milliseconds().max(0) as u64;
            }
            Step::Done => {}
        }
        *texts = (session_text, notes);
        result.session_id = texts.0.as_ptr();
        result.session_id_len = texts.0.len() as u64;
        result.notes = texts.1.as_ptr();
        result.notes_len = texts.1.len() as u64;
        *out = result;
        Ok(())
    })
}

/// The call asked for returned these objects (the object-batch encoding, one top-level node
/// per object, every property of each).
///
/// # Safety
/// `collector` must be live; `batch` valid for `batch_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn maf_collector_page(collector: *const MafCollector, batch: *const u8, batch_len: usize) -> MafStatus {
    guard(|| {
        // SAFETY: `collector` is null or live (this export\'s contract).
        let handle = unsafe { collector_ref(collector) }?;
        // SAFETY: `batch` is valid for `batch_len` bytes (this export's contract).
        let buf = unsafe { bytes(batch, batch_len) }?;
        handle.lock()?.page(buf).map_err(collect_error)
    })
}

/// The call asked for failed with this message (UTF-8).
///
/// # Safety
/// `collector` must be live; `message` valid for `message_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn maf_collector_failed(collector: *const MafCollector, message: *const u8, message_len: usize) -> MafStatus {
    guard(|| {
        // SAFETY: `collector` is null or live (this export\'s contract).
        let handle = unsafe { collector_ref(collector) }?;
        // SAFETY: `message` is valid for `message_len` bytes (this export's contract).
        let message = unsafe { bytes(message, message_len) }?;
        let text = std::str::from_utf8(message).map_err(|_| FfiError::invalid_argument("the message is not UTF-8"))?;
        handle.lock()?.failed(text).map_err(collect_error)
    })
}

/// Records the audit configuration checks in the manifest: `batch` holds one list node, a map
/// per mailbox checked.
///
/// # Safety
/// `collector` must be live; `batch` valid for `batch_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn maf_collector_record_audit_checks(
    collector: *const MafCollector,
    batch: *const u8,
    batch_len: usize,
) -> MafStatus {
    guard(|| {
        // SAFETY: `collector` is null or live (this export\'s contract).
        let handle = unsafe { collector_ref(collector) }?;
        // SAFETY: `batch` is valid for `batch_len` bytes (this export's contract).
        let batch = unsafe { bytes(batch, batch_len) }?;
        let node = BatchReader::new(batch).next_node().map_err(|e| FfiError::new(MafStatus::BadBatch, e.to_string()))?;
        let checks = Vec::<serde_json::Value>::deserialize(NodeDeserializer::new(&node))
            .map_err(|e| FfiError::invalid_argument(format!("audit checks: {e}")))?;
        handle.lock()?.set_audit_configuration(checks).map_err(collect_error)
    })
}

/// Ends the run and writes the manifest for the last time; `stopped` (non-zero) when the user
/// stopped it. Call once, before `maf_collector_summary` and `maf_collector_free`.
///
/// # Safety
/// `collector` must be live.
#[no_mangle]
pub unsafe extern "C" fn maf_collector_finish(collector: *const MafCollector, stopped: u8) -> MafStatus {
    guard(|| {
        // SAFETY: `collector` is null or live (this export\'s contract).
        let handle = unsafe { collector_ref(collector) }?;
        handle.lock()?.finish(stopped != 0, chrono::DateTime::<chrono::Utc>::from(std::time::SystemTime::now())).map_err(collect_error)
    })
}

/// The collection as its manifest stands: `*out` owns it (free with `maf_collection_free`).
///
/// # Safety
/// `collector` must be live; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn maf_collector_summary(collector: *const MafCollector, out: *mut *mut MafCollection) -> MafStatus {
    guard(|| {
        // SAFETY: `out` is writable (this export\'s contract).
        let out = unsafe { out_ptr(out) }?;
        *out = std::ptr::null_mut();
        // SAFETY: `collector` is null or live (this export\'s contract).
        let handle = unsafe { collector_ref(collector) }?;
        let c = handle.lock()?;
        let files: Vec<(PathBuf, u64)> = c.manifest().files.iter().map(|f| (c.folder().join(&f.name), f.records)).collect();
        *out = CollectionOwner::build(c.folder(), c.manifest(), &files, &[]).into_raw();
        Ok(())
    })
}

/// Reads the collection folder `path` (UTF-16) as input of `session`: checks its manifest and
/// files, and tells the session why the collection may be incomplete. The caller then reads
/// the files `*out` lists, in order, with `maf_reader_open`, numbering them from
/// `first_file_index`. A folder without a collection is `MafStatus::Io`.
///
/// # Safety
/// `session` must be live; `path` valid for `path_len` UTF-16 units; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn maf_session_read_collection(
    session: *const MafSession,
    path: *const u16,
    path_len: usize,
    first_file_index: u32,
    out: *mut *mut MafCollection,
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
        let folder = unsafe { widestring::U16Str::from_ptr(path, path_len) };
        let folder = PathBuf::from(folder.to_os_string());
        let input = collect::read_collection(&folder).map_err(collect_error)?;
        {
            let mut s = session.lock()?;
            let completeness = s.completeness_mut();
            for reason in &input.reasons {
                completeness.note(reason.clone());
            }
            for (i, (file, records)) in input.files.iter().enumerate() {
                completeness.expect_collection_file(first_file_index + i as u32, file.display().to_string(), *records);
            }
        }
        *out = CollectionOwner::build(&folder, &input.manifest, &input.files, &input.reasons).into_raw();
        Ok(())
    })
}

/// Frees a collection. Null is ignored.
///
/// # Safety
/// `collection` must be null or from a `maf_*collection*` call, not freed before.
#[no_mangle]
pub unsafe extern "C" fn maf_collection_free(collection: *mut MafCollection) {
    guard_void(|| {
        if !collection.is_null() {
            // SAFETY: not null, from the export that made it, not freed before (this export's contract).
            unsafe { CollectionOwner::free(collection) };
        }
    })
}

/// A collection written as ABI rows (built as the other results are).
#[repr(C)]
struct CollectionOwner {
    header: MafCollection,
    arena: Arena,
    texts: Vec<MafText>,
    windows: Vec<MafCollectionWindow>,
    files: Vec<MafCollectionFile>,
}

impl CollectionOwner {
    fn build(folder: &std::path::Path, manifest: &Manifest, files: &[(PathBuf, u64)], reasons: &[String]) -> Box<CollectionOwner> {
        let mut arena = Arena::default();
        let mut texts = Vec::new();
        let mut list = |arena: &mut Arena, values: &[String]| {
            let start = texts.len() as u32;
            for v in values {
                texts.push(arena.text(v));
            }
            MafTextList { start, len: values.len() as u32 }
        };
        let mailboxes = list(&mut arena, &manifest.parameters.mailbox);
        let operations = list(&mut arena, &manifest.parameters.operations);
        let reasons = list(&mut arena, reasons);
        let ticks = |text: &str| collect::manifest::read_time(text).map(|t| time::to_dotnet_ticks(&t)).unwrap_or(0);
        let windows: Vec<MafCollectionWindow> = manifest
            .windows
            .iter()
            .map(|w| MafCollectionWindow {
                start: ticks(&w.start),
                end: ticks(&w.end),
                status: match w.status {
                    WindowStatus::Complete => MAF_WINDOW_COMPLETE,
                    WindowStatus::Incomplete => MAF_WINDOW_INCOMPLETE,
                    WindowStatus::Pending => MAF_WINDOW_PENDING,
                },
                reason: arena.opt(w.reason.as_deref()),
                calls: w.calls,
                sessions: w.sessions,
                failures: w.failures,
                returned: w.returned,
                written: w.written,
                duplicates: w.duplicates,
                other_mailboxes: w.other_mailboxes,
            })
            .collect();
        let hashes: std::collections::HashMap<PathBuf, &str> =
            manifest.files.iter().map(|f| (folder.join(&f.name), f.sha256.as_str())).collect();
        let files: Vec<MafCollectionFile> = files
            .iter()
            .map(|(path, records)| MafCollectionFile {
                path: arena.text(&path.display().to_string()),
                records: *records,
                sha256: arena.opt(hashes.get(path).copied()),
            })
            .collect();
        let folder = arena.text(&folder.display().to_string());
        let header = MafCollection {
            arena: arena.as_ptr(),
            arena_len: arena.len(),
            texts: texts.as_ptr(),
            texts_len: texts.len() as u64,
            windows: windows.as_ptr(),
            windows_len: windows.len() as u64,
            files: files.as_ptr(),
            files_len: files.len() as u64,
            folder,
            start: ticks(&manifest.parameters.start_date),
            end: ticks(&manifest.parameters.end_date),
            record_count: manifest.record_count,
            mailboxes,
            operations,
            reasons,
            complete: u8::from(manifest.complete),
            settled: u8::from(manifest.settled),
        };
        // The Vecs' buffers do not move with them.
        Box::new(CollectionOwner { header, arena, texts, windows, files })
    }

    fn into_raw(self: Box<Self>) -> *mut MafCollection {
        Box::into_raw(self) as *mut MafCollection
    }

    /// # Safety
    /// `ptr` must come from [`CollectionOwner::into_raw`] and not have been freed.
    unsafe fn free(ptr: *mut MafCollection) {
        // SAFETY: `ptr` came from `into_raw` of a `Box<CollectionOwner>` (the caller's contract).
        drop(unsafe { Box::from_raw(ptr as *mut CollectionOwner) });
    }
}
