//! EKS access entries: a principal's access to a cluster, granted through an access policy
//! association scoped to one namespace (not cluster admin).

use std::collections::HashMap;

use aws_sdk_eks::types::{AccessScope, AccessScopeType};

use crate::aws::{AwsClients, AwsError, Tags, found, ignore_not_found};

/// The managed policy letting a principal create, watch and delete a namespace's workloads and
/// read their pods' logs (what `eks:runJob.sync` does), within the associated namespace only.
pub fn edit_policy_arn(partition: &str) -> String {
    format!("arn:{partition}:eks::aws:cluster-access-policy/AmazonEKSEditPolicy")
}

/// The principal an entry's ARN names (`…:access-entry/<cluster>/role/<account>/<name>/<id>`).
pub fn principal_of(access_entry_arn: &str) -> Option<String> {
    let partition = access_entry_arn.split(':').nth(1)?;
    let (_, resource) = access_entry_arn.split_once(":access-entry/")?;
    let mut parts = resource.split('/');
    let (_cluster, kind, account, name) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    (kind == "role").then(|| format!("arn:{partition}:iam::{account}:role/{name}"))
}

/// Creates the entry; returns its ARN. [`associate_policy`] then grants it its access.
/// An entry left for an earlier principal of the same ARN (a role deleted and created again,
/// which EKS no longer matches) is replaced.
pub async fn create(
    aws: &AwsClients,
    cluster_name: &str,
    principal_arn: &str,
    tags: &Tags,
) -> Result<String, AwsError> {
    let tags: HashMap<String, String> = tags.clone().into_iter().collect();
    let create = || {
        aws.eks
            .create_access_entry()
            .cluster_name(cluster_name)
            .principal_arn(principal_arn)
            .set_tags(Some(tags.clone()))
            .send()
    };
    let out = match create().await.map_err(AwsError::from) {
        Err(e) if e.has_code("ResourceInUseException") => {
            delete(aws, cluster_name, principal_arn).await?;
            create().await?
        }
        other => other?,
    };
    out.access_entry
        .and_then(|entry| entry.access_entry_arn)
        .ok_or_else(|| AwsError::other("CreateAccessEntry returned no access entry"))
}

/// (Re)associates the policy scoped to `namespace`; EKS treats this as an upsert.
pub async fn associate_policy(
    aws: &AwsClients,
    cluster_name: &str,
    principal_arn: &str,
    namespace: &str,
    policy_arn: &str,
) -> Result<(), AwsError> {
    aws.eks
        .associate_access_policy()
        .cluster_name(cluster_name)
        .principal_arn(principal_arn)
        .policy_arn(policy_arn)
        .access_scope(
            AccessScope::builder()
                .r#type(AccessScopeType::Namespace)
                .namespaces(namespace)
                .build(),
        )
        .send()
        .await?;
    Ok(())
}

/// The entry's associated policies as (policy ARN, scoped namespaces), or `None` when the
/// entry is gone.
pub async fn read(
    aws: &AwsClients,
    cluster_name: &str,
    principal_arn: &str,
) -> Result<Option<Vec<(String, Vec<String>)>>, AwsError> {
    let out = aws
        .eks
        .list_associated_access_policies()
        .cluster_name(cluster_name)
        .principal_arn(principal_arn)
        .send()
        .await;
    Ok(found(out.map_err(AwsError::from))?.map(|out| {
        out.associated_access_policies()
            .iter()
            .map(|policy| {
                let namespaces = policy
                    .access_scope()
                    .map(|s| s.namespaces().to_vec())
                    .unwrap_or_default();
                (policy.policy_arn().unwrap_or_default().to_owned(), namespaces)
            })
            .collect()
    }))
}

/// The access entry's ARN, if `principal_arn` has one on the cluster.
pub async fn find(aws: &AwsClients, cluster_name: &str, principal_arn: &str) -> Result<Option<String>, AwsError> {
    let out = aws
        .eks
        .describe_access_entry()
        .cluster_name(cluster_name)
        .principal_arn(principal_arn)
        .send()
        .await;
    Ok(found(out.map_err(AwsError::from))?
        .and_then(|out| out.access_entry)
        .and_then(|entry| entry.access_entry_arn))
}

pub async fn delete(aws: &AwsClients, cluster_name: &str, principal_arn: &str) -> Result<(), AwsError> {
    let out = aws
        .eks
        .delete_access_entry()
        .cluster_name(cluster_name)
        .principal_arn(principal_arn)
        .send()
        .await;
    ignore_not_found(out.map(drop).map_err(Into::into))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entrys_arn_names_its_role() {
        assert_eq!(
            principal_of(
                "arn:aws:eks:us-east-1:123456789012:access-entry/main/role/123456789012/eventdriven-orders-sfn/5ec7"
            ),
            Some("arn:aws:iam::123456789012:role/eventdriven-orders-sfn".to_owned())
        );
        assert_eq!(principal_of("arn:aws:eks:us-east-1:1:cluster/main"), None);
    }
}
