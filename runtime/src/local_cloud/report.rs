//! What `local-cloud` prints as executions run, what `executions` and `execution NAME` show, and
//! what `trail` takes of a run's record.

use std::fmt::Write;
use std::path::Path;

use anyhow::{Context, Result};

use eventdriven_states::Event;
use eventdriven_states::clock::parse_iso;

use crate::local_cloud::store::{ExecutionRecord, Store};
use crate::split::Manifest;
use crate::steps::RunSummary;
use crate::trail::RunFacts;
use crate::workdir::{RunDir, read_json};

/// The log line of a state transition or failure; `None` for other events.
pub fn transition_line(event: &Event) -> Option<String> {
    let details = event.details();
    let name = details["name"].as_str().unwrap_or_default();
    let kind = event.kind.as_str();
    if kind.ends_with("StateEntered") {
        Some(format!("-> {name}"))
    } else if kind.ends_with("StateExited") {
        Some(format!("<- {name}"))
    } else if matches!(
        kind,
        "TaskFailed" | "TaskTimedOut" | "ExecutionFailed" | "ExecutionTimedOut" | "ExecutionSucceeded"
    ) {
        let error = details["error"].as_str().unwrap_or_default();
        Some(format!("{kind} {error}").trim_end().to_owned())
    } else {
        None
    }
}

fn seconds_between(start: &str, stop: &str) -> Option<f64> {
    Some((parse_iso(stop)? - parse_iso(start)?).as_seconds_f64())
}

/// `eventdriven executions`: every execution recorded in `state_dir`.
pub fn executions(state_dir: &Path) -> Result<String> {
    Ok(executions_table(&Store::new(state_dir).all()?))
}

/// `eventdriven execution NAME`.
pub fn execution(state_dir: &Path, name: &str) -> Result<String> {
    let store = Store::new(state_dir);
    let record = store
        .find(name)?
        .with_context(|| format!("no execution {name:?} in {}", state_dir.display()))?;
    let history = store.history(&record)?;
    Ok(execution_report(
        &record,
        &history,
        super::run_dir(state_dir, name).as_ref(),
    ))
}

/// One line per execution: name, status, duration, state machine.
fn executions_table(records: &[ExecutionRecord]) -> String {
    let mut out = format!(
        "{:<40} {:<10} {:>10}  {}\n",
        "NAME", "STATUS", "DURATION", "STATE MACHINE"
    );
    for record in records {
        let now = eventdriven_states::clock::now_iso();
        let stop = record.stop_date.as_deref().unwrap_or(&now);
        let duration = seconds_between(&record.start_date, stop).map_or("-".into(), |s| format!("{s:.1} s"));
        let machine = record.state_machine_arn.rsplit(':').next().unwrap_or_default();
        let _ = writeln!(
            out,
            "{:<40} {:<10} {:>10}  {machine}",
            record.name,
            record.status.name(),
            duration
        );
    }
    out
}

/// One execution: its states with timings, its errors, and the chunk progress of its run.
fn execution_report(record: &ExecutionRecord, history: &[Event], run_dir: Option<&RunDir>) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "execution: {}", record.name);
    let _ = writeln!(out, "status:    {}", record.status.name());
    let _ = writeln!(out, "started:   {}", record.start_date);
    if let Some(stop) = &record.stop_date {
        let _ = writeln!(out, "stopped:   {stop}");
    }
    if let (Some(error), Some(cause)) = (&record.error, &record.cause) {
        let _ = writeln!(out, "error:     {error}: {}", first_lines(cause, 5));
    }
    let _ = writeln!(out, "\n{:<24} {:>7} {:>7} {:>12}", "STATE", "ENTERED", "EXITED", "TIME");
    let mut states: Vec<(String, u32, u32, f64)> = Vec::new();
    let mut open: Vec<(String, String)> = Vec::new();
    for event in history {
        let name = event.details()["name"].as_str().unwrap_or_default().to_owned();
        if event.kind.ends_with("StateEntered") {
            match states.iter_mut().find(|(n, ..)| *n == name) {
                Some(state) => state.1 += 1,
                None => states.push((name.clone(), 1, 0, 0.0)),
            }
            open.push((name, event.timestamp.clone()));
        } else if event.kind.ends_with("StateExited")
            && let Some(position) = open.iter().position(|(n, _)| *n == name)
        {
            let (_, entered) = open.remove(position);
            if let Some(state) = states.iter_mut().find(|(n, ..)| *n == name) {
                state.2 += 1;
                state.3 += seconds_between(&entered, &event.timestamp).unwrap_or(0.0);
            }
        }
    }
    for (name, entered, exited, seconds) in &states {
        let _ = writeln!(out, "{name:<24} {entered:>7} {exited:>7} {:>10.2} s", seconds);
    }
    let failures: Vec<&Event> = history
        .iter()
        .filter(|e| e.kind == "TaskFailed" || e.kind == "TaskTimedOut")
        .collect();
    if !failures.is_empty() {
        let _ = writeln!(out, "\ntask errors:");
        for event in failures {
            let details = event.details();
            let _ = writeln!(
                out,
                "  {} {}: {}",
                event.timestamp,
                details["error"].as_str().unwrap_or_default(),
                first_lines(details["cause"].as_str().unwrap_or_default(), 3)
            );
        }
    }
    // A merged run's chunks are gone (unless kept); its summary stays.
    if let Some(dir) = run_dir
        && let Ok(Some(summary)) = read_json::<RunSummary>(&dir.merged())
    {
        let _ = writeln!(
            out,
            "\nchunks:    {0} of {0} processed ({1} rows in, {2} out, {3} rejected)",
            summary.chunks, summary.rows_in, summary.rows_out, summary.rejected
        );
        let _ = writeln!(
            out,
            "throttled: {} BatchWriteItem request(s) had unprocessed items",
            summary.throttled
        );
    } else if let Some(dir) = run_dir
        && let Ok(Some(manifest)) = read_json::<Manifest>(&dir.manifest())
    {
        let done = std::fs::read_dir(dir.out_dir())
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .filter(|e| e.file_name().to_string_lossy().ends_with(".done.json"))
                    .count()
            })
            .unwrap_or(0);
        let _ = writeln!(
            out,
            "\nchunks:    {done} of {} processed ({} rows split)",
            manifest.chunks.len(),
            manifest.rows
        );
    }
    out
}

fn first_lines(text: &str, lines: usize) -> String {
    text.lines().take(lines).collect::<Vec<_>>().join(" / ")
}

/// A run `local-cloud` took over, as its trail tells it: how it ended is local-cloud's record;
/// where it started, and its input, the emulator's (`described`), where its start event is,
/// when the emulator still describes it.
pub fn trail_facts(record: &ExecutionRecord, described: Option<RunFacts>) -> RunFacts {
    let (start_date, input) = match described {
        Some(described) => (described.start_date, described.input),
        None => (record.start_date.clone(), record.input.clone()),
    };
    RunFacts {
        execution_arn: record.execution_arn.clone(),
        input,
        start_date,
        stop_date: record.stop_date.clone(),
        status: record.status.name().to_owned(),
        error: record.error.clone(),
        cause: record.cause.clone(),
        taken_over: Some(record.start_date.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::local_cloud::store::RecordStatus;
    use serde_json::json;

    fn record() -> ExecutionRecord {
        ExecutionRecord {
            name: "run-1".into(),
            execution_arn: "arn:aws:states:r:1:execution:m:run-1".into(),
            state_machine_arn: "arn:aws:states:r:1:stateMachine:m".into(),
            role_arn: String::new(),
            input: json!({"order": 1}),
            definition: json!({}),
            status: RecordStatus::Failed,
            start_date: "2026-11-23T10:00:00.600Z".into(),
            stop_date: Some("2026-11-23T10:00:05.000Z".into()),
            output: None,
            error: Some("KeyError".into()),
            cause: Some("'qty'".into()),
            attempts: 1,
        }
    }

    #[test]
    fn a_merged_run_reports_its_throttled_requests_and_an_earlier_summary_none() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::new(dir.path(), "run-1").unwrap();
        std::fs::create_dir_all(run.root()).unwrap();
        let summary = RunSummary {
            rows_in: 10,
            rows_out: 9,
            rejected: 1,
            chunks: 2,
            throttled: 7,
            ..RunSummary::default()
        };
        crate::workdir::write_json_atomically(&run.merged(), &summary).unwrap();
        let report = execution_report(&record(), &[], Some(&run));
        assert!(
            report.contains("chunks:    2 of 2 processed (10 rows in, 9 out, 1 rejected)\nthrottled: 7 BatchWriteItem request(s) had unprocessed items\n"),
            "{report}"
        );
        // A summary written before throttled requests were counted.
        std::fs::write(
            run.merged(),
            r#"{"rows_in":10,"rows_out":9,"rejected":1,"chunks":2,"output":"o","rejects":"r"}"#,
        )
        .unwrap();
        let report = execution_report(&record(), &[], Some(&run));
        assert!(report.contains("throttled: 0 BatchWriteItem"), "{report}");
    }

    #[test]
    fn a_taken_over_run_ends_as_recorded_and_starts_as_the_emulator_says() {
        let described = RunFacts {
            execution_arn: record().execution_arn,
            input: json!({"order": 1}),
            start_date: "2026-11-23T10:00:00.100Z".into(),
            stop_date: Some("2026-11-23T10:00:00.700Z".into()),
            status: "ABORTED".into(),
            error: Some("eventdriven.LocalCloud".into()),
            cause: None,
            taken_over: None,
        };
        let facts = trail_facts(&record(), Some(described));
        assert_eq!(facts.start_date, "2026-11-23T10:00:00.100Z");
        assert_eq!(facts.taken_over.as_deref(), Some("2026-11-23T10:00:00.600Z"));
        assert_eq!(
            (
                facts.status.as_str(),
                facts.stop_date.as_deref(),
                facts.error.as_deref()
            ),
            ("FAILED", Some("2026-11-23T10:00:05.000Z"), Some("KeyError"))
        );
        // The emulator no longer knows it: the record alone.
        assert_eq!(trail_facts(&record(), None).start_date, "2026-11-23T10:00:00.600Z");
    }
}
