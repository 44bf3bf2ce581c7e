//! Hosts the real .NET runtime (netcorehost), loads the built shim assembly and asks
//! `MailAccessForensics.Diagnostics.AbiSelfCheck` what the C# side believes about the C ABI:
//!
//! - the size and every field's offset and size of every struct in NativeMethods.g.cs, and the
//!   generated constants and enum values, compared with what rustc laid out for
//!   `maf_native::abi`;
//! - one JSON record ingested through the native library by the shim's own code
//!   (SessionHandle, maf_session_parse_objects + maf_session_accept, NativeResults.TakeBatch), compared with the
//!   values the record holds.
//!
//! Needs `MAF_SHIM_ASSEMBLY` (the net8.0 MailAccessForensics.dll; build.ps1 Test sets it) and
//! a .NET runtime 8 or later (found from `DOTNET_ROOT` or the `dotnet` on PATH). The native
//! library comes from `MAILACCESSFORENSICS_NATIVE_LIBRARY`, else from this build's target
//! folder (`cargo build -p maf-native`).

use std::collections::{BTreeMap, BTreeSet};
use std::mem::{offset_of, size_of, MaybeUninit};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use maf_native::abi::*;
use netcorehost::hostfxr::Hostfxr;
use netcorehost::pdcstr;
use netcorehost::pdcstring::PdCString;
use serde_json::{json, Value};

const SHIM_VARIABLE: &str = "MAF_SHIM_ASSEMBLY";
const NATIVE_VARIABLE: &str = "MAILACCESSFORENSICS_NATIVE_LIBRARY";
const SELF_CHECK_TYPE: &str = "MailAccessForensics.Diagnostics.AbiSelfCheck, MailAccessForensics";

type LayoutsFn = extern "system" fn(*mut u8, i32) -> i32;
type IngestFn = extern "system" fn(*const u8, i32, *const u8, i32, *mut u8, i32) -> i32;

/// The shim's self-check entry points, loaded once per test process (a process hosts one
/// runtime).
struct Shim {
    layouts: LayoutsFn,
    ingest: IngestFn,
    native_library: PathBuf,
}

fn shim() -> &'static Shim {
    static SHIM: OnceLock<Result<Shim, String>> = OnceLock::new();
    match SHIM.get_or_init(load_shim) {
        Ok(shim) => shim,
        Err(message) => panic!("{message}"),
    }
}

fn load_shim() -> Result<Shim, String> {
    let assembly = match std::env::var_os(SHIM_VARIABLE) {
        Some(path) if !path.is_empty() => PathBuf::from(path),
        _ => {
            return Err(format!(
                "{SHIM_VARIABLE} is not set: set it to the net8.0 build of the shim \
                 (dotnet-shim/bin/Release/net8.0/MailAccessForensics.dll after \
                 `dotnet build dotnet-shim/MailAccessForensics.csproj -c Release`), or run `./build.ps1 Test`"
            ))
        }
    };
    if !assembly.is_file() {
        return Err(format!(
            "{SHIM_VARIABLE} names '{}', which does not exist: build the shim first \
             (`dotnet build dotnet-shim/MailAccessForensics.csproj -c Release`)",
            assembly.display()
        ));
    }
    let assembly = assembly.canonicalize().map_err(|e| format!("{}: {e}", assembly.display()))?;
    let native_library = native_library()?;

    let dotnet_root = dotnet_root()?;
    let hostfxr_path = hostfxr_path(&dotnet_root)?;
    let hostfxr = Hostfxr::load_from_path(&hostfxr_path).map_err(|e| format!("cannot load hostfxr '{}': {e}", hostfxr_path.display()))?;

    let config_dir = std::env::temp_dir().join(format!("maf-dotnet-check-{}", std::process::id()));
    std::fs::create_dir_all(&config_dir).map_err(|e| format!("{}: {e}", config_dir.display()))?;
    let config = config_dir.join("maf-dotnet-check.runtimeconfig.json");
    // The shim targets net8.0; LatestMajor lets a machine with only a later runtime run it.
    let runtime_config = r#"{
  "runtimeOptions": {
    "tfm": "net8.0",
    "rollForward": "LatestMajor",
    "framework": { "name": "Microsoft.NETCore.App", "version": "8.0.0" }
  }
}
"#;
    std::fs::write(&config, runtime_config).map_err(|e| format!("{}: {e}", config.display()))?;

    let context = hostfxr
        .initialize_for_runtime_config_with_dotnet_root(pdc(config.as_os_str())?, pdc(dotnet_root.as_os_str())?)
        .map_err(|e| format!("hostfxr cannot start a .NET runtime (8.0 or later) from '{}': {e}", dotnet_root.display()))?;
    let loader = context
        .get_delegate_loader_for_assembly(pdc(assembly.as_os_str())?)
        .map_err(|e| format!("cannot get the runtime's delegate loader: {e}"))?;
    let type_name = PdCString::try_from(SELF_CHECK_TYPE).map_err(|e| e.to_string())?;
    let layouts = loader
        .get_function_with_unmanaged_callers_only::<fn(*mut u8, i32) -> i32>(&type_name, pdcstr!("StructLayouts"))
        .map_err(|e| format!("{SELF_CHECK_TYPE}::StructLayouts in '{}': {e}", assembly.display()))?;
    let ingest = loader
        .get_function_with_unmanaged_callers_only::<fn(*const u8, i32, *const u8, i32, *mut u8, i32) -> i32>(
            &type_name,
            pdcstr!("IngestJson"),
        )
        .map_err(|e| format!("{SELF_CHECK_TYPE}::IngestJson in '{}': {e}", assembly.display()))?;
    let shim = Shim { layouts: *layouts, ingest: *ingest, native_library };
    // The runtime stays loaded for the process; the function pointers stay valid.
    drop(context);
    let _ = std::fs::remove_dir_all(&config_dir);
    Ok(shim)
}

fn pdc(text: &std::ffi::OsStr) -> Result<PdCString, String> {
    PdCString::from_os_str(text).map_err(|e| format!("{}: {e}", text.to_string_lossy()))
}

/// `DOTNET_ROOT`, else the folder of the `dotnet` on PATH with its symlinks resolved
/// (/usr/bin/dotnet -> /usr/share/dotnet/dotnet).
fn dotnet_root() -> Result<PathBuf, String> {
    if let Some(root) = std::env::var_os("DOTNET_ROOT").filter(|r| !r.is_empty()) {
        let root = PathBuf::from(root);
        return if root.is_dir() { Ok(root) } else { Err(format!("DOTNET_ROOT names '{}', which is not a folder", root.display())) };
    }
    let exe = format!("dotnet{}", std::env::consts::EXE_SUFFIX);
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        let candidate = dir.join(&exe);
        if candidate.is_file() {
            let resolved = candidate.canonicalize().map_err(|e| format!("{}: {e}", candidate.display()))?;
            return resolved.parent().map(Path::to_path_buf).ok_or_else(|| format!("'{}' has no parent folder", resolved.display()));
        }
    }
    Err("no .NET found: set DOTNET_ROOT or put `dotnet` on PATH (a .NET runtime 8 or later is needed)".to_string())
}

/// `<root>/host/fxr/<highest version>/<hostfxr library>`.
fn hostfxr_path(root: &Path) -> Result<PathBuf, String> {
    let fxr = root.join("host").join("fxr");
    let entries = std::fs::read_dir(&fxr).map_err(|e| format!("no hostfxr under '{}': {e}", fxr.display()))?;
    let newest = entries
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            version_key(&name).map(|key| (key, e.path()))
        })
        .max_by(|a, b| a.0.cmp(&b.0))
        .map(|(_, path)| path)
        .ok_or_else(|| format!("no version folder under '{}'", fxr.display()))?;
    let file = if cfg!(windows) {
        "hostfxr.dll"
    } else if cfg!(target_os = "macos") {
        "libhostfxr.dylib"
    } else {
        "libhostfxr.so"
    };
    let path = newest.join(file);
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!("'{}' does not exist", path.display()))
    }
}

/// Orders `10.0.12` above `9.0.5` and a release above its previews (`10.0.0-rc.1`).
fn version_key(name: &str) -> Option<(Vec<u64>, bool, String)> {
    let (numbers, pre) = match name.split_once('-') {
        Some((numbers, pre)) => (numbers, Some(pre)),
        None => (name, None),
    };
    let parts = numbers.split('.').map(|p| p.parse::<u64>().ok()).collect::<Option<Vec<_>>>()?;
    Some((parts, pre.is_none(), pre.unwrap_or("").to_string()))
}

/// `MAILACCESSFORENSICS_NATIVE_LIBRARY`, else the cdylib beside this build's outputs
/// (target/<profile>/, where `cargo build -p maf-native` puts it).
fn native_library() -> Result<PathBuf, String> {
    let file = format!("{}maf_native{}", std::env::consts::DLL_PREFIX, std::env::consts::DLL_SUFFIX);
    let path = match std::env::var_os(NATIVE_VARIABLE).filter(|p| !p.is_empty()) {
        Some(path) => PathBuf::from(path),
        None => {
            // target/<profile>/deps/<this test>
            let exe = std::env::current_exe().map_err(|e| e.to_string())?;
            let profile = exe.parent().and_then(Path::parent).ok_or("the test executable has no target folder")?;
            profile.join(&file)
        }
    };
    if !path.is_file() {
        return Err(format!(
            "the native library '{}' does not exist: run `cargo build --release -p maf-native`, \
             or set {NATIVE_VARIABLE} to the library's full path",
            path.display()
        ));
    }
    path.canonicalize().map_err(|e| format!("{}: {e}", path.display()))
}

/// Calls an entry point that fills a buffer and returns the full length, growing the buffer
/// until the text fits.
fn call_for_text(mut call: impl FnMut(*mut u8, i32) -> i32) -> String {
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        let needed = call(buffer.as_mut_ptr(), buffer.len() as i32);
        assert!(needed >= 0, "the entry point returned {needed}");
        let needed = needed as usize;
        if needed <= buffer.len() {
            buffer.truncate(needed);
            let text = String::from_utf8(buffer).expect("the shim wrote UTF-8");
            if let Some(error) = text.strip_prefix("error\t") {
                panic!("the shim's self-check failed:\n{error}");
            }
            return text;
        }
        buffer = vec![0u8; needed];
    }
}

// ---------------------------------------------------------------------------------------------
// (a) layouts

#[derive(Debug, Default, PartialEq)]
struct StructLayout {
    size: usize,
    /// Unsafe.SizeOf on the C# side: the stride of `&batch->records[i]`; equal to `size` on
    /// the Rust side.
    managed_size: usize,
    /// field -> (offset, size)
    fields: BTreeMap<String, (usize, usize)>,
}

#[derive(Debug, Default)]
struct AbiReport {
    structs: BTreeMap<String, StructLayout>,
    constants: BTreeMap<String, String>,
    enums: BTreeMap<String, String>,
}

fn size_of_pointee<T>(_: *const T) -> usize {
    size_of::<T>()
}

/// The Rust layouts. Each struct lists its fields in a pattern without `..`: a field added to
/// abi.rs without being added here does not compile.
macro_rules! rust_layouts {
    ($($ty:ident { $($field:ident),* $(,)? })*) => {{
        let mut structs = BTreeMap::new();
        $({
            #[allow(dead_code)]
            fn every_field_is_listed(value: &$ty) {
                let $ty { $($field: _),* } = value;
            }
            let mut fields = BTreeMap::new();
            $(
                let field_size = {
                    let value = MaybeUninit::<$ty>::uninit();
                    // SAFETY: only the field's address is taken; nothing is read.
                    size_of_pointee(unsafe { std::ptr::addr_of!((*value.as_ptr()).$field) })
                };
                fields.insert(stringify!($field).to_string(), (offset_of!($ty, $field), field_size));
            )*
            structs.insert(
                stringify!($ty).to_string(),
                StructLayout { size: size_of::<$ty>(), managed_size: size_of::<$ty>(), fields },
            );
        })*
        structs
    }};
}

fn rust_report() -> AbiReport {
    let structs = rust_layouts! {
        MafText { offset, len }
        MafSource { index, line, file }
        MafFolder { path, id, item_count }
        MafItem { internet_message_id, folder_path, size_in_bytes }
        MafRecord {
            source, creation_time, operation_count, folders_start, folders_len, items_start,
            items_len, client_port, access_type, is_throttled, external_access, is_degraded,
            record_id, mailbox, mailbox_guid, user_id, user_type, client_ip_address,
            client_ip_address_original, client_info_string, session_id, app_id, client_app_id,
            logon_type, originating_server, degraded_reason, aad_session_id, unique_token_id,
            issued_at_time, origin,
        }
        MafRecordError { source, kind, kind_name, record_id, message }
        MafBatch {
            arena, arena_len, records, records_len, folders, folders_len, items, items_len,
            errors, errors_len,
        }
        MafOperationCount { operation, count }
        MafTally {
            read, analysed, skipped, duplicates, filtered, errors, degraded, throttled,
            not_throttled, throttling_unknown, arena, arena_len, skipped_operations,
            skipped_operations_len, possibly_truncated, truncation_reason,
        }
        MafTextList { start, len }
        MafContextText { client_ip_address, client_info_string, session_id, user_id }
        MafUnauditedWindow { mailbox, start, end, throttled_record_count, record_ids }
        MafSyncActivity { mailbox, folder_path, start, end, sync_count, context, record_ids }
        MafAccessContext {
            context, app_ids, client_app_ids, aad_session_ids, unique_token_ids, mailboxes, signals,
            start, end, record_count, bind_count, sync_count, message_count, bytes, score,
        }
        MafMessageRead {
            mailbox, internet_message_id, folder_path, size_in_bytes, start, end, access_count,
            contexts_start, contexts_len,
        }
        MafMessageAccess {
            internet_message_id, mailbox, creation_time, folder_path, size_in_bytes, context,
            app_id, client_app_id, record_id,
        }
        MafFinding {
            kind, kind_name, mailbox, folder_path, internet_message_id, size_in_bytes, start, end,
            access_count, client_ip_addresses, session_ids, client_info_strings, user_ids, app_ids,
            client_app_ids, aad_session_ids, unique_token_ids, reason, evidence_record_ids,
        }
        MafProgress { bytes_read, bytes_total, records }
        MafReport { text, text_len }
        MafKqlQuery { text, text_len }
        MafAnalysis {
            arena, arena_len, texts, texts_len, contexts, contexts_len, windows, windows_len,
            syncs, syncs_len, access_contexts, access_contexts_len, reads, reads_len,
            accesses, accesses_len, findings, findings_len, evidence, evidence_len,
            finding_evidence, finding_evidence_len, messages, messages_len, warnings,
        }
        MafMessageList { start, len }
        MafMessage { code, values, phrases }
        MafCollectStep {
            kind, page, session, permille, window, start, end, wait_ms, windows_done,
            records_written, session_id, session_id_len, notes, notes_len,
        }
        MafCollectionWindow {
            start, end, status, reason, calls, sessions, failures, returned, written, duplicates,
            other_mailboxes,
        }
        MafCollectionFile { path, records, sha256 }
        MafCollection {
            arena, arena_len, texts, texts_len, windows, windows_len, files, files_len, folder,
            start, end, record_count, mailboxes, operations, reasons, complete, settled,
        }
        MafEvidenceRecord {
            source, time, operation_count, access_type, is_throttled, record_id, mailbox, context,
            app_id, client_app_id, aad_session_id, unique_token_id, folders, items, origin,
        }
        MafFindingEvidence { finding, evidence }
        MafDigest { arena, arena_len, sha256, failure, bytes, complete }
    };
    let constants = [
        ("MAF_ABI_VERSION", MAF_ABI_VERSION.to_string()),
        ("MAF_FALSE", MAF_FALSE.to_string()),
        ("MAF_TRUE", MAF_TRUE.to_string()),
        ("MAF_UNKNOWN", MAF_UNKNOWN.to_string()),
        ("MAF_STEP_CALL", MAF_STEP_CALL.to_string()),
        ("MAF_STEP_WAIT", MAF_STEP_WAIT.to_string()),
        ("MAF_STEP_DONE", MAF_STEP_DONE.to_string()),
        ("MAF_WINDOW_COMPLETE", MAF_WINDOW_COMPLETE.to_string()),
        ("MAF_WINDOW_INCOMPLETE", MAF_WINDOW_INCOMPLETE.to_string()),
        ("MAF_WINDOW_PENDING", MAF_WINDOW_PENDING.to_string()),
    ];
    // A status added to abi.rs fails to compile here until it is listed.
    fn status_name(status: MafStatus) -> &'static str {
        match status {
            MafStatus::Ok => "Ok",
            MafStatus::InvalidArgument => "InvalidArgument",
            MafStatus::Panic => "Panic",
            MafStatus::BadBatch => "BadBatch",
            MafStatus::Cancelled => "Cancelled",
            MafStatus::Io => "Io",
        }
    }
    let statuses = [MafStatus::Ok, MafStatus::InvalidArgument, MafStatus::Panic, MafStatus::BadBatch, MafStatus::Cancelled, MafStatus::Io];
    AbiReport {
        structs,
        constants: constants.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
        enums: statuses.into_iter().map(|s| (format!("MafStatus.{}", status_name(s)), (s as u32).to_string())).collect(),
    }
}

fn parse_report(text: &str) -> AbiReport {
    let mut report = AbiReport::default();
    for line in text.lines().filter(|l| !l.is_empty()) {
        let parts: Vec<&str> = line.split('\t').collect();
        let number = |i: usize| -> usize {
            parts.get(i).and_then(|p| p.parse().ok()).unwrap_or_else(|| panic!("unreadable line from the shim: {line:?}"))
        };
        match parts[0] {
            "struct" => {
                let layout = report.structs.entry(parts[1].to_string()).or_default();
                layout.size = number(2);
                layout.managed_size = number(3);
            }
            "field" => {
                let (name, field) = parts[1].split_once('.').expect("field line names STRUCT.FIELD");
                let layout = report.structs.entry(name.to_string()).or_default();
                layout.fields.insert(field.to_string(), (number(2), number(3)));
            }
            "const" => {
                report.constants.insert(parts[1].to_string(), parts[2].to_string());
            }
            "enum" => {
                report.enums.insert(parts[1].to_string(), parts[2].to_string());
            }
            other => panic!("unknown line kind {other:?} from the shim: {line:?}"),
        }
    }
    report
}

fn shim_report() -> AbiReport {
    let shim = shim();
    parse_report(&call_for_text(|buffer, capacity| (shim.layouts)(buffer, capacity)))
}

/// Structs the C# side declares only to hold pointers to: never dereferenced, so their
/// layout is not part of the contract. They must stay empty.
const OPAQUE: &[&str] = &["MafSession", "MafReader", "MafParsed", "MafCollector"];

/// Every difference between the two sides, one line each.
fn compare(rust: &AbiReport, csharp: &AbiReport) -> Vec<String> {
    let mut problems = Vec::new();
    let names: BTreeSet<&String> = rust.structs.keys().chain(csharp.structs.keys()).collect();
    for name in names {
        match (rust.structs.get(name), csharp.structs.get(name)) {
            (Some(_), None) => problems.push(format!("{name}: in maf_native::abi but not in NativeMethods.g.cs")),
            (None, Some(cs)) if OPAQUE.contains(&name.as_str()) => {
                if !cs.fields.is_empty() {
                    problems.push(format!("{name}: opaque handle, but C# declares fields {:?}", cs.fields.keys()));
                }
            }
            (None, Some(_)) => {
                problems.push(format!("{name}: in NativeMethods.g.cs but not checked here: add it to rust_layouts! (or OPAQUE)"))
            }
            (Some(rs), Some(cs)) => {
                if rs.size != cs.size {
                    problems.push(format!("{name}: size {} in Rust, Marshal.SizeOf {} in C#", rs.size, cs.size));
                }
                if rs.size != cs.managed_size {
                    problems.push(format!("{name}: size {} in Rust, Unsafe.SizeOf {} in C#", rs.size, cs.managed_size));
                }
                let fields: BTreeSet<&String> = rs.fields.keys().chain(cs.fields.keys()).collect();
                for field in fields {
                    match (rs.fields.get(field), cs.fields.get(field)) {
                        (Some(_), None) => problems.push(format!("{name}.{field}: in Rust only")),
                        (None, Some(_)) => problems.push(format!("{name}.{field}: in C# only")),
                        (Some(r), Some(c)) if r != c => {
                            problems.push(format!("{name}.{field}: offset {} size {} in Rust, offset {} size {} in C#", r.0, r.1, c.0, c.1))
                        }
                        _ => {}
                    }
                }
            }
            (None, None) => unreachable!(),
        }
    }
    for (what, rs, cs) in [("constant", &rust.constants, &csharp.constants), ("enum member", &rust.enums, &csharp.enums)] {
        let keys: BTreeSet<&String> = rs.keys().chain(cs.keys()).collect();
        for key in keys {
            match (rs.get(key), cs.get(key)) {
                (Some(r), Some(c)) if r != c => problems.push(format!("{what} {key}: {r} in Rust, {c} in C#")),
                (Some(_), None) => problems.push(format!("{what} {key}: in Rust only")),
                (None, Some(_)) => problems.push(format!("{what} {key}: in C# only")),
                _ => {}
            }
        }
    }
    problems
}

/// The differences between the two sides, computed once: the round-trip tests refuse to call
/// into the library when the layouts differ (the shim would read garbage, or crash the
/// process and every test with it).
fn layout_problems() -> &'static [String] {
    static PROBLEMS: OnceLock<Vec<String>> = OnceLock::new();
    PROBLEMS.get_or_init(|| compare(&rust_report(), &shim_report()))
}

#[test]
fn every_struct_field_constant_and_status_matches_rust() {
    let problems = layout_problems();
    assert!(
        problems.is_empty(),
        "the C# declarations (NativeMethods.g.cs, as compiled into the shim) disagree with maf_native::abi:\n  {}",
        problems.join("\n  ")
    );
}

#[test]
fn the_shim_reports_every_struct_with_its_fields() {
    // A reflection filter gone wrong on the C# side must not pass as "nothing to compare".
    let csharp = shim_report();
    for name in rust_report().structs.keys() {
        let reported = csharp.structs.get(name).unwrap_or_else(|| panic!("the shim did not report {name}"));
        assert!(reported.size > 0 && !reported.fields.is_empty(), "{name}: {reported:?}");
    }
    assert_eq!(csharp.constants.get("MAF_ABI_VERSION"), Some(&MAF_ABI_VERSION.to_string()));
}

#[test]
fn the_comparison_notices_each_kind_of_difference() {
    // The comparison itself must be able to fail: a report that differs in one place each.
    let rust = rust_report();
    let mut csharp = rust_report();
    csharp.structs.insert("MafSession".to_string(), StructLayout { size: 1, managed_size: 1, ..Default::default() });
    assert!(compare(&rust, &csharp).is_empty(), "{:?}", compare(&rust, &csharp));

    let record = csharp.structs.get_mut("MafRecord").unwrap();
    record.fields.get_mut("client_port").unwrap().0 += 4;
    record.fields.remove("degraded_reason");
    record.fields.insert("extra".to_string(), (200, 4));
    record.managed_size += 8;
    csharp.structs.get_mut("MafText").unwrap().size = 16;
    csharp.structs.remove("MafTally");
    csharp.structs.insert("MafNew".to_string(), StructLayout::default());
    csharp.structs.get_mut("MafSession").unwrap().fields.insert("x".to_string(), (0, 1));
    csharp.constants.insert("MAF_ABI_VERSION".to_string(), "99".to_string());
    csharp.enums.remove("MafStatus.Io");
    let problems = compare(&rust, &csharp);
    for expected in [
        "MafRecord.client_port: offset",
        "MafRecord.degraded_reason: in Rust only",
        "MafRecord.extra: in C# only",
        "MafRecord: size",
        "MafText: size",
        "MafTally: in maf_native::abi but not in NativeMethods.g.cs",
        "MafNew: in NativeMethods.g.cs but not checked here",
        "MafSession: opaque handle",
        &format!("constant MAF_ABI_VERSION: {MAF_ABI_VERSION} in Rust, 99 in C#"),
        "enum member MafStatus.Io: in Rust only",
    ] {
        assert!(problems.iter().any(|p| p.starts_with(expected)), "no problem starting with {expected:?} in {problems:#?}");
    }
}

// ---------------------------------------------------------------------------------------------
// (b) a record's round trip

/// Ingests one JSON record through the shim and the native library; the shim's JSON answer.
fn ingest(json: &str) -> Value {
    let problems = layout_problems();
    assert!(
        problems.is_empty(),
        "not calling into the native library: the C# struct layouts differ from Rust's (see \
         every_struct_field_constant_and_status_matches_rust):\n  {}",
        problems.join("\n  ")
    );
    let shim = shim();
    let library = shim.native_library.to_str().expect("the library path is UTF-8");
    let text = call_for_text(|buffer, capacity| {
        (shim.ingest)(json.as_ptr(), json.len() as i32, library.as_ptr(), library.len() as i32, buffer, capacity)
    });
    let answer: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("the shim's answer is not JSON ({e}):\n{text}"));
    let loaded = PathBuf::from(answer["library"].as_str().expect("library"));
    assert_eq!(loaded, shim.native_library, "the shim loaded another native library");
    answer
}

/// The one record of an answer, with no failures.
fn only_record(answer: &Value) -> &serde_json::Map<String, Value> {
    assert_eq!(answer["failures"], json!([]), "{answer:#}");
    let records = answer["records"].as_array().expect("records");
    assert_eq!(records.len(), 1, "{answer:#}");
    records[0].as_object().expect("a record object")
}

/// Compares every property of the record with `expected`; a property on one side only fails.
fn assert_record(actual: &serde_json::Map<String, Value>, expected: Value) {
    let expected = expected.as_object().unwrap();
    let keys: BTreeSet<&String> = actual.keys().chain(expected.keys()).collect();
    let mut problems = Vec::new();
    for key in keys {
        match (actual.get(key), expected.get(key)) {
            (Some(a), Some(e)) if a != e => problems.push(format!("{key}: got {a}, expected {e}")),
            (Some(a), None) => problems.push(format!("{key}: got {a}, but this test does not check it: add it")),
            (None, Some(e)) => problems.push(format!("{key}: missing from the shim's record, expected {e}")),
            _ => {}
        }
    }
    assert!(problems.is_empty(), "MailAccessRecord differs:\n  {}", problems.join("\n  "));
}

/// 2024-03-01T12:34:56.1234567Z in .NET ticks.
const TICKS_FULL: i64 = 638_448_932_961_234_567;
/// 2024-03-01T12:00:00Z (the token's IssuedAtTime) in .NET ticks.
const TICKS_ISSUED: i64 = 638_448_912_000_000_000;
/// 2024-03-01T01:00:00+02:00 = 2024-02-29T23:00:00Z in .NET ticks.
const TICKS_DEGRADED: i64 = 638_448_444_000_000_000;

#[test]
fn a_full_record_comes_back_with_every_field() {
    let json = r#"{
        "CreationTime": "2024-03-01T12:34:56.1234567Z",
        "Id": "5b6a0f6e-1c1f-4c55-9d9e-4f3f7f0d2a11",
        "Operation": "MailItemsAccessed",
        "OrganizationId": "00000000-0000-0000-0000-000000000001",
        "RecordType": 50,
        "ResultStatus": "Succeeded",
        "UserKey": "10032000A1B2C3D4",
        "UserType": 2,
        "Version": 1,
        "Workload": "Exchange",
        "UserId": "admin@contoso.example",
        "AppId": "00000003-0000-0000-c000-000000000000",
        "ClientAppId": "5a95e683-08ad-424e-a441-1d1aec52c02c",
        "ClientIPAddress": "[2001:DB8:0:0::1]:52134",
        "ClientInfoString": "Client=REST;Client=RESTSystem;;",
        "ExternalAccess": true,
        "InternalLogonType": 0,
        "LogonType": 1,
        "LogonUserSid": "S-1-5-21-1-2-3-1001",
        "MailboxGuid": "0f0e0d0c-0b0a-0908-0706-050403020100",
        "MailboxOwnerSid": "S-1-5-21-1-2-3-1002",
        "MailboxOwnerUPN": "jürgen.müller@contoso.example",
        "OperationProperties": [
            {"Name": "MailAccessType", "Value": "Bind"},
            {"Name": "IsThrottled", "Value": "True"}
        ],
        "OrganizationName": "contoso.onmicrosoft.com",
        "OriginatingServer": "AM0PR07MB1234 (15.20.4200.000)\r\n",
        "SessionId": "dcdad6b2-f279-48c6-9ed8-3df0ffde4ece",
        "AppAccessContext": {"AADSessionId": "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0", "IssuedAtTime": "2024-03-01T12:00:00", "UniqueTokenId": "Ao1x2y3z4w5v6u7t8s9r0A"},
        "OperationCount": 3,
        "Folders": [
            {
                "Id": "LgAAAAAM7KyTTmWeRac2KXBEz/7aAQARGHK+grzLTpRJraC1QR6kAAAAAAEMAAAB",
                "Path": "\\Inbox\\Überweisungen",
                "FolderItems": [
                    {"InternetMessageId": "<first@contoso.example>", "SizeInBytes": 1234},
                    {"InternetMessageId": "<second@contoso.example>", "SizeInBytes": 99}
                ]
            },
            {
                "Id": "LgAAAAAM7KyTTmWeRac2KXBEz/7aAQARGHK+grzLTpRJraC1QR6kAAAAAAEJAAAB",
                "Path": "\\Sent Items",
                "FolderItems": [{"InternetMessageId": "<third@contoso.example>"}]
            }
        ]
    }"#;
    let answer = ingest(json);
    assert_record(
        only_record(&answer),
        json!({
            "CreationTime": {"Kind": "Utc", "Ticks": TICKS_FULL},
            "RecordId": "5b6a0f6e-1c1f-4c55-9d9e-4f3f7f0d2a11",
            "Mailbox": "jürgen.müller@contoso.example",
            "MailboxGuid": "0f0e0d0c-0b0a-0908-0706-050403020100",
            "UserId": "admin@contoso.example",
            "UserType": "Admin",
            "AccessType": "Bind",
            "IsThrottled": true,
            "ClientIPAddress": "2001:db8::1",
            "ClientIPAddressOriginal": "[2001:DB8:0:0::1]:52134",
            "ClientPort": 52134,
            "ClientInfoString": "Client=REST;Client=RESTSystem;;",
            "SessionId": "dcdad6b2-f279-48c6-9ed8-3df0ffde4ece",
            "AppId": "00000003-0000-0000-c000-000000000000",
            "ClientAppId": "5a95e683-08ad-424e-a441-1d1aec52c02c",
            "AadSessionId": "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0",
            "UniqueTokenId": "Ao1x2y3z4w5v6u7t8s9r0A",
            "IssuedAtTime": {"Kind": "Utc", "Ticks": TICKS_ISSUED},
            "LogonType": "Admin",
            "ExternalAccess": true,
            "OperationCount": 3,
            "OriginatingServer": "AM0PR07MB1234 (15.20.4200.000)",
            "Folders": ["\\Inbox\\Überweisungen", "\\Sent Items"],
            "FolderDetails": [
                {"Path": "\\Inbox\\Überweisungen", "Id": "LgAAAAAM7KyTTmWeRac2KXBEz/7aAQARGHK+grzLTpRJraC1QR6kAAAAAAEMAAAB", "ItemCount": 2},
                {"Path": "\\Sent Items", "Id": "LgAAAAAM7KyTTmWeRac2KXBEz/7aAQARGHK+grzLTpRJraC1QR6kAAAAAAEJAAAB", "ItemCount": 1}
            ],
            "Items": [
                {"InternetMessageId": "<first@contoso.example>", "FolderPath": "\\Inbox\\Überweisungen", "SizeInBytes": 1234},
                {"InternetMessageId": "<second@contoso.example>", "FolderPath": "\\Inbox\\Überweisungen", "SizeInBytes": 99},
                {"InternetMessageId": "<third@contoso.example>", "FolderPath": "\\Sent Items", "SizeInBytes": null}
            ],
            "IsDegraded": false,
            "DegradedReason": null,
            "Source": "pipeline object 1",
            "InputIndex": 0
        }),
    );
}

#[test]
fn absent_values_come_back_as_nulls_and_a_degraded_record_says_why() {
    // No OperationProperties (access type and throttling unknown), no address, a count that
    // is not a number (degraded), an offset time, a Sync folder without items.
    let json = r#"{
        "CreationTime": "2024-03-01T01:00:00+02:00",
        "Id": "degraded-1",
        "Operation": "MailItemsAccessed",
        "OperationCount": "lots",
        "Folders": [{"Path": "Archive"}]
    }"#;
    let answer = ingest(json);
    let record = only_record(&answer);
    let reason = record["DegradedReason"].as_str().unwrap_or_default().to_string();
    assert!(reason.contains("OperationCount 'lots' is not a whole number"), "DegradedReason: {reason:?}");
    assert_record(
        record,
        json!({
            "CreationTime": {"Kind": "Utc", "Ticks": TICKS_DEGRADED},
            "RecordId": "degraded-1",
            "Mailbox": null,
            "MailboxGuid": null,
            "UserId": null,
            "UserType": null,
            "AccessType": "Unknown",
            "IsThrottled": null,
            "ClientIPAddress": null,
            "ClientIPAddressOriginal": null,
            "ClientPort": null,
            "ClientInfoString": null,
            "SessionId": null,
            "AppId": null,
            "ClientAppId": null,
            "AadSessionId": null,
            "UniqueTokenId": null,
            "IssuedAtTime": null,
            "LogonType": null,
            "ExternalAccess": null,
            "OperationCount": null,
            "OriginatingServer": null,
            "Folders": ["\\Archive"],
            "FolderDetails": [{"Path": "\\Archive", "Id": null, "ItemCount": null}],
            "Items": [],
            "IsDegraded": true,
            "DegradedReason": reason,
            "Source": "pipeline object 1",
            "InputIndex": 0
        }),
    );
}

#[test]
fn a_malformed_record_comes_back_as_a_failure() {
    let answer = ingest(r#"{"Operation": "MailItemsAccessed", "Id": "no-time"}"#);
    assert_eq!(answer["records"], json!([]), "{answer:#}");
    let failures = answer["failures"].as_array().expect("failures");
    assert_eq!(failures.len(), 1, "{answer:#}");
    let failure = &failures[0];
    assert_eq!(failure["KindName"], "MissingField", "{failure:#}");
    assert_eq!(failure["RecordId"], "no-time", "{failure:#}");
    assert_eq!(failure["InputIndex"], 0, "{failure:#}");
    assert_eq!(failure["FileIndex"], -1, "{failure:#}");
    assert_eq!(failure["Line"], 0, "{failure:#}");
    assert!(failure["Message"].as_str().unwrap().contains("CreationTime"), "{failure:#}");
}

#[test]
fn hostfxr_versions_order_numerically() {
    let mut names = ["9.0.5", "10.0.0-rc.1.25451.107", "10.0.12", "8.0.20", "10.0.2"];
    names.sort_by_key(|n| version_key(n));
    assert_eq!(names, ["8.0.20", "9.0.5", "10.0.0-rc.1.25451.107", "10.0.2", "10.0.12"]);
    assert_eq!(version_key("not-a-version"), None);
}
