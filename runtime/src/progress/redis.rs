//! The progress store in Redis: one SET per run.

use super::set_key;
use anyhow::{Context, Result};
use eventdriven_core::contract::ChunkRef;
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

    pub async fn replace(&self, run: &str, chunks: &[ChunkRef]) -> Result<()> {
        let key = set_key(run);
        let chunks = as_members(chunks);
        let mut pipe = redis::pipe();
        pipe.atomic().del(&key).ignore();
        if !chunks.is_empty() {
            pipe.sadd(&key, chunks).ignore();
        }
        let () = pipe.query_async(&mut self.connection.clone()).await?;
        Ok(())
    }

    pub async fn add(&self, run: &str, chunks: &[ChunkRef]) -> Result<()> {
        if chunks.is_empty() {
            return Ok(());
        }
        let _: u64 = self.connection.clone().sadd(set_key(run), as_members(chunks)).await?;
        Ok(())
    }

    /// The set's members, each parsed: a member that is no chunk reference is an error naming
    /// the key, never skipped.
    pub async fn pending(&self, run: &str) -> Result<Vec<ChunkRef>> {
        let key = set_key(run);
        let members: Vec<String> = self.connection.clone().smembers(&key).await?;
        members
            .into_iter()
            .map(|member| member.parse().with_context(|| format!("Redis set {key}")))
            .collect()
    }

    pub async fn pending_count(&self, run: &str) -> Result<u64> {
        Ok(self.connection.clone().scard(set_key(run)).await?)
    }

    pub async fn complete(&self, run: &str, chunk: ChunkRef) -> Result<()> {
        let _: u64 = self.connection.clone().srem(set_key(run), chunk.to_string()).await?;
        Ok(())
    }
}

use redis::IntoConnectionInfo;

fn as_members(chunks: &[ChunkRef]) -> Vec<String> {
    chunks.iter().map(ChunkRef::to_string).collect()
}

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
