//! Least-privilege policies of a workflow's roles: each names only this workflow's resources,
//! and every `events:PutEvents` is limited to the workflow's source and the detail types the
//! principal may emit.

use serde_json::{Value, json};

use crate::cluster::AwsContext;
use crate::iam::{allow, document, service_trust};
use crate::workflow::envelope::{DONE_SUFFIX, SIDE_EFFECT_FAILED};
use crate::workflow::naming::{WorkflowNames, WorkflowRule};
use crate::workflow::rules::{LAMBDA_FAILURE, LAMBDA_SUCCESS};
use crate::workflow::spec::ListenerSpec;

pub fn states_trust_policy(aws: &AwsContext) -> Value {
    service_trust("states.amazonaws.com", aws)
}

pub fn events_trust_policy(aws: &AwsContext) -> Value {
    service_trust("events.amazonaws.com", aws)
}

/// Lambda assumes listener roles; functions have no source account to condition on.
pub fn listener_trust_policy() -> Value {
    document(vec![json!({
        "Effect": "Allow",
        "Principal": { "Service": "lambda.amazonaws.com" },
        "Action": "sts:AssumeRole",
    })])
}

/// Puts events on the workflow's bus, only with its source and only of these detail types.
fn put_events(names: &WorkflowNames, sid: &str, detail_types: &[String]) -> Value {
    let mut statement = allow(sid, &["events:PutEvents"], &[names.event_bus_arn()]);
    statement["Condition"] = json!({
        "StringEquals": {
            "events:source": names.spec().event_source,
            "events:detail-type": detail_types,
        },
    });
    statement
}

/// The main machine only emits its tasks' events.
pub fn main_policy(names: &WorkflowNames) -> Value {
    let mut detail_types: Vec<String> = names.spec().tasks.iter().map(|t| t.detail_type.clone()).collect();
    detail_types.dedup();
    document(vec![put_events(names, "EmitTaskEvents", &detail_types)])
}

/// The finisher answers tasks, and records side effects' outcomes when there are side effects.
/// Step Functions does not scope `SendTask*` by resource (they take `*`): what ties an answer to
/// its task is the token, an unguessable secret that only the task's own event carries.
pub fn finisher_policy(names: &WorkflowNames) -> Value {
    let mut statements = vec![allow(
        "AnswerTasks",
        &["states:SendTaskSuccess", "states:SendTaskFailure"],
        &["*".to_owned()],
    )];
    let outcomes = side_effect_outcomes(names);
    if !outcomes.is_empty() {
        statements.push(put_events(names, "RecordSideEffects", &outcomes));
    }
    statements.push(log_delivery());
    document(statements)
}

/// What Step Functions needs of a machine's role to deliver its logs (the finisher logs its
/// errors). These actions take no resource ("IAM policies for CloudWatch Logs" in the Step
/// Functions guide): the log group is named by the machine's logging configuration instead.
fn log_delivery() -> Value {
    allow(
        "DeliverErrorLogs",
        &[
            "logs:CreateLogDelivery",
            "logs:GetLogDelivery",
            "logs:UpdateLogDelivery",
            "logs:DeleteLogDelivery",
            "logs:ListLogDeliveries",
            "logs:PutResourcePolicy",
            "logs:DescribeResourcePolicies",
            "logs:DescribeLogGroups",
        ],
        &["*".to_owned()],
    )
}

/// The detail types the finisher puts for side effects: `side_effect.failed`, and
/// `<detail type>.done` for each detail type a side effect listens to.
pub fn side_effect_outcomes(names: &WorkflowNames) -> Vec<String> {
    let mut outcomes: Vec<String> = names
        .spec()
        .listeners
        .iter()
        .filter(|l| l.side_effect)
        .flat_map(|l| l.detail_types.iter().map(|d| format!("{d}{DONE_SUFFIX}")))
        .collect();
    if outcomes.is_empty() {
        return outcomes;
    }
    outcomes.sort();
    outcomes.dedup();
    outcomes.push(SIDE_EFFECT_FAILED.to_owned());
    outcomes
}

/// EventBridge only starts the two machines.
pub fn events_policy(names: &WorkflowNames) -> Value {
    document(vec![allow(
        "StartWorkflowMachines",
        &["states:StartExecution"],
        &[names.state_machine_arn(), names.finisher_arn()],
    )])
}

/// A listener writes its own logs (the provider creates its log group, with a retention),
/// and does what [`listener_grants`] says.
pub fn listener_policy(names: &WorkflowNames, listener: &ListenerSpec) -> Value {
    let log_group = names.function_log_group_arn(listener);
    let mut statements = vec![allow(
        "ListenerLogs",
        &["logs:CreateLogStream", "logs:PutLogEvents"],
        &[format!("{log_group}:*"), log_group],
    )];
    statements.extend(listener_grants(names, listener));
    document(statements)
}

/// What an existing function's role needs to listen (`listener_policies`, for its owner to
/// attach): the same grants as a listener the workflow creates, its logs aside.
pub fn existing_function_policy(names: &WorkflowNames, listener: &ListenerSpec) -> Value {
    document(listener_grants(names, listener))
}

/// A listener emits what it may (a side effect: no task answer), Lambda puts its invocation
/// results on the bus with the function's role (its destinations), and it reads and writes its
/// bucket prefix.
fn listener_grants(names: &WorkflowNames, listener: &ListenerSpec) -> Vec<Value> {
    let mut statements = Vec::new();
    let may_emit = listener.may_emit();
    if !may_emit.is_empty() {
        statements.push(put_events(names, "EmitAndAnswer", &may_emit));
    }
    let mut results = allow("InvocationResults", &["events:PutEvents"], &[names.event_bus_arn()]);
    results["Condition"] = json!({
        "StringEquals": { "events:detail-type": [LAMBDA_SUCCESS, LAMBDA_FAILURE] },
    });
    statements.push(results);
    if names.spec().bucket {
        statements.push(allow(
            "BucketPrefix",
            &["s3:GetObject", "s3:PutObject"],
            &[format!("{}/{}*", names.bucket_arn(), listener.bucket_prefix)],
        ));
    }
    statements
}

/// The log group's resource policy: EventBridge writes the trail rule's events, nothing else.
pub fn trail_resource_policy(names: &WorkflowNames) -> Value {
    document(vec![json!({
        "Sid": "TrailRuleWritesEvents",
        "Effect": "Allow",
        "Principal": { "Service": ["events.amazonaws.com", "delivery.logs.amazonaws.com"] },
        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": format!("{}:*", names.trail_log_group_arn()),
        "Condition": { "ArnEquals": { "aws:SourceArn": names.rule_arn(WorkflowRule::Trail) } },
    })])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workflow::fixtures;

    fn all_policies(names: &WorkflowNames) -> Vec<Value> {
        let mut policies = vec![main_policy(names), finisher_policy(names), events_policy(names)];
        policies.extend(names.spec().listeners.iter().map(|l| listener_policy(names, l)));
        policies
    }

    #[test]
    fn every_resource_is_this_workflows_and_no_action_is_a_wildcard() {
        let (spec, aws) = (fixtures::cookies(), fixtures::aws());
        let names = WorkflowNames::new(&spec, &aws);
        for policy in all_policies(&names) {
            for statement in policy["Statement"].as_array().unwrap() {
                for resource in statement["Resource"].as_array().unwrap() {
                    let resource = resource.as_str().unwrap();
                    let takes_no_resource =
                        ["AnswerTasks", "DeliverErrorLogs"].contains(&statement["Sid"].as_str().unwrap());
                    assert!(
                        resource.contains("eventdriven-cookie-report")
                            || resource.ends_with(":event-bus/default")
                            || (takes_no_resource && resource == "*"),
                        "{resource}"
                    );
                }
                for action in statement["Action"].as_array().unwrap() {
                    assert!(!action.as_str().unwrap().contains('*'), "{action}");
                }
            }
        }
    }

    #[test]
    fn every_put_events_is_limited_to_the_source_and_its_detail_types() {
        let (spec, aws) = (fixtures::cookies(), fixtures::aws());
        let names = WorkflowNames::new(&spec, &aws);
        let main = main_policy(&names);
        let condition = &main["Statement"][0]["Condition"]["StringEquals"];
        assert_eq!(condition["events:source"], "cookie-report");
        assert_eq!(
            condition["events:detail-type"],
            json!(["get.multiple", "process.single", "process.all"])
        );
        let process_single = listener_policy(&names, &spec.listeners[1]);
        let condition = &process_single["Statement"][1]["Condition"]["StringEquals"];
        assert_eq!(
            condition["events:detail-type"],
            json!(["process.single.post", "task.finished", "task.failed"])
        );
    }

    #[test]
    fn only_the_trail_rule_writes_to_the_trail() {
        let (spec, aws) = (fixtures::cookies(), fixtures::aws());
        let policy = trail_resource_policy(&WorkflowNames::new(&spec, &aws));
        let statement = &policy["Statement"][0];
        assert_eq!(
            statement["Resource"],
            "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/events/eventdriven-cookie-report:*"
        );
        assert_eq!(
            statement["Condition"]["ArnEquals"]["aws:SourceArn"],
            "arn:aws:events:eu-west-1:123456789012:rule/eventdriven-cookie-report-trail"
        );
    }

    #[test]
    fn the_finisher_may_only_answer_tasks_and_log_its_errors() {
        let policy = finisher_policy(&WorkflowNames::new(&fixtures::cookies(), &fixtures::aws()));
        assert_eq!(policy["Statement"].as_array().unwrap().len(), 2);
        assert_eq!(policy["Statement"][1]["Sid"], "DeliverErrorLogs");
        assert_eq!(
            policy["Statement"][0]["Action"],
            json!(["states:SendTaskSuccess", "states:SendTaskFailure"])
        );
    }

    #[test]
    fn listeners_reach_only_their_bucket_prefix_and_only_when_there_is_a_bucket() {
        let (mut spec, aws) = (fixtures::cookies(), fixtures::aws());
        let policy = listener_policy(&WorkflowNames::new(&spec, &aws), &spec.listeners[0]);
        assert_eq!(
            policy["Statement"][3]["Resource"],
            json!(["arn:aws:s3:::eventdriven-cookie-report-123456789012/runs/*"])
        );
        spec.bucket = false;
        let policy = listener_policy(&WorkflowNames::new(&spec, &aws), &spec.listeners[0]);
        assert_eq!(policy["Statement"].as_array().unwrap().len(), 3);
    }
}
