//! The EKS Pod Identity association giving the Jobs' service account the job role.

use async_trait::async_trait;

use crate::adapters::pod_identity;
use crate::aws::AwsError;
use crate::lifecycle::Child;
use crate::pipeline::plan::{Deployment, Pipeline, Teardown};
use crate::pipeline::state::Children;

/// The association giving the Jobs' service account the job role.
pub struct JobIdentity;

#[async_trait]
impl Child<Pipeline> for JobIdentity {
    fn label(&self) -> &'static str {
        "EKS Pod Identity association"
    }

    fn name(&self, plan: &Deployment) -> String {
        format!("{}/{}", plan.spec.namespace, plan.spec.service_account)
    }

    fn recorded<'c>(&self, children: &'c mut Children) -> &'c mut Option<String> {
        &mut children.pod_identity_association_id
    }

    async fn ensure(&self, plan: &Deployment, children: &mut Children) -> Result<(), AwsError> {
        if children.pod_identity_association_id.is_none() {
            let (spec, role) = (&plan.spec, children.job_role_arn.as_deref().unwrap_or_default());
            let id = pod_identity::create(
                &plan.aws,
                &plan.cluster.name,
                &spec.namespace,
                &spec.service_account,
                role,
                &plan.tags,
            )
            .await?;
            children.pod_identity_association_id = Some(id);
        }
        Ok(())
    }

    async fn refresh(&self, scope: &Teardown, id: &str, _children: &mut Children) -> Result<bool, AwsError> {
        Ok(pod_identity::read(&scope.aws, &scope.cluster_name, id).await?.is_some())
    }

    async fn delete(&self, scope: &Teardown, id: &str, _children: &Children) -> Result<(), AwsError> {
        pod_identity::delete(&scope.aws, &scope.cluster_name, id).await
    }
}
