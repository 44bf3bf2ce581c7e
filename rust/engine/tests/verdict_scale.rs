//! The verdict's work grows in proportion to its input: one Sync record naming four times the
//! folders costs at most about four times the work. Work is counted, not timed: the number of
//! allocations and the bytes allocated (a counting allocator; this file is its own test binary,
//! its tests run one at a time). A cost quadratic in the folders would grow sixteen times.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

use mailaccess_engine::analysis::{AddressRange, Analysis, Indicators, VerdictAnalysis, VerdictOptions};
use mailaccess_engine::{ClientAddress, FolderAccess, MailAccessRecord, MailAccessType, SourcePosition};

struct CountingAllocator;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);
static SERIAL: Mutex<()> = Mutex::new(());

unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        BYTES.fetch_add(layout.size() as u64, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        BYTES.fetch_add(new_size as u64, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

const ATTACKER: &str = "203.0.113.77";

fn sync_of(folders: usize) -> MailAccessRecord {
    MailAccessRecord {
        record_id: Some("11111111-2222-3333-4444-555555555555".into()),
        creation_time: "2024-05-02T10:00:00Z".parse().unwrap(),
        mailbox: Some("victim@contoso.com".into()),
        mailbox_guid: None,
        user_id: Some("victim@contoso.com".into()),
        user_type: None,
        access_type: MailAccessType::Sync,
        is_throttled: Some(false),
        client_address: ClientAddress::parse(ATTACKER),
        client_info_string: Some("Client=MSExchangeRPC".into()),
        session_id: Some("s-att".into()),
        app_id: None,
        client_app_id: None,
        aad_session_id: None,
        unique_token_id: None,
        issued_at_time: None,
        logon_type: None,
        external_access: None,
        operation_count: Some(1),
        originating_server: None,
        folders: (0..folders).map(|i| FolderAccess { path: Some(format!("\\Folder {i}")), id: None, item_count: None }).collect(),
        items: Vec::new(),
        degraded: None,
        source: SourcePosition { index: 0, file: Some(0), line: Some(1), result: None },
        origin: None,
    }
}

/// (allocations, bytes allocated) of adding the record and finishing the verdict, and the
/// number of findings.
fn work_of(record: &MailAccessRecord) -> (u64, u64, usize) {
    let options = VerdictOptions {
        indicators: Indicators { addresses: vec![AddressRange::parse(ATTACKER).unwrap()], ..Default::default() },
        ..Default::default()
    };
    let (allocations, bytes) = (ALLOCATIONS.load(Ordering::Relaxed), BYTES.load(Ordering::Relaxed));
    let mut analysis = Box::new(VerdictAnalysis::new(options));
    analysis.add(record);
    let result = analysis.finish(&AtomicBool::new(false)).unwrap();
    let findings = result.output.verdict().unwrap().findings.len();
    drop(result);
    (ALLOCATIONS.load(Ordering::Relaxed) - allocations, BYTES.load(Ordering::Relaxed) - bytes, findings)
}

#[test]
fn one_sync_of_many_folders_costs_work_in_proportion_to_its_folders() {
    let _serial = SERIAL.lock().unwrap();
    let (small, large) = (sync_of(5_000), sync_of(20_000));
    let (small_allocations, small_bytes, small_findings) = work_of(&small);
    let (large_allocations, large_bytes, large_findings) = work_of(&large);
    // Every folder is a SyncedFolder finding; the address and the session it links are
    // AttackerIndicator findings.
    assert_eq!((small_findings, large_findings), (5_002, 20_002));
    let allocations = large_allocations as f64 / small_allocations as f64;
    let bytes = large_bytes as f64 / small_bytes as f64;
    assert!(allocations < 4.6, "4x the folders took {allocations:.2}x the allocations ({small_allocations} -> {large_allocations})");
    assert!(bytes < 4.6, "4x the folders took {bytes:.2}x the bytes allocated ({small_bytes} -> {large_bytes})");
}
