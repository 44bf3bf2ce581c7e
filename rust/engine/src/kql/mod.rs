//! The same investigation as KQL, for tenants whose records live in Microsoft Sentinel / Log
//! Analytics (`OfficeActivity`), Defender XDR advanced hunting (`CloudAppEvents`) or Azure
//! Data Explorer: one query per table and step, following docs/semantics.md as far as KQL can
//! (kql/README.md says where it cannot). One source for `Get-MailAccessKqlQuery` and the files
//! under `kql/` ([`files`]).
//!
//! The engine cannot run KQL; the queries are checked offline with Microsoft's Kusto language
//! service (tools/kusto) and their meaning against this engine on the same records (tests).

mod literal;
mod text;

use chrono::{DateTime, Utc};

use crate::analysis::{AddressRange, Wildcard};
use crate::time::format_iso;

/// Where the records are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Table {
    /// Microsoft Sentinel / Log Analytics (Office 365 connector).
    OfficeActivity,
    /// Microsoft Defender XDR advanced hunting (also in Sentinel through the Defender connector).
    CloudAppEvents,
}

impl Table {
    pub const ALL: [Table; 2] = [Table::OfficeActivity, Table::CloudAppEvents];

    pub fn name(self) -> &'static str {
        match self {
            Table::OfficeActivity => "OfficeActivity",
            Table::CloudAppEvents => "CloudAppEvents",
        }
    }

    pub fn parse(text: &str) -> Result<Table, String> {
        Table::ALL
            .into_iter()
            .find(|t| t.name().eq_ignore_ascii_case(text.trim()))
            .ok_or_else(|| format!("-Table: '{text}' is not OfficeActivity or CloudAppEvents"))
    }
}

/// Which of Microsoft's steps, or the verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    Throttling,
    Sync,
    Context,
    Bind,
    Verdict,
}

impl Step {
    pub const ALL: [Step; 5] = [Step::Throttling, Step::Sync, Step::Context, Step::Bind, Step::Verdict];

    pub fn name(self) -> &'static str {
        match self {
            Step::Throttling => "Throttling",
            Step::Sync => "Sync",
            Step::Context => "Context",
            Step::Bind => "Bind",
            Step::Verdict => "Verdict",
        }
    }

    pub fn parse(text: &str) -> Result<Step, String> {
        Step::ALL
            .into_iter()
            .find(|s| s.name().eq_ignore_ascii_case(text.trim()))
            .ok_or_else(|| format!("-Step: '{text}' is not Throttling, Sync, Context, Bind or Verdict"))
    }

    /// The cmdlet whose answer the query gives.
    pub fn cmdlet(self) -> &'static str {
        match self {
            Step::Throttling => "Get-MailAccessThrottling",
            Step::Sync => "Get-MailAccessSync",
            Step::Context => "Get-MailAccessContext",
            Step::Bind => "Get-MailAccessBind",
            Step::Verdict => "Get-CompromisedMailAccess",
        }
    }
}

/// Rounds of expansion the verdict is unrolled to unless told otherwise: real breaches link
/// in two to four (an address, its session, the next address, a second session).
pub const DEFAULT_EXPANSION_ROUNDS: u32 = 8;
/// Each round is one more pass over the period's records.
pub const MAX_EXPANSION_ROUNDS: u32 = 32;

/// What the query is to look for, as the cmdlet parameters give it.
#[derive(Clone, Debug, Default)]
pub struct QueryOptions {
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
    pub mailboxes: Vec<Wildcard>,
    pub user_ids: Vec<Wildcard>,
    pub addresses: Vec<AddressRange>,
    pub sessions: Vec<String>,
    /// Entra sessions (AppAccessContext.AADSessionId).
    pub aad_sessions: Vec<String>,
    pub app_ids: Vec<String>,
    pub client_info_strings: Vec<Wildcard>,
    /// None: the default ([`DEFAULT_EXPANSION_ROUNDS`]); 0 turns expansion off.
    pub expansion_rounds: Option<u32>,
    /// Follow also identifiers that other contexts used before the attacker's known activity.
    pub expand_shared: bool,
}

impl QueryOptions {
    /// Refuses what the step does not use (a parameter that would be ignored silently) and
    /// values that cannot stand in a query.
    fn validate(&self, step: Step) -> Result<(), String> {
        if let (Some(start), Some(end)) = (self.start, self.end) {
            if start >= end {
                return Err(format!("-StartDate ({}) must be before -EndDate ({})", format_iso(&start), format_iso(&end)));
            }
        }
        let verdict_only = [
            ("AttackerAadSessionId", !self.aad_sessions.is_empty()),
            ("AttackerAppId", !self.app_ids.is_empty()),
            ("AttackerClientInfoString", !self.client_info_strings.is_empty()),
            ("ExpansionRounds", self.expansion_rounds.is_some()),
            ("ExpandSharedIndicator", self.expand_shared),
        ];
        if step != Step::Verdict {
            if let Some((name, _)) = verdict_only.iter().find(|(_, given)| *given) {
                return Err(format!("-{name} applies to -Step Verdict only"));
            }
        }
        if !matches!(step, Step::Context | Step::Verdict) {
            if !self.addresses.is_empty() {
                return Err("-AttackerIPAddress applies to -Step Context and Verdict only".to_string());
            }
            if !self.sessions.is_empty() {
                return Err("-AttackerSessionId applies to -Step Context and Verdict only".to_string());
            }
        }
        if self.expand_shared && self.expansion_rounds == Some(0) {
            return Err("-ExpandSharedIndicator applies to expansion, which -ExpansionRounds 0 turns off".to_string());
        }
        if let Some(rounds) = self.expansion_rounds {
            if rounds > MAX_EXPANSION_ROUNDS {
                return Err(format!(
                    "-ExpansionRounds: {rounds} is more than {MAX_EXPANSION_ROUNDS} (each round is one more pass over the records)"
                ));
            }
        }
        let texts = [("AttackerSessionId", &self.sessions), ("AttackerAadSessionId", &self.aad_sessions), ("AttackerAppId", &self.app_ids)];
        for (parameter, values) in texts {
            for value in values.iter() {
                literal::check_text(parameter, value)?;
            }
        }
        let patterns = [("Mailbox", &self.mailboxes), ("UserIds", &self.user_ids), ("AttackerClientInfoString", &self.client_info_strings)];
        for (parameter, values) in patterns {
            for value in values.iter() {
                literal::check_text(parameter, value.text())?;
                if value.text().contains(['\n', '\r']) {
                    return Err(format!("-{parameter}: a pattern cannot hold a line break"));
                }
            }
        }
        Ok(())
    }

    fn rounds(&self) -> u32 {
        self.expansion_rounds.unwrap_or(DEFAULT_EXPANSION_ROUNDS)
    }
}

/// The query text for one table and step.
pub fn query(table: Table, step: Step, options: &QueryOptions) -> Result<String, String> {
    options.validate(step)?;
    Ok(text::render(table, step, options))
}

/// The files under `kql/`: one query per table and step with the parameters at their defaults
/// (edit them, or let Get-MailAccessKqlQuery write them), as (path relative to `kql/`, text).
pub fn files() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for table in Table::ALL {
        for step in Step::ALL {
            let text = query(table, step, &QueryOptions::default()).expect("the defaults are valid");
            out.push((format!("{}/{}.kql", table.name(), step.name()), text));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_case_insensitively() {
        assert_eq!(Table::parse("officeactivity").unwrap(), Table::OfficeActivity);
        assert_eq!(Step::parse(" verdict ").unwrap(), Step::Verdict);
        assert!(Table::parse("SigninLogs").unwrap_err().contains("OfficeActivity or CloudAppEvents"));
        assert!(Step::parse("Other").is_err());
    }

    #[test]
    fn parameters_a_step_would_ignore_are_refused() {
        let options = QueryOptions { addresses: vec![AddressRange::parse("203.0.113.0/24").unwrap()], ..Default::default() };
        assert!(query(Table::OfficeActivity, Step::Throttling, &options).unwrap_err().contains("-AttackerIPAddress applies to"));
        assert!(query(Table::OfficeActivity, Step::Context, &options).is_ok());
        let options = QueryOptions { expansion_rounds: Some(3), ..Default::default() };
        assert!(query(Table::CloudAppEvents, Step::Bind, &options).unwrap_err().contains("-ExpansionRounds applies to -Step Verdict only"));
        let options = QueryOptions { expansion_rounds: Some(MAX_EXPANSION_ROUNDS + 1), ..Default::default() };
        assert!(query(Table::CloudAppEvents, Step::Verdict, &options).is_err());
        let start = "2024-05-02T00:00:00Z".parse().ok();
        let options = QueryOptions { start, end: start, ..Default::default() };
        assert!(query(Table::CloudAppEvents, Step::Sync, &options).unwrap_err().contains("must be before"));
        let options = QueryOptions { sessions: vec!["a\u{1}b".into()], ..Default::default() };
        assert!(query(Table::CloudAppEvents, Step::Verdict, &options).unwrap_err().contains("control character"));
    }

    #[test]
    fn expanding_shared_identifiers_is_a_verdict_option_that_needs_expansion() {
        let options = QueryOptions { expand_shared: true, ..Default::default() };
        assert!(query(Table::CloudAppEvents, Step::Context, &options)
            .unwrap_err()
            .contains("-ExpandSharedIndicator applies to -Step Verdict only"));
        let text = query(Table::CloudAppEvents, Step::Verdict, &options).unwrap();
        assert!(text.contains("let ExpandSharedIndicator = true;"), "{text}");
        assert!(query(Table::CloudAppEvents, Step::Verdict, &QueryOptions::default())
            .unwrap()
            .contains("let ExpandSharedIndicator = false;"));
        let options = QueryOptions { expand_shared: true, expansion_rounds: Some(0), ..Default::default() };
        assert!(query(Table::OfficeActivity, Step::Verdict, &options).unwrap_err().contains("-ExpansionRounds 0"));
    }

    #[test]
    fn every_round_applies_the_shared_identifier_guard() {
        let options = QueryOptions { expansion_rounds: Some(3), ..Default::default() };
        let text = query(Table::OfficeActivity, Step::Verdict, &options).unwrap();
        for k in 1..=3 {
            // The baseline contexts that are not, after step 1 of round k, the attacker's.
            let guard = format!(
                "let MafShared{k} = toscalar(MafBaseline | where not(InPeriod and array_length(set_intersect(Idents, MafLinks{})) > 0)",
                k - 1
            );
            assert!(text.contains(&guard), "round {k}");
            assert!(text.contains(&format!("iff(ExpandSharedIndicator, MafNew{k}, set_difference(MafNew{k}, MafShared{k}))")), "round {k}");
        }
        assert!(text.contains("let MafSharedKeys = print Rounds = pack_array(MafShared1, MafShared2, MafShared3)"));
        assert!(text.contains("Kind = \"SharedIndicator\""));
        // The baseline reads every record before StartDate, not only the 2 days the steps scan.
        assert!(text.contains("let MafBefore = MafNormalised(datetime(null), "));
        // Without expansion there is no baseline, and nothing is shared.
        let off = query(Table::OfficeActivity, Step::Verdict, &QueryOptions { expansion_rounds: Some(0), ..Default::default() }).unwrap();
        assert!(!off.contains("MafBaseline ") && off.contains("let MafSharedRows = print Kind = \"SharedIndicator\" | where false;"));
    }

    #[test]
    fn hostile_indicators_stay_inside_their_literals() {
        let hostile = "x\"); OfficeActivity | take 1 // \\ '".to_string();
        let options = QueryOptions { sessions: vec![hostile.clone()], app_ids: vec![hostile.clone()], ..Default::default() };
        let text = query(Table::CloudAppEvents, Step::Verdict, &options).unwrap();
        let literal = literal::string(&hostile);
        assert!(text.contains(&format!("let AttackerSessionId = pack_array({literal});")), "{text}");
        assert!(text.contains(&format!("let AttackerAppId = pack_array({literal});")));
    }

    #[test]
    fn every_file_is_its_default_query() {
        let files = files();
        assert_eq!(files.len(), 10);
        assert_eq!(files[0].0, "OfficeActivity/Throttling.kql");
        for (path, text) in &files {
            assert!(text.starts_with("// MailAccessForensics"), "{path}");
            assert!(text.ends_with('\n'), "{path}");
        }
    }

    #[test]
    fn the_verdict_is_unrolled_to_the_rounds_asked() {
        let rounds = |n: u32| {
            let options = QueryOptions { expansion_rounds: Some(n), ..Default::default() };
            query(Table::OfficeActivity, Step::Verdict, &options).unwrap()
        };
        assert!(rounds(3).contains("let MafLinks3 = ") && !rounds(3).contains("let MafLinks4 = "));
        assert!(!rounds(0).contains("let MafLinks1 = "));
        let default = query(Table::OfficeActivity, Step::Verdict, &QueryOptions::default()).unwrap();
        assert!(default.contains(&format!("let MafLinks{DEFAULT_EXPANSION_ROUNDS} = ")));
    }
}
