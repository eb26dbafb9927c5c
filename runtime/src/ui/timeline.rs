//! A workflow run's trail drawn: a timeline with one bar per hop (the event that reached a
//! listener, the listener, the event it put), in lanes by task token so that a Map's items stay
//! apart, side effects in lanes of their own; and the architecture the events reveal
//! (event → function → event) as a graph.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use eventdriven_states::clock::parse_iso;

use super::graph::{Size, arrow_marker, edge_path, layout, text_width};
use super::html::escape;
use crate::trail::{EntryKind, TrailEntry, architecture};

const ROW: f64 = 24.0;
const BAR: f64 = 16.0;
const LABELS: f64 = 320.0;
const CHART: f64 = 600.0;
/// The narrowest bar drawn, so a hop of no measurable time still shows.
const MIN_BAR: f64 = 3.0;
const FONT: f64 = 12.0;
const MARKER: &str = "architecture-arrow";

/// One hop: from when the event that triggered it was put to when its own event was.
#[derive(Clone, Debug, PartialEq)]
pub struct Bar {
    pub start_ms: i64,
    pub end_ms: i64,
    pub detail_type: String,
    pub emitted_by: String,
    /// The event the emitter answered; none for a task's first event, put by the machine.
    pub trigger: Option<String>,
    pub side_effect: bool,
}

/// The hops of one task token (or one side effect's chain), in time order.
#[derive(Clone, Debug, PartialEq)]
pub struct Lane {
    pub label: String,
    pub bars: Vec<Bar>,
}

fn millis(time: &str) -> Option<i64> {
    parse_iso(time).map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64)
}

/// The trail's hops in lanes, ordered by their first hop.
pub fn lanes(trail: &[TrailEntry]) -> Vec<Lane> {
    let mut by_key: BTreeMap<String, (String, Vec<Bar>)> = BTreeMap::new();
    let mut per_state: BTreeMap<(String, bool), usize> = BTreeMap::new();
    for entry in trail.iter().filter(|e| e.kind == EntryKind::Event) {
        let Some(end_ms) = millis(&entry.time) else { continue };
        let previous = entry.hops.len().checked_sub(2).map(|i| &entry.hops[i]);
        let start_ms = previous
            .and_then(|hop| hop.time.as_deref())
            .and_then(millis)
            .unwrap_or(end_ms)
            .min(end_ms);
        let first = entry.hops.first();
        // A side effect's events carry no token: its chain is told by the event it began with.
        let (key, side_effect) = match &entry.token {
            Some(token) => (format!("token {token}"), false),
            None => (
                format!(
                    "chain {} {}",
                    first.map_or("", |h| h.detail_type.as_str()),
                    first.and_then(|h| h.time.as_deref()).unwrap_or_default()
                ),
                true,
            ),
        };
        let lane = by_key.entry(key).or_insert_with(|| {
            let seen = per_state.entry((entry.state.clone(), side_effect)).or_default();
            *seen += 1;
            let label = if side_effect {
                format!("{} · side effect {seen}", entry.state)
            } else {
                format!("{} · task {seen}", entry.state)
            };
            (label, Vec::new())
        });
        lane.1.push(Bar {
            start_ms,
            end_ms,
            detail_type: entry.detail_type.clone(),
            emitted_by: entry.emitted_by.clone(),
            trigger: previous.map(|hop| hop.detail_type.clone()),
            side_effect,
        });
    }
    let mut lanes: Vec<Lane> = by_key
        .into_values()
        .map(|(label, mut bars)| {
            bars.sort_by_key(|b| (b.end_ms, b.start_ms));
            Lane { label, bars }
        })
        .collect();
    lanes.sort_by_key(|lane| lane.bars.first().map(|b| (b.start_ms, b.end_ms)));
    lanes
}

/// The timeline as SVG: a row per hop under its lane's label, on one time axis from the
/// run's first line to its last.
pub fn timeline_svg(trail: &[TrailEntry]) -> String {
    let lanes = lanes(trail);
    let times: Vec<i64> = trail
        .iter()
        .filter_map(|e| millis(&e.time))
        .chain(lanes.iter().flat_map(|l| l.bars.iter().map(|b| b.start_ms)))
        .collect();
    let origin = times.iter().copied().min().unwrap_or(0);
    let span = (times.iter().copied().max().unwrap_or(0) - origin).max(1);
    let x = |ms: i64| LABELS + (ms - origin) as f64 / span as f64 * CHART;
    let rows = lanes.iter().map(|l| l.bars.len() + 1).sum::<usize>();
    let height = ROW * (rows as f64 + 1.0);
    let width = LABELS + CHART + 80.0;
    let mut body = String::new();
    let mut y = 0.0;
    for lane in &lanes {
        let _ = write!(
            body,
            "<text class=\"lane\" x=\"0\" y=\"{:.1}\">{}</text>",
            y + ROW * 0.7,
            escape(&lane.label)
        );
        y += ROW;
        for bar in &lane.bars {
            let label = match &bar.trigger {
                Some(trigger) => format!("{trigger} → {} → {}", bar.emitted_by, bar.detail_type),
                None => format!("{} → {}", bar.emitted_by, bar.detail_type),
            };
            let (left, right) = (x(bar.start_ms), x(bar.end_ms));
            let _ = write!(
                body,
                "<g class=\"hop{}\" data-detail-type=\"{}\" data-function=\"{}\"><title>{} ({} ms)</title>\
<text x=\"12\" y=\"{:.1}\">{}</text><rect x=\"{left:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{BAR}\" rx=\"3\"/>\
<text class=\"ms\" x=\"{:.1}\" y=\"{:.1}\">{} ms</text></g>",
                if bar.side_effect { " side-effect" } else { "" },
                escape(&bar.detail_type),
                escape(&bar.emitted_by),
                escape(&label),
                bar.end_ms - bar.start_ms,
                y + ROW * 0.7,
                escape(&clip(&label, 46)),
                y + (ROW - BAR) / 2.0,
                (right - left).max(MIN_BAR),
                left.max(right) + MIN_BAR + 4.0,
                y + ROW * 0.7,
                bar.end_ms - bar.start_ms,
            );
            y += ROW;
        }
    }
    // The axis: the run's span, and its end when it has one.
    let _ = write!(
        body,
        "<line class=\"axis\" x1=\"{LABELS}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\"/>\
<text class=\"ms\" x=\"{LABELS}\" y=\"{:.1}\">0 ms</text><text class=\"ms\" x=\"{:.1}\" y=\"{:.1}\">{span} ms</text>",
        LABELS + CHART,
        y + ROW * 0.7,
        LABELS + CHART - 40.0,
        y + ROW * 0.7,
    );
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"timeline\" width=\"{width:.0}\" height=\"{height:.0}\" \
viewBox=\"0 0 {width:.0} {height:.0}\" role=\"img\" aria-label=\"Timeline\">{body}</svg>"
    )
}

fn clip(text: &str, chars: usize) -> String {
    if text.chars().count() <= chars {
        return text.to_owned();
    }
    let mut clipped: String = text.chars().take(chars - 1).collect();
    clipped.push('…');
    clipped
}

/// The architecture the events reveal, as SVG: detail types and functions, an edge where a
/// function emits a type or a type reaches a function.
pub fn architecture_svg(trail: &[TrailEntry]) -> String {
    let edges = architecture(trail);
    let event_types: BTreeSet<&str> = trail
        .iter()
        .filter(|e| e.kind != EntryKind::End)
        .map(|e| e.detail_type.as_str())
        .chain(trail.iter().flat_map(|e| e.hops.iter().map(|h| h.detail_type.as_str())))
        .collect();
    // Nodes in the order edges first name them: the start's source leads.
    let mut names: Vec<&str> = Vec::new();
    let start = trail
        .iter()
        .find(|e| e.kind == EntryKind::Start)
        .map(|e| e.emitted_by.as_str());
    names.extend(start);
    for (from, to) in &edges {
        for name in [from.as_str(), to.as_str()] {
            if !names.contains(&name) {
                names.push(name);
            }
        }
    }
    let sizes: Vec<Size> = names
        .iter()
        .map(|name| Size {
            width: text_width(name, FONT) + 28.0,
            height: 30.0,
        })
        .collect();
    let index = |name: &str| {
        names
            .iter()
            .position(|n| *n == name)
            .expect("every edge's ends are nodes")
    };
    let pairs: Vec<(usize, usize)> = edges.iter().map(|(f, t)| (index(f), index(t))).collect();
    let placed = layout(&sizes, &pairs);
    let boxed = |n: usize| {
        (
            placed.positions[n].0,
            placed.positions[n].1,
            sizes[n].width,
            sizes[n].height,
        )
    };
    let mut body = String::new();
    for &(from, to) in &pairs {
        let _ = write!(
            body,
            "<path class=\"edge\" d=\"{}\" marker-end=\"url(#{MARKER})\"/>",
            edge_path(boxed(from), boxed(to))
        );
    }
    for (n, name) in names.iter().enumerate() {
        let (x, y, w, h) = boxed(n);
        let kind = if event_types.contains(name) {
            "event"
        } else {
            "function"
        };
        let _ = write!(
            body,
            "<g class=\"node {kind}\" data-node=\"{}\" transform=\"translate({x:.1},{y:.1})\"><title>{kind} {}</title>\
<rect width=\"{w:.1}\" height=\"{h:.1}\" rx=\"{}\"/><text x=\"{:.1}\" y=\"19\">{}</text></g>",
            escape(name),
            escape(name),
            if kind == "event" { 15 } else { 4 },
            w / 2.0,
            escape(name),
        );
    }
    let (width, height) = (placed.width + 24.0 + 40.0, placed.height + 24.0);
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"graph architecture\" width=\"{width:.0}\" \
height=\"{height:.0}\" viewBox=\"0 0 {width:.0} {height:.0}\" role=\"img\" aria-label=\"Architecture\">\
<defs>{}</defs><g transform=\"translate(12,12)\">{body}</g></svg>",
        arrow_marker(MARKER)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use eventdriven_core::workflow::envelope::Hop;

    fn hop(detail_type: &str, function: &str, time: &str) -> Hop {
        Hop {
            source: "s".into(),
            detail_type: detail_type.into(),
            function: function.into(),
            time: Some(time.into()),
        }
    }

    fn event(state: &str, token: Option<&str>, hops: Vec<Hop>) -> TrailEntry {
        let last = hops.last().unwrap().clone();
        TrailEntry {
            kind: EntryKind::Event,
            time: last.time.clone().unwrap(),
            gap_ms: None,
            detail_type: last.detail_type.clone(),
            state: state.into(),
            emitted_by: last.function.clone(),
            hops,
            error: None,
            token: token.map(str::to_owned),
        }
    }

    fn trail() -> Vec<TrailEntry> {
        let put = hop("get", "m", "2026-11-23T10:00:00.100Z");
        let put_2 = hop("get", "m", "2026-11-23T10:00:00.120Z");
        let answer = hop("task.finished", "getter", "2026-11-23T10:00:00.600Z");
        let answer_2 = hop("task.finished", "getter", "2026-11-23T10:00:00.400Z");
        let audited = hop("get.done", "audit", "2026-11-23T10:00:00.300Z");
        vec![
            TrailEntry {
                kind: EntryKind::Start,
                time: "2026-11-23T10:00:00Z".into(),
                gap_ms: None,
                detail_type: "start".into(),
                state: String::new(),
                emitted_by: "s".into(),
                hops: Vec::new(),
                error: None,
                token: None,
            },
            event("Get", Some("t1"), vec![put.clone()]),
            event("Get", Some("t2"), vec![put_2.clone()]),
            event("Get", None, vec![put.clone(), audited]),
            event("Get", Some("t2"), vec![put_2, answer_2]),
            event("Get", Some("t1"), vec![put, answer]),
            TrailEntry {
                kind: EntryKind::End,
                time: "2026-11-23T10:00:01Z".into(),
                gap_ms: None,
                detail_type: "SUCCEEDED".into(),
                state: String::new(),
                emitted_by: "m".into(),
                hops: Vec::new(),
                error: None,
                token: None,
            },
        ]
    }

    #[test]
    fn each_token_has_its_lane_and_each_hop_its_bar() {
        let lanes = lanes(&trail());
        let labels: Vec<&str> = lanes.iter().map(|l| l.label.as_str()).collect();
        assert_eq!(labels, ["Get · task 1", "Get · side effect 1", "Get · task 2"]);
        let first = &lanes[0].bars;
        assert_eq!(first.len(), 2);
        assert_eq!((first[1].start_ms % 1000, first[1].end_ms % 1000), (100, 600));
        assert_eq!(first[1].trigger.as_deref(), Some("get"));
        assert!(lanes[1].bars[0].side_effect);
        assert_eq!(lanes[2].bars.len(), 2);
        let svg = timeline_svg(&trail());
        assert_eq!(svg.matches("<g class=\"hop").count(), 5);
        assert_eq!(svg.matches("<g class=\"hop side-effect\"").count(), 1);
    }

    #[test]
    fn the_architecture_has_every_function_and_event() {
        let svg = architecture_svg(&trail());
        for (kind, name) in [
            ("function", "getter"),
            ("function", "audit"),
            ("function", "m"),
            ("event", "get"),
            ("event", "get.done"),
            ("event", "task.finished"),
            ("event", "start"),
        ] {
            assert!(
                svg.contains(&format!("<g class=\"node {kind}\" data-node=\"{name}\"")),
                "{name}: {svg}"
            );
        }
    }
}
