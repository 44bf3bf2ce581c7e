//! The native library's allocator: mimalloc, and the one option it is given. The benchmark
//! (maf-bench-verdict) includes this file, so that it measures the memory of the cmdlets.
//!
//! Records are allocated on the parsing threads, chunk after chunk, and freed on the thread
//! that ingests them: pages empty and fill again every few milliseconds. With mimalloc's
//! default purge delay (10 ms) many are returned to the system in between and taken back,
//! zeroed again by the kernel (a 200 k record verdict: about 16,000 page faults instead of 230,
//! and much of its system time). A delay longer than the gap between two chunks, even on a
//! busy machine, keeps them; the cost is that freed memory goes back to the system that much
//! later, which raises the peak a little (1 M records in the cmdlet at 250 ms: 417-422 MB
//! instead of 407-416, up to 455 on a loaded machine; 100 ms let most faults back there).

use std::ffi::{c_int, c_long};
use std::sync::Once;

/// `mi_option_purge_delay` in mimalloc.h (v2.3, which the `v2` feature builds); libmimalloc-sys
/// names only the older options.
const MI_OPTION_PURGE_DELAY: c_int = 15;

/// mimalloc's own default for it.
#[cfg(test)]
const DEFAULT_PURGE_DELAY_MS: c_long = 10;

/// How long freed memory is kept before it is returned to the system.
const PURGE_DELAY_MS: c_long = 250;

extern "C" {
    fn mi_option_set(option: c_int, value: c_long);
    #[cfg(test)]
    fn mi_option_get(option: c_int) -> c_long;
}

/// Sets the allocator's options, once per process. A purge delay the user set
/// (MIMALLOC_PURGE_DELAY, which mimalloc reads at start) is left as it is.
pub fn tune() {
    static TUNED: Once = Once::new();
    TUNED.call_once(|| {
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
            // SAFETY: mimalloc's options may be set at any time from any thread; the option
            // is one of its own and the value in its range (-1 and up, in milliseconds).
            unsafe { mi_option_set(MI_OPTION_PURGE_DELAY, PURGE_DELAY_MS) };
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_purge_delay_is_the_option_set() {
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
            return;
        }
        // SAFETY: reading an option of mimalloc's own is allowed at any time.
        let get = || unsafe { mi_option_get(MI_OPTION_PURGE_DELAY) };
        // Before (unless another test tuned it already) the option holds the purge delay's
        // default: an index that named another option would hold that option's value.
        assert!([DEFAULT_PURGE_DELAY_MS, PURGE_DELAY_MS].contains(&get()), "option {MI_OPTION_PURGE_DELAY} is {}", get());
        tune();
        assert_eq!(get(), PURGE_DELAY_MS);
    }
}
