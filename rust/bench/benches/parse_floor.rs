//! The parse floor (see bench/README.md): serde_json on one core over AuditData JSON Lines,
//! into the fields the engine reads. Optionally (`--engine`) the engine itself on the same
//! lines: interpretation, duplicates, tally and the verdict, in-process on one thread.
//!
//! cargo bench -p maf-bench --bench parse_floor -- [--input FILE] [--repetitions N]
//!     [--min-seconds S] [--warmup N] [--engine] [--attacker-ip A] [--expect-records N]
//!     [--engine-stage interpret|session|verdict] [--json-out FILE]
//!
//! --engine-stage runs that one engine stage only (with --engine implied): what
//! bench/Measure-Instructions.ps1 counts under callgrind, one stage a process.
//!
//! Each measurement runs at least --repetitions times (5) and until the runs add up to
//! --min-seconds (2): the minimum of many short runs is robust to a busy machine.
//!
//! Without --input it generates a 20,000-record data set under target/ first. The input is read
//! into memory before timing: the floor is parsing, not disk.

// The allocator maf_native uses, for the floor and the engine alike: the comparison stays fair.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use maf_bench::floor::{engine_pass, lines, parse_all, peak_rss_bytes, reset_peak_rss, rss_bytes, EngineStage};
use serde_json::json;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("parse_floor: {message}");
            ExitCode::from(2)
        }
    }
}

struct Stats {
    times: Vec<f64>,
}

impl Stats {
    fn min(&self) -> f64 {
        self.times.iter().cloned().fold(f64::INFINITY, f64::min)
    }
    fn median(&self) -> f64 {
        let mut sorted = self.times.clone();
        sorted.sort_by(|a, b| a.partial_cmp(b).expect("finite"));
        let n = sorted.len();
        if n % 2 == 1 {
            sorted[n / 2]
        } else {
            (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
        }
    }
    fn json(&self, records: u64, bytes: u64) -> serde_json::Value {
        json!({
            "timesSeconds": self.times,
            "minSeconds": self.min(),
            "medianSeconds": self.median(),
            "recordsPerSecondBest": records as f64 / self.min(),
            "recordsPerSecondMedian": records as f64 / self.median(),
            "megabytesPerSecondBest": bytes as f64 / 1e6 / self.min(),
        })
    }
}

/// At least `repetitions` runs, and more (up to 200) until they add up to `min_seconds`: a
/// short run on a busy machine needs many samples for its minimum to mean something.
fn time<T>(warmup: usize, repetitions: usize, min_seconds: f64, mut body: impl FnMut() -> T) -> (Stats, T) {
    for _ in 0..warmup {
        std::hint::black_box(body());
    }
    let mut times = Vec::with_capacity(repetitions);
    let mut last = None;
    let mut total = 0.0;
    while times.len() < repetitions.max(1) || (total < min_seconds && times.len() < 200) {
        let started = Instant::now();
        let result = body();
        let seconds = started.elapsed().as_secs_f64();
        times.push(seconds);
        total += seconds;
        last = Some(std::hint::black_box(result));
    }
    (Stats { times }, last.expect("one repetition"))
}

fn run() -> Result<(), String> {
    let mut input: Option<PathBuf> = None;
    let mut repetitions = 5usize;
    let mut warmup = 1usize;
    let mut engine = false;
    let mut attacker_ip = "203.0.113.77".to_string();
    let mut expect_records: Option<u64> = None;
    let mut json_out: Option<PathBuf> = None;
    let mut min_seconds = 2.0f64;
    let mut only_stage: Option<EngineStage> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            // cargo bench passes --bench to every bench target.
            "--bench" => {}
            "--input" => input = Some(PathBuf::from(value("--input")?)),
            "--repetitions" => repetitions = value("--repetitions")?.parse().map_err(|e| format!("--repetitions: {e}"))?,
            "--warmup" => warmup = value("--warmup")?.parse().map_err(|e| format!("--warmup: {e}"))?,
            "--engine" => engine = true,
            "--attacker-ip" => attacker_ip = value("--attacker-ip")?,
            "--expect-records" => expect_records = Some(value("--expect-records")?.parse().map_err(|e| format!("--expect-records: {e}"))?),
            "--min-seconds" => min_seconds = value("--min-seconds")?.parse().map_err(|e| format!("--min-seconds: {e}"))?,
            "--json-out" => json_out = Some(PathBuf::from(value("--json-out")?)),
            "--engine-stage" => {
                only_stage = Some(match value("--engine-stage")?.as_str() {
                    "interpret" => EngineStage::Interpret,
                    "session" => EngineStage::Session,
                    "verdict" => EngineStage::Verdict,
                    other => return Err(format!("--engine-stage: {other} is not interpret, session or verdict")),
                });
                engine = true;
            }
            other if other.starts_with("--") => return Err(format!("unknown argument {other}")),
            _ => {} // a libtest-style filter: ignored
        }
    }
    let input = match input {
        Some(path) => path,
        None => {
            let target = std::env::var_os("CARGO_TARGET_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
            let dir = target.join("maf-bench-data/n20000");
            if !dir.join(maf_bench::MANIFEST_FILE).exists() {
                eprintln!("parse_floor: generating 20,000 records into {}", dir.display());
                let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
                maf_bench::generate_into(&dir, maf_bench::Config::for_records(20_000, 1), threads).map_err(|e| e.to_string())?;
            }
            dir.join(maf_bench::AUDIT_DATA_FILE)
        }
    };
    let buffer = std::fs::read(&input).map_err(|e| format!("{}: {e}", input.display()))?;
    let bytes = buffer.len() as u64;
    let lines = lines(&buffer);
    let records = lines.len() as u64;
    if let Some(expected) = expect_records {
        if expected != records {
            return Err(format!("{} has {records} lines, expected {expected}", input.display()));
        }
    }

    let (floor, count) = time(warmup, repetitions, min_seconds, || parse_all(&lines));
    if count.errors > 0 {
        return Err(format!("{} of {records} lines did not parse", count.errors));
    }
    let floor_rate = records as f64 / floor.min();
    println!(
        "parse floor (serde_json, 1 core): {records} records, {:.1} MB in {:.3} s best / {:.3} s median: {:.0} records/s, {:.0} MB/s",
        bytes as f64 / 1e6,
        floor.min(),
        floor.median(),
        floor_rate,
        bytes as f64 / 1e6 / floor.min()
    );
    let mut result = json!({
        "input": input.display().to_string(),
        "bytes": bytes,
        "records": records,
        "threads": 1,
        "repetitions": floor.times.len(),
        "minSeconds": min_seconds,
        "warmup": warmup,
        "floor": floor.json(records, bytes),
        "count": {
            "mailItemsAccessed": count.mail_items_accessed,
            "items": count.items,
            "bytesOfItems": count.bytes_of_items,
        },
    });
    // The process's peak so far: the input held in memory and the floor's passes.
    result["peakRssBytes"] = json!(peak_rss_bytes());
    if engine {
        // Cumulative stages: interpretation alone, then the session, then the verdict.
        let stages = [
            (EngineStage::Interpret, "engineInterpret", "engine: interpret_json only"),
            (EngineStage::Session, "engineSession", "engine: + session (duplicates, tally)"),
            (EngineStage::Verdict, "engine", "engine: + verdict (the cmdlet's work, in-process)"),
        ];
        for (stage, key, label) in stages.into_iter().filter(|(stage, _, _)| only_stage.is_none_or(|only| only == *stage)) {
            // The engine's own peak: what a pass holds on top of the input already in memory.
            let before = rss_bytes();
            let reset = reset_peak_rss();
            let (stats, engine_count) = time(warmup.min(1), repetitions, min_seconds, || engine_pass(&lines, &attacker_ip, stage));
            let peak_delta = match (reset, before, peak_rss_bytes()) {
                (true, Some(before), Some(peak)) => Some(peak.saturating_sub(before)),
                _ => None,
            };
            println!(
                "{label:<50} {:.3} s best / {:.3} s median: {:>8.0} records/s ({:.2}x the floor's time); {} analysed, {} skipped, {} errors, {} findings",
                stats.min(),
                stats.median(),
                records as f64 / stats.min(),
                stats.min() / floor.min(),
                engine_count.analysed,
                engine_count.skipped,
                engine_count.errors,
                engine_count.findings
            );
            let mut value = stats.json(records, bytes);
            value["analysed"] = json!(engine_count.analysed);
            value["skipped"] = json!(engine_count.skipped);
            value["errors"] = json!(engine_count.errors);
            value["findings"] = json!(engine_count.findings);
            value["peakDeltaBytes"] = json!(peak_delta);
            if let Some(delta) = peak_delta {
                println!("{:<50} peak {:.0} MB over the input", "", delta as f64 / 1e6);
            }
            result[key] = value;
        }
    }
    if let Some(path) = json_out {
        std::fs::write(&path, serde_json::to_string_pretty(&result).expect("JSON") + "\n")
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}
