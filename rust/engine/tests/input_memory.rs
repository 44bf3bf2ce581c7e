//! Memory stays bounded: a 100 MB AuditData string is refused without being held, and reading
//! ten times more records does not take more memory. Measured with a counting allocator (this
//! file is its own test binary; its tests run one at a time).

mod input_common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{self, Cursor, Read};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use input_common::*;
use mailaccess_engine::input::{ReaderOptions, RecordReader};

struct CountingAllocator;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static SERIAL: Mutex<()> = Mutex::new(());

unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        ptr
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            if new_size > layout.size() {
                let now = CURRENT.fetch_add(new_size - layout.size(), Ordering::Relaxed) + new_size - layout.size();
                PEAK.fetch_max(now, Ordering::Relaxed);
            } else {
                CURRENT.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

const MB: usize = 1024 * 1024;

/// Reads everything, keeping only a summary; returns it and the peak memory above the start.
fn read_measured(reader: Box<dyn Read + Send>, options: ReaderOptions) -> (Vec<String>, usize) {
    let base = CURRENT.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let mut reader = RecordReader::from_reader(reader, None, None, options);
    let cancel = AtomicBool::new(false);
    let mut kept = Vec::new();
    while let Some(chunk) = reader.next_chunk(&cancel) {
        // Only the first results are kept, so that the test itself takes little memory.
        for s in summary(&chunk).into_iter().take(20usize.saturating_sub(kept.len())) {
            kept.push(s);
        }
    }
    drop(reader);
    (kept, PEAK.load(Ordering::Relaxed) - base)
}

fn huge_string_reader(prefix: String, size: usize, suffix: String) -> Box<dyn Read + Send> {
    Box::new(Cursor::new(prefix.into_bytes()).chain(io::repeat(b'x').take(size as u64)).chain(Cursor::new(suffix.into_bytes())))
}

#[test]
fn a_100_mb_audit_data_string_is_too_large_and_not_held() {
    let _serial = SERIAL.lock().unwrap();
    let good = audit_records().iter().map(|r| r.to_string()).collect::<Vec<_>>();
    for threads in [1, 2] {
        // JSON Lines: a Search-UnifiedAuditLog object whose AuditData string is 100 MB.
        let prefix = format!("{}\n{{\"Operations\":\"MailItemsAccessed\",\"AuditData\":\"", good[0]);
        let suffix = format!("\"}}\n{}\n", good[1]);
        let (summary, peak) =
            read_measured(huge_string_reader(prefix, 100 * MB, suffix), ReaderOptions { threads, ..ReaderOptions::default() });
        assert_eq!(
            summary,
            ["R 00000000-0000-0000-0000-000000000001 @1", "E TooLarge @2", "R 00000000-0000-0000-0000-000000000002 @3"],
            "threads {threads}"
        );
        println!("JSON Lines, 100 MB string, {threads} thread(s): peak {:.1} MiB", peak as f64 / MB as f64);
        assert!(peak < 32 * MB, "peak {peak} bytes");

        // The same inside an array (the structural splitter).
        let prefix = format!("[{},{{\"AuditData\":\"", good[0]);
        let suffix = format!("\"}},{}]", good[1]);
        let (summary, peak) =
            read_measured(huge_string_reader(prefix, 100 * MB, suffix), ReaderOptions { threads, ..ReaderOptions::default() });
        assert_eq!(summary, ["R 00000000-0000-0000-0000-000000000001 @1", "E TooLarge @1", "R 00000000-0000-0000-0000-000000000002 @1"]);
        println!("JSON array, 100 MB string, {threads} thread(s): peak {:.1} MiB", peak as f64 / MB as f64);
        assert!(peak < 32 * MB, "peak {peak} bytes");

        // A CSV row (Search-UnifiedAuditLog Export-Csv).
        let csv = sual_csv();
        let mut lines = csv.lines();
        let head = format!("{}\n{}\n{}\n", lines.next().unwrap(), lines.next().unwrap(), lines.next().unwrap());
        let prefix = format!("{head}\"ExchangeItemAggregated\",\"3/1/2024 10:15:00 AM\",\"a@b\",\"MailItemsAccessed\",\"");
        let suffix = format!("\",\"1\",\"1\",\"x\",\"True\",\"Unchanged\"\n{}\n", lines.next().unwrap());
        let (summary, peak) =
            read_measured(huge_string_reader(prefix, 100 * MB, suffix), ReaderOptions { threads, ..ReaderOptions::default() });
        assert_eq!(summary, ["R 00000000-0000-0000-0000-000000000001 @3", "E TooLarge @4", "R 00000000-0000-0000-0000-000000000002 @5"]);
        println!("CSV, 100 MB field, {threads} thread(s): peak {:.1} MiB", peak as f64 / MB as f64);
        assert!(peak < 32 * MB, "peak {peak} bytes");
    }
}

#[test]
fn a_csv_quote_that_never_closes_in_a_large_file_is_not_held() {
    let _serial = SERIAL.lock().unwrap();
    let csv = four_column_csv();
    // 60 MB of rows without a quote after the one that opens: it never closes.
    let prefix = format!("{csv}2024-01-01T00:00:00,a@b,MailItemsAccessed,\"{{never closed\n");
    let tail = "2024-01-01T00:00:00,a@b,MailItemsAccessed,{}\n".repeat(60 * MB / 45);
    let (summary, peak) =
        read_measured(Box::new(Cursor::new(prefix.into_bytes()).chain(Cursor::new(tail.into_bytes()))), ReaderOptions::default());
    assert_eq!(summary.len(), 7, "{summary:?}");
    assert_eq!(summary[6], "E InvalidCsv @8");
    println!("CSV, unclosed quote before 60 MB: peak {:.1} MiB", peak as f64 / MB as f64);
    assert!(peak < 32 * MB, "peak {peak} bytes");
}

/// `count` copies of the six-record JSON Lines text.
struct Repeated {
    text: Vec<u8>,
    at: usize,
    left: usize,
}

impl Read for Repeated {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut n = 0;
        while n < buf.len() && self.left > 0 {
            let take = (self.text.len() - self.at).min(buf.len() - n);
            buf[n..n + take].copy_from_slice(&self.text[self.at..self.at + take]);
            n += take;
            self.at += take;
            if self.at == self.text.len() {
                self.at = 0;
                self.left -= 1;
            }
        }
        Ok(n)
    }
}

#[test]
fn memory_is_flat_when_the_input_grows_tenfold() {
    let _serial = SERIAL.lock().unwrap();
    for (name, text) in [("JSON Lines", jsonl()), ("SUAL CSV rows", sual_csv())] {
        let (header, rows) = if name.contains("CSV") {
            let split = text.match_indices('\n').nth(1).unwrap().0 + 1;
            (text[..split].to_string(), text[split..].to_string())
        } else {
            (String::new(), text)
        };
        let mut peaks = Vec::new();
        for copies in [2_000, 20_000] {
            let reader = Cursor::new(header.clone().into_bytes()).chain(Repeated { text: rows.clone().into_bytes(), at: 0, left: copies });
            let options = ReaderOptions { chunk_bytes: 512 * 1024, threads: 2, ..ReaderOptions::default() };
            let (_, peak) = read_measured(Box::new(reader), options);
            println!("{name}: {} MB of input, peak {:.1} MiB", copies * rows.len() / MB, peak as f64 / MB as f64);
            peaks.push(peak);
        }
        assert!(peaks[1] < peaks[0] * 3 / 2 + MB, "{name}: {peaks:?}");
        assert!(peaks[1] < 16 * MB, "{name}: {peaks:?}");
    }
}
