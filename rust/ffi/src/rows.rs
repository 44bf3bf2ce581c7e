//! Engine results written as ABI rows. Each result owns its rows and its text arena; the
//! header is the first field, so the pointer handed out is the pointer freed.

use mailaccess_engine::analysis::{
    message::{AnalysisWarning, Message},
    AccessContext, AnalysisOutput, AnalysisResult, ContextText, MessageAccess, MessageRead, SyncActivity, UnauditedWindow, Verdict,
};
use std::collections::HashMap;
use std::sync::Arc;

use mailaccess_engine::input::DigestOutcome;
use mailaccess_engine::{BatchOutput, MailAccessRecord, MailAccessType, RecordError, SourcePosition, Tally, UserType};

use crate::abi::*;

/// The text arena of one result.
#[derive(Default)]
pub struct Arena {
    bytes: Vec<u8>,
}

impl Arena {
    pub fn text(&mut self, text: &str) -> MafText {
        // A result larger than 2 GiB cannot be described; batches are far smaller.
        let offset = u32::try_from(self.bytes.len()).expect("result arena exceeds 4 GiB");
        let len = i32::try_from(text.len()).expect("text exceeds 2 GiB");
        self.bytes.extend_from_slice(text.as_bytes());
        MafText { offset, len }
    }

    pub fn opt(&mut self, text: Option<&str>) -> MafText {
        match text {
            Some(t) => self.text(t),
            None => MafText { offset: 0, len: -1 },
        }
    }

    pub fn reserve(&mut self, additional: usize) {
        self.bytes.reserve_exact(additional);
    }

    pub fn as_ptr(&self) -> *const u8 {
        self.bytes.as_ptr()
    }

    pub fn len(&self) -> u64 {
        self.bytes.len() as u64
    }
}

fn tri(value: Option<bool>) -> u8 {
    match value {
        Some(false) => MAF_FALSE,
        Some(true) => MAF_TRUE,
        None => MAF_UNKNOWN,
    }
}

/// A count or size the record may not hold: -1 when absent.
pub fn number(value: Option<u64>) -> i64 {
    value.map(|v| v as i64).unwrap_or(-1)
}

fn source(position: &SourcePosition) -> MafSource {
    MafSource { index: position.index, line: position.line.unwrap_or(0), file: position.file.map(|f| f as i32).unwrap_or(-1) }
}

/// A batch result: the header the caller reads, then the rows it points into. Moving the
/// rows into the box moves their Vecs' handles, not their heap buffers, so the header's
/// pointers, taken before, stay valid (as in [`TallyOwner`]).
#[repr(C)]
pub struct BatchOwner {
    header: MafBatch,
    rows: BatchRows,
}

#[derive(Default)]
struct BatchRows {
    arena: Arena,
    records: Vec<MafRecord>,
    folders: Vec<MafFolder>,
    items: Vec<MafItem>,
    errors: Vec<MafRecordError>,
}

impl BatchOwner {
    pub fn build(output: &BatchOutput) -> Box<BatchOwner> {
        let mut rows = BatchRows {
            records: Vec::with_capacity(output.records.len()),
            errors: Vec::with_capacity(output.errors.len()),
            ..BatchRows::default()
        };
        for record in &output.records {
            rows.push_record(record);
        }
        for error in &output.errors {
            rows.push_error(error);
        }
        let header = MafBatch {
            arena: rows.arena.as_ptr(),
            arena_len: rows.arena.len(),
            records: rows.records.as_ptr(),
            records_len: rows.records.len() as u64,
            folders: rows.folders.as_ptr(),
            folders_len: rows.folders.len() as u64,
            items: rows.items.as_ptr(),
            items_len: rows.items.len() as u64,
            errors: rows.errors.as_ptr(),
            errors_len: rows.errors.len() as u64,
        };
        Box::new(BatchOwner { header, rows })
    }

    pub fn into_raw(self: Box<Self>) -> *mut MafBatch {
        // header is the first field of a repr(C) struct: same address as the owner.
        Box::into_raw(self) as *mut MafBatch
    }

    /// # Safety
    /// `ptr` must come from [`BatchOwner::into_raw`] and not have been freed.
    pub unsafe fn free(ptr: *mut MafBatch) {
        // SAFETY: `ptr` came from `into_raw` of a `Box<BatchOwner>` (the caller's contract).
        drop(unsafe { Box::from_raw(ptr as *mut BatchOwner) });
    }
}

impl BatchRows {
    fn push_record(&mut self, r: &MailAccessRecord) {
        let a = &mut self.arena;
        let folders_start = self.folders.len() as u32;
        for folder in &r.folders {
            self.folders.push(MafFolder {
                path: a.opt(folder.path.as_deref()),
                id: a.opt(folder.id.as_deref()),
                item_count: number(folder.item_count),
            });
        }
        let items_start = self.items.len() as u32;
        for item in &r.items {
            self.items.push(MafItem {
                internet_message_id: a.text(&item.internet_message_id),
                folder_path: a.opt(item.folder_path.as_deref()),
                size_in_bytes: number(item.size_in_bytes),
            });
        }
        let address = r.client_address.as_ref();
        let canonical = address.map(|c| c.canonical());
        let row = MafRecord {
            source: source(&r.source),
            creation_time: ticks(&r.creation_time),
            operation_count: number(r.operation_count),
            folders_start,
            folders_len: r.folders.len() as u32,
            items_start,
            items_len: r.items.len() as u32,
            client_port: address.and_then(|c| c.port).map(i32::from).unwrap_or(-1),
            access_type: MailAccessType::code(r.access_type),
            is_throttled: tri(r.is_throttled),
            external_access: tri(r.external_access),
            is_degraded: u8::from(r.degraded.is_some()),
            record_id: a.opt(r.record_id.as_deref()),
            mailbox: a.opt(r.mailbox.as_deref()),
            mailbox_guid: a.opt(r.mailbox_guid.as_deref()),
            user_id: a.opt(r.user_id.as_deref()),
            user_type: a.opt(r.user_type.as_ref().map(UserType::as_str)),
            client_ip_address: a.opt(canonical.as_deref()),
            client_ip_address_original: a.opt(address.map(|c| c.original.as_str())),
            client_info_string: a.opt(r.client_info_string.as_deref()),
            session_id: a.opt(r.session_id.as_deref()),
            app_id: a.opt(r.app_id.as_deref()),
            client_app_id: a.opt(r.client_app_id.as_deref()),
            logon_type: a.opt(r.logon_type.as_ref().map(|l| l.as_str())),
            originating_server: a.opt(r.originating_server.as_deref()),
            degraded_reason: a.opt(r.degraded.as_deref()),
            aad_session_id: a.opt(r.aad_session_id.as_deref()),
            unique_token_id: a.opt(r.unique_token_id.as_deref()),
            issued_at_time: r.issued_at_time.as_ref().map(ticks).unwrap_or(-1),
            origin: a.opt(r.origin.as_deref()),
        };
        self.records.push(row);
    }

    fn push_error(&mut self, e: &RecordError) {
        let a = &mut self.arena;
        self.errors.push(MafRecordError {
            source: source(&e.position),
            kind: e.kind as u32,
            kind_name: a.text(e.kind.name()),
            record_id: a.opt(e.record_id.as_deref()),
            message: a.text(&e.message),
        });
    }
}

#[repr(C)]
pub struct TallyOwner {
    header: MafTally,
    arena: Arena,
    operations: Vec<MafOperationCount>,
}

impl TallyOwner {
    pub fn build(tally: &Tally) -> Box<TallyOwner> {
        let mut arena = Arena::default();
        let truncation_reason = arena.opt(tally.truncation_reason.as_deref());
        let operations: Vec<MafOperationCount> = tally
            .skipped_operations
            .iter()
            .map(|(operation, count)| MafOperationCount { operation: arena.text(operation), count: *count })
            .collect();
        let header = MafTally {
            read: tally.read,
            analysed: tally.analysed,
            skipped: tally.skipped,
            duplicates: tally.duplicates,
            filtered: tally.filtered,
            errors: tally.errors,
            degraded: tally.degraded,
            throttled: tally.throttled,
            not_throttled: tally.not_throttled,
            throttling_unknown: tally.throttling_unknown,
            arena: arena.as_ptr(),
            arena_len: arena.len(),
            skipped_operations: operations.as_ptr(),
            skipped_operations_len: operations.len() as u64,
            possibly_truncated: tri(Some(tally.possibly_truncated)),
            truncation_reason,
        };
        // As in BatchOwner: the Vecs' buffers do not move with them.
        Box::new(TallyOwner { header, arena, operations })
    }

    pub fn into_raw(self: Box<Self>) -> *mut MafTally {
        Box::into_raw(self) as *mut MafTally
    }

    /// # Safety
    /// `ptr` must come from [`TallyOwner::into_raw`] and not have been freed.
    pub unsafe fn free(ptr: *mut MafTally) {
        // SAFETY: `ptr` came from `into_raw` of a `Box<TallyOwner>` (the caller's contract).
        drop(unsafe { Box::from_raw(ptr as *mut TallyOwner) });
    }
}

/// An analysis result, built as [`BatchOwner`] is.
#[repr(C)]
pub struct AnalysisOwner {
    header: MafAnalysis,
    rows: AnalysisRows,
}

#[derive(Default)]
struct AnalysisRows {
    arena: Arena,
    texts: Vec<MafText>,
    contexts: Vec<MafContextText>,
    windows: Vec<MafUnauditedWindow>,
    syncs: Vec<MafSyncActivity>,
    access_contexts: Vec<MafAccessContext>,
    reads: Vec<MafMessageRead>,
    accesses: Vec<MafMessageAccess>,
    findings: Vec<MafFinding>,
    evidence: Vec<MafEvidenceRecord>,
    finding_evidence: Vec<MafFindingEvidence>,
    messages: Vec<MafMessage>,
}

impl AnalysisOwner {
    /// Takes the result: what is written out is freed as it goes (the messages read are the
    /// bulk of a large result, and both copies at once would double it).
    pub fn build(result: AnalysisResult) -> Box<AnalysisOwner> {
        let mut o = AnalysisRows::default();
        let AnalysisResult { output, warnings } = result;
        match output {
            AnalysisOutput::Windows(windows) => o.windows(&windows),
            AnalysisOutput::Syncs(syncs) => o.syncs(&syncs),
            AnalysisOutput::Contexts(contexts) => o.access_contexts(&contexts),
            AnalysisOutput::Reads(reads) => o.reads(reads),
            AnalysisOutput::Accesses(accesses) => o.accesses(&accesses),
            AnalysisOutput::Verdict(verdict) => o.verdict(&verdict),
        }
        let warnings: Vec<Message> = warnings.iter().map(AnalysisWarning::message).collect();
        let warnings = o.messages(&warnings);
        let header = MafAnalysis {
            arena: o.arena.as_ptr(),
            arena_len: o.arena.len(),
            texts: o.texts.as_ptr(),
            texts_len: o.texts.len() as u64,
            contexts: o.contexts.as_ptr(),
            contexts_len: o.contexts.len() as u64,
            windows: o.windows.as_ptr(),
            windows_len: o.windows.len() as u64,
            syncs: o.syncs.as_ptr(),
            syncs_len: o.syncs.len() as u64,
            access_contexts: o.access_contexts.as_ptr(),
            access_contexts_len: o.access_contexts.len() as u64,
            reads: o.reads.as_ptr(),
            reads_len: o.reads.len() as u64,
            accesses: o.accesses.as_ptr(),
            accesses_len: o.accesses.len() as u64,
            findings: o.findings.as_ptr(),
            findings_len: o.findings.len() as u64,
            evidence: o.evidence.as_ptr(),
            evidence_len: o.evidence.len() as u64,
            finding_evidence: o.finding_evidence.as_ptr(),
            finding_evidence_len: o.finding_evidence.len() as u64,
            messages: o.messages.as_ptr(),
            messages_len: o.messages.len() as u64,
            warnings,
        };
        Box::new(AnalysisOwner { header, rows: o })
    }

    pub fn into_raw(self: Box<Self>) -> *mut MafAnalysis {
        Box::into_raw(self) as *mut MafAnalysis
    }

    /// # Safety
    /// `ptr` must come from [`AnalysisOwner::into_raw`] and not have been freed.
    pub unsafe fn free(ptr: *mut MafAnalysis) {
        // SAFETY: `ptr` came from `into_raw` of a `Box<AnalysisOwner>` (the caller's contract).
        drop(unsafe { Box::from_raw(ptr as *mut AnalysisOwner) });
    }
}

impl AnalysisRows {
    /// Get-MailAccessThrottling's unaudited windows.
    fn windows(&mut self, windows: &[UnauditedWindow]) {
        for w in windows {
            let row = MafUnauditedWindow {
                mailbox: self.arena.opt(w.mailbox.as_deref()),
                start: ticks(&w.start),
                end: ticks(&w.end),
                throttled_record_count: w.throttled_record_count,
                record_ids: self.list(&w.record_ids),
            };
            self.windows.push(row);
        }
    }

    /// Get-MailAccessSync's synced folders.
    fn syncs(&mut self, syncs: &[SyncActivity]) {
        for s in syncs {
            let row = MafSyncActivity {
                mailbox: self.arena.opt(s.mailbox.as_deref()),
                folder_path: self.arena.opt(s.folder_path.as_deref()),
                start: ticks(&s.start),
                end: ticks(&s.end),
                sync_count: s.sync_count,
                context: self.context(&s.context),
                record_ids: self.list(&s.record_ids),
            };
            self.syncs.push(row);
        }
    }

    /// Get-MailAccessContext's access contexts.
    fn access_contexts(&mut self, contexts: &[AccessContext]) {
        for c in contexts {
            let row = MafAccessContext {
                context: self.context(&c.context),
                app_ids: self.list(&c.app_ids),
                client_app_ids: self.list(&c.client_app_ids),
                aad_session_ids: self.list(&c.aad_session_ids),
                unique_token_ids: self.list(&c.unique_token_ids),
                mailboxes: self.list(&c.mailboxes),
                signals: self.list(&c.signals),
                start: ticks(&c.start),
                end: ticks(&c.end),
                record_count: c.record_count,
                bind_count: c.bind_count,
                sync_count: c.sync_count,
                message_count: c.message_count,
                bytes: c.bytes,
                score: c.score,
            };
            self.access_contexts.push(row);
        }
    }

    /// Get-MailAccessBind's messages read. A mailbox, folder or set of contexts that many rows
    /// share is written once and pointed to by each (the shim then shares one managed object):
    /// rows are one a message, their contexts few.
    ///
    /// The shared texts are written first, then the rows, each freed once written: sized by
    /// then, neither the rows nor the arena grow by doubling (a copy of all of them into fresh
    /// pages at each step), and the result is never held twice.
    fn reads(&mut self, reads: Vec<MessageRead>) {
        // Keyed by address: every address is taken in the first pass, while all rows are alive,
        // and the second makes no text nor context, so an address freed with its last row is
        // never met again. The second pass looks each row's context run up again rather than
        // keep it from the first: 8 bytes a row more at the peak this is about.
        let mut texts: HashMap<*const u8, MafText> = HashMap::new();
        let mut context_runs: HashMap<Vec<*const ContextText>, (u32, u32)> = HashMap::new();
        let mut id_bytes = 0;
        for r in &reads {
            id_bytes += r.internet_message_id.len();
            for text in [&r.mailbox, &r.folder_path].into_iter().flatten() {
                texts.entry(text.as_ptr()).or_insert_with(|| self.arena.text(text));
            }
            let key: Vec<*const ContextText> = r.contexts.iter().map(Arc::as_ptr).collect();
            if let std::collections::hash_map::Entry::Vacant(entry) = context_runs.entry(key) {
                let start = self.contexts.len() as u32;
                for context in &r.contexts {
                    let text = self.context(context);
                    self.contexts.push(text);
                }
                entry.insert((start, r.contexts.len() as u32));
            }
        }
        self.arena.reserve(id_bytes);
        self.reads.reserve_exact(reads.len());
        let absent = self.arena.opt(None);
        let shared = |text: &Option<Arc<str>>| text.as_ref().map_or(absent, |text| texts[&text.as_ptr()]);
        for r in reads {
            let key: Vec<*const ContextText> = r.contexts.iter().map(Arc::as_ptr).collect();
            let (contexts_start, contexts_len) = context_runs[&key];
            let row = MafMessageRead {
                mailbox: shared(&r.mailbox),
                folder_path: shared(&r.folder_path),
                internet_message_id: self.arena.text(&r.internet_message_id),
                size_in_bytes: number(r.size_in_bytes),
                start: ticks(&r.start),
                end: ticks(&r.end),
                access_count: r.access_count,
                contexts_start,
                contexts_len,
            };
            self.reads.push(row);
        }
    }

    /// Find-MailAccessMessage's accesses.
    fn accesses(&mut self, accesses: &[MessageAccess]) {
        for a in accesses {
            let row = MafMessageAccess {
                internet_message_id: self.arena.text(&a.internet_message_id),
                mailbox: self.arena.opt(a.mailbox.as_deref()),
                creation_time: ticks(&a.creation_time),
                folder_path: self.arena.opt(a.folder_path.as_deref()),
                size_in_bytes: number(a.size_in_bytes),
                context: self.context(&a.context),
                app_id: self.arena.opt(a.app_id.as_deref()),
                client_app_id: self.arena.opt(a.client_app_id.as_deref()),
                record_id: self.arena.opt(a.record_id.as_deref()),
            };
            self.accesses.push(row);
        }
    }

    /// The verdict's findings and the records behind them.
    fn verdict(&mut self, verdict: &Verdict) {
        for f in &verdict.findings {
            let row = MafFinding {
                kind: f.kind as u32,
                kind_name: self.arena.text(f.kind.name()),
                mailbox: self.arena.opt(f.mailbox.as_deref()),
                folder_path: self.arena.opt(f.folder_path.as_deref()),
                internet_message_id: self.arena.opt(f.internet_message_id.as_deref()),
                size_in_bytes: number(f.size_in_bytes),
                start: ticks(&f.start),
                end: ticks(&f.end),
                access_count: number(f.access_count),
                client_ip_addresses: self.list(&f.client_ip_addresses),
                session_ids: self.list(&f.session_ids),
                client_info_strings: self.list(&f.client_info_strings),
                user_ids: self.list(&f.actors.user_ids),
                app_ids: self.list(&f.actors.app_ids),
                client_app_ids: self.list(&f.actors.client_app_ids),
                aad_session_ids: self.list(&f.actors.aad_session_ids),
                unique_token_ids: self.list(&f.actors.unique_token_ids),
                reason: self.message(&f.reason.message()),
                evidence_record_ids: self.list(&f.evidence_record_ids),
            };
            self.findings.push(row);
        }
        for e in &verdict.evidence {
            let row = MafEvidenceRecord {
                source: source(&e.source),
                time: ticks(&e.time),
                operation_count: number(e.operation_count),
                access_type: MailAccessType::code(e.access_type),
                is_throttled: tri(e.is_throttled),
                record_id: self.arena.opt(e.record_id.as_deref()),
                mailbox: self.arena.opt(e.mailbox.as_deref()),
                context: self.context(&e.context),
                app_id: self.arena.opt(e.app_id.as_deref()),
                client_app_id: self.arena.opt(e.client_app_id.as_deref()),
                aad_session_id: self.arena.opt(e.aad_session_id.as_deref()),
                unique_token_id: self.arena.opt(e.unique_token_id.as_deref()),
                folders: self.list(&e.folders),
                items: self.list(&e.items),
                origin: self.arena.opt(e.origin.as_deref()),
            };
            self.evidence.push(row);
        }
        self.finding_evidence =
            verdict.finding_evidence.iter().map(|&(finding, evidence)| MafFindingEvidence { finding, evidence }).collect();
    }

    fn list(&mut self, values: &[String]) -> MafTextList {
        let start = self.texts.len() as u32;
        for value in values {
            let text = self.arena.text(value);
            self.texts.push(text);
        }
        MafTextList { start, len: values.len() as u32 }
    }

    /// Texts that may be absent.
    fn optional_list(&mut self, values: &[Option<String>]) -> MafTextList {
        let start = self.texts.len() as u32;
        for value in values {
            let text = self.arena.opt(value.as_deref());
            self.texts.push(text);
        }
        MafTextList { start, len: values.len() as u32 }
    }

    /// Some messages, side by side in `messages` (each message's phrases side by side too).
    fn messages(&mut self, messages: &[Message]) -> MafMessageList {
        let start = self.messages.len();
        let empty = MafMessage { code: 0, values: MafTextList { start: 0, len: 0 }, phrases: MafMessageList { start: 0, len: 0 } };
        self.messages.extend(std::iter::repeat_n(empty, messages.len()));
        for (i, message) in messages.iter().enumerate() {
            let values = self.optional_list(&message.values);
            let phrases = self.messages(&message.phrases);
            self.messages[start + i] = MafMessage { code: message.code.code(), values, phrases };
        }
        MafMessageList { start: start as u32, len: messages.len() as u32 }
    }

    /// One message: its index in `messages`.
    fn message(&mut self, message: &Message) -> u32 {
        self.messages(std::slice::from_ref(message)).start
    }

    fn context(&mut self, c: &ContextText) -> MafContextText {
        MafContextText {
            client_ip_address: self.arena.opt(c.client_ip_address.as_deref()),
            client_info_string: self.arena.opt(c.client_info_string.as_deref()),
            session_id: self.arena.opt(c.session_id.as_deref()),
            user_id: self.arena.opt(c.user_id.as_deref()),
        }
    }
}

fn ticks(time: &chrono::DateTime<chrono::Utc>) -> i64 {
    mailaccess_engine::time::to_dotnet_ticks(time)
}

/// A file's digest, built as [`TallyOwner`] is.
#[repr(C)]
pub struct DigestOwner {
    header: MafDigest,
    arena: Arena,
}

impl DigestOwner {
    pub fn build(outcome: &DigestOutcome) -> Box<DigestOwner> {
        let mut arena = Arena::default();
        let sha256 = arena.text(&outcome.hex());
        let failure = arena.opt(outcome.failure.as_deref());
        let header = MafDigest {
            arena: arena.as_ptr(),
            arena_len: arena.len(),
            sha256,
            failure,
            bytes: outcome.bytes,
            complete: u8::from(outcome.complete),
        };
        // As in BatchOwner: the arena's buffer does not move with it.
        Box::new(DigestOwner { header, arena })
    }

    pub fn into_raw(self: Box<Self>) -> *mut MafDigest {
        Box::into_raw(self) as *mut MafDigest
    }

    /// # Safety
    /// `ptr` must come from [`DigestOwner::into_raw`] and not have been freed.
    pub unsafe fn free(ptr: *mut MafDigest) {
        // SAFETY: `ptr` came from `into_raw` of a `Box<DigestOwner>` (the caller's contract).
        drop(unsafe { Box::from_raw(ptr as *mut DigestOwner) });
    }
}
