//! CloudWatch Logs groups: a workflow's trail (every event its trail rule writes, with a
//! retention and the resource policy that lets only that rule write there), and the groups its
//! listener functions log to.

use aws_sdk_cloudwatchlogs::Client;
use eventdriven_core::workflow::iam::trail_resource_policy;

use crate::aws::{AwsClients, AwsError, Tags, found, ignore_not_found, sync_tags};
use async_trait::async_trait;

use crate::lifecycle::Child;
use crate::workflow::plan::{Workflow, WorkflowPlan, WorkflowScope};
use crate::workflow::state::WorkflowChildren;

fn logs(aws: &AwsClients) -> &Client {
    &aws.logs
}

/// Creates the group with its tags; [`configure`] sets retention and the resource policy.
pub async fn create(aws: &AwsClients, name: &str, tags: &Tags) -> Result<(), AwsError> {
    let out = logs(aws)
        .create_log_group()
        .log_group_name(name)
        .set_tags(Some(tags.clone().into_iter().collect()))
        .send()
        .await;
    match out.map_err(AwsError::from) {
        Err(e) if e.has_code("ResourceAlreadyExistsException") => Ok(()),
        other => other.map(drop),
    }
}

/// Sets how long the group keeps its events (an upsert).
pub async fn put_retention(aws: &AwsClients, name: &str, retention_days: i64) -> Result<(), AwsError> {
    logs(aws)
        .put_retention_policy()
        .log_group_name(name)
        .retention_in_days(retention_days as i32)
        .send()
        .await?;
    Ok(())
}

/// Sets an account-level resource policy of CloudWatch Logs (an upsert).
pub async fn put_resource_policy(
    aws: &AwsClients,
    policy_name: &str,
    policy: &serde_json::Value,
) -> Result<(), AwsError> {
    logs(aws)
        .put_resource_policy()
        .policy_name(policy_name)
        .policy_document(policy.to_string())
        .send()
        .await?;
    Ok(())
}

/// The group's retention in days, or `None` when the group is gone.
pub async fn read(aws: &AwsClients, name: &str) -> Result<Option<Option<i32>>, AwsError> {
    let out = logs(aws).describe_log_groups().log_group_name_prefix(name).send().await;
    let Some(out) = found(out.map_err(AwsError::from))? else {
        return Ok(None);
    };
    Ok(out
        .log_groups()
        .iter()
        .find(|group| group.log_group_name() == Some(name))
        .map(|group| group.retention_in_days()))
}

pub async fn put_tags(aws: &AwsClients, arn: &str, tags: &Tags) -> Result<(), AwsError> {
    let out = logs(aws).list_tags_for_resource().resource_arn(arn).send().await?;
    let current = out.tags().into_iter().flat_map(|t| t.keys().map(String::as_str));
    let untag = |stale| async move {
        logs(aws)
            .untag_resource()
            .resource_arn(arn)
            .set_tag_keys(Some(stale))
            .send()
            .await?;
        Ok(())
    };
    let tag = || async {
        let tags = tags.clone().into_iter().collect();
        logs(aws)
            .tag_resource()
            .resource_arn(arn)
            .set_tags(Some(tags))
            .send()
            .await?;
        Ok(())
    };
    sync_tags(current, tags, untag, tag).await
}

/// Deletes the group; already gone is fine.
pub async fn delete(aws: &AwsClients, name: &str) -> Result<(), AwsError> {
    let out = logs(aws).delete_log_group().log_group_name(name).send().await;
    ignore_not_found(out.map(drop).map_err(Into::into))
}

/// Deletes a resource policy; already gone is fine.
pub async fn delete_resource_policy(aws: &AwsClients, policy_name: &str) -> Result<(), AwsError> {
    let out = logs(aws).delete_resource_policy().policy_name(policy_name).send().await;
    ignore_not_found(out.map(drop).map_err(Into::into))
}

/// The workflow's trail log group, when the workflow has a `trail` block.
pub struct TrailLogGroup;

impl TrailLogGroup {
    async fn configure_for(&self, plan: &WorkflowPlan, retention_days: i64) -> Result<(), AwsError> {
        let names = plan.names();
        put_retention(&plan.aws, &names.trail_log_group(), retention_days).await?;
        put_resource_policy(
            &plan.aws,
            &names.trail_resource_policy(),
            &trail_resource_policy(&names),
        )
        .await
    }
}

#[async_trait]
impl Child<Workflow> for TrailLogGroup {
    fn label(&self) -> &'static str {
        "CloudWatch Logs group"
    }

    fn name(&self, plan: &WorkflowPlan) -> String {
        plan.names().trail_log_group()
    }

    fn recorded<'c>(&self, children: &'c mut WorkflowChildren) -> &'c mut Option<String> {
        &mut children.trail_log_group
    }

    async fn ensure(&self, plan: &WorkflowPlan, children: &mut WorkflowChildren) -> Result<(), AwsError> {
        if let (None, Some(trail)) = (&children.trail_log_group, &plan.spec.trail) {
            let name = self.name(plan);
            create(&plan.aws, &name, &plan.tags).await?;
            children.trail_log_group = Some(name);
            self.configure_for(plan, trail.retention_days).await?;
        }
        Ok(())
    }

    async fn apply_settings(&self, plan: &WorkflowPlan, children: &mut WorkflowChildren) -> Result<(), AwsError> {
        match (&children.trail_log_group, &plan.spec.trail) {
            (Some(_), Some(trail)) => self.configure_for(plan, trail.retention_days).await,
            _ => Ok(()),
        }
    }

    async fn tag(&self, plan: &WorkflowPlan, _id: &str) -> Result<(), AwsError> {
        put_tags(&plan.aws, &plan.names().trail_log_group_arn(), &plan.tags).await
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
        delete_resource_policy(&scope.aws, &scope.names().trail_resource_policy()).await?;
        delete(&scope.aws, id).await
    }
}
