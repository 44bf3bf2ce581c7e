//! Shared by the input_* tests: reading helpers, and one set of logical records written in
//! every shape a reader meets.
#![allow(dead_code)]

use std::io::Cursor;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use mailaccess_engine::input::{ReadResult, ReaderOptions, RecordReader};
use mailaccess_engine::{interpret_json, InterpretOptions, MailAccessRecord, Outcome, SourcePosition};
use serde_json::{json, Value};

pub fn samples_dir() -> PathBuf {
    match std::env::var_os("MAF_SAMPLES_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/samples"),
    }
}

pub fn sample_path(name: &str) -> PathBuf {
    let path = samples_dir().join(name);
    assert!(path.is_file(), "sample missing: {}", path.display());
    path
}

pub fn options(chunk_bytes: usize, threads: usize) -> ReaderOptions {
    ReaderOptions { chunk_bytes, threads, ..ReaderOptions::default() }
}

pub fn drain(mut reader: RecordReader) -> Vec<ReadResult> {
    let cancel = AtomicBool::new(false);
    let mut all = Vec::new();
    while let Some(chunk) = reader.next_chunk(&cancel) {
        assert!(!chunk.is_empty(), "next_chunk returns None at the end, not an empty chunk");
        all.extend(chunk);
    }
    assert!(reader.next_chunk(&cancel).is_none(), "None stays None");
    all
}

pub fn read_bytes(bytes: &[u8], options: ReaderOptions) -> Vec<ReadResult> {
    let total = bytes.len() as u64;
    drain(RecordReader::from_reader(Box::new(Cursor::new(bytes.to_vec())), Some(3), Some(total), options))
}

/// Reads the bytes with tiny and normal chunks, on one and two threads: every way must give
/// the same results. Returns them.
pub fn read_every_way(bytes: &[u8]) -> Vec<ReadResult> {
    let reference = read_bytes(bytes, options(4 << 20, 1));
    for (chunk, threads) in [(1, 1), (2, 2), (3, 1), (7, 2), (64, 1), (64, 2), (4096, 2), (4 << 20, 2)] {
        let other = read_bytes(bytes, options(chunk, threads));
        assert_eq!(other, reference, "chunk {chunk}, threads {threads}");
    }
    for (i, result) in reference.iter().enumerate() {
        assert_eq!(result.position.index, i as u64, "indices count records in order");
        assert_eq!(result.position.file, Some(3));
    }
    reference
}

/// One line per result: `R <id> @line`, `S <operation> @line`, `E <kind> @line`.
pub fn summary(results: &[ReadResult]) -> Vec<String> {
    results
        .iter()
        .map(|r| {
            let line = r.position.line.unwrap_or(0);
            match &r.outcome {
                Ok(Outcome::Record(record)) => format!("R {} @{line}", record.record_id.as_deref().unwrap_or("-")),
                Ok(Outcome::Skipped { operation }) => format!("S {operation} @{line}"),
                Err(error) => format!("E {} @{line}", error.kind.name()),
            }
        })
        .collect()
}

pub fn error_at(results: &[ReadResult], index: usize) -> &mailaccess_engine::RecordError {
    match &results[index].outcome {
        Err(error) => error,
        other => panic!("result {index} is not an error: {other:?}"),
    }
}

/// Outcomes without their positions, for comparing shapes.
pub fn outcomes(results: &[ReadResult]) -> Vec<Result<Outcome, String>> {
    results
        .iter()
        .map(|r| match &r.outcome {
            Ok(Outcome::Record(record)) => {
                let mut record: MailAccessRecord = (**record).clone();
                assert_eq!(record.source, r.position, "the record carries its position");
                record.source = SourcePosition::default();
                Ok(Outcome::Record(Box::new(record)))
            }
            Ok(other) => Ok(other.clone()),
            Err(error) => Err(format!("{}: {}", error.kind.name(), error.message)),
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Logical records

fn folder(path: &str, items: &[(&str, Option<Value>)]) -> Value {
    let items: Vec<Value> = items
        .iter()
        .map(|(id, size)| match size {
            Some(size) => json!({"InternetMessageId": id, "SizeInBytes": size}),
            None => json!({"InternetMessageId": id}),
        })
        .collect();
    json!({"Id": format!("LgAAAA{}", path.len()), "Path": path, "FolderItems": items})
}

fn props(access: &str, throttled: Option<&str>) -> Value {
    let mut list = vec![json!({"Name": "MailAccessType", "Value": access})];
    if let Some(t) = throttled {
        list.push(json!({"Name": "IsThrottled", "Value": t}));
    }
    Value::Array(list)
}

/// AuditData of six records: five MailItemsAccessed of varied kinds and one HardDelete.
pub fn audit_records() -> Vec<Value> {
    vec![
        json!({
            "CreationTime": "2024-03-01T10:15:00", "Id": "00000000-0000-0000-0000-000000000001",
            "Operation": "MailItemsAccessed", "OrganizationId": "org", "RecordType": 50,
            "ResultStatus": "Succeeded", "UserKey": "1003", "UserType": 0, "Version": 1,
            "Workload": "Exchange", "UserId": "alice@contoso.com", "AppId": "00000002-0000-0ff1-ce00-000000000000",
            "ClientIPAddress": "203.0.113.5", "ClientInfoString": "Client=OWA;Action=ViaProxy",
            "ExternalAccess": false, "InternalLogonType": 0, "LogonType": 0,
            "MailboxGuid": "mbx-1", "MailboxOwnerUPN": "alice@contoso.com",
            "OperationProperties": props("Bind", Some("False")),
            "OrganizationName": "contoso.onmicrosoft.com",
            "OriginatingServer": "AM0PR07MB5763 (15.20.4200.000)\r\n",
            "SessionId": "sess-1",
            "Folders": [folder("\\Inbox", &[("<a1@contoso.com>", Some(json!(3476))), ("<a2@contoso.com>", Some(json!(4871)))])],
            "OperationCount": 2
        }),
        json!({
            "CreationTime": "2024-03-01T10:16:30", "Id": "00000000-0000-0000-0000-000000000002",
            "Operation": "MailItemsAccessed", "RecordType": 50, "UserType": 5,
            "UserId": "app@contoso.com", "AppId": "00000003-0000-0000-c000-000000000000",
            "ClientAppId": "11111111-2222-3333-4444-555555555555",
            "ClientIPAddress": "2001:DB8::0001", "ClientInfoString": "Client=REST;;",
            "ExternalAccess": "False", "LogonType": 0, "MailboxOwnerUPN": "alice@contoso.com",
            "OperationProperties": props("Bind", None),
            "Folders": [folder("Boite de reception", &[("b1@contoso.com", Some(json!(1352491.0)))])],
            "OperationCount": 1
        }),
        json!({
            "CreationTime": "2024-03-01T11:00:00Z", "Id": "00000000-0000-0000-0000-000000000003",
            "Operation": "MailItemsAccessed", "RecordType": 50, "UserType": 0,
            "UserId": "alice@contoso.com", "ClientIPAddress": "198.51.100.7",
            "ClientInfoString": "Client=MSExchangeRPC", "LogonType": 0,
            "MailboxOwnerUPN": "alice@contoso.com", "SessionId": "sess-3",
            "OperationProperties": props("Sync", Some("True")),
            "Folders": [{"Id": "LgAAAAs1", "Path": "\\Inbox"}, {"Id": "LgAAAAs2", "Path": "\\Sent Items"}]
        }),
        json!({
            "CreationTime": "2024-03-01T11:05:00", "Id": "00000000-0000-0000-0000-000000000004",
            "Operation": "HardDelete", "RecordType": 3, "UserId": "alice@contoso.com",
            "ClientIP": "203.0.113.5", "MailboxOwnerUPN": "alice@contoso.com"
        }),
        json!({
            "CreationTime": "2024-03-02T08:00:00", "Id": "00000000-0000-0000-0000-000000000005",
            "Operation": "MailItemsAccessed", "RecordType": 50, "UserType": 0,
            "UserId": "alice@contoso.com", "ClientIPAddress": "203.0.113.9",
            "ClientInfoString": "Client=WebServices;Agent \"x\", y; z\ttab",
            "MailboxOwnerUPN": "alice@contoso.com",
            "OperationProperties": props("Bind", Some("False")),
            "Folders": [folder("\\Boîte de réception", &[("<c1@contoso.com>", None)])],
            "OperationCount": 1
        }),
        json!({
            "CreationTime": "2024-03-02T09:30:00", "Id": "00000000-0000-0000-0000-000000000006",
            "Operation": "MailItemsAccessed", "RecordType": 50, "UserType": 2,
            "UserId": "mallory@contoso.com", "ClientIPAddress": "192.0.2.66",
            "ClientInfoString": "Client=OutlookService;Outlook-iOS/2.0;", "LogonType": 2,
            "MailboxOwnerUPN": "bob@contoso.com", "SessionId": "sess-6",
            "OperationProperties": props("Bind", Some("False")),
            "Folders": [folder("\\Inbox", &[("<d1@contoso.com>", Some(json!(10))), ("<d2@contoso.com>", Some(json!(20)))]),
                        folder("\\Archive", &[("<d3@contoso.com>", Some(json!(30)))])],
            "OperationCount": 3
        }),
    ]
}

/// What each record is, read straight from its AuditData text.
pub fn expected_outcomes() -> Vec<Result<Outcome, String>> {
    audit_records().iter().map(|r| interpret_json(&r.to_string(), &InterpretOptions::default()).map_err(|e| e.to_string())).collect()
}

/// The records read are the expected ones, except those at `broken` (which became errors).
pub fn assert_outcomes_except(results: &[ReadResult], broken: &[usize]) {
    let mut expected = expected_outcomes();
    let mut got = outcomes(results);
    let mut broken = broken.to_vec();
    broken.sort_unstable_by(|a, b| b.cmp(a));
    for i in broken {
        let _ = expected.remove(i);
        let _ = got.remove(i);
    }
    assert_eq!(got, expected);
}

fn field<'a>(record: &'a Value, name: &str) -> &'a str {
    record[name].as_str().unwrap_or("")
}

pub fn jsonl() -> String {
    audit_records().iter().map(|r| r.to_string() + "\n").collect()
}

pub fn array_pretty() -> String {
    serde_json::to_string_pretty(&Value::Array(audit_records())).unwrap()
}

pub fn array_compact() -> String {
    Value::Array(audit_records()).to_string()
}

/// `[a,b][c]` then a line break and `[d,e,f]`, as a collector appending batches writes.
pub fn arrays_back_to_back() -> String {
    let r = audit_records();
    format!(
        "{}{}\n{}\n",
        Value::Array(r[0..2].to_vec()),
        Value::Array(r[2..3].to_vec()),
        serde_json::to_string_pretty(&Value::Array(r[3..].to_vec())).unwrap()
    )
}

pub fn concatenated_pretty() -> String {
    audit_records().iter().map(|r| serde_json::to_string_pretty(r).unwrap() + "\n").collect()
}

pub fn concatenated_compact() -> String {
    audit_records().iter().map(|r| r.to_string()).collect()
}

fn graph_record(r: &Value) -> Value {
    let mut audit = r.clone();
    audit["@odata.type"] = json!("#microsoft.graph.security.defaultAuditData");
    audit["RecordType@odata.type"] = json!("#Int64");
    json!({
        "id": r["Id"], "createdDateTime": format!("{}Z", field(r, "CreationTime").trim_end_matches('Z')),
        "auditLogRecordType": "ExchangeItemAggregated", "operation": r["Operation"],
        "organizationId": "org", "userType": "Regular", "userId": "1003",
        "service": "Exchange", "objectId": "", "userPrincipalName": r["UserId"], "clientIp": null,
        "administrativeUnits": [""], "auditData": audit
    })
}

/// Graph pages of two records each: a pretty page, a compact one, and one with the
/// next-link before the records.
pub fn graph_pages() -> String {
    let r: Vec<Value> = audit_records().iter().map(graph_record).collect();
    let context = "https://graph.microsoft.com/beta/$metadata#security/auditLog/queries('q')/records";
    // As Graph writes it: the records before the next-link.
    let page1 = format!(
        "{{\n  \"@odata.context\": \"{context}\",\n  \"value\": {},\n  \"@odata.nextLink\": \"https://graph.microsoft.com/beta/next?$skiptoken=a\"\n}}",
        serde_json::to_string_pretty(&Value::Array(r[0..2].to_vec())).unwrap()
    );
    let page2 =
        json!({"@odata.context": context, "value": r[2..4], "@odata.nextLink": "https://graph.microsoft.com/beta/next?$skiptoken=b"});
    let page3 = format!("{{\"@odata.context\":\"{context}\",\"@odata.nextLink\":\"x\",\"value\":{}}}", Value::Array(r[4..].to_vec()));
    format!("{page1}\n{page2}{page3}\n")
}

pub fn csv_quote(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

/// `2024-03-01T10:15:00` as an en-US PowerShell session prints it: `3/1/2024 10:15:00 AM`.
pub fn culture_date(iso: &str) -> String {
    let iso = iso.trim_end_matches('Z');
    let (date, time) = iso.split_once('T').unwrap();
    let d: Vec<u32> = date.split('-').map(|p| p.parse().unwrap()).collect();
    let t: Vec<u32> = time.split(':').map(|p| p.parse().unwrap()).collect();
    let (hour, meridiem) = match t[0] {
        0 => (12, "AM"),
        h if h < 12 => (h, "AM"),
        12 => (12, "PM"),
        h => (h - 12, "PM"),
    };
    format!("{}/{}/{} {}:{:02}:{:02} {meridiem}", d[1], d[2], d[0], hour, t[1], t[2])
}

/// Search-UnifiedAuditLog | Export-Csv (Windows PowerShell: `#TYPE` line, every field quoted).
pub fn sual_csv() -> String {
    let records = audit_records();
    let mut out = String::from("#TYPE Deserialized.Microsoft.Exchange.Management.SystemConfigurationTasks.AuditRecord\r\n");
    out.push_str("\"RecordType\",\"CreationDate\",\"UserIds\",\"Operations\",\"AuditData\",\"ResultIndex\",\"ResultCount\",\"Identity\",\"IsValid\",\"ObjectState\"\r\n");
    for (i, r) in records.iter().enumerate() {
        let record_type = if r["RecordType"] == json!(50) { "ExchangeItemAggregated" } else { "ExchangeItem" };
        let row = [
            record_type.to_string(),
            culture_date(field(r, "CreationTime")),
            field(r, "UserId").to_string(),
            field(r, "Operation").to_string(),
            r.to_string(),
            (i + 1).to_string(),
            records.len().to_string(),
            field(r, "Id").to_string(),
            "True".to_string(),
            "Unchanged".to_string(),
        ];
        out.push_str(&row.iter().map(|f| csv_quote(f)).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    }
    out
}

/// The Purview portal export: ISO date with a trailing space inside quotes, admin-unit columns
/// empty.
pub fn purview_csv() -> String {
    let mut out =
        String::from("RecordId,CreationDate,RecordType,Operation,UserId,AuditData,AssociatedAdminUnits,AssociatedAdminUnitsNames\n");
    for r in audit_records() {
        out.push_str(&format!(
            "{},\"{}.0000000Z \",{},{},{},{},,\n",
            field(&r, "Id"),
            field(&r, "CreationTime").trim_end_matches('Z'),
            r["RecordType"],
            field(&r, "Operation"),
            field(&r, "UserId"),
            csv_quote(&r.to_string())
        ));
    }
    out
}

/// The older portal export: CreationDate, UserIds, Operations, AuditData.
pub fn four_column_csv() -> String {
    let mut out = String::from("CreationDate,UserIds,Operations,AuditData\n");
    for r in audit_records() {
        out.push_str(&format!(
            "{},{},{},{}\n",
            field(&r, "CreationTime"),
            field(&r, "UserId"),
            field(&r, "Operation"),
            csv_quote(&r.to_string())
        ));
    }
    out
}

/// Every shape of the same records, by name.
pub fn all_shapes() -> Vec<(&'static str, String)> {
    vec![
        ("JSON Lines", jsonl()),
        ("JSON Lines, CRLF", jsonl().replace('\n', "\r\n")),
        ("array, pretty", array_pretty()),
        ("array, compact", array_compact()),
        ("arrays back to back", arrays_back_to_back()),
        ("concatenated pretty objects", concatenated_pretty()),
        ("concatenated compact objects", concatenated_compact()),
        ("Graph pages", graph_pages()),
        ("Search-UnifiedAuditLog Export-Csv", sual_csv()),
        ("Purview CSV", purview_csv()),
        ("4-column CSV", four_column_csv()),
    ]
}
