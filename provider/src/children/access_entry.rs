//! The EKS access entry letting the state machine's role run Jobs, scoped to the pipeline's
//! namespace through an access policy association (not cluster admin).

use std::collections::HashMap;

use aws_sdk_eks::types::{AccessScope, AccessScopeType};

use eventdriven_core::naming::Role;

use crate::aws::{AwsClients, AwsError, Tags, found, ignore_not_found};
use async_trait::async_trait;

use crate::lifecycle::Child;
use crate::pipeline::plan::{Deployment, Pipeline, Teardown};
use crate::pipeline::state::Children;

/// The `eks:runJob.sync` integration creates, watches and deletes Jobs and reads their pods'
/// logs: the managed edit policy covers that, within the namespace only.
pub fn edit_policy_arn(partition: &str) -> String {
    format!("arn:{partition}:eks::aws:cluster-access-policy/AmazonEKSEditPolicy")
}

/// Creates the entry; returns its ARN. [`associate_policy`] then grants it its access.
pub async fn create(
    aws: &AwsClients,
    cluster_name: &str,
    principal_arn: &str,
    tags: &Tags,
) -> Result<String, AwsError> {
    let tags: HashMap<String, String> = tags.clone().into_iter().collect();
    let out = aws
        .eks
        .create_access_entry()
        .cluster_name(cluster_name)
        .principal_arn(principal_arn)
        .set_tags(Some(tags))
        .send()
        .await?;
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

/// The state machine role's access to the cluster, limited to the pipeline's namespace.
pub struct StateMachineAccess;

impl StateMachineAccess {
    /// Grants edit access to the namespace only (creating and updating are the same call).
    async fn scope(&self, plan: &Deployment, principal: &str) -> Result<(), AwsError> {
        let policy = edit_policy_arn(&plan.context.partition);
        associate_policy(&plan.aws, &plan.cluster.name, principal, &plan.spec.namespace, &policy).await
    }
}

#[async_trait]
impl Child<Pipeline> for StateMachineAccess {
    fn label(&self) -> &'static str {
        "EKS access entry"
    }

    fn name(&self, plan: &Deployment) -> String {
        plan.names().role_arn(Role::StateMachine)
    }

    fn recorded<'c>(&self, children: &'c mut Children) -> &'c mut Option<String> {
        &mut children.access_entry_arn
    }

    async fn ensure(&self, plan: &Deployment, children: &mut Children) -> Result<(), AwsError> {
        if children.access_entry_arn.is_none() {
            let principal = children.state_machine_role_arn.clone().unwrap_or_default();
            let arn = create(&plan.aws, &plan.cluster.name, &principal, &plan.tags).await?;
            children.access_entry_arn = Some(arn);
            self.scope(plan, &principal).await?;
        }
        Ok(())
    }

    async fn apply_settings(&self, plan: &Deployment, children: &mut Children) -> Result<(), AwsError> {
        let principal = children.state_machine_role_arn.clone().unwrap_or_default();
        self.scope(plan, &principal).await
    }

    async fn refresh(&self, scope: &Teardown, _id: &str, children: &mut Children) -> Result<bool, AwsError> {
        let principal = children.state_machine_role_arn.as_deref().unwrap_or_default();
        Ok(read(&scope.aws, &scope.cluster_name, principal).await?.is_some())
    }

    async fn delete(&self, scope: &Teardown, _id: &str, children: &Children) -> Result<(), AwsError> {
        let principal = children.state_machine_role_arn.as_deref().unwrap_or_default();
        delete(&scope.aws, &scope.cluster_name, principal).await
    }
}
