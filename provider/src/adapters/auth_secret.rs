//! Secrets Manager secrets holding a Redis auth token: the token is generated here from the OS's
//! secure generator, stored on create and read back by ARN, and appears nowhere else.

use aws_sdk_secretsmanager::types::Tag;

use crate::aws::{AwsClients, AwsError, Tags, found, ignore_not_found, sync_tags};

/// Length of a generated token: ElastiCache accepts 16 to 128 printable characters.
const TOKEN_LENGTH: usize = 48;
/// Characters a token is drawn from; ElastiCache forbids `@`, `"` and `/` among others.
const TOKEN_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// A fresh random auth token from the OS's secure generator.
pub fn generate_token() -> Result<String, AwsError> {
    let mut bytes = [0u8; TOKEN_LENGTH];
    getrandom::fill(&mut bytes).map_err(|e| AwsError::other(format!("no randomness: {e}")))?;
    // 256 = 4 * 62 + 8: the modulo slightly favours 8 characters, which costs a 48-character
    // token a fraction of a bit per character out of almost six.
    Ok(bytes
        .iter()
        .map(|b| TOKEN_ALPHABET[*b as usize % TOKEN_ALPHABET.len()] as char)
        .collect())
}

fn secret_tags(tags: &Tags) -> Vec<Tag> {
    tags.iter()
        .map(|(key, value)| Tag::builder().key(key).value(value).build())
        .collect()
}

/// Stores `token` under `name`; returns the secret's ARN.
pub async fn create(aws: &AwsClients, name: &str, token: &str, tags: &Tags) -> Result<String, AwsError> {
    let out = aws
        .secretsmanager
        .create_secret()
        .name(name)
        .description("Redis auth token of an eventdriven pipeline")
        .secret_string(token)
        .set_tags(Some(secret_tags(tags)))
        .send()
        .await?;
    out.arn.ok_or_else(|| AwsError::other("CreateSecret returned no ARN"))
}

/// Reads the stored token back, to hand the same token to a re-created replication group.
pub async fn token(aws: &AwsClients, secret_arn: &str) -> Result<Option<String>, AwsError> {
    let out = aws.secretsmanager.get_secret_value().secret_id(secret_arn).send().await;
    Ok(found(out.map_err(AwsError::from))?.and_then(|out| out.secret_string))
}

/// The ARN of the secret named `name`, if it exists.
pub async fn find(aws: &AwsClients, name: &str) -> Result<Option<String>, AwsError> {
    let out = aws.secretsmanager.describe_secret().secret_id(name).send().await;
    Ok(found(out.map_err(AwsError::from))?
        .filter(|out| out.deleted_date.is_none())
        .and_then(|out| out.arn))
}

/// Whether the secret still exists (a secret scheduled for deletion counts as gone).
pub async fn exists(aws: &AwsClients, secret_arn: &str) -> Result<bool, AwsError> {
    let out = aws.secretsmanager.describe_secret().secret_id(secret_arn).send().await;
    Ok(found(out.map_err(AwsError::from))?.is_some_and(|out| out.deleted_date.is_none()))
}

pub async fn put_tags(aws: &AwsClients, secret_arn: &str, tags: &Tags) -> Result<(), AwsError> {
    let out = aws
        .secretsmanager
        .describe_secret()
        .secret_id(secret_arn)
        .send()
        .await?;
    let untag = |stale| async move {
        let request = aws.secretsmanager.untag_resource().secret_id(secret_arn);
        request.set_tag_keys(Some(stale)).send().await?;
        Ok(())
    };
    let tag = || async {
        let request = aws.secretsmanager.tag_resource().secret_id(secret_arn);
        request.set_tags(Some(secret_tags(tags))).send().await?;
        Ok(())
    };
    sync_tags(out.tags().iter().filter_map(|t| t.key()), tags, untag, tag).await
}

/// Deletes without the recovery window, so an owner re-created under the same name can
/// create its secret again at once.
pub async fn delete(aws: &AwsClients, secret_arn: &str) -> Result<(), AwsError> {
    let deleted = aws
        .secretsmanager
        .delete_secret()
        .secret_id(secret_arn)
        .force_delete_without_recovery(true)
        .send()
        .await;
    ignore_not_found(deleted.map(drop).map_err(Into::into))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_enough_use_allowed_characters_and_differ() {
        let first = generate_token().unwrap();
        let second = generate_token().unwrap();
        assert_eq!(first.len(), TOKEN_LENGTH);
        assert!(first.bytes().all(|b| TOKEN_ALPHABET.contains(&b)));
        assert_ne!(first, second);
    }
}
