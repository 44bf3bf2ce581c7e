//! CSV: one table of the items' properties. Cells a spreadsheet would run as a formula (starting
//! with `=`, `+`, `-`, `@`, tab or carriage return) are prefixed with `'`, as OWASP recommends;
//! header cells too, since property names can come from the objects given.

use super::{columns, Report, Value};

/// A cell a spreadsheet must show as text, never run.
pub fn neutralize_formula(text: String) -> String {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}"),
        _ => text,
    }
}

fn csv_field(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

/// One CSV table: the properties of every item (in the order first seen), a `Type` column
/// when items of several types are mixed. Numbers and booleans are not text and are written
/// as they are; every other cell is neutralised. The run and evidence records are not cells.
pub fn render_csv(report: &Report<'_, '_>) -> String {
    let items = report.items;
    let mixed = items.windows(2).any(|w| w[0].type_name != w[1].type_name);
    let columns = columns(items.iter());
    let mut out = String::new();
    let mut header: Vec<String> = columns.iter().map(|c| csv_field(&neutralize_formula(c.to_string()))).collect();
    if mixed {
        header.insert(0, csv_field("Type"));
    }
    out.push_str(&header.join(","));
    out.push_str("\r\n");
    for item in items {
        let mut cells: Vec<String> = columns
            .iter()
            .map(|column| match item.get(column) {
                None => csv_field(""),
                Some(value @ (Value::Int(_) | Value::Float(_) | Value::Bool(_))) => csv_field(&value.text()),
                Some(value) => csv_field(&neutralize_formula(value.text())),
            })
            .collect();
        if mixed {
            cells.insert(0, csv_field(&neutralize_formula(item.type_name.to_string())));
        }
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::tree::BatchWriter;
    use crate::report::tests::{finding, items_of, report_items};

    #[test]
    fn csv_neutralizes_formulas_and_quotes_everything() {
        let mut writer = BatchWriter::default();
        finding(&mut writer, "=HYPERLINK(\"http://evil\",\"x\")", "+cmd|' /C calc'!A0");
        finding(&mut writer, "Client=OWA", "\\Inbox");
        let nodes = items_of(&writer.buf);
        let items = report_items(&nodes);
        let csv = render_csv(&Report::of(&items));
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], r#""Kind","Mailbox","FolderPath","AccessCount","ClientInfoString","EvidenceRecordIds""#);
        assert_eq!(
            lines[1],
            r#""SyncedFolder","alice@contoso.example","'+cmd|' /C calc'!A0","2","'=HYPERLINK(""http://evil"",""x"")","r1; r2""#
        );
        assert_eq!(lines[2], r#""SyncedFolder","alice@contoso.example","\Inbox","2","Client=OWA","r1; r2""#);
        for dangerous in ["=1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"] {
            assert!(neutralize_formula(dangerous.to_string()).starts_with('\''), "{dangerous:?}");
        }
        assert_eq!(neutralize_formula("Client=OWA".to_string()), "Client=OWA");
    }

    #[test]
    fn header_cells_are_neutralised_too() {
        let mut writer = BatchWriter::default();
        writer.map(2).key("Type").string("Custom").key("Properties").map(2);
        writer.key("=cmd|' /C calc'!A0").string("x");
        writer.key("Name").string("y");
        let nodes = items_of(&writer.buf);
        let items = report_items(&nodes);
        let csv = render_csv(&Report::of(&items));
        assert_eq!(csv.lines().next().unwrap(), r#""'=cmd|' /C calc'!A0","Name""#);
    }

    #[test]
    fn the_run_and_evidence_are_not_columns() {
        let mut writer = BatchWriter::default();
        writer.map(2).key("Type").string(crate::report::FINDING).key("Properties").map(3);
        writer.key("Kind").string("AccessedMessage");
        writer.key("Evidence").list(1).map(1).key("RecordId").string("r1");
        writer.key("Run").map(1).key("Id").string("x");
        let nodes = items_of(&writer.buf);
        let items = report_items(&nodes);
        assert_eq!(render_csv(&Report::of(&items)).lines().collect::<Vec<_>>(), [r#""Kind""#, r#""AccessedMessage""#]);
    }
}
