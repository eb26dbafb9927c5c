//! The table's warm throughput: created as configured, raised in place (one `UpdateTable`, the
//! same table), never lowered (a lower value is said in a warning and leaves the table alone),
//! and a raise outside Terraform, as DynamoDB makes as traffic grows, no change to plan. The emulator has no warm throughput, so the
//! provider reaches DynamoDB through testkit's fault proxy, which stands in for it and counts
//! the `UpdateTable` calls carrying one. Ignored by a plain `cargo test`; `tests/acceptance.sh`
//! runs it.

mod common;

use aws_sdk_dynamodb::types::{TableDescription, WarmThroughput};
use common::{CLUSTER, ClusterSetup, Emulator, REGION, Workspace, provider_blocks, text, unwrapped};
use eventdriven_testkit::fault_proxy::{FaultProxy, WarmUnits, WarmUpdate};

/// A pipeline whose table is warmed to `write` and `read` units a second.
fn pipeline(write: i64, read: i64) -> String {
    format!(
        r#"{providers}
resource "eventdriven_batch_pipeline" "orders" {{
  name                   = "warm"
  cluster_name           = "{CLUSTER}"
  job_image              = "ghcr.io/example/eventdriven:1"
  lambda_image           = "123456789012.dkr.ecr.{REGION}.amazonaws.com/list-chunks:1"
  table_warm_write_units = {write}
  table_warm_read_units  = {read}
}}
"#,
        providers = provider_blocks()
    )
}

/// The table as DynamoDB (the proxy) describes it.
async fn described(dynamodb: &aws_sdk_dynamodb::Client, table: &str) -> TableDescription {
    let out = dynamodb.describe_table().table_name(table).send().await.unwrap();
    out.table.expect("a described table")
}

/// `(read, write)` units a second of the table's warm throughput.
fn warm(table: &TableDescription) -> (Option<i64>, Option<i64>) {
    let warm = table.warm_throughput().expect("a warm throughput");
    (warm.read_units_per_second(), warm.write_units_per_second())
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs terraform, fakecloud and aws: run tests/acceptance.sh"]
async fn the_warm_throughput_is_created_raised_in_place_and_never_lowered() {
    let emulator = Emulator::start("warm-throughput");
    emulator.create_cluster();
    let proxy = FaultProxy::start(&emulator.endpoint);
    let sdk = emulator.sdk().await;
    let dynamodb = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&sdk)
            .endpoint_url(&proxy.endpoint)
            .build(),
    );
    let mut workspace = Workspace::of_config("warm-throughput", &emulator, &pipeline(40_000, 15_000));
    workspace
        .env
        .push(("AWS_ENDPOINT_URL_DYNAMODB", proxy.endpoint.clone()));

    workspace.apply(&[]);
    let table = text(&workspace.pipeline()["table_name"]);
    let created = described(&dynamodb, &table).await;
    assert_eq!(warm(&created), (Some(15_000), Some(40_000)), "as created");
    assert!(proxy.warm_throughput_updates().is_empty(), "CreateTable carried it");
    assert_eq!(
        workspace.plan_exit_code().0,
        0,
        "a fresh apply leaves nothing to change"
    );

    // Raised: an update in place, one UpdateTable, the same table.
    workspace.configure(&pipeline(60_000, 15_000));
    let (code, plan) = workspace.plan_exit_code();
    assert_eq!(code, 2, "{plan}");
    assert!(
        plan.contains("will be updated in-place") && !plan.contains("must be replaced"),
        "an update in place: {plan}"
    );
    assert!(plan.contains("table_warm_write_units"), "{plan}");
    workspace.apply(&[]);
    let raised = WarmUpdate {
        table: table.clone(),
        units: WarmUnits {
            read: None,
            write: Some(60_000),
        },
    };
    assert_eq!(
        proxy.warm_throughput_updates(),
        std::slice::from_ref(&raised),
        "only the raised value is sent"
    );
    let updated = described(&dynamodb, &table).await;
    assert_eq!(
        (updated.table_arn(), updated.creation_date_time()),
        (created.table_arn(), created.creation_date_time()),
        "the same table"
    );
    assert_eq!(warm(&updated), (Some(15_000), Some(60_000)));
    assert_eq!(workspace.plan_exit_code().0, 0, "nothing left to change");

    // Lowered: DynamoDB cannot; the apply says so and makes no call.
    workspace.configure(&pipeline(50_000, 15_000));
    let applied = workspace.try_apply();
    assert!(applied.status.success());
    let said = unwrapped(&[&applied.stdout[..], &applied.stderr[..]].concat());
    assert!(
        said.contains("Warning") && said.contains("table_warm_write_units = 50000") && said.contains("60000"),
        "the apply names the attribute and the table's value: {said}"
    );
    assert_eq!(
        proxy.warm_throughput_updates(),
        std::slice::from_ref(&raised),
        "no UpdateTable"
    );
    assert_eq!(warm(&described(&dynamodb, &table).await), (Some(15_000), Some(60_000)));
    assert_eq!(workspace.plan_exit_code().0, 0, "the configuration is the state's");

    // Raised outside Terraform, as DynamoDB raises it when traffic grows: nothing to plan.
    let outside = WarmThroughput::builder().read_units_per_second(20_000).build();
    dynamodb
        .update_table()
        .table_name(&table)
        .warm_throughput(outside)
        .send()
        .await
        .unwrap();
    let (code, plan) = workspace.plan_exit_code();
    assert_eq!(code, 0, "a raise is no change to set back: {plan}");
    assert!(workspace.pipeline()["changed_outside_terraform"].is_null());
    assert_eq!(proxy.warm_throughput_updates().len(), 2, "the outside one only");

    workspace.ok(&["destroy", "-auto-approve", "-input=false"]);
    let tables = dynamodb.list_tables().send().await.unwrap();
    assert!(tables.table_names().is_empty(), "{:?}", tables.table_names());
    assert!(workspace.pipeline().is_null(), "nothing left in the state");
}
