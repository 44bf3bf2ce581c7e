//! The collector against a simulated Search-UnifiedAuditLog: the exact set of records that
//! lands in the folder, whatever the service does.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::io::BufRead;

use chrono::{DateTime, Duration, Utc};

use super::*;
use crate::input::tree::BatchWriter;
use crate::time::to_dotnet_ticks;

fn at(text: &str) -> DateTime<Utc> {
    read_time(text).unwrap()
}

#[derive(Clone)]
struct SimRecord {
    id: String,
    time: DateTime<Utc>,
    owner: String,
    user: String,
    operation: String,
}

#[derive(Clone, Debug, PartialEq)]
enum Fault {
    Error(&'static str),
    /// A page of records with ResultIndex -1.
    Timeout,
    /// An empty page although records remain (the session is then dead).
    EmptyMidSession,
    /// Fewer records than the page size, then the rest on later pages.
    ShortPage(usize),
    /// The first record of the page comes twice (a new index each time).
    Duplicate,
}

/// The service as documented and reported: 5,000 per call, 50,000 per session, unsorted
/// session pages, ResultCount = ResultSize, `[start, end)` by CreationTime.
struct Service {
    records: Vec<SimRecord>,
    sessions: HashMap<String, (Vec<usize>, usize, bool)>,
    faults: VecDeque<Option<Fault>>,
    /// A call in which this fault hits every time (a window that never succeeds).
    always_failing: Option<(DateTime<Utc>, DateTime<Utc>)>,
    calls: u64,
    seed: u64,
}

impl Service {
    fn new(records: Vec<SimRecord>) -> Service {
        Service { records, sessions: HashMap::new(), faults: VecDeque::new(), always_failing: None, calls: 0, seed: 7 }
    }

    fn random(&mut self) -> u64 {
        self.seed ^= self.seed << 13;
        self.seed ^= self.seed >> 7;
        self.seed ^= self.seed << 17;
        self.seed
    }

    fn call(&mut self, start: DateTime<Utc>, end: DateTime<Utc>, session: &str) -> Result<BatchWriter, String> {
        self.calls += 1;
        if let Some((s, e)) = self.always_failing {
            if start < e && end > s {
                return Err("The operation could not be completed".into());
            }
        }
        let fault = self.faults.pop_front().flatten();
        if let Some(Fault::Error(message)) = fault {
            return Err(message.to_string());
        }
        if !self.sessions.contains_key(session) {
            let mut matching: Vec<usize> =
                (0..self.records.len()).filter(|&i| self.records[i].time >= start && self.records[i].time < end).collect();
            // Unsorted: ReturnLargeSet pages come in no particular order.
            for i in (1..matching.len()).rev() {
                let j = (self.random() % (i as u64 + 1)) as usize;
                matching.swap(i, j);
            }
            self.sessions.insert(session.to_string(), (matching, 0, false));
        }
        let (matching, cursor, dead) = self.sessions.get_mut(session).unwrap();
        let mut batch = BatchWriter::default();
        if *dead || fault == Some(Fault::EmptyMidSession) {
            *dead = true;
            return Ok(batch);
        }
        let limit = 50_000usize.min(matching.len());
        let size = match fault {
            Some(Fault::ShortPage(n)) => n,
            _ => 5_000,
        };
        let take: Vec<usize> = matching[*cursor..limit.max(*cursor)].iter().take(size).copied().collect();
        let mut page: Vec<usize> = take.clone();
        if fault == Some(Fault::Duplicate) && !page.is_empty() {
            page.insert(1, page[0]);
        }
        let first = *cursor as i64 + 1;
        *cursor += take.len();
        for (k, &i) in page.iter().enumerate() {
            let index = if fault == Some(Fault::Timeout) { -1 } else { first + k as i64 };
            let count = if fault == Some(Fault::Timeout) { 0 } else { 5_000 };
            envelope(&mut batch, &self.records[i], index, count);
        }
        Ok(batch)
    }
}

fn envelope(batch: &mut BatchWriter, r: &SimRecord, index: i64, count: i64) {
    let audit = format!(
        r#"{{"CreationTime":"{}","Id":"{}","Operation":"{}","MailboxOwnerUPN":"{}","UserId":"{}"}}"#,
        r.time.format("%Y-%m-%dT%H:%M:%S"),
        r.id,
        r.operation,
        r.owner,
        r.user
    );
    batch.map(8);
    batch.key("RecordType").string("ExchangeItemAggregated");
    batch.key("CreationDate").datetime(to_dotnet_ticks(&r.time));
    batch.key("UserIds").string(&r.user);
    batch.key("Operations").string(&r.operation);
    batch.key("AuditData").string(&audit);
    batch.key("ResultIndex").int(index);
    batch.key("ResultCount").int(count);
    batch.key("Identity").string(&r.id);
}

fn tenant(start: DateTime<Utc>, spread: Duration, count: usize, prefix: &str) -> Vec<SimRecord> {
    (0..count)
        .map(|i| SimRecord {
            id: format!("{prefix}-{i:07}"),
            time: start + Duration::seconds((spread.num_seconds() * i as i64) / count.max(1) as i64),
            owner: "meganb@contoso.com".into(),
            user: "meganb@contoso.com".into(),
            operation: "MailItemsAccessed".into(),
        })
        .collect()
}

fn options(folder: &Path, start: &str, end: &str, now: &str) -> CollectorOptions {
    CollectorOptions {
        folder: folder.to_path_buf(),
        start_date: Some(at(start)),
        end_date: Some(at(end)),
        mailbox: None,
        operations: None,
        now: at(now),
        run_id: format!("run-{now}"),
        tool: "test".into(),
        host: serde_json::Value::Null,
        connection: serde_json::json!({"UserPrincipalName": "admin@contoso.com"}),
        policy: Policy { retry_delay: Duration::milliseconds(10), ..Policy::default() },
    }
}

/// Runs the collector to the end (or for `max_calls` calls, then stops it as Ctrl+C would).
fn run(collector: &mut Collector, service: &mut Service, max_calls: Option<u64>) -> Vec<Duration> {
    let mut waits = Vec::new();
    let mut calls = 0;
    loop {
        match collector.next_step() {
            Step::Done => break,
            Step::Wait(d) => waits.push(d),
            Step::Call { start, end, session_id, .. } => {
                if max_calls == Some(calls) {
                    collector.finish(true, at("2030-01-01T00:00:00Z")).unwrap();
                    return waits;
                }
                calls += 1;
                match service.call(start, end, &session_id) {
                    Ok(batch) => collector.page(&batch.buf).unwrap(),
                    Err(message) => collector.failed(&message).unwrap(),
                }
            }
        }
    }
    collector.finish(false, at("2030-01-01T00:00:00Z")).unwrap();
    waits
}

/// Every record id in the folder's listed files, and how many lines they hold.
fn collected(folder: &Path) -> (BTreeSet<String>, usize) {
    let manifest = Manifest::load(folder).unwrap().unwrap();
    let mut ids = BTreeSet::new();
    let mut lines = 0;
    for file in &manifest.files {
        let reader = std::io::BufReader::new(flate2::read::MultiGzDecoder::new(fs::File::open(folder.join(&file.name)).unwrap()));
        for line in reader.lines() {
            let value: serde_json::Value = serde_json::from_str(&line.unwrap()).unwrap();
            ids.insert(value["Identity"].as_str().unwrap().to_string());
            lines += 1;
        }
    }
    (ids, lines)
}

fn ids(records: &[SimRecord]) -> BTreeSet<String> {
    records.iter().map(|r| r.id.clone()).collect()
}

#[test]
fn bursts_beyond_a_call_and_a_session_are_collected_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let start = at("2024-03-01T00:00:00Z");
    let mut records = tenant(start, Duration::days(2), 400, "sparse");
    // More than 5,000 in one minute, and more than 50,000 in one hour.
    records.extend(tenant(start + Duration::hours(5), Duration::minutes(1), 6_000, "minute"));
    records.extend(tenant(start + Duration::hours(30), Duration::hours(1), 61_000, "hour"));
    let mut service = Service::new(records.clone());
    let mut collector =
        Collector::open(options(dir.path(), "2024-03-01T00:00:00Z", "2024-03-03T00:00:00Z", "2024-04-01T00:00:00Z")).unwrap();
    run(&mut collector, &mut service, None);
    let (found, lines) = collected(dir.path());
    assert_eq!(lines, records.len(), "each record written once");
    assert_eq!(found, ids(&records));
    let manifest = Manifest::load(dir.path()).unwrap().unwrap();
    assert!(
        manifest.complete && manifest.settled,
        "{:?}",
        manifest.windows.iter().filter(|w| w.status != WindowStatus::Complete).collect::<Vec<_>>()
    );
    assert_eq!(manifest.record_count, records.len() as u64);
    assert_eq!(manifest.runs[0].outcome, "Completed");
    // Windows cover the period without gap or overlap, and the busy hour was split.
    for pair in manifest.windows.windows(2) {
        assert_eq!(pair[0].end, pair[1].start);
    }
    assert_eq!(manifest.windows.first().unwrap().start, write_time(&start));
    assert_eq!(manifest.windows.last().unwrap().end, write_time(&(start + Duration::days(2))));
    let in_busy_hour = manifest
        .windows
        .iter()
        .filter(|w| {
            read_time(&w.start).unwrap() >= start + Duration::hours(30) && read_time(&w.end).unwrap() <= start + Duration::hours(31)
        })
        .count();
    assert!(in_busy_hour >= 2, "the busy hour took {in_busy_hour} windows");
}

#[test]
fn faults_of_the_service_are_retried_and_nothing_is_lost_or_doubled() {
    let dir = tempfile::tempdir().unwrap();
    let start = at("2024-03-01T00:00:00Z");
    // Two one-hour windows of 12,000 records (pages of 5,000, 5,000, 2,000 and an empty one).
    let mut records = tenant(start, Duration::hours(1), 12_000, "a");
    records.extend(tenant(start + Duration::hours(1), Duration::hours(1), 12_000, "b"));
    let mut service = Service::new(records.clone());
    service.faults = VecDeque::from(vec![
        // The first window: an error, a timeout, an empty page after a full one.
        Some(Fault::Error("Server side error")),
        None,
        Some(Fault::Timeout),
        None,
        None,
        Some(Fault::EmptyMidSession),
        None,
        None,
        None,
        None,
        // The second: a short page before more, a duplicate (the indexes then run ahead), an error.
        Some(Fault::ShortPage(1_200)),
        None,
        Some(Fault::Duplicate),
        None,
        Some(Fault::Error("The task was canceled")),
    ]);
    let mut collector =
        Collector::open(options(dir.path(), "2024-03-01T00:00:00Z", "2024-03-01T02:00:00Z", "2024-04-01T00:00:00Z")).unwrap();
    let waits = run(&mut collector, &mut service, None);
    let (found, lines) = collected(dir.path());
    assert_eq!(found, ids(&records));
    assert_eq!(lines, records.len());
    let manifest = Manifest::load(dir.path()).unwrap().unwrap();
    assert!(manifest.complete);
    let failures: Vec<u64> = manifest.windows.iter().map(|w| w.failures).collect();
    assert_eq!(failures, [2, 3]);
    assert_eq!(manifest.windows[0].sessions, 4, "two failed, one ended after a full page, one confirmed");
    assert_eq!(waits, [10, 20, 10, 20, 40].map(Duration::milliseconds), "the wait doubles with each failure of a window");
}

#[test]
fn a_window_that_never_succeeds_is_incomplete_never_complete() {
    let dir = tempfile::tempdir().unwrap();
    let start = at("2024-03-01T00:00:00Z");
    let records = tenant(start, Duration::hours(12), 1_000, "r");
    let mut service = Service::new(records.clone());
    service.always_failing = Some((start + Duration::hours(2), start + Duration::hours(3)));
    let mut collector =
        Collector::open(options(dir.path(), "2024-03-01T00:00:00Z", "2024-03-01T12:00:00Z", "2024-04-01T00:00:00Z")).unwrap();
    run(&mut collector, &mut service, None);
    let manifest = Manifest::load(dir.path()).unwrap().unwrap();
    assert!(!manifest.complete);
    assert_eq!(manifest.runs[0].outcome, "Incomplete");
    let failed: Vec<_> = manifest.windows.iter().filter(|w| w.status != WindowStatus::Complete).collect();
    assert!(!failed.is_empty());
    for w in &failed {
        assert_eq!(w.status, WindowStatus::Incomplete);
        assert!(w.reason.as_deref().unwrap().contains("The operation could not be completed"), "{:?}", w.reason);
        assert!(read_time(&w.start).unwrap() < start + Duration::hours(3) && read_time(&w.end).unwrap() > start + Duration::hours(2));
    }
    // Everything outside the failing hour is there.
    let (found, _) = collected(dir.path());
    let outside: BTreeSet<String> = records
        .iter()
        .filter(|r| failed.iter().all(|w| r.time < read_time(&w.start).unwrap() || r.time >= read_time(&w.end).unwrap()))
        .map(|r| r.id.clone())
        .collect();
    assert!(outside.is_subset(&found));
    let input = read_collection(dir.path()).unwrap();
    assert!(input.reasons[0].contains("is incomplete"), "{:?}", input.reasons);
}

#[test]
fn an_interrupted_run_resumes_without_fetching_or_writing_twice() {
    let dir = tempfile::tempdir().unwrap();
    let start = at("2024-03-01T00:00:00Z");
    let mut records = tenant(start, Duration::days(3), 3_000, "r");
    records.extend(tenant(start + Duration::hours(40), Duration::minutes(30), 12_000, "busy"));
    let mut service = Service::new(records.clone());
    let mut first = Collector::open(options(dir.path(), "2024-03-01T00:00:00Z", "2024-03-04T00:00:00Z", "2024-04-01T00:00:00Z")).unwrap();
    run(&mut first, &mut service, Some(9));
    drop(first);
    let manifest = Manifest::load(dir.path()).unwrap().unwrap();
    assert!(!manifest.complete);
    assert_eq!(manifest.runs[0].outcome, "Stopped");
    let done_before: Vec<Window> = manifest.windows.iter().filter(|w| w.status == WindowStatus::Complete).cloned().collect();
    assert!(!done_before.is_empty());
    let hashes_before: Vec<String> = manifest.files.iter().map(|f| f.sha256.clone()).collect();
    assert!(read_collection(dir.path()).unwrap().reasons[0].contains("incomplete"));

    // A staged window left by a crash is removed on the next run.
    fs::write(dir.path().join("records/.staging.jsonl.gz"), b"half a window").unwrap();
    let calls_before = service.calls;
    let mut resume = options(dir.path(), "2024-03-01T00:00:00Z", "2024-03-04T00:00:00Z", "2024-04-01T01:00:00Z");
    resume.start_date = None;
    resume.end_date = None;
    let mut second = Collector::open(resume).unwrap();
    let notes = second.take_notes();
    assert!(notes.iter().any(|n| n.contains("Removed records/.staging.jsonl.gz")), "{notes:?}");
    assert!(notes.iter().any(|n| n.starts_with("Resuming")), "{notes:?}");
    let mut fetched = Vec::new();
    loop {
        match second.next_step() {
            Step::Done => break,
            Step::Wait(_) => {}
            Step::Call { start, end, session_id, .. } => {
                fetched.push((start, end));
                match service.call(start, end, &session_id) {
                    Ok(batch) => second.page(&batch.buf).unwrap(),
                    Err(m) => second.failed(&m).unwrap(),
                }
            }
        }
    }
    second.finish(false, at("2024-04-01T02:00:00Z")).unwrap();
    for w in &done_before {
        let (s, e) = (read_time(&w.start).unwrap(), read_time(&w.end).unwrap());
        assert!(fetched.iter().all(|(fs, fe)| *fe <= s || *fs >= e), "complete window {} to {} was fetched again", w.start, w.end);
    }
    assert!(service.calls > calls_before);
    let (found, lines) = collected(dir.path());
    assert_eq!(found, ids(&records));
    assert_eq!(lines, records.len());
    let manifest = Manifest::load(dir.path()).unwrap().unwrap();
    assert!(manifest.complete);
    assert_eq!(manifest.runs.len(), 2);
    assert_eq!(
        manifest.files.iter().take(hashes_before.len()).map(|f| f.sha256.clone()).collect::<Vec<_>>(),
        hashes_before,
        "files written before are never rewritten"
    );
    assert!(read_collection(dir.path()).unwrap().reasons.is_empty());
}

#[test]
fn the_last_day_is_fetched_again_and_only_late_records_are_added() {
    let dir = tempfile::tempdir().unwrap();
    let start = at("2024-03-01T00:00:00Z");
    let records = tenant(start, Duration::days(3), 900, "r");
    let mut service = Service::new(records.clone());
    // Collected one hour after the period's end.
    let mut first = Collector::open(options(dir.path(), "2024-03-01T00:00:00Z", "2024-03-04T00:00:00Z", "2024-03-04T01:00:00Z")).unwrap();
    run(&mut first, &mut service, None);
    let manifest = Manifest::load(dir.path()).unwrap().unwrap();
    assert!(manifest.complete && !manifest.settled);
    let input = read_collection(dir.path()).unwrap();
    assert_eq!(input.reasons.len(), 1);
    assert!(input.reasons[0].contains("less than a day"), "{}", input.reasons[0]);
    let before = manifest.files.clone();

    // A record of the last day arrives late; the next run finds it and writes only it.
    let late = SimRecord { id: "late-1".into(), time: at("2024-03-03T20:00:00Z"), ..records[0].clone() };
    service.records.push(late.clone());
    let calls_before = service.calls;
    let mut resume = options(dir.path(), "2024-03-01T00:00:00Z", "2024-03-04T00:00:00Z", "2024-03-06T00:00:00Z");
    resume.start_date = None;
    let mut second = Collector::open(resume).unwrap();
    run(&mut second, &mut service, None);
    let manifest = Manifest::load(dir.path()).unwrap().unwrap();
    assert!(manifest.complete && manifest.settled);
    assert_eq!(&manifest.files[..before.len()], &before[..]);
    assert_eq!(manifest.files.len(), before.len() + 1);
    assert_eq!(manifest.files.last().unwrap().records, 1);
    let (found, lines) = collected(dir.path());
    assert_eq!(lines, records.len() + 1);
    assert!(found.contains("late-1"));
    // Only the windows within a day of the first fetch were fetched again.
    let again = service.calls - calls_before;
    assert!(again < calls_before, "{again} calls again, {calls_before} the first time");
    assert!(read_collection(dir.path()).unwrap().reasons.is_empty());
}

#[test]
fn with_mailbox_delegate_and_application_reads_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let start = at("2024-03-01T00:00:00Z");
    let base = SimRecord {
        id: String::new(),
        time: start,
        owner: "meganb@contoso.com".into(),
        user: "meganb@contoso.com".into(),
        operation: "MailItemsAccessed".into(),
    };
    let records = vec![
        SimRecord { id: "owner".into(), ..base.clone() },
        SimRecord { id: "delegate".into(), user: "adele@contoso.com".into(), ..base.clone() },
        SimRecord { id: "app".into(), user: "d3590ed6-52b3-4102-aeff-aad2292ab01c".into(), ..base.clone() },
        SimRecord { id: "other".into(), owner: "adele@contoso.com".into(), user: "adele@contoso.com".into(), ..base.clone() },
    ];
    let mut service = Service::new(records);
    let mut o = options(dir.path(), "2024-03-01T00:00:00Z", "2024-03-02T00:00:00Z", "2024-04-01T00:00:00Z");
    o.mailbox = Some(vec!["MeganB@contoso.com".into()]);
    let mut collector = Collector::open(o).unwrap();
    run(&mut collector, &mut service, None);
    let (found, _) = collected(dir.path());
    assert_eq!(found, ["app", "delegate", "owner"].iter().map(|s| s.to_string()).collect());
    let manifest = Manifest::load(dir.path()).unwrap().unwrap();
    assert_eq!(manifest.windows.iter().map(|w| w.other_mailboxes).sum::<u64>(), 1);
}

#[test]
fn a_folder_of_other_parameters_or_other_files_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut service = Service::new(Vec::new());
    let mut collector =
        Collector::open(options(dir.path(), "2024-03-01T00:00:00Z", "2024-03-02T00:00:00Z", "2024-04-01T00:00:00Z")).unwrap();
    run(&mut collector, &mut service, None);
    let err = Collector::open(options(dir.path(), "2024-03-01T00:00:00Z", "2024-03-03T00:00:00Z", "2024-04-01T00:00:00Z")).err().unwrap();
    assert!(err.contains("EndDate"), "{err}");
    let mut o = options(dir.path(), "2024-03-01T00:00:00Z", "2024-03-02T00:00:00Z", "2024-04-01T00:00:00Z");
    o.operations = Some(vec!["Send".into()]);
    assert!(Collector::open(o).err().unwrap().contains("Operations"));

    let other = tempfile::tempdir().unwrap();
    fs::write(other.path().join("notes.txt"), b"mine").unwrap();
    let err = Collector::open(options(other.path(), "2024-03-01T00:00:00Z", "2024-03-02T00:00:00Z", "2024-04-01T00:00:00Z")).err().unwrap();
    assert!(err.contains("holds files but no collection"), "{err}");
    let mut o = options(dir.path(), "2024-03-01T00:00:00Z", "2024-03-02T00:00:00Z", "2024-04-01T00:00:00Z");
    o.folder = tempfile::tempdir().unwrap().path().join("new");
    o.start_date = None;
    assert!(Collector::open(o).err().unwrap().contains("-StartDate and -EndDate are needed"));
}

#[test]
fn a_changed_records_file_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let start = at("2024-03-01T00:00:00Z");
    let mut service = Service::new(tenant(start, Duration::hours(2), 10, "r"));
    let mut collector =
        Collector::open(options(dir.path(), "2024-03-01T00:00:00Z", "2024-03-01T02:00:00Z", "2024-04-01T00:00:00Z")).unwrap();
    run(&mut collector, &mut service, None);
    let manifest = Manifest::load(dir.path()).unwrap().unwrap();
    let path = dir.path().join(&manifest.files[0].name);
    let mut bytes = fs::read(&path).unwrap();
    bytes.push(0);
    fs::write(&path, bytes).unwrap();
    let input = read_collection(dir.path()).unwrap();
    assert!(input.reasons.iter().any(|r| r.contains("does not match the SHA-256")), "{:?}", input.reasons);
    assert_eq!(input.files.len(), manifest.files.len());
    assert!(read_collection(&dir.path().join("records")).unwrap_err().contains("holds no collection"));
}

#[test]
fn the_period_is_taken_outwards_to_whole_seconds() {
    let dir = tempfile::tempdir().unwrap();
    let mut service = Service::new(Vec::new());
    let o = options(dir.path(), "2024-03-01T00:00:00.4Z", "2024-03-01T01:00:00.2Z", "2024-04-01T00:00:00Z");
    let mut collector = Collector::open(o).unwrap();
    assert_eq!(collector.parameters().start_date, write_time(&at("2024-03-01T00:00:00Z")));
    assert_eq!(collector.parameters().end_date, write_time(&at("2024-03-01T01:00:01Z")));
    run(&mut collector, &mut service, None);
    // The same dates given again are the folder's.
    let again = Collector::open(options(dir.path(), "2024-03-01T00:00:00.4Z", "2024-03-01T01:00:00.2Z", "2024-04-02T00:00:00Z"));
    assert!(again.is_ok(), "{:?}", again.err());
}
