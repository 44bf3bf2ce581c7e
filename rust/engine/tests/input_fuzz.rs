//! Differential fuzz of the readers: records, some of them damaged by a seeded mutation, are
//! written as pipeline strings, JSON Lines, a JSON array on one line, a pretty-printed array,
//! Graph pages, a Purview CSV and one piped document, and read with varied chunk sizes and
//! threads. Every shape must give the same records as the records read one by one (a damaged
//! record costs only itself), every undamaged record must be among them, and nothing may panic.
//!
//! Deterministic: the seeds are fixed. `MAF_FUZZ_ROUNDS` runs more rounds (from the same
//! seeds on), for a longer search on a developer's machine; failing inputs are written to
//! `MAF_FUZZ_KEEP` (a folder) when it is set, to become fixtures.

mod input_common;

use std::sync::atomic::AtomicBool;

use input_common::*;
use mailaccess_engine::input::objects::parse_objects;
use mailaccess_engine::input::tree::BatchWriter;
use mailaccess_engine::input::ReadResult;
use mailaccess_engine::{InterpretOptions, MailAccessRecord, Outcome, SourcePosition};
use serde_json::Value;

/// xorshift64*: small, seeded, the same everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// Bytes a mutation writes: JSON's structure, text, and a character of several bytes (never a
/// line break: a record of JSON Lines stays on its line).
const ALPHABET: [&str; 18] = ["{", "}", "[", "]", "\"", ":", ",", "\\", " ", "a", "Z", "0", "7", "-", ".", "é", "t", "n"];

/// One damage inside the record's text (its first and last bytes stay): a character changed,
/// removed or added, or the text cut short.
///
/// Not one: a `{` added after a `,` between two fields (`{"AppId":"x",{"ClientIPAddress":...}`).
/// Byte for byte that is a record cut short followed by a whole record, which the records of an
/// array are far more often: read one by one it is one damaged record, in an array a damaged
/// one and the record after it.
fn mutate(text: &str, rng: &mut Rng) -> String {
    let chars: Vec<char> = text.chars().collect();
    let at = 1 + rng.below(chars.len() - 2);
    let pick = |rng: &mut Rng| loop {
        let c = ALPHABET[rng.below(ALPHABET.len())];
        if !(c == "{" && chars[at - 1] == ',') {
            return c;
        }
    };
    let mut out: String;
    match rng.below(4) {
        0 => {
            out = chars[..at].iter().collect();
            out.push_str(pick(rng));
            out.extend(&chars[at + 1..]);
        }
        1 => {
            out = chars[..at].iter().collect();
            out.extend(&chars[at + 1..]);
        }
        2 => {
            out = chars[..at].iter().collect();
            out.push_str(pick(rng));
            out.extend(&chars[at..]);
        }
        _ => out = chars[..at].iter().collect(),
    }
    out
}

/// Re-indents JSON text token by token (as ConvertTo-Json lays it out), whether or not it is
/// valid: only whitespace is added, and only between tokens, so valid text stays the same
/// value and damaged text stays damaged.
fn pretty(text: &str, indent: usize) -> String {
    let mut out = " ".repeat(indent);
    let (mut depth, mut in_string, mut escape) = (0usize, false, false);
    let pad = |depth: usize| format!("\n{}", " ".repeat(indent + 2 * depth));
    for c in text.chars() {
        if in_string {
            out.push(c);
            if escape {
                escape = false;
            } else if c == '\\' {
                escape = true;
            } else if c == '"' {
                in_string = false;
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            '{' | '[' => {
                depth += 1;
                out.push(c);
                out.push_str(&pad(depth));
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                out.push_str(&pad(depth));
                out.push(c);
            }
            ',' => {
                out.push(c);
                out.push_str(&pad(depth));
            }
            ':' => out.push_str(": "),
            _ => out.push(c),
        }
    }
    out
}

/// The records read, without where they came from, sorted.
fn records_of(results: &[ReadResult]) -> Vec<String> {
    let mut records: Vec<String> = results
        .iter()
        .filter_map(|r| match &r.outcome {
            Ok(Outcome::Record(record)) => {
                let mut record: MailAccessRecord = (**record).clone();
                record.source = SourcePosition::default();
                Some(format!("{record:?}"))
            }
            _ => None,
        })
        .collect();
    records.sort();
    records
}

fn piped(texts: &[&str]) -> Vec<ReadResult> {
    let mut writer = BatchWriter::default();
    for text in texts {
        writer.string(text);
    }
    parse_objects(&writer.buf, 0, &InterpretOptions::default(), &AtomicBool::new(false)).expect("a well-formed batch")
}

/// The shapes the texts are written in.
fn shapes(texts: &[String], originals: &[Value]) -> Vec<(&'static str, String)> {
    let jsonl: String = texts.iter().map(|t| format!("{t}\n")).collect();
    let compact = format!("[{}]", texts.join(","));
    let pretty_array = format!("[\n{}\n]\n", texts.iter().map(|t| pretty(t, 2)).collect::<Vec<_>>().join(",\n"));
    let pages: String = texts
        .chunks(5)
        .map(|page| format!("{{\"@odata.context\":\"https://graph.microsoft.com/beta/$metadata#records\",\"value\":[{}],\"@odata.nextLink\":\"https://graph.microsoft.com/beta/next\"}}\n", page.join(",")))
        .collect();
    let mut csv =
        String::from("RecordId,CreationDate,RecordType,Operation,UserId,AuditData,AssociatedAdminUnits,AssociatedAdminUnitsNames\r\n");
    for (text, original) in texts.iter().zip(originals) {
        let field = |name: &str| original[name].as_str().unwrap_or("").to_string();
        csv.push_str(&format!(
            "{},\"{} \",{},{},{},{},,\r\n",
            field("Id"),
            field("CreationTime"),
            original["RecordType"],
            field("Operation"),
            field("UserId"),
            csv_quote(text)
        ));
    }
    vec![
        ("JSON Lines", jsonl),
        ("array on one line", compact),
        ("pretty array", pretty_array),
        ("Graph pages", pages),
        ("Purview CSV", csv),
    ]
}

/// One round: `count` records, some damaged; every shape read and compared.
fn round(seed: u64, count: usize) -> Result<(), String> {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let templates = audit_records();
    let mut originals = Vec::new();
    let mut texts = Vec::new();
    let mut intact = Vec::new();
    for i in 0..count {
        let mut record = templates[rng.below(templates.len())].clone();
        record["Id"] = Value::String(format!("{seed:08x}-{i:04}"));
        let text = record.to_string();
        let damaged = rng.chance(30);
        let mut mutated = text.clone();
        if damaged {
            for _ in 0..1 + rng.below(2) {
                mutated = mutate(&mutated, &mut rng);
                if mutated.chars().count() < 3 {
                    break;
                }
            }
        }
        intact.push(!damaged);
        texts.push(mutated);
        originals.push(record);
    }
    // The reference: each text piped on its own, as one record.
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let reference = records_of(&piped(&refs));
    let wanted: Vec<String> = {
        let intact_texts: Vec<&str> = texts.iter().zip(&intact).filter(|(_, ok)| **ok).map(|(t, _)| t.as_str()).collect();
        records_of(&piped(&intact_texts))
    };
    for record in &wanted {
        if !reference.contains(record) {
            return Err(format!("seed {seed}: an undamaged record is not read from its own text: {record}"));
        }
    }
    let mut shapes = shapes(&texts, &originals);
    // The whole JSON Lines text piped as one string (Get-Content -Raw).
    let document = shapes[0].1.clone();
    let as_document = records_of(&piped(&[&document]));
    if as_document != reference {
        return Err(diff(seed, "JSON Lines piped as one string", &reference, &as_document, &shapes[0].1));
    }
    for (name, text) in shapes.drain(..) {
        let chunk = [1 + rng.below(64), 1 + rng.below(4096), 4 << 20][rng.below(3)];
        let threads = 1 + rng.below(2);
        let got = records_of(&read_bytes(text.as_bytes(), options(chunk, threads)));
        if got != reference {
            return Err(diff(seed, &format!("{name} (chunk {chunk}, threads {threads})"), &reference, &got, &text));
        }
    }
    Ok(())
}

fn diff(seed: u64, shape: &str, reference: &[String], got: &[String], text: &str) -> String {
    let missing: Vec<&String> = reference.iter().filter(|r| !got.contains(r)).collect();
    let extra: Vec<&String> = got.iter().filter(|r| !reference.contains(r)).collect();
    if let Some(dir) = std::env::var_os("MAF_FUZZ_KEEP") {
        let path = std::path::Path::new(&dir).join(format!("fuzz-{seed}-{}.txt", shape.split(' ').next().unwrap_or("shape")));
        let _ = std::fs::write(&path, text);
    }
    let short = |r: &&String| r.chars().take(160).collect::<String>();
    format!(
        "seed {seed}, {shape}: {} records where the records one by one give {}; missing {:?}; extra {:?}",
        got.len(),
        reference.len(),
        missing.iter().map(short).collect::<Vec<_>>(),
        extra.iter().map(short).collect::<Vec<_>>()
    )
}

/// `MAF_FUZZ_SEED=n cargo test --test input_fuzz explain -- --nocapture`: what one round did.
#[test]
fn explain() {
    let Some(seed) = std::env::var("MAF_FUZZ_SEED").ok().and_then(|s| s.parse::<u64>().ok()) else { return };
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let templates = audit_records();
    for i in 0..24 {
        let mut record = templates[rng.below(templates.len())].clone();
        record["Id"] = Value::String(format!("{seed:08x}-{i:04}"));
        let text = record.to_string();
        let mut mutated = text.clone();
        if rng.chance(30) {
            for _ in 0..1 + rng.below(2) {
                mutated = mutate(&mutated, &mut rng);
                if mutated.chars().count() < 3 {
                    break;
                }
            }
        }
        let alone = summary(&piped(&[&mutated]));
        eprintln!("{i:2} {} {alone:?}\n   {mutated}", if mutated == text { "intact " } else { "DAMAGED" });
    }
    if let Err(e) = round(seed, 24) {
        eprintln!("{e}");
    }
    if let Ok(shape) = std::env::var("MAF_FUZZ_SHAPE") {
        let dir = std::env::var("MAF_FUZZ_KEEP").unwrap_or_else(|_| "/tmp".into());
        let text = std::fs::read(std::path::Path::new(&dir).join(format!("fuzz-{seed}-{shape}.txt"))).unwrap();
        for r in read_bytes(&text, options(4 << 20, 1)) {
            match &r.outcome {
                Err(e) => eprintln!("E {:?}: {}", r.position.line, e.message),
                Ok(_) => eprintln!("{}", summary(std::slice::from_ref(&r))[0]),
            }
        }
    }
}

#[test]
fn damaged_records_cost_only_themselves_in_every_shape() {
    let rounds: u64 = std::env::var("MAF_FUZZ_ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(500);
    let failures: Vec<String> = (1..=rounds).filter_map(|seed| round(seed, 24).err()).collect();
    assert!(failures.is_empty(), "{} of {rounds} rounds failed:\n{}", failures.len(), failures.join("\n"));
}

/// Bytes that matter to the readers, and some that do not.
const NOISE: &[&[u8]] = &[
    b"{",
    b"}",
    b"[",
    b"]",
    b"\"",
    b":",
    b",",
    b"\\",
    b"\n",
    b"\r",
    b"\r\n",
    b" ",
    b"\t",
    b"\0",
    b"a",
    b"0",
    b"-",
    b"1e5",
    b"true",
    b"null",
    "\u{e9}".as_bytes(),
    b"\xE9",
    b"\xFF",
    b"\xC3",
    b"sep=",
    b";",
    b"\"\"",
    b"\"Operation\"",
    b"\"MailItemsAccessed\"",
    b"\"value\":[",
    b"\"@odata.nextLink\":",
    b"\"AuditData\"",
    b"#TYPE x\n",
    b"PK\x03\x04",
    b"\x1f\x8b",
];

/// No input panics the readers, whatever its bytes: fed at random from pieces of JSON and CSV
/// (and bytes that are neither), in every chunk size, from a file and from the pipeline.
#[test]
fn arbitrary_bytes_never_panic() {
    let rounds: u64 = std::env::var("MAF_FUZZ_ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(300);
    let records: Vec<String> = audit_records().iter().map(|r| r.to_string()).collect();
    for seed in 1..=rounds {
        let mut rng = Rng(seed.wrapping_mul(0xD1B5_4A32_D192_ED03) | 1);
        let mut bytes = Vec::new();
        match rng.below(3) {
            0 => bytes.extend_from_slice(b"RecordId,AuditData\n"),
            1 => bytes.push(b'['),
            _ => {}
        }
        for _ in 0..rng.below(400) {
            if rng.chance(10) {
                bytes.extend_from_slice(records[rng.below(records.len())].as_bytes());
            } else {
                bytes.extend_from_slice(NOISE[rng.below(NOISE.len())]);
            }
        }
        let chunk = 1 + rng.below(300);
        let results = read_bytes(&bytes, options(chunk, 1 + rng.below(2)));
        // Whatever was read has a place.
        for (i, result) in results.iter().enumerate() {
            assert_eq!(result.position.index, i as u64);
        }
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let _ = piped(&[&text]);
        let lines: Vec<&str> = text.lines().collect();
        let _ = piped(&lines);
    }
}

#[test]
fn the_lexical_re_indenting_keeps_valid_text_valid() {
    for record in audit_records() {
        let text = record.to_string();
        let back: Value = serde_json::from_str(&pretty(&text, 2)).unwrap();
        assert_eq!(back, record);
    }
}
