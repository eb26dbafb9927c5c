//! Acceptance tests of `eventdriven_workflow`: the real `terraform` CLI applies
//! `examples/cookie-report` to a fakecloud emulator, changes it in place, heals what was
//! deleted outside Terraform and destroys it. Ignored by a plain `cargo test`;
//! `tests/acceptance.sh` runs them.

mod common;

use std::collections::HashSet;
use std::process::Command;
use std::time::{Duration, Instant};

use aws_config::SdkConfig;
use common::*;
use serde_json::{Value, json};

const HANDLER_IMAGE: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/cookie-report-handlers:1";
const LISTENERS: [&str; 5] = [
    "get-multiple",
    "process-single",
    "post-process-single",
    "post-process-all",
    "side-effect",
];

/// `--image` for local-cloud: the example's listeners as this build's `cookie-report-handlers`
/// (built beside the provider by tests/acceptance.sh).
fn handlers_image() -> String {
    let binary = eventdriven().with_file_name("cookie-report-handlers");
    format!("{HANDLER_IMAGE}={}", binary.display())
}

fn variables(extra: &str) -> String {
    format!("handler_image = \"{HANDLER_IMAGE}\"\n{extra}")
}

fn map_value(map: &Value, key: &str) -> String {
    text(&map[key])
}

async fn definition_of(sdk: &SdkConfig, arn: &str) -> (Value, String) {
    let sfn = aws_sdk_sfn::Client::new(sdk);
    let machine = sfn
        .describe_state_machine()
        .state_machine_arn(arn)
        .send()
        .await
        .expect("state machine exists");
    (
        serde_json::from_str(machine.definition()).unwrap(),
        machine.r#type().as_str().to_owned(),
    )
}

/// Every child the state names exists with the settings the example asks for.
async fn assert_children_exist(sdk: &SdkConfig, workflow: &Value) {
    let (main, kind) = definition_of(sdk, &text(&workflow["state_machine_arn"])).await;
    assert_eq!(kind, "STANDARD");
    assert_eq!(main["States"]["ProcessMultiple"]["MaxConcurrency"], 2);
    assert_eq!(
        main.to_string(),
        text(&workflow["definition"]),
        "the state shows the deployed definition"
    );
    let (_, kind) = definition_of(sdk, &text(&workflow["finisher_arn"])).await;
    assert_eq!(kind, "EXPRESS");

    let events = aws_sdk_eventbridge::Client::new(sdk);
    for rule in ["start_rule_name", "finisher_rule_name", "trail_rule_name"] {
        let name = text(&workflow[rule]);
        let described = events
            .describe_rule()
            .name(&name)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(described.event_pattern().unwrap().contains("cookie-report"), "{name}");
        let targets = events.list_targets_by_rule().rule(&name).send().await.unwrap();
        assert_eq!(targets.targets().len(), 1, "{name} has its target");
    }
    let start_targets = events
        .list_targets_by_rule()
        .rule(text(&workflow["start_rule_name"]))
        .send()
        .await
        .unwrap();
    assert_eq!(start_targets.targets()[0].input_path(), Some("$.detail"));

    let lambda = aws_sdk_lambda::Client::new(sdk);
    for listener in LISTENERS {
        let arn = map_value(&workflow["listener_function_arns"], listener);
        let function = lambda
            .get_function()
            .function_name(&arn)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{listener}: {e}"));
        let configuration = function.configuration().unwrap();
        let env = configuration.environment().unwrap().variables().unwrap();
        assert_eq!(env["EVENT_SOURCE"], "cookie-report");
        assert_eq!(env["EVENT_BUS"], "default");
        assert_eq!(env["BUCKET"], text(&workflow["bucket_name"]));
        let command = configuration
            .image_config_response()
            .unwrap()
            .image_config()
            .unwrap()
            .command();
        assert_eq!(command, [listener]);
        let logs = aws_sdk_cloudwatchlogs::Client::new(sdk);
        let group = format!("/aws/lambda/eventdriven-cookie-report-{listener}");
        let groups = logs
            .describe_log_groups()
            .log_group_name_prefix(&group)
            .send()
            .await
            .unwrap();
        assert_eq!(
            groups.log_groups().first().and_then(|g| g.retention_in_days()),
            Some(14),
            "{group}"
        );
        let rule = map_value(&workflow["listener_rule_names"], listener);
        let targets = events.list_targets_by_rule().rule(&rule).send().await.unwrap();
        assert_eq!(targets.targets()[0].arn(), arn);
    }

    let logs = aws_sdk_cloudwatchlogs::Client::new(sdk);
    let group = text(&workflow["trail_log_group"]);
    let groups = logs
        .describe_log_groups()
        .log_group_name_prefix(&group)
        .send()
        .await
        .unwrap();
    let found = groups
        .log_groups()
        .iter()
        .find(|g| g.log_group_name() == Some(group.as_str()))
        .expect("trail log group");
    assert_eq!(found.retention_in_days(), Some(1));
    // The emulator knows only account-level policies, so the group's policy falls back to one.
    let policies = trail_policies(&logs, &group).await;
    assert_eq!(policies.len(), 1, "one policy lets the trail rule write: {policies:?}");
    assert!(
        policies[0].contains(&text(&workflow["trail_rule_name"])),
        "{}",
        policies[0]
    );

    let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(sdk).force_path_style(true).build());
    s3.head_bucket()
        .bucket(text(&workflow["bucket_name"]))
        .send()
        .await
        .expect("bucket exists");
}

/// The documents of the log resource policies, of any scope, that name the trail's group.
async fn trail_policies(logs: &aws_sdk_cloudwatchlogs::Client, group: &str) -> Vec<String> {
    let out = logs.describe_resource_policies().send().await.unwrap();
    out.resource_policies()
        .iter()
        .filter_map(|p| p.policy_document())
        .filter(|document| document.contains(group))
        .map(str::to_owned)
        .collect()
}

/// Nothing the workflow created is left.
async fn assert_children_gone(sdk: &SdkConfig, workflow: &Value) {
    let sfn = aws_sdk_sfn::Client::new(sdk);
    let machines = sfn.list_state_machines().send().await.unwrap();
    let left: Vec<&str> = machines
        .state_machines()
        .iter()
        .map(|m| m.name())
        .filter(|n| n.contains("cookie-report"))
        .collect();
    assert!(left.is_empty(), "state machines left: {left:?}");
    let events = aws_sdk_eventbridge::Client::new(sdk);
    let rules = events
        .list_rules()
        .name_prefix("eventdriven-cookie-report")
        .send()
        .await
        .unwrap();
    assert!(rules.rules().is_empty(), "rules left: {:?}", rules.rules());
    let lambda = aws_sdk_lambda::Client::new(sdk);
    let functions = lambda.list_functions().send().await.unwrap();
    let left: Vec<&str> = functions
        .functions()
        .iter()
        .filter_map(|f| f.function_name())
        .filter(|n| n.contains("cookie-report"))
        .collect();
    assert!(left.is_empty(), "functions left: {left:?}");
    let iam = aws_sdk_iam::Client::new(sdk);
    let roles = iam.list_roles().send().await.unwrap();
    let left: Vec<&str> = roles
        .roles()
        .iter()
        .map(|r| r.role_name())
        .filter(|n| n.contains("cookie-report"))
        .collect();
    assert!(left.is_empty(), "roles left: {left:?}");
    let logs = aws_sdk_cloudwatchlogs::Client::new(sdk);
    let groups = logs
        .describe_log_groups()
        .log_group_name_prefix(text(&workflow["trail_log_group"]))
        .send()
        .await
        .unwrap();
    assert!(groups.log_groups().is_empty(), "log group left");
    let policies = trail_policies(&logs, &text(&workflow["trail_log_group"])).await;
    assert!(policies.is_empty(), "log resource policies left: {policies:?}");
    let groups = logs
        .describe_log_groups()
        .log_group_name_prefix("/aws/lambda/eventdriven-cookie-report")
        .send()
        .await
        .unwrap();
    assert!(
        groups.log_groups().is_empty(),
        "listener log groups left: {:?}",
        groups.log_groups()
    );
    let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(sdk).force_path_style(true).build());
    assert!(
        s3.head_bucket()
            .bucket(text(&workflow["bucket_name"]))
            .send()
            .await
            .is_err(),
        "bucket left"
    );
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs terraform, fakecloud and aws: run tests/acceptance.sh"]
async fn workflow_lifecycle() {
    let emulator = Emulator::start("acc-workflow");
    let sdk = emulator.sdk().await;
    let workspace = Workspace::of_example("cookie-report", "workflow", &emulator, &variables(""));

    let plan = workspace.ok(&["plan", "-input=false"]);
    assert!(
        plan.contains("putEvents.waitForTaskToken"),
        "the plan shows the rendered definition"
    );
    workspace.apply(&[]);
    let workflow = workspace.resource("eventdriven_workflow");
    assert_children_exist(&sdk, &workflow).await;
    assert_eq!(workspace.plan_exit_code().0, 0, "the plan after apply is empty");

    // max_concurrency changes the machine in place: same ARN, new value live.
    std::fs::write(
        workspace.dir.join("terraform.tfvars"),
        variables("max_concurrency = 5\n"),
    )
    .unwrap();
    workspace.apply(&[]);
    let changed = workspace.resource("eventdriven_workflow");
    assert_eq!(changed["state_machine_arn"], workflow["state_machine_arn"]);
    let (main, _) = definition_of(&sdk, &text(&changed["state_machine_arn"])).await;
    assert_eq!(main["States"]["ProcessMultiple"]["MaxConcurrency"], 5);
    assert_eq!(workspace.plan_exit_code().0, 0);

    // A listener deleted outside Terraform is planned back, and comes back alone.
    let lambda = aws_sdk_lambda::Client::new(&sdk);
    let side_effect = map_value(&workflow["listener_function_arns"], "side-effect");
    lambda
        .delete_function()
        .function_name(&side_effect)
        .send()
        .await
        .unwrap();
    let (code, plan) = workspace.plan_exit_code();
    assert_eq!(code, 2, "{plan}");
    assert!(!plan.contains("must be replaced"), "{plan}");
    workspace.apply(&[]);
    lambda
        .get_function()
        .function_name(&side_effect)
        .send()
        .await
        .expect("the listener is back");
    assert_eq!(workspace.plan_exit_code().0, 0);

    // So is the main state machine: the workflow is healed, not dropped from the state.
    let sfn = aws_sdk_sfn::Client::new(&sdk);
    sfn.delete_state_machine()
        .state_machine_arn(text(&workflow["state_machine_arn"]))
        .send()
        .await
        .unwrap();
    let (code, plan) = workspace.plan_exit_code();
    assert_eq!(code, 2, "{plan}");
    assert!(
        !plan.contains("must be replaced") && !plan.contains("will be created"),
        "{plan}"
    );
    assert!(
        plan.contains("deleted outside Terraform") && plan.contains("state_machine_arn"),
        "{plan}"
    );
    workspace.apply(&[]);
    let healed = workspace.resource("eventdriven_workflow");
    definition_of(&sdk, &text(&healed["state_machine_arn"])).await;
    assert_eq!(workspace.plan_exit_code().0, 0);

    // A third... a fourth task updates the machine in place.
    let main_tf = std::fs::read_to_string(workspace.dir.join("main.tf")).unwrap();
    let with_task = main_tf.replacen(
        "  listener {",
        "  task {\n    name        = \"Celebrate\"\n    detail_type = \"celebrate\"\n  }\n\n  listener {",
        1,
    );
    std::fs::write(workspace.dir.join("main.tf"), with_task).unwrap();
    workspace.apply(&[]);
    let (main, _) = definition_of(&sdk, &text(&workflow["state_machine_arn"])).await;
    assert_eq!(main["States"]["PostProcessAll"]["Next"], "Celebrate");
    assert_eq!(
        workspace.resource("eventdriven_workflow")["state_machine_arn"],
        workflow["state_machine_arn"]
    );

    // Import by name rebuilds the state: the plan after it is empty.
    workspace.ok(&["state", "rm", "eventdriven_workflow.cookies"]);
    workspace.ok(&[
        "import",
        "-input=false",
        "eventdriven_workflow.cookies",
        "cookie-report",
    ]);
    // force_destroy is a choice about destroy, not something AWS holds: an import has it false.
    let (code, plan) = workspace.run_plan(&["-var", "force_destroy=false"]);
    assert_eq!(code, 0, "the plan after import is empty: {plan}");

    workspace.ok(&["destroy", "-auto-approve", "-input=false"]);
    assert_children_gone(&sdk, &workflow).await;
}

/// `aws events put-events` with the start event, as a user starts a run.
fn start_run(emulator: &Emulator, detail: &str) {
    put_event(emulator, "cookie-report", "start", detail);
}

fn count(trail: &[Value], detail_type: &str) -> usize {
    trail.iter().filter(|e| e["detailType"] == detail_type).count()
}

async fn object(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Value {
    let found = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{key}: {e}"));
    serde_json::from_slice(&found.body.collect().await.unwrap().into_bytes()).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs terraform, fakecloud, aws and redis-server: run tests/acceptance.sh"]
async fn runs_on_this_machine_report_fail_and_time_out_with_every_event_in_the_trail() {
    let emulator = Emulator::start("acc-workflow-run");
    let sdk = emulator.sdk().await;
    let workspace = Workspace::of_example(
        "cookie-report",
        "workflow-run",
        &emulator,
        &variables("task_timeout_seconds = 10\n"),
    );
    workspace.apply(&[]);
    let workflow = workspace.resource("eventdriven_workflow");
    let machine = text(&workflow["state_machine_arn"]);
    let bucket = text(&workflow["bucket_name"]);
    let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&sdk).force_path_style(true).build());
    let state_dir = workspace.dir.join("local-cloud");

    // A run: the report's total is the sum of the per-person files.
    let cloud = LocalCloud::start(&emulator, &state_dir, &["--image", &handlers_image()]);
    start_run(&emulator, "{}");
    let runs = wait_for_ended(&emulator, &state_dir, 1, Duration::from_secs(60));
    let (name, status) = runs[0].clone();
    assert_eq!(
        status,
        "SUCCEEDED",
        "{}",
        cli(&emulator, &state_dir, &["execution", &name])
    );
    let report = object(&s3, &bucket, &format!("runs/{name}/report.json")).await;
    let people: Vec<String> = serde_json::from_value(report["names"].clone()).unwrap();
    assert_eq!(report["numberOfPeople"], people.len());
    let mut sum = 0;
    for person in &people {
        sum += object(&s3, &bucket, &format!("runs/{name}/people/{person}.json")).await["cookies"]
            .as_u64()
            .unwrap();
    }
    assert_eq!(report["totalCookiesConsumed"], sum);

    // The trail holds every event of the run, side effects' triggers included, in order.
    let arn = execution_arn(&sdk, &machine, &name).await;
    let n = people.len();
    let deadline = Instant::now() + Duration::from_secs(20);
    let events = loop {
        let events = trail(&emulator, &state_dir, &arn);
        if count(&events, "task.finished") >= n + 2 || Instant::now() > deadline {
            break events;
        }
        std::thread::sleep(Duration::from_millis(250));
    };
    // Once each: the emulator's own copy of the run, taken over, leaves nothing in the trail.
    assert_eq!(count(&events, "get.multiple"), 1, "{events:?}");
    assert_eq!(count(&events, "process.single"), n, "{events:?}");
    assert_eq!(count(&events, "process.single.post"), n, "{events:?}");
    assert_eq!(count(&events, "process.all"), 1, "{events:?}");
    assert_eq!(count(&events, "task.finished"), n + 2, "{events:?}");
    // From the start event to the execution's status, the last answer just before it.
    assert_eq!(
        (events[0]["kind"].clone(), events[0]["detailType"].clone()),
        (json!("start"), json!("start"))
    );
    let [.., last_answer, end] = events.as_slice() else {
        panic!("a trail of a start, events and an end: {events:?}")
    };
    assert_eq!(last_answer["detailType"], "task.finished");
    assert_eq!(
        (end["kind"].clone(), end["detailType"].clone()),
        (json!("end"), json!("SUCCEEDED"))
    );
    let emitters: HashSet<&str> = events.iter().filter_map(|e| e["emittedBy"].as_str()).collect();
    assert!(
        emitters.contains("eventdriven-cookie-report-process-single"),
        "{emitters:?}"
    );

    // A listener that fails fails the run with its error and cause, not by the task's timeout
    // (`States.Timeout`): no clock is read, so a slow machine cannot fail this.
    start_run(&emulator, r#"{"failWith":"the cookie jar is empty"}"#);
    let runs = wait_for_ended(&emulator, &state_dir, 2, Duration::from_secs(30));
    let (failed, status) = runs.iter().find(|(n, _)| *n != name).unwrap().clone();
    assert_eq!(status, "FAILED");
    let described = cli(&emulator, &state_dir, &["execution", &failed]);
    assert!(
        described.contains("CookieReportFailed") && described.contains("the cookie jar is empty"),
        "{described}"
    );
    drop(cloud);

    // A listener that exits without answering fails the run at once, as Lambda reports it.
    let exits = format!("{HANDLER_IMAGE}=true");
    let cloud = LocalCloud::start(&emulator, &state_dir, &["--image", &exits]);
    start_run(&emulator, "{}");
    let runs = wait_for_ended(&emulator, &state_dir, 3, Duration::from_secs(40));
    let (exited, status) = runs.iter().find(|(n, _)| *n != name && *n != failed).unwrap().clone();
    assert_eq!(status, "FAILED");
    let described = cli(&emulator, &state_dir, &["execution", &exited]);
    assert!(described.contains("Runtime.ExitError"), "{described}");
    drop(cloud);

    // A listener that never answers fails the run with States.Timeout after timeout_seconds.
    let hangs = workspace.dir.join("never-answers.sh");
    std::fs::write(&hangs, "#!/bin/sh\nexec sleep 600\n").unwrap();
    let status = Command::new("chmod").arg("+x").arg(&hangs).status().unwrap();
    assert!(status.success());
    let never = format!("{HANDLER_IMAGE}={}", hangs.display());
    let cloud = LocalCloud::start(&emulator, &state_dir, &["--image", &never]);
    start_run(&emulator, "{}");
    let runs = wait_for_ended(&emulator, &state_dir, 4, Duration::from_secs(40));
    let known = [name.as_str(), failed.as_str(), exited.as_str()];
    let (timed_out, status) = runs.iter().find(|(n, _)| !known.contains(&n.as_str())).unwrap().clone();
    assert_eq!(status, "FAILED");
    let described = cli(&emulator, &state_dir, &["execution", &timed_out]);
    assert!(described.contains("States.Timeout"), "{described}");
    drop(cloud);

    workspace.ok(&["destroy", "-auto-approve", "-input=false"]);
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs terraform and fakecloud: run tests/acceptance.sh"]
async fn bad_input_names_the_block_and_field() {
    let emulator = Emulator::start("acc-workflow-invalid");
    let workspace = Workspace::of_example(
        "cookie-report",
        "workflow-invalid",
        &emulator,
        &variables("task_timeout_seconds = 0\nname = \"Cookie_Report\"\n"),
    );
    let output = workspace.run(&["plan", "-input=false"]);
    assert!(!output.status.success(), "an invalid workflow must not plan");
    let stderr = String::from_utf8_lossy(&output.stderr);
    for attribute in ["name", "task[0].timeout_seconds", "task[2].timeout_seconds"] {
        assert!(
            stderr.contains(&format!("Invalid {attribute}")),
            "the error names {attribute}: {stderr}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs terraform, fakecloud and aws: run tests/acceptance.sh"]
async fn failed_create_of_a_workflow_names_the_child_and_the_next_apply_recovers() {
    let emulator = Emulator::start("acc-workflow-partial");
    let sdk = emulator.sdk().await;
    // A role with the third listener's role name (listeners go in name order), created out of
    // band, makes the create fail midway: after the bucket, the log groups, the workflow's
    // roles and two listeners.
    let foreign = "eventdriven-cookie-report-l-post-process-single";
    let iam = aws_sdk_iam::Client::new(&sdk);
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    iam.create_role()
        .role_name(foreign)
        .assume_role_policy_document(trust)
        .send()
        .await
        .unwrap();

    let workspace = Workspace::of_example("cookie-report", "workflow-partial", &emulator, &variables(""));
    let output = workspace.try_apply();
    assert!(!output.status.success());
    let stderr = unwrapped(&output.stderr);
    assert!(
        stderr.contains("IAM role (listener)") && stderr.contains(foreign),
        "the error names the child: {stderr}"
    );
    assert!(
        stderr.contains("EntityAlreadyExists"),
        "the error carries AWS's message: {stderr}"
    );

    let partial = workspace.resource("eventdriven_workflow");
    for created in [
        "bucket_name",
        "trail_log_group",
        "finisher_log_group",
        "main_role_arn",
        "finisher_role_arn",
        "events_role_arn",
    ] {
        assert!(
            partial[created].is_string(),
            "{created}: created before the failure, so recorded: {partial}"
        );
    }
    for listener in ["get-multiple", "post-process-all"] {
        for map in ["listener_role_arns", "listener_function_arns", "listener_rule_names"] {
            assert!(
                partial[map][listener].is_string(),
                "{map}.{listener}: recorded: {partial}"
            );
        }
    }
    assert!(
        partial["listener_role_arns"]["post-process-single"].is_null(),
        "the failed child is not recorded: {partial}"
    );
    assert!(partial["state_machine_arn"].is_null(), "nothing after it: {partial}");

    // The next apply replaces the tainted workflow: what the failed attempt left is deleted
    // first, so nothing collides, and the same child fails the same way while the cause stays.
    let again = workspace.try_apply();
    assert!(!again.status.success());
    assert!(unwrapped(&again.stderr).contains(foreign));
    let role = iam.get_role().role_name(foreign).send().await;
    let role = role.expect("the foreign role is untouched").role.unwrap();
    assert!(
        role.assume_role_policy_document()
            .unwrap()
            .contains("ec2.amazonaws.com"),
        "not taken over"
    );

    // Once the cause is gone, the next apply succeeds and leaves nothing to change.
    iam.delete_role().role_name(foreign).send().await.unwrap();
    workspace.apply(&[]);
    let recovered = workspace.resource("eventdriven_workflow");
    assert_children_exist(&sdk, &recovered).await;
    let (code, plan) = workspace.plan_exit_code();
    assert_eq!(code, 0, "nothing left to change: {plan}");
    // One of each: nothing the failed attempts created is left beside the new children.
    let roles = iam.list_roles().send().await.unwrap();
    let roles: Vec<&str> = roles
        .roles()
        .iter()
        .map(|r| r.role_name())
        .filter(|n| n.contains("cookie-report"))
        .collect();
    assert_eq!(roles.len(), 3 + LISTENERS.len(), "{roles:?}");

    workspace.ok(&["destroy", "-auto-approve", "-input=false"]);
    assert_children_gone(&sdk, &recovered).await;
}
