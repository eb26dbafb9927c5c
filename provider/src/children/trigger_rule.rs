//! The EventBridge rule starting one state machine execution per new input object.

use aws_sdk_eventbridge::types::{RuleState, Tag, Target};

use eventdriven_core::trigger;

use crate::aws::{AwsClients, AwsError, Tags, found, ignore_not_found, retry_while_role_propagates, sync_tags};
use async_trait::async_trait;

use crate::lifecycle::Child;
use crate::pipeline::plan::{Deployment, Pipeline, Teardown};
use crate::pipeline::state::Children;

/// Id of the rule's only target.
const TARGET_ID: &str = "state-machine";

fn rule_tags(tags: &Tags) -> Result<Vec<Tag>, AwsError> {
    tags.iter()
        .map(|(key, value)| Ok(Tag::builder().key(key).value(value).build()?))
        .collect()
}

/// Creates or updates the rule and its target (both calls are upserts).
pub async fn put(
    aws: &AwsClients,
    name: &str,
    event_pattern: &serde_json::Value,
    state_machine_arn: &str,
    role_arn: &str,
    tags: &Tags,
) -> Result<(), AwsError> {
    aws.events
        .put_rule()
        .name(name)
        .description("Starts an eventdriven pipeline run per new input object")
        .event_pattern(event_pattern.to_string())
        .state(RuleState::Enabled)
        .set_tags(Some(rule_tags(tags)?))
        .send()
        .await?;
    let target = Target::builder()
        .id(TARGET_ID)
        .arn(state_machine_arn)
        .role_arn(role_arn)
        .build()?;
    let out = retry_while_role_propagates(
        |err| err.has_code("AccessDeniedException"),
        || async {
            Ok(aws
                .events
                .put_targets()
                .rule(name)
                .targets(target.clone())
                .send()
                .await?)
        },
    )
    .await?;
    if out.failed_entry_count > 0 {
        let reason = out
            .failed_entries()
            .first()
            .and_then(|e| e.error_message())
            .unwrap_or("no reason given")
            .to_owned();
        return Err(AwsError::other(format!("PutTargets failed: {reason}")));
    }
    Ok(())
}

/// The rule's event pattern, or `None` when the rule is gone.
pub async fn read(aws: &AwsClients, name: &str) -> Result<Option<serde_json::Value>, AwsError> {
    let out = aws.events.describe_rule().name(name).send().await;
    Ok(found(out.map_err(AwsError::from))?.map(|out| {
        out.event_pattern()
            .and_then(|p| serde_json::from_str(p).ok())
            .unwrap_or_default()
    }))
}

pub async fn put_tags(aws: &AwsClients, rule_arn: &str, tags: &Tags) -> Result<(), AwsError> {
    let out = aws
        .events
        .list_tags_for_resource()
        .resource_arn(rule_arn)
        .send()
        .await?;
    let untag = |stale| async move {
        let request = aws.events.untag_resource().resource_arn(rule_arn);
        request.set_tag_keys(Some(stale)).send().await?;
        Ok(())
    };
    let tag = || async {
        let request = aws.events.tag_resource().resource_arn(rule_arn);
        request.set_tags(Some(rule_tags(tags)?)).send().await?;
        Ok(())
    };
    sync_tags(out.tags().iter().map(|t| t.key()), tags, untag, tag).await
}

/// Removes the target, then the rule (EventBridge refuses to delete a rule with targets).
pub async fn delete(aws: &AwsClients, name: &str) -> Result<(), AwsError> {
    let out = aws.events.remove_targets().rule(name).ids(TARGET_ID).send().await;
    ignore_not_found(out.map(drop).map_err(Into::into))?;
    let out = aws.events.delete_rule().name(name).send().await;
    ignore_not_found(out.map(drop).map_err(Into::into))
}

/// The rule starting the pipeline's state machine for each new input object.
pub struct InputRule;

impl InputRule {
    async fn put_for(&self, plan: &Deployment, children: &Children) -> Result<(), AwsError> {
        let names = plan.names();
        let pattern = trigger::input_event_pattern(&names.bucket(), &plan.spec.input_prefix, &plan.spec.input_suffix);
        let state_machine = children.state_machine_arn.as_deref().unwrap_or_default();
        let role = children.events_role_arn.as_deref().unwrap_or_default();
        put(
            &plan.aws,
            &names.input_rule(),
            &pattern,
            state_machine,
            role,
            &plan.tags,
        )
        .await
    }
}

#[async_trait]
impl Child<Pipeline> for InputRule {
    fn label(&self) -> &'static str {
        "EventBridge rule"
    }

    fn name(&self, plan: &Deployment) -> String {
        plan.names().input_rule()
    }

    fn recorded<'c>(&self, children: &'c mut Children) -> &'c mut Option<String> {
        &mut children.input_rule_name
    }

    async fn ensure(&self, plan: &Deployment, children: &mut Children) -> Result<(), AwsError> {
        if children.input_rule_name.is_none() {
            self.put_for(plan, children).await?;
            children.input_rule_name = Some(self.name(plan));
        }
        Ok(())
    }

    async fn apply_settings(&self, plan: &Deployment, children: &mut Children) -> Result<(), AwsError> {
        self.put_for(plan, children).await
    }

    async fn tag(&self, plan: &Deployment, _id: &str) -> Result<(), AwsError> {
        put_tags(&plan.aws, &plan.names().input_rule_arn(), &plan.tags).await
    }

    async fn refresh(&self, scope: &Teardown, id: &str, _children: &mut Children) -> Result<bool, AwsError> {
        Ok(read(&scope.aws, id).await?.is_some())
    }

    async fn delete(&self, scope: &Teardown, id: &str, _children: &Children) -> Result<(), AwsError> {
        delete(&scope.aws, id).await
    }
}
