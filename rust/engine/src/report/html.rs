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

use super::columns;
use super::model::{time_text, Accounting, EvidenceRecord, Finding, FindingKind, Report, ReportItem, RunInput, Value};
use super::timeline::{kind_colour, timeline};
use crate::vocabulary::CompromiseKind;

/// The kinds of finding, in reading order. Kinds the engine does not know are shown after
/// these, with every field, under their own name.
const READING_ORDER: [CompromiseKind; 6] = [
    CompromiseKind::AttackerIndicator,
    CompromiseKind::SharedIndicator,
    CompromiseKind::ThrottledWindow,
    CompromiseKind::SyncedFolder,
    CompromiseKind::AccessedMessage,
    CompromiseKind::UnresolvedAccess,
];

/// A kind's heading, what it means, and the field that says what each finding is about.
fn describe(kind: CompromiseKind) -> (&'static str, &'static str, Subject) {
    match kind {
        CompromiseKind::AttackerIndicator => ("The attacker's indicators", "The attacker's addresses, sessions and Entra sessions: given, or linked to the attacker by the record named in each reason.", Subject::Indicator),
        CompromiseKind::SharedIndicator => ("Shared indicators (not followed)", "Addresses and sessions the attacker's records carry that other contexts used before the attacker's known activity: the records linked only through these are not counted as the attacker's. Their evidence is the first record of each of those contexts and the attacker's record that would have linked them; -ExpandSharedIndicator follows them.", Subject::Indicator),
        CompromiseKind::ThrottledWindow => ("Unaudited windows", "Access to the mailbox was not audited in these windows (IsThrottled was True): assume all its mail was read in them.", Subject::None),
        CompromiseKind::SyncedFolder => ("Folders synced by the attacker", "A synced folder can be read offline, unaudited: assume every message in it was read.", Subject::Folder),
        CompromiseKind::AccessedMessage => ("Messages read by the attacker", "Each message was read in the attacker's context; the count is a lower bound (Exchange drops repeated identical accesses within an hour).", Subject::Message),
        CompromiseKind::UnresolvedAccess => ("Reads whose messages cannot be named", "The attacker read these, but the records do not (or no longer) hold the message ids: find the messages from the folder and time.", Subject::Folder),
    }
}

/// A finding's field of several values, by its name.
type ListField = (&'static str, for<'f> fn(&'f Finding<'_, '_>) -> &'f [String]);

/// Columns a kind shows when any of its findings has a value in one of their fields: who acted
/// and with what (the calling application of Graph and REST access is its ClientAppId).
const OPTIONAL_COLUMNS: [(&str, &[ListField]); 3] = [
    ("Account", &[("UserId", |f| &f.user_ids)]),
    ("Application", &[("AppId", |f| &f.app_ids), ("ClientAppId", |f| &f.client_app_ids)]),
    ("Entra session", &[("AadSessionId", |f| &f.aad_session_ids)]),
];

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
struct Numbered<'f, 'r, 'a> {
    finding: &'f Finding<'r, 'a>,
    number: usize,
    evidence: Vec<usize>,
}

/// An evidence record with its number and the findings it supports.
struct EvidenceRow<'f> {
    record: &'f EvidenceRecord,
    supports: Vec<usize>,
}

/// The findings in reading order (by kind, then as given) with their numbers, and the
/// evidence records behind them, each once, by time.
struct Numbering<'f, 'r, 'a> {
    sections: Vec<(&'f FindingKind, Vec<Numbered<'f, 'r, 'a>>)>,
    evidence: Vec<EvidenceRow<'f>>,
}

impl<'f, 'r, 'a> Numbering<'f, 'r, 'a> {
    fn of(findings: &'f [Finding<'r, 'a>]) -> Numbering<'f, 'r, 'a> {
        let known: Vec<FindingKind> = READING_ORDER.into_iter().map(FindingKind::Known).collect();
        let mut order: Vec<&FindingKind> = known.iter().collect();
        for finding in findings {
            if !order.contains(&&finding.kind) {
                order.push(&finding.kind);
            }
        }
        let mut records: BTreeMap<_, &'f EvidenceRecord> = BTreeMap::new();
        for finding in findings {
            for record in &finding.evidence {
                records.entry(record.key()).or_insert(record);
            }
        }
        let numbers: BTreeMap<_, usize> = records.keys().enumerate().map(|(i, k)| (*k, i + 1)).collect();
        let mut evidence: Vec<EvidenceRow> = records.values().map(|record| EvidenceRow { record, supports: Vec::new() }).collect();
        let mut sections = Vec::new();
        let mut number = 0;
        for kind in order {
            let mut of_kind = Vec::new();
            for finding in findings.iter().filter(|f| f.kind == *kind) {
                number += 1;
                let mut refs: Vec<usize> = finding.evidence.iter().map(|r| numbers[&r.key()]).collect();
                refs.sort_unstable();
                refs.dedup();
                for e in &refs {
                    evidence[e - 1].supports.push(number);
                }
                of_kind.push(Numbered { finding, number, evidence: refs });
            }
            if !of_kind.is_empty() {
                // The kind as the findings hold it: `known` lives only in this function.
                sections.push((&of_kind[0].finding.kind, of_kind));
            }
        }
        Numbering { sections, evidence }
    }
}

/// An HTML report (see the module documentation).
pub fn render_html(title: &str, generator: &str, report: &Report<'_, '_>) -> String {
    let model = Numbering::of(&report.findings);
    let run = report.run.as_ref();
    let accounting = report.accounting();
    let accounting = accounting.as_ref();
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
                        @if let Some(end) = run.and_then(|r| r.end_time.get()) { " on " (time_text(end)) }
                        ". Times are UTC. Every value comes from the audit records as they were read; nothing in this page runs."
                    }
                }
                (alerts(report, accounting))
                section id="summary" {
                    h2 { "Summary" }
                    (scope(report, accounting))
                    (summary(report, &model))
                }
                @if let Some(svg) = timeline(&report.findings) {
                    section id="timeline" {
                        h2 { "Timeline" }
                        p.note { "Each mark is a record of attacker activity, in its mailbox's lane; bands are unaudited windows. Hover a mark for its time." }
                        (svg)
                    }
                }
                @if !model.sections.is_empty() {
                    section id="findings" {
                        h2 { "Findings (" (report.findings.len()) ")" }
                        @for (kind, findings) in &model.sections {
                            (findings_section(kind, findings))
                        }
                    }
                }
                (other_results(&report.others))
                @if !model.evidence.is_empty() {
                    section id="evidence" {
                        h2 { "Evidence (" (model.evidence.len()) " records)" }
                        p.note { "Every record behind a finding, each once, by time. Source is the file and line (or the pipeline object) the record was read from; Supports lists the findings it proves." }
                        (evidence_table(&model.evidence))
                    }
                }
                section id="custody" {
                    h2 { "Chain of custody" }
                    (custody(report, accounting))
                }
            }
        }
    };
    page.into_string()
}

// ---- what went wrong ------------------------------------------------------------------------

fn alerts(report: &Report<'_, '_>, accounting: Option<&Accounting<'_, '_>>) -> Markup {
    let truncated = accounting.and_then(|a| a.possibly_truncated).unwrap_or(false);
    let unbalanced = accounting.and_then(|a| a.is_balanced) == Some(false);
    let errors = accounting.and_then(|a| a.error_count).unwrap_or(0);
    let (warnings, inputs): (&[String], &[RunInput]) = match &report.run {
        Some(run) => (&run.warnings, &run.inputs),
        None => (&[], &[]),
    };
    let unopened: Vec<&str> =
        inputs.iter().filter(|input| input.is_file() && input.sha256.is_none()).map(|input| input.path.as_str()).collect();
    let partial: Vec<&str> = inputs.iter().filter(|input| input.hash_complete == Some(false)).map(|input| input.path.as_str()).collect();
    html! {
        @if truncated {
            div.alert {
                strong { "The input may be truncated: " }
                (accounting.and_then(|a| a.truncation_reason.as_deref()).unwrap_or("the collection or query did not return every record."))
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
                ul { @for warning in warnings { li { (warning) } } }
            }
        }
    }
}

// ---- summary ------------------------------------------------------------------------------

/// What the verdict was asked, in sentences: indicators, expansion, period, filters, input.
fn scope(report: &Report<'_, '_>, accounting: Option<&Accounting<'_, '_>>) -> Markup {
    let Some(run) = &report.run else {
        return html! {
            p.note { "These results do not carry the run that produced them (they were made by another command or passed through a file): the indicators, period and inputs are not known to this report." }
        };
    };
    let indicators = parameter_lines(run.indicators);
    let filters = finding_filters(report);
    let expansion = run.context_expansion;
    let shared_followed = run.shared_indicator_expansion == Some(true);
    let shared = report.findings.iter().filter(|f| f.kind.is(CompromiseKind::SharedIndicator)).count();
    let start = run.period_start.as_ref().map(time_text);
    let end = run.period_end.as_ref().map(time_text);
    let inputs = run.inputs.len();
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
                    (Some(s), None) => { "from " strong { (s) } "; earlier records take no part in attribution: they are the baseline of who used which address and session, and a throttled one can open an unaudited window into the period." }
                    (None, Some(e)) => { "before " strong { (e) } "; later records take no part in attribution." }
                    (Some(s), Some(e)) => { "from " strong { (s) } " to " strong { (e) } "; records outside take no part in attribution (those before it are the baseline of who used which address and session, and a throttled one can open an unaudited window into the period)." }
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
                    "Input: " (a.read) " records read from " (inputs) " input(s): " (a.analysed) " analysed, "
                    (a.skipped) " of other operations, " (a.duplicates) " duplicates, " (a.filtered) " outside the filters"
                    @if run.command == "Get-CompromisedMailAccess" { " (still read for attribution)" }
                    ", " (a.errors) " errors."
                }
            }
        }
    }
}

/// `-Name value, value` for each entry of a map of parameters.
fn parameter_lines(parameters: &[(&str, Value<'_>)]) -> Vec<String> {
    parameters
        .iter()
        .map(|(name, value)| match value {
            Value::Bool(true) => format!("-{name}"),
            other => format!("-{name} {}", other.text().replace("; ", ", ")),
        })
        .collect()
}

/// Per mailbox, what the attacker read or must be presumed to have read; then the
/// indicators (findings without a mailbox).
fn summary(report: &Report<'_, '_>, model: &Numbering<'_, '_, '_>) -> Markup {
    let of_run = report.run.as_ref().and_then(|r| r.finding_count);
    if report.findings.is_empty() {
        return html! {
            p.none { "No findings." }
            @match of_run {
                Some(n) if n > 0 => p { "The run found " (n) " finding(s), but none was given to this report." },
                _ => p { "Nothing in the records read matches the attacker, and no mailbox was unaudited (throttled) in the period." },
            }
        };
    }
    let mut mailboxes: Vec<(&str, Vec<&Finding>)> = Vec::new();
    for finding in &report.findings {
        let Some(mailbox) = finding.mailbox.as_deref() else { continue };
        match mailboxes.iter_mut().find(|(m, _)| m.eq_ignore_ascii_case(mailbox)) {
            Some((_, list)) => list.push(finding),
            None => mailboxes.push((mailbox, vec![finding])),
        }
    }
    let any_other = report.findings.iter().any(|f| f.mailbox.is_some() && matches!(f.kind, FindingKind::Other(_)));
    let indicator_kinds: Vec<&(&FindingKind, Vec<Numbered>)> =
        model.sections.iter().filter(|(_, findings)| findings.iter().all(|f| f.finding.mailbox.is_none())).collect();
    html! {
        @if let Some(n) = of_run {
            @if n as usize != report.findings.len() {
                p.warn { "This report shows " (report.findings.len()) " of the run's " (n) " findings: the others were left out before the report." }
            }
        }
        @if mailboxes.is_empty() {
            p { "No finding concerns a mailbox." }
        } @else {
            h3 { "Per mailbox" }
            @if let Some(filters) = finding_filters(report) {
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
                        (mailbox_row(mailbox, findings, any_other))
                    }
                }
            }
        }
        @for (kind, findings) in indicator_kinds {
            @let shared = kind.is(CompromiseKind::SharedIndicator);
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
                            td { code { (indicator_text(f.finding)) } }
                            td {
                                @if shared { "not followed: used by others before; see " (evidence_refs(f)) }
                                @else if f.evidence.is_empty() { "given" }
                                @else { "linked by " (evidence_refs(f)) }
                            }
                            td.t { (f.finding.start.text()) } td.t { (f.finding.end.text()) }
                            td.n { (f.finding.access_count.as_deref().unwrap_or_default()) }
                        }
                    }
                }
            }
        }
    }
}

/// `-Mailbox a, b and -UserIds c` when the run chose its findings so; None otherwise.
fn finding_filters(report: &Report<'_, '_>) -> Option<String> {
    let parameters = report.run.as_ref()?.parameters;
    let given: Vec<String> = ["Mailbox", "UserIds"]
        .iter()
        .filter_map(|name| parameters.iter().find(|(k, _)| k == name).map(|(_, v)| format!("-{name} {}", v.text().replace("; ", ", "))))
        .collect();
    (!given.is_empty()).then(|| given.join(" and "))
}

fn mailbox_row(mailbox: &str, findings: &[&Finding<'_, '_>], any_other: bool) -> Markup {
    let of = |kind: CompromiseKind| findings.iter().filter(move |f| f.kind.is(kind));
    let messages = of(CompromiseKind::AccessedMessage).count();
    let sizes: Vec<Option<i64>> = of(CompromiseKind::AccessedMessage).map(|f| f.size_in_bytes.get().copied()).collect();
    let bytes: i64 = sizes.iter().flatten().sum();
    let unknown_sizes = sizes.iter().filter(|s| s.is_none()).count();
    let folders: Vec<&str> = of(CompromiseKind::SyncedFolder).map(|f| f.folder_path.as_deref().unwrap_or("(unnamed)")).collect();
    let unresolved = of(CompromiseKind::UnresolvedAccess).count();
    let windows: Vec<_> = of(CompromiseKind::ThrottledWindow).filter_map(|f| Some((*f.start.get()?, *f.end.get()?))).collect();
    let hours: i64 = windows.iter().map(|(s, e)| (*e - *s).num_hours()).sum();
    let access: Vec<&&Finding> = findings.iter().filter(|f| !f.kind.is(CompromiseKind::ThrottledWindow)).collect();
    let first = access.iter().filter_map(|f| f.start.get()).min();
    let last = access.iter().filter_map(|f| f.end.get()).max();
    let other = findings.iter().filter(|f| matches!(f.kind, FindingKind::Other(_))).count();
    html! {
        tr {
            td.w { (mailbox) }
            td.n { (messages) }
            td.n { (thousands(bytes)) @if unknown_sizes > 0 { br; small { "+ " (unknown_sizes) " of unknown size" } } }
            td { (folders.len()) @if !folders.is_empty() { ": " (folders.join(", ")) } }
            td.n { (unresolved) }
            td {
                (windows.len())
                @if !windows.is_empty() { " (" (hours) " h)" @for (s, e) in &windows { br; small { (time_text(s)) " to " (time_text(e)) } } }
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

fn heading(kind: &FindingKind) -> String {
    match kind {
        FindingKind::Known(kind) => describe(*kind).0.to_string(),
        FindingKind::Other(name) => format!("Findings of kind {name}"),
    }
}

fn indicator_text(finding: &Finding<'_, '_>) -> String {
    let parts: Vec<&str> =
        [&finding.client_ip_addresses, &finding.session_ids, &finding.aad_session_ids].into_iter().flatten().map(String::as_str).collect();
    parts.join(", ")
}

// ---- findings -----------------------------------------------------------------------------

fn findings_section(kind: &FindingKind, findings: &[Numbered<'_, '_, '_>]) -> Markup {
    html! {
        h3 id={ "kind-" (kind.name()) } {
            span.k style={ "background:" (kind_colour(kind.name())) } {}
            (heading(kind)) " (" (findings.len()) ")"
        }
        @match kind {
            FindingKind::Known(known) => {
                @let (_, note, subject) = describe(*known);
                p.note { (note) }
                (known_table(subject, findings))
            }
            FindingKind::Other(_) => {
                p.note { "A kind of finding this report does not describe: every field is shown." }
                (generic_findings_table(findings))
            }
        }
    }
}

fn known_table(subject: Subject, findings: &[Numbered<'_, '_, '_>]) -> Markup {
    let mailbox = findings.iter().any(|f| f.finding.mailbox.is_some());
    let size = findings.iter().any(|f| f.finding.size_in_bytes.is_present());
    let any = |field: for<'f> fn(&'f Finding<'_, '_>) -> &'f [String]| findings.iter().any(|f| !field(f.finding).is_empty());
    // An indicator's Entra session column holds the indicator itself, shown as its subject.
    let optional: Vec<(&str, &[ListField])> = OPTIONAL_COLUMNS
        .iter()
        .copied()
        .filter(|(label, fields)| {
            !(subject == Subject::Indicator && *label == "Entra session") && fields.iter().any(|(_, field)| any(*field))
        })
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
                @for numbered in findings {
                    @let f = numbered.finding;
                    tr id={ "F" (numbered.number) } {
                        td.n { "F" (numbered.number) }
                        @if mailbox { td.m { (f.mailbox.as_deref().unwrap_or_default()) } }
                        @match subject {
                            Subject::Message => td { code { (f.internet_message_id) } },
                            Subject::Folder => td.f { (f.folder_path.as_deref().unwrap_or_default()) },
                            Subject::Indicator => td { code { (indicator_text(f)) } },
                            Subject::None => {},
                        }
                        td.t { (f.start.text()) } td.t { (f.end.text()) }
                        td.n { (f.access_count.as_deref().unwrap_or("?")) }
                        @if size { td.n { (f.size_in_bytes.text()) } }
                        @if from {
                            td.fr {
                                (f.client_ip_addresses.join(", "))
                                @if !f.session_ids.is_empty() { br; small { "session " code { (f.session_ids.join(", ")) } } }
                                @if !f.client_info_strings.is_empty() { br; small.brk { (f.client_info_strings.join(", ")) } }
                            }
                        }
                        @for (_, fields) in &optional { td.brk { (optional_cell(f, fields)) } }
                        td { (f.reason) }
                        td { (evidence_refs(numbered)) }
                    }
                }
            }
        }
    }
}

/// Who acted, or with what: the values of the first field, then of each other one (so, the
/// AppId, then the calling application's ClientAppId) on lines of their own.
fn optional_cell(finding: &Finding<'_, '_>, fields: &[ListField]) -> Markup {
    html! {
        @for (i, (name, field)) in fields.iter().enumerate() {
            @let values = field(finding);
            @if !values.is_empty() {
                @if i == 0 { (values.join(", ")) }
                @else { br; small { (name) " " code { (values.join(", ")) } } }
            }
        }
    }
}

fn generic_findings_table(findings: &[Numbered<'_, '_, '_>]) -> Markup {
    let columns = columns(findings.iter().map(|f| f.finding.item));
    html! {
        table {
            thead { tr { th { "#" } @for column in &columns { th { (column) } } th { "Evidence" } } }
            tbody {
                @for f in findings {
                    tr id={ "F" (f.number) } {
                        td.n { "F" (f.number) }
                        @for column in &columns { td.brk { (f.finding.item.text(column)) } }
                        td { (evidence_refs(f)) }
                    }
                }
            }
        }
    }
}

/// A finding's evidence: links to its records in the appendix, or the record ids when the
/// records are not there.
fn evidence_refs(finding: &Numbered<'_, '_, '_>) -> Markup {
    if finding.evidence.is_empty() {
        let ids = &finding.finding.evidence_record_ids;
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

fn evidence_table(rows: &[EvidenceRow<'_>]) -> Markup {
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
                        td.t { (r.time.text()) }
                        td.m { (r.mailbox) }
                        td.m { (r.user_id) }
                        td {
                            (r.access_type)
                            @if r.is_throttled == Some(true) { br; strong { "throttled" } }
                            @if let Some(count) = r.operation_count { br; small { (count) " operation(s)" } }
                        }
                        td {
                            (r.client_ip_address)
                            @if let Some(session) = &r.session_id { br; small { "session " code { (session) } } }
                            @if let Some(client) = &r.client_info_string { br; small.brk { (client) } }
                            @let apps: Vec<&str> = [&r.app_id, &r.client_app_id].into_iter().flatten().map(String::as_str).collect();
                            @if !apps.is_empty() { br; small { "app " code { (apps.join(", ")) } } }
                            @if let Some(entra) = &r.aad_session_id { br; small { "Entra session " code { (entra) } } }
                            @if let Some(token) = &r.unique_token_id { br; small { "token " code { (token) } } }
                        }
                        td { (r.folders.join(", ")) }
                        td {
                            @for (k, item) in r.items.iter().enumerate() { @if k > 0 { br; } code { (item) } }
                        }
                        td { code { (r.record_id) } }
                        td.brk { (r.source) }
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

fn custody(report: &Report<'_, '_>, accounting: Option<&Accounting<'_, '_>>) -> Markup {
    let run = report.run.as_ref();
    html! {
        @match run {
            None => p.note { "The run that produced these results is not known to this report (give the findings of Get-CompromisedMailAccess as they come, or use its -ReportPath)." },
            Some(run) => {
                table.kv { tbody {
                    @for (label, value) in run.custody_rows() { tr { th { (label) } td { (value) } } }
                } }
                h3 { "Parameters, as given" }
                @let parameters = parameter_lines(run.parameters);
                @if parameters.is_empty() { p { "None." } } @else {
                    ul { @for line in &parameters { li { code { (line) } } } }
                }
                h3 { "Inputs" }
                (inputs_table(&run.inputs))
            }
        }
        @if let Some(a) = accounting {
            h3 { "Accounting of the records read" }
            p {
                "Read " (a.read) " = analysed " (a.analysed) " + skipped " (a.skipped) " + duplicates "
                (a.duplicates) " + outside the filters " (a.filtered) " + errors " (a.errors)
                @match a.is_balanced { Some(true) => { ": the counts add up." } Some(false) => { ": " strong { "the counts do not add up." } } None => {} }
            }
            table.kv { tbody {
                @for (name, value) in a.entries {
                    tr { th { (name) } td { (value.text()) } }
                }
            } }
        }
        @if let Some(run) = run {
            @if !run.warnings.is_empty() {
                h3 { "Warnings" }
                ul { @for warning in &run.warnings { li { (warning) } } }
            }
            @let errors = &run.error_messages;
            @if !errors.is_empty() {
                h3 { "Records that could not be read" }
                ul { @for error in errors { li { (error) } } }
                @let total = accounting.and_then(|a| a.error_count).unwrap_or(0);
                @if total > errors.len() as i64 { p.note { "The first " (errors.len()) " of " (total) " are listed." } }
            }
        }
    }
}

fn inputs_table(inputs: &[RunInput]) -> Markup {
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
                            @if input.is_pipeline() { "Pipeline: " (input.objects) " object(s)" }
                            @else { span.brk { (input.path) } }
                        }
                        td.n { (input.size.map(thousands).unwrap_or_default()) }
                        td { code.id { (input.sha256.as_deref().unwrap_or_default()) } }
                        td.n { (input.records) }
                        td {
                            @if input.hash_complete == Some(false) { strong { "Hash of part of the file only. " } }
                            (input.note)
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_place_in_the_reading_order() {
        for kind in CompromiseKind::ALL {
            assert_eq!(READING_ORDER.iter().filter(|k| *k == kind).count(), 1, "{kind:?}");
        }
    }
}
