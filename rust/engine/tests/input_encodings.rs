//! Byte order marks, UTF-16, gzip, and text that is not valid in its encoding.

mod input_common;

use std::io::Write;

use flate2::write::GzEncoder;
use flate2::Compression;
use input_common::*;
use mailaccess_engine::input::{ReaderOptions, RecordReader, TextEncoding};
use mailaccess_engine::ErrorKind;

fn utf16(text: &str, big_endian: bool) -> Vec<u8> {
    let mut out = if big_endian { vec![0xFE, 0xFF] } else { vec![0xFF, 0xFE] };
    for unit in text.encode_utf16() {
        out.extend_from_slice(&if big_endian { unit.to_be_bytes() } else { unit.to_le_bytes() });
    }
    out
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn encoding_of(bytes: &[u8]) -> (TextEncoding, bool) {
    let mut reader = RecordReader::from_reader(Box::new(std::io::Cursor::new(bytes.to_vec())), None, None, ReaderOptions::default());
    let _ = reader.next_chunk(&std::sync::atomic::AtomicBool::new(false));
    (reader.encoding(), reader.compressed())
}

#[test]
fn every_encoding_gives_the_same_records_on_the_same_lines() {
    for (shape, text) in
        [("JSON Lines", jsonl()), ("pretty array", array_pretty()), ("SUAL CSV", sual_csv()), ("Purview CSV", purview_csv())]
    {
        let reference = read_every_way(text.as_bytes());
        let mut bom = b"\xEF\xBB\xBF".to_vec();
        bom.extend_from_slice(text.as_bytes());
        let le = utf16(&text, false);
        let be = utf16(&text, true);
        let variants: Vec<(&str, Vec<u8>, TextEncoding, bool)> = vec![
            ("UTF-8 BOM", bom.clone(), TextEncoding::Utf8, false),
            ("UTF-16 LE", le.clone(), TextEncoding::Utf16Le, false),
            ("UTF-16 BE", be.clone(), TextEncoding::Utf16Be, false),
            ("gzip", gzip(text.as_bytes()), TextEncoding::Utf8, true),
            ("gzip UTF-8 BOM", gzip(&bom), TextEncoding::Utf8, true),
            ("gzip UTF-16 LE", gzip(&le), TextEncoding::Utf16Le, true),
        ];
        for (name, bytes, encoding, compressed) in variants {
            assert_eq!(read_every_way(&bytes), reference, "{shape}, {name}");
            assert_eq!(encoding_of(&bytes), (encoding, compressed), "{shape}, {name}");
        }
    }
}

#[test]
fn gzip_with_several_members() {
    let text = jsonl();
    let half = text.len() / 2;
    // Cut in the middle of a record: the members join into one text.
    let mut bytes = gzip(&text.as_bytes()[..half]);
    bytes.extend(gzip(&text.as_bytes()[half..]));
    assert_eq!(outcomes(&read_every_way(&bytes)), expected_outcomes());
}

#[test]
fn truncated_gzip_reads_what_it_can_and_says_so() {
    let text = jsonl().repeat(50);
    let full = gzip(text.as_bytes());
    let cut = &full[..full.len() * 3 / 4];
    let results = read_every_way(cut);
    let summary = summary(&results);
    let records = summary.iter().filter(|s| s.starts_with("R ") || s.starts_with("S ")).count();
    assert!(records > 100, "{records} records before the cut");
    let last = error_at(&results, results.len() - 1);
    assert_eq!(last.kind, ErrorKind::Unreadable, "{summary:?}");
    assert!(last.message.contains("gzip"), "{}", last.message);
    // The record the cut fell in is reported once, in that error, not counted again as a
    // record of its own.
    assert_eq!(records, results.len() - 1, "{summary:?}");
    let cut_line = records + 1;
    assert!(last.message.contains(&format!("the record it cut (from line {cut_line})")), "{}", last.message);
    assert_eq!(results[results.len() - 1].position.line, Some(cut_line as u64));
}

#[test]
fn invalid_utf8_is_an_error_for_its_record_only() {
    let records = audit_records();
    let mut text = Vec::new();
    for (i, r) in records.iter().enumerate() {
        let mut line = r.to_string().into_bytes();
        if i == 2 {
            // Replace the 'M' of MSExchangeRPC by a byte that is not UTF-8.
            let at = line.windows(4).position(|w| w == b"MSEx").unwrap();
            line[at] = 0xC0;
        }
        text.extend(line);
        text.push(b'\n');
    }
    let results = read_every_way(&text);
    assert_eq!(summary(&results)[2], "E InvalidEncoding @3");
    let error = error_at(&results, 2);
    assert!(error.message.contains("not valid UTF-8 at line 3"), "{}", error.message);
    assert_outcomes_except(&results, &[2]);

    // The same in a pretty array and in a CSV row: the line is the line of the bad byte.
    let pretty = array_pretty().replacen("MSExchangeRPC", "\u{1}SExchangeRPC", 1).into_bytes();
    let pretty: Vec<u8> = pretty.into_iter().map(|b| if b == 1 { 0xFF } else { b }).collect();
    let results = read_every_way(&pretty);
    let error = error_at(&results, 2);
    assert_eq!(error.kind, ErrorKind::InvalidEncoding);
    let bad_line = array_pretty().lines().position(|l| l.contains("MSExchangeRPC")).unwrap() + 1;
    assert!(error.message.contains(&format!("at line {bad_line} ")), "{} (expected line {bad_line})", error.message);
    assert_eq!(summary(&results).len(), 6);

    let csv: Vec<u8> = sual_csv()
        .replacen("MSExchangeRPC", "\u{1}SExchangeRPC", 1)
        .into_bytes()
        .into_iter()
        .map(|b| if b == 1 { 0xFE } else { b })
        .collect();
    let results = read_every_way(&csv);
    assert_eq!(summary(&results)[2], "E InvalidEncoding @5");
    assert_eq!(summary(&results).len(), 6);
}

#[test]
fn invalid_utf16_is_an_error_for_its_record_only() {
    let text = jsonl();
    for big_endian in [false, true] {
        let mut bytes = utf16(&text, big_endian);
        // An unpaired high surrogate in place of the 'M' of MSExchangeRPC (record 3).
        let units: Vec<u16> = text.encode_utf16().collect();
        let m = text.find("MSExchangeRPC").unwrap();
        let unit_index = text[..m].encode_utf16().count();
        assert_eq!(units[unit_index], 'M' as u16);
        let at = 2 + unit_index * 2;
        let surrogate = if big_endian { [0xD8, 0x00] } else { [0x00, 0xD8] };
        bytes[at..at + 2].copy_from_slice(&surrogate);
        let results = read_every_way(&bytes);
        assert_eq!(summary(&results)[2], "E InvalidEncoding @3", "big endian: {big_endian}");
        assert!(error_at(&results, 2).message.contains("not valid UTF-16 at line 3"), "{}", error_at(&results, 2).message);
        assert_outcomes_except(&results, &[2]);

        // An odd number of bytes: the last record is the one that is cut.
        let mut odd = utf16(text.trim_end(), big_endian);
        odd.push(b'x');
        let results = read_every_way(&odd);
        assert_eq!(summary(&results).len(), 6);
        assert_eq!(error_at(&results, 5).kind, ErrorKind::InvalidEncoding);
    }
}

#[test]
fn nul_bytes_are_an_error_for_their_record() {
    let records = audit_records();
    let mut text = String::new();
    for (i, r) in records.iter().enumerate() {
        let line = r.to_string();
        text.push_str(&if i == 1 { line.replacen("Client=REST", "Client=\0REST", 1) } else { line });
        text.push('\n');
    }
    let results = read_every_way(text.as_bytes());
    assert_eq!(summary(&results)[1], "E InvalidEncoding @2");
    assert!(error_at(&results, 1).message.contains("NUL"), "{}", error_at(&results, 1).message);
    assert_eq!(summary(&results).len(), 6);

    // NUL padding after the last record (a file preallocated and never filled).
    let mut padded = jsonl().into_bytes();
    padded.extend(std::iter::repeat_n(0u8, 10_000));
    let results = read_every_way(&padded);
    assert_eq!(outcomes(&results[..6]), expected_outcomes());
    assert_eq!(summary(&results[6..]), ["E InvalidEncoding @7"]);

    // In a CSV row.
    let csv = purview_csv().replacen("Client=REST", "Client=\0REST", 1);
    let results = read_every_way(csv.as_bytes());
    assert_eq!(summary(&results)[1], "E InvalidEncoding @3");
}

#[test]
fn utf16_without_a_byte_order_mark_is_not_read_silently() {
    let mut bytes = utf16(&jsonl(), false);
    bytes.drain(..2);
    let results = read_every_way(&bytes);
    assert!(!results.is_empty());
    assert!(results.iter().all(|r| matches!(&r.outcome, Err(e) if e.kind == ErrorKind::InvalidEncoding)), "{:?}", summary(&results));
    assert!(error_at(&results, 0).message.contains("UTF-16 text without a byte order mark"));
}
