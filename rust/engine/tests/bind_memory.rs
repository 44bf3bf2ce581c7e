//! Get-MailAccessBind must list every message read, so what it keeps grows with the messages;
//! this checks that it grows by a small, fixed amount a message and that the texts rows share
//! (mailbox, folder, contexts) are kept once, not once a message. Bytes are counted, not timed:
//! a counting allocator (this file is its own test binary; its tests run one at a time).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use mailaccess_engine::analysis::{Analysis, BindAnalysis};
use mailaccess_engine::{interpret_json, InterpretOptions, MailAccessRecord, Outcome};

struct LiveBytes;

static LIVE: AtomicI64 = AtomicI64::new(0);
static SERIAL: Mutex<()> = Mutex::new(());

unsafe impl GlobalAlloc for LiveBytes {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as i64, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as i64, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) };
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size as i64 - layout.size() as i64, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: LiveBytes = LiveBytes;

/// A Bind record of the victim's OWA session reading one message (ids of real length).
fn bind_of(message: usize) -> MailAccessRecord {
    let json = format!(
        r#"{{"CreationTime":"2024-05-01T10:{:02}:{:02}","Id":"{message:08x}-2222-3333-4444-555555555555","Operation":"MailItemsAccessed","RecordType":50,"MailboxOwnerUPN":"victim@contoso.com","UserId":"victim@contoso.com","ClientIPAddress":"192.0.2.10","ClientInfoString":"Client=OWA;Action=ViaProxy","SessionId":"9f3c5a1e-7b2d-4c8e-a6f0-1d2e3f4a5b6c","OperationProperties":[{{"Name":"MailAccessType","Value":"Bind"}},{{"Name":"IsThrottled","Value":"False"}}],"Folders":[{{"Path":"\\Inbox","FolderItems":[{{"InternetMessageId":"<DM6PR11MB{message:08}@DM6PR11MB4593.namprd11.prod.outlook.com>","SizeInBytes":48213}}]}}]}}"#,
        (message / 60) % 60,
        message % 60
    );
    match interpret_json(&json, &InterpretOptions::default()) {
        Ok(Outcome::Record(record)) => *record,
        other => panic!("not a record: {other:?}"),
    }
}

/// Live bytes the analysis holds after `messages` records of one message each, and its rows.
fn held_by(messages: usize) -> (i64, Vec<mailaccess_engine::analysis::MessageRead>) {
    let records: Vec<MailAccessRecord> = (0..messages).map(bind_of).collect();
    let before = LIVE.load(Ordering::Relaxed);
    let mut analysis = Box::new(BindAnalysis::new());
    for record in &records {
        analysis.add(record);
    }
    let held = LIVE.load(Ordering::Relaxed) - before;
    let result = analysis.finish(&AtomicBool::new(false)).unwrap();
    (held, result.output.reads().unwrap().to_vec())
}

#[test]
fn what_is_kept_a_message_is_small_and_shared_texts_are_kept_once() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let (small, _) = held_by(5_000);
    let (large, reads) = held_by(45_000);
    // Per message read (the difference cancels what does not grow): the message id (~60
    // bytes) once, its table entries with their slack, a few numbers: 262 bytes measured.
    // Before the state was numbers only, it kept a copy of the mailbox and a hash set of
    // contexts for every message: 497 bytes.
    let per_message = (large - small) / 40_000;
    assert!(per_message <= 300, "{per_message} bytes a message");
    assert_eq!(reads.len(), 45_000);
    let first = &reads[0];
    for read in &reads[1..] {
        assert!(Arc::ptr_eq(read.mailbox.as_ref().unwrap(), first.mailbox.as_ref().unwrap()));
        assert!(Arc::ptr_eq(read.folder_path.as_ref().unwrap(), first.folder_path.as_ref().unwrap()));
        assert!(Arc::ptr_eq(&read.contexts[0], &first.contexts[0]));
    }
    assert_eq!(first.contexts[0].client_ip_address.as_deref(), Some("192.0.2.10"));
    assert_eq!(first.mailbox.as_deref(), Some("victim@contoso.com"));
    assert_eq!(first.folder_path.as_deref(), Some("\\Inbox"));
}
