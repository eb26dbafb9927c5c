//! A Redis that requires an auth token (as ElastiCache with in-transit encryption does): the
//! steps read the token from Secrets Manager by ARN, and it never shows in their output.

mod common;

use eventdriven_core::contract;
use eventdriven_testkit::Emulator;
use std::process::{Command, Stdio};

const TOKEN: &str = "s3cret-token-that-must-not-leak";

struct RedisWithPassword(std::process::Child, u16);

impl RedisWithPassword {
    fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--requirepass",
                TOKEN,
                "--save",
                "",
            ])
            .args(["--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server on PATH (make test installs it)");
        eventdriven_testkit::wait_until_listening(port, "redis-server", std::time::Duration::from_secs(10));
        RedisWithPassword(child, port)
    }
}

impl Drop for RedisWithPassword {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_auth_token_comes_from_secrets_manager_and_never_leaks() {
    let emulator = Emulator::start("redis_auth-1");
    let redis = RedisWithPassword::start();
    let secret = aws_sdk_secretsmanager::Client::new(&emulator.sdk().await)
        .create_secret()
        .name("eventdriven/test/redis-auth")
        .secret_string(TOKEN)
        .send()
        .await
        .unwrap();
    let arn = secret.arn.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("orders.csv");
    common::generated(&input, 50, 1);
    let url = format!("redis://127.0.0.1:{}", redis.1);

    let split = |with_secret: bool| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_eventdriven"));
        command
            .arg("split")
            .envs(emulator.env())
            .env(contract::RUN_ID, "auth-run")
            .env(contract::WORK_DIR, dir.path().join("work"))
            .env(contract::INPUT_URL, &input)
            .env(contract::REDIS_URL, &url);
        if with_secret {
            command.env(contract::REDIS_AUTH_SECRET_ARN, &arn);
        }
        command.output().unwrap()
    };
    let refused = split(false);
    assert!(
        !refused.status.success(),
        "Redis must refuse a client without the token"
    );
    let done = split(true);
    let output = format!(
        "{}{}",
        String::from_utf8_lossy(&done.stdout),
        String::from_utf8_lossy(&done.stderr)
    );
    assert!(done.status.success(), "{output}");
    assert!(!output.contains(TOKEN));
    let listed = Command::new(env!("CARGO_BIN_EXE_eventdriven"))
        .arg("list-chunks")
        .envs(emulator.env())
        .env(contract::RUN_ID, "auth-run")
        .env(contract::REDIS_URL, &url)
        .env(contract::REDIS_AUTH_SECRET_ARN, &arn)
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&listed.stdout).trim(),
        r#"{"run_id":"auth-run","count":1,"chunks":["000000-2"]}"#
    );
    let bad_url = Command::new(env!("CARGO_BIN_EXE_eventdriven"))
        .args(["list-chunks", "--run-id", "x", "--redis-url"])
        .arg(format!("redis://:{TOKEN}@127.0.0.1:1"))
        .output()
        .unwrap();
    assert!(!bad_url.status.success());
    assert!(
        !String::from_utf8_lossy(&bad_url.stderr).contains(TOKEN),
        "{}",
        String::from_utf8_lossy(&bad_url.stderr)
    );
}
