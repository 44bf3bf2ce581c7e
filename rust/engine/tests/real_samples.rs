//! The parser on every MailItemsAccessed record published in ../shared/samples (real records,
//! sanitised by their publishers; MANIFEST.md there says what is odd in each).

use std::path::PathBuf;

use mailaccess_engine::input::objects::{interpret_node, parse_objects};
use mailaccess_engine::input::tree::{BatchReader, BatchWriter};
use mailaccess_engine::{
    interpret_json, ErrorKind, InterpretOptions, LogonType, MailAccessRecord, MailAccessType, Outcome, Session, SessionOptions, UserType,
};

fn samples_dir() -> PathBuf {
    match std::env::var_os("MAF_SAMPLES_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/samples"),
    }
}

fn read_sample(name: &str) -> String {
    let path = samples_dir().join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// SEKOIA test cases hold the raw AuditData string in `input.message`.
fn sekoia_message(name: &str) -> String {
    let case: serde_json::Value = serde_json::from_str(&read_sample(name)).unwrap();
    case["input"]["message"].as_str().unwrap().to_string()
}

fn record(text: &str) -> MailAccessRecord {
    match interpret_json(text, &InterpretOptions::default()) {
        Ok(Outcome::Record(record)) => *record,
        other => panic!("expected a record, got {other:?}"),
    }
}

fn ids(record: &MailAccessRecord) -> Vec<&str> {
    record.items.iter().map(|i| i.internet_message_id.as_str()).collect()
}

#[test]
fn sekoia_owa_bind_with_localised_folder() {
    let r = record(&sekoia_message("sekoia__o365__exchange_item_aggregated.json"));
    assert_eq!(r.record_id.as_deref(), Some("461a38ce-fc36-4a4d-b73e-643262cc063f"));
    assert_eq!(r.creation_time.to_rfc3339(), "2023-09-15T18:16:53+00:00");
    assert_eq!(r.access_type, MailAccessType::Bind);
    assert_eq!(r.is_throttled, Some(false));
    assert_eq!(r.mailbox.as_deref(), Some("user1"));
    assert_eq!(r.user_id.as_deref(), Some("user1"));
    assert_eq!(r.client_address.as_ref().unwrap().canonical(), "192.0.2.1");
    assert_eq!(r.client_info_string.as_deref(), Some("Client=OWA;Action=ViaProxy"));
    assert_eq!(r.session_id.as_deref(), Some("dcdad6b2-f279-48c6-9ed8-3df0ffde4ece"));
    assert_eq!(r.app_id.as_deref(), Some("00000002-0000-0ff1-ce00-000000000000"));
    assert_eq!(r.client_app_id, None);
    assert_eq!(r.logon_type, Some(LogonType::Owner));
    assert_eq!(r.external_access, Some(false));
    assert_eq!(r.operation_count, Some(3));
    // The literal CRLF at the end of OriginatingServer is not part of the name.
    assert_eq!(r.originating_server.as_deref(), Some("AM0PR07MB5763 (15.20.4200.000)"));
    assert_eq!(r.folders.len(), 1);
    assert_eq!(r.folders[0].path.as_deref(), Some("\\Brouillons"));
    assert_eq!(r.folders[0].item_count, Some(3));
    assert_eq!(
        ids(&r),
        [
            "<AM0PR07MB576312B164491AF0F9214C738DF6A@AM0PR07MB5763.eurprd07.prod.outlook.com>",
            "<AM0PR07MB5763A95F7E4A5BA512692F698DF6A@AM0PR07MB5763.eurprd07.prod.outlook.com>",
            "<AM0PR07MB57633CFE8EE2ACB8CEF184AC8DF6A@AM0PR07MB5763.eurprd07.prod.outlook.com>",
        ]
    );
    let sizes: Vec<_> = r.items.iter().map(|i| i.size_in_bytes).collect();
    assert_eq!(sizes, [Some(3476), Some(4871), Some(4873)]);
    assert!(r.items.iter().all(|i| i.folder_path.as_deref() == Some("\\Brouillons")));
    assert_eq!(r.degraded, None);
}

#[test]
fn sekoia_app_access_with_ipv6_and_string_boolean() {
    let r = record(&sekoia_message("sekoia__o365__clientipadress.json"));
    let address = r.client_address.as_ref().unwrap();
    assert_eq!(address.original, "FE80::");
    assert_eq!(address.canonical(), "fe80::");
    // "ExternalAccess": "False" (a string) is false, not unknown.
    assert_eq!(r.external_access, Some(false));
    assert_eq!(r.client_app_id.as_deref(), Some("clientappidxxxx-xxx-xxx-xxxx"));
    // UserType 5: application access.
    assert_eq!(r.user_type.as_ref().map(UserType::as_str), Some("Application"));
    // A path without its leading backslash compares with those that have it.
    assert_eq!(r.folders[0].path.as_deref(), Some("\\Boite de reception"));
    // Message ids without angle brackets are given them.
    assert_eq!(ids(&r), ["<xxxxx@exemple.com>", "<xxxx-xxx-xxx-xxxx@enterprise.net>"]);
    assert_eq!(r.items[1].size_in_bytes, Some(147360));
    assert_eq!(r.session_id, None);
    assert_eq!(r.degraded, None);
}

#[test]
fn sekoia_2025_record_without_is_throttled_is_unknown_not_false() {
    let r = record(&sekoia_message("sekoia__o365__exchange_item_group_7.json"));
    assert_eq!(r.access_type, MailAccessType::Bind);
    assert_eq!(r.is_throttled, None);
    // The token of the access, as the sanitised sample writes it.
    assert_eq!(r.aad_session_id.as_deref(), Some("ANONYMIZED"));
    assert_eq!(r.unique_token_id.as_deref(), Some("AAAAAAAAAAAAAAAAAAAAAA"));
    assert_eq!(r.issued_at_time.map(|t| t.to_rfc3339()).as_deref(), Some("2025-10-26T13:12:18+00:00"));
    assert_eq!(ids(&r), ["<abcdef@mail.example.com>"]);
    assert_eq!(r.items[0].size_in_bytes, Some(123456));
    assert_eq!(r.creation_time.to_rfc3339(), "2025-10-27T07:09:33+00:00");
}

#[test]
fn sekoia_hard_delete_neighbour_is_skipped_by_operation() {
    match interpret_json(&sekoia_message("sekoia__o365__exchange_item_group__neighbour_HardDelete.json"), &InterpretOptions::default()) {
        Ok(Outcome::Skipped { operation }) => assert_eq!(operation, "HardDelete"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn derived_jsonl_holds_three_records() {
    let text = read_sample("derived__raw_MailItemsAccessed_AuditData.jsonl");
    let records: Vec<_> = text.lines().filter(|l| !l.trim().is_empty()).map(record).collect();
    assert_eq!(records.len(), 3);
    assert_eq!(records.iter().map(|r| r.is_throttled).collect::<Vec<_>>(), [Some(false), Some(false), None]);
}

#[test]
fn sentinel_office_activity_row() {
    let r = record(read_sample("otrf__GoldenSAMLADFSMailAccess__OfficeActivityEvents.json").trim());
    assert_eq!(r.record_id.as_deref(), Some("699e0b10-1c53-403e-976f-ce0847a92b44"));
    assert_eq!(r.creation_time.to_rfc3339(), "2021-08-02T13:32:07+00:00");
    assert_eq!(r.client_address.as_ref().unwrap().canonical(), "1.2.3.4");
    assert_eq!(r.logon_type, Some(LogonType::Owner));
    assert_eq!(r.user_type.as_ref().map(UserType::as_str), Some("Regular"));
    assert_eq!(r.external_access, Some(false));
    assert_eq!(r.access_type, MailAccessType::Bind);
    assert_eq!(r.is_throttled, Some(false));
    assert_eq!(r.app_id.as_deref(), Some("00000003-0000-0000-c000-000000000000"));
    assert_eq!(r.client_app_id.as_deref(), Some("5a95e683-08ad-424e-a441-1d1aec52c02c"));
    // Folders was a JSON string: 7 message ids in \Inbox, no sizes.
    assert_eq!(r.folders[0].path.as_deref(), Some("\\Inbox"));
    assert_eq!(r.items.len(), 7);
    assert!(r.items.iter().all(|i| i.size_in_bytes.is_none()));
    assert_eq!(r.items[1].internet_message_id, "<AB1CD23EF4567DAC24353B8AD047DDEB0B1EB9@AB1CD23EF4567.abcdef12.prod.outlook.com>");
    // Sentinel drops OperationCount.
    assert_eq!(r.operation_count, None);
    assert_eq!(r.degraded, None);
}

fn defender_lines() -> Vec<String> {
    read_sample("otrf__GoldenSAMLADFSMailAccess__Microsoft365DefenderEvents.json")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect()
}

#[test]
fn defender_cloud_app_event_is_degraded_and_recovers_what_is_left() {
    let line = defender_lines().into_iter().find(|l| l.contains("\"ActionType\":\"MailItemsAccessed\"")).unwrap();
    let r = record(&line);
    assert_eq!(r.creation_time.to_rfc3339(), "2021-08-02T13:32:07+00:00");
    assert_eq!(r.access_type, MailAccessType::Bind, "recovered from '@{{Value=Bind; Name=MailAccessType}}'");
    assert_eq!(r.is_throttled, Some(false));
    assert_eq!(r.operation_count, Some(7));
    assert_eq!(r.folders.len(), 1);
    assert_eq!(r.folders[0].path.as_deref(), Some("\\Inbox"));
    assert_eq!(r.folders[0].id.as_deref(), Some("LgAAAAAM7KyTTmWeRac2KXBEz/7aAQARGHK+grzLTpRJraC1QR6kAAAAAAEMAAAB"));
    // The item list was lost: nothing is invented in its place.
    assert_eq!(r.folders[0].item_count, None);
    assert!(r.items.is_empty());
    let reason = r.degraded.as_deref().expect("degraded");
    assert!(reason.contains("System.Object[]"), "{reason}");
}

#[test]
fn defender_other_action_types_are_skipped() {
    let options = InterpretOptions::default();
    let mut skipped = Vec::new();
    for line in defender_lines() {
        if let Ok(Outcome::Skipped { operation }) = interpret_json(&line, &options) {
            skipped.push(operation);
        }
    }
    assert_eq!(skipped.len(), defender_lines().len() - 1);
    assert!(skipped.iter().any(|op| op == "LdapSearch"), "{skipped:?}");
}

#[test]
fn sentinel_and_defender_copies_of_one_record_count_once() {
    let mut session = Session::new(SessionOptions { return_records: true, ..Default::default() });
    let mut writer = BatchWriter::default();
    writer.string(read_sample("otrf__GoldenSAMLADFSMailAccess__OfficeActivityEvents.json").trim());
    for line in defender_lines() {
        writer.string(&line);
    }
    let output = session
        .ingest_results(parse_objects(&writer.buf, 0, &InterpretOptions::default(), &std::sync::atomic::AtomicBool::new(false)).unwrap());
    let tally = session.tally();
    assert_eq!(output.records.len(), 1);
    assert_eq!(tally.analysed, 1);
    assert_eq!(tally.duplicates, 1);
    assert_eq!(tally.read, 1 + defender_lines().len() as u64);
    assert!(tally.is_balanced(), "{tally:?}");
}

#[test]
fn published_page_sample_is_invalid_json_and_says_where() {
    // The page publishes a one-element array; the record inside has `"Path": "\Inbox"`.
    let text = read_sample("pages__prophecyinternational__Office365ExchangeItemAggregated_sample.txt");
    let record_text = &text[text.find('{').unwrap()..=text.rfind('}').unwrap()];
    let err = interpret_json(record_text, &InterpretOptions::default()).unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidJson);
    // serde_json names the invalid escape with its line and column inside the record.
    assert!(err.message.contains("invalid escape at line 43 column 11"), "{}", err.message);
}

#[test]
fn pipeline_encoded_sample_matches_json_text() {
    // The same record as AuditData text inside a Search-UnifiedAuditLog-shaped object.
    let text = sekoia_message("sekoia__o365__exchange_item_aggregated.json");
    let mut writer = BatchWriter::default();
    writer
        .map(4)
        .key("RecordType")
        .string("ExchangeItemAggregated")
        .key("Operations")
        .string("MailItemsAccessed")
        .key("AuditData")
        .string(&text)
        .key("Identity")
        .string("461a38ce-fc36-4a4d-b73e-643262cc063f");
    let node = BatchReader::new(&writer.buf).next_node().unwrap();
    let from_object = match interpret_node(&node, &InterpretOptions::default()).unwrap() {
        Outcome::Record(r) => *r,
        other => panic!("{other:?}"),
    };
    assert_eq!(from_object, record(&text));
}
