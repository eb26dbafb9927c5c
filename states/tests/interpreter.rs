//! The interpreter against the AWS documentation's examples of each state type, with scripted
//! integrations standing in for services.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use eventdriven_states::{
    Failure, Integration, Integrations, Interpreter, Resource, StartExecution, Status, TaskRequest, TaskTokens,
    TokenAnswer,
};
use serde_json::{Value, json};

const STATE_MACHINE: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:test";

/// A function of the call's parameters, standing in for a service.
type Script = Arc<dyn Fn(&TaskRequest, usize) -> Result<Value, Failure> + Send + Sync>;

/// Serves every `lambda:invoke` and direct function ARN; counts calls and concurrency.
#[derive(Clone)]
struct Scripted {
    script: Script,
    calls: Arc<AtomicUsize>,
    running: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
    delay: Duration,
    seen: Arc<Mutex<Vec<TaskRequest>>>,
}

impl Scripted {
    fn new(script: impl Fn(&TaskRequest, usize) -> Result<Value, Failure> + Send + Sync + 'static) -> Self {
        Scripted {
            script: Arc::new(script),
            calls: Arc::default(),
            running: Arc::default(),
            peak: Arc::default(),
            delay: Duration::ZERO,
            seen: Arc::default(),
        }
    }

    fn echo() -> Self {
        Scripted::new(|request, _| Ok(request.parameters.clone()))
    }
}

#[async_trait]
impl Integration for Scripted {
    fn serves(&self, resource: &Resource) -> bool {
        resource.service == "lambda"
    }

    async fn call(&self, request: TaskRequest) -> Result<Value, Failure> {
        let call = self.calls.fetch_add(1, Ordering::SeqCst);
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        tokio::time::sleep(self.delay).await;
        self.running.fetch_sub(1, Ordering::SeqCst);
        self.seen.lock().unwrap().push(request.clone());
        (self.script)(&request, call)
    }
}

/// An S3 bucket in memory, serving `s3:getObject` and `s3:putObject`.
#[derive(Clone, Default)]
struct MemoryS3(Arc<Mutex<HashMap<String, String>>>);

#[async_trait]
impl Integration for MemoryS3 {
    fn serves(&self, resource: &Resource) -> bool {
        resource.service == "s3"
    }

    async fn call(&self, request: TaskRequest) -> Result<Value, Failure> {
        let p = &request.parameters;
        let key = format!("{}/{}", p["Bucket"].as_str().unwrap(), p["Key"].as_str().unwrap());
        let mut objects = self.0.lock().unwrap();
        match request.resource.action.as_str() {
            "getObject" => objects
                .get(&key)
                .map(|body| json!({ "Body": body }))
                .ok_or_else(|| Failure::new("S3.NoSuchKeyException", key)),
            "putObject" => {
                objects.insert(key, p["Body"].as_str().unwrap().to_owned());
                Ok(json!({}))
            }
            other => Err(Failure::runtime(other.to_owned())),
        }
    }
}

fn interpreter(integrations: Integrations) -> Interpreter {
    Interpreter::new(integrations, TaskTokens::default(), "us-east-1")
}

fn start(input: Value) -> StartExecution {
    StartExecution {
        name: "exec-1".into(),
        input,
        state_machine_arn: STATE_MACHINE.into(),
        role_arn: "arn:aws:iam::123456789012:role/sfn".into(),
        observer: None,
        keep_history: true,
    }
}

async fn output_of(definition: Value, input: Value, integrations: Integrations) -> Value {
    let execution = interpreter(integrations).execute(&definition, start(input)).await;
    assert_eq!(execution.status, Status::Succeeded, "{:?}", execution.failure);
    execution.output.unwrap()
}

async fn failure_of(definition: Value, input: Value, integrations: Integrations) -> Failure {
    let execution = interpreter(integrations).execute(&definition, start(input)).await;
    assert_eq!(execution.status, Status::Failed, "output {:?}", execution.output);
    execution.failure.unwrap()
}

/// A one-state machine; `End` is set unless the state type ends a machine by itself.
fn single(state: Value) -> Value {
    let mut state = state;
    if !matches!(state["Type"].as_str(), Some("Succeed" | "Fail")) {
        state["End"] = json!(true);
    }
    json!({ "StartAt": "S", "States": { "S": state } })
}

#[tokio::test]
async fn pass_examples_from_the_documentation() {
    let georefs = json!({
        "georefOf": "Home"
    });
    let cases = [
        // Result placed at ResultPath in the input.
        (
            json!({"Type": "Pass", "Result": {"x-datum": 0.381018, "y-datum": 622.2269926397355}, "ResultPath": "$.coords"}),
            georefs.clone(),
            json!({"georefOf": "Home", "coords": {"x-datum": 0.381018, "y-datum": 622.2269926397355}}),
        ),
        // No Result: the input passes through.
        (json!({"Type": "Pass"}), georefs.clone(), georefs.clone()),
        // ResultPath null keeps the input and discards the result.
        (
            json!({"Type": "Pass", "Result": 1, "ResultPath": null}),
            georefs.clone(),
            georefs.clone(),
        ),
        // InputPath and OutputPath null give {}.
        (json!({"Type": "Pass", "InputPath": null}), georefs.clone(), json!({})),
        (json!({"Type": "Pass", "OutputPath": null}), georefs.clone(), json!({})),
        // Parameters with paths, the context object and an intrinsic.
        (
            json!({"Type": "Pass", "Parameters": {"where.$": "$.georefOf", "run.$": "$$.Execution.Name", "msg.$": "States.Format('at {}', $.georefOf)"}}),
            georefs.clone(),
            json!({"where": "Home", "run": "exec-1", "msg": "at Home"}),
        ),
        // InputPath then OutputPath.
        (
            json!({"Type": "Pass", "InputPath": "$.a", "ResultPath": "$.b", "Result": 2, "OutputPath": "$.b"}),
            json!({"a": {"x": 1}}),
            json!(2),
        ),
    ];
    for (state, input, expected) in cases {
        assert_eq!(
            output_of(single(state.clone()), input, Integrations::default()).await,
            expected,
            "{state}"
        );
    }
}

/// The documentation's input/output processing walk-through for a Task.
#[tokio::test]
async fn task_input_and_output_processing() {
    let definition = single(json!({
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "InputPath": "$.library",
        "Parameters": {"FunctionName": "f", "Payload": {"book.$": "$.books[0]", "count.$": "States.ArrayLength($.books)"}},
        "ResultSelector": {"answer.$": "$.Payload"},
        "ResultPath": "$.lambda",
        "OutputPath": "$.lambda.answer"
    }));
    let lambda = Scripted::new(|request, _| Ok(json!({"StatusCode": 200, "Payload": request.parameters["Payload"]})));
    let output = output_of(
        definition,
        json!({"library": {"books": ["a", "b"]}, "other": 1}),
        Integrations::default().with(lambda.clone()),
    )
    .await;
    assert_eq!(output, json!({"book": "a", "count": 2}));
    let seen = lambda.seen.lock().unwrap();
    assert_eq!(seen[0].caller.execution_name, "exec-1");
    assert_eq!(seen[0].caller.state_name, "S");
}

#[tokio::test]
async fn choice_picks_the_first_matching_rule_or_the_default() {
    let definition = json!({
        "StartAt": "Choose",
        "States": {
            "Choose": {
                "Type": "Choice",
                "Choices": [
                    {"Variable": "$.value", "NumericLessThan": 10, "Next": "Small"},
                    {"And": [{"Variable": "$.value", "NumericGreaterThanEquals": 10}, {"Variable": "$.type", "StringEquals": "big"}], "Next": "Big"}
                ],
                "Default": "Other"
            },
            "Small": {"Type": "Pass", "Result": "small", "End": true},
            "Big": {"Type": "Pass", "Result": "big", "End": true},
            "Other": {"Type": "Pass", "Result": "other", "End": true}
        }
    });
    let cases = [
        (json!({"value": 3, "type": "big"}), "small"),
        (json!({"value": 30, "type": "big"}), "big"),
        (json!({"value": 30, "type": "x"}), "other"),
    ];
    for (input, expected) in cases {
        assert_eq!(
            output_of(definition.clone(), input, Integrations::default()).await,
            json!(expected)
        );
    }
    // Without its Default, and the state only the Default led to.
    let mut no_default = definition.clone();
    no_default["States"]["Choose"]
        .as_object_mut()
        .unwrap()
        .remove("Default");
    no_default["States"].as_object_mut().unwrap().remove("Other");
    let failure = failure_of(no_default, json!({"value": 30, "type": "x"}), Integrations::default()).await;
    assert_eq!(failure.error, "States.NoChoiceMatched");
}

#[tokio::test(start_paused = true)]
async fn wait_states_wait_for_seconds_and_paths() {
    let definition = json!({
        "StartAt": "Fixed",
        "States": {
            "Fixed": {"Type": "Wait", "Seconds": 10, "Next": "FromPath"},
            "FromPath": {"Type": "Wait", "SecondsPath": "$.delay", "Next": "Past"},
            "Past": {"Type": "Wait", "Timestamp": "2016-03-14T01:59:00Z", "End": true}
        }
    });
    let before = tokio::time::Instant::now();
    let output = output_of(definition, json!({"delay": 5}), Integrations::default()).await;
    assert_eq!(output, json!({"delay": 5}));
    assert_eq!(before.elapsed().as_secs(), 15);
}

#[tokio::test]
async fn fail_states_fail_with_their_error_and_cause() {
    let fixed = single(json!({"Type": "Fail", "Error": "ErrorA", "Cause": "Kaiju attack"}));
    assert_eq!(
        failure_of(fixed, json!({}), Integrations::default()).await,
        Failure::new("ErrorA", "Kaiju attack")
    );
    let dynamic = single(json!({"Type": "Fail", "ErrorPath": "$.e", "CausePath": "States.Format('cause: {}', $.c)"}));
    assert_eq!(
        failure_of(dynamic, json!({"e": "E1", "c": "x"}), Integrations::default()).await,
        Failure::new("E1", "cause: x")
    );
}

#[tokio::test]
async fn parallel_runs_every_branch_on_the_input_and_keeps_branch_order() {
    // State names are unique in the whole machine, branches included.
    let branch = |name: &str, result: Value| json!({"StartAt": name, "States": {name: {"Type": "Pass", "Result": result, "End": true}}});
    let definition = single(json!({
        "Type": "Parallel",
        "Branches": [branch("First", json!("first")), branch("Second", json!("second")), {"StartAt": "Echo", "States": {"Echo": {"Type": "Pass", "End": true}}}],
        "ResultPath": "$.branches"
    }));
    let output = output_of(definition, json!({"in": 1}), Integrations::default()).await;
    assert_eq!(output, json!({"in": 1, "branches": ["first", "second", {"in": 1}]}));
}

#[tokio::test]
async fn a_failed_branch_fails_the_parallel_state_and_can_be_caught() {
    let failing = json!({"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Boom", "Cause": "branch"}}});
    let definition = json!({
        "StartAt": "Par",
        "States": {
            "Par": {
                "Type": "Parallel",
                "Branches": [failing],
                "Catch": [{"ErrorEquals": ["Boom"], "ResultPath": "$.error", "Next": "Recovered"}],
                "Next": "Done"
            },
            "Recovered": {"Type": "Pass", "End": true},
            "Done": {"Type": "Succeed"}
        }
    });
    let output = output_of(definition, json!({"in": 1}), Integrations::default()).await;
    assert_eq!(output, json!({"in": 1, "error": {"Error": "Boom", "Cause": "branch"}}));
}

/// The documentation's inline Map example: ItemsPath, ItemSelector with the context object.
#[tokio::test]
async fn inline_map_with_item_selector_and_context() {
    let definition = single(json!({
        "Type": "Map",
        "ItemsPath": "$.detail.shipped",
        "ItemSelector": {
            "parcel.$": "$$.Map.Item.Value",
            "index.$": "$$.Map.Item.Index",
            "courier.$": "$.delivery-partner"
        },
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "INLINE"},
            "StartAt": "Ship",
            "States": {"Ship": {"Type": "Pass", "End": true}}
        },
        "ResultPath": "$.detail.shipped"
    }));
    let input = json!({
        "delivery-partner": "UQS",
        "detail": {"shipped": [{"prod": "R31", "quantity": 2}, {"prod": "S39", "quantity": 1}]}
    });
    let output = output_of(definition, input, Integrations::default()).await;
    assert_eq!(
        output["detail"]["shipped"],
        json!([
            {"parcel": {"prod": "R31", "quantity": 2}, "index": 0, "courier": "UQS"},
            {"parcel": {"prod": "S39", "quantity": 1}, "index": 1, "courier": "UQS"}
        ])
    );
}

#[tokio::test]
async fn map_never_runs_more_than_max_concurrency_at_once() {
    for (max, expected_peak) in [(1, 1), (3, 3), (0, 20)] {
        let mut lambda = Scripted::echo();
        lambda.delay = Duration::from_millis(20);
        let definition = single(json!({
            "Type": "Map",
            "MaxConcurrency": max,
            "ItemProcessor": {
                "StartAt": "Call",
                "States": {"Call": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": true}}
            }
        }));
        let items: Vec<Value> = (0..20).map(|i| json!({"i": i})).collect();
        let output = output_of(
            definition,
            Value::Array(items.clone()),
            Integrations::default().with(lambda.clone()),
        )
        .await;
        assert_eq!(output, Value::Array(items), "results keep item order");
        assert_eq!(
            lambda.peak.load(Ordering::SeqCst),
            expected_peak,
            "MaxConcurrency {max}"
        );
    }
}

#[tokio::test]
async fn a_failed_iteration_fails_an_inline_map() {
    let lambda = Scripted::new(|request, _| {
        if request.parameters["i"] == 2 {
            Err(Failure::new("ItemError", "item 2"))
        } else {
            Ok(json!(null))
        }
    });
    let definition = single(json!({
        "Type": "Map",
        "ItemProcessor": {"StartAt": "Call", "States": {"Call": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": true}}}
    }));
    let items: Vec<Value> = (0..4).map(|i| json!({"i": i})).collect();
    let failure = failure_of(definition, Value::Array(items), Integrations::default().with(lambda)).await;
    assert_eq!(failure, Failure::new("ItemError", "item 2"));
}

#[tokio::test(start_paused = true)]
async fn retry_then_catch_follows_the_first_matching_retrier() {
    // Fails twice with a custom error, then once with a timeout-like error only Catch handles.
    let lambda = Scripted::new(|_, call| match call {
        0 | 1 => Err(Failure::new("Transient", "try again")),
        _ => Err(Failure::new("Fatal", "give up")),
    });
    let definition = json!({
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Retry": [
                    {"ErrorEquals": ["Transient"], "IntervalSeconds": 3, "MaxAttempts": 2, "BackoffRate": 2.0},
                    {"ErrorEquals": ["States.ALL"], "MaxAttempts": 0}
                ],
                "Catch": [
                    {"ErrorEquals": ["Other"], "Next": "Wrong"},
                    {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Handled"}
                ],
                "End": true
            },
            "Wrong": {"Type": "Fail", "Error": "wrong catcher"},
            "Handled": {"Type": "Pass", "End": true}
        }
    });
    let before = tokio::time::Instant::now();
    let output = output_of(
        definition,
        json!({"in": 1}),
        Integrations::default().with(lambda.clone()),
    )
    .await;
    assert_eq!(
        output,
        json!({"in": 1, "error": {"Error": "Fatal", "Cause": "give up"}})
    );
    assert_eq!(lambda.calls.load(Ordering::SeqCst), 3);
    // 3 s, then 3 * 2 = 6 s.
    assert_eq!(before.elapsed().as_secs(), 9);
}

#[tokio::test(start_paused = true)]
async fn retry_count_and_max_delay_reach_the_context() {
    let lambda = Scripted::new(|request, call| {
        if call < 3 {
            Err(Failure::task_failed("again"))
        } else {
            Ok(request.parameters.clone())
        }
    });
    let definition = single(json!({
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"retries.$": "$$.State.RetryCount"},
        "Retry": [{"ErrorEquals": ["States.TaskFailed"], "IntervalSeconds": 10, "BackoffRate": 10.0, "MaxAttempts": 5, "MaxDelaySeconds": 15}]
    }));
    let before = tokio::time::Instant::now();
    let output = output_of(definition, json!({}), Integrations::default().with(lambda)).await;
    assert_eq!(output, json!({"retries": 3}));
    // 10 s, then 100 and 1000 capped at 15 s.
    assert_eq!(before.elapsed().as_secs(), 40);
}

#[tokio::test(start_paused = true)]
async fn task_failed_does_not_match_a_timeout_and_runtime_errors_are_never_caught() {
    let mut slow = Scripted::echo();
    slow.delay = Duration::from_secs(60);
    let definition = single(json!({
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "TimeoutSeconds": 5,
        "Retry": [{"ErrorEquals": ["States.TaskFailed"], "MaxAttempts": 3}]
    }));
    let failure = failure_of(definition, json!({}), Integrations::default().with(slow.clone())).await;
    assert_eq!(failure.error, "States.Timeout");
    assert_eq!(
        slow.calls.load(Ordering::SeqCst),
        1,
        "States.TaskFailed must not retry a timeout"
    );

    let runtime = single(json!({
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "InputPath": "$.missing",
        "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Never"}]
    }));
    let mut runtime = runtime;
    runtime["States"]["Never"] = json!({"Type": "Succeed"});
    let failure = failure_of(runtime, json!({}), Integrations::default().with(Scripted::echo())).await;
    assert_eq!(failure.error, "States.Runtime");
}

#[tokio::test]
async fn a_resource_without_integration_fails_clearly() {
    let definition = single(json!({"Type": "Task", "Resource": "arn:aws:states:::glue:startJobRun.sync"}));
    let failure = failure_of(definition, json!({}), Integrations::default()).await;
    assert_eq!(failure.error, "States.Runtime");
    assert!(failure.cause.contains("glue:startJobRun.sync"), "{}", failure.cause);
}

/// Sends the token back through the shared registry, as a listener calling SendTaskSuccess would.
#[derive(Clone)]
struct Answering {
    tokens: TaskTokens,
    heartbeats: usize,
    answer: Option<Result<Value, Failure>>,
}

#[async_trait]
impl Integration for Answering {
    fn serves(&self, resource: &Resource) -> bool {
        resource.service == "events"
    }

    async fn call(&self, request: TaskRequest) -> Result<Value, Failure> {
        let token = request.parameters["Entries"][0]["Detail"]["TaskToken"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(Some(token.as_str()), request.token.as_deref());
        let (tokens, heartbeats, answer) = (self.tokens.clone(), self.heartbeats, self.answer.clone());
        tokio::spawn(async move {
            for _ in 0..heartbeats {
                tokio::time::sleep(Duration::from_secs(8)).await;
                tokens.answer(&token, TokenAnswer::Heartbeat).unwrap();
            }
            match answer {
                Some(Ok(output)) => tokens.answer(&token, TokenAnswer::Success(output)).unwrap(),
                Some(Err(failure)) => tokens.answer(&token, TokenAnswer::Failure(failure)).unwrap(),
                None => {}
            }
        });
        Ok(json!({"Entries": [{"EventId": "1"}]}))
    }
}

#[tokio::test(start_paused = true)]
async fn wait_for_task_token_takes_the_answer_and_honours_heartbeats() {
    let definition = single(json!({
        "Type": "Task",
        "Resource": "arn:aws:states:::events:putEvents.waitForTaskToken",
        "HeartbeatSeconds": 10,
        "Parameters": {"Entries": [{"Detail": {"TaskToken.$": "$$.Task.Token"}, "DetailType": "t", "Source": "s"}]},
        "ResultPath": "$.answer"
    }));
    let tokens = TaskTokens::default();
    let answering = |heartbeats, answer| Answering {
        tokens: tokens.clone(),
        heartbeats,
        answer,
    };
    let run = |integration: Answering| {
        let definition = definition.clone();
        let tokens = tokens.clone();
        async move {
            Interpreter::new(Integrations::default().with(integration), tokens, "us-east-1")
                .execute(&definition, start(json!({"in": 1})))
                .await
        }
    };
    // Three heartbeats 8 s apart keep a 10 s heartbeat window open for 24 s.
    let done = run(answering(3, Some(Ok(json!("ok"))))).await;
    assert_eq!(done.output, Some(json!({"in": 1, "answer": "ok"})));
    let failed = run(answering(0, Some(Err(Failure::new("ListenerFailed", "no cookies"))))).await;
    assert_eq!(failed.failure, Some(Failure::new("ListenerFailed", "no cookies")));
    let lost = run(answering(0, None)).await;
    assert_eq!(lost.failure.unwrap().error, "States.HeartbeatTimeout");
}

#[tokio::test]
async fn distributed_map_reads_csv_batches_tolerates_failures_and_writes_results() {
    let s3 = MemoryS3::default();
    s3.0.lock()
        .unwrap()
        .insert("in/items.csv".into(), "id,name\n1,a\n2,b\n3,c\n4,d\n5,e\n".into());
    let lambda = Scripted::new(|request, _| {
        let items = request.parameters["Items"].as_array().unwrap();
        if items.iter().any(|i| i["name"] == "e") {
            Err(Failure::new("Bad", "e"))
        } else {
            Ok(json!(items.len()))
        }
    });
    let definition = single(json!({
        "Type": "Map",
        "ItemReader": {
            "Resource": "arn:aws:states:::s3:getObject",
            "ReaderConfig": {"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW"},
            "Parameters": {"Bucket": "in", "Key.$": "$.key"}
        },
        "ItemBatcher": {"MaxItemsPerBatch": 2, "BatchInput": {"run.$": "$$.Execution.Name"}},
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "Call",
            "States": {"Call": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": true}}
        },
        "ToleratedFailurePercentage": 40,
        "ResultWriter": {"Resource": "arn:aws:states:::s3:putObject", "Parameters": {"Bucket": "out", "Prefix": "results"}}
    }));
    let integrations = Integrations::default().with(lambda.clone()).with(s3.clone());
    let output = output_of(definition.clone(), json!({"key": "items.csv"}), integrations.clone()).await;
    assert_eq!(output["ResultWriterDetails"]["Bucket"], "out");
    let manifest_key = format!("out/{}", output["ResultWriterDetails"]["Key"].as_str().unwrap());
    let objects = s3.0.lock().unwrap().clone();
    let manifest: Value = serde_json::from_str(&objects[&manifest_key]).unwrap();
    let succeeded_key = manifest["ResultFiles"]["SUCCEEDED"][0]["Key"].as_str().unwrap();
    let succeeded: Value = serde_json::from_str(&objects[&format!("out/{succeeded_key}")]).unwrap();
    assert_eq!(succeeded.as_array().unwrap().len(), 2, "two batches of two succeeded");
    assert_eq!(manifest["ResultFiles"]["FAILED"].as_array().unwrap().len(), 1);
    let first_batch = &lambda
        .seen
        .lock()
        .unwrap()
        .iter()
        .find(|r| r.parameters["Items"][0]["id"] == "1")
        .cloned()
        .unwrap()
        .parameters;
    assert_eq!(first_batch["BatchInput"], json!({"run": "exec-1"}));
    assert_eq!(
        first_batch["Items"],
        json!([{"id": "1", "name": "a"}, {"id": "2", "name": "b"}])
    );

    // Failures count in items: the failed batch holds one item of five, 20%. Tolerating 10%
    // fails the Map, even with a count threshold that alone would tolerate it.
    let mut strict = definition;
    strict["States"]["S"]["ToleratedFailurePercentage"] = json!(10);
    strict["States"]["S"]["ToleratedFailureCount"] = json!(3);
    let failure = failure_of(strict, json!({"key": "items.csv"}), integrations).await;
    assert_eq!(failure.error, "States.ExceedToleratedFailureThreshold");
}

#[tokio::test]
async fn history_records_each_step_in_the_api_shapes() {
    let definition = json!({
        "StartAt": "Call",
        "States": {
            "Call": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"x": 1}, "Next": "Fan"},
            "Fan": {
                "Type": "Map",
                "ItemsPath": "$.list",
                "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}},
                "End": true
            }
        }
    });
    let lambda = Scripted::new(|_, _| Ok(json!({"list": [1, 2]})));
    let execution = interpreter(Integrations::default().with(lambda))
        .execute(&definition, start(json!({})))
        .await;
    let kinds: Vec<&str> = execution.history.iter().map(|e| e.kind.as_str()).collect();
    for expected in [
        "ExecutionStarted",
        "TaskStateEntered",
        "TaskScheduled",
        "TaskStarted",
        "TaskSucceeded",
        "TaskStateExited",
        "MapStateEntered",
        "MapStateStarted",
        "MapIterationStarted",
        "PassStateEntered",
        "MapIterationSucceeded",
        "MapStateSucceeded",
        "MapStateExited",
        "ExecutionSucceeded",
    ] {
        assert!(kinds.contains(&expected), "{expected} missing from {kinds:?}");
    }
    let scheduled =
        serde_json::to_value(execution.history.iter().find(|e| e.kind == "TaskScheduled").unwrap()).unwrap();
    assert_eq!(scheduled["taskScheduledEventDetails"]["resourceType"], "lambda");
    assert_eq!(scheduled["taskScheduledEventDetails"]["resource"], "invoke");
    assert_eq!(scheduled["taskScheduledEventDetails"]["parameters"], "{\"x\":1}");
    let ids: Vec<u64> = execution.history.iter().map(|e| e.id).collect();
    assert_eq!(ids, (1..=ids.len() as u64).collect::<Vec<_>>());
    assert!(execution.history.iter().all(|e| e.previous_event_id < e.id));
    assert_eq!(
        execution.execution_arn,
        "arn:aws:states:us-east-1:123456789012:execution:test:exec-1"
    );
}

#[tokio::test]
async fn invalid_definitions_fail_before_running() {
    let cases = [
        (json!({"StartAt": "X", "States": {}}), "StartAt"),
        (
            json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}}}),
            "\"B\"",
        ),
        (
            json!({"StartAt": "A", "States": {"A": {"Type": "Pass"}}}),
            "Next and End",
        ),
        (
            json!({"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": true,
                "Retry": [{"ErrorEquals": ["States.ALL", "X"]}]}}}),
            "States.ALL",
        ),
        (
            json!({"StartAt": "A", "QueryLanguage": "JSONata", "States": {"A": {"Type": "Succeed"}}}),
            "JSONata",
        ),
        // A Choice rule is checked with the definition, not when the state is reached.
        (
            json!({"StartAt": "A", "States": {
                "A": {"Type": "Pass", "Next": "Choose"},
                "Choose": {"Type": "Choice", "Choices": [{"Variable": "$.x", "NumericIsAbout": 1, "Next": "Done"}], "Default": "Done"},
                "Done": {"Type": "Succeed"}
            }}),
            "States.Choose: invalid Choice rule",
        ),
        (
            json!({"StartAt": "A", "States": {"A": {"Type": "Succeed"}, "Orphan": {"Type": "Succeed"}}}),
            "States.Orphan",
        ),
    ];
    for (definition, expected) in cases {
        let failure = failure_of(definition.clone(), json!({}), Integrations::default()).await;
        assert_eq!(failure.error, "States.Runtime");
        assert!(failure.cause.contains(expected), "{definition}: {}", failure.cause);
    }
}

#[tokio::test(start_paused = true)]
async fn an_execution_timeout_stops_the_run() {
    let definition =
        json!({"TimeoutSeconds": 5, "StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 60, "End": true}}});
    let execution = interpreter(Integrations::default())
        .execute(&definition, start(json!({})))
        .await;
    assert_eq!(execution.status, Status::TimedOut);
    assert_eq!(execution.history.last().unwrap().kind, "ExecutionTimedOut");
}

#[tokio::test]
async fn a_function_arn_resource_has_lambda_function_events_and_its_answer_as_result() {
    let definition = single(
        json!({"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:f", "Parameters": {"x": 1}}),
    );
    let execution = interpreter(Integrations::default().with(Scripted::echo()))
        .execute(&definition, start(json!({})))
        .await;
    assert_eq!(execution.output, Some(json!({"x": 1})));
    let kinds: Vec<&str> = execution.history.iter().map(|e| e.kind.as_str()).collect();
    assert!(
        kinds.contains(&"LambdaFunctionScheduled") && kinds.contains(&"LambdaFunctionSucceeded"),
        "{kinds:?}"
    );
    let scheduled = execution
        .history
        .iter()
        .find(|e| e.kind == "LambdaFunctionScheduled")
        .unwrap();
    assert_eq!(
        scheduled.details()["resource"],
        "arn:aws:lambda:us-east-1:123456789012:function:f"
    );
}

#[tokio::test]
async fn a_payload_over_256_kib_fails_with_data_limit_exceeded() {
    let limit = eventdriven_states::limits::PAYLOAD_LIMIT_BYTES as usize;
    // The JSON string's quotes make it two bytes longer than its text.
    let at_limit = json!("x".repeat(limit - 2));
    let over = json!("x".repeat(limit - 1));
    let pass = |result: &Value| single(json!({ "Type": "Pass", "Result": result }));
    assert_eq!(
        output_of(pass(&at_limit), json!({}), Integrations::default()).await,
        at_limit
    );
    let failure = failure_of(pass(&over), json!({}), Integrations::default()).await;
    assert_eq!(failure.error, "States.DataLimitExceeded");
    assert!(
        failure.cause.contains("the output of \"S\" is 262145 bytes"),
        "{}",
        failure.cause
    );

    // A task's result counts even when ResultPath discards it, and no Catch-all catches it.
    let mut task = single(json!({
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "ResultPath": null,
        "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Never"}]
    }));
    task["States"]["Never"] = json!({"Type": "Succeed"});
    let big = Scripted::new(move |_, _| Ok(json!("x".repeat(limit))));
    let failure = failure_of(task, json!({}), Integrations::default().with(big)).await;
    assert_eq!(failure.error, "States.DataLimitExceeded");
    assert!(
        failure.cause.contains("the result of the task \"S\""),
        "{}",
        failure.cause
    );
}
