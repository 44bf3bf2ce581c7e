//! A session reads records from any number of inputs, removes duplicates, keeps the tally and
//! hands each analysed record on.
//!
//! Two copies of one record share Id, time and mailbox. The Id alone is not enough: some
//! sanitised exports give every record the same placeholder Id.

use std::sync::atomic::AtomicBool;

use chrono::{DateTime, Utc};
use rustc_hash::FxHashSet;

use crate::analysis::{Analysis, AnalysisResult, Cancelled, RecordFilter, RecordId, Strings};
use crate::completeness::Completeness;
use crate::error::RecordError;
use crate::input::interpret::Outcome;
use crate::input::ReadResult;
use crate::model::{MailAccessRecord, SourcePosition};
use crate::tally::Tally;

#[derive(Default)]
pub struct SessionOptions {
    /// Hand analysed records back to the caller (ConvertFrom-MailItemsAccessed); analysis
    /// cmdlets leave this off and keep only aggregates.
    pub return_records: bool,
    /// Records outside the filter are counted as Filtered and go no further.
    pub filter: RecordFilter,
    /// The analysis every accepted record feeds.
    pub analysis: Option<Box<dyn Analysis>>,
}

/// What one batch produced, in input order.
#[derive(Debug, Default)]
pub struct BatchOutput {
    pub records: Vec<MailAccessRecord>,
    pub errors: Vec<RecordError>,
}

pub struct Session {
    options: SessionOptions,
    tally: Tally,
    /// (Id, CreationTime, mailbox) of every record seen, exactly: about 32 bytes a record.
    seen: FxHashSet<(RecordId, DateTime<Utc>, Option<u32>)>,
    /// Mailboxes (folded) and Ids that are not GUIDs, for `seen`.
    strings: Strings,
    /// Whether the input may be truncated.
    completeness: Completeness,
}

impl Session {
    pub fn new(options: SessionOptions) -> Session {
        Session {
            options,
            tally: Tally::default(),
            seen: FxHashSet::default(),
            strings: Strings::default(),
            completeness: Completeness::default(),
        }
    }

    /// Ends the analysis and returns its results; None when the session has no analysis (or
    /// it was already finished). Gives up with [`Cancelled`] once `cancel` is set.
    pub fn finish_analysis(&mut self, cancel: &AtomicBool) -> Option<Result<AnalysisResult, Cancelled>> {
        self.options.analysis.take().map(|analysis| analysis.finish(cancel))
    }

    pub fn tally(&self) -> &Tally {
        &self.tally
    }

    /// The tally with the input's completeness: whether it may be truncated, and why.
    pub fn summary(&self) -> Tally {
        let mut tally = self.tally.clone();
        let reasons = self.completeness.reasons();
        tally.possibly_truncated = !reasons.is_empty();
        tally.truncation_reason = (!reasons.is_empty()).then(|| reasons.join(" "));
        tally
    }

    /// What decides whether the input may be truncated (files and collections register here).
    pub fn completeness_mut(&mut self) -> &mut Completeness {
        &mut self.completeness
    }

    /// Counts a chunk of records read from a document ([`crate::input::RecordReader`]).
    pub fn ingest_results(&mut self, results: Vec<ReadResult>) -> BatchOutput {
        let mut output = BatchOutput::default();
        for result in results {
            self.accept(result.outcome, result.position, &mut output);
        }
        output
    }

    /// Counts one input record and passes it on.
    pub fn accept(&mut self, outcome: Result<Outcome, RecordError>, position: SourcePosition, output: &mut BatchOutput) {
        self.tally.read += 1;
        self.completeness.observe(&position);
        match outcome {
            Err(mut error) => {
                self.tally.errors += 1;
                error.position = position;
                output.errors.push(error);
            }
            Ok(Outcome::Skipped { operation }) => {
                self.tally.skipped += 1;
                *self.tally.skipped_operations.entry(operation).or_insert(0) += 1;
            }
            Ok(Outcome::Record(mut record)) => {
                if let Some(id) = record.record_id.as_deref() {
                    let key = (
                        RecordId::of(id, &mut self.strings),
                        record.creation_time,
                        record.mailbox.as_deref().map(|m| self.strings.intern_folded(m)),
                    );
                    if !self.seen.insert(key) {
                        self.tally.duplicates += 1;
                        return;
                    }
                }
                if !self.options.filter.accepts(&record) {
                    self.tally.filtered += 1;
                    record.source = position;
                    if let Some(analysis) = self.options.analysis.as_mut() {
                        analysis.add_filtered(&record);
                    }
                    return;
                }
                self.tally.analysed += 1;
                if record.degraded.is_some() {
                    self.tally.degraded += 1;
                }
                match record.is_throttled {
                    Some(true) => self.tally.throttled += 1,
                    Some(false) => self.tally.not_throttled += 1,
                    None => self.tally.throttling_unknown += 1,
                }
                record.source = position;
                if let Some(analysis) = self.options.analysis.as_mut() {
                    analysis.add(&record);
                }
                if self.options.return_records {
                    output.records.push(*record);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use crate::input::interpret::InterpretOptions;
    use crate::input::objects::parse_objects;
    use crate::input::tree::BatchWriter;

    const ONE: &str = r#"{"Operation":"MailItemsAccessed","Id":"r1","CreationTime":"2024-05-01T10:00:00Z","MailboxOwnerUPN":"a@x"}"#;
    const TWO: &str = r#"{"Operation":"MailItemsAccessed","Id":"r2","CreationTime":"2024-05-01T11:00:00Z","MailboxOwnerUPN":"a@x"}"#;

    fn ingest(texts: &[&str]) -> (BatchOutput, Tally) {
        let mut session = Session::new(SessionOptions { return_records: true, ..Default::default() });
        let mut writer = BatchWriter::default();
        for text in texts {
            writer.string(text);
        }
        let output = session.ingest_results(parse_objects(&writer.buf, 0, &InterpretOptions::default(), &AtomicBool::new(false)).unwrap());
        (output, session.tally().clone())
    }

    fn ids(output: &BatchOutput) -> Vec<(String, u64, Option<u64>)> {
        output.records.iter().map(|r| (r.record_id.clone().unwrap(), r.source.index, r.source.line)).collect()
    }

    #[test]
    fn piped_documents_are_read_as_files_are() {
        let array = format!("[{ONE},\n{TWO}]");
        let lines = format!("{ONE}\n{TWO}\n");
        let (output, tally) = ingest(&[ONE, &array, &lines]);
        // r1 and r2 first come from object 0 and line 2 of object 1; the rest are copies.
        assert_eq!(ids(&output), vec![("r1".to_string(), 0, None), ("r2".to_string(), 1, Some(2))]);
        // The copies in the array and the lines are duplicates of r1 and r2: counted, not output.
        assert_eq!((tally.read, tally.analysed, tally.duplicates), (5, 2, 3));
        assert!(tally.is_balanced());
    }

    const SEND: &str = r#"{"Operation":"Send","Id":"s1","CreationTime":"2024-05-01T10:00:00Z","MailboxOwnerUPN":"a@x"}"#;
    const DELETE: &str = r#"{"Operation":"HardDelete","Id":"s2","CreationTime":"2024-05-01T11:00:00Z","MailboxOwnerUPN":"a@x"}"#;

    #[test]
    fn other_operations_are_counted_one_by_one_whatever_holds_them() {
        // One record, then several in one text (JSON Lines, an array, a saved page): each is
        // read and skipped under its own name, none of the texts counts as one record.
        let lines = format!("{SEND}\n{DELETE}\n");
        let array = format!("[{SEND},{DELETE}]");
        let page = format!("{{\"value\":[{SEND},{DELETE}]}}");
        let (output, tally) = ingest(&[SEND, &lines, &array, &page]);
        assert!(output.errors.is_empty(), "{:?}", output.errors);
        assert_eq!(tally.read, 7);
        assert_eq!(tally.skipped, 7);
        assert_eq!(tally.skipped_operations.get("Send"), Some(&4));
        assert_eq!(tally.skipped_operations.get("HardDelete"), Some(&3));
    }

    #[test]
    fn records_one_after_another_on_one_line_are_read_as_a_document() {
        // No line break to go by: the text after the first value is what says it may be
        // several records; a value that quotes serde_json's words is not.
        let (output, tally) = ingest(&[&format!("{ONE} {TWO}")]);
        assert!(output.errors.is_empty(), "{:?}", output.errors);
        assert_eq!(output.records.iter().map(|r| r.record_id.clone().unwrap()).collect::<Vec<_>>(), ["r1", "r2"]);
        assert_eq!(tally.analysed, 2);
        let quoting = ONE.replace("2024-05-01T10:00:00Z", "trailing characters");
        let (output, _) = ingest(&[&quoting]);
        assert_eq!(output.errors.len(), 1);
        assert!(!output.errors[0].text_after_value, "{:?}", output.errors[0]);
        assert!(output.errors[0].message.contains("trailing characters"), "{}", output.errors[0].message);
    }

    #[test]
    fn a_malformed_record_of_another_operation_is_an_error_not_a_skip() {
        let truncated = &SEND[..SEND.len() - 10];
        let (output, tally) = ingest(&[truncated]);
        assert_eq!((tally.read, tally.skipped, tally.errors), (1, 0, 1));
        assert_eq!(output.errors[0].kind, ErrorKind::InvalidJson);
    }

    #[test]
    fn a_piped_csv_export_is_read_by_its_header() {
        let csv = format!(
            "CreationDate,UserIds,Operations,AuditData\n2024-05-01T10:00:00,a@x,MailItemsAccessed,\"{}\"\n",
            ONE.replace('"', "\"\"")
        );
        let (output, tally) = ingest(&[&csv]);
        assert_eq!(ids(&output), vec![("r1".to_string(), 0, Some(2))]);
        assert_eq!(tally.read, 1);
    }

    /// A Search-UnifiedAuditLog object as the shim sends it: AuditData and the result position.
    fn envelope(writer: &mut BatchWriter, audit: &str, index: i64, count: i64) {
        writer.map(3);
        writer.key("AuditData");
        writer.string(audit);
        writer.key("ResultIndex");
        writer.int(index);
        writer.key("ResultCount");
        writer.int(count);
    }

    fn summary_of(batch: &BatchWriter) -> Tally {
        let mut session = Session::new(SessionOptions::default());
        session.ingest_results(parse_objects(&batch.buf, 0, &InterpretOptions::default(), &AtomicBool::new(false)).unwrap());
        session.summary()
    }

    #[test]
    fn piped_query_results_say_whether_the_query_was_cut() {
        let mut complete = BatchWriter::default();
        envelope(&mut complete, ONE, 1, 2);
        envelope(&mut complete, SEND, 2, 2);
        let tally = summary_of(&complete);
        assert!(!tally.possibly_truncated);
        assert_eq!(tally.truncation_reason, None);

        // The first 100 of 2,000 hits (the default -ResultSize): the skipped record counts too.
        let mut cut = BatchWriter::default();
        for index in 1..=100 {
            envelope(&mut cut, if index == 100 { SEND } else { ONE }, index, 2_000);
        }
        let tally = summary_of(&cut);
        assert!(tally.possibly_truncated);
        assert!(tally.truncation_reason.unwrap().starts_with("The piped records include a query whose ResultCount is 2,000"));

        let mut timed_out = BatchWriter::default();
        envelope(&mut timed_out, ONE, -1, 0);
        assert!(summary_of(&timed_out).truncation_reason.unwrap().contains("ResultIndex -1"));
    }

    #[test]
    fn import_csv_rows_carry_the_result_position_even_when_their_record_does_not_read() {
        // Import-Csv of an Export-Csv: every value is text. The last record's AuditData is
        // damaged: it is an error, and still the 100th of its query's results.
        let mut rows = BatchWriter::default();
        for index in 1..=100 {
            rows.map(3);
            rows.key("AuditData");
            rows.string(if index == 100 { r#"{"Operation":"MailItemsAccessed","Id":"# } else { ONE });
            rows.key("ResultIndex");
            rows.string(&index.to_string());
            rows.key("ResultCount");
            rows.string("2000");
        }
        let tally = summary_of(&rows);
        assert_eq!((tally.read, tally.errors), (100, 1));
        let reason = tally.truncation_reason.expect("a query cut at 100 of 2,000 hits");
        assert!(reason.contains("ResultCount is 2,000 but whose highest ResultIndex is 100"), "{reason}");
    }

    #[test]
    fn csv_and_json_documents_carry_the_result_position() {
        let csv = format!(
            "CreationDate,UserIds,Operations,AuditData,ResultIndex,ResultCount\n2024-05-01T10:00:00,a@x,MailItemsAccessed,\"{}\",-1,0\n",
            ONE.replace('"', "\"\"")
        );
        let line = format!("{{\"AuditData\":{},\"ResultIndex\":-1,\"ResultCount\":0}}\n", serde_json::to_string(ONE).unwrap());
        for document in [csv, line] {
            let mut batch = BatchWriter::default();
            batch.string(&document);
            let tally = summary_of(&batch);
            assert_eq!(tally.read, 1, "{document}");
            assert!(tally.possibly_truncated, "{document}");
        }
    }

    #[test]
    fn a_line_of_csv_gets_a_hint() {
        let (output, _) = ingest(&["2024-05-01T10:00:00,a@x,MailItemsAccessed,broken"]);
        assert_eq!(output.errors.len(), 1);
        assert!(output.errors[0].message.contains("read CSV exports with Import-Csv or -Path"), "{}", output.errors[0].message);
    }
}
