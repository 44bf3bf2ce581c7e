//! Whether the input may be truncated: an answer is only as complete as the records it was
//! given, and the usual ways of getting them stop short without saying so (a
//! Search-UnifiedAuditLog call returns at most 5,000 records, a session at most 50,000, a
//! Purview export at most 50,000 rows; the service times out; a collection can be cut short).
//!
//! The session shows every record's position here. Records that carry their place in their
//! query's results (`ResultIndex`, `ResultCount`) are grouped by input and `ResultCount`; the
//! others are counted by input. [`Completeness::reasons`] then says, one sentence each, why the
//! input may be truncated. Collection folders (see [`crate::collect`]) say it themselves: their
//! records are exempt from the counting rules, and their manifest's word is taken instead.

use std::collections::BTreeMap;

use crate::model::SourcePosition;

/// What one Search-UnifiedAuditLog call returns at most ("maximum is 5,000").
pub const PAGE_LIMIT: i64 = 5_000;
/// What one Search-UnifiedAuditLog session (ReturnLargeSet) returns at most.
pub const SESSION_LIMIT: i64 = 50_000;

/// Sizes at which a query or an export stops: Search-UnifiedAuditLog's default `-ResultSize`
/// (100), Microsoft's forensic examples and Search-MailboxAuditLog's default (1,000), the most
/// one call returns (5,000), a session whose commands were mixed (10,000), the most a session
/// or a Purview export holds (50,000).
const STOPPING_SIZES: [i64; 5] = [100, 1_000, 5_000, 10_000, SESSION_LIMIT];

/// Records without a result position, by input, that are exactly one of these many: the
/// default and maximum sizes of the commands and exports that hold no position.
const STOPPING_COUNTS: [u64; 4] = [100, 1_000, 5_000, 50_000];

#[derive(Clone, Debug, Default)]
struct QueryPages {
    records: u64,
    highest_index: i64,
    timeouts: u64,
}

/// A file of a collection folder: how many records its manifest lists.
#[derive(Clone, Debug)]
struct CollectionFile {
    name: String,
    expected: u64,
    read: u64,
}

/// The evidence of truncation seen so far.
#[derive(Clone, Debug, Default)]
pub struct Completeness {
    /// By input (None for the pipeline) and ResultCount.
    queries: BTreeMap<(Option<u32>, i64), QueryPages>,
    /// Records without a result position, by input.
    unpositioned: BTreeMap<Option<u32>, u64>,
    /// Names of the files read, for the sentences.
    file_names: BTreeMap<u32, String>,
    collection_files: BTreeMap<u32, CollectionFile>,
    /// Said by a collection's manifest, or by whoever read it.
    notes: Vec<String>,
}

impl Completeness {
    /// Counts one record read (analysed, skipped, duplicate, filtered or an error alike: a
    /// query's results hold them all).
    pub fn observe(&mut self, position: &SourcePosition) {
        if let Some(file) = position.file {
            if let Some(collected) = self.collection_files.get_mut(&file) {
                collected.read += 1;
                return;
            }
        }
        match position.result {
            Some(result) => {
                let query = self.queries.entry((position.file, result.count)).or_default();
                query.records += 1;
                if result.index < 0 {
                    query.timeouts += 1;
                } else {
                    query.highest_index = query.highest_index.max(result.index);
                }
            }
            None => *self.unpositioned.entry(position.file).or_insert(0) += 1,
        }
    }

    /// Names a file for the sentences (its path as the user gave it).
    pub fn name_file(&mut self, file: u32, name: impl Into<String>) {
        self.file_names.insert(file, name.into());
    }

    /// Marks a file as one of a collection's, which lists `expected` records in it: the
    /// collection's manifest speaks for its completeness, not the counting rules.
    pub fn expect_collection_file(&mut self, file: u32, name: impl Into<String>, expected: u64) {
        self.collection_files.insert(file, CollectionFile { name: name.into(), expected, read: 0 });
    }

    /// A reason given from outside (a collection's manifest); one sentence.
    pub fn note(&mut self, reason: impl Into<String>) {
        let reason = reason.into();
        if !self.notes.contains(&reason) {
            self.notes.push(reason);
        }
    }

    pub fn is_possibly_truncated(&self) -> bool {
        !self.reasons().is_empty()
    }

    /// Why the input may be truncated, one sentence each; empty when nothing says so.
    pub fn reasons(&self) -> Vec<String> {
        let mut reasons = self.notes.clone();
        for collected in self.collection_files.values() {
            if collected.read < collected.expected {
                reasons.push(format!(
                    "{} held {} of the {} records its collection's manifest lists: the file is damaged or was cut short.",
                    collected.name,
                    group(collected.read),
                    group(collected.expected)
                ));
            }
        }
        for ((file, count), query) in &self.queries {
            let source = self.source_name(*file);
            let count = *count;
            if query.timeouts > 0 {
                reasons.push(format!(
                    "{source} include {} records with ResultIndex -1, which Search-UnifiedAuditLog returns after an internal timeout: that query's results are incomplete.",
                    group(query.timeouts)
                ));
            } else if query.highest_index >= SESSION_LIMIT {
                reasons.push(format!(
                    "{source} include a query whose ResultIndex reaches {}: one Search-UnifiedAuditLog session returns at most 50,000 records, so the rest of that query's period is missing.",
                    group_i(query.highest_index)
                ));
            } else if query.highest_index == count && STOPPING_SIZES.contains(&count) {
                reasons.push(format!(
                    "{source} include a query whose records end at exactly its ResultCount of {}: Search-UnifiedAuditLog stops there (its -ResultSize or session limit), so the query was probably cut short.",
                    group_i(count)
                ));
            } else if query.highest_index < count
                && query.highest_index > 0
                && (count > PAGE_LIMIT || STOPPING_SIZES.contains(&query.highest_index))
            {
                // ResultCount above 5,000 is no -ResultSize: it counts the query's hits. A
                // smaller one may be the -ResultSize (since 2026 it mirrors it), so fewer
                // records than it is a short, complete page, unless they stop at a page size.
                reasons.push(format!(
                    "{source} include a query whose ResultCount is {} but whose highest ResultIndex is {}: at least {} of its records were not returned.",
                    group_i(count),
                    group_i(query.highest_index),
                    group_i(count - query.highest_index)
                ));
            }
        }
        for (file, records) in &self.unpositioned {
            if STOPPING_COUNTS.contains(records) {
                reasons.push(format!(
                    "{} hold exactly {} records, a size at which audit searches and exports stop (Search-UnifiedAuditLog's -ResultSize, a Purview export's 50,000 rows): they were probably cut short.",
                    self.source_name(*file),
                    group(*records)
                ));
            }
        }
        reasons
    }

    fn source_name(&self, file: Option<u32>) -> String {
        match file {
            None => "The piped records".to_string(),
            Some(file) => match self.file_names.get(&file) {
                Some(name) => format!("The records of {name}"),
                None => format!("The records of file {}", file + 1),
            },
        }
    }
}

/// 50000 as 50,000.
pub fn group(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn group_i(value: i64) -> String {
    if value < 0 {
        format!("-{}", group(value.unsigned_abs()))
    } else {
        group(value as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ResultPosition;

    fn piped(index: i64, count: i64) -> SourcePosition {
        SourcePosition { result: Some(ResultPosition { index, count }), ..SourcePosition::default() }
    }

    fn query(count: i64, indexes: impl IntoIterator<Item = i64>) -> Completeness {
        let mut c = Completeness::default();
        for index in indexes {
            c.observe(&piped(index, count));
        }
        c
    }

    #[test]
    fn a_complete_small_query_is_not_truncated() {
        // Old ResultCount (the hits), and the 2026 one (the -ResultSize asked for).
        assert!(query(67, 1..=67).reasons().is_empty());
        assert!(query(5_000, 1..=1_234).reasons().is_empty());
        assert!(query(1, [1, 1, 1]).reasons().is_empty());
    }

    #[test]
    fn a_query_that_ends_at_a_stopping_size_is_flagged() {
        for size in [100, 1_000, 5_000, 50_000] {
            let reasons = query(size, 1..=size).reasons();
            assert_eq!(reasons.len(), 1, "{size}: {reasons:?}");
        }
        assert!(query(5_000, 1..=5_000).reasons()[0].contains("exactly its ResultCount of 5,000"));
        // Not a size the service stops at: the query held exactly that many.
        assert!(query(4_321, 1..=4_321).reasons().is_empty());
    }

    #[test]
    fn fewer_records_than_the_hits_are_flagged() {
        let reasons = query(23_391, 1..=5_000).reasons();
        assert_eq!(reasons.len(), 1);
        assert!(reasons[0].contains("ResultCount is 23,391 but whose highest ResultIndex is 5,000: at least 18,391"), "{}", reasons[0]);
        // The default page of 100 out of 2,000 hits (the older ResultCount).
        assert_eq!(query(2_000, 1..=100).reasons().len(), 1);
    }

    #[test]
    fn timeouts_and_the_session_limit_are_flagged() {
        let mut c = query(0, [-1]);
        assert!(c.reasons()[0].contains("ResultIndex -1"));
        c = query(5_000, 1..=50_000);
        assert!(c.reasons()[0].contains("at most 50,000"), "{:?}", c.reasons());
    }

    #[test]
    fn inputs_are_judged_apart() {
        let mut c = Completeness::default();
        c.name_file(0, "a.csv");
        for index in 1..=5_000 {
            c.observe(&SourcePosition { file: Some(0), ..piped(index, 5_000) });
        }
        for index in 1..=10 {
            c.observe(&piped(index, 10));
        }
        let reasons = c.reasons();
        assert_eq!(reasons.len(), 1);
        assert!(reasons[0].starts_with("The records of a.csv include"), "{}", reasons[0]);
    }

    #[test]
    fn records_without_a_position_are_flagged_at_a_stopping_count() {
        let mut c = Completeness::default();
        for _ in 0..50_000 {
            c.observe(&SourcePosition::default());
        }
        assert!(c.reasons()[0].contains("exactly 50,000 records"));
        c.observe(&SourcePosition::default());
        assert!(c.reasons().is_empty());
    }

    #[test]
    fn collection_files_answer_for_themselves() {
        let mut c = Completeness::default();
        c.expect_collection_file(0, "case/records/000001.jsonl.gz", 3);
        for index in 1..=2 {
            // A full page of the service inside a collection is not a sign of truncation.
            c.observe(&SourcePosition { file: Some(0), ..piped(index, 2) });
        }
        let reasons = c.reasons();
        assert_eq!(reasons.len(), 1);
        assert!(reasons[0].contains("held 2 of the 3 records"), "{}", reasons[0]);
        c.observe(&SourcePosition { file: Some(0), ..SourcePosition::default() });
        assert!(c.reasons().is_empty());
        c.note("The collection is incomplete.");
        c.note("The collection is incomplete.");
        assert_eq!(c.reasons(), vec!["The collection is incomplete.".to_string()]);
    }

    #[test]
    fn numbers_are_grouped() {
        assert_eq!(group(0), "0");
        assert_eq!(group(999), "999");
        assert_eq!(group(1_000), "1,000");
        assert_eq!(group(1_234_567), "1,234,567");
        assert_eq!(group_i(-1), "-1");
    }
}
