//! The types that cross the C ABI. All are `#[repr(C)]`; csbindgen generates their C# twins.
//!
//! Text is UTF-8 in one byte arena per result, referenced by [`MafText`] (offset, length):
//! the rows hold no pointers into the arena, so it may grow while rows are written.

/// Bumped on every change to an export's signature or to a type in this file. The shim
/// refuses to load a library with another version.
pub const MAF_ABI_VERSION: u32 = 11;

/// Result of every fallible export.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MafStatus {
    Ok = 0,
    /// A null pointer, bad options or text that is not UTF-8: a fault in the caller.
    InvalidArgument = 1,
    /// An internal fault (a panic) was caught; the message says where.
    Panic = 2,
    /// The object batch is malformed: a fault in the shim's encoder.
    BadBatch = 3,
    /// The session was cancelled (Ctrl+C).
    Cancelled = 4,
    /// A file could not be opened or read.
    Io = 5,
}

/// Text in the result's arena; `len < 0` means absent (null), `len == 0` empty.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct MafText {
    pub offset: u32,
    pub len: i32,
}

/// Tri-state for values a record may not state: `IsThrottled`, `ExternalAccess`.
pub const MAF_FALSE: u8 = 0;
pub const MAF_TRUE: u8 = 1;
pub const MAF_UNKNOWN: u8 = 2;

/// Where a record came from. `file < 0` for pipeline input; `line == 0` when not known.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct MafSource {
    pub index: u64,
    pub line: u64,
    pub file: i32,
}

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct MafFolder {
    pub path: MafText,
    pub id: MafText,
    /// -1 when the record lists no items for the folder or the list was lost.
    pub item_count: i64,
}

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct MafItem {
    pub internet_message_id: MafText,
    pub folder_path: MafText,
    /// -1 when unknown.
    pub size_in_bytes: i64,
}

/// One analysed MailItemsAccessed record. Its folders and items are the ranges
/// `[folders_start, folders_start + folders_len)` of the result's folder and item arrays.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct MafRecord {
    pub source: MafSource,
    /// .NET ticks, UTC.
    pub creation_time: i64,
    /// -1 when the record does not say.
    pub operation_count: i64,
    pub folders_start: u32,
    pub folders_len: u32,
    pub items_start: u32,
    pub items_len: u32,
    /// -1 when the address carried no port.
    pub client_port: i32,
    /// `mailaccess_engine::MailAccessType` as a number (the shim's MailAccessType).
    pub access_type: u8,
    pub is_throttled: u8,
    pub external_access: u8,
    pub is_degraded: u8,
    pub record_id: MafText,
    pub mailbox: MafText,
    pub mailbox_guid: MafText,
    pub user_id: MafText,
    pub user_type: MafText,
    /// Normalised address text (RFC 5952 for IPv6; IPv4 for `::ffff:` mapped addresses).
    pub client_ip_address: MafText,
    /// The address as the record wrote it.
    pub client_ip_address_original: MafText,
    pub client_info_string: MafText,
    pub session_id: MafText,
    pub app_id: MafText,
    pub client_app_id: MafText,
    pub logon_type: MafText,
    pub originating_server: MafText,
    pub degraded_reason: MafText,
    /// AppAccessContext: the Entra session and the token.
    pub aad_session_id: MafText,
    pub unique_token_id: MafText,
    /// .NET ticks, UTC; -1 when the record does not say.
    pub issued_at_time: i64,
    /// Where the record was first read, when it came in as one of the module's own records
    /// (its Source then); absent otherwise.
    pub origin: MafText,
}

/// A record that could not be analysed.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct MafRecordError {
    pub source: MafSource,
    /// `mailaccess_engine::ErrorKind` as a number.
    pub kind: u32,
    pub kind_name: MafText,
    /// The record's Id when it was read before the error.
    pub record_id: MafText,
    pub message: MafText,
}

/// What one ingest call produced, in input order. Owned by the library: free with
/// `maf_batch_free`.
#[repr(C)]
#[derive(Debug)]
pub struct MafBatch {
    pub arena: *const u8,
    pub arena_len: u64,
    pub records: *const MafRecord,
    pub records_len: u64,
    pub folders: *const MafFolder,
    pub folders_len: u64,
    pub items: *const MafItem,
    pub items_len: u64,
    pub errors: *const MafRecordError,
    pub errors_len: u64,
}

/// Skipped records of one operation.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct MafOperationCount {
    pub operation: MafText,
    pub count: u64,
}

/// The session's accounting. Owned by the library: free with `maf_tally_free`.
#[repr(C)]
#[derive(Debug)]
pub struct MafTally {
    pub read: u64,
    pub analysed: u64,
    pub skipped: u64,
    pub duplicates: u64,
    pub filtered: u64,
    pub errors: u64,
    pub degraded: u64,
    pub throttled: u64,
    pub not_throttled: u64,
    pub throttling_unknown: u64,
    pub arena: *const u8,
    pub arena_len: u64,
    pub skipped_operations: *const MafOperationCount,
    pub skipped_operations_len: u64,
    /// The input may be truncated (MAF_TRUE or MAF_FALSE).
    pub possibly_truncated: u8,
    /// Why, one sentence per reason; absent when not.
    pub truncation_reason: MafText,
}

/// A list of texts: `len` entries of the result's `texts` array from `start`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct MafTextList {
    pub start: u32,
    pub len: u32,
}

/// A list of messages: `len` entries of the result's `messages` array from `start`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct MafMessageList {
    pub start: u32,
    pub len: u32,
}

/// A warning, a finding's reason, or a phrase of one, as data: the shim words it
/// (dotnet-shim/src/Model/EngineWording.cs).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct MafMessage {
    /// What it says: a `MessageCode` (Vocabulary.g.cs), which gives the meaning of its values
    /// and phrases by position.
    pub code: u32,
    /// Its values, invariant text; absent ones null.
    pub values: MafTextList,
    /// Its phrases, messages of their own.
    pub phrases: MafMessageList,
}

/// A record's context written out.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct MafContextText {
    pub client_ip_address: MafText,
    pub client_info_string: MafText,
    pub session_id: MafText,
    pub user_id: MafText,
}

/// Get-MailAccessThrottling: an unaudited window of a mailbox.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct MafUnauditedWindow {
    pub mailbox: MafText,
    pub start: i64,
    pub end: i64,
    pub throttled_record_count: u64,
    pub record_ids: MafTextList,
}

/// Get-MailAccessSync: syncs of one folder of one mailbox from one context.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct MafSyncActivity {
    pub mailbox: MafText,
    pub folder_path: MafText,
    pub start: i64,
    pub end: i64,
    pub sync_count: u64,
    pub context: MafContextText,
    pub record_ids: MafTextList,
}

/// Get-MailAccessContext: one access context.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct MafAccessContext {
    pub context: MafContextText,
    pub app_ids: MafTextList,
    pub client_app_ids: MafTextList,
    pub aad_session_ids: MafTextList,
    pub unique_token_ids: MafTextList,
    pub mailboxes: MafTextList,
    pub signals: MafTextList,
    pub start: i64,
    pub end: i64,
    pub record_count: u64,
    pub bind_count: u64,
    pub sync_count: u64,
    pub message_count: u64,
    pub bytes: u64,
    pub score: u32,
}

/// Get-MailAccessBind: one message read. Its contexts are `contexts_len` entries of the
/// result's `contexts` array from `contexts_start`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct MafMessageRead {
    pub mailbox: MafText,
    pub internet_message_id: MafText,
    pub folder_path: MafText,
    /// -1 when unknown.
    pub size_in_bytes: i64,
    pub start: i64,
    pub end: i64,
    pub access_count: u64,
    pub contexts_start: u32,
    pub contexts_len: u32,
}

/// Find-MailAccessMessage: one access to a given message.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct MafMessageAccess {
    pub internet_message_id: MafText,
    pub mailbox: MafText,
    pub creation_time: i64,
    pub folder_path: MafText,
    /// -1 when unknown.
    pub size_in_bytes: i64,
    pub context: MafContextText,
    pub app_id: MafText,
    pub client_app_id: MafText,
    pub record_id: MafText,
}

/// Get-CompromisedMailAccess: one finding.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct MafFinding {
    /// `mailaccess_engine::analysis::CompromiseKind` as a number.
    pub kind: u32,
    pub kind_name: MafText,
    pub mailbox: MafText,
    pub folder_path: MafText,
    pub internet_message_id: MafText,
    /// -1 when unknown.
    pub size_in_bytes: i64,
    pub start: i64,
    pub end: i64,
    /// -1 when unknown.
    pub access_count: i64,
    pub client_ip_addresses: MafTextList,
    pub session_ids: MafTextList,
    pub client_info_strings: MafTextList,
    /// The accounts, applications, Entra sessions and tokens of the evidence.
    pub user_ids: MafTextList,
    pub app_ids: MafTextList,
    pub client_app_ids: MafTextList,
    pub aad_session_ids: MafTextList,
    pub unique_token_ids: MafTextList,
    /// Why it is a finding: an index into the result's `messages`.
    pub reason: u32,
    pub evidence_record_ids: MafTextList,
}

/// Get-CompromisedMailAccess: one record behind findings (the evidence appendix).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct MafEvidenceRecord {
    pub source: MafSource,
    pub time: i64,
    /// -1 when unknown or not relevant.
    pub operation_count: i64,
    pub access_type: u8,
    pub is_throttled: u8,
    pub record_id: MafText,
    pub mailbox: MafText,
    pub context: MafContextText,
    pub app_id: MafText,
    pub client_app_id: MafText,
    /// AppAccessContext: the Entra session and the token.
    pub aad_session_id: MafText,
    pub unique_token_id: MafText,
    pub folders: MafTextList,
    pub items: MafTextList,
    /// Where the record was first read, when it came in as one of the module's own records;
    /// absent otherwise.
    pub origin: MafText,
}

/// Finding `finding` rests on evidence record `evidence` (indexes into the result's arrays).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct MafFindingEvidence {
    pub finding: u32,
    pub evidence: u32,
}

/// An analysis' results; only the arrays of its kind are filled. Owned by the library: free
/// with `maf_analysis_free`.
#[repr(C)]
#[derive(Debug)]
pub struct MafAnalysis {
    pub arena: *const u8,
    pub arena_len: u64,
    pub texts: *const MafText,
    pub texts_len: u64,
    pub contexts: *const MafContextText,
    pub contexts_len: u64,
    pub windows: *const MafUnauditedWindow,
    pub windows_len: u64,
    pub syncs: *const MafSyncActivity,
    pub syncs_len: u64,
    pub access_contexts: *const MafAccessContext,
    pub access_contexts_len: u64,
    pub reads: *const MafMessageRead,
    pub reads_len: u64,
    pub accesses: *const MafMessageAccess,
    pub accesses_len: u64,
    pub findings: *const MafFinding,
    pub findings_len: u64,
    pub evidence: *const MafEvidenceRecord,
    pub evidence_len: u64,
    pub finding_evidence: *const MafFindingEvidence,
    pub finding_evidence_len: u64,
    pub messages: *const MafMessage,
    pub messages_len: u64,
    /// What the user should be told (WriteWarning), as messages.
    pub warnings: MafMessageList,
}

/// How far a file has been read. Counters are updated after each chunk.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct MafProgress {
    /// Bytes taken from the file (compressed bytes for gzip).
    pub bytes_read: u64,
    /// The file's size; -1 when unknown.
    pub bytes_total: i64,
    /// Records read so far (analysed, skipped, duplicates, errors).
    pub records: u64,
}

/// The SHA-256 of a file read by a reader. Owned by the library: free with `maf_digest_free`.
#[repr(C)]
#[derive(Debug)]
pub struct MafDigest {
    pub arena: *const u8,
    pub arena_len: u64,
    /// Upper-case hexadecimal, as Get-FileHash writes it: of the file's first `bytes` bytes,
    /// which are the whole file when `complete` is 1.
    pub sha256: MafText,
    /// Why the hash does not cover the whole file, when reading failed; absent otherwise.
    pub failure: MafText,
    pub bytes: u64,
    pub complete: u8,
}

/// A rendered report (UTF-8 text). Owned by the library: free with `maf_report_free`.
#[repr(C)]
#[derive(Debug)]
pub struct MafReport {
    pub text: *const u8,
    pub text_len: u64,
}

/// A KQL query (UTF-8 text). Owned by the library: free with `maf_kql_query_free`.
#[repr(C)]
#[derive(Debug)]
pub struct MafKqlQuery {
    pub text: *const u8,
    pub text_len: u64,
}

/// `MafCollectStep.kind`: call Search-UnifiedAuditLog, wait, or stop.
pub const MAF_STEP_CALL: u32 = 1;
pub const MAF_STEP_WAIT: u32 = 2;
pub const MAF_STEP_DONE: u32 = 3;

/// What a collector asks for next. Its texts are borrowed from the collector until the next
/// call on it (copy them at once).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct MafCollectStep {
    pub kind: u32,
    /// Of the call: the page in the session, and the session in the window (from 1).
    pub page: u32,
    pub session: u32,
    /// How much of the period is behind, 0 to 1000.
    pub permille: u32,
    /// The window (from 1) the call is for.
    pub window: u64,
    /// The query's `-StartDate` and `-EndDate` (.NET ticks, UTC).
    pub start: i64,
    pub end: i64,
    pub wait_ms: u64,
    /// Windows done (complete or given up) and records written by this run so far.
    pub windows_done: u64,
    pub records_written: u64,
    pub session_id: *const u8,
    pub session_id_len: u64,
    /// What happened since the last step, one line each (UTF-8), for -Verbose.
    pub notes: *const u8,
    pub notes_len: u64,
}

/// `MafCollectionWindow.status`.
pub const MAF_WINDOW_COMPLETE: u32 = 0;
pub const MAF_WINDOW_INCOMPLETE: u32 = 1;
pub const MAF_WINDOW_PENDING: u32 = 2;

/// One window of a collection, with its counts over every run.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct MafCollectionWindow {
    pub start: i64,
    pub end: i64,
    pub status: u32,
    pub reason: MafText,
    pub calls: u64,
    pub sessions: u64,
    pub failures: u64,
    pub returned: u64,
    pub written: u64,
    pub duplicates: u64,
    pub other_mailboxes: u64,
}

/// One records file of a collection.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct MafCollectionFile {
    /// Full path.
    pub path: MafText,
    /// Records the manifest lists in it.
    pub records: u64,
    pub sha256: MafText,
}

/// A collection folder: what its manifest says, and (when read as input) why it may be
/// incomplete. Owned by the library: free with `maf_collection_free`.
#[repr(C)]
#[derive(Debug)]
pub struct MafCollection {
    pub arena: *const u8,
    pub arena_len: u64,
    pub texts: *const MafText,
    pub texts_len: u64,
    pub windows: *const MafCollectionWindow,
    pub windows_len: u64,
    pub files: *const MafCollectionFile,
    pub files_len: u64,
    pub folder: MafText,
    pub start: i64,
    pub end: i64,
    pub record_count: u64,
    pub mailboxes: MafTextList,
    pub operations: MafTextList,
    /// Sentences: why the collection may be incomplete (when read as input).
    pub reasons: MafTextList,
    pub complete: u8,
    pub settled: u8,
}
