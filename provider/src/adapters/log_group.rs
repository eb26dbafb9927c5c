//! CloudWatch Logs groups: creation with tags, retention, the account-level resource policies
//! that let a service write to a group, and deletion.

use aws_sdk_cloudwatchlogs::Client;

use crate::aws::{AwsClients, AwsError, Tags, found, ignore_not_found, sync_tags};

fn logs(aws: &AwsClients) -> &Client {
    &aws.logs
}

/// Creates the group with its tags; [`configure`] sets retention and the resource policy.
pub async fn create(aws: &AwsClients, name: &str, tags: &Tags) -> Result<(), AwsError> {
    let out = logs(aws)
        .create_log_group()
        .log_group_name(name)
        .set_tags(Some(tags.clone().into_iter().collect()))
        .send()
        .await;
    match out.map_err(AwsError::from) {
        Err(e) if e.has_code("ResourceAlreadyExistsException") => Ok(()),
        other => other.map(drop),
    }
}

/// Sets how long the group keeps its events (an upsert).
pub async fn put_retention(aws: &AwsClients, name: &str, retention_days: i64) -> Result<(), AwsError> {
    logs(aws)
        .put_retention_policy()
        .log_group_name(name)
        .retention_in_days(retention_days as i32)
        .send()
        .await?;
    Ok(())
}

/// Sets an account-level resource policy of CloudWatch Logs (an upsert).
pub async fn put_resource_policy(
    aws: &AwsClients,
    policy_name: &str,
    policy: &serde_json::Value,
) -> Result<(), AwsError> {
    logs(aws)
        .put_resource_policy()
        .policy_name(policy_name)
        .policy_document(policy.to_string())
        .send()
        .await?;
    Ok(())
}

/// The group's retention in days, or `None` when the group is gone.
pub async fn read(aws: &AwsClients, name: &str) -> Result<Option<Option<i32>>, AwsError> {
    let out = logs(aws).describe_log_groups().log_group_name_prefix(name).send().await;
    let Some(out) = found(out.map_err(AwsError::from))? else {
        return Ok(None);
    };
    Ok(out
        .log_groups()
        .iter()
        .find(|group| group.log_group_name() == Some(name))
        .map(|group| group.retention_in_days()))
}

pub async fn put_tags(aws: &AwsClients, arn: &str, tags: &Tags) -> Result<(), AwsError> {
    let out = logs(aws).list_tags_for_resource().resource_arn(arn).send().await?;
    let current = out.tags().into_iter().flat_map(|t| t.keys().map(String::as_str));
    let untag = |stale| async move {
        logs(aws)
            .untag_resource()
            .resource_arn(arn)
            .set_tag_keys(Some(stale))
            .send()
            .await?;
        Ok(())
    };
    let tag = || async {
        let tags = tags.clone().into_iter().collect();
        logs(aws)
            .tag_resource()
            .resource_arn(arn)
            .set_tags(Some(tags))
            .send()
            .await?;
        Ok(())
    };
    sync_tags(current, tags, untag, tag).await
}

/// Deletes the group; already gone is fine.
pub async fn delete(aws: &AwsClients, name: &str) -> Result<(), AwsError> {
    let out = logs(aws).delete_log_group().log_group_name(name).send().await;
    ignore_not_found(out.map(drop).map_err(Into::into))
}

/// Deletes a resource policy; already gone is fine.
pub async fn delete_resource_policy(aws: &AwsClients, policy_name: &str) -> Result<(), AwsError> {
    let out = logs(aws).delete_resource_policy().policy_name(policy_name).send().await;
    ignore_not_found(out.map(drop).map_err(Into::into))
}
