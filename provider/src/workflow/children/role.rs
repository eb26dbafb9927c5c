//! A workflow's IAM roles: three of its own (main machine, finisher, events) and one per
//! listener, each trusted by one service and granted only what core's policy for it lists.

use async_trait::async_trait;
use eventdriven_core::workflow::iam as workflow_iam;
use eventdriven_core::workflow::naming::WorkflowRole;

use crate::adapters::role;
use crate::aws::AwsError;
use crate::lifecycle::{Child, OwnedSettings};
use crate::workflow::plan::{Workflow, WorkflowPlan, WorkflowScope};
use crate::workflow::state::WorkflowChildren;

/// One of a workflow's three roles (main machine, finisher, events).
pub struct WorkflowRoleChild(pub WorkflowRole);

impl WorkflowRoleChild {
    fn trust_policy(&self, plan: &WorkflowPlan) -> serde_json::Value {
        match self.0 {
            WorkflowRole::Main | WorkflowRole::Finisher => workflow_iam::states_trust_policy(&plan.context),
            WorkflowRole::Events => workflow_iam::events_trust_policy(&plan.context),
        }
    }

    fn policies(&self, plan: &WorkflowPlan) -> role::RolePolicies {
        role::RolePolicies {
            trust: self.trust_policy(plan),
            grants: self.policy(plan),
        }
    }

    fn policy(&self, plan: &WorkflowPlan) -> serde_json::Value {
        let names = plan.names();
        match self.0 {
            WorkflowRole::Main => workflow_iam::main_policy(&names),
            WorkflowRole::Finisher => workflow_iam::finisher_policy(&names),
            WorkflowRole::Events => workflow_iam::events_policy(&names),
        }
    }
}

#[async_trait]
impl Child<Workflow> for WorkflowRoleChild {
    fn label(&self) -> &'static str {
        match self.0 {
            WorkflowRole::Main => "IAM role (state machine)",
            WorkflowRole::Finisher => "IAM role (finisher)",
            WorkflowRole::Events => "IAM role (events)",
        }
    }

    fn name(&self, plan: &WorkflowPlan) -> String {
        plan.names().role(self.0)
    }

    fn recorded<'c>(&self, children: &'c mut WorkflowChildren) -> &'c mut Option<String> {
        match self.0 {
            WorkflowRole::Main => &mut children.main_role_arn,
            WorkflowRole::Finisher => &mut children.finisher_role_arn,
            WorkflowRole::Events => &mut children.events_role_arn,
        }
    }

    async fn ensure(&self, plan: &WorkflowPlan, children: &mut WorkflowChildren) -> Result<(), AwsError> {
        let policies = self.policies(plan);
        role::ensure(
            &plan.aws,
            &self.name(plan),
            &policies,
            &plan.tags,
            self.recorded(children),
        )
        .await
    }

    async fn apply_settings(&self, plan: &WorkflowPlan, _children: &mut WorkflowChildren) -> Result<(), AwsError> {
        role::apply(&plan.aws, &self.name(plan), &self.policies(plan)).await
    }

    async fn tag(&self, plan: &WorkflowPlan, id: &str) -> Result<(), AwsError> {
        role::put_tags(&plan.aws, role::name_of(id), &plan.tags).await
    }

    async fn refresh(
        &self,
        scope: &WorkflowScope,
        id: &str,
        _children: &mut WorkflowChildren,
    ) -> Result<bool, AwsError> {
        Ok(role::read(&scope.aws, role::name_of(id)).await?.is_some())
    }

    async fn settings(&self, scope: &WorkflowScope, id: &str) -> Result<OwnedSettings, AwsError> {
        role::settings(&scope.aws, role::name_of(id)).await
    }

    async fn delete(&self, scope: &WorkflowScope, id: &str, _children: &WorkflowChildren) -> Result<(), AwsError> {
        role::delete(&scope.aws, role::name_of(id)).await
    }
}

/// A workflow listener's execution role: its logs, the events it may put, its bucket prefix.
/// An existing function keeps its own role; the workflow exports what to attach to it.
pub struct ListenerRole(pub String);

impl ListenerRole {
    /// Its policies, while the plan has the listener and creates its function.
    fn policies(&self, plan: &WorkflowPlan) -> Option<role::RolePolicies> {
        let listener = plan.listener(&self.0).filter(|l| l.creates_function())?;
        Some(role::RolePolicies {
            trust: workflow_iam::listener_trust_policy(),
            grants: workflow_iam::listener_policy(&plan.names(), listener),
        })
    }
}

#[async_trait]
impl Child<Workflow> for ListenerRole {
    fn label(&self) -> &'static str {
        "IAM role (listener)"
    }

    fn name(&self, plan: &WorkflowPlan) -> String {
        plan.listener(&self.0)
            .map(|l| plan.names().listener_role(l))
            .unwrap_or_default()
    }

    fn recorded<'c>(&self, children: &'c mut WorkflowChildren) -> &'c mut Option<String> {
        &mut children.listeners.entry(self.0.clone()).or_default().role_arn
    }

    async fn ensure(&self, plan: &WorkflowPlan, children: &mut WorkflowChildren) -> Result<(), AwsError> {
        let Some(policies) = self.policies(plan) else {
            return Ok(());
        };
        role::ensure(
            &plan.aws,
            &self.name(plan),
            &policies,
            &plan.tags,
            self.recorded(children),
        )
        .await
    }

    async fn apply_settings(&self, plan: &WorkflowPlan, _children: &mut WorkflowChildren) -> Result<(), AwsError> {
        let Some(policies) = self.policies(plan) else {
            return Ok(());
        };
        role::apply(&plan.aws, &self.name(plan), &policies).await
    }

    async fn tag(&self, plan: &WorkflowPlan, id: &str) -> Result<(), AwsError> {
        role::put_tags(&plan.aws, role::name_of(id), &plan.tags).await
    }

    async fn refresh(
        &self,
        scope: &WorkflowScope,
        id: &str,
        _children: &mut WorkflowChildren,
    ) -> Result<bool, AwsError> {
        Ok(role::read(&scope.aws, role::name_of(id)).await?.is_some())
    }

    async fn settings(&self, scope: &WorkflowScope, id: &str) -> Result<OwnedSettings, AwsError> {
        role::settings(&scope.aws, role::name_of(id)).await
    }

    async fn delete(&self, scope: &WorkflowScope, id: &str, _children: &WorkflowChildren) -> Result<(), AwsError> {
        role::delete(&scope.aws, role::name_of(id)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workflow::children::fixtures;

    fn trusted_service(policy: &serde_json::Value) -> &str {
        policy["Statement"][0]["Principal"]["Service"]
            .as_str()
            .unwrap_or_default()
    }

    #[test]
    fn the_machines_roles_are_trusted_by_step_functions_and_the_events_role_by_eventbridge() {
        let plan = fixtures::plan(fixtures::spec());
        for (role, service) in [
            (WorkflowRole::Main, "states.amazonaws.com"),
            (WorkflowRole::Finisher, "states.amazonaws.com"),
            (WorkflowRole::Events, "events.amazonaws.com"),
        ] {
            assert_eq!(
                trusted_service(&WorkflowRoleChild(role).trust_policy(&plan)),
                service,
                "{role:?}"
            );
        }
    }

    #[test]
    fn each_role_is_granted_its_own_policy() {
        let plan = fixtures::plan(fixtures::spec());
        let names = plan.names();
        for (role, policy) in [
            (WorkflowRole::Main, workflow_iam::main_policy(&names)),
            (WorkflowRole::Finisher, workflow_iam::finisher_policy(&names)),
            (WorkflowRole::Events, workflow_iam::events_policy(&names)),
        ] {
            assert_eq!(WorkflowRoleChild(role).policy(&plan), policy, "{role:?}");
        }
    }

    #[tokio::test]
    async fn a_listener_no_longer_planned_has_no_name_and_is_neither_created_nor_updated() {
        let mut spec = fixtures::spec();
        spec.listeners.clear();
        let plan = fixtures::plan(spec);
        let role = ListenerRole(fixtures::LISTENER.into());
        assert_eq!(role.name(&plan), "");
        // Offline clients fail any call: success means none was made.
        let mut children = WorkflowChildren::default();
        role.ensure(&plan, &mut children).await.unwrap();
        role.apply_settings(&plan, &mut children).await.unwrap();
        assert!(children.listeners.values().all(|ids| ids.is_empty()));
    }

    #[tokio::test]
    async fn an_existing_function_gets_no_role_of_the_workflow() {
        let mut spec = fixtures::spec();
        spec.listeners[0].function_arn = Some("arn:aws:lambda:eu-west-1:123456789012:function:theirs".into());
        spec.listeners[0].command.clear();
        let plan = fixtures::plan(spec);
        let role = ListenerRole(fixtures::LISTENER.into());
        let mut children = WorkflowChildren::default();
        role.ensure(&plan, &mut children).await.unwrap();
        assert!(children.listeners.values().all(|ids| ids.role_arn.is_none()));
    }

    #[test]
    fn a_listener_role_is_named_after_its_listener() {
        let plan = fixtures::plan(fixtures::spec());
        let listener = plan.listener(fixtures::LISTENER).cloned().unwrap();
        let role = ListenerRole(fixtures::LISTENER.into());
        assert_eq!(role.name(&plan), plan.names().listener_role(&listener));
    }
}
