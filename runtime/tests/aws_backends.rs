//! The cloud backends against a local AWS emulator: the input read from S3, items written to
//! DynamoDB with BatchWriteItem, the result uploaded to S3 (multipart when large), and a run's
//! trail read from CloudWatch Logs.

mod common;

use aws_sdk_dynamodb::types::{AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType};
use aws_sdk_s3::primitives::ByteStream;
use eventdriven_testkit::Emulator;
use std::process::Command;

async fn create_bucket_and_table(emulator: &Emulator, bucket: &str, table: &str) -> aws_sdk_s3::Client {
    create_bucket_and_keyed_table(emulator, bucket, table, &[("OrderId", ScalarAttributeType::S)]).await
}

/// A bucket, and a table whose key is `keys`: the partition key, then the sort key if any.
async fn create_bucket_and_keyed_table(
    emulator: &Emulator,
    bucket: &str,
    table: &str,
    keys: &[(&str, ScalarAttributeType)],
) -> aws_sdk_s3::Client {
    let config = emulator.sdk().await;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(true)
            .build(),
    );
    s3.create_bucket().bucket(bucket).send().await.unwrap();
    let mut create = aws_sdk_dynamodb::Client::new(&config)
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest);
    for (n, (name, attribute_type)) in keys.iter().enumerate() {
        create = create
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name(*name)
                    .key_type(if n == 0 { KeyType::Hash } else { KeyType::Range })
                    .build()
                    .unwrap(),
            )
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(*name)
                    .attribute_type(attribute_type.clone())
                    .build()
                    .unwrap(),
            );
    }
    create.send().await.unwrap();
    s3
}

fn eventdriven(emulator: &Emulator, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_eventdriven"))
        .args(args)
        .envs(emulator.env())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

async fn object(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Vec<u8> {
    let object = s3.get_object().bucket(bucket).key(key).send().await.unwrap();
    object.body.collect().await.unwrap().into_bytes().to_vec()
}

#[tokio::test(flavor = "multi_thread")]
async fn s3_in_dynamodb_and_s3_out() {
    let emulator = Emulator::start("aws_backends-1");
    let s3 = create_bucket_and_table(&emulator, "orders-bucket", "orders").await;
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("orders.csv");
    common::generated(&input, 1_234, 4);
    let mut bytes = std::fs::read(&input).unwrap();
    bytes.extend_from_slice(format!("{}\n", common::row(4242)).as_bytes()); // a duplicate-free extra row
    bytes.extend_from_slice(b"not,a,row\n");
    s3.put_object()
        .bucket("orders-bucket")
        .key("input/orders.csv")
        .body(ByteStream::from(bytes))
        .send()
        .await
        .unwrap();

    let work = dir.path().join("work");
    eventdriven(
        &emulator,
        &[
            "run",
            "--input",
            "s3://orders-bucket/input/orders.csv",
            "--output",
            "s3://orders-bucket/output/orders.csv",
            "--table",
            "dynamodb://orders",
            "--max-lines-per-batch",
            "400",
            "--work-dir",
            work.to_str().unwrap(),
        ],
    );
    let result = String::from_utf8(object(&s3, "orders-bucket", "output/orders.csv").await).unwrap();
    assert_eq!(result.lines().count(), 1 + 1_235);
    let rejects = String::from_utf8(object(&s3, "orders-bucket", "output/orders.csv.rejects.csv").await).unwrap();
    assert_eq!(
        rejects.lines().collect::<Vec<_>>(),
        ["line,reason,raw", "1237,\"expected 14 fields, found 3\",\"not,a,row\""]
    );

    assert_eq!(
        eventdriven(&emulator, &["orders", "count", "--table", "dynamodb://orders"]).trim(),
        "1235"
    );
    let item: serde_json::Value = serde_json::from_str(&eventdriven(
        &emulator,
        &["orders", "get", "4242", "--table", "dynamodb://orders"],
    ))
    .unwrap();
    assert_eq!(item["OrderId"]["S"], "4242");
    assert_eq!(item["UnitCost"]["N"], "6.92");
}

/// A declared record's items reach DynamoDB typed as declared: an N partition key and an S sort
/// key, booleans as BOOL, numbers as N.
#[tokio::test(flavor = "multi_thread")]
async fn a_declared_record_is_written_to_dynamodb_typed() {
    use aws_sdk_dynamodb::types::AttributeValue;
    let emulator = Emulator::start("aws_backends-4");
    create_bucket_and_keyed_table(
        &emulator,
        "readings-bucket",
        "readings",
        &[("Sensor", ScalarAttributeType::N), ("At", ScalarAttributeType::S)],
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("readings.csv");
    common::write_readings(&input, 1_000, 3);
    let record = dir.path().join("record.json");
    std::fs::write(&record, common::READINGS).unwrap();
    let output = dir.path().join("result.csv");
    eventdriven(
        &emulator,
        &[
            "run",
            "--input",
            input.to_str().unwrap(),
            "--output",
            output.to_str().unwrap(),
            "--table",
            "dynamodb://readings",
            "--record",
            record.to_str().unwrap(),
            "--max-lines-per-batch",
            "300",
            "--work-dir",
            dir.path().join("work").to_str().unwrap(),
        ],
    );
    assert_eq!(
        eventdriven(&emulator, &["orders", "count", "--table", "dynamodb://readings"]).trim(),
        "1000"
    );
    let item = aws_sdk_dynamodb::Client::new(&emulator.sdk().await)
        .get_item()
        .table_name("readings")
        .key("Sensor", AttributeValue::N("0".into()))
        .key("At", AttributeValue::S("2024-03-01T00:00:00Z".into()))
        .send()
        .await
        .unwrap()
        .item
        .expect("the first reading is stored under its typed key");
    assert!(item["Ok"].is_bool(), "{item:?}");
    assert!(item["Level"].is_n(), "{item:?}");
    let printed: serde_json::Value = serde_json::from_str(&eventdriven(
        &emulator,
        &[
            "orders",
            "get",
            "0",
            "--sort-key",
            "2024-03-01T00:00:00Z",
            "--record",
            record.to_str().unwrap(),
            "--table",
            "dynamodb://readings",
        ],
    ))
    .unwrap();
    assert_eq!(printed["Sensor"], serde_json::json!({"N": "0"}));
}

#[tokio::test(flavor = "multi_thread")]
async fn large_results_are_uploaded_in_parts() {
    let emulator = Emulator::start("aws_backends-2");
    let s3 = create_bucket_and_table(&emulator, "big", "unused").await;
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("orders.csv");
    common::generated(&input, 200_000, 6); // ~9.6 MB of result: more than one 8 MiB part
    let table = dir.path().join("orders.table");
    eventdriven(
        &emulator,
        &[
            "run",
            "--input",
            input.to_str().unwrap(),
            "--output",
            "s3://big/output/large.csv",
            "--table",
            table.to_str().unwrap(),
            "--work-dir",
            dir.path().join("work").to_str().unwrap(),
        ],
    );
    let stored = object(&s3, "big", "output/large.csv").await;
    assert!(stored.len() > 8 << 20, "{} bytes", stored.len());
    let text = String::from_utf8(stored).unwrap();
    assert_eq!(text.lines().count(), 200_001);
    let ids: Vec<&str> = text.lines().skip(1).map(|l| l.split(',').next().unwrap()).collect();
    let source = std::fs::read_to_string(&input).unwrap();
    let expected: Vec<&str> = source.lines().skip(1).map(|l| l.split(',').nth(6).unwrap()).collect();
    assert!(ids == expected, "parts are assembled in input order");
    let uploads = s3.list_multipart_uploads().bucket("big").send().await.unwrap();
    assert!(uploads.uploads().is_empty(), "no incomplete upload is left behind");
}

/// A distributed Map whose items come from a CSV object in the emulator's S3 and whose results
/// go back there, through the local `s3:getObject` and `s3:putObject` integrations.
#[tokio::test]
async fn a_distributed_map_reads_and_writes_the_emulators_s3() {
    use eventdriven_runtime::local::s3_objects::{ObjectStore, S3Objects};
    use eventdriven_states::{Integrations, Interpreter, StartExecution, Status, TaskTokens};
    use serde_json::json;

    let emulator = Emulator::start("aws_backends-3");
    let s3 = create_bucket_and_table(&emulator, "items", "unused").await;
    s3.put_object()
        .bucket("items")
        .key("in/list.csv")
        .body(ByteStream::from_static(b"id,name\n1,a\n2,b\n3,c\n"))
        .send()
        .await
        .unwrap();
    let definition = json!({"StartAt": "Each", "States": {"Each": {
        "Type": "Map",
        "ItemReader": {"Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": {"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW"},
            "Parameters": {"Bucket": "items", "Key": "in/list.csv"}},
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "Name", "States": {"Name": {"Type": "Pass", "OutputPath": "$.name", "End": true}}},
        "ResultWriter": {"Resource": "arn:aws:states:::s3:putObject", "Parameters": {"Bucket": "items", "Prefix": "out"}},
        "End": true}}});
    let integrations = Integrations::default().with(S3Objects {
        store: ObjectStore::Emulator(s3.clone()),
    });
    let execution = Interpreter::new(integrations, TaskTokens::default(), "us-east-1")
        .execute(
            &definition,
            StartExecution {
                name: "dmap".into(),
                input: json!({}),
                state_machine_arn: "arn:aws:states:us-east-1:000000000000:stateMachine:m".into(),
                role_arn: String::new(),
                observer: None,
                keep_history: true,
            },
        )
        .await;
    assert_eq!(execution.status, Status::Succeeded, "{:?}", execution.failure);
    let manifest_key = execution.output.unwrap()["ResultWriterDetails"]["Key"]
        .as_str()
        .unwrap()
        .to_owned();
    let manifest: serde_json::Value = serde_json::from_slice(&object(&s3, "items", &manifest_key).await).unwrap();
    let succeeded_key = manifest["ResultFiles"]["SUCCEEDED"][0]["Key"].as_str().unwrap();
    let succeeded: serde_json::Value = serde_json::from_slice(&object(&s3, "items", succeeded_key).await).unwrap();
    let outputs: Vec<&str> = succeeded
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["Output"].as_str().unwrap())
        .collect();
    assert_eq!(outputs, ["\"a\"", "\"b\"", "\"c\""]);
}

/// A run of a workflow declared without a `trail` block has no log group to read: `trail` says
/// so, instead of printing the SDK's raw answer.
#[tokio::test(flavor = "multi_thread")]
async fn the_trail_of_a_workflow_that_keeps_none_is_named_missing() {
    let emulator = Emulator::start("aws_backends-5");
    let sfn = aws_sdk_sfn::Client::new(&emulator.sdk().await);
    let machine = sfn
        .create_state_machine()
        .name("eventdriven-words")
        .role_arn("arn:aws:iam::123456789012:role/eventdriven-words-sfn")
        .definition(r#"{"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}"#)
        .send()
        .await
        .unwrap();
    let run = sfn
        .start_execution()
        .state_machine_arn(machine.state_machine_arn())
        .input("{}")
        .send()
        .await
        .unwrap();
    let state_dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_eventdriven"))
        .args(["trail", run.execution_arn(), "--state-dir"])
        .arg(state_dir.path())
        .envs(emulator.env())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("/aws/events/eventdriven-words does not exist: the workflow keeps no trail"),
        "{stderr}"
    );
    assert!(!stderr.contains("Response"), "no raw SDK answer: {stderr}");
}
