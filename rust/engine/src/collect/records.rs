//! The records files of a collection: gzip-compressed JSON Lines, one record per line as the
//! service returned it (the Search-UnifiedAuditLog object: RecordType, CreationDate, UserIds,
//! Operations, AuditData, ResultIndex, ResultCount, Identity, ...).
//!
//! A window's records are staged in a temporary file while its sessions run. When the window
//! completes (or is given up) the file is finished, flushed and renamed into place, and only
//! then listed in the manifest; a window split or interrupted leaves nothing behind. Each
//! record is written once in the whole folder: one returned again (the same record id, in a
//! later page, session, window or run) is counted, not written.

use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;
use rustc_hash::FxHashSet;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::manifest::{sync_folder, write_time, RecordsFile, RECORDS_FOLDER};
use super::plan::PageFacts;
use crate::input::tree::{BatchReader, Node};
use crate::time::{format_iso, from_dotnet_ticks};

/// One record of a page, read from the object the shim sent.
#[derive(Debug)]
pub struct PageRecord {
    /// The record as the service returned it.
    pub json: serde_json::Value,
    /// `Identity` (AuditData's `Id`), the record's id.
    pub id: Option<String>,
    pub result_index: Option<i64>,
    pub result_count: Option<i64>,
    mailbox_owner: Option<String>,
    users: Vec<String>,
    object_id: Option<String>,
    /// Values the shim could not read (written as null).
    pub unreadable: u64,
}

/// The AuditData fields the collector needs (text ones only: a value of another type is not
/// them). Read without building the rest of the record.
#[derive(Default, Deserialize)]
struct AuditFields {
    #[serde(rename = "Id", default, deserialize_with = "text_only")]
    id: Option<String>,
    #[serde(rename = "MailboxOwnerUPN", default, deserialize_with = "text_only")]
    mailbox_owner: Option<String>,
    #[serde(rename = "UserId", default, deserialize_with = "text_only")]
    user_id: Option<String>,
    #[serde(rename = "ObjectId", default, deserialize_with = "text_only")]
    object_id: Option<String>,
}

fn text_only<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    let value = serde_json::Value::deserialize(deserializer)?;
    Ok(value.as_str().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string))
}

impl AuditFields {
    /// From AuditData as JSON text; nothing when it is not a JSON object.
    fn parse(text: &str) -> AuditFields {
        serde_json::from_str(text).unwrap_or_default()
    }

    fn read(audit: Option<&serde_json::Value>) -> AuditFields {
        match audit {
            Some(serde_json::Value::String(text)) => AuditFields::parse(text),
            Some(value @ serde_json::Value::Object(_)) => AuditFields::deserialize(value).unwrap_or_default(),
            _ => AuditFields::default(),
        }
    }
}

/// Reads a page: one top-level node per record.
pub fn read_page(batch: &[u8]) -> Result<Vec<PageRecord>, String> {
    let mut reader = BatchReader::new(batch);
    let mut records = Vec::new();
    while !reader.is_empty() {
        let node = reader.next_node().map_err(|e| e.to_string())?;
        records.push(page_record(&node));
    }
    Ok(records)
}

fn page_record(node: &Node<'_>) -> PageRecord {
    let mut unreadable = 0;
    let json = to_json(node, &mut unreadable);
    let field =
        |name: &str| -> Option<&serde_json::Value> { json.as_object()?.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v) };
    let text = |name: &str| field(name).and_then(|v| v.as_str()).map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
    let number = |name: &str| {
        field(name).and_then(|v| match v {
            serde_json::Value::Number(n) => n.as_i64(),
            serde_json::Value::String(s) => s.trim().parse().ok(),
            _ => None,
        })
    };
    let audit = AuditFields::read(field("AuditData"));
    let mut users: Vec<String> = audit.user_id.into_iter().collect();
    users.extend(text("UserIds"));
    PageRecord {
        id: text("Identity").or(audit.id),
        result_index: number("ResultIndex"),
        result_count: number("ResultCount"),
        mailbox_owner: audit.mailbox_owner,
        users,
        object_id: audit.object_id,
        unreadable,
        json,
    }
}

/// A node as JSON: times as ISO 8601 UTC text, values the shim could not read as null.
fn to_json(node: &Node<'_>, unreadable: &mut u64) -> serde_json::Value {
    use serde_json::Value;
    match node {
        Node::Null => Value::Null,
        Node::Bool(b) => Value::Bool(*b),
        Node::Int(i) => Value::from(*i),
        Node::Float(f) => serde_json::Number::from_f64(*f).map(Value::Number).unwrap_or(Value::Null),
        Node::Str(s) => Value::String(s.to_string()),
        Node::DateTime(ticks) => match from_dotnet_ticks(*ticks) {
            Some(time) => Value::String(format_iso(&time)),
            None => Value::Null,
        },
        Node::List(items) => Value::Array(items.iter().map(|n| to_json(n, unreadable)).collect()),
        Node::Map(entries) => {
            let mut map = serde_json::Map::with_capacity(entries.len());
            for (key, value) in entries {
                map.insert(key.to_string(), to_json(value, unreadable));
            }
            Value::Object(map)
        }
        Node::Unreadable(..) => {
            *unreadable += 1;
            Value::Null
        }
    }
}

/// What the plan needs to know of a page.
pub fn page_facts(records: &[PageRecord]) -> PageFacts {
    let mut indexes: Vec<i64> = records.iter().filter_map(|r| r.result_index).filter(|i| *i >= 0).collect();
    let timeouts = records.iter().filter(|r| r.result_index.is_some_and(|i| i < 0)).count() as u64;
    indexes.sort_unstable();
    let each_once = indexes.len() == records.len() && indexes.windows(2).all(|w| w[1] == w[0] + 1);
    PageFacts {
        records: records.len() as u64,
        indexes: match (indexes.first(), indexes.last()) {
            (Some(low), Some(high)) => Some((*low, *high, each_once)),
            _ => None,
        },
        timeouts,
        result_count: records.iter().filter_map(|r| r.result_count).max(),
    }
}

/// With -Mailbox, the records kept: those of the mailbox (MailboxOwnerUPN), and those of its
/// account acting (UserId, UserIds: the attacker signed in as the victim reads other
/// mailboxes too), and records of other operations that name it as their object.
#[derive(Clone, Debug, Default)]
pub struct MailboxFilter {
    mailboxes: Vec<String>,
}

impl MailboxFilter {
    pub fn new(mailboxes: &[String]) -> MailboxFilter {
        MailboxFilter { mailboxes: mailboxes.iter().map(|m| m.trim().to_lowercase()).filter(|m| !m.is_empty()).collect() }
    }

    pub fn keeps(&self, record: &PageRecord) -> bool {
        if self.mailboxes.is_empty() {
            return true;
        }
        let is_one = |text: &str| {
            let text = text.trim().to_lowercase();
            self.mailboxes.contains(&text)
        };
        record.mailbox_owner.as_deref().is_some_and(is_one)
            || record.users.iter().any(|u| is_one(u))
            || record.object_id.as_deref().is_some_and(|o| {
                let o = o.trim().to_lowercase();
                self.mailboxes.iter().any(|m| o == *m || o.starts_with(&format!("{m}\\")) || o.starts_with(&format!("{m}/")))
            })
    }
}

/// What happened to one record of a page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Disposition {
    Written,
    Duplicate,
    OtherMailbox,
}

/// Counts the bytes written through it and hashes them.
struct Hashing<W: Write> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

struct Staging {
    path: PathBuf,
    encoder: GzEncoder<Hashing<BufWriter<File>>>,
    records: u64,
    ids: FxHashSet<String>,
}

/// The records files of one collection folder.
pub struct RecordsStore {
    folder: PathBuf,
    /// Ids of every record written in the folder.
    written: FxHashSet<String>,
    staging: Option<Staging>,
    next_number: u32,
}

impl RecordsStore {
    /// Opens the store of `folder`, whose manifest lists `files`: reads the ids they hold (so
    /// that nothing is written twice) and removes what an interrupted run left that no
    /// manifest lists (a staged window, a file renamed but not yet listed).
    pub fn open(folder: &Path, files: &[RecordsFile]) -> Result<(RecordsStore, Vec<String>), String> {
        let records = folder.join(RECORDS_FOLDER);
        fs::create_dir_all(&records).map_err(|e| format!("{}: {e}", records.display()))?;
        let listed: FxHashSet<&str> = files.iter().map(|f| f.name.as_str()).collect();
        let mut removed = Vec::new();
        for entry in fs::read_dir(&records).map_err(|e| format!("{}: {e}", records.display()))? {
            let entry = entry.map_err(|e| e.to_string())?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let relative = format!("{RECORDS_FOLDER}/{name}");
            let ours = name.starts_with(".staging") || name.ends_with(".jsonl.gz");
            if ours && !listed.contains(relative.as_str()) {
                fs::remove_file(entry.path()).map_err(|e| format!("{}: {e}", entry.path().display()))?;
                removed.push(relative);
            }
        }
        let mut written = FxHashSet::default();
        let mut next_number = 1;
        for file in files {
            let path = folder.join(&file.name);
            for_each_record_id(&path, |id| {
                written.insert(id);
            })?;
            if let Some(number) = file_number(&file.name) {
                next_number = next_number.max(number + 1);
            }
        }
        Ok((RecordsStore { folder: folder.to_path_buf(), written, staging: None, next_number }, removed))
    }

    pub fn written_ids(&self) -> usize {
        self.written.len()
    }

    /// Stages one record of the window being fetched.
    pub fn add(&mut self, record: &PageRecord, filter: &MailboxFilter) -> Result<Disposition, String> {
        if let Some(id) = &record.id {
            let key = id.to_lowercase();
            if self.written.contains(&key) || self.staging.as_ref().is_some_and(|s| s.ids.contains(&key)) {
                return Ok(Disposition::Duplicate);
            }
        }
        if !filter.keeps(record) {
            return Ok(Disposition::OtherMailbox);
        }
        if self.staging.is_none() {
            self.staging = Some(self.begin()?);
        }
        let staging = self.staging.as_mut().expect("staging");
        let mut line = serde_json::to_vec(&record.json).map_err(|e| e.to_string())?;
        line.push(b'\n');
        staging.encoder.write_all(&line).map_err(|e| format!("{}: {e}", staging.path.display()))?;
        staging.records += 1;
        if let Some(id) = &record.id {
            staging.ids.insert(id.to_lowercase());
        }
        Ok(Disposition::Written)
    }

    fn begin(&self) -> Result<Staging, String> {
        let path = self.folder.join(RECORDS_FOLDER).join(".staging.jsonl.gz");
        let file = File::create(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let hashing = Hashing { inner: BufWriter::new(file), hasher: Sha256::new(), bytes: 0 };
        // The fast level: records compress about tenfold at it, at several times the speed.
        Ok(Staging { path, encoder: GzEncoder::new(hashing, Compression::fast()), records: 0, ids: FxHashSet::default() })
    }

    /// Records staged so far.
    pub fn staged(&self) -> u64 {
        self.staging.as_ref().map_or(0, |s| s.records)
    }

    /// Puts the staged records in the folder as a records file (None when there are none).
    pub fn commit(&mut self, start: &str, end: &str, now: DateTime<Utc>) -> Result<Option<RecordsFile>, String> {
        let Some(staging) = self.staging.take() else {
            return Ok(None);
        };
        let fail = |e: io::Error| format!("{}: {e}", staging.path.display());
        let hashing = staging.encoder.finish().map_err(fail)?;
        let Hashing { inner, hasher, bytes } = hashing;
        let file = inner.into_inner().map_err(|e| fail(e.into_error()))?;
        file.sync_all().map_err(fail)?;
        drop(file);
        let name = format!("{RECORDS_FOLDER}/{:06}.jsonl.gz", self.next_number);
        let target = self.folder.join(&name);
        fs::rename(&staging.path, &target).map_err(|e| format!("{}: {e}", target.display()))?;
        sync_folder(target.parent());
        self.next_number += 1;
        self.written.extend(staging.ids);
        Ok(Some(RecordsFile {
            name,
            records: staging.records,
            bytes,
            sha256: hex(&hasher.finalize()),
            window_start: start.to_string(),
            window_end: end.to_string(),
            written_at: write_time(&now),
        }))
    }

    /// Drops the staged records (the window is fetched again, split, or the run stopped).
    pub fn discard(&mut self) {
        if let Some(staging) = self.staging.take() {
            drop(staging.encoder);
            let _ = fs::remove_file(&staging.path);
        }
    }
}

impl Drop for RecordsStore {
    fn drop(&mut self) {
        self.discard();
    }
}

fn file_number(name: &str) -> Option<u32> {
    name.rsplit('/').next()?.strip_suffix(".jsonl.gz")?.parse().ok()
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 of a file's bytes and their number.
pub fn hash_file(path: &Path) -> io::Result<(String, u64)> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    let bytes = io::copy(&mut file, &mut hasher)?;
    Ok((hex(&hasher.finalize()), bytes))
}

/// The id of each record of a records file.
fn for_each_record_id(path: &Path, mut each: impl FnMut(String)) -> Result<(), String> {
    #[derive(Deserialize)]
    struct Envelope {
        #[serde(rename = "Identity")]
        identity: Option<String>,
        #[serde(rename = "AuditData")]
        audit_data: Option<serde_json::Value>,
    }
    let file = File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    for line in BufReader::new(MultiGzDecoder::new(BufReader::new(file))).lines() {
        let line = line.map_err(|e| format!("{}: {e}", path.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        let Ok(envelope) = serde_json::from_str::<Envelope>(&line) else { continue };
        let id = envelope.identity.filter(|s| !s.trim().is_empty()).or_else(|| AuditFields::read(envelope.audit_data.as_ref()).id);
        if let Some(id) = id {
            each(id.trim().to_lowercase());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::tree::BatchWriter;

    pub(crate) fn envelope(writer: &mut BatchWriter, id: &str, index: i64, owner: &str, user: &str) {
        let audit = format!(
            r#"{{"Id":"{id}","Operation":"MailItemsAccessed","CreationTime":"2024-03-01T10:00:00","MailboxOwnerUPN":"{owner}","UserId":"{user}"}}"#
        );
        writer.map(6);
        writer.key("RecordType").string("ExchangeItemAggregated");
        let time = crate::time::parse_timestamp("2024-03-01T10:00:00Z", crate::time::DateOrder::MonthFirst).unwrap();
        writer.key("CreationDate").datetime(crate::time::to_dotnet_ticks(&time));
        writer.key("AuditData").string(&audit);
        writer.key("ResultIndex").int(index);
        writer.key("ResultCount").int(5_000);
        writer.key("Identity").string(id);
    }

    #[test]
    fn a_page_is_read_with_its_indexes() {
        let mut batch = BatchWriter::default();
        envelope(&mut batch, "a", 2, "m@x", "m@x");
        envelope(&mut batch, "b", 1, "m@x", "m@x");
        let records = read_page(&batch.buf).unwrap();
        assert_eq!(records[0].id.as_deref(), Some("a"));
        assert_eq!(records[0].json["CreationDate"], "2024-03-01T10:00:00.0000000Z");
        let facts = page_facts(&records);
        assert_eq!(facts, PageFacts { records: 2, indexes: Some((1, 2, true)), timeouts: 0, result_count: Some(5_000) });
        envelope(&mut batch, "c", 2, "m@x", "m@x");
        assert_eq!(page_facts(&read_page(&batch.buf).unwrap()).indexes, Some((1, 2, false)));
    }

    #[test]
    fn the_mailbox_filter_keeps_the_mailbox_and_its_account() {
        let mut batch = BatchWriter::default();
        envelope(&mut batch, "owner", 1, "Megan@X", "megan@x");
        envelope(&mut batch, "delegate", 2, "megan@x", "adele@x");
        envelope(&mut batch, "app", 3, "megan@x", "00000003-0000-0000-c000-000000000000");
        envelope(&mut batch, "elsewhere", 4, "shared@x", "megan@x");
        envelope(&mut batch, "other", 5, "adele@x", "adele@x");
        let records = read_page(&batch.buf).unwrap();
        let filter = MailboxFilter::new(&["megan@x".to_string()]);
        let kept: Vec<_> = records.iter().filter(|r| filter.keeps(r)).map(|r| r.id.clone().unwrap()).collect();
        assert_eq!(kept, ["owner", "delegate", "app", "elsewhere"]);
        assert!(records.iter().all(|r| MailboxFilter::new(&[]).keeps(r)));
    }

    #[test]
    fn records_are_written_once_and_a_discarded_window_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let (mut store, _) = RecordsStore::open(dir.path(), &[]).unwrap();
        let mut batch = BatchWriter::default();
        envelope(&mut batch, "a", 1, "m@x", "m@x");
        envelope(&mut batch, "A", 2, "m@x", "m@x");
        envelope(&mut batch, "b", 3, "m@x", "m@x");
        let records = read_page(&batch.buf).unwrap();
        let all = MailboxFilter::default();
        let dispositions: Vec<_> = records.iter().map(|r| store.add(r, &all).unwrap()).collect();
        assert_eq!(dispositions, [Disposition::Written, Disposition::Duplicate, Disposition::Written]);
        let now = crate::time::parse_timestamp("2024-04-01T00:00:00Z", crate::time::DateOrder::MonthFirst).unwrap();
        let file = store.commit("s", "e", now).unwrap().unwrap();
        assert_eq!((file.name.as_str(), file.records), ("records/000001.jsonl.gz", 2));
        assert_eq!(hash_file(&dir.path().join(&file.name)).unwrap(), (file.sha256.clone(), file.bytes));

        // A later window returning the same records writes nothing; a split one is dropped.
        assert_eq!(store.add(&records[2], &all).unwrap(), Disposition::Duplicate);
        let mut more = BatchWriter::default();
        envelope(&mut more, "c", 1, "m@x", "m@x");
        store.add(&read_page(&more.buf).unwrap()[0], &all).unwrap();
        store.discard();
        assert_eq!(store.commit("s", "e", now).unwrap(), None);
        drop(store);

        // Reopened, the store knows what the listed file holds and removes what is not listed.
        fs::write(dir.path().join("records/000002.jsonl.gz"), b"left by a crash").unwrap();
        let (mut store, removed) = RecordsStore::open(dir.path(), std::slice::from_ref(&file)).unwrap();
        assert_eq!(removed, ["records/000002.jsonl.gz"]);
        assert_eq!(store.written_ids(), 2);
        assert_eq!(store.add(&records[0], &all).unwrap(), Disposition::Duplicate);
        let next = {
            store.add(&read_page(&more.buf).unwrap()[0], &all).unwrap();
            store.commit("s", "e", now).unwrap().unwrap()
        };
        assert_eq!(next.name, "records/000002.jsonl.gz");
        let names: Vec<_> =
            fs::read_dir(dir.path().join("records")).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }
}
