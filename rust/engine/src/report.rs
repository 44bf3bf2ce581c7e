//! Reports of results for people and spreadsheets: HTML and CSV.
//!
//! Every string in an audit record is attacker-controlled (a client string, a folder name, a
//! message id). HTML is built with maud, which escapes every value; the page also forbids
//! scripts (Content-Security-Policy) in case a value ever slipped through. CSV cells that a
//! spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`, tab or carriage return)
//! are prefixed with `'`, as OWASP recommends.

use maud::{html, Markup, PreEscaped, DOCTYPE};

use crate::time::from_dotnet_ticks;
use crate::tree::Node;

/// One object to report: its type name and its properties, in order.
#[derive(Debug)]
pub struct ReportItem<'a> {
    pub type_name: &'a str,
    pub properties: Vec<(&'a str, &'a Node<'a>)>,
}

impl<'a> ReportItem<'a> {
    /// Reads `{Type: "...", Properties: {...}}`, as the shim encodes an object for a report.
    pub fn from_node(node: &'a Node<'a>) -> Result<ReportItem<'a>, String> {
        let Node::Map(entries) = node else {
            return Err("a report item is not an object".to_string());
        };
        let mut type_name = None;
        let mut properties = None;
        for (key, value) in entries {
            match (*key, value) {
                ("Type", Node::Str(name)) => type_name = Some(*name),
                ("Properties", Node::Map(props)) => properties = Some(props.iter().map(|(k, v)| (*k, v)).collect()),
                _ => {}
            }
        }
        Ok(ReportItem {
            type_name: type_name.ok_or("a report item has no Type")?,
            properties: properties.ok_or("a report item has no Properties")?,
        })
    }

    fn get(&self, name: &str) -> Option<&'a Node<'a>> {
        self.properties.iter().find(|(k, _)| *k == name).map(|(_, v)| *v)
    }

    fn text(&self, name: &str) -> String {
        self.get(name).map(cell_text).unwrap_or_default()
    }
}

/// A value as one line of text: lists joined with `; `, times as ISO 8601 UTC.
pub fn cell_text(node: &Node<'_>) -> String {
    match node {
        Node::Null => String::new(),
        Node::Bool(b) => (if *b { "True" } else { "False" }).to_string(),
        Node::Int(i) => i.to_string(),
        Node::Float(f) => f.to_string(),
        Node::Str(s) => s.to_string(),
        Node::DateTime(ticks) => from_dotnet_ticks(*ticks)
            .map(|t| t.format("%Y-%m-%d %H:%M:%SZ").to_string())
            .unwrap_or_else(|| format!("(ticks {ticks})")),
        Node::List(items) => items.iter().map(cell_text).collect::<Vec<_>>().join("; "),
        Node::Map(entries) => entries.iter().map(|(k, v)| format!("{k}={}", cell_text(v))).collect::<Vec<_>>().join("; "),
        Node::Unreadable(reason) => format!("(unreadable: {reason})"),
    }
}

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

/// The property names of some items, in the order first seen.
fn columns<'a>(items: impl Iterator<Item = &'a ReportItem<'a>>) -> Vec<&'a str> {
    let mut columns: Vec<&str> = Vec::new();
    for item in items {
        for (name, _) in &item.properties {
            if !columns.contains(name) {
                columns.push(name);
            }
        }
    }
    columns
}

/// One CSV table: the properties of every item (in the order first seen), a `Type` column
/// when items of several types are mixed. Numbers and booleans are not text and are written
/// as they are; every other cell is neutralised.
pub fn render_csv(items: &[ReportItem<'_>]) -> String {
    let mixed = items.windows(2).any(|w| w[0].type_name != w[1].type_name);
    let columns = columns(items.iter());
    let mut out = String::new();
    let mut header: Vec<String> = columns.iter().map(|c| csv_field(c)).collect();
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
                Some(node @ (Node::Int(_) | Node::Float(_) | Node::Bool(_))) => csv_field(&cell_text(node)),
                Some(node) => csv_field(&neutralize_formula(cell_text(node))),
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

const FINDING: &str = "MailAccessForensics.CompromiseFinding";
const SUMMARY: &str = "MailAccessForensics.InputSummary";

/// The kinds of finding in reading order, with what each means.
const KINDS: [(&str, &str, &str); 5] = [
    ("AttackerIndicator", "The attacker's addresses and sessions", "Given, or linked to the attacker by the record named in each reason."),
    ("ThrottledWindow", "Unaudited windows", "Access to the mailbox was not audited in these windows (IsThrottled was True): assume all its mail was read in them."),
    ("SyncedFolder", "Folders synced by the attacker", "A synced folder can be read offline, unaudited: assume every message in it was read."),
    ("AccessedMessage", "Messages read by the attacker", "Each message was read in the attacker's context; the count is a lower bound (Exchange drops repeated identical accesses within an hour)."),
    ("UnresolvedAccess", "Reads whose messages cannot be named", "The attacker read these, but the records do not (or no longer) hold the message ids: find the messages from the folder and time."),
];

const STYLE: &str = "body{font-family:Segoe UI,Helvetica,Arial,sans-serif;margin:2em;color:#222}\
table{border-collapse:collapse;margin:0.5em 0 1.5em;font-size:0.9em}\
th,td{border:1px solid #ccc;padding:0.3em 0.5em;vertical-align:top;text-align:left}\
th{background:#f0f0f0}td.n{text-align:right}code{font-size:0.95em}\
.note{color:#555;max-width:60em}details summary{cursor:pointer}";

/// An HTML report: the accounting (when an InputSummary is among the items), the verdict's
/// findings by kind, and a table per other type of result.
pub fn render_html(title: &str, generator: &str, items: &[ReportItem<'_>]) -> String {
    let summary = items.iter().find(|i| i.type_name == SUMMARY);
    let findings: Vec<&ReportItem> = items.iter().filter(|i| i.type_name == FINDING).collect();
    let mut others: Vec<&str> = Vec::new();
    for item in items {
        if item.type_name != FINDING && item.type_name != SUMMARY && !others.contains(&item.type_name) {
            others.push(item.type_name);
        }
    }
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                // Nothing in the page may run: the values come from audit records.
                meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'";
                title { (title) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                h1 { (title) }
                p.note { "Made by " (generator) ". Times are UTC. Every value comes from the audit records as they were read." }
                @if let Some(summary) = summary {
                    h2 { "The records read" }
                    (summary_table(summary))
                }
                @if !findings.is_empty() {
                    h2 { "The verdict" }
                    table {
                        tr { th { "Finding" } th { "Count" } }
                        @for (kind, label, _) in KINDS {
                            @let count = findings.iter().filter(|f| f.text("Kind") == kind).count();
                            @if count > 0 { tr { td { (label) } td.n { (count) } } }
                        }
                    }
                    @for (kind, label, note) in KINDS {
                        @let of_kind: Vec<&&ReportItem> = findings.iter().filter(|f| f.text("Kind") == kind).collect();
                        @if !of_kind.is_empty() {
                            h3 { (label) " (" (of_kind.len()) ")" }
                            p.note { (note) }
                            (findings_table(kind, &of_kind))
                        }
                    }
                }
                @for type_name in &others {
                    @let of_type: Vec<&ReportItem> = items.iter().filter(|i| i.type_name == *type_name).collect();
                    h2 { (type_name.rsplit('.').next().unwrap_or(type_name)) " (" (of_type.len()) ")" }
                    (generic_table(&of_type))
                }
            }
        }
    };
    page.into_string()
}

fn summary_table(summary: &ReportItem<'_>) -> Markup {
    html! {
        table {
            @for (name, value) in &summary.properties {
                tr { th { (name) } td { (cell_text(value)) } }
            }
        }
    }
}

fn findings_table(kind: &str, findings: &[&&ReportItem<'_>]) -> Markup {
    let subject = match kind {
        "AccessedMessage" => "Message",
        "SyncedFolder" | "UnresolvedAccess" => "Folder",
        "AttackerIndicator" => "Address or session",
        _ => "",
    };
    html! {
        table {
            tr {
                @if kind != "AttackerIndicator" { th { "Mailbox" } }
                @if !subject.is_empty() { th { (subject) } }
                th { "Start" } th { "End" } th { "Count" }
                @if kind == "AccessedMessage" { th { "Size" } }
                @if kind != "AttackerIndicator" { th { "From" } }
                th { "Reason" } th { "Evidence" }
            }
            @for f in findings {
                tr {
                    @if kind != "AttackerIndicator" { td { (f.text("Mailbox")) } }
                    @match kind {
                        "AccessedMessage" => td { code { (f.text("InternetMessageId")) } },
                        "SyncedFolder" | "UnresolvedAccess" => td { (f.text("FolderPath")) },
                        "AttackerIndicator" => td { code { (f.text("ClientIPAddress")) (f.text("SessionId")) } },
                        _ => {},
                    }
                    td { (f.text("Start")) } td { (f.text("End")) } td.n { (f.text("AccessCount")) }
                    @if kind == "AccessedMessage" { td.n { (f.text("SizeInBytes")) } }
                    @if kind != "AttackerIndicator" {
                        td { (f.text("ClientIPAddress")) @let clients = f.text("ClientInfoString"); @if !clients.is_empty() { br; small { (clients) } } }
                    }
                    td { (f.text("Reason")) }
                    td { (evidence(f)) }
                }
            }
        }
    }
}

fn evidence(finding: &ReportItem<'_>) -> Markup {
    let ids: Vec<String> = match finding.get("EvidenceRecordIds") {
        Some(Node::List(items)) => items.iter().map(cell_text).collect(),
        Some(other) => vec![cell_text(other)],
        None => Vec::new(),
    };
    html! {
        @if ids.len() == 1 { code { (ids[0]) } }
        @else if !ids.is_empty() {
            details { summary { (ids.len()) " records" } @for id in &ids { code { (id) } br; } }
        }
    }
}

fn generic_table(items: &[&ReportItem<'_>]) -> Markup {
    let columns = columns(items.iter().copied());
    html! {
        table {
            tr { @for column in &columns { th { (column) } } }
            @for item in items {
                tr { @for column in &columns { td { @if let Some(value) = item.get(column) { (cell_text(value)) } } } }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::{BatchReader, BatchWriter};

    const EVIL: &str = "<script>alert('x')</script>\"&";

    fn finding(writer: &mut BatchWriter, client: &str, folder: &str) {
        writer.map(2).key("Type").string(FINDING).key("Properties").map(6);
        writer.key("Kind").string("SyncedFolder");
        writer.key("Mailbox").string("alice@contoso.example");
        writer.key("FolderPath").string(folder);
        writer.key("AccessCount").int(2);
        writer.key("ClientInfoString").list(1).string(client);
        writer.key("EvidenceRecordIds").list(2).string("r1").string("r2");
    }

    fn nodes(buf: &[u8]) -> Vec<Node<'_>> {
        let mut reader = BatchReader::new(buf);
        let mut out = Vec::new();
        while !reader.is_empty() {
            out.push(reader.next_node().unwrap());
        }
        out
    }

    #[test]
    fn html_escapes_every_value_and_forbids_scripts() {
        let mut writer = BatchWriter::default();
        finding(&mut writer, EVIL, "\\Inbox<img src=x onerror=alert(1)>");
        let nodes = nodes(&writer.buf);
        let items: Vec<ReportItem> = nodes.iter().map(|n| ReportItem::from_node(n).unwrap()).collect();
        let page = render_html("Case <1>", "MailAccessForensics 0.1", &items);
        assert!(!page.contains("<script>"), "{page}");
        assert!(!page.contains("<img"), "{page}");
        assert!(page.contains("&lt;script&gt;alert('x')&lt;/script&gt;&quot;&amp;"), "{page}");
        assert!(page.contains("Case &lt;1&gt;"));
        assert!(page.contains("default-src 'none'"));
        assert!(page.contains("Folders synced by the attacker (1)"));
        assert!(page.contains("2 records"));
    }

    #[test]
    fn csv_neutralizes_formulas_and_quotes_everything() {
        let mut writer = BatchWriter::default();
        finding(&mut writer, "=HYPERLINK(\"http://evil\",\"x\")", "+cmd|' /C calc'!A0");
        finding(&mut writer, "Client=OWA", "\\Inbox");
        let nodes = nodes(&writer.buf);
        let items: Vec<ReportItem> = nodes.iter().map(|n| ReportItem::from_node(n).unwrap()).collect();
        let csv = render_csv(&items);
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
}
