//! The workflow's finisher as core renders it, run by the interpreter on the invocation records
//! Lambda puts on the bus for a listener's or a side effect's asynchronous invocation, with
//! recording stand-ins for `sendTaskFailure` and `putEvents`: a failed listener fails its task
//! with the exception's type, a side effect's outcome becomes a platform event of two hops.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use eventdriven_core::cluster::AwsContext;
use eventdriven_core::workflow::definition::finisher_definition;
use eventdriven_core::workflow::envelope::SIDE_EFFECT_FAILED;
use eventdriven_core::workflow::fixtures;
use eventdriven_core::workflow::naming::WorkflowNames;
use eventdriven_core::workflow::rules::{LAMBDA_FAILURE, LAMBDA_SUCCESS};
use eventdriven_states::{
    Failure, Integration, Integrations, Interpreter, Resource, StartExecution, Status, TaskRequest, TaskTokens,
};
use serde_json::{Value, json};

const EXECUTION: &str = "arn:aws:states:us-east-1:123456789012:execution:eventdriven-polyglot:run-1";
const RECORDED_AT: &str = "2026-11-23T10:00:02.345Z";

fn aws() -> AwsContext {
    AwsContext {
        account_id: "123456789012".into(),
        region: "us-east-1".into(),
        partition: "aws".into(),
    }
}

/// Every call of the finisher's tasks: (service:action, parameters).
#[derive(Clone, Default)]
struct Calls(Arc<Mutex<Vec<(String, Value)>>>);

#[async_trait]
impl Integration for Calls {
    fn serves(&self, resource: &Resource) -> bool {
        matches!(
            (resource.service.as_str(), resource.action.as_str()),
            ("aws-sdk:sfn", "sendTaskFailure" | "sendTaskSuccess") | ("events", "putEvents")
        )
    }

    async fn call(&self, request: TaskRequest) -> Result<Value, Failure> {
        let api = format!("{}:{}", request.resource.service, request.resource.action);
        self.0.lock().unwrap().push((api, request.parameters));
        Ok(json!({}))
    }
}

/// Runs the finisher on `event` and returns the calls it made.
async fn finish(event: Value) -> Vec<(String, Value)> {
    let spec = fixtures::polyglot();
    let aws = aws();
    let names = WorkflowNames::new(&spec, &aws);
    let calls = Calls::default();
    let interpreter = Interpreter::new(
        Integrations::default().with(calls.clone()),
        TaskTokens::default(),
        "us-east-1",
    );
    let execution = interpreter
        .execute(
            &finisher_definition(&names),
            StartExecution {
                name: "finish-1".into(),
                input: event,
                state_machine_arn: names.finisher_arn(),
                role_arn: String::new(),
                observer: None,
                keep_history: true,
            },
        )
        .await;
    assert_eq!(execution.status, Status::Succeeded, "{:?}", execution.failure);
    calls.0.lock().unwrap().clone()
}

/// The hop of the event the listener got, emitted by the main machine.
fn machine_hop() -> Value {
    json!({"source": "polyglot", "detailType": "order.approve", "function": "eventdriven-polyglot", "time": "2026-11-23T10:00:01.000Z"})
}

/// The task event as the listener `function` received it: with the task token for a listener,
/// without for a side effect (its rule's input transformer drops it).
fn request(token: Option<&str>) -> Value {
    let mut detail = json!({
        "executionId": EXECUTION,
        "state": "Approve",
        "input": {"order": {"id": "o-1"}},
        "meta": [machine_hop()],
    });
    if let Some(token) = token {
        detail["taskToken"] = json!(token);
    }
    json!({
        "version": "0", "id": "e-1", "detail-type": "order.approve", "source": "polyglot",
        "account": "123456789012", "time": "2026-11-23T10:00:01Z", "region": "us-east-1",
        "resources": [], "detail": detail,
    })
}

/// The event Lambda puts on the bus for an invocation of `function` that ended with `response`.
fn destination_event(function: &str, request: Value, response: Result<Value, (Value, Option<&str>)>) -> Value {
    let arn = format!("arn:aws:lambda:us-east-1:123456789012:function:{function}:$LATEST");
    let (detail_type, condition, payload, context) = match response {
        Ok(answer) => (
            LAMBDA_SUCCESS,
            "Success",
            answer,
            json!({"statusCode": 200, "executedVersion": "$LATEST"}),
        ),
        Err((error, function_error)) => (
            LAMBDA_FAILURE,
            "RetriesExhausted",
            error,
            json!({"statusCode": 200, "executedVersion": "$LATEST", "functionError": function_error}),
        ),
    };
    json!({
        "version": "0", "id": "e-2", "detail-type": detail_type, "source": "lambda",
        "account": "123456789012", "time": "2026-11-23T10:00:02Z", "region": "us-east-1",
        "resources": [arn],
        "detail": {
            "version": "1.0",
            "timestamp": RECORDED_AT,
            "requestContext": {"requestId": "r-1", "functionArn": arn, "condition": condition, "approximateInvokeCount": 1},
            "requestPayload": request,
            "responseContext": context,
            "responsePayload": payload,
        },
    })
}

fn key_error() -> Value {
    json!({"errorMessage": "'qty'", "errorType": "KeyError", "stackTrace": ["  File \"/var/task/app.py\""]})
}

/// The one `putEvents` call's one entry.
fn put_entry(calls: &[(String, Value)]) -> Value {
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0].0, "events:putEvents");
    let entries = calls[0].1["Entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1);
    entries[0].clone()
}

#[tokio::test]
async fn a_failed_listener_fails_its_task_with_the_exceptions_type() {
    let event = destination_event(
        "eventdriven-polyglot-enrich",
        request(Some("token-1")),
        Err((key_error(), Some("Unhandled"))),
    );
    let calls = finish(event).await;
    assert_eq!(calls.len(), 1, "{calls:?}");
    let (api, parameters) = &calls[0];
    assert_eq!(api, "aws-sdk:sfn:sendTaskFailure");
    assert_eq!(parameters["TaskToken"], "token-1");
    assert_eq!(parameters["Error"], "KeyError");
    let cause: Value = serde_json::from_str(parameters["Cause"].as_str().unwrap()).unwrap();
    assert_eq!(cause, key_error());
}

#[tokio::test]
async fn a_failed_side_effect_puts_side_effect_failed_with_two_hops() {
    let event = destination_event(
        "eventdriven-polyglot-audit",
        request(None),
        Err((key_error(), Some("Unhandled"))),
    );
    let entry = put_entry(&finish(event).await);
    assert_eq!(entry["Source"], "polyglot");
    assert_eq!(entry["DetailType"], SIDE_EFFECT_FAILED);
    let detail = &entry["Detail"];
    assert_eq!(detail["executionId"], EXECUTION);
    assert_eq!(detail["state"], "Approve");
    assert_eq!(detail["input"], json!({"order": {"id": "o-1"}}));
    assert_eq!(detail["error"], "KeyError");
    assert_eq!(
        serde_json::from_str::<Value>(detail["cause"].as_str().unwrap()).unwrap(),
        key_error()
    );
    assert_eq!(
        detail["meta"],
        json!([
            machine_hop(),
            {"source": "polyglot", "detailType": SIDE_EFFECT_FAILED, "function": "eventdriven-polyglot-audit", "time": RECORDED_AT},
        ])
    );
    assert_eq!(detail.get("taskToken"), None);
}

#[tokio::test]
async fn a_side_effects_success_puts_its_detail_type_done_with_two_hops() {
    let event = destination_event(
        "eventdriven-polyglot-audit",
        request(None),
        Ok(json!({"audited": "o-1"})),
    );
    let entry = put_entry(&finish(event).await);
    assert_eq!(entry["DetailType"], "order.approve.done");
    let detail = &entry["Detail"];
    assert_eq!(detail["state"], "Approve");
    assert_eq!(
        detail["meta"],
        json!([
            machine_hop(),
            {"source": "polyglot", "detailType": "order.approve.done", "function": "eventdriven-polyglot-audit", "time": RECORDED_AT},
        ])
    );
    assert_eq!(detail.get("error"), None);
}

#[tokio::test]
async fn an_error_the_runtime_did_not_name_is_lambdas_kind_of_failure() {
    let timed_out = json!({"errorMessage": "2026-11-23T10:00:02.000Z r-1 Task timed out after 3.00 seconds"});
    let event = destination_event(
        "eventdriven-polyglot-enrich",
        request(Some("token-2")),
        Err((timed_out, Some("Unhandled"))),
    );
    let calls = finish(event).await;
    assert_eq!(calls.len(), 1, "{calls:?}");
    let (api, parameters) = &calls[0];
    assert_eq!(api, "aws-sdk:sfn:sendTaskFailure");
    assert_eq!(parameters["TaskToken"], "token-2");
    assert_eq!(parameters["Error"], "Unhandled");
    let cause: Value = serde_json::from_str(parameters["Cause"].as_str().unwrap()).unwrap();
    assert_eq!(cause["functionError"], "Unhandled");
}
