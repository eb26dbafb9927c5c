//! The secret holding the Redis auth token. The provider generates the token, hands it to
//! ElastiCache and stores it here only; the runtime reads it by ARN.

use async_trait::async_trait;

use crate::adapters::auth_secret;
use crate::aws::AwsError;
use crate::lifecycle::Child;
use crate::pipeline::plan::{Deployment, Pipeline, Teardown};
use crate::pipeline::state::{AuthToken, Children};

/// The secret holding the progress store's auth token. A new secret's token is handed to the
/// replication group, which takes it at creation or, when it exists already, as its new token.
pub struct AuthSecret;

#[async_trait]
impl Child<Pipeline> for AuthSecret {
    fn label(&self) -> &'static str {
        "Secrets Manager secret"
    }

    fn name(&self, plan: &Deployment) -> String {
        plan.names().redis_auth_secret()
    }

    fn recorded<'c>(&self, children: &'c mut Children) -> &'c mut Option<String> {
        &mut children.redis_auth_secret_arn
    }

    async fn ensure(&self, plan: &Deployment, children: &mut Children) -> Result<(), AwsError> {
        if children.redis_auth_secret_arn.is_none() {
            let token = auth_secret::generate_token()?;
            let arn = auth_secret::create(&plan.aws, &self.name(plan), &token, &plan.tags).await?;
            children.redis_auth_secret_arn = Some(arn);
            children.new_auth_token = Some(AuthToken(token));
        }
        Ok(())
    }

    async fn tag(&self, plan: &Deployment, id: &str) -> Result<(), AwsError> {
        auth_secret::put_tags(&plan.aws, id, &plan.tags).await
    }

    async fn refresh(&self, scope: &Teardown, id: &str, _children: &mut Children) -> Result<bool, AwsError> {
        auth_secret::exists(&scope.aws, id).await
    }

    async fn delete(&self, scope: &Teardown, id: &str, _children: &Children) -> Result<(), AwsError> {
        auth_secret::delete(&scope.aws, id).await
    }
}
