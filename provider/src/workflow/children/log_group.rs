//! A workflow's log groups: its trail, where every event its trail rule writes lands, with a
//! retention and the resource policy, attached to the group, that lets only that rule write
//! there; and the finisher's error log, with the listeners' retention.

use async_trait::async_trait;
use eventdriven_core::workflow::iam::trail_resource_policy;

use crate::adapters::log_group;
use crate::aws::AwsError;
use crate::lifecycle::Child;
use crate::workflow::plan::{Workflow, WorkflowPlan, WorkflowScope};
use crate::workflow::state::WorkflowChildren;

/// The workflow's trail log group, when the workflow has a `trail` block.
pub struct TrailLogGroup;

impl TrailLogGroup {
    async fn configure_for(&self, plan: &WorkflowPlan, retention_days: i64) -> Result<(), AwsError> {
        let names = plan.names();
        log_group::put_retention(&plan.aws, &names.trail_log_group(), retention_days).await?;
        log_group::put_group_policy(
            &plan.aws,
            &names.trail_log_group_arn(),
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
            log_group::create(&plan.aws, &name, &plan.tags).await?;
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
        log_group::put_tags(&plan.aws, &plan.names().trail_log_group_arn(), &plan.tags).await
    }

    async fn refresh(
        &self,
        scope: &WorkflowScope,
        id: &str,
        _children: &mut WorkflowChildren,
    ) -> Result<bool, AwsError> {
        Ok(log_group::read(&scope.aws, id).await?.is_some())
    }

    async fn delete(&self, scope: &WorkflowScope, id: &str, _children: &WorkflowChildren) -> Result<(), AwsError> {
        let names = scope.names();
        log_group::delete_group_policy(&scope.aws, &names.trail_log_group_arn(), &names.trail_resource_policy())
            .await?;
        log_group::delete(&scope.aws, id).await
    }
}

/// Where the finisher logs its errors (Step Functions delivers them; the finisher's role may).
pub struct FinisherLogGroup;

#[async_trait]
impl Child<Workflow> for FinisherLogGroup {
    fn label(&self) -> &'static str {
        "CloudWatch Logs group (finisher errors)"
    }

    fn name(&self, plan: &WorkflowPlan) -> String {
        plan.names().finisher_log_group()
    }

    fn recorded<'c>(&self, children: &'c mut WorkflowChildren) -> &'c mut Option<String> {
        &mut children.finisher_log_group
    }

    async fn ensure(&self, plan: &WorkflowPlan, children: &mut WorkflowChildren) -> Result<(), AwsError> {
        if children.finisher_log_group.is_none() {
            let name = self.name(plan);
            log_group::create(&plan.aws, &name, &plan.tags).await?;
            children.finisher_log_group = Some(name);
            self.apply_settings(plan, children).await?;
        }
        Ok(())
    }

    async fn apply_settings(&self, plan: &WorkflowPlan, _children: &mut WorkflowChildren) -> Result<(), AwsError> {
        log_group::put_retention(&plan.aws, &self.name(plan), plan.spec.log_retention_days).await
    }

    async fn tag(&self, plan: &WorkflowPlan, _id: &str) -> Result<(), AwsError> {
        log_group::put_tags(&plan.aws, &plan.names().finisher_log_group_arn(), &plan.tags).await
    }

    async fn refresh(
        &self,
        scope: &WorkflowScope,
        id: &str,
        _children: &mut WorkflowChildren,
    ) -> Result<bool, AwsError> {
        Ok(log_group::read(&scope.aws, id).await?.is_some())
    }

    async fn delete(&self, scope: &WorkflowScope, id: &str, _children: &WorkflowChildren) -> Result<(), AwsError> {
        log_group::delete(&scope.aws, id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workflow::children::fixtures;

    #[tokio::test]
    async fn a_workflow_without_a_trail_creates_and_configures_no_log_group() {
        let mut spec = fixtures::spec();
        spec.trail = None;
        let plan = fixtures::plan(spec);
        // Offline clients fail any call: success means none was made.
        let mut children = WorkflowChildren::default();
        TrailLogGroup.ensure(&plan, &mut children).await.unwrap();
        assert_eq!(children.trail_log_group, None);
        let mut recorded = WorkflowChildren {
            trail_log_group: Some(plan.names().trail_log_group()),
            ..WorkflowChildren::default()
        };
        TrailLogGroup.apply_settings(&plan, &mut recorded).await.unwrap();
    }

    #[tokio::test]
    async fn a_trail_missing_from_the_state_is_created() {
        let plan = fixtures::plan(fixtures::spec());
        let mut children = WorkflowChildren::default();
        assert!(
            TrailLogGroup.ensure(&plan, &mut children).await.is_err(),
            "offline: the create fails"
        );
    }
}
