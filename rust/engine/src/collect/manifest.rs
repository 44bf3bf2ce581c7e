//! The manifest of a collection folder (`manifest.json`): what was asked, what was fetched,
//! window by window, which files hold the records (with their SHA-256), and each run.
//!
//! It is the folder's one source of truth: a records file the manifest does not list is not
//! part of the collection. It is written whole to a temporary file and renamed over the old
//! one, so an interrupted run leaves the last consistent manifest, never half of one.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::time::{format_iso, parse_timestamp, DateOrder};

/// The manifest's file name in a collection folder.
pub const MANIFEST_NAME: &str = "manifest.json";
/// The folder (inside the collection) that holds the records files.
pub const RECORDS_FOLDER: &str = "records";
/// What the `Format` field says: tells a collection's manifest from any other JSON.
pub const FORMAT: &str = "MailAccessForensics.Collection";
pub const FORMAT_VERSION: u32 = 1;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum WindowStatus {
    /// Fetched to the end of its last session.
    Complete,
    /// Fetched, but not all of it could be: the reason says why.
    Incomplete,
    /// Not fetched yet (or to be fetched again).
    Pending,
}

/// One time window of the period, and how its fetching went (counts are over every run).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Window {
    pub start: String,
    pub end: String,
    pub status: WindowStatus,
    /// Why the window is not complete; None when it is.
    pub reason: Option<String>,
    /// Search-UnifiedAuditLog calls made for it.
    pub calls: u64,
    /// Sessions started for it (a new one after each failure, and to confirm an end).
    pub sessions: u64,
    /// Sessions that failed (and were retried or given up).
    pub failures: u64,
    /// Records the service returned for it, copies included.
    pub returned: u64,
    /// Records written for it: new ones only (each record is written once in the folder).
    pub written: u64,
    /// Records returned again (the same record id), not written again.
    pub duplicates: u64,
    /// Records of other mailboxes, not written (with -Mailbox).
    pub other_mailboxes: u64,
    /// When the run that last completed it started (for the late-delivery rule).
    pub fetched_at: Option<String>,
}

/// A records file: gzip-compressed JSON Lines of the records as the service returned them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RecordsFile {
    /// Relative to the collection folder, with forward slashes.
    pub name: String,
    pub records: u64,
    pub bytes: u64,
    /// Of the file's bytes (compressed), lower-case hex.
    pub sha256: String,
    pub window_start: String,
    pub window_end: String,
    pub written_at: String,
}

/// What was asked for; the same on every run of one folder.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Parameters {
    pub start_date: String,
    pub end_date: String,
    /// Mailboxes (MailboxOwnerUPN) whose records are kept; empty for every mailbox.
    pub mailbox: Vec<String>,
    pub operations: Vec<String>,
    /// How the service is queried, in words.
    pub query: String,
}

/// One run of Save-MailAccessAuditLog on the folder.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Run {
    pub started_at: String,
    pub ended_at: Option<String>,
    /// Running, Completed, Incomplete, Stopped (Ctrl+C) or Failed.
    pub outcome: String,
    pub tool: String,
    /// The Exchange Online connection (Get-ConnectionInformation), as the caller gave it.
    pub connection: serde_json::Value,
    pub host: serde_json::Value,
    pub calls: u64,
    pub records_written: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Manifest {
    pub format: String,
    pub format_version: u32,
    pub parameters: Parameters,
    /// Every window complete.
    pub complete: bool,
    /// Every window ended at least a day before it was fetched: the service delivers some
    /// records hours late, so a window fetched sooner may still gain records.
    pub settled: bool,
    pub record_count: u64,
    pub windows: Vec<Window>,
    pub files: Vec<RecordsFile>,
    /// The last audit configuration check of each mailbox, as the caller made it.
    pub audit_configuration: Vec<serde_json::Value>,
    pub runs: Vec<Run>,
}

impl Manifest {
    pub fn path(folder: &Path) -> PathBuf {
        folder.join(MANIFEST_NAME)
    }

    /// Reads a folder's manifest: Ok(None) when the folder has none.
    pub fn load(folder: &Path) -> Result<Option<Manifest>, String> {
        let path = Manifest::path(folder);
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("{}: {e}", path.display())),
        };
        let manifest: Manifest = serde_json::from_str(&text)
            .map_err(|e| format!("{} is not the manifest of a collection (or it is damaged): {e}", path.display()))?;
        if manifest.format != FORMAT {
            return Err(format!("{} is not the manifest of a collection (Format is '{}')", path.display(), manifest.format));
        }
        if manifest.format_version > FORMAT_VERSION {
            return Err(format!(
                "{} was written by a newer version of MailAccessForensics (format {}; this version reads {})",
                path.display(),
                manifest.format_version,
                FORMAT_VERSION
            ));
        }
        Ok(Some(manifest))
    }

    /// Writes the manifest in place of the old one, atomically.
    pub fn save(&self, folder: &Path) -> Result<(), String> {
        let mut text = serde_json::to_string_pretty(self).map_err(|e| e.to_string())?;
        text.push('\n');
        write_atomically(&Manifest::path(folder), text.as_bytes())
    }

    /// Complete, settled and the record count, from the windows and files.
    pub fn refresh_totals(&mut self, settle: chrono::Duration) {
        self.record_count = self.files.iter().map(|f| f.records).sum();
        self.complete = !self.windows.is_empty() && self.windows.iter().all(|w| w.status == WindowStatus::Complete);
        self.settled = self.windows.iter().all(|w| is_settled(w, settle));
    }
}

/// A window that ended at least `settle` before it was fetched will gain no late records.
pub fn is_settled(window: &Window, settle: chrono::Duration) -> bool {
    match (read_time(&window.end), window.fetched_at.as_deref().and_then(read_time)) {
        (Some(end), Some(fetched)) => end + settle <= fetched,
        _ => false,
    }
}

pub fn write_time(time: &DateTime<Utc>) -> String {
    format_iso(time)
}

pub fn read_time(text: &str) -> Option<DateTime<Utc>> {
    parse_timestamp(text, DateOrder::MonthFirst).ok()
}

/// Writes `bytes` to a temporary file beside `path`, flushes it to disk and renames it over
/// `path`: readers see the old file or the new one, whole.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let temporary = path.with_file_name(format!(".{name}.tmp"));
    let fail = |e: std::io::Error| format!("{}: {e}", path.display());
    {
        let mut file = fs::File::create(&temporary).map_err(fail)?;
        file.write_all(bytes).map_err(fail)?;
        file.sync_all().map_err(fail)?;
    }
    fs::rename(&temporary, path).map_err(fail)?;
    sync_folder(path.parent());
    Ok(())
}

/// Makes a rename durable (POSIX needs the folder flushed; Windows has no such call).
pub fn sync_folder(folder: Option<&Path>) {
    #[cfg(unix)]
    if let Some(folder) = folder {
        if let Ok(handle) = fs::File::open(folder) {
            let _ = handle.sync_all();
        }
    }
    #[cfg(not(unix))]
    let _ = folder;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(end: &str, fetched: Option<&str>) -> Window {
        Window {
            start: "2024-03-01T00:00:00Z".into(),
            end: end.into(),
            status: WindowStatus::Complete,
            reason: None,
            calls: 0,
            sessions: 0,
            failures: 0,
            returned: 0,
            written: 0,
            duplicates: 0,
            other_mailboxes: 0,
            fetched_at: fetched.map(str::to_string),
        }
    }

    #[test]
    fn a_window_settles_a_day_after_its_end() {
        let day = chrono::Duration::hours(24);
        assert!(is_settled(&window("2024-03-02T00:00:00Z", Some("2024-03-03T00:00:00Z")), day));
        assert!(!is_settled(&window("2024-03-02T00:00:00Z", Some("2024-03-02T23:59:59Z")), day));
        assert!(!is_settled(&window("2024-03-02T00:00:00Z", None), day));
    }

    #[test]
    fn the_manifest_is_replaced_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.json");
        write_atomically(&path, b"one").unwrap();
        write_atomically(&path, b"two").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names.len(), 1, "no temporary file is left: {names:?}");
    }

    #[test]
    fn other_json_is_not_a_manifest() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Manifest::load(dir.path()), Ok(None));
        fs::write(dir.path().join(MANIFEST_NAME), r#"{"Operation":"MailItemsAccessed"}"#).unwrap();
        assert!(Manifest::load(dir.path()).unwrap_err().contains("is not the manifest of a collection"));
    }
}
