//! Every argument that replaces a resource, changed one at a time: the plan says the resource
//! must be replaced because of it, the apply succeeds, the new children exist, and nothing of
//! the old instance is left. The arguments are the rows marked `replaces` in each resource's
//! attribute table and the block paths `ResourceKind::replacing_in_blocks` returns. Ignored by
//! a plain `cargo test`; `tests/acceptance.sh` runs it.

mod common;

use std::collections::BTreeSet;

use aws_config::SdkConfig;
use common::{CLUSTER, ClusterSetup, Emulator, REGION, Workspace, provider_blocks, text};
use serde_json::Value;

/// One child as the emulator holds it, with what finding it takes.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Child {
    Bucket(String),
    Table(String),
    SecurityGroup(String),
    FileSystem(String),
    MountTarget(String),
    AccessPoint(String),
    Secret(String),
    CacheSubnetGroup(String),
    ReplicationGroup(String),
    Role(String),
    Function(String),
    LogGroup(String),
    StateMachine(String),
    Rule {
        bus: String,
        name: String,
    },
    /// An EKS access entry, by its ARN, of `principal` on `cluster`.
    AccessEntry {
        cluster: String,
        principal: String,
        arn: String,
    },
    PodIdentity {
        cluster: String,
        id: String,
    },
}

impl Child {
    /// What the inventory of the emulator lists it as: an access entry by its principal, as
    /// `ListAccessEntries` names it.
    fn listed(&self) -> Child {
        match self {
            Child::AccessEntry { cluster, principal, .. } => Child::AccessEntry {
                cluster: cluster.clone(),
                principal: principal.clone(),
                arn: String::new(),
            },
            other => other.clone(),
        }
    }
}

/// The name at the end of an ARN (`…:role/NAME`, `…:function:NAME`).
fn last_segment(arn: &str) -> String {
    arn.rsplit([':', '/']).next().unwrap_or_default().to_owned()
}

/// A string attribute of `state`, when set.
fn attribute(state: &Value, name: &str) -> Option<String> {
    state[name].as_str().map(str::to_owned)
}

/// Every child the pipeline's state records, and the function's log group the provider creates
/// with it.
fn pipeline_children(pipeline: &Value) -> BTreeSet<Child> {
    let mut children = BTreeSet::new();
    let cluster = text(&pipeline["cluster_name"]);
    let mut add = |name: &str, child: fn(String) -> Child| {
        if let Some(id) = attribute(pipeline, name) {
            children.insert(child(id));
        }
    };
    add("bucket", Child::Bucket);
    add("table_name", Child::Table);
    add("security_group_id", Child::SecurityGroup);
    add("file_system_id", Child::FileSystem);
    add("access_point_id", Child::AccessPoint);
    add("redis_auth_secret_arn", Child::Secret);
    add("cache_subnet_group_name", Child::CacheSubnetGroup);
    add("replication_group_id", Child::ReplicationGroup);
    add("state_machine_arn", Child::StateMachine);
    for role in [
        "job_role_arn",
        "lambda_role_arn",
        "state_machine_role_arn",
        "events_role_arn",
    ] {
        add(role, |arn| Child::Role(last_segment(&arn)));
    }
    add("lambda_function_arn", |arn| {
        Child::LogGroup(format!("/aws/lambda/{}", last_segment(&arn)))
    });
    add("lambda_function_arn", |arn| Child::Function(last_segment(&arn)));
    add("input_rule_name", |name| Child::Rule {
        bus: "default".into(),
        name,
    });
    for target in pipeline["mount_target_ids"].as_array().into_iter().flatten() {
        children.insert(Child::MountTarget(text(target)));
    }
    if let (Some(arn), Some(principal)) = (
        attribute(pipeline, "access_entry_arn"),
        attribute(pipeline, "state_machine_role_arn"),
    ) {
        children.insert(Child::AccessEntry {
            cluster: cluster.clone(),
            principal,
            arn,
        });
    }
    if let Some(id) = attribute(pipeline, "pod_identity_association_id") {
        children.insert(Child::PodIdentity { cluster, id });
    }
    children
}

/// Every child the workflow's state records, and each listener function's log group.
fn workflow_children(workflow: &Value) -> BTreeSet<Child> {
    let mut children = BTreeSet::new();
    let bus = text(&workflow["event_bus"]);
    let mut add = |name: &str, child: &dyn Fn(String) -> Child| {
        if let Some(id) = attribute(workflow, name) {
            children.insert(child(id));
        }
    };
    add("bucket_name", &Child::Bucket);
    add("trail_log_group", &Child::LogGroup);
    add("finisher_log_group", &Child::LogGroup);
    for role in ["main_role_arn", "finisher_role_arn", "events_role_arn"] {
        add(role, &|arn| Child::Role(last_segment(&arn)));
    }
    add("state_machine_arn", &Child::StateMachine);
    add("finisher_arn", &Child::StateMachine);
    for rule in [
        "start_rule_name",
        "finisher_rule_name",
        "trail_rule_name",
        "results_rule_name",
    ] {
        add(rule, &|name| Child::Rule { bus: bus.clone(), name });
    }
    let each = |map: &str| -> Vec<String> {
        workflow[map]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(_, id)| text(id))
            .collect()
    };
    for arn in each("listener_role_arns") {
        children.insert(Child::Role(last_segment(&arn)));
    }
    for arn in each("listener_function_arns") {
        children.insert(Child::Function(last_segment(&arn)));
        children.insert(Child::LogGroup(format!("/aws/lambda/{}", last_segment(&arn))));
    }
    for name in each("listener_rule_names") {
        children.insert(Child::Rule { bus: bus.clone(), name });
    }
    children
}

fn s3(sdk: &SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(sdk).force_path_style(true).build())
}

/// Whether `child` exists in the emulator, asked by its own identity.
async fn exists(sdk: &SdkConfig, child: &Child) -> bool {
    match child {
        Child::Bucket(name) => s3(sdk).head_bucket().bucket(name).send().await.is_ok(),
        Child::Table(name) => aws_sdk_dynamodb::Client::new(sdk)
            .describe_table()
            .table_name(name)
            .send()
            .await
            .is_ok(),
        Child::SecurityGroup(id) => aws_sdk_ec2::Client::new(sdk)
            .describe_security_groups()
            .group_ids(id)
            .send()
            .await
            .is_ok_and(|out| !out.security_groups().is_empty()),
        Child::FileSystem(id) => aws_sdk_efs::Client::new(sdk)
            .describe_file_systems()
            .file_system_id(id)
            .send()
            .await
            .is_ok_and(|out| !out.file_systems().is_empty()),
        Child::MountTarget(id) => aws_sdk_efs::Client::new(sdk)
            .describe_mount_targets()
            .mount_target_id(id)
            .send()
            .await
            .is_ok_and(|out| !out.mount_targets().is_empty()),
        Child::AccessPoint(id) => aws_sdk_efs::Client::new(sdk)
            .describe_access_points()
            .access_point_id(id)
            .send()
            .await
            .is_ok_and(|out| !out.access_points().is_empty()),
        Child::Secret(arn) => aws_sdk_secretsmanager::Client::new(sdk)
            .describe_secret()
            .secret_id(arn)
            .send()
            .await
            .is_ok_and(|out| out.deleted_date().is_none()),
        Child::CacheSubnetGroup(name) => aws_sdk_elasticache::Client::new(sdk)
            .describe_cache_subnet_groups()
            .cache_subnet_group_name(name)
            .send()
            .await
            .is_ok_and(|out| !out.cache_subnet_groups().is_empty()),
        Child::ReplicationGroup(id) => aws_sdk_elasticache::Client::new(sdk)
            .describe_replication_groups()
            .replication_group_id(id)
            .send()
            .await
            .is_ok_and(|out| !out.replication_groups().is_empty()),
        Child::Role(name) => aws_sdk_iam::Client::new(sdk)
            .get_role()
            .role_name(name)
            .send()
            .await
            .is_ok(),
        Child::Function(name) => aws_sdk_lambda::Client::new(sdk)
            .get_function()
            .function_name(name)
            .send()
            .await
            .is_ok(),
        Child::LogGroup(name) => aws_sdk_cloudwatchlogs::Client::new(sdk)
            .describe_log_groups()
            .log_group_name_prefix(name)
            .send()
            .await
            .is_ok_and(|out| out.log_groups().iter().any(|g| g.log_group_name() == Some(name))),
        Child::StateMachine(arn) => aws_sdk_sfn::Client::new(sdk)
            .describe_state_machine()
            .state_machine_arn(arn)
            .send()
            .await
            .is_ok(),
        Child::Rule { bus, name } => aws_sdk_eventbridge::Client::new(sdk)
            .describe_rule()
            .name(name)
            .event_bus_name(bus)
            .send()
            .await
            .is_ok(),
        Child::AccessEntry {
            cluster,
            principal,
            arn,
        } => aws_sdk_eks::Client::new(sdk)
            .describe_access_entry()
            .cluster_name(cluster)
            .principal_arn(principal)
            .send()
            .await
            .is_ok_and(|out| out.access_entry().and_then(|e| e.access_entry_arn()) == Some(arn)),
        Child::PodIdentity { cluster, id } => aws_sdk_eks::Client::new(sdk)
            .describe_pod_identity_association()
            .cluster_name(cluster)
            .association_id(id)
            .send()
            .await
            .is_ok(),
    }
}

/// What the emulator holds of any pipeline or workflow on `clusters` and `buses`: every child
/// of a kind they create, listed (not looked up by a name the state gives), as
/// [`Child::listed`] names it.
async fn inventory(sdk: &SdkConfig, clusters: &[&str], buses: &[&str]) -> BTreeSet<Child> {
    let ours = |name: &str| name.starts_with("eventdriven");
    let mut found = BTreeSet::new();
    let buckets = s3(sdk).list_buckets().send().await.unwrap();
    found.extend(
        buckets
            .buckets()
            .iter()
            .filter_map(|b| b.name())
            .map(|n| Child::Bucket(n.into())),
    );
    let tables = aws_sdk_dynamodb::Client::new(sdk).list_tables().send().await.unwrap();
    found.extend(tables.table_names().iter().cloned().map(Child::Table));
    let groups = aws_sdk_ec2::Client::new(sdk)
        .describe_security_groups()
        .send()
        .await
        .unwrap();
    found.extend(
        groups
            .security_groups()
            .iter()
            .filter(|g| g.group_name().is_some_and(ours))
            .filter_map(|g| g.group_id())
            .map(|id| Child::SecurityGroup(id.into())),
    );
    let efs = aws_sdk_efs::Client::new(sdk);
    let file_systems = efs.describe_file_systems().send().await.unwrap();
    for file_system in file_systems.file_systems() {
        let id = file_system.file_system_id();
        found.insert(Child::FileSystem(id.into()));
        let targets = efs.describe_mount_targets().file_system_id(id).send().await.unwrap();
        found.extend(
            targets
                .mount_targets()
                .iter()
                .map(|t| Child::MountTarget(t.mount_target_id().into())),
        );
        let points = efs.describe_access_points().file_system_id(id).send().await.unwrap();
        found.extend(
            points
                .access_points()
                .iter()
                .filter_map(|p| p.access_point_id())
                .map(|p| Child::AccessPoint(p.into())),
        );
    }
    let secrets = aws_sdk_secretsmanager::Client::new(sdk)
        .list_secrets()
        .send()
        .await
        .unwrap();
    found.extend(
        secrets
            .secret_list()
            .iter()
            .filter(|s| s.deleted_date().is_none())
            .filter_map(|s| s.arn())
            .map(|arn| Child::Secret(arn.into())),
    );
    let elasticache = aws_sdk_elasticache::Client::new(sdk);
    let subnet_groups = elasticache.describe_cache_subnet_groups().send().await.unwrap();
    found.extend(
        subnet_groups
            .cache_subnet_groups()
            .iter()
            .filter_map(|g| g.cache_subnet_group_name())
            .filter(|n| ours(n))
            .map(|n| Child::CacheSubnetGroup(n.into())),
    );
    let replication_groups = elasticache.describe_replication_groups().send().await.unwrap();
    found.extend(
        replication_groups
            .replication_groups()
            .iter()
            .filter_map(|g| g.replication_group_id())
            .map(|id| Child::ReplicationGroup(id.into())),
    );
    let roles = aws_sdk_iam::Client::new(sdk).list_roles().send().await.unwrap();
    found.extend(
        roles
            .roles()
            .iter()
            .map(|r| r.role_name())
            .filter(|n| ours(n))
            .map(|n| Child::Role(n.into())),
    );
    let functions = aws_sdk_lambda::Client::new(sdk).list_functions().send().await.unwrap();
    found.extend(
        functions
            .functions()
            .iter()
            .filter_map(|f| f.function_name())
            .map(|n| Child::Function(n.into())),
    );
    let logs = aws_sdk_cloudwatchlogs::Client::new(sdk);
    let log_groups = logs.describe_log_groups().send().await.unwrap();
    found.extend(
        log_groups
            .log_groups()
            .iter()
            .filter_map(|g| g.log_group_name())
            .filter(|n| n.contains("eventdriven"))
            .map(|n| Child::LogGroup(n.into())),
    );
    let machines = aws_sdk_sfn::Client::new(sdk)
        .list_state_machines()
        .send()
        .await
        .unwrap();
    found.extend(
        machines
            .state_machines()
            .iter()
            .map(|m| Child::StateMachine(m.state_machine_arn().into())),
    );
    let events = aws_sdk_eventbridge::Client::new(sdk);
    for bus in buses {
        let rules = events.list_rules().event_bus_name(*bus).send().await.unwrap();
        found.extend(rules.rules().iter().filter_map(|r| r.name()).map(|name| Child::Rule {
            bus: (*bus).into(),
            name: name.into(),
        }));
    }
    let eks = aws_sdk_eks::Client::new(sdk);
    for cluster in clusters {
        let entries = eks.list_access_entries().cluster_name(*cluster).send().await.unwrap();
        found.extend(
            entries
                .access_entries()
                .iter()
                .filter(|principal| principal.contains("eventdriven-"))
                .map(|principal| Child::AccessEntry {
                    cluster: (*cluster).into(),
                    principal: principal.clone(),
                    arn: String::new(),
                }),
        );
        let associations = eks
            .list_pod_identity_associations()
            .cluster_name(*cluster)
            .send()
            .await
            .unwrap();
        found.extend(
            associations
                .associations()
                .iter()
                .filter_map(|a| a.association_id())
                .map(|id| Child::PodIdentity {
                    cluster: (*cluster).into(),
                    id: id.into(),
                }),
        );
    }
    found
}

/// After replacing `before` with `after`: every child of `after` exists, every child of
/// `before` that `after` does not share by identity (one re-created under the same name is
/// shared) is gone, and the emulator holds nothing else.
async fn assert_replaced(
    sdk: &SdkConfig,
    argument: &str,
    before: &BTreeSet<Child>,
    after: &BTreeSet<Child>,
    clusters: &[&str],
    buses: &[&str],
) {
    for child in after {
        assert!(exists(sdk, child).await, "{argument}: the new {child:?} exists");
    }
    for child in before.difference(after) {
        assert!(!exists(sdk, child).await, "{argument}: the old {child:?} is gone");
    }
    let expected: BTreeSet<Child> = after.iter().map(Child::listed).collect();
    let live = inventory(sdk, clusters, buses).await;
    let orphans: Vec<&Child> = live.difference(&expected).collect();
    assert!(orphans.is_empty(), "{argument}: left behind: {orphans:?}");
    let missing: Vec<&Child> = expected.difference(&live).collect();
    assert!(missing.is_empty(), "{argument}: not listed: {missing:?}");
}

/// The lines of a plan that say a change forces replacement.
fn forcing_lines(plan: &str) -> Vec<&str> {
    plan.lines()
        .filter(|line| line.contains("# forces replacement"))
        .collect()
}

/// Plans the configuration now in `workspace`: the resource must be replaced, and a line
/// forcing it names `forced_at`.
fn assert_plans_replacement(workspace: &Workspace, argument: &str, forced_at: &str) {
    let (code, plan) = workspace.plan_exit_code();
    assert_eq!(code, 2, "{argument}: the plan shows a change: {plan}");
    assert!(plan.contains("must be replaced"), "{argument}: replaced: {plan}");
    let forcing = forcing_lines(&plan);
    assert!(
        forcing.iter().any(|line| line
            .trim_start_matches([' ', '~', '+', '-'])
            .starts_with(&format!("{forced_at} "))),
        "{argument}: the plan says {forced_at} forces it: {forcing:?}\n{plan}"
    );
}

/// The `record` block: keys `Id` (with `sort_key`) or `Serial`, `Serial` of `serial_type`.
#[derive(Clone)]
struct RecordConfig {
    key: &'static str,
    sort_key: Option<&'static str>,
    serial_type: &'static str,
}

impl RecordConfig {
    fn render(&self) -> String {
        let RecordConfig {
            key,
            sort_key,
            serial_type,
        } = self;
        let sort_key = sort_key.map(|s| format!("sort_key = \"{s}\"")).unwrap_or_default();
        format!(
            r#"
  record {{
    key = "{key}"
    {sort_key}
    column {{
      header = "Id"
      type   = "integer"
    }}
    column {{
      header = "Day"
      type   = "date"
    }}
    column {{
      header = "Serial"
      type   = "{serial_type}"
    }}
    output = ["Id", "Day"]
  }}
"#
        )
    }
}

/// A pipeline configuration: its arguments besides the images, its record, and whether it
/// has a user's process step.
#[derive(Clone)]
struct PipelineConfig {
    arguments: Vec<(&'static str, String)>,
    record: Option<RecordConfig>,
    process: bool,
}

impl PipelineConfig {
    /// Sets `argument` to `value` (HCL).
    fn set(&mut self, argument: &'static str, value: &str) {
        self.arguments.retain(|(name, _)| *name != argument);
        self.arguments.push((argument, value.to_owned()));
    }

    fn render(&self) -> String {
        let arguments: String = self
            .arguments
            .iter()
            .map(|(name, value)| format!("  {name} = {value}\n"))
            .collect();
        let record = self.record.as_ref().map(RecordConfig::render).unwrap_or_default();
        let process = if self.process {
            r#"
  process {
    image   = "123456789012.dkr.ecr.us-east-1.amazonaws.com/enrich:3"
    command = ["python3", "/app/enrich.py"]
  }
"#
        } else {
            ""
        };
        format!(
            r#"{providers}
resource "eventdriven_batch_pipeline" "orders" {{
  job_image    = "ghcr.io/example/eventdriven:1"
  lambda_image = "123456789012.dkr.ecr.{REGION}.amazonaws.com/list-chunks:1"
{arguments}{record}{process}}}
"#,
            providers = provider_blocks()
        )
    }
}

/// The table's key schema, `(attribute, HASH | RANGE, S | N)`.
async fn key_schema(sdk: &SdkConfig, table: &str) -> Vec<(String, String, String)> {
    let described = aws_sdk_dynamodb::Client::new(sdk)
        .describe_table()
        .table_name(table)
        .send()
        .await
        .unwrap()
        .table
        .unwrap();
    described
        .key_schema()
        .iter()
        .map(|k| {
            let attribute = k.attribute_name().to_owned();
            let kind = described
                .attribute_definitions()
                .iter()
                .find(|d| d.attribute_name() == attribute)
                .map(|d| d.attribute_type().as_str().to_owned())
                .unwrap_or_default();
            (attribute, k.key_type().as_str().to_owned(), kind)
        })
        .collect()
}

/// Checks through the SDK that the new pipeline holds what `argument` was changed to.
async fn assert_pipeline_holds(sdk: &SdkConfig, argument: &str, pipeline: &Value) {
    let table = attribute(pipeline, "table_name");
    let eks = aws_sdk_eks::Client::new(sdk);
    match argument {
        "cluster_name" | "namespace" | "service_account" => {
            let association = eks
                .describe_pod_identity_association()
                .cluster_name(text(&pipeline["cluster_name"]))
                .association_id(text(&pipeline["pod_identity_association_id"]))
                .send()
                .await
                .unwrap()
                .association
                .unwrap();
            assert_eq!(association.namespace(), pipeline["namespace"].as_str(), "{argument}");
            assert_eq!(
                association.service_account(),
                pipeline["service_account"].as_str(),
                "{argument}"
            );
        }
        "redis_node_type" => {
            let groups = aws_sdk_elasticache::Client::new(sdk)
                .describe_replication_groups()
                .replication_group_id(text(&pipeline["replication_group_id"]))
                .send()
                .await
                .unwrap();
            assert_eq!(
                groups.replication_groups()[0].cache_node_type(),
                Some("cache.t4g.small"),
                "{argument}"
            );
        }
        "dynamodb_billing_mode" | "dynamodb_read_capacity" | "dynamodb_write_capacity" => {
            let described = aws_sdk_dynamodb::Client::new(sdk)
                .describe_table()
                .table_name(table.unwrap())
                .send()
                .await
                .unwrap()
                .table
                .unwrap();
            let throughput = described.provisioned_throughput().unwrap();
            assert_eq!(
                (throughput.read_capacity_units(), throughput.write_capacity_units()),
                (
                    pipeline["dynamodb_read_capacity"].as_i64(),
                    pipeline["dynamodb_write_capacity"].as_i64()
                ),
                "{argument}"
            );
        }
        "record.key" => assert_eq!(
            key_schema(sdk, &table.unwrap()).await,
            [("Serial", "HASH", "S"), ("Day", "RANGE", "S")].map(|(a, k, t)| (a.into(), k.into(), t.into()))
        ),
        "record.sort_key" => assert_eq!(
            key_schema(sdk, &table.unwrap()).await,
            [("Serial".into(), "HASH".into(), "S".into())]
        ),
        "record key type" => assert_eq!(
            key_schema(sdk, &table.unwrap()).await,
            [("Serial".into(), "HASH".into(), "N".into())]
        ),
        "table = false" => assert_eq!(table, None, "no table"),
        "table = true" => assert!(table.is_some(), "a table"),
        "record (removed)" => assert_eq!(
            key_schema(sdk, &table.unwrap()).await,
            [("OrderId".into(), "HASH".into(), "S".into())],
            "the order layout's key"
        ),
        _ => {}
    }
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs terraform, fakecloud and aws: run tests/acceptance.sh"]
async fn every_replacing_argument_of_a_pipeline_replaces_it_and_leaves_nothing_of_the_old_one() {
    let emulator = Emulator::start("replacement");
    emulator.create_cluster();
    let other_cluster = "other";
    let status = std::process::Command::new("bash")
        .arg(common::repo_root().join("tests/create-cluster.sh"))
        .arg(other_cluster)
        .envs(emulator.env())
        .status()
        .unwrap();
    assert!(status.success(), "tests/create-cluster.sh {other_cluster} failed");
    let clusters = [CLUSTER, other_cluster];
    let sdk = emulator.sdk().await;

    let mut config = PipelineConfig {
        arguments: vec![
            ("name", "\"orders\"".into()),
            ("cluster_name", format!("\"{CLUSTER}\"")),
        ],
        record: Some(RecordConfig {
            key: "Id",
            sort_key: Some("Day"),
            serial_type: "id",
        }),
        process: false,
    };
    let workspace = Workspace::of_config("replacement", &emulator, &config.render());
    workspace.apply(&[]);
    assert_eq!(
        workspace.plan_exit_code().0,
        0,
        "a fresh apply leaves nothing to change"
    );

    // (what is replaced, the attribute the plan says forces it, the change).
    type Change = fn(&mut PipelineConfig);
    let changes: [(&str, &str, Change); 14] = [
        ("name", "name", |c| c.set("name", "\"orders-b\"")),
        ("cluster_name", "cluster_name", |c| c.set("cluster_name", "\"other\"")),
        ("namespace", "namespace", |c| c.set("namespace", "\"jobs\"")),
        ("service_account", "service_account", |c| {
            c.set("service_account", "\"runner\"")
        }),
        ("bucket_name", "bucket_name", |c| {
            c.set("bucket_name", "\"orders-replaced-bucket\"")
        }),
        ("redis_node_type", "redis_node_type", |c| {
            c.set("redis_node_type", "\"cache.t4g.small\"")
        }),
        ("dynamodb_billing_mode", "dynamodb_billing_mode", |c| {
            c.set("dynamodb_billing_mode", "\"PROVISIONED\"");
            c.set("dynamodb_read_capacity", "1");
            c.set("dynamodb_write_capacity", "1");
        }),
        ("dynamodb_read_capacity", "dynamodb_read_capacity", |c| {
            c.set("dynamodb_read_capacity", "2")
        }),
        ("dynamodb_write_capacity", "dynamodb_write_capacity", |c| {
            c.set("dynamodb_write_capacity", "2")
        }),
        // The record's keys are the table's key schema: `record[0].key`, `record[0].sort_key`,
        // a key column's `type`.
        ("record.key", "key", |c| {
            if let Some(record) = &mut c.record {
                record.key = "Serial";
            }
        }),
        ("record.sort_key", "sort_key", |c| {
            if let Some(record) = &mut c.record {
                record.sort_key = None;
            }
        }),
        ("record key type", "type", |c| {
            if let Some(record) = &mut c.record {
                record.serial_type = "integer";
            }
        }),
        // The table going, then coming back.
        ("table = false", "table", |c| {
            c.process = true;
            c.set("table", "false");
        }),
        ("table = true", "table", |c| c.set("table", "true")),
    ];
    let mut changes = changes.to_vec();
    // A record block removed, whose keys differ from the order layout's: `record` whole.
    changes.push(("record (removed)", "record", |c| c.record = None));

    for (argument, forced_at, change) in changes {
        eprintln!("replacing the pipeline by changing {argument}");
        let before = workspace.pipeline();
        change(&mut config);
        workspace.configure(&config.render());
        assert_plans_replacement(&workspace, argument, forced_at);
        let applied = workspace.apply(&[]);
        assert!(
            applied.contains("1 added, 0 changed, 1 destroyed"),
            "{argument}: one replacement: {applied}"
        );
        let after = workspace.pipeline();
        assert_replaced(
            &sdk,
            argument,
            &pipeline_children(&before),
            &pipeline_children(&after),
            &clusters,
            &["default"],
        )
        .await;
        assert_pipeline_holds(&sdk, argument, &after).await;
        let (code, plan) = workspace.plan_exit_code();
        assert_eq!(code, 0, "{argument}: nothing left to change: {plan}");
    }

    workspace.ok(&["destroy", "-auto-approve", "-input=false"]);
    let left = inventory(&sdk, &clusters, &["default"]).await;
    assert!(left.is_empty(), "left after destroy: {left:?}");
}

const HANDLER_IMAGE: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/cookie-report-handlers:1";

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs terraform, fakecloud and aws: run tests/acceptance.sh"]
async fn every_replacing_argument_of_a_workflow_replaces_it_and_leaves_nothing_of_the_old_one() {
    let emulator = Emulator::start("replacement-workflow");
    let sdk = emulator.sdk().await;
    let bus = "reports";
    aws_sdk_eventbridge::Client::new(&sdk)
        .create_event_bus()
        .name(bus)
        .send()
        .await
        .unwrap();
    let buses = ["default", bus];
    let variables = format!("handler_image = \"{HANDLER_IMAGE}\"\n");
    let workspace = Workspace::of_example("cookie-report", "replacement-workflow", &emulator, &variables);
    workspace.apply(&[]);
    assert_eq!(
        workspace.plan_exit_code().0,
        0,
        "a fresh apply leaves nothing to change"
    );
    let main_tf = std::fs::read_to_string(workspace.dir.join("main.tf")).unwrap();

    for (argument, change) in [
        ("name", format!("{variables}name = \"cookie-report-b\"\n")),
        ("event_bus", format!("{variables}name = \"cookie-report-b\"\n")),
    ] {
        eprintln!("replacing the workflow by changing {argument}");
        let before = workspace.resource("eventdriven_workflow");
        std::fs::write(workspace.dir.join("terraform.tfvars"), change).unwrap();
        if argument == "event_bus" {
            let on_bus = main_tf.replacen(
                "  name          = var.name\n",
                &format!("  name          = var.name\n  event_bus     = \"{bus}\"\n"),
                1,
            );
            assert_ne!(on_bus, main_tf, "the example names the workflow as expected");
            workspace.configure(&on_bus);
        }
        assert_plans_replacement(&workspace, argument, argument);
        let applied = workspace.apply(&[]);
        assert!(
            applied.contains("1 added, 0 changed, 1 destroyed"),
            "{argument}: one replacement: {applied}"
        );
        let after = workspace.resource("eventdriven_workflow");
        assert_eq!(
            after["event_bus"],
            if argument == "event_bus" { bus } else { "default" }
        );
        assert_replaced(
            &sdk,
            argument,
            &workflow_children(&before),
            &workflow_children(&after),
            &[],
            &buses,
        )
        .await;
        // The trail's log resource policy (no child of its own in the state) follows the
        // trail: one policy names a trail group, the new one, for the new trail rule.
        let logs = aws_sdk_cloudwatchlogs::Client::new(&sdk);
        let policies = logs.describe_resource_policies().send().await.unwrap();
        let trails: Vec<&str> = policies
            .resource_policies()
            .iter()
            .filter_map(|p| p.policy_document())
            .filter(|document| document.contains("log-group:/aws/events/eventdriven-"))
            .collect();
        let group = format!("log-group:{}:", text(&after["trail_log_group"]));
        let bus_path = if argument == "event_bus" {
            format!("{bus}/")
        } else {
            String::new()
        };
        let rule = format!("rule/{bus_path}{}", text(&after["trail_rule_name"]));
        assert!(
            trails.len() == 1 && trails[0].contains(&group) && trails[0].contains(&rule),
            "{argument}: one trail policy, for {group} and {rule}: {trails:?}"
        );
        let (code, plan) = workspace.plan_exit_code();
        assert_eq!(code, 0, "{argument}: nothing left to change: {plan}");
    }

    workspace.ok(&["destroy", "-auto-approve", "-input=false"]);
    let left = inventory(&sdk, &[], &buses).await;
    assert!(left.is_empty(), "left after destroy: {left:?}");
}
