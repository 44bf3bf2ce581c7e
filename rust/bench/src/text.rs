//! Writing the three output formats byte by byte: JSON as Exchange writes AuditData (compact,
//! fields in a fixed order, non-ASCII as `\uXXXX`), CSV as the Purview export quotes it, and
//! the small value formats (times, GUIDs, store ids).

use crate::rng::{hash, Rng};

/// A compact JSON object/array writer that keeps fields in the order they are written.
pub struct Json<'a> {
    out: &'a mut Vec<u8>,
    /// One entry per open object or array: whether a value was written in it yet.
    open: Vec<bool>,
}

impl<'a> Json<'a> {
    pub fn new(out: &'a mut Vec<u8>) -> Json<'a> {
        Json { out, open: Vec::with_capacity(8) }
    }

    fn comma(&mut self) {
        if let Some(written) = self.open.last_mut() {
            if *written {
                self.out.push(b',');
            }
            *written = true;
        }
    }

    fn key(&mut self, key: &str) {
        self.comma();
        self.out.push(b'"');
        self.out.extend_from_slice(key.as_bytes());
        self.out.extend_from_slice(b"\":");
    }

    pub fn begin_object(&mut self) -> &mut Self {
        self.comma();
        self.out.push(b'{');
        self.open.push(false);
        self
    }

    pub fn begin_array(&mut self) -> &mut Self {
        self.comma();
        self.out.push(b'[');
        self.open.push(false);
        self
    }

    pub fn object(&mut self, key: &str) -> &mut Self {
        self.key(key);
        self.out.push(b'{');
        self.open.push(false);
        self
    }

    pub fn array(&mut self, key: &str) -> &mut Self {
        self.key(key);
        self.out.push(b'[');
        self.open.push(false);
        self
    }

    pub fn end_object(&mut self) -> &mut Self {
        self.open.pop();
        self.out.push(b'}');
        self
    }

    pub fn end_array(&mut self) -> &mut Self {
        self.open.pop();
        self.out.push(b']');
        self
    }

    pub fn str(&mut self, key: &str, value: &str) -> &mut Self {
        self.key(key);
        json_string(self.out, value);
        self
    }

    pub fn int(&mut self, key: &str, value: i64) -> &mut Self {
        self.key(key);
        self.out.extend_from_slice(value.to_string().as_bytes());
        self
    }

    pub fn bool(&mut self, key: &str, value: bool) -> &mut Self {
        self.key(key);
        self.out.extend_from_slice(if value { b"true" } else { b"false" });
        self
    }

    /// A string element of an array.
    pub fn item_str(&mut self, value: &str) -> &mut Self {
        self.comma();
        json_string(self.out, value);
        self
    }

    /// A `{"Name":..,"Value":..}` element, as OperationProperties and ExtendedProperties write them.
    pub fn name_value(&mut self, name: &str, value: &str) -> &mut Self {
        self.begin_object().str("Name", name).str("Value", value).end_object()
    }
}

/// A JSON string literal, escaped as Exchange escapes it: `"` `\` and control characters, and
/// every non-ASCII character as `\uXXXX` (the samples show `\u00ee` in folder names).
pub fn json_string(out: &mut Vec<u8>, value: &str) {
    out.push(b'"');
    let plain = |b: u8| (0x20..0x80).contains(&b) && b != b'"' && b != b'\\';
    if value.bytes().all(plain) {
        out.extend_from_slice(value.as_bytes());
    } else {
        for ch in value.chars() {
            match ch {
                '"' => out.extend_from_slice(b"\\\""),
                '\\' => out.extend_from_slice(b"\\\\"),
                '\n' => out.extend_from_slice(b"\\n"),
                '\r' => out.extend_from_slice(b"\\r"),
                '\t' => out.extend_from_slice(b"\\t"),
                c if c.is_ascii() && !c.is_ascii_control() => out.push(c as u8),
                c => {
                    let mut units = [0u16; 2];
                    for unit in c.encode_utf16(&mut units) {
                        out.extend_from_slice(format!("\\u{:04x}", unit).as_bytes());
                    }
                }
            }
        }
    }
    out.push(b'"');
}

/// A CSV field: quoted (with doubled quotes) when it holds a quote, comma, CR or LF, or
/// begins or ends with a space, as the Purview export writes it.
pub fn csv_field(out: &mut Vec<u8>, value: &[u8]) {
    let needs = value.iter().any(|&b| b == b'"' || b == b',' || b == b'\n' || b == b'\r')
        || value.first() == Some(&b' ')
        || value.last() == Some(&b' ');
    if !needs {
        out.extend_from_slice(value);
        return;
    }
    out.push(b'"');
    for &b in value {
        if b == b'"' {
            out.push(b'"');
        }
        out.push(b);
    }
    out.push(b'"');
}

/// Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// `2025-03-03T08:15:02`: AuditData's CreationTime (UTC, no zone, no fraction).
pub fn iso_seconds(unix: i64) -> String {
    let (y, m, d) = civil(unix.div_euclid(86_400));
    let s = unix.rem_euclid(86_400);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// `2025-03-03T08:15:02.0000000Z `: the Purview export's CreationDate, trailing space included
/// (as seen in a real export).
pub fn purview_date(unix: i64) -> String {
    format!("{}.0000000Z ", iso_seconds(unix))
}

/// Day of the week, 0 = Monday.
pub fn weekday(unix: i64) -> u32 {
    // 1970-01-01 was a Thursday.
    ((unix.div_euclid(86_400) + 3).rem_euclid(7)) as u32
}

/// A version-4-shaped GUID from 128 random bits, lower case.
pub fn guid(a: u64, b: u64) -> String {
    let a = (a & 0xFFFF_FFFF_FFFF_0FFF) | 0x0000_0000_0000_4000;
    let b = (b & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000;
    format!("{:08x}-{:04x}-{:04x}-{:04x}-{:012x}", a >> 32, (a >> 16) & 0xFFFF, a & 0xFFFF, b >> 48, b & 0xFFFF_FFFF_FFFF)
}

pub fn guid_of(parts: &[u64]) -> String {
    let a = hash(parts);
    guid(a, crate::rng::mix(a ^ 0x5555))
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// A store-id-like token (`LgAAAA...`, `RgAAAA...`): a prefix and base64 characters.
///
/// The text never contains "sync" in any case: Microsoft's `-like '*MailAccessType*Sync*'`
/// filter matches any later "sync" in the record, so a random id would make a Bind record
/// look like a Sync record to the seed-style script, and the benchmark compares answers.
pub fn store_id(prefix: &str, seed: u64, len: usize) -> String {
    let mut rng = Rng::new(seed);
    let mut out = String::with_capacity(prefix.len() + len);
    out.push_str(prefix);
    while out.len() < prefix.len() + len {
        let c = B64[rng.below(64) as usize] as char;
        out.push(c);
        let n = out.len();
        if n >= 4 && out[n - 4..].eq_ignore_ascii_case("sync") {
            out.pop();
            out.push('A');
        }
    }
    out
}

/// Upper-case hex of the given length from a seed.
pub fn hex_upper(seed: u64, len: usize) -> String {
    let mut rng = Rng::new(seed);
    let mut out = String::with_capacity(len);
    while out.len() < len {
        out.push_str(&format!("{:016X}", rng.next_u64()));
    }
    out.truncate(len);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(iso_seconds(1_740_960_000), "2025-03-03T00:00:00");
        assert_eq!(iso_seconds(1_740_960_000 + 86_400 * 30 + 3661), "2025-04-02T01:01:01");
        assert_eq!(weekday(1_740_960_000), 0);
        assert_eq!(purview_date(0), "1970-01-01T00:00:00.0000000Z ");
    }

    #[test]
    fn json_escapes_like_exchange() {
        let mut out = Vec::new();
        json_string(&mut out, "\\Bo\u{ee}te de r\u{e9}ception\r\n\"");
        assert_eq!(String::from_utf8(out).unwrap(), r#""\\Bo\u00eete de r\u00e9ception\r\n\"""#);
        let mut out = Vec::new();
        Json::new(&mut out).begin_object().str("A", "x").int("B", 2).array("C").name_value("N", "V").end_array().end_object();
        assert_eq!(String::from_utf8(out).unwrap(), r#"{"A":"x","B":2,"C":[{"Name":"N","Value":"V"}]}"#);
    }

    #[test]
    fn csv_quotes() {
        let mut out = Vec::new();
        csv_field(&mut out, br#"{"a":1}"#);
        out.push(b',');
        csv_field(&mut out, b"plain");
        out.push(b',');
        csv_field(&mut out, b"2025 ");
        assert_eq!(String::from_utf8(out).unwrap(), r#""{""a"":1}",plain,"2025 ""#);
    }

    #[test]
    fn store_ids_never_say_sync() {
        for seed in 0..20_000u64 {
            let id = store_id("RgAAAA", seed, 60);
            assert!(!id.to_ascii_lowercase().contains("sync"), "{id}");
            assert_eq!(id.len(), 66);
        }
        let g = guid(u64::MAX, 0);
        assert_eq!(g.len(), 36);
        assert_eq!(&g[14..15], "4");
    }
}
