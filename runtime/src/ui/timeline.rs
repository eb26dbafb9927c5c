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

/// A listener as deployed: the function its rule invokes and the detail types the rule matches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listener {
    pub function: String,
    pub detail_types: Vec<String>,
}

/// What tells an edge of the architecture.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Seen {
    /// An event of the run.
    InRun,
    /// Only a listener's rule: the run's events show no event of this type reaching the
    /// function, though the function emitted others.
    Subscribed,
    /// Only a listener's rule, and the function emitted nothing in this run.
    Silent,
}

/// One edge of the architecture: detail type to function, or function to detail type.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Edge {
    pub from: String,
    pub to: String,
    pub seen: Seen,
}

/// The detail types the run's events have, and the functions (and sources) that emitted them.
fn run_types_and_emitters(trail: &[TrailEntry]) -> (BTreeSet<&str>, BTreeSet<&str>) {
    let events = trail.iter().filter(|e| e.kind != EntryKind::End);
    let types = events
        .clone()
        .map(|e| e.detail_type.as_str())
        .chain(trail.iter().flat_map(|e| e.hops.iter().map(|h| h.detail_type.as_str())))
        .collect();
    let emitters = events
        .map(|e| e.emitted_by.as_str())
        .chain(trail.iter().flat_map(|e| e.hops.iter().map(|h| h.function.as_str())))
        .collect();
    (types, emitters)
}

/// The architecture: the edges the run's events reveal (event → function → event), then an edge
/// from each detail type of the run to each listener subscribed to it that the events do not
/// show, told apart by whether the function emitted anything in this run.
pub fn architecture_edges(trail: &[TrailEntry], listeners: &[Listener]) -> Vec<Edge> {
    let revealed = architecture(trail);
    let (types, emitters) = run_types_and_emitters(trail);
    let mut subscribed = BTreeSet::new();
    for listener in listeners {
        let seen = match emitters.contains(listener.function.as_str()) {
            true => Seen::Subscribed,
            false => Seen::Silent,
        };
        for detail_type in listener.detail_types.iter().filter(|t| types.contains(t.as_str())) {
            let pair = (detail_type.clone(), listener.function.clone());
            if !revealed.contains(&pair) {
                subscribed.insert(Edge {
                    from: pair.0,
                    to: pair.1,
                    seen,
                });
            }
        }
    }
    revealed
        .into_iter()
        .map(|(from, to)| Edge {
            from,
            to,
            seen: Seen::InRun,
        })
        .chain(subscribed)
        .collect()
}

/// The architecture as SVG: detail types and functions, an edge where a function emits a type
/// or a type reaches a function, and dashed, one where only a listener's rule says it would (a
/// function that emitted nothing in this run dashed as well).
pub fn architecture_svg(trail: &[TrailEntry], listeners: &[Listener]) -> String {
    let edges = architecture_edges(trail, listeners);
    let (event_types, _) = run_types_and_emitters(trail);
    let silent: BTreeSet<&str> = edges
        .iter()
        .filter(|e| e.seen == Seen::Silent)
        .map(|e| e.to.as_str())
        .collect();
    // Nodes in the order edges first name them: the start's source leads.
    let mut names: Vec<&str> = Vec::new();
    let start = trail
        .iter()
        .find(|e| e.kind == EntryKind::Start)
        .map(|e| e.emitted_by.as_str());
    names.extend(start);
    for edge in &edges {
        for name in [edge.from.as_str(), edge.to.as_str()] {
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
    let pairs: Vec<(usize, usize)> = edges.iter().map(|e| (index(&e.from), index(&e.to))).collect();
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
    for (edge, &(from, to)) in edges.iter().zip(&pairs) {
        let (class, title) = match edge.seen {
            Seen::InRun => ("edge", String::new()),
            Seen::Subscribed => (
                "edge subscribed",
                format!(
                    "{} subscribed to {}, which reached it in no event of this run",
                    edge.to, edge.from
                ),
            ),
            Seen::Silent => (
                "edge subscribed silent",
                format!("{} subscribed to {}, emitted nothing in this run", edge.to, edge.from),
            ),
        };
        let title = match title.is_empty() {
            true => title,
            false => format!("<title>{}</title>", escape(&title)),
        };
        let _ = write!(
            body,
            "<path class=\"{class}\" data-from=\"{}\" data-to=\"{}\" d=\"{}\" marker-end=\"url(#{MARKER})\">{title}</path>",
            escape(&edge.from),
            escape(&edge.to),
            edge_path(boxed(from), boxed(to))
        );
    }
    for (n, name) in names.iter().enumerate() {
        let (x, y, w, h) = boxed(n);
        let (kind, title) = if event_types.contains(name) {
            ("event", format!("event {name}"))
        } else if silent.contains(name) {
            (
                "function silent",
                format!("function {name}: subscribed, emitted nothing in this run"),
            )
        } else {
            ("function", format!("function {name}"))
        };
        let _ = write!(
            body,
            "<g class=\"node {kind}\" data-node=\"{}\" transform=\"translate({x:.1},{y:.1})\"><title>{}</title>\
<rect width=\"{w:.1}\" height=\"{h:.1}\" rx=\"{}\"/><text x=\"{:.1}\" y=\"19\">{}</text></g>",
            escape(name),
            escape(&title),
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
        let svg = architecture_svg(&trail(), &[]);
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

    fn listener(function: &str, detail_types: &[&str]) -> Listener {
        Listener {
            function: function.into(),
            detail_types: detail_types.iter().map(|t| t.to_string()).collect(),
        }
    }

    #[test]
    fn a_listener_that_emitted_nothing_joins_the_architecture_from_its_rule() {
        let listeners = [
            // Both seen in the run's events already.
            listener("getter", &["get"]),
            // Emitted in the run, but nothing shows `task.finished` reaching it.
            listener("audit", &["get", "task.finished"]),
            // Emitted nothing: one of its types is in the run, the other is not.
            listener("quiet", &["get.done", "never.put"]),
            // None of its types is in the run.
            listener("elsewhere", &["other"]),
        ];
        let edges = architecture_edges(&trail(), &listeners);
        let added: Vec<(&str, &str, Seen)> = edges
            .iter()
            .filter(|e| e.seen != Seen::InRun)
            .map(|e| (e.from.as_str(), e.to.as_str(), e.seen))
            .collect();
        assert_eq!(
            added,
            [
                ("get.done", "quiet", Seen::Silent),
                ("task.finished", "audit", Seen::Subscribed)
            ]
        );
        let in_run: BTreeSet<(String, String)> = edges
            .iter()
            .filter(|e| e.seen == Seen::InRun)
            .map(|e| (e.from.clone(), e.to.clone()))
            .collect();
        assert_eq!(in_run, architecture(&trail()), "the events' edges stay as they are");

        let svg = architecture_svg(&trail(), &listeners);
        assert!(
            svg.contains("<g class=\"node function silent\" data-node=\"quiet\""),
            "{svg}"
        );
        assert!(svg.contains("<g class=\"node function\" data-node=\"audit\""), "{svg}");
        assert_eq!(
            svg.matches("<path class=\"edge subscribed silent\" data-from=\"get.done\" data-to=\"quiet\"")
                .count(),
            1
        );
        assert_eq!(
            svg.matches("<path class=\"edge subscribed\" data-from=\"task.finished\" data-to=\"audit\"")
                .count(),
            1
        );
        assert_eq!(
            svg.matches("<path class=\"edge\"").count(),
            architecture(&trail()).len()
        );
        for absent in ["never.put", "elsewhere", "other"] {
            assert!(!svg.contains(absent), "{absent}: {svg}");
        }
    }
}
