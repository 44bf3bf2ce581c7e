//! The panic and error boundary every export goes through.
//!
//! Since Rust 1.81 a panic unwinding out of an `extern "C"` function aborts the process, which
//! would take the user's pwsh with it. Every export therefore runs its body in [`guard`]: a
//! panic becomes `MafStatus::Panic`, an error its own status, and the message waits in a
//! thread-local for `maf_last_error` (the caller asks on the thread that made the call).

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Mutex, Once};

use crate::abi::MafStatus;

thread_local! {
    static LAST_ERROR: RefCell<String> = const { RefCell::new(String::new()) };
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
    /// True while an export's body runs: only those panics are ours to report.
    static IN_GUARD: Cell<bool> = const { Cell::new(false) };
}

/// An export's failure: a status and a message for the user.
#[derive(Debug)]
pub struct FfiError {
    pub status: MafStatus,
    pub message: String,
}

impl FfiError {
    pub fn new(status: MafStatus, message: impl Into<String>) -> FfiError {
        FfiError { status, message: message.into() }
    }

    pub fn invalid_argument(message: impl Into<String>) -> FfiError {
        FfiError::new(MafStatus::InvalidArgument, message)
    }
}

pub fn set_last_error(message: &str) {
    LAST_ERROR.with(|slot| {
        let mut slot = slot.borrow_mut();
        slot.clear();
        slot.push_str(message);
    });
}

pub fn with_last_error<R>(f: impl FnOnce(&str) -> R) -> R {
    LAST_ERROR.with(|slot| f(&slot.borrow()))
}

/// The default hook prints to the host's stderr; ours keeps the message (with its location)
/// for the error the export returns instead. That holds on the engine's own threads too (named
/// `maf-...`: the file reader, its parsers, the worker pool), whose panics the engine raises
/// again on the thread that made the call. Panics elsewhere (a Rust program using the crate as
/// a library) still go to the hook that was there before.
fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Named, so that the hook knows them. Fails only when the pool already exists.
        let _ = rayon::ThreadPoolBuilder::new().thread_name(|i| format!("maf-worker-{i}")).build_global();
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let message = payload_message(info.payload());
            let location = info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
            if IN_GUARD.with(Cell::get) {
                LAST_PANIC.with(|slot| *slot.borrow_mut() = Some(format!("{message}{location}")));
            } else if std::thread::current().name().is_some_and(|name| name.starts_with("maf-")) {
                *lock_worker_panic() = Some(WorkerPanic { message, location });
            } else {
                previous(info);
            }
        }));
    });
}

/// The last panic on an engine thread, until the export it was raised in takes it.
struct WorkerPanic {
    message: String,
    location: String,
}

static WORKER_PANIC: Mutex<Option<WorkerPanic>> = Mutex::new(None);

fn lock_worker_panic() -> std::sync::MutexGuard<'static, Option<WorkerPanic>> {
    WORKER_PANIC.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn payload_message(payload: &(dyn Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_string())
}

/// A panic raised again from another thread reaches the boundary without passing the hook on
/// this thread: its message is the payload's, its location the one the worker's hook kept.
fn describe_panic(payload: &(dyn Any + Send)) -> String {
    if let Some(detail) = LAST_PANIC.with(|slot| slot.borrow_mut().take()) {
        return detail;
    }
    let message = payload_message(payload);
    match lock_worker_panic().take() {
        Some(worker) if worker.message == message => format!("{message}{} (on an engine thread)", worker.location),
        _ => message,
    }
}

/// Runs an export's body: Ok becomes `MafStatus::Ok`, an error or a panic becomes its status
/// with the message kept for `maf_last_error`.
pub fn guard(body: impl FnOnce() -> Result<(), FfiError>) -> MafStatus {
    install_panic_hook();
    let outer = IN_GUARD.with(|flag| flag.replace(true));
    let outcome = catch_unwind(AssertUnwindSafe(body));
    IN_GUARD.with(|flag| flag.set(outer));
    match outcome {
        Ok(Ok(())) => MafStatus::Ok,
        Ok(Err(error)) => {
            set_last_error(&error.message);
            error.status
        }
        Err(payload) => {
            let detail = describe_panic(payload.as_ref());
            set_last_error(&format!("internal error in the MailAccessForensics engine (please report it): {detail}"));
            MafStatus::Panic
        }
    }
}

/// For exports that cannot report a status (the `_free` functions): swallow a panic rather
/// than abort the host.
pub fn guard_void(body: impl FnOnce()) {
    let _ = guard(|| {
        body();
        Ok(())
    });
}
