//! The Redis auth token, read from Secrets Manager so it never appears in a definition,
//! a manifest, an environment listing or a log.

use anyhow::{Context, Result};

pub async fn redis_auth_token(secret_arn: &str) -> Result<String> {
    let config = crate::sdk::config().await;
    let output = aws_sdk_secretsmanager::Client::new(config)
        .get_secret_value()
        .secret_id(secret_arn)
        .send()
        .await
        .with_context(|| format!("reading the Redis auth token from {secret_arn}"))?;
    output
        .secret_string
        .context("the Redis auth secret has no string value")
}
