//! `rediss://` as every cloud pipeline uses it (ElastiCache with in-transit encryption and an auth
//! token): a `redis-server` serving TLS only, on a certificate issued for the test by a CA of its
//! own. The steps verify the server against the CA named by `REDIS_CA_FILE`, and against nothing
//! else; `local-cloud`'s server serves TLS the same way.

mod common;

use eventdriven_core::contract;
use eventdriven_runtime::local_cloud::redis_server::{RedisServer, TlsFiles};
use eventdriven_runtime::progress::ProgressStore;
use std::path::Path;
use std::process::{Command, Output, Stdio};

const TOKEN: &str = "tls-token-that-must-not-leak";

/// `redis-server` on a free loopback port, TLS only (`--port 0`), requiring [`TOKEN`].
struct TlsRedis {
    child: std::process::Child,
    port: u16,
}

impl TlsRedis {
    fn start(tls: &TlsFiles) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(["--requirepass", TOKEN])
            .args(tls.server_args(port))
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server on PATH (make test installs it)");
        eventdriven_testkit::wait_until_listening(port, "redis-server", std::time::Duration::from_secs(10));
        eprintln!(
            "redis-server: TLS only on 127.0.0.1:{port} (--port 0), certificate {} issued by CA {}",
            tls.certificate.display(),
            tls.ca.display()
        );
        TlsRedis { child, port }
    }
}

impl Drop for TlsRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `eventdriven <step>` as its Job does, configured by `env` alone.
fn step(name: &str, env: &[(&str, String)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_eventdriven"))
        .arg(name)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The step succeeded, and its output holds no token.
fn succeeded(name: &str, output: &Output) -> String {
    assert!(output.status.success(), "{name}: {}", text(output));
    assert!(!text(output).contains(TOKEN), "{name} printed the token");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The step failed, its message says `why`, and holds no token.
fn refused(case: &str, output: &Output, why: &str) {
    let message = text(output);
    eprintln!("{case}: refused: {}", message.trim());
    assert!(!output.status.success(), "{case}: the step must fail");
    assert!(message.contains(why), "{case}: expected {why:?} in {message}");
    assert!(!message.contains(TOKEN), "{case}: the token leaked");
}

fn s(path: &Path) -> String {
    path.to_str().unwrap().to_owned()
}

#[test]
fn split_list_process_and_merge_over_rediss_verifying_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let tls = TlsFiles::issue(&dir.path().join("tls")).unwrap();
    let other_ca = TlsFiles::issue(&dir.path().join("other-tls")).unwrap();
    let redis = TlsRedis::start(&tls);
    let input = dir.path().join("orders.csv");
    common::generated(&input, 2_500, 3);
    let run = "tls-run".to_owned();
    let url = format!("rediss://:{TOKEN}@127.0.0.1:{}", redis.port);
    let split_env = |url: &str, ca: Option<&Path>| {
        let mut env = vec![
            (contract::RUN_ID, run.clone()),
            (contract::WORK_DIR, s(&dir.path().join("work"))),
            (contract::INPUT_URL, s(&input)),
            (contract::MAX_LINES_PER_BATCH, "1000".to_owned()),
            (contract::REDIS_URL, url.to_owned()),
        ];
        env.extend(ca.map(|ca| (contract::REDIS_CA_FILE, s(ca))));
        env
    };
    eprintln!(
        "steps: {}=rediss://:***@127.0.0.1:{} {}={}",
        contract::REDIS_URL,
        redis.port,
        contract::REDIS_CA_FILE,
        tls.ca.display()
    );

    // The server is verified: the system's roots do not know the test's CA, nor does another CA.
    refused(
        "no REDIS_CA_FILE (the system's roots)",
        &step("split", &split_env(&url, None)),
        "invalid peer certificate",
    );
    refused(
        "another CA",
        &step("split", &split_env(&url, Some(&other_ca.ca))),
        "invalid peer certificate",
    );
    // The server requires the token, and serves no plain port.
    refused(
        "no token",
        &step(
            "split",
            &split_env(&format!("rediss://127.0.0.1:{}", redis.port), Some(&tls.ca)),
        ),
        "uthentication required",
    );
    let plain = format!("redis://:{TOKEN}@127.0.0.1:{}", redis.port);
    refused(
        "plain redis:// with a CA",
        &step("split", &split_env(&plain, Some(&tls.ca))),
        "is not rediss://",
    );
    assert!(
        !step("split", &split_env(&plain, None)).status.success(),
        "plain redis:// to the TLS port must fail"
    );
    let not_pem = dir.path().join("empty.pem");
    std::fs::write(&not_pem, "").unwrap();
    refused(
        "a CA file without a certificate",
        &step("split", &split_env(&url, Some(&not_pem))),
        "holds no PEM certificate",
    );

    // The run, each step over TLS.
    let ca = Some(tls.ca.as_path());
    succeeded("split", &step("split", &split_env(&url, ca)));
    let store_env = vec![
        (contract::RUN_ID, run.clone()),
        (contract::WORK_DIR, s(&dir.path().join("work"))),
        (contract::REDIS_URL, url.clone()),
        (contract::REDIS_CA_FILE, s(&tls.ca)),
    ];
    let listed: serde_json::Value =
        serde_json::from_str(&succeeded("list-chunks", &step("list-chunks", &store_env))).unwrap();
    let chunks: Vec<String> = serde_json::from_value(listed["chunks"].clone()).unwrap();
    assert_eq!(chunks, ["000000-2", "000001-1002", "000002-2002"]);
    for chunk in &chunks {
        let mut env = store_env.clone();
        env.extend([
            (contract::CHUNK, chunk.clone()),
            (contract::TABLE_URL, s(&dir.path().join("orders.table"))),
            (contract::PIPELINE_NAME, "orders".to_owned()),
        ]);
        succeeded("process", &step("process", &env));
    }
    let output = dir.path().join("result.csv");
    let mut env = store_env.clone();
    env.push((contract::OUTPUT_URL, s(&output)));
    let summary: serde_json::Value = serde_json::from_str(&succeeded("merge", &step("merge", &env))).unwrap();
    assert_eq!(
        (summary["rows_in"].as_u64(), summary["rows_out"].as_u64()),
        (Some(2500), Some(2500))
    );
    assert_eq!(std::fs::read_to_string(&output).unwrap().lines().count(), 2501);
    eprintln!("split, list-chunks, 3 × process and merge: succeeded over TLS");
}

#[tokio::test(flavor = "multi_thread")]
async fn local_cloud_serves_tls_and_hands_its_ca_to_the_jobs() {
    let state = tempfile::tempdir().unwrap();
    let server = RedisServer::start(state.path()).await.unwrap();
    let env: std::collections::BTreeMap<_, _> = server.env().into_iter().collect();
    eprintln!("local-cloud's Redis: {env:?}");
    let url = &env[contract::REDIS_URL];
    assert_eq!(url, &format!("rediss://127.0.0.1:{}", server.port));
    let ca = Path::new(&env[contract::REDIS_CA_FILE]);
    assert!(ca.is_absolute() && ca.starts_with(std::path::absolute(state.path()).unwrap()));
    server.allow_token(TOKEN).await.unwrap();

    // What a Job does with the settings it is given: connects over TLS, verified by the CA.
    let store = ProgressStore::open_verified_by(url, Some(TOKEN.to_owned()), Some(ca))
        .await
        .unwrap();
    let chunk = "000000-2".parse().unwrap();
    store.replace("local", &[chunk]).await.unwrap();
    assert_eq!(store.pending("local").await.unwrap(), [chunk]);

    let unverified = ProgressStore::open(url, Some(TOKEN.to_owned())).await;
    let message = format!(
        "{:#}",
        unverified
            .err()
            .expect("the system's roots must not know local-cloud's CA")
    );
    eprintln!("without its CA: {message}");
    assert!(message.contains("invalid peer certificate"), "{message}");
    let plain = ProgressStore::open(&format!("redis://127.0.0.1:{}", server.port), Some(TOKEN.to_owned())).await;
    assert!(plain.is_err(), "local-cloud's Redis must serve no plain protocol");
    let no_token = ProgressStore::open_verified_by(url, None, Some(ca)).await;
    assert!(no_token.is_err(), "local-cloud's Redis must require a token");
}

/// As in the cloud: the token is read from Secrets Manager (the emulator's) by ARN, the URL
/// carries none, and the server is verified by the CA.
#[tokio::test(flavor = "multi_thread")]
async fn the_token_from_secrets_manager_opens_a_tls_redis() {
    let emulator = eventdriven_testkit::Emulator::start("redis_tls-secret");
    let dir = tempfile::tempdir().unwrap();
    let tls = TlsFiles::issue(&dir.path().join("tls")).unwrap();
    let redis = TlsRedis::start(&tls);
    let arn = aws_sdk_secretsmanager::Client::new(&emulator.sdk().await)
        .create_secret()
        .name("eventdriven/tls/redis-auth")
        .secret_string(TOKEN)
        .send()
        .await
        .unwrap()
        .arn
        .unwrap();
    let input = dir.path().join("orders.csv");
    common::generated(&input, 50, 1);
    let mut env: Vec<(&str, String)> = emulator.env();
    env.extend([
        (contract::RUN_ID, "tls-secret-run".to_owned()),
        (contract::WORK_DIR, s(&dir.path().join("work"))),
        (contract::INPUT_URL, s(&input)),
        (contract::REDIS_URL, format!("rediss://127.0.0.1:{}", redis.port)),
        (contract::REDIS_CA_FILE, s(&tls.ca)),
    ]);
    eprintln!(
        "steps: {}=rediss://127.0.0.1:{} {}={} {}={arn}",
        contract::REDIS_URL,
        redis.port,
        contract::REDIS_CA_FILE,
        tls.ca.display(),
        contract::REDIS_AUTH_SECRET_ARN
    );
    refused("no secret", &step("split", &env), "uthentication required");
    env.push((contract::REDIS_AUTH_SECRET_ARN, arn));
    succeeded("split", &step("split", &env));
    let listed = succeeded("list-chunks", &step("list-chunks", &env));
    assert_eq!(
        listed.trim(),
        r#"{"run_id":"tls-secret-run","count":1,"chunks":["000000-2"]}"#
    );
}

/// local-cloud's Redis is started again when it dies, as ElastiCache replaces a failed node: on
/// the same port, with the same certificate, data and tokens, so a store's next command is
/// answered once it has reconnected.
#[tokio::test(flavor = "multi_thread")]
async fn local_cloud_restarts_its_redis_with_its_data_and_tokens() {
    let state = tempfile::tempdir().unwrap();
    let server = RedisServer::start(state.path()).await.unwrap();
    server.allow_token(TOKEN).await.unwrap();
    let store = ProgressStore::open_verified_by(&server.url(), Some(TOKEN.to_owned()), Some(server.ca_file()))
        .await
        .unwrap();
    let chunks = ["000000-2".parse().unwrap(), "000001-12".parse().unwrap()];
    store.replace("restarted", &chunks).await.unwrap();

    let pid_file = state.path().join("redis.pid");
    let killed = std::fs::read_to_string(&pid_file).unwrap();
    let status = Command::new("kill").args(["-KILL", killed.trim()]).status().unwrap();
    assert!(status.success());
    eprintln!("injected: SIGKILL to local-cloud's redis-server (pid {killed})");

    store.complete("restarted", chunks[0]).await.unwrap();
    assert_eq!(
        store.pending("restarted").await.unwrap(),
        [chunks[1]],
        "the set written before the restart is there after it"
    );
    let restarted = std::fs::read_to_string(&pid_file).unwrap();
    assert_ne!(restarted, killed, "a new redis-server serves the port");
    eprintln!("redis-server restarted as pid {restarted}; the store answered across the restart");
}
