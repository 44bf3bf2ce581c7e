//! Bad input: each problem is one error at the right position, and the good records around it
//! are still read. Also files that cannot be opened, read failures and cancellation.

mod input_common;

use std::io::{self, Read};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use input_common::*;
use mailaccess_engine::input::{ReaderOptions, RecordReader};
use mailaccess_engine::{ErrorKind, InterpretOptions};

fn lines_of(records: &[String]) -> String {
    records.iter().map(|r| format!("{r}\n")).collect()
}

fn record_texts() -> Vec<String> {
    audit_records().iter().map(|r| r.to_string()).collect()
}

#[test]
fn truncated_json_lines() {
    let mut lines = record_texts();
    let cut = lines[1][..lines[1].len() / 2].to_string();
    lines[1] = cut;
    let last = lines[5][..40].to_string();
    lines[5] = last;
    // The last line has no line break: the input simply ends inside it.
    let text = lines_of(&lines);
    let text = text.trim_end();
    let results = read_every_way(text.as_bytes());
    let s = summary(&results);
    assert_eq!(s.len(), 6, "{s:?}");
    assert_eq!((s[1].as_str(), s[5].as_str()), ("E InvalidJson @2", "E InvalidJson @6"));
    assert!(error_at(&results, 1).message.contains("EOF while parsing"), "{}", error_at(&results, 1).message);
    assert_outcomes_except(&results, &[5, 1]);
}

#[test]
fn truncated_first_line_does_not_swallow_the_rest() {
    // Before the reader knows it is JSON Lines.
    let mut lines = record_texts();
    lines[0] = lines[0][..lines[0].len() - 30].to_string();
    let results = read_every_way(lines_of(&lines).as_bytes());
    assert_eq!(summary(&results)[0], "E InvalidJson @1");
    let message = &error_at(&results, 0).message;
    assert!(message.contains("a line break inside a string at line 1"), "{message}");
    assert!(message.contains("(line 1) could not be read as records, up to the next record"), "{message}");
    assert_eq!(outcomes(&results)[1..], expected_outcomes()[1..]);
}

#[test]
fn truncated_records_in_arrays_and_pretty_objects() {
    // Pretty objects back to back, the second cut short.
    let records = audit_records();
    let pretty: Vec<String> = records.iter().map(|r| serde_json::to_string_pretty(r).unwrap()).collect();
    let cut = pretty[1][..pretty[1].len() / 2].to_string();
    let text = format!("{}\n{cut}\n{}\n", pretty[0], pretty[2..].join("\n"));
    let results = read_every_way(text.as_bytes());
    let s = summary(&results);
    assert_eq!(s.len(), 6, "{s:?}");
    let second_line = pretty[0].lines().count() as u64 + 1;
    assert_eq!(s[1], format!("E InvalidJson @{second_line}"));
    assert_outcomes_except(&results, &[1]);

    // A content blob cut at the end: the records before the cut are read.
    let blob = array_compact();
    let results = read_every_way(&blob.as_bytes()[..blob.len() - 100]);
    let s = summary(&results);
    assert_eq!(s.len(), 6);
    assert_eq!(s[5], "E InvalidJson @1");
    assert!(error_at(&results, 5).message.contains("truncated"));
    assert_eq!(outcomes(&results)[..5], expected_outcomes()[..5]);
}

#[test]
fn wrong_types_and_values() {
    let good = record_texts();
    let text = lines_of(&[
        good[0].clone(),
        r#"{"Operation":"MailItemsAccessed","CreationTime":{"a":1}}"#.to_string(),
        r#"{"Operation":"MailItemsAccessed","CreationTime":"2024-01-01T00:00:00","Folders":5}"#.to_string(),
        r#"{"Operation":"MailItemsAccessed","CreationTime":"yesterday"}"#.to_string(),
        r#"{"CreationTime":"2024-01-01T00:00:00"}"#.to_string(),
        "[1, 2]".to_string(),
        "42".to_string(),
        good[1].clone(),
    ]);
    let results = read_every_way(text.as_bytes());
    assert_eq!(
        without_positions(&summary(&results)),
        [
            "R 00000000-0000-0000-0000-000000000001",
            "E InvalidValue",
            "E InvalidValue",
            "E InvalidValue",
            "E NotAnAuditRecord",
            // An array of numbers is one error, not one per number.
            "E NotAnAuditRecord",
            // A number where a record should start.
            "E InvalidJson",
            "R 00000000-0000-0000-0000-000000000002",
        ]
    );
    let lines: Vec<u64> = results.iter().map(|r| r.position.line.unwrap()).collect();
    assert_eq!(lines, [1, 2, 3, 4, 5, 6, 7, 8]);
}

fn without_positions(summary: &[String]) -> Vec<&str> {
    summary.iter().map(|s| s.rsplit_once(" @").unwrap().0).collect()
}

#[test]
fn nesting_100000_deep_is_too_deep_not_a_stack_overflow() {
    let depth = 100_000;
    let objects = format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth));
    let arrays = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    let good = record_texts();
    let cases = [
        // Deep object as the first line (the splitter sees it), then as a later line of JSON
        // Lines (the parser sees it).
        format!("{objects}\n{}\n{objects}\n{}\n", good[0], good[1]),
        // Deep array as an element of an array of records.
        format!("[{arrays},{}]", good[0]),
        // The whole document nested.
        format!("{arrays}\n{}", good[0]),
        // Deep inside a record field.
        format!("{}\n{{\"Operation\":\"MailItemsAccessed\",\"X\":{arrays}}}\n", good[0]),
    ];
    for (i, text) in cases.iter().enumerate() {
        let results = read_bytes(text.as_bytes(), options(4096, 2));
        let s = summary(&results);
        assert!(s.iter().any(|s| s.starts_with("E TooDeep")), "case {i}: {s:?}");
        assert!(s.iter().any(|s| s.starts_with("R ")), "case {i}: {s:?}");
        assert!(s.iter().all(|s| s.starts_with("E TooDeep") || s.starts_with("R ")), "case {i}: {s:?}");
    }
    // Unclosed: the input ends inside it.
    let results = read_bytes(format!("{}\n{}", good[0], "[".repeat(depth)).as_bytes(), options(4096, 1));
    assert_eq!(summary(&results).len(), 2);
}

#[test]
fn too_large_records_are_skipped_and_reported() {
    let options = |chunk| ReaderOptions {
        interpret: InterpretOptions { max_record_bytes: 2000, ..InterpretOptions::default() },
        chunk_bytes: chunk,
        threads: 1,
    };
    let good = record_texts();
    let big = format!("{{\"Operation\":\"MailItemsAccessed\",\"AuditData\":\"{}\"}}", "x".repeat(5000));
    for text in [
        lines_of(&[good[0].clone(), big.clone(), good[1].clone()]),
        format!("[{},{big},{}]", good[0], good[1]),
        format!(
            "{}\n{}\n{}",
            good[0],
            serde_json::to_string_pretty(&serde_json::from_str::<serde_json::Value>(&big).unwrap()).unwrap(),
            good[1]
        ),
    ] {
        for chunk in [100, 1000, 1 << 20] {
            let results = read_bytes(text.as_bytes(), options(chunk));
            assert_eq!(
                without_positions(&summary(&results)),
                ["R 00000000-0000-0000-0000-000000000001", "E TooLarge", "R 00000000-0000-0000-0000-000000000002"]
            );
            assert!(error_at(&results, 1).message.contains("more than the 2000 bytes"), "{}", error_at(&results, 1).message);
        }
    }
    // A CSV row.
    let csv = format!("Operation,AuditData\nMailItemsAccessed,{}\nMailItemsAccessed,\"{}\"\n", csv_quote(&good[0]), "y".repeat(5000));
    let results = read_bytes(csv.as_bytes(), options(700));
    assert_eq!(summary(&results), ["R 00000000-0000-0000-0000-000000000001 @2", "E TooLarge @3"]);
}

#[test]
fn csv_rows_with_the_wrong_number_of_fields() {
    let mut lines: Vec<String> = four_column_csv().lines().map(str::to_string).collect();
    lines[2].push_str(",extra");
    lines[4] = lines[4].split(',').next().unwrap().to_string();
    let text = lines.join("\n");
    let results = read_every_way(text.as_bytes());
    let s = summary(&results);
    assert_eq!((s[1].as_str(), s[3].as_str()), ("E InvalidCsv @3", "E InvalidCsv @5"));
    assert!(error_at(&results, 1).message.contains("5 fields where the header has 4"), "{}", error_at(&results, 1).message);
    assert!(error_at(&results, 3).message.contains("1 fields where the header has 4"), "{}", error_at(&results, 3).message);
    assert_outcomes_except(&results, &[3, 1]);
}

#[test]
fn csv_quote_that_never_closes() {
    // The quote opening AuditData on row 4 (line 5) loses its closing quote: the rows from
    // there on cannot be told apart.
    let text = purview_csv();
    let lines: Vec<&str> = text.lines().collect();
    let broken = lines[4].trim_end_matches(",,").trim_end_matches('"').to_string() + "\n";
    let mut input = lines[..4].iter().map(|l| format!("{l}\n")).collect::<String>();
    input.push_str(&broken);
    input.push_str("plain,row,after\n");
    let results = read_every_way(input.as_bytes());
    let s = summary(&results);
    // Only the line with the quote is lost: the line after it is read again (and is itself not
    // a row of this header).
    assert_eq!(s[3..], ["E InvalidCsv @5", "E InvalidCsv @6"], "{s:?}");
    let message = &error_at(&results, 3).message;
    assert!(message.contains("never closes"), "{message}");
    assert!(message.contains("line 5 was skipped and the lines after it are read again"), "{message}");
    assert_eq!(outcomes(&results)[..3], expected_outcomes()[..3]);

    // A quote that closes too late: the broken row would take in the next line; that line and
    // the rows after it are read again.
    let mut input = lines[..4].iter().map(|l| format!("{l}\n")).collect::<String>();
    input.push_str(&broken);
    input.extend(lines[5..].iter().map(|l| format!("{l}\n")));
    input.push_str(&format!("{}\n", lines[1]));
    let results = read_every_way(input.as_bytes());
    assert_eq!(
        summary(&results)[3..],
        [
            "E InvalidCsv @5",
            "R 00000000-0000-0000-0000-000000000005 @6",
            "R 00000000-0000-0000-0000-000000000006 @7",
            "R 00000000-0000-0000-0000-000000000001 @8"
        ]
    );
    let message = &error_at(&results, 3).message;
    assert!(message.contains("runs over lines 5 to 6"), "{message}");
    assert!(message.contains("line 5 was skipped and the lines after it are read again"), "{message}");

    // A quote opening in the header.
    let results = read_every_way(b"\"RecordId,CreationDate\n1,2\n");
    assert_eq!(summary(&results), ["E InvalidCsv @1"]);
    assert!(error_at(&results, 0).message.contains("the header"));
}

#[test]
fn garbage_lines_between_json_lines() {
    let good = record_texts();
    let text = format!("{}\nthis is not JSON\n{}\n]\n{}\n", good[0], good[1], good[2]);
    let results = read_every_way(text.as_bytes());
    assert_eq!(
        summary(&results),
        [
            "R 00000000-0000-0000-0000-000000000001 @1",
            "E InvalidJson @2",
            "R 00000000-0000-0000-0000-000000000002 @3",
            "E InvalidJson @4",
            "R 00000000-0000-0000-0000-000000000003 @5",
        ]
    );
}

#[test]
fn files_that_cannot_be_opened() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.json");
    let error = RecordReader::open(&missing, 4, ReaderOptions::default()).err().unwrap();
    assert_eq!(error.kind, ErrorKind::Unreadable);
    assert!(error.message.contains("missing.json"), "{}", error.message);
    assert!(error.message.contains("No such file"), "{}", error.message);
    assert_eq!(error.position.file, Some(4));
    let error = RecordReader::open(dir.path(), 5, ReaderOptions::default()).err().unwrap();
    assert_eq!(error.kind, ErrorKind::Unreadable);
    assert!(error.message.contains("folder"), "{}", error.message);
}

#[test]
fn a_zip_archive_is_refused_with_one_error() {
    // The OTRF datasets are published as .zip files.
    let results = read_every_way(b"PK\x03\x04\x14\x00\x00\x00\x08\x00rest of the archive");
    assert_eq!(summary(&results), ["E Unreadable @1"]);
    assert!(error_at(&results, 0).message.contains("zip archive"), "{}", error_at(&results, 0).message);
}

/// Gives `limit` bytes of `text` (repeated), then fails.
struct FailingReader {
    text: Vec<u8>,
    at: usize,
    limit: usize,
}

impl Read for FailingReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.at >= self.limit {
            return Err(io::Error::other("the network share went away"));
        }
        let n = buf.len().min(self.limit - self.at).min(1000);
        for (i, b) in buf[..n].iter_mut().enumerate() {
            *b = self.text[(self.at + i) % self.text.len()];
        }
        self.at += n;
        Ok(n)
    }
}

#[test]
fn a_read_failure_is_reported_after_the_records_before_it() {
    let text = jsonl().into_bytes();
    let limit = text.len() * 3 + 10;
    for threads in [1, 2] {
        let reader = RecordReader::from_reader(
            Box::new(FailingReader { text: text.clone(), at: 0, limit }),
            Some(1),
            None,
            ReaderOptions { chunk_bytes: 500, threads, ..ReaderOptions::default() },
        );
        let results = drain(reader);
        let s = summary(&results);
        // The line the failure cut is not a record of its own: the failure names it.
        assert_eq!(s.len(), 19, "{s:?}");
        assert_eq!(outcomes(&results[..18]), [expected_outcomes(), expected_outcomes(), expected_outcomes()].concat());
        assert_eq!(s[18], "E Unreadable @19");
        assert!(error_at(&results, 18).message.contains("the network share went away"));
        assert!(error_at(&results, 18).message.contains("the record it cut (from line 19)"), "{}", error_at(&results, 18).message);
    }
}

/// JSON Lines without end; sets `cancel` after `cancel_after` bytes.
struct Endless {
    line: Vec<u8>,
    at: usize,
    produced: Arc<std::sync::atomic::AtomicU64>,
    cancel: Arc<AtomicBool>,
    cancel_after: u64,
}

impl Read for Endless {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        for b in buf.iter_mut() {
            *b = self.line[self.at];
            self.at = (self.at + 1) % self.line.len();
        }
        let total = self.produced.fetch_add(buf.len() as u64, Ordering::Relaxed) + buf.len() as u64;
        if total >= self.cancel_after {
            self.cancel.store(true, Ordering::Relaxed);
        }
        Ok(buf.len())
    }
}

#[test]
fn cancellation_stops_within_a_chunk_even_on_endless_input() {
    for threads in [1, 2] {
        let cancel = Arc::new(AtomicBool::new(false));
        let produced = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let chunk = 256 * 1024;
        let mut reader = RecordReader::from_reader(
            Box::new(Endless {
                line: jsonl().into_bytes(),
                at: 0,
                produced: Arc::clone(&produced),
                cancel: Arc::clone(&cancel),
                cancel_after: 3 * 1024 * 1024,
            }),
            None,
            None,
            ReaderOptions { chunk_bytes: chunk, threads, ..ReaderOptions::default() },
        );
        let mut count = 0;
        let mut calls = 0;
        while let Some(results) = reader.next_chunk(&cancel) {
            count += results.len();
            calls += 1;
            assert!(calls < 1000, "does not stop");
        }
        assert!(cancel.load(Ordering::Relaxed));
        assert!(reader.next_chunk(&cancel).is_none());
        let produced = produced.load(Ordering::Relaxed);
        assert!(produced <= 3 * 1024 * 1024 + 2 * chunk as u64, "read {produced} bytes after cancel");
        assert!(count > 1000, "{count}");
        assert_eq!(reader.progress().records, count as u64);
    }

    // Set before the first call: nothing is read.
    let cancel = AtomicBool::new(true);
    let mut reader = RecordReader::from_reader(Box::new(io::Cursor::new(jsonl().into_bytes())), None, None, ReaderOptions::default());
    assert!(reader.next_chunk(&cancel).is_none());
    assert_eq!(reader.progress().bytes_read, 0);
}
