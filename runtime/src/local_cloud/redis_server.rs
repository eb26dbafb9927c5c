//! The local stand-in for the pipelines' ElastiCache replication groups: one `redis-server` on
//! a loopback port, owned by `local-cloud`.
//!
//! It serves TLS only, as a replication group with in-transit encryption does: on a certificate
//! for 127.0.0.1 and localhost issued by a CA `local-cloud` creates at each start, under its
//! state directory. Jobs and the Lambda get `REDIS_URL` as `rediss://127.0.0.1:PORT` and the CA
//! through [`contract::REDIS_CA_FILE`], so they connect and verify the server as they do on AWS.
//! They read their auth token from the deployed secret, as on AWS; each pipeline's token is added
//! as a password of the default user (`ACL SETUSER default >token`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use eventdriven_core::contract;

pub struct RedisServer {
    child: tokio::process::Child,
    pub port: u16,
    password: String,
    pid_file: PathBuf,
    tls: TlsFiles,
}

/// A certificate authority and a server certificate it issued, as PEM files.
#[derive(Clone, Debug)]
pub struct TlsFiles {
    /// The CA's certificate: what clients verify the server against.
    pub ca: PathBuf,
    /// The server's certificate, for 127.0.0.1 and localhost.
    pub certificate: PathBuf,
    /// The server certificate's private key (readable by its owner only).
    pub key: PathBuf,
}

impl TlsFiles {
    /// Creates a CA and a server certificate it signs for 127.0.0.1 and localhost, written as
    /// `ca.pem`, `server.pem` and `server.key` under `dir` (absolute paths, so a process started
    /// in another directory finds them).
    pub fn issue(dir: &Path) -> Result<TlsFiles> {
        use rcgen::{
            BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose,
        };
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let dir = std::path::absolute(dir)?;
        let ca_key = KeyPair::generate()?;
        let mut ca = CertificateParams::new(Vec::new())?;
        ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        ca.distinguished_name
            .push(DnType::CommonName, "eventdriven local-cloud Redis CA");
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca = ca.self_signed(&ca_key)?;
        let key = KeyPair::generate()?;
        let mut server = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])?;
        server.distinguished_name.push(DnType::CommonName, "127.0.0.1");
        server.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let server = server.signed_by(&key, &ca, &ca_key)?;
        let files = TlsFiles {
            ca: dir.join("ca.pem"),
            certificate: dir.join("server.pem"),
            key: dir.join("server.key"),
        };
        write_private(&files.key, key.serialize_pem().as_bytes())?;
        std::fs::write(&files.certificate, server.pem())
            .with_context(|| format!("writing {}", files.certificate.display()))?;
        std::fs::write(&files.ca, ca.pem()).with_context(|| format!("writing {}", files.ca.display()))?;
        Ok(files)
    }

    /// `redis-server`'s arguments serving TLS only on `port` with these files: no plain port, and
    /// no client certificate asked for (ElastiCache asks for none).
    pub fn server_args(&self, port: u16) -> Vec<String> {
        let path = |p: &Path| p.to_string_lossy().into_owned();
        vec![
            "--port".into(),
            "0".into(),
            "--tls-port".into(),
            port.to_string(),
            "--tls-cert-file".into(),
            path(&self.certificate),
            "--tls-key-file".into(),
            path(&self.key),
            "--tls-ca-cert-file".into(),
            path(&self.ca),
            "--tls-auth-clients".into(),
            "no".into(),
        ]
    }
}

/// Writes a file only its owner can read, replacing any.
fn write_private(path: &Path, contents: &[u8]) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let _ = std::fs::remove_file(path);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    file.write_all(contents)
        .with_context(|| format!("writing {}", path.display()))
}

impl RedisServer {
    /// Starts `redis-server` with TLS on a free port, first stopping one a killed `local-cloud`
    /// left.
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
        let tls = TlsFiles::issue(&state_dir.join("redis-tls"))?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let password = uuid::Uuid::new_v4().simple().to_string();
        let mut child = tokio::process::Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(tls.server_args(port))
            .args(["--requirepass", &password])
            .stdout(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context("starting redis-server (Debian package redis-server) for the pipelines' progress sets")?;
        if let Some(pid) = child.id() {
            std::fs::write(&pid_file, pid.to_string()).with_context(|| format!("writing {}", pid_file.display()))?;
        }
        let mut last_error = None;
        for _ in 0..100 {
            if let Ok(Some(status)) = child.try_wait() {
                // Debian's redis-server is built with TLS; one built without refuses --tls-port.
                bail!("redis-server exited at start ({status}): does it support TLS (--tls-port)?")
            }
            match connection(&tls.ca, port, &password).await {
                Ok(_) => {
                    return Ok(RedisServer {
                        child,
                        port,
                        password,
                        pid_file,
                        tls,
                    });
                }
                Err(e) => last_error = Some(e),
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let _ = child.start_kill();
        let _ = std::fs::remove_file(&pid_file);
        bail!(
            "redis-server did not answer over TLS on 127.0.0.1:{port}: {:#}",
            last_error.unwrap_or_else(|| anyhow::anyhow!("no attempt"))
        )
    }

    /// The URL Jobs and the Lambda use instead of the replication group's: TLS, as on AWS.
    pub fn url(&self) -> String {
        format!("rediss://127.0.0.1:{}", self.port)
    }

    /// The CA the server's certificate is verified against.
    pub fn ca_file(&self) -> &Path {
        &self.tls.ca
    }

    /// The settings that point Jobs and the Lambda at this server: [`contract::REDIS_URL`] and
    /// [`contract::REDIS_CA_FILE`].
    pub fn env(&self) -> [(String, String); 2] {
        [
            (contract::REDIS_URL.to_owned(), self.url()),
            (
                contract::REDIS_CA_FILE.to_owned(),
                self.tls.ca.to_string_lossy().into_owned(),
            ),
        ]
    }

    /// Accepts `token` as a password, as the pipeline's replication group does.
    pub async fn allow_token(&self, token: &str) -> Result<()> {
        let mut connection = connection(&self.tls.ca, self.port, &self.password).await?;
        redis::cmd("ACL")
            .arg("SETUSER")
            .arg("default")
            .arg(format!(">{token}"))
            .query_async::<()>(&mut connection)
            .await
            .context("adding a pipeline's auth token to the local Redis server")
    }
}

/// An administrative connection, over TLS verified against `ca` as the Jobs' are.
async fn connection(ca: &Path, port: u16, password: &str) -> Result<redis::aio::MultiplexedConnection> {
    let url = format!("rediss://127.0.0.1:{port}");
    let client = crate::progress::redis_client(&url, Some(password.to_owned()), Some(ca))?;
    Ok(client.get_multiplexed_async_connection().await?)
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        let _ = std::fs::remove_file(&self.pid_file);
    }
}
