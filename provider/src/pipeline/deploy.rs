//! Creating, healing, refreshing and destroying a pipeline's children in dependency order.
//!
//! Every step records the child's identity in [`Children`] as soon as AWS returns it, before any
//! wait, so whatever stops a run (an AWS error, a timeout) leaves behind exactly what exists:
//! the next apply finishes the job and destroy removes it.

use std::fmt;

use eventdriven_core::cluster::{AwsContext, ClusterInfo};
use eventdriven_core::definition::state_machine_definition;
use eventdriven_core::env::lambda_environment;
use eventdriven_core::iam;
use eventdriven_core::naming::{Names, Role};
use eventdriven_core::refs::DeployedRefs;
use eventdriven_core::spec::PipelineSpec;

use crate::aws::{AwsClients, AwsError, Tags};
use crate::children::{
    access_entry, auth_secret, bucket, cache, file_system, function, pod_identity, role, state_machine, table,
    trigger_rule,
};
use crate::cluster;
use crate::pipeline::state::Children;
use eventdriven_core::trigger;

/// The Lambda only lists chunks: a short timeout and little memory are plenty.
const FUNCTION_TIMEOUT_SECONDS: i32 = 60;
const FUNCTION_MEMORY_MB: i32 = 256;

/// A child that could not be created, read, updated or deleted, with AWS's reason.
#[derive(Debug)]
pub struct Failure {
    pub action: &'static str,
    pub child: &'static str,
    pub name: String,
    pub error: AwsError,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {:?} failed: {}",
            self.action, self.child, self.name, self.error
        )
    }
}

/// Builds the `map_err` adapter for one step.
fn failed(action: &'static str, child: &'static str, name: &str) -> impl FnOnce(AwsError) -> Failure {
    let name = name.to_owned();
    move |error| Failure {
        action,
        child,
        name,
        error,
    }
}

fn role_child(role: Role) -> &'static str {
    match role {
        Role::StateMachine => "IAM role (state machine)",
        Role::Events => "IAM role (events)",
        Role::Lambda => "IAM role (Lambda)",
        Role::Job => "IAM role (jobs)",
    }
}

fn role_arn_slot(children: &mut Children, role: Role) -> &mut Option<String> {
    match role {
        Role::StateMachine => &mut children.state_machine_role_arn,
        Role::Events => &mut children.events_role_arn,
        Role::Lambda => &mut children.lambda_role_arn,
        Role::Job => &mut children.job_role_arn,
    }
}

/// Everything needed to render and place the children: the spec, the account and the cluster.
pub struct Deployment<'a> {
    pub aws: &'a AwsClients,
    pub spec: &'a PipelineSpec,
    pub context: AwsContext,
    pub cluster: ClusterInfo,
    pub tags: Tags,
}

impl<'a> Deployment<'a> {
    /// Reads the account and the cluster; fails naming the cluster when it cannot be described.
    pub async fn prepare(aws: &'a AwsClients, spec: &'a PipelineSpec, tags: Tags) -> Result<Self, Failure> {
        let context = cluster::aws_context(aws)
            .await
            .map_err(failed("reading", "AWS account", "sts"))?;
        let cluster = cluster::describe(aws, &spec.cluster_name).await.map_err(failed(
            "reading",
            "EKS cluster",
            &spec.cluster_name,
        ))?;
        Ok(Self {
            aws,
            spec,
            context,
            cluster,
            tags,
        })
    }

    pub fn names(&self) -> Names<'_> {
        Names::new(self.spec, &self.context)
    }

    /// The identifiers the definition and the Lambda's environment embed. Names are
    /// deterministic, so only what AWS chooses (file system id, endpoint, secret ARN) comes
    /// from `children`.
    fn refs(&self, children: &Children) -> DeployedRefs {
        let names = self.names();
        DeployedRefs {
            lambda_function_arn: children
                .lambda_function_arn
                .clone()
                .unwrap_or_else(|| names.lambda_function_arn()),
            efs_file_system_id: children.file_system_id.clone().unwrap_or_default(),
            redis_url: children.redis_url.clone().unwrap_or_default(),
            redis_auth_secret_arn: children.redis_auth_secret_arn.clone(),
            table_name: names.table(),
            bucket_name: names.bucket(),
            region: self.context.region.clone(),
            partition: self.context.partition.clone(),
        }
    }

    /// The definition as the state stores it: compact JSON with sorted keys, so equal
    /// definitions compare equal.
    pub fn definition(&self, children: &Children) -> String {
        state_machine_definition(self.spec, &self.cluster, &self.refs(children)).to_string()
    }

    fn trust_policy(&self, role: Role) -> serde_json::Value {
        match role {
            Role::StateMachine => iam::state_machine_trust_policy(&self.context),
            Role::Events => iam::events_trust_policy(&self.context),
            Role::Lambda => iam::lambda_trust_policy(),
            Role::Job => iam::job_trust_policy(self.spec),
        }
    }

    fn role_policy(&self, role: Role) -> serde_json::Value {
        let names = self.names();
        match role {
            Role::StateMachine => iam::state_machine_policy(&names),
            Role::Events => iam::events_policy(&names),
            Role::Lambda => iam::lambda_policy(&names),
            Role::Job => iam::job_policy(&names),
        }
    }

    /// Grants the state machine's role edit access to the pipeline's namespace only (creating
    /// and updating are the same call).
    async fn scope_cluster_access(&self, state_machine_role: &str, action: &'static str) -> Result<(), Failure> {
        access_entry::associate_policy(
            self.aws,
            &self.cluster.name,
            state_machine_role,
            &self.spec.namespace,
            &access_entry::edit_policy_arn(&self.context.partition),
        )
        .await
        .map_err(failed(action, "EKS access entry", state_machine_role))
    }

    /// Puts the trigger rule and its target (creating and updating are the same call);
    /// returns the rule's name.
    async fn put_trigger_rule(&self, children: &Children, action: &'static str) -> Result<String, Failure> {
        let name = self.names().input_rule();
        let pattern =
            trigger::input_event_pattern(&self.names().bucket(), &self.spec.input_prefix, &self.spec.input_suffix);
        trigger_rule::put(
            self.aws,
            &name,
            &pattern,
            children.state_machine_arn.as_deref().unwrap_or_default(),
            children.events_role_arn.as_deref().unwrap_or_default(),
            &self.tags,
        )
        .await
        .map_err(failed(action, "EventBridge rule", &name))?;
        Ok(name)
    }

    /// Creates every child missing from `children`, in dependency order.
    pub async fn ensure(&self, children: &mut Children) -> Result<(), Failure> {
        let (aws, names, tags) = (self.aws, self.names(), &self.tags);
        const CREATING: &str = "creating";

        if children.bucket.is_none() {
            let name = names.bucket();
            bucket::create(aws, &name)
                .await
                .map_err(failed(CREATING, "S3 bucket", &name))?;
            children.bucket = Some(name.clone());
            bucket::configure(aws, &name, tags)
                .await
                .map_err(failed(CREATING, "S3 bucket", &name))?;
        }

        if children.table_name.is_none() {
            let name = names.table();
            let billing = table::Billing {
                mode: &self.spec.dynamodb_billing_mode,
                read_capacity: self.spec.dynamodb_read_capacity,
                write_capacity: self.spec.dynamodb_write_capacity,
            };
            table::create(aws, &name, billing, tags)
                .await
                .map_err(failed(CREATING, "DynamoDB table", &name))?;
            children.table_name = Some(name.clone());
            table::wait_active(aws, &name)
                .await
                .map_err(failed(CREATING, "DynamoDB table", &name))?;
        }

        let token = names.efs_creation_token();
        let file_system_id = match &children.file_system_id {
            Some(id) => id.clone(),
            None => {
                let id = file_system::create(aws, &token, tags).await.map_err(failed(
                    CREATING,
                    "EFS file system",
                    &token,
                ))?;
                children.file_system_id = Some(id.clone());
                id
            }
        };
        file_system::wait_available(aws, &file_system_id).await.map_err(failed(
            CREATING,
            "EFS file system",
            &file_system_id,
        ))?;
        if children.mount_target_ids.as_ref().is_none_or(Vec::is_empty) {
            let ids = file_system::create_mount_targets(
                aws,
                &file_system_id,
                &self.cluster.subnet_ids,
                &self.cluster.security_group_ids,
            )
            .await
            .map_err(failed(CREATING, "EFS mount targets", &file_system_id))?;
            children.mount_target_ids = Some(ids);
        }
        if children.access_point_id.is_none() {
            let root = names.efs_access_point_root();
            let id = file_system::create_access_point(aws, &file_system_id, &root, &token, tags)
                .await
                .map_err(failed(CREATING, "EFS access point", &root))?;
            children.access_point_id = Some(id);
        }

        self.ensure_progress_store(children).await?;

        let refs = self.refs(children);
        for role in Role::ALL {
            if role_arn_slot(children, role).is_none() {
                let name = names.role(role);
                let arn = role::create(aws, &name, &self.trust_policy(role), tags)
                    .await
                    .map_err(failed(CREATING, role_child(role), &name))?;
                *role_arn_slot(children, role) = Some(arn);
                role::put_policy(aws, &name, &self.role_policy(role))
                    .await
                    .map_err(failed(CREATING, role_child(role), &name))?;
            }
        }

        if children.lambda_function_arn.is_none() {
            let name = names.lambda_function();
            let environment = lambda_environment(self.spec, &refs);
            let settings = function::FunctionSettings {
                name: &name,
                image_uri: &self.spec.lambda_image,
                role_arn: children.lambda_role_arn.as_deref().unwrap_or_default(),
                subnet_ids: &self.cluster.subnet_ids,
                security_group_ids: &self.cluster.security_group_ids,
                environment: &environment,
                timeout_seconds: FUNCTION_TIMEOUT_SECONDS,
                memory_mb: FUNCTION_MEMORY_MB,
            };
            let arn =
                function::create(aws, &settings, tags)
                    .await
                    .map_err(failed(CREATING, "Lambda function", &name))?;
            children.lambda_function_arn = Some(arn);
            function::wait_until_settled(aws, &name)
                .await
                .map_err(failed(CREATING, "Lambda function", &name))?;
        }

        if children.state_machine_arn.is_none() {
            let name = names.state_machine();
            let definition = self.definition(children);
            let definition_json: serde_json::Value = serde_json::from_str(&definition).expect("core renders JSON");
            let arn = state_machine::create(
                aws,
                &name,
                &definition_json,
                children.state_machine_role_arn.as_deref().unwrap_or_default(),
                tags,
            )
            .await
            .map_err(failed(CREATING, "Step Functions state machine", &name))?;
            children.state_machine_arn = Some(arn);
            children.definition = Some(definition);
        }

        if children.input_rule_name.is_none() {
            children.input_rule_name = Some(self.put_trigger_rule(children, CREATING).await?);
        }

        let state_machine_role = children.state_machine_role_arn.clone().unwrap_or_default();
        if children.access_entry_arn.is_none() {
            let arn = access_entry::create(aws, &self.cluster.name, &state_machine_role, tags)
                .await
                .map_err(failed(CREATING, "EKS access entry", &state_machine_role))?;
            children.access_entry_arn = Some(arn);
            self.scope_cluster_access(&state_machine_role, CREATING).await?;
        }

        if children.pod_identity_association_id.is_none() {
            let subject = format!("{}/{}", self.spec.namespace, self.spec.service_account);
            let id = pod_identity::create(
                aws,
                &self.cluster.name,
                &self.spec.namespace,
                &self.spec.service_account,
                children.job_role_arn.as_deref().unwrap_or_default(),
                tags,
            )
            .await
            .map_err(failed(CREATING, "EKS Pod Identity association", &subject))?;
            children.pod_identity_association_id = Some(id);
        }
        Ok(())
    }

    /// The auth token secret, then the cache subnet group and replication group. A group
    /// re-created later gets the stored token; a secret re-created later resets the group's.
    async fn ensure_progress_store(&self, children: &mut Children) -> Result<(), Failure> {
        let (aws, names, tags) = (self.aws, self.names(), &self.tags);
        const CREATING: &str = "creating";
        let secret_name = names.redis_auth_secret();
        let mut new_token = None;
        if children.redis_auth_secret_arn.is_none() {
            let token =
                auth_secret::generate_token().map_err(failed(CREATING, "Secrets Manager secret", &secret_name))?;
            let arn = auth_secret::create(aws, &secret_name, &token, tags)
                .await
                .map_err(failed(CREATING, "Secrets Manager secret", &secret_name))?;
            children.redis_auth_secret_arn = Some(arn);
            new_token = Some(token);
        }
        let token = match new_token.clone() {
            Some(token) => token,
            None => auth_secret::token(aws, children.redis_auth_secret_arn.as_deref().unwrap_or_default())
                .await
                .and_then(|token| token.ok_or_else(|| AwsError::other("the secret has no value")))
                .map_err(failed("reading", "Secrets Manager secret", &secret_name))?,
        };

        let subnet_group = names.cache_subnet_group();
        if children.cache_subnet_group_name.is_none() {
            cache::create_subnet_group(aws, &subnet_group, &self.cluster.subnet_ids, tags)
                .await
                .map_err(failed(CREATING, "ElastiCache subnet group", &subnet_group))?;
            children.cache_subnet_group_name = Some(subnet_group.clone());
        }

        let group_id = names.replication_group_id();
        if children.replication_group_id.is_none() {
            let settings = cache::ReplicationGroupSettings {
                id: &group_id,
                node_type: &self.spec.redis_node_type,
                subnet_group: &subnet_group,
                security_group_ids: &self.cluster.security_group_ids,
                auth_token: &token,
            };
            cache::create_replication_group(aws, &settings, tags)
                .await
                .map_err(failed(CREATING, "ElastiCache replication group", &group_id))?;
            children.replication_group_id = Some(group_id.clone());
        } else if let Some(token) = &new_token {
            cache::set_auth_token(aws, &group_id, token).await.map_err(failed(
                "updating",
                "ElastiCache replication group",
                &group_id,
            ))?;
        }
        if children.redis_url.is_none() {
            let endpoint = cache::wait_available(aws, &group_id).await.map_err(failed(
                CREATING,
                "ElastiCache replication group",
                &group_id,
            ))?;
            children.redis_url = Some(format!("rediss://{}:{}", endpoint.address, endpoint.port));
        }
        Ok(())
    }

    /// Re-applies every setting that can change in place: policies, the trigger, the access
    /// scope, the Lambda's image and environment, the definition, and (when they changed) tags.
    pub async fn apply_settings(&self, children: &mut Children, tags_changed: bool) -> Result<(), Failure> {
        let (aws, names, tags) = (self.aws, self.names(), &self.tags);
        const UPDATING: &str = "updating";
        let refs = self.refs(children);

        let bucket_name = names.bucket();
        bucket::configure(aws, &bucket_name, tags)
            .await
            .map_err(failed(UPDATING, "S3 bucket", &bucket_name))?;
        for role in Role::ALL {
            let name = names.role(role);
            role::put_policy(aws, &name, &self.role_policy(role))
                .await
                .map_err(failed(UPDATING, role_child(role), &name))?;
        }

        let function_name = names.lambda_function();
        let live =
            function::read(aws, &function_name)
                .await
                .map_err(failed("reading", "Lambda function", &function_name))?;
        if let Some(live) = live {
            if live.image_uri.as_deref() != Some(self.spec.lambda_image.as_str()) {
                function::update_image(aws, &function_name, &self.spec.lambda_image)
                    .await
                    .map_err(failed(UPDATING, "Lambda function", &function_name))?;
            }
            let environment = lambda_environment(self.spec, &refs);
            if live.environment != environment {
                function::update_environment(aws, &function_name, &environment)
                    .await
                    .map_err(failed(UPDATING, "Lambda function", &function_name))?;
            }
        }

        let definition = self.definition(children);
        if let Some(arn) = children.state_machine_arn.clone() {
            let live = state_machine::read(aws, &arn).await.map_err(failed(
                "reading",
                "Step Functions state machine",
                &arn,
            ))?;
            let definition_json: serde_json::Value = serde_json::from_str(&definition).expect("core renders JSON");
            if live.is_none_or(|live| live.definition != definition_json) {
                state_machine::update(
                    aws,
                    &arn,
                    &definition_json,
                    children.state_machine_role_arn.as_deref().unwrap_or_default(),
                )
                .await
                .map_err(failed(UPDATING, "Step Functions state machine", &arn))?;
            }
            children.definition = Some(definition);
        }

        self.put_trigger_rule(children, UPDATING).await?;

        let state_machine_role = children.state_machine_role_arn.clone().unwrap_or_default();
        self.scope_cluster_access(&state_machine_role, UPDATING).await?;

        if tags_changed {
            self.put_tags(children).await?;
        }
        Ok(())
    }

    /// Replaces the tags of every taggable child with the pipeline's.
    async fn put_tags(&self, children: &Children) -> Result<(), Failure> {
        let (aws, names, tags) = (self.aws, self.names(), &self.tags);
        const TAGGING: &str = "tagging";
        let table = names.table();
        table::put_tags(aws, &names.table_arn(), tags)
            .await
            .map_err(failed(TAGGING, "DynamoDB table", &table))?;
        if let Some(id) = &children.file_system_id {
            file_system::put_tags(aws, id, tags)
                .await
                .map_err(failed(TAGGING, "EFS file system", id))?;
        }
        if let Some(arn) = &children.redis_auth_secret_arn {
            auth_secret::put_tags(aws, arn, tags)
                .await
                .map_err(failed(TAGGING, "Secrets Manager secret", arn))?;
        }
        let group = names.replication_group_arn();
        cache::put_tags(aws, &group, tags)
            .await
            .map_err(failed(TAGGING, "ElastiCache replication group", &group))?;
        for role in Role::ALL {
            let name = names.role(role);
            role::put_tags(aws, &name, tags)
                .await
                .map_err(failed(TAGGING, role_child(role), &name))?;
        }
        if let Some(arn) = &children.lambda_function_arn {
            function::put_tags(aws, arn, tags)
                .await
                .map_err(failed(TAGGING, "Lambda function", arn))?;
        }
        if let Some(arn) = &children.state_machine_arn {
            state_machine::put_tags(aws, arn, tags).await.map_err(failed(
                TAGGING,
                "Step Functions state machine",
                arn,
            ))?;
        }
        let rule = names.input_rule_arn();
        trigger_rule::put_tags(aws, &rule, tags)
            .await
            .map_err(failed(TAGGING, "EventBridge rule", &rule))?;
        Ok(())
    }
}

/// Arguments as the children report them, for refresh to surface changes made outside Terraform.
#[derive(Debug, Default)]
pub struct LiveArguments {
    pub lambda_image: Option<String>,
}

/// Forgets every recorded child that no longer exists, so the next plan shows it coming back,
/// and reports the arguments the children hold now.
pub async fn refresh(aws: &AwsClients, cluster_name: &str, children: &mut Children) -> Result<LiveArguments, Failure> {
    let mut live = LiveArguments::default();
    const READING: &str = "reading";
    macro_rules! forget_if_gone {
        ($slot:expr, $child:expr, |$id:ident| $exists:expr) => {
            if let Some($id) = $slot.clone() {
                let exists: Result<bool, AwsError> = async { $exists }.await;
                if !exists.map_err(failed(READING, $child, &$id))? {
                    $slot = None;
                }
            }
        };
    }
    forget_if_gone!(children.bucket, "S3 bucket", |name| bucket::exists(aws, &name).await);
    forget_if_gone!(children.table_name, "DynamoDB table", |name| Ok(table::read(
        aws, &name
    )
    .await?
    .is_some()));
    forget_if_gone!(children.file_system_id, "EFS file system", |id| Ok(
        file_system::life_cycle_state(aws, &id).await?.is_some()
    ));
    if let Some(id) = children.file_system_id.clone() {
        let live = file_system::mount_targets(aws, &id)
            .await
            .map_err(failed(READING, "EFS mount targets", &id))?;
        let recorded = children.mount_target_ids.clone().unwrap_or_default();
        if recorded.is_empty() || recorded.iter().any(|mt| !live.iter().any(|(live_id, _)| live_id == mt)) {
            children.mount_target_ids = None;
        }
        let access_points =
            file_system::access_points(aws, &id)
                .await
                .map_err(failed(READING, "EFS access point", &id))?;
        if children
            .access_point_id
            .as_ref()
            .is_some_and(|ap| !access_points.contains(ap))
        {
            children.access_point_id = None;
        }
    } else {
        children.mount_target_ids = None;
        children.access_point_id = None;
    }
    forget_if_gone!(children.redis_auth_secret_arn, "Secrets Manager secret", |arn| {
        auth_secret::exists(aws, &arn).await
    });
    forget_if_gone!(children.cache_subnet_group_name, "ElastiCache subnet group", |name| {
        cache::subnet_group_exists(aws, &name).await
    });
    forget_if_gone!(children.replication_group_id, "ElastiCache replication group", |id| Ok(
        cache::read_replication_group(aws, &id).await?.is_some()
    ));
    if children.replication_group_id.is_none() {
        children.redis_url = None;
    }
    for slot in [
        &mut children.job_role_arn,
        &mut children.lambda_role_arn,
        &mut children.state_machine_role_arn,
        &mut children.events_role_arn,
    ] {
        forget_if_gone!(*slot, "IAM role", |arn| Ok(role::read(aws, role_name(&arn))
            .await?
            .is_some()));
    }
    forget_if_gone!(children.lambda_function_arn, "Lambda function", |arn| {
        let function = function::read(aws, &arn).await?;
        live.lambda_image = function.as_ref().and_then(|f| f.image_uri.clone());
        Ok(function.is_some())
    });
    if let Some(arn) = children.state_machine_arn.clone() {
        match state_machine::read(aws, &arn)
            .await
            .map_err(failed(READING, "Step Functions state machine", &arn))?
        {
            None => {
                children.state_machine_arn = None;
                children.definition = None;
            }
            // Edited outside Terraform: forget the recorded definition so the plan re-applies it.
            Some(live) if Some(live.definition.to_string()) != children.definition => children.definition = None,
            Some(_) => {}
        }
    }
    forget_if_gone!(children.input_rule_name, "EventBridge rule", |name| Ok(
        trigger_rule::read(aws, &name).await?.is_some()
    ));
    if let Some(arn) = children.access_entry_arn.clone() {
        let principal = children.state_machine_role_arn.clone().unwrap_or_default();
        let policies = access_entry::read(aws, cluster_name, &principal).await.map_err(failed(
            READING,
            "EKS access entry",
            &arn,
        ))?;
        if policies.is_none() {
            children.access_entry_arn = None;
        }
    }
    forget_if_gone!(
        children.pod_identity_association_id,
        "EKS Pod Identity association",
        |id| Ok(pod_identity::read(aws, cluster_name, &id).await?.is_some())
    );
    Ok(live)
}

/// The role name at the end of a role ARN (`arn:aws:iam::123:role/NAME`).
fn role_name(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// Deletes every recorded child in reverse dependency order; children already gone are fine.
/// Only recorded children are deleted, so an object that merely has a pipeline's name (for
/// instance one whose creation failed because it existed already) is left alone.
pub async fn destroy(aws: &AwsClients, cluster_name: &str, children: &mut Children) -> Result<(), Failure> {
    const DELETING: &str = "deleting";
    /// Deletes the child recorded in `$slot`, then forgets it and the attributes that go with it.
    macro_rules! delete_child {
        ($slot:expr, $child:literal, |$id:ident| $delete:expr $(, $also:expr)*) => {
            if let Some($id) = $slot.clone() {
                $delete.await.map_err(failed(DELETING, $child, &$id))?;
                $slot = None;
                $($also = None;)*
            }
        };
    }
    delete_child!(
        children.pod_identity_association_id,
        "EKS Pod Identity association",
        |id| { pod_identity::delete(aws, cluster_name, &id) }
    );
    let principal = children.state_machine_role_arn.clone().unwrap_or_default();
    delete_child!(children.access_entry_arn, "EKS access entry", |arn| {
        access_entry::delete(aws, cluster_name, &principal)
    });
    delete_child!(children.input_rule_name, "EventBridge rule", |name| {
        trigger_rule::delete(aws, &name)
    });
    delete_child!(
        children.state_machine_arn,
        "Step Functions state machine",
        |arn| state_machine::delete(aws, &arn),
        children.definition
    );
    delete_child!(children.lambda_function_arn, "Lambda function", |arn| function::delete(
        aws, &arn
    ));
    for slot in [
        &mut children.job_role_arn,
        &mut children.lambda_role_arn,
        &mut children.state_machine_role_arn,
        &mut children.events_role_arn,
    ] {
        delete_child!(*slot, "IAM role", |arn| role::delete(aws, role_name(&arn)));
    }
    delete_child!(
        children.replication_group_id,
        "ElastiCache replication group",
        |id| cache::delete_replication_group(aws, &id),
        children.redis_url
    );
    delete_child!(children.cache_subnet_group_name, "ElastiCache subnet group", |name| {
        cache::delete_subnet_group(aws, &name)
    });
    delete_child!(children.redis_auth_secret_arn, "Secrets Manager secret", |arn| {
        auth_secret::delete(aws, &arn)
    });
    delete_child!(
        children.file_system_id,
        "EFS file system",
        |id| file_system::delete(aws, &id),
        children.mount_target_ids,
        children.access_point_id
    );
    delete_child!(children.table_name, "DynamoDB table", |name| table::delete(aws, &name));
    delete_child!(children.bucket, "S3 bucket", |name| bucket::delete(aws, &name));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_come_from_arns() {
        assert_eq!(
            role_name("arn:aws:iam::123456789012:role/eventdriven-orders-job"),
            "eventdriven-orders-job"
        );
    }

    #[test]
    fn failures_name_the_child_and_carry_aws_message() {
        let failure = failed("creating", "S3 bucket", "orders")(AwsError {
            code: Some("BucketAlreadyExists".into()),
            message: "taken".into(),
        });
        assert_eq!(
            failure.to_string(),
            "creating S3 bucket \"orders\" failed: BucketAlreadyExists: taken"
        );
    }
}
