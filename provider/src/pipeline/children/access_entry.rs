//! The EKS access entry letting the state machine's role run Jobs, scoped to the pipeline's
//! namespace through an access policy association (not cluster admin).

use async_trait::async_trait;
use eventdriven_core::naming::Role;

use crate::adapters::access_entry;
use crate::aws::AwsError;
use crate::lifecycle::Child;
use crate::pipeline::plan::{Deployment, Pipeline, Teardown};
use crate::pipeline::state::Children;

/// The state machine role's access to the cluster, limited to the pipeline's namespace.
pub struct StateMachineAccess;

impl StateMachineAccess {
    /// Grants edit access to the namespace only (creating and updating are the same call).
    async fn scope(&self, plan: &Deployment, principal: &str) -> Result<(), AwsError> {
        let policy = access_entry::edit_policy_arn(&plan.context.partition);
        access_entry::associate_policy(&plan.aws, &plan.cluster.name, principal, &plan.spec.namespace, &policy).await
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
            let arn = access_entry::create(&plan.aws, &plan.cluster.name, &principal, &plan.tags).await?;
            children.access_entry_arn = Some(arn);
            self.scope(plan, &principal).await?;
        }
        Ok(())
    }

    async fn apply_settings(&self, plan: &Deployment, children: &mut Children) -> Result<(), AwsError> {
        let principal = children.state_machine_role_arn.clone().unwrap_or_default();
        self.scope(plan, &principal).await
    }

    /// An entry whose role is gone grants nothing (EKS matches the role it was created for,
    /// not one created again under its name): it is forgotten, and replaced at the next apply.
    async fn refresh(&self, scope: &Teardown, _id: &str, children: &mut Children) -> Result<bool, AwsError> {
        let Some(principal) = children.state_machine_role_arn.as_deref() else {
            return Ok(false);
        };
        Ok(access_entry::read(&scope.aws, &scope.cluster_name, principal)
            .await?
            .is_some())
    }

    async fn delete(&self, scope: &Teardown, id: &str, children: &Children) -> Result<(), AwsError> {
        let principal = children
            .state_machine_role_arn
            .clone()
            .or_else(|| access_entry::principal_of(id));
        match principal {
            Some(principal) => access_entry::delete(&scope.aws, &scope.cluster_name, &principal).await,
            None => Err(AwsError::other(format!("access entry {id} names no role"))),
        }
    }
}
