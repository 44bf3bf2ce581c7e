//! Every document shape the reader accepts, and the golden rule: the same logical records give
//! the same MailAccessRecords whatever shape they come in.

mod input_common;

use input_common::*;
use mailaccess_engine::input::{DocumentFormat, ReaderOptions, RecordReader};
use mailaccess_engine::{ErrorKind, LogonType, MailAccessType, Outcome, Session, SessionOptions, UserType};
use std::io::Cursor;
use std::sync::atomic::AtomicBool;

const IDS: [&str; 6] = [
    "R 00000000-0000-0000-0000-000000000001",
    "R 00000000-0000-0000-0000-000000000002",
    "R 00000000-0000-0000-0000-000000000003",
    "S HardDelete",
    "R 00000000-0000-0000-0000-000000000005",
    "R 00000000-0000-0000-0000-000000000006",
];

fn without_lines(summary: &[String]) -> Vec<&str> {
    summary.iter().map(|s| s.rsplit_once(" @").map_or(s.as_str(), |(head, _)| head)).collect()
}

#[test]
fn golden_every_shape_gives_the_same_records() {
    let expected = expected_outcomes();
    assert_eq!(expected.iter().filter(|o| matches!(o, Ok(Outcome::Record(_)))).count(), 5);
    for (shape, text) in all_shapes() {
        let results = read_every_way(text.as_bytes());
        assert_eq!(without_lines(&summary(&results)), IDS, "{shape}");
        assert_eq!(outcomes(&results), expected, "{shape}");
    }
}

#[test]
fn golden_records_are_what_the_fixtures_say() {
    // The reference itself must be right, or the golden test proves nothing.
    let expected = expected_outcomes();
    let record = |i: usize| match &expected[i] {
        Ok(Outcome::Record(r)) => r.clone(),
        other => panic!("{other:?}"),
    };
    let r = record(0);
    assert_eq!(r.creation_time.to_rfc3339(), "2024-03-01T10:15:00+00:00");
    assert_eq!(r.items.len(), 2);
    assert_eq!(r.is_throttled, Some(false));
    assert_eq!(r.originating_server.as_deref(), Some("AM0PR07MB5763 (15.20.4200.000)"));
    let r = record(1);
    assert_eq!(r.user_type.as_ref().map(UserType::as_str), Some("Application"));
    assert_eq!(r.client_address.as_ref().unwrap().canonical(), "2001:db8::1");
    assert_eq!(r.items[0].internet_message_id, "<b1@contoso.com>");
    assert_eq!(r.items[0].size_in_bytes, Some(1352491));
    let r = record(2);
    assert_eq!(r.access_type, MailAccessType::Sync);
    assert_eq!(r.is_throttled, Some(true));
    assert_eq!(r.folders.len(), 2);
    let r = record(4);
    assert_eq!(r.client_info_string.as_deref(), Some("Client=WebServices;Agent \"x\", y; z\ttab"));
    assert_eq!(r.folders[0].path.as_deref(), Some("\\Boîte de réception"));
    let r = record(5);
    assert_eq!(r.mailbox.as_deref(), Some("bob@contoso.com"));
    assert_eq!(r.user_id.as_deref(), Some("mallory@contoso.com"));
    assert_eq!(r.logon_type, Some(LogonType::Delegated));
}

#[test]
fn lines_are_where_the_records_start() {
    assert_eq!(summary(&read_every_way(jsonl().as_bytes()))[5], format!("{} @6", IDS[5]));
    // Pretty array: `[` on line 1, each record's `{` on its own line.
    let pretty = array_pretty();
    let starts: Vec<u64> = pretty.lines().enumerate().filter(|(_, l)| *l == "  {").map(|(i, _)| i as u64 + 1).collect();
    let lines: Vec<u64> = read_every_way(pretty.as_bytes()).iter().map(|r| r.position.line.unwrap()).collect();
    assert_eq!(lines, starts);
    // CSV: the header is line 2 after #TYPE; rows follow one a line.
    let lines: Vec<u64> = read_every_way(sual_csv().as_bytes()).iter().map(|r| r.position.line.unwrap()).collect();
    assert_eq!(lines, [3, 4, 5, 6, 7, 8]);
}

#[test]
fn delimiters_semicolon_and_tab() {
    for delimiter in [";", "\t"] {
        let text = purview_csv()
            .lines()
            .map(|line| {
                // Re-join the fields with the other delimiter (the fields hold no bare commas
                // outside quotes except as separators).
                let mut out = String::new();
                let mut quoted = false;
                for c in line.chars() {
                    match c {
                        '"' => {
                            quoted = !quoted;
                            out.push(c)
                        }
                        ',' if !quoted => out.push_str(delimiter),
                        _ => out.push(c),
                    }
                }
                out + "\n"
            })
            .collect::<String>();
        let results = read_every_way(text.as_bytes());
        assert_eq!(outcomes(&results), expected_outcomes(), "delimiter {delimiter:?}");
    }
}

#[test]
fn excel_sep_line_sets_the_delimiter() {
    let text = format!(
        "sep=;\n{}",
        purview_csv().replace(",,\n", ";;\n").replacen(
            "RecordId,CreationDate,RecordType,Operation,UserId,AuditData,AssociatedAdminUnits,AssociatedAdminUnitsNames",
            "RecordId;CreationDate;RecordType;Operation;UserId;AuditData;AssociatedAdminUnits;AssociatedAdminUnitsNames",
            1
        )
    );
    // Rows still use commas between their first fields: they must fail on field count, not
    // be misread.
    let results = read_every_way(text.as_bytes());
    assert!(results.iter().all(|r| matches!(&r.outcome, Err(e) if e.kind == ErrorKind::InvalidCsv)), "{:?}", summary(&results));
}

#[test]
fn search_mailbox_audit_log_show_details_csv() {
    let header = "Operation,OperationResult,LogonType,ExternalAccess,DestFolderId,DestFolderPathName,FolderId,FolderPathName,FolderName,MemberRights,MemberSid,MemberUpn,ClientInfoString,ClientIPAddress,ClientIP,ClientMachineName,ClientProcessName,ClientVersion,InternalLogonType,MailboxOwnerUPN,MailboxOwnerSid,DestMailboxOwnerUPN,DestMailboxOwnerSid,DestMailboxGuid,CrossMailboxOperation,LogonUserDisplayName,LogonUserSid,SourceItems,SourceFolders,SourceItemIdsList,SourceItemSubjectsList,SourceItemAttachmentsList,SourceItemFolderPathNamesList,SourceFolderPathNamesList,SourceItemInternetMessageIdsList,ItemId,ItemSubject,ItemAttachments,ItemInternetMessageId,DirtyProperties,OriginatingServer,SessionId,OperationProperties,AuditOperationsCountInAggregatedRecord,AggregatedRecordFoldersData,AppId,ClientAppId,ItemIsRecord,ItemComplianceLabel,MailboxGuid,MailboxResolvedOwnerName,LastAccessed,Identity,IsValid,ObjectState";
    let columns: Vec<&str> = header.split(',').collect();
    let row = |values: &[(&str, &str)]| {
        columns
            .iter()
            .map(|c| values.iter().find(|(k, _)| k == c).map(|(_, v)| csv_quote(v)).unwrap_or_default())
            .collect::<Vec<_>>()
            .join(",")
    };
    let folders = r#"[{"Id":"LgAAAA1","Path":"\\Inbox","FolderItems":[{"InternetMessageId":"<m1@contoso.com>"},{"InternetMessageId":"<m2@contoso.com>"}]}]"#;
    let text = format!(
        "#TYPE Deserialized.Microsoft.Exchange.Management.AuditLogSearch.MailboxAuditLogRecord\n{header}\n{}\n{}\n",
        row(&[
            ("Operation", "MailItemsAccessed"),
            ("OperationResult", "Succeeded"),
            ("LogonType", "Owner"),
            ("ExternalAccess", "False"),
            ("ClientInfoString", "Client=REST;;"),
            ("ClientIPAddress", "203.0.113.5"),
            ("MailboxOwnerUPN", "alice@contoso.com"),
            ("SessionId", "sess-9"),
            ("OperationProperties", "MailAccessType:Bind, IsThrottled:False"),
            ("AuditOperationsCountInAggregatedRecord", "2"),
            ("AggregatedRecordFoldersData", folders),
            ("LastAccessed", "1/4/2019 2:46:40 PM"),
            ("Identity", "RgAAAAB1"),
            ("IsValid", "True"),
            ("ObjectState", "New"),
        ]),
        row(&[("Operation", "Update"), ("LastAccessed", "1/4/2019 2:50:00 PM"), ("MailboxOwnerUPN", "alice@contoso.com")]),
    );
    let results = read_every_way(text.as_bytes());
    assert_eq!(summary(&results), ["R RgAAAAB1 @3", "S Update @4"]);
    let Ok(Outcome::Record(r)) = &results[0].outcome else { unreachable!() };
    assert_eq!(r.creation_time.to_rfc3339(), "2019-01-04T14:46:40+00:00");
    assert_eq!(r.access_type, MailAccessType::Bind);
    assert_eq!(r.is_throttled, Some(false));
    assert_eq!(r.operation_count, Some(2));
    assert_eq!(r.items.iter().map(|i| i.internet_message_id.as_str()).collect::<Vec<_>>(), ["<m1@contoso.com>", "<m2@contoso.com>"]);
    assert_eq!(r.client_address.as_ref().unwrap().canonical(), "203.0.113.5");
    assert_eq!(r.logon_type, Some(LogonType::Owner));
    assert_eq!(r.degraded, None);
}

#[test]
fn sentinel_office_activity_csv_export() {
    // Log Analytics "Export to CSV": ` [UTC]` on time columns, dates as `8/2/2021, 1:32:07.000 PM`,
    // Folders and OperationProperties as JSON text.
    let header = "TenantId,\"TimeGenerated [UTC]\",RecordType,Operation,OrganizationId,UserType,UserKey,OfficeWorkload,ResultStatus,UserId,ExternalAccess,OriginatingServer,OrganizationName,Logon_Type,MailboxGuid,MailboxOwnerUPN,ClientInfoString,Client_IPAddress,Folders,SourceSystem,OfficeId,\"Start_Time [UTC]\",OperationProperties,AppId,ClientAppId,Type";
    let folders = r#"[{"FolderItems":[{"InternetMessageId":"<AB1@AB1.prod.outlook.com>"},{"InternetMessageId":"<AB2@AB1.prod.outlook.com>"}],"Id":"LgAAAAAM","Path":"\\Inbox"}]"#;
    let properties = r#"[{"Name":"MailAccessType","Value":"Bind"},{"Name":"IsThrottled","Value":"False"}]"#;
    let row = [
        "00000000-0000-0000-0000-000000000000",
        "8/2/2021, 1:32:07.000 PM",
        "50",
        "MailItemsAccessed",
        "00000000-0000-0000-0000-000000000000",
        "Regular",
        "100320015858B802",
        "Exchange",
        "Succeeded",
        "pgustavo@simulandlabs.com",
        "False",
        "AB1CD23EF4567 (15.20.4200.000)\r\n",
        "simulandlabs.onmicrosoft.com",
        "Owner",
        "mbx",
        "pgustavo@simulandlabs.com",
        "Client=REST;;",
        "1.2.3.4",
        folders,
        "OfficeActivityManager",
        "699e0b10-1c53-403e-976f-ce0847a92b44",
        "8/2/2021, 1:32:07.000 PM",
        properties,
        "00000003-0000-0000-c000-000000000000",
        "5a95e683-08ad-424e-a441-1d1aec52c02c",
        "OfficeActivity",
    ]
    .iter()
    .map(|f| csv_quote(f))
    .collect::<Vec<_>>()
    .join(",");
    let text = format!("\u{feff}{header}\r\n{row}\r\n");
    let results = read_every_way(text.as_bytes());
    assert_eq!(summary(&results), ["R 699e0b10-1c53-403e-976f-ce0847a92b44 @2"]);
    let Ok(Outcome::Record(r)) = &results[0].outcome else { unreachable!() };
    assert_eq!(r.creation_time.to_rfc3339(), "2021-08-02T13:32:07+00:00");
    assert_eq!(r.client_address.as_ref().unwrap().canonical(), "1.2.3.4");
    assert_eq!(r.logon_type, Some(LogonType::Owner));
    assert_eq!(r.items.len(), 2);
    assert_eq!(r.is_throttled, Some(false));
    assert_eq!(r.app_id.as_deref(), Some("00000003-0000-0000-c000-000000000000"));
    assert_eq!(r.originating_server.as_deref(), Some("AB1CD23EF4567 (15.20.4200.000)"));
}

#[test]
fn audit_data_as_json_strings() {
    // `... | Select-Object -ExpandProperty AuditData | ConvertTo-Json` writes an array of strings.
    let strings: Vec<String> = audit_records().iter().map(|r| r.to_string()).collect();
    let text = serde_json::to_string_pretty(&strings).unwrap();
    let results = read_every_way(text.as_bytes());
    assert_eq!(outcomes(&results), expected_outcomes());
}

#[test]
fn search_unified_audit_log_objects_as_json() {
    // `Search-UnifiedAuditLog ... | ConvertTo-Json`: AuditData is a string inside each object.
    let objects: Vec<serde_json::Value> = audit_records()
        .iter()
        .map(|r| {
            serde_json::json!({
                "RunspaceId": "5c9b", "RecordType": 50, "CreationDate": "/Date(1709288100000)/",
                "UserIds": r["UserId"], "Operations": r["Operation"], "AuditData": r.to_string(),
                "ResultIndex": 1, "ResultCount": 6, "Identity": r["Id"], "IsValid": true, "ObjectState": 2
            })
        })
        .collect();
    let text = serde_json::to_string_pretty(&objects).unwrap();
    let results = read_every_way(text.as_bytes());
    assert_eq!(outcomes(&results), expected_outcomes());
}

#[test]
fn several_records_on_one_json_line() {
    // A JSON Lines file where a line holds two objects, another a Graph page, another an array.
    let r = audit_records();
    let text = format!("{}\n{}{}\n{{\"value\":[{}]}}\n[{}]\n{}\n", r[0], r[1], r[2], r[3], r[4], r[5]);
    let results = read_every_way(text.as_bytes());
    assert_eq!(outcomes(&results), expected_outcomes());
    let lines: Vec<u64> = results.iter().map(|r| r.position.line.unwrap()).collect();
    assert_eq!(lines, [1, 2, 2, 3, 4, 5]);
}

#[test]
fn empty_and_blank_documents_have_no_records() {
    for text in ["", "   \n\r\n\t", "\u{feff}", "[]", "[ ]\n[]", "{\"value\":[]}", "RecordId,CreationDate,AuditData\n", "\n\nA,B\r\n\r\n"] {
        let results = read_every_way(text.as_bytes());
        assert!(results.is_empty(), "{text:?}: {:?}", summary(&results));
    }
}

#[test]
fn format_and_progress() {
    let text = sual_csv();
    let mut reader = RecordReader::from_reader(
        Box::new(Cursor::new(text.clone().into_bytes())),
        None,
        Some(text.len() as u64),
        ReaderOptions { chunk_bytes: 100, ..ReaderOptions::default() },
    );
    assert_eq!(reader.format(), None);
    let cancel = AtomicBool::new(false);
    let first = reader.next_chunk(&cancel).unwrap();
    assert_eq!(reader.format(), Some(DocumentFormat::Csv));
    let progress = reader.progress();
    assert_eq!(progress.records, first.len() as u64);
    assert!(progress.bytes_read < text.len() as u64, "read in chunks: {progress:?}");
    while reader.next_chunk(&cancel).is_some() {}
    let progress = reader.progress();
    assert_eq!((progress.bytes_read, progress.bytes_total, progress.records), (text.len() as u64, Some(text.len() as u64), 6));
    assert!(first.iter().all(|r| r.position.file.is_none()));
}

#[test]
fn accounting_through_the_session() {
    // Records, a skipped one, a duplicate and errors: every one counted once.
    let r = audit_records();
    let text = format!("{}\n{}\n{}\n{{\"Operation\":\n{}\nnot json\n{}\n", r[0], r[3], r[0], r[1], r[2]);
    let results = read_every_way(text.as_bytes());
    assert_eq!(
        summary(&results),
        [
            "R 00000000-0000-0000-0000-000000000001 @1",
            "S HardDelete @2",
            "R 00000000-0000-0000-0000-000000000001 @3",
            "E InvalidJson @4",
            "R 00000000-0000-0000-0000-000000000002 @5",
            "E InvalidJson @6",
            "R 00000000-0000-0000-0000-000000000003 @7",
        ]
    );
    let mut session = Session::new(SessionOptions { return_records: true, ..Default::default() });
    let mut reader = RecordReader::from_reader(
        Box::new(Cursor::new(text.into_bytes())),
        Some(0),
        None,
        ReaderOptions { chunk_bytes: 64, threads: 2, ..ReaderOptions::default() },
    );
    let cancel = AtomicBool::new(false);
    let (mut records, mut errors) = (0, 0);
    while let Some(chunk) = reader.next_chunk(&cancel) {
        let output = session.ingest_results(chunk);
        records += output.records.len();
        errors += output.errors.len();
    }
    let tally = session.tally();
    assert!(tally.is_balanced(), "{tally:?}");
    assert_eq!(tally.read, reader.progress().records);
    assert_eq!((tally.read, tally.analysed, tally.skipped, tally.duplicates, tally.errors), (7, 3, 1, 1, 2));
    assert_eq!((records, errors), (3, 2));
}

#[test]
fn reading_ahead_gives_the_same_results_in_the_same_order() {
    use mailaccess_engine::input::{PrefetchingReader, ReaderOptions, RecordReader};
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;
    let mut text = String::new();
    for i in 0..3000 {
        text.push_str(&format!(
            "{{\"Operation\":\"MailItemsAccessed\",\"Id\":\"r{i}\",\"CreationTime\":\"2024-05-01T10:00:00Z\",\"MailboxOwnerUPN\":\"a@x\"}}\n"
        ));
    }
    let options = || ReaderOptions { chunk_bytes: 4096, threads: 2, ..ReaderOptions::default() };
    let never = AtomicBool::new(false);
    let mut direct = RecordReader::from_reader(Box::new(std::io::Cursor::new(text.clone().into_bytes())), Some(0), None, options());
    let mut expected = Vec::new();
    while let Some(chunk) = direct.next_chunk(&never) {
        expected.extend(chunk);
    }
    let mut ahead = PrefetchingReader::spawn(
        RecordReader::from_reader(Box::new(std::io::Cursor::new(text.into_bytes())), Some(0), None, options()),
        Arc::new(AtomicBool::new(false)),
    );
    let mut got = Vec::new();
    while let Some(chunk) = ahead.next_chunk() {
        got.extend(chunk);
    }
    assert_eq!(got.len(), 3000);
    assert_eq!(got, expected);
    assert_eq!(ahead.progress().records, 3000);
}

#[test]
fn dropping_a_reader_midway_stops_its_thread() {
    use mailaccess_engine::input::{PrefetchingReader, ReaderOptions, RecordReader};
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;
    let line = "{\"Operation\":\"Send\",\"CreationTime\":\"2024-05-01T10:00:00Z\"}\n".repeat(100_000);
    let options = ReaderOptions { chunk_bytes: 4096, ..ReaderOptions::default() };
    let mut ahead = PrefetchingReader::spawn(
        RecordReader::from_reader(Box::new(std::io::Cursor::new(line.into_bytes())), Some(0), None, options),
        Arc::new(AtomicBool::new(false)),
    );
    assert!(ahead.next_chunk().is_some());
    drop(ahead); // must return: the blocked thread is released
}

#[test]
fn a_panic_while_reading_ahead_is_raised_to_the_caller_not_taken_for_the_end() {
    use mailaccess_engine::input::{PrefetchingReader, ReaderOptions, RecordReader};
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;
    /// A source that gives one chunk of records, then fails inside the engine's thread.
    struct FailingSource(std::io::Cursor<Vec<u8>>);
    impl std::io::Read for FailingSource {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            match self.0.read(buf)? {
                0 => panic!("source failed mid-read"),
                n => Ok(n),
            }
        }
    }
    let line = b"{\"Operation\":\"Send\",\"CreationTime\":\"2024-05-01T10:00:00Z\"}\n".to_vec();
    let options = ReaderOptions { chunk_bytes: 4096, ..ReaderOptions::default() };
    let mut ahead = PrefetchingReader::spawn(
        RecordReader::from_reader(Box::new(FailingSource(std::io::Cursor::new(line))), Some(0), None, options),
        Arc::new(AtomicBool::new(false)),
    );
    let read = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| while ahead.next_chunk().is_some() {}));
    let panic = read.expect_err("the failed read must not look like the end of the input");
    assert_eq!(panic.downcast_ref::<&str>(), Some(&"source failed mid-read"));
}
