//! The progress store in Redis: one SET per run.
//!
//! The connection outlives a dropped TCP connection (a failover, an idle timeout, a restarted
//! node): the connection manager reconnects, and a command that failed on the dropped
//! connection is sent again, which every command here allows (they are set operations).

use super::set_key;
use anyhow::{Context, Result, bail};
use backon::{ExponentialBuilder, Retryable};
use eventdriven_core::contract::{self, ChunkRef};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Cmd, FromRedisValue, RedisError, RedisResult};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use std::future::Future;
use std::path::Path;
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
    /// Connects to `url` with `auth_token` as its password; over TLS, the server's certificate
    /// is verified as [`client`] says.
    pub async fn connect(url: &str, auth_token: Option<String>, ca_file: Option<&Path>) -> Result<Self> {
        let client = client(url, auth_token, ca_file)?;
        // Reconnecting tries a few times within about two seconds: enough for a failover's
        // blip, and a wrong token or address still fails the step at once, with its reason.
        let config = ConnectionManagerConfig::new()
            .set_min_delay(Duration::from_millis(100))
            .set_max_delay(Duration::from_secs(1))
            .set_number_of_retries(3);
        let connection = ConnectionManager::new_with_config(client, config)
            .await
            .with_context(|| format!("connecting to Redis at {}", redacted(url)))?;
        let store = RedisProgress { connection };
        // A server that wants a token accepts the connection without one and refuses every
        // command: asked once here, the step fails at once with the server's reason.
        let _: String = store
            .query(redis::cmd("PING"))
            .await
            .with_context(|| format!("connecting to Redis at {}", redacted(url)))?;
        Ok(store)
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

/// A client of the server at `url`, with `auth_token` as its password. Over TLS (`rediss://`)
/// the server's certificate is always verified: against the CAs of `ca_file` (PEM) when given,
/// else the system's roots, which ElastiCache's certificates chain to. Nothing turns the check
/// off: the redis crate refuses a `#insecure` URL, built without its insecure feature.
pub fn client(url: &str, auth_token: Option<String>, ca_file: Option<&Path>) -> Result<redis::Client> {
    let mut info: redis::ConnectionInfo = url
        .into_connection_info()
        .with_context(|| format!("invalid Redis URL {}", redacted(url)))?;
    if let Some(token) = auth_token {
        let settings = info.redis_settings().clone().set_password(token);
        info = info.set_redis_settings(settings);
    }
    let tls = matches!(info.addr(), redis::ConnectionAddr::TcpTls { .. });
    if tls {
        install_crypto_provider();
    }
    let client = match ca_file {
        None => redis::Client::open(info),
        Some(path) if !tls => bail!(
            "{} names a CA ({}) for TLS, but the Redis URL {} is not rediss://",
            contract::REDIS_CA_FILE,
            path.display(),
            redacted(url)
        ),
        Some(path) => {
            let pem = std::fs::read(path).with_context(|| format!("reading the Redis CA file {}", path.display()))?;
            let certificates = CertificateDer::pem_slice_iter(&pem)
                .collect::<Result<Vec<_>, _>>()
                .with_context(|| format!("the Redis CA file {}", path.display()))?;
            if certificates.is_empty() {
                bail!("the Redis CA file {} holds no PEM certificate", path.display());
            }
            redis::Client::build_with_tls(
                info,
                redis::TlsCertificates {
                    client_tls: None,
                    root_cert: Some(pem),
                },
            )
        }
    };
    client.with_context(|| format!("Redis at {}", redacted(url)))
}

/// rustls picks a crypto provider by itself only when one is compiled in; a build that also links
/// ring (the Terraform provider's, in a workspace build) has two. The runtime uses aws-lc-rs, the
/// AWS SDK's, for the process: installed once, before the first TLS connection.
fn install_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Another thread may have installed it in between: either way there is one.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
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
