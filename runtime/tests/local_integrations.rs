//! The local integrations with real processes: `states run` from the command line, the
//! list-chunks function answering through a loopback Lambda Runtime API with a real Redis, and
//! the pipeline's own definition run with its Jobs as processes.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use eventdriven_runtime::local::images::ImageMap;
use eventdriven_runtime::local::lambda_process::{FunctionSource, LocalFunction, LocalLambda};
use eventdriven_runtime::progress::ProgressStore;
use eventdriven_states::{Caller, Failure, Integration, Resource, TaskRequest};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_eventdriven");
const REDIS: &str = "redis://127.0.0.1:6379";

fn states_run(dir: &Path, definition: Value, input: Value) -> (i32, Value) {
    std::fs::write(dir.join("definition.json"), definition.to_string()).unwrap();
    std::fs::write(dir.join("input.json"), input.to_string()).unwrap();
    let output = Command::new(BIN)
        .args([
            "states",
            "run",
            "definition.json",
            "--input",
            "input.json",
            "--history",
            "history.json",
        ])
        .current_dir(dir)
        .output()
        .unwrap();
    let printed = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
    (output.status.code().unwrap(), printed)
}

#[test]
fn states_run_prints_the_output_or_the_error_and_writes_the_history() {
    let dir = tempfile::tempdir().unwrap();
    let pass = json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": {"sum.$": "States.MathAdd($.a, 1)"}, "End": true}}});
    assert_eq!(states_run(dir.path(), pass, json!({"a": 41})), (0, json!({"sum": 42})));
    let history: Value = serde_json::from_slice(&std::fs::read(dir.path().join("history.json")).unwrap()).unwrap();
    let kinds: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "ExecutionStarted",
            "PassStateEntered",
            "PassStateExited",
            "ExecutionSucceeded"
        ]
    );

    let fail = json!({"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Oops", "Cause": "why"}}});
    assert_eq!(
        states_run(dir.path(), fail, json!({})),
        (1, json!({"error": "Oops", "cause": "why"}))
    );

    let unknown = json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::glue:startJobRun.sync", "End": true}}});
    let (code, printed) = states_run(dir.path(), unknown, json!({}));
    assert_eq!(code, 1);
    assert!(
        printed["cause"].as_str().unwrap().contains("no local integration"),
        "{printed}"
    );
}

#[test]
fn a_job_with_an_unmapped_image_fails_with_how_to_map_it() {
    let dir = tempfile::tempdir().unwrap();
    let job = json!({"StartAt": "J", "States": {"J": {"Type": "Task", "Resource": "arn:aws:states:::eks:runJob.sync",
        "Parameters": {"Job": {"metadata": {"name": "j"}, "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "nginx:1"}]}}}}},
        "End": true}}});
    let (code, printed) = states_run(dir.path(), job, json!({}));
    assert_eq!(code, 1);
    assert!(
        printed["cause"].as_str().unwrap().contains("--image nginx=COMMAND"),
        "{printed}"
    );
}

#[test]
fn split_derives_a_run_id_when_none_is_given() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.csv");
    common::generated(&input, 10, 1);
    let output = Command::new(BIN)
        .args(["split", "--input"])
        .arg(&input)
        .arg("--work-dir")
        .arg(dir.path().join("work"))
        .env_remove("RUN_ID")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let run_id = stderr
        .split("run id: ")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap();
    assert!(dir.path().join("work").join(run_id).join("manifest.json").exists());
}

/// The deployed function: this binary's `lambda` entrypoint on the Redis at `.0`.
struct ListChunksFunction(&'static str);

#[async_trait::async_trait]
impl FunctionSource for ListChunksFunction {
    async fn function(&self, name: &str) -> Result<LocalFunction, Failure> {
        let images = ImageMap::new(BIN.into(), &[]).unwrap();
        Ok(LocalFunction {
            arn: format!("arn:aws:lambda:us-east-1:123456789012:function:{name}"),
            command: images.lambda_command("eventdriven-lambda:1").unwrap(),
            env: BTreeMap::from([("REDIS_URL".to_owned(), self.0.to_owned())]),
            timeout: Duration::from_secs(20),
        })
    }
}

fn invoke_request(payload: Value) -> TaskRequest {
    TaskRequest {
        resource: Resource::parse("arn:aws:states:::lambda:invoke").unwrap(),
        parameters: json!({"FunctionName": "list-chunks", "Payload": payload}),
        token: None,
        caller: Caller {
            execution_name: "e".into(),
            execution_arn: "arn".into(),
            state_name: "ListChunks".into(),
            retry_count: 0,
        },
    }
}

#[tokio::test]
async fn the_lambda_answers_through_a_local_runtime_api_in_the_invoke_envelope() {
    let run_id = format!("local-lambda-{}", std::process::id());
    let store = ProgressStore::open(REDIS, None).await.unwrap();
    store
        .replace(&run_id, &["000001-3".parse().unwrap(), "000000-2".parse().unwrap()])
        .await
        .unwrap();
    let lambda = LocalLambda {
        functions: Arc::new(ListChunksFunction(REDIS)),
        env: Default::default(),
    };
    let answer = lambda.call(invoke_request(json!({"run_id": run_id}))).await.unwrap();
    assert_eq!(answer["StatusCode"], 200);
    assert_eq!(answer["ExecutedVersion"], "$LATEST");
    assert_eq!(answer["Payload"]["chunks"], json!(["000000-2", "000001-3"]));

    // A handler error is the task's error, with the function's error as the cause.
    let failure = lambda.call(invoke_request(json!({"no": "run id"}))).await.unwrap_err();
    assert_eq!(failure.error, eventdriven_runtime::lambda::ERROR_TYPE);
    assert!(failure.cause.contains("run_id"), "{failure:?}");
}

#[tokio::test]
async fn a_function_that_exits_before_answering_fails_as_lambda_names_it() {
    let lambda = LocalLambda {
        functions: Arc::new(ListChunksFunction("redis://127.0.0.1:1")),
        env: Default::default(),
    };
    let failure = lambda.call(invoke_request(json!({"run_id": "r"}))).await.unwrap_err();
    assert_eq!(failure.error, "Runtime.ExitError", "{failure:?}");
    assert!(
        failure.cause.contains("Redis"),
        "the cause carries the function's message: {failure:?}"
    );
}
