//! The workflow's EventBridge rules: their patterns and targets, and a matcher for the subset of
//! the pattern language they use, so the tests check which events each rule catches and
//! `local-cloud` routes events as the bus would.

use serde_json::{Value, json};

use crate::workflow::envelope::{EXECUTION_ID, INPUT, META, STATE, TASK_FAILED, TASK_FINISHED};
use crate::workflow::spec::{ListenerSpec, WorkflowSpec};

/// Events with this source and the start detail type start a run; the run's input is the detail.
pub fn start_pattern(spec: &WorkflowSpec) -> Value {
    json!({ "source": [spec.event_source], "detail-type": [spec.start_detail_type] })
}

/// What the start rule hands the main machine: the start event's detail.
pub const START_INPUT_PATH: &str = "$.detail";

/// A task's answers, which the finisher turns into task results.
pub fn finisher_pattern(spec: &WorkflowSpec) -> Value {
    json!({ "source": [spec.event_source], "detail-type": [TASK_FINISHED, TASK_FAILED] })
}

/// The source of the events Lambda puts for an asynchronous invocation's destination.
pub const LAMBDA_SOURCE: &str = "lambda";
/// The detail type of a destination's event for an invocation that succeeded.
pub const LAMBDA_SUCCESS: &str = "Lambda Function Invocation Result - Success";
/// The detail type of a destination's event for an invocation that failed (after its retries).
pub const LAMBDA_FAILURE: &str = "Lambda Function Invocation Result - Failure";

/// The listeners' invocation results: Lambda puts them on the workflow's bus (each listener's
/// destinations), and only those of invocations by this workflow's events go to the finisher,
/// which fails the task of a listener that failed and records a side effect's outcome.
pub fn results_pattern(spec: &WorkflowSpec) -> Value {
    json!({
        "source": [LAMBDA_SOURCE],
        "detail-type": [LAMBDA_SUCCESS, LAMBDA_FAILURE],
        "detail": { "requestPayload": { "source": [spec.event_source] } },
    })
}

/// What a side effect's rule passes its function: the event as EventBridge made it, but its
/// detail without the task token, so a side effect can neither answer nor fail the task.
/// EventBridge's input transformer: a path per value, and the template they are put into.
pub fn side_effect_input() -> (Vec<(&'static str, &'static str)>, String) {
    let paths = vec![
        ("id", "$.id"),
        ("detailType", "$.detail-type"),
        ("source", "$.source"),
        ("account", "$.account"),
        ("time", "$.time"),
        ("region", "$.region"),
        ("executionId", "$.detail.executionId"),
        ("state", "$.detail.state"),
        ("input", "$.detail.input"),
        ("meta", "$.detail.meta"),
    ];
    let template = format!(
        r#"{{"version":"0","id":"<id>","detail-type":"<detailType>","source":"<source>","account":"<account>","time":"<time>","region":"<region>","resources":[],"detail":{{"{EXECUTION_ID}":"<executionId>","{STATE}":"<state>","{INPUT}":<input>,"{META}":<meta>}}}}"#
    );
    (paths, template)
}

pub fn listener_pattern(spec: &WorkflowSpec, listener: &ListenerSpec) -> Value {
    json!({ "source": [spec.event_source], "detail-type": listener.detail_types })
}

/// Every event of the workflow, for the trail.
pub fn trail_pattern(spec: &WorkflowSpec) -> Value {
    json!({ "source": [spec.event_source] })
}

/// Whether `event` (an EventBridge event: `source`, `detail-type`, `detail`, …) matches
/// `pattern`. Supports what the workflow's patterns use and a little more: exact values, nested
/// fields, `prefix` and `exists`; any other operator matches nothing.
pub fn matches(pattern: &Value, event: &Value) -> bool {
    let Some(fields) = pattern.as_object() else {
        return false;
    };
    fields.iter().all(|(field, expected)| {
        let actual = event.get(field);
        match expected {
            Value::Object(_) => actual.is_some_and(|actual| matches(expected, actual)),
            Value::Array(allowed) => allowed.iter().any(|allowed| value_matches(allowed, actual)),
            _ => false,
        }
    })
}

fn value_matches(allowed: &Value, actual: Option<&Value>) -> bool {
    let scalar_matches = |predicate: &dyn Fn(&Value) -> bool| match actual {
        Some(Value::Array(values)) => values.iter().any(predicate),
        Some(value) => predicate(value),
        None => false,
    };
    match allowed {
        Value::Object(operator) => match operator.iter().next() {
            Some((name, Value::String(prefix))) if name == "prefix" => {
                scalar_matches(&|v| v.as_str().is_some_and(|v| v.starts_with(prefix.as_str())))
            }
            Some((name, Value::Bool(wanted))) if name == "exists" => actual.is_some() == *wanted,
            _ => false,
        },
        exact => scalar_matches(&|v| v == exact),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workflow::fixtures;

    fn event(source: &str, detail_type: &str) -> Value {
        json!({ "source": source, "detail-type": detail_type, "detail": { "state": "GetMultiple" } })
    }

    /// The listeners whose rules match `event`, by name.
    fn listeners_of(spec: &WorkflowSpec, event: &Value) -> Vec<String> {
        spec.listeners
            .iter()
            .filter(|l| matches(&listener_pattern(spec, l), event))
            .map(|l| l.name.clone())
            .collect()
    }

    #[test]
    fn each_listener_gets_exactly_its_detail_types() {
        let spec = fixtures::cookies();
        let cases = [
            ("get.multiple", vec!["get-multiple"]),
            ("process.single", vec!["process-single"]),
            ("process.single.post", vec!["post-process-single", "side-effect"]),
            ("process.all", vec!["post-process-all"]),
            ("task.finished", vec![]),
            ("start", vec![]),
            ("process", vec![]),
        ];
        for (detail_type, expected) in cases {
            assert_eq!(
                listeners_of(&spec, &event("cookie-report", detail_type)),
                expected,
                "{detail_type}"
            );
        }
        assert!(listeners_of(&spec, &event("someone-else", "get.multiple")).is_empty());
    }

    #[test]
    fn the_finisher_gets_answers_only_and_the_start_rule_only_starts() {
        let spec = fixtures::cookies();
        for (detail_type, finisher, start) in [
            ("task.finished", true, false),
            ("task.failed", true, false),
            ("start", false, true),
            ("get.multiple", false, false),
        ] {
            let event = event("cookie-report", detail_type);
            assert_eq!(matches(&finisher_pattern(&spec), &event), finisher, "{detail_type}");
            assert_eq!(matches(&start_pattern(&spec), &event), start, "{detail_type}");
        }
        assert!(!matches(&finisher_pattern(&spec), &event("other", "task.finished")));
    }

    #[test]
    fn the_trail_gets_every_event_of_the_source_and_nothing_else() {
        let spec = fixtures::cookies();
        for detail_type in ["start", "get.multiple", "task.failed", "anything"] {
            assert!(matches(&trail_pattern(&spec), &event("cookie-report", detail_type)));
        }
        assert!(!matches(&trail_pattern(&spec), &event("cookie", "start")));
    }

    #[test]
    fn the_matcher_follows_eventbridge_on_nested_fields_prefix_and_exists() {
        let event = json!({ "source": "s", "detail": { "key": "input/a.csv", "tags": ["x", "y"] } });
        assert!(matches(
            &json!({ "detail": { "key": [{ "prefix": "input/" }] } }),
            &event
        ));
        assert!(!matches(
            &json!({ "detail": { "key": [{ "prefix": "output/" }] } }),
            &event
        ));
        assert!(matches(&json!({ "detail": { "tags": ["y"] } }), &event));
        assert!(matches(&json!({ "detail": { "size": [{ "exists": false }] } }), &event));
        assert!(!matches(
            &json!({ "detail": { "missing": { "deeper": ["a"] } } }),
            &event
        ));
        assert!(!matches(
            &json!({ "detail": { "key": [{ "suffix": ".csv" }] } }),
            &event
        ));
    }
}
