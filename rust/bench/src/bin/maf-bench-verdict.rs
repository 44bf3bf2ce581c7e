//! maf-bench-verdict: the verdict (Get-CompromisedMailAccess -AttackerIPAddress) over files,
//! in-process, as the cmdlet's file mode runs it (reader, session, verdict), with the memory of
//! each stage. For the benchmark's scale point and for comparing two builds of the engine.
//!
//! maf-bench-verdict --attacker-ip A [--threads T] FILE...
//!
//! Prints one JSON object: records, seconds per stage, resident memory after reading and peak
//! memory of each stage and the bytes of the verdict's temporary file (Linux), the number of findings and evidence records, and the SHA-256
//! of the whole result (findings, evidence, pairs, warnings) written out with `{:?}`: two builds
//! that print the same digest gave the same verdict.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Instant;

use maf_bench::floor::{peak_rss_bytes, reset_peak_rss, rss_bytes};
use mailaccess_engine::analysis::{AddressRange, Indicators, RecordFilter, VerdictAnalysis, VerdictOptions};
use mailaccess_engine::input::{PrefetchingReader, ReaderOptions, RecordReader};
use mailaccess_engine::{Session, SessionOptions};
use sha2::{Digest, Sha256};

// The allocator of the module's native library, with its options, so that memory is the cmdlet's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "../../../ffi/src/allocator.rs"]
mod allocator;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("maf-bench-verdict: {message}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let mut attacker: Option<String> = None;
    let mut threads = 2usize;
    let mut files: Vec<PathBuf> = Vec::new();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--attacker-ip" => attacker = args.next(),
            "--threads" => threads = args.next().and_then(|t| t.parse().ok()).ok_or("--threads takes a number")?,
            _ => files.push(PathBuf::from(arg)),
        }
    }
    let attacker = attacker.ok_or("--attacker-ip is required")?;
    let range = AddressRange::parse(&attacker).map_err(|e| format!("--attacker-ip: {e:?}"))?;
    let options = VerdictOptions { indicators: Indicators { addresses: vec![range], ..Default::default() }, ..Default::default() };
    allocator::tune();
    let analysis = Box::new(VerdictAnalysis::new(options));
    let mut session = Session::new(SessionOptions { return_records: false, filter: RecordFilter::default(), analysis: Some(analysis) });
    let cancel = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    for (index, path) in files.iter().enumerate() {
        let reader_options = ReaderOptions { threads, ..ReaderOptions::default() };
        let reader = RecordReader::open(path, index as u32, reader_options).map_err(|e| e.message)?;
        // As the cmdlet reads a file (maf_reader_open): reading and parsing run ahead on their
        // own thread while this one ingests, so the two overlap as they do there.
        let mut reader = PrefetchingReader::spawn(reader, Arc::clone(&cancel));
        while let Some(chunk) = reader.next_chunk() {
            std::hint::black_box(session.ingest_results(chunk));
        }
    }
    let read_seconds = started.elapsed().as_secs_f64();
    let (read_rss, read_peak, temp_bytes) = (rss_bytes(), peak_rss_bytes(), deleted_file_bytes());
    let reset = reset_peak_rss();
    let finishing = Instant::now();
    let tally = session.tally().clone();
    let result = session.finish_analysis(&cancel).ok_or("no analysis")?.map_err(|_| "cancelled")?;
    let verdict = result.output.verdict().ok_or("not a verdict")?;
    let finish_seconds = finishing.elapsed().as_secs_f64();
    let finish_peak = if reset { peak_rss_bytes() } else { None };
    let digest = Sha256::digest(format!("{:?}{:?}{:?}{:?}", verdict.findings, verdict.evidence, verdict.finding_evidence, result.warnings));
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    let number = |v: Option<u64>| v.map(|v| v.to_string()).unwrap_or_else(|| "null".to_string());
    println!(
        "{{\"records\":{},\"analysed\":{},\"readSeconds\":{read_seconds:.3},\"finishSeconds\":{finish_seconds:.3},\"readRssBytes\":{},\"readPeakBytes\":{},\"finishPeakBytes\":{},\"tempFileBytes\":{},\"findings\":{},\"evidence\":{},\"sha256\":\"{hex}\"}}",
        tally.read,
        tally.analysed,
        number(read_rss),
        number(read_peak),
        number(finish_peak),
        number(temp_bytes),
        verdict.findings.len(),
        verdict.evidence.len()
    );
    Ok(())
}

/// The bytes of the files this process holds open that are deleted: the verdict's anonymous
/// temporary file (Linux; None elsewhere).
fn deleted_file_bytes() -> Option<u64> {
    let entries = std::fs::read_dir("/proc/self/fd").ok()?;
    let mut total = 0;
    for entry in entries.flatten() {
        let deleted = std::fs::read_link(entry.path()).is_ok_and(|target| target.to_string_lossy().ends_with(" (deleted)"));
        if deleted {
            total += std::fs::metadata(entry.path()).map(|m| m.len()).unwrap_or(0);
        }
    }
    Some(total)
}
