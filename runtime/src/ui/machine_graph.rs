//! The state machine's graph as SVG, drawn from its definition: every state, nested ones inside
//! their Map or Parallel, each coloured by its status in the run (the pages' CSS gives each
//! status class its colour), with the transitions Next, Default, Choices and Catch.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde_json::Value;

use super::graph::{Size, arrow_marker, edge_path, layout, text_width};
use super::html::escape;
use super::model::{MapItems, StateRun, StateStatus, nested_machines};

const FONT: f64 = 13.0;
const LEAF_HEIGHT: f64 = 46.0;
const MIN_WIDTH: f64 = 140.0;
/// Room above a container's nested machines, for its name and status.
const HEADER: f64 = 46.0;
const PAD: f64 = 14.0;
const MARGIN: f64 = 12.0;
const MARKER: &str = "machine-arrow";

/// What a state shows besides its name.
pub struct Statuses<'a> {
    pub states: &'a BTreeMap<String, StateRun>,
    pub maps: &'a [MapItems],
}

/// The definition drawn, statuses filled in.
pub fn machine_svg(definition: &Value, statuses: &Statuses) -> String {
    let drawing = draw_machine(definition, statuses);
    let (width, height) = (drawing.width + 2.0 * MARGIN, drawing.height + 2.0 * MARGIN);
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"graph machine\" width=\"{width:.0}\" height=\"{height:.0}\" \
viewBox=\"0 0 {width:.0} {height:.0}\" role=\"img\" aria-label=\"State machine\"><defs>{}</defs>\
<g transform=\"translate({MARGIN},{MARGIN})\">{}</g></svg>",
        arrow_marker(MARKER),
        drawing.body
    )
}

/// SVG elements drawn from (0, 0), and their extent.
struct Drawing {
    body: String,
    width: f64,
    height: f64,
}

/// A machine's states in the order they are met from its StartAt, then any others.
fn ordered_states(machine: &Value) -> Vec<(&str, &Value)> {
    let Some(states) = machine["States"].as_object() else {
        return Vec::new();
    };
    let mut order: Vec<&str> = Vec::new();
    let mut queue: Vec<&str> = machine["StartAt"].as_str().into_iter().collect();
    while !queue.is_empty() {
        let name = queue.remove(0);
        if order.contains(&name) || !states.contains_key(name) {
            continue;
        }
        order.push(name);
        queue.extend(transitions(&states[name]));
    }
    for name in states.keys() {
        if !order.contains(&name.as_str()) {
            order.push(name);
        }
    }
    order.into_iter().map(|name| (name, &states[name])).collect()
}

/// The states a state may go to next.
fn transitions(state: &Value) -> Vec<&str> {
    let mut next: Vec<&str> = ["Next", "Default"].iter().filter_map(|f| state[*f].as_str()).collect();
    for list in ["Choices", "Catch"] {
        if let Some(rules) = state[list].as_array() {
            next.extend(rules.iter().filter_map(|rule| rule["Next"].as_str()));
        }
    }
    next
}

fn draw_machine(machine: &Value, statuses: &Statuses) -> Drawing {
    let states = ordered_states(machine);
    let drawn: Vec<(String, Size)> = states
        .iter()
        .map(|(name, state)| draw_state(name, state, statuses))
        .collect();
    let sizes: Vec<Size> = drawn.iter().map(|(_, size)| *size).collect();
    let index = |target: &str| states.iter().position(|(name, _)| *name == target);
    let edges: Vec<(usize, usize)> = states
        .iter()
        .enumerate()
        .flat_map(|(from, (_, state))| {
            transitions(state)
                .into_iter()
                .filter_map(move |to| index(to).map(|to| (from, to)))
                .collect::<Vec<_>>()
        })
        .collect();
    let placed = layout(&sizes, &edges);
    let boxed = |n: usize| {
        let (x, y) = placed.positions[n];
        (x, y, sizes[n].width, sizes[n].height)
    };
    let mut body = String::new();
    for &(from, to) in &edges {
        let _ = write!(
            body,
            "<path class=\"edge\" d=\"{}\" marker-end=\"url(#{MARKER})\"/>",
            edge_path(boxed(from), boxed(to))
        );
    }
    for (n, (element, _)) in drawn.iter().enumerate() {
        let (x, y) = placed.positions[n];
        let _ = write!(body, "<g transform=\"translate({x:.1},{y:.1})\">{element}</g>");
    }
    Drawing {
        body,
        width: placed.width,
        height: placed.height,
    }
}

/// One state: a box with its name and status, its nested machines inside.
fn draw_state(name: &str, state: &Value, statuses: &Statuses) -> (String, Size) {
    let run = statuses.states.get(name);
    let status = run.map_or(StateStatus::NotRun, |r| r.status);
    let kind = state["Type"].as_str().unwrap_or_default();
    let label = status_label(name, status, run, statuses.maps);
    let text_room = text_width(name, FONT).max(text_width(&label, FONT - 2.0)) + 2.0 * PAD;
    let nested: Vec<Drawing> = nested_machines(state)
        .into_iter()
        .map(|machine| draw_machine(machine, statuses))
        .collect();
    let inner_width: f64 = nested.iter().map(|d| d.width).sum::<f64>() + PAD * nested.len().saturating_sub(1) as f64;
    let inner_height = nested.iter().map(|d| d.height).fold(0.0, f64::max);
    let size = if nested.is_empty() {
        Size {
            width: text_room.max(MIN_WIDTH),
            height: LEAF_HEIGHT,
        }
    } else {
        Size {
            width: text_room.max(MIN_WIDTH).max(inner_width + 2.0 * PAD),
            height: HEADER + inner_height + PAD,
        }
    };
    let mut element = format!(
        "<g class=\"state {} {}\" data-state=\"{}\" data-status=\"{}\"><title>{}</title>\
<rect width=\"{:.1}\" height=\"{:.1}\" rx=\"6\"/>\
<text class=\"name\" x=\"{:.1}\" y=\"19\">{}</text><text class=\"status\" x=\"{:.1}\" y=\"36\">{}</text>",
        status.class(),
        kind.to_ascii_lowercase(),
        escape(name),
        status.name(),
        escape(&tooltip(name, kind, status, run)),
        size.width,
        size.height,
        size.width / 2.0,
        escape(name),
        size.width / 2.0,
        escape(&label),
    );
    let mut x = (size.width - inner_width) / 2.0;
    for drawing in nested {
        let _ = write!(
            element,
            "<g class=\"nested\" transform=\"translate({x:.1},{HEADER})\">{}</g>",
            drawing.body
        );
        x += drawing.width + PAD;
    }
    element.push_str("</g>");
    (element, size)
}

/// The status line: the status, a Map's items done of its total, how often it ran.
fn status_label(name: &str, status: StateStatus, run: Option<&StateRun>, maps: &[MapItems]) -> String {
    if let Some(map) = maps.iter().find(|m| m.state == name) {
        let total = map.total.map_or_else(|| "?".to_owned(), |t| t.to_string());
        return format!("{} · {} of {total} items", status.name(), map.done);
    }
    match run {
        Some(run) if run.entered > 1 => format!("{} · ×{}", status.name(), run.entered),
        _ => status.name().to_owned(),
    }
}

fn tooltip(name: &str, kind: &str, status: StateStatus, run: Option<&StateRun>) -> String {
    let mut text = format!("{name} ({kind}): {}", status.name());
    if let Some((error, cause)) = run.and_then(|r| r.error.as_ref()) {
        let _ = write!(text, "\n{error}: {}", cause.lines().next().unwrap_or_default());
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(status: StateStatus) -> StateRun {
        StateRun {
            status,
            entered: 1,
            error: None,
        }
    }

    #[test]
    fn every_state_is_drawn_with_its_status_nested_ones_inside_their_map() {
        let definition = json!({
            "StartAt": "Split",
            "States": {
                "Split": {"Type": "Task", "Resource": "r", "Next": "Chunks"},
                "Chunks": {"Type": "Map", "Next": "Done", "ItemProcessor": {
                    "StartAt": "ProcessChunk",
                    "States": {"ProcessChunk": {"Type": "Task", "Resource": "r", "End": true}}
                }},
                "Done": {"Type": "Succeed"},
                "Never": {"Type": "Fail", "Error": "E"}
            }
        });
        let states = BTreeMap::from([
            ("Split".to_owned(), run(StateStatus::Succeeded)),
            ("Chunks".to_owned(), run(StateStatus::Running)),
            ("ProcessChunk".to_owned(), run(StateStatus::Failed)),
        ]);
        let maps = [MapItems {
            state: "Chunks".into(),
            total: Some(4),
            done: 3,
            running: 1,
            failed: 0,
            slowest: Vec::new(),
        }];
        let svg = machine_svg(
            &definition,
            &Statuses {
                states: &states,
                maps: &maps,
            },
        );
        for (name, status) in [
            ("Split", "SUCCEEDED"),
            ("Chunks", "RUNNING"),
            ("ProcessChunk", "FAILED"),
            ("Done", "NOT_RUN"),
            ("Never", "NOT_RUN"),
        ] {
            assert!(
                svg.contains(&format!("data-state=\"{name}\" data-status=\"{status}\"")),
                "{name}: {svg}"
            );
        }
        assert!(svg.contains("3 of 4 items"));
        // The processor's state is drawn inside the Map's group.
        let map_at = svg.find("data-state=\"Chunks\"").unwrap();
        let inner_at = svg.find("data-state=\"ProcessChunk\"").unwrap();
        let done_at = svg.find("data-state=\"Done\"").unwrap();
        assert!(map_at < inner_at && inner_at < done_at);
        // Split -> Chunks -> Done: two edges.
        assert_eq!(svg.matches("class=\"edge\"").count(), 2);
    }

    #[test]
    fn names_are_escaped() {
        let definition = json!({"StartAt": "<b>", "States": {"<b>": {"Type": "Pass", "End": true}}});
        let svg = machine_svg(
            &definition,
            &Statuses {
                states: &BTreeMap::new(),
                maps: &[],
            },
        );
        assert!(svg.contains("data-state=\"&lt;b&gt;\"") && !svg.contains("<b>"));
    }
}
