//! Values written into query text. Every indicator is data: it becomes a KQL string literal
//! (escaped per the language's rules), never query text.

use chrono::{DateTime, Utc};

use crate::analysis::Wildcard;

/// Text that can stand in a KQL literal: no control characters except tab, newline and
/// carriage return (which have escapes). No audit value or indicator holds one.
pub(crate) fn check_text(parameter: &str, value: &str) -> Result<(), String> {
    match value.chars().find(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r')) {
        Some(c) => Err(format!(
            "-{parameter}: '{}' holds the control character U+{:04X}, which no audit record holds",
            value.escape_debug(),
            c as u32
        )),
        None => Ok(()),
    }
}

/// A double-quoted KQL string literal: backslash escapes the quote, the backslash itself, tab,
/// newline and carriage return. `//` inside a literal is text, not a comment.
pub(crate) fn string(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            other => out.push(other),
        }
    }
    out.push('"');
    out
}

/// A verbatim literal (`@"..."`, the quote doubled), for regular expressions: their
/// backslashes stay as they are. Callers never pass a line break (check_text refuses none,
/// but regexes are built from wildcards, which it checked for control characters).
pub(crate) fn verbatim(value: &str) -> String {
    debug_assert!(!value.contains(['\n', '\r']), "a verbatim KQL literal cannot hold a line break");
    format!("@\"{}\"", value.replace('"', "\"\""))
}

/// A list of strings: `dynamic([])` when empty, else `pack_array("a", "b")`.
pub(crate) fn strings(values: &[String]) -> String {
    if values.is_empty() {
        return "dynamic([])".to_string();
    }
    let items: Vec<String> = values.iter().map(|v| string(v)).collect();
    format!("pack_array({})", items.join(", "))
}

pub(crate) fn datetime(value: Option<DateTime<Utc>>) -> String {
    match value {
        // KQL datetimes have 100 ns ticks.
        Some(time) => format!("datetime({}.{:07}Z)", time.format("%Y-%m-%dT%H:%M:%S"), time.timestamp_subsec_nanos() / 100),
        None => "datetime(null)".to_string(),
    }
}

/// Wildcards as one case-insensitive regular expression matching a whole value; empty when
/// there are none (the query then does not filter).
pub(crate) fn wildcard_regex(patterns: &[Wildcard]) -> String {
    if patterns.is_empty() {
        return String::new();
    }
    let alternatives: Vec<String> = patterns.iter().map(Wildcard::to_regex).collect();
    // (?m): a finding's accounts are matched as lines of one text.
    format!("(?im)^(?:{})$", alternatives.join("|"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_literals_escape_what_kql_escapes() {
        assert_eq!(string("plain"), "\"plain\"");
        assert_eq!(string("a\"b\\c"), "\"a\\\"b\\\\c\"");
        assert_eq!(string("x\ny\tz\r"), "\"x\\ny\\tz\\r\"");
        assert_eq!(string("s\"); OfficeActivity | take 1 //"), "\"s\\\"); OfficeActivity | take 1 //\"");
        assert_eq!(strings(&[]), "dynamic([])");
        assert_eq!(strings(&["a".into(), "b'c".into()]), "pack_array(\"a\", \"b'c\")");
    }

    #[test]
    fn control_characters_are_refused() {
        assert!(check_text("AttackerSessionId", "ok\ttab").is_ok());
        let error = check_text("AttackerSessionId", "bad\u{0}").unwrap_err();
        assert!(error.contains("U+0000"), "{error}");
    }

    #[test]
    fn verbatim_doubles_quotes() {
        assert_eq!(verbatim(r#"a"b\."#), r#"@"a""b\.""#);
    }

    #[test]
    fn dates_and_patterns() {
        let time: DateTime<Utc> = "2024-05-01T10:00:00Z".parse().unwrap();
        assert_eq!(datetime(Some(time)), "datetime(2024-05-01T10:00:00.0000000Z)");
        assert_eq!(datetime(None), "datetime(null)");
        let patterns = [Wildcard::new("bob@contoso.com").unwrap(), Wildcard::new("*@fin.contoso.com").unwrap()];
        assert_eq!(wildcard_regex(&patterns), r"(?im)^(?:bob@contoso\.com|.*@fin\.contoso\.com)$");
        assert_eq!(wildcard_regex(&[]), "");
    }
}
