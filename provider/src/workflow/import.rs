//! `terraform import eventdriven_workflow.NAME <workflow name>`: rebuilds the state from the
//! children, found by core's deterministic names: the tasks, source and bus from the main
//! definition, the listeners from their functions, rules and roles, the bucket and the trail
//! from whether they exist.

use std::sync::Arc;

use eventdriven_core::spec::{Architecture, PREFIX};
use eventdriven_core::workflow::definition::embedded_workflow;
use eventdriven_core::workflow::environment::{BUCKET, EMITS, EVENT_BUS, EVENT_SOURCE};
use eventdriven_core::workflow::naming::{WorkflowNames, WorkflowRule};
use eventdriven_core::workflow::spec::{ListenerSpec, TrailSpec, WorkflowSpec, ZipPackage};
use tf_provider::value::Value;

use crate::adapters::{bucket, function, log_group, role, rule, state_machine};
use crate::aws::{AwsClients, AwsError};
use crate::cluster;
use crate::lifecycle::Failure;
use crate::workflow::deploy;
use crate::workflow::state::{ListenerBlock, ListenerIds, TaskBlock, TrailBlock, WorkflowChildren, WorkflowState};

fn failed(child: &'static str, name: &str) -> impl FnOnce(AwsError) -> Failure {
    Failure::of("importing", child, name)
}

fn missing(child: &'static str, name: &str) -> Failure {
    failed(child, name)(AwsError::other("not found"))
}

pub async fn import(aws: Arc<AwsClients>, name: &str) -> Result<WorkflowState, Failure> {
    let context = cluster::aws_context(&aws).await.map_err(failed("AWS account", "sts"))?;
    let mut spec = WorkflowSpec::new(name, "");
    let machine_arn = WorkflowNames::new(&spec, &context).state_machine_arn();
    let machine = state_machine::read(&aws, &machine_arn)
        .await
        .map_err(failed("Step Functions state machine", &machine_arn))?
        .ok_or_else(|| missing("Step Functions state machine", &machine_arn))?;
    let embedded = embedded_workflow(&machine.definition).ok_or_else(|| {
        failed("Step Functions state machine", &machine_arn)(AwsError::other("its definition is not a workflow's"))
    })?;
    spec.event_source = embedded.event_source;
    spec.event_bus = embedded.event_bus;
    spec.tasks = embedded.tasks;

    let bus = (spec.event_bus != "default").then(|| spec.event_bus.clone());
    let start_rule = WorkflowNames::new(&spec, &context).rule(WorkflowRule::Start);
    let start = rule::read(&aws, &start_rule, bus.as_deref())
        .await
        .map_err(failed("EventBridge rule", &start_rule))?;
    if let Some(detail_type) = start.as_ref().and_then(|p| p["detail-type"][0].as_str()) {
        spec.start_detail_type = detail_type.to_owned();
    }
    let bucket_name = WorkflowNames::new(&spec, &context).bucket();
    spec.bucket = bucket::exists(&aws, &bucket_name)
        .await
        .map_err(failed("S3 bucket", &bucket_name))?;
    let log_group = WorkflowNames::new(&spec, &context).trail_log_group();
    if let Some(retention) = log_group::read(&aws, &log_group)
        .await
        .map_err(failed("CloudWatch Logs group", &log_group))?
    {
        spec.trail = Some(TrailSpec {
            retention_days: retention.map_or(1, i64::from),
        });
    }
    import_listeners(&aws, &context, &mut spec, bus.as_deref()).await?;
    if let Some(listener) = spec.listeners.first() {
        let group = WorkflowNames::new(&spec, &context).function_log_group(listener);
        let retention = log_group::read(&aws, &group)
            .await
            .map_err(failed("CloudWatch Logs group", &group))?;
        if let Some(Some(days)) = retention {
            spec.log_retention_days = i64::from(days);
        }
    }

    let names = WorkflowNames::new(&spec, &context);
    let mut children = WorkflowChildren {
        bucket_name: Some(bucket_name.clone()),
        trail_log_group: Some(log_group),
        finisher_log_group: Some(names.finisher_log_group()),
        main_role_arn: Some(names.role_arn(eventdriven_core::workflow::naming::WorkflowRole::Main)),
        finisher_role_arn: Some(names.role_arn(eventdriven_core::workflow::naming::WorkflowRole::Finisher)),
        events_role_arn: Some(names.role_arn(eventdriven_core::workflow::naming::WorkflowRole::Events)),
        state_machine_arn: Some(machine_arn),
        finisher_arn: Some(names.finisher_arn()),
        start_rule_name: Some(start_rule),
        finisher_rule_name: Some(names.rule(WorkflowRule::Finisher)),
        trail_rule_name: Some(names.rule(WorkflowRule::Trail)),
        results_rule_name: Some(names.rule(WorkflowRule::Results)),
        definition: Some(machine.definition),
        finisher_definition: None,
        listeners: spec
            .listeners
            .iter()
            .map(|l| {
                let ids = ListenerIds {
                    role_arn: Some(names.listener_role_arn(l)),
                    function_arn: Some(names.function_arn(l)),
                    rule_name: Some(names.listener_rule(l)),
                };
                (l.name.clone(), ids)
            })
            .collect(),
    };
    if let Some(finisher) = state_machine::read(&aws, &names.finisher_arn())
        .await
        .map_err(failed("Step Functions state machine", &names.finisher()))?
    {
        children.finisher_definition = Some(finisher.definition);
    }
    // Whatever does not exist is forgotten, so the first plan shows it coming back.
    deploy::refresh(aws.clone(), spec.clone(), &mut children).await?;
    let live_tags = state_machine::tags(&aws, &names.state_machine_arn())
        .await
        .map_err(failed("Step Functions state machine", &names.state_machine()))?;
    let mut state = state_of(&spec);
    state.set_children(&children);
    // What plan computes from the configuration: the zip listeners' code as deployed, and no
    // existing function's policy (existing functions are not found by an import).
    let code_hashes = spec.listeners.iter().filter_map(|l| {
        Some((
            l.name.clone(),
            Value::Value(l.package.as_ref()?.source_code_hash.clone()),
        ))
    });
    state.listener_code_hashes = Value::Value(code_hashes.collect());
    state.listener_policies = Value::Value(Default::default());
    // Imported tags are the resource's own: default tags come back through the next plan.
    let tags: std::collections::BTreeMap<String, Value<String>> =
        live_tags.into_iter().map(|(k, v)| (k, Value::Value(v))).collect();
    state.tags = Value::Value(tags.clone());
    state.tags_all = Value::Value(tags);
    Ok(state)
}

/// The listeners: the functions named `eventdriven-<name>-<listener>` whose listener rule exists.
async fn import_listeners(
    aws: &AwsClients,
    context: &eventdriven_core::cluster::AwsContext,
    spec: &mut WorkflowSpec,
    bus: Option<&str>,
) -> Result<(), Failure> {
    let prefix = format!("{PREFIX}-{}-", spec.name);
    let functions = function::names_with_prefix(aws, &prefix)
        .await
        .map_err(failed("Lambda function", &prefix))?;
    for function_name in functions {
        let listener_name = function_name.trim_start_matches(&prefix).to_owned();
        let probe = ListenerSpec::new(listener_name.clone(), &[], &[]);
        let rule_name = WorkflowNames::new(spec, context).listener_rule(&probe);
        let Some(pattern) = rule::read(aws, &rule_name, bus)
            .await
            .map_err(failed("EventBridge rule", &rule_name))?
        else {
            continue;
        };
        let Some(live) = function::read(aws, &function_name)
            .await
            .map_err(failed("Lambda function", &function_name))?
        else {
            continue;
        };
        let mut listener = probe;
        listener.detail_types = serde_json::from_value(pattern["detail-type"].clone()).unwrap_or_default();
        listener.command = live.command;
        listener.emits = live
            .environment
            .get(EMITS)
            .map(|e| e.split(',').filter(|s| !s.is_empty()).map(str::to_owned).collect())
            .unwrap_or_default();
        listener.image = live.image_uri;
        // A zip package's runtime and handler; its file is the configuration's to name.
        listener.package = live.zip.map(|(sha256, runtime, handler)| ZipPackage {
            filename: String::new(),
            runtime,
            handler,
            source_code_hash: sha256,
        });
        listener.environment = live
            .environment
            .iter()
            .filter(|(name, _)| ![EVENT_BUS, EVENT_SOURCE, EMITS, BUCKET].contains(&name.as_str()))
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect();
        listener.timeout_seconds = live.timeout_seconds.map_or(listener.timeout_seconds, i64::from);
        listener.memory_size = live.memory_mb.map_or(listener.memory_size, i64::from);
        if let Some(architecture) = live.architecture {
            spec.architecture = Architecture::named(&architecture);
        }
        let role_name = WorkflowNames::new(spec, context).listener_role(&listener);
        let policy = role::policy(aws, &role_name)
            .await
            .map_err(failed("IAM role", &role_name))?;
        if let Some(prefix) = policy.as_ref().and_then(bucket_prefix_of) {
            listener.bucket_prefix = prefix;
        }
        spec.listeners.push(listener);
    }
    // The most common image is the workflow's; listeners with another keep theirs.
    let mut images: Vec<String> = spec.listeners.iter().filter_map(|l| l.image.clone()).collect();
    images.sort();
    let handler_image = images
        .chunk_by(|a, b| a == b)
        .max_by_key(|run| run.len())
        .and_then(|run| run.first().cloned())
        .unwrap_or_default();
    for listener in &mut spec.listeners {
        if listener.image.as_deref() == Some(handler_image.as_str()) {
            listener.image = None;
        }
    }
    spec.handler_image = handler_image;
    Ok(())
}

/// The prefix a listener's role grants in the bucket (`arn:aws:s3:::BUCKET/PREFIX*`).
fn bucket_prefix_of(policy: &serde_json::Value) -> Option<String> {
    let statement = policy["Statement"]
        .as_array()?
        .iter()
        .find(|s| s["Sid"] == "BucketPrefix")?;
    let resource = match &statement["Resource"] {
        serde_json::Value::Array(all) => all.first()?.as_str()?,
        other => other.as_str()?,
    };
    let (_, key) = resource.split_once('/')?;
    Some(key.trim_end_matches('*').to_owned())
}

/// The arguments of `spec` as the state holds them: defaults filled in, as the plan fills them,
/// except in the listeners (a set, whose elements hold only what the configuration says).
fn state_of(spec: &WorkflowSpec) -> WorkflowState {
    let text = |value: &str| Value::Value(value.to_owned());
    let unless_default = |value: &str, default: &str| if value == default { Value::Null } else { text(value) };
    let listed = |items: &[String]| Value::Value(items.iter().map(|i| text(i)).collect());
    let listener_defaults = ListenerSpec::new("", &[], &[]);
    WorkflowState {
        name: text(&spec.name),
        id: text(&spec.name),
        event_source: text(&spec.event_source),
        event_bus: text(&spec.event_bus),
        start_detail_type: text(&spec.start_detail_type),
        handler_image: text(&spec.handler_image),
        architecture: Value::Value(spec.architecture.as_str().to_owned()),
        bucket: Value::Value(spec.bucket),
        log_retention_days: Value::Value(spec.log_retention_days),
        // Whether destroy may lose data is a choice, not something AWS holds.
        force_destroy: Value::Value(false),
        task: Value::Value(
            spec.tasks
                .iter()
                .map(|t| {
                    Value::Value(TaskBlock {
                        name: text(&t.name),
                        detail_type: text(&t.detail_type),
                        result_path: t.result_path.as_deref().map_or(Value::Null, text),
                        timeout_seconds: Value::Value(t.timeout_seconds),
                        items_path: t.items_path.as_deref().map_or(Value::Null, text),
                        max_concurrency: Value::Value(t.max_concurrency),
                    })
                })
                .collect(),
        ),
        listener: Value::Value(
            spec.listeners
                .iter()
                .map(|l| {
                    Value::Value(ListenerBlock {
                        name: text(&l.name),
                        detail_types: listed(&l.detail_types),
                        command: listed(&l.command),
                        image: l.image.as_deref().map_or(Value::Null, text),
                        runtime: l.package.as_ref().map_or(Value::Null, |p| text(&p.runtime)),
                        handler: l.package.as_ref().map_or(Value::Null, |p| text(&p.handler)),
                        environment: if l.environment.is_empty() {
                            Value::Null
                        } else {
                            Value::Value(l.environment.iter().map(|(k, v)| (k.clone(), text(v))).collect())
                        },
                        emits: if l.emits.is_empty() {
                            Value::Null
                        } else {
                            listed(&l.emits)
                        },
                        bucket_prefix: unless_default(&l.bucket_prefix, &listener_defaults.bucket_prefix),
                        timeout_seconds: if l.timeout_seconds == listener_defaults.timeout_seconds {
                            Value::Null
                        } else {
                            Value::Value(l.timeout_seconds)
                        },
                        memory_size: if l.memory_size == listener_defaults.memory_size {
                            Value::Null
                        } else {
                            Value::Value(l.memory_size)
                        },
                        ..Default::default()
                    })
                })
                .collect(),
        ),
        trail: spec.trail.as_ref().map_or(Value::Null, |t| {
            Value::Value(TrailBlock {
                retention_days: Value::Value(t.retention_days),
            })
        }),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use eventdriven_core::workflow::spec::TaskSpec;
    use serde_json::json;

    #[test]
    fn the_bucket_prefix_reads_back_from_the_role_policy() {
        let policy = json!({ "Statement": [
            { "Sid": "ListenerLogs", "Resource": ["arn:aws:logs:r:1:log-group:x"] },
            { "Sid": "BucketPrefix", "Resource": ["arn:aws:s3:::eventdriven-w-1/reports/*"] },
        ]});
        assert_eq!(bucket_prefix_of(&policy).as_deref(), Some("reports/"));
        assert_eq!(bucket_prefix_of(&json!({ "Statement": [] })), None);
    }

    #[test]
    fn an_imported_state_is_what_the_plan_of_its_configuration_holds() {
        let mut spec = WorkflowSpec::new("cookie-report", "registry/eventdriven-handlers:1");
        spec.tasks = vec![TaskSpec {
            timeout_seconds: 60,
            ..TaskSpec::new("A", "a")
        }];
        spec.listeners = vec![ListenerSpec::new("l", &["a"], &["x"])];
        let state = state_of(&spec);
        assert_eq!(state.event_source, Value::Value("cookie-report".to_owned()));
        let mut planned = state.clone();
        planned.apply_defaults();
        assert_eq!(planned, state, "defaults are already filled");
        let listener = state.listener.as_ref_option().unwrap()[0]
            .as_ref_option()
            .unwrap()
            .clone();
        assert!(listener.bucket_prefix.is_null() && listener.emits.is_null());
        assert_eq!(state.spec(), spec, "the state reads back as the spec");
    }
}
