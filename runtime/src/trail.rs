//! One workflow run's events in time order, as `eventdriven trail` shows them: the start event,
//! then each event with its task (state), detail type, the function that emitted it and the gap
//! from the previous one, then how the execution ended; and the architecture the events reveal
//! (event → function → event).
//!
//! An event's time is its own hop's (stamped in milliseconds by whoever put it), else
//! EventBridge's (whole seconds). Only the run's events are read: those naming its execution,
//! from its start to its stop, and around its start the one that started it.

use std::collections::BTreeSet;

use anyhow::{Context, Result};
use eventdriven_core::workflow::envelope::{EXECUTION_ID, Envelope, Hop};
use eventdriven_core::workflow::naming::trail_log_group_of;
use eventdriven_states::clock::parse_iso;
use serde::Serialize;
use serde_json::Value;

/// How far from the execution's start its start event is looked for.
const START_MARGIN_MS: i64 = 5_000;
/// How long after the execution's stop its events are read: side effects outlive the run, for at
/// most the longest a function runs (15 minutes), and their outcomes follow.
const END_MARGIN_MS: i64 = 15 * 60_000 + START_MARGIN_MS;

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

/// What the trail needs to know of the run's execution besides its events.
#[derive(Clone, Debug, PartialEq)]
pub struct RunFacts {
    pub execution_arn: String,
    /// The execution's input: the detail of the event that started it.
    pub input: Value,
    /// RFC 3339.
    pub start_date: String,
    pub stop_date: Option<String>,
    /// `RUNNING`, `SUCCEEDED`, `FAILED`, …
    pub status: String,
    pub error: Option<String>,
    pub cause: Option<String>,
    /// When `local-cloud` took the execution over from the emulator: the emulator's own copy,
    /// stopped then, emitted its events (its first task's, with its own token) before.
    pub taken_over: Option<String>,
}

/// The execution as Step Functions describes it.
pub async fn describe(sfn: &aws_sdk_sfn::Client, execution_arn: &str) -> Result<RunFacts> {
    let described = sfn
        .describe_execution()
        .execution_arn(execution_arn)
        .send()
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "describing {execution_arn}: {}",
                aws_sdk_sfn::error::DisplayErrorContext(e)
            )
        })?;
    let input = described
        .input()
        .map(serde_json::from_str)
        .transpose()
        .context("the execution's input is not JSON")?
        .unwrap_or(Value::Null);
    Ok(RunFacts {
        execution_arn: execution_arn.to_owned(),
        input,
        start_date: iso(described.start_date()),
        stop_date: described.stop_date().map(iso),
        status: described.status().as_str().to_owned(),
        error: described.error().map(str::to_owned),
        cause: described.cause().map(str::to_owned),
        taken_over: None,
    })
}

fn iso(at: &aws_sdk_sfn::primitives::DateTime) -> String {
    at.to_millis()
        .ok()
        .and_then(chrono::DateTime::from_timestamp_millis)
        .map(|at| at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

/// The filter pattern that selects the run's events: those whose envelope names the execution.
pub fn execution_filter(execution_arn: &str) -> String {
    format!("{{ $.detail.{EXECUTION_ID} = \"{execution_arn}\" }}")
}

/// The run's events in `log_group`: those naming the execution, from just before its start to
/// well after its stop, and the events without an envelope around its start, where its start
/// event is.
pub async fn read_run(logs: &aws_sdk_cloudwatchlogs::Client, log_group: &str, run: &RunFacts) -> Result<Vec<Value>> {
    let start = millis(&run.start_date).with_context(|| format!("the execution's start {:?}", run.start_date))?;
    let stop = run.stop_date.as_deref().and_then(millis);
    let filter = execution_filter(&run.execution_arn);
    let mut events = read_log_group(
        logs,
        log_group,
        Some(&filter),
        start - START_MARGIN_MS,
        stop.map(|stop| stop + END_MARGIN_MS),
    )
    .await?;
    let around_start = read_log_group(
        logs,
        log_group,
        None,
        start - START_MARGIN_MS,
        Some(start + START_MARGIN_MS),
    )
    .await?;
    events.extend(
        around_start
            .into_iter()
            .filter(|event| event["detail"].get(EXECUTION_ID).is_none()),
    );
    Ok(events)
}

/// The events `log_group` holds between `start` and `end` (milliseconds since the epoch) that
/// `filter` selects, as EventBridge wrote them.
async fn read_log_group(
    logs: &aws_sdk_cloudwatchlogs::Client,
    log_group: &str,
    filter: Option<&str>,
    start: i64,
    end: Option<i64>,
) -> Result<Vec<Value>> {
    let mut events = Vec::new();
    let mut pages = logs
        .filter_log_events()
        .log_group_name(log_group)
        .set_filter_pattern(filter.map(str::to_owned))
        .start_time(start)
        .set_end_time(end)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| match e.as_service_error() {
            Some(missing) if missing.is_resource_not_found_exception() => anyhow::anyhow!(
                "{log_group} does not exist: the workflow keeps no trail (a `trail` block records its runs' events)"
            ),
            _ => anyhow::anyhow!(
                "reading {log_group}: {}",
                aws_sdk_cloudwatchlogs::error::DisplayErrorContext(e)
            ),
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
/// What a line of the trail is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EntryKind {
    /// The event that started the run: no envelope, its detail the run's input.
    Start,
    /// An event of the run.
    Event,
    /// How the execution ended (or that it still runs).
    End,
}

/// One line of a run's trail.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TrailEntry {
    pub kind: EntryKind,
    /// Empty for a run still running.
    pub time: String,
    /// Milliseconds since the previous line; `None` for the first.
    pub gap_ms: Option<i64>,
    /// The event's detail type; the execution's status for the end.
    pub detail_type: String,
    /// The task the event belongs to.
    pub state: String,
    /// The function (or state machine) that emitted it; the start event's source; the state
    /// machine for the end.
    pub emitted_by: String,
    /// The event's hops so far, the last one being this event.
    pub hops: Vec<Hop>,
    /// The execution's error and cause, for a failed end.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The task token the event carries: what tells a Map's items apart in the timeline; none
    /// for a side effect's events. Left out of the JSON, being long and opaque.
    #[serde(skip)]
    pub token: Option<String>,
}

/// Milliseconds since the epoch of an RFC 3339 time.
fn millis(time: &str) -> Option<i64> {
    parse_iso(time).map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64)
}

/// An event of a run, with the time it was put: its own hop's, else EventBridge's.
fn run_event(event: &Value) -> Option<(Envelope, TrailEntry)> {
    let envelope: Envelope = serde_json::from_value(event["detail"].clone()).ok()?;
    let time = envelope
        .meta
        .last()
        .and_then(|hop| hop.time.clone())
        .unwrap_or_else(|| event["time"].as_str().unwrap_or_default().to_owned());
    let entry = TrailEntry {
        kind: EntryKind::Event,
        time,
        gap_ms: None,
        detail_type: event["detail-type"].as_str().unwrap_or_default().to_owned(),
        state: envelope.state.clone(),
        emitted_by: envelope.meta.last().map(|hop| hop.function.clone()).unwrap_or_default(),
        hops: envelope.meta.clone(),
        error: None,
        token: envelope.task_token.clone(),
    };
    Some((envelope, entry))
}

fn is_execution(envelope: &Envelope, execution: &str) -> bool {
    envelope.execution_id == execution || envelope.execution_id.rsplit(':').next() == Some(execution)
}

/// The events of the run `execution` (its ARN, or its name) among `events` (EventBridge events
/// as targets receive them), in time order; events at the same time follow their hop chains.
pub fn trail_of(events: &[Value], execution: &str) -> Vec<TrailEntry> {
    let mut found: Vec<TrailEntry> = events
        .iter()
        .filter_map(run_event)
        .filter(|(envelope, _)| is_execution(envelope, execution))
        .map(|(_, entry)| entry)
        .collect();
    found.sort_by_key(|entry| (millis(&entry.time).unwrap_or(0), entry.hops.len()));
    with_gaps(found)
}

/// The whole trail of the run `run` describes: its start event, its events (without those of the
/// emulator's copy `local-cloud` took it over from), and how it ended.
pub fn run_trail(events: &[Value], run: &RunFacts) -> Vec<TrailEntry> {
    let taken_over = run.taken_over.as_deref().and_then(millis);
    let of_this_copy = |envelope: &Envelope| {
        // An event descends from the copy that emitted its first hop; without a time, it is kept.
        let first = envelope
            .meta
            .first()
            .and_then(|hop| hop.time.as_deref())
            .and_then(millis);
        match (taken_over, first) {
            (Some(taken_over), Some(first)) => first >= taken_over,
            _ => true,
        }
    };
    let mut entries: Vec<TrailEntry> = events
        .iter()
        .filter_map(run_event)
        .filter(|(envelope, _)| is_execution(envelope, &run.execution_arn) && of_this_copy(envelope))
        .map(|(_, entry)| entry)
        .collect();
    entries.sort_by_key(|entry| (millis(&entry.time).unwrap_or(0), entry.hops.len()));
    let mut trail: Vec<TrailEntry> = start_event(events, run).into_iter().collect();
    trail.extend(entries);
    trail.push(end_of(run));
    with_gaps(trail)
}

/// The event that started the run: no envelope, the run's input as its detail, the nearest to
/// the execution's start.
fn start_event(events: &[Value], run: &RunFacts) -> Option<TrailEntry> {
    let start = millis(&run.start_date)?;
    let event = events
        .iter()
        .filter(|event| event["detail"].get(EXECUTION_ID).is_none() && event["detail"] == run.input)
        .min_by_key(|event| {
            let at = event["time"].as_str().and_then(millis).unwrap_or(i64::MIN / 2);
            (at - start).abs()
        })?;
    let text = |field: &str| event[field].as_str().unwrap_or_default().to_owned();
    Some(TrailEntry {
        kind: EntryKind::Start,
        time: text("time"),
        gap_ms: None,
        detail_type: text("detail-type"),
        state: String::new(),
        emitted_by: text("source"),
        hops: Vec::new(),
        error: None,
        token: None,
    })
}

/// The execution's end: its status at its stop, emitted by its state machine.
fn end_of(run: &RunFacts) -> TrailEntry {
    let machine = run.execution_arn.split(':').nth(6).unwrap_or_default().to_owned();
    let error = match (&run.error, &run.cause) {
        (Some(error), Some(cause)) => Some(format!("{error}: {}", cause.lines().next().unwrap_or_default())),
        (Some(error), None) => Some(error.clone()),
        _ => None,
    };
    TrailEntry {
        kind: EntryKind::End,
        time: run.stop_date.clone().unwrap_or_default(),
        gap_ms: None,
        detail_type: run.status.clone(),
        state: String::new(),
        emitted_by: machine,
        hops: Vec::new(),
        error,
        token: None,
    }
}

/// Each line's gap from the previous line that has a time.
fn with_gaps(mut trail: Vec<TrailEntry>) -> Vec<TrailEntry> {
    let mut previous: Option<i64> = None;
    for entry in &mut trail {
        let Some(at) = millis(&entry.time) else { continue };
        entry.gap_ms = previous.map(|p| at - p);
        previous = Some(at);
    }
    trail
}

/// The edges the events reveal: a function emits a detail type, and a detail type reaches the
/// function that emitted the next hop; the start event reaches the state machine.
pub fn architecture(trail: &[TrailEntry]) -> BTreeSet<(String, String)> {
    let mut edges = BTreeSet::new();
    let machine = trail.iter().find(|e| e.kind == EntryKind::End).map(|e| &e.emitted_by);
    for entry in trail {
        match entry.kind {
            EntryKind::Start => {
                edges.insert((entry.emitted_by.clone(), entry.detail_type.clone()));
                if let Some(machine) = machine {
                    edges.insert((entry.detail_type.clone(), machine.clone()));
                }
            }
            EntryKind::Event => {
                edges.insert((entry.emitted_by.clone(), entry.detail_type.clone()));
                if let [.., before, last] = entry.hops.as_slice() {
                    edges.insert((before.detail_type.clone(), last.function.clone()));
                }
            }
            EntryKind::End => {}
        }
    }
    edges
}

fn gap_text(entry: &TrailEntry) -> String {
    match (entry.gap_ms, entry.kind) {
        (Some(ms), _) => format!("{ms:+} ms"),
        (None, EntryKind::End) => String::new(),
        (None, _) => "start".to_owned(),
    }
}

pub fn render_text(trail: &[TrailEntry]) -> String {
    let mut text = String::new();
    for entry in trail {
        let gap = gap_text(entry);
        let line = match entry.kind {
            EntryKind::End => format!(
                "{:<24}  {gap:>10}  execution {}{}",
                entry.time,
                entry.detail_type,
                entry.error.as_ref().map_or_else(String::new, |e| format!(" ({e})"))
            ),
            _ => format!(
                "{:<24}  {gap:>10}  {:<20} {:<28} from {}",
                entry.time, entry.state, entry.detail_type, entry.emitted_by
            ),
        };
        text.push_str(line.trim_end());
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ARN: &str = "arn:aws:states:r:1:execution:m:run-1";

    /// An event of `execution` whose hops are (detail type, function, own time).
    fn event(time: &str, detail_type: &str, execution: &str, hops: &[(&str, &str, Option<&str>)]) -> Value {
        let meta: Vec<Value> = hops
            .iter()
            .map(|(detail_type, function, time)| {
                let mut hop = json!({ "source": "s", "detailType": detail_type, "function": function });
                if let Some(time) = time {
                    hop["time"] = json!(time);
                }
                hop
            })
            .collect();
        json!({
            "time": time,
            "source": "s",
            "detail-type": detail_type,
            "detail": { "taskToken": "t", "executionId": execution, "state": "ProcessMultiple", "input": null, "meta": meta },
        })
    }

    fn run() -> Vec<Value> {
        vec![
            event(
                "2026-11-23T10:00:01.500Z",
                "process.single.post",
                ARN,
                &[
                    ("process.single", "m", None),
                    ("process.single.post", "process-single", None),
                ],
            ),
            event(
                "2026-11-23T10:00:00.000Z",
                "process.single",
                ARN,
                &[("process.single", "m", None)],
            ),
            event(
                "2026-11-23T10:00:01.500Z",
                "task.finished",
                ARN,
                &[
                    ("process.single", "m", None),
                    ("process.single.post", "process-single", None),
                    ("task.finished", "post-process-single", None),
                ],
            ),
            event(
                "2026-11-23T10:00:00.000Z",
                "process.single",
                "arn:aws:states:r:1:execution:m:other",
                &[("process.single", "m", None)],
            ),
            json!({ "time": "2026-11-23T10:00:00Z", "source": "s", "detail-type": "start", "detail": { "who": "someone" } }),
        ]
    }

    fn facts() -> RunFacts {
        RunFacts {
            execution_arn: ARN.into(),
            input: json!({ "who": "someone" }),
            start_date: "2026-11-23T10:00:00.250Z".into(),
            stop_date: Some("2026-11-23T10:00:02.000Z".into()),
            status: "SUCCEEDED".into(),
            error: None,
            cause: None,
            taken_over: None,
        }
    }

    #[test]
    fn the_trail_holds_the_runs_events_in_order_with_gaps() {
        let trail = trail_of(&run(), "run-1");
        let kinds: Vec<&str> = trail.iter().map(|e| e.detail_type.as_str()).collect();
        assert_eq!(kinds, ["process.single", "process.single.post", "task.finished"]);
        let gaps: Vec<Option<i64>> = trail.iter().map(|e| e.gap_ms).collect();
        assert_eq!(gaps, [None, Some(1500), Some(0)]);
        assert_eq!(trail[2].emitted_by, "post-process-single");
        assert_eq!(trail_of(&run(), ARN), trail);
    }

    #[test]
    fn events_are_timed_by_their_own_hop_in_milliseconds() {
        // EventBridge's times have whole seconds; the hops say what came first.
        let events = vec![
            event(
                "2026-11-23T10:00:00Z",
                "task.finished",
                ARN,
                &[
                    ("get", "m", Some("2026-11-23T10:00:00.100Z")),
                    ("task.finished", "getter", Some("2026-11-23T10:00:00.850Z")),
                ],
            ),
            event(
                "2026-11-23T10:00:00Z",
                "get",
                ARN,
                &[("get", "m", Some("2026-11-23T10:00:00.100Z"))],
            ),
        ];
        let trail = trail_of(&events, ARN);
        let times: Vec<(&str, Option<i64>)> = trail.iter().map(|e| (e.time.as_str(), e.gap_ms)).collect();
        assert_eq!(
            times,
            [
                ("2026-11-23T10:00:00.100Z", None),
                ("2026-11-23T10:00:00.850Z", Some(750))
            ]
        );
    }

    #[test]
    fn the_run_trail_opens_with_its_start_event_and_closes_with_its_status() {
        let trail = run_trail(&run(), &facts());
        let lines: Vec<(EntryKind, &str, Option<i64>)> = trail
            .iter()
            .map(|e| (e.kind, e.detail_type.as_str(), e.gap_ms))
            .collect();
        assert_eq!(
            lines,
            [
                (EntryKind::Start, "start", None),
                (EntryKind::Event, "process.single", Some(0)),
                (EntryKind::Event, "process.single.post", Some(1500)),
                (EntryKind::Event, "task.finished", Some(0)),
                (EntryKind::End, "SUCCEEDED", Some(500)),
            ]
        );
        assert_eq!(trail[0].emitted_by, "s");
        assert_eq!(trail[4].emitted_by, "m");
        let text = render_text(&trail);
        assert_eq!(text.lines().count(), 5);
        assert!(
            text.lines().last().unwrap().ends_with("+500 ms  execution SUCCEEDED"),
            "{text}"
        );
    }

    #[test]
    fn the_start_event_is_the_one_with_the_runs_input_nearest_its_start() {
        let mut events = run();
        events.push(json!({ "time": "2026-11-23T09:59:50Z", "source": "s", "detail-type": "start", "detail": { "who": "someone" } }));
        events.push(json!({ "time": "2026-11-23T10:00:00Z", "source": "s", "detail-type": "start", "detail": { "who": "another" } }));
        let trail = run_trail(&events, &facts());
        let starts: Vec<&str> = trail
            .iter()
            .filter(|e| e.kind == EntryKind::Start)
            .map(|e| e.time.as_str())
            .collect();
        assert_eq!(starts, ["2026-11-23T10:00:00Z"]);
        let mut other_input = facts();
        other_input.input = json!({ "who": "nobody" });
        assert_eq!(run_trail(&events, &other_input)[0].kind, EntryKind::Event);
    }

    #[test]
    fn the_emulators_copy_of_a_taken_over_run_is_left_out() {
        let emulator = event(
            "2026-11-23T10:00:00Z",
            "get",
            ARN,
            &[("get", "m", Some("2026-11-23T10:00:00.050Z"))],
        );
        let local = event(
            "2026-11-23T10:00:01Z",
            "get",
            ARN,
            &[("get", "m", Some("2026-11-23T10:00:00.700Z"))],
        );
        let answer = event(
            "2026-11-23T10:00:01Z",
            "task.finished",
            ARN,
            &[
                ("get", "m", Some("2026-11-23T10:00:00.700Z")),
                ("task.finished", "getter", Some("2026-11-23T10:00:01.200Z")),
            ],
        );
        let mut run = facts();
        run.taken_over = Some("2026-11-23T10:00:00.600Z".into());
        let trail = run_trail(&[emulator.clone(), local, answer], &run);
        let times: Vec<&str> = trail
            .iter()
            .filter(|e| e.kind == EntryKind::Event)
            .map(|e| e.time.as_str())
            .collect();
        assert_eq!(times, ["2026-11-23T10:00:00.700Z", "2026-11-23T10:00:01.200Z"]);
        // Without a takeover, the emulator's events are the run's.
        assert_eq!(run_trail(&[emulator], &facts()).len(), 2);
    }

    #[test]
    fn a_side_effects_outcome_is_emitted_by_the_side_effects_function() {
        let done = event(
            "2026-11-23T10:00:03Z",
            "order.approve.done",
            ARN,
            &[
                ("order.approve", "m", Some("2026-11-23T10:00:01.000Z")),
                ("order.approve.done", "audit", Some("2026-11-23T10:00:02.400Z")),
            ],
        );
        let trail = trail_of(&[done], ARN);
        assert_eq!(trail[0].emitted_by, "audit");
        assert_eq!(trail[0].time, "2026-11-23T10:00:02.400Z");
        let edges = architecture(&trail);
        assert!(edges.contains(&("order.approve".to_owned(), "audit".to_owned())));
        assert!(edges.contains(&("audit".to_owned(), "order.approve.done".to_owned())));
    }

    #[test]
    fn a_failed_or_running_execution_says_so_last() {
        let mut failed = facts();
        failed.status = "FAILED".into();
        failed.error = Some("KeyError".into());
        failed.cause = Some("{\"errorMessage\": \"'qty'\"}\nmore".into());
        let end = run_trail(&[], &failed).pop().unwrap();
        assert_eq!(end.error.as_deref(), Some("KeyError: {\"errorMessage\": \"'qty'\"}"));
        assert!(render_text(&[end]).contains("execution FAILED (KeyError: "));
        let mut running = facts();
        running.status = "RUNNING".into();
        running.stop_date = None;
        let trail = run_trail(&run(), &running);
        let end = trail.last().unwrap();
        assert_eq!((end.time.as_str(), end.gap_ms), ("", None));
        assert!(render_text(&trail).ends_with("execution RUNNING\n"));
    }

    #[test]
    fn only_the_runs_events_are_asked_for() {
        assert_eq!(
            execution_filter(ARN),
            "{ $.detail.executionId = \"arn:aws:states:r:1:execution:m:run-1\" }"
        );
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
        let edges = architecture(&run_trail(&run(), &facts()));
        let expected: BTreeSet<(String, String)> = [
            ("s", "start"),
            ("start", "m"),
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
        let trail = run_trail(&events, &facts());
        let page = crate::ui::page::trail_document(&trail, "run-1", &[]);
        assert_eq!(page.matches("<tr class=\"event\"").count(), 3);
        assert_eq!(page.matches("<tr class=\"start\"").count(), 1);
        assert!(page.contains("<tr class=\"end\""));
        assert!(page.contains("Events (4)"));
        assert_eq!(page.matches("<g class=\"hop").count(), 3, "a bar per hop");
        assert!(!page.contains("<script>"));
        assert!(page.contains("data-detail-type=\"&lt;script&gt;\""));
    }
}
