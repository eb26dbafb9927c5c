//! An IAM role with one inline policy: the pipeline has four (job, function, state machine,
//! events), each trusted by one service and granted only what core's policies list.

use aws_sdk_iam::types::Tag;

use crate::aws::{AwsClients, AwsError, Tags, found, ignore_not_found, stale_tag_keys};

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

pub async fn put_tags(aws: &AwsClients, name: &str, tags: &Tags) -> Result<(), AwsError> {
    let out = aws.iam.list_role_tags().role_name(name).send().await?;
    let stale = stale_tag_keys(out.tags().iter().map(|t| t.key()), tags);
    if !stale.is_empty() {
        aws.iam
            .untag_role()
            .role_name(name)
            .set_tag_keys(Some(stale))
            .send()
            .await?;
    }
    if !tags.is_empty() {
        aws.iam
            .tag_role()
            .role_name(name)
            .set_tags(Some(iam_tags(tags)?))
            .send()
            .await?;
    }
    Ok(())
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
