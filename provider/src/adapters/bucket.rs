//! S3 buckets: created in the clients' region, then made private, reachable only over TLS (the
//! policy given), encrypted at rest and sending their events to EventBridge; run objects expire;
//! emptied of every object version before deletion.

use aws_sdk_s3::types::{
    AbortIncompleteMultipartUpload, BucketLifecycleConfiguration, BucketLocationConstraint, CreateBucketConfiguration,
    Delete, EventBridgeConfiguration, ExpirationStatus, LifecycleExpiration, LifecycleRule, LifecycleRuleFilter,
    NotificationConfiguration, ObjectIdentifier, PublicAccessBlockConfiguration, ServerSideEncryption,
    ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration, ServerSideEncryptionRule, Tag, Tagging,
};

use eventdriven_core::contract::{RUNS_EXPIRATION_DAYS, RUNS_PREFIX};

use crate::aws::{AwsClients, AwsError, Tags, found, ignore_not_found};

/// Creates the bucket; [`configure`] then makes it private.
pub async fn create(aws: &AwsClients, bucket: &str) -> Result<(), AwsError> {
    let mut request = aws.s3.create_bucket().bucket(bucket);
    // us-east-1 is the one region that rejects an explicit location constraint.
    if aws.region != "us-east-1" {
        request = request.create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(aws.region.as_str()))
                .build(),
        );
    }
    request.send().await?;
    Ok(())
}

/// Makes the bucket private, reachable only over TLS (`policy`), encrypted at rest and sending
/// its events to EventBridge (where rules can start runs on them). Every call is an idempotent put, so this
/// also heals drift.
pub async fn configure(aws: &AwsClients, bucket: &str, policy: &serde_json::Value) -> Result<(), AwsError> {
    aws.s3
        .put_public_access_block()
        .bucket(bucket)
        .public_access_block_configuration(
            PublicAccessBlockConfiguration::builder()
                .block_public_acls(true)
                .ignore_public_acls(true)
                .block_public_policy(true)
                .restrict_public_buckets(true)
                .build(),
        )
        .send()
        .await?;
    aws.s3
        .put_bucket_policy()
        .bucket(bucket)
        .policy(policy.to_string())
        .send()
        .await?;
    let sse_by_default = ServerSideEncryptionByDefault::builder()
        .sse_algorithm(ServerSideEncryption::Aes256)
        .build()?;
    aws.s3
        .put_bucket_encryption()
        .bucket(bucket)
        .server_side_encryption_configuration(
            ServerSideEncryptionConfiguration::builder()
                .rules(
                    ServerSideEncryptionRule::builder()
                        .apply_server_side_encryption_by_default(sse_by_default)
                        .build(),
                )
                .build()?,
        )
        .send()
        .await?;
    aws.s3
        .put_bucket_notification_configuration()
        .bucket(bucket)
        .notification_configuration(
            NotificationConfiguration::builder()
                .event_bridge_configuration(EventBridgeConfiguration::builder().build())
                .build(),
        )
        .send()
        .await?;
    Ok(())
}

/// The settings [`configure`] makes that hold no name of the pipeline's, as the bucket holds
/// them now: its public access block and its default encryption (`none` when removed).
pub async fn settings(aws: &AwsClients, bucket: &str) -> Result<Vec<(&'static str, String)>, AwsError> {
    let block = aws.s3.get_public_access_block().bucket(bucket).send().await;
    let block = match block.map_err(AwsError::from) {
        Ok(out) => out.public_access_block_configuration.map(|c| {
            format!(
                "block_public_acls={:?} ignore_public_acls={:?} block_public_policy={:?} restrict_public_buckets={:?}",
                c.block_public_acls, c.ignore_public_acls, c.block_public_policy, c.restrict_public_buckets
            )
        }),
        Err(error) if error.has_code("NoSuchPublicAccessBlockConfiguration") => None,
        Err(error) => return Err(error),
    };
    let encryption = aws.s3.get_bucket_encryption().bucket(bucket).send().await;
    let encryption = match encryption.map_err(AwsError::from) {
        Ok(out) => out.server_side_encryption_configuration.map(|c| {
            let defaults = c
                .rules()
                .iter()
                .filter_map(|rule| rule.apply_server_side_encryption_by_default());
            let algorithms = defaults.map(|d| format!("{} {:?}", d.sse_algorithm().as_str(), d.kms_master_key_id()));
            algorithms.collect::<Vec<_>>().join(", ")
        }),
        Err(error) if error.has_code("ServerSideEncryptionConfigurationNotFoundError") => None,
        Err(error) => return Err(error),
    };
    let or_none = |setting: Option<String>| setting.unwrap_or_else(|| "none".to_owned());
    Ok(vec![
        ("public access block", or_none(block)),
        ("encryption", or_none(encryption)),
    ])
}

/// Expires what runs leave under the runs prefix (chunk lists, a Distributed
/// Map's results) after [`RUNS_EXPIRATION_DAYS`], and uploads there left incomplete after a
/// day. An idempotent put, so it also heals drift.
pub async fn expire_run_objects(aws: &AwsClients, bucket: &str) -> Result<(), AwsError> {
    let rule = LifecycleRule::builder()
        .id("eventdriven-expire-run-objects")
        .status(ExpirationStatus::Enabled)
        .filter(LifecycleRuleFilter::builder().prefix(RUNS_PREFIX).build())
        .expiration(LifecycleExpiration::builder().days(RUNS_EXPIRATION_DAYS).build())
        .abort_incomplete_multipart_upload(
            AbortIncompleteMultipartUpload::builder()
                .days_after_initiation(1)
                .build(),
        )
        .build()?;
    aws.s3
        .put_bucket_lifecycle_configuration()
        .bucket(bucket)
        .lifecycle_configuration(BucketLifecycleConfiguration::builder().rules(rule).build()?)
        .send()
        .await?;
    Ok(())
}

pub async fn put_tags(aws: &AwsClients, bucket: &str, tags: &Tags) -> Result<(), AwsError> {
    if tags.is_empty() {
        return ignore_not_found(
            aws.s3
                .delete_bucket_tagging()
                .bucket(bucket)
                .send()
                .await
                .map(drop)
                .map_err(Into::into),
        );
    }
    let tag_set = tags
        .iter()
        .map(|(key, value)| Tag::builder().key(key).value(value).build())
        .collect::<Result<Vec<_>, _>>()?;
    aws.s3
        .put_bucket_tagging()
        .bucket(bucket)
        .tagging(Tagging::builder().set_tag_set(Some(tag_set)).build()?)
        .send()
        .await?;
    Ok(())
}

/// Whether the bucket exists.
pub async fn exists(aws: &AwsClients, bucket: &str) -> Result<bool, AwsError> {
    let head = aws.s3.head_bucket().bucket(bucket).send().await.map_err(AwsError::from);
    Ok(found(head)?.is_some())
}

/// Empties the bucket (every object version) and deletes it; a bucket already gone is fine.
pub async fn delete(aws: &AwsClients, bucket: &str) -> Result<(), AwsError> {
    loop {
        let listed = aws.s3.list_object_versions().bucket(bucket).send().await;
        let listed = match found(listed.map_err(AwsError::from))? {
            Some(listed) => listed,
            None => return Ok(()),
        };
        let objects = listed
            .versions()
            .iter()
            .map(|v| (v.key(), v.version_id()))
            .chain(listed.delete_markers().iter().map(|m| (m.key(), m.version_id())))
            .filter_map(|(key, version)| {
                key.map(|key| {
                    ObjectIdentifier::builder()
                        .key(key)
                        .set_version_id(version.map(Into::into))
                        .build()
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        if objects.is_empty() {
            break;
        }
        aws.s3
            .delete_objects()
            .bucket(bucket)
            .delete(Delete::builder().set_objects(Some(objects)).quiet(true).build()?)
            .send()
            .await?;
    }
    ignore_not_found(
        aws.s3
            .delete_bucket()
            .bucket(bucket)
            .send()
            .await
            .map(drop)
            .map_err(Into::into),
    )
}

/// Whether the bucket holds any object version or delete marker.
pub async fn holds_objects(aws: &AwsClients, bucket: &str) -> Result<bool, AwsError> {
    let listed = aws.s3.list_object_versions().bucket(bucket).max_keys(1).send().await;
    Ok(found(listed.map_err(AwsError::from))?
        .is_some_and(|l| !l.versions().is_empty() || !l.delete_markers().is_empty()))
}
