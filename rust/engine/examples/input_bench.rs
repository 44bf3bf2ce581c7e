//! Throughput and memory of the document reader, against a bare serde_json parse.
//!
//! ```text
//! cargo run --release -p mailaccess-engine --example input_bench -- all [RECORDS] [DIR]
//! ```
//! writes RECORDS (default 100000) generated MailItemsAccessed records as JSON Lines, a pretty
//! JSON array and a Search-UnifiedAuditLog Export-Csv file, then measures each run in its own
//! process (so that its peak resident memory is its own):
//!
//! - `baseline`: the JSON Lines file already in memory, split at line breaks, each line parsed
//!   by serde_json into a struct of the fields the engine reads (owned strings; `borrowed`:
//!   the same with borrowed strings), on one core. No I/O, no validation, no interpretation.
//! - `rawfields`, `interpret`: the engine alone on the same in-memory lines: the RawFields
//!   visitor, then interpret_json (also in 4 MiB batches, records kept until the batch ends).
//! - `reader`: `RecordReader::open` on the file, every record to a `MailAccessRecord`
//!   (timestamps, addresses, message ids normalised), with 1 or 2 parse threads.
//!
//! Each is run three times; the best time is reported, as MB/s of wall time and MB per second
//! of CPU time used by the process (all threads).

use std::borrow::Cow;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use mailaccess_engine::input::{ReaderOptions, RecordReader};
use mailaccess_engine::Outcome;
use serde::Deserialize;
use serde_json::json;

#[allow(dead_code)]
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct NameValue {
    name: String,
    value: String,
}

#[allow(dead_code)]
#[derive(Deserialize)]
struct Item {
    #[serde(rename = "InternetMessageId")]
    internet_message_id: String,
    #[serde(rename = "SizeInBytes")]
    size_in_bytes: Option<u64>,
}

#[allow(dead_code)]
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Folder {
    id: Option<String>,
    path: Option<String>,
    folder_items: Option<Vec<Item>>,
}

/// The fields the engine reads from AuditData, owned.
#[allow(dead_code)]
#[derive(Deserialize)]
struct Owned {
    #[serde(rename = "Id")]
    id: String,
    #[serde(rename = "CreationTime")]
    creation_time: String,
    #[serde(rename = "Operation")]
    operation: String,
    #[serde(rename = "UserId")]
    user_id: String,
    #[serde(rename = "UserType")]
    user_type: u32,
    #[serde(rename = "MailboxOwnerUPN")]
    mailbox_owner_upn: String,
    #[serde(rename = "MailboxGuid")]
    mailbox_guid: String,
    #[serde(rename = "ClientIPAddress")]
    client_ip_address: String,
    #[serde(rename = "ClientInfoString")]
    client_info_string: String,
    #[serde(rename = "SessionId")]
    session_id: Option<String>,
    #[serde(rename = "AppId")]
    app_id: Option<String>,
    #[serde(rename = "ClientAppId")]
    client_app_id: Option<String>,
    #[serde(rename = "LogonType")]
    logon_type: u32,
    #[serde(rename = "ExternalAccess")]
    external_access: bool,
    #[serde(rename = "OperationProperties")]
    operation_properties: Vec<NameValue>,
    #[serde(rename = "OperationCount")]
    operation_count: u64,
    #[serde(rename = "Folders")]
    folders: Vec<Folder>,
    #[serde(rename = "OriginatingServer")]
    originating_server: String,
}

#[allow(dead_code)]
#[derive(Deserialize)]
struct BorrowedItem<'a> {
    #[serde(rename = "InternetMessageId", borrow)]
    internet_message_id: Cow<'a, str>,
    #[serde(rename = "SizeInBytes")]
    size_in_bytes: Option<u64>,
}

#[allow(dead_code)]
#[derive(Deserialize)]
struct BorrowedFolder<'a> {
    #[serde(rename = "Id", borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(rename = "Path", borrow)]
    path: Option<Cow<'a, str>>,
    #[serde(rename = "FolderItems", borrow)]
    folder_items: Option<Vec<BorrowedItem<'a>>>,
}

#[allow(dead_code)]
#[derive(Deserialize)]
struct BorrowedNameValue<'a> {
    #[serde(rename = "Name", borrow)]
    name: Cow<'a, str>,
    #[serde(rename = "Value", borrow)]
    value: Cow<'a, str>,
}

/// The same fields, borrowed from the input where serde_json can.
#[allow(dead_code)]
#[derive(Deserialize)]
struct Borrowed<'a> {
    #[serde(rename = "Id", borrow)]
    id: Cow<'a, str>,
    #[serde(rename = "CreationTime", borrow)]
    creation_time: Cow<'a, str>,
    #[serde(rename = "Operation", borrow)]
    operation: Cow<'a, str>,
    #[serde(rename = "UserId", borrow)]
    user_id: Cow<'a, str>,
    #[serde(rename = "UserType")]
    user_type: u32,
    #[serde(rename = "MailboxOwnerUPN", borrow)]
    mailbox_owner_upn: Cow<'a, str>,
    #[serde(rename = "MailboxGuid", borrow)]
    mailbox_guid: Cow<'a, str>,
    #[serde(rename = "ClientIPAddress", borrow)]
    client_ip_address: Cow<'a, str>,
    #[serde(rename = "ClientInfoString", borrow)]
    client_info_string: Cow<'a, str>,
    #[serde(rename = "SessionId", borrow)]
    session_id: Option<Cow<'a, str>>,
    #[serde(rename = "AppId", borrow)]
    app_id: Option<Cow<'a, str>>,
    #[serde(rename = "ClientAppId", borrow)]
    client_app_id: Option<Cow<'a, str>>,
    #[serde(rename = "LogonType")]
    logon_type: u32,
    #[serde(rename = "ExternalAccess")]
    external_access: bool,
    #[serde(rename = "OperationProperties", borrow)]
    operation_properties: Vec<BorrowedNameValue<'a>>,
    #[serde(rename = "OperationCount")]
    operation_count: u64,
    #[serde(rename = "Folders", borrow)]
    folders: Vec<BorrowedFolder<'a>>,
    #[serde(rename = "OriginatingServer", borrow)]
    originating_server: Cow<'a, str>,
}

/// A deterministic generator of realistic records (the layout of the real OWA sample).
struct Generator(u64);

impl Generator {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    fn record(&mut self, i: u64) -> serde_json::Value {
        let user = self.next() % 500;
        let items: Vec<_> = (0..1 + self.next() % 6)
            .map(|_| {
                json!({
                    "InternetMessageId": format!("<AM0PR07MB5763{:016X}@AM0PR07MB5763.eurprd07.prod.outlook.com>", self.next()),
                    "SizeInBytes": 1000 + self.next() % 90_000
                })
            })
            .collect();
        let ip = if self.next() % 4 == 0 {
            format!("2001:db8:{:x}::{:x}", self.next() % 65536, self.next() % 65536)
        } else {
            format!("203.0.{}.{}", self.next() % 256, self.next() % 256)
        };
        json!({
            "CreationTime": format!("2024-{:02}-{:02}T{:02}:{:02}:{:02}", 1 + i % 12, 1 + i % 28, i % 24, i % 60, (i / 60) % 60),
            "Id": format!("{:08x}-fc36-4a4d-b73e-{:012x}", i, self.next()),
            "Operation": "MailItemsAccessed",
            "OrganizationId": "7d8b2e7f-2f4c-4b1a-9e0e-1f2c3d4e5f60",
            "RecordType": 50,
            "ResultStatus": "Succeeded",
            "UserKey": format!("1003BFFD805C{:04X}", user),
            "UserType": 0,
            "Version": 1,
            "Workload": "Exchange",
            "UserId": format!("user{user}@contoso.onmicrosoft.com"),
            "AppId": "00000002-0000-0ff1-ce00-000000000000",
            "ClientAppId": "",
            "ClientIPAddress": ip,
            "ClientInfoString": "Client=OWA;Action=ViaProxy",
            "ExternalAccess": false,
            "InternalLogonType": 0,
            "LogonType": 0,
            "LogonUserSid": "S-1-5-21-458367025-2064581115-2950179075-392557",
            "MailboxGuid": format!("0370f354-2752-4437-878d-{:012x}", user),
            "MailboxOwnerSid": "S-1-5-21-458367025-2064581115-2950179075-392557",
            "MailboxOwnerUPN": format!("user{user}@contoso.onmicrosoft.com"),
            "OperationProperties": [{"Name": "MailAccessType", "Value": "Bind"}, {"Name": "IsThrottled", "Value": "False"}],
            "OrganizationName": "contoso.onmicrosoft.com",
            "OriginatingServer": "AM0PR07MB5763 (15.20.4200.000)\r\n",
            "SessionId": format!("dcdad6b2-f279-48c6-9ed8-{:012x}", self.next()),
            "Folders": [{"Id": "LgAAAAB+7ILpFNx8TrktaK8VYWerAQBe9CuwLc2fTK7W46L1SAp9AAAA2lHHAAAB", "Path": "\\Inbox", "FolderItems": items}],
            "OperationCount": 3
        })
    }
}

fn generate(dir: &Path, records: u64) {
    std::fs::create_dir_all(dir).unwrap();
    let mut jsonl = BufWriter::new(File::create(dir.join("bench.jsonl")).unwrap());
    let mut array = BufWriter::new(File::create(dir.join("bench.json")).unwrap());
    let mut csv = BufWriter::new(File::create(dir.join("bench.csv")).unwrap());
    writeln!(csv, "\"RecordType\",\"CreationDate\",\"UserIds\",\"Operations\",\"AuditData\",\"ResultIndex\",\"ResultCount\",\"Identity\",\"IsValid\",\"ObjectState\"").unwrap();
    write!(array, "[").unwrap();
    let mut generator = Generator(42);
    for i in 0..records {
        let record = generator.record(i);
        let text = record.to_string();
        writeln!(jsonl, "{text}").unwrap();
        if i > 0 {
            write!(array, ",").unwrap();
        }
        write!(array, "\n{}", serde_json::to_string_pretty(&record).unwrap()).unwrap();
        writeln!(
            csv,
            "\"ExchangeItemAggregated\",\"{}/{}/2024 10:30:00 AM\",\"{}\",\"MailItemsAccessed\",\"{}\",\"{}\",\"{records}\",\"{}\",\"True\",\"Unchanged\"",
            1 + i % 12,
            1 + i % 28,
            record["UserId"].as_str().unwrap(),
            text.replace('"', "\"\""),
            i + 1,
            record["Id"].as_str().unwrap()
        )
        .unwrap();
    }
    writeln!(array, "\n]").unwrap();
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(|l| l.split_whitespace().nth(1).unwrap().parse().unwrap()))
        .unwrap_or(0)
}

/// CPU time of this process so far, every thread included (also those that have ended), in
/// seconds; clock-tick resolution.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses): utime is the 12th, stime the 13th.
    let rest = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<u64> = rest.split_whitespace().map(|f| f.parse().unwrap_or(0)).collect();
    (fields.get(11).copied().unwrap_or(0) + fields.get(12).copied().unwrap_or(0)) as f64 / 100.0
}

/// One measurement in this process: prints `mode threads bytes records seconds peak_kib`.
fn run(mode: &str, path: &Path, threads: usize) {
    let bytes = std::fs::metadata(path).unwrap().len();
    let mut best = f64::MAX;
    let mut best_cpu = f64::MAX;
    let mut count = 0u64;
    for _ in 0..3 {
        match mode {
            "interpret" | "interpret-batched" => {
                // The engine alone: each line to interpret_json, in memory, one core; the
                // batched form keeps each 4 MiB worth of records before dropping them, as a
                // reader's chunk does.
                let data = std::fs::read(path).unwrap();
                let options = mailaccess_engine::InterpretOptions::default();
                let (start, cpu) = (Instant::now(), cpu_seconds());
                count = 0;
                let mut batch = Vec::new();
                let mut batch_bytes = 0;
                for line in data.split(|&b| b == b'\n') {
                    if line.is_empty() {
                        continue;
                    }
                    let text = std::str::from_utf8(line).unwrap();
                    let outcome = mailaccess_engine::interpret_json(text, &options).unwrap();
                    if mode == "interpret" {
                        std::hint::black_box(&outcome);
                    } else {
                        batch.push(outcome);
                        batch_bytes += line.len();
                        if batch_bytes >= std::env::var("MAF_BENCH_CHUNK").ok().and_then(|c| c.parse().ok()).unwrap_or(4 << 20) {
                            std::hint::black_box(&batch);
                            batch.clear();
                            batch_bytes = 0;
                        }
                    }
                    count += 1;
                }
                drop(batch);
                best = best.min(start.elapsed().as_secs_f64());
                best_cpu = best_cpu.min(cpu_seconds() - cpu);
            }
            "baseline" | "borrowed" | "rawfields" => {
                let data = std::fs::read(path).unwrap();
                let (start, cpu) = (Instant::now(), cpu_seconds());
                count = 0;
                for line in data.split(|&b| b == b'\n') {
                    if line.is_empty() {
                        continue;
                    }
                    if mode == "rawfields" {
                        let r: mailaccess_engine::raw::RawFields = serde_json::from_slice(line).unwrap();
                        std::hint::black_box(&r);
                    } else if mode == "baseline" {
                        let r: Owned = serde_json::from_slice(line).unwrap();
                        std::hint::black_box(&r);
                    } else {
                        let r: Borrowed = serde_json::from_slice(line).unwrap();
                        std::hint::black_box(&r);
                    }
                    count += 1;
                }
                best = best.min(start.elapsed().as_secs_f64());
                best_cpu = best_cpu.min(cpu_seconds() - cpu);
            }
            _ => {
                let (start, cpu) = (Instant::now(), cpu_seconds());
                let mut options = ReaderOptions { threads, ..ReaderOptions::default() };
                if let Some(chunk) = std::env::var("MAF_BENCH_CHUNK").ok().and_then(|c| c.parse().ok()) {
                    options.chunk_bytes = chunk;
                }
                let mut reader = RecordReader::open(path, 0, options).unwrap();
                let cancel = AtomicBool::new(false);
                count = 0;
                while let Some(chunk) = reader.next_chunk(&cancel) {
                    for r in &chunk {
                        assert!(matches!(r.outcome, Ok(Outcome::Record(_))), "{r:?}");
                    }
                    count += chunk.len() as u64;
                    std::hint::black_box(chunk);
                }
                best = best.min(start.elapsed().as_secs_f64());
                best_cpu = best_cpu.min(cpu_seconds() - cpu);
            }
        }
    }
    println!("{mode} {threads} {bytes} {count} {best} {} {best_cpu}", peak_rss_kib());
}

/// Runs every measurement on the files in `dir`, each in its own process.
fn table(dir: &Path) {
    let me = std::env::current_exe().unwrap();
    println!("{:<32} {:>7} {:>8} {:>11} {:>12} {:>10}", "run", "MB", "MB/s", "MB/CPU-s", "records/s", "peak RSS");
    for (label, mode, file, threads) in [
        ("serde_json baseline (owned)", "baseline", "bench.jsonl", 1),
        ("serde_json baseline (borrowed)", "borrowed", "bench.jsonl", 1),
        ("RawFields visitor per line", "rawfields", "bench.jsonl", 1),
        ("interpret_json per line", "interpret", "bench.jsonl", 1),
        ("interpret_json, 4 MiB batches", "interpret-batched", "bench.jsonl", 1),
        ("reader JSONL, 1 thread", "reader", "bench.jsonl", 1),
        ("reader JSONL, 2 threads", "reader", "bench.jsonl", 2),
        ("reader pretty array, 1 thread", "reader", "bench.json", 1),
        ("reader pretty array, 2 threads", "reader", "bench.json", 2),
        ("reader SUAL CSV, 1 thread", "reader", "bench.csv", 1),
        ("reader SUAL CSV, 2 threads", "reader", "bench.csv", 2),
    ] {
        let output = Command::new(&me).args(["run", mode, dir.join(file).to_str().unwrap(), &threads.to_string()]).output().unwrap();
        let text = String::from_utf8_lossy(&output.stdout);
        let fields: Vec<&str> = text.split_whitespace().collect();
        if fields.len() < 7 {
            println!("{label}: failed: {text} {}", String::from_utf8_lossy(&output.stderr));
            continue;
        }
        let bytes: f64 = fields[2].parse().unwrap();
        let count: f64 = fields[3].parse().unwrap();
        let seconds: f64 = fields[4].parse().unwrap();
        let peak: f64 = fields[5].parse().unwrap();
        let cpu: f64 = fields[6].parse().unwrap();
        println!(
            "{label:<32} {:>7.1} {:>8.1} {:>11.1} {:>12.0} {:>6.1} MiB",
            bytes / 1e6,
            bytes / 1e6 / seconds,
            bytes / 1e6 / cpu,
            count / seconds,
            peak / 1024.0
        );
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("run") => run(&args[2], Path::new(&args[3]), args[4].parse().unwrap()),
        Some("table") => table(Path::new(&args[2])),
        Some("gen") => generate(Path::new(&args[2]), args[3].parse().unwrap()),
        Some("all") | None => {
            let records: u64 = args.get(2).map_or(100_000, |a| a.parse().unwrap());
            let dir = args.get(3).map_or_else(|| std::env::temp_dir().join("maf-input-bench"), PathBuf::from);
            generate(&dir, records);
            table(&dir);
        }
        Some(other) => panic!("unknown command {other}"),
    }
}
