//! An IAM role with one inline policy: the pipeline has four (job, function, state machine,
//! events), a workflow three (main machine, finisher, events) and one per listener, each
//! trusted by one service and granted only what core's policies list.

use aws_sdk_iam::types::Tag;
use eventdriven_core::iam;
use eventdriven_core::naming::Role;

use crate::aws::{AwsClients, AwsError, Tags, found, ignore_not_found, sync_tags};
use async_trait::async_trait;

use crate::lifecycle::Child;
use crate::pipeline::plan::{Deployment, Pipeline, Teardown};
use crate::pipeline::state::Children;
use crate::workflow::plan::{Workflow, WorkflowPlan, WorkflowScope};
use crate::workflow::state::WorkflowChildren;
use eventdriven_core::workflow::iam as workflow_iam;
use eventdriven_core::workflow::naming::WorkflowRole;

/// Name of the inline policy every pipeline role carries.
pub const INLINE_POLICY_NAME: &str = "eventdriven";

fn iam_tags(tags: &Tags) -> Result<Vec<Tag>, AwsError> {
    tags.iter()
        .map(|(key, value)| Ok(Tag::builder().key(key).value(value).build()?))
        .collect()
}

/// Creates the role with its trust policy; returns its ARN. [`put_policy`] then grants it.
pub async fn create(
    aws: &AwsClients,
    name: &str,
    trust_policy: &serde_json::Value,
    tags: &Tags,
) -> Result<String, AwsError> {
    let out = aws
        .iam
        .create_role()
        .role_name(name)
        .assume_role_policy_document(trust_policy.to_string())
        .description("Role of an eventdriven pipeline")
        .set_tags(Some(iam_tags(tags)?))
        .send()
        .await?;
    out.role
        .map(|role| role.arn)
        .ok_or_else(|| AwsError::other("CreateRole returned no role"))
}

/// Sets the role's inline policy (an upsert).
pub async fn put_policy(aws: &AwsClients, name: &str, policy: &serde_json::Value) -> Result<(), AwsError> {
    aws.iam
        .put_role_policy()
        .role_name(name)
        .policy_name(INLINE_POLICY_NAME)
        .policy_document(policy.to_string())
        .send()
        .await?;
    Ok(())
}

/// The role's ARN, or `None` when it no longer exists.
pub async fn read(aws: &AwsClients, name: &str) -> Result<Option<String>, AwsError> {
    let out = aws.iam.get_role().role_name(name).send().await;
    Ok(found(out.map_err(AwsError::from))?.and_then(|out| out.role.map(|role| role.arn)))
}

/// The role's inline policy, or `None` when the role or the policy is gone.
pub async fn policy(aws: &AwsClients, name: &str) -> Result<Option<serde_json::Value>, AwsError> {
    let out = aws
        .iam
        .get_role_policy()
        .role_name(name)
        .policy_name(INLINE_POLICY_NAME)
        .send()
        .await;
    let Some(out) = found(out.map_err(AwsError::from))? else {
        return Ok(None);
    };
    // IAM returns the document URL-encoded.
    let document = percent_decode(out.policy_document());
    Ok(serde_json::from_str(&document).ok())
}

/// Decodes `%XX` escapes, as IAM encodes policy documents.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                decoded.push(byte);
                i += 3;
            }
            (byte, _) => {
                decoded.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

pub async fn put_tags(aws: &AwsClients, name: &str, tags: &Tags) -> Result<(), AwsError> {
    let out = aws.iam.list_role_tags().role_name(name).send().await?;
    let untag = |stale| async move {
        aws.iam
            .untag_role()
            .role_name(name)
            .set_tag_keys(Some(stale))
            .send()
            .await?;
        Ok(())
    };
    let tag = || async {
        aws.iam
            .tag_role()
            .role_name(name)
            .set_tags(Some(iam_tags(tags)?))
            .send()
            .await?;
        Ok(())
    };
    sync_tags(out.tags().iter().map(|t| t.key()), tags, untag, tag).await
}

/// Deletes the inline policies and then the role (IAM refuses to delete a role that still
/// has policies).
pub async fn delete(aws: &AwsClients, name: &str) -> Result<(), AwsError> {
    let listed = aws.iam.list_role_policies().role_name(name).send().await;
    let Some(listed) = found(listed.map_err(AwsError::from))? else {
        return Ok(());
    };
    for policy in listed.policy_names() {
        let out = aws
            .iam
            .delete_role_policy()
            .role_name(name)
            .policy_name(policy)
            .send()
            .await;
        ignore_not_found(out.map(drop).map_err(Into::into))?;
    }
    let attached = aws.iam.list_attached_role_policies().role_name(name).send().await?;
    for policy in attached.attached_policies() {
        if let Some(arn) = policy.policy_arn() {
            let out = aws
                .iam
                .detach_role_policy()
                .role_name(name)
                .policy_arn(arn)
                .send()
                .await;
            ignore_not_found(out.map(drop).map_err(Into::into))?;
        }
    }
    let out = aws.iam.delete_role().role_name(name).send().await;
    ignore_not_found(out.map(drop).map_err(Into::into))
}

/// One of the pipeline's four roles, trusted by its service and granted core's policy.
pub struct PipelineRole(pub Role);

impl PipelineRole {
    fn trust_policy(&self, plan: &Deployment) -> serde_json::Value {
        match self.0 {
            Role::StateMachine => iam::state_machine_trust_policy(&plan.context),
            Role::Events => iam::events_trust_policy(&plan.context),
            Role::Lambda => iam::lambda_trust_policy(),
            Role::Job => iam::job_trust_policy(&plan.spec),
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

/// The role name at the end of a role ARN (`arn:aws:iam::123:role/NAME`).
fn name_of(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
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
        if self.recorded(children).is_none() {
            let name = self.name(plan);
            let arn = create(&plan.aws, &name, &self.trust_policy(plan), &plan.tags).await?;
            *self.recorded(children) = Some(arn);
            put_policy(&plan.aws, &name, &self.policy(plan, children)).await?;
        }
        Ok(())
    }

    async fn apply_settings(&self, plan: &Deployment, children: &mut Children) -> Result<(), AwsError> {
        put_policy(&plan.aws, &self.name(plan), &self.policy(plan, children)).await
    }

    async fn tag(&self, plan: &Deployment, id: &str) -> Result<(), AwsError> {
        put_tags(&plan.aws, name_of(id), &plan.tags).await
    }

    async fn refresh(&self, scope: &Teardown, id: &str, _children: &mut Children) -> Result<bool, AwsError> {
        Ok(read(&scope.aws, name_of(id)).await?.is_some())
    }

    async fn delete(&self, scope: &Teardown, id: &str, _children: &Children) -> Result<(), AwsError> {
        delete(&scope.aws, name_of(id)).await
    }
}

/// One of a workflow's three roles (main machine, finisher, events).
pub struct WorkflowRoleChild(pub WorkflowRole);

impl WorkflowRoleChild {
    fn trust_policy(&self, plan: &WorkflowPlan) -> serde_json::Value {
        match self.0 {
            WorkflowRole::Main | WorkflowRole::Finisher => workflow_iam::states_trust_policy(&plan.context),
            WorkflowRole::Events => workflow_iam::events_trust_policy(&plan.context),
        }
    }

    fn policy(&self, plan: &WorkflowPlan) -> serde_json::Value {
        let names = plan.names();
        match self.0 {
            WorkflowRole::Main => workflow_iam::main_policy(&names),
            WorkflowRole::Finisher => workflow_iam::finisher_policy(),
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
        if self.recorded(children).is_none() {
            let name = self.name(plan);
            let arn = create(&plan.aws, &name, &self.trust_policy(plan), &plan.tags).await?;
            *self.recorded(children) = Some(arn);
            put_policy(&plan.aws, &name, &self.policy(plan)).await?;
        }
        Ok(())
    }

    async fn apply_settings(&self, plan: &WorkflowPlan, _children: &mut WorkflowChildren) -> Result<(), AwsError> {
        put_policy(&plan.aws, &self.name(plan), &self.policy(plan)).await
    }

    async fn tag(&self, plan: &WorkflowPlan, id: &str) -> Result<(), AwsError> {
        put_tags(&plan.aws, name_of(id), &plan.tags).await
    }

    async fn refresh(
        &self,
        scope: &WorkflowScope,
        id: &str,
        _children: &mut WorkflowChildren,
    ) -> Result<bool, AwsError> {
        Ok(read(&scope.aws, name_of(id)).await?.is_some())
    }

    async fn delete(&self, scope: &WorkflowScope, id: &str, _children: &WorkflowChildren) -> Result<(), AwsError> {
        delete(&scope.aws, name_of(id)).await
    }
}

/// A workflow listener's execution role: its logs, the events it may put, its bucket prefix.
pub struct ListenerRole(pub String);

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
        let Some(listener) = plan.listener(&self.0) else {
            return Ok(());
        };
        if self.recorded(children).is_none() {
            let name = self.name(plan);
            let arn = create(&plan.aws, &name, &workflow_iam::listener_trust_policy(), &plan.tags).await?;
            *self.recorded(children) = Some(arn);
            put_policy(
                &plan.aws,
                &name,
                &workflow_iam::listener_policy(&plan.names(), listener),
            )
            .await?;
        }
        Ok(())
    }

    async fn apply_settings(&self, plan: &WorkflowPlan, _children: &mut WorkflowChildren) -> Result<(), AwsError> {
        let Some(listener) = plan.listener(&self.0) else {
            return Ok(());
        };
        put_policy(
            &plan.aws,
            &self.name(plan),
            &workflow_iam::listener_policy(&plan.names(), listener),
        )
        .await
    }

    async fn tag(&self, plan: &WorkflowPlan, id: &str) -> Result<(), AwsError> {
        put_tags(&plan.aws, name_of(id), &plan.tags).await
    }

    async fn refresh(
        &self,
        scope: &WorkflowScope,
        id: &str,
        _children: &mut WorkflowChildren,
    ) -> Result<bool, AwsError> {
        Ok(read(&scope.aws, name_of(id)).await?.is_some())
    }

    async fn delete(&self, scope: &WorkflowScope, id: &str, _children: &WorkflowChildren) -> Result<(), AwsError> {
        delete(&scope.aws, name_of(id)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_documents_are_url_decoded() {
        assert_eq!(percent_decode("%7B%22a%22%3A1%7D"), "{\"a\":1}");
        assert_eq!(percent_decode("{\"a\":1}"), "{\"a\":1}");
        assert_eq!(percent_decode("100%"), "100%");
    }

    #[test]
    fn role_names_come_from_arns() {
        assert_eq!(
            name_of("arn:aws:iam::123456789012:role/eventdriven-orders-job"),
            "eventdriven-orders-job"
        );
    }
}
