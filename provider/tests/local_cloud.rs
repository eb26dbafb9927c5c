//! The laptop loop, end to end: `terraform apply` the order example against the emulator, start
//! `eventdriven local-cloud`, `aws s3 cp` an order file under `input/`, and get the result under
//! `output/`, with the deployed definition, Job manifests and function run on this machine.
//! Ignored by a plain `cargo test`; `tests/acceptance.sh` runs it.

mod common;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;

/// Rows of the generated input, to which three bad rows are added.
const ROWS: u64 = 20_000;
const LINES_PER_CHUNK: u64 = 2_000;
const CHUNKS: u64 = (ROWS + 3).div_ceil(LINES_PER_CHUNK);
const JOB_IMAGE: &str = "ghcr.io/example/eventdriven:1";

async fn object(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Option<Vec<u8>> {
    let found = s3.get_object().bucket(bucket).key(key).send().await.ok()?;
    Some(found.body.collect().await.unwrap().into_bytes().to_vec())
}

/// A generated order file with three bad rows in it; returns the valid rows' Order IDs in order.
fn input_with_bad_rows(dir: &Path) -> (PathBuf, Vec<String>) {
    let generated = dir.join("generated.csv");
    let status = Command::new(eventdriven())
        .args(["generate", "--rows", &ROWS.to_string(), "--seed", "7", "--output"])
        .arg(&generated)
        .status()
        .unwrap();
    assert!(status.success());
    let text = std::fs::read_to_string(&generated).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    // A row with a field missing, one with a text Order ID, one with a bad number of units.
    lines.insert(5, "Asia,Japan,Fruits,Offline,M,7/27/2012".into());
    lines.insert(
        9_000,
        "Asia,Japan,Fruits,Offline,M,7/27/2012,abc,7/28/2012,1,9.33,6.92,9.33,6.92,2.41".into(),
    );
    lines.insert(
        15_000,
        "Asia,Japan,Fruits,Offline,M,7/27/2012,999999999,7/28/2012,many,9.33,6.92,9.33,6.92,2.41".into(),
    );
    let file = dir.join("orders.csv");
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    let valid = lines[1..]
        .iter()
        .filter(|line| line.split(',').count() == 14)
        .map(|line| line.split(',').nth(6).unwrap().to_owned())
        .filter(|id| id.parse::<u64>().is_ok())
        .filter(|id| id != "999999999")
        .collect();
    (file, valid)
}

#[tokio::test]
#[ignore = "needs terraform, fakecloud, aws and redis-server: run tests/acceptance.sh"]
async fn uploads_run_on_this_machine_resume_after_a_kill_and_fail_cleanly() {
    let emulator = Emulator::start("local-cloud");
    emulator.create_cluster();
    let variables = format!(
        "name = \"orders\"\ncluster_name = \"{CLUSTER}\"\njob_image = \"{JOB_IMAGE}\"\nlambda_image = \"123456789012.dkr.ecr.{REGION}.amazonaws.com/eventdriven-lambda:1\"\nmax_lines_per_batch = {LINES_PER_CHUNK}\nmax_concurrency = 2\n"
    );
    let workspace = Workspace::new("local-cloud", &emulator, &variables);
    workspace.apply(&[]);
    let pipeline = workspace.pipeline();
    let bucket = text(&pipeline["bucket"]);
    let sdk = emulator.sdk().await;
    let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&sdk).force_path_style(true).build());
    let state_dir = workspace.dir.join("local-cloud");
    let (input, valid_ids) = input_with_bad_rows(&workspace.dir);

    // Two uploads at once are two independent runs, each with its whole result.
    let cloud = LocalCloud::start(&emulator, &state_dir, &[]);
    upload(&emulator, &input, &bucket, "input/first.csv");
    upload(&emulator, &input, &bucket, "input/second.csv");
    let runs = wait_for_ended(&emulator, &state_dir, 2, Duration::from_secs(60));
    assert_eq!(runs.len(), 2, "one run per upload: {runs:?}");
    let mut results = Vec::new();
    for (name, status) in &runs {
        assert_eq!(
            status,
            "SUCCEEDED",
            "{}",
            cli(&emulator, &state_dir, &["execution", name])
        );
        let result = object(&s3, &bucket, &format!("output/{name}.csv"))
            .await
            .expect("the result is under output/");
        let rejects = object(&s3, &bucket, &format!("output/{name}.csv.rejects.csv"))
            .await
            .expect("rejects beside it");
        let text = String::from_utf8(result.clone()).unwrap();
        let ids: Vec<&str> = text.lines().skip(1).map(|l| l.split(',').next().unwrap()).collect();
        assert_eq!(ids, valid_ids, "one line per valid row, in input order");
        assert_eq!(
            String::from_utf8(rejects).unwrap().lines().count(),
            1 + 3,
            "a header and the three bad rows"
        );
        results.push(result);
    }
    assert_eq!(results[0], results[1], "the same input gives the same bytes");
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    let mut stored = HashSet::new();
    let mut start = None;
    loop {
        let page = dynamodb
            .scan()
            .table_name(text(&pipeline["table_name"]))
            .set_exclusive_start_key(start)
            .send()
            .await
            .unwrap();
        for item in page.items() {
            stored.insert(item["OrderId"].as_s().unwrap().clone());
        }
        start = page.last_evaluated_key().cloned();
        if start.is_none() {
            break;
        }
    }
    let expected: HashSet<String> = valid_ids.iter().cloned().collect();
    assert_eq!(
        stored, expected,
        "the table holds exactly the valid, distinct Order IDs"
    );
    let report = cli(&emulator, &state_dir, &["execution", &runs[0].0]);
    assert!(
        report.contains("ProcessChunk") && report.contains(&format!("{CHUNKS} of {CHUNKS} processed")),
        "{report}"
    );

    // Killed halfway and started again, local-cloud finishes the run with the same bytes.
    upload(&emulator, &input, &bucket, "input/third.csv");
    let deadline = Instant::now() + Duration::from_secs(60);
    let third = loop {
        let running: Vec<String> = executions(&emulator, &state_dir)
            .into_iter()
            .filter(|(_, status)| status == "RUNNING")
            .map(|(name, _)| name)
            .collect();
        if let Some(name) = running.first() {
            let report = cli(&emulator, &state_dir, &["execution", name]);
            let processed = report
                .lines()
                .find_map(|l| l.strip_prefix("chunks:"))
                .and_then(|l| l.split_whitespace().next())
                .and_then(|n| n.parse::<u32>().ok());
            if processed.is_some_and(|n| n >= 1) {
                break name.clone();
            }
        }
        assert!(Instant::now() < deadline, "the third run never got halfway");
        std::thread::sleep(Duration::from_millis(50));
    };
    cloud.crash();
    let cloud = LocalCloud::start(&emulator, &state_dir, &[]);
    let runs = wait_for_ended(&emulator, &state_dir, 3, Duration::from_secs(60));
    assert_eq!(
        runs.len(),
        3,
        "the restart resumed the run instead of starting another: {runs:?}"
    );
    let status = &runs.iter().find(|(name, _)| *name == third).unwrap().1;
    assert_eq!(
        status,
        "SUCCEEDED",
        "{}",
        cli(&emulator, &state_dir, &["execution", &third])
    );
    let resumed = object(&s3, &bucket, &format!("output/{third}.csv")).await.unwrap();
    assert_eq!(resumed, results[0], "a resumed run gives the same bytes");
    drop(cloud);

    // A Job that fails is retried as the definition says, then the run fails with its cause
    // and publishes nothing.
    let failing_dir = workspace.dir.join("local-cloud-failing");
    let cloud = LocalCloud::start(
        &emulator,
        &failing_dir,
        &["--image", &format!("{JOB_IMAGE}=/bin/false"), "--retry-scale", "0"],
    );
    upload(&emulator, &input, &bucket, "input/fourth.csv");
    let runs = wait_for_ended(&emulator, &failing_dir, 1, Duration::from_secs(60));
    let (name, status) = &runs[0];
    assert_eq!(status, "FAILED");
    let report = cli(&emulator, &failing_dir, &["execution", name]);
    assert_eq!(
        report.matches("States.TaskFailed").count(),
        1 + 3,
        "the failure and its three attempts: {report}"
    );
    assert!(report.contains("BackoffLimitExceeded"), "{report}");
    assert!(
        object(&s3, &bucket, &format!("output/{name}.csv")).await.is_none(),
        "nothing is published"
    );
    drop(cloud);

    workspace.ok(&["destroy", "-auto-approve", "-input=false"]);
    assert!(
        s3.head_bucket().bucket(&bucket).send().await.is_err(),
        "destroy removes the bucket, results and all"
    );
}
