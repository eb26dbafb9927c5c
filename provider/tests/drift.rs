//! Every setting the provider owns on a child, changed outside Terraform, is set back: the plan
//! names it and updates the resource in place (never a replacement), the apply restores it,
//! and the next plan is empty. Ignored by a plain `cargo test`; `tests/acceptance.sh` runs it.

mod common;

use std::collections::HashMap;

use aws_config::SdkConfig;
use aws_sdk_dynamodb::types::{BillingMode, ProvisionedThroughput};
use aws_sdk_ec2::types::{IpPermission, IpRange};
use aws_sdk_lambda::types::Environment;
use aws_sdk_s3::types::{
    PublicAccessBlockConfiguration, ServerSideEncryption, ServerSideEncryptionByDefault,
    ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
};
use common::{ClusterSetup, Emulator, Workspace, text, variables};
use serde_json::Value;

fn s3(sdk: &SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(sdk).force_path_style(true).build())
}

/// A setting someone could change outside Terraform: the child's attribute, and what the plan
/// names it by.
#[derive(Clone, Copy, Debug)]
enum Setting {
    TableBilling,
    RolePolicy(&'static str),
    SecurityGroupRules,
    BucketEncryption(&'static str),
    BucketPublicAccessBlock(&'static str),
    RulePattern(&'static str),
    FunctionEnvironment(&'static str),
}

impl Setting {
    /// The end of the name `changed_outside_terraform` lists it under.
    fn named(self) -> &'static str {
        match self {
            Setting::TableBilling => ": billing",
            Setting::RolePolicy(_) => ": inline policy",
            Setting::SecurityGroupRules => ": rules",
            Setting::BucketEncryption(_) => ": encryption",
            Setting::BucketPublicAccessBlock(_) => ": public access block",
            Setting::RulePattern(_) => ": event pattern",
            Setting::FunctionEnvironment(_) => ": environment",
        }
    }

    /// The recorded identity of the child holding it, in `resource`.
    fn child(self, resource: &Value) -> String {
        let attribute = match self {
            Setting::TableBilling => "table_name",
            Setting::SecurityGroupRules => "security_group_id",
            Setting::RolePolicy(a)
            | Setting::BucketEncryption(a)
            | Setting::BucketPublicAccessBlock(a)
            | Setting::RulePattern(a)
            | Setting::FunctionEnvironment(a) => a,
        };
        match attribute.split_once('.') {
            // A listener's child, by listener name.
            Some((map, listener)) => text(&resource[map][listener]),
            None => text(&resource[attribute]),
        }
    }

    /// Changes the setting the way someone outside Terraform would.
    async fn change(self, sdk: &SdkConfig, resource: &Value) {
        let id = self.child(resource);
        match self {
            Setting::TableBilling => {
                let dynamodb = aws_sdk_dynamodb::Client::new(sdk);
                let throughput = ProvisionedThroughput::builder()
                    .read_capacity_units(3)
                    .write_capacity_units(3)
                    .build()
                    .unwrap();
                dynamodb
                    .update_table()
                    .table_name(&id)
                    .billing_mode(BillingMode::Provisioned)
                    .provisioned_throughput(throughput)
                    .send()
                    .await
                    .unwrap();
            }
            Setting::RolePolicy(_) => {
                let iam = aws_sdk_iam::Client::new(sdk);
                let document =
                    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#;
                iam.put_role_policy()
                    .role_name(id.rsplit('/').next().unwrap())
                    .policy_name("eventdriven")
                    .policy_document(document)
                    .send()
                    .await
                    .unwrap();
            }
            Setting::SecurityGroupRules => {
                let ec2 = aws_sdk_ec2::Client::new(sdk);
                let ssh = IpPermission::builder()
                    .ip_protocol("tcp")
                    .from_port(22)
                    .to_port(22)
                    .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
                    .build();
                ec2.authorize_security_group_ingress()
                    .group_id(&id)
                    .ip_permissions(ssh)
                    .send()
                    .await
                    .unwrap();
            }
            Setting::BucketEncryption(_) => {
                let kms = ServerSideEncryptionByDefault::builder()
                    .sse_algorithm(ServerSideEncryption::AwsKms)
                    .build()
                    .unwrap();
                let configuration = ServerSideEncryptionConfiguration::builder()
                    .rules(
                        ServerSideEncryptionRule::builder()
                            .apply_server_side_encryption_by_default(kms)
                            .build(),
                    )
                    .build()
                    .unwrap();
                s3(sdk)
                    .put_bucket_encryption()
                    .bucket(&id)
                    .server_side_encryption_configuration(configuration)
                    .send()
                    .await
                    .unwrap();
            }
            Setting::BucketPublicAccessBlock(_) => {
                s3(sdk).delete_public_access_block().bucket(&id).send().await.unwrap();
            }
            Setting::RulePattern(_) => {
                let events = aws_sdk_eventbridge::Client::new(sdk);
                let bus = resource["event_bus"].as_str().map(str::to_owned);
                events
                    .put_rule()
                    .name(&id)
                    .set_event_bus_name(bus)
                    .event_pattern(r#"{"source":["someone.else"]}"#)
                    .send()
                    .await
                    .unwrap();
            }
            Setting::FunctionEnvironment(_) => {
                let lambda = aws_sdk_lambda::Client::new(sdk);
                let variables = HashMap::from([("SOMEONE".to_owned(), "else".to_owned())]);
                lambda
                    .update_function_configuration()
                    .function_name(&id)
                    .environment(Environment::builder().set_variables(Some(variables)).build())
                    .send()
                    .await
                    .unwrap();
            }
        }
    }

    /// Asserts AWS holds the setting as the provider made it again.
    async fn assert_set_back(self, sdk: &SdkConfig, resource: &Value) {
        let id = self.child(resource);
        match self {
            Setting::TableBilling => {
                let dynamodb = aws_sdk_dynamodb::Client::new(sdk);
                let table = dynamodb.describe_table().table_name(&id).send().await.unwrap();
                let mode = table
                    .table()
                    .and_then(|t| t.billing_mode_summary())
                    .and_then(|b| b.billing_mode());
                assert_eq!(mode, Some(&BillingMode::PayPerRequest), "{self:?}");
            }
            Setting::RolePolicy(_) => {
                let iam = aws_sdk_iam::Client::new(sdk);
                let policy = iam
                    .get_role_policy()
                    .role_name(id.rsplit('/').next().unwrap())
                    .policy_name("eventdriven")
                    .send()
                    .await
                    .unwrap();
                assert!(!policy.policy_document().contains("s3:*"), "{self:?}");
            }
            Setting::SecurityGroupRules => {
                let ec2 = aws_sdk_ec2::Client::new(sdk);
                let groups = ec2.describe_security_groups().group_ids(&id).send().await.unwrap();
                let group = &groups.security_groups()[0];
                assert!(
                    group.ip_permissions().iter().all(|p| p.from_port() != Some(22)),
                    "{self:?}: {group:?}"
                );
            }
            Setting::BucketEncryption(_) => {
                let out = s3(sdk).get_bucket_encryption().bucket(&id).send().await.unwrap();
                let rules = out.server_side_encryption_configuration().unwrap().rules();
                let algorithm = rules[0]
                    .apply_server_side_encryption_by_default()
                    .unwrap()
                    .sse_algorithm();
                assert_eq!(algorithm, &ServerSideEncryption::Aes256, "{self:?}");
            }
            Setting::BucketPublicAccessBlock(_) => {
                let out = s3(sdk).get_public_access_block().bucket(&id).send().await.unwrap();
                let block: &PublicAccessBlockConfiguration = out.public_access_block_configuration().unwrap();
                assert_eq!(block.block_public_acls(), Some(true), "{self:?}");
                assert_eq!(block.restrict_public_buckets(), Some(true), "{self:?}");
            }
            Setting::RulePattern(_) => {
                let events = aws_sdk_eventbridge::Client::new(sdk);
                let bus = resource["event_bus"].as_str().map(str::to_owned);
                let rule = events
                    .describe_rule()
                    .name(&id)
                    .set_event_bus_name(bus)
                    .send()
                    .await
                    .unwrap();
                assert!(!rule.event_pattern().unwrap().contains("someone.else"), "{self:?}");
            }
            Setting::FunctionEnvironment(_) => {
                let lambda = aws_sdk_lambda::Client::new(sdk);
                let function = lambda.get_function().function_name(&id).send().await.unwrap();
                let variables = function
                    .configuration()
                    .and_then(|c| c.environment())
                    .and_then(|e| e.variables())
                    .cloned()
                    .unwrap_or_default();
                assert!(!variables.contains_key("SOMEONE"), "{self:?}: {variables:?}");
            }
        }
    }
}

/// Changes `setting` outside Terraform; then a plan naming it that updates `resource` in
/// place, an apply that sets it back, and an empty plan.
async fn assert_changed_and_set_back(sdk: &SdkConfig, workspace: &Workspace, resource: &str, setting: Setting) {
    let before = workspace.resource(resource);
    setting.change(sdk, &before).await;
    eprintln!("changed {setting:?} outside Terraform");
    let (code, plan) = workspace.plan_exit_code();
    assert_eq!(code, 2, "{setting:?}: the plan shows a change: {plan}");
    assert!(
        !plan.contains("must be replaced") && !plan.contains("will be created"),
        "{setting:?}: an update in place: {plan}"
    );
    assert!(
        plan.contains("changed outside Terraform") && plan.contains(setting.named()),
        "{setting:?}: named: {plan}"
    );
    workspace.apply(&[]);
    let after = workspace.resource(resource);
    setting.assert_set_back(sdk, &after).await;
    assert!(after["changed_outside_terraform"].is_null(), "{after}");
    let (code, plan) = workspace.plan_exit_code();
    assert_eq!(code, 0, "{setting:?}: nothing left to change: {plan}");
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs terraform, fakecloud and aws: run tests/acceptance.sh"]
async fn every_setting_of_a_pipeline_changed_outside_terraform_is_set_back() {
    let emulator = Emulator::start("drift");
    emulator.create_cluster();
    let sdk = emulator.sdk().await;
    let workspace = Workspace::new("drift", &emulator, &variables("drift"));
    workspace.apply(&[]);
    assert_eq!(workspace.plan_exit_code().0, 0, "nothing changed yet");
    for setting in [
        Setting::TableBilling,
        Setting::RolePolicy("job_role_arn"),
        Setting::RolePolicy("state_machine_role_arn"),
        Setting::SecurityGroupRules,
        Setting::BucketEncryption("bucket"),
        Setting::BucketPublicAccessBlock("bucket"),
        Setting::RulePattern("input_rule_name"),
        Setting::FunctionEnvironment("lambda_function_arn"),
    ] {
        assert_changed_and_set_back(&sdk, &workspace, "eventdriven_batch_pipeline", setting).await;
    }
    workspace.ok(&["destroy", "-auto-approve", "-input=false"]);
}

/// The example's listeners as the emulator's functions: `handler_image` is all they need.
const HANDLER_IMAGE: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/cookie-report-handlers:1";

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs terraform, fakecloud and aws: run tests/acceptance.sh"]
async fn every_setting_of_a_workflow_changed_outside_terraform_is_set_back() {
    let emulator = Emulator::start("drift-workflow");
    let sdk = emulator.sdk().await;
    let variables = format!("handler_image = \"{HANDLER_IMAGE}\"\n");
    let workspace = Workspace::of_example("cookie-report", "drift-workflow", &emulator, &variables);
    workspace.apply(&[]);
    assert_eq!(workspace.plan_exit_code().0, 0, "nothing changed yet");
    for setting in [
        Setting::BucketEncryption("bucket_name"),
        Setting::BucketPublicAccessBlock("bucket_name"),
        Setting::RolePolicy("main_role_arn"),
        Setting::RolePolicy("listener_role_arns.side-effect"),
        Setting::RulePattern("start_rule_name"),
        Setting::RulePattern("listener_rule_names.side-effect"),
        Setting::FunctionEnvironment("listener_function_arns.side-effect"),
    ] {
        assert_changed_and_set_back(&sdk, &workspace, "eventdriven_workflow", setting).await;
    }
    workspace.ok(&["destroy", "-auto-approve", "-input=false"]);
}
