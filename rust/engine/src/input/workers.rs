//! The threads that parse records: pools for the process, shared by every reader, not one
//! per file (a verdict over many files would otherwise start threads for each).

use std::sync::{Arc, Mutex};

use rayon::ThreadPool;

/// Where a reader asking for more than one thread parses its records.
#[derive(Clone)]
pub(crate) enum Workers {
    /// rayon's global pool, when it has the threads asked: the front end builds it, naming its
    /// threads `maf-worker-N` for its panic hook.
    Global,
    /// A pool of the threads asked, built once for the process and shared by every reader that
    /// asks for as many (threads named `maf-parse-N`, which the front end's panic hook knows).
    Sized(Arc<ThreadPool>),
}

/// The pools built so far, one per number of threads asked (a user rarely asks two).
static POOLS: Mutex<Vec<Arc<ThreadPool>>> = Mutex::new(Vec::new());

impl Workers {
    /// The workers for `threads` threads; None for one thread (the read stays on the calling
    /// thread), or when no pool could be started (then too).
    pub fn for_threads(threads: usize) -> Option<Workers> {
        if threads <= 1 {
            return None;
        }
        // Asked from outside any pool, this is the global pool's size.
        if rayon::current_thread_index().is_none() && rayon::current_num_threads() == threads {
            return Some(Workers::Global);
        }
        let mut pools = POOLS.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(pool) = pools.iter().find(|pool| pool.current_num_threads() == threads) {
            return Some(Workers::Sized(Arc::clone(pool)));
        }
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).thread_name(|i| format!("maf-parse-{i}")).build().ok()?;
        let pool = Arc::new(pool);
        pools.push(Arc::clone(&pool));
        Some(Workers::Sized(pool))
    }

    /// Runs `work` on these workers (rayon's calls in it use them), the caller waiting.
    pub fn install<R: Send>(&self, work: impl FnOnce() -> R + Send) -> R {
        match self {
            // From a thread outside any pool, rayon's calls go to the global pool.
            Workers::Global => work(),
            Workers::Sized(pool) => pool.install(work),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readers_asking_for_as_many_threads_share_one_pool() {
        let global = rayon::current_num_threads();
        let other = global + 1;
        let (Some(Workers::Sized(a)), Some(Workers::Sized(b))) = (Workers::for_threads(other), Workers::for_threads(other)) else {
            panic!("a pool of {other} threads");
        };
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(a.current_num_threads(), other);
        // Its threads carry the engine's prefix, which the front end's panic hook relies on.
        let name = a.install(|| std::thread::current().name().map(str::to_string));
        assert!(name.as_deref().is_some_and(|name| name.starts_with("maf-parse-")), "{name:?}");
        let Some(Workers::Sized(c)) = Workers::for_threads(other + 1) else { panic!("a pool of {} threads", other + 1) };
        assert!(!Arc::ptr_eq(&a, &c));
        assert_eq!(c.current_num_threads(), other + 1);
    }

    #[test]
    fn the_global_pool_serves_its_own_size_and_one_thread_stays_on_the_caller() {
        let global = rayon::current_num_threads();
        if global > 1 {
            assert!(matches!(Workers::for_threads(global), Some(Workers::Global)));
        }
        assert!(Workers::for_threads(1).is_none());
        assert!(Workers::for_threads(0).is_none());
    }
}
