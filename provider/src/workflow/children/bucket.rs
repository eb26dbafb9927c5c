//! A workflow's bucket (intermediate results of its listeners), when it has one.

use async_trait::async_trait;
use eventdriven_core::iam;

use crate::adapters::bucket;
use crate::aws::AwsError;
use crate::lifecycle::{Child, OwnedSettings};
use crate::workflow::plan::{Workflow, WorkflowPlan, WorkflowScope};
use crate::workflow::state::WorkflowChildren;

/// A workflow's bucket, when it has one: private, encrypted, TLS only.
pub struct WorkflowBucket;

fn workflow_bucket_policy(plan: &WorkflowPlan) -> serde_json::Value {
    iam::tls_only_bucket_policy(&plan.names().bucket_arn())
}

#[async_trait]
impl Child<Workflow> for WorkflowBucket {
    fn label(&self) -> &'static str {
        "S3 bucket"
    }

    fn name(&self, plan: &WorkflowPlan) -> String {
        plan.names().bucket()
    }

    fn recorded<'c>(&self, children: &'c mut WorkflowChildren) -> &'c mut Option<String> {
        &mut children.bucket_name
    }

    async fn ensure(&self, plan: &WorkflowPlan, children: &mut WorkflowChildren) -> Result<(), AwsError> {
        if children.bucket_name.is_none() && plan.spec.bucket {
            let name = self.name(plan);
            bucket::create(&plan.aws, &name).await?;
            children.bucket_name = Some(name.clone());
            bucket::configure(&plan.aws, &name, &workflow_bucket_policy(plan)).await?;
            bucket::put_tags(&plan.aws, &name, &plan.tags).await?;
        }
        Ok(())
    }

    async fn apply_settings(&self, plan: &WorkflowPlan, children: &mut WorkflowChildren) -> Result<(), AwsError> {
        match &children.bucket_name {
            Some(name) => bucket::configure(&plan.aws, name, &workflow_bucket_policy(plan)).await,
            None => Ok(()),
        }
    }

    async fn tag(&self, plan: &WorkflowPlan, id: &str) -> Result<(), AwsError> {
        bucket::put_tags(&plan.aws, id, &plan.tags).await
    }

    async fn refresh(
        &self,
        scope: &WorkflowScope,
        id: &str,
        _children: &mut WorkflowChildren,
    ) -> Result<bool, AwsError> {
        bucket::exists(&scope.aws, id).await
    }

    async fn settings(&self, scope: &WorkflowScope, id: &str) -> Result<OwnedSettings, AwsError> {
        bucket::settings(&scope.aws, id).await
    }

    async fn may_delete(&self, scope: &WorkflowScope, id: &str) -> Result<(), AwsError> {
        scope.may_lose("S3 bucket", bucket::holds_objects(&scope.aws, id).await?, "objects")
    }

    async fn delete(&self, scope: &WorkflowScope, id: &str, _children: &WorkflowChildren) -> Result<(), AwsError> {
        bucket::delete(&scope.aws, id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workflow::children::fixtures;

    #[tokio::test]
    async fn a_workflow_without_a_bucket_creates_and_configures_none() {
        let mut spec = fixtures::spec();
        spec.bucket = false;
        let plan = fixtures::plan(spec);
        let mut children = WorkflowChildren::default();
        // Offline clients fail any call: success means none was made.
        WorkflowBucket.ensure(&plan, &mut children).await.unwrap();
        WorkflowBucket.apply_settings(&plan, &mut children).await.unwrap();
        assert_eq!(children, WorkflowChildren::default());
    }

    #[tokio::test]
    async fn a_planned_bucket_missing_from_the_state_is_created() {
        let plan = fixtures::plan(fixtures::spec());
        let mut children = WorkflowChildren::default();
        assert!(
            WorkflowBucket.ensure(&plan, &mut children).await.is_err(),
            "offline: the create fails"
        );
    }

    #[test]
    fn the_bucket_refuses_requests_without_tls() {
        let plan = fixtures::plan(fixtures::spec());
        let policy = workflow_bucket_policy(&plan);
        let statement = &policy["Statement"][0];
        assert_eq!(statement["Effect"], "Deny");
        assert_eq!(statement["Condition"]["Bool"]["aws:SecureTransport"], "false");
        let resources = statement["Resource"].to_string();
        assert!(resources.contains(&plan.names().bucket_arn()), "{resources}");
    }
}
