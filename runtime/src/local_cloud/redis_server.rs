//! The local stand-in for the pipelines' ElastiCache replication groups: one `redis-server` on
//! a loopback port, owned by `local-cloud`.
//!
//! It serves TLS only, as a replication group with in-transit encryption does: on a certificate
//! for 127.0.0.1 and localhost issued by a CA `local-cloud` creates at each start, under its
//! state directory. Jobs and the Lambda get `REDIS_URL` as `rediss://127.0.0.1:PORT` and the CA
//! through [`contract::REDIS_CA_FILE`], so they connect and verify the server as they do on AWS.
//! They read their auth token from the deployed secret, as on AWS; each pipeline's token is added
//! as a password of the default user, in the server's users file.
//!
//! As ElastiCache replaces a failed node at the same endpoint with its data kept, the server is
//! started again whenever it exits: on the same port, with the same certificate, users file and
//! data (an append-only file, fsynced on every write), so a run goes on across the restart.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use eventdriven_core::contract;

pub struct RedisServer {
    pub port: u16,
    password: String,
    pid_file: PathBuf,
    tls: TlsFiles,
    users: UsersFile,
    /// Owns the running `redis-server` (killed when the task is dropped) and restarts it.
    supervisor: tokio::task::JoinHandle<()>,
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
    /// left, and keeps it running: see the module's documentation.
    pub async fn start(state_dir: &Path) -> Result<RedisServer> {
        let pid_file = state_dir.join("redis.pid");
        if let Ok(pid) = std::fs::read_to_string(&pid_file) {
            let pid = pid.trim();
            // Only a redis-server: after a reboot the number may belong to anything.
            let command = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            if String::from_utf8_lossy(&command).contains("redis-server") {
                let _ = std::process::Command::new("kill").arg(pid).status();
                // It writes the data directory the new server reads: gone first.
                for _ in 0..100 {
                    if !Path::new(&format!("/proc/{pid}")).exists() {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
        let tls = TlsFiles::issue(&state_dir.join("redis-tls"))?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let password = uuid::Uuid::new_v4().simple().to_string();
        let users = UsersFile::create(std::path::absolute(state_dir.join("redis-users.acl"))?, &password)?;
        let data = std::path::absolute(state_dir.join("redis-data"))?;
        std::fs::create_dir_all(&data).with_context(|| format!("creating {}", data.display()))?;
        let args = server_args(&tls, port, &users.path, &data);
        let mut child = spawn(&args, &pid_file)?;
        let mut last_error = None;
        for _ in 0..100 {
            if let Ok(Some(status)) = child.try_wait() {
                // Debian's redis-server is built with TLS; one built without refuses --tls-port.
                bail!("redis-server exited at start ({status}): does it support TLS (--tls-port)?")
            }
            match connection(&tls.ca, port, &password).await {
                Ok(_) => {
                    return Ok(RedisServer {
                        port,
                        password,
                        supervisor: tokio::spawn(supervise(child, args, pid_file.clone())),
                        pid_file,
                        tls,
                        users,
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

    /// Accepts `token` as a password, as the pipeline's replication group does, now and after
    /// any restart.
    pub async fn allow_token(&self, token: &str) -> Result<()> {
        self.users.allow(token)?;
        // Loaded even when the file had it: a load that failed before is made up for.
        let mut connection = connection(&self.tls.ca, self.port, &self.password).await?;
        redis::cmd("ACL")
            .arg("LOAD")
            .query_async::<()>(&mut connection)
            .await
            .context("adding a pipeline's auth token to the local Redis server")
    }
}

/// `redis-server`'s arguments: TLS only on `port`, the users of `users`, and the data kept in
/// `data` as an append-only file fsynced on every write (no snapshots).
fn server_args(tls: &TlsFiles, port: u16, users: &Path, data: &Path) -> Vec<String> {
    let path = |p: &Path| p.to_string_lossy().into_owned();
    let mut args: Vec<String> = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "yes"]
        .into_iter()
        .chain(["--appendfsync", "always"])
        .map(str::to_owned)
        .collect();
    args.extend(["--dir".to_owned(), path(data), "--aclfile".to_owned(), path(users)]);
    args.extend(tls.server_args(port));
    args
}

/// Starts `redis-server` with `args` and records its process id in `pid_file`.
fn spawn(args: &[String], pid_file: &Path) -> Result<tokio::process::Child> {
    let child = tokio::process::Command::new("redis-server")
        .args(args)
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .context("starting redis-server (Debian package redis-server) for the pipelines' progress sets")?;
    if let Some(pid) = child.id() {
        std::fs::write(pid_file, pid.to_string()).with_context(|| format!("writing {}", pid_file.display()))?;
    }
    Ok(child)
}

/// Waits for the server to exit and starts it again with the same arguments, as long as
/// `local-cloud` runs; a short pause first keeps a server that cannot start from spinning.
async fn supervise(mut child: tokio::process::Child, args: Vec<String>, pid_file: PathBuf) {
    loop {
        let status = child.wait().await;
        let status = status.map_or_else(|e| e.to_string(), |s| s.to_string());
        eprintln!("local-cloud: redis-server exited ({status}); starting it again on the same port");
        loop {
            tokio::time::sleep(Duration::from_millis(100)).await;
            match spawn(&args, &pid_file) {
                Ok(started) => break child = started,
                Err(e) => eprintln!("local-cloud: {e:#}"),
            }
        }
    }
}

/// The server's users file (`aclfile`): the default user, whose passwords are the administrative
/// one and every pipeline's token. Passwords are written as their SHA-256 (`#<hex>`), so no
/// secret is on disk, and a restarted server reads them all back.
struct UsersFile {
    path: PathBuf,
    hashes: Mutex<Vec<String>>,
}

impl UsersFile {
    fn create(path: PathBuf, password: &str) -> Result<UsersFile> {
        let users = UsersFile {
            path,
            hashes: Mutex::new(vec![password_hash(password)]),
        };
        users.write(&users.hashes.lock().expect("users file lock"))?;
        Ok(users)
    }

    /// Adds `password`, unless it is there already.
    fn allow(&self, password: &str) -> Result<()> {
        let mut hashes = self.hashes.lock().expect("users file lock");
        let hash = password_hash(password);
        if hashes.contains(&hash) {
            return Ok(());
        }
        hashes.push(hash);
        self.write(&hashes)
    }

    /// Replaces the file whole (a renamed temporary file), so a server starting reads all of it.
    fn write(&self, hashes: &[String]) -> Result<()> {
        let temporary = self.path.with_extension("acl.tmp");
        write_private(&temporary, users_line(hashes).as_bytes())?;
        std::fs::rename(&temporary, &self.path).with_context(|| format!("writing {}", self.path.display()))
    }
}

/// The users file's one line: the default user, on, with these password hashes and every right.
fn users_line(hashes: &[String]) -> String {
    let passwords: Vec<String> = hashes.iter().map(|hash| format!("#{hash}")).collect();
    format!("user default on {} ~* &* +@all\n", passwords.join(" "))
}

/// A password as the users file holds it: its SHA-256, in lowercase hex.
fn password_hash(password: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(password.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// An administrative connection, over TLS verified against `ca` as the Jobs' are.
async fn connection(ca: &Path, port: u16, password: &str) -> Result<redis::aio::MultiplexedConnection> {
    let url = format!("rediss://127.0.0.1:{port}");
    let client = crate::progress::redis_client(&url, Some(password.to_owned()), Some(ca))?;
    Ok(client.get_multiplexed_async_connection().await?)
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        // The task's end drops the server's child process, which kills it.
        self.supervisor.abort();
        let _ = std::fs::remove_file(&self.pid_file);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_users_file_holds_every_password_hashed_and_each_once() {
        let dir = tempfile::tempdir().unwrap();
        let users = UsersFile::create(dir.path().join("users.acl"), "admin").unwrap();
        users.allow("token").unwrap();
        users.allow("token").unwrap();
        let written = std::fs::read_to_string(dir.path().join("users.acl")).unwrap();
        assert_eq!(
            written,
            format!(
                "user default on #{} #{} ~* &* +@all\n",
                password_hash("admin"),
                password_hash("token")
            )
        );
        assert!(
            !written.contains("admin") && !written.contains("token"),
            "no password in clear"
        );
        // `echo -n token | sha256sum`
        assert_eq!(
            password_hash("token"),
            "3c469e9d6c5875d37a43f353d4f88e61fcf812c66eee3457465a40b0da4153e0"
        );
    }
}
