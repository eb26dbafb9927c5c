//! `eventdriven ui` in headless Chromium, on runs recorded as `local-cloud` records them (the
//! interpreter's history appended to the store as it happens): the run page follows a run
//! from RUNNING to SUCCEEDED without a reload while its item count grows, draws every state of
//! the definition with its status, shows a failed run's state in the failure colour with its
//! error and cause; the pages and `execution --format html` validate, and the console stays
//! free of errors. A screenshot of the run page is saved under the test's output directory.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use eventdriven_runtime::local_cloud::store::{ExecutionRecord, RecordStatus, Store};
use eventdriven_states::{Event, Integrations, Interpreter, StartExecution, Status, TaskTokens};
use eventdriven_testkit::browser::{Browser, Ui, html_errors};
use serde_json::{Value, json};

const MACHINE: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:eventdriven-live";
/// The failure colour of the pages' stylesheet (`--failed`).
const FAILURE_COLOUR: &str = "rgb(217, 48, 37)";

/// Items processed one at a time, each waiting a second: a run of a few seconds.
fn batch_definition() -> Value {
    json!({
        "StartAt": "Split",
        "States": {
            "Split": {"Type": "Pass", "Next": "ProcessChunks"},
            "ProcessChunks": {"Type": "Map", "ItemsPath": "$.chunks", "MaxConcurrency": 1, "ResultPath": null,
                "Next": "Merge",
                "ItemProcessor": {"StartAt": "ProcessChunk", "States": {
                    "ProcessChunk": {"Type": "Wait", "Seconds": 1, "End": true}}}},
            "Merge": {"Type": "Pass", "End": true}
        }
    })
}

fn failing_definition() -> Value {
    json!({
        "StartAt": "Split",
        "States": {
            "Split": {"Type": "Pass", "Next": "Check"},
            "Check": {"Type": "Choice", "Default": "Merge",
                "Choices": [{"Variable": "$.lost", "BooleanEquals": true, "Next": "RowsLost"}]},
            "RowsLost": {"Type": "Fail", "Error": "eventdriven.RowsLost",
                "Cause": "chunk 000003-2000: 1999 rows of 2000 accounted for"},
            "Merge": {"Type": "Pass", "End": true}
        }
    })
}

fn record(name: &str, definition: Value, input: Value) -> ExecutionRecord {
    ExecutionRecord {
        name: name.into(),
        execution_arn: format!("{}:{name}", MACHINE.replace(":stateMachine:", ":execution:")),
        state_machine_arn: MACHINE.into(),
        role_arn: String::new(),
        input,
        definition,
        status: RecordStatus::Running,
        start_date: eventdriven_states::clock::now_iso(),
        stop_date: None,
        output: None,
        error: None,
        cause: None,
        attempts: 1,
    }
}

/// Runs the execution as `local-cloud` does: each history event appended to the store as it is
/// recorded, the record saved with how it ended.
async fn run(store: Store, mut record: ExecutionRecord) {
    store.save(&record).unwrap();
    store.reset_history(&record).unwrap();
    let (sink, key) = (store.clone(), record.key());
    let observer = Arc::new(move |event: &Event| sink.append_event(&key, event).unwrap());
    let interpreter = Interpreter::new(Integrations::default(), TaskTokens::default(), "us-east-1");
    let execution = interpreter
        .execute(
            &record.definition,
            StartExecution {
                name: record.name.clone(),
                input: record.input.clone(),
                state_machine_arn: record.state_machine_arn.clone(),
                role_arn: String::new(),
                observer: Some(observer),
                keep_history: true,
            },
        )
        .await;
    record.stop_date = Some(eventdriven_states::clock::now_iso());
    record.status = match execution.status {
        Status::Succeeded => RecordStatus::Succeeded,
        _ => RecordStatus::Failed,
    };
    if let Some(failure) = execution.failure {
        record.error = Some(failure.error);
        record.cause = Some(failure.cause);
    }
    store.save(&record).unwrap();
}

/// `eventdriven ui` on any free port, over the records in `state_dir`.
fn start_ui(state_dir: &Path) -> Ui {
    let mut command = Command::new(env!("CARGO_BIN_EXE_eventdriven"));
    command
        .args(["ui", "--port", "0", "--state-dir"])
        .arg(state_dir)
        .env_remove("AWS_ENDPOINT_URL");
    Ui::start(command)
}

/// Every state's name and status as the page's graph shows them.
const GRAPH_STATES: &str = "return Array.from(document.querySelectorAll('svg.machine g.state'))\
    .map(g => [g.dataset.state, g.dataset.status]).sort((a, b) => a[0] < b[0] ? -1 : 1);";

fn output_dir() -> std::path::PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("ui_live");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_is_followed_live_and_a_failed_one_shows_where_it_failed() {
    let state_dir = tempfile::tempdir().unwrap();
    let store = Store::new(state_dir.path());
    let chunks: Vec<Value> = (0..5).map(|n| json!({"chunk": format!("{n:06}-2000")})).collect();
    let batch = record("orders-1", batch_definition(), json!({ "chunks": chunks }));
    store.save(&batch).unwrap();
    let ui = start_ui(state_dir.path());
    let browser = Browser::start().await;

    browser.goto(&ui.url(&format!("/runs/{}", batch.key()))).await;
    // A reload would lose this.
    browser.mark_page().await;
    let running = tokio::spawn(run(store.clone(), batch.clone()));
    let status = "return document.getElementById('run-status').dataset.status;";
    browser
        .wait_for("the run shows as running", Duration::from_secs(10), status, |s| {
            s == "RUNNING"
        })
        .await;
    let done = "const c = document.getElementById('chunks'); return c ? Number(c.dataset.done) : -1;";
    let mut seen = Vec::new();
    loop {
        let now = browser.script(done).await.as_i64().unwrap();
        if seen.last() != Some(&now) {
            seen.push(now);
        }
        if browser.script(status).await != "RUNNING" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    running.await.unwrap();
    browser
        .wait_for("the run turns SUCCEEDED", Duration::from_secs(5), status, |s| {
            s == "SUCCEEDED"
        })
        .await;
    let done_at_end = browser
        .wait_for("every chunk is done", Duration::from_secs(5), done, |d| d == 5)
        .await;
    seen.push(done_at_end.as_i64().unwrap());
    seen.dedup();
    assert!(
        seen.len() >= 3 && seen.windows(2).all(|w| w[0] < w[1]),
        "the chunk count grew while the page watched: {seen:?}"
    );
    browser.assert_not_reloaded().await;
    let states = browser.script(GRAPH_STATES).await;
    assert_eq!(
        states,
        json!([
            ["Merge", "SUCCEEDED"],
            ["ProcessChunk", "SUCCEEDED"],
            ["ProcessChunks", "SUCCEEDED"],
            ["Split", "SUCCEEDED"]
        ]),
        "every state of the definition, each with its status"
    );
    browser.screenshot(&output_dir().join("run-page.png")).await;

    // A failed run: its failed state in the failure colour, its error and cause on the page.
    let failed = record("orders-2", failing_definition(), json!({"lost": true}));
    run(store.clone(), failed.clone()).await;
    browser.goto(&ui.url(&format!("/runs/{}", failed.key()))).await;
    let fill = browser
        .script(
            "const rect = document.querySelector('svg.machine g.state[data-state=\"RowsLost\"] > rect');\
             return [rect.parentNode.dataset.status, getComputedStyle(rect).fill];",
        )
        .await;
    assert_eq!(fill, json!(["FAILED", FAILURE_COLOUR]));
    let failure = browser
        .script("return document.getElementById('failure').innerText;")
        .await;
    let failure = failure.as_str().unwrap();
    assert!(
        failure.contains("RowsLost")
            && failure.contains("eventdriven.RowsLost")
            && failure.contains("1999 rows of 2000"),
        "{failure}"
    );
    let states = browser.script(GRAPH_STATES).await;
    assert_eq!(
        states,
        json!([
            ["Check", "SUCCEEDED"],
            ["Merge", "NOT_RUN"],
            ["RowsLost", "FAILED"],
            ["Split", "SUCCEEDED"]
        ])
    );
    browser.screenshot(&output_dir().join("failed-run-page.png")).await;

    // The runs, newest first, with the batch run's chunks.
    browser.goto(&ui.url("/")).await;
    let rows = browser
        .wait_for(
            "both runs listed",
            Duration::from_secs(5),
            "return Array.from(document.querySelectorAll('#runs tr.run')).map(r => [r.dataset.run, r.querySelector('.chunks').innerText]);",
            |rows| rows.as_array().is_some_and(|r| r.len() == 2),
        )
        .await;
    assert_eq!(rows[1], json!(["eventdriven-live--orders-1", "5 of 5"]));
    assert_eq!(rows[0][0], "eventdriven-live--orders-2");

    let errors = browser.console_errors().await;
    assert!(errors.is_empty(), "console errors: {errors:?}");
    browser.quit().await;

    for path in [
        "/".to_owned(),
        format!("/runs/{}", batch.key()),
        format!("/runs/{}", failed.key()),
    ] {
        let errors = html_errors(&ui.get(&path));
        assert!(errors.is_empty(), "{path}: {errors:?}");
    }
    let file = Command::new(env!("CARGO_BIN_EXE_eventdriven"))
        .args(["execution", "orders-2", "--format", "html", "--state-dir"])
        .arg(state_dir.path())
        .output()
        .unwrap();
    assert!(file.status.success(), "{}", String::from_utf8_lossy(&file.stderr));
    let file = String::from_utf8(file.stdout).unwrap();
    assert!(file.contains("data-state=\"RowsLost\" data-status=\"FAILED\"") && !file.contains("<script"));
    let errors = html_errors(&file);
    assert!(errors.is_empty(), "execution --format html: {errors:?}");
}
