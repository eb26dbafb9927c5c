//! `eventdriven ui` on real runs, in headless Chromium: the order example and the cookie report
//! applied to the emulator with Terraform, run by `eventdriven local-cloud`, watched from the
//! page opened before the run starts. A batch run turns from RUNNING to SUCCEEDED without a
//! reload while its chunk count grows; the graph has every state of the deployed definition
//! with the status the run gave it; a workflow run's timeline has a bar per hop of its trail
//! and its architecture every listener of the deployed workflow, one that emitted nothing in the
//! run dashed; a failed run shows its failed state in the failure
//! colour with its error and cause; the pages validate and the console stays free of errors.
//! Screenshots go to `$CARGO_TARGET_TMPDIR/ui/`. Ignored by a plain `cargo test`;
//! `tests/acceptance.sh` runs them.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use eventdriven_testkit::browser::{Browser, Ui, html_errors};
use serde_json::Value;

/// Rows of the generated input, one chunk per `LINES_PER_CHUNK`, processed one chunk at a time:
/// a run of several seconds on this machine.
const ROWS: u64 = 12_000;
const LINES_PER_CHUNK: u64 = 500;
const CHUNKS: u64 = ROWS.div_ceil(LINES_PER_CHUNK);
const HANDLER_IMAGE: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/cookie-report-handlers:1";
/// The failure colour of the pages' stylesheet (`--failed`).
const FAILURE_COLOUR: &str = "rgb(217, 48, 37)";

/// Every state's name and status as the page's graph shows them.
const GRAPH_STATES: &str = "return Array.from(document.querySelectorAll('svg.machine g.state'))\
    .map(g => [g.dataset.state, g.dataset.status]);";
const RUN_STATUS: &str = "const s = document.getElementById('run-status'); return s ? s.dataset.status : null;";
const CHUNKS_DONE: &str =
    "const c = document.getElementById('chunks'); return c ? [Number(c.dataset.done), Number(c.dataset.total)] : null;";

fn output_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("ui");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `eventdriven ui` on a free port, reading local-cloud's records in `state_dir`.
fn start_ui(emulator: &Emulator, state_dir: &Path) -> Ui {
    let mut command = Command::new(eventdriven());
    command
        .args(["ui", "--port", "0", "--endpoint", &emulator.endpoint, "--state-dir"])
        .arg(state_dir)
        .envs(emulator.env());
    Ui::start(command)
}

/// The deployed definition of the state machine `arn`, as Step Functions describes it.
async fn deployed_definition(emulator: &Emulator, arn: &str) -> Value {
    let sfn = aws_sdk_sfn::Client::new(&emulator.sdk().await);
    let described = sfn
        .describe_state_machine()
        .state_machine_arn(arn)
        .send()
        .await
        .expect("the state machine is deployed");
    serde_json::from_str(described.definition()).unwrap()
}

/// Every state of `machine`, nested ones (Map, Parallel) included.
fn state_names(machine: &Value, names: &mut Vec<String>) {
    for (name, state) in machine["States"].as_object().into_iter().flatten() {
        names.push(name.clone());
        for nested in [&state["ItemProcessor"], &state["Iterator"]] {
            state_names(nested, names);
        }
        for branch in state["Branches"].as_array().into_iter().flatten() {
            state_names(branch, names);
        }
    }
}

/// `(state, times entered, times exited)` as `eventdriven execution NAME` tables them.
fn reported_states(report: &str) -> Vec<(String, u32, u32)> {
    report
        .lines()
        .skip_while(|line| !line.starts_with("STATE "))
        .skip(1)
        .take_while(|line| !line.trim().is_empty())
        .map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            (
                fields[0].to_owned(),
                fields[1].parse().unwrap(),
                fields[2].parse().unwrap(),
            )
        })
        .collect()
}

/// The graph as the page draws it: state name to status.
async fn graph(browser: &Browser) -> BTreeMap<String, String> {
    let states = browser.script(GRAPH_STATES).await;
    let mut drawn = BTreeMap::new();
    for state in states.as_array().unwrap() {
        let name = state[0].as_str().unwrap().to_owned();
        let status = state[1].as_str().unwrap().to_owned();
        assert!(drawn.insert(name.clone(), status).is_none(), "{name} drawn twice");
    }
    drawn
}

/// The graph has every state of `definition`; one the run entered and left succeeded, one it
/// never entered did not run (as `eventdriven execution` reports them).
fn assert_graph_of_a_succeeded_run(drawn: &BTreeMap<String, String>, definition: &Value, report: &str) {
    let mut names = Vec::new();
    state_names(definition, &mut names);
    names.sort();
    let drawn_names: Vec<&String> = drawn.keys().collect();
    assert_eq!(
        drawn_names,
        names.iter().collect::<Vec<_>>(),
        "every state of the definition"
    );
    let ran = reported_states(report);
    assert!(ran.len() >= 3, "the report lists the states run: {report}");
    let expected: BTreeMap<String, String> = names
        .iter()
        .map(|name| {
            let status = match ran.iter().find(|(state, ..)| state == name) {
                Some((_, entered, exited)) if entered == exited => "SUCCEEDED",
                Some(_) => "RUNNING",
                None => "NOT_RUN",
            };
            (name.clone(), status.to_owned())
        })
        .collect();
    assert_eq!(drawn, &expected, "each state with its status: {report}");
}

/// Waits until the runs page lists a run of the state machine `machine_arn` other than
/// `earlier`; its key.
async fn new_run(browser: &Browser, machine_arn: &str, earlier: &[&str]) -> String {
    let prefix = format!("{}--", machine_arn.rsplit(':').next().unwrap());
    let script = format!(
        "const earlier = {}; return Array.from(document.querySelectorAll('#runs tr.run'))\
         .map(r => r.dataset.run).filter(key => key.startsWith('{prefix}') && !earlier.includes(key));",
        serde_json::json!(earlier)
    );
    let keys = browser
        .wait_for("a run is listed", Duration::from_secs(30), &script, |keys| {
            keys.as_array().is_some_and(|k| !k.is_empty())
        })
        .await;
    keys[0].as_str().unwrap().to_owned()
}

/// The name of the run `key` names (`<state machine>--<name>`).
fn run_name(key: &str) -> &str {
    key.split_once("--").map_or(key, |(_, name)| name)
}

/// The page validates, and the console has no errors.
async fn assert_clean(browser: &Browser, ui: &Ui, paths: &[String]) {
    let errors = browser.console_errors().await;
    assert!(errors.is_empty(), "console errors: {errors:?}");
    for path in paths {
        let errors = html_errors(&ui.get(path));
        assert!(errors.is_empty(), "{path}: {errors:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs terraform, fakecloud, aws, redis-server and chromium: run tests/acceptance.sh"]
async fn an_order_run_is_followed_live_and_a_failed_one_shows_where_it_failed() {
    let emulator = Emulator::start("ui-orders");
    emulator.create_cluster();
    let variables = local_cloud_variables("orders", LINES_PER_CHUNK, "max_concurrency = 1\nforce_destroy = true\n");
    let workspace = Workspace::new("ui-orders", &emulator, &variables);
    workspace.apply(&[]);
    let pipeline = workspace.pipeline();
    let bucket = text(&pipeline["bucket"]);
    let machine = text(&pipeline["state_machine_arn"]);
    let definition = deployed_definition(&emulator, &machine).await;
    let input = workspace.dir.join("orders.csv");
    generate_orders(&input, ROWS, 11);

    // The page is open before the upload: the run appears on it, then is followed on its own.
    let state_dir = workspace.dir.join("local-cloud");
    let cloud = LocalCloud::start(&emulator, &state_dir, &[]);
    let ui = start_ui(&emulator, &state_dir);
    let browser = Browser::start().await;
    browser.goto(&ui.url("/")).await;
    upload(&emulator, &input, &bucket, "input/orders.csv");
    let key = new_run(&browser, &machine, &[]).await;
    browser.goto(&ui.url(&format!("/runs/{key}"))).await;
    // A reload would lose this.
    browser.mark_page().await;
    browser
        .wait_for("the run shows as running", Duration::from_secs(10), RUN_STATUS, |s| {
            s == "RUNNING"
        })
        .await;
    let mut seen: Vec<i64> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let chunks = browser.script(CHUNKS_DONE).await;
        if let Some(done) = chunks[0].as_i64()
            && seen.last() != Some(&done)
        {
            assert_eq!(chunks[1], CHUNKS, "the chunks of the split input");
            seen.push(done);
        }
        if browser.script(RUN_STATUS).await != "RUNNING" {
            break;
        }
        assert!(Instant::now() < deadline, "the run did not end: {seen:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    browser
        .wait_for("the run turns SUCCEEDED", Duration::from_secs(5), RUN_STATUS, |s| {
            s == "SUCCEEDED"
        })
        .await;
    let at_end = browser
        .wait_for("every chunk is done", Duration::from_secs(5), CHUNKS_DONE, |c| {
            c[0] == CHUNKS
        })
        .await;
    seen.push(at_end[0].as_i64().unwrap());
    seen.dedup();
    assert!(
        seen.len() >= 3 && seen.windows(2).all(|w| w[0] < w[1]),
        "the chunk count grew while the page watched: {seen:?}"
    );
    browser.assert_not_reloaded().await;
    let report = cli(&emulator, &state_dir, &["execution", run_name(&key)]);
    assert!(report.contains("status:    SUCCEEDED"), "{report}");
    assert_graph_of_a_succeeded_run(&graph(&browser).await, &definition, &report);
    browser.screenshot(&output_dir().join("run-page.png")).await;
    assert_clean(&browser, &ui, &["/".to_owned(), format!("/runs/{key}")]).await;
    drop(ui);
    drop(cloud);
    let succeeded = key;

    // A Job that always fails: the run fails, its failed state in the failure colour, its
    // error and cause on the page.
    let failing_dir = workspace.dir.join("local-cloud-failing");
    let cloud = LocalCloud::start(
        &emulator,
        &failing_dir,
        &["--image", &format!("{JOB_IMAGE}=/bin/false"), "--retry-scale", "0"],
    );
    let ui = start_ui(&emulator, &failing_dir);
    browser.goto(&ui.url("/")).await;
    upload(&emulator, &input, &bucket, "input/failing.csv");
    let key = new_run(&browser, &machine, &[&succeeded]).await;
    browser.goto(&ui.url(&format!("/runs/{key}"))).await;
    browser
        .wait_for("the run turns FAILED", Duration::from_secs(60), RUN_STATUS, |s| {
            s == "FAILED"
        })
        .await;
    let report = cli(&emulator, &failing_dir, &["execution", run_name(&key)]);
    let (error, cause) = report
        .lines()
        .find_map(|line| line.strip_prefix("error:"))
        .and_then(|line| line.trim().split_once(": "))
        .unwrap_or_else(|| panic!("the report names the error: {report}"));
    let cause_start: String = cause.split(" / ").next().unwrap().chars().take(60).collect();
    // A state entered and never left is where the run stopped.
    let open: Vec<String> = reported_states(&report)
        .into_iter()
        .filter(|(_, entered, exited)| entered > exited)
        .map(|(state, ..)| state)
        .collect();
    let drawn = graph(&browser).await;
    let failed: Vec<&String> = drawn
        .iter()
        .filter(|(_, status)| *status == "FAILED")
        .map(|(state, _)| state)
        .collect();
    assert!(
        !failed.is_empty() && failed.iter().all(|state| open.contains(state)),
        "the failed states {failed:?} are where the run stopped, {open:?}: {report}"
    );
    for state in &failed {
        let fill = browser
            .script(&format!(
                "return getComputedStyle(document.querySelector('svg.machine g.state[data-state=\"{state}\"] > rect')).fill;"
            ))
            .await;
        assert_eq!(fill, FAILURE_COLOUR, "{state} in the failure colour");
    }
    let failure = browser
        .script("const f = document.getElementById('failure'); return f ? f.innerText : '';")
        .await;
    let failure = failure.as_str().unwrap();
    let failed_state = browser
        .script("const s = document.querySelector('#failure .failed-state'); return s ? s.innerText : null;")
        .await;
    assert!(
        failed_state
            .as_str()
            .is_some_and(|state| failed.iter().any(|f| *f == state)),
        "the failure names a failed state, {failed_state}: {failure}"
    );
    assert!(
        failure.contains(error) && failure.contains(&cause_start),
        "the error {error:?} and cause {cause_start:?} on the page: {failure}"
    );
    let mut names = Vec::new();
    state_names(&definition, &mut names);
    assert_eq!(drawn.len(), names.len(), "every state of the definition");
    browser.screenshot(&output_dir().join("failed-run-page.png")).await;
    assert_clean(&browser, &ui, &["/".to_owned(), format!("/runs/{key}")]).await;
    browser.quit().await;
    drop(ui);
    drop(cloud);

    workspace.ok(&["destroy", "-auto-approve", "-input=false"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs terraform, fakecloud, aws, redis-server and chromium: run tests/acceptance.sh"]
async fn a_workflow_run_shows_every_hop_of_its_trail_and_every_listener() {
    let emulator = Emulator::start("ui-workflow");
    let sdk = emulator.sdk().await;
    let workspace = Workspace::of_example(
        "cookie-report",
        "ui-workflow",
        &emulator,
        &format!("handler_image = \"{HANDLER_IMAGE}\"\nforce_destroy = true\n"),
    );
    workspace.apply(&[]);
    let workflow = workspace.resource("eventdriven_workflow");
    let machine = text(&workflow["state_machine_arn"]);
    let definition = deployed_definition(&emulator, &machine).await;
    let listeners: Vec<String> = workflow["listener_function_arns"]
        .as_object()
        .expect("the listeners' functions")
        .values()
        .map(|arn| text(arn).rsplit(':').next().unwrap().to_owned())
        .collect();
    assert_eq!(listeners.len(), 5, "{workflow}");

    let state_dir = workspace.dir.join("local-cloud");
    let handlers = eventdriven().with_file_name("cookie-report-handlers");
    let image = format!("{HANDLER_IMAGE}={}", handlers.display());
    let cloud = LocalCloud::start(&emulator, &state_dir, &["--image", &image]);
    let ui = start_ui(&emulator, &state_dir);
    let browser = Browser::start().await;
    browser.goto(&ui.url("/")).await;
    put_event(&emulator, "cookie-report", "start", "{}");
    let key = new_run(&browser, &machine, &[]).await;
    browser.goto(&ui.url(&format!("/runs/{key}"))).await;
    browser.mark_page().await;
    browser
        .wait_for("the run turns SUCCEEDED", Duration::from_secs(60), RUN_STATUS, |s| {
            s == "SUCCEEDED"
        })
        .await;
    let name = run_name(&key).to_owned();
    let arn = execution_arn(&sdk, &machine, &name).await;

    // The trail is complete once it holds an answer for every task (the people's and the two
    // tasks around them) and the event `process-single` emits for every person.
    let deadline = Instant::now() + Duration::from_secs(30);
    let events = loop {
        let events = trail(&emulator, &state_dir, &arn);
        let count = |detail_type: &str| events.iter().filter(|e| e["detailType"] == detail_type).count();
        let answered = count("task.finished") == count("process.single") + 2;
        let emitted = count("process.single.post") == count("process.single");
        if (answered && emitted) || Instant::now() > deadline {
            break events;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let mut hops: Vec<(String, String)> = events
        .iter()
        .filter(|e| e["kind"] == "event")
        .map(|e| (text(&e["detailType"]), text(&e["emittedBy"])))
        .collect();
    hops.sort();
    assert!(hops.len() > 5, "a run of several hops: {events:?}");
    let bars_script = "return Array.from(document.querySelectorAll('svg.timeline g.hop'))\
        .map(g => [g.dataset.detailType, g.dataset.function]);";
    let bars = browser
        .wait_for(
            "a bar for every hop of the trail",
            Duration::from_secs(10),
            bars_script,
            |bars| bars.as_array().is_some_and(|b| b.len() >= hops.len()),
        )
        .await;
    let mut bars: Vec<(String, String)> = bars
        .as_array()
        .unwrap()
        .iter()
        .map(|bar| (text(&bar[0]), text(&bar[1])))
        .collect();
    bars.sort();
    assert_eq!(bars, hops, "one bar per hop of the trail");
    let nodes = browser
        .script(
            "return Array.from(document.querySelectorAll('svg.architecture g.node.function'))\
             .map(g => [g.dataset.node, g.classList.contains('silent')]);",
        )
        .await;
    let nodes: BTreeMap<String, bool> = nodes
        .as_array()
        .unwrap()
        .iter()
        .map(|node| (text(&node[0]), node[1] == true))
        .collect();
    let dashed = browser
        .script(
            "return Array.from(document.querySelectorAll('svg.architecture path.edge.subscribed.silent'))\
             .map(p => p.dataset.to);",
        )
        .await;
    // Every function the trail names (the start's source and the state machine among them)...
    let named: Vec<String> = events
        .iter()
        .flat_map(|e| {
            e["hops"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|hop| text(&hop["function"]))
        })
        .chain(events.iter().map(|e| text(&e["emittedBy"])))
        .collect();
    for function in &named {
        assert!(
            nodes.contains_key(function),
            "the architecture has {function}: {nodes:?}"
        );
    }
    // ...and every listener of the deployed workflow: one that emitted nothing in the run drawn
    // from its rule, dashed, with a dashed edge from an event of the run to it.
    for listener in &listeners {
        let silent = !named.contains(listener);
        assert_eq!(
            nodes.get(listener),
            Some(&silent),
            "the architecture has the listener {listener}, dashed if it emitted nothing: {nodes:?}"
        );
        assert_eq!(
            dashed.as_array().unwrap().iter().any(|to| to == listener.as_str()),
            silent,
            "a dashed edge to {listener} only if it emitted nothing: {dashed}"
        );
    }
    browser.assert_not_reloaded().await;
    // The static trail draws the same listeners, the silent ones dashed.
    let static_trail = cli(&emulator, &state_dir, &["trail", &arn, "--format", "html"]);
    for listener in &listeners {
        let silent = !named.contains(listener);
        let drawn = format!("data-node=\"{listener}\"");
        assert!(static_trail.contains(&drawn), "trail --format html has {listener}");
        if silent {
            assert!(
                static_trail.contains(&format!("data-to=\"{listener}\"")),
                "trail --format html draws the edge to the silent {listener}"
            );
        }
    }
    let report = cli(&emulator, &state_dir, &["execution", &name]);
    assert_graph_of_a_succeeded_run(&graph(&browser).await, &definition, &report);
    browser.screenshot(&output_dir().join("workflow-run-page.png")).await;
    assert_clean(&browser, &ui, &["/".to_owned(), format!("/runs/{key}")]).await;
    browser.quit().await;
    drop(ui);
    drop(cloud);

    workspace.ok(&["destroy", "-auto-approve", "-input=false"]);
}
