//! The EventBridge rule starting one state machine execution per new input object.

use aws_sdk_eventbridge::types::{RuleState, Tag, Target};

use crate::aws::{AwsClients, AwsError, Tags, found, ignore_not_found, retry_while_role_propagates, stale_tag_keys};

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
        || aws.events.put_targets().rule(name).targets(target.clone()).send(),
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
    let stale = stale_tag_keys(out.tags().iter().map(|t| t.key()), tags);
    if !stale.is_empty() {
        aws.events
            .untag_resource()
            .resource_arn(rule_arn)
            .set_tag_keys(Some(stale))
            .send()
            .await?;
    }
    if !tags.is_empty() {
        aws.events
            .tag_resource()
            .resource_arn(rule_arn)
            .set_tags(Some(rule_tags(tags)?))
            .send()
            .await?;
    }
    Ok(())
}

/// Removes the target, then the rule (EventBridge refuses to delete a rule with targets).
pub async fn delete(aws: &AwsClients, name: &str) -> Result<(), AwsError> {
    let out = aws.events.remove_targets().rule(name).ids(TARGET_ID).send().await;
    ignore_not_found(out.map(drop).map_err(Into::into))?;
    let out = aws.events.delete_rule().name(name).send().await;
    ignore_not_found(out.map(drop).map_err(Into::into))
}
