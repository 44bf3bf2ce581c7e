//! The report's timeline: inline SVG, one lane per mailbox, attacker activity as marks at the
//! times of the records behind each finding, unaudited windows as bands. No script, no
//! external resource; every text is escaped by maud. Every SVG element is written with an end
//! tag: HTML parsers do not take `<rect>` as self-closing.

use std::collections::BTreeSet;

use maud::{html, Markup};

use chrono::{DateTime, Utc};

use super::model::{time_text, Finding};
use crate::time::{from_dotnet_ticks, to_dotnet_ticks};
use crate::vocabulary::CompromiseKind;

const WIDTH: f64 = 1000.0;
const LABEL: f64 = 190.0;
const PLOT_LEFT: f64 = 200.0;
const PLOT_RIGHT: f64 = 985.0;
const AXIS: f64 = 26.0;
const LANE: f64 = 26.0;
/// The plot's unit: 100 ns, counted from 0001-01-01 (the grid's origin, so that lines a week or
/// more apart fall on the days they always have).
const TICKS_PER_HOUR: i64 = 36_000_000_000;

fn position(time: &DateTime<Utc>) -> i64 {
    to_dotnet_ticks(time)
}

fn at(position: i64) -> Option<DateTime<Utc>> {
    from_dotnet_ticks(position)
}

/// How a kind of finding is drawn: its colour and its name in the legend.
pub(super) fn kind_colour(kind: &str) -> &'static str {
    match CompromiseKind::from_name(kind) {
        Some(CompromiseKind::AccessedMessage) => "#c0392b",
        Some(CompromiseKind::SyncedFolder) => "#7d3c98",
        Some(CompromiseKind::UnresolvedAccess) => "#5d6d7e",
        Some(CompromiseKind::ThrottledWindow) => "#f0b041",
        Some(CompromiseKind::AttackerIndicator | CompromiseKind::SharedIndicator) | None => "#1f618d",
    }
}

struct Lane<'f> {
    mailbox: &'f str,
    /// Unaudited windows (start, end positions).
    bands: Vec<(i64, i64)>,
    /// (kind, position) of attacker activity.
    marks: BTreeSet<(&'f str, i64)>,
}

/// The timeline of the findings that have a mailbox; None when there are none.
pub(super) fn timeline<'f>(findings: &'f [Finding<'_, '_>]) -> Option<Markup> {
    let mut lanes: Vec<Lane<'f>> = Vec::new();
    for finding in findings {
        let Some(mailbox) = finding.mailbox.as_deref() else { continue };
        let (Some(start), Some(end)) = (finding.start.get().map(position), finding.end.get().map(position)) else { continue };
        let lane = match lanes.iter().position(|l| l.mailbox.eq_ignore_ascii_case(mailbox)) {
            Some(i) => &mut lanes[i],
            None => {
                lanes.push(Lane { mailbox, bands: Vec::new(), marks: BTreeSet::new() });
                lanes.last_mut().expect("just pushed")
            }
        };
        let kind = finding.kind.name();
        if finding.kind.is(CompromiseKind::ThrottledWindow) {
            lane.bands.push((start, end));
            continue;
        }
        let times: Vec<i64> = finding.evidence.iter().filter_map(|e| e.time.get().map(position)).collect();
        if times.is_empty() {
            lane.marks.insert((kind, start));
            lane.marks.insert((kind, end));
        } else {
            lane.marks.extend(times.into_iter().map(|t| (kind, t)));
        }
    }
    if lanes.is_empty() {
        return None;
    }
    let every_time = lanes.iter().flat_map(|l| l.bands.iter().flat_map(|b| [b.0, b.1]).chain(l.marks.iter().map(|m| m.1)));
    let (mut first, mut last) = every_time.fold((i64::MAX, i64::MIN), |(lo, hi), t| (lo.min(t), hi.max(t)));
    if last - first < TICKS_PER_HOUR {
        first -= TICKS_PER_HOUR;
        last += TICKS_PER_HOUR;
    }
    let pad = (last - first) / 50;
    let (first, last) = (first - pad, last + pad);
    let x = |p: i64| PLOT_LEFT + (p - first) as f64 / (last - first) as f64 * (PLOT_RIGHT - PLOT_LEFT);
    let height = AXIS + LANE * lanes.len() as f64 + 34.0;
    let kinds: BTreeSet<&str> = lanes.iter().flat_map(|l| l.marks.iter().map(|m| m.0)).collect();
    let has_bands = lanes.iter().any(|l| !l.bands.is_empty());
    let (step, daily) = tick_step(last - first);
    let mut grid = Vec::new();
    let mut tick = (first / step + 1) * step;
    while tick < last {
        grid.push(tick);
        tick += step;
    }
    let label = |position: i64| {
        at(position).map(|t| if daily { t.format("%Y-%m-%d").to_string() } else { t.format("%m-%d %H:%M").to_string() }).unwrap_or_default()
    };
    // Legend entries: the band (None), then each kind drawn, side by side.
    let mut legend: Vec<(f64, Option<&str>)> = Vec::new();
    let mut at = PLOT_LEFT;
    if has_bands {
        legend.push((at, None));
        at += 230.0;
    }
    for kind in &kinds {
        legend.push((at, Some(kind)));
        at += 24.0 + 6.5 * kind.len() as f64;
    }
    Some(html! {
        svg xmlns="http://www.w3.org/2000/svg" class="timeline" viewBox={ "0 0 " (WIDTH) " " (height) } role="img"
            aria-label="Attacker activity per mailbox over time, with unaudited windows" {
            title { "Attacker activity per mailbox over time (UTC), with unaudited windows" }
            @for t in &grid {
                line x1=(fmt(x(*t))) x2=(fmt(x(*t))) y1=(fmt(AXIS - 4.0)) y2=(fmt(AXIS + LANE * lanes.len() as f64)) stroke="#ddd" {}
                text x=(fmt(x(*t))) y=(fmt(AXIS - 8.0)) font-size="10" text-anchor="middle" fill="#555" { (label(*t)) }
            }
            @for (i, lane) in lanes.iter().enumerate() {
                @let top = AXIS + LANE * i as f64;
                rect x="0" y=(fmt(top)) width=(WIDTH) height=(LANE) fill=(if i % 2 == 0 { "#f7f7f7" } else { "#ffffff" }) {}
                text x=(fmt(LABEL)) y=(fmt(top + LANE / 2.0 + 4.0)) font-size="11" text-anchor="end" fill="#222" {
                    title { (lane.mailbox) }
                    (shorten(lane.mailbox, 30))
                }
                @for (start, end) in &lane.bands {
                    rect x=(fmt(x(*start))) y=(fmt(top + 2.0)) width=(fmt((x(*end) - x(*start)).max(1.0))) height=(fmt(LANE - 4.0))
                        fill=(kind_colour("ThrottledWindow")) fill-opacity="0.45" {
                        title { "Unaudited window: " (moment(*start)) " to " (moment(*end)) }
                    }
                }
                @for (kind, t) in &lane.marks {
                    line x1=(fmt(x(*t))) x2=(fmt(x(*t))) y1=(fmt(top + 5.0)) y2=(fmt(top + LANE - 5.0)) stroke=(kind_colour(kind)) stroke-width="2" {
                        title { (kind) " " (moment(*t)) }
                    }
                }
            }
            @let legend_y = AXIS + LANE * lanes.len() as f64 + 22.0;
            @for (at, entry) in &legend {
                @match entry {
                    None => {
                        rect x=(fmt(*at)) y=(fmt(legend_y - 9.0)) width="14" height="10" fill=(kind_colour("ThrottledWindow")) fill-opacity="0.45" {}
                        text x=(fmt(at + 18.0)) y=(fmt(legend_y)) font-size="10" fill="#222" { "Unaudited window (all mail presumed read)" }
                    }
                    Some(kind) => {
                        line x1=(fmt(at + 6.0)) x2=(fmt(at + 6.0)) y1=(fmt(legend_y - 10.0)) y2=(fmt(legend_y + 1.0)) stroke=(kind_colour(kind)) stroke-width="2" {}
                        text x=(fmt(at + 14.0)) y=(fmt(legend_y)) font-size="10" fill="#222" { (kind) }
                    }
                }
            }
        }
    })
}

/// A position's time as the report writes it.
fn moment(position: i64) -> String {
    at(position).map(|t| time_text(&t)).unwrap_or_default()
}

/// Grid spacing for a range (in the plot's unit), and whether labels are dates.
fn tick_step(range: i64) -> (i64, bool) {
    const HOURS: [i64; 12] = [1, 2, 3, 6, 12, 24, 48, 96, 168, 336, 720, 2160];
    for hours in HOURS {
        let step = hours * TICKS_PER_HOUR;
        if range / step <= 8 {
            return (step, hours >= 24);
        }
    }
    let step = 4320 * TICKS_PER_HOUR;
    ((range / 8 / step + 1) * step, true)
}

fn fmt(value: f64) -> String {
    format!("{value:.1}")
}

fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut short: String = text.chars().take(max - 1).collect();
    short.push('…');
    short
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_steps_fit_the_range() {
        assert_eq!(tick_step(5 * TICKS_PER_HOUR), (TICKS_PER_HOUR, false));
        assert_eq!(tick_step(3 * 24 * TICKS_PER_HOUR), (12 * TICKS_PER_HOUR, false));
        assert_eq!(tick_step(7 * 24 * TICKS_PER_HOUR), (24 * TICKS_PER_HOUR, true));
        let (step, daily) = tick_step(3 * 365 * 24 * TICKS_PER_HOUR);
        assert!(daily && 3 * 365 * 24 * TICKS_PER_HOUR / step <= 8);
        assert_eq!(shorten("alice@contoso.example", 10), "alice@con…");
    }
}
