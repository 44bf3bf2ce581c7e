//! The SHA-256 of an input file (for the chain of custody) is the whole file's, as Get-FileHash
//! gives it, however the reader took the file: plain, or gzip followed by bytes the decoder
//! does not read, or damaged as the inputs of issue #14 are (tests/fixtures/damaged).

use std::io::Write;
use std::sync::atomic::AtomicBool;

use mailaccess_engine::input::{ReaderOptions, RecordReader};
use sha2::Digest;

const RECORD: &str = r#"{"CreationTime":"2024-05-01T10:00:00","Id":"r1","Operation":"MailItemsAccessed","MailboxOwnerUPN":"a@x","OperationProperties":[{"Name":"MailAccessType","Value":"Bind"}]}"#;

fn hex(bytes: &[u8]) -> String {
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02X}")).collect()
}

fn read_to_end_and_hash(bytes: &[u8]) -> (String, u64, bool, usize) {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(bytes).unwrap();
    read_file_and_hash(file.path())
}

fn read_file_and_hash(path: &std::path::Path) -> (String, u64, bool, usize) {
    let options = ReaderOptions { chunk_bytes: 64, ..ReaderOptions::default() };
    let mut reader = RecordReader::open(path, 0, options).unwrap();
    let digest = reader.digest().expect("a file has a digest");
    let never = AtomicBool::new(false);
    let mut results = 0;
    while let Some(chunk) = reader.next_chunk(&never) {
        results += chunk.len();
    }
    drop(reader);
    let outcome = digest.finish(true, &never);
    (outcome.hex(), outcome.bytes, outcome.complete, results)
}

#[test]
fn a_plain_file_is_hashed_as_read() {
    let text = format!("{RECORD}\n{}\n", RECORD.replace("r1", "r2")).repeat(20);
    let (hash, bytes, complete, results) = read_to_end_and_hash(text.as_bytes());
    assert_eq!((hash, bytes, complete, results), (hex(text.as_bytes()), text.len() as u64, true, 40));
}

#[test]
fn bytes_after_a_gzip_stream_are_part_of_the_hash() {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(format!("{RECORD}\n").as_bytes()).unwrap();
    let mut bytes = gz.finish().unwrap();
    // Not a gzip member: the decoder stops (with an error) before the end of the file.
    bytes.extend_from_slice(b"trailing bytes that are not gzip");
    let (hash, hashed, complete, _) = read_to_end_and_hash(&bytes);
    assert_eq!((hash, hashed, complete), (hex(&bytes), bytes.len() as u64, true));
}

#[test]
fn a_damaged_file_has_the_hash_of_the_whole_file() {
    // Truncated gzip, a zip archive (refused), broken lines, CR-only CSV, duplicated columns...:
    // however reading ends, the hash is the file's, taken from the bytes the reader read.
    let folder = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/damaged");
    let mut checked = 0;
    for entry in std::fs::read_dir(&folder).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if name.ends_with(".ps1") || name.starts_with('.') || name == "expected.json" {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        let (hash, hashed, complete, _) = read_file_and_hash(&path);
        assert_eq!((hash, hashed, complete), (hex(&bytes), bytes.len() as u64, true), "{name}");
        checked += 1;
    }
    assert!(checked >= 10, "the damaged inputs of issue #14 are there ({checked})");
}
