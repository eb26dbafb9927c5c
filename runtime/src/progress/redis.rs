//! The progress store in Redis: one SET per run.
//!
//! The connection outlives a dropped TCP connection (a failover, an idle timeout, a restarted
//! node): the connection manager reconnects, and a command that failed on the dropped
//! connection is sent again, which every command here allows (they are set operations).

use super::set_key;
use anyhow::{Context, Result};
use backon::{ExponentialBuilder, Retryable};
use eventdriven_core::contract::ChunkRef;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Cmd, FromRedisValue, RedisError, RedisResult};
use std::future::Future;
use std::time::Duration;

/// A command that failed on a dropped connection is sent again this often, while the manager
/// reconnects.
const RESEND: ExponentialBuilder = ExponentialBuilder::new()
    .with_min_delay(Duration::from_millis(50))
    .with_max_delay(Duration::from_secs(2))
    .with_max_times(5)
    .with_jitter();

#[derive(Clone)]
pub struct RedisProgress {
    connection: ConnectionManager,
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
        // Reconnecting tries a few times within about two seconds: enough for a failover's
        // blip, and a wrong token or address still fails the step at once, with its reason.
        let config = ConnectionManagerConfig::new()
            .set_min_delay(Duration::from_millis(100))
            .set_max_delay(Duration::from_secs(1))
            .set_number_of_retries(3);
        let connection = ConnectionManager::new_with_config(client, config)
            .await
            .with_context(|| format!("connecting to Redis at {}", redacted(url)))?;
        Ok(RedisProgress { connection })
    }

    /// Runs `command` on the connection, again while it fails because the connection dropped.
    async fn send<T, F, Fut>(&self, command: F) -> RedisResult<T>
    where
        F: Fn(ConnectionManager) -> Fut,
        Fut: Future<Output = RedisResult<T>>,
    {
        let dropped = |e: &RedisError| e.is_io_error() || e.is_connection_dropped() || e.is_connection_refusal();
        (|| command(self.connection.clone())).retry(RESEND).when(dropped).await
    }

    async fn query<T: FromRedisValue>(&self, command: Cmd) -> RedisResult<T> {
        self.send(|mut connection| {
            let command = command.clone();
            async move { command.query_async(&mut connection).await }
        })
        .await
    }

    pub async fn replace(&self, run: &str, chunks: &[ChunkRef]) -> Result<()> {
        let key = set_key(run);
        let chunks = as_members(chunks);
        let mut pipe = redis::pipe();
        pipe.atomic().del(&key).ignore();
        if !chunks.is_empty() {
            pipe.sadd(&key, chunks).ignore();
        }
        let () = self
            .send(|mut c| {
                let pipe = pipe.clone();
                async move { pipe.query_async(&mut c).await }
            })
            .await?;
        Ok(())
    }

    pub async fn add(&self, run: &str, chunks: &[ChunkRef]) -> Result<()> {
        if chunks.is_empty() {
            return Ok(());
        }
        let _: u64 = self.query(Cmd::sadd(set_key(run), as_members(chunks))).await?;
        Ok(())
    }

    /// The set's members, each parsed: a member that is no chunk reference is an error naming
    /// the key, never skipped.
    pub async fn pending(&self, run: &str) -> Result<Vec<ChunkRef>> {
        let key = set_key(run);
        let members: Vec<String> = self.query(Cmd::smembers(&key)).await?;
        members
            .into_iter()
            .map(|member| member.parse().with_context(|| format!("Redis set {key}")))
            .collect()
    }

    pub async fn pending_count(&self, run: &str) -> Result<u64> {
        Ok(self.query(Cmd::scard(set_key(run))).await?)
    }

    pub async fn complete(&self, run: &str, chunk: ChunkRef) -> Result<()> {
        let _: u64 = self.query(Cmd::srem(set_key(run), chunk.to_string())).await?;
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
