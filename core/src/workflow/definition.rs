//! The workflow's two state machines.
//!
//! The main machine has one state per task: it puts an event on the bus carrying its task token
//! and waits, at most the task's `TimeoutSeconds`, for a listener's answer. The finisher, an
//! express machine started by the answers, hands each answer to Step Functions as the task's
//! success or failure, so a failing listener fails the run at once instead of leaving it waiting.

use serde_json::{Value, json};

use crate::workflow::envelope::{
    CAUSE, DONE_SUFFIX, ERROR, EXECUTION_ID, INPUT, META, RESULT, SIDE_EFFECT_FAILED, STATE, TASK_FAILED, TASK_TOKEN,
};
use crate::workflow::naming::WorkflowNames;
use crate::workflow::rules::{LAMBDA_FAILURE, LAMBDA_SUCCESS};
use crate::workflow::spec::TaskSpec;

/// The suffix of the one state inside a task's Map: state names are unique across a machine.
pub const ITEM_STATE_SUFFIX: &str = "Item";

fn integration(names: &WorkflowNames, api: &str) -> String {
    format!("arn:{}:states:::{api}", names.aws().partition)
}

/// The main state machine: the tasks in order.
pub fn main_definition(names: &WorkflowNames) -> Value {
    let spec = names.spec();
    let mut states = serde_json::Map::new();
    for (i, task) in spec.tasks.iter().enumerate() {
        let mut state = match &task.items_path {
            None => emit_and_wait(names, task),
            Some(items_path) => map_of(names, task, items_path),
        };
        state["ResultPath"] = task.result_path.as_deref().map_or(Value::Null, |path| json!(path));
        match spec.tasks.get(i + 1) {
            Some(next) => state["Next"] = json!(next.name),
            None => state["End"] = json!(true),
        }
        states.insert(task.name.clone(), state);
    }
    json!({
        "Comment": format!(
            "eventdriven workflow {}: each task emits {:?} events and waits for their answer",
            spec.name, spec.event_source
        ),
        "StartAt": spec.tasks.first().map(|t| t.name.as_str()).unwrap_or_default(),
        "States": states,
    })
}

/// A task state: put one event whose detail is the [`Envelope`](super::envelope::Envelope),
/// then wait for its token.
fn emit_and_wait(names: &WorkflowNames, task: &TaskSpec) -> Value {
    let spec = names.spec();
    json!({
        "Type": "Task",
        "Resource": integration(names, "events:putEvents.waitForTaskToken"),
        "Parameters": {
            "Entries": [{
                "EventBusName": spec.event_bus,
                "Source": spec.event_source,
                "DetailType": task.detail_type,
                "Detail": {
                    format!("{TASK_TOKEN}.$"): "$$.Task.Token",
                    format!("{EXECUTION_ID}.$"): "$$.Execution.Id",
                    STATE: task.name,
                    format!("{INPUT}.$"): "$",
                    META: [{
                        "source": spec.event_source,
                        "detailType": task.detail_type,
                        "function": names.state_machine(),
                        "time.$": "$$.State.EnteredTime",
                    }],
                },
            }],
        },
        "TimeoutSeconds": task.timeout_seconds,
    })
}

/// A task with `items_path`: one event per item, each waiting for its own answer.
fn map_of(names: &WorkflowNames, task: &TaskSpec, items_path: &str) -> Value {
    let item_state = format!("{}{ITEM_STATE_SUFFIX}", task.name);
    let mut each = emit_and_wait(names, task);
    each["End"] = json!(true);
    json!({
        "Type": "Map",
        "ItemsPath": items_path,
        "MaxConcurrency": task.max_concurrency,
        "ItemProcessor": {
            "ProcessorConfig": { "Mode": "INLINE" },
            "StartAt": item_state,
            "States": { item_state: each },
        },
    })
}

/// What the main definition embeds of the spec, read back (for import).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmbeddedWorkflow {
    pub event_source: String,
    pub event_bus: String,
    pub tasks: Vec<TaskSpec>,
}

/// Reads the tasks, source and bus back from a main definition [`main_definition`] rendered;
/// `None` for a definition it did not render.
pub fn embedded_workflow(definition: &Value) -> Option<EmbeddedWorkflow> {
    let states = definition["States"].as_object()?;
    let mut tasks = Vec::new();
    let mut next = definition["StartAt"].as_str();
    let mut first_entry = None;
    while let Some(name) = next {
        let state = states.get(name)?;
        let (wait, items_path, max_concurrency) = match state["Type"].as_str()? {
            "Map" => {
                let processor = &state["ItemProcessor"];
                let inner = processor["StartAt"].as_str()?;
                (
                    &processor["States"][inner],
                    state["ItemsPath"].as_str(),
                    state["MaxConcurrency"].as_i64(),
                )
            }
            _ => (state, None, None),
        };
        let entry = &wait["Parameters"]["Entries"][0];
        first_entry.get_or_insert(entry);
        tasks.push(TaskSpec {
            name: name.to_owned(),
            detail_type: entry["DetailType"].as_str()?.to_owned(),
            result_path: state["ResultPath"].as_str().map(str::to_owned),
            timeout_seconds: wait["TimeoutSeconds"].as_i64()?,
            items_path: items_path.map(str::to_owned),
            max_concurrency: max_concurrency.unwrap_or(0),
        });
        next = state["Next"].as_str();
    }
    let entry = first_entry?;
    Some(EmbeddedWorkflow {
        event_source: entry["Source"].as_str()?.to_owned(),
        event_bus: entry["EventBusName"].as_str()?.to_owned(),
        tasks,
    })
}

pub const ANSWER: &str = "Answer";
pub const SEND_TASK_SUCCESS: &str = "SendTaskSuccess";
pub const SEND_TASK_FAILURE: &str = "SendTaskFailure";
pub const LISTENER_FAILED: &str = "ListenerFailed";
const NAMED_FAILURE: &str = "NamedFailure";
const UNNAMED_FAILURE: &str = "UnnamedFailure";
const FAILURE_OF: &str = "FailureOf";
pub const FAIL_LISTENERS_TASK: &str = "FailListenersTask";
pub const SIDE_EFFECT_FAILED_STATE: &str = "SideEffectFailed";
pub const SIDE_EFFECT_SUCCEEDED: &str = "SideEffectSucceeded";
pub const SIDE_EFFECT_DONE: &str = "SideEffectDone";

/// The express finisher, started for every answer and every listener's invocation result:
///
/// - `task.finished` and `task.failed` become `SendTaskSuccess` and `SendTaskFailure`;
/// - a listener that failed (Lambda's failure destination, whatever its runtime or helper) fails
///   its task with the error's type, within seconds rather than at the task's timeout;
/// - a side effect's failure is put as `side_effect.failed`, its success as
///   `<detail type>.done`, and the run goes on.
///
/// Events the platform puts carry two hops: the one the side effect received, and its own,
/// stamped with the invocation's time (JSONPath has no way to append to the whole chain).
pub fn finisher_definition(names: &WorkflowNames) -> Value {
    let detail = |field: &str| format!("$.detail.{field}");
    let request = |field: &str| format!("$.event.detail.requestPayload.detail.{field}");
    let received = "States.ArrayGetItem($.detail.requestPayload.detail.meta, States.MathAdd(States.ArrayLength($.detail.requestPayload.detail.meta), -1))";
    let hop = |detail_type: Value| {
        let mut hop = json!({
            "source": names.spec().event_source,
            "function.$": "States.ArrayGetItem(States.StringSplit($.detail.requestContext.functionArn, ':'), 6)",
            "time.$": "$.detail.timestamp",
        });
        match detail_type {
            Value::String(path) if path.starts_with("States.") => hop["detailType.$"] = json!(path),
            fixed => hop["detailType"] = fixed,
        }
        hop
    };
    let failure = |error: &str, cause: &str| {
        json!({
            "Type": "Pass",
            "Parameters": {
                "error.$": error,
                "cause.$": cause,
                "hop": hop(json!(SIDE_EFFECT_FAILED)),
                "received.$": received,
                "event.$": "$",
            },
            "Next": FAILURE_OF,
        })
    };
    let put_platform_event = |detail_type: Value, extra: Value| {
        let mut entry = json!({
            "EventBusName": names.spec().event_bus,
            "Source": names.spec().event_source,
            "Detail": {
                format!("{EXECUTION_ID}.$"): request(EXECUTION_ID),
                format!("{STATE}.$"): request(STATE),
                format!("{INPUT}.$"): request(INPUT),
                format!("{META}.$"): "States.Array($.received, $.hop)",
            },
        });
        match detail_type {
            Value::String(path) if path.starts_with('$') => entry["DetailType.$"] = json!(path),
            fixed => entry["DetailType"] = fixed,
        }
        if let Value::Object(extra) = extra {
            entry["Detail"].as_object_mut().expect("an object").extend(extra);
        }
        json!({
            "Type": "Task",
            "Resource": integration(names, "events:putEvents"),
            "Parameters": { "Entries": [entry] },
            "End": true,
        })
    };
    json!({
        "Comment": format!("eventdriven workflow {}: answers the tasks of {} and records its side effects", names.spec().name, names.state_machine()),
        "StartAt": ANSWER,
        "States": {
            ANSWER: {
                "Type": "Choice",
                "Choices": [
                    { "Variable": "$.detail-type", "StringEquals": TASK_FAILED, "Next": SEND_TASK_FAILURE },
                    { "Variable": "$.detail-type", "StringEquals": LAMBDA_FAILURE, "Next": LISTENER_FAILED },
                    { "Variable": "$.detail-type", "StringEquals": LAMBDA_SUCCESS, "Next": SIDE_EFFECT_SUCCEEDED },
                ],
                "Default": SEND_TASK_SUCCESS,
            },
            SEND_TASK_SUCCESS: {
                "Type": "Task",
                "Resource": integration(names, "aws-sdk:sfn:sendTaskSuccess"),
                "Parameters": {
                    "TaskToken.$": detail(TASK_TOKEN),
                    "Output.$": format!("States.JsonToString({})", detail(RESULT)),
                },
                "End": true,
            },
            SEND_TASK_FAILURE: {
                "Type": "Task",
                "Resource": integration(names, "aws-sdk:sfn:sendTaskFailure"),
                "Parameters": {
                    "TaskToken.$": detail(TASK_TOKEN),
                    "Error.$": detail(ERROR),
                    "Cause.$": detail(CAUSE),
                },
                "End": true,
            },
            // The error is the exception's type when the runtime names it (every managed
            // runtime does for an exception), else Lambda's kind of failure.
            LISTENER_FAILED: {
                "Type": "Choice",
                "Choices": [{ "Variable": "$.detail.responsePayload.errorType", "IsPresent": true, "Next": NAMED_FAILURE }],
                "Default": UNNAMED_FAILURE,
            },
            NAMED_FAILURE: failure("$.detail.responsePayload.errorType", "States.JsonToString($.detail.responsePayload)"),
            UNNAMED_FAILURE: failure("$.detail.responseContext.functionError", "States.JsonToString($.detail.responseContext)"),
            FAILURE_OF: {
                "Type": "Choice",
                "Choices": [{ "Variable": request(TASK_TOKEN), "IsPresent": true, "Next": FAIL_LISTENERS_TASK }],
                "Default": SIDE_EFFECT_FAILED_STATE,
            },
            FAIL_LISTENERS_TASK: {
                "Type": "Task",
                "Resource": integration(names, "aws-sdk:sfn:sendTaskFailure"),
                "Parameters": {
                    "TaskToken.$": request(TASK_TOKEN),
                    "Error.$": "$.error",
                    "Cause.$": "$.cause",
                },
                "End": true,
            },
            SIDE_EFFECT_FAILED_STATE: put_platform_event(
                json!(SIDE_EFFECT_FAILED),
                json!({ format!("{ERROR}.$"): "$.error", format!("{CAUSE}.$"): "$.cause" }),
            ),
            SIDE_EFFECT_SUCCEEDED: {
                "Type": "Pass",
                "Parameters": {
                    "hop": hop(json!(format!("States.Format('{{}}{DONE_SUFFIX}', $.detail.requestPayload.detail-type)"))),
                    "received.$": received,
                    "event.$": "$",
                },
                "Next": SIDE_EFFECT_DONE,
            },
            SIDE_EFFECT_DONE: put_platform_event(json!("$.hop.detailType"), Value::Null),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::validate_definition;
    use crate::workflow::fixtures;
    use crate::workflow::spec::WorkflowSpec;

    fn main_of(spec: &WorkflowSpec) -> Value {
        main_definition(&WorkflowNames::new(spec, &fixtures::aws()))
    }

    #[test]
    fn both_definitions_are_valid_asl() {
        let spec = fixtures::cookies();
        let aws = fixtures::aws();
        let names = WorkflowNames::new(&spec, &aws);
        assert_eq!(validate_definition(&main_definition(&names)), Ok(()));
        assert_eq!(validate_definition(&finisher_definition(&names)), Ok(()));
    }

    #[test]
    fn tasks_run_in_order_and_every_wait_has_a_timeout() {
        let definition = main_of(&fixtures::cookies());
        let states = &definition["States"];
        assert_eq!(definition["StartAt"], "GetMultiple");
        assert_eq!(states["GetMultiple"]["Next"], "ProcessMultiple");
        assert_eq!(states["ProcessMultiple"]["Next"], "PostProcessAll");
        assert_eq!(states["PostProcessAll"]["End"], true);
        assert_eq!(states["GetMultiple"]["TimeoutSeconds"], 300);
        let item = &states["ProcessMultiple"]["ItemProcessor"]["States"]["ProcessMultipleItem"];
        assert_eq!(item["TimeoutSeconds"], 300);
        assert!(
            item["Resource"]
                .as_str()
                .unwrap()
                .ends_with(":states:::events:putEvents.waitForTaskToken")
        );
    }

    #[test]
    fn the_event_carries_token_execution_state_and_input() {
        let definition = main_of(&fixtures::cookies());
        let entry = &definition["States"]["GetMultiple"]["Parameters"]["Entries"][0];
        assert_eq!(entry["Source"], "cookie-report");
        assert_eq!(entry["DetailType"], "get.multiple");
        assert_eq!(entry["EventBusName"], "default");
        let detail = &entry["Detail"];
        assert_eq!(detail["taskToken.$"], "$$.Task.Token");
        assert_eq!(detail["executionId.$"], "$$.Execution.Id");
        assert_eq!(detail["state"], "GetMultiple");
        assert_eq!(detail["input.$"], "$");
        assert_eq!(detail["meta"][0]["function"], "eventdriven-cookie-report");
    }

    #[test]
    fn result_path_places_the_answer_or_discards_it() {
        let mut spec = fixtures::cookies();
        let definition = main_of(&spec);
        assert_eq!(definition["States"]["GetMultiple"]["ResultPath"], "$.names");
        assert_eq!(definition["States"]["ProcessMultiple"]["ResultPath"], "$.people");
        spec.tasks[1].result_path = None;
        assert_eq!(main_of(&spec)["States"]["ProcessMultiple"]["ResultPath"], Value::Null);
    }

    #[test]
    fn items_path_makes_a_bounded_map_of_one_event_per_item() {
        let mut spec = fixtures::cookies();
        let before = main_of(&spec);
        let map = &before["States"]["ProcessMultiple"];
        assert_eq!(map["Type"], "Map");
        assert_eq!(map["ItemsPath"], "$.names.value");
        assert_eq!(map["MaxConcurrency"], 2);
        spec.tasks[1].max_concurrency = 5;
        let after = main_of(&spec);
        assert_eq!(after["States"]["ProcessMultiple"]["MaxConcurrency"], 5);
        let mut unchanged = after.clone();
        unchanged["States"]["ProcessMultiple"]["MaxConcurrency"] = json!(2);
        assert_eq!(unchanged, before, "max_concurrency changes nothing else");
    }

    #[test]
    fn the_tasks_source_and_bus_read_back_from_the_definition() {
        let mut spec = fixtures::cookies();
        spec.event_bus = "orders".into();
        spec.tasks[0].timeout_seconds = 42;
        let embedded = embedded_workflow(&main_of(&spec)).unwrap();
        assert_eq!(embedded.tasks, spec.tasks);
        assert_eq!(
            (embedded.event_source.as_str(), embedded.event_bus.as_str()),
            ("cookie-report", "orders")
        );
        assert_eq!(embedded_workflow(&json!({ "StartAt": "X", "States": {} })), None);
    }

    #[test]
    fn the_finisher_answers_with_the_events_result_or_failure() {
        let spec = fixtures::cookies();
        let aws = fixtures::aws();
        let definition = finisher_definition(&WorkflowNames::new(&spec, &aws));
        let states = &definition["States"];
        assert_eq!(states[ANSWER]["Choices"][0]["StringEquals"], "task.failed");
        assert_eq!(
            states[SEND_TASK_SUCCESS]["Parameters"]["TaskToken.$"],
            "$.detail.taskToken"
        );
        assert_eq!(
            states[SEND_TASK_SUCCESS]["Parameters"]["Output.$"],
            "States.JsonToString($.detail.result)"
        );
        assert_eq!(states[SEND_TASK_FAILURE]["Parameters"]["Error.$"], "$.detail.error");
        assert_eq!(states[SEND_TASK_FAILURE]["Parameters"]["Cause.$"], "$.detail.cause");
    }
}
