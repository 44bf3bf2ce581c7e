//! The SHA-256 of a file, for the chain of custody: computed over the bytes as the reader takes
//! them from the file (before any decompression), so the file is read once. The hashing itself
//! runs on a thread of its own, fed copies of what was read, so that it adds no time to reading
//! (the reading thread splits records while others parse them).
//!
//! The reader may stop before the end of the file (a gzip stream followed by other bytes, a
//! fault that ends reading): [`FileDigest::finish`] then reads the rest of the file through the
//! hash, so the hash is the file's whenever the file can be read. When it cannot (or the
//! command was stopped), the digest says how far it got instead of passing a hash of part of the
//! file off as the file's.

use std::io::{self, Read};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use sha2::{Digest, Sha256};

/// Copies of what was read waiting to be hashed: bounds the memory the hash may lag behind by.
const PENDING_BUFFERS: usize = 2;

/// The buffers there are at most: those waiting, and the one being hashed. The same few are
/// used again for the whole file: a fresh buffer of a few MiB for every read would be memory
/// the allocator returns to the system and takes back (zeroed by the kernel) again and again.
const BUFFERS: usize = PENDING_BUFFERS + 1;

/// The hashing thread: takes buffers, hashes them, hands them back for reuse.
struct Hasher {
    buffers: Option<SyncSender<Vec<u8>>>,
    spare: Receiver<Vec<u8>>,
    /// Buffers made so far (at most [`BUFFERS`]).
    made: usize,
    thread: Option<JoinHandle<Sha256>>,
    /// Once finished, the hash (the thread is gone).
    done: Option<[u8; 32]>,
}

impl Hasher {
    fn start() -> Hasher {
        let (buffers, incoming) = sync_channel::<Vec<u8>>(PENDING_BUFFERS);
        // Room for every buffer, so that giving one back never waits.
        let (give_back, spare) = sync_channel::<Vec<u8>>(BUFFERS);
        let thread = std::thread::Builder::new()
            .name("maf-hash".into())
            .spawn(move || {
                let mut hasher = Sha256::new();
                for buffer in incoming {
                    hasher.update(&buffer);
                    let _ = give_back.try_send(buffer);
                }
                hasher
            })
            .ok();
        Hasher { buffers: Some(buffers), spare, made: 0, thread, done: None }
    }

    fn update(&mut self, bytes: &[u8]) {
        let Some(buffers) = &self.buffers else { return };
        let buffer = match self.spare.try_recv() {
            Ok(buffer) => Ok(buffer),
            Err(_) if self.made < BUFFERS => {
                self.made += 1;
                Ok(Vec::new())
            }
            // All of them are waiting or being hashed: the next one back is free.
            Err(_) => self.spare.recv(),
        };
        let sent = buffer.map_err(drop).and_then(|mut buffer| {
            buffer.clear();
            buffer.extend_from_slice(bytes);
            buffers.send(buffer).map_err(drop)
        });
        if sent.is_err() {
            // The thread is gone (it could not start or it failed): the hash is lost, and
            // `finish` says so.
            self.buffers = None;
        }
    }

    /// The hash of everything given; None when the hashing thread was lost.
    fn finish(&mut self) -> Option<[u8; 32]> {
        if self.done.is_none() {
            self.buffers = None;
            let hasher = self.thread.take()?.join().ok()?;
            self.done = Some(hasher.finalize().into());
        }
        self.done
    }
}

struct State {
    source: Box<dyn Read + Send>,
    hasher: Hasher,
    bytes: u64,
    at_end: bool,
    failure: Option<String>,
}

impl State {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.source.read(buf) {
            Ok(n) => {
                // Once the hash is finished, nothing more is counted: `bytes` is what it covers.
                if n > 0 && self.hasher.done.is_none() {
                    self.hasher.update(&buf[..n]);
                    self.bytes += n as u64;
                } else if n == 0 && !buf.is_empty() {
                    self.at_end = true;
                }
                Ok(n)
            }
            Err(e) => {
                if e.kind() != io::ErrorKind::Interrupted {
                    self.failure = Some(e.to_string());
                }
                Err(e)
            }
        }
    }
}

/// Reads the file, hashing every byte it hands out. The state is shared with [`FileDigest`],
/// which outlives the reader (the reader is dropped on its thread when the file ends).
struct HashingReader(Arc<Mutex<State>>);

impl Read for HashingReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.lock().map_err(|_| io::Error::other("the file's hash is unusable after an earlier fault"))?.read(buf)
    }
}

/// What is known of a file's hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DigestOutcome {
    /// SHA-256 of the first `bytes` bytes of the file: of the whole file when `complete`.
    pub sha256: [u8; 32],
    pub bytes: u64,
    /// The hash covers the file to its end.
    pub complete: bool,
    /// Why it does not, when reading failed.
    pub failure: Option<String>,
}

impl DigestOutcome {
    /// Upper-case hexadecimal, as Get-FileHash writes it.
    pub fn hex(&self) -> String {
        self.sha256.iter().map(|b| format!("{b:02X}")).collect()
    }
}

/// The hash of a file being read; cheap to clone, usable from any thread.
#[derive(Clone)]
pub struct FileDigest(Arc<Mutex<State>>);

/// Wraps a file so that what is read from it is hashed.
pub(crate) fn hashing(source: Box<dyn Read + Send>) -> (Box<dyn Read + Send>, FileDigest) {
    let state = Arc::new(Mutex::new(State { source, hasher: Hasher::start(), bytes: 0, at_end: false, failure: None }));
    (Box::new(HashingReader(Arc::clone(&state))), FileDigest(state))
}

impl FileDigest {
    /// The hash so far. With `complete_file`, first reads (and hashes) whatever the reader left
    /// of the file, unless `cancel` is set (the command was stopped: the hash is then partial).
    /// Call it once reading is over; calling again gives the same answer.
    pub fn finish(&self, complete_file: bool, cancel: &AtomicBool) -> DigestOutcome {
        let unusable = |reason: &str| DigestOutcome { sha256: [0; 32], bytes: 0, complete: false, failure: Some(reason.to_string()) };
        let Ok(mut guard) = self.0.lock() else {
            return unusable("the hash is unusable after an earlier fault");
        };
        let state = &mut *guard;
        if complete_file && !state.at_end && state.failure.is_none() && state.hasher.done.is_none() {
            let mut buf = vec![0u8; 256 * 1024];
            while !cancel.load(Ordering::Relaxed) && !state.at_end {
                match state.read(&mut buf) {
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => break,
                }
            }
        }
        let Some(sha256) = state.hasher.finish() else {
            return unusable("the hash could not be computed (its thread was lost)");
        };
        DigestOutcome { sha256, bytes: state.bytes, complete: state.at_end && state.failure.is_none(), failure: state.failure.clone() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    const EMPTY: &str = "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855";
    const ABC: &str = "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD";

    #[test]
    fn the_hash_is_of_the_bytes_read() {
        let (mut reader, digest) = hashing(Box::new(Cursor::new(b"abc".to_vec())));
        let mut text = String::new();
        reader.read_to_string(&mut text).unwrap();
        let outcome = digest.finish(true, &AtomicBool::new(false));
        assert_eq!((outcome.hex().as_str(), outcome.bytes, outcome.complete), (ABC, 3, true));
    }

    #[test]
    fn what_the_reader_left_is_hashed_when_finishing() {
        let (mut reader, digest) = hashing(Box::new(Cursor::new(b"abc".to_vec())));
        let mut first = [0u8; 1];
        reader.read_exact(&mut first).unwrap();
        drop(reader);
        let outcome = digest.finish(true, &AtomicBool::new(false));
        assert_eq!((outcome.hex().as_str(), outcome.bytes, outcome.complete), (ABC, 3, true));
    }

    #[test]
    fn a_stopped_read_is_partial_not_the_files_hash() {
        let (mut reader, digest) = hashing(Box::new(Cursor::new(b"abc".to_vec())));
        let mut first = [0u8; 1];
        reader.read_exact(&mut first).unwrap();
        let outcome = digest.finish(true, &AtomicBool::new(true));
        assert_eq!((outcome.bytes, outcome.complete), (1, false));
        let outcome = digest.finish(false, &AtomicBool::new(false));
        assert!(!outcome.complete);
        let (_, empty) = hashing(Box::new(Cursor::new(Vec::new())));
        assert_eq!(empty.finish(true, &AtomicBool::new(false)).hex(), EMPTY);
    }

    #[test]
    fn the_same_few_buffers_carry_every_read() {
        let mut hasher = Hasher::start();
        let mut expected = Sha256::new();
        for i in 0..64u8 {
            let read = vec![i; 4096 + usize::from(i)];
            hasher.update(&read);
            expected.update(&read);
        }
        assert!(hasher.made <= BUFFERS, "{} buffers made for 64 reads", hasher.made);
        assert_eq!(hasher.finish(), Some(<[u8; 32]>::from(expected.finalize())));
    }

    struct Failing;
    impl Read for Failing {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            Err(io::Error::other("disk gone"))
        }
    }

    #[test]
    fn a_read_failure_is_named() {
        let (mut reader, digest) = hashing(Box::new(Failing));
        assert!(reader.read(&mut [0u8; 4]).is_err());
        let outcome = digest.finish(true, &AtomicBool::new(false));
        assert!(!outcome.complete);
        assert_eq!(outcome.failure.as_deref(), Some("disk gone"));
    }
}
