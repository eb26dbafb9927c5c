//! ElastiCache: a single-node Redis replication group, encrypted in transit and at rest, behind
//! an auth token, and the subnet group it is placed in.

use aws_sdk_elasticache::client::Waiters;
use aws_sdk_elasticache::types::Tag;

use crate::aws::{
    AwsClients, AwsError, Tags, WAITER_LIMIT, found, ignore_not_found, sync_tags, wait_until, waiter_failed,
};

fn cache_tags(tags: &Tags) -> Vec<Tag> {
    tags.iter()
        .map(|(key, value)| Tag::builder().key(key).value(value).build())
        .collect()
}

pub async fn create_subnet_group(
    aws: &AwsClients,
    name: &str,
    subnet_ids: &[String],
    tags: &Tags,
) -> Result<(), AwsError> {
    aws.elasticache
        .create_cache_subnet_group()
        .cache_subnet_group_name(name)
        .cache_subnet_group_description("Subnets of an eventdriven pipeline's progress store")
        .set_subnet_ids(Some(subnet_ids.to_vec()))
        .set_tags(Some(cache_tags(tags)))
        .send()
        .await?;
    Ok(())
}

pub async fn subnet_group_exists(aws: &AwsClients, name: &str) -> Result<bool, AwsError> {
    let out = aws
        .elasticache
        .describe_cache_subnet_groups()
        .cache_subnet_group_name(name)
        .send()
        .await;
    Ok(found(out.map_err(AwsError::from))?.is_some())
}

pub async fn delete_subnet_group(aws: &AwsClients, name: &str) -> Result<(), AwsError> {
    let out = aws
        .elasticache
        .delete_cache_subnet_group()
        .cache_subnet_group_name(name)
        .send()
        .await;
    ignore_not_found(out.map(drop).map_err(Into::into))
}

/// What the replication group is made of; all of it is fixed at creation.
#[derive(Clone, Debug)]
pub struct ReplicationGroupSettings<'a> {
    pub id: &'a str,
    pub node_type: &'a str,
    pub subnet_group: &'a str,
    pub security_group_ids: &'a [String],
    pub auth_token: &'a str,
}

/// The replication group's primary endpoint, as the runtime connects to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RedisEndpoint {
    pub address: String,
    pub port: i32,
}

/// Creates a single-node Redis with TLS and AUTH.
pub async fn create_replication_group(
    aws: &AwsClients,
    settings: &ReplicationGroupSettings<'_>,
    tags: &Tags,
) -> Result<(), AwsError> {
    aws.elasticache
        .create_replication_group()
        .replication_group_id(settings.id)
        .replication_group_description("Progress store of an eventdriven pipeline")
        .engine("redis")
        .cache_node_type(settings.node_type)
        .num_cache_clusters(1)
        .cache_subnet_group_name(settings.subnet_group)
        .set_security_group_ids(Some(settings.security_group_ids.to_vec()))
        .transit_encryption_enabled(true)
        .at_rest_encryption_enabled(true)
        .auth_token(settings.auth_token)
        .set_tags(Some(cache_tags(tags)))
        .send()
        .await?;
    Ok(())
}

/// Waits until the group is `available`, and returns its endpoint (which only exists from then).
/// Not the SDK's waiter: that one keeps polling a group in `create-failed` until it times out,
/// where this fails at once with the group's status.
pub async fn wait_available(aws: &AwsClients, id: &str) -> Result<RedisEndpoint, AwsError> {
    wait_until(|| async {
        match read_replication_group(aws, id).await? {
            Some(group) if group.status == "available" => group
                .endpoint
                .map(Some)
                .ok_or_else(|| AwsError::other(format!("replication group {id} has no primary endpoint"))),
            Some(group) if group.status == "creating" || group.status == "modifying" => Ok(None),
            Some(group) => Err(AwsError::other(format!(
                "replication group {id} is {} instead of available",
                group.status
            ))),
            None => Err(AwsError::other(format!(
                "replication group {id} vanished while creating"
            ))),
        }
    })
    .await
}

#[derive(Clone, Debug)]
pub struct ReplicationGroupInfo {
    pub node_type: Option<String>,
    pub status: String,
    pub endpoint: Option<RedisEndpoint>,
}

pub async fn read_replication_group(aws: &AwsClients, id: &str) -> Result<Option<ReplicationGroupInfo>, AwsError> {
    let out = aws
        .elasticache
        .describe_replication_groups()
        .replication_group_id(id)
        .send()
        .await;
    let Some(out) = found(out.map_err(AwsError::from))? else {
        return Ok(None);
    };
    Ok(out.replication_groups().first().map(|group| ReplicationGroupInfo {
        node_type: group.cache_node_type().map(str::to_owned),
        status: group.status().unwrap_or_default().to_owned(),
        endpoint: group
            .node_groups()
            .first()
            .and_then(|ng| ng.primary_endpoint())
            .and_then(|e| {
                Some(RedisEndpoint {
                    address: e.address()?.to_owned(),
                    port: e.port()?,
                })
            }),
    }))
}

/// Sets a new auth token, for when the secret holding the old one was lost.
pub async fn set_auth_token(aws: &AwsClients, id: &str, token: &str) -> Result<(), AwsError> {
    aws.elasticache
        .modify_replication_group()
        .replication_group_id(id)
        .auth_token(token)
        .auth_token_update_strategy(aws_sdk_elasticache::types::AuthTokenUpdateStrategyType::Set)
        .apply_immediately(true)
        .send()
        .await?;
    Ok(())
}

pub async fn put_tags(aws: &AwsClients, arn: &str, tags: &Tags) -> Result<(), AwsError> {
    let out = aws
        .elasticache
        .list_tags_for_resource()
        .resource_name(arn)
        .send()
        .await?;
    let untag = |stale| async move {
        let request = aws.elasticache.remove_tags_from_resource().resource_name(arn);
        request.set_tag_keys(Some(stale)).send().await?;
        Ok(())
    };
    let tag = || async {
        let request = aws.elasticache.add_tags_to_resource().resource_name(arn);
        request.set_tags(Some(cache_tags(tags))).send().await?;
        Ok(())
    };
    sync_tags(out.tag_list().iter().filter_map(|t| t.key()), tags, untag, tag).await
}

/// Deletes the group and waits until it is gone: its subnet group stays in use until then.
pub async fn delete_replication_group(aws: &AwsClients, id: &str) -> Result<(), AwsError> {
    let out = aws
        .elasticache
        .delete_replication_group()
        .replication_group_id(id)
        .send()
        .await;
    if let Err(err) = out.map(drop).map_err(AwsError::from) {
        // A group already being deleted reports an invalid state; waiting covers it.
        if !err.is_not_found() && !err.has_code("InvalidReplicationGroupState") {
            return Err(err);
        }
    }
    aws.elasticache
        .wait_until_replication_group_deleted()
        .replication_group_id(id)
        .wait(WAITER_LIMIT)
        .await
        .map_err(waiter_failed)?;
    Ok(())
}
