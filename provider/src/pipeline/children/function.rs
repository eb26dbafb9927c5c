//! The list-chunks function, in the cluster's VPC next to the progress store it reads.

use std::collections::BTreeMap;

use async_trait::async_trait;
use eventdriven_core::env::lambda_environment;

use crate::adapters::function::{self, FunctionSettings};
use crate::adapters::security_group;
use crate::aws::AwsError;
use crate::lifecycle::{Child, OwnedSettings};
use crate::pipeline::plan::{Deployment, Pipeline, Teardown};
use crate::pipeline::state::Children;

/// The Lambda only lists chunks: a short timeout and little memory are plenty.
const TIMEOUT_SECONDS: i32 = eventdriven_core::contract::LIST_CHUNKS_FUNCTION_TIMEOUT_SECONDS;
const MEMORY_MB: i32 = 256;
/// Two weeks of the list-chunks function's logs.
const LOG_RETENTION_DAYS: i64 = 14;

/// The list-chunks function, configured from core's settings contract.
pub struct ListChunksFunction;

impl ListChunksFunction {
    /// In the Lambda subnets behind the pipeline's security group, with the recorded role and
    /// core's environment; borrows what the caller holds.
    fn settings<'a>(
        &self,
        plan: &'a Deployment,
        children: &'a Children,
        name: &'a str,
        environment: &'a BTreeMap<String, String>,
        security_group_ids: &'a [String],
    ) -> FunctionSettings<'a> {
        FunctionSettings {
            name,
            image_uri: &plan.spec.lambda_image,
            architecture: plan.spec.architecture.as_str(),
            role_arn: children.lambda_role_arn.as_deref().unwrap_or_default(),
            subnet_ids: plan.lambda_subnets(),
            security_group_ids,
            environment,
            timeout_seconds: TIMEOUT_SECONDS,
            memory_mb: MEMORY_MB,
            command: &[],
            zip: None,
        }
    }
}

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
            let settings = self.settings(plan, children, &name, &environment, &security_group_ids);
            // Created first, with a retention, so Lambda does not create it without one.
            function::put_function_log_group(&plan.aws, &name, &plan.tags, LOG_RETENTION_DAYS).await?;
            let arn = function::create(&plan.aws, &settings, &plan.tags).await?;
            children.lambda_function_arn = Some(arn);
            function::wait_active(&plan.aws, &name).await?;
        }
        Ok(())
    }

    /// Points the function at the configured image, environment and network when they differ.
    async fn apply_settings(&self, plan: &Deployment, children: &mut Children) -> Result<(), AwsError> {
        let name = self.name(plan);
        let Some(live) = function::read(&plan.aws, &name).await? else {
            return Ok(());
        };
        let environment = lambda_environment(&plan.spec, &plan.refs(children));
        let security_group_ids = plan.security_groups(children);
        let settings = self.settings(plan, children, &name, &environment, &security_group_ids);
        let drift = live.drift(&settings);
        if drift.image || drift.architecture {
            function::update_image(&plan.aws, &name, settings.image_uri, settings.architecture).await?;
        }
        if drift.environment {
            function::update_environment(&plan.aws, &name, &environment).await?;
        }
        if drift.vpc {
            function::update_vpc(&plan.aws, &name, settings.subnet_ids, &security_group_ids).await?;
        }
        Ok(())
    }

    async fn tag(&self, plan: &Deployment, id: &str) -> Result<(), AwsError> {
        function::put_tags(&plan.aws, id, &plan.tags).await
    }

    /// Notes the image the function runs, so a change made outside Terraform shows in the plan.
    async fn refresh(&self, scope: &Teardown, id: &str, children: &mut Children) -> Result<bool, AwsError> {
        let function = function::read(&scope.aws, id).await?;
        children.observed.lambda_image = function.as_ref().and_then(|f| f.image_uri.clone());
        Ok(function.is_some())
    }

    async fn settings(&self, scope: &Teardown, id: &str) -> Result<OwnedSettings, AwsError> {
        Ok(function::read(&scope.aws, id)
            .await?
            .map(|f| f.settings())
            .unwrap_or_default())
    }

    /// Deletes the function, then waits until Lambda has released its network interfaces, so
    /// that its role (deleted after it) is still there for Lambda to release them with.
    async fn delete(&self, scope: &Teardown, id: &str, children: &Children) -> Result<(), AwsError> {
        function::delete_with_log_group(&scope.aws, id).await?;
        let Some(group) = &children.security_group_id else {
            return Ok(());
        };
        security_group::wait_until_released(|| security_group::lambda_interfaces(&scope.aws, group)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::children::fixtures;

    #[test]
    fn the_function_runs_in_the_private_subnets_behind_the_pipeline_group_as_its_role() {
        let plan = fixtures::deployment();
        let children = Children {
            security_group_id: Some("sg-pipeline".into()),
            lambda_role_arn: Some("arn:aws:iam::123456789012:role/eventdriven-orders-lambda".into()),
            ..Children::default()
        };
        let (name, environment) = (ListChunksFunction.name(&plan), BTreeMap::new());
        let groups = plan.security_groups(&children);
        let settings = ListChunksFunction.settings(&plan, &children, &name, &environment, &groups);
        assert_eq!(settings.subnet_ids, ["subnet-a", "subnet-b"]);
        assert_eq!(settings.security_group_ids, ["sg-pipeline"]);
        assert_eq!(
            settings.role_arn,
            "arn:aws:iam::123456789012:role/eventdriven-orders-lambda"
        );
        assert_eq!(settings.image_uri, "registry/eventdriven-lambda:1");
        assert_eq!(settings.timeout_seconds, TIMEOUT_SECONDS);
        assert!(settings.command.is_empty(), "the image's own command lists chunks");
    }

    #[test]
    fn explicit_lambda_subnets_are_used_instead_of_the_private_ones() {
        let mut plan = fixtures::deployment();
        plan.spec.lambda_subnet_ids = vec!["subnet-b".into()];
        let (children, environment) = (Children::default(), BTreeMap::new());
        let settings = ListChunksFunction.settings(&plan, &children, "f", &environment, &[]);
        assert_eq!(settings.subnet_ids, ["subnet-b"]);
    }
}
