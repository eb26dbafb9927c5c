//! Every child of both resources, deleted outside Terraform, heals: the plan names it and
//! updates the resource in place (never a replacement), the apply creates it again beside the
//! rest, and the next plan is empty. Ignored by a plain `cargo test`; `tests/acceptance.sh`
//! runs it.

mod common;

use aws_config::SdkConfig;
use common::{ClusterSetup, Emulator, Workspace, text, variables};
use serde_json::Value;

/// Deletes the child recorded under `attribute` the way someone outside Terraform would,
/// with what it depends on first (a role's policies, a file system's mount targets).
async fn delete_out_of_band(sdk: &SdkConfig, pipeline: &Value, attribute: &str) {
    let id = text(&pipeline[attribute]);
    let cluster = common::CLUSTER;
    match attribute {
        "state_machine_arn" | "finisher_arn" => {
            let sfn = aws_sdk_sfn::Client::new(sdk);
            sfn.delete_state_machine().state_machine_arn(&id).send().await.unwrap();
        }
        "bucket" | "bucket_name" => {
            let s3 =
                aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(sdk).force_path_style(true).build());
            s3.delete_bucket().bucket(&id).send().await.unwrap();
        }
        "table_name" => {
            let dynamodb = aws_sdk_dynamodb::Client::new(sdk);
            dynamodb.delete_table().table_name(&id).send().await.unwrap();
        }
        "lambda_function_arn" => {
            let lambda = aws_sdk_lambda::Client::new(sdk);
            lambda.delete_function().function_name(&id).send().await.unwrap();
        }
        "input_rule_name" | "start_rule_name" | "finisher_rule_name" | "trail_rule_name" | "results_rule_name" => {
            let events = aws_sdk_eventbridge::Client::new(sdk);
            let targets = events.list_targets_by_rule().rule(&id).send().await.unwrap();
            let ids: Vec<String> = targets.targets().iter().map(|t| t.id().to_owned()).collect();
            if !ids.is_empty() {
                events
                    .remove_targets()
                    .rule(&id)
                    .set_ids(Some(ids))
                    .send()
                    .await
                    .unwrap();
            }
            events.delete_rule().name(&id).send().await.unwrap();
        }
        "redis_auth_secret_arn" => {
            let secrets = aws_sdk_secretsmanager::Client::new(sdk);
            secrets
                .delete_secret()
                .secret_id(&id)
                .force_delete_without_recovery(true)
                .send()
                .await
                .unwrap();
        }
        "job_role_arn"
        | "lambda_role_arn"
        | "state_machine_role_arn"
        | "events_role_arn"
        | "main_role_arn"
        | "finisher_role_arn" => {
            let iam = aws_sdk_iam::Client::new(sdk);
            let name = id.rsplit('/').next().unwrap().to_owned();
            let inline = iam.list_role_policies().role_name(&name).send().await.unwrap();
            for policy in inline.policy_names() {
                iam.delete_role_policy()
                    .role_name(&name)
                    .policy_name(policy)
                    .send()
                    .await
                    .unwrap();
            }
            let attached = iam.list_attached_role_policies().role_name(&name).send().await.unwrap();
            for policy in attached.attached_policies() {
                let arn = policy.policy_arn().unwrap();
                iam.detach_role_policy()
                    .role_name(&name)
                    .policy_arn(arn)
                    .send()
                    .await
                    .unwrap();
            }
            iam.delete_role().role_name(&name).send().await.unwrap();
        }
        "access_entry_arn" => {
            let eks = aws_sdk_eks::Client::new(sdk);
            let principal = text(&pipeline["state_machine_role_arn"]);
            eks.delete_access_entry()
                .cluster_name(cluster)
                .principal_arn(principal)
                .send()
                .await
                .unwrap();
        }
        "pod_identity_association_id" => {
            let eks = aws_sdk_eks::Client::new(sdk);
            eks.delete_pod_identity_association()
                .cluster_name(cluster)
                .association_id(&id)
                .send()
                .await
                .unwrap();
        }
        "replication_group_id" => {
            let elasticache = aws_sdk_elasticache::Client::new(sdk);
            elasticache
                .delete_replication_group()
                .replication_group_id(&id)
                .send()
                .await
                .unwrap();
        }
        "file_system_id" => {
            let efs = aws_sdk_efs::Client::new(sdk);
            let targets = efs.describe_mount_targets().file_system_id(&id).send().await.unwrap();
            for target in targets.mount_targets() {
                efs.delete_mount_target()
                    .mount_target_id(target.mount_target_id())
                    .send()
                    .await
                    .unwrap();
            }
            let points = efs.describe_access_points().file_system_id(&id).send().await.unwrap();
            for point in points.access_points() {
                efs.delete_access_point()
                    .access_point_id(point.access_point_id().unwrap())
                    .send()
                    .await
                    .unwrap();
            }
            efs.delete_file_system().file_system_id(&id).send().await.unwrap();
        }
        "trail_log_group" | "finisher_log_group" => {
            let logs = aws_sdk_cloudwatchlogs::Client::new(sdk);
            logs.delete_log_group().log_group_name(&id).send().await.unwrap();
        }
        other => panic!("no out-of-band deletion for {other}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs terraform, fakecloud and aws: run tests/acceptance.sh"]
async fn every_child_deleted_outside_terraform_is_planned_back_and_created_again() {
    let emulator = Emulator::start("healing");
    emulator.create_cluster();
    let sdk = emulator.sdk().await;
    let workspace = Workspace::new("healing", &emulator, &variables("healing"));
    workspace.apply(&[]);
    for attribute in [
        "state_machine_arn",
        "bucket",
        "table_name",
        "lambda_function_arn",
        "input_rule_name",
        "redis_auth_secret_arn",
        "job_role_arn",
        "lambda_role_arn",
        "state_machine_role_arn",
        "events_role_arn",
        "access_entry_arn",
        "pod_identity_association_id",
        "replication_group_id",
        "file_system_id",
    ] {
        let before = workspace.pipeline();
        delete_out_of_band(&sdk, &before, attribute).await;
        eprintln!("deleted {attribute} outside Terraform");
        assert_planned_back_and_healed(&workspace, attribute, "eventdriven_batch_pipeline");
        let after = workspace.pipeline();
        assert!(after[attribute].is_string(), "{attribute}: created again: {after}");
    }
    workspace.ok(&["destroy", "-auto-approve", "-input=false"]);
}

/// The example's listeners as the emulator's functions: `handler_image` is all they need.
const HANDLER_IMAGE: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/cookie-report-handlers:1";

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs terraform, fakecloud and aws: run tests/acceptance.sh"]
async fn every_child_of_a_workflow_deleted_outside_terraform_is_planned_back_and_created_again() {
    let emulator = Emulator::start("healing-workflow");
    let sdk = emulator.sdk().await;
    let variables = format!("handler_image = \"{HANDLER_IMAGE}\"\n");
    let workspace = Workspace::of_example("cookie-report", "healing-workflow", &emulator, &variables);
    workspace.apply(&[]);
    for attribute in [
        "state_machine_arn",
        "finisher_arn",
        "bucket_name",
        "trail_log_group",
        "finisher_log_group",
        "main_role_arn",
        "finisher_role_arn",
        "events_role_arn",
        "start_rule_name",
        "finisher_rule_name",
        "trail_rule_name",
        "results_rule_name",
    ] {
        let before = workspace.resource("eventdriven_workflow");
        delete_out_of_band(&sdk, &before, attribute).await;
        eprintln!("deleted {attribute} outside Terraform");
        assert_planned_back_and_healed(&workspace, attribute, "eventdriven_workflow");
    }
    // A listener's function, role and rule, each alone.
    for part in ["listener_function_arns", "listener_role_arns", "listener_rule_names"] {
        let before = workspace.resource("eventdriven_workflow");
        let id = text(&before[part]["side-effect"]);
        match part {
            "listener_function_arns" => {
                let lambda = aws_sdk_lambda::Client::new(&sdk);
                lambda.delete_function().function_name(&id).send().await.unwrap();
            }
            "listener_role_arns" => {
                let mut role = before.clone();
                role["job_role_arn"] = Value::String(id);
                delete_out_of_band(&sdk, &role, "job_role_arn").await;
            }
            _ => {
                let mut rule = before.clone();
                rule["input_rule_name"] = Value::String(id);
                delete_out_of_band(&sdk, &rule, "input_rule_name").await;
            }
        }
        eprintln!("deleted the side-effect listener's {part} outside Terraform");
        assert_planned_back_and_healed(&workspace, "side-effect", "eventdriven_workflow");
    }
    workspace.ok(&["destroy", "-auto-approve", "-input=false"]);
}

/// After a deletion: a plan naming `named` that updates `resource` in place, an apply, an
/// empty plan.
fn assert_planned_back_and_healed(workspace: &Workspace, named: &str, resource: &str) {
    let (code, plan) = workspace.plan_exit_code();
    assert_eq!(code, 2, "{named}: the plan shows a change: {plan}");
    assert!(
        !plan.contains("must be replaced") && !plan.contains("will be created"),
        "{named}: an update in place: {plan}"
    );
    assert!(
        plan.contains("deleted outside Terraform") && plan.contains(named),
        "{named}: named: {plan}"
    );
    workspace.apply(&[]);
    assert!(workspace.resource(resource).is_object());
    let (code, plan) = workspace.plan_exit_code();
    assert_eq!(code, 0, "{named}: nothing left to change: {plan}");
}
