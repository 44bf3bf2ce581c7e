//! Benchmark tools for MailAccessForensics (see bench/README.md):
//!
//! - [`generate`]: a deterministic synthetic tenant written as Search-UnifiedAuditLog result
//!   objects (JSON Lines), a Purview audit export (CSV) and bare AuditData (JSON Lines), with
//!   AuditData shaped like the real samples (field names, order and types);
//! - [`floor`]: the parse floor the engine's file reading is measured against.

pub mod floor;
pub mod generate;
pub mod rng;
pub mod tenant;
pub mod text;

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;
use std::time::Instant;

pub use generate::{plan, write_all, Truth, GENERATOR_VERSION};
pub use tenant::Config;

pub const AUDIT_DATA_FILE: &str = "auditdata.jsonl";
pub const SEARCH_RESULTS_FILE: &str = "search-unifiedauditlog.jsonl";
pub const PURVIEW_CSV_FILE: &str = "purview.csv";
pub const MANIFEST_FILE: &str = "manifest.json";

/// Generates the data set into `dir` and returns its manifest (also written to
/// `dir/manifest.json`, last, so a directory without one is incomplete).
pub fn generate_into(dir: &Path, config: Config, threads: usize) -> std::io::Result<serde_json::Value> {
    generate_files(dir, config, threads, false)
}

/// As [`generate_into`], with only the AuditData JSON Lines when `json_lines_only` (the scale
/// point: a third of the disk); the other two files are then not written and have no entry in
/// the manifest's `files`.
pub fn generate_files(dir: &Path, config: Config, threads: usize, json_lines_only: bool) -> std::io::Result<serde_json::Value> {
    let started = Instant::now();
    std::fs::create_dir_all(dir)?;
    let manifest_path = dir.join(MANIFEST_FILE);
    if manifest_path.exists() {
        std::fs::remove_file(&manifest_path)?;
    }
    let plan = generate::plan(config);
    let open = |name: &str| -> std::io::Result<BufWriter<File>> { Ok(BufWriter::with_capacity(1 << 20, File::create(dir.join(name))?)) };
    use std::io::Write;
    let mut audit = open(AUDIT_DATA_FILE)?;
    let (mut search, mut csv): (Box<dyn Write>, Box<dyn Write>) = if json_lines_only {
        (Box::new(std::io::sink()), Box::new(std::io::sink()))
    } else {
        (Box::new(open(SEARCH_RESULTS_FILE)?), Box::new(open(PURVIEW_CSV_FILE)?))
    };
    let truth = generate::write_all(&plan, threads, &mut audit, &mut search, &mut csv)?;
    for writer in [&mut audit as &mut dyn Write, &mut search, &mut csv] {
        writer.flush()?;
    }
    let size = |name: &str| std::fs::metadata(dir.join(name)).map(|m| m.len()).unwrap_or(0);
    let t = &plan.tenant;
    let c = &t.config;
    let other: u64 = truth.records - truth.mail_items_accessed;
    let manifest = serde_json::json!({
        "generatorVersion": GENERATOR_VERSION,
        "records": truth.records,
        "mailboxes": t.mailboxes.len(),
        "days": c.days,
        "seed": c.seed,
        "start": format!("{}Z", text::iso_seconds(c.start)),
        "end": format!("{}Z", text::iso_seconds(c.start + i64::from(c.days) * tenant::DAY)),
        "attackerIPAddress": c.attacker_ip,
        "victim": t.mailboxes[t.victim as usize].upn,
        "delegatedMailbox": t.mailboxes[t.boss as usize].upn,
        "attackStart": format!("{}Z", text::iso_seconds(t.attack_start)),
        "attackEnd": format!("{}Z", text::iso_seconds(t.attack_end)),
        "files": {
            "auditData": { "name": AUDIT_DATA_FILE, "bytes": size(AUDIT_DATA_FILE) },
            "searchResults": { "name": SEARCH_RESULTS_FILE, "bytes": size(SEARCH_RESULTS_FILE) },
            "purviewCsv": { "name": PURVIEW_CSV_FILE, "bytes": size(PURVIEW_CSV_FILE) },
        },
        "counts": {
            "mailItemsAccessed": truth.mail_items_accessed,
            "bind": truth.bind,
            "sync": truth.sync,
            "otherOperations": other,
            "operations": truth.operations,
            "throttled": truth.throttled,
            "throttlingUnknown": truth.throttling_unknown,
            "items": truth.items,
            "distinctContexts": truth.contexts.len(),
            "distinctMessagesRead": truth.messages.len(),
            "averageAuditDataBytes": truth.audit_data_bytes / truth.records.max(1),
        },
        "attacker": {
            "records": truth.attacker_records,
            "itemReads": truth.attacker_item_reads,
            "distinctMessages": truth.attacker_messages.len(),
            "syncedFolders": truth.attacker_synced_folders.len(),
            "sessions": truth.attacker_sessions.len(),
        },
        "elapsedSeconds": started.elapsed().as_secs_f64(),
    });
    std::fs::write(&manifest_path, serde_json::to_string_pretty(&manifest)? + "\n")?;
    Ok(manifest)
}
