//! How the period is fetched: windows, sessions, pages, retries. A pure state machine (no
//! I/O, no clock), driven by what each Search-UnifiedAuditLog call returned.
//!
//! What the service does, and what this answers (sources in `collection-and-kql.md`):
//! - One call returns at most 5,000 records; a session (`-SessionCommand ReturnLargeSet` and
//!   one `-SessionId`) pages on, unsorted, to at most 50,000. Every call here is a session
//!   call with `-ResultSize 5000`; a session reaching 50,000 means its window holds more than
//!   one session returns: the window is split in two, its partial pages discarded, and both
//!   halves fetched.
//! - `ResultCount` no longer counts the query's hits (since 2026 it mirrors `-ResultSize`), so
//!   nothing here concludes from it that a window is complete. It may only raise a doubt.
//! - A session ends with an empty page. One that ends right after a short page is conclusive.
//!   One that ends right after a full page, or returns nothing at all, could also be a
//!   server-side timeout (empty pages are reported mid-session, and first calls that return
//!   nothing while a rerun returns data): such a window is complete only when two sessions in
//!   a row end at the same count.
//! - `ResultIndex` -1 (an internal timeout), an index gap, a short page followed by more
//!   records, an error or a warning of a failed request: the session failed. The window is
//!   fetched again under a new session after a growing wait, a bounded number of times; then
//!   it is given up (reported incomplete, never complete), and after several windows given up
//!   in a row the run stops.

use chrono::{DateTime, Duration, Utc};

use super::manifest::{read_time, write_time, Window, WindowStatus};
use crate::completeness::group;

#[derive(Clone, Debug)]
pub struct Policy {
    /// `-ResultSize` of every call (the service's maximum).
    pub page_size: u64,
    /// The most one session returns.
    pub session_limit: u64,
    pub first_window: Duration,
    pub max_window: Duration,
    /// Windows are not split below this; one that still overflows is given up.
    pub min_window: Duration,
    /// Failed sessions of one window before it is given up.
    pub max_failures: u32,
    /// Sessions of one window in all (failures and confirmations).
    pub max_sessions: u32,
    /// Wait after a window's first failure; it doubles with each further one.
    pub retry_delay: Duration,
    pub max_retry_delay: Duration,
    /// Windows given up in a row before the run stops.
    pub failed_windows_to_stop: u32,
    /// Each query reaches this far past its window's end (not past the period's end), so a
    /// record on the boundary is fetched whichever way the service rounds; copies are dropped.
    pub overlap: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            page_size: 5_000,
            session_limit: 50_000,
            first_window: Duration::hours(1),
            max_window: Duration::hours(24),
            min_window: Duration::seconds(1),
            max_failures: 4,
            max_sessions: 8,
            retry_delay: Duration::seconds(10),
            max_retry_delay: Duration::minutes(5),
            failed_windows_to_stop: 3,
            overlap: Duration::seconds(1),
        }
    }
}

/// What to do next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Call Search-UnifiedAuditLog for [start, end) with this session.
    Call { window: usize, start: DateTime<Utc>, end: DateTime<Utc>, session_id: String, page: u32, session: u32 },
    /// Wait before the next call (after a failure).
    Wait(Duration),
    /// Nothing left to fetch.
    Done,
}

/// What the driver does with the records a window's sessions returned so far.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Keep them, and go on.
    Continue,
    /// The window is complete: write them.
    Complete,
    /// The window holds too many for one session: drop them, it is fetched again in halves.
    Split,
    /// The window is given up: write what it returned (the folder says it is incomplete).
    GiveUp,
}

/// What one call returned, as far as the plan cares.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PageFacts {
    pub records: u64,
    /// Lowest and highest ResultIndex, and whether each index in between appears once; None
    /// when no record carried one.
    pub indexes: Option<(i64, i64, bool)>,
    /// Records with ResultIndex -1 (the service's internal timeout).
    pub timeouts: u64,
    /// The highest ResultCount on the page.
    pub result_count: Option<i64>,
}

#[derive(Clone, Debug)]
struct Session {
    window: usize,
    id: String,
    number: u32,
    pages: u32,
    total: u64,
    last_page_short: bool,
    /// The highest ResultCount seen in the session.
    result_count: Option<i64>,
}

/// The fetching of one period, window by window.
pub struct Plan {
    policy: Policy,
    period_start: DateTime<Utc>,
    period_end: DateTime<Utc>,
    /// The run's start: when the windows it completes were fetched.
    now: DateTime<Utc>,
    run_id: String,
    windows: Vec<Window>,
    session: Option<Session>,
    /// Per window being fetched: failures, sessions, and the count of the last session that
    /// ended inconclusively.
    failures: u32,
    sessions: u32,
    inconclusive_total: Option<u64>,
    wait: Option<Duration>,
    next_length: Duration,
    given_up_in_a_row: u32,
    stopped: Option<String>,
    session_counter: u64,
    /// Messages for the user since the last step (for -Verbose).
    notes: Vec<String>,
}

impl Plan {
    /// A plan for [start, end). `windows` are those of an earlier run on the folder: the ones
    /// not to fetch again are Complete and settled; every other one is fetched (again).
    pub fn new(
        policy: Policy,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        now: DateTime<Utc>,
        run_id: String,
        windows: Vec<Window>,
        settle: Duration,
    ) -> Plan {
        let mut windows = windows;
        for window in &mut windows {
            let complete = window.status == WindowStatus::Complete;
            if !complete || !super::manifest::is_settled(window, settle) {
                window.status = WindowStatus::Pending;
                window.reason = Some(if complete {
                    "to be fetched again: it ended less than a day before it was fetched".to_string()
                } else {
                    "not fetched yet".to_string()
                });
            }
        }
        // Windows never fetched at the end (the rest of a stopped run) are made again as the
        // run goes, at the length it finds.
        while windows.last().is_some_and(|w| w.status == WindowStatus::Pending && w.calls == 0) {
            windows.pop();
        }
        let next_length = policy.first_window;
        Plan {
            policy,
            period_start: start,
            period_end: end,
            now,
            run_id,
            windows,
            session: None,
            failures: 0,
            sessions: 0,
            inconclusive_total: None,
            wait: None,
            next_length,
            given_up_in_a_row: 0,
            stopped: None,
            session_counter: 0,
            notes: Vec::new(),
        }
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    pub fn windows(&self) -> &[Window] {
        &self.windows
    }

    pub fn window_mut(&mut self, index: usize) -> &mut Window {
        &mut self.windows[index]
    }

    /// The window being fetched.
    pub fn current_window(&self) -> Option<usize> {
        self.session.as_ref().map(|s| s.window)
    }

    /// Messages since the last call (what happened, for -Verbose).
    pub fn take_notes(&mut self) -> Vec<String> {
        std::mem::take(&mut self.notes)
    }

    /// How much of the period is behind us, 0 to 1000.
    pub fn permille(&self) -> u32 {
        let total = (self.period_end - self.period_start).num_seconds().max(1);
        let done: i64 = self
            .windows
            .iter()
            .filter(|w| w.status != WindowStatus::Pending)
            .filter_map(|w| Some((read_time(&w.end)? - read_time(&w.start)?).num_seconds()))
            .sum();
        ((done * 1000) / total).clamp(0, 1000) as u32
    }

    pub fn next_step(&mut self) -> Step {
        if let Some(wait) = self.wait.take() {
            return Step::Wait(wait);
        }
        if self.stopped.is_some() {
            return Step::Done;
        }
        if self.session.is_none() {
            let Some(window) = self.next_pending() else {
                return Step::Done;
            };
            self.failures = 0;
            self.sessions = 0;
            self.inconclusive_total = None;
            self.start_session(window);
        }
        let session = self.session.as_ref().expect("a session");
        let window = &self.windows[session.window];
        let start = read_time(&window.start).expect("windows hold valid times");
        let end = read_time(&window.end).expect("windows hold valid times");
        let query_end = (end + self.policy.overlap).min(self.period_end);
        Step::Call {
            window: session.window,
            start,
            end: query_end,
            session_id: session.id.clone(),
            page: session.pages + 1,
            session: session.number,
        }
    }

    /// The first window to fetch, making the next one when the windows so far end before the
    /// period does.
    fn next_pending(&mut self) -> Option<usize> {
        if let Some(i) = self.windows.iter().position(|w| w.status == WindowStatus::Pending) {
            return Some(i);
        }
        let covered = self.windows.last().and_then(|w| read_time(&w.end)).unwrap_or(self.period_start);
        if covered >= self.period_end {
            return None;
        }
        let end = (covered + self.next_length).min(self.period_end);
        self.windows.push(new_window(covered, end));
        Some(self.windows.len() - 1)
    }

    fn start_session(&mut self, window: usize) {
        self.session_counter += 1;
        self.sessions += 1;
        self.windows[window].sessions += 1;
        let id = format!("{}-{}", self.run_id, self.session_counter);
        self.session = Some(Session { window, id, number: self.sessions, pages: 0, total: 0, last_page_short: false, result_count: None });
    }

    /// A call returned a page.
    pub fn page(&mut self, facts: &PageFacts) -> Outcome {
        let page_size = self.policy.page_size;
        let session_limit = self.policy.session_limit;
        let Some(session) = self.session.as_mut() else {
            return Outcome::Continue;
        };
        let window = session.window;
        session.pages += 1;
        session.result_count = session.result_count.max(facts.result_count);
        let pages = session.pages;
        self.windows[window].calls += 1;
        self.windows[window].returned += facts.records;
        if facts.timeouts > 0 {
            return self.fail(format!("the service timed out (ResultIndex -1 on {} records of page {pages})", group(facts.timeouts)));
        }
        if facts.records > 0 {
            if session.last_page_short {
                return self.fail(format!(
                    "page {pages} brought {} more records after a short page: the session skipped some",
                    group(facts.records)
                ));
            }
            if let Some((low, high, each_once)) = facts.indexes {
                let first = session.total as i64 + 1;
                let last = session.total as i64 + facts.records as i64;
                if low != first || high != last || !each_once {
                    return self.fail(format!(
                        "page {pages} holds ResultIndex {low} to {high} where {first} to {last} were due: records are missing or repeated"
                    ));
                }
            }
            session.total += facts.records;
            session.last_page_short = facts.records < page_size;
            if session.total >= session_limit {
                return self.overflow();
            }
            return Outcome::Continue;
        }
        // An empty page: the session has ended.
        let total = session.total;
        let conclusive = total > 0 && session.last_page_short;
        if let Some(count) = session.result_count.filter(|c| *c > total as i64 && *c as u64 != page_size) {
            return self.fail(format!(
                "the session ended after {} records although ResultCount reported {}",
                group(total),
                group(count as u64)
            ));
        }
        if conclusive || self.inconclusive_total == Some(total) {
            return self.complete(total);
        }
        if self.sessions >= self.policy.max_sessions {
            return self.give_up(format!("its sessions kept ending at different counts (the last at {})", group(total)));
        }
        self.notes.push(format!(
            "Window {}: the session ended after {} records, right after a full or an empty page; fetching it again under a new session to confirm.",
            window + 1,
            group(total)
        ));
        self.inconclusive_total = Some(total);
        self.start_session(window);
        Outcome::Continue
    }

    /// A call failed (an error, or a warning of a failed request).
    pub fn failed(&mut self, message: &str) -> Outcome {
        if let Some(session) = &self.session {
            let window = session.window;
            self.windows[window].calls += 1;
        }
        self.fail(format!("the call failed: {}", message.trim()))
    }

    fn fail(&mut self, reason: String) -> Outcome {
        let Some(session) = self.session.as_ref() else {
            return Outcome::Continue;
        };
        let window = session.window;
        self.failures += 1;
        self.windows[window].failures += 1;
        if self.failures >= self.policy.max_failures || self.sessions >= self.policy.max_sessions {
            return self.give_up(format!("{} sessions failed; the last: {reason}", self.failures));
        }
        let doubling = 2i32.saturating_pow(self.failures.saturating_sub(1).min(20));
        let wait = (self.policy.retry_delay * doubling).min(self.policy.max_retry_delay);
        self.notes.push(format!(
            "Window {}: {reason}; fetching it again under a new session in {} s.",
            window + 1,
            wait.num_milliseconds() as f64 / 1000.0
        ));
        self.wait = Some(wait);
        self.inconclusive_total = None;
        self.start_session(window);
        Outcome::Continue
    }

    fn complete(&mut self, total: u64) -> Outcome {
        let window = self.session.take().expect("a session").window;
        let w = &mut self.windows[window];
        w.status = WindowStatus::Complete;
        w.reason = None;
        w.fetched_at = Some(write_time(&self.now));
        self.given_up_in_a_row = 0;
        // Sparse windows grow the next ones; busy ones keep their length.
        let length = window_length(w);
        self.next_length = if total < self.policy.session_limit / 4 { (length * 2).min(self.policy.max_window) } else { length };
        Outcome::Complete
    }

    fn overflow(&mut self) -> Outcome {
        let window = self.session.as_ref().expect("a session").window;
        let w = self.windows[window].clone();
        let length = window_length(&w);
        if length <= self.policy.min_window {
            return self.give_up(format!(
                "it holds more than {} records in {} s, the most one session returns, and cannot be split further: the rest of it could not be fetched",
                group(self.policy.session_limit),
                length.num_seconds()
            ));
        }
        let start = read_time(&w.start).expect("valid");
        let end = read_time(&w.end).expect("valid");
        let half = Duration::seconds((length.num_seconds() / 2).max(1));
        let middle = start + half;
        self.notes.push(format!(
            "Window {}: {} to {} holds {} records or more, the most one session returns; splitting it at {} and fetching both halves.",
            window + 1,
            w.start,
            w.end,
            group(self.policy.session_limit),
            write_time(&middle)
        ));
        let mut first = new_window(start, middle);
        let second = new_window(middle, end);
        // What was spent on the window stays on record, with its first half.
        first.calls = w.calls;
        first.sessions = w.sessions;
        first.failures = w.failures;
        first.returned = w.returned;
        self.windows.splice(window..=window, [first, second]);
        self.session = None;
        self.next_length = half;
        Outcome::Split
    }

    fn give_up(&mut self, reason: String) -> Outcome {
        let window = self.session.take().expect("a session").window;
        let w = &mut self.windows[window];
        w.status = WindowStatus::Incomplete;
        w.reason = Some(reason.clone());
        w.fetched_at = Some(write_time(&self.now));
        self.notes.push(format!("Window {} ({} to {}) is incomplete: {reason}.", window + 1, w.start, w.end));
        self.given_up_in_a_row += 1;
        if self.given_up_in_a_row >= self.policy.failed_windows_to_stop {
            self.stop(format!("not fetched: the run stopped after {} windows in a row could not be fetched", self.given_up_in_a_row));
        }
        Outcome::GiveUp
    }

    /// Ends the run: the window being fetched (if any) and every window not fetched stay
    /// pending with `reason`, and the rest of the period becomes one pending window.
    pub fn stop(&mut self, reason: String) {
        if let Some(session) = self.session.take() {
            let w = &mut self.windows[session.window];
            w.status = WindowStatus::Pending;
            w.reason = Some(reason.clone());
        }
        for w in self.windows.iter_mut().filter(|w| w.status == WindowStatus::Pending) {
            w.reason = Some(reason.clone());
        }
        let covered = self.windows.last().and_then(|w| read_time(&w.end)).unwrap_or(self.period_start);
        if covered < self.period_end {
            let mut rest = new_window(covered, self.period_end);
            rest.reason = Some(reason.clone());
            self.windows.push(rest);
        }
        self.wait = None;
        self.stopped = Some(reason);
    }

    /// Whether anything is left to fetch (a session under way, a pending window, or a part of
    /// the period not yet in a window).
    pub fn has_work(&self) -> bool {
        if self.stopped.is_some() {
            return false;
        }
        let covered = self.windows.last().and_then(|w| read_time(&w.end)).unwrap_or(self.period_start);
        self.session.is_some() || covered < self.period_end || self.windows.iter().any(|w| w.status == WindowStatus::Pending)
    }

    pub fn stopped(&self) -> Option<&str> {
        self.stopped.as_deref()
    }
}

fn new_window(start: DateTime<Utc>, end: DateTime<Utc>) -> Window {
    Window {
        start: write_time(&start),
        end: write_time(&end),
        status: WindowStatus::Pending,
        reason: Some("not fetched yet".to_string()),
        calls: 0,
        sessions: 0,
        failures: 0,
        returned: 0,
        written: 0,
        duplicates: 0,
        other_mailboxes: 0,
        fetched_at: None,
    }
}

fn window_length(w: &Window) -> Duration {
    match (read_time(&w.start), read_time(&w.end)) {
        (Some(s), Some(e)) => e - s,
        _ => Duration::zero(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        read_time(text).unwrap()
    }

    fn plan(hours: i64) -> Plan {
        let start = at("2024-03-01T00:00:00Z");
        Plan::new(
            Policy::default(),
            start,
            start + Duration::hours(hours),
            at("2024-04-01T00:00:00Z"),
            "run".into(),
            Vec::new(),
            Duration::hours(24),
        )
    }

    fn page(from: i64, records: u64) -> PageFacts {
        PageFacts {
            records,
            indexes: (records > 0).then(|| (from, from + records as i64 - 1, true)),
            timeouts: 0,
            result_count: Some(5_000),
        }
    }

    fn call(plan: &mut Plan) -> (usize, String, u32) {
        match plan.next_step() {
            Step::Call { window, session_id, page, .. } => (window, session_id, page),
            other => panic!("expected a call, got {other:?}"),
        }
    }

    #[test]
    fn a_window_ends_with_an_empty_page_after_a_short_one() {
        let mut p = plan(1);
        assert_eq!(call(&mut p), (0, "run-1".to_string(), 1));
        assert_eq!(p.page(&page(1, 5_000)), Outcome::Continue);
        assert_eq!(call(&mut p).2, 2);
        assert_eq!(p.page(&page(5_001, 1_200)), Outcome::Continue);
        assert_eq!(p.page(&page(0, 0)), Outcome::Complete);
        assert_eq!(p.next_step(), Step::Done);
        let w = &p.windows()[0];
        assert_eq!((w.calls, w.sessions, w.returned, w.status.clone()), (3, 1, 6_200, WindowStatus::Complete));
        assert_eq!(p.permille(), 1000);
    }

    #[test]
    fn an_empty_window_is_confirmed_by_a_second_session() {
        let mut p = plan(1);
        call(&mut p);
        assert_eq!(p.page(&page(0, 0)), Outcome::Continue);
        let (_, session, _) = call(&mut p);
        assert_eq!(session, "run-2");
        assert_eq!(p.page(&page(0, 0)), Outcome::Complete);
    }

    #[test]
    fn a_first_empty_answer_then_data_is_not_taken_for_an_empty_window() {
        let mut p = plan(1);
        call(&mut p);
        p.page(&page(0, 0));
        call(&mut p);
        assert_eq!(p.page(&page(1, 10)), Outcome::Continue);
        assert_eq!(p.page(&page(0, 0)), Outcome::Complete);
    }

    #[test]
    fn an_end_after_a_full_page_needs_two_sessions_that_agree() {
        let mut p = plan(1);
        call(&mut p);
        p.page(&page(1, 5_000));
        assert_eq!(p.page(&page(0, 0)), Outcome::Continue, "maybe an empty page mid-session");
        call(&mut p);
        p.page(&page(1, 5_000));
        p.page(&page(5_001, 5_000));
        assert_eq!(p.page(&page(0, 0)), Outcome::Continue, "10,000 disagrees with 5,000");
        call(&mut p);
        p.page(&page(1, 5_000));
        p.page(&page(5_001, 5_000));
        assert_eq!(p.page(&page(0, 0)), Outcome::Complete);
    }

    #[test]
    fn failures_restart_the_window_after_a_growing_wait_then_give_up() {
        let mut p = plan(1);
        call(&mut p);
        assert_eq!(p.failed("server side error"), Outcome::Continue);
        assert_eq!(p.next_step(), Step::Wait(Duration::seconds(10)));
        call(&mut p);
        p.page(&PageFacts { records: 1, indexes: Some((-1, -1, true)), timeouts: 1, result_count: Some(0) });
        assert_eq!(p.next_step(), Step::Wait(Duration::seconds(20)));
        call(&mut p);
        p.page(&page(1, 100));
        // An index gap.
        assert_eq!(p.page(&page(150, 10)), Outcome::Continue);
        assert_eq!(p.next_step(), Step::Wait(Duration::seconds(40)));
        call(&mut p);
        assert_eq!(p.failed("task was canceled"), Outcome::GiveUp);
        let w = &p.windows()[0];
        assert_eq!(w.status, WindowStatus::Incomplete);
        assert!(
            w.reason.as_deref().unwrap().starts_with("4 sessions failed; the last: the call failed: task was canceled"),
            "{:?}",
            w.reason
        );
        assert_eq!(p.next_step(), Step::Done);
    }

    #[test]
    fn a_short_page_followed_by_more_is_a_failure() {
        let mut p = plan(1);
        call(&mut p);
        p.page(&page(1, 3_000));
        assert_eq!(p.page(&page(3_001, 2_000)), Outcome::Continue);
        assert!(matches!(p.next_step(), Step::Wait(_)));
        assert_eq!(call(&mut p).1, "run-2");
    }

    #[test]
    fn a_result_count_above_what_came_raises_a_doubt_but_never_completes_a_window() {
        let mut p = plan(1);
        call(&mut p);
        p.page(&PageFacts { result_count: Some(23_391), ..page(1, 2_000) });
        assert_eq!(p.page(&PageFacts { result_count: None, ..page(0, 0) }), Outcome::Continue);
        assert!(matches!(p.next_step(), Step::Wait(_)));
    }

    #[test]
    fn a_window_that_reaches_the_session_limit_is_split_and_the_next_ones_are_shorter() {
        let mut p = plan(2);
        call(&mut p);
        for i in 0..10 {
            let outcome = p.page(&page(i * 5_000 + 1, 5_000));
            assert_eq!(outcome, if i == 9 { Outcome::Split } else { Outcome::Continue });
        }
        let spans: Vec<_> = p.windows().iter().map(|w| (w.start.clone(), w.end.clone())).collect();
        assert_eq!(spans[0].1, write_time(&at("2024-03-01T00:30:00Z")));
        assert_eq!(spans[1].1, write_time(&at("2024-03-01T01:00:00Z")));
        assert_eq!(p.windows()[0].calls, 10);
        let (window, _, page_number) = call(&mut p);
        assert_eq!((window, page_number), (0, 1));
        p.page(&page(1, 10));
        p.page(&page(0, 0));
        call(&mut p);
        p.page(&page(1, 10));
        p.page(&page(0, 0));
        // The next window starts where the split ones end; sparse windows grow again.
        match p.next_step() {
            Step::Call { start, end, .. } => {
                assert_eq!(start, at("2024-03-01T01:00:00Z"));
                assert_eq!(end, at("2024-03-01T02:00:00Z"), "half an hour doubled, and the period ends there");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn queries_overlap_the_next_window_by_a_second_but_not_the_period_end() {
        let mut p = plan(3);
        match p.next_step() {
            Step::Call { start, end, .. } => assert_eq!((start, end), (at("2024-03-01T00:00:00Z"), at("2024-03-01T01:00:01Z"))),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_second_that_overflows_is_given_up_with_what_it_returned() {
        let start = at("2024-03-01T00:00:00Z");
        let mut p = Plan::new(
            Policy { first_window: Duration::seconds(1), ..Policy::default() },
            start,
            start + Duration::seconds(1),
            start,
            "r".into(),
            Vec::new(),
            Duration::hours(24),
        );
        call(&mut p);
        for i in 0..10 {
            let outcome = p.page(&page(i * 5_000 + 1, 5_000));
            if i == 9 {
                assert_eq!(outcome, Outcome::GiveUp);
            }
        }
        assert!(p.windows()[0].reason.as_deref().unwrap().contains("cannot be split further"));
    }

    #[test]
    fn the_run_stops_after_windows_given_up_in_a_row_and_the_rest_stays_pending() {
        let mut p = Plan::new(
            Policy { max_failures: 1, ..Policy::default() },
            at("2024-03-01T00:00:00Z"),
            at("2024-03-02T00:00:00Z"),
            at("2024-04-01T00:00:00Z"),
            "r".into(),
            Vec::new(),
            Duration::hours(24),
        );
        for _ in 0..3 {
            call(&mut p);
            assert_eq!(p.failed("not connected"), Outcome::GiveUp);
        }
        assert_eq!(p.next_step(), Step::Done);
        let statuses: Vec<_> = p.windows().iter().map(|w| w.status.clone()).collect();
        assert_eq!(statuses, vec![WindowStatus::Incomplete, WindowStatus::Incomplete, WindowStatus::Incomplete, WindowStatus::Pending]);
        assert_eq!(p.windows()[3].end, write_time(&at("2024-03-02T00:00:00Z")));
        assert!(p.stopped().unwrap().contains("3 windows in a row"));
    }

    #[test]
    fn a_resumed_plan_fetches_again_only_what_is_not_complete_and_settled() {
        let mut first = plan(72);
        // Three windows of the first run: complete, complete, and the run stops.
        for _ in 0..2 {
            call(&mut first);
            first.page(&page(1, 10));
            first.page(&page(0, 0));
        }
        call(&mut first);
        first.stop("not fetched: the run was stopped".into());
        let windows = first.windows().to_vec();
        assert_eq!(windows.iter().filter(|w| w.status == WindowStatus::Complete).count(), 2);
        let start = at("2024-03-01T00:00:00Z");
        // Fetched long after: the complete windows are settled and skipped.
        let mut again = Plan::new(
            Policy::default(),
            start,
            start + Duration::hours(72),
            at("2024-04-02T00:00:00Z"),
            "two".into(),
            windows.clone(),
            Duration::hours(24),
        );
        assert_eq!(call(&mut again).0, 2);
        // Fetched within a day of the windows' end: everything is fetched again.
        let early = at("2024-03-01T12:00:00Z");
        let mut unsettled: Vec<_> = windows;
        for w in &mut unsettled {
            if w.fetched_at.is_some() {
                w.fetched_at = Some(write_time(&early));
            }
        }
        let mut soon =
            Plan::new(Policy::default(), start, start + Duration::hours(72), early, "three".into(), unsettled, Duration::hours(24));
        assert_eq!(call(&mut soon).0, 0);
        assert!(soon.windows()[0].reason.as_deref().unwrap().contains("less than a day"));
    }
}
