//! The pipeline's bucket: input objects land here, results are written back; private, TLS
//! only, encrypted, its run objects expiring.

use async_trait::async_trait;
use eventdriven_core::iam;

use crate::adapters::bucket;
use crate::aws::AwsError;
use crate::lifecycle::{Child, OwnedSettings};
use crate::pipeline::plan::{Deployment, Pipeline, Teardown};
use crate::pipeline::state::Children;

/// The pipeline's bucket: input objects land here, results are written back.
pub struct Bucket;

#[async_trait]
impl Child<Pipeline> for Bucket {
    fn label(&self) -> &'static str {
        "S3 bucket"
    }

    fn name(&self, plan: &Deployment) -> String {
        plan.names().bucket()
    }

    fn recorded<'c>(&self, children: &'c mut Children) -> &'c mut Option<String> {
        &mut children.bucket
    }

    async fn ensure(&self, plan: &Deployment, children: &mut Children) -> Result<(), AwsError> {
        if children.bucket.is_none() {
            let name = self.name(plan);
            bucket::create(&plan.aws, &name).await?;
            children.bucket = Some(name.clone());
            bucket::configure(&plan.aws, &name, &iam::bucket_policy(&plan.names())).await?;
            bucket::expire_run_objects(&plan.aws, &name).await?;
            bucket::put_tags(&plan.aws, &name, &plan.tags).await?;
        }
        Ok(())
    }

    async fn apply_settings(&self, plan: &Deployment, _children: &mut Children) -> Result<(), AwsError> {
        let name = self.name(plan);
        bucket::configure(&plan.aws, &name, &iam::bucket_policy(&plan.names())).await?;
        bucket::expire_run_objects(&plan.aws, &name).await
    }

    async fn tag(&self, plan: &Deployment, id: &str) -> Result<(), AwsError> {
        bucket::put_tags(&plan.aws, id, &plan.tags).await
    }

    async fn refresh(&self, scope: &Teardown, id: &str, _children: &mut Children) -> Result<bool, AwsError> {
        bucket::exists(&scope.aws, id).await
    }

    async fn settings(&self, scope: &Teardown, id: &str) -> Result<OwnedSettings, AwsError> {
        bucket::settings(&scope.aws, id).await
    }

    async fn may_delete(&self, scope: &Teardown, id: &str) -> Result<(), AwsError> {
        scope.may_lose("S3 bucket", bucket::holds_objects(&scope.aws, id).await?, "objects")
    }

    async fn delete(&self, scope: &Teardown, id: &str, _children: &Children) -> Result<(), AwsError> {
        bucket::delete(&scope.aws, id).await
    }
}
