//! `terraform import eventdriven_batch_pipeline.NAME <pipeline name>`: rebuilds the state from
//! the children, each argument read from the child that embodies it.
//!
//! Children are found by core's deterministic names. The arguments rendered into the state
//! machine definition (cluster, namespace, image, batch size, concurrency, output prefix, the
//! `record` block as the Jobs' `RECORD`, `table` as the process Job's table setting, the
//! `process` block from its container) are read back from it by the field names Step Functions
//! and Kubernetes give them.

use std::sync::Arc;

use eventdriven_core::definition::embedded_settings;
use eventdriven_core::naming::{Names, Role};
use eventdriven_core::spec::{Architecture, BillingMode, PipelineSpec};
use eventdriven_core::trigger;
use tf_provider::value::Value;

use crate::adapters::{
    access_entry, auth_secret, bucket, cache, file_system, function, pod_identity, role, rule, security_group,
    state_machine, table,
};
use crate::aws::{AwsClients, AwsError};
use crate::cluster;
use crate::lifecycle::Failure;
use crate::pipeline::children::cache::redis_url;
use crate::pipeline::deploy;
use crate::pipeline::state::{Children, PipelineState};

fn failed(child: &'static str, name: &str) -> impl FnOnce(AwsError) -> Failure {
    Failure::of("importing", child, name)
}

fn missing(child: &'static str, name: &str) -> Failure {
    failed(child, name)(AwsError::other("not found"))
}

pub async fn import(aws: Arc<AwsClients>, name: &str) -> Result<PipelineState, Failure> {
    let context = cluster::aws_context(&aws).await.map_err(failed("AWS account", "sts"))?;
    let mut spec = PipelineSpec::new(name, "", "", "");
    let machine_arn = Names::new(&spec, &context).state_machine_arn();
    let machine = state_machine::read(&aws, &machine_arn)
        .await
        .map_err(failed("Step Functions state machine", &machine_arn))?
        .ok_or_else(|| missing("Step Functions state machine", &machine_arn))?;
    let embedded = embedded_settings(&machine.definition);
    spec.cluster_name = embedded.cluster_name.unwrap_or_default();
    spec.namespace = embedded.namespace.unwrap_or(spec.namespace);
    spec.service_account = embedded.service_account.unwrap_or(spec.service_account);
    spec.set_mounted_claim(embedded.mounted_claim);
    spec.job_image = embedded.job_image.unwrap_or_default();
    spec.max_concurrency = embedded.max_concurrency.unwrap_or(0);
    spec.step_timeout_seconds = embedded.step_timeout_seconds.unwrap_or(spec.step_timeout_seconds);
    spec.max_lines_per_batch = embedded.max_lines_per_batch.unwrap_or(spec.max_lines_per_batch);
    spec.output_prefix = embedded.output_prefix.unwrap_or(spec.output_prefix);
    spec.keep_work = embedded.keep_work;
    spec.record = embedded.record;
    spec.table = embedded.table;
    spec.process = embedded.process;

    let rule_name = Names::new(&spec, &context).input_rule();
    let pattern = rule::read(&aws, &rule_name, None)
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
    if let Some(live) = function::read(&aws, &function_name)
        .await
        .map_err(failed("Lambda function", &function_name))?
    {
        spec.lambda_image = live.image_uri.unwrap_or_default();
        spec.architecture = live
            .architecture
            .map_or(spec.architecture, |name| Architecture::named(&name));
        children.lambda_function_arn = Some(live.arn);
    }
    let group_id = names.replication_group_id();
    if let Some(group) = cache::read_replication_group(&aws, &group_id)
        .await
        .map_err(failed("ElastiCache replication group", &group_id))?
    {
        spec.redis_node_type = group.node_type.unwrap_or(spec.redis_node_type);
        children.redis_url = group.endpoint.as_ref().map(redis_url);
        children.replication_group_id = Some(group_id);
    }
    let table_name = names.table();
    if let Some(live) = table::read(&aws, &table_name)
        .await
        .map_err(failed("DynamoDB table", &table_name))?
    {
        spec.dynamodb_billing_mode = BillingMode::named(&live.billing_mode);
        spec.dynamodb_read_capacity = live.read_capacity;
        spec.dynamodb_write_capacity = live.write_capacity;
        children.table_name = Some(table_name);
    }
    let bucket_name = names.bucket();
    if bucket::exists(&aws, &bucket_name)
        .await
        .map_err(failed("S3 bucket", &bucket_name))?
    {
        children.bucket = Some(bucket_name);
    }
    let group = names.security_group();
    children.security_group_id = security_group::find(&aws, &group)
        .await
        .map_err(failed("security group", &group))?;
    let token = names.efs_creation_token();
    children.file_system_id = file_system::find_by_creation_token(&aws, &token)
        .await
        .map_err(failed("EFS file system", &token))?;
    if let Some(id) = &children.file_system_id {
        let mount_targets = file_system::mount_targets(&aws, id)
            .await
            .map_err(failed("EFS mount targets", id))?;
        children.mount_target_ids = Some(mount_targets.into_iter().map(|(id, _)| id).collect());
        children.access_point_id = file_system::access_points(&aws, id)
            .await
            .map_err(failed("EFS access point", id))?
            .into_iter()
            .next();
    }
    let secret = names.redis_auth_secret();
    children.redis_auth_secret_arn = auth_secret::find(&aws, &secret)
        .await
        .map_err(failed("Secrets Manager secret", &secret))?;
    let subnet_group = names.cache_subnet_group();
    if cache::subnet_group_exists(&aws, &subnet_group)
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
        *slot = role::read(&aws, &role_name)
            .await
            .map_err(failed("IAM role", &role_name))?;
    }
    children.state_machine_arn = Some(machine_arn.clone());
    children.definition = Some(machine.definition.clone());
    children.input_rule_name = Some(rule_name);
    if let Some(principal) = &children.state_machine_role_arn {
        children.access_entry_arn = access_entry::find(&aws, &spec.cluster_name, principal)
            .await
            .map_err(failed("EKS access entry", principal))?;
    }
    let subject = format!("{}/{}", spec.namespace, spec.service_account);
    children.pod_identity_association_id =
        pod_identity::find(&aws, &spec.cluster_name, &spec.namespace, &spec.service_account)
            .await
            .map_err(failed("EKS Pod Identity association", &subject))?;
    deploy::refresh(aws.clone(), spec.cluster_name.clone(), &mut children).await?;

    // `tags` are what the children carry beyond the provider's default tags.
    let tags_all = state_machine::tags(&aws, &machine_arn)
        .await
        .map_err(failed("Step Functions state machine", &machine_arn))?;
    spec.tags = tags_all
        .into_iter()
        .filter(|(k, v)| aws.default_tags.get(k) != Some(v))
        .collect();

    let mut state = PipelineState::from_spec(&spec);
    state.force_destroy = Value::Value(false);
    state.id = Value::Value(spec.name.clone());
    state.tags_all = crate::resource::merged_tags(&state.tags, &aws.default_tags);
    state.set_children(&children);
    Ok(state)
}
