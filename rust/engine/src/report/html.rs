//! The HTML report: one self-contained page that can be handed to legal. In order: what went
//! wrong (possibly truncated input, warnings), a summary per mailbox and of the attacker's
//! indicators, a timeline, the findings by kind, other results, the evidence appendix (every
//! record behind a finding, with its source file and line) and the chain of custody (the run:
//! parameters, inputs with their SHA-256, the accounting, versions, host, user and times).
//! Findings are numbered F1.., evidence records E1..; each refers to the other.
//!
//! Print styles keep every column on an A4 landscape page: tables take the page's width and
//! long values (message ids, hashes) break anywhere rather than widen a column.

use std::collections::BTreeMap;

use maud::{html, Markup, PreEscaped, DOCTYPE};

use super::timeline::{kind_colour, timeline};
use super::{cell_text, columns, time_text, Contents, Fields, ReportItem};
use crate::input::tree::Node;

/// The kinds of finding known here, in reading order, with a heading, what each means, and
/// the field that says what it is about. Kinds not listed are shown after these, with every
/// field, under their own name.
const KINDS: [(&str, &str, &str, Subject); 6] = [
    ("AttackerIndicator", "The attacker's indicators", "The attacker's addresses, sessions and Entra sessions: given, or linked to the attacker by the record named in each reason.", Subject::Indicator),
    ("SharedIndicator", "Shared indicators (not followed)", "Addresses and sessions the attacker's records carry that other contexts used before the attacker's known activity: the records linked only through these are not counted as the attacker's. Their evidence is the first record of each of those contexts and the attacker's record that would have linked them; -ExpandSharedIndicator follows them.", Subject::Indicator),
    ("ThrottledWindow", "Unaudited windows", "Access to the mailbox was not audited in these windows (IsThrottled was True): assume all its mail was read in them.", Subject::None),
    ("SyncedFolder", "Folders synced by the attacker", "A synced folder can be read offline, unaudited: assume every message in it was read.", Subject::Folder),
    ("AccessedMessage", "Messages read by the attacker", "Each message was read in the attacker's context; the count is a lower bound (Exchange drops repeated identical accesses within an hour).", Subject::Message),
    ("UnresolvedAccess", "Reads whose messages cannot be named", "The attacker read these, but the records do not (or no longer) hold the message ids: find the messages from the folder and time.", Subject::Folder),
];

/// Columns a kind shows when any of its findings has a value in one of their fields: who acted
/// and with what (the calling application of Graph and REST access is its ClientAppId).
const OPTIONAL_COLUMNS: [(&str, &[&str]); 3] =
    [("Account", &["UserId"]), ("Application", &["AppId", "ClientAppId"]), ("Entra session", &["AadSessionId"])];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Subject {
    None,
    Folder,
    Message,
    Indicator,
}

const STYLE: &str = "body{font-family:Segoe UI,Helvetica,Arial,sans-serif;margin:1.5em;color:#222;font-size:14px;line-height:1.35}\
h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.3em;border-bottom:2px solid #444;padding-bottom:.15em;margin-top:1.6em}h3{font-size:1.05em;margin:1.1em 0 .2em}\
table{border-collapse:collapse;margin:.4em 0 1.2em;width:100%}\
th,td{border:1px solid #bbb;padding:.25em .4em;vertical-align:top;text-align:left}td{overflow-wrap:anywhere}td.t,td.w{overflow-wrap:break-word}table.fixed{table-layout:fixed}th{overflow-wrap:break-word}\
th{background:#eee;font-weight:600}td.n,th.n{text-align:right;white-space:nowrap}table.kv th{width:13em}\
code{font-family:Consolas,Menlo,monospace;font-size:.9em;overflow-wrap:anywhere}.brk{overflow-wrap:anywhere}small{color:#555}small code{font-size:1em}\
.note{color:#555}.none{font-size:1.25em;font-weight:bold;margin:.6em 0}\
.alert{border:2px solid #b00;background:#fdecea;padding:.4em .8em;margin:.6em 0}.warn{border:1px solid #c90;background:#fff8e1;padding:.4em .8em;margin:.6em 0}\
.timeline{width:100%;height:auto;border:1px solid #ddd}.k{display:inline-block;width:.8em;height:.8em;margin-right:.3em;vertical-align:baseline}\
a{color:#1f4e8c}\
@page{size:A4 landscape;margin:10mm}\
@media print{body{margin:0;font-size:7.5pt}h2{break-after:avoid}h3{break-after:avoid}tr{break-inside:avoid}thead{display:table-header-group}a{color:inherit;text-decoration:none}.timeline{break-inside:avoid}}";

/// A finding with its number and its evidence numbers.
struct Numbered<'r, 'a> {
    item: &'r ReportItem<'a>,
    number: usize,
    evidence: Vec<usize>,
}

/// An evidence record with its number and the findings it supports.
struct EvidenceRow<'r, 'a> {
    record: &'r Node<'a>,
    supports: Vec<usize>,
}

/// The findings in reading order (by kind, then as given) with their numbers, and the
/// evidence records behind them, each once, by time.
struct Model<'r, 'a> {
    sections: Vec<(String, Vec<Numbered<'r, 'a>>)>,
    evidence: Vec<EvidenceRow<'r, 'a>>,
}

/// One record's identity in the appendix: where it was, its id and time.
fn evidence_key(record: &Node<'_>) -> (i64, String, String) {
    (record.ticks("Time").unwrap_or(i64::MIN), record.text("RecordId"), record.text("Source"))
}

fn kind_of(item: &ReportItem<'_>) -> String {
    item.text("Kind")
}

impl<'r, 'a> Model<'r, 'a> {
    fn of(findings: &[&'r ReportItem<'a>]) -> Model<'r, 'a> {
        let mut order: Vec<String> = KINDS.iter().map(|k| k.0.to_string()).collect();
        for finding in findings {
            let kind = kind_of(finding);
            if !order.contains(&kind) {
                order.push(kind);
            }
        }
        let mut records: BTreeMap<(i64, String, String), &'r Node<'a>> = BTreeMap::new();
        for finding in findings {
            for record in finding.maps("Evidence") {
                records.entry(evidence_key(record)).or_insert(record);
            }
        }
        let numbers: BTreeMap<(i64, String, String), usize> = records.keys().enumerate().map(|(i, k)| (k.clone(), i + 1)).collect();
        let mut evidence: Vec<EvidenceRow> = records.values().map(|record| EvidenceRow { record, supports: Vec::new() }).collect();
        let mut sections = Vec::new();
        let mut number = 0;
        for kind in order {
            let mut of_kind = Vec::new();
            for finding in findings.iter().filter(|f| kind_of(f) == kind) {
                number += 1;
                let mut refs: Vec<usize> = finding.maps("Evidence").iter().map(|r| numbers[&evidence_key(r)]).collect();
                refs.sort_unstable();
                refs.dedup();
                for e in &refs {
                    evidence[e - 1].supports.push(number);
                }
                of_kind.push(Numbered { item: finding, number, evidence: refs });
            }
            if !of_kind.is_empty() {
                sections.push((kind, of_kind));
            }
        }
        Model { sections, evidence }
    }
}

/// An HTML report of the items (see the module documentation).
pub fn render_html(title: &str, generator: &str, items: &[ReportItem<'_>]) -> String {
    let contents = Contents::of(items);
    let model = Model::of(&contents.findings);
    let run = contents.run;
    let accounting = contents.accounting();
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                // Nothing in the page may run: the values come from audit records.
                meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                header {
                    h1 { (title) }
                    p.note {
                        "Made by " (generator)
                        @if let Some(run) = run { " on " (time_text(run.ticks("EndTime").unwrap_or_default())) }
                        ". Times are UTC. Every value comes from the audit records as they were read; nothing in this page runs."
                    }
                }
                (alerts(&contents, accounting))
                section id="summary" {
                    h2 { "Summary" }
                    (scope(&contents, accounting))
                    (summary(&contents, &model))
                }
                @if let Some(svg) = timeline(&contents.findings) {
                    section id="timeline" {
                        h2 { "Timeline" }
                        p.note { "Each mark is a record of attacker activity, in its mailbox's lane; bands are unaudited windows. Hover a mark for its time." }
                        (svg)
                    }
                }
                @if !model.sections.is_empty() {
                    section id="findings" {
                        h2 { "Findings (" (contents.findings.len()) ")" }
                        @for (kind, findings) in &model.sections {
                            (findings_section(kind, findings))
                        }
                    }
                }
                (other_results(&contents.others))
                @if !model.evidence.is_empty() {
                    section id="evidence" {
                        h2 { "Evidence (" (model.evidence.len()) " records)" }
                        p.note { "Every record behind a finding, each once, by time. Source is the file and line (or the pipeline object) the record was read from; Supports lists the findings it proves." }
                        (evidence_table(&model.evidence))
                    }
                }
                section id="custody" {
                    h2 { "Chain of custody" }
                    (custody(&contents, accounting))
                }
            }
        }
    };
    page.into_string()
}

// ---- what went wrong ------------------------------------------------------------------------

fn alerts(contents: &Contents<'_, '_>, accounting: Option<&Node<'_>>) -> Markup {
    let truncated = accounting.and_then(|a| a.boolean("PossiblyTruncated")).unwrap_or(false);
    let unbalanced = accounting.and_then(|a| a.boolean("IsBalanced")) == Some(false);
    let errors = accounting.and_then(|a| a.int("Errors")).unwrap_or(0);
    let warnings = contents.run.map(|r| r.texts("Warnings")).unwrap_or_default();
    let inputs = contents.run.map(|r| r.maps("Inputs")).unwrap_or_default();
    let unopened: Vec<String> = inputs
        .iter()
        .filter(|input| input.text("Kind") == "File" && input.some_text("Sha256").is_none())
        .map(|input| input.text("Path"))
        .collect();
    let partial: Vec<String> = contents
        .run
        .map(|r| r.maps("Inputs"))
        .unwrap_or_default()
        .into_iter()
        .filter(|input| input.boolean("HashComplete") == Some(false))
        .map(|input| input.text("Path"))
        .collect();
    html! {
        @if truncated {
            div.alert {
                strong { "The input may be truncated: " }
                (accounting.map(|a| a.text("TruncationReason")).filter(|r| !r.is_empty()).unwrap_or_else(|| "the collection or query did not return every record.".to_string()))
                " The findings below cover only the records that were read."
            }
        }
        @if unbalanced {
            div.alert { strong { "The accounting does not add up" } " (Read ≠ Analysed + Skipped + Duplicates + Filtered + Errors): see the chain of custody." }
        }
        @if !unopened.is_empty() {
            div.alert {
                strong { "Input files that could not be read at all: " }
                (unopened.join(", ")) ". Their records take no part in the findings."
            }
        }
        @if !partial.is_empty() {
            div.alert {
                strong { "Not every input file was read to its end: " }
                (partial.join(", ")) ". Its hash in the chain of custody covers only what was read."
            }
        }
        @if errors > 0 {
            div.warn { (errors) " record(s) could not be read and take no part in the findings: the chain of custody lists them." }
        }
        @if !warnings.is_empty() {
            div.warn {
                strong { "Warnings" }
                ul { @for warning in &warnings { li { (warning) } } }
            }
        }
    }
}

// ---- summary ------------------------------------------------------------------------------

/// What the verdict was asked, in sentences: indicators, expansion, period, filters, input.
fn scope(contents: &Contents<'_, '_>, accounting: Option<&Node<'_>>) -> Markup {
    let Some(run) = contents.run else {
        return html! {
            p.note { "These results do not carry the run that produced them (they were made by another command or passed through a file): the indicators, period and inputs are not known to this report." }
        };
    };
    let indicators = parameter_lines(run.field("Indicators"));
    let filters = finding_filters(contents);
    let expansion = run.boolean("ContextExpansion");
    let shared_followed = run.boolean("SharedIndicatorExpansion") == Some(true);
    let shared = contents.findings.iter().filter(|f| kind_of(f) == "SharedIndicator").count();
    let start = run.ticks("PeriodStart");
    let end = run.ticks("PeriodEnd");
    let inputs = run.maps("Inputs").len();
    html! {
        ul {
            li {
                "Attacker indicators: "
                @if indicators.is_empty() { strong { "none given" } ": only unaudited windows are reported, and access is not attributed." }
                @else { code { (indicators.join("; ")) } "." }
            }
            @if let Some(expansion) = expansion {
                li {
                    "Context expansion: "
                    @if expansion {
                        strong { "on" } ": the attacker was followed from these indicators across the addresses, sessions and Entra sessions of their records"
                        @if shared_followed { ", also through those other contexts used before the attacker's known activity (-ExpandSharedIndicator)." }
                        @else if shared > 0 { ", except through " (shared) " shared one(s) that other contexts used before the attacker's known activity (the shared indicators below)." }
                        @else { "; none of them was in use by others before the attacker's known activity." }
                    }
                    @else { strong { "off" } " (-NoContextExpansion): only records that match an indicator are the attacker's." }
                }
            }
            li {
                "Period of attacker access: "
                @match (start, end) {
                    (None, None) => { "not limited (every record takes part)." }
                    (Some(s), None) => { "from " strong { (time_text(s)) } "; earlier records take no part in attribution: they are the baseline of who used which address and session, and a throttled one can open an unaudited window into the period." }
                    (None, Some(e)) => { "before " strong { (time_text(e)) } "; later records take no part in attribution." }
                    (Some(s), Some(e)) => { "from " strong { (time_text(s)) } " to " strong { (time_text(e)) } "; records outside take no part in attribution (those before it are the baseline of who used which address and session, and a throttled one can open an unaudited window into the period)." }
                }
            }
            @if let Some(filters) = &filters {
                li {
                    "Findings reported: those " code { (filters) } " select, and the indicators. "
                    "These choose the findings, not the records: attribution read the records of every mailbox and account, so a mailbox's findings are the same as without them."
                }
            }
            @if let Some(a) = accounting {
                li {
                    "Input: " (a.text("Read")) " records read from " (inputs) " input(s): " (a.text("Analysed")) " analysed, "
                    (a.text("Skipped")) " of other operations, " (a.text("Duplicates")) " duplicates, " (a.text("Filtered")) " outside the filters"
                    @if run.text("Command") == "Get-CompromisedMailAccess" { " (still read for attribution)" }
                    ", " (a.text("Errors")) " errors."
                }
            }
        }
    }
}

/// `-Name value, value` for each entry of a map of parameters.
fn parameter_lines(map: Option<&Node<'_>>) -> Vec<String> {
    match map {
        Some(Node::Map(entries)) => entries
            .iter()
            .map(|(name, value)| match value {
                Node::Bool(true) => format!("-{name}"),
                other => format!("-{name} {}", cell_text(other).replace("; ", ", ")),
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Per mailbox, what the attacker read or must be presumed to have read; then the
/// indicators (findings without a mailbox).
fn summary(contents: &Contents<'_, '_>, model: &Model<'_, '_>) -> Markup {
    if contents.findings.is_empty() {
        let of_run = contents.run.and_then(|r| r.int("FindingCount"));
        return html! {
            p.none { "No findings." }
            @match of_run {
                Some(n) if n > 0 => p { "The run found " (n) " finding(s), but none was given to this report." },
                _ => p { "Nothing in the records read matches the attacker, and no mailbox was unaudited (throttled) in the period." },
            }
        };
    }
    let of_run = contents.run.and_then(|r| r.int("FindingCount"));
    let mut mailboxes: Vec<(String, Vec<&ReportItem<'_>>)> = Vec::new();
    for finding in &contents.findings {
        let Some(mailbox) = finding.some_text("Mailbox") else { continue };
        match mailboxes.iter_mut().find(|(m, _)| m.eq_ignore_ascii_case(&mailbox)) {
            Some((_, list)) => list.push(finding),
            None => mailboxes.push((mailbox, vec![finding])),
        }
    }
    let known: Vec<&str> = KINDS.iter().map(|k| k.0).collect();
    let any_other = contents.findings.iter().any(|f| f.some_text("Mailbox").is_some() && !known.contains(&kind_of(f).as_str()));
    let indicator_kinds: Vec<&(String, Vec<Numbered>)> =
        model.sections.iter().filter(|(_, findings)| findings.iter().all(|f| f.item.some_text("Mailbox").is_none())).collect();
    html! {
        @if let Some(n) = of_run {
            @if n as usize != contents.findings.len() {
                p.warn { "This report shows " (contents.findings.len()) " of the run's " (n) " findings: the others were left out before the report." }
            }
        }
        @if mailboxes.is_empty() {
            p { "No finding concerns a mailbox." }
        } @else {
            h3 { "Per mailbox" }
            @if let Some(filters) = finding_filters(contents) {
                p.note { "Only the findings " (filters) " select are counted; each mailbox's counts are those it has without them." }
            }
            table {
                thead { tr {
                    th { "Mailbox" } th { "Messages read" } th { "Bytes known" } th { "Folders synced" } th { "Reads without message ids" }
                    th { "Unaudited windows" } th { "First attacker access" } th { "Last attacker access" }
                    @if any_other { th { "Other findings" } }
                } }
                tbody {
                    @for (mailbox, findings) in &mailboxes {
                        (mailbox_row(mailbox, findings, &known, any_other))
                    }
                }
            }
        }
        @for (kind, findings) in indicator_kinds {
            @let shared = kind == "SharedIndicator";
            h3 { (heading(kind)) }
            table {
                thead { tr {
                    th { "#" } th { "Address or session" } th { "How" } th { "First" } th { "Last" }
                    th { @if shared { "Records left out" } @else { "Records" } }
                } }
                tbody {
                    @for f in findings {
                        tr {
                            td.n { a href={ "#F" (f.number) } { "F" (f.number) } }
                            td { code { (indicator_text(f.item)) } }
                            td {
                                @if shared { "not followed: used by others before; see " (evidence_refs(f)) }
                                @else if f.evidence.is_empty() { "given" }
                                @else { "linked by " (evidence_refs(f)) }
                            }
                            td.t { (f.item.text("Start")) } td.t { (f.item.text("End")) }
                            td.n { (f.item.text("AccessCount")) }
                        }
                    }
                }
            }
        }
    }
}

/// `-Mailbox a, b and -UserIds c` when the run chose its findings so; None otherwise.
fn finding_filters(contents: &Contents<'_, '_>) -> Option<String> {
    let parameters = contents.run?.field("Parameters")?;
    let given: Vec<String> = ["Mailbox", "UserIds"]
        .iter()
        .filter_map(|name| parameters.field(name).map(|v| format!("-{name} {}", cell_text(v).replace("; ", ", "))))
        .collect();
    (!given.is_empty()).then(|| given.join(" and "))
}

fn mailbox_row(mailbox: &str, findings: &[&ReportItem<'_>], known: &[&str], any_other: bool) -> Markup {
    fn of<'f, 'r, 'a>(findings: &'f [&'r ReportItem<'a>], kind: &'static str) -> impl Iterator<Item = &'f &'r ReportItem<'a>> {
        findings.iter().filter(move |f| kind_of(f) == kind)
    }
    let messages = of(findings, "AccessedMessage").count();
    let sizes: Vec<Option<i64>> = of(findings, "AccessedMessage").map(|f| f.int("SizeInBytes")).collect();
    let bytes: i64 = sizes.iter().flatten().sum();
    let unknown_sizes = sizes.iter().filter(|s| s.is_none()).count();
    let folders: Vec<String> =
        of(findings, "SyncedFolder").map(|f| f.some_text("FolderPath").unwrap_or_else(|| "(unnamed)".to_string())).collect();
    let unresolved = of(findings, "UnresolvedAccess").count();
    let windows: Vec<(i64, i64)> = of(findings, "ThrottledWindow").filter_map(|f| Some((f.ticks("Start")?, f.ticks("End")?))).collect();
    let hours: i64 = windows.iter().map(|(s, e)| (e - s) / 36_000_000_000).sum();
    let access: Vec<&&ReportItem> = findings.iter().filter(|f| kind_of(f) != "ThrottledWindow").collect();
    let first = access.iter().filter_map(|f| f.ticks("Start")).min();
    let last = access.iter().filter_map(|f| f.ticks("End")).max();
    let other = findings.iter().filter(|f| !known.contains(&kind_of(f).as_str())).count();
    html! {
        tr {
            td.w { (mailbox) }
            td.n { (messages) }
            td.n { (thousands(bytes)) @if unknown_sizes > 0 { br; small { "+ " (unknown_sizes) " of unknown size" } } }
            td { (folders.len()) @if !folders.is_empty() { ": " (folders.join(", ")) } }
            td.n { (unresolved) }
            td {
                (windows.len())
                @if !windows.is_empty() { " (" (hours) " h)" @for (s, e) in &windows { br; small { (time_text(*s)) " to " (time_text(*e)) } } }
            }
            td.t { (first.map(time_text).unwrap_or_else(|| "-".to_string())) }
            td.t { (last.map(time_text).unwrap_or_else(|| "-".to_string())) }
            @if any_other { td.n { (other) } }
        }
    }
}

fn thousands(value: i64) -> String {
    let digits = value.abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if value < 0 {
        out.insert(0, '-');
    }
    out
}

fn heading(kind: &str) -> String {
    KINDS.iter().find(|k| k.0 == kind).map(|k| k.1.to_string()).unwrap_or_else(|| format!("Findings of kind {kind}"))
}

fn indicator_text(finding: &ReportItem<'_>) -> String {
    let mut parts = finding.texts("ClientIPAddress");
    parts.extend(finding.texts("SessionId"));
    parts.extend(finding.texts("AadSessionId"));
    parts.join(", ")
}

// ---- findings -----------------------------------------------------------------------------

fn findings_section(kind: &str, findings: &[Numbered<'_, '_>]) -> Markup {
    let known = KINDS.iter().find(|k| k.0 == kind);
    html! {
        h3 id={ "kind-" (kind) } {
            span.k style={ "background:" (kind_colour(kind)) } {}
            (heading(kind)) " (" (findings.len()) ")"
        }
        @match known {
            Some((_, _, note, subject)) => {
                p.note { (note) }
                (known_table(*subject, findings))
            }
            None => {
                p.note { "A kind of finding this report does not describe: every field is shown." }
                (generic_findings_table(findings))
            }
        }
    }
}

fn known_table(subject: Subject, findings: &[Numbered<'_, '_>]) -> Markup {
    let any = |name: &str| findings.iter().any(|f| f.item.some_text(name).is_some());
    let mailbox = any("Mailbox");
    let size = any("SizeInBytes");
    // An indicator's Entra session column holds the indicator itself, shown as its subject.
    let optional: Vec<(&str, &[&str])> = OPTIONAL_COLUMNS
        .iter()
        .copied()
        .filter(|(label, names)| !(subject == Subject::Indicator && *label == "Entra session") && names.iter().any(|n| any(n)))
        .collect();
    let from = subject != Subject::Indicator;
    // Column widths by share of the page (a fixed layout: long values wrap inside their column).
    let mut header: Vec<(&str, u32)> = vec![("#", 4)];
    if mailbox {
        header.push(("Mailbox", 12));
    }
    match subject {
        Subject::Message => header.push(("Message", 17)),
        Subject::Folder => header.push(("Folder", 10)),
        Subject::Indicator => header.push(("Address or session", 17)),
        Subject::None => {}
    }
    header.extend([("Start", 8), ("End", 8), ("Count", 5)]);
    if size {
        header.push(("Size", 7));
    }
    if from {
        header.push(("From", 14));
    }
    header.extend(optional.iter().map(|(label, _)| (*label, 10)));
    header.extend([("Reason", 24), ("Evidence", 8)]);
    html! {
        table.fixed {
            thead { tr { @for (label, style) in with_widths(&header) { th style=(style) { (label) } } } }
            tbody {
                @for f in findings {
                    tr id={ "F" (f.number) } {
                        td.n { "F" (f.number) }
                        @if mailbox { td.m { (f.item.text("Mailbox")) } }
                        @match subject {
                            Subject::Message => td { code { (f.item.text("InternetMessageId")) } },
                            Subject::Folder => td.f { (f.item.text("FolderPath")) },
                            Subject::Indicator => td { code { (indicator_text(f.item)) } },
                            Subject::None => {},
                        }
                        td.t { (f.item.text("Start")) } td.t { (f.item.text("End")) }
                        td.n { (f.item.some_text("AccessCount").unwrap_or_else(|| "?".to_string())) }
                        @if size { td.n { (f.item.text("SizeInBytes")) } }
                        @if from {
                            td.fr {
                                (f.item.texts("ClientIPAddress").join(", "))
                                @let sessions = f.item.texts("SessionId");
                                @if !sessions.is_empty() { br; small { "session " code { (sessions.join(", ")) } } }
                                @let clients = f.item.texts("ClientInfoString");
                                @if !clients.is_empty() { br; small.brk { (clients.join(", ")) } }
                            }
                        }
                        @for (_, names) in &optional { td.brk { (optional_cell(f.item, names)) } }
                        td { (f.item.text("Reason")) }
                        td { (evidence_refs(f)) }
                    }
                }
            }
        }
    }
}

/// Who acted, or with what: the values of the first field, then of each other one (so, the
/// AppId, then the calling application's ClientAppId) on lines of their own.
fn optional_cell(finding: &ReportItem<'_>, names: &[&str]) -> Markup {
    html! {
        @for (i, name) in names.iter().enumerate() {
            @let values = finding.texts(name);
            @if !values.is_empty() {
                @if i == 0 { (values.join(", ")) }
                @else { br; small { (name) " " code { (values.join(", ")) } } }
            }
        }
    }
}

fn generic_findings_table(findings: &[Numbered<'_, '_>]) -> Markup {
    let columns = columns(findings.iter().map(|f| f.item));
    html! {
        table {
            thead { tr { th { "#" } @for column in &columns { th { (column) } } th { "Evidence" } } }
            tbody {
                @for f in findings {
                    tr id={ "F" (f.number) } {
                        td.n { "F" (f.number) }
                        @for column in &columns { td.brk { (f.item.text(column)) } }
                        td { (evidence_refs(f)) }
                    }
                }
            }
        }
    }
}

/// A finding's evidence: links to its records in the appendix, or the record ids when the
/// records are not there.
fn evidence_refs(finding: &Numbered<'_, '_>) -> Markup {
    if finding.evidence.is_empty() {
        let ids = finding.item.texts("EvidenceRecordIds");
        return html! { @for (i, id) in ids.iter().enumerate() { @if i > 0 { ", " } code { (id) } } };
    }
    html! {
        @for (i, (first, last)) in ranges(&finding.evidence).iter().enumerate() {
            @if i > 0 { ", " }
            a href={ "#E" (first) } { "E" (first) }
            @if last > first { "–" a href={ "#E" (last) } { "E" (last) } }
        }
    }
}

/// Sorted numbers as runs: 1,2,3,5 → (1,3),(5,5).
fn ranges(numbers: &[usize]) -> Vec<(usize, usize)> {
    let mut out: Vec<(usize, usize)> = Vec::new();
    for &n in numbers {
        match out.last_mut() {
            Some((_, last)) if *last + 1 == n => *last = n,
            _ => out.push((n, n)),
        }
    }
    out
}

// ---- other results ------------------------------------------------------------------------

fn other_results(others: &[&ReportItem<'_>]) -> Markup {
    let mut types: Vec<&str> = Vec::new();
    for item in others {
        if !types.contains(&item.type_name) {
            types.push(item.type_name);
        }
    }
    html! {
        @for type_name in &types {
            @let of_type: Vec<&ReportItem> = others.iter().copied().filter(|i| i.type_name == *type_name).collect();
            @let columns = columns(of_type.iter().copied());
            section {
                h2 { (of_type[0].short_type_name()) " (" (of_type.len()) ")" }
                table {
                    thead { tr { @for column in &columns { th { (column) } } } }
                    tbody {
                        @for item in &of_type {
                            tr { @for column in &columns { td.brk { (item.text(column)) } } }
                        }
                    }
                }
            }
        }
    }
}

// ---- evidence -----------------------------------------------------------------------------

/// Each column's label and `width:` style, its share of the total.
fn with_widths<'h>(columns: &[(&'h str, u32)]) -> Vec<(&'h str, String)> {
    let total: u32 = columns.iter().map(|(_, w)| w).sum();
    columns.iter().map(|(label, w)| (*label, format!("width:{:.1}%", f64::from(*w) * 100.0 / f64::from(total)))).collect()
}

fn evidence_table(rows: &[EvidenceRow<'_, '_>]) -> Markup {
    const COLUMNS: [(&str, u32); 11] = [
        ("#", 4),
        ("Time", 8),
        ("Mailbox", 11),
        ("Account", 11),
        ("Access", 6),
        ("Context", 14),
        ("Folders", 8),
        ("Items", 17),
        ("Record id", 9),
        ("Source", 10),
        ("Supports", 7),
    ];
    html! {
        table.fixed {
            thead { tr { @for (label, style) in with_widths(&COLUMNS) { th style=(style) { (label) } } } }
            tbody {
                @for (i, row) in rows.iter().enumerate() {
                    @let r = row.record;
                    tr id={ "E" (i + 1) } {
                        td.n { "E" (i + 1) }
                        td.t { (r.text("Time")) }
                        td.m { (r.text("Mailbox")) }
                        td.m { (r.text("UserId")) }
                        td {
                            (r.text("AccessType"))
                            @if r.boolean("IsThrottled") == Some(true) { br; strong { "throttled" } }
                            @if let Some(count) = r.int("OperationCount") { br; small { (count) " operation(s)" } }
                        }
                        td {
                            (r.text("ClientIPAddress"))
                            @if let Some(session) = r.some_text("SessionId") { br; small { "session " code { (session) } } }
                            @if let Some(client) = r.some_text("ClientInfoString") { br; small.brk { (client) } }
                            @let apps: Vec<String> = [r.some_text("AppId"), r.some_text("ClientAppId")].into_iter().flatten().collect();
                            @if !apps.is_empty() { br; small { "app " code { (apps.join(", ")) } } }
                            @if let Some(entra) = r.some_text("AadSessionId") { br; small { "Entra session " code { (entra) } } }
                            @if let Some(token) = r.some_text("UniqueTokenId") { br; small { "token " code { (token) } } }
                        }
                        td { (r.texts("Folders").join(", ")) }
                        td {
                            @let items = r.texts("Items");
                            @for (k, item) in items.iter().enumerate() { @if k > 0 { br; } code { (item) } }
                        }
                        td { code { (r.text("RecordId")) } }
                        td.brk { (r.text("Source")) }
                        td {
                            @for (k, (first, last)) in ranges(&row.supports).iter().enumerate() {
                                @if k > 0 { ", " }
                                a href={ "#F" (first) } { "F" (first) }
                                @if last > first { "–" a href={ "#F" (last) } { "F" (last) } }
                            }
                        }
                    }
                }
            }
        }
    }
}

// ---- chain of custody ---------------------------------------------------------------------

fn custody(contents: &Contents<'_, '_>, accounting: Option<&Node<'_>>) -> Markup {
    let run = contents.run;
    html! {
        @match run {
            None => p.note { "The run that produced these results is not known to this report (give the findings of Get-CompromisedMailAccess as they come, or use its -ReportPath)." },
            Some(run) => {
                table.kv { tbody {
                    @for (label, name) in [("Run", "Id"), ("Command", "Command"), ("Started", "StartTime"), ("Ended", "EndTime"),
                        ("Account", "User"), ("Computer", "Host"), ("Operating system", "OperatingSystem"), ("PowerShell", "PowerShellVersion"),
                        ("Module", "ModuleVersion"), ("Engine", "EngineVersion")] {
                        @if let Some(value) = run.some_text(name) { tr { th { (label) } td { (value) } } }
                    }
                } }
                h3 { "Parameters, as given" }
                @let parameters = parameter_lines(run.field("Parameters"));
                @if parameters.is_empty() { p { "None." } } @else {
                    ul { @for line in &parameters { li { code { (line) } } } }
                }
                h3 { "Inputs" }
                (inputs_table(&run.maps("Inputs")))
            }
        }
        @if let Some(a) = accounting {
            h3 { "Accounting of the records read" }
            p {
                "Read " (a.text("Read")) " = analysed " (a.text("Analysed")) " + skipped " (a.text("Skipped")) " + duplicates "
                (a.text("Duplicates")) " + outside the filters " (a.text("Filtered")) " + errors " (a.text("Errors"))
                @match a.boolean("IsBalanced") { Some(true) => { ": the counts add up." } Some(false) => { ": " strong { "the counts do not add up." } } None => {} }
            }
            table.kv { tbody {
                @if let Node::Map(entries) = a {
                    @for (name, value) in entries {
                        tr { th { (name) } td { (cell_text(value)) } }
                    }
                }
            } }
        }
        @if let Some(run) = run {
            @let warnings = run.texts("Warnings");
            @if !warnings.is_empty() {
                h3 { "Warnings" }
                ul { @for warning in &warnings { li { (warning) } } }
            }
            @let errors = run.texts("ErrorMessages");
            @if !errors.is_empty() {
                h3 { "Records that could not be read" }
                ul { @for error in &errors { li { (error) } } }
                @let total = accounting.and_then(|a| a.int("Errors")).unwrap_or(0);
                @if total > errors.len() as i64 { p.note { "The first " (errors.len()) " of " (total) " are listed." } }
            }
        }
    }
}

fn inputs_table(inputs: &[&Node<'_>]) -> Markup {
    if inputs.is_empty() {
        return html! { p { "No input was read." } };
    }
    html! {
        table {
            thead { tr { th { "#" } th { "Input" } th { "Size (bytes)" } th { "SHA-256" } th { "Records" } th { "Notes" } } }
            tbody {
                @for (i, input) in inputs.iter().enumerate() {
                    tr {
                        td.n { (i + 1) }
                        td {
                            @if input.text("Kind") == "Pipeline" { "Pipeline: " (input.text("Objects")) " object(s)" }
                            @else { span.brk { (input.text("Path")) } }
                        }
                        td.n { (input.int("Size").map(thousands).unwrap_or_default()) }
                        td { code.id { (input.text("Sha256")) } }
                        td.n { (input.text("Records")) }
                        td {
                            @if input.boolean("HashComplete") == Some(false) { strong { "Hash of part of the file only. " } }
                            (input.text("Note"))
                        }
                    }
                }
            }
        }
    }
}
