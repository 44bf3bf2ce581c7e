//! The generated data set is what the benchmark claims: deterministic, shaped like the real
//! samples, the same records in all three files, and the answers the benchmark checks are
//! really in it.

use std::collections::{BTreeMap, HashSet};

use maf_bench::generate::{plan, write_all, Truth, CSV_HEADER};
use maf_bench::Config;
use mailaccess_engine::analysis::{AddressRange, CompromiseKind, Indicators, RecordFilter, VerdictAnalysis, VerdictOptions};
use mailaccess_engine::{interpret_json, BatchOutput, InterpretOptions, Outcome, Session, SessionOptions, SourcePosition};
use serde_json::Value;

struct DataSet {
    audit_data: String,
    search_results: String,
    csv: String,
    truth: Truth,
}

fn generate(records: u64, seed: u64, threads: usize) -> DataSet {
    let plan = plan(Config::for_records(records, seed));
    let (mut a, mut s, mut c) = (Vec::new(), Vec::new(), Vec::new());
    let truth = write_all(&plan, threads, &mut a, &mut s, &mut c).unwrap();
    DataSet {
        audit_data: String::from_utf8(a).unwrap(),
        search_results: String::from_utf8(s).unwrap(),
        csv: String::from_utf8(c).unwrap(),
        truth,
    }
}

/// Key order of the real OWA record (SEKOIA `exchange_item_aggregated.json`, shared sample 1).
const SAMPLE_KEYS: [&str; 28] = [
    "CreationTime",
    "Id",
    "Operation",
    "OrganizationId",
    "RecordType",
    "ResultStatus",
    "UserKey",
    "UserType",
    "Version",
    "Workload",
    "UserId",
    "AppId",
    "ClientIPAddress",
    "ClientInfoString",
    "ExternalAccess",
    "InternalLogonType",
    "LogonType",
    "LogonUserSid",
    "MailboxGuid",
    "MailboxOwnerSid",
    "MailboxOwnerUPN",
    "OperationProperties",
    "OrganizationName",
    "OriginatingServer",
    "SessionId",
    "Folders",
    "OperationCount",
    "",
];

/// Top-level keys of a JSON object, in order (serde_json's Map sorts them).
fn keys_in_order(line: &str) -> Vec<String> {
    let mut keys = Vec::new();
    let mut depth = 0i32;
    let mut in_string = false;
    let mut escaped = false;
    let mut start = None;
    let bytes = line.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
                if depth == 1 {
                    if let Some(s) = start.take() {
                        let rest = &line[i + 1..];
                        if rest.starts_with(':') {
                            keys.push(line[s..i].to_string());
                        }
                    }
                }
            }
            continue;
        }
        match b {
            b'"' => {
                in_string = true;
                start = Some(i + 1);
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' => depth -= 1,
            _ => {}
        }
    }
    keys
}

#[test]
fn the_same_seed_gives_the_same_bytes_whatever_the_threads() {
    let a = generate(3_000, 7, 1);
    let b = generate(3_000, 7, 3);
    assert_eq!(a.audit_data, b.audit_data);
    assert_eq!(a.search_results, b.search_results);
    assert_eq!(a.csv, b.csv);
    let c = generate(3_000, 8, 2);
    assert_ne!(a.audit_data, c.audit_data);
}

#[test]
fn audit_data_is_shaped_like_the_real_records() {
    let data = generate(5_000, 1, 2);
    let mut classic_owa = 0;
    let mut layouts = HashSet::new();
    for line in data.audit_data.lines() {
        let value: Value = serde_json::from_str(line).unwrap();
        let operation = value["Operation"].as_str().unwrap();
        if operation != "MailItemsAccessed" {
            assert!(value["RecordType"].is_i64(), "{line}");
            continue;
        }
        assert_eq!(value["RecordType"], 50);
        assert!(value["UserType"].is_i64() && value["Version"] == 1 && value["LogonType"].is_i64());
        assert!(value["ExternalAccess"].is_boolean() || value["ExternalAccess"] == "False");
        assert!(value["OriginatingServer"].as_str().unwrap().contains(" (15.20."));
        let properties = value["OperationProperties"].as_array().unwrap();
        assert_eq!(properties[0]["Name"], "MailAccessType");
        layouts.insert(properties.len());
        let folders = value["Folders"].as_array().unwrap();
        let sync = properties[0]["Value"] == "Sync";
        let mut items = 0;
        for folder in folders {
            assert!(folder["Path"].as_str().unwrap().starts_with('\\'));
            assert!(folder["Id"].as_str().unwrap().starts_with("LgAAAA"));
            match folder.get("FolderItems") {
                None => assert!(sync),
                Some(list) => {
                    assert!(!sync);
                    for item in list.as_array().unwrap() {
                        let id = item["InternetMessageId"].as_str().unwrap();
                        assert!(id.starts_with('<') && id.ends_with('>') && id.contains('@'), "{id}");
                        assert!(item["SizeInBytes"].is_u64());
                        items += 1;
                    }
                }
            }
        }
        let count = value["OperationCount"].as_u64().unwrap();
        if sync {
            assert_eq!((folders.len(), count), (1, 1));
        } else {
            assert!((1..=8).contains(&count));
            assert_eq!(items, count);
        }
        if value["ClientInfoString"] == "Client=OWA;Action=ViaProxy" && value.get("AppAccessContext").is_none() {
            classic_owa += 1;
            let keys = keys_in_order(line);
            let expected: Vec<&str> = SAMPLE_KEYS.iter().copied().filter(|k| !k.is_empty()).collect();
            assert_eq!(keys, expected, "{line}");
        }
    }
    assert!(classic_owa > 100);
    // With IsThrottled (classic) and without it (the 2025 layout).
    assert_eq!(layouts, HashSet::from([1, 2]));
    // Non-ASCII written as \u escapes, as Exchange writes it.
    assert!(data.audit_data.is_ascii());
}

#[test]
fn the_three_files_hold_the_same_records() {
    let data = generate(2_000, 3, 2);
    let audit: Vec<&str> = data.audit_data.lines().collect();
    let search: Vec<&str> = data.search_results.lines().collect();
    assert_eq!(audit.len(), 2_000);
    assert_eq!(search.len(), 2_000);
    for (i, (a, s)) in audit.iter().zip(&search).enumerate() {
        let wrapper: Value = serde_json::from_str(s).unwrap();
        let inner: Value = serde_json::from_str(a).unwrap();
        assert_eq!(wrapper["AuditData"].as_str().unwrap(), *a);
        assert_eq!(wrapper["Identity"], inner["Id"]);
        assert_eq!(wrapper["Operations"], inner["Operation"]);
        assert_eq!(wrapper["ResultIndex"], (i + 1) as u64);
        assert_eq!(wrapper["ResultCount"], 2_000);
        assert_eq!(wrapper["CreationDate"], inner["CreationTime"]);
        let keys = keys_in_order(s);
        assert_eq!(
            keys,
            [
                "RecordType",
                "CreationDate",
                "UserIds",
                "Operations",
                "AuditData",
                "ResultIndex",
                "ResultCount",
                "Identity",
                "IsValid",
                "ObjectState"
            ]
        );
    }
    // CSV: header, then one row per record whose AuditData is the same JSON.
    let mut rows = data.csv.split("\r\n");
    assert_eq!(rows.next(), Some(CSV_HEADER));
    let rows: Vec<&str> = rows.filter(|r| !r.is_empty()).collect();
    assert_eq!(rows.len(), 2_000);
    for (row, a) in rows.iter().zip(&audit) {
        let fields = split_csv(row);
        assert_eq!(fields.len(), 8, "{row}");
        assert_eq!(fields[5], *a);
        assert!(fields[1].ends_with("Z "), "{}", fields[1]);
        assert_eq!((fields[6].as_str(), fields[7].as_str()), ("", ""));
    }
}

fn split_csv(row: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = row.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', true) => quoted = false,
            ('"', false) if field.is_empty() => quoted = true,
            (',', false) => fields.push(std::mem::take(&mut field)),
            (c, _) => field.push(c),
        }
    }
    fields.push(field);
    fields
}

#[test]
fn the_seed_style_patterns_find_exactly_the_throttled_and_sync_records() {
    let data = generate(10_000, 1, 2);
    let throttled = data.audit_data.lines().filter(|l| l.contains(r#""IsThrottled","Value":"True""#)).count() as u64;
    assert_eq!(throttled, data.truth.throttled);
    assert!(throttled >= 2);
    // `-like '*MailAccessType*Sync*'` is case-insensitive and matches any later "sync".
    let sync = data
        .audit_data
        .lines()
        .filter(|l| {
            let lower = l.to_ascii_lowercase();
            lower.find("mailaccesstype").is_some_and(|at| lower[at..].contains("sync"))
        })
        .count() as u64;
    assert_eq!(sync, data.truth.sync);
}

#[test]
fn the_engine_reads_every_record_and_finds_what_was_generated() {
    let data = generate(10_000, 1, 2);
    let options = InterpretOptions::default();
    let mut errors = 0;
    let mut degraded = 0;
    for line in data.audit_data.lines() {
        match interpret_json(line, &options) {
            Ok(Outcome::Record(record)) => degraded += usize::from(record.degraded.is_some()),
            Ok(Outcome::Skipped { .. }) => {}
            Err(e) => {
                errors += 1;
                eprintln!("{e:?}");
            }
        }
    }
    assert_eq!((errors, degraded), (0, 0));

    let verdict = VerdictAnalysis::new(VerdictOptions {
        indicators: Indicators { addresses: vec![AddressRange::parse("203.0.113.77").unwrap()], ..Default::default() },
        ..Default::default()
    });
    let mut session =
        Session::new(SessionOptions { return_records: false, filter: RecordFilter::default(), analysis: Some(Box::new(verdict)) });
    let mut output = BatchOutput::default();
    for (i, line) in data.audit_data.lines().enumerate() {
        session.accept(interpret_json(line, &options), SourcePosition { index: i as u64, ..SourcePosition::default() }, &mut output);
    }
    assert_eq!(session.tally().analysed, data.truth.mail_items_accessed);
    assert_eq!(session.tally().duplicates, 0);
    let result = session.finish_analysis(&std::sync::atomic::AtomicBool::new(false)).unwrap().unwrap().output.into_verdict().unwrap();
    let mut kinds: BTreeMap<CompromiseKind, usize> = BTreeMap::new();
    for f in &result.findings {
        *kinds.entry(f.kind).or_default() += 1;
    }
    assert_eq!(kinds.get(&CompromiseKind::AccessedMessage).copied().unwrap_or(0), data.truth.attacker_messages.len());
    assert_eq!(kinds.get(&CompromiseKind::SyncedFolder).copied().unwrap_or(0), data.truth.attacker_synced_folders.len());
    assert_eq!(kinds.get(&CompromiseKind::UnresolvedAccess), None);
    // The given address and the attacker's sessions, nothing else.
    assert_eq!(kinds[&CompromiseKind::AttackerIndicator], 1 + data.truth.attacker_sessions.len());
    let throttled_evidence: usize =
        result.findings.iter().filter(|f| f.kind == CompromiseKind::ThrottledWindow).map(|f| f.evidence_record_ids.len()).sum();
    assert_eq!(throttled_evidence as u64, data.truth.throttled);
    assert!(data.truth.contexts.len() > 100 && data.truth.messages.len() > 1000);
}
