//! Collecting every record of a period into a folder (Save-MailAccessAuditLog), and reading
//! such a folder back as input.
//!
//! A collection folder holds `manifest.json` ([`manifest`]) and `records/*.jsonl.gz`
//! ([`records`]). The [`Collector`] drives the fetching ([`plan`]): the caller (the shim) runs
//! each call it asks for and hands back what came, or the error; the collector checks the
//! pages, writes the records and keeps the manifest. Nothing here calls the service, sleeps or
//! reads the clock, so all of it is tested without one.

pub mod manifest;
pub mod plan;
pub mod records;

use std::fs;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, Utc};

pub use manifest::{Manifest, Parameters, RecordsFile, Run, Window, WindowStatus, MANIFEST_NAME};
pub use plan::{Policy, Step};
use records::{page_facts, read_page, Disposition, MailboxFilter, RecordsStore};

use crate::completeness::group;
use manifest::{is_settled, read_time, write_time, FORMAT, FORMAT_VERSION};

/// The operation every collection holds.
pub const MAIL_ITEMS_ACCESSED: &str = "MailItemsAccessed";

/// How long after a window's end the service may still deliver records into it: Exchange
/// events usually arrive within 90 minutes, with no promise, and later ones are on record.
pub fn settle_time() -> Duration {
    Duration::hours(24)
}

/// What the caller asks for. Parameters left None on a folder that holds a collection are
/// taken from its manifest (a re-run resumes); given ones must match it.
pub struct CollectorOptions {
    pub folder: PathBuf,
    pub start_date: Option<DateTime<Utc>>,
    pub end_date: Option<DateTime<Utc>>,
    pub mailbox: Option<Vec<String>>,
    /// Operations besides MailItemsAccessed.
    pub operations: Option<Vec<String>>,
    /// When the run starts (a window completed by this run was fetched at this time).
    pub now: DateTime<Utc>,
    /// Unique to the run: session ids are made from it.
    pub run_id: String,
    pub tool: String,
    pub host: serde_json::Value,
    pub connection: serde_json::Value,
    pub policy: Policy,
}

/// Fetches a period into a collection folder, call by call.
pub struct Collector {
    folder: PathBuf,
    plan: plan::Plan,
    store: RecordsStore,
    filter: MailboxFilter,
    manifest: Manifest,
    now: DateTime<Utc>,
    notes: Vec<String>,
    finished: bool,
}

impl Collector {
    /// Opens (or starts) the collection in `options.folder`.
    pub fn open(options: CollectorOptions) -> Result<Collector, String> {
        let folder = options.folder.clone();
        let existing = Manifest::load(&folder)?;
        if existing.is_none() {
            refuse_foreign_folder(&folder)?;
        }
        let parameters = reconcile(&options, existing.as_ref().map(|m| &m.parameters))?;
        let start = read_time(&parameters.start_date).ok_or("the collection's StartDate is not a time")?;
        let end = read_time(&parameters.end_date).ok_or("the collection's EndDate is not a time")?;
        fs::create_dir_all(&folder).map_err(|e| format!("{}: {e}", folder.display()))?;
        let mut manifest = existing.unwrap_or_else(|| Manifest {
            format: FORMAT.to_string(),
            format_version: FORMAT_VERSION,
            parameters: parameters.clone(),
            complete: false,
            settled: false,
            record_count: 0,
            windows: Vec::new(),
            files: Vec::new(),
            audit_configuration: Vec::new(),
            runs: Vec::new(),
        });
        let mut notes = Vec::new();
        // A file the manifest lists but that is gone cannot be written again from here: say so.
        for file in &manifest.files {
            if !folder.join(&file.name).is_file() {
                return Err(format!(
                    "{} is listed in the collection's manifest but missing: the folder was changed; collect into a new folder",
                    folder.join(&file.name).display()
                ));
            }
        }
        let (store, removed) = RecordsStore::open(&folder, &manifest.files)?;
        for name in removed {
            notes.push(format!("Removed {name}, left unlisted by an interrupted run."));
        }
        if !manifest.runs.is_empty() {
            let settled = manifest.windows.iter().filter(|w| w.status == WindowStatus::Complete && is_settled(w, settle_time())).count();
            notes.push(format!(
                "Resuming the collection in {}: {} records in {} files; {} of {} windows complete and settled are not fetched again.",
                folder.display(),
                group(store.written_ids() as u64),
                manifest.files.len(),
                settled,
                manifest.windows.len()
            ));
        }
        for run in manifest.runs.iter_mut().filter(|r| r.outcome == "Running") {
            run.outcome = "Interrupted".to_string();
        }
        manifest.runs.push(Run {
            started_at: write_time(&options.now),
            ended_at: None,
            outcome: "Running".to_string(),
            tool: options.tool.clone(),
            connection: options.connection.clone(),
            host: options.host.clone(),
            calls: 0,
            records_written: 0,
        });
        let plan = plan::Plan::new(options.policy, start, end, options.now, options.run_id, manifest.windows.clone(), settle_time());
        manifest.windows = plan.windows().to_vec();
        manifest.refresh_totals(settle_time());
        manifest.save(&folder)?;
        Ok(Collector {
            folder,
            plan,
            store,
            filter: MailboxFilter::new(&parameters.mailbox),
            manifest,
            now: options.now,
            notes,
            finished: false,
        })
    }

    pub fn folder(&self) -> &Path {
        &self.folder
    }

    pub fn parameters(&self) -> &Parameters {
        &self.manifest.parameters
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Records the audit configuration checks (one value per mailbox) in the manifest.
    pub fn set_audit_configuration(&mut self, checks: Vec<serde_json::Value>) -> Result<(), String> {
        self.manifest.audit_configuration = checks;
        self.save()
    }

    pub fn next_step(&mut self) -> Step {
        if self.finished {
            return Step::Done;
        }
        self.plan.next_step()
    }

    /// What happened since the last call, for -Verbose.
    pub fn take_notes(&mut self) -> Vec<String> {
        let mut notes = std::mem::take(&mut self.notes);
        notes.extend(self.plan.take_notes());
        notes
    }

    /// Windows done (complete or given up), records written by this run, and how much of
    /// the period is behind (0 to 1000).
    pub fn progress(&self) -> (u64, u64, u32) {
        let done = self.plan.windows().iter().filter(|w| w.status != WindowStatus::Pending).count() as u64;
        (done, self.current_run().records_written, self.plan.permille())
    }

    fn current_run(&self) -> &Run {
        self.manifest.runs.last().expect("the run is listed when the collector opens")
    }

    fn current_run_mut(&mut self) -> &mut Run {
        self.manifest.runs.last_mut().expect("the run is listed when the collector opens")
    }

    /// The call asked for returned these records (the object-batch encoding, one object each).
    pub fn page(&mut self, batch: &[u8]) -> Result<(), String> {
        let Some(window) = self.plan.current_window() else {
            return Err("no call was asked for".to_string());
        };
        let records = read_page(batch)?;
        let facts = page_facts(&records);
        let (mut duplicates, mut others, mut unreadable) = (0, 0, 0);
        for record in &records {
            unreadable += record.unreadable;
            match self.store.add(record, &self.filter)? {
                Disposition::Written => {}
                Disposition::Duplicate => duplicates += 1,
                Disposition::OtherMailbox => others += 1,
            }
        }
        {
            let w = self.plan.window_mut(window);
            w.duplicates += duplicates;
            w.other_mailboxes += others;
        }
        self.current_run_mut().calls += 1;
        self.notes.push(format!(
            "Window {}: page of {} records{}{}.",
            window + 1,
            group(facts.records),
            match facts.indexes {
                Some((low, high, _)) if facts.records > 0 => format!(" (ResultIndex {low} to {high})"),
                _ => String::new(),
            },
            if duplicates + others > 0 {
                format!(", {} already written, {} of other mailboxes", group(duplicates), group(others))
            } else {
                String::new()
            }
        ));
        if unreadable > 0 {
            self.notes.push(format!(
                "Window {}: {} values of the page could not be read and were written as null.",
                window + 1,
                group(unreadable)
            ));
        }
        let outcome = self.plan.page(&facts);
        self.settle(window, outcome)
    }

    /// The call asked for failed.
    pub fn failed(&mut self, message: &str) -> Result<(), String> {
        let Some(window) = self.plan.current_window() else {
            return Err("no call was asked for".to_string());
        };
        self.current_run_mut().calls += 1;
        let outcome = self.plan.failed(message);
        self.settle(window, outcome)
    }

    fn settle(&mut self, window: usize, outcome: plan::Outcome) -> Result<(), String> {
        match outcome {
            plan::Outcome::Continue => return Ok(()),
            plan::Outcome::Split => self.store.discard(),
            plan::Outcome::Complete | plan::Outcome::GiveUp => {
                let (start, end) = {
                    let w = &self.plan.windows()[window];
                    (w.start.clone(), w.end.clone())
                };
                if let Some(file) = self.store.commit(&start, &end, self.now)? {
                    self.plan.window_mut(window).written += file.records;
                    self.current_run_mut().records_written += file.records;
                    self.manifest.files.push(file);
                }
            }
        }
        self.save()
    }

    fn save(&mut self) -> Result<(), String> {
        self.manifest.windows = self.plan.windows().to_vec();
        self.manifest.refresh_totals(settle_time());
        self.manifest.save(&self.folder)
    }

    /// Ends the run and writes the manifest for the last time. `stopped`: the user stopped it
    /// (Ctrl+C); the window being fetched is dropped and stays pending.
    pub fn finish(&mut self, stopped: bool, ended: DateTime<Utc>) -> Result<(), String> {
        if self.finished {
            return Ok(());
        }
        self.finished = true;
        self.store.discard();
        let ended_early = self.plan.has_work();
        if stopped {
            self.plan.stop("not fetched: the run was stopped; run Save-MailAccessAuditLog on the folder again to resume".to_string());
        } else if ended_early {
            self.plan.stop("not fetched: the run ended before it; run Save-MailAccessAuditLog on the folder again to resume".to_string());
        }
        self.manifest.windows = self.plan.windows().to_vec();
        self.manifest.refresh_totals(settle_time());
        let outcome = if stopped {
            "Stopped"
        } else if self.manifest.complete {
            "Completed"
        } else {
            "Incomplete"
        };
        let run = self.current_run_mut();
        run.outcome = outcome.to_string();
        run.ended_at = Some(write_time(&ended));
        self.manifest.save(&self.folder)
    }
}

/// A folder without a manifest must be empty (or new): the collector removes files it does
/// not list, and must never do so among someone else's.
fn refuse_foreign_folder(folder: &Path) -> Result<(), String> {
    match fs::read_dir(folder) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(format!(
                    "{} holds files but no collection ({} is missing): collect into a new or empty folder",
                    folder.display(),
                    MANIFEST_NAME
                ));
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) if folder.is_file() => Err(format!("{} is a file, not a folder: {e}", folder.display())),
        Err(e) => Err(format!("{}: {e}", folder.display())),
    }
}

/// The parameters of the run: those given, checked against the folder's.
fn reconcile(options: &CollectorOptions, existing: Option<&Parameters>) -> Result<Parameters, String> {
    let mut operations = vec![MAIL_ITEMS_ACCESSED.to_string()];
    for op in options.operations.iter().flatten() {
        let op = op.trim();
        if !op.is_empty() && !operations.iter().any(|o| o.eq_ignore_ascii_case(op)) {
            operations.push(op.to_string());
        }
    }
    let mut mailbox: Vec<String> = Vec::new();
    for m in options.mailbox.iter().flatten() {
        let m = m.trim();
        if !m.is_empty() && !mailbox.iter().any(|x| x.eq_ignore_ascii_case(m)) {
            mailbox.push(m.to_string());
        }
    }
    let Some(existing) = existing else {
        let (Some(start), Some(end)) = (options.start_date, options.end_date) else {
            return Err("-StartDate and -EndDate are needed to start a collection (in a folder without one)".to_string());
        };
        // Whole seconds, outwards: the service's dates go to the second.
        let start = whole_second(start, false);
        let end = whole_second(end, true);
        if start >= end {
            return Err(format!("-StartDate ({}) must be before -EndDate ({})", write_time(&start), write_time(&end)));
        }
        return Ok(Parameters {
            start_date: write_time(&start),
            end_date: write_time(&end),
            mailbox,
            operations,
            query: query_description(),
        });
    };
    let differs = |what: &str, given: String, held: &str| {
        format!(
            "{} holds a collection with {what} {held}, not {given}: leave -{what} out to resume it, or collect into another folder",
            options.folder.display()
        )
    };
    let given_dates = [
        ("StartDate", options.start_date.map(|t| whole_second(t, false)), &existing.start_date),
        ("EndDate", options.end_date.map(|t| whole_second(t, true)), &existing.end_date),
    ];
    for (what, given, held) in given_dates {
        if let Some(given) = given {
            if read_time(held) != Some(given) {
                return Err(differs(what, write_time(&given), held));
            }
        }
    }
    let same_set = |a: &[String], b: &[String]| {
        let fold = |v: &[String]| {
            let mut v: Vec<String> = v.iter().map(|s| s.to_lowercase()).collect();
            v.sort();
            v
        };
        fold(a) == fold(b)
    };
    if options.mailbox.is_some() && !same_set(&mailbox, &existing.mailbox) {
        return Err(differs("Mailbox", mailbox.join(", "), &existing.mailbox.join(", ")));
    }
    if options.operations.is_some() && !same_set(&operations, &existing.operations) {
        return Err(differs("Operations", operations.join(", "), &existing.operations.join(", ")));
    }
    Ok(existing.clone())
}

/// The time at a whole second: the one before it, or (`up`) the one after it.
fn whole_second(time: DateTime<Utc>, up: bool) -> DateTime<Utc> {
    use chrono::Timelike;
    let down = time.with_nanosecond(0).unwrap_or(time);
    if up && down < time {
        down + Duration::seconds(1)
    } else {
        down
    }
}

fn query_description() -> String {
    "Search-UnifiedAuditLog -StartDate <window start> -EndDate <window end + 1 s> -Operations <Operations> \
     -SessionCommand ReturnLargeSet -SessionId <new for each session> -ResultSize 5000, without -UserIds (it \
     matches the acting account, not the mailbox read); with -Mailbox, the records kept are those whose \
     MailboxOwnerUPN, UserId or ObjectId is one of the mailboxes"
        .to_string()
}

/// A collection folder read as input: its records files, and why it may be incomplete.
#[derive(Debug)]
pub struct CollectionInput {
    pub manifest: Manifest,
    /// The records files to read, in order, each with the number of records its manifest lists.
    pub files: Vec<(PathBuf, u64)>,
    /// One sentence each.
    pub reasons: Vec<String>,
}

/// Reads a collection folder's manifest and checks its files (present, and the hash the
/// manifest records). Err when the folder holds no collection.
pub fn read_collection(folder: &Path) -> Result<CollectionInput, String> {
    let manifest =
        Manifest::load(folder)?.ok_or_else(|| format!("{} holds no collection ({} is missing)", folder.display(), MANIFEST_NAME))?;
    let shown = folder.display().to_string();
    let mut reasons = Vec::new();
    let not_complete: Vec<&Window> = manifest.windows.iter().filter(|w| w.status != WindowStatus::Complete).collect();
    if manifest.windows.is_empty() {
        reasons.push(format!("The collection in {shown} has fetched nothing yet: run Save-MailAccessAuditLog -Path {shown}."));
    } else if !not_complete.is_empty() {
        let listed: Vec<String> = not_complete
            .iter()
            .take(3)
            .map(|w| format!("{} to {}: {}", w.start, w.end, w.reason.as_deref().unwrap_or("not fetched")))
            .collect();
        let more = if not_complete.len() > 3 { format!("; and {} more", not_complete.len() - 3) } else { String::new() };
        reasons.push(format!(
            "The collection in {shown} is incomplete: {} of its {} windows were not fetched completely ({}{more}); run Save-MailAccessAuditLog -Path {shown} again to fetch them.",
            not_complete.len(),
            manifest.windows.len(),
            listed.join("; ")
        ));
    }
    if let Some(first) = manifest.windows.iter().find(|w| w.status == WindowStatus::Complete && !is_settled(w, settle_time())) {
        let fetched = first.fetched_at.as_deref().and_then(read_time);
        let after = manifest
            .windows
            .iter()
            .filter_map(|w| read_time(&w.end))
            .max()
            .map(|end| write_time(&(end + settle_time())))
            .unwrap_or_default();
        reasons.push(format!(
            "The collection in {shown} was fetched less than a day after the end of its windows from {} (fetched {}): the service delivers some records hours late, so these windows may still lack records; run Save-MailAccessAuditLog -Path {shown} again after {after}.",
            first.start,
            fetched.map(|f| write_time(&f)).unwrap_or_else(|| "at an unknown time".to_string()),
        ));
    }
    let mut files = Vec::new();
    for file in &manifest.files {
        let path = folder.join(&file.name);
        match records::hash_file(&path) {
            Err(e) => reasons.push(format!(
                "{} is listed in the collection's manifest but cannot be read ({e}): its {} records are missing.",
                path.display(),
                group(file.records)
            )),
            Ok((sha256, _)) => {
                if sha256 != file.sha256 {
                    reasons.push(format!(
                        "{} does not match the SHA-256 its collection's manifest records: it was changed or damaged after it was written.",
                        path.display()
                    ));
                }
                files.push((path, file.records));
            }
        }
    }
    Ok(CollectionInput { manifest, files, reasons })
}

#[cfg(test)]
mod tests;
