//! The pages as HTML: the runs, and a run (its graph, failure, Map items, chunk progress and,
//! for a workflow, its timeline and architecture). The same functions make the live pages, whose
//! content the server sends again as it changes, and the self-contained files of
//! `execution --format html` and `trail --format html`: stylesheet inline, no script, nothing
//! loaded from a network.

use std::fmt::Write;

use super::html::escape;
use super::machine_graph::{Statuses, machine_svg};
use super::model::{RunKind, RunView, StateStatus};
use super::timeline::{Listener, Seen, architecture_edges, architecture_svg, timeline_svg};
use crate::trail::{EntryKind, TrailEntry};

const STYLE: &str = include_str!("assets/ui.css");
const LIVE_SCRIPT: &str = include_str!("assets/live.js");

/// Whether a page keeps itself current, and from where.
#[derive(Clone, Copy, Debug)]
pub enum Mode<'a> {
    /// Served: its content follows the server-sent events at this address.
    Live { events: &'a str },
    /// A file: as it was when written.
    Static,
}

/// A whole document around `content`.
pub fn document(title: &str, subtitle: &str, content: &str, mode: Mode) -> String {
    let (home, events, script) = match mode {
        Mode::Live { events } => (
            "<a href=\"/\">eventdriven</a>",
            format!(" data-events=\"{}\"", escape(events)),
            format!("<script>{LIVE_SCRIPT}</script>\n"),
        ),
        Mode::Static => ("<strong>eventdriven</strong>", String::new(), String::new()),
    };
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
<title>{title} · eventdriven</title>\n<link rel=\"icon\" href=\"data:,\">\n<style>\n{STYLE}</style>\n</head>\n<body>\n\
<header>{home}<span class=\"where\">{subtitle}</span></header>\n\
<main id=\"content\"{events}>\n{content}</main>\n{script}</body>\n</html>\n",
        title = escape(title),
        subtitle = escape(subtitle),
    )
}

fn status_badge(status: &str, id: Option<&str>) -> String {
    let class = status.to_ascii_lowercase().replace('_', "-");
    let id = id.map_or_else(String::new, |id| format!(" id=\"{id}\""));
    format!(
        "<span class=\"status {class}\"{id} data-status=\"{}\">{}</span>",
        escape(status),
        escape(status)
    )
}

fn seconds_text(seconds: Option<f64>) -> String {
    seconds.map_or_else(|| "–".to_owned(), |s| format!("{s:.1} s"))
}

fn count_text(count: Option<u64>) -> String {
    count.map_or_else(|| "–".to_owned(), |n| n.to_string())
}

/// The runs, newest first: one row each, with a batch run's chunks and rows.
pub fn runs_content(runs: &[RunView], now: &str) -> String {
    let mut rows = String::new();
    for run in runs {
        let info = &run.info;
        let seconds = info.seconds(now);
        let progress = run.progress.filter(|_| info.kind() == RunKind::Batch);
        let chunks = progress.map_or_else(
            || "–".to_owned(),
            |p| format!("{} of {}", p.chunks_done, p.chunks_total),
        );
        let rate = progress
            .and_then(|p| p.rows_per_second(seconds.unwrap_or(0.0)))
            .map_or_else(|| "–".to_owned(), |r| format!("{r:.0}"));
        let _ = writeln!(
            rows,
            "<tr class=\"run\" data-run=\"{key}\"><td><a href=\"/runs/{key}\">{name}</a></td><td>{machine}</td>\
<td>{status}</td><td>{start}</td><td class=\"number\">{duration}</td><td class=\"number chunks\">{chunks}</td>\
<td class=\"number\">{rows_in}</td><td class=\"number\">{rows_out}</td><td class=\"number\">{rejected}</td>\
<td class=\"number\">{rate}</td></tr>",
            key = escape(&info.key),
            name = escape(&info.name),
            machine = escape(&info.machine),
            status = status_badge(&info.status, None),
            start = escape(&info.start_date),
            duration = seconds_text(seconds),
            rows_in = count_text(progress.and_then(|p| p.rows_in)),
            rows_out = count_text(progress.and_then(|p| p.rows_out)),
            rejected = count_text(progress.and_then(|p| p.rejected)),
        );
    }
    if runs.is_empty() {
        rows.push_str("<tr><td colspan=\"10\">No runs yet.</td></tr>\n");
    }
    format!(
        "<h1>Runs</h1>\n<div class=\"scroll\"><table id=\"runs\">\n<thead><tr><th>run</th><th>state machine</th>\
<th>status</th><th>started</th><th class=\"number\">duration</th><th class=\"number\">chunks</th>\
<th class=\"number\">rows in</th><th class=\"number\">rows out</th><th class=\"number\">rejected</th>\
<th class=\"number\">rows/s</th></tr></thead>\n<tbody>\n{rows}</tbody>\n</table></div>\n"
    )
}

/// One run: what it is, how far it got, where it failed, its graph; a workflow's trail drawn,
/// its architecture with the workflow's `listeners` as deployed.
pub fn run_content(view: &RunView, trail: Option<&[TrailEntry]>, listeners: &[Listener], now: &str) -> String {
    let info = &view.info;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "<h1>{} {}</h1>",
        escape(&info.name),
        status_badge(&info.status, Some("run-status"))
    );
    let seconds = info.seconds(now);
    let _ = write!(
        out,
        "<dl class=\"facts\"><dt>state machine</dt><dd>{}</dd><dt>execution</dt><dd>{}</dd>\
<dt>started</dt><dd>{}</dd><dt>stopped</dt><dd>{}</dd><dt>duration</dt><dd>{}</dd>",
        escape(&info.machine),
        escape(&info.execution_arn),
        escape(&info.start_date),
        escape(info.stop_date.as_deref().unwrap_or("–")),
        seconds_text(seconds),
    );
    if let Some(progress) = view.progress.filter(|_| info.kind() == RunKind::Batch) {
        let _ = write!(
            out,
            "<dt>chunks</dt><dd><span id=\"chunks\" data-done=\"{done}\" data-total=\"{total}\">{done} of {total}</span> \
<progress max=\"{max}\" value=\"{done}\">{done} of {total}</progress></dd>\
<dt>rows</dt><dd>{} in, {} out, {} rejected</dd><dt>rows/s</dt><dd>{}</dd>",
            count_text(progress.rows_in),
            count_text(progress.rows_out),
            count_text(progress.rejected),
            progress
                .rows_per_second(seconds.unwrap_or(0.0))
                .map_or_else(|| "–".to_owned(), |r| format!("{r:.0}")),
            done = progress.chunks_done,
            total = progress.chunks_total,
            max = progress.chunks_total.max(1),
        );
    }
    out.push_str("</dl>\n");
    if let Some(failure) = &view.failure {
        let _ = writeln!(
            out,
            "<section class=\"failure\" id=\"failure\"><h2>Failed{}</h2><p class=\"error\">{}</p>\
<pre class=\"cause\">{}</pre></section>",
            failure.state.as_ref().map_or_else(String::new, |state| format!(
                " in <span class=\"failed-state\">{}</span>",
                escape(state)
            )),
            escape(&failure.error),
            escape(&failure.cause),
        );
    }
    let statuses = Statuses {
        states: &view.states,
        maps: &view.maps,
    };
    let _ = writeln!(
        out,
        "<h2>State machine</h2>\n<div class=\"scroll\">{}</div>",
        machine_svg(&info.definition, &statuses)
    );
    for map in &view.maps {
        let _ = writeln!(
            out,
            "<h2>{} items</h2>\n<p class=\"map-items\" data-map=\"{}\">{} done, {} running, {} failed of {}</p>",
            escape(&map.state),
            escape(&map.state),
            map.done,
            map.running,
            map.failed,
            map.total.map_or_else(|| "?".to_owned(), |t| t.to_string()),
        );
        if !map.slowest.is_empty() {
            out.push_str("<table class=\"slowest\"><thead><tr><th>slowest items</th><th class=\"number\">index</th><th class=\"number\">time</th><th>status</th></tr></thead><tbody>\n");
            for item in &map.slowest {
                let _ = writeln!(
                    out,
                    "<tr><td>{}</td><td class=\"number\">{}</td><td class=\"number\">{:.2} s</td><td>{}</td></tr>",
                    escape(&item.label),
                    item.index,
                    item.seconds,
                    if item.running { "running" } else { "ended" },
                );
            }
            out.push_str("</tbody></table>\n");
        }
    }
    let errors: Vec<(&String, &(String, String), StateStatus)> = view
        .states
        .iter()
        .filter_map(|(name, run)| run.error.as_ref().map(|e| (name, e, run.status)))
        .collect();
    if !errors.is_empty() {
        out.push_str("<h2>State errors</h2>\n<table class=\"errors\"><thead><tr><th>state</th><th>status</th><th>last error</th><th>cause</th></tr></thead><tbody>\n");
        for (name, (error, cause), status) in errors {
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(name),
                status.name(),
                escape(error),
                escape(cause.lines().next().unwrap_or_default()),
            );
        }
        out.push_str("</tbody></table>\n");
    }
    if let Some(trail) = trail {
        out.push_str(&trail_content(trail, listeners));
    }
    out
}

/// A workflow run's timeline and architecture; the architecture has every one of `listeners`
/// subscribed to a detail type of the run, those the run's events do not show dashed.
pub fn trail_content(trail: &[TrailEntry], listeners: &[Listener]) -> String {
    let hops = trail.iter().filter(|e| e.kind == EntryKind::Event).count();
    let edges = architecture_edges(trail, listeners);
    let legend = match (
        edges.iter().any(|e| e.seen == Seen::Silent),
        edges.iter().any(|e| e.seen == Seen::Subscribed),
    ) {
        (false, false) => "",
        (true, _) => {
            "<p class=\"legend\">Dashed: a listener's rule sends it these events, but no event of this run \
shows one reaching it; a dashed function emitted nothing in this run.</p>\n"
        }
        (false, true) => {
            "<p class=\"legend\">Dashed: a listener's rule sends it these events, but no event of this run \
shows one reaching it.</p>\n"
        }
    };
    format!(
        "<h2>Timeline ({hops} hops)</h2>\n<div class=\"scroll\">{}</div>\n<h2>Architecture</h2>\n<div class=\"scroll\">{}</div>\n{legend}",
        timeline_svg(trail),
        architecture_svg(trail, listeners)
    )
}

/// `trail --format html`: the run's timeline and architecture (as its events reveal it: no
/// listener's rule is read), and its events as a table.
pub fn trail_document(trail: &[TrailEntry], execution: &str, listeners: &[Listener]) -> String {
    let mut rows = String::new();
    for entry in trail {
        let (class, what) = match entry.kind {
            EntryKind::End => (
                "end",
                format!(
                    "execution {}{}",
                    entry.detail_type,
                    entry.error.as_ref().map_or_else(String::new, |e| format!(" ({e})"))
                ),
            ),
            EntryKind::Start => ("start", entry.detail_type.clone()),
            EntryKind::Event => ("event", entry.detail_type.clone()),
        };
        let _ = writeln!(
            rows,
            "<tr class=\"{class}\" data-detail-type=\"{}\"><td>{}</td><td class=\"number\">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&entry.detail_type),
            escape(&entry.time),
            entry.gap_ms.map_or_else(String::new, |ms| format!("{ms:+} ms")),
            escape(&entry.state),
            escape(&what),
            escape(&entry.emitted_by),
        );
    }
    let events = trail.iter().filter(|e| e.kind != EntryKind::End).count();
    let content = format!(
        "<h1>Trail of {}</h1>\n{}<h2>Events ({events})</h2>\n<table class=\"trail\"><thead><tr><th>time</th>\
<th class=\"number\">gap</th><th>task</th><th>detail type</th><th>emitted by</th></tr></thead><tbody>\n{rows}</tbody></table>\n",
        escape(execution),
        trail_content(trail, listeners),
    );
    document(&format!("Trail of {execution}"), "trail", &content, Mode::Static)
}
