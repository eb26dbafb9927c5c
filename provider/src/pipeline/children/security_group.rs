//! The pipeline's security group (core's `network` rules): attached to the mount targets, the
//! replication group and the list-chunks function. Its rules are made exactly core's; deleting
//! it waits for the function's network interfaces.

use async_trait::async_trait;
use eventdriven_core::network::pipeline_rules;

use crate::adapters::security_group;
use crate::aws::AwsError;
use crate::lifecycle::{Child, OwnedSettings};
use crate::pipeline::plan::{Deployment, Pipeline, Teardown};
use crate::pipeline::state::Children;

/// The pipeline's security group.
pub struct PipelineSecurityGroup;

#[async_trait]
impl Child<Pipeline> for PipelineSecurityGroup {
    fn label(&self) -> &'static str {
        "security group"
    }

    fn name(&self, plan: &Deployment) -> String {
        plan.names().security_group()
    }

    fn recorded<'c>(&self, children: &'c mut Children) -> &'c mut Option<String> {
        &mut children.security_group_id
    }

    async fn ensure(&self, plan: &Deployment, children: &mut Children) -> Result<(), AwsError> {
        if children.security_group_id.is_none() {
            let id = security_group::create(&plan.aws, &self.name(plan), &plan.cluster.vpc_id, &plan.tags).await?;
            children.security_group_id = Some(id.clone());
            security_group::sync_rules(&plan.aws, &id, &pipeline_rules(&plan.spec, &plan.cluster)).await?;
        }
        Ok(())
    }

    async fn apply_settings(&self, plan: &Deployment, children: &mut Children) -> Result<(), AwsError> {
        match &children.security_group_id {
            Some(id) => security_group::sync_rules(&plan.aws, id, &pipeline_rules(&plan.spec, &plan.cluster)).await,
            None => Ok(()),
        }
    }

    async fn tag(&self, plan: &Deployment, id: &str) -> Result<(), AwsError> {
        security_group::put_tags(&plan.aws, id, &plan.tags).await
    }

    async fn refresh(&self, scope: &Teardown, id: &str, _children: &mut Children) -> Result<bool, AwsError> {
        security_group::exists(&scope.aws, id).await
    }

    async fn settings(&self, scope: &Teardown, id: &str) -> Result<OwnedSettings, AwsError> {
        security_group::settings(&scope.aws, id).await
    }

    async fn delete(&self, scope: &Teardown, id: &str, _children: &Children) -> Result<(), AwsError> {
        security_group::delete(&scope.aws, id).await
    }
}
