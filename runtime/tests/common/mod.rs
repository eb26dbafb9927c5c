//! Helpers shared by the runtime's integration tests.
#![allow(dead_code)]

use eventdriven_runtime::generate::write_orders;
use eventdriven_runtime::objects::ObjectUrl;
use eventdriven_runtime::progress::{MEMORY_URL, ProgressStore};
use eventdriven_runtime::runner::{LocalRun, Report, run_locally};
use eventdriven_runtime::table::{OrdersTable, TableUrl};
use std::path::{Path, PathBuf};

pub const ROW: &str = "Asia,Japan,Fruits,Offline,M,7/27/2012,100,7/28/2012,1593,9.33,6.92,14862.69,11023.56,3839.13";

/// A valid row with the given Order ID.
pub fn row(order_id: u64) -> String {
    ROW.replace(",100,", &format!(",{order_id},"))
}

pub fn generated(path: &Path, rows: u64, seed: u64) {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    write_orders(&mut file, rows, seed).unwrap();
}

/// Runs the whole pipeline locally with the in-process store and an embedded table in `dir`.
pub async fn run(dir: &Path, input: &Path, max_lines: u64) -> anyhow::Result<(Report, PathBuf)> {
    let output = dir.join("result.csv");
    let local = LocalRun {
        run_id: "test-run".into(),
        pipeline_name: "test".into(),
        input: ObjectUrl::Local(input.into()),
        output: ObjectUrl::Local(output.clone()),
        max_lines_per_batch: max_lines,
        concurrency: 3,
        work_dir: dir.join("work"),
        keep_work: false,
    };
    let progress = ProgressStore::open(MEMORY_URL, None).await?;
    let table = OrdersTable::open(&TableUrl::Embedded(dir.join("orders.table"))).await?;
    let report = run_locally(&local, &progress, &table).await?;
    Ok((report, output))
}

/// Data rows of a CSV file as a plain CSV reader counts them: records end at `\n`, and a line
/// that is empty or a lone `\r` is blank, not a row.
pub fn data_rows(bytes: &[u8]) -> u64 {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .terminator(csv::Terminator::Any(b'\n'))
        .from_reader(bytes);
    reader
        .byte_records()
        .filter_map(Result::ok)
        .filter(|r| !(r.len() == 1 && (r[0].is_empty() || &r[0] == b"\r")))
        .count() as u64
}

pub fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

/// A local AWS emulator (fakecloud, installed by `make test`) on a free loopback port,
/// stopped when dropped.
pub struct Emulator {
    child: std::process::Child,
    pub endpoint: String,
}

impl Emulator {
    pub fn start() -> Emulator {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = std::process::Command::new("fakecloud")
            .args(["--addr", &format!("127.0.0.1:{port}"), "--log-level", "warn"])
            .env("FAKECLOUD_CONTAINER_CLI", "false")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("fakecloud on PATH (make test installs it: scripts/ensure-fakecloud.sh)");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "fakecloud did not listen on port {port}"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        Emulator {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        }
    }

    /// The environment an AWS SDK client needs to talk to the emulator.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_ACCESS_KEY_ID", "test".into()),
            ("AWS_SECRET_ACCESS_KEY", "test".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ]
    }

    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(&self.endpoint)
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_s3::config::Credentials::new(
                "test", "test", None, None, "emulator",
            ))
            .load()
            .await
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
