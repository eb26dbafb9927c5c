//! The pipeline's state machine (one execution per input object), with the definition core
//! renders, validated by Step Functions before create and update.

use async_trait::async_trait;
use aws_sdk_sfn::types::StateMachineType;

use crate::adapters::state_machine;
use crate::aws::AwsError;
use crate::lifecycle::Child;
use crate::pipeline::plan::{Deployment, Pipeline, Teardown};
use crate::pipeline::state::Children;

/// The pipeline's state machine, with the definition core renders; the state records the
/// definition as applied, so a change made outside Terraform is applied again.
pub struct PipelineStateMachine;

#[async_trait]
impl Child<Pipeline> for PipelineStateMachine {
    fn label(&self) -> &'static str {
        "Step Functions state machine"
    }

    fn name(&self, plan: &Deployment) -> String {
        plan.names().state_machine()
    }

    fn recorded<'c>(&self, children: &'c mut Children) -> &'c mut Option<String> {
        &mut children.state_machine_arn
    }

    async fn ensure(&self, plan: &Deployment, children: &mut Children) -> Result<(), AwsError> {
        if children.state_machine_arn.is_none() {
            let definition = plan.definition(children);
            state_machine::validate(&plan.aws, StateMachineType::Standard, &definition).await?;
            let role = children.state_machine_role_arn.as_deref().unwrap_or_default();
            let arn = state_machine::create(
                &plan.aws,
                &self.name(plan),
                StateMachineType::Standard,
                &definition,
                role,
                None,
                &plan.tags,
            )
            .await?;
            children.state_machine_arn = Some(arn);
            children.definition = Some(definition);
        }
        Ok(())
    }

    async fn apply_settings(&self, plan: &Deployment, children: &mut Children) -> Result<(), AwsError> {
        let Some(arn) = children.state_machine_arn.clone() else {
            return Ok(());
        };
        let definition = plan.definition(children);
        let live = state_machine::read(&plan.aws, &arn).await?;
        if live.is_none_or(|live| live.definition != definition) {
            state_machine::validate(&plan.aws, StateMachineType::Standard, &definition).await?;
            let role = children.state_machine_role_arn.as_deref().unwrap_or_default();
            state_machine::update(&plan.aws, &arn, &definition, role, None).await?;
        }
        children.definition = Some(definition);
        Ok(())
    }

    async fn tag(&self, plan: &Deployment, id: &str) -> Result<(), AwsError> {
        state_machine::put_tags(&plan.aws, id, &plan.tags).await
    }

    /// A definition edited outside Terraform is forgotten, so the plan applies it again.
    async fn refresh(&self, scope: &Teardown, id: &str, children: &mut Children) -> Result<bool, AwsError> {
        let Some(live) = state_machine::read(&scope.aws, id).await? else {
            return Ok(false);
        };
        if children.definition.as_ref() != Some(&live.definition) {
            children.definition = None;
        }
        Ok(true)
    }

    async fn delete(&self, scope: &Teardown, id: &str, _children: &Children) -> Result<(), AwsError> {
        state_machine::delete(&scope.aws, id).await
    }

    fn forget(&self, children: &mut Children) {
        children.state_machine_arn = None;
        children.definition = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forgetting_the_state_machine_forgets_the_definition_it_applied() {
        let mut children = Children {
            state_machine_arn: Some("arn:aws:states:eu-west-1:123456789012:stateMachine:eventdriven-orders".into()),
            definition: Some(serde_json::json!({ "StartAt": "Split" })),
            state_machine_role_arn: Some("arn:aws:iam::123456789012:role/eventdriven-orders-sfn".into()),
            ..Children::default()
        };
        PipelineStateMachine.forget(&mut children);
        assert_eq!(children.state_machine_arn, None);
        assert_eq!(children.definition, None);
        assert!(
            children.state_machine_role_arn.is_some(),
            "its role is a child of its own"
        );
    }
}
