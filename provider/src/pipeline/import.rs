//! `terraform import eventdriven_batch_pipeline.NAME <pipeline name>`: rebuilds the state from
//! the children, each argument read from the child that embodies it.
//!
//! Children are found by core's deterministic names. The arguments rendered into the state
//! machine definition (cluster, namespace, image, batch size, concurrency, output prefix) are
//! read back from it by the field names Step Functions and Kubernetes give them.

use eventdriven_core::contract;
use eventdriven_core::naming::{Names, Role};
use eventdriven_core::spec::PipelineSpec;
use serde_json::Value as Json;
use tf_provider::value::Value;

use crate::aws::{AwsClients, AwsError};
use crate::children::{
    access_entry, auth_secret, bucket, cache, file_system, function, pod_identity, role, state_machine, table,
    trigger_rule,
};
use crate::cluster;
use crate::pipeline::deploy::{self, Failure};
use crate::pipeline::state::{Children, PipelineState};
use eventdriven_core::trigger;

fn failed(child: &'static str, name: &str) -> impl FnOnce(AwsError) -> Failure {
    let name = name.to_owned();
    move |error| Failure {
        action: "importing",
        child,
        name,
        error,
    }
}

fn missing(child: &'static str, name: &str) -> Failure {
    failed(child, name)(AwsError::other("not found"))
}

/// The first value stored under `key` anywhere in `json`, depth first.
fn find_key<'a>(json: &'a Json, key: &str) -> Option<&'a Json> {
    match json {
        Json::Object(map) => map.get(key).or_else(|| map.values().find_map(|v| find_key(v, key))),
        Json::Array(items) => items.iter().find_map(|v| find_key(v, key)),
        _ => None,
    }
}

/// The first container environment entry named `name`, anywhere in the definition.
fn find_env<'a>(json: &'a Json, name: &str) -> Option<&'a Json> {
    match json {
        Json::Object(map) if map.get("name").and_then(Json::as_str) == Some(name) && map.len() == 2 => Some(json),
        Json::Object(map) => map.values().find_map(|v| find_env(v, name)),
        Json::Array(items) => items.iter().find_map(|v| find_env(v, name)),
        _ => None,
    }
}

/// Undoes core's escaping of text inside an intrinsic function's string literal.
fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        out.push(if c == '\\' { chars.next().unwrap_or(c) } else { c });
    }
    out
}

/// The output prefix from the merge Job's `States.Format('s3://BUCKET/PREFIX{}.csv', …)`.
fn output_prefix(definition: &Json) -> Option<String> {
    let template = find_env(definition, contract::OUTPUT_URL)?.get("value.$")?.as_str()?;
    let url = template.strip_prefix("States.Format('s3://")?;
    let url = &url[..url.find("{}.csv")?];
    let (_, prefix) = url.split_once('/')?;
    Some(unescape(prefix))
}

fn string_at(definition: &Json, key: &str) -> Option<String> {
    find_key(definition, key)?.as_str().map(str::to_owned)
}

pub async fn import(aws: &AwsClients, name: &str) -> Result<PipelineState, Failure> {
    let context = cluster::aws_context(aws).await.map_err(failed("AWS account", "sts"))?;
    let mut spec = PipelineSpec::new(name, "", "", "");
    let machine_arn = Names::new(&spec, &context).state_machine_arn();
    let machine = state_machine::read(aws, &machine_arn)
        .await
        .map_err(failed("Step Functions state machine", &machine_arn))?
        .ok_or_else(|| missing("Step Functions state machine", &machine_arn))?;
    let definition = &machine.definition;
    spec.cluster_name = string_at(definition, "ClusterName").unwrap_or_default();
    spec.namespace = string_at(definition, "Namespace").unwrap_or(spec.namespace);
    spec.service_account = string_at(definition, "serviceAccountName").unwrap_or(spec.service_account);
    spec.work_volume_claim = string_at(definition, "claimName");
    spec.job_image = string_at(definition, "image").unwrap_or_default();
    spec.max_concurrency = find_key(definition, "MaxConcurrency")
        .and_then(Json::as_i64)
        .unwrap_or(0);
    if let Some(lines) = find_env(definition, contract::MAX_LINES_PER_BATCH)
        .and_then(|env| env["value"].as_str())
        .and_then(|v| v.parse().ok())
    {
        spec.max_lines_per_batch = lines;
    }
    spec.output_prefix = output_prefix(definition).unwrap_or(spec.output_prefix);

    let rule_name = Names::new(&spec, &context).input_rule();
    let pattern = trigger_rule::read(aws, &rule_name)
        .await
        .map_err(failed("EventBridge rule", &rule_name))?;
    if let Some((bucket, prefix, suffix)) = pattern.as_ref().and_then(trigger::input_filter) {
        spec.input_prefix = prefix;
        spec.input_suffix = suffix;
        spec.bucket_name = Some(bucket);
    }
    // An override equal to the derived name was not one.
    let derived_bucket = Names::new(
        &PipelineSpec {
            bucket_name: None,
            ..spec.clone()
        },
        &context,
    )
    .bucket();
    if spec.bucket_name.as_deref() == Some(derived_bucket.as_str()) {
        spec.bucket_name = None;
    }

    // Names depend only on the name and the bucket, both settled by now.
    let named = spec.clone();
    let names = Names::new(&named, &context);
    let mut children = Children::default();
    let function_name = names.lambda_function();
    if let Some(live) = function::read(aws, &function_name)
        .await
        .map_err(failed("Lambda function", &function_name))?
    {
        spec.lambda_image = live.image_uri.unwrap_or_default();
        children.lambda_function_arn = Some(live.arn);
    }
    let group_id = names.replication_group_id();
    if let Some(group) = cache::read_replication_group(aws, &group_id)
        .await
        .map_err(failed("ElastiCache replication group", &group_id))?
    {
        spec.redis_node_type = group.node_type.unwrap_or(spec.redis_node_type);
        children.redis_url = group.endpoint.map(|e| format!("rediss://{}:{}", e.address, e.port));
        children.replication_group_id = Some(group_id);
    }
    let table_name = names.table();
    if let Some(live) = table::read(aws, &table_name)
        .await
        .map_err(failed("DynamoDB table", &table_name))?
    {
        spec.dynamodb_billing_mode = live.billing_mode;
        spec.dynamodb_read_capacity = live.read_capacity;
        spec.dynamodb_write_capacity = live.write_capacity;
        children.table_name = Some(table_name);
    }
    let bucket_name = names.bucket();
    if bucket::exists(aws, &bucket_name)
        .await
        .map_err(failed("S3 bucket", &bucket_name))?
    {
        children.bucket = Some(bucket_name);
    }
    let token = names.efs_creation_token();
    children.file_system_id = file_system::find_by_creation_token(aws, &token)
        .await
        .map_err(failed("EFS file system", &token))?;
    if let Some(id) = &children.file_system_id {
        let mount_targets = file_system::mount_targets(aws, id)
            .await
            .map_err(failed("EFS mount targets", id))?;
        children.mount_target_ids = Some(mount_targets.into_iter().map(|(id, _)| id).collect());
        children.access_point_id = file_system::access_points(aws, id)
            .await
            .map_err(failed("EFS access point", id))?
            .into_iter()
            .next();
    }
    let secret = names.redis_auth_secret();
    children.redis_auth_secret_arn = auth_secret::find(aws, &secret)
        .await
        .map_err(failed("Secrets Manager secret", &secret))?;
    let subnet_group = names.cache_subnet_group();
    if cache::subnet_group_exists(aws, &subnet_group)
        .await
        .map_err(failed("ElastiCache subnet group", &subnet_group))?
    {
        children.cache_subnet_group_name = Some(subnet_group);
    }
    for (role_kind, slot) in [
        (Role::Job, &mut children.job_role_arn),
        (Role::Lambda, &mut children.lambda_role_arn),
        (Role::StateMachine, &mut children.state_machine_role_arn),
        (Role::Events, &mut children.events_role_arn),
    ] {
        let role_name = names.role(role_kind);
        *slot = role::read(aws, &role_name)
            .await
            .map_err(failed("IAM role", &role_name))?;
    }
    children.state_machine_arn = Some(machine_arn.clone());
    children.definition = Some(definition.to_string());
    children.input_rule_name = Some(rule_name);
    if let Some(principal) = &children.state_machine_role_arn {
        children.access_entry_arn = access_entry::find(aws, &spec.cluster_name, principal)
            .await
            .map_err(failed("EKS access entry", principal))?;
    }
    let subject = format!("{}/{}", spec.namespace, spec.service_account);
    children.pod_identity_association_id =
        pod_identity::find(aws, &spec.cluster_name, &spec.namespace, &spec.service_account)
            .await
            .map_err(failed("EKS Pod Identity association", &subject))?;
    deploy::refresh(aws, &spec.cluster_name, &mut children).await?;

    // `tags` are what the children carry beyond the provider's default tags.
    let tags_all = state_machine::tags(aws, &machine_arn)
        .await
        .map_err(failed("Step Functions state machine", &machine_arn))?;
    spec.tags = tags_all
        .into_iter()
        .filter(|(k, v)| aws.default_tags.get(k) != Some(v))
        .collect();

    let mut state = PipelineState::from_spec(&spec);
    state.id = Value::Value(spec.name.clone());
    state.tags_all = state.merged_tags(&aws.default_tags);
    state.set_children(&children);
    Ok(state)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_keys_and_env_entries_at_any_depth() {
        let definition = json!({
            "States": { "Split": { "Parameters": { "ClusterName": "main", "Job": { "spec": { "containers": [{
                "image": "img:1",
                "env": [
                    { "name": "MAX_LINES_PER_BATCH", "value": "500" },
                    { "name": "OUTPUT_URL", "value.$": "States.Format('s3://b/out\\{x\\}/{}.csv', $$.Execution.Name)" }
                ]
            }] } } } } }
        });
        assert_eq!(string_at(&definition, "ClusterName").as_deref(), Some("main"));
        assert_eq!(string_at(&definition, "image").as_deref(), Some("img:1"));
        assert_eq!(find_env(&definition, "MAX_LINES_PER_BATCH").unwrap()["value"], "500");
        assert_eq!(output_prefix(&definition).as_deref(), Some("out{x}/"));
    }
}
