//! The progress store in Redis: one SET per run.

use super::set_key;
use anyhow::{Context, Result};
use redis::AsyncCommands;
use redis::aio::MultiplexedConnection;

#[derive(Clone)]
pub struct RedisProgress {
    connection: MultiplexedConnection,
}

impl RedisProgress {
    pub async fn connect(url: &str, auth_token: Option<String>) -> Result<Self> {
        let mut info: redis::ConnectionInfo = url
            .into_connection_info()
            .with_context(|| format!("invalid Redis URL {}", redacted(url)))?;
        if let Some(token) = auth_token {
            let settings = info.redis_settings().clone().set_password(token);
            info = info.set_redis_settings(settings);
        }
        let client = redis::Client::open(info).with_context(|| format!("Redis at {}", redacted(url)))?;
        let connection = client
            .get_multiplexed_async_connection()
            .await
            .with_context(|| format!("connecting to Redis at {}", redacted(url)))?;
        Ok(RedisProgress { connection })
    }

    pub async fn replace(&self, run: &str, chunks: &[String]) -> Result<()> {
        let key = set_key(run);
        let mut pipe = redis::pipe();
        pipe.atomic().del(&key).ignore();
        if !chunks.is_empty() {
            pipe.sadd(&key, chunks).ignore();
        }
        let () = pipe.query_async(&mut self.connection.clone()).await?;
        Ok(())
    }

    pub async fn add(&self, run: &str, chunks: &[String]) -> Result<()> {
        if chunks.is_empty() {
            return Ok(());
        }
        let _: u64 = self.connection.clone().sadd(set_key(run), chunks).await?;
        Ok(())
    }

    pub async fn pending(&self, run: &str) -> Result<Vec<String>> {
        Ok(self.connection.clone().smembers(set_key(run)).await?)
    }

    pub async fn pending_count(&self, run: &str) -> Result<u64> {
        Ok(self.connection.clone().scard(set_key(run)).await?)
    }

    pub async fn complete(&self, run: &str, chunk: &str) -> Result<()> {
        let _: u64 = self.connection.clone().srem(set_key(run), chunk).await?;
        Ok(())
    }
}

use redis::IntoConnectionInfo;

/// The URL with any password replaced, for messages.
fn redacted(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://***@{}", &url[..scheme], &url[at + 1..])
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(redacted("rediss://:s3cret@host:6379"), "rediss://***@host:6379");
        assert_eq!(redacted("redis://127.0.0.1:6379"), "redis://127.0.0.1:6379");
    }
}
