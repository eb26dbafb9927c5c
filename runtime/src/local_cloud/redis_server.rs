//! The local stand-in for the pipelines' ElastiCache replication groups: one `redis-server` on
//! a loopback port, owned by `local-cloud`.
//!
//! Jobs and the Lambda read their auth token from the deployed secret, as on AWS; each
//! pipeline's token is added as a password of the default user (`ACL SETUSER default >token`).
//! TLS is not served locally: `rediss://` URLs are rewritten to `redis://127.0.0.1:PORT`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};

pub struct RedisServer {
    child: tokio::process::Child,
    pub port: u16,
    password: String,
    pid_file: PathBuf,
}

impl RedisServer {
    /// Starts `redis-server` on a free port, first stopping one a killed `local-cloud` left.
    pub async fn start(state_dir: &Path) -> Result<RedisServer> {
        let pid_file = state_dir.join("redis.pid");
        if let Ok(pid) = std::fs::read_to_string(&pid_file) {
            let pid = pid.trim();
            // Only a redis-server: after a reboot the number may belong to anything.
            let command = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            if String::from_utf8_lossy(&command).contains("redis-server") {
                let _ = std::process::Command::new("kill").arg(pid).status();
            }
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let password = uuid::Uuid::new_v4().simple().to_string();
        let child = tokio::process::Command::new("redis-server")
            .args([
                "--bind",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .args(["--requirepass", &password])
            .stdout(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context("starting redis-server (Debian package redis-server) for the pipelines' progress sets")?;
        if let Some(pid) = child.id() {
            std::fs::write(&pid_file, pid.to_string()).with_context(|| format!("writing {}", pid_file.display()))?;
        }
        let server = RedisServer {
            child,
            port,
            password,
            pid_file,
        };
        for _ in 0..100 {
            if server.connection().await.is_ok() {
                return Ok(server);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bail!("redis-server did not answer on 127.0.0.1:{port}")
    }

    /// The URL Jobs and the Lambda use instead of the replication group's.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    async fn connection(&self) -> Result<redis::aio::MultiplexedConnection> {
        let url = format!("redis://:{}@127.0.0.1:{}", self.password, self.port);
        let client = redis::Client::open(url.as_str())?;
        Ok(client.get_multiplexed_async_connection().await?)
    }

    /// Accepts `token` as a password, as the pipeline's replication group does.
    pub async fn allow_token(&self, token: &str) -> Result<()> {
        let mut connection = self.connection().await?;
        redis::cmd("ACL")
            .arg("SETUSER")
            .arg("default")
            .arg(format!(">{token}"))
            .query_async::<()>(&mut connection)
            .await
            .context("adding a pipeline's auth token to the local Redis server")
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        let _ = std::fs::remove_file(&self.pid_file);
    }
}
