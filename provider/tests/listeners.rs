//! Acceptance tests of a workflow's listeners of every kind, run on this machine: the real
//! `terraform` CLI applies them to a fakecloud emulator, `local-cloud` runs the runs (zip
//! listeners as `python3` and `node` processes through the official runtime interface clients,
//! the code read back from the emulator). Ignored by a plain `cargo test`; `tests/acceptance.sh`
//! runs them.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use aws_config::SdkConfig;
use common::*;
use serde_json::{Value, json};

const APPROVE_IMAGE: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/polyglot-approve:1";

fn run_script(script: &Path, args: &[&Path]) {
    let status = Command::new("bash").arg(script).args(args).status().unwrap();
    assert!(status.success(), "{} failed", script.display());
}

/// The execution record local-cloud keeps of the run `name` of the machine `machine`.
fn record(state_dir: &Path, machine: &str, name: &str) -> Value {
    let path = state_dir
        .join("executions")
        .join(format!("{machine}--{name}"))
        .join("record.json");
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// The runs that ended since `before` ended: the one new run, waited for.
fn next_run(emulator: &Emulator, state_dir: &Path, before: usize, within: Duration) -> (String, String) {
    let runs = wait_for_ended(emulator, state_dir, before + 1, within);
    let ended: Vec<_> = runs.into_iter().filter(|(_, status)| status != "RUNNING").collect();
    ended.last().cloned().unwrap()
}

/// `(detail type, emitted by)` of every event of the run's trail.
fn hops(events: &[Value]) -> Vec<(String, String)> {
    events
        .iter()
        .map(|e| (text(&e["detailType"]), text(&e["emittedBy"])))
        .collect()
}

/// Reads the run's trail until `complete` holds of it, or 20 s have passed: the trail rule
/// delivers asynchronously.
fn trail_until(emulator: &Emulator, state_dir: &Path, arn: &str, complete: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let events = trail(emulator, state_dir, arn);
        if complete(&events) || Instant::now() > deadline {
            return events;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs terraform, fakecloud, aws, python3 and node: run tests/acceptance.sh"]
async fn a_polyglot_workflow_runs_python_node_and_rust_listeners_and_a_side_effect() {
    let example = repo_root().join("examples/polyglot-workflow");
    run_script(&example.join("build.sh"), &[]);
    let emulator = Emulator::start("acc-polyglot");
    let sdk = emulator.sdk().await;
    let workspace = Workspace::of_example(
        "polyglot-workflow",
        "polyglot",
        &emulator,
        &format!("approve_image = \"{APPROVE_IMAGE}\"\ntask_timeout_seconds = 30\n"),
    );
    std::fs::create_dir_all(workspace.dir.join("build")).unwrap();
    for zip in ["enrich", "price", "audit"] {
        let name = format!("{zip}.zip");
        std::fs::copy(
            example.join("build").join(&name),
            workspace.dir.join("build").join(&name),
        )
        .unwrap();
    }
    workspace.apply(&[]);
    assert_eq!(workspace.plan_exit_code().0, 0, "the plan after apply is empty");
    let workflow = workspace.resource("eventdriven_workflow");
    let machine = text(&workflow["state_machine_arn"]);

    let state_dir = workspace.dir.join("local-cloud");
    let approve = eventdriven().with_file_name("polyglot-approve");
    let image = format!("{APPROVE_IMAGE}={}", approve.display());
    let cloud = LocalCloud::start(&emulator, &state_dir, &["--image", &image]);
    let order = json!({ "order": { "id": "o-1", "items": [
        { "sku": "a", "qty": 2, "price": 3.5 },
        { "sku": "b", "qty": 1, "price": 1.25 },
    ] } });
    put_event(&emulator, "polyglot", "start", &order.to_string());
    let (name, status) = next_run(&emulator, &state_dir, 0, Duration::from_secs(90));
    let run = record(&state_dir, "eventdriven-polyglot", &name);
    assert_eq!(
        status,
        "SUCCEEDED",
        "{}",
        cli(&emulator, &state_dir, &["execution", &name])
    );
    let output = &run["output"];
    assert_eq!(output["enriched"]["subtotal"], 8.25, "Python: {output}");
    assert_eq!(
        output["priced"],
        json!({ "subtotal": 8.25, "tax": 1.65, "total": 9.9 }),
        "Node.js"
    );
    assert_eq!(output["approval"], json!({ "approved": true, "total": 9.9 }), "Rust");

    // Every hop of the four listeners is in the trail, the side effect's `.done` included.
    let arn = execution_arn(&sdk, &machine, &name).await;
    let events = trail_until(&emulator, &state_dir, &arn, |events| {
        events.iter().any(|e| e["detailType"] == "order.approve.done")
    });
    let seen = hops(&events);
    for (detail_type, function) in [
        ("order.enrich", "eventdriven-polyglot"),
        ("task.finished", "eventdriven-polyglot-enrich"),
        ("order.price", "eventdriven-polyglot"),
        ("task.finished", "eventdriven-polyglot-price"),
        ("order.approve", "eventdriven-polyglot"),
        ("task.finished", "eventdriven-polyglot-approve"),
        ("order.approve.done", "eventdriven-polyglot-audit"),
    ] {
        assert!(
            seen.contains(&(detail_type.to_owned(), function.to_owned())),
            "{detail_type} from {function} is not in the trail: {seen:?}"
        );
    }
    assert_eq!(
        events.iter().filter(|e| e["detailType"] == "order.enrich").count(),
        1,
        "the emulator's own copy of the run leaves nothing in the trail: {seen:?}"
    );
    // From the start event to the execution's final status, timed in milliseconds by the hops.
    let (first, last) = (&events[0], events.last().unwrap());
    assert_eq!(
        (text(&first["kind"]), text(&first["detailType"])),
        ("start".into(), "start".into())
    );
    assert_eq!(
        (text(&last["kind"]), text(&last["detailType"])),
        ("end".into(), "SUCCEEDED".into())
    );
    assert!(
        events
            .iter()
            .filter(|e| e["kind"] == "event")
            .all(|e| text(&e["time"]).contains('.')),
        "every hop is timed in milliseconds: {events:?}"
    );
    // By the name `eventdriven executions` shows, as by the ARN.
    assert_eq!(trail(&emulator, &state_dir, &name), trail(&emulator, &state_dir, &arn));
    drop(cloud);
    workspace.ok(&["destroy", "-auto-approve", "-input=false"]);
}

/// One workflow whose one task is answered by the zip listener `answer`, built from the test
/// listener `listener` (provider/tests/fixtures/listeners/), beside a side effect that always
/// raises and an existing function, also a side effect, when `ledger` is its ARN.
fn faults_config(ledger: Option<&str>) -> String {
    let ledger = ledger.map_or(String::new(), |arn| {
        format!(
            r#"
  listener {{
    name         = "ledger"
    detail_types = ["answer"]
    function_arn = "{arn}"
    side_effect  = true
  }}
"#
        )
    });
    format!(
        r#"
terraform {{
  required_providers {{
    eventdriven = {{ source = "eventdriven/eventdriven" }}
  }}
}}

provider "eventdriven" {{
  region = "us-east-1"
}}

resource "eventdriven_workflow" "faults" {{
  name = "faults"

  task {{
    name            = "Answer"
    detail_type     = "answer"
    result_path     = "$.answer"
    timeout_seconds = 60
  }}

  listener {{
    name         = "answer"
    detail_types = ["answer"]
    filename     = "answer.zip"
    runtime      = "python3.12"
    handler      = "app.handler"
  }}
  listener {{
    name         = "audit"
    detail_types = ["answer"]
    filename     = "audit.zip"
    runtime      = "python3.12"
    handler      = "app.handler"
    side_effect  = true
  }}
{ledger}
  trail {{
    retention_days = 1
  }}
}}
"#
    )
}

fn fixture_zip(listener: &str, out: &Path) {
    let fixtures = repo_root().join("provider/tests/fixtures/listeners");
    run_script(&fixtures.join("build.sh"), &[&fixtures.join(listener), out]);
}

/// An existing function, deployed as someone else would: a Python zip of its own.
async fn existing_function(sdk: &SdkConfig, dir: &Path) -> String {
    let zip = dir.join("ledger.zip");
    fixture_zip("finish-v1", &zip);
    let lambda = aws_sdk_lambda::Client::new(sdk);
    let created = lambda
        .create_function()
        .function_name("orders-ledger")
        .runtime(aws_sdk_lambda::types::Runtime::Python312)
        .handler("app.handler")
        .role("arn:aws:iam::123456789012:role/orders-ledger")
        .code(
            aws_sdk_lambda::types::FunctionCode::builder()
                .zip_file(std::fs::read(&zip).unwrap().into())
                .build(),
        )
        .send()
        .await
        .unwrap();
    created.function_arn().unwrap().to_owned()
}

/// Whether the function's resource policy lets any rule invoke it.
async fn invocable_by_a_rule(sdk: &SdkConfig, function: &str) -> bool {
    let lambda = aws_sdk_lambda::Client::new(sdk);
    match lambda.get_policy().function_name(function).send().await {
        Ok(policy) => policy.policy().unwrap_or_default().contains("events.amazonaws.com"),
        Err(_) => false,
    }
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs terraform, fakecloud, aws and python3: run tests/acceptance.sh"]
async fn listeners_fail_their_runs_within_seconds_side_effects_never_and_new_code_is_used() {
    let emulator = Emulator::start("acc-listener-faults");
    let sdk = emulator.sdk().await;
    let workspace = Workspace::of_config("listener-faults", &emulator, "");
    let ledger = existing_function(&sdk, &workspace.dir).await;
    workspace.configure(&faults_config(Some(&ledger)));
    let answer_zip: PathBuf = workspace.dir.join("answer.zip");
    fixture_zip("finish-v1", &answer_zip);
    fixture_zip("side-effect-raises", &workspace.dir.join("audit.zip"));
    workspace.apply(&[]);
    let (code, plan) = workspace.plan_exit_code();
    assert_eq!(code, 0, "the plan after apply is empty: {plan}");
    let workflow = workspace.resource("eventdriven_workflow");
    let machine = text(&workflow["state_machine_arn"]);
    let policy: Value = serde_json::from_str(&text(&workflow["listener_policies"]["ledger"])).unwrap();
    assert!(
        policy.to_string().contains("Lambda Function Invocation Result"),
        "the owner's policy lets Lambda put the function's results: {policy}"
    );
    assert!(
        invocable_by_a_rule(&sdk, &ledger).await,
        "the rule may invoke the existing function"
    );

    let state_dir = workspace.dir.join("local-cloud");
    let cloud = LocalCloud::start(&emulator, &state_dir, &[]);
    let mut ended = 0;
    let mut run = |expected: &str| {
        put_event(&emulator, "faults", "start", "{}");
        let started = Instant::now();
        let (name, status) = next_run(&emulator, &state_dir, ended, Duration::from_secs(50));
        ended += 1;
        let took = started.elapsed();
        assert_eq!(
            status,
            expected,
            "{}",
            cli(&emulator, &state_dir, &["execution", &name])
        );
        (name, took)
    };

    // v1 answers; the side effect that raises leaves the run SUCCEEDED, with side_effect.failed
    // in the trail, and the existing function's success shows as answer.done.
    let (name, _) = run("SUCCEEDED");
    assert_eq!(
        record(&state_dir, "eventdriven-faults", &name)["output"]["answer"],
        json!({ "version": 1 })
    );
    let arn = execution_arn(&sdk, &machine, &name).await;
    let events = trail_until(&emulator, &state_dir, &arn, |events| {
        let seen = hops(events);
        seen.iter().any(|(d, _)| d == "side_effect.failed") && seen.iter().any(|(d, _)| d == "answer.done")
    });
    let failed = events.iter().find(|e| e["detailType"] == "side_effect.failed");
    assert!(failed.is_some(), "{:?}", hops(&events));
    assert_eq!(text(&failed.unwrap()["emittedBy"]), "eventdriven-faults-audit");
    assert!(
        hops(&events).contains(&("answer.done".to_owned(), "orders-ledger".to_owned())),
        "{:?}",
        hops(&events)
    );

    // A new zip (a new hash) updates the function in place, and the next run uses it.
    let replace = |listener: &str| {
        fixture_zip(listener, &answer_zip);
        let (code, plan) = workspace.plan_exit_code();
        assert_eq!(code, 2, "a new package plans a change: {plan}");
        assert!(
            plan.contains("updated in-place") && !plan.contains("must be replaced"),
            "{plan}"
        );
        workspace.apply(&[]);
    };
    replace("finish-v2");
    let (name, _) = run("SUCCEEDED");
    assert_eq!(
        record(&state_dir, "eventdriven-faults", &name)["output"]["answer"],
        json!({ "version": 2 })
    );

    // A listener that raises fails its run within seconds, with the exception's type as the
    // error, with the helper and without it; so does one whose answer is over 256 KiB.
    for (listener, error) in [
        ("raises-with-helper", "ValueError"),
        ("raises-raw", "KeyError"),
        ("big-answer", "eventdriven.AnswerTooLarge"),
    ] {
        replace(listener);
        let (name, took) = run("FAILED");
        let failed = record(&state_dir, "eventdriven-faults", &name);
        assert_eq!(text(&failed["error"]), error, "{listener}: {failed}");
        assert!(
            took < Duration::from_secs(30),
            "{listener} failed its run in {took:?}, not within seconds"
        );
    }
    drop(cloud);

    // The existing function is unwired when its listener goes, and left in place.
    workspace.configure(&faults_config(None));
    workspace.apply(&[]);
    assert!(
        !invocable_by_a_rule(&sdk, &ledger).await,
        "the rule's permission is gone"
    );
    let events = aws_sdk_eventbridge::Client::new(&sdk);
    let rules = events
        .list_rules()
        .name_prefix("eventdriven-faults-on-ledger")
        .send()
        .await
        .unwrap();
    assert!(rules.rules().is_empty(), "the ledger's rule is gone");
    // Wired again, then destroy: the rule and the permission go, the function stays.
    workspace.configure(&faults_config(Some(&ledger)));
    workspace.apply(&[]);
    assert!(invocable_by_a_rule(&sdk, &ledger).await);
    workspace.ok(&["destroy", "-auto-approve", "-input=false"]);
    assert!(
        !invocable_by_a_rule(&sdk, &ledger).await,
        "destroy removes the permission"
    );
    let rules = events
        .list_rules()
        .name_prefix("eventdriven-faults")
        .send()
        .await
        .unwrap();
    assert!(
        rules.rules().is_empty(),
        "destroy removes every rule: {:?}",
        rules.rules()
    );
    let lambda = aws_sdk_lambda::Client::new(&sdk);
    lambda
        .get_function()
        .function_name(&ledger)
        .send()
        .await
        .expect("destroy leaves the existing function");
}
