//! The reader on every real sample in ../shared/samples that is a file of records (see
//! MANIFEST.md there). SEKOIA test cases hold the record in `input.message`: it is written to
//! a file first.

mod input_common;

use std::io::Write;
use std::path::Path;
use std::sync::atomic::AtomicBool;

use input_common::*;
use mailaccess_engine::input::{ReaderOptions, RecordReader};
use mailaccess_engine::{ErrorKind, MailAccessType, Outcome, Session, SessionOptions};

fn read_file(path: &Path, threads: usize) -> Vec<mailaccess_engine::input::ReadResult> {
    let reader = RecordReader::open(path, 7, ReaderOptions { threads, ..ReaderOptions::default() }).unwrap();
    let results = drain(reader);
    for r in &results {
        assert_eq!(r.position.file, Some(7));
    }
    // The same bytes in small chunks and on two threads give the same results.
    let bytes = std::fs::read(path).unwrap();
    let mut again = read_every_way(&bytes);
    for r in &mut again {
        r.position.file = Some(7);
        match &mut r.outcome {
            Ok(Outcome::Record(record)) => record.source.file = Some(7),
            Err(e) => e.position.file = Some(7),
            _ => {}
        }
    }
    assert_eq!(again, results);
    results
}

fn sekoia_file(name: &str, dir: &Path) -> std::path::PathBuf {
    let case: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(sample_path(name)).unwrap()).unwrap();
    let path = dir.join(name.replace(".json", ".message.json"));
    std::fs::write(&path, case["input"]["message"].as_str().unwrap()).unwrap();
    path
}

#[test]
fn sekoia_messages_as_files() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("sekoia__o365__exchange_item_aggregated.json", "R 461a38ce-fc36-4a4d-b73e-643262cc063f @1"),
        ("sekoia__o365__clientipadress.json", "R ANONYMIZED @1"),
        ("sekoia__o365__exchange_item_group_7.json", "R"),
        ("sekoia__o365__exchange_item_group__neighbour_HardDelete.json", "S HardDelete @1"),
    ];
    for (name, expected) in cases {
        let results = read_file(&sekoia_file(name, dir.path()), 1);
        let got = summary(&results);
        assert_eq!(got.len(), 1, "{name}: {got:?}");
        assert!(got[0].starts_with(expected), "{name}: {got:?}");
    }
    let results = read_file(&sekoia_file("sekoia__o365__exchange_item_group_7.json", dir.path()), 2);
    let Ok(Outcome::Record(r)) = &results[0].outcome else { panic!("{results:?}") };
    assert_eq!(r.is_throttled, None);
    assert_eq!(r.items[0].internet_message_id, "<abcdef@mail.example.com>");
}

#[test]
fn derived_json_lines() {
    let results = read_file(&sample_path("derived__raw_MailItemsAccessed_AuditData.jsonl"), 2);
    assert_eq!(summary(&results).len(), 3);
    assert!(results.iter().all(|r| matches!(r.outcome, Ok(Outcome::Record(_)))));
    let lines: Vec<_> = results.iter().map(|r| r.position.line.unwrap()).collect();
    assert_eq!(lines, [1, 2, 3]);
    let throttled: Vec<_> = results
        .iter()
        .map(|r| match &r.outcome {
            Ok(Outcome::Record(r)) => r.is_throttled,
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(throttled, [Some(false), Some(false), None]);
}

#[test]
fn otrf_sentinel_office_activity() {
    let results = read_file(&sample_path("otrf__GoldenSAMLADFSMailAccess__OfficeActivityEvents.json"), 1);
    assert_eq!(summary(&results), ["R 699e0b10-1c53-403e-976f-ce0847a92b44 @1"]);
    let Ok(Outcome::Record(r)) = &results[0].outcome else { unreachable!() };
    assert_eq!(r.items.len(), 7);
    assert_eq!(r.access_type, MailAccessType::Bind);
    assert_eq!(r.client_address.as_ref().unwrap().canonical(), "1.2.3.4");
}

#[test]
fn otrf_defender_cloud_app_events() {
    let results = read_file(&sample_path("otrf__GoldenSAMLADFSMailAccess__Microsoft365DefenderEvents.json"), 2);
    assert_eq!(results.len(), 9);
    let summary = summary(&results);
    assert_eq!(summary.iter().filter(|s| s.starts_with("R ")).count(), 1, "{summary:?}");
    assert_eq!(summary.iter().filter(|s| s.starts_with("S ")).count(), 8, "{summary:?}");
    let (index, record) = results
        .iter()
        .enumerate()
        .find_map(|(i, r)| match &r.outcome {
            Ok(Outcome::Record(record)) => Some((i, record)),
            _ => None,
        })
        .unwrap();
    assert_eq!(results[index].position.line, Some(index as u64 + 1));
    assert!(record.degraded.as_deref().unwrap().contains("System.Object[]"));
    assert!(record.items.is_empty());
    assert_eq!(record.operation_count, Some(7));
}

#[test]
fn prophecy_page_sample_is_an_array_with_an_invalid_escape() {
    let results = read_file(&sample_path("pages__prophecyinternational__Office365ExchangeItemAggregated_sample.txt"), 1);
    assert_eq!(summary(&results), ["E InvalidJson @2"]);
    let error = error_at(&results, 0);
    assert_eq!(error.kind, ErrorKind::InvalidJson);
    // Inside the record, line 43; the record starts on line 2 of the file (after `[`).
    assert!(error.message.contains("invalid escape at line 43 column 11"), "{}", error.message);
    assert!(error.message.contains("line 44 of the input"), "{}", error.message);
    assert_eq!(error.position.line, Some(2));
}

#[test]
fn jjolley_purview_record_is_skipped() {
    let results = read_file(&sample_path("jjolley91-blog__rogue_inbox__New-InboxRule_ClientIP_port__EXCERPT.json"), 1);
    assert_eq!(summary(&results), ["S New-InboxRule @1"]);
}

#[test]
fn all_samples_in_one_file_balance_the_tally() {
    // Every record sample appended into one JSON Lines file: the Sentinel and Defender copies of
    // the same access count once; the invalid page sample is one error.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("all.jsonl");
    let mut file = std::fs::File::create(&path).unwrap();
    let mut expected_read = 0;
    for name in [
        "derived__raw_MailItemsAccessed_AuditData.jsonl",
        "otrf__GoldenSAMLADFSMailAccess__OfficeActivityEvents.json",
        "otrf__GoldenSAMLADFSMailAccess__Microsoft365DefenderEvents.json",
        "jjolley91-blog__rogue_inbox__New-InboxRule_ClientIP_port__EXCERPT.json",
    ] {
        let text = std::fs::read_to_string(sample_path(name)).unwrap();
        expected_read += text.lines().filter(|l| !l.trim().is_empty()).count() as u64;
        writeln!(file, "{}", text.trim_end()).unwrap();
    }
    let page = std::fs::read_to_string(sample_path("pages__prophecyinternational__Office365ExchangeItemAggregated_sample.txt")).unwrap();
    writeln!(file, "{}", page.trim_end()).unwrap();
    expected_read += 1;
    drop(file);

    let mut session = Session::new(SessionOptions::default());
    let mut reader = RecordReader::open(&path, 0, ReaderOptions { threads: 2, chunk_bytes: 4096, ..ReaderOptions::default() }).unwrap();
    let cancel = AtomicBool::new(false);
    let mut errors = Vec::new();
    while let Some(chunk) = reader.next_chunk(&cancel) {
        errors.extend(session.ingest_results(chunk).errors);
    }
    let tally = session.tally();
    assert!(tally.is_balanced(), "{tally:?}");
    assert_eq!(tally.read, expected_read);
    assert_eq!((tally.analysed, tally.duplicates, tally.errors, tally.degraded), (4, 1, 1, 0));
    assert_eq!(tally.skipped, 9);
    assert_eq!(errors[0].kind, ErrorKind::InvalidJson);
    assert_eq!(errors[0].position.file, Some(0));
}
