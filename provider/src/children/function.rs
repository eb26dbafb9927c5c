//! Lambda functions from container images: the pipeline's list-chunks function, in the
//! cluster's VPC next to the progress store it reads, and a workflow's listeners.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_lambda::client::Waiters;
use aws_sdk_lambda::types::{Architecture, Environment, FunctionCode, ImageConfig, PackageType, VpcConfig};

use eventdriven_core::env::lambda_environment;

use crate::aws::{
    AwsClients, AwsError, Tags, WAITER_LIMIT, found, ignore_not_found, retry_while_role_propagates, sync_tags,
    waiter_failed,
};
use async_trait::async_trait;

use crate::children::log_group;
use crate::lifecycle::Child;
use crate::pipeline::plan::{Deployment, Pipeline, Teardown};
use crate::pipeline::state::Children;
use crate::workflow::plan::{Workflow, WorkflowPlan, WorkflowScope};
use crate::workflow::state::WorkflowChildren;
use eventdriven_core::naming::function_log_group_of;
use eventdriven_core::workflow::environment::listener_environment;
use eventdriven_core::workflow::spec::ListenerSpec;

/// Everything the function is configured with.
#[derive(Clone, Debug)]
pub struct FunctionSettings<'a> {
    pub name: &'a str,
    pub image_uri: &'a str,
    /// `x86_64` or `arm64`: what the image was built for.
    pub architecture: &'a str,
    pub role_arn: &'a str,
    pub subnet_ids: &'a [String],
    pub security_group_ids: &'a [String],
    pub environment: &'a BTreeMap<String, String>,
    pub timeout_seconds: i32,
    pub memory_mb: i32,
    /// Arguments to the image's entrypoint (its `CMD`); empty keeps the image's own.
    pub command: &'a [String],
}

/// Lambda rejects a role it cannot assume yet (fresh from IAM) with this code.
fn role_not_ready(err: &AwsError) -> bool {
    err.has_code("InvalidParameterValueException") && err.message.to_ascii_lowercase().contains("role")
}

fn environment(variables: &BTreeMap<String, String>) -> Environment {
    let variables: HashMap<String, String> = variables.clone().into_iter().collect();
    Environment::builder().set_variables(Some(variables)).build()
}

/// Functions that need no private network (no subnets given) stay out of any VPC.
fn vpc_config(settings: &FunctionSettings<'_>) -> Option<VpcConfig> {
    (!settings.subnet_ids.is_empty()).then(|| {
        VpcConfig::builder()
            .set_subnet_ids(Some(settings.subnet_ids.to_vec()))
            .set_security_group_ids(Some(settings.security_group_ids.to_vec()))
            .build()
    })
}

fn image_config(settings: &FunctionSettings<'_>) -> Option<ImageConfig> {
    (!settings.command.is_empty()).then(|| {
        ImageConfig::builder()
            .set_command(Some(settings.command.to_vec()))
            .build()
    })
}

/// Creates the function; returns its ARN. It is usable once [`wait_until_settled`].
pub async fn create(aws: &AwsClients, settings: &FunctionSettings<'_>, tags: &Tags) -> Result<String, AwsError> {
    let tags: HashMap<String, String> = tags.clone().into_iter().collect();
    let out = retry_while_role_propagates(role_not_ready, || async {
        let request = aws
            .lambda
            .create_function()
            .function_name(settings.name)
            .package_type(PackageType::Image)
            .code(FunctionCode::builder().image_uri(settings.image_uri).build())
            .architectures(Architecture::from(settings.architecture))
            .role(settings.role_arn)
            .set_vpc_config(vpc_config(settings))
            .set_image_config(image_config(settings))
            .environment(environment(settings.environment))
            .timeout(settings.timeout_seconds)
            .memory_size(settings.memory_mb)
            .set_tags(Some(tags.clone()));
        Ok(request.send().await?)
    })
    .await?;
    out.function_arn
        .ok_or_else(|| AwsError::other("CreateFunction returned no ARN"))
}

/// Waits until a new function is `Active`.
pub async fn wait_active(aws: &AwsClients, name: &str) -> Result<(), AwsError> {
    let waiter = aws.lambda.wait_until_function_active_v2().function_name(name);
    waiter.wait(WAITER_LIMIT).await.map_err(waiter_failed)?;
    Ok(())
}

/// Waits until an update has been applied: Lambda refuses a second change while one is still
/// in progress.
pub async fn wait_updated(aws: &AwsClients, name: &str) -> Result<(), AwsError> {
    let waiter = aws.lambda.wait_until_function_updated_v2().function_name(name);
    waiter.wait(WAITER_LIMIT).await.map_err(waiter_failed)?;
    Ok(())
}

/// What refresh compares against the configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FunctionInfo {
    pub arn: String,
    pub image_uri: Option<String>,
    pub architecture: Option<String>,
    pub environment: BTreeMap<String, String>,
    /// The image's command as configured; empty when the image's own is used.
    pub command: Vec<String>,
    pub timeout_seconds: Option<i32>,
    pub memory_mb: Option<i32>,
    pub subnet_ids: Vec<String>,
    pub security_group_ids: Vec<String>,
}

/// Names of the functions whose name starts with `prefix`.
pub async fn names_with_prefix(aws: &AwsClients, prefix: &str) -> Result<Vec<String>, AwsError> {
    let mut names = Vec::new();
    let mut pages = aws.lambda.list_functions().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(AwsError::from)?;
        let matching = page.functions().iter().filter_map(|f| f.function_name());
        names.extend(matching.filter(|name| name.starts_with(prefix)).map(str::to_owned));
    }
    Ok(names)
}

pub async fn read(aws: &AwsClients, name: &str) -> Result<Option<FunctionInfo>, AwsError> {
    let out = aws.lambda.get_function().function_name(name).send().await;
    let Some(out) = found(out.map_err(AwsError::from))? else {
        return Ok(None);
    };
    let configuration = out.configuration();
    Ok(Some(FunctionInfo {
        arn: configuration
            .and_then(|c| c.function_arn())
            .unwrap_or_default()
            .to_owned(),
        image_uri: out.code().and_then(|c| c.image_uri()).map(str::to_owned),
        architecture: configuration
            .and_then(|c| c.architectures().first())
            .map(|a| a.as_str().to_owned()),
        environment: configuration
            .and_then(|c| c.environment())
            .and_then(|e| e.variables())
            .map(|vars| vars.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default(),
        command: configuration
            .and_then(|c| c.image_config_response())
            .and_then(|r| r.image_config())
            .map(|c| c.command().to_vec())
            .unwrap_or_default(),
        timeout_seconds: configuration.and_then(|c| c.timeout()),
        memory_mb: configuration.and_then(|c| c.memory_size()),
        subnet_ids: configuration
            .and_then(|c| c.vpc_config())
            .map(|v| v.subnet_ids().to_vec())
            .unwrap_or_default(),
        security_group_ids: configuration
            .and_then(|c| c.vpc_config())
            .map(|v| v.security_group_ids().to_vec())
            .unwrap_or_default(),
    }))
}

/// Points the function at a new image, built for `architecture`.
pub async fn update_image(aws: &AwsClients, name: &str, image_uri: &str, architecture: &str) -> Result<(), AwsError> {
    aws.lambda
        .update_function_code()
        .function_name(name)
        .image_uri(image_uri)
        .architectures(Architecture::from(architecture))
        .send()
        .await?;
    wait_updated(aws, name).await
}

/// Replaces the environment, e.g. after a child it names was re-created.
pub async fn update_environment(
    aws: &AwsClients,
    name: &str,
    variables: &BTreeMap<String, String>,
) -> Result<(), AwsError> {
    aws.lambda
        .update_function_configuration()
        .function_name(name)
        .environment(environment(variables))
        .send()
        .await?;
    wait_updated(aws, name).await
}

/// Moves the function to other subnets or security groups.
pub async fn update_vpc(
    aws: &AwsClients,
    name: &str,
    subnet_ids: &[String],
    security_group_ids: &[String],
) -> Result<(), AwsError> {
    let vpc = VpcConfig::builder()
        .set_subnet_ids(Some(subnet_ids.to_vec()))
        .set_security_group_ids(Some(security_group_ids.to_vec()))
        .build();
    aws.lambda
        .update_function_configuration()
        .function_name(name)
        .vpc_config(vpc)
        .send()
        .await?;
    wait_updated(aws, name).await
}

/// Re-applies what a function's configuration holds: environment, timeout, memory, command.
pub async fn update_configuration(aws: &AwsClients, settings: &FunctionSettings<'_>) -> Result<(), AwsError> {
    aws.lambda
        .update_function_configuration()
        .function_name(settings.name)
        .environment(environment(settings.environment))
        .timeout(settings.timeout_seconds)
        .memory_size(settings.memory_mb)
        .image_config(image_config(settings).unwrap_or_else(|| ImageConfig::builder().build()))
        .send()
        .await?;
    wait_updated(aws, settings.name).await
}

/// Lets EventBridge invoke the function for the rule `rule_arn` only; already allowed is fine.
pub async fn allow_rule(aws: &AwsClients, name: &str, rule_arn: &str) -> Result<(), AwsError> {
    let statement_id = rule_arn.rsplit('/').next().unwrap_or(rule_arn);
    let out = aws
        .lambda
        .add_permission()
        .function_name(name)
        .statement_id(statement_id)
        .action("lambda:InvokeFunction")
        .principal("events.amazonaws.com")
        .source_arn(rule_arn)
        .send()
        .await;
    match out.map_err(AwsError::from) {
        Err(e) if e.has_code("ResourceConflictException") => Ok(()),
        other => other.map(drop),
    }
}

pub async fn put_tags(aws: &AwsClients, arn: &str, tags: &Tags) -> Result<(), AwsError> {
    let out = aws.lambda.list_tags().resource(arn).send().await?;
    let current = out
        .tags()
        .into_iter()
        .flat_map(|current| current.keys().map(String::as_str));
    let untag = |stale| async move {
        aws.lambda
            .untag_resource()
            .resource(arn)
            .set_tag_keys(Some(stale))
            .send()
            .await?;
        Ok(())
    };
    let tag = || async {
        let tags: HashMap<String, String> = tags.clone().into_iter().collect();
        aws.lambda
            .tag_resource()
            .resource(arn)
            .set_tags(Some(tags))
            .send()
            .await?;
        Ok(())
    };
    sync_tags(current, tags, untag, tag).await
}

/// The log group the function `name` writes to, with a retention (both upserts). Created
/// before the function, so Lambda does not create it without one.
pub async fn put_function_log_group(
    aws: &AwsClients,
    name: &str,
    tags: &Tags,
    retention_days: i64,
) -> Result<(), AwsError> {
    let group = function_log_group_of(name);
    log_group::create(aws, &group, tags).await?;
    log_group::put_retention(aws, &group, retention_days).await
}

/// Deletes the function (by name or ARN), then its log group.
pub async fn delete_with_log_group(aws: &AwsClients, id: &str) -> Result<(), AwsError> {
    delete(aws, id).await?;
    let name = id.rsplit(':').next().unwrap_or(id);
    log_group::delete(aws, &function_log_group_of(name)).await
}

pub async fn delete(aws: &AwsClients, name: &str) -> Result<(), AwsError> {
    let out = aws.lambda.delete_function().function_name(name).send().await;
    ignore_not_found(out.map(drop).map_err(Into::into))
}

/// The Lambda only lists chunks: a short timeout and little memory are plenty.
const TIMEOUT_SECONDS: i32 = eventdriven_core::contract::LIST_CHUNKS_FUNCTION_TIMEOUT_SECONDS;
const MEMORY_MB: i32 = 256;
/// Two weeks of the list-chunks function's logs.
const LOG_RETENTION_DAYS: i64 = 14;

/// The list-chunks function, configured from core's settings contract.
pub struct ListChunksFunction;

#[async_trait]
impl Child<Pipeline> for ListChunksFunction {
    fn label(&self) -> &'static str {
        "Lambda function"
    }

    fn name(&self, plan: &Deployment) -> String {
        plan.names().lambda_function()
    }

    fn recorded<'c>(&self, children: &'c mut Children) -> &'c mut Option<String> {
        &mut children.lambda_function_arn
    }

    async fn ensure(&self, plan: &Deployment, children: &mut Children) -> Result<(), AwsError> {
        if children.lambda_function_arn.is_none() {
            let name = self.name(plan);
            let environment = lambda_environment(&plan.spec, &plan.refs(children));
            let security_group_ids = plan.security_groups(children);
            let settings = FunctionSettings {
                name: &name,
                image_uri: &plan.spec.lambda_image,
                architecture: &plan.spec.architecture,
                role_arn: children.lambda_role_arn.as_deref().unwrap_or_default(),
                subnet_ids: plan.lambda_subnets(),
                security_group_ids: &security_group_ids,
                environment: &environment,
                timeout_seconds: TIMEOUT_SECONDS,
                memory_mb: MEMORY_MB,
                command: &[],
            };
            // Created first, with a retention, so Lambda does not create it without one.
            put_function_log_group(&plan.aws, &name, &plan.tags, LOG_RETENTION_DAYS).await?;
            let arn = create(&plan.aws, &settings, &plan.tags).await?;
            children.lambda_function_arn = Some(arn);
            wait_active(&plan.aws, &name).await?;
        }
        Ok(())
    }

    /// Points the function at the configured image and environment when either differs.
    async fn apply_settings(&self, plan: &Deployment, children: &mut Children) -> Result<(), AwsError> {
        let name = self.name(plan);
        let Some(live) = read(&plan.aws, &name).await? else {
            return Ok(());
        };
        let (image, architecture) = (&plan.spec.lambda_image, &plan.spec.architecture);
        // Endpoints that report no architecture run the default one.
        let live_architecture = live.architecture.as_deref().unwrap_or(eventdriven_core::spec::X86_64);
        if live.image_uri.as_deref() != Some(image.as_str()) || live_architecture != architecture {
            update_image(&plan.aws, &name, image, architecture).await?;
        }
        let environment = lambda_environment(&plan.spec, &plan.refs(children));
        if live.environment != environment {
            update_environment(&plan.aws, &name, &environment).await?;
        }
        let (subnets, groups) = (plan.lambda_subnets(), plan.security_groups(children));
        if live.subnet_ids != subnets || live.security_group_ids != groups {
            update_vpc(&plan.aws, &name, subnets, &groups).await?;
        }
        Ok(())
    }

    async fn tag(&self, plan: &Deployment, id: &str) -> Result<(), AwsError> {
        put_tags(&plan.aws, id, &plan.tags).await
    }

    /// Notes the image the function runs, so a change made outside Terraform shows in the plan.
    async fn refresh(&self, scope: &Teardown, id: &str, children: &mut Children) -> Result<bool, AwsError> {
        let function = read(&scope.aws, id).await?;
        children.observed.lambda_image = function.as_ref().and_then(|f| f.image_uri.clone());
        Ok(function.is_some())
    }

    async fn delete(&self, scope: &Teardown, id: &str, _children: &Children) -> Result<(), AwsError> {
        delete_with_log_group(&scope.aws, id).await
    }
}

/// A workflow listener's function: the handler image with the listener's command, outside any
/// VPC, invocable by its rule only.
pub struct ListenerFunction(pub String);

/// The listener's log group, with the workflow's retention.
async fn put_log_group(plan: &WorkflowPlan, listener: &ListenerSpec) -> Result<(), AwsError> {
    let function = plan.names().function(listener);
    put_function_log_group(&plan.aws, &function, &plan.tags, plan.spec.log_retention_days).await
}

/// The function's settings, borrowing the name and environment the caller holds.
fn listener_settings<'a>(
    plan: &'a WorkflowPlan,
    listener: &'a ListenerSpec,
    name: &'a str,
    environment: &'a BTreeMap<String, String>,
    role_arn: &'a str,
) -> FunctionSettings<'a> {
    FunctionSettings {
        name,
        image_uri: listener.image(&plan.spec),
        architecture: &plan.spec.architecture,
        role_arn,
        subnet_ids: &[],
        security_group_ids: &[],
        environment,
        timeout_seconds: listener.timeout_seconds as i32,
        memory_mb: listener.memory_size as i32,
        command: &listener.command,
    }
}

#[async_trait]
impl Child<Workflow> for ListenerFunction {
    fn label(&self) -> &'static str {
        "Lambda function (listener)"
    }

    fn name(&self, plan: &WorkflowPlan) -> String {
        plan.listener(&self.0)
            .map(|l| plan.names().function(l))
            .unwrap_or_default()
    }

    fn recorded<'c>(&self, children: &'c mut WorkflowChildren) -> &'c mut Option<String> {
        &mut children.listeners.entry(self.0.clone()).or_default().function_arn
    }

    async fn ensure(&self, plan: &WorkflowPlan, children: &mut WorkflowChildren) -> Result<(), AwsError> {
        let Some(listener) = plan.listener(&self.0) else {
            return Ok(());
        };
        if self.recorded(children).is_none() {
            // Created first, with a retention, so Lambda does not create it without one.
            put_log_group(plan, listener).await?;
            let role = children
                .listeners
                .get(&self.0)
                .and_then(|ids| ids.role_arn.clone())
                .unwrap_or_default();
            let (name, environment) = (self.name(plan), listener_environment(&plan.names(), listener));
            let settings = listener_settings(plan, listener, &name, &environment, &role);
            let arn = create(&plan.aws, &settings, &plan.tags).await?;
            *self.recorded(children) = Some(arn);
            wait_active(&plan.aws, &name).await?;
            allow_rule(&plan.aws, &name, &plan.names().listener_rule_arn(listener)).await?;
        }
        Ok(())
    }

    /// Image, command, environment, timeout and memory follow the configuration in place.
    async fn apply_settings(&self, plan: &WorkflowPlan, children: &mut WorkflowChildren) -> Result<(), AwsError> {
        let Some(listener) = plan.listener(&self.0) else {
            return Ok(());
        };
        if self.recorded(children).is_none() {
            return Ok(());
        }
        let name = self.name(plan);
        let Some(live) = read(&plan.aws, &name).await? else {
            return Ok(());
        };
        let image = listener.image(&plan.spec);
        if live.image_uri.as_deref() != Some(image) {
            update_image(&plan.aws, &name, image, &plan.spec.architecture).await?;
        }
        let role = children
            .listeners
            .get(&self.0)
            .and_then(|ids| ids.role_arn.clone())
            .unwrap_or_default();
        let environment = listener_environment(&plan.names(), listener);
        let settings = listener_settings(plan, listener, &name, &environment, &role);
        let configured = live.environment == environment
            && live.command == listener.command
            && live.timeout_seconds == Some(settings.timeout_seconds)
            && live.memory_mb == Some(settings.memory_mb);
        if !configured {
            update_configuration(&plan.aws, &settings).await?;
        }
        put_log_group(plan, listener).await?;
        allow_rule(&plan.aws, &name, &plan.names().listener_rule_arn(listener)).await
    }

    async fn tag(&self, plan: &WorkflowPlan, id: &str) -> Result<(), AwsError> {
        put_tags(&plan.aws, id, &plan.tags).await
    }

    async fn refresh(
        &self,
        scope: &WorkflowScope,
        id: &str,
        _children: &mut WorkflowChildren,
    ) -> Result<bool, AwsError> {
        Ok(read(&scope.aws, id).await?.is_some())
    }

    async fn delete(&self, scope: &WorkflowScope, id: &str, _children: &WorkflowChildren) -> Result<(), AwsError> {
        delete_with_log_group(&scope.aws, id).await
    }
}
