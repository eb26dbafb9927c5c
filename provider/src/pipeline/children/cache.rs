//! The progress store: the ElastiCache Redis replication group holding run progress, and its
//! subnet group in the cluster's subnets.

use async_trait::async_trait;

use crate::adapters::{auth_secret, cache};
use crate::aws::AwsError;
use crate::lifecycle::Child;
use crate::pipeline::plan::{Deployment, Pipeline, Teardown};
use crate::pipeline::state::{AuthToken, Children};

/// The URL the runtime reaches the progress store at: TLS (`rediss`) to its primary endpoint.
pub fn redis_url(endpoint: &cache::RedisEndpoint) -> String {
    format!("rediss://{}:{}", endpoint.address, endpoint.port)
}

/// The subnets the progress store is placed in: the cluster's.
pub struct SubnetGroup;

#[async_trait]
impl Child<Pipeline> for SubnetGroup {
    fn label(&self) -> &'static str {
        "ElastiCache subnet group"
    }

    fn name(&self, plan: &Deployment) -> String {
        plan.names().cache_subnet_group()
    }

    fn recorded<'c>(&self, children: &'c mut Children) -> &'c mut Option<String> {
        &mut children.cache_subnet_group_name
    }

    async fn ensure(&self, plan: &Deployment, children: &mut Children) -> Result<(), AwsError> {
        if children.cache_subnet_group_name.is_none() {
            let name = self.name(plan);
            cache::create_subnet_group(&plan.aws, &name, &plan.cluster.subnet_ids, &plan.tags).await?;
            children.cache_subnet_group_name = Some(name);
        }
        Ok(())
    }

    async fn refresh(&self, scope: &Teardown, id: &str, _children: &mut Children) -> Result<bool, AwsError> {
        cache::subnet_group_exists(&scope.aws, id).await
    }

    async fn delete(&self, scope: &Teardown, id: &str, _children: &Children) -> Result<(), AwsError> {
        cache::delete_subnet_group(&scope.aws, id).await
    }
}

/// The progress store: one Redis node, encrypted in transit and at rest, behind the token in
/// the auth secret (handed over when the secret was just created, else read from it). Its
/// endpoint is recorded once it is available.
pub struct ReplicationGroup;

#[async_trait]
impl Child<Pipeline> for ReplicationGroup {
    fn label(&self) -> &'static str {
        "ElastiCache replication group"
    }

    fn name(&self, plan: &Deployment) -> String {
        plan.names().replication_group_id()
    }

    fn recorded<'c>(&self, children: &'c mut Children) -> &'c mut Option<String> {
        &mut children.replication_group_id
    }

    async fn ensure(&self, plan: &Deployment, children: &mut Children) -> Result<(), AwsError> {
        let (aws, id) = (&plan.aws, self.name(plan));
        let new_token = children.new_auth_token.take();
        if children.replication_group_id.is_none() {
            let token = match new_token {
                Some(AuthToken(token)) => token,
                None => {
                    let secret = children.redis_auth_secret_arn.as_deref().unwrap_or_default();
                    auth_secret::token(aws, secret)
                        .await?
                        .ok_or_else(|| AwsError::other(format!("the secret {secret} has no value")))?
                }
            };
            let security_group_ids = plan.security_groups(children);
            let settings = cache::ReplicationGroupSettings {
                id: &id,
                node_type: &plan.spec.redis_node_type,
                subnet_group: children.cache_subnet_group_name.as_deref().unwrap_or_default(),
                security_group_ids: &security_group_ids,
                auth_token: &token,
            };
            cache::create_replication_group(aws, &settings, &plan.tags).await?;
            children.replication_group_id = Some(id.clone());
        } else if let Some(AuthToken(token)) = new_token {
            // The secret was re-created: the group must accept its token from now on.
            cache::set_auth_token(aws, &id, &token).await?;
        }
        if children.redis_url.is_none() {
            let endpoint = cache::wait_available(aws, &id).await?;
            children.redis_url = Some(redis_url(&endpoint));
        }
        Ok(())
    }

    async fn tag(&self, plan: &Deployment, _id: &str) -> Result<(), AwsError> {
        cache::put_tags(&plan.aws, &plan.names().replication_group_arn(), &plan.tags).await
    }

    async fn refresh(&self, scope: &Teardown, id: &str, _children: &mut Children) -> Result<bool, AwsError> {
        Ok(cache::read_replication_group(&scope.aws, id).await?.is_some())
    }

    async fn delete(&self, scope: &Teardown, id: &str, _children: &Children) -> Result<(), AwsError> {
        cache::delete_replication_group(&scope.aws, id).await
    }

    fn forget(&self, children: &mut Children) {
        children.replication_group_id = None;
        children.redis_url = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_progress_store_is_reached_over_tls_at_its_primary_endpoint() {
        let endpoint = cache::RedisEndpoint {
            address: "master.eventdriven-orders.abc123.euw1.cache.amazonaws.com".into(),
            port: 6379,
        };
        assert_eq!(
            redis_url(&endpoint),
            "rediss://master.eventdriven-orders.abc123.euw1.cache.amazonaws.com:6379"
        );
    }

    #[test]
    fn forgetting_the_replication_group_forgets_its_url() {
        let mut children = Children {
            replication_group_id: Some("eventdriven-orders".into()),
            redis_url: Some("rediss://host:6379".into()),
            cache_subnet_group_name: Some("eventdriven-orders".into()),
            ..Children::default()
        };
        ReplicationGroup.forget(&mut children);
        assert_eq!(children.replication_group_id, None);
        assert_eq!(children.redis_url, None);
        assert_eq!(children.cache_subnet_group_name, Some("eventdriven-orders".into()));
    }
}
