//! Structural checks of an Amazon States Language definition, for core's unit tests.
//!
//! At apply, the provider has Step Functions itself validate each definition
//! (`ValidateStateMachineDefinition`). Some mistakes pass that check (a path that reads nothing,
//! a state nothing reaches); these checks catch them in core's tests, without AWS.

use std::collections::HashSet;

use serde_json::{Map, Value};

/// Optimized integrations a Task may use, after `arn:<partition>:states:::`.
const INTEGRATIONS: &[&str] = &[
    "lambda:invoke",
    "eks:runJob",
    "eks:runJob.sync",
    "eks:call",
    "events:putEvents.waitForTaskToken",
    "aws-sdk:sfn:sendTaskSuccess",
    "aws-sdk:sfn:sendTaskFailure",
];
const STATE_TYPES: &[&str] = &["Task", "Pass", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map"];
const PATH_FIELDS: &[&str] = &["InputPath", "OutputPath", "ResultPath", "ItemsPath"];

/// Checks `definition` and returns every problem found, each prefixed with where it is.
pub fn validate_definition(definition: &Value) -> Result<(), Vec<String>> {
    let mut errors = Vec::new();
    check_machine(definition, "", &mut errors);
    check_evaluated_values(definition, "", &mut errors);
    if errors.is_empty() { Ok(()) } else { Err(errors) }
}

/// A state machine: the definition itself, a Map's ItemProcessor or a Parallel branch.
fn check_machine(machine: &Value, at: &str, errors: &mut Vec<String>) {
    let Some(states) = machine.get("States").and_then(Value::as_object) else {
        errors.push(format!("{at}States: missing or not an object"));
        return;
    };
    let start = machine.get("StartAt").and_then(Value::as_str);
    match start {
        None => errors.push(format!("{at}StartAt: missing")),
        Some(start) if !states.contains_key(start) => {
            errors.push(format!("{at}StartAt: {start:?} is not a state"));
        }
        Some(start) => {
            let reachable = reachable(start, states);
            for name in states.keys().filter(|name| !reachable.contains(name.as_str())) {
                errors.push(format!("{at}States.{name}: not reachable from StartAt"));
            }
        }
    }
    for (name, state) in states {
        check_state(state, states, &format!("{at}States.{name}"), errors);
    }
}

fn reachable<'a>(start: &'a str, states: &'a Map<String, Value>) -> HashSet<&'a str> {
    let mut seen = HashSet::from([start]);
    let mut pending = vec![start];
    while let Some(name) = pending.pop() {
        for target in states.get(name).map(transitions).unwrap_or_default() {
            if states.contains_key(target) && seen.insert(target) {
                pending.push(target);
            }
        }
    }
    seen
}

/// Every state a state may hand over to: Next, a Choice's rules and Default, and Catchers.
fn transitions(state: &Value) -> Vec<&str> {
    let rules = ["Choices", "Catch"]
        .into_iter()
        .filter_map(|field| state.get(field).and_then(Value::as_array))
        .flatten()
        .filter_map(|rule| rule.get("Next"));
    ["Next", "Default"]
        .into_iter()
        .filter_map(|field| state.get(field))
        .chain(rules)
        .filter_map(Value::as_str)
        .collect()
}

fn check_state(state: &Value, states: &Map<String, Value>, at: &str, errors: &mut Vec<String>) {
    let kind = state.get("Type").and_then(Value::as_str).unwrap_or_default();
    if !STATE_TYPES.contains(&kind) {
        errors.push(format!("{at}.Type: {kind:?} is not a state type"));
    }
    let has_next = state.get("Next").is_some();
    let ends = state.get("End") == Some(&Value::Bool(true));
    match kind {
        "Succeed" | "Fail" | "Choice" if has_next || ends => {
            errors.push(format!("{at}: a {kind} state takes neither Next nor End"));
        }
        "Succeed" | "Fail" | "Choice" => {}
        _ if has_next == ends => errors.push(format!("{at}: needs exactly one of Next and End")),
        _ => {}
    }
    for target in transitions(state).into_iter().filter(|t| !states.contains_key(*t)) {
        errors.push(format!("{at}: transition to {target:?}, which is not a state"));
    }
    for field in PATH_FIELDS {
        match state.get(*field) {
            None | Some(Value::Null) => {}
            Some(Value::String(path)) if path.starts_with('$') => {}
            Some(other) => errors.push(format!("{at}.{field}: {other} is not a path")),
        }
    }
    check_retries(state, at, errors);
    match kind {
        "Task" => check_resource(state, at, errors),
        "Map" => check_map(state, at, errors),
        "Parallel" => check_branches(state, at, errors),
        _ => {}
    }
}

fn check_resource(state: &Value, at: &str, errors: &mut Vec<String>) {
    let resource = state.get("Resource").and_then(Value::as_str).unwrap_or_default();
    let known = resource
        .strip_prefix("arn:")
        .and_then(|rest| rest.split_once(":states:::"))
        .is_some_and(|(partition, api)| {
            !partition.is_empty() && !partition.contains(':') && INTEGRATIONS.contains(&api)
        });
    if !known {
        errors.push(format!("{at}.Resource: {resource:?} is not a known integration"));
    }
}

fn check_map(state: &Value, at: &str, errors: &mut Vec<String>) {
    match state.get("ItemProcessor") {
        Some(processor) => check_machine(processor, &format!("{at}.ItemProcessor."), errors),
        None => errors.push(format!("{at}: a Map needs an ItemProcessor")),
    }
    if let Some(limit) = state.get("MaxConcurrency")
        && limit.as_u64().is_none()
    {
        errors.push(format!("{at}.MaxConcurrency: {limit} is not a non-negative integer"));
    }
}

fn check_branches(state: &Value, at: &str, errors: &mut Vec<String>) {
    match state.get("Branches").and_then(Value::as_array) {
        Some(branches) if !branches.is_empty() => {
            for (i, branch) in branches.iter().enumerate() {
                check_machine(branch, &format!("{at}.Branches[{i}]."), errors);
            }
        }
        _ => errors.push(format!("{at}: a Parallel needs Branches")),
    }
}

fn check_retries(state: &Value, at: &str, errors: &mut Vec<String>) {
    for (i, retry) in state
        .get("Retry")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let at = format!("{at}.Retry[{i}]");
        check_error_equals(retry, &at, errors);
        let positive = |field: &str| retry.get(field).is_none_or(|v| v.as_u64().is_some_and(|n| n >= 1));
        if !positive("IntervalSeconds") {
            errors.push(format!("{at}.IntervalSeconds: must be a positive integer"));
        }
        if retry.get("MaxAttempts").is_some_and(|v| v.as_u64().is_none()) {
            errors.push(format!("{at}.MaxAttempts: must be a non-negative integer"));
        }
        if retry
            .get("BackoffRate")
            .is_some_and(|v| v.as_f64().is_none_or(|rate| rate < 1.0))
        {
            errors.push(format!("{at}.BackoffRate: must be a number of at least 1.0"));
        }
    }
    for (i, catcher) in state
        .get("Catch")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        check_error_equals(catcher, &format!("{at}.Catch[{i}]"), errors);
    }
}

fn check_error_equals(rule: &Value, at: &str, errors: &mut Vec<String>) {
    let names = rule.get("ErrorEquals").and_then(Value::as_array);
    if !names.is_some_and(|names| !names.is_empty() && names.iter().all(Value::is_string)) {
        errors.push(format!("{at}.ErrorEquals: must be a non-empty list of error names"));
    }
}

/// Values of keys ending in `.$` are evaluated: they must be a path or an intrinsic function,
/// or Step Functions fails the state at run time.
fn check_evaluated_values(value: &Value, at: &str, errors: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let here = if at.is_empty() {
                    key.clone()
                } else {
                    format!("{at}.{key}")
                };
                if key.ends_with(".$") {
                    let evaluated = child
                        .as_str()
                        .is_some_and(|text| text.starts_with('$') || text.starts_with("States."));
                    if !evaluated {
                        errors.push(format!("{here}: {child} is neither a path nor an intrinsic function"));
                    }
                }
                check_evaluated_values(child, &here, errors);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                check_evaluated_values(child, &format!("{at}[{i}]"), errors);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn task(extra: Value) -> Value {
        let mut state = json!({ "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke" });
        state
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        state
    }

    fn errors(definition: Value) -> Vec<String> {
        validate_definition(&definition).err().unwrap_or_default()
    }

    fn one_error_containing(definition: Value, expected: &str) {
        let errors = errors(definition);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].contains(expected), "{errors:?}");
    }

    #[test]
    fn accepts_a_minimal_machine() {
        let definition = json!({ "StartAt": "A", "States": { "A": task(json!({ "End": true })) } });
        assert_eq!(validate_definition(&definition), Ok(()));
    }

    #[test]
    fn start_at_must_name_a_state() {
        one_error_containing(
            json!({ "StartAt": "B", "States": { "A": { "Type": "Succeed" } } }),
            "StartAt",
        );
        one_error_containing(json!({ "States": { "A": { "Type": "Succeed" } } }), "StartAt: missing");
        one_error_containing(json!({ "StartAt": "A" }), "States: missing");
    }

    #[test]
    fn transitions_must_name_states() {
        let definition = json!({ "StartAt": "A", "States": { "A": task(json!({ "Next": "Nowhere" })) } });
        one_error_containing(definition, "\"Nowhere\", which is not a state");
    }

    #[test]
    fn non_terminal_states_need_exactly_one_of_next_and_end() {
        let neither = json!({ "StartAt": "A", "States": { "A": task(json!({})) } });
        one_error_containing(neither, "exactly one of Next and End");
        let both = json!({ "StartAt": "A", "States": { "A": task(json!({ "Next": "A", "End": true })) } });
        one_error_containing(both, "exactly one of Next and End");
        let succeed_with_end = json!({ "StartAt": "A", "States": { "A": { "Type": "Succeed", "End": true } } });
        one_error_containing(succeed_with_end, "neither Next nor End");
    }

    #[test]
    fn every_state_must_be_reachable() {
        let definition = json!({
            "StartAt": "A",
            "States": { "A": { "Type": "Succeed" }, "Orphan": { "Type": "Succeed" } },
        });
        one_error_containing(definition, "States.Orphan: not reachable");
        let via_catch = json!({
            "StartAt": "A",
            "States": {
                "A": task(json!({ "End": true, "Catch": [{ "ErrorEquals": ["States.ALL"], "Next": "F" }] })),
                "F": { "Type": "Fail" },
            },
        });
        assert_eq!(validate_definition(&via_catch), Ok(()));
    }

    #[test]
    fn evaluated_values_must_be_paths_or_intrinsics() {
        let definition = json!({ "StartAt": "A", "States": { "A": task(json!({
            "End": true,
            "Parameters": { "ok.$": "$.x", "fn.$": "States.Format('{}', $.x)", "ctx.$": "$$.Execution.Name", "bad.$": "x", "num.$": 1 },
        })) } });
        let errors = errors(definition);
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(
            errors.iter().any(|e| e.contains("States.A.Parameters.bad.$")),
            "{errors:?}"
        );
    }

    #[test]
    fn task_resources_must_be_known_integrations() {
        for resource in ["arn:aws:states:::eks:runJob.sync", "arn:aws-cn:states:::lambda:invoke"] {
            let definition =
                json!({ "StartAt": "A", "States": { "A": task(json!({ "Resource": resource, "End": true })) } });
            assert_eq!(validate_definition(&definition), Ok(()), "{resource}");
        }
        for resource in [
            "arn:aws:states:::s3:putObject",
            "arn:aws:lambda:eu-west-1:1:function:f",
            "lambda:invoke",
        ] {
            let definition =
                json!({ "StartAt": "A", "States": { "A": task(json!({ "Resource": resource, "End": true })) } });
            one_error_containing(definition, "not a known integration");
        }
    }

    #[test]
    fn maps_need_a_valid_item_processor_and_concurrency() {
        let map = |extra: Value| {
            let mut state = json!({ "Type": "Map", "ItemsPath": "$.items", "End": true });
            state
                .as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            json!({ "StartAt": "M", "States": { "M": state } })
        };
        let processor = json!({ "StartAt": "P", "States": { "P": task(json!({ "End": true })) } });
        assert_eq!(
            validate_definition(&map(json!({ "ItemProcessor": processor, "MaxConcurrency": 0 }))),
            Ok(())
        );
        one_error_containing(map(json!({})), "needs an ItemProcessor");
        one_error_containing(
            map(json!({ "ItemProcessor": processor, "MaxConcurrency": -1 })),
            "MaxConcurrency",
        );
        one_error_containing(
            map(json!({ "ItemProcessor": processor, "MaxConcurrency": 1.5 })),
            "MaxConcurrency",
        );
        let broken = json!({ "StartAt": "Q", "States": { "P": task(json!({ "End": true })) } });
        one_error_containing(
            map(json!({ "ItemProcessor": broken })),
            "States.M.ItemProcessor.StartAt",
        );
    }

    #[test]
    fn retries_and_paths_are_checked() {
        let definition = json!({ "StartAt": "A", "States": { "A": task(json!({
            "End": true,
            "ResultPath": "list",
            "Retry": [{ "ErrorEquals": [], "IntervalSeconds": 0, "MaxAttempts": -1, "BackoffRate": 0.5 }],
        })) } });
        let errors = errors(definition);
        assert_eq!(errors.len(), 5, "{errors:?}");
    }

    #[test]
    fn parallel_branches_are_machines_too() {
        let definition = json!({ "StartAt": "P", "States": { "P": {
            "Type": "Parallel", "End": true,
            "Branches": [{ "StartAt": "X", "States": { "Y": { "Type": "Succeed" } } }],
        } } });
        let errors = errors(definition);
        assert!(
            errors.iter().all(|e| e.starts_with("States.P.Branches[0].")),
            "{errors:?}"
        );
        assert!(!errors.is_empty());
    }
}
