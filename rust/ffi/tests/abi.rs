//! Loads the built `maf_native` library by path, as the shim does, and calls its exports:
//! the round trip of a batch, and calls made to fail (the error comes back, the process lives).

use std::path::PathBuf;

use libloading::{Library, Symbol};
use maf_native::abi::*;
use mailaccess_engine::input::tree::BatchWriter;
use mailaccess_engine::MailAccessType;

/// The cdylib cargo built for this test run: `cargo test` leaves it beside the test executable
/// in target/<profile>/deps/ (the copy in target/<profile>/ is only refreshed by `cargo build`).
fn library_path() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().join(libloading::library_filename("maf_native"))
}

struct Native {
    lib: &'static Library,
}

type SessionPtr = *mut std::ffi::c_void;
type ParsedPtr = *mut std::ffi::c_void;

impl Native {
    /// Loaded once per process and never unloaded, as in pwsh: the library keeps per-thread
    /// allocator state whose exit hooks must not outlive its code.
    fn load() -> Native {
        static LIBRARY: std::sync::OnceLock<&'static Library> = std::sync::OnceLock::new();
        let lib = LIBRARY.get_or_init(|| {
            let path = library_path();
            // SAFETY: loading our own library, whose initialisers are Rust's and harmless.
            let lib = unsafe { Library::new(&path) }.unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            Box::leak(Box::new(lib))
        });
        Native { lib }
    }

    fn sym<T>(&self, name: &str) -> Symbol<'_, T> {
        // SAFETY: the signatures below match the exports in src/lib.rs.
        unsafe { self.lib.get(name.as_bytes()) }.unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    fn last_error(&self) -> String {
        let f: Symbol<unsafe extern "C" fn(*mut u8, usize) -> usize> = self.sym("maf_last_error");
        let needed = unsafe { f(std::ptr::null_mut(), 0) };
        let mut buf = vec![0u8; needed];
        let written = unsafe { f(buf.as_mut_ptr(), buf.len()) };
        assert_eq!(written, needed);
        String::from_utf8(buf).unwrap()
    }

    fn session_new(&self, options: &[u8]) -> (MafStatus, SessionPtr) {
        let f: Symbol<unsafe extern "C" fn(*const u8, usize, *mut SessionPtr) -> MafStatus> = self.sym("maf_session_new");
        let mut out: SessionPtr = std::ptr::null_mut();
        let status = unsafe { f(options.as_ptr(), options.len(), &mut out) };
        (status, out)
    }

    fn parse(&self, session: SessionPtr, batch: &[u8], first: u64) -> (MafStatus, ParsedPtr) {
        let f: Symbol<unsafe extern "C" fn(SessionPtr, *const u8, usize, u64, *mut ParsedPtr) -> MafStatus> =
            self.sym("maf_session_parse_objects");
        let mut out = std::ptr::null_mut();
        let status = unsafe { f(session, batch.as_ptr(), batch.len(), first, &mut out) };
        (status, out)
    }

    fn accept(&self, session: SessionPtr, parsed: ParsedPtr) -> (MafStatus, *mut MafBatch) {
        let f: Symbol<unsafe extern "C" fn(SessionPtr, ParsedPtr, *mut *mut MafBatch) -> MafStatus> = self.sym("maf_session_accept");
        let mut out = std::ptr::null_mut();
        let status = unsafe { f(session, parsed, &mut out) };
        (status, out)
    }

    /// Parse then accept, as the shim does for each batch.
    fn ingest(&self, session: SessionPtr, batch: &[u8], first: u64) -> (MafStatus, *mut MafBatch) {
        let (status, parsed) = self.parse(session, batch, first);
        if status != MafStatus::Ok {
            assert!(parsed.is_null(), "a failed parse hands out nothing");
            return (status, std::ptr::null_mut());
        }
        self.accept(session, parsed)
    }

    fn parsed_free(&self, parsed: ParsedPtr) {
        let f: Symbol<unsafe extern "C" fn(ParsedPtr)> = self.sym("maf_parsed_free");
        unsafe { f(parsed) }
    }

    fn batch_free(&self, batch: *mut MafBatch) {
        let f: Symbol<unsafe extern "C" fn(*mut MafBatch)> = self.sym("maf_batch_free");
        unsafe { f(batch) }
    }

    fn session_free(&self, session: SessionPtr) {
        let f: Symbol<unsafe extern "C" fn(SessionPtr)> = self.sym("maf_session_free");
        unsafe { f(session) }
    }
}

fn text(arena: *const u8, t: MafText) -> Option<String> {
    if t.len < 0 {
        return None;
    }
    let bytes = unsafe { std::slice::from_raw_parts(arena.add(t.offset as usize), t.len as usize) };
    Some(String::from_utf8(bytes.to_vec()).unwrap())
}

const GOOD: &str = r#"{"CreationTime":"2023-09-15T18:16:53","Id":"461a38ce-fc36-4a4d-b73e-643262cc063f","Operation":"MailItemsAccessed","UserId":"user1","ClientIPAddress":"FE80::","MailboxOwnerUPN":"user1","OperationProperties":[{"Name":"MailAccessType","Value":"Bind"},{"Name":"IsThrottled","Value":"False"}],"Folders":[{"FolderItems":[{"InternetMessageId":"a@b","SizeInBytes":3476}],"Path":"\\Inbox"}],"OperationCount":1}"#;

#[test]
fn version_matches_the_crate_constant() {
    let native = Native::load();
    let f: Symbol<extern "C" fn() -> u32> = native.sym("maf_abi_version");
    assert_eq!(f(), MAF_ABI_VERSION);
}

#[test]
fn a_batch_round_trips_with_records_errors_and_tally() {
    let native = Native::load();
    let mut options = BatchWriter::default();
    options.map(1).key("ReturnRecords").bool(true);
    let (status, session) = native.session_new(&options.buf);
    assert_eq!(status, MafStatus::Ok);

    let mut batch = BatchWriter::default();
    batch.string(GOOD);
    batch.string("{\"CreationTime\": \"2023-09-15T18:16:53\", \"Operation\": "); // truncated
    batch.map(2).key("Operation").string("HardDelete").key("CreationTime").string("2023-09-15T18:16:53");
    let (status, result) = native.ingest(session, &batch.buf, 10);
    assert_eq!(status, MafStatus::Ok);
    let result_ref = unsafe { &*result };
    assert_eq!(result_ref.records_len, 1);
    assert_eq!(result_ref.errors_len, 1);
    let record = unsafe { &*result_ref.records };
    assert_eq!(record.source.index, 10);
    assert_eq!(record.source.file, -1);
    assert_eq!(record.access_type, MailAccessType::Bind.code());
    assert_eq!(record.is_throttled, MAF_FALSE);
    assert_eq!(text(result_ref.arena, record.client_ip_address).as_deref(), Some("fe80::"));
    assert_eq!(text(result_ref.arena, record.client_ip_address_original).as_deref(), Some("FE80::"));
    assert_eq!(text(result_ref.arena, record.session_id), None);
    assert_eq!(record.items_len, 1);
    let item = unsafe { &*result_ref.items.add(record.items_start as usize) };
    assert_eq!(text(result_ref.arena, item.internet_message_id).as_deref(), Some("<a@b>"));
    assert_eq!(item.size_in_bytes, 3476);
    let error = unsafe { &*result_ref.errors };
    assert_eq!(error.source.index, 11);
    assert_eq!(text(result_ref.arena, error.kind_name).as_deref(), Some("InvalidJson"));
    assert!(text(result_ref.arena, error.message).unwrap().contains("EOF"));
    native.batch_free(result);

    let tally_fn: Symbol<unsafe extern "C" fn(SessionPtr, *mut *mut MafTally) -> MafStatus> = native.sym("maf_session_tally");
    let mut tally = std::ptr::null_mut();
    assert_eq!(unsafe { tally_fn(session, &mut tally) }, MafStatus::Ok);
    let t = unsafe { &*tally };
    assert_eq!((t.read, t.analysed, t.skipped, t.errors, t.duplicates), (3, 1, 1, 1, 0));
    assert_eq!(t.skipped_operations_len, 1);
    let op = unsafe { &*t.skipped_operations };
    assert_eq!(text(t.arena, op.operation).as_deref(), Some("HardDelete"));
    let tally_free: Symbol<unsafe extern "C" fn(*mut MafTally)> = native.sym("maf_tally_free");
    unsafe { tally_free(tally) };
    native.session_free(session);
}

impl Native {
    fn tally_read_and_duplicates(&self, session: SessionPtr) -> (u64, u64) {
        let f: Symbol<unsafe extern "C" fn(SessionPtr, *mut *mut MafTally) -> MafStatus> = self.sym("maf_session_tally");
        let free: Symbol<unsafe extern "C" fn(*mut MafTally)> = self.sym("maf_tally_free");
        let mut tally = std::ptr::null_mut();
        assert_eq!(unsafe { f(session, &mut tally) }, MafStatus::Ok);
        let t = unsafe { &*tally };
        let counts = (t.read, t.duplicates);
        unsafe { free(tally) };
        counts
    }
}

#[test]
fn batches_count_in_the_order_they_are_accepted_not_parsed() {
    let native = Native::load();
    let (_, session) = native.session_new(&[]);
    let mut batch = BatchWriter::default();
    batch.string(GOOD);
    // Parsed out of order (as the shim's parallel parse may finish), accepted in order: the
    // second copy of the same record is the duplicate, and a parsed batch counts nothing.
    let (status, second) = native.parse(session, &batch.buf, 1);
    assert_eq!(status, MafStatus::Ok);
    let (status, first) = native.parse(session, &batch.buf, 0);
    assert_eq!(status, MafStatus::Ok);
    assert_eq!(native.tally_read_and_duplicates(session), (0, 0));

    let (status, result) = native.accept(session, first);
    assert_eq!(status, MafStatus::Ok);
    native.batch_free(result);
    let (status, result) = native.accept(session, second);
    assert_eq!(status, MafStatus::Ok);
    native.batch_free(result);
    assert_eq!(native.tally_read_and_duplicates(session), (2, 1));

    // A parsed batch that is never accepted is freed and not counted.
    let (_, dropped) = native.parse(session, &batch.buf, 2);
    native.parsed_free(dropped);
    native.parsed_free(std::ptr::null_mut());
    assert_eq!(native.tally_read_and_duplicates(session), (2, 1));

    let (status, result) = native.accept(session, std::ptr::null_mut());
    assert_eq!(status, MafStatus::InvalidArgument);
    assert!(result.is_null());
    native.session_free(session);
}

#[test]
fn a_malformed_batch_is_an_error_not_a_crash() {
    let native = Native::load();
    let (_, session) = native.session_new(&[]);
    let (status, result) = native.ingest(session, &[8, 5, 0, 0, 0], 0);
    assert_eq!(status, MafStatus::BadBatch);
    assert!(result.is_null());
    assert!(native.last_error().contains("malformed object batch"), "{}", native.last_error());
    // The session is still usable.
    let mut batch = BatchWriter::default();
    batch.string(GOOD);
    let (status, result) = native.ingest(session, &batch.buf, 0);
    assert_eq!(status, MafStatus::Ok);
    native.batch_free(result);
    native.session_free(session);
}

#[test]
fn bad_arguments_are_refused() {
    let native = Native::load();
    let (status, _) = native.ingest(std::ptr::null_mut(), &[], 0);
    assert_eq!(status, MafStatus::InvalidArgument);
    assert_eq!(native.last_error(), "null session");

    let mut options = BatchWriter::default();
    options.map(1).key("NoSuchOption").bool(true);
    let (status, session) = native.session_new(&options.buf);
    assert_eq!(status, MafStatus::InvalidArgument);
    assert!(session.is_null());
    assert!(native.last_error().contains("NoSuchOption"), "{}", native.last_error());

    // Null is accepted by every _free.
    native.batch_free(std::ptr::null_mut());
    native.session_free(std::ptr::null_mut());
}

#[test]
fn a_panic_comes_back_as_an_error_and_the_process_lives() {
    let native = Native::load();
    let f: Symbol<extern "C" fn() -> MafStatus> = native.sym("maf_selftest_panic");
    assert_eq!(f(), MafStatus::Panic);
    let message = native.last_error();
    assert!(message.contains("self-test panic") && message.contains("lib.rs"), "{message}");
    // And again: the boundary holds every time.
    assert_eq!(f(), MafStatus::Panic);
}

#[test]
fn a_panic_on_an_engine_thread_comes_back_as_the_calls_error() {
    let native = Native::load();
    let f: Symbol<extern "C" fn() -> MafStatus> = native.sym("maf_selftest_worker_panic");
    assert_eq!(f(), MafStatus::Panic);
    let message = native.last_error();
    assert!(message.contains("worker self-test panic") && message.contains("lib.rs") && message.contains("engine thread"), "{message}");
}

#[test]
fn a_cancelled_session_refuses_more_work() {
    let native = Native::load();
    let (_, session) = native.session_new(&[]);
    let cancel: Symbol<unsafe extern "C" fn(SessionPtr)> = native.sym("maf_session_cancel");
    unsafe { cancel(session) };
    let (status, _) = native.ingest(session, &[], 0);
    assert_eq!(status, MafStatus::Cancelled);
    native.session_free(session);
}

#[test]
fn an_analysis_session_returns_findings() {
    let native = Native::load();
    let mut options = BatchWriter::default();
    options.map(2).key("Analysis").string("Verdict").key("AttackerIPAddress").list(1).string("fe80::/16");
    let (status, session) = native.session_new(&options.buf);
    assert_eq!(status, MafStatus::Ok, "{}", native.last_error());
    let mut batch = BatchWriter::default();
    batch.string(GOOD);
    let (status, result) = native.ingest(session, &batch.buf, 0);
    assert_eq!(status, MafStatus::Ok);
    native.batch_free(result);

    let finish: Symbol<unsafe extern "C" fn(SessionPtr, *mut *mut MafAnalysis) -> MafStatus> = native.sym("maf_session_finish");
    let free: Symbol<unsafe extern "C" fn(*mut MafAnalysis)> = native.sym("maf_analysis_free");
    let mut analysis = std::ptr::null_mut();
    assert_eq!(unsafe { finish(session, &mut analysis) }, MafStatus::Ok, "{}", native.last_error());
    let a = unsafe { &*analysis };
    // The address indicator and the message read from it.
    assert_eq!(a.findings_len, 2);
    let findings = unsafe { std::slice::from_raw_parts(a.findings, a.findings_len as usize) };
    let kinds: Vec<_> = findings.iter().map(|f| text(a.arena, f.kind_name).unwrap()).collect();
    assert_eq!(kinds, ["AttackerIndicator", "AccessedMessage"]);
    let message = &findings[1];
    assert_eq!(text(a.arena, message.internet_message_id).as_deref(), Some("<a@b>"));
    assert_eq!(message.access_count, 1);
    assert_eq!(message.evidence_record_ids.len, 1);
    let evidence = unsafe { *a.texts.add(message.evidence_record_ids.start as usize) };
    assert_eq!(text(a.arena, evidence).as_deref(), Some("461a38ce-fc36-4a4d-b73e-643262cc063f"));
    // The record behind the message, with where it came from (pipeline object 0).
    assert_eq!((a.evidence_len, a.finding_evidence_len), (1, 1));
    let record = unsafe { &*a.evidence };
    let pair = unsafe { &*a.finding_evidence };
    assert_eq!((pair.finding, pair.evidence), (1, 0));
    assert_eq!(text(a.arena, record.record_id).as_deref(), Some("461a38ce-fc36-4a4d-b73e-643262cc063f"));
    assert_eq!((record.source.file, record.source.index, record.access_type), (-1, 0, MailAccessType::Bind.code()));
    assert_eq!(text(a.arena, record.mailbox).as_deref(), Some("user1"));
    unsafe { free(analysis) };

    // Finishing twice is an error, not a crash.
    let mut again = std::ptr::null_mut();
    assert_eq!(unsafe { finish(session, &mut again) }, MafStatus::InvalidArgument);
    assert!(again.is_null());
    native.session_free(session);
}

#[test]
fn bad_analysis_options_name_the_parameter() {
    let native = Native::load();
    let mut options = BatchWriter::default();
    options.map(2).key("Analysis").string("Verdict").key("AttackerIPAddress").list(1).string("300.1.1.1");
    let (status, session) = native.session_new(&options.buf);
    assert_eq!(status, MafStatus::InvalidArgument);
    assert!(session.is_null());
    assert_eq!(native.last_error(), "-AttackerIPAddress: '300.1.1.1' is not an IP address or a CIDR range (such as 203.0.113.0/24)");

    let mut options = BatchWriter::default();
    options.map(2).key("StartDate").string("2024-05-02T00:00:00Z").key("EndDate").string("2024-05-01T00:00:00Z");
    let (status, _) = native.session_new(&options.buf);
    assert_eq!(status, MafStatus::InvalidArgument);
    assert!(native.last_error().contains("-StartDate"), "{}", native.last_error());
}

fn kql_query(native: &Native, options: &[u8]) -> Result<String, (MafStatus, String)> {
    let f: Symbol<unsafe extern "C" fn(*const u8, usize, *mut *mut MafKqlQuery) -> MafStatus> = native.sym("maf_kql_query");
    let free: Symbol<unsafe extern "C" fn(*mut MafKqlQuery)> = native.sym("maf_kql_query_free");
    let mut out: *mut MafKqlQuery = std::ptr::null_mut();
    let status = unsafe { f(options.as_ptr(), options.len(), &mut out) };
    if status != MafStatus::Ok {
        assert!(out.is_null(), "a failed call hands out nothing");
        return Err((status, native.last_error()));
    }
    let text = unsafe { String::from_utf8(std::slice::from_raw_parts((*out).text, (*out).text_len as usize).to_vec()).unwrap() };
    unsafe { free(out) };
    unsafe { free(std::ptr::null_mut()) };
    Ok(text)
}

#[test]
fn a_kql_query_is_written_or_refused_with_the_parameter_named() {
    let native = Native::load();
    let mut options = BatchWriter::default();
    options.map(3).key("Table").string("CloudAppEvents").key("Step").string("Verdict").key("AttackerSessionId").list(1).string("s\"1");
    let text = kql_query(&native, &options.buf).unwrap();
    assert!(text.starts_with("// MailAccessForensics: Verdict query over CloudAppEvents."), "{text}");
    assert!(text.contains(r#"let AttackerSessionId = pack_array("s\"1");"#));
    assert!(text.contains("let ExpandSharedIndicator = false;"));
    let mut options = BatchWriter::default();
    options.map(3).key("Table").string("CloudAppEvents").key("Step").string("Verdict").key("ExpandSharedIndicator").bool(true);
    assert!(kql_query(&native, &options.buf).unwrap().contains("let ExpandSharedIndicator = true;"));

    let mut options = BatchWriter::default();
    options.map(3).key("Table").string("OfficeActivity").key("Step").string("Verdict").key("AttackerIPAddress").list(1).string("300.1.1.1");
    let (status, message) = kql_query(&native, &options.buf).unwrap_err();
    assert_eq!(status, MafStatus::InvalidArgument);
    assert!(message.starts_with("-AttackerIPAddress: '300.1.1.1'"), "{message}");

    let mut options = BatchWriter::default();
    options.map(2).key("Table").string("SigninLogs").key("Step").string("Bind");
    assert!(kql_query(&native, &options.buf).unwrap_err().1.contains("-Table"));
    let mut options = BatchWriter::default();
    options.map(3).key("Table").string("OfficeActivity").key("Step").string("Bind").key("Unknown").string("x");
    assert_eq!(kql_query(&native, &options.buf).unwrap_err().0, MafStatus::InvalidArgument);
}

type CollectorPtr = *mut std::ffi::c_void;

fn borrowed(ptr: *const u8, len: u64) -> String {
    if ptr.is_null() {
        return String::new();
    }
    // SAFETY: the collector lends `len` bytes until its next call.
    String::from_utf8(unsafe { std::slice::from_raw_parts(ptr, len as usize) }.to_vec()).unwrap()
}

fn collector_options(folder: &std::path::Path, start: Option<&str>) -> Vec<u8> {
    let mut options = BatchWriter::default();
    options.map(if start.is_some() { 6 } else { 4 });
    options.key("Path").string(folder.to_str().unwrap());
    if let Some(start) = start {
        options.key("StartDate").string(start);
        options.key("EndDate").string("2024-03-01T02:00:00Z");
    }
    options.key("Now").string("2024-04-01T00:00:00Z");
    options.key("RunId").string("abi");
    options.key("Tool").string("abi test");
    options.buf
}

#[test]
fn a_collector_is_driven_through_the_exports() {
    let native = Native::load();
    let new: Symbol<unsafe extern "C" fn(*const u8, usize, *mut CollectorPtr) -> MafStatus> = native.sym("maf_collector_new");
    let next: Symbol<unsafe extern "C" fn(CollectorPtr, *mut MafCollectStep) -> MafStatus> = native.sym("maf_collector_next");
    let page: Symbol<unsafe extern "C" fn(CollectorPtr, *const u8, usize) -> MafStatus> = native.sym("maf_collector_page");
    let failed: Symbol<unsafe extern "C" fn(CollectorPtr, *const u8, usize) -> MafStatus> = native.sym("maf_collector_failed");
    let finish: Symbol<unsafe extern "C" fn(CollectorPtr, u8) -> MafStatus> = native.sym("maf_collector_finish");
    let summary: Symbol<unsafe extern "C" fn(CollectorPtr, *mut *mut MafCollection) -> MafStatus> = native.sym("maf_collector_summary");
    let collection_free: Symbol<unsafe extern "C" fn(*mut MafCollection)> = native.sym("maf_collection_free");
    let free: Symbol<unsafe extern "C" fn(CollectorPtr)> = native.sym("maf_collector_free");
    let read: Symbol<unsafe extern "C" fn(SessionPtr, *const u16, usize, u32, *mut *mut MafCollection) -> MafStatus> =
        native.sym("maf_session_read_collection");

    let dir = std::env::temp_dir().join(format!("maf-abi-collect-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    // A new folder needs the dates.
    let options = collector_options(&dir, None);
    let mut collector: CollectorPtr = std::ptr::null_mut();
    assert_eq!(unsafe { new(options.as_ptr(), options.len(), &mut collector) }, MafStatus::Io);
    assert!(native.last_error().contains("-StartDate and -EndDate are needed"), "{}", native.last_error());
    assert!(collector.is_null());

    let options = collector_options(&dir, Some("2024-03-01T00:00:00Z"));
    assert_eq!(unsafe { new(options.as_ptr(), options.len(), &mut collector) }, MafStatus::Ok);
    let audit = r#"{"Id":"r1","Operation":"MailItemsAccessed","CreationTime":"2024-03-01T00:10:00","MailboxOwnerUPN":"m@x"}"#;
    let mut calls = 0;
    loop {
        let mut step = MaybeStep::default();
        assert_eq!(unsafe { next(collector, &mut step.0) }, MafStatus::Ok);
        match step.0.kind {
            MAF_STEP_DONE => break,
            MAF_STEP_WAIT => continue,
            MAF_STEP_CALL => {
                calls += 1;
                assert!(borrowed(step.0.session_id, step.0.session_id_len).starts_with("abi-"));
                if calls == 1 {
                    let message = "The operation could not be completed";
                    assert_eq!(unsafe { failed(collector, message.as_ptr(), message.len()) }, MafStatus::Ok);
                    continue;
                }
                let mut batch = BatchWriter::default();
                if calls == 2 {
                    batch.map(4);
                    batch.key("AuditData").string(audit);
                    batch.key("Identity").string("r1");
                    batch.key("ResultIndex").int(1);
                    batch.key("ResultCount").int(5000);
                }
                assert_eq!(unsafe { page(collector, batch.buf.as_ptr(), batch.buf.len()) }, MafStatus::Ok);
            }
            other => panic!("unknown step {other}"),
        }
    }
    assert_eq!(unsafe { finish(collector, 0) }, MafStatus::Ok);
    let mut result: *mut MafCollection = std::ptr::null_mut();
    assert_eq!(unsafe { summary(collector, &mut result) }, MafStatus::Ok);
    let c = unsafe { &*result };
    assert_eq!((c.complete, c.record_count, c.files_len), (1, 1, 1));
    assert!(c.windows_len >= 2);
    unsafe { collection_free(result) };
    unsafe { free(collector) };

    // The folder read as input: its file, and no reason to doubt it.
    let (_, session) = native.session_new(&[]);
    let path: Vec<u16> = dir.to_str().unwrap().encode_utf16().collect();
    assert_eq!(unsafe { read(session, path.as_ptr(), path.len(), 0, &mut result) }, MafStatus::Ok);
    let c = unsafe { &*result };
    assert_eq!((c.files_len, c.reasons.len), (1, 0));
    let file = unsafe { &*c.files };
    assert!(text(c.arena, file.path).unwrap().ends_with("000001.jsonl.gz"));
    unsafe { collection_free(result) };
    let records: Vec<u16> = dir.join("records").to_str().unwrap().encode_utf16().collect();
    assert_eq!(unsafe { read(session, records.as_ptr(), records.len(), 1, &mut result) }, MafStatus::Io);
    assert!(native.last_error().contains("holds no collection"));
    native.session_free(session);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A zeroed step for the collector to fill.
struct MaybeStep(MafCollectStep);

impl Default for MaybeStep {
    fn default() -> Self {
        MaybeStep(MafCollectStep {
            kind: 0,
            page: 0,
            session: 0,
            permille: 0,
            window: 0,
            start: 0,
            end: 0,
            wait_ms: 0,
            windows_done: 0,
            records_written: 0,
            session_id: std::ptr::null(),
            session_id_len: 0,
            notes: std::ptr::null(),
            notes_len: 0,
        })
    }
}

#[test]
fn a_file_read_to_its_end_has_the_hash_of_the_whole_file() {
    use sha2::Digest;
    let native = Native::load();
    let dir = std::env::temp_dir().join(format!("maf-abi-digest-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("records.jsonl");
    let content = format!("{GOOD}\n{}\n", GOOD.replace("461a38ce", "561a38ce"));
    std::fs::write(&path, &content).unwrap();
    let expected: String = sha2::Sha256::digest(content.as_bytes()).iter().map(|b| format!("{b:02X}")).collect();

    type Reader = *mut std::ffi::c_void;
    let open: Symbol<unsafe extern "C" fn(SessionPtr, *const u16, usize, u32, *mut Reader) -> MafStatus> = native.sym("maf_reader_open");
    let next: Symbol<unsafe extern "C" fn(SessionPtr, Reader, *mut *mut MafBatch) -> MafStatus> = native.sym("maf_reader_next");
    let digest: Symbol<unsafe extern "C" fn(SessionPtr, Reader, *mut *mut MafDigest) -> MafStatus> = native.sym("maf_reader_digest");
    let digest_free: Symbol<unsafe extern "C" fn(*mut MafDigest)> = native.sym("maf_digest_free");
    let reader_free: Symbol<unsafe extern "C" fn(Reader)> = native.sym("maf_reader_free");
    let wide: Vec<u16> = path.to_str().unwrap().encode_utf16().collect();
    let (status, session) = native.session_new(&[]);
    assert_eq!(status, MafStatus::Ok);
    let read = |to_end: bool| -> (String, u64, u8) {
        let mut reader: Reader = std::ptr::null_mut();
        assert_eq!(unsafe { open(session, wide.as_ptr(), wide.len(), 0, &mut reader) }, MafStatus::Ok, "{}", native.last_error());
        if to_end {
            loop {
                let mut batch = std::ptr::null_mut();
                assert_eq!(unsafe { next(session, reader, &mut batch) }, MafStatus::Ok);
                if batch.is_null() {
                    break;
                }
                native.batch_free(batch);
            }
        }
        let mut out = std::ptr::null_mut();
        assert_eq!(unsafe { digest(session, reader, &mut out) }, MafStatus::Ok, "{}", native.last_error());
        let d = unsafe { &*out };
        let result = (text(d.arena, d.sha256).unwrap(), d.bytes, d.complete);
        unsafe { digest_free(out) };
        unsafe { reader_free(reader) };
        result
    };
    assert_eq!(read(true), (expected, content.len() as u64, 1));
    // Asked before the end, the hash is not passed off as the file's.
    assert_eq!(read(false).2, 0);
    // A reader reads only into the session it was opened for.
    let (status, other) = native.session_new(&[]);
    assert_eq!(status, MafStatus::Ok);
    let mut reader: Reader = std::ptr::null_mut();
    assert_eq!(unsafe { open(session, wide.as_ptr(), wide.len(), 0, &mut reader) }, MafStatus::Ok, "{}", native.last_error());
    let mut batch = std::ptr::null_mut();
    assert_eq!(unsafe { next(other, reader, &mut batch) }, MafStatus::InvalidArgument);
    assert!(batch.is_null());
    assert!(native.last_error().contains("another session"), "{}", native.last_error());
    let mut out = std::ptr::null_mut();
    assert_eq!(unsafe { digest(other, reader, &mut out) }, MafStatus::InvalidArgument);
    assert!(out.is_null());
    assert_eq!(unsafe { next(session, reader, &mut batch) }, MafStatus::Ok, "{}", native.last_error());
    assert!(!batch.is_null());
    native.batch_free(batch);
    unsafe { reader_free(reader) };
    native.session_free(other);
    native.session_free(session);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_engine_names_its_version() {
    let native = Native::load();
    let f: Symbol<unsafe extern "C" fn(*mut u8, usize) -> usize> = native.sym("maf_engine_version");
    let needed = unsafe { f(std::ptr::null_mut(), 0) };
    let mut buf = vec![0u8; needed];
    unsafe { f(buf.as_mut_ptr(), buf.len()) };
    assert_eq!(String::from_utf8(buf).unwrap(), env!("CARGO_PKG_VERSION"));
}
