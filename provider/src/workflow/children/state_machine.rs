//! A workflow's two state machines: the main one (standard) and its express finisher, with the
//! definitions core renders, validated by Step Functions before create and update.

use async_trait::async_trait;
use aws_sdk_sfn::types::StateMachineType;
use eventdriven_core::workflow::definition::{finisher_definition, main_definition};

use crate::adapters::state_machine;
use crate::aws::AwsError;
use crate::lifecycle::Child;
use crate::workflow::plan::{Workflow, WorkflowPlan, WorkflowScope};
use crate::workflow::state::WorkflowChildren;

/// One of a workflow's two machines: the main one (standard) or the finisher (express).
pub enum WorkflowMachine {
    Main,
    Finisher,
}

impl WorkflowMachine {
    fn kind(&self) -> StateMachineType {
        match self {
            WorkflowMachine::Main => StateMachineType::Standard,
            WorkflowMachine::Finisher => StateMachineType::Express,
        }
    }

    fn definition(&self, plan: &WorkflowPlan) -> serde_json::Value {
        match self {
            WorkflowMachine::Main => main_definition(&plan.names()),
            WorkflowMachine::Finisher => finisher_definition(&plan.names()),
        }
    }

    fn role<'c>(&self, children: &'c WorkflowChildren) -> &'c str {
        let role = match self {
            WorkflowMachine::Main => &children.main_role_arn,
            WorkflowMachine::Finisher => &children.finisher_role_arn,
        };
        role.as_deref().unwrap_or_default()
    }

    /// Where the machine logs its errors: the finisher's failures (a `SendTask*` refused) would
    /// otherwise go unseen, as nothing waits on an express execution.
    fn error_log(&self, plan: &WorkflowPlan) -> Option<String> {
        matches!(self, WorkflowMachine::Finisher).then(|| plan.names().finisher_log_group_arn())
    }

    fn applied<'c>(&self, children: &'c mut WorkflowChildren) -> &'c mut Option<serde_json::Value> {
        match self {
            WorkflowMachine::Main => &mut children.definition,
            WorkflowMachine::Finisher => &mut children.finisher_definition,
        }
    }
}

#[async_trait]
impl Child<Workflow> for WorkflowMachine {
    fn label(&self) -> &'static str {
        match self {
            WorkflowMachine::Main => "Step Functions state machine",
            WorkflowMachine::Finisher => "Step Functions state machine (finisher)",
        }
    }

    fn name(&self, plan: &WorkflowPlan) -> String {
        match self {
            WorkflowMachine::Main => plan.names().state_machine(),
            WorkflowMachine::Finisher => plan.names().finisher(),
        }
    }

    fn recorded<'c>(&self, children: &'c mut WorkflowChildren) -> &'c mut Option<String> {
        match self {
            WorkflowMachine::Main => &mut children.state_machine_arn,
            WorkflowMachine::Finisher => &mut children.finisher_arn,
        }
    }

    async fn ensure(&self, plan: &WorkflowPlan, children: &mut WorkflowChildren) -> Result<(), AwsError> {
        if self.recorded(children).is_none() {
            let definition = self.definition(plan);
            state_machine::validate(&plan.aws, self.kind(), &definition).await?;
            let role = self.role(children).to_owned();
            let error_log = self.error_log(plan);
            let arn = state_machine::create(
                &plan.aws,
                &self.name(plan),
                self.kind(),
                &definition,
                &role,
                error_log.as_deref(),
                &plan.tags,
            )
            .await?;
            *self.recorded(children) = Some(arn);
            *self.applied(children) = Some(definition);
        }
        Ok(())
    }

    /// A task changed, added or removed updates the machine in place: same ARN.
    async fn apply_settings(&self, plan: &WorkflowPlan, children: &mut WorkflowChildren) -> Result<(), AwsError> {
        let Some(arn) = self.recorded(children).clone() else {
            return Ok(());
        };
        let definition = self.definition(plan);
        let live = state_machine::read(&plan.aws, &arn).await?;
        if live.is_none_or(|live| live.definition != definition) {
            state_machine::validate(&plan.aws, self.kind(), &definition).await?;
            let error_log = self.error_log(plan);
            state_machine::update(&plan.aws, &arn, &definition, self.role(children), error_log.as_deref()).await?;
        }
        *self.applied(children) = Some(definition);
        Ok(())
    }

    async fn tag(&self, plan: &WorkflowPlan, id: &str) -> Result<(), AwsError> {
        state_machine::put_tags(&plan.aws, id, &plan.tags).await
    }

    /// A definition edited outside Terraform is forgotten, so the plan applies it again.
    async fn refresh(
        &self,
        scope: &WorkflowScope,
        id: &str,
        children: &mut WorkflowChildren,
    ) -> Result<bool, AwsError> {
        let Some(live) = state_machine::read(&scope.aws, id).await? else {
            return Ok(false);
        };
        if self.applied(children).as_ref() != Some(&live.definition) {
            *self.applied(children) = None;
        }
        Ok(true)
    }

    async fn delete(&self, scope: &WorkflowScope, id: &str, _children: &WorkflowChildren) -> Result<(), AwsError> {
        state_machine::delete(&scope.aws, id).await
    }

    fn forget(&self, children: &mut WorkflowChildren) {
        *self.recorded(children) = None;
        *self.applied(children) = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workflow::children::fixtures;

    fn recorded() -> WorkflowChildren {
        WorkflowChildren {
            main_role_arn: Some("arn:main-role".into()),
            finisher_role_arn: Some("arn:finisher-role".into()),
            state_machine_arn: Some("arn:main".into()),
            finisher_arn: Some("arn:finisher".into()),
            definition: Some(serde_json::json!({ "Comment": "main" })),
            finisher_definition: Some(serde_json::json!({ "Comment": "finisher" })),
            ..WorkflowChildren::default()
        }
    }

    #[test]
    fn the_main_machine_is_standard_and_the_finisher_express_each_with_its_own_role_and_definition() {
        let plan = fixtures::plan(fixtures::spec());
        let children = recorded();
        let main = WorkflowMachine::Main;
        assert_eq!(
            (main.kind(), main.role(&children)),
            (StateMachineType::Standard, "arn:main-role")
        );
        assert_eq!(main.definition(&plan), main_definition(&plan.names()));
        let finisher = WorkflowMachine::Finisher;
        assert_eq!(
            (finisher.kind(), finisher.role(&children)),
            (StateMachineType::Express, "arn:finisher-role")
        );
        assert_eq!(finisher.definition(&plan), finisher_definition(&plan.names()));
    }

    #[test]
    fn forgetting_a_machine_forgets_its_definition_and_nothing_of_the_other() {
        let mut children = recorded();
        WorkflowMachine::Finisher.forget(&mut children);
        assert_eq!(
            (children.finisher_arn.as_deref(), children.finisher_definition.as_ref()),
            (None, None)
        );
        assert_eq!(children.state_machine_arn.as_deref(), Some("arn:main"));
        assert_eq!(children.definition, recorded().definition);
        WorkflowMachine::Main.forget(&mut children);
        assert_eq!(
            (children.state_machine_arn.as_deref(), children.definition.as_ref()),
            (None, None)
        );
    }
}
