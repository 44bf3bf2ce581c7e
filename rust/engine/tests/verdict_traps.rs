//! The verdict on the labelled trap scenario (tests/fixtures/traps): every run of
//! expected.json, whose findings were derived by hand (GROUND-TRUTH.md there), through the
//! engine's own session, as the cmdlet drives it.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use chrono::{DateTime, Utc};
use mailaccess_engine::analysis::message::{
    AnalysisWarning, AttributionReason, Baseline, ContextUse, ContextUses, FindingReason, GivenIndicator, Identifier, IdentifierKind,
    Indicator, Linker,
};
use mailaccess_engine::analysis::{
    AddressRange, CompromiseKind, Finding, Indicators, RecordFilter, Verdict, VerdictAnalysis, VerdictOptions, Wildcard,
};
use mailaccess_engine::input::{ReaderOptions, RecordReader};
use mailaccess_engine::time::{parse_timestamp, DateOrder};
use mailaccess_engine::{Session, SessionOptions, Tally};
use serde_json::{json, Map, Value};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/traps").join(name)
}

fn expected() -> Value {
    let text = std::fs::read_to_string(fixture("expected.json")).expect("expected.json");
    serde_json::from_str(&text).expect("expected.json is JSON")
}

fn texts(parameters: &Value, name: &str) -> Vec<String> {
    parameters[name].as_array().map(|a| a.iter().map(|v| v.as_str().unwrap().to_string()).collect()).unwrap_or_default()
}

/// The session the cmdlet makes of these parameters (as maf_native's options do).
fn session_for(parameters: &Value) -> Session {
    let start = parameters["StartDate"].as_str().map(|s| parse_timestamp(s, DateOrder::MonthFirst).unwrap());
    let end = parameters["EndDate"].as_str().map(|s| parse_timestamp(s, DateOrder::MonthFirst).unwrap());
    let wildcards = |name: &str| texts(parameters, name).iter().map(|t| Wildcard::new(t).unwrap()).collect::<Vec<_>>();
    let filter = RecordFilter { start, end, mailboxes: wildcards("Mailbox"), users: wildcards("UserIds") };
    let options = VerdictOptions {
        indicators: Indicators {
            addresses: texts(parameters, "AttackerIPAddress").iter().map(|t| AddressRange::parse(t).unwrap()).collect(),
            sessions: texts(parameters, "AttackerSessionId"),
            client_info_strings: wildcards("AttackerClientInfoString"),
            app_ids: texts(parameters, "AttackerAppId"),
            aad_sessions: texts(parameters, "AttackerAadSessionId"),
        },
        expand: !parameters["NoContextExpansion"].as_bool().unwrap_or(false),
        expand_shared: parameters["ExpandSharedIndicator"].as_bool().unwrap_or(false),
        period_start: start,
        period_end: end,
        mailboxes: filter.mailboxes.clone(),
        users: filter.users.clone(),
    };
    Session::new(SessionOptions { return_records: false, filter, analysis: Some(Box::new(VerdictAnalysis::new(options))) })
}

fn run(file: &str, parameters: &Value) -> (Vec<Finding>, Vec<AnalysisWarning>, Tally) {
    let (verdict, warnings, tally) = run_result(file, parameters);
    (verdict.findings, warnings, tally)
}

fn run_result(file: &str, parameters: &Value) -> (Verdict, Vec<AnalysisWarning>, Tally) {
    let mut session = session_for(parameters);
    let mut reader = RecordReader::open(&fixture(file), 0, ReaderOptions::default()).expect("fixture opens");
    let never = AtomicBool::new(false);
    while let Some(chunk) = reader.next_chunk(&never) {
        let output = session.ingest_results(chunk);
        assert!(output.errors.is_empty(), "{:?}", output.errors);
    }
    let result = session.finish_analysis(&never).unwrap().unwrap();
    (result.output.into_verdict().expect("a verdict"), result.warnings, session.tally().clone())
}

/// Every finding's evidence records are exactly its EvidenceRecordIds, each with the line of
/// the fixture it was read from.
fn check_evidence(name: &str, file: &str, result: &Verdict) {
    let lines: Vec<String> = std::fs::read_to_string(fixture(file)).unwrap().lines().map(str::to_string).collect();
    for (i, finding) in result.findings.iter().enumerate() {
        let records: Vec<_> =
            result.finding_evidence.iter().filter(|(f, _)| *f as usize == i).map(|(_, e)| &result.evidence[*e as usize]).collect();
        let ids: Vec<String> = records.iter().map(|e| e.record_id.clone().unwrap_or_default()).collect();
        assert_eq!(ids, finding.evidence_record_ids, "{name} ({file}): evidence of {} {:?}", finding.kind.name(), finding.reason);
        for record in records {
            let line = record.source.line.expect("a record read from a file has a line") as usize;
            let id = record.record_id.as_deref().unwrap();
            // A JSON Lines record is on its line; a JSON array's record starts there.
            let text = lines[line - 1..(line + 40).min(lines.len())].join("\n");
            assert!(text.contains(id), "{name} ({file}): {id} is not at line {line}");
        }
    }
}

/// A finding as the comparable row expected.json writes.
fn row(f: &Finding) -> Map<String, Value> {
    let time = |t: &chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let value = json!({
        "Kind": f.kind.name(),
        "Mailbox": f.mailbox,
        "FolderPath": f.folder_path,
        "InternetMessageId": f.internet_message_id,
        "SizeInBytes": f.size_in_bytes,
        "Start": time(&f.start),
        "End": time(&f.end),
        "AccessCount": f.access_count,
        "ClientIPAddress": f.client_ip_addresses,
        "SessionId": f.session_ids,
        "ClientInfoString": f.client_info_strings,
        "AadSessionId": f.actors.aad_session_ids,
        "UserId": f.actors.user_ids,
        "AppId": f.actors.app_ids,
        "ClientAppId": f.actors.client_app_ids,
        "UniqueTokenId": f.actors.unique_token_ids,
        "EvidenceRecordIds": f.evidence_record_ids,
    });
    value.as_object().unwrap().clone()
}

/// An expected value with the cast's names and the record numbers written out.
fn resolve(value: &Value, key: &str, doc: &Value) -> Value {
    let record_id = |n: u64| doc["RecordIdFormat"].as_str().unwrap().replace("{0:D4}", &format!("{n:04}"));
    match value {
        Value::String(s) if s.starts_with('@') => doc["Cast"][&s[1..]].clone(),
        Value::Number(n) if key == "EvidenceRecordIds" => Value::String(record_id(n.as_u64().unwrap())),
        Value::Array(items) => Value::Array(items.iter().map(|v| resolve(v, key, doc)).collect()),
        other => other.clone(),
    }
}

/// The rows a run expects: its own, or those of the run it derives from.
fn expected_rows(run: &Value, doc: &Value) -> Vec<Map<String, Value>> {
    let findings = &run["Findings"];
    let rows: Vec<Map<String, Value>> = match findings {
        Value::Array(rows) => rows.iter().map(|r| r.as_object().unwrap().clone()).collect(),
        Value::Object(derived) => {
            let from = expected_rows(&doc["Runs"][derived["From"].as_str().unwrap()], doc);
            let mut rows: Vec<Map<String, Value>> = match &derived["Rows"] {
                Value::String(all) if all == "All" => from,
                Value::Array(numbers) => numbers.iter().map(|n| from[n.as_u64().unwrap() as usize - 1].clone()).collect(),
                other => panic!("Rows: {other}"),
            };
            if let Some(changes) = derived.get("Set").and_then(Value::as_object) {
                for (number, change) in changes {
                    let row = &mut rows[number.parse::<usize>().unwrap() - 1];
                    for (key, value) in change.as_object().unwrap() {
                        row.insert(key.clone(), value.clone());
                    }
                }
            }
            return rows;
        }
        other => panic!("Findings: {other}"),
    };
    rows.into_iter()
        .map(|r| {
            r.into_iter()
                .map(|(k, v)| {
                    let v = resolve(&v, &k, doc);
                    (k, v)
                })
                .collect()
        })
        .collect()
}

fn check_run(name: &str, file: &str) {
    let doc = expected();
    let run_spec = &doc["Runs"][name];
    let (result, warnings, tally) = run_result(file, &run_spec["Parameters"]);
    check_evidence(name, file, &result);
    let findings = result.findings;
    let expected = expected_rows(run_spec, &doc);
    let actual: Vec<Map<String, Value>> = findings.iter().map(row).collect();
    for (i, (want, got)) in expected.iter().zip(&actual).enumerate() {
        for (key, value) in want {
            assert_eq!(got.get(key), Some(value), "{name} ({file}), finding {}: {key}\n  expected {want:?}\n  actual   {got:?}", i + 1);
        }
    }
    let summary = |f: &Finding| format!("{} {:?} {:?}", f.kind.name(), f.mailbox, f.evidence_record_ids);
    assert_eq!(actual.len(), expected.len(), "{name} ({file}): {:#?}", findings.iter().map(summary).collect::<Vec<_>>());
    for finding in &findings {
        let fits = match finding.kind {
            CompromiseKind::ThrottledWindow => matches!(finding.reason, FindingReason::ThrottledWindow { .. }),
            CompromiseKind::SyncedFolder => matches!(finding.reason, FindingReason::SyncedFolder { .. }),
            CompromiseKind::AccessedMessage => matches!(finding.reason, FindingReason::AccessedMessage { .. }),
            CompromiseKind::UnresolvedAccess => matches!(finding.reason, FindingReason::UnresolvedAccess { .. }),
            CompromiseKind::AttackerIndicator => {
                matches!(finding.reason, FindingReason::GivenIndicator { .. } | FindingReason::LinkedIndicator { .. })
            }
            CompromiseKind::SharedIndicator => matches!(finding.reason, FindingReason::SharedIndicator { .. }),
        };
        assert!(fits, "{name}: a {} finding with the reason {:?}", finding.kind.name(), finding.reason);
    }

    // The warnings' words are the shim's: Get-CompromisedMailAccess.Tests.ps1 checks their
    // text against the same expected.json; here, their number.
    let expected_warnings = run_spec["Warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), expected_warnings.len(), "{name}: {warnings:#?}");
    let s = &run_spec["Summary"];
    let counts = [
        ("Read", tally.read),
        ("Analysed", tally.analysed),
        ("Skipped", tally.skipped),
        ("Duplicates", tally.duplicates),
        ("Filtered", tally.filtered),
        ("Errors", tally.errors),
        ("Degraded", tally.degraded),
        ("Throttled", tally.throttled),
        ("NotThrottled", tally.not_throttled),
        ("ThrottlingUnknown", tally.throttling_unknown),
    ];
    for (key, count) in counts {
        assert_eq!(s[key].as_u64(), Some(count), "{name}: {key}");
    }
    assert!(tally.is_balanced(), "{name}: {tally:?}");
}

#[test]
fn expansion_follows_the_attacker_and_stops_at_shared_and_placeholder_addresses() {
    check_run("Expansion", "traps.auditdata.jsonl");
    check_run("Expansion", "traps.sual.json");
}

#[test]
fn without_expansion_only_the_indicators_count() {
    check_run("NoContextExpansion", "traps.auditdata.jsonl");
}

#[test]
fn expanding_shared_indicators_pulls_in_the_owners_but_never_the_placeholder() {
    check_run("ExpandSharedIndicator", "traps.auditdata.jsonl");
}

#[test]
fn a_start_date_makes_the_records_before_it_the_baseline() {
    check_run("StartDate", "traps.auditdata.jsonl");
}

#[test]
fn mailbox_and_user_filters_select_findings_not_the_records_that_link() {
    check_run("Mailbox", "traps.auditdata.jsonl");
    check_run("UserIds", "traps.auditdata.jsonl");
}

#[test]
fn the_reasons_say_why_an_indicator_was_not_followed() {
    let doc = expected();
    let (findings, _, _) = run("traps.auditdata.jsonl", &doc["Runs"]["Expansion"]["Parameters"]);
    let at = |text: &str| -> DateTime<Utc> { text.parse().unwrap() };
    let baseline = Baseline::FirstIndicatorMatch(at("2026-03-09T01:30:00Z"));
    let rpc = Some("Client=MSExchangeRPC".to_string());
    let alice = Some("alice@contoso.example".to_string());
    // Get-CompromisedMailAccess.Tests.ps1 checks the words the shim makes of these.
    assert_eq!(
        findings[0].reason,
        FindingReason::SharedIndicator {
            identifier: Identifier { kind: IdentifierKind::Address, value: "203.0.113.80".into() },
            linker: Linker {
                record: "5d2e9c10-3b4a-4e6f-8a1b-0c9d8e7f0023".into(),
                time: at("2026-03-09T12:00:00Z"),
                why: AttributionReason::Link(Identifier {
                    kind: IdentifierKind::Session,
                    value: "e7a1c3f5-2b4d-4c6e-8a0b-1c2d3e4f5a61".into()
                }),
            },
            baseline,
            users: ContextUses {
                count: 5,
                first: vec![
                    ContextUse { user: alice.clone(), client: rpc.clone(), first: at("2026-03-02T08:01:10Z") },
                    ContextUse { user: Some("bob@contoso.example".into()), client: rpc, first: at("2026-03-02T08:05:00Z") },
                    ContextUse { user: alice, client: Some("Client=OWA;Action=ViaProxy".into()), first: at("2026-03-02T09:12:00Z") },
                ],
            },
            left_out: 20,
        }
    );
    let FindingReason::SharedIndicator { identifier, linker, baseline: entra_baseline, users, .. } = &findings[1].reason else {
        panic!("{:?}", findings[1].reason)
    };
    assert_eq!(identifier, &Identifier { kind: IdentifierKind::EntraSession, value: "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0".into() });
    assert_eq!((entra_baseline, users.count), (&baseline, 1));
    assert_eq!(linker.why, AttributionReason::Indicator(GivenIndicator { indicator: Indicator::IpAddress, value: "198.51.100.66".into() }));
    let linked = findings.iter().find(|f| f.session_ids == ["b5d7f9a1-3c5e-4f7a-8b9d-2e4f6a8c0d14"]).unwrap();
    let FindingReason::LinkedIndicator { linker, shared: None, .. } = &linked.reason else { panic!("{:?}", linked.reason) };
    assert_eq!(linker.why, AttributionReason::Link(Identifier { kind: IdentifierKind::Address, value: "2001:db8:77::5".into() }));
}
