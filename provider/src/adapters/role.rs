//! IAM roles with one inline policy each, trusted by whom their trust policy names.

use aws_sdk_iam::types::Tag;

use crate::aws::{AwsClients, AwsError, Tags, found, ignore_not_found, sync_tags};

/// Name of the inline policy every role carries.
pub const INLINE_POLICY_NAME: &str = "eventdriven";

fn iam_tags(tags: &Tags) -> Result<Vec<Tag>, AwsError> {
    tags.iter()
        .map(|(key, value)| Ok(Tag::builder().key(key).value(value).build()?))
        .collect()
}

/// Creates the role with its trust policy; returns its ARN. [`put_policy`] then grants it.
async fn create(
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

/// Who may assume a role, and what it may do.
pub struct RolePolicies {
    pub trust: serde_json::Value,
    pub grants: serde_json::Value,
}

/// Creates the role named `name` unless `recorded` holds it: its ARN is recorded as soon as it
/// exists, before its policy is granted, so a failure in between leaves it recorded.
pub async fn ensure(
    aws: &AwsClients,
    name: &str,
    policies: &RolePolicies,
    tags: &Tags,
    recorded: &mut Option<String>,
) -> Result<(), AwsError> {
    if recorded.is_none() {
        *recorded = Some(create(aws, name, &policies.trust, tags).await?);
        put_policy(aws, name, &policies.grants).await?;
    }
    Ok(())
}

/// Re-grants the role its policy (an upsert). The trust policy is set only at creation: the
/// emulator refuses `sts:TagSession` in `UpdateAssumeRolePolicy`, though it takes it in
/// `CreateRole`, so a changed trust policy does not yet reach a role created before.
pub async fn apply(aws: &AwsClients, name: &str, policies: &RolePolicies) -> Result<(), AwsError> {
    put_policy(aws, name, &policies.grants).await
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

/// The setting [`apply`] makes, as the role holds it now: its inline policy (`none` when
/// removed).
pub async fn settings(aws: &AwsClients, name: &str) -> Result<Vec<(&'static str, String)>, AwsError> {
    let policy = policy(aws, name).await?;
    Ok(vec![(
        "inline policy",
        policy.map_or_else(|| "none".to_owned(), |p| p.to_string()),
    )])
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

/// The role name at the end of a role ARN (`arn:aws:iam::123:role/NAME`).
pub fn name_of(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
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
