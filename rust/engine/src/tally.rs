//! The accounting of a run: every record read is analysed, skipped, a duplicate or an error.

use std::collections::BTreeMap;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Records read from every input.
    pub read: u64,
    /// MailItemsAccessed records analysed (after duplicates were removed).
    pub analysed: u64,
    /// Records of other operations, skipped.
    pub skipped: u64,
    /// MailItemsAccessed records seen before (same Id, time and mailbox), counted once.
    pub duplicates: u64,
    /// MailItemsAccessed records outside the cmdlet's filters (dates, mailboxes, users).
    pub filtered: u64,
    /// Records that could not be read.
    pub errors: u64,
    /// Analysed records that an earlier tool had degraded (part of them lost). Part of `analysed`.
    pub degraded: u64,
    /// Analysed records with IsThrottled True / False / absent. They sum to `analysed`.
    pub throttled: u64,
    pub not_throttled: u64,
    pub throttling_unknown: u64,
    /// Skipped records by operation name.
    pub skipped_operations: BTreeMap<String, u64>,
    /// The input may be truncated (see [`crate::completeness`]): an answer over it may miss
    /// what the missing records held.
    pub possibly_truncated: bool,
    /// Why, one sentence per reason; None when `possibly_truncated` is false.
    pub truncation_reason: Option<String>,
}

impl Tally {
    /// read = analysed + skipped + duplicates + filtered + errors, always.
    pub fn is_balanced(&self) -> bool {
        self.read == self.analysed + self.skipped + self.duplicates + self.filtered + self.errors
            && self.analysed == self.throttled + self.not_throttled + self.throttling_unknown
            && self.skipped == self.skipped_operations.values().sum::<u64>()
    }
}
