//! S3 buckets: the pipeline's (input objects land here, results are written back) and a
//! workflow's (intermediate results of its listeners).

use aws_sdk_s3::types::{
    AbortIncompleteMultipartUpload, BucketLifecycleConfiguration, BucketLocationConstraint, CreateBucketConfiguration,
    Delete, EventBridgeConfiguration, ExpirationStatus, LifecycleExpiration, LifecycleRule, LifecycleRuleFilter,
    NotificationConfiguration, ObjectIdentifier, PublicAccessBlockConfiguration, ServerSideEncryption,
    ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration, ServerSideEncryptionRule, Tag, Tagging,
};

use eventdriven_core::contract::{RUNS_EXPIRATION_DAYS, RUNS_PREFIX};
use eventdriven_core::iam;

use crate::aws::{AwsClients, AwsError, Tags, found, ignore_not_found};
use async_trait::async_trait;

use crate::lifecycle::Child;
use crate::pipeline::plan::{Deployment, Pipeline, Teardown};
use crate::pipeline::state::Children;
use crate::workflow::plan::{Workflow, WorkflowPlan, WorkflowScope};
use crate::workflow::state::WorkflowChildren;

/// Creates the bucket; [`configure`] then makes it what the pipeline needs.
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
/// its events to EventBridge (the pipeline's trigger). Every call is an idempotent put, so this
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

/// Expires what the pipeline's runs leave under the runs prefix (chunk lists, a Distributed
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
async fn holds_objects(aws: &AwsClients, bucket: &str) -> Result<bool, AwsError> {
    let listed = aws.s3.list_object_versions().bucket(bucket).max_keys(1).send().await;
    Ok(found(listed.map_err(AwsError::from))?
        .is_some_and(|l| !l.versions().is_empty() || !l.delete_markers().is_empty()))
}

/// The pipeline's bucket: input objects land here, results are written back.
pub struct Bucket;

#[async_trait]
impl Child<Pipeline> for Bucket {
    fn label(&self) -> &'static str {
        "S3 bucket"
    }

    fn name(&self, plan: &Deployment) -> String {
        plan.names().bucket()
    }

    fn recorded<'c>(&self, children: &'c mut Children) -> &'c mut Option<String> {
        &mut children.bucket
    }

    async fn ensure(&self, plan: &Deployment, children: &mut Children) -> Result<(), AwsError> {
        if children.bucket.is_none() {
            let name = self.name(plan);
            create(&plan.aws, &name).await?;
            children.bucket = Some(name.clone());
            configure(&plan.aws, &name, &iam::bucket_policy(&plan.names())).await?;
            expire_run_objects(&plan.aws, &name).await?;
            put_tags(&plan.aws, &name, &plan.tags).await?;
        }
        Ok(())
    }

    async fn apply_settings(&self, plan: &Deployment, _children: &mut Children) -> Result<(), AwsError> {
        let name = self.name(plan);
        configure(&plan.aws, &name, &iam::bucket_policy(&plan.names())).await?;
        expire_run_objects(&plan.aws, &name).await
    }

    async fn tag(&self, plan: &Deployment, id: &str) -> Result<(), AwsError> {
        put_tags(&plan.aws, id, &plan.tags).await
    }

    async fn refresh(&self, scope: &Teardown, id: &str, _children: &mut Children) -> Result<bool, AwsError> {
        exists(&scope.aws, id).await
    }

    async fn may_delete(&self, scope: &Teardown, id: &str) -> Result<(), AwsError> {
        scope.may_lose("S3 bucket", holds_objects(&scope.aws, id).await?, "objects")
    }

    async fn delete(&self, scope: &Teardown, id: &str, _children: &Children) -> Result<(), AwsError> {
        delete(&scope.aws, id).await
    }
}

/// A workflow's bucket, when it has one: private, encrypted, TLS only.
pub struct WorkflowBucket;

fn workflow_bucket_policy(plan: &WorkflowPlan) -> serde_json::Value {
    iam::tls_only_bucket_policy(&plan.names().bucket_arn())
}

#[async_trait]
impl Child<Workflow> for WorkflowBucket {
    fn label(&self) -> &'static str {
        "S3 bucket"
    }

    fn name(&self, plan: &WorkflowPlan) -> String {
        plan.names().bucket()
    }

    fn recorded<'c>(&self, children: &'c mut WorkflowChildren) -> &'c mut Option<String> {
        &mut children.bucket_name
    }

    async fn ensure(&self, plan: &WorkflowPlan, children: &mut WorkflowChildren) -> Result<(), AwsError> {
        if children.bucket_name.is_none() && plan.spec.bucket {
            let name = self.name(plan);
            create(&plan.aws, &name).await?;
            children.bucket_name = Some(name.clone());
            configure(&plan.aws, &name, &workflow_bucket_policy(plan)).await?;
            put_tags(&plan.aws, &name, &plan.tags).await?;
        }
        Ok(())
    }

    async fn apply_settings(&self, plan: &WorkflowPlan, children: &mut WorkflowChildren) -> Result<(), AwsError> {
        match &children.bucket_name {
            Some(name) => configure(&plan.aws, name, &workflow_bucket_policy(plan)).await,
            None => Ok(()),
        }
    }

    async fn tag(&self, plan: &WorkflowPlan, id: &str) -> Result<(), AwsError> {
        put_tags(&plan.aws, id, &plan.tags).await
    }

    async fn refresh(
        &self,
        scope: &WorkflowScope,
        id: &str,
        _children: &mut WorkflowChildren,
    ) -> Result<bool, AwsError> {
        exists(&scope.aws, id).await
    }

    async fn may_delete(&self, scope: &WorkflowScope, id: &str) -> Result<(), AwsError> {
        scope.may_lose("S3 bucket", holds_objects(&scope.aws, id).await?, "objects")
    }

    async fn delete(&self, scope: &WorkflowScope, id: &str, _children: &WorkflowChildren) -> Result<(), AwsError> {
        delete(&scope.aws, id).await
    }
}
