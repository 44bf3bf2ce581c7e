//! What the verdict needs of a record only once it knows whose the record is: its messages,
//! folders, token and provenance. Attribution needs only the contexts; so while reading, each
//! in-period record's details go to this log, compactly encoded, and after attribution the log
//! is read back once and only the attacker's contexts (and each context's earliest record, the
//! evidence of a shared identifier) keep theirs. Memory then grows with the contexts and the
//! attacker's findings, not with every message read by anyone.
//!
//! The log stays in memory up to [`SPILL_BYTES`], then goes to an anonymous temporary file
//! (deleted when closed, whatever happens), written by a thread of its own while the next
//! buffer fills. The pipeline cannot be read twice, files could be;
//! one log serves both, and costs one sequential write and read of about 100 bytes a record.
//! Were the temporary file to fail, the log stays in memory and the verdict says so: slower
//! and larger, never different.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::JoinHandle;

use chrono::{DateTime, Utc};

use crate::analysis::RecordRef;
use crate::model::{FolderAccess, MailAccessRecord, MailAccessType, MessageItem, SourcePosition};

/// Kept in memory up to this many bytes of encoded details (about 150,000 records). Once
/// spilled, two such buffers: one filling while the other is written.
pub(super) const SPILL_BYTES: usize = 16 * 1024 * 1024;

/// The temporary file is read back this many bytes at a time (more when a record is larger).
const READ_CHUNK: usize = 1 << 20;

/// The in-period records' details, in input order. Each record is its length, then its
/// context, reference and details ([`encode`]): replay reads the context and reference first
/// and skips the rest of a record nobody wants without decoding it.
pub(super) struct DetailLog {
    buffer: Vec<u8>,
    /// One record's encoding, before its length is known (reused).
    scratch: Vec<u8>,
    /// A buffer written out and emptied, for the next.
    spare: Vec<u8>,
    /// The temporary file when no thread writes it (not opened yet, written on the caller's
    /// thread when no thread could be started, or back from the writer for replay).
    file: Option<File>,
    writer: Option<Writer>,
    /// Bytes known written to the file: a failed write may have left part of a buffer there,
    /// which is then not read back (the buffer stays in memory, whole).
    committed: u64,
    spill_at: usize,
    /// Why the temporary file could not be used (the log then stays in memory).
    failure: Option<String>,
    records: u64,
}

impl Default for DetailLog {
    fn default() -> Self {
        DetailLog::with_spill_at(SPILL_BYTES)
    }
}

/// One record read back: its context, its entry in the record table and what add_detail reads.
pub(super) struct Detail {
    pub context: u32,
    pub reference: RecordRef,
    pub record: MailAccessRecord,
}

impl DetailLog {
    pub(super) fn with_spill_at(spill_at: usize) -> DetailLog {
        DetailLog {
            buffer: Vec::new(),
            scratch: Vec::new(),
            spare: Vec::new(),
            file: None,
            writer: None,
            committed: 0,
            spill_at,
            failure: None,
            records: 0,
        }
    }

    pub(super) fn push(&mut self, context: u32, reference: RecordRef, record: &MailAccessRecord) {
        self.scratch.clear();
        encode(&mut self.scratch, context, reference, record);
        if self.buffer.capacity() - self.buffer.len() < self.scratch.len() + 10 && !self.buffer.is_empty() && self.failure.is_none() {
            // A record that does not fit is a spill now, not a buffer grown: growing copies
            // the whole buffer into fresh pages, which cost more than the write.
            self.spill();
        }
        if self.buffer.capacity() == 0 {
            // Filled up to the spill size and emptied again: one allocation, not a doubling
            // that copies and faults in the whole buffer again at every step.
            self.buffer.reserve(self.spill_at.min(SPILL_BYTES) + self.scratch.len() + 10);
        }
        put_u64(&mut self.buffer, self.scratch.len() as u64);
        self.buffer.extend_from_slice(&self.scratch);
        self.records += 1;
        if self.buffer.len() >= self.spill_at && self.failure.is_none() {
            self.spill();
        }
    }

    /// A log whose temporary file is `file` (for the tests: one that fails).
    #[cfg(test)]
    pub(super) fn with_file(file: File, spill_at: usize) -> DetailLog {
        DetailLog { file: Some(file), ..DetailLog::with_spill_at(spill_at) }
    }

    /// Bytes held in memory now (for the tests).
    #[cfg(test)]
    pub(super) fn in_memory(&self) -> usize {
        self.buffer.capacity() + self.scratch.capacity() + self.spare.capacity()
    }

    /// Hands the full buffer to the writer (written while the next one fills), or writes it.
    fn spill(&mut self) {
        if self.writer.is_none() {
            let file = match self.file.take() {
                Some(file) => file,
                None => match tempfile::tempfile() {
                    Ok(file) => file,
                    Err(e) => {
                        self.failure = Some(e.to_string());
                        return;
                    }
                },
            };
            match Writer::start(file) {
                Ok(writer) => self.writer = Some(writer),
                Err(file) => self.file = Some(file),
            }
        }
        if self.writer.is_some() {
            self.settle();
            if self.failure.is_some() {
                return;
            }
            let next = std::mem::take(&mut self.spare);
            let full = std::mem::replace(&mut self.buffer, next);
            let writer = self.writer.as_mut().expect("started above");
            if let Err(unsent) = writer.send.send(full) {
                // The writer is gone: what it was given stays in memory.
                self.buffer = unsent.0;
                self.failure = Some("the thread that writes the temporary file stopped".to_string());
                return;
            }
            writer.busy = true;
            return;
        }
        let file = self.file.as_mut().expect("opened above");
        match file.write_all(&self.buffer) {
            Ok(()) => {
                self.committed += self.buffer.len() as u64;
                self.buffer.clear();
            }
            // What was written before stays; this buffer and the rest stay in memory, after it.
            Err(e) => self.failure = Some(e.to_string()),
        }
    }

    /// Waits for the buffer being written: once written it is the spare; when its write
    /// failed, it stays in memory before the current buffer (in the order pushed).
    pub(super) fn settle(&mut self) {
        let Some(writer) = self.writer.as_mut().filter(|w| w.busy) else { return };
        writer.busy = false;
        match writer.done.recv() {
            Ok(Written::Whole(len, buffer)) => {
                self.committed += len;
                self.spare = buffer;
            }
            Ok(Written::Failed(mut held, why)) => {
                held.extend_from_slice(&self.buffer);
                self.buffer = held;
                self.failure = Some(why);
            }
            // Only a panic ends the writer early: the buffer is lost, and replay says so.
            Err(_) => self.failure = Some("the thread that writes the temporary file stopped".to_string()),
        }
    }

    /// Why the log could not go to a temporary file, if it could not.
    pub(super) fn failure(&self) -> Option<&str> {
        self.failure.as_deref()
    }

    /// The details of the records `wanted` asks for (by context and reference), in the order
    /// they were pushed; the others are skipped undecoded. Returns how many records the log
    /// held. An error reading back the temporary file is returned: the verdict cannot be given
    /// without them.
    pub(super) fn replay(self, mut wanted: impl FnMut(u32, RecordRef) -> bool, mut each: impl FnMut(Detail)) -> Result<u64, String> {
        let mut log = self;
        log.settle();
        if let Some(writer) = log.writer.take() {
            drop(writer.send);
            log.file = Some(writer.thread.join().map_err(|_| "the thread that wrote the temporary file stopped".to_string())?);
        }
        let DetailLog { buffer, file, committed, records, .. } = log;
        let mut count = 0u64;
        let mut take = |body: &[u8]| -> std::io::Result<()> {
            count += 1;
            let mut input = body;
            let (context, reference) = decode_head(&mut input)?;
            if wanted(context, reference) {
                each(Detail { context, reference, record: decode_rest(&mut input, reference.time)? });
            }
            Ok(())
        };
        if let Some(mut file) = file {
            file.seek(SeekFrom::Start(0)).map_err(|e| e.to_string())?;
            let mut chunks = Chunks::new(file.take(committed));
            while let Some(body) = chunks.next_record().map_err(|e| e.to_string())? {
                take(body).map_err(|e| e.to_string())?;
            }
        }
        let mut rest: &[u8] = &buffer;
        while let Some(body) = next_record(&mut rest).map_err(|e| e.to_string())? {
            take(body).map_err(|e| e.to_string())?;
        }
        if count != records {
            return Err(format!("{count} of {records} records were read back"));
        }
        Ok(count)
    }
}

/// The thread that writes the temporary file, one buffer at a time: the kernel's copy of a
/// spilled buffer (a quarter of a gigabyte for a million records) is then not the reading
/// thread's. One buffer at most is in flight: the log holds at most two.
struct Writer {
    send: SyncSender<Vec<u8>>,
    done: Receiver<Written>,
    /// Gives the file back once `send` is closed.
    thread: JoinHandle<File>,
    /// A buffer was sent and its answer not yet received.
    busy: bool,
}

enum Written {
    /// Its length, and the buffer emptied.
    Whole(u64, Vec<u8>),
    /// The buffer, whole, and why. Nothing is written after a failure.
    Failed(Vec<u8>, String),
}

impl Writer {
    /// The file back when no thread can be started.
    fn start(file: File) -> Result<Writer, File> {
        let (send, buffers) = sync_channel::<Vec<u8>>(1);
        let (written, done) = sync_channel::<Written>(1);
        // The file goes to the thread through a channel: a failed spawn gives it back.
        let (give, file_in) = sync_channel::<File>(1);
        let spawned = std::thread::Builder::new().name("maf-detail-log".into()).spawn(move || {
            let mut file = file_in.recv().expect("sent before the first buffer");
            for mut buffer in buffers {
                match file.write_all(&buffer) {
                    Ok(()) => {
                        let len = buffer.len() as u64;
                        buffer.clear();
                        if written.send(Written::Whole(len, buffer)).is_err() {
                            break;
                        }
                    }
                    Err(e) => {
                        let _ = written.send(Written::Failed(buffer, e.to_string()));
                        break;
                    }
                }
            }
            file
        });
        match spawned {
            Ok(thread) => {
                give.send(file).expect("the thread waits for it");
                Ok(Writer { send, done, thread, busy: false })
            }
            Err(_) => Err(file),
        }
    }
}

/// The next record's body from memory, None at the end.
fn next_record<'a>(input: &mut &'a [u8]) -> std::io::Result<Option<&'a [u8]>> {
    if input.is_empty() {
        return Ok(None);
    }
    let len = get_u64(input)?;
    if len > input.len() as u64 {
        return Err(corrupt("a record cut short"));
    }
    let (body, rest) = input.split_at(len as usize);
    *input = rest;
    Ok(Some(body))
}

/// The temporary file read back a chunk at a time, record by record.
struct Chunks<R> {
    /// Limited to the bytes committed: a length beyond them is corrupt, not an allocation.
    input: std::io::Take<R>,
    /// `buf[start..end]` is read and not yet taken.
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

impl<R: Read> Chunks<R> {
    fn new(input: std::io::Take<R>) -> Chunks<R> {
        Chunks { input, buf: Vec::new(), start: 0, end: 0 }
    }

    /// Makes `need` bytes available after `start`, fewer only at the end of the input.
    fn fill(&mut self, need: usize) -> std::io::Result<()> {
        if self.end - self.start >= need {
            return Ok(());
        }
        self.buf.copy_within(self.start..self.end, 0);
        self.end -= self.start;
        self.start = 0;
        if self.buf.len() < need.max(READ_CHUNK) {
            self.buf.resize(need.max(READ_CHUNK), 0);
        }
        while self.end < need {
            match self.input.read(&mut self.buf[self.end..]) {
                Ok(0) => break,
                Ok(n) => self.end += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    fn next_record(&mut self) -> std::io::Result<Option<&[u8]>> {
        // A length takes at most 10 bytes.
        self.fill(10)?;
        let mut head = &self.buf[self.start..self.end];
        if head.is_empty() {
            return Ok(None);
        }
        let available = head.len();
        let len = get_u64(&mut head)?;
        let prefix = available - head.len();
        let buffered = (self.end - self.start) as u64;
        if len > buffered - prefix as u64 + self.input.limit() {
            return Err(corrupt("a record cut short"));
        }
        let end = prefix + len as usize;
        self.fill(end)?;
        if self.end - self.start < end {
            return Err(corrupt("a record cut short"));
        }
        let body = &self.buf[self.start + prefix..self.start + end];
        self.start += end;
        Ok(Some(body))
    }
}

fn put_u64(out: &mut Vec<u8>, mut value: u64) {
    // LEB128: most values are small.
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn put_option_u64(out: &mut Vec<u8>, value: Option<u64>) {
    match value {
        None => out.push(0),
        Some(v) => {
            out.push(1);
            put_u64(out, v);
        }
    }
}

fn put_text(out: &mut Vec<u8>, text: Option<&str>) {
    match text {
        None => out.push(0),
        Some(text) => {
            put_u64(out, text.len() as u64 + 1);
            out.extend_from_slice(text.as_bytes());
        }
    }
}

/// The fields add_detail reads, and nothing else: the context strings are the context's.
fn encode(out: &mut Vec<u8>, context: u32, reference: RecordRef, record: &MailAccessRecord) {
    put_u64(out, context as u64);
    put_u64(out, reference.id as u64);
    out.extend_from_slice(&record.creation_time.timestamp().to_le_bytes());
    put_u64(out, record.creation_time.timestamp_subsec_nanos() as u64);
    put_text(out, record.mailbox.as_deref());
    out.push(match record.access_type {
        MailAccessType::Bind => 0,
        MailAccessType::Sync => 1,
        MailAccessType::Unknown => 2,
    });
    out.push(match record.is_throttled {
        None => 0,
        Some(false) => 1,
        Some(true) => 2,
    });
    put_text(out, record.unique_token_id.as_deref());
    put_option_u64(out, record.operation_count);
    put_text(out, record.degraded.as_deref());
    put_text(out, record.origin.as_deref());
    put_u64(out, record.source.index);
    put_option_u64(out, record.source.file.map(u64::from));
    put_option_u64(out, record.source.line);
    put_u64(out, record.folders.len() as u64);
    for folder in &record.folders {
        put_text(out, folder.path.as_deref());
        put_option_u64(out, folder.item_count);
    }
    put_u64(out, record.items.len() as u64);
    for item in &record.items {
        put_text(out, Some(&item.internet_message_id));
        put_text(out, item.folder_path.as_deref());
        put_option_u64(out, item.size_in_bytes);
    }
}

fn byte(input: &mut &[u8]) -> std::io::Result<u8> {
    let (&b, rest) = input.split_first().ok_or_else(|| corrupt("a record cut short"))?;
    *input = rest;
    Ok(b)
}

fn get_u64(input: &mut &[u8]) -> std::io::Result<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let b = byte(input)?;
        value |= ((b & 0x7f) as u64) << shift;
        if b & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(corrupt("a number too long"))
}

fn get_option_u64(input: &mut &[u8]) -> std::io::Result<Option<u64>> {
    match byte(input)? {
        0 => Ok(None),
        _ => get_u64(input).map(Some),
    }
}

fn get_text(input: &mut &[u8]) -> std::io::Result<Option<String>> {
    let len = get_u64(input)?;
    if len == 0 {
        return Ok(None);
    }
    let len = len - 1;
    if len > input.len() as u64 {
        return Err(corrupt("a record cut short"));
    }
    let (bytes, rest) = input.split_at(len as usize);
    *input = rest;
    std::str::from_utf8(bytes).map(|text| Some(text.to_string())).map_err(|_| corrupt("text that is not UTF-8"))
}

fn corrupt(what: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, format!("the verdict's temporary file holds {what}"))
}

/// A record's context and reference.
fn decode_head(input: &mut &[u8]) -> std::io::Result<(u32, RecordRef)> {
    let context = get_u64(input)? as u32;
    let id = get_u64(input)? as u32;
    let (seconds, rest) = input.split_first_chunk::<8>().ok_or_else(|| corrupt("a record cut short"))?;
    *input = rest;
    let nanos = get_u64(input)? as u32;
    let time: DateTime<Utc> = DateTime::from_timestamp(i64::from_le_bytes(*seconds), nanos).ok_or_else(|| corrupt("a bad time"))?;
    Ok((context, RecordRef { time, id }))
}

/// What follows a record's head: the fields add_detail reads.
fn decode_rest(input: &mut &[u8], time: DateTime<Utc>) -> std::io::Result<MailAccessRecord> {
    let mailbox = get_text(input)?;
    let access_type = match byte(input)? {
        0 => MailAccessType::Bind,
        1 => MailAccessType::Sync,
        _ => MailAccessType::Unknown,
    };
    let is_throttled = match byte(input)? {
        0 => None,
        1 => Some(false),
        _ => Some(true),
    };
    let unique_token_id = get_text(input)?;
    let operation_count = get_option_u64(input)?;
    let degraded = get_text(input)?;
    let origin = get_text(input)?;
    let index = get_u64(input)?;
    let file = get_option_u64(input)?.map(|f| f as u32);
    let line = get_option_u64(input)?;
    let folder_count = get_u64(input)?;
    let mut folders = Vec::with_capacity(folder_count.min(1 << 16) as usize);
    for _ in 0..folder_count {
        let path = get_text(input)?;
        let item_count = get_option_u64(input)?;
        folders.push(FolderAccess { path, id: None, item_count });
    }
    let item_count = get_u64(input)?;
    let mut items = Vec::with_capacity(item_count.min(1 << 16) as usize);
    for _ in 0..item_count {
        let internet_message_id = get_text(input)?.unwrap_or_default();
        let folder_path = get_text(input)?;
        let size_in_bytes = get_option_u64(input)?;
        items.push(MessageItem { internet_message_id, folder_path: folder_path.map(Into::into), size_in_bytes });
    }
    if !input.is_empty() {
        return Err(corrupt("a record longer than its details"));
    }
    Ok(MailAccessRecord {
        record_id: None,
        creation_time: time,
        mailbox,
        mailbox_guid: None,
        user_id: None,
        user_type: None,
        access_type,
        is_throttled,
        client_address: None,
        client_info_string: None,
        session_id: None,
        app_id: None,
        client_app_id: None,
        aad_session_id: None,
        unique_token_id,
        issued_at_time: None,
        logon_type: None,
        external_access: None,
        operation_count,
        originating_server: None,
        folders,
        items,
        degraded,
        source: SourcePosition { index, file, line, result: None },
        origin,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::testing::rec;

    fn sample(i: u64) -> MailAccessRecord {
        let mut record = rec(&format!("r{i}"), "2024-05-02T10:00:00.123456789Z")
            .mailbox("Victim@contoso.com")
            .entra("e", "tok")
            .bind(&[("m1@x", "\\Inbox", 100), ("m2@x", "\\Fin ance é", u64::MAX)])
            .done();
        record.source = SourcePosition { index: i, file: Some(3), line: Some(i + 2), result: None };
        record.origin = Some("audit.csv:12".into());
        record
    }

    /// What add_detail reads comes back as it went in, from memory and from the file.
    #[test]
    fn details_come_back_as_they_went_in() {
        for spill_at in [1, usize::MAX] {
            let mut log = DetailLog::with_spill_at(spill_at);
            let records: Vec<MailAccessRecord> = (0..1000).map(sample).collect();
            for (i, record) in records.iter().enumerate() {
                log.push(i as u32 % 7, RecordRef { time: record.creation_time, id: i as u32 }, record);
            }
            assert_eq!(log.file.is_some() || log.writer.is_some(), spill_at == 1);
            let mut back = Vec::new();
            assert_eq!(log.replay(|_, _| true, |d| back.push(d)), Ok(1000));
            for (i, (detail, record)) in back.iter().zip(&records).enumerate() {
                assert_eq!((detail.context, detail.reference.id, detail.reference.time), (i as u32 % 7, i as u32, record.creation_time));
                let mut expected = record.clone();
                expected.record_id = None;
                expected.user_id = None;
                expected.aad_session_id = None;
                for folder in &mut expected.folders {
                    folder.id = None;
                }
                assert_eq!(detail.record, expected);
            }
        }
    }

    /// Records nobody wants are skipped, not decoded: those wanted still come back whole and
    /// in order, from memory and from the file, across the file's chunks and the memory's.
    #[test]
    fn unwanted_records_are_skipped_and_the_wanted_come_back_whole() {
        for spill_at in [1, 5000, usize::MAX] {
            let mut log = DetailLog::with_spill_at(spill_at);
            let mut records: Vec<MailAccessRecord> = (0..3000).map(sample).collect();
            // Some records larger than a chunk of the file.
            for record in records.iter_mut().step_by(1000) {
                let item = record.items[0].clone();
                record.items = (0..READ_CHUNK / 20).map(|_| item.clone()).collect();
            }
            for (i, record) in records.iter().enumerate() {
                log.push(i as u32 % 5, RecordRef { time: record.creation_time, id: i as u32 }, record);
            }
            let mut asked = Vec::new();
            let mut back = Vec::new();
            let held = log.replay(
                |context, reference| {
                    asked.push(reference.id);
                    context == 2 || reference.id % 1000 == 0
                },
                |d| back.push(d),
            );
            assert_eq!(held, Ok(3000), "spill at {spill_at}");
            assert_eq!(asked, (0..3000).collect::<Vec<u32>>());
            let wanted: Vec<u32> = (0..3000u32).filter(|i| i % 5 == 2 || i % 1000 == 0).collect();
            assert_eq!(back.iter().map(|d| d.reference.id).collect::<Vec<u32>>(), wanted);
            for detail in &back {
                let record = &records[detail.reference.id as usize];
                assert_eq!(detail.context, detail.reference.id % 5);
                assert_eq!((detail.record.items.len(), &detail.record.mailbox), (record.items.len(), &record.mailbox));
                assert_eq!(detail.record.source, record.source);
            }
        }
    }

    /// A temporary file whose record says it is longer than the file: an error, not a panic
    /// nor an allocation of what the length says.
    #[test]
    fn a_cut_file_is_an_error() {
        for cut in [1, 10, 200] {
            let mut log = DetailLog::with_spill_at(1);
            let record = sample(1);
            for i in 0..10 {
                log.push(0, RecordRef { time: record.creation_time, id: i }, &record);
            }
            log.committed -= cut;
            assert!(log.replay(|_, _| true, |_| ()).is_err_and(|e| e.contains("cut short")), "cut {cut}");
        }
        let mut huge = Vec::new();
        put_u64(&mut huge, u64::MAX / 2);
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(&huge).unwrap();
        let log = DetailLog { file: Some(file), committed: huge.len() as u64, records: 1, ..DetailLog::with_spill_at(1) };
        assert!(log.replay(|_, _| true, |_| ()).is_err_and(|e| e.contains("cut short")));
    }

    /// A disk that fills up (Linux's /dev/full): nothing is lost, the log stays in memory.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_failed_write_keeps_the_details_in_memory() {
        let mut log = DetailLog::with_spill_at(1);
        log.file = Some(File::options().read(true).write(true).open("/dev/full").unwrap());
        let record = sample(1);
        for i in 0..100 {
            log.push(0, RecordRef { time: record.creation_time, id: i }, &record);
        }
        assert!(log.failure().is_some_and(|f| f.contains("space")), "{:?}", log.failure());
        let mut ids = Vec::new();
        assert_eq!(log.replay(|_, _| true, |d| ids.push(d.reference.id)), Ok(100));
        assert_eq!(ids, (0..100).collect::<Vec<u32>>());
    }

    #[test]
    fn a_record_that_does_not_fit_spills_the_buffer_instead_of_growing_it() {
        let spill_at = 64 * 1024;
        let mut log = DetailLog::with_spill_at(spill_at);
        let small = sample(1);
        // Ten times the small one's messages: several times its encoding.
        let mut large = sample(2);
        for k in 0..20 {
            large.items.push(MessageItem { internet_message_id: format!("<big{k}@x>"), folder_path: None, size_in_bytes: Some(k) });
        }
        let mut most = 0;
        for i in 0..5_000 {
            let record = if i % 7 == 6 { &large } else { &small };
            log.push(0, RecordRef { time: record.creation_time, id: i }, record);
            most = most.max(log.buffer.capacity());
        }
        assert!(log.failure().is_none());
        // Reserved once for the spill size and the first record: never doubled.
        assert!(most < spill_at + 1024, "a buffer grew to {most} bytes");
        assert_eq!(log.replay(|_, _| true, |_| ()), Ok(5_000));
    }

    #[test]
    fn memory_stays_bounded_once_spilled() {
        let mut log = DetailLog::with_spill_at(64 * 1024);
        let record = sample(1);
        for i in 0..20_000 {
            log.push(0, RecordRef { time: record.creation_time, id: i }, &record);
        }
        assert!(log.failure().is_none());
        assert!(log.in_memory() < 256 * 1024, "{}", log.in_memory());
        assert_eq!(log.replay(|_, _| true, |_| ()), Ok(20_000));
    }
}
