//! Reports of results for people, spreadsheets and other tools: HTML ([`html`]), CSV ([`csv`]),
//! JSON and JSON Lines ([`json`]).
//!
//! The shim sends every object as `{Type, Properties}` in the object-batch encoding: the
//! findings (each with its `Evidence` records), the run that produced them (once, as a
//! `MailAccessRun` item: the chain of custody), an `InputSummary` given with `-InputSummary`,
//! and any other result of the module. [`model`] reads them once into typed values (times in
//! UTC, kinds as [`CompromiseKind`](crate::vocabulary::CompromiseKind)), which the renderers
//! draw; a kind it does not know is shown with all its fields rather than dropped.
//!
//! Every string in an audit record is attacker-controlled (a client string, a folder name, a
//! message id). HTML is built with maud, which escapes every value, and the page forbids
//! scripts (Content-Security-Policy) in case a value ever slipped through. CSV cells that a
//! spreadsheet would run as a formula are neutralised.

pub mod csv;
pub mod html;
pub mod json;
pub mod model;
mod timeline;

pub use self::csv::{neutralize_formula, render_csv};
pub use self::html::render_html;
pub use self::model::{Report, ReportItem, Value, FINDING, RUN, SUMMARY};

/// Properties that are not table cells: the run is reported once, evidence in its appendix.
const NOT_CELLS: [&str; 2] = ["Run", "Evidence"];

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
    let report = Report::of(items);
    match format {
        ReportFormat::Html => render_html(title, generator, &report),
        ReportFormat::Csv => render_csv(&report),
        ReportFormat::Json => json::render_json(&report),
        ReportFormat::JsonLines => json::render_json_lines(&report),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::input::tree::{BatchReader, BatchWriter, Node};

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

    /// The report items a batch holds.
    pub(crate) fn report_items<'a>(nodes: &[Node<'a>]) -> Vec<ReportItem<'a>> {
        nodes.iter().map(|n| ReportItem::from_node(n).unwrap()).collect()
    }

    fn page(writer: &BatchWriter) -> String {
        let nodes = items_of(&writer.buf);
        render(ReportFormat::Html, "Case <1>", "MailAccessForensics 0.1", &report_items(&nodes))
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
    fn a_run_without_an_end_time_does_not_date_the_page() {
        let mut writer = BatchWriter::default();
        writer.map(2).key("Type").string(RUN).key("Properties").map(1).key("Id").string("run-1");
        let undated = page(&writer);
        assert!(undated.contains("Made by MailAccessForensics 0.1. Times are UTC."), "{undated}");
        let mut writer = BatchWriter::default();
        run(&mut writer);
        assert!(page(&writer).contains("Made by MailAccessForensics 0.1 on 2026-01-20 10:00:01Z. Times are UTC."));
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
