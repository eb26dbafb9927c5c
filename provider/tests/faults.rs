//! Faults from the services: a pipeline applied on the emulator runs the same input once clean,
//! then once per fault, each injected mid-run: DynamoDB answering a share of each
//! `BatchWriteItem` as unprocessed and S3 failing attempts of the result's parts (both through
//! testkit's fault proxy, which local-cloud and its Jobs reach the emulator through), and
//! local-cloud's Redis server killed and restarted. Each run ends SUCCEEDED with the clean run's
//! result byte for byte, the table holding exactly the input's Order IDs, and the run's report
//! counting the requests DynamoDB throttled. Ignored by a plain `cargo test`;
//! `tests/acceptance.sh` runs it.

mod common;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{AttributeDefinition, BillingMode, KeySchemaElement, TableStatus};
use common::*;
use eventdriven_testkit::fault_proxy::{FaultProxy, Faults};

const ROWS: u64 = 60_000;
const LINES_PER_CHUNK: u64 = 5_000;
const CHUNKS: u64 = ROWS.div_ceil(LINES_PER_CHUNK);
/// The runtime's part size of a multipart upload (`core::scale::RESULT_PART_BYTES`).
const PART_BYTES: usize = 8 << 20;
/// How long one run may take.
const RUN_WITHIN: Duration = Duration::from_secs(300);

/// The order example with every attribute in the result: about 170 bytes a line, so 60,000
/// rows make a result of two parts.
fn wide_result(main_tf: &str) -> String {
    let narrow = r#"output = ["OrderId", "ConfirmationId"]"#;
    assert!(main_tf.contains(narrow), "the example's output attributes changed");
    main_tf.replace(
        narrow,
        r#"output = ["OrderId", "ConfirmationId", "Region", "Country", "ItemType", "SalesChannel", "OrderPriority", "OrderDate", "ShipDate", "UnitsSold", "UnitPrice", "UnitCost", "TotalRevenue", "TotalCost", "TotalProfit"]"#,
    )
}

/// A generated order file and its distinct Order IDs.
fn input(dir: &Path) -> (PathBuf, HashSet<String>) {
    let file = dir.join("orders.csv");
    let ids = generate_orders(&file, ROWS, 24)
        .iter()
        .skip(1)
        .map(|line| line.split(',').nth(6).unwrap().to_owned())
        .collect();
    (file, ids)
}

/// What the test reads and writes besides local-cloud.
struct Pipeline<'a> {
    emulator: &'a Emulator,
    state_dir: PathBuf,
    bucket: String,
    table: String,
    input: PathBuf,
    s3: aws_sdk_s3::Client,
    dynamodb: aws_sdk_dynamodb::Client,
}

/// One run that ended: its name, result and report.
struct Run {
    name: String,
    result: Vec<u8>,
    report: String,
}

impl Pipeline<'_> {
    /// Uploads the input as `input/<key>.csv`, which starts a run.
    fn start(&self, key: &str) {
        upload(self.emulator, &self.input, &self.bucket, &format!("input/{key}.csv"));
    }

    /// Waits for the run after the `earlier` ones to end; it must have SUCCEEDED.
    async fn ended(&self, earlier: &HashSet<String>) -> Run {
        let runs = wait_for_ended(self.emulator, &self.state_dir, earlier.len() + 1, RUN_WITHIN);
        let (name, status) = runs
            .into_iter()
            .find(|(name, status)| !earlier.contains(name) && status != "RUNNING")
            .expect("a new run ended");
        let report = cli(self.emulator, &self.state_dir, &["execution", &name]);
        assert_eq!(status, "SUCCEEDED", "{report}");
        let result = self
            .s3
            .get_object()
            .bucket(&self.bucket)
            .key(format!("output/{name}.csv"))
            .send()
            .await
            .expect("the result is under output/")
            .body
            .collect()
            .await
            .unwrap()
            .into_bytes()
            .to_vec();
        Run { name, result, report }
    }

    /// The Order IDs the table holds.
    async fn stored_ids(&self) -> HashSet<String> {
        let mut stored = HashSet::new();
        let mut pages = self.dynamodb.scan().table_name(&self.table).into_paginator().send();
        while let Some(page) = pages.next().await {
            for item in page.unwrap().items() {
                stored.insert(item["OrderId"].as_s().unwrap().clone());
            }
        }
        stored
    }

    /// Deletes the table and creates it again with its key schema, so a run's writes are all
    /// that it holds.
    async fn empty_table(&self) {
        let described = self
            .dynamodb
            .describe_table()
            .table_name(&self.table)
            .send()
            .await
            .unwrap();
        let table = described.table().unwrap();
        let keys: Vec<KeySchemaElement> = table.key_schema().to_vec();
        let attributes: Vec<AttributeDefinition> = table.attribute_definitions().to_vec();
        self.dynamodb
            .delete_table()
            .table_name(&self.table)
            .send()
            .await
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while self
            .dynamodb
            .describe_table()
            .table_name(&self.table)
            .send()
            .await
            .is_ok()
        {
            assert!(Instant::now() < deadline, "the table was not deleted");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.dynamodb
            .create_table()
            .table_name(&self.table)
            .set_key_schema(Some(keys))
            .set_attribute_definitions(Some(attributes))
            .billing_mode(BillingMode::PayPerRequest)
            .send()
            .await
            .unwrap();
        loop {
            let described = self
                .dynamodb
                .describe_table()
                .table_name(&self.table)
                .send()
                .await
                .unwrap();
            if described.table().and_then(|t| t.table_status()) == Some(&TableStatus::Active) {
                break;
            }
            assert!(Instant::now() < deadline, "the table did not become active");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Chunks of the running execution `name` processed so far, once its report says.
    fn processed(&self, name: &str) -> Option<u64> {
        cli(self.emulator, &self.state_dir, &["execution", name])
            .lines()
            .find_map(|l| l.strip_prefix("chunks:"))
            .and_then(|l| l.split_whitespace().next())
            .and_then(|n| n.parse().ok())
    }
}

/// The count the report's `throttled:` line gives.
fn throttled(report: &str) -> u64 {
    report
        .lines()
        .find_map(|l| l.strip_prefix("throttled:"))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no throttled line in the report:\n{report}"))
}

/// The process id in local-cloud's Redis pid file.
fn redis_pid(state_dir: &Path) -> String {
    std::fs::read_to_string(state_dir.join("redis.pid"))
        .unwrap()
        .trim()
        .to_owned()
}

#[tokio::test]
#[ignore = "needs terraform, fakecloud, aws and redis-server: run tests/acceptance.sh"]
async fn runs_end_with_the_clean_bytes_through_throttling_failed_parts_and_a_redis_restart() {
    let emulator = Emulator::start("faults");
    emulator.create_cluster();
    let variables = local_cloud_variables("faults", LINES_PER_CHUNK, "max_concurrency = 2\n");
    let workspace = Workspace::new("faults", &emulator, &variables);
    workspace.configure(&wide_result(
        &std::fs::read_to_string(repo_root().join("examples/order-batch/main.tf")).unwrap(),
    ));
    workspace.apply(&[]);
    let deployed = workspace.pipeline();
    let sdk = emulator.sdk().await;
    let (input, ids) = input(&workspace.dir);
    let pipeline = Pipeline {
        emulator: &emulator,
        state_dir: workspace.dir.join("local-cloud"),
        bucket: text(&deployed["bucket"]),
        table: text(&deployed["table_name"]),
        input,
        s3: aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&sdk).force_path_style(true).build()),
        dynamodb: aws_sdk_dynamodb::Client::new(&sdk),
    };
    // local-cloud and every process it starts reach the emulator through the proxy.
    let proxy = FaultProxy::start(&emulator.endpoint);
    let _cloud = LocalCloud::start_at(&proxy.endpoint, &emulator, &pipeline.state_dir, &[]);
    let mut earlier = HashSet::new();

    pipeline.start("clean");
    let clean = pipeline.ended(&earlier).await;
    earlier.insert(clean.name.clone());
    assert_eq!(
        clean.result.iter().filter(|&&b| b == b'\n').count() as u64,
        ROWS + 1,
        "a header and a line per row"
    );
    let parts = clean.result.len().div_ceil(PART_BYTES);
    assert!(parts >= 2, "the result ({} bytes) goes up in parts", clean.result.len());
    assert!(
        clean.report.contains(&format!("{CHUNKS} of {CHUNKS} processed")),
        "{}",
        clean.report
    );
    assert_eq!(throttled(&clean.report), 0, "nothing throttled a clean run");
    assert_eq!(
        pipeline.stored_ids().await,
        ids,
        "the table holds the input's Order IDs"
    );
    eprintln!(
        "clean run {}: {} bytes in {parts} parts, {CHUNKS} chunks",
        clean.name,
        clean.result.len()
    );

    // DynamoDB leaves a fifth of each batch unprocessed.
    pipeline.empty_table().await;
    proxy.inject(Faults {
        unprocessed_share: 0.2,
        seed: 24,
        ..Faults::default()
    });
    pipeline.start("throttled");
    let run = pipeline.ended(&earlier).await;
    earlier.insert(run.name.clone());
    let injected = proxy.injected();
    eprintln!("DynamoDB throttling, injected: {injected}");
    assert!(injected.throttled_requests > 0, "no batch was throttled");
    assert!(
        run.result == clean.result,
        "a throttled run gives the clean run's bytes"
    );
    assert_eq!(
        pipeline.stored_ids().await,
        ids,
        "every unprocessed item was written again"
    );
    assert_eq!(
        throttled(&run.report),
        injected.throttled_requests,
        "the report counts every throttled request:\n{}",
        run.report
    );

    // S3 fails the first attempt of each part of the result.
    pipeline.empty_table().await;
    proxy.inject(Faults {
        failed_part_attempts: 1,
        ..Faults::default()
    });
    pipeline.start("failed-parts");
    let run = pipeline.ended(&earlier).await;
    earlier.insert(run.name.clone());
    let injected = proxy.injected();
    eprintln!("S3 5xx on parts, injected: {injected}");
    assert_eq!(injected.failed_parts, parts as u64, "one failed attempt per part");
    assert!(
        run.result == clean.result,
        "a run whose parts failed gives the clean run's bytes"
    );
    assert_eq!(pipeline.stored_ids().await, ids);

    // local-cloud's Redis server killed once a chunk is done, and started again by local-cloud.
    pipeline.empty_table().await;
    proxy.inject(Faults::default());
    pipeline.start("redis-restart");
    let deadline = Instant::now() + RUN_WITHIN;
    let (name, done) = loop {
        let running = executions(&emulator, &pipeline.state_dir)
            .into_iter()
            .find(|(name, status)| !earlier.contains(name) && status == "RUNNING");
        if let Some((name, _)) = running
            && let Some(done) = pipeline.processed(&name).filter(|&done| done >= 1)
        {
            break (name, done);
        }
        assert!(Instant::now() < deadline, "the run never got a chunk done");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(done < CHUNKS, "the run was over before Redis could be killed");
    let killed = redis_pid(&pipeline.state_dir);
    let status = Command::new("kill").args(["-KILL", &killed]).status().unwrap();
    assert!(status.success());
    eprintln!(
        "Redis restart, injected: SIGKILL to redis-server (pid {killed}) during {name}, {done} of {CHUNKS} chunks done"
    );
    let run = pipeline.ended(&earlier).await;
    assert_eq!(run.name, name);
    let restarted = redis_pid(&pipeline.state_dir);
    assert_ne!(restarted, killed, "local-cloud started Redis again");
    eprintln!(
        "redis-server restarted as pid {restarted}; the run's report:\n{}",
        run.report
    );
    assert!(
        run.result == clean.result,
        "a run across a Redis restart gives the clean run's bytes"
    );
    assert_eq!(pipeline.stored_ids().await, ids);
}
