//! JSON for SIEMs and scripts: one document `{"run": ..., "findings": [...]}`, or JSON Lines,
//! one object a line (the run first, then each finding with the run's id), for tools that
//! ingest a line at a time. Properties keep their order; times are ISO 8601 UTC with seven
//! fractional digits, as .NET writes them round-trip.

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

use super::{Report, ReportItem, Value, NOT_CELLS};
use crate::time::format_iso;

/// A value as JSON.
struct Json<'v, 'a>(&'v Value<'a>);

impl Serialize for Json<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Null => serializer.serialize_unit(),
            Value::Bool(b) => serializer.serialize_bool(*b),
            Value::Int(i) => serializer.serialize_i64(*i),
            Value::Float(f) if f.is_finite() => serializer.serialize_f64(*f),
            Value::Float(_) => serializer.serialize_unit(),
            Value::Text(s) => serializer.serialize_str(s),
            Value::Time(time) => serializer.serialize_str(&format_iso(time)),
            Value::TimeOutOfRange(_) => serializer.serialize_unit(),
            Value::List(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(&Json(item))?;
                }
                seq.end()
            }
            Value::Object(entries) => {
                let mut map = serializer.serialize_map(Some(entries.len()))?;
                for (key, value) in entries {
                    map.serialize_entry(key, &Json(value))?;
                }
                map.end()
            }
            Value::Unreadable(reason) => {
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry("Unreadable", reason)?;
                map.end()
            }
        }
    }
}

/// An item's properties as a JSON object, optionally led by extra fields, without the
/// properties that are reported elsewhere (`skip`).
struct Object<'r, 'a> {
    leading: Vec<(&'static str, Value<'a>)>,
    item: &'r ReportItem<'a>,
    skip: &'static [&'static str],
}

impl Serialize for Object<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        for (key, value) in &self.leading {
            map.serialize_entry(key, &Json(value))?;
        }
        for (key, value) in &self.item.properties {
            if !self.skip.contains(key) {
                map.serialize_entry(key, &Json(value))?;
            }
        }
        map.end()
    }
}

/// The run is reported once, not inside each finding.
const IN_FINDINGS: &[&str] = &[NOT_CELLS[0]];

struct Document<'c, 'r, 'a>(&'c Report<'r, 'a>);

impl Serialize for Document<'_, '_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let report = self.0;
        let mut map = serializer.serialize_map(None)?;
        match &report.run {
            Some(run) => map.serialize_entry("run", &Object { leading: Vec::new(), item: run.item, skip: &[] })?,
            None => map.serialize_entry("run", &())?,
        }
        if let Some(summary) = report.summary {
            map.serialize_entry("summary", &Object { leading: Vec::new(), item: summary, skip: &[] })?;
        }
        let findings: Vec<Object> =
            report.findings.iter().map(|f| Object { leading: Vec::new(), item: f.item, skip: IN_FINDINGS }).collect();
        map.serialize_entry("findings", &findings)?;
        if !report.others.is_empty() {
            let others: Vec<Object> = report
                .others
                .iter()
                .map(|o| Object { leading: vec![("Type", Value::Text(o.type_name))], item: o, skip: IN_FINDINGS })
                .collect();
            map.serialize_entry("results", &others)?;
        }
        map.end()
    }
}

fn to_text<T: Serialize>(value: &T, pretty: bool) -> String {
    let result = if pretty { serde_json::to_string_pretty(value) } else { serde_json::to_string(value) };
    // Writing to a String cannot fail, and every key is text.
    result.expect("a report serialises to JSON")
}

/// `{"run": ..., "summary": ... (when given), "findings": [...], "results": [...] (other
/// objects, when any)}`, indented.
pub fn render_json(report: &Report<'_, '_>) -> String {
    let mut text = to_text(&Document(report), true);
    text.push('\n');
    text
}

/// One object a line: the run (`"Type": "MailAccessForensics.MailAccessRun"`), then each
/// finding and other object with its `Type`, findings also with the run's `RunId`.
pub fn render_json_lines(report: &Report<'_, '_>) -> String {
    let mut out = String::new();
    let run_id = report.run.as_ref().and_then(|run| run.id).cloned().unwrap_or(Value::Null);
    let mut line = |object: Object| {
        out.push_str(&to_text(&object, false));
        out.push('\n');
    };
    if let Some(run) = &report.run {
        line(Object { leading: vec![("Type", Value::Text(run.item.type_name))], item: run.item, skip: &[] });
    }
    if let Some(summary) = report.summary {
        line(Object { leading: vec![("Type", Value::Text(summary.type_name))], item: summary, skip: &[] });
    }
    for finding in &report.findings {
        let leading = vec![("Type", Value::Text(finding.item.type_name)), ("RunId", run_id.clone())];
        line(Object { leading, item: finding.item, skip: IN_FINDINGS });
    }
    for other in &report.others {
        line(Object { leading: vec![("Type", Value::Text(other.type_name))], item: other, skip: IN_FINDINGS });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::tree::BatchWriter;
    use crate::report::tests::{finding, items_of, report_items, run};

    #[test]
    fn one_document_with_the_run_and_the_findings_in_order() {
        let mut writer = BatchWriter::default();
        run(&mut writer);
        finding(&mut writer, "Client=\"quoted\"</script>", "\\Inbox");
        let nodes = items_of(&writer.buf);
        let items = report_items(&nodes);
        let text = render_json(&Report::of(&items));
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["run"]["Id"], "run-1");
        assert_eq!(value["run"]["StartTime"], "2026-01-20T10:00:00.0000000Z");
        assert_eq!(value["findings"][0]["Kind"], "SyncedFolder");
        assert_eq!(value["findings"][0]["ClientInfoString"][0], "Client=\"quoted\"</script>");
        assert!(value.get("results").is_none());
        // Keys keep the objects' order.
        let kind = text.find("\"Kind\"").unwrap();
        let mailbox = text.find("\"Mailbox\"").unwrap();
        assert!(kind < mailbox);
    }

    #[test]
    fn json_lines_give_the_run_then_each_finding_with_its_run_id() {
        let mut writer = BatchWriter::default();
        run(&mut writer);
        finding(&mut writer, "Client=OWA", "\\Inbox");
        finding(&mut writer, "Client=OWA", "\\Finance");
        let nodes = items_of(&writer.buf);
        let items = report_items(&nodes);
        let lines: Vec<serde_json::Value> =
            render_json_lines(&Report::of(&items)).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0]["Type"], crate::report::RUN);
        assert_eq!(lines[1]["RunId"], "run-1");
        assert_eq!(lines[2]["FolderPath"], "\\Finance");
    }

    #[test]
    fn no_findings_is_an_empty_list_and_no_run_is_null() {
        let text = render_json(&Report::of(&[]));
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value, serde_json::json!({"run": null, "findings": []}));
    }
}
