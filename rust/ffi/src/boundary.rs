//! The panic and error boundary every export goes through.
//!
//! Since Rust 1.81 a panic unwinding out of an `extern "C"` function aborts the process, which
//! would take the user's pwsh with it. Every export therefore runs its body in [`guard`]: a
//! panic becomes `MafStatus::Panic`, an error its own status, and the message waits in a
//! thread-local for `maf_last_error` (the caller asks on the thread that made the call).

use std::cell::{Cell, RefCell};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Once;

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
/// for the error the export returns instead. Panics outside an export (a Rust program using the
/// crate as a library) still go to the hook that was there before.
fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !IN_GUARD.with(Cell::get) {
                previous(info);
                return;
            }
            let payload = info.payload();
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_string());
            let location = info
                .location()
                .map(|l| format!(" at {}:{}", l.file(), l.line()))
                .unwrap_or_default();
            LAST_PANIC.with(|slot| *slot.borrow_mut() = Some(format!("{message}{location}")));
        }));
    });
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
        Err(_) => {
            let detail = LAST_PANIC
                .with(|slot| slot.borrow_mut().take())
                .unwrap_or_else(|| "unknown panic".to_string());
            set_last_error(&format!(
                "internal error in the MailAccessForensics engine (please report it): {detail}"
            ));
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
