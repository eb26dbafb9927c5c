//! Test support shared by the integration tests of `runtime` and `provider`: a local AWS
//! emulator (fakecloud, installed by `make test`) per test, a proxy in front of it that injects
//! the services' faults ([`fault_proxy`]), and headless Chromium driving `eventdriven ui`
//! ([`browser`]).

pub mod browser;
pub mod fault_proxy;

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_sts::config::Credentials;

/// Waits until a process listens on 127.0.0.1:`port`, at most `within`; fails naming `what`.
pub fn wait_until_listening(port: u16, what: &str, within: Duration) {
    let deadline = Instant::now() + within;
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "{what} did not listen on port {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The region every emulated resource lives in.
pub const REGION: &str = "us-east-1";

/// A fakecloud process on a free loopback port, killed when dropped. Its log is
/// `$TMPDIR/fakecloud-<name>.log`.
pub struct Emulator {
    process: Child,
    pub endpoint: String,
}

impl Emulator {
    pub fn start(name: &str) -> Self {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let log = std::fs::File::create(std::env::temp_dir().join(format!("fakecloud-{name}.log"))).unwrap();
        let process = Command::new("fakecloud")
            .args(["--addr", &format!("127.0.0.1:{port}"), "--region", REGION])
            // Metadata-only caches: no container runtime is needed for ElastiCache.
            .env("FAKECLOUD_CONTAINER_CLI", "false")
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("fakecloud on PATH (make test installs it: scripts/ensure-fakecloud.sh)");
        wait_until_listening(port, "fakecloud", Duration::from_secs(60));
        Self {
            process,
            endpoint: format!("http://127.0.0.1:{port}"),
        }
    }

    /// The environment an AWS SDK or the AWS CLI needs to talk to the emulator.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_ACCESS_KEY_ID", "test".into()),
            ("AWS_SECRET_ACCESS_KEY", "test".into()),
            ("AWS_REGION", REGION.into()),
            // The AWS CLI v1 reads only this one.
            ("AWS_DEFAULT_REGION", REGION.into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
            ("AWS_PAGER", String::new()),
        ]
    }

    /// An SDK configuration for the emulator.
    pub async fn sdk(&self) -> SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(REGION))
            .endpoint_url(&self.endpoint)
            .credentials_provider(Credentials::new("test", "test", None, None, "emulator"))
            .load()
            .await
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}
