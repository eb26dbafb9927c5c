//! The laptop loop, end to end: `terraform apply` the order example against the emulator, start
//! `eventdriven local-cloud`, `aws s3 cp` an order file under `input/`, and get the result under
//! `output/`, with the deployed definition, Job manifests and function run on this machine.
//! Ignored by a plain `cargo test`; `tests/acceptance.sh` runs it.

mod common;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::*;

/// Rows of the generated input, to which three bad rows are added.
const ROWS: u64 = 20_000;
const LINES_PER_CHUNK: u64 = 2_000;
const CHUNKS: u64 = (ROWS + 3).div_ceil(LINES_PER_CHUNK);

async fn object(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Option<Vec<u8>> {
    let found = s3.get_object().bucket(bucket).key(key).send().await.ok()?;
    Some(found.body.collect().await.unwrap().into_bytes().to_vec())
}

/// A generated order file with three bad rows in it; returns the valid rows' Order IDs in order.
fn input_with_bad_rows(dir: &Path) -> (PathBuf, Vec<String>) {
    let mut lines = generate_orders(&dir.join("generated.csv"), ROWS, 7);
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
    let variables = local_cloud_variables("orders", LINES_PER_CHUNK, "max_concurrency = 2\n");
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

    // The example declares the order layout in its record block; its result and items are
    // byte for byte those of the build before the block existed (recorded with that build's
    // `eventdriven run --pipeline-name orders` on the same file).
    let earlier: HashSet<String> = runs.into_iter().map(|(name, _)| name).collect();
    let payload = repo_root().join("examples/order-batch/payload/test.csv");
    upload(&emulator, &payload, &bucket, "input/recorded.csv");
    let runs = wait_for_ended(&emulator, &state_dir, earlier.len() + 1, Duration::from_secs(60));
    let (name, status) = runs.iter().find(|(name, _)| !earlier.contains(name)).unwrap();
    assert_eq!(
        status,
        "SUCCEEDED",
        "{}",
        cli(&emulator, &state_dir, &["execution", name])
    );
    let recorded = repo_root().join("provider/tests/fixtures/order-batch");
    let result = object(&s3, &bucket, &format!("output/{name}.csv")).await.unwrap();
    assert!(
        result == std::fs::read(recorded.join("test.result.csv")).unwrap(),
        "the result differs from the recorded one"
    );
    // DynamoDB keeps numbers, not their text: `1.50` comes back as `1.5`.
    let mut expected = Vec::new();
    for line in std::fs::read_to_string(recorded.join("test.items.jsonl"))
        .unwrap()
        .lines()
    {
        let mut item: serde_json::Value = serde_json::from_str(line).unwrap();
        for value in item.as_object_mut().unwrap().values_mut() {
            if let Some(number) = value["N"].as_str() {
                value["N"] = serde_json::json!(canonical_number(number));
            }
        }
        expected.push(item);
    }
    let mut items = Vec::new();
    for recorded_item in &expected {
        let key = recorded_item["OrderId"]["S"].as_str().unwrap();
        let item = dynamodb
            .get_item()
            .table_name(text(&pipeline["table_name"]))
            .key("OrderId", aws_sdk_dynamodb::types::AttributeValue::S(key.into()))
            .send()
            .await
            .unwrap();
        items.push(dynamodb_json(item.item().expect("every recorded order is stored")));
    }
    let expected: Vec<String> = expected.iter().map(|item| item.to_string()).collect();
    assert!(items == expected, "the items differ from the recorded ones");
    drop(cloud);

    // A Job whose pods fail is retried within the Job (its backoffLimit: five pod attempts),
    // never again by Step Functions, then the run fails with its cause and publishes nothing.
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
        1 + 1,
        "the run's failure and its one task attempt: {report}"
    );
    assert!(report.contains("after 5 pod attempt(s)"), "{report}");
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

/// A number as DynamoDB returns it: no trailing zeros after the point (`1.50` is `1.5`).
fn canonical_number(number: &str) -> String {
    match number.contains('.') {
        true => number.trim_end_matches('0').trim_end_matches('.').to_owned(),
        false => number.to_owned(),
    }
}

/// An item as DynamoDB JSON, its attributes in name order and its numbers as DynamoDB returns
/// them, on one line.
fn dynamodb_json(item: &std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>) -> String {
    let attributes: std::collections::BTreeMap<&String, serde_json::Value> = item
        .keys()
        .map(|name| {
            let (kind, text) = typed(item, name).unwrap();
            let value = match kind {
                "BOOL" => serde_json::json!(text == "true"),
                "N" => serde_json::json!(canonical_number(&text)),
                _ => serde_json::json!(text),
            };
            (name, serde_json::json!({ kind: value }))
        })
        .collect();
    serde_json::to_string(&attributes).unwrap()
}

/// A DynamoDB item's attribute as `(type, value)`, for the checks below.
fn typed(
    item: &std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>,
    name: &str,
) -> Option<(&'static str, String)> {
    use aws_sdk_dynamodb::types::AttributeValue;
    Some(match item.get(name)? {
        AttributeValue::S(text) => ("S", text.clone()),
        AttributeValue::N(number) => ("N", number.clone()),
        AttributeValue::Bool(flag) => ("BOOL", flag.to_string()),
        other => panic!("{name}: unexpected {other:?}"),
    })
}

#[tokio::test]
#[ignore = "needs terraform, fakecloud, aws and redis-server: run tests/acceptance.sh"]
async fn a_declared_layout_loads_typed_items_and_names_each_rejected_value() {
    let emulator = Emulator::start("csv-to-dynamodb");
    emulator.create_cluster();
    let variables = format!(
        "cluster_name = \"{CLUSTER}\"\njob_image = \"{JOB_IMAGE}\"\nlambda_image = \"123456789012.dkr.ecr.{REGION}.amazonaws.com/eventdriven-lambda:1\"\nmax_lines_per_batch = 4\nforce_destroy = true\n"
    );
    let workspace = Workspace::of_example("csv-to-dynamodb", "csv-to-dynamodb", &emulator, &variables);
    workspace.apply(&[]);
    let pipeline = workspace.resource("eventdriven_batch_pipeline");
    let bucket = text(&pipeline["bucket"]);
    let table = text(&pipeline["table_name"]);
    let sdk = emulator.sdk().await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    let key_schema = dynamodb.describe_table().table_name(&table).send().await.unwrap();
    let key_schema = key_schema.table().unwrap();
    assert_eq!(key_schema.key_schema()[0].attribute_name(), "Index");
    assert_eq!(
        key_schema.attribute_definitions()[0].attribute_type().as_str(),
        "N",
        "an integer key is a number key"
    );

    let state_dir = workspace.dir.join("local-cloud");
    let _cloud = LocalCloud::start(&emulator, &state_dir, &[]);
    let input = repo_root().join("examples/csv-to-dynamodb/payload/customers.csv");
    upload(&emulator, &input, &bucket, "input/customers.csv");
    let runs = wait_for_ended(&emulator, &state_dir, 1, Duration::from_secs(60));
    let (name, status) = &runs[0];
    assert_eq!(
        status,
        "SUCCEEDED",
        "{}",
        cli(&emulator, &state_dir, &["execution", name])
    );

    let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&sdk).force_path_style(true).build());
    let result = object(&s3, &bucket, &format!("output/{name}.csv"))
        .await
        .expect("the result");
    let result = String::from_utf8(result).unwrap();
    let lines: Vec<&str> = result.lines().collect();
    assert_eq!(lines[0], "Index,CustomerId,RecordHash", "the declared output columns");
    let indexes: Vec<&str> = lines[1..].iter().map(|l| l.split(',').next().unwrap()).collect();
    assert_eq!(
        indexes,
        ["1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "15"],
        "good rows, in input order"
    );
    assert_eq!(
        lines[1], "1,DD37Cf93aecA6Dc,6b86b273ff34fce19d6b804eff5a3f5747ada4eaa22f1d49c01e52ddb7875b4b",
        "the record hash is the SHA-256 of the key"
    );

    let rejects = object(&s3, &bucket, &format!("output/{name}.csv.rejects.csv"))
        .await
        .expect("rejects beside it");
    let rejects = String::from_utf8(rejects).unwrap();
    let reasons: Vec<&str> = rejects.lines().skip(1).collect();
    assert_eq!(reasons.len(), 4, "{rejects}");
    // Each with its input line (the header is line 1), and a reason naming column and value.
    for (line, column, value) in [
        (12, "Newsletter", "maybe"),
        (13, "Index", "twelve"),
        (14, "Last Seen", "last week"),
        (15, "Lifetime Value", "empty"),
    ] {
        let reason = reasons
            .iter()
            .find(|r| r.starts_with(&format!("{line},")))
            .and_then(|r| r.split(",\"").nth(1))
            .unwrap_or_else(|| panic!("no reject of line {line}: {rejects}"));
        assert!(
            reason.contains(column) && reason.contains(value),
            "the reject of line {line} names {column} and {value:?}: {rejects}"
        );
    }

    let scan = dynamodb.scan().table_name(&table).send().await.unwrap();
    assert_eq!(scan.items().len(), 11, "one item per good row");
    let item = |index: &str| {
        scan.items()
            .iter()
            .find(|i| typed(i, "Index") == Some(("N", index.to_owned())))
            .unwrap_or_else(|| panic!("no item {index}"))
    };
    let second = item("2");
    assert_eq!(typed(second, "Newsletter"), Some(("BOOL", "false".into())));
    assert_eq!(
        typed(second, "LastSeen"),
        Some(("S", "2024-02-28T16:40:12Z".into())),
        "a timestamp is stored in UTC"
    );
    assert_eq!(typed(second, "SubscriptionDate"), Some(("S", "2021-04-23".into())));
    assert_eq!(typed(second, "LifetimeValue"), Some(("N", "89.99".into())));
    assert_eq!(typed(second, "Phone"), Some(("S", "5153435776".into())));
    assert_eq!(
        typed(item("3"), "Newsletter"),
        Some(("BOOL", "true".into())),
        "yes is true"
    );
    assert_eq!(
        typed(item("3"), "Phone"),
        None,
        "an empty optional field stores no attribute"
    );
    assert_eq!(typed(item("5"), "LastSeen"), Some(("S", "2024-03-02T15:00:00Z".into())));

    workspace.ok(&["destroy", "-auto-approve", "-input=false"]);
}

const PROCESS_IMAGE: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/enrich";

/// The result of the run `name`, or `None` when nothing was published.
async fn result_of(s3: &aws_sdk_s3::Client, bucket: &str, name: &str) -> Option<String> {
    object(s3, bucket, &format!("output/{name}.csv"))
        .await
        .map(|bytes| String::from_utf8(bytes).unwrap())
}

/// Uploads `input` and waits for the run it starts to end; returns its name and status.
fn run_upload(emulator: &Emulator, state_dir: &Path, input: &Path, bucket: &str, key: &str) -> (String, String) {
    let before: HashSet<String> = executions(emulator, state_dir)
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    upload(emulator, input, bucket, key);
    let runs = wait_for_ended(emulator, state_dir, before.len() + 1, Duration::from_secs(90));
    runs.into_iter().find(|(name, _)| !before.contains(name)).unwrap()
}

#[tokio::test]
#[ignore = "needs terraform, fakecloud, aws, redis-server and python3: run tests/acceptance.sh"]
async fn a_user_s_process_step_runs_under_the_pipeline_s_accounting() {
    let emulator = Emulator::start("custom-process");
    emulator.create_cluster();
    let workspace = Workspace::of_example("custom-process", "custom-process", &emulator, "");
    let variables = |process_env: &str| {
        format!(
            "cluster_name = \"{CLUSTER}\"\njob_image = \"{JOB_IMAGE}\"\nlambda_image = \"123456789012.dkr.ecr.{REGION}.amazonaws.com/eventdriven-lambda:1\"\nprocess_image = \"{PROCESS_IMAGE}:1\"\nmax_lines_per_batch = 100\nforce_destroy = true\nprocess_env = {{{process_env}}}\n"
        )
    };
    let apply_with = |process_env: &str| {
        std::fs::write(workspace.dir.join("terraform.tfvars"), variables(process_env)).unwrap();
        workspace.apply(&[]);
    };
    apply_with("");
    let pipeline = workspace.resource("eventdriven_batch_pipeline");
    assert!(
        pipeline["table_name"].is_null(),
        "table = false creates no table: {pipeline}"
    );
    let bucket = text(&pipeline["bucket"]);
    let sdk = emulator.sdk().await;
    let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&sdk).force_path_style(true).build());
    let step = format!(
        "{PROCESS_IMAGE}=python3 {}",
        repo_root().join("examples/custom-process/enrich.py").display()
    );
    let state_dir = workspace.dir.join("local-cloud");
    let cloud_args = ["--image", step.as_str(), "--retry-scale", "0"];

    // 1000 orders and one whose revenue is 0, which the step rejects.
    let payload = std::fs::read_to_string(repo_root().join("examples/order-batch/payload/test.csv")).unwrap();
    let input = workspace.dir.join("orders.csv");
    let zero_revenue = "Asia,Japan,Fruits,Offline,M,7/27/2012,42,7/28/2012,1,9.33,6.92,0,6.92,2.41";
    std::fs::write(&input, format!("{payload}{zero_revenue}\n")).unwrap();
    let ids: Vec<&str> = payload.lines().skip(1).map(|l| l.split(',').nth(6).unwrap()).collect();

    let cloud = LocalCloud::start(&emulator, &state_dir, &cloud_args);
    let (clean, status) = run_upload(&emulator, &state_dir, &input, &bucket, "input/clean.csv");
    assert_eq!(
        status,
        "SUCCEEDED",
        "{}",
        cli(&emulator, &state_dir, &["execution", &clean])
    );
    let result = result_of(&s3, &bucket, &clean).await.expect("the result");
    let lines: Vec<&str> = result.lines().collect();
    assert_eq!(lines[0], "OrderId,MarginPercent", "the step's own output header, once");
    let out_ids: Vec<&str> = lines[1..].iter().map(|l| l.split(',').next().unwrap()).collect();
    assert_eq!(out_ids, ids, "every good row, in input order");
    let rejects = object(&s3, &bucket, &format!("output/{clean}.csv.rejects.csv"))
        .await
        .unwrap();
    let rejects = String::from_utf8(rejects).unwrap();
    assert!(
        rejects
            .lines()
            .nth(1)
            .is_some_and(|l| l.starts_with("1002,") && l.contains("Total Revenue is 0")),
        "the rejected row with its input line: {rejects}"
    );

    // Killed mid-run and started again: the same bytes, nothing twice.
    let before: HashSet<String> = executions(&emulator, &state_dir)
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    upload(&emulator, &input, &bucket, "input/killed.csv");
    let deadline = Instant::now() + Duration::from_secs(60);
    let killed = loop {
        let running = executions(&emulator, &state_dir)
            .into_iter()
            .find(|(name, status)| !before.contains(name) && status == "RUNNING");
        if let Some((name, _)) = running {
            let report = cli(&emulator, &state_dir, &["execution", &name]);
            let processed = report
                .lines()
                .find_map(|l| l.strip_prefix("chunks:"))
                .and_then(|l| l.split_whitespace().next())
                .and_then(|n| n.parse::<u32>().ok());
            if processed.is_some_and(|n| n >= 1) {
                break name;
            }
        }
        assert!(Instant::now() < deadline, "the run never got going");
        std::thread::sleep(Duration::from_millis(20));
    };
    cloud.crash();
    let cloud = LocalCloud::start(&emulator, &state_dir, &cloud_args);
    wait_for_ended(&emulator, &state_dir, before.len() + 1, Duration::from_secs(90));
    assert_eq!(
        result_of(&s3, &bucket, &killed).await.as_deref(),
        Some(result.as_str()),
        "a resumed run gives the same bytes"
    );
    drop(cloud);

    // A step that fails once on every chunk, then succeeds: the same result as a clean run.
    // On the work volume, which outlives pods (the pod's /tmp does not).
    apply_with("FAIL_ONCE_DIR = \"/mnt/work/fail-once\"");
    let cloud = LocalCloud::start(&emulator, &state_dir, &cloud_args);
    let (flaky, status) = run_upload(&emulator, &state_dir, &input, &bucket, "input/flaky.csv");
    assert_eq!(
        status,
        "SUCCEEDED",
        "{}",
        cli(&emulator, &state_dir, &["execution", &flaky])
    );
    let failed_once = std::fs::read_dir(state_dir.join("volumes"))
        .unwrap()
        .filter_map(|volume| std::fs::read_dir(volume.unwrap().path().join("fail-once")).ok())
        .map(Iterator::count)
        .sum::<usize>();
    assert_eq!(failed_once, 11, "every chunk failed once");
    assert_eq!(result_of(&s3, &bucket, &flaky).await.as_deref(), Some(result.as_str()));
    drop(cloud);

    // A step that drops a row: the run fails with eventdriven.RowsLost and publishes nothing.
    apply_with("DROP_ONE_ROW = \"1\"");
    let _cloud = LocalCloud::start(&emulator, &state_dir, &cloud_args);
    let (lossy, status) = run_upload(&emulator, &state_dir, &input, &bucket, "input/lossy.csv");
    assert_eq!(status, "FAILED");
    let report = cli(&emulator, &state_dir, &["execution", &lossy]);
    // Whichever chunk fails first (the last holds a single row) names its counts, one short.
    let counts = report
        .split("eventdriven.RowsLost: chunk ")
        .nth(1)
        .and_then(|rest| rest.split_once(": "))
        .map(|(_, counts)| counts.split_whitespace().collect::<Vec<_>>());
    let (rows_in, rows_out) = counts
        .as_ref()
        .and_then(|words| Some((words.first()?.parse::<u32>().ok()?, words.get(3)?.parse::<u32>().ok()?)))
        .unwrap_or_else(|| panic!("a chunk's counts: {report}"));
    assert_eq!(rows_out + 1, rows_in, "{report}");
    assert!(report.contains("+ 0 rejected"), "{report}");
    assert_eq!(result_of(&s3, &bucket, &lossy).await, None, "nothing is published");

    workspace.ok(&["destroy", "-auto-approve", "-input=false"]);
}
