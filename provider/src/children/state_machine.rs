//! Step Functions state machines, with the definitions core renders: the pipeline's (one
//! execution per input object), and a workflow's main machine and express finisher.

use aws_sdk_sfn::types::{StateMachineStatus, StateMachineType, Tag, ValidateStateMachineDefinitionResultCode};

use crate::aws::{AwsClients, AwsError, Tags, found, ignore_not_found, retry_while_role_propagates, sync_tags};
use async_trait::async_trait;

use crate::lifecycle::Child;
use crate::pipeline::plan::{Deployment, Pipeline, Teardown};
use crate::pipeline::state::Children;
use crate::workflow::plan::{Workflow, WorkflowPlan, WorkflowScope};
use crate::workflow::state::WorkflowChildren;
use eventdriven_core::workflow::definition::{finisher_definition, main_definition};

fn sfn_tags(tags: &Tags) -> Vec<Tag> {
    tags.iter()
        .map(|(key, value)| Tag::builder().key(key).value(value).build())
        .collect()
}

/// Step Functions rejects a role it cannot assume yet (fresh from IAM) with this code.
fn role_not_ready(err: &AwsError) -> bool {
    err.has_code("AccessDeniedException") || err.has_code("InvalidArn")
}

/// Creates a state machine of `kind` (standard or express); returns its ARN.
pub async fn create(
    aws: &AwsClients,
    name: &str,
    kind: StateMachineType,
    definition: &serde_json::Value,
    role_arn: &str,
    tags: &Tags,
) -> Result<String, AwsError> {
    let out = retry_while_role_propagates(role_not_ready, || async {
        let request = aws
            .sfn
            .create_state_machine()
            .name(name)
            .definition(definition.to_string())
            .role_arn(role_arn)
            .set_type(Some(kind.clone()))
            .set_tags(Some(sfn_tags(tags)));
        Ok(request.send().await?)
    })
    .await?;
    Ok(out.state_machine_arn)
}

/// Asks Step Functions to check `definition`, so a definition it would reject fails with its
/// own diagnostics (every error, each with its location) before anything is changed.
pub async fn validate(
    aws: &AwsClients,
    kind: StateMachineType,
    definition: &serde_json::Value,
) -> Result<(), AwsError> {
    let out = aws
        .sfn
        .validate_state_machine_definition()
        .definition(definition.to_string())
        .r#type(kind)
        .send()
        .await?;
    if out.result() != &ValidateStateMachineDefinitionResultCode::Fail {
        return Ok(());
    }
    let diagnostics: Vec<String> = out
        .diagnostics()
        .iter()
        .map(|d| match d.location() {
            Some(location) => format!("{} at {location}: {}", d.code(), d.message()),
            None => format!("{}: {}", d.code(), d.message()),
        })
        .collect();
    Err(AwsError {
        code: Some("InvalidDefinition".into()),
        message: format!("the rendered definition is invalid: {}", diagnostics.join("; ")),
    })
}

/// What refresh compares against the configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct StateMachineInfo {
    pub definition: serde_json::Value,
    pub role_arn: String,
}

/// The live state machine, or `None` when it is gone or being deleted.
pub async fn read(aws: &AwsClients, arn: &str) -> Result<Option<StateMachineInfo>, AwsError> {
    let out = aws.sfn.describe_state_machine().state_machine_arn(arn).send().await;
    let Some(out) = found(out.map_err(AwsError::from))? else {
        return Ok(None);
    };
    if out.status() == Some(&StateMachineStatus::Deleting) {
        return Ok(None);
    }
    let definition = serde_json::from_str(out.definition())
        .map_err(|e| AwsError::other(format!("state machine {arn} has a definition that is not JSON: {e}")))?;
    Ok(Some(StateMachineInfo {
        definition,
        role_arn: out.role_arn().to_owned(),
    }))
}

/// Replaces the definition in place (concurrency, batch size and image live there).
pub async fn update(
    aws: &AwsClients,
    arn: &str,
    definition: &serde_json::Value,
    role_arn: &str,
) -> Result<(), AwsError> {
    aws.sfn
        .update_state_machine()
        .state_machine_arn(arn)
        .definition(definition.to_string())
        .role_arn(role_arn)
        .send()
        .await?;
    Ok(())
}

/// The state machine's tags.
pub async fn tags(aws: &AwsClients, arn: &str) -> Result<Tags, AwsError> {
    let out = aws.sfn.list_tags_for_resource().resource_arn(arn).send().await?;
    Ok(out
        .tags()
        .iter()
        .filter_map(|t| Some((t.key()?.to_owned(), t.value()?.to_owned())))
        .collect())
}

pub async fn put_tags(aws: &AwsClients, arn: &str, tags: &Tags) -> Result<(), AwsError> {
    let out = aws.sfn.list_tags_for_resource().resource_arn(arn).send().await?;
    let untag = |stale| async move {
        aws.sfn
            .untag_resource()
            .resource_arn(arn)
            .set_tag_keys(Some(stale))
            .send()
            .await?;
        Ok(())
    };
    let tag = || async {
        aws.sfn
            .tag_resource()
            .resource_arn(arn)
            .set_tags(Some(sfn_tags(tags)))
            .send()
            .await?;
        Ok(())
    };
    sync_tags(out.tags().iter().filter_map(|t| t.key()), tags, untag, tag).await
}

pub async fn delete(aws: &AwsClients, arn: &str) -> Result<(), AwsError> {
    let out = aws.sfn.delete_state_machine().state_machine_arn(arn).send().await;
    ignore_not_found(out.map(drop).map_err(Into::into))
}

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
            validate(&plan.aws, StateMachineType::Standard, &definition).await?;
            let role = children.state_machine_role_arn.as_deref().unwrap_or_default();
            let arn = create(
                &plan.aws,
                &self.name(plan),
                StateMachineType::Standard,
                &definition,
                role,
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
        let live = read(&plan.aws, &arn).await?;
        if live.is_none_or(|live| live.definition != definition) {
            validate(&plan.aws, StateMachineType::Standard, &definition).await?;
            let role = children.state_machine_role_arn.as_deref().unwrap_or_default();
            update(&plan.aws, &arn, &definition, role).await?;
        }
        children.definition = Some(definition);
        Ok(())
    }

    async fn tag(&self, plan: &Deployment, id: &str) -> Result<(), AwsError> {
        put_tags(&plan.aws, id, &plan.tags).await
    }

    /// A definition edited outside Terraform is forgotten, so the plan applies it again.
    async fn refresh(&self, scope: &Teardown, id: &str, children: &mut Children) -> Result<bool, AwsError> {
        let Some(live) = read(&scope.aws, id).await? else {
            return Ok(false);
        };
        if children.definition.as_ref() != Some(&live.definition) {
            children.definition = None;
        }
        Ok(true)
    }

    async fn delete(&self, scope: &Teardown, id: &str, _children: &Children) -> Result<(), AwsError> {
        delete(&scope.aws, id).await
    }

    fn forget(&self, children: &mut Children) {
        children.state_machine_arn = None;
        children.definition = None;
    }
}

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
            validate(&plan.aws, self.kind(), &definition).await?;
            let role = self.role(children).to_owned();
            let arn = create(&plan.aws, &self.name(plan), self.kind(), &definition, &role, &plan.tags).await?;
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
        let live = read(&plan.aws, &arn).await?;
        if live.is_none_or(|live| live.definition != definition) {
            validate(&plan.aws, self.kind(), &definition).await?;
            update(&plan.aws, &arn, &definition, self.role(children)).await?;
        }
        *self.applied(children) = Some(definition);
        Ok(())
    }

    async fn tag(&self, plan: &WorkflowPlan, id: &str) -> Result<(), AwsError> {
        put_tags(&plan.aws, id, &plan.tags).await
    }

    /// A definition edited outside Terraform is forgotten, so the plan applies it again.
    async fn refresh(
        &self,
        scope: &WorkflowScope,
        id: &str,
        children: &mut WorkflowChildren,
    ) -> Result<bool, AwsError> {
        let Some(live) = read(&scope.aws, id).await? else {
            return Ok(false);
        };
        if self.applied(children).as_ref() != Some(&live.definition) {
            *self.applied(children) = None;
        }
        Ok(true)
    }

    async fn delete(&self, scope: &WorkflowScope, id: &str, _children: &WorkflowChildren) -> Result<(), AwsError> {
        delete(&scope.aws, id).await
    }

    fn forget(&self, children: &mut WorkflowChildren) {
        *self.recorded(children) = None;
        *self.applied(children) = None;
    }
}
