//! CloudWatch Logs groups: creation with tags, retention, the resource policy that lets a
//! service write to a group, and deletion.

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

/// Attaches `policy` to the log group itself (a resource-scoped policy, an upsert), so the
/// workflow never takes one of the account's ten policies without a resource. Where the service
/// only knows account-level policies (it then asks for a policy name, as the local emulator
/// does), the policy is put under `fallback_name` instead; else an account-level policy of that
/// name, which earlier versions put, is removed. [`delete_group_policy`] removes both.
pub async fn put_group_policy(
    aws: &AwsClients,
    group_arn: &str,
    fallback_name: &str,
    policy: &serde_json::Value,
) -> Result<(), AwsError> {
    let revision = group_policy_revision(aws, group_arn).await?;
    let scoped = logs(aws)
        .put_resource_policy()
        .resource_arn(group_arn)
        .set_expected_revision_id(revision)
        .policy_document(policy.to_string())
        .send()
        .await
        .map_err(AwsError::from);
    match scoped {
        Ok(_) => delete_account_policy(aws, fallback_name).await,
        Err(e) if asks_for_a_policy_name(&e) => {
            logs(aws)
                .put_resource_policy()
                .policy_name(fallback_name)
                .policy_document(policy.to_string())
                .send()
                .await?;
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// A service without resource-scoped policies refuses a request without `policyName`.
fn asks_for_a_policy_name(error: &AwsError) -> bool {
    error.has_code("InvalidParameterException") && error.message.contains("policyName")
}

/// The revision of the policy attached to the group, which a change must name; `None` when it
/// has none (or the service does not report resource-scoped policies).
async fn group_policy_revision(aws: &AwsClients, group_arn: &str) -> Result<Option<String>, AwsError> {
    let out = logs(aws)
        .describe_resource_policies()
        .resource_arn(group_arn)
        .policy_scope(aws_sdk_cloudwatchlogs::types::PolicyScope::Resource)
        .send()
        .await;
    let Some(out) = found(out.map_err(AwsError::from))? else {
        return Ok(None);
    };
    Ok(out
        .resource_policies()
        .iter()
        .find(|policy| policy.resource_arn() == Some(group_arn))
        .and_then(|policy| policy.revision_id().map(str::to_owned)))
}

/// Removes the group's policy, and the account-level one of `fallback_name` that a service
/// without resource-scoped policies (or an earlier version of the workflow) put; gone is fine.
pub async fn delete_group_policy(aws: &AwsClients, group_arn: &str, fallback_name: &str) -> Result<(), AwsError> {
    if let Some(revision) = group_policy_revision(aws, group_arn).await? {
        let out = logs(aws)
            .delete_resource_policy()
            .resource_arn(group_arn)
            .expected_revision_id(revision)
            .send()
            .await;
        ignore_not_found(out.map(drop).map_err(Into::into))?;
    }
    delete_account_policy(aws, fallback_name).await
}

/// Deletes an account-level resource policy; already gone is fine.
async fn delete_account_policy(aws: &AwsClients, policy_name: &str) -> Result<(), AwsError> {
    let out = logs(aws).delete_resource_policy().policy_name(policy_name).send().await;
    ignore_not_found(out.map(drop).map_err(Into::into))
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
