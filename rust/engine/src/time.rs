//! Timestamps as audit tools write them. Every result is UTC: audit records are stored in UTC,
//! and a time without a zone is UTC (as Search-UnifiedAuditLog documents for its own dates).

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, NaiveTime, Utc};

/// How to read an all-numeric date such as `5/6/2020`: the culture that wrote it decides.
/// A component above 12 settles it whatever the order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum DateOrder {
    #[default]
    MonthFirst,
    DayFirst,
}

/// Parses the timestamp forms seen in audit exports:
/// ISO 8601 (`2023-09-15T18:16:53`, `2021-08-02T13:32:07.0000000Z`, with offset, with a space
/// instead of `T`, padded with spaces) and culture forms (`5/13/2020 10:30:00 AM`,
/// `13.05.2020 10:30:00`, `2020/05/13 10:30:00`).
pub fn parse_timestamp(text: &str, order: DateOrder) -> Result<DateTime<Utc>, String> {
    let trimmed = crate::model::trim(text);
    if trimmed.is_empty() {
        return Err("the timestamp is empty".to_string());
    }
    let bytes = trimmed.as_bytes();
    let parsed = if bytes.len() >= 10 && bytes[4] == b'-' && bytes[7] == b'-' { parse_iso(trimmed) } else { parse_culture(trimmed, order) };
    parsed.ok_or_else(|| format!("'{}' is not a timestamp this tool can read", shorten(trimmed)))
}

fn shorten(text: &str) -> String {
    if text.chars().count() <= 60 {
        text.to_string()
    } else {
        let mut out: String = text.chars().take(60).collect();
        out.push('…');
        out
    }
}

fn digits(bytes: &[u8]) -> Option<u32> {
    if bytes.is_empty() || bytes.len() > 9 {
        return None;
    }
    let mut value = 0u32;
    for &b in bytes {
        if !b.is_ascii_digit() {
            return None;
        }
        value = value * 10 + u32::from(b - b'0');
    }
    Some(value)
}

fn parse_iso(text: &str) -> Option<DateTime<Utc>> {
    let b = text.as_bytes();
    let date = NaiveDate::from_ymd_opt(digits(&b[0..4])? as i32, digits(&b[5..7])?, digits(&b[8..10])?)?;
    match parse_common_clock(b) {
        Some(time) => Some(NaiveDateTime::new(date, time?).and_utc()),
        None => parse_iso_after_date(text, date),
    }
}

/// The clock of AuditData's own shape, `2025-03-03T08:15:02`, as [`parse_iso_after_date`]
/// reads it, without its searches for a zone and a fraction; None for any other shape.
fn parse_common_clock(b: &[u8]) -> Option<Option<NaiveTime>> {
    let [_, _, _, _, _, _, _, _, _, _, b'T', h1, h2, b':', m1, m2, b':', s1, s2] = *b else {
        return None;
    };
    let (hour, minute, second) = (digits(&[h1, h2])?, digits(&[m1, m2])?, digits(&[s1, s2])?);
    Some(NaiveTime::from_hms_opt(hour, minute, second))
}

fn parse_iso_after_date(text: &str, date: NaiveDate) -> Option<DateTime<Utc>> {
    let mut rest = &text[10..];
    if rest.is_empty() {
        return Some(date.and_time(NaiveTime::MIN).and_utc());
    }
    let sep = rest.as_bytes()[0];
    if sep != b'T' && sep != b't' && sep != b' ' {
        return None;
    }
    rest = &rest[1..];
    // Time part up to the zone designator.
    let zone_at =
        rest.char_indices().find(|&(i, c)| c == 'Z' || c == 'z' || c == '+' || (c == '-' && i > 0)).map(|(i, _)| i).unwrap_or(rest.len());
    let (clock, zone) = rest.split_at(zone_at);
    let time = parse_clock(clock.trim_end())?;
    let naive = NaiveDateTime::new(date, time);
    let offset_seconds = parse_zone(zone.trim())?;
    Some(naive.and_utc() - Duration::seconds(i64::from(offset_seconds)))
}

/// `HH:MM[:SS[.fraction]]`
fn parse_clock(text: &str) -> Option<NaiveTime> {
    let mut parts = text.splitn(3, ':');
    let hour = digits(parts.next()?.as_bytes())?;
    let minute = digits(parts.next()?.as_bytes())?;
    let (second, nanos) = match parts.next() {
        None => (0, 0),
        Some(sec) => {
            let (whole, fraction) = match sec.split_once(['.', ',']) {
                Some((whole, fraction)) => (whole, Some(fraction)),
                None => (sec, None),
            };
            let second = digits(whole.as_bytes())?;
            let nanos = match fraction {
                None => 0,
                Some(f) => {
                    if f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit()) {
                        return None;
                    }
                    // Keep nanosecond precision; more digits than that carry nothing real.
                    let kept = &f[..f.len().min(9)];
                    let value = digits(kept.as_bytes())?;
                    value * 10u32.pow(9 - kept.len() as u32)
                }
            };
            (second, nanos)
        }
    };
    NaiveTime::from_hms_nano_opt(hour, minute, second, nanos)
}

/// Seconds east of UTC: `Z`, `+HH:MM`, `+HHMM`, `+HH`, or nothing (UTC).
fn parse_zone(zone: &str) -> Option<i32> {
    if zone.is_empty() || zone.eq_ignore_ascii_case("z") {
        return Some(0);
    }
    let (sign, rest) = match zone.as_bytes()[0] {
        b'+' => (1, &zone[1..]),
        b'-' => (-1, &zone[1..]),
        _ => return None,
    };
    let (hours, minutes) = match rest.len() {
        2 => (digits(rest.as_bytes())?, 0),
        4 => (digits(&rest.as_bytes()[..2])?, digits(&rest.as_bytes()[2..])?),
        5 if rest.as_bytes()[2] == b':' => (digits(&rest.as_bytes()[..2])?, digits(&rest.as_bytes()[3..])?),
        _ => return None,
    };
    if hours > 23 || minutes > 59 {
        return None;
    }
    Some(sign * (hours as i32 * 3600 + minutes as i32 * 60))
}

/// `5/13/2020 10:30:00 AM`, `13.05.2020 10:30`, `2020/05/13 10:30:00`, date alone.
fn parse_culture(text: &str, order: DateOrder) -> Option<DateTime<Utc>> {
    let (date_part, time_part) = match text.split_once(|c: char| c.is_whitespace()) {
        Some((d, t)) => (d, t.trim()),
        None => (text, ""),
    };
    // Log Analytics (Sentinel) CSV exports write `8/2/2021, 1:32:07.000 PM`.
    let date_part = date_part.strip_suffix(',').unwrap_or(date_part);
    let fields: Vec<&str> = date_part.split(['/', '.', '-']).collect();
    if fields.len() != 3 {
        return None;
    }
    let numbers = [digits(fields[0].as_bytes())?, digits(fields[1].as_bytes())?, digits(fields[2].as_bytes())?];
    let (year, month, day) = if fields[0].len() == 4 {
        (numbers[0], numbers[1], numbers[2])
    } else if fields[2].len() == 4 {
        let (a, b) = (numbers[0], numbers[1]);
        let day_first = match order {
            _ if a > 12 && b <= 12 => true,
            _ if b > 12 && a <= 12 => false,
            DateOrder::DayFirst => true,
            DateOrder::MonthFirst => false,
        };
        if day_first {
            (numbers[2], b, a)
        } else {
            (numbers[2], a, b)
        }
    } else {
        return None;
    };
    let date = NaiveDate::from_ymd_opt(year as i32, month, day)?;
    let time = if time_part.is_empty() { NaiveTime::MIN } else { parse_clock_with_meridiem(time_part)? };
    Some(NaiveDateTime::new(date, time).and_utc())
}

fn parse_clock_with_meridiem(text: &str) -> Option<NaiveTime> {
    let upper = text.to_ascii_uppercase();
    let (clock, pm) = if let Some(clock) = upper.strip_suffix("PM") {
        (clock.trim_end().to_string(), Some(true))
    } else if let Some(clock) = upper.strip_suffix("AM") {
        (clock.trim_end().to_string(), Some(false))
    } else {
        (upper, None)
    };
    let time = parse_clock(&clock)?;
    match pm {
        None => Some(time),
        Some(pm) => {
            use chrono::Timelike;
            let hour = time.hour();
            if hour == 0 || hour > 12 {
                return None;
            }
            let hour24 = match (hour, pm) {
                (12, false) => 0,
                (12, true) => 12,
                (h, false) => h,
                (h, true) => h + 12,
            };
            time.with_hour(hour24)
        }
    }
}

/// .NET `DateTime.Ticks` of 1970-01-01T00:00:00Z.
const UNIX_EPOCH_TICKS: i64 = 621_355_968_000_000_000;

/// The instant as .NET ticks (100 ns since 0001-01-01, UTC).
pub fn to_dotnet_ticks(time: &DateTime<Utc>) -> i64 {
    UNIX_EPOCH_TICKS + time.timestamp() * 10_000_000 + i64::from(time.timestamp_subsec_nanos() / 100)
}

/// The inverse of [`to_dotnet_ticks`]; None outside chrono's range.
pub fn from_dotnet_ticks(ticks: i64) -> Option<DateTime<Utc>> {
    let since_epoch = ticks.checked_sub(UNIX_EPOCH_TICKS)?;
    let seconds = since_epoch.div_euclid(10_000_000);
    let nanos = (since_epoch.rem_euclid(10_000_000) * 100) as u32;
    DateTime::from_timestamp(seconds, nanos)
}

/// Round-trip text for a time: ISO 8601 in UTC with 7 fractional digits, as .NET writes "o".
pub fn format_iso(time: &DateTime<Utc>) -> String {
    format!("{}.{:07}Z", time.format("%Y-%m-%dT%H:%M:%S"), time.timestamp_subsec_nanos() / 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iso(text: &str) -> String {
        format_iso(&parse_timestamp(text, DateOrder::MonthFirst).unwrap())
    }

    #[test]
    fn the_common_shape_reads_as_any_other() {
        let date = NaiveDate::from_ymd_opt(2024, 2, 29).unwrap();
        for clock in
            ["08:15:02", "00:00:00", "23:59:59", "23:59:60", "24:00:00", "12:60:00", "1a:00:00", "12:0 :00", "12:00:+1", "-1:00:00"]
        {
            let text = format!("2024-02-29T{clock}");
            let general = parse_iso_after_date(&text, date);
            assert_eq!(
                parse_common_clock(text.as_bytes()).map(|time| time.map(|t| NaiveDateTime::new(date, t).and_utc())).unwrap_or(general),
                general,
                "{text}"
            );
            assert_eq!(parse_iso(&text), general, "{text}");
        }
        assert!(parse_common_clock(b"2024-02-29T08:15:02").is_some(), "the shortcut is taken");
    }

    #[test]
    fn iso_forms() {
        assert_eq!(iso("2023-09-15T18:16:53"), "2023-09-15T18:16:53.0000000Z");
        assert_eq!(iso("2021-08-02T13:32:07.0000000Z"), "2021-08-02T13:32:07.0000000Z");
        assert_eq!(iso("2024-10-03T11:23:17Z"), "2024-10-03T11:23:17.0000000Z");
        assert_eq!(iso("2026-01-24T06:54:24.0000000Z "), "2026-01-24T06:54:24.0000000Z");
        assert_eq!(iso("2018-05-06 14:30:00z"), "2018-05-06T14:30:00.0000000Z");
        assert_eq!(iso("2020-05-13T12:30:00+02:00"), "2020-05-13T10:30:00.0000000Z");
        assert_eq!(iso("2020-05-13T12:30:00-0130"), "2020-05-13T14:00:00.0000000Z");
        assert_eq!(iso("2020-05-13T12:30:00.1234567891Z"), "2020-05-13T12:30:00.1234567Z");
        assert_eq!(iso("2020-05-13"), "2020-05-13T00:00:00.0000000Z");
    }

    #[test]
    fn culture_forms() {
        assert_eq!(iso("5/13/2020 10:30:00 AM"), "2020-05-13T10:30:00.0000000Z");
        assert_eq!(iso("5/13/2020 12:05:00 AM"), "2020-05-13T00:05:00.0000000Z");
        assert_eq!(iso("5/13/2020 12:05:00 PM"), "2020-05-13T12:05:00.0000000Z");
        assert_eq!(iso("5/13/2020 1:05:00 PM"), "2020-05-13T13:05:00.0000000Z");
        assert_eq!(iso("13.05.2020 10:30:00"), "2020-05-13T10:30:00.0000000Z");
        assert_eq!(iso("2020/05/13 10:30:00"), "2020-05-13T10:30:00.0000000Z");
        assert_eq!(iso("8/2/2021, 1:32:07.000 PM"), "2021-08-02T13:32:07.0000000Z");
        // Ambiguous: the culture decides.
        assert_eq!(iso("3/12/2025 7:31:34 AM"), "2025-03-12T07:31:34.0000000Z");
        assert_eq!(format_iso(&parse_timestamp("3/12/2025 7:31:34 AM", DateOrder::DayFirst).unwrap()), "2025-12-03T07:31:34.0000000Z");
    }

    #[test]
    fn bad_timestamps_are_errors() {
        for bad in ["", "yesterday", "2020-13-01T00:00:00", "2020-05-13T25:00:00", "13/13/2020", "5/13/2020 13:00 PM", "2020-05-13X10:00"] {
            assert!(parse_timestamp(bad, DateOrder::MonthFirst).is_err(), "{bad}");
        }
    }

    #[test]
    fn ticks_round_trip() {
        let t = parse_timestamp("2021-08-02T13:32:07.1234567Z", DateOrder::MonthFirst).unwrap();
        let ticks = to_dotnet_ticks(&t);
        // [datetime]::new(2021,8,2,13,32,7,'Utc').AddTicks(1234567).Ticks
        assert_eq!(ticks, 637_635_079_271_234_567);
        assert_eq!(from_dotnet_ticks(ticks), Some(t));
    }
}
