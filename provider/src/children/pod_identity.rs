//! The EKS Pod Identity association giving the Jobs' service account the job role.

use std::collections::HashMap;

use crate::aws::{AwsClients, AwsError, Tags, found, ignore_not_found};
use async_trait::async_trait;

use crate::lifecycle::Child;
use crate::pipeline::plan::{Deployment, Pipeline, Teardown};
use crate::pipeline::state::Children;

/// Creates the association; returns its id.
pub async fn create(
    aws: &AwsClients,
    cluster_name: &str,
    namespace: &str,
    service_account: &str,
    role_arn: &str,
    tags: &Tags,
) -> Result<String, AwsError> {
    let tags: HashMap<String, String> = tags.clone().into_iter().collect();
    let out = aws
        .eks
        .create_pod_identity_association()
        .cluster_name(cluster_name)
        .namespace(namespace)
        .service_account(service_account)
        .role_arn(role_arn)
        .set_tags(Some(tags))
        .send()
        .await?;
    out.association
        .and_then(|a| a.association_id)
        .ok_or_else(|| AwsError::other("CreatePodIdentityAssociation returned no association"))
}

/// The role the association grants, or `None` when it is gone.
pub async fn read(aws: &AwsClients, cluster_name: &str, association_id: &str) -> Result<Option<String>, AwsError> {
    let out = aws
        .eks
        .describe_pod_identity_association()
        .cluster_name(cluster_name)
        .association_id(association_id)
        .send()
        .await;
    Ok(found(out.map_err(AwsError::from))?.map(|out| out.association.and_then(|a| a.role_arn).unwrap_or_default()))
}

/// The id of the association for `namespace`/`service_account`, if there is one.
pub async fn find(
    aws: &AwsClients,
    cluster_name: &str,
    namespace: &str,
    service_account: &str,
) -> Result<Option<String>, AwsError> {
    let out = aws
        .eks
        .list_pod_identity_associations()
        .cluster_name(cluster_name)
        .namespace(namespace)
        .service_account(service_account)
        .send()
        .await;
    Ok(found(out.map_err(AwsError::from))?.and_then(|out| {
        out.associations()
            .first()
            .and_then(|a| a.association_id().map(str::to_owned))
    }))
}

pub async fn delete(aws: &AwsClients, cluster_name: &str, association_id: &str) -> Result<(), AwsError> {
    let out = aws
        .eks
        .delete_pod_identity_association()
        .cluster_name(cluster_name)
        .association_id(association_id)
        .send()
        .await;
    ignore_not_found(out.map(drop).map_err(Into::into))
}

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
            let id = create(
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
        Ok(read(&scope.aws, &scope.cluster_name, id).await?.is_some())
    }

    async fn delete(&self, scope: &Teardown, id: &str, _children: &Children) -> Result<(), AwsError> {
        delete(&scope.aws, &scope.cluster_name, id).await
    }
}
