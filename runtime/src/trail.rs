//! One workflow run's events in time order, as `eventdriven trail` shows them: each with its
//! task (state), detail type, the function that emitted it and the gap from the previous one,
//! and the architecture the events reveal (event → function → event).

use std::collections::BTreeSet;

use anyhow::{Context, Result};
use eventdriven_core::workflow::envelope::{Envelope, Hop};
use eventdriven_core::workflow::naming::trail_log_group_of;
use eventdriven_states::clock::parse_iso;
use serde::Serialize;
use serde_json::Value;

/// How `eventdriven trail` prints a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum TrailFormat {
    Text,
    Json,
    Html,
}

/// The trail log group a run's events are in, from its execution ARN
/// (`arn:aws:states:REGION:ACCOUNT:execution:MACHINE:NAME`).
pub fn log_group_of_execution(execution_arn: &str) -> Option<String> {
    let mut parts = execution_arn.split(':');
    let machine = parts.nth(6)?;
    (execution_arn.split(':').nth(5) == Some("execution")).then(|| trail_log_group_of(machine))
}

/// Every event the trail log group holds, as EventBridge wrote them.
pub async fn read_log_group(logs: &aws_sdk_cloudwatchlogs::Client, log_group: &str) -> Result<Vec<Value>> {
    let mut events = Vec::new();
    let mut pages = logs
        .filter_log_events()
        .log_group_name(log_group)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| {
            anyhow::anyhow!(
                "reading {log_group}: {}",
                aws_sdk_cloudwatchlogs::error::DisplayErrorContext(e)
            )
        })?;
        for event in page.events() {
            let message = event.message().unwrap_or_default();
            let parsed = serde_json::from_str(message)
                .with_context(|| format!("{log_group} holds a line that is not an event: {message}"))?;
            events.push(parsed);
        }
    }
    Ok(events)
}

/// Renders the run's trail in `format`.
pub fn render(trail: &[TrailEntry], execution: &str, format: TrailFormat) -> Result<String> {
    Ok(match format {
        TrailFormat::Text => render_text(trail),
        TrailFormat::Json => serde_json::to_string_pretty(trail)? + "\n",
        TrailFormat::Html => render_html(trail, execution),
    })
}

/// One event of a run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TrailEntry {
    pub time: String,
    /// Milliseconds since the previous event of the run; `None` for the first.
    pub gap_ms: Option<i64>,
    pub detail_type: String,
    /// The task the event belongs to.
    pub state: String,
    /// The function (or state machine) that emitted it.
    pub emitted_by: String,
    /// The event's hops so far, the last one being this event.
    pub hops: Vec<Hop>,
}

/// The events of the run `execution` (its ARN, or its name) among `events` (EventBridge events
/// as targets receive them), in time order; events at the same time follow their hop chains.
pub fn trail_of(events: &[Value], execution: &str) -> Vec<TrailEntry> {
    let mut found: Vec<(i128, TrailEntry)> = events
        .iter()
        .filter_map(|event| {
            let envelope: Envelope = serde_json::from_value(event["detail"].clone()).ok()?;
            let ours =
                envelope.execution_id == execution || envelope.execution_id.rsplit(':').next() == Some(execution);
            if !ours {
                return None;
            }
            let time = event["time"].as_str().unwrap_or_default().to_owned();
            let at = parse_iso(&time).map_or(0, |t| t.unix_timestamp_nanos() / 1_000_000);
            let entry = TrailEntry {
                time,
                gap_ms: None,
                detail_type: event["detail-type"].as_str().unwrap_or_default().to_owned(),
                state: envelope.state,
                emitted_by: envelope.meta.last().map(|hop| hop.function.clone()).unwrap_or_default(),
                hops: envelope.meta,
            };
            Some((at, entry))
        })
        .collect();
    found.sort_by_key(|(at, entry)| (*at, entry.hops.len()));
    let mut previous: Option<i128> = None;
    found
        .into_iter()
        .map(|(at, mut entry)| {
            entry.gap_ms = previous.map(|p| (at - p) as i64);
            previous = Some(at);
            entry
        })
        .collect()
}

/// The edges the events reveal: a function emits a detail type, and a detail type reaches the
/// function that emitted the next hop.
pub fn architecture(trail: &[TrailEntry]) -> BTreeSet<(String, String)> {
    let mut edges = BTreeSet::new();
    for entry in trail {
        edges.insert((entry.emitted_by.clone(), entry.detail_type.clone()));
        if let [.., before, last] = entry.hops.as_slice() {
            edges.insert((before.detail_type.clone(), last.function.clone()));
        }
    }
    edges
}

pub fn render_text(trail: &[TrailEntry]) -> String {
    let mut text = String::new();
    for entry in trail {
        let gap = entry
            .gap_ms
            .map_or_else(|| "start".to_owned(), |ms| format!("+{ms} ms"));
        text.push_str(&format!(
            "{}  {gap:>10}  {:<20} {:<28} from {}\n",
            entry.time, entry.state, entry.detail_type, entry.emitted_by
        ));
    }
    text
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// One self-contained page: the timeline, and the architecture as a list of edges.
pub fn render_html(trail: &[TrailEntry], execution: &str) -> String {
    let mut rows = String::new();
    for entry in trail {
        rows.push_str(&format!(
            "<tr class=\"event\" data-detail-type=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            escape(&entry.detail_type),
            escape(&entry.time),
            entry.gap_ms.map_or_else(String::new, |ms| format!("+{ms} ms")),
            escape(&entry.state),
            escape(&entry.detail_type),
            escape(&entry.emitted_by),
        ));
    }
    let edges: String = architecture(trail)
        .iter()
        .map(|(from, to)| format!("<li class=\"edge\">{} → {}</li>\n", escape(from), escape(to)))
        .collect();
    format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Trail of {title}</title>\
<style>body{{font-family:sans-serif}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:2px 6px}}</style>\
</head><body>\n<h1>Trail of {title}</h1>\n<h2>Timeline ({count} events)</h2>\n\
<table><tr><th>time</th><th>gap</th><th>task</th><th>detail type</th><th>emitted by</th></tr>\n{rows}</table>\n\
<h2>Architecture</h2>\n<ul>\n{edges}</ul>\n</body></html>\n",
        title = escape(execution),
        count = trail.len(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(time: &str, detail_type: &str, execution: &str, hops: &[(&str, &str)]) -> Value {
        let meta: Vec<Value> = hops
            .iter()
            .map(|(detail_type, function)| json!({ "source": "s", "detailType": detail_type, "function": function }))
            .collect();
        json!({
            "time": time,
            "detail-type": detail_type,
            "detail": { "taskToken": "t", "executionId": execution, "state": "ProcessMultiple", "input": null, "meta": meta },
        })
    }

    fn run() -> Vec<Value> {
        let arn = "arn:aws:states:r:1:execution:m:run-1";
        vec![
            event(
                "2026-11-23T10:00:01.500Z",
                "process.single.post",
                arn,
                &[("process.single", "m"), ("process.single.post", "process-single")],
            ),
            event(
                "2026-11-23T10:00:00.000Z",
                "process.single",
                arn,
                &[("process.single", "m")],
            ),
            event(
                "2026-11-23T10:00:01.500Z",
                "task.finished",
                arn,
                &[
                    ("process.single", "m"),
                    ("process.single.post", "process-single"),
                    ("task.finished", "post-process-single"),
                ],
            ),
            event(
                "2026-11-23T10:00:00.000Z",
                "process.single",
                "arn:aws:states:r:1:execution:m:other",
                &[("process.single", "m")],
            ),
            json!({ "time": "2026-11-23T10:00:00Z", "detail-type": "start", "detail": { "who": "someone" } }),
        ]
    }

    #[test]
    fn the_trail_holds_the_runs_events_in_order_with_gaps() {
        let trail = trail_of(&run(), "run-1");
        let kinds: Vec<&str> = trail.iter().map(|e| e.detail_type.as_str()).collect();
        assert_eq!(kinds, ["process.single", "process.single.post", "task.finished"]);
        let gaps: Vec<Option<i64>> = trail.iter().map(|e| e.gap_ms).collect();
        assert_eq!(gaps, [None, Some(1500), Some(0)]);
        assert_eq!(trail[2].emitted_by, "post-process-single");
        assert_eq!(trail_of(&run(), "arn:aws:states:r:1:execution:m:run-1"), trail);
    }

    #[test]
    fn the_log_group_is_found_from_the_execution() {
        assert_eq!(
            log_group_of_execution("arn:aws:states:us-east-1:1:execution:eventdriven-cookie-report:run-1").as_deref(),
            Some("/aws/events/eventdriven-cookie-report")
        );
        assert_eq!(log_group_of_execution("run-1"), None);
    }

    #[test]
    fn the_architecture_links_events_and_functions() {
        let edges = architecture(&trail_of(&run(), "run-1"));
        let expected: BTreeSet<(String, String)> = [
            ("m", "process.single"),
            ("process-single", "process.single.post"),
            ("process.single", "process-single"),
            ("post-process-single", "task.finished"),
            ("process.single.post", "post-process-single"),
        ]
        .into_iter()
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
        .collect();
        assert_eq!(edges, expected);
    }

    #[test]
    fn the_page_holds_every_event_and_escapes_names() {
        let mut events = run();
        events[0]["detail-type"] = json!("<script>");
        let trail = trail_of(&events, "run-1");
        let page = render_html(&trail, "run-1");
        assert_eq!(page.matches("<tr class=\"event\"").count(), trail.len());
        assert!(!page.contains("<script>"));
        assert!(page.contains("data-detail-type=\"&lt;script&gt;\""));
        assert!(render_text(&trail).lines().count() == 3);
    }
}
