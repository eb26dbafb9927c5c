//! The pipeline's four IAM roles (jobs, function, state machine, events), each trusted by one
//! service and granted only what core's policy for it lists.

use async_trait::async_trait;
use eventdriven_core::iam;
use eventdriven_core::naming::Role;

use crate::adapters::role;
use crate::aws::AwsError;
use crate::lifecycle::{Child, OwnedSettings};
use crate::pipeline::plan::{Deployment, Pipeline, Teardown};
use crate::pipeline::state::Children;

/// One of the pipeline's four roles, trusted by its service and granted core's policy.
pub struct PipelineRole(pub Role);

impl PipelineRole {
    fn trust_policy(&self, plan: &Deployment) -> serde_json::Value {
        match self.0 {
            Role::StateMachine => iam::state_machine_trust_policy(&plan.context),
            Role::Events => iam::events_trust_policy(&plan.context),
            Role::Lambda => iam::lambda_trust_policy(),
            Role::Job => iam::job_trust_policy(&plan.spec, &plan.cluster),
        }
    }

    fn policies(&self, plan: &Deployment, children: &Children) -> role::RolePolicies {
        role::RolePolicies {
            trust: self.trust_policy(plan),
            grants: self.policy(plan, children),
        }
    }

    fn policy(&self, plan: &Deployment, children: &Children) -> serde_json::Value {
        let names = plan.names();
        match self.0 {
            Role::StateMachine => iam::state_machine_policy(&names),
            Role::Events => iam::events_policy(&names),
            Role::Lambda => iam::lambda_policy(&names, plan.lambda_subnets(), &plan.security_groups(children)),
            Role::Job => iam::job_policy(&names),
        }
    }
}

#[async_trait]
impl Child<Pipeline> for PipelineRole {
    fn label(&self) -> &'static str {
        match self.0 {
            Role::StateMachine => "IAM role (state machine)",
            Role::Events => "IAM role (events)",
            Role::Lambda => "IAM role (Lambda)",
            Role::Job => "IAM role (jobs)",
        }
    }

    fn name(&self, plan: &Deployment) -> String {
        plan.names().role(self.0)
    }

    fn recorded<'c>(&self, children: &'c mut Children) -> &'c mut Option<String> {
        match self.0 {
            Role::StateMachine => &mut children.state_machine_role_arn,
            Role::Events => &mut children.events_role_arn,
            Role::Lambda => &mut children.lambda_role_arn,
            Role::Job => &mut children.job_role_arn,
        }
    }

    async fn ensure(&self, plan: &Deployment, children: &mut Children) -> Result<(), AwsError> {
        let policies = self.policies(plan, children);
        role::ensure(
            &plan.aws,
            &self.name(plan),
            &policies,
            &plan.tags,
            self.recorded(children),
        )
        .await
    }

    async fn apply_settings(&self, plan: &Deployment, children: &mut Children) -> Result<(), AwsError> {
        role::apply(&plan.aws, &self.name(plan), &self.policies(plan, children)).await
    }

    async fn tag(&self, plan: &Deployment, id: &str) -> Result<(), AwsError> {
        role::put_tags(&plan.aws, role::name_of(id), &plan.tags).await
    }

    async fn refresh(&self, scope: &Teardown, id: &str, _children: &mut Children) -> Result<bool, AwsError> {
        Ok(role::read(&scope.aws, role::name_of(id)).await?.is_some())
    }

    async fn settings(&self, scope: &Teardown, id: &str) -> Result<OwnedSettings, AwsError> {
        role::settings(&scope.aws, role::name_of(id)).await
    }

    async fn delete(&self, scope: &Teardown, id: &str, _children: &Children) -> Result<(), AwsError> {
        role::delete(&scope.aws, role::name_of(id)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::children::fixtures;

    fn trusted_service(policy: &serde_json::Value) -> &str {
        policy["Statement"][0]["Principal"]["Service"]
            .as_str()
            .unwrap_or_default()
    }

    #[test]
    fn each_role_is_trusted_by_its_own_service_only() {
        let plan = fixtures::deployment();
        for (role, service) in [
            (Role::StateMachine, "states.amazonaws.com"),
            (Role::Events, "events.amazonaws.com"),
            (Role::Lambda, "lambda.amazonaws.com"),
            (Role::Job, "pods.eks.amazonaws.com"),
        ] {
            let trust = PipelineRole(role).trust_policy(&plan);
            assert_eq!(trusted_service(&trust), service, "{role:?}");
            assert_eq!(trust["Statement"].as_array().map(Vec::len), Some(1), "{role:?}");
        }
    }

    #[test]
    fn the_lambda_role_places_interfaces_in_the_private_subnets_behind_the_recorded_group() {
        let plan = fixtures::deployment();
        let children = Children {
            security_group_id: Some("sg-pipeline".into()),
            ..Children::default()
        };
        let policy = PipelineRole(Role::Lambda).policy(&plan, &children).to_string();
        for placed in ["subnet/subnet-a", "subnet/subnet-b", "security-group/sg-pipeline"] {
            assert!(policy.contains(placed), "{placed} missing from {policy}");
        }
        assert!(!policy.contains("subnet-public"), "{policy}");
        assert!(!policy.contains("sg-cluster"), "{policy}");
    }

    #[test]
    fn each_role_is_granted_its_own_policy() {
        let (plan, children) = (fixtures::deployment(), Children::default());
        let policies: Vec<String> = [Role::StateMachine, Role::Events, Role::Lambda, Role::Job]
            .map(|role| PipelineRole(role).policy(&plan, &children).to_string())
            .into();
        let names = plan.names();
        assert_eq!(policies[0], iam::state_machine_policy(&names).to_string());
        assert_eq!(policies[1], iam::events_policy(&names).to_string());
        assert_eq!(policies[3], iam::job_policy(&names).to_string());
    }
}
