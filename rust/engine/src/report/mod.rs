//! Reports of results for people, spreadsheets and other tools: HTML ([`html`]), CSV ([`csv`]),
//! JSON and JSON Lines ([`json`]).
//!
//! The shim sends every object as `{Type, Properties}` in the object-batch encoding: the
//! findings (each with its `Evidence` records), the run that produced them (once, as a
//! `MailAccessRun` item: the chain of custody), an `InputSummary` given with `-InputSummary`,
//! and any other result of the module. Nothing here depends on the set of finding kinds: a kind
//! it does not know is shown with all its fields rather than dropped.
//!
//! Every string in an audit record is attacker-controlled (a client string, a folder name, a
//! message id). HTML is built with maud, which escapes every value, and the page forbids
//! scripts (Content-Security-Policy) in case a value ever slipped through. CSV cells that a
//! spreadsheet would run as a formula are neutralised.

pub mod csv;
pub mod html;
pub mod json;
mod timeline;

use crate::input::tree::Node;
use crate::time::from_dotnet_ticks;

pub use self::csv::{neutralize_formula, render_csv};
pub use self::html::render_html;

pub const FINDING: &str = "MailAccessForensics.CompromiseFinding";
pub const RUN: &str = "MailAccessForensics.MailAccessRun";
pub const SUMMARY: &str = "MailAccessForensics.InputSummary";

/// Properties that are not table cells: the run is reported once, evidence in its appendix.
const NOT_CELLS: [&str; 2] = ["Run", "Evidence"];

/// One object to report: its type name and its properties, in order.
#[derive(Debug)]
pub struct ReportItem<'a> {
    pub type_name: &'a str,
    pub properties: Vec<(&'a str, &'a Node<'a>)>,
    /// The map the properties were read from.
    pub object: &'a Node<'a>,
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
                ("Properties", Node::Map(props)) => properties = Some((props.iter().map(|(k, v)| (*k, v)).collect(), value)),
                _ => {}
            }
        }
        let (properties, object) = properties.ok_or("a report item has no Properties")?;
        Ok(ReportItem { type_name: type_name.ok_or("a report item has no Type")?, properties, object })
    }

    /// The type without what serialisation adds (`Deserialized.` after Import-Clixml).
    pub fn kind_of_object(&self) -> &'a str {
        self.type_name.strip_prefix("Deserialized.").unwrap_or(self.type_name)
    }

    /// A short name for a heading: the type's last part, without a view suffix (`#Suspicious`).
    pub fn short_type_name(&self) -> &'a str {
        let name = self.kind_of_object();
        let name = name.split('#').next().unwrap_or(name);
        name.rsplit('.').next().unwrap_or(name)
    }
}

/// Named values of an object: a report item's properties, or a map inside one.
pub trait Fields<'a> {
    fn field(&self, name: &str) -> Option<&Node<'a>>;

    /// A value as one line of text; empty when absent.
    fn text(&self, name: &str) -> String {
        self.field(name).map(cell_text).unwrap_or_default()
    }

    /// Text that is present and not empty.
    fn some_text(&self, name: &str) -> Option<String> {
        Some(self.text(name)).filter(|t| !t.is_empty())
    }

    fn ticks(&self, name: &str) -> Option<i64> {
        match self.field(name) {
            Some(Node::DateTime(ticks)) => Some(*ticks),
            _ => None,
        }
    }

    fn int(&self, name: &str) -> Option<i64> {
        match self.field(name) {
            Some(Node::Int(i)) => Some(*i),
            Some(Node::Float(f)) if f.fract() == 0.0 => Some(*f as i64),
            _ => None,
        }
    }

    fn boolean(&self, name: &str) -> Option<bool> {
        match self.field(name) {
            Some(Node::Bool(b)) => Some(*b),
            _ => None,
        }
    }

    /// A list's entries as text (a single value is a list of one); empty entries left out.
    fn texts(&self, name: &str) -> Vec<String> {
        match self.field(name) {
            Some(Node::List(items)) => items.iter().map(cell_text).filter(|t| !t.is_empty()).collect(),
            Some(Node::Null) | None => Vec::new(),
            Some(other) => Some(cell_text(other)).filter(|t| !t.is_empty()).into_iter().collect(),
        }
    }

    /// A list of objects (maps); other entries are left out.
    fn maps(&self, name: &str) -> Vec<&Node<'a>> {
        match self.field(name) {
            Some(Node::List(items)) => items.iter().filter(|n| matches!(n, Node::Map(_))).collect(),
            _ => Vec::new(),
        }
    }
}

impl<'a> Fields<'a> for ReportItem<'a> {
    fn field(&self, name: &str) -> Option<&Node<'a>> {
        self.properties.iter().find(|(k, _)| *k == name).map(|(_, v)| *v)
    }
}

impl<'a> Fields<'a> for Node<'a> {
    fn field(&self, name: &str) -> Option<&Node<'a>> {
        match self {
            Node::Map(entries) => entries.iter().find(|(k, _)| *k == name).map(|(_, v)| v),
            _ => None,
        }
    }
}

/// A time as the report writes it: ISO 8601, UTC, to the second.
pub fn time_text(ticks: i64) -> String {
    from_dotnet_ticks(ticks).map(|t| t.format("%Y-%m-%d %H:%M:%SZ").to_string()).unwrap_or_else(|| format!("(ticks {ticks})"))
}

/// A value as one line of text: lists joined with `; `, times as ISO 8601 UTC, an object as
/// `name=value` pairs.
pub fn cell_text(node: &Node<'_>) -> String {
    match node {
        Node::Null => String::new(),
        Node::Bool(b) => (if *b { "True" } else { "False" }).to_string(),
        Node::Int(i) => i.to_string(),
        Node::Float(f) => f.to_string(),
        Node::Str(s) => s.to_string(),
        Node::DateTime(ticks) => time_text(*ticks),
        Node::List(items) => items.iter().map(cell_text).collect::<Vec<_>>().join("; "),
        Node::Map(entries) => entries.iter().map(|(k, v)| format!("{k}={}", cell_text(v))).collect::<Vec<_>>().join("; "),
        Node::Unreadable(_, reason) => format!("(unreadable: {reason})"),
    }
}

/// The property names of some items, in the order first seen, without those that are not
/// cells (the run, evidence records).
fn columns<'a>(items: impl Iterator<Item = &'a ReportItem<'a>>) -> Vec<&'a str> {
    let mut columns: Vec<&str> = Vec::new();
    for item in items {
        for (name, _) in &item.properties {
            if !columns.contains(name) && !NOT_CELLS.contains(name) {
                columns.push(name);
            }
        }
    }
    columns
}

/// The items of a report, by role.
pub struct Contents<'r, 'a> {
    /// The run the findings came from (the chain of custody), when they carry one.
    pub run: Option<&'r ReportItem<'a>>,
    /// The accounting given with -InputSummary.
    pub summary: Option<&'r ReportItem<'a>>,
    pub findings: Vec<&'r ReportItem<'a>>,
    /// Any other result, in input order.
    pub others: Vec<&'r ReportItem<'a>>,
}

impl<'r, 'a> Contents<'r, 'a> {
    pub fn of(items: &'r [ReportItem<'a>]) -> Contents<'r, 'a> {
        let mut contents = Contents { run: None, summary: None, findings: Vec::new(), others: Vec::new() };
        for item in items {
            match item.kind_of_object() {
                RUN if contents.run.is_none() => contents.run = Some(item),
                SUMMARY if contents.summary.is_none() => contents.summary = Some(item),
                FINDING => contents.findings.push(item),
                _ => contents.others.push(item),
            }
        }
        contents
    }

    /// The accounting: the one given, else the run's.
    pub fn accounting(&self) -> Option<&'r Node<'a>> {
        if let Some(summary) = self.summary {
            return Some(summary.object);
        }
        self.run.and_then(|run| run.field("Summary")).filter(|n| matches!(n, Node::Map(_)))
    }
}

/// What a report is written as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportFormat {
    Html,
    Csv,
    Json,
    JsonLines,
}

impl ReportFormat {
    pub fn parse(name: &str) -> Option<ReportFormat> {
        match name {
            "Html" => Some(ReportFormat::Html),
            "Csv" => Some(ReportFormat::Csv),
            "Json" => Some(ReportFormat::Json),
            "JsonLines" => Some(ReportFormat::JsonLines),
            _ => None,
        }
    }
}

/// Renders items in a format; `title` and `generator` are for HTML.
pub fn render(format: ReportFormat, title: &str, generator: &str, items: &[ReportItem<'_>]) -> String {
    match format {
        ReportFormat::Html => render_html(title, generator, items),
        ReportFormat::Csv => render_csv(items),
        ReportFormat::Json => json::render_json(items),
        ReportFormat::JsonLines => json::render_json_lines(items),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::input::tree::{BatchReader, BatchWriter};

    const EVIL: &str = "<script>alert('x')</script>\"&";
    /// 2026-01-20T10:00:00Z in .NET ticks.
    const RUN_START: i64 = 639_045_000_000_000_000;

    pub(crate) fn finding(writer: &mut BatchWriter, client: &str, folder: &str) {
        writer.map(2).key("Type").string(FINDING).key("Properties").map(6);
        writer.key("Kind").string("SyncedFolder");
        writer.key("Mailbox").string("alice@contoso.example");
        writer.key("FolderPath").string(folder);
        writer.key("AccessCount").int(2);
        writer.key("ClientInfoString").list(1).string(client);
        writer.key("EvidenceRecordIds").list(2).string("r1").string("r2");
    }

    /// A run as the shim sends it, with one file input.
    pub(crate) fn run(writer: &mut BatchWriter) {
        writer.map(2).key("Type").string(RUN).key("Properties").map(8);
        writer.key("Id").string("run-1");
        writer.key("Command").string("Get-CompromisedMailAccess");
        writer.key("Indicators").map(1).key("AttackerIPAddress").list(1).string("198.51.100.66");
        writer.key("ContextExpansion").bool(true);
        writer.key("StartTime").datetime(RUN_START);
        writer.key("EndTime").datetime(RUN_START + 10_000_000);
        writer.key("Inputs").list(1).map(4);
        writer
            .key("Kind")
            .string("File")
            .key("Path")
            .string("C:\\case\\<audit>.csv")
            .key("Sha256")
            .string("AB12")
            .key("HashComplete")
            .bool(true);
        writer.key("Summary").map(3).key("Read").int(3).key("Analysed").int(3).key("PossiblyTruncated").bool(false);
    }

    pub(crate) fn items_of(buf: &[u8]) -> Vec<Node<'_>> {
        let mut reader = BatchReader::new(buf);
        let mut out = Vec::new();
        while !reader.is_empty() {
            out.push(reader.next_node().unwrap());
        }
        out
    }

    fn page(writer: &BatchWriter) -> String {
        let nodes = items_of(&writer.buf);
        let items: Vec<ReportItem> = nodes.iter().map(|n| ReportItem::from_node(n).unwrap()).collect();
        render_html("Case <1>", "MailAccessForensics 0.1", &items)
    }

    #[test]
    fn html_escapes_every_value_and_forbids_scripts() {
        let mut writer = BatchWriter::default();
        finding(&mut writer, EVIL, "\\Inbox<img src=x onerror=alert(1)>");
        let page = page(&writer);
        assert!(!page.contains("<script>"), "{page}");
        assert!(!page.contains("<img"), "{page}");
        assert!(page.contains("&lt;script&gt;alert('x')&lt;/script&gt;&quot;&amp;"), "{page}");
        assert!(page.contains("Case &lt;1&gt;"));
        assert!(page.contains("default-src 'none'"));
        assert!(page.contains("Folders synced by the attacker (1)"));
        // No evidence records came with it: its ids are shown.
        assert!(page.contains("<code>r1</code>, <code>r2</code>"), "{page}");
    }

    #[test]
    fn no_findings_says_so_with_the_run() {
        let mut writer = BatchWriter::default();
        run(&mut writer);
        let page = page(&writer);
        assert!(page.contains("No findings."), "{page}");
        assert!(page.contains("C:\\case\\&lt;audit&gt;.csv"), "{page}");
        assert!(page.contains("-AttackerIPAddress 198.51.100.66"), "{page}");
        assert!(page.contains("Chain of custody"));
        assert!(!page.contains("<svg"), "no timeline without findings");
    }

    #[test]
    fn possibly_truncated_input_is_said_first() {
        let mut writer = BatchWriter::default();
        writer.map(2).key("Type").string(SUMMARY).key("Properties").map(3);
        writer
            .key("Read")
            .int(5000)
            .key("PossiblyTruncated")
            .bool(true)
            .key("TruncationReason")
            .string("5000 records: the query's ResultSize.");
        let page = page(&writer);
        let alert = page.find("The input may be truncated").expect("an alert");
        assert!(alert < page.find("id=\"summary\"").unwrap());
        assert!(
            page.contains("5000 records: the query&#39;s ResultSize.") || page.contains("5000 records: the query's ResultSize."),
            "{page}"
        );
    }

    #[test]
    fn inputs_not_read_whole_are_said_first() {
        let mut writer = BatchWriter::default();
        writer.map(2).key("Type").string(RUN).key("Properties").map(1);
        writer.key("Inputs").list(2);
        writer.map(3).key("Kind").string("File").key("Path").string("/case/locked.csv").key("Note").string("Could not be opened: denied");
        writer
            .map(4)
            .key("Kind")
            .string("File")
            .key("Path")
            .string("/case/cut.csv.gz")
            .key("Sha256")
            .string("AB")
            .key("HashComplete")
            .bool(false);
        let page = page(&writer);
        let summary = page.find("id=\"summary\"").unwrap();
        let unopened = page.find("could not be read at all: </strong>/case/locked.csv").expect("unopened files are named");
        let partial = page.find("Not every input file was read to its end: </strong>/case/cut.csv.gz").expect("partial files are named");
        assert!(unopened < summary && partial < summary, "{page}");
        assert!(page.contains("Hash of part of the file only."), "{page}");
    }

    #[test]
    fn shared_indicators_accounts_applications_and_the_scope_of_the_filters_are_shown() {
        let mut writer = BatchWriter::default();
        writer.map(2).key("Type").string(RUN).key("Properties").map(6);
        writer.key("Command").string("Get-CompromisedMailAccess");
        writer.key("Summary").map(2).key("Read").int(30).key("Filtered").int(12);
        writer.key("Parameters").map(2).key("AttackerIPAddress").list(1).string("198.51.100.66").key("Mailbox").list(1).string("alice@*");
        writer.key("Indicators").map(1).key("AttackerIPAddress").list(1).string("198.51.100.66");
        writer.key("ContextExpansion").bool(true);
        writer.key("SharedIndicatorExpansion").bool(false);
        writer.map(2).key("Type").string(FINDING).key("Properties").map(8);
        writer.key("Kind").string("AccessedMessage").key("Mailbox").string("alice@contoso.example");
        writer.key("InternetMessageId").string("<m1@x>").key("Start").datetime(RUN_START);
        writer.key("UserId").list(1).string("alice@contoso.example");
        writer.key("AppId").list(1).string("00000003-0000-0000-c000-000000000000");
        writer.key("ClientAppId").list(1).string("evil-app");
        writer.key("Evidence").list(1).map(5);
        writer.key("Time").datetime(RUN_START).key("RecordId").string("r1").key("Source").string("a.csv:2");
        writer.key("AadSessionId").string("entra-1").key("UniqueTokenId").string("tok-1");
        writer.map(2).key("Type").string(FINDING).key("Properties").map(5);
        writer.key("Kind").string("SharedIndicator").key("ClientIPAddress").list(1).string("203.0.113.80");
        writer.key("Start").datetime(RUN_START).key("AccessCount").int(20);
        writer.key("Evidence").list(1).map(3);
        writer.key("Time").datetime(RUN_START - 1).key("RecordId").string("o1").key("Source").string("a.csv:1");
        let page = page(&writer);
        // The filters choose findings, attribution read every record.
        assert!(page.contains("Findings reported: those <code>-Mailbox alice@*</code> select"), "{page}");
        assert!(page.contains("attribution read the records of every mailbox and account"), "{page}");
        assert!(page.contains("(still read for attribution)"), "{page}");
        assert!(page.contains("except through 1 shared one(s)"), "{page}");
        // The shared indicator is listed in the summary, with why it was not followed.
        let summary = &page[page.find("id=\"summary\"").unwrap()..page.find("id=\"findings\"").unwrap()];
        assert!(summary.contains("Shared indicators (not followed)") && summary.contains("203.0.113.80"), "{summary}");
        assert!(summary.contains("not followed: used by others before") && summary.contains("Records left out"), "{summary}");
        // Account and Application (with the calling application) columns, Entra session in the evidence.
        assert!(page.contains("<th style=\"width:") && page.contains(">Account</th>") && page.contains(">Application</th>"), "{page}");
        assert!(page.contains("ClientAppId <code>evil-app</code>"), "{page}");
        assert!(page.contains("Entra session <code>entra-1</code>") && page.contains("token <code>tok-1</code>"), "{page}");
    }

    #[test]
    fn a_kind_not_known_here_is_shown_with_every_field() {
        let mut writer = BatchWriter::default();
        writer.map(2).key("Type").string(FINDING).key("Properties").map(4);
        writer.key("Kind").string("FutureKind");
        writer.key("Mailbox").string("bob@contoso.example");
        writer.key("Novel").string("what it says");
        writer.key("Start").datetime(RUN_START);
        let page = page(&writer);
        assert!(page.contains("Findings of kind FutureKind (1)"), "{page}");
        assert!(page.contains("<th>Novel</th>") && page.contains("what it says"), "{page}");
        assert!(page.contains("<th>Other findings</th>"), "the summary counts it: {page}");
    }
}
