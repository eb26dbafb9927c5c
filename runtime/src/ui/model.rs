//! What the pages show of a run, derived from its definition and history alone (no I/O), so a
//! run recorded by `local-cloud` and one read from Step Functions are drawn alike.
//!
//! A state's status comes from its history events: entered and exited as often as entered is
//! succeeded; a failure after its last entry (not retried since) is failed; entered and still
//! open is running while the execution runs, failed once it has stopped.

use std::collections::{BTreeMap, HashMap};

use eventdriven_states::Event;
use eventdriven_states::clock::parse_iso;
use serde::Serialize;
use serde_json::Value;

/// How many of a Map's items the run page lists as slowest.
const SLOWEST_ITEMS: usize = 5;

/// One execution as the pages need it, whichever source it was read from.
#[derive(Clone, Debug, PartialEq)]
pub struct RunInfo {
    /// The run's address in the UI: `<state machine>--<execution name>`.
    pub key: String,
    pub name: String,
    pub machine: String,
    pub execution_arn: String,
    /// `RUNNING`, `SUCCEEDED`, `FAILED`, `TIMED_OUT`, `ABORTED`.
    pub status: String,
    /// RFC 3339.
    pub start_date: String,
    pub stop_date: Option<String>,
    pub error: Option<String>,
    pub cause: Option<String>,
    /// The definition the execution runs.
    pub definition: Value,
}

impl RunInfo {
    pub fn is_running(&self) -> bool {
        self.status == "RUNNING"
    }

    /// Seconds from start to stop, or to `now` while running.
    pub fn seconds(&self, now: &str) -> Option<f64> {
        seconds_between(&self.start_date, self.stop_date.as_deref().unwrap_or(now))
    }

    /// A workflow's machine waits for listeners' events; a pipeline's runs Jobs.
    pub fn kind(&self) -> RunKind {
        if resources(&self.definition).any(|r| r.contains(":events:putEvents")) {
            RunKind::Workflow
        } else {
            RunKind::Batch
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunKind {
    Batch,
    Workflow,
}

/// A batch run's chunks and rows so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ChunkProgress {
    pub chunks_done: u64,
    pub chunks_total: u64,
    pub rows_in: Option<u64>,
    pub rows_out: Option<u64>,
    pub rejected: Option<u64>,
}

impl ChunkProgress {
    /// Rows accounted for (out or rejected) per second of the run.
    pub fn rows_per_second(&self, seconds: f64) -> Option<f64> {
        let rows = self.rows_out? + self.rejected.unwrap_or(0);
        (seconds > 0.0).then(|| rows as f64 / seconds)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StateStatus {
    NotRun,
    Running,
    Succeeded,
    Failed,
}

impl StateStatus {
    pub fn name(self) -> &'static str {
        match self {
            StateStatus::NotRun => "NOT_RUN",
            StateStatus::Running => "RUNNING",
            StateStatus::Succeeded => "SUCCEEDED",
            StateStatus::Failed => "FAILED",
        }
    }

    /// The CSS class the pages colour it by.
    pub fn class(self) -> &'static str {
        match self {
            StateStatus::NotRun => "not-run",
            StateStatus::Running => "running",
            StateStatus::Succeeded => "succeeded",
            StateStatus::Failed => "failed",
        }
    }
}

/// One state of the definition in this run.
#[derive(Clone, Debug, PartialEq)]
pub struct StateRun {
    pub status: StateStatus,
    pub entered: u32,
    /// The last error and cause it failed with, even if retried or caught since.
    pub error: Option<(String, String)>,
}

/// A Map state's items in this run.
#[derive(Clone, Debug, PartialEq)]
pub struct MapItems {
    pub state: String,
    /// As the Map announced it when it started; `None` before.
    pub total: Option<u64>,
    pub done: u64,
    pub running: u64,
    pub failed: u64,
    /// The longest items, running ones timed until now.
    pub slowest: Vec<ItemTime>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ItemTime {
    pub index: u64,
    /// What the item is: its chunk, or its input in short.
    pub label: String,
    pub seconds: f64,
    pub running: bool,
}

/// Where a failed run failed.
#[derive(Clone, Debug, PartialEq)]
pub struct Failure {
    /// The state that failed, when the history tells.
    pub state: Option<String>,
    pub error: String,
    pub cause: String,
}

/// Everything the run page draws.
#[derive(Clone, Debug, PartialEq)]
pub struct RunView {
    pub info: RunInfo,
    /// Every state of the definition, nested ones included.
    pub states: BTreeMap<String, StateRun>,
    pub maps: Vec<MapItems>,
    pub progress: Option<ChunkProgress>,
    pub failure: Option<Failure>,
}

impl RunView {
    /// The run from its history; `progress` from its work directory when it is known, else
    /// its first Map's items count as its chunks. `now` times what still runs.
    pub fn new(info: RunInfo, history: &[Event], progress: Option<ChunkProgress>, now: &str) -> Self {
        let mut states: BTreeMap<String, StateRun> = state_names(&info.definition)
            .into_iter()
            .map(|(name, _)| {
                let run = StateRun {
                    status: StateStatus::NotRun,
                    entered: 0,
                    error: None,
                };
                (name, run)
            })
            .collect();
        let fail_states: Vec<String> = state_names(&info.definition)
            .into_iter()
            .filter(|(_, kind)| kind == "Fail")
            .map(|(name, _)| name)
            .collect();
        let by_id: HashMap<u64, &Event> = history.iter().map(|e| (e.id, e)).collect();
        // Per state: entries, exits, and whether it failed since its last attempt started.
        let mut counts: HashMap<String, (u32, u32, bool)> = HashMap::new();
        let mut last_failed_state = None;
        for event in history {
            let kind = event.kind.as_str();
            if kind.ends_with("StateEntered") || kind.ends_with("StateExited") {
                let name = event.details()["name"].as_str().unwrap_or_default().to_owned();
                let count = counts.entry(name.clone()).or_default();
                if kind.ends_with("StateEntered") {
                    count.0 += 1;
                } else {
                    count.1 += 1;
                }
                count.2 = false;
                if kind == "FailStateEntered" {
                    last_failed_state = Some(name);
                }
                continue;
            }
            let Some(state) = state_of(event, &by_id) else { continue };
            let details = event.details();
            let failed = (kind.ends_with("Failed") || kind.ends_with("TimedOut")) && details.get("error").is_some();
            let count = counts.entry(state.clone()).or_default();
            if failed && !kind.starts_with("Execution") {
                count.2 = true;
                let error = details["error"].as_str().unwrap_or_default().to_owned();
                let cause = details["cause"].as_str().unwrap_or_default().to_owned();
                if let Some(run) = states.get_mut(&state) {
                    run.error = Some((error, cause));
                }
                last_failed_state = Some(state);
            } else if kind.starts_with("Task") || kind.starts_with("Lambda") || kind.starts_with("Activity") {
                // Scheduled again: a retry.
                count.2 = false;
            }
        }
        let running = info.is_running();
        for (name, run) in &mut states {
            let Some(&(entered, exited, failing)) = counts.get(name) else {
                continue;
            };
            run.entered = entered;
            run.status = if entered == 0 {
                StateStatus::NotRun
            } else if fail_states.contains(name) || failing {
                StateStatus::Failed
            } else if exited >= entered {
                StateStatus::Succeeded
            } else if running {
                StateStatus::Running
            } else {
                StateStatus::Failed
            };
        }
        let maps = map_items(history, &by_id, now);
        let progress = progress.or_else(|| {
            maps.first().map(|map| ChunkProgress {
                chunks_done: map.done,
                chunks_total: map.total.unwrap_or(0),
                ..ChunkProgress::default()
            })
        });
        let failure = match (&info.error, &info.cause) {
            (Some(error), cause) if !running => {
                let state = last_failed_state.or_else(|| {
                    states
                        .iter()
                        .find(|(_, run)| run.status == StateStatus::Failed)
                        .map(|(name, _)| name.clone())
                });
                Some(Failure {
                    state,
                    error: error.clone(),
                    cause: cause.clone().unwrap_or_default(),
                })
            }
            _ => None,
        };
        RunView {
            info,
            states,
            maps,
            progress,
            failure,
        }
    }
}

/// Seconds from one RFC 3339 time to another.
pub fn seconds_between(start: &str, stop: &str) -> Option<f64> {
    Some((parse_iso(stop)? - parse_iso(start)?).as_seconds_f64())
}

/// The state an event belongs to: the one whose entry its chain of previous events leads to.
pub fn state_of(event: &Event, by_id: &HashMap<u64, &Event>) -> Option<String> {
    let mut at = by_id.get(&event.previous_event_id)?;
    // Bounded by the history's length: ids only point back.
    for _ in 0..by_id.len() {
        if at.kind.ends_with("StateEntered") {
            return at.details()["name"].as_str().map(str::to_owned);
        }
        at = by_id.get(&at.previous_event_id)?;
    }
    None
}

/// One Map item as its iteration events tell it.
struct Iteration {
    started: String,
    ended: Option<String>,
    failed: bool,
    label: String,
}

/// Every Map's items: counted from its iteration events, timed from start to end (or `now`).
fn map_items(history: &[Event], by_id: &HashMap<u64, &Event>, now: &str) -> Vec<MapItems> {
    let mut maps: Vec<MapItems> = Vec::new();
    let mut items: BTreeMap<(String, u64), Iteration> = BTreeMap::new();
    let mut iteration_of: HashMap<u64, (String, u64)> = HashMap::new();
    for event in history {
        let details = event.details();
        match event.kind.as_str() {
            "MapStateStarted" => {
                let Some(state) = state_of(event, by_id) else { continue };
                let total = details["length"].as_u64();
                match maps.iter_mut().find(|m| m.state == state) {
                    Some(map) => map.total = total,
                    None => maps.push(MapItems {
                        state,
                        total,
                        done: 0,
                        running: 0,
                        failed: 0,
                        slowest: Vec::new(),
                    }),
                }
            }
            "MapIterationStarted" => {
                let key = (
                    details["name"].as_str().unwrap_or_default().to_owned(),
                    details["index"].as_u64().unwrap_or_default(),
                );
                iteration_of.insert(event.id, key.clone());
                let iteration = Iteration {
                    started: event.timestamp.clone(),
                    ended: None,
                    failed: false,
                    label: format!("item {}", key.1),
                };
                items.insert(key, iteration);
            }
            "MapIterationSucceeded" | "MapIterationFailed" => {
                let key = (
                    details["name"].as_str().unwrap_or_default().to_owned(),
                    details["index"].as_u64().unwrap_or_default(),
                );
                if let Some(item) = items.get_mut(&key) {
                    item.ended = Some(event.timestamp.clone());
                    item.failed = event.kind == "MapIterationFailed";
                }
            }
            kind if kind.ends_with("StateEntered") => {
                // An iteration's first state names its item by its input.
                if let Some(key) = iteration_of.remove(&event.previous_event_id)
                    && let Some(item) = items.get_mut(&key)
                {
                    item.label = item_label(details["input"].as_str().unwrap_or_default(), key.1);
                }
            }
            _ => {}
        }
    }
    for map in &mut maps {
        let mut times = Vec::new();
        for ((state, index), item) in &items {
            if *state != map.state {
                continue;
            }
            match (&item.ended, item.failed) {
                (None, _) => map.running += 1,
                (Some(_), true) => map.failed += 1,
                (Some(_), false) => map.done += 1,
            }
            let seconds = seconds_between(&item.started, item.ended.as_deref().unwrap_or(now)).unwrap_or(0.0);
            times.push(ItemTime {
                index: *index,
                label: item.label.clone(),
                seconds,
                running: item.ended.is_none(),
            });
        }
        times.sort_by(|a, b| b.seconds.total_cmp(&a.seconds).then(a.index.cmp(&b.index)));
        times.truncate(SLOWEST_ITEMS);
        map.slowest = times;
    }
    maps
}

/// An item named by its input: the chunk it is, or the input in short.
fn item_label(input: &str, index: u64) -> String {
    let Ok(value) = serde_json::from_str::<Value>(input) else {
        return format!("item {index}");
    };
    let named = ["chunk", "Chunk", "name", "id"]
        .iter()
        .find_map(|field| value.get(field).and_then(Value::as_str));
    let text = match (named, &value) {
        (Some(name), _) => name.to_owned(),
        (None, Value::String(text)) => text.clone(),
        (None, other) => other.to_string(),
    };
    let short: String = text.chars().take(40).collect();
    if short.len() < text.len() {
        format!("{short}…")
    } else {
        short
    }
}

/// The states of a machine and of every machine nested in it, with their types, in
/// declaration order.
pub fn state_names(machine: &Value) -> Vec<(String, String)> {
    let mut names = Vec::new();
    let Some(states) = machine["States"].as_object() else {
        return names;
    };
    for (name, state) in states {
        names.push((name.clone(), state["Type"].as_str().unwrap_or_default().to_owned()));
        for nested in nested_machines(state) {
            names.extend(state_names(nested));
        }
    }
    names
}

/// The machines a Map (its processor) or a Parallel (its branches) runs.
pub fn nested_machines(state: &Value) -> Vec<&Value> {
    let mut machines: Vec<&Value> = ["ItemProcessor", "Iterator"]
        .iter()
        .filter_map(|field| state.get(*field))
        .collect();
    if let Some(branches) = state["Branches"].as_array() {
        machines.extend(branches);
    }
    machines
}

/// Every Task resource of a machine, nested ones included.
fn resources(machine: &Value) -> impl Iterator<Item = &str> {
    let mut found = Vec::new();
    collect_resources(machine, &mut found);
    found.into_iter()
}

fn collect_resources<'a>(machine: &'a Value, found: &mut Vec<&'a str>) {
    let Some(states) = machine["States"].as_object() else {
        return;
    };
    for state in states.values() {
        if let Some(resource) = state["Resource"].as_str() {
            found.push(resource);
        }
        for nested in nested_machines(state) {
            collect_resources(nested, found);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use eventdriven_states::{Integrations, Interpreter, StartExecution, TaskTokens};
    use serde_json::json;

    /// A Map over the input's items, then a Choice that fails the run when told to.
    fn definition() -> Value {
        json!({
            "StartAt": "Items",
            "States": {
                "Items": {"Type": "Map", "ItemsPath": "$.items", "ResultPath": null, "Next": "Decide",
                    "ItemProcessor": {"StartAt": "Work", "States": {"Work": {"Type": "Pass", "End": true}}}},
                "Decide": {"Type": "Choice", "Choices": [{"Variable": "$.fail", "BooleanEquals": true, "Next": "Broken"}],
                    "Default": "Done"},
                "Broken": {"Type": "Fail", "Error": "Cookies.Gone", "Cause": "the jar is empty"},
                "Done": {"Type": "Succeed"}
            }
        })
    }

    async fn execute(input: Value) -> (RunInfo, Vec<Event>) {
        let interpreter = Interpreter::new(Integrations::default(), TaskTokens::default(), "us-east-1");
        let execution = interpreter
            .execute(
                &definition(),
                StartExecution {
                    name: "run-1".into(),
                    input,
                    state_machine_arn: "arn:aws:states:us-east-1:1:stateMachine:eventdriven-m".into(),
                    role_arn: String::new(),
                    observer: None,
                    keep_history: true,
                },
            )
            .await;
        let failure = execution.failure.clone();
        let info = RunInfo {
            key: "eventdriven-m--run-1".into(),
            name: "run-1".into(),
            machine: "eventdriven-m".into(),
            execution_arn: execution.execution_arn.clone(),
            status: if failure.is_some() { "FAILED" } else { "SUCCEEDED" }.into(),
            start_date: execution.history[0].timestamp.clone(),
            stop_date: execution.history.last().map(|e| e.timestamp.clone()),
            error: failure.as_ref().map(|f| f.error.clone()),
            cause: failure.map(|f| f.cause),
            definition: definition(),
        };
        (info, execution.history)
    }

    fn statuses(view: &RunView) -> Vec<(&str, StateStatus)> {
        view.states
            .iter()
            .map(|(name, run)| (name.as_str(), run.status))
            .collect()
    }

    #[tokio::test]
    async fn a_succeeded_run_has_each_state_it_passed_succeeded_and_its_items_counted() {
        let (info, history) =
            execute(json!({"items": [{"chunk": "000000-2"}, {"chunk": "000001-2"}, 3], "fail": false})).await;
        let view = RunView::new(info, &history, None, "");
        assert_eq!(
            statuses(&view),
            [
                ("Broken", StateStatus::NotRun),
                ("Decide", StateStatus::Succeeded),
                ("Done", StateStatus::Succeeded),
                ("Items", StateStatus::Succeeded),
                ("Work", StateStatus::Succeeded),
            ]
        );
        assert_eq!(view.states["Work"].entered, 3);
        let map = &view.maps[0];
        assert_eq!(
            (map.state.as_str(), map.total, map.done, map.running, map.failed),
            ("Items", Some(3), 3, 0, 0)
        );
        let mut labels: Vec<&str> = map.slowest.iter().map(|i| i.label.as_str()).collect();
        labels.sort_unstable();
        assert_eq!(labels, ["000000-2", "000001-2", "3"]);
        assert_eq!(view.progress.map(|p| (p.chunks_done, p.chunks_total)), Some((3, 3)));
        assert_eq!(view.failure, None);
        assert_eq!(view.info.kind(), RunKind::Batch);
    }

    #[tokio::test]
    async fn a_failed_run_names_its_failed_state_with_error_and_cause() {
        let (info, history) = execute(json!({"items": [], "fail": true})).await;
        let view = RunView::new(info, &history, None, "");
        assert_eq!(view.states["Broken"].status, StateStatus::Failed);
        assert_eq!(view.states["Done"].status, StateStatus::NotRun);
        let failure = view.failure.unwrap();
        assert_eq!(
            (failure.state.as_deref(), failure.error.as_str(), failure.cause.as_str()),
            (Some("Broken"), "Cookies.Gone", "the jar is empty")
        );
    }

    #[tokio::test]
    async fn a_run_cut_short_shows_what_runs_and_what_follows_not_run() {
        let (mut info, history) = execute(json!({"items": [1, 2], "fail": false})).await;
        // The history as it was while the second item ran.
        let second_exit = history
            .iter()
            .filter(|e| e.kind == "PassStateExited")
            .nth(1)
            .map(|e| e.id)
            .unwrap();
        let partial: Vec<Event> = history.into_iter().filter(|e| e.id < second_exit).collect();
        info.status = "RUNNING".into();
        info.stop_date = None;
        let view = RunView::new(info, &partial, None, &eventdriven_states::clock::now_iso());
        assert_eq!(view.states["Items"].status, StateStatus::Running);
        assert_eq!(view.states["Work"].status, StateStatus::Running);
        assert_eq!(view.states["Decide"].status, StateStatus::NotRun);
        let map = &view.maps[0];
        assert_eq!((map.done, map.running), (1, 1));
        assert!(map.slowest.iter().any(|item| item.running));
    }

    #[test]
    fn a_workflow_is_told_by_its_event_tasks() {
        let mut info = RunInfo {
            key: String::new(),
            name: String::new(),
            machine: String::new(),
            execution_arn: String::new(),
            status: "RUNNING".into(),
            start_date: String::new(),
            stop_date: None,
            error: None,
            cause: None,
            definition: json!({"StartAt": "Get", "States": {"Get": {"Type": "Task",
                "Resource": "arn:aws:states:::events:putEvents.waitForTaskToken", "End": true}}}),
        };
        assert_eq!(info.kind(), RunKind::Workflow);
        info.definition = definition();
        assert_eq!(info.kind(), RunKind::Batch);
    }

    #[test]
    fn rows_per_second_counts_rows_accounted_for() {
        let progress = ChunkProgress {
            chunks_done: 1,
            chunks_total: 2,
            rows_in: Some(100),
            rows_out: Some(40),
            rejected: Some(10),
        };
        assert_eq!(progress.rows_per_second(2.0), Some(25.0));
        assert_eq!(progress.rows_per_second(0.0), None);
    }
}
