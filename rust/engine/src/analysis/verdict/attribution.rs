//! Attribution: which contexts are the attacker's, and why (docs/semantics.md, "Attacker
//! context"). Expansion runs in rounds; each round marks the contexts that carry an identifier
//! the round before added, then adds the identifiers that those contexts carry, each linked by
//! the earliest of them. It is a breadth-first search over an index from identifiers to the
//! contexts that carry them: every context is marked once and every identifier considered
//! once, so the work grows with contexts and links, not with contexts times rounds.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::atomic::AtomicBool;

use chrono::{DateTime, Utc};
use rustc_hash::{FxHashMap, FxHashSet};
use smallvec::SmallVec;

use super::{FineKey, VerdictAnalysis};
use crate::address::is_client_address;
use crate::analysis::{check, ref_cmp, Cancelled, RecordRef};

/// An identifier that links records: an address, an Exchange session, an Entra session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) enum Ident {
    Address(u32),
    Session(u32),
    Entra(u32),
}

/// Why a context is the attacker's.
#[derive(Clone, Debug)]
pub(super) enum Why {
    Address(String),
    Session(String),
    ClientInfoString(String),
    App(String),
    Entra(String),
    Linked(Ident),
}

/// A context that used an identifier before the baseline end. `context` is the context's
/// index among those of the period, when it has records there too.
#[derive(Clone, Copy, Debug)]
pub(super) struct BaselineUse {
    pub key: FineKey,
    pub first: RecordRef,
    pub context: Option<usize>,
}

/// Why an identifier is the attacker's.
#[derive(Clone, Debug)]
pub(super) enum Link {
    Given(String),
    /// Linked by this context's earliest record. `shared` lists the other contexts that used
    /// the identifier before the baseline end (followed anyway: -ExpandSharedIndicator).
    Linked {
        context: usize,
        shared: Vec<BaselineUse>,
    },
}

/// An identifier the attacker's records carry that other contexts used before the attacker's
/// known activity: not followed. `context` would have linked it.
#[derive(Clone, Debug)]
pub(super) struct Refusal {
    pub ident: Ident,
    pub context: usize,
    pub users: Vec<BaselineUse>,
}

pub(super) struct Attribution {
    /// Per context of the period: why it is the attacker's; None when it is not.
    pub why: Vec<Option<Why>>,
    pub links: BTreeMap<Ident, Link>,
    pub refused: Vec<Refusal>,
    /// Before this, use of an identifier by other contexts makes it shared.
    pub baseline_end: Option<DateTime<Utc>>,
    /// Contexts and identifiers visited (for the test that attribution stays linear).
    pub work: u64,
}

/// The text of an all-zero GUID: a session id that names no session.
const NIL_GUID: &str = "00000000-0000-0000-0000-000000000000";

impl VerdictAnalysis {
    /// The indicator a context matches by itself, if any.
    pub(super) fn seed(&self, key: &FineKey, ip: Option<IpAddr>) -> Option<Why> {
        let indicators = &self.options.indicators;
        let strings = &self.strings;
        if let Some(ip) = ip {
            if let Some(range) = indicators.addresses.iter().find(|r| r.contains(&ip)) {
                return Some(Why::Address(range.text().to_string()));
            }
        }
        let equal =
            |given: &[String], id: Option<u32>| id.and_then(|id| given.iter().find(|g| g.eq_ignore_ascii_case(strings.key(id))).cloned());
        if let Some(given) = equal(&indicators.sessions, key.context.session) {
            return Some(Why::Session(given));
        }
        if let Some(client) = key.context.client {
            if let Some(pattern) = indicators.client_info_strings.iter().find(|p| p.is_match(strings.key(client))) {
                return Some(Why::ClientInfoString(pattern.text().to_string()));
            }
        }
        if let Some(given) = equal(&indicators.app_ids, key.apps.app).or_else(|| equal(&indicators.app_ids, key.apps.client_app)) {
            return Some(Why::App(given));
        }
        equal(&indicators.aad_sessions, key.apps.aad_session).map(Why::Entra)
    }

    /// The identifiers of a context that can link: its address when it is a client's, its
    /// Exchange and Entra sessions when they name one.
    pub(super) fn idents(&self, key: &FineKey, ip: Option<IpAddr>) -> SmallVec<[Ident; 3]> {
        let names_one = |id: u32| self.strings.key(id) != NIL_GUID;
        let mut idents = SmallVec::new();
        if let (Some(address), true) = (key.context.address, ip.is_some_and(|ip| is_client_address(&ip))) {
            idents.push(Ident::Address(address));
        }
        if let Some(session) = key.context.session.filter(|s| names_one(*s)) {
            idents.push(Ident::Session(session));
        }
        if let Some(entra) = key.apps.aad_session.filter(|s| names_one(*s)) {
            idents.push(Ident::Entra(entra));
        }
        idents
    }

    /// Marks the attacker's contexts; with expansion, follows the links between them (with the
    /// guard against shared identifiers) until a round adds nothing.
    pub(super) fn attribute(&self, cancel: &AtomicBool) -> Result<Attribution, Cancelled> {
        let contexts = &self.contexts;
        let mut why: Vec<Option<Why>> = contexts.iter().map(|c| self.seed(&c.key, c.ip)).collect();
        let mut links: BTreeMap<Ident, Link> = BTreeMap::new();
        for (state, why) in contexts.iter().zip(&why) {
            let given = match why {
                Some(Why::Address(range)) => state.key.context.address.map(|a| (Ident::Address(a), range)),
                Some(Why::Session(given)) => state.key.context.session.map(|s| (Ident::Session(s), given)),
                Some(Why::Entra(given)) => state.key.apps.aad_session.map(|s| (Ident::Entra(s), given)),
                _ => None,
            };
            if let Some((ident, text)) = given {
                links.entry(ident).or_insert_with(|| Link::Given(text.clone()));
            }
        }
        // The attacker's known activity starts at -StartDate, else at the first record that
        // matches an indicator.
        let first_match = contexts.iter().zip(&why).filter(|(_, w)| w.is_some()).map(|(c, _)| c.earliest.time).min();
        let baseline_end = self.options.period_start.or(first_match);
        let mut attribution = Attribution { why: Vec::new(), links: BTreeMap::new(), refused: Vec::new(), baseline_end, work: 0 };
        if !self.options.expand {
            attribution.why = why;
            attribution.links = links;
            return Ok(attribution);
        }

        let mut carriers: FxHashMap<Ident, Vec<usize>> = FxHashMap::default();
        for (i, state) in contexts.iter().enumerate() {
            for ident in self.idents(&state.key, state.ip) {
                carriers.entry(ident).or_default().push(i);
            }
        }
        check(cancel)?;
        let baseline = self.baseline_uses(&why, baseline_end);
        let earlier = |a: usize, b: usize| ref_cmp(&contexts[a].earliest, &contexts[b].earliest, &self.strings).then(a.cmp(&b)).is_lt();
        let mut considered: FxHashSet<Ident> = links.keys().copied().collect();
        let mut frontier: Vec<Ident> = links.keys().copied().collect();
        let mut contributors: Vec<usize> = (0..contexts.len()).filter(|&i| why[i].is_some()).collect();
        let mut first_round = true;
        let mut work = 0u64;
        let mut refused = Vec::new();
        loop {
            check(cancel)?;
            // Contexts carrying what the round before added become the attacker's.
            let mut newly = Vec::new();
            for ident in &frontier {
                for &c in carriers.get(ident).map(Vec::as_slice).unwrap_or_default() {
                    work += 1;
                    if why[c].is_none() {
                        why[c] = Some(Why::Linked(self.linked_by(c, &links)));
                        newly.push(c);
                    }
                }
            }
            // The first round also adds what the indicators' own contexts carry.
            if first_round {
                contributors.extend_from_slice(&newly);
                first_round = false;
            } else {
                contributors = newly.clone();
            }
            // Their identifiers join, each linked by the earliest context of the round that
            // carries it, unless contexts not the attacker's used it before.
            let mut candidates: FxHashMap<Ident, usize> = FxHashMap::default();
            for &c in &contributors {
                for ident in self.idents(&contexts[c].key, contexts[c].ip) {
                    work += 1;
                    if considered.contains(&ident) {
                        continue;
                    }
                    let linker = candidates.entry(ident).or_insert(c);
                    if earlier(c, *linker) {
                        *linker = c;
                    }
                }
            }
            let mut candidates: Vec<(Ident, usize)> = candidates.into_iter().collect();
            candidates.sort_unstable();
            frontier.clear();
            for (ident, linker) in candidates {
                considered.insert(ident);
                let uses = baseline.get(&ident).map(Vec::as_slice).unwrap_or_default();
                work += uses.len() as u64;
                let users: Vec<BaselineUse> = uses.iter().filter(|u| u.context.is_none_or(|c| why[c].is_none())).copied().collect();
                if !users.is_empty() && !self.options.expand_shared {
                    refused.push(Refusal { ident, context: linker, users });
                    continue;
                }
                links.insert(ident, Link::Linked { context: linker, shared: users });
                frontier.push(ident);
            }
            if newly.is_empty() && frontier.is_empty() {
                break;
            }
        }
        attribution.why = why;
        attribution.links = links;
        attribution.refused = refused;
        attribution.work = work;
        Ok(attribution)
    }

    /// The identifier of a context that made it the attacker's: its address before its
    /// session before its Entra session.
    fn linked_by(&self, context: usize, links: &BTreeMap<Ident, Link>) -> Ident {
        let state = &self.contexts[context];
        self.idents(&state.key, state.ip)
            .into_iter()
            .find(|ident| links.contains_key(ident))
            .expect("a context is linked through one of its identifiers")
    }

    /// Who used each identifier before the baseline end, other than the attacker's contexts
    /// (those matching an indicator). With -StartDate: the records before it; without: the
    /// contexts of the period whose first record is before the first indicator match.
    fn baseline_uses(&self, why: &[Option<Why>], end: Option<DateTime<Utc>>) -> FxHashMap<Ident, Vec<BaselineUse>> {
        let mut uses: FxHashMap<Ident, Vec<BaselineUse>> = FxHashMap::default();
        if self.options.period_start.is_some() {
            for (key, state) in &self.before {
                if self.seed(key, state.ip).is_some() {
                    continue;
                }
                let context = self.index.get(key).copied();
                for ident in self.idents(key, state.ip) {
                    uses.entry(ident).or_default().push(BaselineUse { key: *key, first: state.first, context });
                }
            }
        } else if let Some(end) = end {
            for (i, state) in self.contexts.iter().enumerate() {
                if state.earliest.time < end && why[i].is_none() {
                    for ident in self.idents(&state.key, state.ip) {
                        uses.entry(ident).or_default().push(BaselineUse { key: state.key, first: state.earliest, context: Some(i) });
                    }
                }
            }
        }
        for list in uses.values_mut() {
            list.sort_by(|a, b| ref_cmp(&a.first, &b.first, &self.strings));
        }
        uses
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Indicators, VerdictOptions};
    use super::*;
    use crate::analysis::pattern::AddressRange;
    use crate::analysis::testing::{rec, Rng};
    use crate::analysis::Analysis;
    use crate::model::MailAccessRecord;

    /// What [`rounds_by_rescan`] finds: why each context is the attacker's (if it is), the
    /// linked indicators (with the context that linked each; None for a seed), and the shared
    /// indicators refused (with the context that would have linked each).
    type Rounds = (Vec<Option<String>>, BTreeMap<Ident, Option<usize>>, Vec<(Ident, usize)>);

    /// The rounds exactly as docs/semantics.md states them, each round rescanning every
    /// context: the reference the indexed search must agree with.
    fn rounds_by_rescan(analysis: &VerdictAnalysis) -> Rounds {
        let contexts = &analysis.contexts;
        let mut why: Vec<Option<Why>> = contexts.iter().map(|c| analysis.seed(&c.key, c.ip)).collect();
        let first_match = contexts.iter().zip(&why).filter(|(_, w)| w.is_some()).map(|(c, _)| c.earliest.time).min();
        let baseline = analysis.baseline_uses(&why, analysis.options.period_start.or(first_match));
        let mut links: BTreeMap<Ident, Option<usize>> = BTreeMap::new();
        for (state, why) in contexts.iter().zip(&why) {
            match why {
                Some(Why::Address(_)) => drop(links.insert(Ident::Address(state.key.context.address.unwrap()), None)),
                Some(Why::Session(_)) => drop(links.insert(Ident::Session(state.key.context.session.unwrap()), None)),
                Some(Why::Entra(_)) => drop(links.insert(Ident::Entra(state.key.apps.aad_session.unwrap()), None)),
                _ => {}
            }
        }
        let mut refused: Vec<(Ident, usize)> = Vec::new();
        loop {
            let mut changed = false;
            for i in 0..contexts.len() {
                if why[i].is_none() {
                    if let Some(ident) = analysis.idents(&contexts[i].key, contexts[i].ip).into_iter().find(|x| links.contains_key(x)) {
                        why[i] = Some(Why::Linked(ident));
                        changed = true;
                    }
                }
            }
            let mut new: BTreeMap<Ident, usize> = BTreeMap::new();
            for i in (0..contexts.len()).filter(|&i| why[i].is_some()) {
                for ident in analysis.idents(&contexts[i].key, contexts[i].ip) {
                    if links.contains_key(&ident) || refused.iter().any(|(r, _)| *r == ident) {
                        continue;
                    }
                    let entry = new.entry(ident).or_insert(i);
                    if ref_cmp(&contexts[i].earliest, &contexts[*entry].earliest, &analysis.strings).then(i.cmp(entry)).is_lt() {
                        *entry = i;
                    }
                }
            }
            for (ident, linker) in new {
                let shared = baseline.get(&ident).into_iter().flatten().any(|u| u.context.is_none_or(|c| why[c].is_none()));
                if shared && !analysis.options.expand_shared {
                    refused.push((ident, linker));
                } else {
                    links.insert(ident, Some(linker));
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        let why = why.into_iter().map(|w| w.map(|w| format!("{w:?}"))).collect();
        refused.sort();
        (why, links, refused)
    }

    fn analysis_of(records: &[MailAccessRecord], options: VerdictOptions) -> VerdictAnalysis {
        let mut analysis = VerdictAnalysis::new(options);
        for r in records {
            analysis.add(r);
        }
        analysis
    }

    fn by_address(address: &str) -> VerdictOptions {
        VerdictOptions {
            indicators: Indicators { addresses: vec![AddressRange::parse(address).unwrap()], ..Default::default() },
            ..Default::default()
        }
    }

    #[test]
    fn the_indexed_search_makes_the_same_rounds_as_rescanning() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let (mut linked, mut refused_total, mut shared_followed) = (0, 0, 0);
        for case in 0..300 {
            let records: Vec<MailAccessRecord> = (0..(4 + rng.below(40)))
                .map(|n| {
                    let mut r = rec(&format!("r{n:03}"), &format!("2024-05-{:02}T{:02}:00:00Z", 1 + rng.below(9), rng.below(24)))
                        .mailbox("m@x")
                        .user("m@x")
                        .ip(&format!("192.0.2.{}", rng.below(8)));
                    if rng.below(4) > 0 {
                        r = r.session(&format!("s{}", rng.below(10)));
                    }
                    if rng.below(3) == 0 {
                        r = r.entra(&format!("e{}", rng.below(5)), "t");
                    }
                    if rng.below(6) == 0 {
                        r = r.ip("fe80::");
                    }
                    r.bind(&[(&format!("m{}@x", rng.below(20)), "\\Inbox", 1)]).done()
                })
                .collect();
            for (start, expand_shared) in [(None, false), (None, true), (Some("2024-05-04T00:00:00Z"), false)] {
                let mut options = by_address(&format!("192.0.2.{}", case % 8));
                options.period_start = start.map(|s| s.parse().unwrap());
                options.expand_shared = expand_shared;
                let analysis = analysis_of(&records, options);
                let attribution = analysis.attribute(&AtomicBool::new(false)).unwrap();
                let (why, links, refused) = rounds_by_rescan(&analysis);
                linked += links.values().filter(|l| l.is_some()).count();
                refused_total += refused.len();
                shared_followed +=
                    attribution.links.values().filter(|l| matches!(l, Link::Linked { shared, .. } if !shared.is_empty())).count();
                let got_why: Vec<Option<String>> = attribution.why.iter().map(|w| w.as_ref().map(|w| format!("{w:?}"))).collect();
                assert_eq!(got_why, why, "case {case}");
                let got_links: BTreeMap<Ident, Option<usize>> = attribution
                    .links
                    .iter()
                    .map(|(ident, link)| (*ident, if let Link::Linked { context, .. } = link { Some(*context) } else { None }))
                    .collect();
                assert_eq!(got_links, links, "case {case}");
                let mut got_refused: Vec<(Ident, usize)> = attribution.refused.iter().map(|r| (r.ident, r.context)).collect();
                got_refused.sort();
                assert_eq!(got_refused, refused, "case {case}");
            }
        }
        // The cases exercise every branch: links, refusals, and shared identifiers followed.
        assert!(linked > 1000 && refused_total > 100 && shared_followed > 100, "{linked} {refused_total} {shared_followed}");
    }

    /// A chain in which every round links one more context: address a0 (given) -> session s0
    /// -> address a1 -> session s1 -> ... Rescanning every context each round costs
    /// contexts x rounds (20,000 records took 29 s); the indexed search visits each once.
    #[test]
    fn a_long_chain_costs_work_in_proportion_to_its_length() {
        const LINKS: usize = 20_000;
        let records: Vec<MailAccessRecord> = (0..LINKS)
            .map(|i| {
                // Record i carries address i/2 and session (i+1)/2: consecutive records share one.
                let address = format!("10.{}.{}.{}", (i / 2) >> 16 & 255, (i / 2) >> 8 & 255, (i / 2) & 255);
                let time = chrono::DateTime::<Utc>::from_timestamp(1_700_000_000 + i as i64 * 60, 0).unwrap().to_rfc3339();
                rec(&format!("r{i:06}"), &time)
                    .mailbox("m@x")
                    .ip(&address)
                    .session(&format!("s{}", i.div_ceil(2)))
                    .bind(&[("m@x", "\\Inbox", 1)])
                    .done()
            })
            .collect();
        let analysis = analysis_of(&records, by_address("10.0.0.0"));
        let attribution = analysis.attribute(&AtomicBool::new(false)).unwrap();
        assert!(attribution.why.iter().all(Option::is_some), "the whole chain is the attacker's");
        assert_eq!(attribution.links.len(), LINKS + 1, "every address and session of the chain");
        // Each context is marked once and contributes once; each identifier is considered once.
        assert!(attribution.work <= 6 * LINKS as u64, "work {} for {LINKS} links", attribution.work);
        // The last session was linked by the last record, in the last round.
        let last = Ident::Session(analysis.contexts[LINKS - 1].key.context.session.unwrap());
        match &attribution.links[&last] {
            Link::Linked { context, .. } => {
                assert_eq!(analysis.contexts[*context].earliest.time, analysis.contexts[LINKS - 1].earliest.time)
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_stopped_command_stops_attribution() {
        let records = vec![rec("r1", "2024-05-01T00:00:00Z").ip("192.0.2.1").session("s").bind(&[("m@x", "\\Inbox", 1)]).done()];
        let analysis = analysis_of(&records, by_address("192.0.2.1"));
        assert!(analysis.attribute(&AtomicBool::new(true)).is_err());
        let stopped = Box::new(analysis_of(&records, by_address("192.0.2.1")));
        assert_eq!(stopped.finish(&AtomicBool::new(true)).unwrap_err(), Cancelled);
    }
}
