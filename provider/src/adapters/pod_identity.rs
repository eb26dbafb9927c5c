//! EKS Pod Identity associations: a namespace's service account given an IAM role.

use std::collections::HashMap;

use crate::aws::{AwsClients, AwsError, Tags, found, ignore_not_found};

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
