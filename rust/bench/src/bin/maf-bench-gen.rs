//! maf-bench-gen: writes the benchmark's synthetic tenant (see bench/README.md).
//!
//! maf-bench-gen --records N --out DIR [--mailboxes M] [--days D] [--seed S]
//!               [--attacker-ip A] [--threads T] [--json-lines-only]
//!
//! Writes DIR/search-unifiedauditlog.jsonl, DIR/purview.csv, DIR/auditdata.jsonl and, last,
//! DIR/manifest.json (printed on stdout too). The same arguments give the same bytes.
//! --json-lines-only writes DIR/auditdata.jsonl alone (the benchmark's scale point).

use std::path::PathBuf;
use std::process::ExitCode;

use maf_bench::{generate_files, Config};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("maf-bench-gen: {message}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let mut records: Option<u64> = None;
    let mut out: Option<PathBuf> = None;
    let mut mailboxes: Option<u32> = None;
    let mut days: Option<u32> = None;
    let mut seed: u64 = 1;
    let mut attacker_ip: Option<String> = None;
    let mut threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let mut json_lines_only = false;
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--records" => records = Some(value("--records")?.parse().map_err(|e| format!("--records: {e}"))?),
            "--out" => out = Some(PathBuf::from(value("--out")?)),
            "--mailboxes" => mailboxes = Some(value("--mailboxes")?.parse().map_err(|e| format!("--mailboxes: {e}"))?),
            "--days" => days = Some(value("--days")?.parse().map_err(|e| format!("--days: {e}"))?),
            "--seed" => seed = value("--seed")?.parse().map_err(|e| format!("--seed: {e}"))?,
            "--attacker-ip" => attacker_ip = Some(value("--attacker-ip")?),
            "--threads" => threads = value("--threads")?.parse().map_err(|e| format!("--threads: {e}"))?,
            "--json-lines-only" => json_lines_only = true,
            "--version" => {
                println!("{}", maf_bench::GENERATOR_VERSION);
                return Ok(());
            }
            "-h" | "--help" => {
                println!("maf-bench-gen --records N --out DIR [--mailboxes M] [--days D] [--seed S] [--attacker-ip A] [--threads T] [--json-lines-only]");
                return Ok(());
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let records = records.ok_or("--records is required")?;
    if records < 100 {
        return Err("--records must be at least 100".into());
    }
    let out = out.ok_or("--out is required")?;
    let mut config = Config::for_records(records, seed);
    if let Some(m) = mailboxes {
        config.mailboxes = m.max(2);
    }
    if let Some(d) = days {
        config.days = d.max(1);
    }
    if let Some(ip) = attacker_ip {
        if ip.parse::<std::net::IpAddr>().is_err() {
            return Err(format!("--attacker-ip {ip} is not an address"));
        }
        config.attacker_ip = ip;
    }
    let manifest = generate_files(&out, config, threads, json_lines_only).map_err(|e| format!("writing {}: {e}", out.display()))?;
    println!("{}", serde_json::to_string_pretty(&manifest).expect("JSON"));
    Ok(())
}
