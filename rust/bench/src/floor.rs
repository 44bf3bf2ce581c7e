//! The parse floor: AuditData JSON Lines read with serde_json into exactly the fields the
//! engine reads, borrowing strings from the input where JSON allows (a string with an escape
//! is copied, as in the engine). One core, no analysis: the least any reader of these records
//! must do. And the engine itself on the same lines, for where the time goes.

use std::borrow::Cow;

use serde::Deserialize;

use mailaccess_engine::analysis::{AddressRange, Indicators, RecordFilter, VerdictAnalysis, VerdictOptions};
use mailaccess_engine::{interpret_json, BatchOutput, InterpretOptions, Session, SessionOptions, SourcePosition};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FloorRecord<'a> {
    #[serde(borrow)]
    pub creation_time: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub operation: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub user_id: Option<Cow<'a, str>>,
    #[serde(borrow, rename = "MailboxOwnerUPN")]
    pub mailbox_owner_upn: Option<Cow<'a, str>>,
    #[serde(borrow, rename = "ClientIPAddress")]
    pub client_ip_address: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub client_info_string: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub session_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub app_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub client_app_id: Option<Cow<'a, str>>,
    pub logon_type: Option<i64>,
    #[serde(borrow)]
    pub operation_properties: Option<Vec<Property<'a>>>,
    pub operation_count: Option<u64>,
    #[serde(borrow)]
    pub folders: Option<Vec<Folder<'a>>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Property<'a> {
    #[serde(borrow)]
    pub name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub value: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Folder<'a> {
    #[serde(borrow)]
    pub path: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub folder_items: Option<Vec<FolderItem<'a>>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FolderItem<'a> {
    #[serde(borrow)]
    pub internet_message_id: Option<Cow<'a, str>>,
    pub size_in_bytes: Option<u64>,
}

/// What a pass over the lines found; checked against the manifest so the floor is known to
/// have read everything.
#[derive(Default, Debug, Clone, PartialEq, Eq)]
pub struct FloorCount {
    pub records: u64,
    pub mail_items_accessed: u64,
    pub items: u64,
    pub bytes_of_items: u64,
    pub errors: u64,
}

/// The lines of a JSON Lines buffer (a final line without newline included; blank lines not).
pub fn lines(buffer: &[u8]) -> Vec<&str> {
    let text = std::str::from_utf8(buffer).expect("the input is UTF-8");
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = Vec::with_capacity(buffer.len() / 1500);
    let mut start = 0;
    for end in memchr::memchr_iter(b'\n', text.as_bytes()) {
        let line = text[start..end].trim_end_matches('\r');
        if !line.trim().is_empty() {
            out.push(line);
        }
        start = end + 1;
    }
    if start < text.len() && !text[start..].trim().is_empty() {
        out.push(&text[start..]);
    }
    out
}

/// One pass of the floor.
pub fn parse_all(lines: &[&str]) -> FloorCount {
    let mut count = FloorCount::default();
    for line in lines {
        count.records += 1;
        match serde_json::from_str::<FloorRecord>(line) {
            Ok(record) => {
                if record.operation.as_deref() == Some("MailItemsAccessed") {
                    count.mail_items_accessed += 1;
                }
                for folder in record.folders.iter().flatten() {
                    for item in folder.folder_items.iter().flatten() {
                        count.items += u64::from(item.internet_message_id.is_some());
                        count.bytes_of_items += item.size_in_bytes.unwrap_or(0);
                    }
                }
                std::hint::black_box(&record);
            }
            Err(_) => count.errors += 1,
        }
    }
    count
}

/// What the engine made of the lines: the same verdict the cmdlet computes, in-process, on
/// one thread, without the shim or PowerShell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineCount {
    pub read: u64,
    pub analysed: u64,
    pub skipped: u64,
    pub errors: u64,
    pub findings: u64,
}

/// How much of the engine a pass runs, to see where the time goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EngineStage {
    /// `interpret_json` alone: JSON to a record, dropped.
    Interpret,
    /// And the session: duplicates, filters, tally.
    Session,
    /// And the verdict (Get-CompromisedMailAccess -AttackerIPAddress).
    Verdict,
}

pub fn engine_verdict(lines: &[&str], attacker_ip: &str) -> EngineCount {
    engine_pass(lines, attacker_ip, EngineStage::Verdict)
}

pub fn engine_pass(lines: &[&str], attacker_ip: &str, stage: EngineStage) -> EngineCount {
    let options = InterpretOptions::default();
    if stage == EngineStage::Interpret {
        let mut count = EngineCount { read: 0, analysed: 0, skipped: 0, errors: 0, findings: 0 };
        for line in lines {
            count.read += 1;
            match interpret_json(line, &options) {
                Ok(mailaccess_engine::Outcome::Record(record)) => {
                    count.analysed += 1;
                    std::hint::black_box(&record);
                }
                Ok(mailaccess_engine::Outcome::Skipped { .. }) => count.skipped += 1,
                Err(_) => count.errors += 1,
            }
        }
        return count;
    }
    let analysis: Option<Box<dyn mailaccess_engine::analysis::Analysis>> = if stage == EngineStage::Verdict {
        Some(Box::new(VerdictAnalysis::new(VerdictOptions {
            indicators: Indicators { addresses: vec![AddressRange::parse(attacker_ip).expect("an address")], ..Default::default() },
            ..Default::default()
        })))
    } else {
        None
    };
    let mut session = Session::new(SessionOptions { return_records: false, filter: RecordFilter::default(), analysis });
    let mut output = BatchOutput::default();
    for (index, line) in lines.iter().enumerate() {
        let position = SourcePosition { index: index as u64, ..SourcePosition::default() };
        session.accept(interpret_json(line, &options), position, &mut output);
        if output.errors.len() > 1024 {
            output.errors.clear();
        }
    }
    let tally = session.tally();
    let (read, analysed, skipped, errors) = (tally.read, tally.analysed, tally.skipped, tally.errors);
    let findings = session
        .finish_analysis(&std::sync::atomic::AtomicBool::new(false))
        .and_then(Result::ok)
        .and_then(|r| r.output.into_verdict())
        .map(|v| v.findings.len() as u64)
        .unwrap_or(0);
    EngineCount { read, analysed, skipped, errors, findings }
}

/// Peak resident memory of this process (Linux `VmHWM`), in bytes; None elsewhere.
pub fn peak_rss_bytes() -> Option<u64> {
    status_bytes("VmHWM:")
}

/// Resident memory of this process now (Linux `VmRSS`), in bytes.
pub fn rss_bytes() -> Option<u64> {
    status_bytes("VmRSS:")
}

fn status_bytes(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Resets `VmHWM` to the current resident set (Linux: `5` to `/proc/self/clear_refs`), so the
/// next peak read is that of what runs in between. False when not possible.
pub fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}
