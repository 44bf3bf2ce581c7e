//! The report's model: the objects given to a report, read once from the wire tree into typed
//! values, which the renderers draw on and never the tree.
//!
//! A report is given whatever objects the user pipes: findings (live, or `Deserialized.` after
//! Export-Clixml and Import-Clixml), the run behind them, an `InputSummary`, other results of
//! the module and objects of any other type. Each is a [`ReportItem`]: its type and every
//! property in order, as [`Value`]s with the .NET ticks of a DateTime converted to UTC here, in
//! this one place. [`Report::of`] then gives the items their roles, typed: the [`Run`] (the
//! chain of custody), the [`Accounting`], [`Finding`]s with their [`EvidenceRecord`]s, and the
//! other objects, kept as they came. A finding of a kind the engine does not know is kept with
//! all its fields, as is any property the model does not read: CSV and JSON write every one.

use chrono::{DateTime, Utc};

use crate::input::tree::Node;
use crate::time::from_dotnet_ticks;
use crate::vocabulary::CompromiseKind;

pub const FINDING: &str = "MailAccessForensics.CompromiseFinding";
pub const RUN: &str = "MailAccessForensics.MailAccessRun";
pub const SUMMARY: &str = "MailAccessForensics.InputSummary";

/// `DateTime.MaxValue.Ticks`: no .NET time is later (so arithmetic on times cannot overflow).
const MAX_DOTNET_TICKS: i64 = 3_155_378_975_999_999_999;

/// A property's value as given.
#[derive(Clone, Debug, PartialEq)]
pub enum Value<'a> {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(&'a str),
    /// A .NET DateTime, in UTC.
    Time(DateTime<Utc>),
    /// Ticks outside .NET's DateTime range (0001-01-01 to 9999-12-31): a damaged batch.
    TimeOutOfRange(i64),
    List(Vec<Value<'a>>),
    Object(Vec<(&'a str, Value<'a>)>),
    /// A value the shim could not read, with its words for the user.
    Unreadable(&'a str),
}

impl<'a> Value<'a> {
    /// Reads a node of the wire tree; the one place .NET ticks become times.
    pub fn of(node: &Node<'a>) -> Value<'a> {
        match node {
            Node::Null => Value::Null,
            Node::Bool(b) => Value::Bool(*b),
            Node::Int(i) => Value::Int(*i),
            Node::Float(f) => Value::Float(*f),
            Node::Str(s) => Value::Text(s),
            Node::DateTime(ticks) => match from_dotnet_ticks(*ticks).filter(|_| (0..=MAX_DOTNET_TICKS).contains(ticks)) {
                Some(time) => Value::Time(time),
                None => Value::TimeOutOfRange(*ticks),
            },
            Node::List(items) => Value::List(items.iter().map(Value::of).collect()),
            Node::Map(entries) => Value::Object(entries.iter().map(|(k, v)| (*k, Value::of(v))).collect()),
            Node::Unreadable(_, words) => Value::Unreadable(words),
        }
    }

    /// The value as one line of text: lists joined with `; `, times as ISO 8601 UTC to the
    /// second, an object as `name=value` pairs, nothing for null.
    pub fn text(&self) -> String {
        match self {
            Value::Null => String::new(),
            Value::Bool(b) => (if *b { "True" } else { "False" }).to_string(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => f.to_string(),
            Value::Text(s) => s.to_string(),
            Value::Time(time) => time_text(time),
            Value::TimeOutOfRange(ticks) => format!("(ticks {ticks})"),
            Value::List(items) => items.iter().map(Value::text).collect::<Vec<_>>().join("; "),
            Value::Object(entries) => entries.iter().map(|(k, v)| format!("{k}={}", v.text())).collect::<Vec<_>>().join("; "),
            Value::Unreadable(reason) => format!("(unreadable: {reason})"),
        }
    }
}

/// A field the report reads as a type: absent (or empty), of that type, or something else,
/// kept as its text so that the report shows what was given rather than drop it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Field<T> {
    Absent,
    Is(T),
    Other(String),
}

impl<T> Field<T> {
    /// The value, when it is of the type.
    pub fn get(&self) -> Option<&T> {
        match self {
            Field::Is(value) => Some(value),
            _ => None,
        }
    }

    pub fn is_present(&self) -> bool {
        !matches!(self, Field::Absent)
    }

    fn read(value: Option<&Value<'_>>, typed: impl Fn(&Value<'_>) -> Option<T>) -> Field<T> {
        let Some(value) = value else { return Field::Absent };
        if let Some(typed) = typed(value) {
            return Field::Is(typed);
        }
        let text = value.text();
        if text.is_empty() {
            Field::Absent
        } else {
            Field::Other(text)
        }
    }
}

impl Field<DateTime<Utc>> {
    /// The time as the report writes it, or the value as given; empty when absent.
    pub fn text(&self) -> String {
        match self {
            Field::Absent => String::new(),
            Field::Is(time) => time_text(time),
            Field::Other(text) => text.clone(),
        }
    }
}

impl Field<i64> {
    /// The number, or the value as given; empty when absent.
    pub fn text(&self) -> String {
        match self {
            Field::Absent => String::new(),
            Field::Is(number) => number.to_string(),
            Field::Other(text) => text.clone(),
        }
    }
}

/// A time as the report writes it: ISO 8601, UTC, to the second.
pub fn time_text(time: &DateTime<Utc>) -> String {
    time.format("%Y-%m-%d %H:%M:%SZ").to_string()
}

/// Reading typed values out of properties (an item's, or an object value's), by name.
trait Properties<'a> {
    fn value(&self, name: &str) -> Option<&Value<'a>>;

    /// A value as one line of text; empty when absent.
    fn text(&self, name: &str) -> String {
        self.value(name).map(Value::text).unwrap_or_default()
    }

    /// Text that is present and not empty.
    fn some_text(&self, name: &str) -> Option<String> {
        Some(self.text(name)).filter(|t| !t.is_empty())
    }

    /// A list's entries as text (a single value is a list of one); empty entries left out.
    fn texts(&self, name: &str) -> Vec<String> {
        match self.value(name) {
            Some(Value::List(items)) => items.iter().map(Value::text).filter(|t| !t.is_empty()).collect(),
            Some(Value::Null) | None => Vec::new(),
            Some(other) => Some(other.text()).filter(|t| !t.is_empty()).into_iter().collect(),
        }
    }

    fn time(&self, name: &str) -> Option<DateTime<Utc>> {
        self.time_field(name).get().copied()
    }

    /// A time, or what was given instead.
    fn time_field(&self, name: &str) -> Field<DateTime<Utc>> {
        Field::read(self.value(name), |value| match value {
            Value::Time(time) => Some(*time),
            _ => None,
        })
    }

    fn int(&self, name: &str) -> Option<i64> {
        self.int_field(name).get().copied()
    }

    /// A whole number, or what was given instead.
    fn int_field(&self, name: &str) -> Field<i64> {
        Field::read(self.value(name), |value| match value {
            Value::Int(i) => Some(*i),
            Value::Float(f) if f.fract() == 0.0 => Some(*f as i64),
            _ => None,
        })
    }

    fn boolean(&self, name: &str) -> Option<bool> {
        match self.value(name) {
            Some(Value::Bool(b)) => Some(*b),
            _ => None,
        }
    }

    /// An object value's properties.
    fn object(&self, name: &str) -> Option<&[(&'a str, Value<'a>)]> {
        match self.value(name) {
            Some(Value::Object(entries)) => Some(entries),
            _ => None,
        }
    }

    /// A list of objects; other entries are left out.
    fn objects(&self, name: &str) -> Vec<&[(&'a str, Value<'a>)]> {
        match self.value(name) {
            Some(Value::List(items)) => items
                .iter()
                .filter_map(|v| match v {
                    Value::Object(entries) => Some(entries.as_slice()),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        }
    }
}

impl<'a> Properties<'a> for [(&'a str, Value<'a>)] {
    fn value(&self, name: &str) -> Option<&Value<'a>> {
        self.iter().find(|(k, _)| *k == name).map(|(_, v)| v)
    }
}

/// One object given to a report: its type name as given and every property, in order.
#[derive(Clone, Debug, PartialEq)]
pub struct ReportItem<'a> {
    pub type_name: &'a str,
    pub properties: Vec<(&'a str, Value<'a>)>,
}

impl<'a> ReportItem<'a> {
    /// Reads `{Type: "...", Properties: {...}}`, as the shim encodes an object for a report.
    pub fn from_node(node: &Node<'a>) -> Result<ReportItem<'a>, String> {
        let Node::Map(entries) = node else {
            return Err("a report item is not an object".to_string());
        };
        let mut type_name = None;
        let mut properties = None;
        for (key, value) in entries {
            match (*key, value) {
                ("Type", Node::Str(name)) => type_name = Some(*name),
                ("Properties", Node::Map(props)) => properties = Some(props.iter().map(|(k, v)| (*k, Value::of(v))).collect()),
                _ => {}
            }
        }
        let properties = properties.ok_or("a report item has no Properties")?;
        Ok(ReportItem { type_name: type_name.ok_or("a report item has no Type")?, properties })
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

    pub fn get(&self, name: &str) -> Option<&Value<'a>> {
        self.properties.value(name)
    }

    /// A property as one line of text; empty when absent.
    pub fn text(&self, name: &str) -> String {
        self.properties.text(name)
    }
}

/// What a finding is about: a kind the engine knows, or another one, kept by its name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FindingKind {
    Known(CompromiseKind),
    Other(String),
}

impl FindingKind {
    pub fn name(&self) -> &str {
        match self {
            FindingKind::Known(kind) => kind.name(),
            FindingKind::Other(name) => name,
        }
    }

    pub fn is(&self, kind: CompromiseKind) -> bool {
        *self == FindingKind::Known(kind)
    }
}

/// One record behind a finding, as the finding's `Evidence` lists it.
#[derive(Clone, Debug, PartialEq)]
pub struct EvidenceRecord {
    pub time: Field<DateTime<Utc>>,
    pub record_id: String,
    /// The file and line, or the pipeline object, the record was read from.
    pub source: String,
    pub mailbox: String,
    pub user_id: String,
    pub access_type: String,
    pub is_throttled: Option<bool>,
    pub operation_count: Option<i64>,
    pub client_ip_address: String,
    pub session_id: Option<String>,
    pub client_info_string: Option<String>,
    pub app_id: Option<String>,
    pub client_app_id: Option<String>,
    pub aad_session_id: Option<String>,
    pub unique_token_id: Option<String>,
    pub folders: Vec<String>,
    pub items: Vec<String>,
}

impl EvidenceRecord {
    fn of(record: &[(&str, Value<'_>)]) -> EvidenceRecord {
        EvidenceRecord {
            time: record.time_field("Time"),
            record_id: record.text("RecordId"),
            source: record.text("Source"),
            mailbox: record.text("Mailbox"),
            user_id: record.text("UserId"),
            access_type: record.text("AccessType"),
            is_throttled: record.boolean("IsThrottled"),
            operation_count: record.int("OperationCount"),
            client_ip_address: record.text("ClientIPAddress"),
            session_id: record.some_text("SessionId"),
            client_info_string: record.some_text("ClientInfoString"),
            app_id: record.some_text("AppId"),
            client_app_id: record.some_text("ClientAppId"),
            aad_session_id: record.some_text("AadSessionId"),
            unique_token_id: record.some_text("UniqueTokenId"),
            folders: record.texts("Folders"),
            items: record.texts("Items"),
        }
    }

    /// The record's identity in the appendix: its time, id and where it was.
    pub fn key(&self) -> (Option<DateTime<Utc>>, &str, &str) {
        (self.time.get().copied(), &self.record_id, &self.source)
    }
}

/// A finding: its kind and the fields the report reads, typed, and the item it came as (every
/// field, for CSV and JSON, and for a kind the report does not describe).
#[derive(Debug)]
pub struct Finding<'r, 'a> {
    pub item: &'r ReportItem<'a>,
    pub kind: FindingKind,
    pub mailbox: Option<String>,
    pub start: Field<DateTime<Utc>>,
    pub end: Field<DateTime<Utc>>,
    pub access_count: Option<String>,
    pub size_in_bytes: Field<i64>,
    pub folder_path: Option<String>,
    pub internet_message_id: String,
    pub client_ip_addresses: Vec<String>,
    pub session_ids: Vec<String>,
    pub aad_session_ids: Vec<String>,
    pub client_info_strings: Vec<String>,
    pub user_ids: Vec<String>,
    pub app_ids: Vec<String>,
    pub client_app_ids: Vec<String>,
    pub reason: String,
    pub evidence: Vec<EvidenceRecord>,
    /// The ids of its records, for when the records themselves are not given.
    pub evidence_record_ids: Vec<String>,
}

impl<'r, 'a> Finding<'r, 'a> {
    fn of(item: &'r ReportItem<'a>) -> Finding<'r, 'a> {
        let p = item.properties.as_slice();
        let kind = p.text("Kind");
        Finding {
            item,
            kind: CompromiseKind::from_name(&kind).map_or(FindingKind::Other(kind), FindingKind::Known),
            mailbox: p.some_text("Mailbox"),
            start: p.time_field("Start"),
            end: p.time_field("End"),
            access_count: p.some_text("AccessCount"),
            size_in_bytes: p.int_field("SizeInBytes"),
            folder_path: p.some_text("FolderPath"),
            internet_message_id: p.text("InternetMessageId"),
            client_ip_addresses: p.texts("ClientIPAddress"),
            session_ids: p.texts("SessionId"),
            aad_session_ids: p.texts("AadSessionId"),
            client_info_strings: p.texts("ClientInfoString"),
            user_ids: p.texts("UserId"),
            app_ids: p.texts("AppId"),
            client_app_ids: p.texts("ClientAppId"),
            reason: p.text("Reason"),
            evidence: p.objects("Evidence").into_iter().map(EvidenceRecord::of).collect(),
            evidence_record_ids: p.texts("EvidenceRecordIds"),
        }
    }
}

/// One input of a run: a file, or the objects of the pipeline.
#[derive(Clone, Debug, PartialEq)]
pub struct RunInput {
    pub kind: String,
    pub path: String,
    /// The number of pipeline objects, as given.
    pub objects: String,
    pub size: Option<i64>,
    /// None when the file could not be opened.
    pub sha256: Option<String>,
    /// False when the hash covers part of the file only.
    pub hash_complete: Option<bool>,
    pub records: String,
    pub note: String,
}

impl RunInput {
    fn of(input: &[(&str, Value<'_>)]) -> RunInput {
        RunInput {
            kind: input.text("Kind"),
            path: input.text("Path"),
            objects: input.text("Objects"),
            size: input.int("Size"),
            sha256: input.some_text("Sha256"),
            hash_complete: input.boolean("HashComplete"),
            records: input.text("Records"),
            note: input.text("Note"),
        }
    }

    pub fn is_file(&self) -> bool {
        self.kind == "File"
    }

    pub fn is_pipeline(&self) -> bool {
        self.kind == "Pipeline"
    }
}

/// The run that produced the findings: the chain of custody.
#[derive(Debug)]
pub struct Run<'r, 'a> {
    pub item: &'r ReportItem<'a>,
    pub id: Option<&'r Value<'a>>,
    pub command: String,
    pub start_time: Field<DateTime<Utc>>,
    pub end_time: Field<DateTime<Utc>>,
    pub user: Option<String>,
    pub host: Option<String>,
    pub operating_system: Option<String>,
    pub powershell_version: Option<String>,
    pub module_version: Option<String>,
    pub engine_version: Option<String>,
    /// The parameters as given, and the attacker's indicators, by name, in order.
    pub parameters: &'r [(&'a str, Value<'a>)],
    pub indicators: &'r [(&'a str, Value<'a>)],
    pub context_expansion: Option<bool>,
    pub shared_indicator_expansion: Option<bool>,
    pub period_start: Option<DateTime<Utc>>,
    pub period_end: Option<DateTime<Utc>>,
    pub inputs: Vec<RunInput>,
    pub warnings: Vec<String>,
    /// The first of the errors of the records that could not be read.
    pub error_messages: Vec<String>,
    pub finding_count: Option<i64>,
    pub summary: Option<Accounting<'r, 'a>>,
}

impl<'r, 'a> Run<'r, 'a> {
    fn of(item: &'r ReportItem<'a>) -> Run<'r, 'a> {
        let p = item.properties.as_slice();
        Run {
            item,
            id: p.value("Id"),
            command: p.text("Command"),
            start_time: p.time_field("StartTime"),
            end_time: p.time_field("EndTime"),
            user: p.some_text("User"),
            host: p.some_text("Host"),
            operating_system: p.some_text("OperatingSystem"),
            powershell_version: p.some_text("PowerShellVersion"),
            module_version: p.some_text("ModuleVersion"),
            engine_version: p.some_text("EngineVersion"),
            parameters: p.object("Parameters").unwrap_or_default(),
            indicators: p.object("Indicators").unwrap_or_default(),
            context_expansion: p.boolean("ContextExpansion"),
            shared_indicator_expansion: p.boolean("SharedIndicatorExpansion"),
            period_start: p.time("PeriodStart"),
            period_end: p.time("PeriodEnd"),
            inputs: p.objects("Inputs").into_iter().map(RunInput::of).collect(),
            warnings: p.texts("Warnings"),
            error_messages: p.texts("ErrorMessages"),
            finding_count: p.int("FindingCount"),
            summary: p.object("Summary").map(Accounting::of),
        }
    }

    /// The custody table's rows: label and value, for the values present.
    pub fn custody_rows(&self) -> Vec<(&'static str, String)> {
        let id = self.id.map(Value::text).filter(|t| !t.is_empty());
        let command = Some(self.command.clone()).filter(|t| !t.is_empty());
        let rows = [
            ("Run", id),
            ("Command", command),
            ("Started", Some(self.start_time.text())),
            ("Ended", Some(self.end_time.text())),
            ("Account", self.user.clone()),
            ("Computer", self.host.clone()),
            ("Operating system", self.operating_system.clone()),
            ("PowerShell", self.powershell_version.clone()),
            ("Module", self.module_version.clone()),
            ("Engine", self.engine_version.clone()),
        ];
        rows.into_iter().filter_map(|(label, value)| Some((label, value.filter(|v| !v.is_empty())?))).collect()
    }
}

/// The accounting of the records read (an InputSummary): Read = Analysed + Skipped +
/// Duplicates + Filtered + Errors.
#[derive(Clone, Debug)]
pub struct Accounting<'r, 'a> {
    /// Every count and note, in order.
    pub entries: &'r [(&'a str, Value<'a>)],
    pub read: String,
    pub analysed: String,
    pub skipped: String,
    pub duplicates: String,
    pub filtered: String,
    pub errors: String,
    pub error_count: Option<i64>,
    pub is_balanced: Option<bool>,
    pub possibly_truncated: Option<bool>,
    pub truncation_reason: Option<String>,
}

impl<'r, 'a> Accounting<'r, 'a> {
    fn of(entries: &'r [(&'a str, Value<'a>)]) -> Accounting<'r, 'a> {
        Accounting {
            entries,
            read: entries.text("Read"),
            analysed: entries.text("Analysed"),
            skipped: entries.text("Skipped"),
            duplicates: entries.text("Duplicates"),
            filtered: entries.text("Filtered"),
            errors: entries.text("Errors"),
            error_count: entries.int("Errors"),
            is_balanced: entries.boolean("IsBalanced"),
            possibly_truncated: entries.boolean("PossiblyTruncated"),
            truncation_reason: entries.some_text("TruncationReason"),
        }
    }
}

/// The items of a report, by role.
#[derive(Debug)]
pub struct Report<'r, 'a> {
    /// Every item, in the order given.
    pub items: &'r [ReportItem<'a>],
    /// The run the findings came from (the first given).
    pub run: Option<Run<'r, 'a>>,
    /// The accounting given with -InputSummary (the first given).
    pub summary: Option<&'r ReportItem<'a>>,
    pub findings: Vec<Finding<'r, 'a>>,
    /// Any other item (a second run or summary among them), in the order given.
    pub others: Vec<&'r ReportItem<'a>>,
}

impl<'r, 'a> Report<'r, 'a> {
    pub fn of(items: &'r [ReportItem<'a>]) -> Report<'r, 'a> {
        let mut report = Report { items, run: None, summary: None, findings: Vec::new(), others: Vec::new() };
        for item in items {
            match item.kind_of_object() {
                RUN if report.run.is_none() => report.run = Some(Run::of(item)),
                SUMMARY if report.summary.is_none() => report.summary = Some(item),
                FINDING => report.findings.push(Finding::of(item)),
                _ => report.others.push(item),
            }
        }
        report
    }

    /// The accounting: the one given, else the run's.
    pub fn accounting(&self) -> Option<Accounting<'r, 'a>> {
        match self.summary {
            Some(summary) => Some(Accounting::of(&summary.properties)),
            None => self.run.as_ref().and_then(|run| run.summary.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::tree::{BatchReader, BatchWriter};
    use crate::time::to_dotnet_ticks;
    use chrono::TimeZone;

    fn items(writer: &BatchWriter) -> Vec<Node<'_>> {
        let mut reader = BatchReader::new(&writer.buf);
        let mut out = Vec::new();
        while !reader.is_empty() {
            out.push(reader.next_node().unwrap());
        }
        out
    }

    #[test]
    fn ticks_become_utc_times_once_and_ticks_out_of_range_are_kept() {
        let time = Utc.with_ymd_and_hms(2026, 1, 20, 10, 0, 0).unwrap() + chrono::Duration::nanoseconds(1_234_500);
        let mut writer = BatchWriter::default();
        writer.list(4).datetime(to_dotnet_ticks(&time)).datetime(0).datetime(MAX_DOTNET_TICKS + 1).datetime(-1);
        let nodes = items(&writer);
        let value = Value::of(&nodes[0]);
        let first = Utc.with_ymd_and_hms(1, 1, 1, 0, 0, 0).unwrap();
        let expected = [Value::Time(time), Value::Time(first), Value::TimeOutOfRange(MAX_DOTNET_TICKS + 1), Value::TimeOutOfRange(-1)];
        assert_eq!(value, Value::List(expected.to_vec()));
        assert_eq!(value.text(), format!("2026-01-20 10:00:00Z; 0001-01-01 00:00:00Z; (ticks {}); (ticks -1)", MAX_DOTNET_TICKS + 1));
    }

    #[test]
    fn a_deserialized_finding_is_a_finding_with_its_evidence_typed() {
        let start = Utc.with_ymd_and_hms(2026, 1, 20, 10, 0, 0).unwrap();
        let mut writer = BatchWriter::default();
        writer.map(2).key("Type").string("Deserialized.MailAccessForensics.CompromiseFinding").key("Properties").map(5);
        writer.key("Kind").string("AccessedMessage").key("Mailbox").string("alice@contoso.example");
        writer.key("Start").datetime(to_dotnet_ticks(&start)).key("SizeInBytes").int(2048);
        writer.key("Evidence").list(2).map(3);
        writer.key("Time").datetime(to_dotnet_ticks(&start)).key("RecordId").string("r1").key("IsThrottled").bool(true);
        writer.string("not a record");
        let nodes = items(&writer);
        let items: Vec<ReportItem> = nodes.iter().map(|n| ReportItem::from_node(n).unwrap()).collect();
        let report = Report::of(&items);
        assert!(report.others.is_empty() && report.run.is_none());
        let finding = &report.findings[0];
        assert_eq!(finding.kind, FindingKind::Known(CompromiseKind::AccessedMessage));
        assert_eq!(finding.mailbox.as_deref(), Some("alice@contoso.example"));
        assert_eq!((&finding.start, &finding.end), (&Field::Is(start), &Field::Absent));
        assert_eq!(finding.size_in_bytes, Field::Is(2048));
        assert_eq!(finding.evidence.len(), 1, "an entry that is not a record is not evidence");
        assert_eq!((finding.evidence[0].time.get(), finding.evidence[0].record_id.as_str()), (Some(&start), "r1"));
        assert_eq!(finding.evidence[0].is_throttled, Some(true));
        assert_eq!(items[0].short_type_name(), "CompromiseFinding");
    }

    #[test]
    fn missing_fields_are_absent_not_invented() {
        let mut writer = BatchWriter::default();
        writer.map(2).key("Type").string(FINDING).key("Properties").map(1).key("Kind").string("ThrottledWindow");
        writer.map(2).key("Type").string(RUN).key("Properties").map(1).key("Command").string("Get-MailAccessBind");
        let nodes = items(&writer);
        let items: Vec<ReportItem> = nodes.iter().map(|n| ReportItem::from_node(n).unwrap()).collect();
        let report = Report::of(&items);
        let finding = &report.findings[0];
        assert!(finding.kind.is(CompromiseKind::ThrottledWindow));
        assert_eq!((finding.mailbox.as_ref(), &finding.start, finding.access_count.as_ref()), (None, &Field::Absent, None));
        assert!(finding.evidence.is_empty() && finding.client_ip_addresses.is_empty());
        let run = report.run.as_ref().unwrap();
        assert_eq!((run.context_expansion, run.finding_count, &run.end_time), (None, None, &Field::Absent));
        assert!(run.parameters.is_empty() && run.inputs.is_empty());
        assert_eq!(run.custody_rows(), [("Command", "Get-MailAccessBind".to_string())]);
        assert!(report.accounting().is_none(), "no summary given, none in the run");
        assert!(ReportItem::from_node(&Node::Map(vec![("Type", Node::Str(FINDING))])).is_err());
    }

    #[test]
    fn a_value_of_another_type_than_expected_is_kept_as_given() {
        let mut writer = BatchWriter::default();
        writer.map(2).key("Type").string(FINDING).key("Properties").map(4);
        writer.key("Kind").string("AccessedMessage").key("Start").string("yesterday").key("End").datetime(-1);
        writer.key("SizeInBytes").unreadable(crate::vocabulary::UnreadableReason::ALL[0], "no size");
        let nodes = items(&writer);
        let items: Vec<ReportItem> = nodes.iter().map(|n| ReportItem::from_node(n).unwrap()).collect();
        let report = Report::of(&items);
        let finding = &report.findings[0];
        assert_eq!(finding.start, Field::Other("yesterday".to_string()));
        assert_eq!((finding.end.get(), finding.end.text().as_str()), (None, "(ticks -1)"));
        assert_eq!(finding.size_in_bytes, Field::Other("(unreadable: no size)".to_string()));
        assert!(finding.size_in_bytes.is_present() && finding.size_in_bytes.get().is_none());
    }

    #[test]
    fn an_unknown_kind_and_an_unknown_type_keep_every_field_in_order() {
        let mut writer = BatchWriter::default();
        writer.map(2).key("Type").string(FINDING).key("Properties").map(3);
        writer.key("Kind").string("FutureKind").key("Novel").string("what it says").key("Count").float(2.5);
        writer.map(2).key("Type").string("Some.Other#View").key("Properties").map(2).key("B").int(1).key("A").null();
        writer.map(2).key("Type").string(SUMMARY).key("Properties").map(2).key("Read").int(4).key("IsBalanced").bool(false);
        writer.map(2).key("Type").string(SUMMARY).key("Properties").map(1).key("Read").int(5);
        let nodes = items(&writer);
        let items: Vec<ReportItem> = nodes.iter().map(|n| ReportItem::from_node(n).unwrap()).collect();
        let report = Report::of(&items);
        let finding = &report.findings[0];
        assert_eq!(finding.kind, FindingKind::Other("FutureKind".to_string()));
        assert_eq!(finding.kind.name(), "FutureKind");
        assert_eq!(
            finding.item.properties,
            [("Kind", Value::Text("FutureKind")), ("Novel", Value::Text("what it says")), ("Count", Value::Float(2.5))]
        );
        assert_eq!(report.others.len(), 2, "the second summary is another object");
        assert_eq!(report.others[0].properties, [("B", Value::Int(1)), ("A", Value::Null)]);
        assert_eq!(report.others[0].short_type_name(), "Other");
        let accounting = report.accounting().unwrap();
        assert_eq!((accounting.read.as_str(), accounting.is_balanced, accounting.errors.as_str()), ("4", Some(false), ""));
    }
}
