//! Acceptance tests: the real `terraform` CLI drives the built provider against a fakecloud
//! emulator started for each test. They need `terraform`, `fakecloud` and `aws` on PATH, so
//! they are ignored by a plain `cargo test`; `tests/acceptance.sh` installs those and runs them.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use aws_config::SdkConfig;
use common::*;
use serde_json::Value;
/// Checks through the SDK that every child the state names exists with its expected settings.
async fn assert_children_exist(sdk: &SdkConfig, pipeline: &Value) {
    let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(sdk).force_path_style(true).build());
    let bucket = text(&pipeline["bucket"]);
    s3.head_bucket().bucket(&bucket).send().await.expect("bucket exists");
    let notifications = s3
        .get_bucket_notification_configuration()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    assert!(
        notifications.event_bridge_configuration.is_some(),
        "bucket sends events to EventBridge"
    );
    let encryption = s3
        .get_bucket_encryption()
        .bucket(&bucket)
        .send()
        .await
        .expect("bucket is encrypted");
    assert!(encryption.server_side_encryption_configuration.is_some());
    let public = s3
        .get_public_access_block()
        .bucket(&bucket)
        .send()
        .await
        .expect("public access block");
    let block = public.public_access_block_configuration.unwrap();
    assert_eq!(block.block_public_acls, Some(true));
    assert_eq!(block.restrict_public_buckets, Some(true));
    let policy = s3
        .get_bucket_policy()
        .bucket(&bucket)
        .send()
        .await
        .expect("bucket policy");
    let policy: Value = serde_json::from_str(policy.policy().unwrap()).unwrap();
    assert_eq!(
        policy["Statement"][0]["Condition"]["Bool"]["aws:SecureTransport"], "false",
        "the bucket refuses requests without TLS: {policy}"
    );
    let lifecycle = s3
        .get_bucket_lifecycle_configuration()
        .bucket(&bucket)
        .send()
        .await
        .expect("what runs leave under runs/ expires");
    let rule = &lifecycle.rules()[0];
    assert_eq!(rule.filter().and_then(|f| f.prefix()), Some("runs/"));
    assert_eq!(rule.expiration().and_then(|e| e.days()), Some(7));

    // The pipeline's security group: in from the nodes on NFS and Redis, out only to Redis and
    // HTTPS; on the Lambda (the mount targets and the cache are checked below).
    let ec2 = aws_sdk_ec2::Client::new(sdk);
    let group_id = text(&pipeline["security_group_id"]);
    let groups = ec2
        .describe_security_groups()
        .group_ids(&group_id)
        .send()
        .await
        .expect("security group");
    let group = &groups.security_groups()[0];
    let ports = |permissions: &[aws_sdk_ec2::types::IpPermission]| {
        let mut ports: Vec<i32> = permissions.iter().filter_map(|p| p.from_port()).collect();
        ports.sort();
        ports.dedup();
        ports
    };
    assert_eq!(ports(group.ip_permissions()), [2049, 6379], "{group:?}");
    assert_eq!(ports(group.ip_permissions_egress()), [443, 6379], "{group:?}");
    assert!(
        group
            .ip_permissions_egress()
            .iter()
            .all(|p| p.ip_protocol() == Some("tcp")),
        "no allow-all egress: {group:?}"
    );

    let dynamodb = aws_sdk_dynamodb::Client::new(sdk);
    let table = dynamodb
        .describe_table()
        .table_name(text(&pipeline["table_name"]))
        .send()
        .await
        .unwrap();
    let table = table.table.unwrap();
    assert_eq!(table.key_schema()[0].attribute_name(), "OrderId");

    let efs = aws_sdk_efs::Client::new(sdk);
    let file_system_id = text(&pipeline["file_system_id"]);
    let file_systems = efs
        .describe_file_systems()
        .file_system_id(&file_system_id)
        .send()
        .await
        .unwrap();
    assert_eq!(file_systems.file_systems()[0].encrypted(), Some(true));
    let mount_targets = efs
        .describe_mount_targets()
        .file_system_id(&file_system_id)
        .send()
        .await
        .unwrap();
    assert_eq!(
        mount_targets.mount_targets().len(),
        2,
        "one mount target per subnet / zone"
    );
    let access_points = efs
        .describe_access_points()
        .file_system_id(&file_system_id)
        .send()
        .await
        .unwrap();
    let access_point = &access_points.access_points()[0];
    assert_eq!(
        access_point.access_point_id(),
        Some(text(&pipeline["access_point_id"]).as_str())
    );
    assert_eq!(
        access_point.root_directory().and_then(|r| r.path()),
        Some(format!("/eventdriven-{}", text(&pipeline["name"])).as_str())
    );
    assert_file_system_policy(&efs, pipeline).await;
    assert_eq!(
        access_point.posix_user().map(|u| (u.uid(), u.gid())),
        Some((65532, 65532)),
        "nonroot Jobs"
    );

    let secrets = aws_sdk_secretsmanager::Client::new(sdk);
    let secret = secrets
        .get_secret_value()
        .secret_id(text(&pipeline["redis_auth_secret_arn"]))
        .send()
        .await
        .unwrap();
    assert!(secret.secret_string().is_some_and(|token| token.len() >= 16));
    assert!(
        !serde_json::to_string(pipeline)
            .unwrap()
            .contains(secret.secret_string().unwrap()),
        "the auth token must not be in the state"
    );

    let elasticache = aws_sdk_elasticache::Client::new(sdk);
    let groups = elasticache
        .describe_replication_groups()
        .replication_group_id(text(&pipeline["replication_group_id"]))
        .send()
        .await
        .unwrap();
    let group = &groups.replication_groups()[0];
    assert_eq!(group.transit_encryption_enabled(), Some(true));
    assert_eq!(group.auth_token_enabled(), Some(true));

    let iam = aws_sdk_iam::Client::new(sdk);
    for attribute in [
        "job_role_arn",
        "lambda_role_arn",
        "state_machine_role_arn",
        "events_role_arn",
    ] {
        let arn = text(&pipeline[attribute]);
        let name = arn.rsplit('/').next().unwrap();
        let policies = iam.list_role_policies().role_name(name).send().await.expect(attribute);
        assert_eq!(policies.policy_names().len(), 1, "{attribute} has its inline policy");
    }

    let lambda = aws_sdk_lambda::Client::new(sdk);
    let function = lambda
        .get_function()
        .function_name(text(&pipeline["lambda_function_arn"]))
        .send()
        .await
        .unwrap();
    assert_eq!(
        function.code().and_then(|c| c.image_uri()),
        pipeline["lambda_image"].as_str()
    );
    let configuration = function.configuration().unwrap();
    assert_eq!(configuration.vpc_config().map(|v| v.subnet_ids().len()), Some(2));
    assert_eq!(
        configuration.vpc_config().map(|v| v.security_group_ids().to_vec()),
        Some(vec![text(&pipeline["security_group_id"])]),
        "the function is in the pipeline's security group"
    );
    let environment = configuration.environment().and_then(|e| e.variables()).unwrap();
    assert!(environment["REDIS_URL"].starts_with("rediss://"));
    let logs = aws_sdk_cloudwatchlogs::Client::new(sdk);
    let group = format!("/aws/lambda/{}", configuration.function_name().unwrap());
    let groups = logs
        .describe_log_groups()
        .log_group_name_prefix(&group)
        .send()
        .await
        .unwrap();
    assert_eq!(
        groups.log_groups().first().and_then(|g| g.retention_in_days()),
        Some(14),
        "the function's log group is created with a retention"
    );
    assert_eq!(
        environment["REDIS_AUTH_SECRET_ARN"],
        text(&pipeline["redis_auth_secret_arn"])
    );

    let sfn = aws_sdk_sfn::Client::new(sdk);
    let machine = sfn
        .describe_state_machine()
        .state_machine_arn(text(&pipeline["state_machine_arn"]))
        .send()
        .await
        .unwrap();
    let definition: Value = serde_json::from_str(machine.definition()).unwrap();
    assert_eq!(definition.to_string(), text(&pipeline["definition"]));

    let events = aws_sdk_eventbridge::Client::new(sdk);
    let rule = text(&pipeline["input_rule_name"]);
    let described = events.describe_rule().name(&rule).send().await.unwrap();
    let pattern: Value = serde_json::from_str(described.event_pattern().unwrap()).unwrap();
    assert_eq!(pattern["detail"]["bucket"]["name"][0], pipeline["bucket"]);
    let targets = events.list_targets_by_rule().rule(&rule).send().await.unwrap();
    assert_eq!(targets.targets()[0].arn(), text(&pipeline["state_machine_arn"]));

    let eks = aws_sdk_eks::Client::new(sdk);
    let policies = eks
        .list_associated_access_policies()
        .cluster_name(CLUSTER)
        .principal_arn(text(&pipeline["state_machine_role_arn"]))
        .send()
        .await
        .unwrap();
    let scope = policies.associated_access_policies()[0].access_scope().unwrap();
    assert_eq!(
        scope.namespaces(),
        [text(&pipeline["namespace"])],
        "access is scoped to the namespace"
    );
    let association = eks
        .describe_pod_identity_association()
        .cluster_name(CLUSTER)
        .association_id(text(&pipeline["pod_identity_association_id"]))
        .send()
        .await
        .unwrap()
        .association
        .unwrap();
    assert_eq!(association.role_arn(), pipeline["job_role_arn"].as_str());
    assert_eq!(association.service_account(), pipeline["service_account"].as_str());
}

/// Checks that none of the children the state named is left in the emulator.
async fn assert_children_gone(sdk: &SdkConfig, pipeline: &Value) {
    let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(sdk).force_path_style(true).build());
    assert!(
        s3.head_bucket().bucket(text(&pipeline["bucket"])).send().await.is_err(),
        "bucket deleted"
    );
    let dynamodb = aws_sdk_dynamodb::Client::new(sdk);
    let tables = dynamodb.list_tables().send().await.unwrap();
    assert!(
        tables.table_names().is_empty(),
        "tables left: {:?}",
        tables.table_names()
    );
    let efs = aws_sdk_efs::Client::new(sdk);
    assert!(
        efs.describe_file_systems()
            .send()
            .await
            .unwrap()
            .file_systems()
            .is_empty(),
        "file systems left"
    );
    let elasticache = aws_sdk_elasticache::Client::new(sdk);
    let groups = elasticache.describe_replication_groups().send().await.unwrap();
    assert!(groups.replication_groups().is_empty(), "replication groups left");
    let subnet_groups = elasticache.describe_cache_subnet_groups().send().await.unwrap();
    assert!(
        subnet_groups.cache_subnet_groups().iter().all(|g| !g
            .cache_subnet_group_name()
            .unwrap_or_default()
            .starts_with("eventdriven")),
        "cache subnet groups left"
    );
    let secrets = aws_sdk_secretsmanager::Client::new(sdk);
    let listed = secrets.list_secrets().send().await.unwrap();
    assert!(listed.secret_list().is_empty(), "secrets left");
    let lambda = aws_sdk_lambda::Client::new(sdk);
    assert!(
        lambda.list_functions().send().await.unwrap().functions().is_empty(),
        "functions left"
    );
    let ec2 = aws_sdk_ec2::Client::new(sdk);
    let left = ec2
        .describe_security_groups()
        .group_ids(text(&pipeline["security_group_id"]))
        .send()
        .await;
    assert!(
        left.map_or(true, |out| out.security_groups().is_empty()),
        "security group left"
    );
    let logs = aws_sdk_cloudwatchlogs::Client::new(sdk);
    let groups = logs
        .describe_log_groups()
        .log_group_name_prefix("/aws/lambda/")
        .send()
        .await
        .unwrap();
    assert!(
        groups.log_groups().is_empty(),
        "log groups left: {:?}",
        groups.log_groups()
    );
    let sfn = aws_sdk_sfn::Client::new(sdk);
    assert!(
        sfn.list_state_machines()
            .send()
            .await
            .unwrap()
            .state_machines()
            .is_empty(),
        "state machines left"
    );
    let events = aws_sdk_eventbridge::Client::new(sdk);
    assert!(
        events.list_rules().send().await.unwrap().rules().is_empty(),
        "rules left"
    );
    let iam = aws_sdk_iam::Client::new(sdk);
    let roles = iam.list_roles().send().await.unwrap();
    let left: Vec<&str> = roles
        .roles()
        .iter()
        .map(|r| r.role_name())
        .filter(|n| n.starts_with("eventdriven-"))
        .collect();
    assert!(left.is_empty(), "roles left: {left:?}");
    let eks = aws_sdk_eks::Client::new(sdk);
    let associations = eks
        .list_pod_identity_associations()
        .cluster_name(CLUSTER)
        .send()
        .await
        .unwrap();
    assert!(associations.associations().is_empty(), "pod identity associations left");
    let entries = eks.list_access_entries().cluster_name(CLUSTER).send().await.unwrap();
    assert!(
        !entries.access_entries().iter().any(|e| e.contains("eventdriven-")),
        "access entries left: {:?}",
        entries.access_entries()
    );
}

/// Mounted through the EFS CSI driver, the file system refuses clients without TLS or outside
/// the access point; mounted over plain NFS, it has no policy.
async fn assert_file_system_policy(efs: &aws_sdk_efs::Client, pipeline: &Value) {
    let described = efs
        .describe_file_system_policy()
        .file_system_id(text(&pipeline["file_system_id"]))
        .send()
        .await;
    match pipeline["work_volume_mount"].as_str() {
        Some("efs_csi") => {
            let policy: Value = serde_json::from_str(described.unwrap().policy().unwrap()).unwrap();
            assert_eq!(policy["Statement"][0]["Sid"], "DenyWithoutTls", "{policy}");
            let through = &policy["Statement"][1]["Condition"]["ArnEquals"]["elasticfilesystem:AccessPointArn"];
            assert!(
                through.as_str().unwrap().ends_with(&text(&pipeline["access_point_id"])),
                "{policy}"
            );
        }
        _ => assert!(described.is_err(), "no policy over NFS: {described:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs terraform, fakecloud and aws: run tests/acceptance.sh"]
async fn pipeline_lifecycle() {
    let emulator = Emulator::start("lifecycle");
    emulator.create_cluster();
    let sdk = emulator.sdk().await;
    let workspace = Workspace::new("lifecycle", &emulator, &variables("orders"));

    workspace.apply(&[]);
    let created = workspace.pipeline();
    assert_children_exist(&sdk, &created).await;
    assert_eq!(
        workspace.plan_exit_code().0,
        0,
        "a fresh apply leaves nothing to change"
    );

    assert_uploads_start_runs_and_results_do_not(&emulator, &sdk, &created).await;

    // max_concurrency only changes the definition, in place.
    // and so does mounting the work directory through a claim on the access point.
    workspace.apply(&["-var", "max_concurrency=4", "-var", "work_volume_claim=orders-work"]);
    let updated = workspace.pipeline();
    assert_eq!(
        updated["state_machine_arn"], created["state_machine_arn"],
        "updated in place"
    );
    let sfn = aws_sdk_sfn::Client::new(&sdk);
    let machine = sfn
        .describe_state_machine()
        .state_machine_arn(text(&updated["state_machine_arn"]))
        .send()
        .await
        .unwrap();
    let definition: Value = serde_json::from_str(machine.definition()).unwrap();
    assert_eq!(definition["States"]["ProcessChunks"]["MaxConcurrency"], 4);
    let split_volumes = &definition["States"]["Split"]["Parameters"]["Job"]["spec"]["template"]["spec"]["volumes"];
    assert_eq!(split_volumes[0]["persistentVolumeClaim"]["claimName"], "orders-work");
    assert_ne!(updated["definition"], created["definition"]);

    // Plain NFS, chosen, drops the file system policy in place; the default claim is the
    // pipeline's own.
    assert_eq!(
        created["definition"]
            .as_str()
            .map(|d| d.contains("\"claimName\":\"eventdriven-orders-work\"")),
        Some(true)
    );
    workspace.apply(&["-var", "max_concurrency=4", "-var", "work_volume_mount=nfs"]);
    let over_nfs = workspace.pipeline();
    assert_eq!(over_nfs["file_system_id"], created["file_system_id"], "not re-created");
    assert_eq!(over_nfs["work_volume_mount"], "nfs");
    assert!(over_nfs["definition"].as_str().unwrap().contains("\"nfs\""));
    assert_file_system_policy(&aws_sdk_efs::Client::new(&sdk), &over_nfs).await;

    // Tags update in place on every child; a tag removed from the configuration is untagged.
    workspace.apply(&["-var", "max_concurrency=4", "-var", r#"tags={team="data"}"#]);
    assert_eq!(
        live_tags(&sdk, &updated).await,
        [("data", "eventdriven"); 3].map(|(t, p)| (Some(t.into()), Some(p.into())))
    );

    // Nodes in their own security group (self-managed, Karpenter) are let in instead of the
    // cluster's, in place; the next apply without them goes back to the cluster's.
    let ec2 = aws_sdk_ec2::Client::new(&sdk);
    let vpc = ec2
        .describe_security_groups()
        .group_ids(text(&updated["security_group_id"]))
        .send()
        .await
        .unwrap();
    let vpc_id = vpc.security_groups()[0].vpc_id().unwrap().to_owned();
    let nodes = ec2
        .create_security_group()
        .group_name("karpenter-nodes")
        .description("nodes")
        .vpc_id(vpc_id)
        .send()
        .await
        .unwrap()
        .group_id
        .unwrap();
    workspace.apply(&[
        "-var",
        "max_concurrency=4",
        "-var",
        r#"tags={team="data"}"#,
        "-var",
        &format!(r#"node_security_group_ids=["{nodes}"]"#),
    ]);
    let group = ec2
        .describe_security_groups()
        .group_ids(text(&updated["security_group_id"]))
        .send()
        .await
        .unwrap();
    let peers: std::collections::BTreeSet<String> = group.security_groups()[0]
        .ip_permissions()
        .iter()
        .filter(|p| p.from_port() == Some(2049))
        .flat_map(|p| {
            p.user_id_group_pairs()
                .iter()
                .filter_map(|g| g.group_id().map(str::to_owned))
        })
        .collect();
    assert_eq!(
        peers,
        std::collections::BTreeSet::from([nodes.clone()]),
        "only the given nodes reach NFS"
    );
    assert_eq!(
        workspace.pipeline()["security_group_id"],
        updated["security_group_id"],
        "updated in place"
    );

    // The function moves to the subnets given, in place.
    let lambda = aws_sdk_lambda::Client::new(&sdk);
    let function_arn = text(&updated["lambda_function_arn"]);
    let subnets_of = |function: aws_sdk_lambda::operation::get_function::GetFunctionOutput| {
        function
            .configuration()
            .and_then(|c| c.vpc_config())
            .map(|v| v.subnet_ids().to_vec())
            .unwrap_or_default()
    };
    let all_subnets = subnets_of(lambda.get_function().function_name(&function_arn).send().await.unwrap());
    assert_eq!(
        all_subnets.len(),
        2,
        "without public subnets, every cluster subnet is private"
    );
    workspace.apply(&[
        "-var",
        "max_concurrency=4",
        "-var",
        r#"tags={team="data"}"#,
        "-var",
        &format!(r#"lambda_subnet_ids=["{}"]"#, all_subnets[0]),
    ]);
    let moved = subnets_of(lambda.get_function().function_name(&function_arn).send().await.unwrap());
    assert_eq!(moved, [all_subnets[0].clone()]);
    workspace.apply(&["-var", "max_concurrency=4"]);
    assert_eq!(
        live_tags(&sdk, &updated).await,
        [(); 3].map(|()| (None, Some("eventdriven".to_owned())))
    );

    // Import into an empty state finds every child and every argument: nothing to change.
    // force_destroy is a choice about destroy, not something AWS holds: an import has the
    // default, false, as with the AWS provider.
    let imported = Workspace::new("import", &emulator, &variables("orders"));
    imported.ok(&[
        "import",
        "-input=false",
        "-var",
        "max_concurrency=4",
        "-var",
        "force_destroy=false",
        "eventdriven_batch_pipeline.orders",
        "orders",
    ]);
    let (code, plan) = imported.run_plan(&["-var", "max_concurrency=4", "-var", "force_destroy=false"]);
    assert_eq!(code, 0, "an imported pipeline matches its configuration: {plan}");
    drop(imported);

    // An image changed outside Terraform shows as a diff and is set back in place.
    let lambda = aws_sdk_lambda::Client::new(&sdk);
    let function_arn = text(&updated["lambda_function_arn"]);
    lambda
        .update_function_code()
        .function_name(&function_arn)
        .image_uri("elsewhere.example/other:2")
        .send()
        .await
        .unwrap();
    let (code, plan) = workspace.run_plan(&["-var", "max_concurrency=4"]);
    assert_eq!(code, 2, "the plan shows the changed image");
    assert!(plan.contains("elsewhere.example/other:2"), "{plan}");
    workspace.apply(&["-var", "max_concurrency=4"]);
    let function = lambda.get_function().function_name(&function_arn).send().await.unwrap();
    assert_eq!(
        function.code().and_then(|c| c.image_uri()),
        updated["lambda_image"].as_str()
    );

    // A child deleted outside Terraform comes back.
    lambda
        .delete_function()
        .function_name(text(&updated["lambda_function_arn"]))
        .send()
        .await
        .unwrap();
    let (code, plan) = workspace.run_plan(&["-var", "max_concurrency=4"]);
    assert_eq!(code, 2, "the plan shows the missing function");
    assert!(plan.contains("lambda_function_arn"), "{plan}");
    workspace.apply(&["-var", "max_concurrency=4"]);
    lambda
        .get_function()
        .function_name(text(&updated["lambda_function_arn"]))
        .send()
        .await
        .expect("re-created");

    // Without its state machine and its bucket, the pipeline is still in the state: the plan
    // names them and updates in place, and the apply creates them again beside the rest.
    let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&sdk).force_path_style(true).build());
    let bucket = text(&updated["bucket"]);
    let objects = s3.list_objects_v2().bucket(&bucket).send().await.unwrap();
    for object in objects.contents() {
        s3.delete_object()
            .bucket(&bucket)
            .key(object.key().unwrap())
            .send()
            .await
            .unwrap();
    }
    s3.delete_bucket().bucket(&bucket).send().await.unwrap();
    sfn.delete_state_machine()
        .state_machine_arn(text(&updated["state_machine_arn"]))
        .send()
        .await
        .unwrap();
    let (code, plan) = workspace.run_plan(&["-var", "max_concurrency=4"]);
    assert_eq!(code, 2, "{plan}");
    assert!(
        !plan.contains("must be replaced") && !plan.contains("will be created"),
        "{plan}"
    );
    for named in ["deleted outside Terraform", "bucket", "state_machine_arn"] {
        assert!(plan.contains(named), "{named}: {plan}");
    }
    workspace.apply(&["-var", "max_concurrency=4"]);
    let healed = workspace.pipeline();
    assert_eq!(healed["job_role_arn"], updated["job_role_arn"], "the rest is kept");
    s3.head_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("the bucket is back");
    sfn.describe_state_machine()
        .state_machine_arn(text(&healed["state_machine_arn"]))
        .send()
        .await
        .expect("the state machine is back");
    assert_eq!(workspace.run_plan(&["-var", "max_concurrency=4"]).0, 0);

    workspace.ok(&["destroy", "-auto-approve", "-input=false", "-var", "max_concurrency=4"]);
    assert_children_gone(&sdk, &updated).await;
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs terraform, fakecloud and aws: run tests/acceptance.sh"]
async fn failed_create_names_the_child_and_the_next_apply_recovers() {
    let emulator = Emulator::start("partial");
    emulator.create_cluster();
    let sdk = emulator.sdk().await;
    // A role with the job role's name, created out of band, makes the create fail halfway.
    let iam = aws_sdk_iam::Client::new(&sdk);
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    iam.create_role()
        .role_name("eventdriven-broken-job")
        .assume_role_policy_document(trust)
        .send()
        .await
        .unwrap();

    let workspace = Workspace::new("partial", &emulator, &variables("broken"));
    let output = workspace.try_apply();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("IAM role (jobs)"),
        "the error names the child: {stderr}"
    );
    assert!(
        stderr.contains("EntityAlreadyExists"),
        "the error carries AWS's message: {stderr}"
    );

    let partial = workspace.pipeline();
    assert!(
        partial["bucket"].is_string(),
        "children created before the failure are recorded"
    );
    assert!(partial["job_role_arn"].is_null(), "the failed child is not");

    // The next apply replaces the tainted pipeline: what the failed attempt left is deleted
    // first, so nothing collides, and the same child fails the same way while the cause stays.
    let again = workspace.try_apply();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("IAM role (jobs)"));
    let role = iam.get_role().role_name("eventdriven-broken-job").send().await;
    let trust = role.expect("the foreign role is untouched").role.unwrap();
    // Its trust (URL-encoded, as IAM returns it) is still the foreign one: not taken over.
    assert!(
        trust
            .assume_role_policy_document()
            .unwrap()
            .contains("ec2.amazonaws.com")
    );

    // Once the cause is gone, the next apply succeeds and leaves nothing to change.
    iam.delete_role()
        .role_name("eventdriven-broken-job")
        .send()
        .await
        .unwrap();
    workspace.apply(&[]);
    let recovered = workspace.pipeline();
    assert!(recovered["job_role_arn"].is_string());
    assert_children_exist(&sdk, &recovered).await;
    assert_eq!(workspace.plan_exit_code().0, 0);

    workspace.ok(&["destroy", "-auto-approve", "-input=false"]);
    assert_children_gone(&sdk, &recovered).await;
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs terraform, fakecloud and aws: run tests/acceptance.sh"]
async fn examples_are_formatted_valid_and_bad_input_names_the_attribute() {
    let fmt = Command::new("terraform")
        .args(["fmt", "-check", "-recursive", "-diff", "examples"])
        .current_dir(repo_root())
        .output()
        .expect("terraform on PATH");
    assert!(
        fmt.status.success(),
        "terraform fmt -check: {}",
        String::from_utf8_lossy(&fmt.stdout)
    );

    let emulator = Emulator::start("validate");
    let workspace = Workspace::new("validate", &emulator, &variables("valid"));
    workspace.ok(&["validate"]);

    let bad = variables("Bad_Name").replace("job_image", "max_lines_per_batch = 0\njob_image");
    let workspace = Workspace::new("invalid", &emulator, &bad);
    let output = workspace.run(&["plan", "-input=false"]);
    assert!(!output.status.success(), "an invalid pipeline must not plan");
    let stderr = String::from_utf8_lossy(&output.stderr);
    for attribute in ["name", "max_lines_per_batch"] {
        assert!(
            stderr.contains(&format!("Invalid {attribute}")),
            "the error names {attribute}: {stderr}"
        );
    }

    // Each bad declaration of a record is shown on its own line of the block.
    let bad_record = r#"
    key = "Missing" # names no column
    generated {
      attribute = "Id" # a column's
      kind      = "uuid_v5"
    }
    column {
      header = "Id"
      type   = "integr" # no such type
    }
    column {
      header    = "Other"
      attribute = "Id" # column 0's
    }
    output = ["Nope"] # no such attribute"#;
    let workspace = Workspace::of_config("invalid-record", &emulator, &pipeline_with_record("bad", bad_record));
    let output = workspace.run(&["plan", "-input=false"]);
    assert!(!output.status.success(), "an invalid record must not plan");
    let stderr = String::from_utf8_lossy(&output.stderr);
    for (attribute, line) in [
        ("record.column[0].type", r#"type = "integr" # no such type"#),
        ("record.key", r#"key = "Missing" # names no column"#),
        ("record.column[1].attribute", r#"attribute = "Id" # column 0's"#),
        ("record.generated.attribute", r#"attribute = "Id" # a column's"#),
        ("record.output", r#"output = ["Nope"] # no such attribute"#),
    ] {
        assert_eq!(
            source_line(&stderr, &format!("Invalid {attribute}")).as_deref(),
            Some(line),
            "the error on {attribute} points at its line: {stderr}"
        );
    }

    // A bad process block, and no table without one, each on its own line.
    let bad_process = r#"
  process {
    image   = "registry/enrich:3"
    command = [] # nothing to run
    env     = { TABLE_NAME = "mine" } # the pipeline's
  }"#;
    let workspace = Workspace::of_config("invalid-process", &emulator, &pipeline_with_body("bad", bad_process));
    let output = workspace.run(&["plan", "-input=false"]);
    assert!(!output.status.success(), "an invalid process block must not plan");
    let stderr = String::from_utf8_lossy(&output.stderr);
    for (attribute, line) in [
        ("process.command", "command = [] # nothing to run"),
        ("process.env", r#"env = { TABLE_NAME = "mine" } # the pipeline's"#),
    ] {
        assert_eq!(
            source_line(&stderr, &format!("Invalid {attribute}")).as_deref(),
            Some(line),
            "the error on {attribute} points at its line: {stderr}"
        );
    }
    let tableless = "  table = false # and no process block";
    let workspace = Workspace::of_config("invalid-table", &emulator, &pipeline_with_body("bad", tableless));
    let output = workspace.run(&["plan", "-input=false"]);
    assert!(!output.status.success(), "no table without a process block");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        source_line(&stderr, "Invalid table").as_deref(),
        Some("table = false # and no process block"),
        "{stderr}"
    );
}

/// The configuration line Terraform shows under the error `summary`, its spaces collapsed.
fn source_line(stderr: &str, summary: &str) -> Option<String> {
    let (_, after) = stderr.split_once(&format!("Error: {summary}\n"))?;
    let diagnostic = after.split("Error: ").next()?;
    diagnostic.lines().find_map(|line| {
        let (number, text) = line.trim().split_once(':')?;
        number.parse::<u32>().ok()?;
        Some(text.split_whitespace().collect::<Vec<_>>().join(" "))
    })
}

/// A pipeline named `name` whose `record` block holds `record`.
fn pipeline_with_record(name: &str, record: &str) -> String {
    format!(
        r#"{providers}
resource "eventdriven_batch_pipeline" "orders" {{
  name         = "{name}"
  cluster_name = "{CLUSTER}"
  job_image    = "ghcr.io/example/eventdriven:1"
  lambda_image = "123456789012.dkr.ecr.{REGION}.amazonaws.com/list-chunks:1"
  tags         = {{ team = "data" }}

  record {{
{record}
  }}
}}
"#,
        providers = provider_blocks()
    )
}

/// A pipeline named `name` with `body` in place of a `record` block.
fn pipeline_with_body(name: &str, body: &str) -> String {
    pipeline_with_record(name, "").replace("  record {\n\n  }", body)
}

/// The pod spec of the process Job in the deployed definition.
async fn deployed_process_pod(sdk: &SdkConfig, pipeline: &Value) -> Value {
    let machine = aws_sdk_sfn::Client::new(sdk)
        .describe_state_machine()
        .state_machine_arn(text(&pipeline["state_machine_arn"]))
        .send()
        .await
        .unwrap();
    let definition: Value = serde_json::from_str(machine.definition()).unwrap();
    definition["States"]["ProcessChunks"]["ItemProcessor"]["States"]["ProcessChunk"]["Parameters"]["Job"]["spec"]
        ["template"]["spec"]
        .clone()
}

const ENRICH: &str = r#"
  table = false
  process {
    image   = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/enrich:3"
    command = ["python3", "/app/enrich.py"]
    env     = { MODEL = "v2" }
    memory  = "1Gi"
  }"#;

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs terraform, fakecloud and aws: run tests/acceptance.sh"]
async fn a_pipeline_of_a_user_s_step_without_a_table_applies_none_and_destroys_clean() {
    let emulator = Emulator::start("process");
    emulator.create_cluster();
    let sdk = emulator.sdk().await;
    let workspace = Workspace::of_config("process", &emulator, &pipeline_with_body("enrich", ENRICH));
    workspace.apply(&[]);
    let created = workspace.pipeline();
    assert_eq!(created["table_name"], Value::Null);
    let tables = aws_sdk_dynamodb::Client::new(&sdk).list_tables().send().await.unwrap();
    assert!(tables.table_names().is_empty(), "{:?}", tables.table_names());
    let pod = deployed_process_pod(&sdk, &created).await;
    let container = &pod["containers"][0];
    assert_eq!(
        container["image"],
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com/enrich:3"
    );
    assert_eq!(container["args"], serde_json::json!(["python3", "/app/enrich.py"]));
    let env: Vec<&str> = container["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert!(env.contains(&"BUCKET") && env.contains(&"MODEL"), "{env:?}");
    assert!(
        !env.iter().any(|n| n.starts_with("TABLE")),
        "no table is referenced: {env:?}"
    );
    let (code, plan) = workspace.plan_exit_code();
    assert_eq!(code, 0, "no table is planned back: {plan}");

    // The command changes in place.
    workspace.configure(&pipeline_with_body(
        "enrich",
        &ENRICH.replace("/app/enrich.py", "/app/v2.py"),
    ));
    let (code, plan) = workspace.plan_exit_code();
    assert_eq!(code, 2, "{plan}");
    assert!(
        plan.contains("will be updated in-place") && !plan.contains("must be replaced"),
        "{plan}"
    );
    workspace.apply(&[]);
    let updated = workspace.pipeline();
    assert_eq!(
        deployed_process_pod(&sdk, &updated).await["containers"][0]["args"][1],
        "/app/v2.py"
    );

    // Import reads the block and the table's absence back.
    let config = pipeline_with_body("enrich", &ENRICH.replace("/app/enrich.py", "/app/v2.py"));
    let imported = Workspace::of_config("process-import", &emulator, &config);
    imported.ok(&["import", "-input=false", "eventdriven_batch_pipeline.orders", "enrich"]);
    let (code, plan) = imported.plan_exit_code();
    assert_eq!(code, 0, "an imported process block matches its configuration: {plan}");
    drop(imported);

    // A table again replaces the pipeline, at `table`.
    workspace.configure(&pipeline_with_body("enrich", &ENRICH.replace("table = false", "")));
    let (code, plan) = workspace.plan_exit_code();
    assert_eq!(code, 2, "{plan}");
    assert!(forcing_line(&plan).contains("table"), "{plan}");

    workspace.configure(&pipeline_with_body("enrich", ENRICH));
    workspace.ok(&["destroy", "-auto-approve", "-input=false"]);
    assert_children_gone(&sdk, &updated).await;
}

/// Readings keyed by an `Id` of `id_type`, sorted by `Day` when `sorted`, with `more_columns`
/// after the three they always have.
fn readings(id_type: &str, sorted: bool, more_columns: &str) -> String {
    let sort_key = if sorted { r#"sort_key = "Day""# } else { "" };
    format!(
        r#"
    key = "Id"
    {sort_key}
    column {{
      header = "Id"
      type   = "{id_type}"
    }}
    column {{
      header = "Day"
      type   = "date"
    }}
    column {{
      header   = "Note"
      required = false
    }}
    {more_columns}
    output = ["Id", "Day"]"#
    )
}

const AMOUNT: &str = r#"column {
      header = "Amount"
      type   = "decimal"
    }"#;

/// The `RECORD` setting of the process Job in the deployed definition.
async fn deployed_record(sdk: &SdkConfig, pipeline: &Value) -> Value {
    let pod = deployed_process_pod(sdk, pipeline).await;
    let record = pod["containers"][0]["env"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "RECORD")
        .expect("the Job gets the record")
        .clone();
    serde_json::from_str(record["value"].as_str().unwrap()).unwrap()
}

/// The line of a plan that says a change forces replacement.
fn forcing_line(plan: &str) -> &str {
    plan.lines()
        .find(|line| line.contains("# forces replacement"))
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs terraform, fakecloud and aws: run tests/acceptance.sh"]
async fn a_record_keys_the_table_and_only_key_changes_replace_the_pipeline() {
    let emulator = Emulator::start("record");
    emulator.create_cluster();
    let sdk = emulator.sdk().await;
    let configuration = |id_type: &str, sorted: bool, more_columns: &str| {
        pipeline_with_record("readings", &readings(id_type, sorted, more_columns))
    };
    let workspace = Workspace::of_config("record", &emulator, &configuration("integer", true, ""));
    workspace.apply(&[]);
    let created = workspace.pipeline();
    let table = aws_sdk_dynamodb::Client::new(&sdk)
        .describe_table()
        .table_name(text(&created["table_name"]))
        .send()
        .await
        .unwrap()
        .table
        .unwrap();
    let keys: Vec<(&str, &str)> = table
        .key_schema()
        .iter()
        .map(|k| (k.attribute_name(), k.key_type().as_str()))
        .collect();
    assert_eq!(keys, [("Id", "HASH"), ("Day", "RANGE")]);
    let mut types: Vec<(&str, &str)> = table
        .attribute_definitions()
        .iter()
        .map(|d| (d.attribute_name(), d.attribute_type().as_str()))
        .collect();
    types.sort();
    assert_eq!(types, [("Day", "S"), ("Id", "N")], "an integer key is a number");
    assert_eq!(deployed_record(&sdk, &created).await["key"], "Id");
    assert_eq!(workspace.plan_exit_code().0, 0, "the block reads back as written");

    // A new column updates the definition in place; the table stays.
    workspace.configure(&configuration("integer", true, AMOUNT));
    let (code, plan) = workspace.plan_exit_code();
    assert_eq!(code, 2, "{plan}");
    assert!(plan.contains("will be updated in-place"), "{plan}");
    assert!(!plan.contains("must be replaced"), "{plan}");
    let applied = workspace.apply(&[]);
    assert!(applied.contains("0 added, 1 changed, 0 destroyed"), "{applied}");
    let updated = workspace.pipeline();
    assert_eq!(updated["file_system_id"], created["file_system_id"], "not re-created");
    let record = deployed_record(&sdk, &updated).await;
    assert_eq!(
        record["column"][3]["header"], "Amount",
        "the next run loads it: {record}"
    );
    assert_eq!(workspace.plan_exit_code().0, 0);

    // Import reads the block back from the definition.
    let imported = Workspace::of_config("record-import", &emulator, &configuration("integer", true, AMOUNT));
    imported.ok(&[
        "import",
        "-input=false",
        "eventdriven_batch_pipeline.orders",
        "readings",
    ]);
    let (code, plan) = imported.plan_exit_code();
    assert_eq!(code, 0, "an imported record matches its configuration: {plan}");
    drop(imported);

    // The key's type, so the key schema, changes: the pipeline is replaced, for that reason.
    workspace.configure(&configuration("id", true, AMOUNT));
    let (code, plan) = workspace.plan_exit_code();
    assert_eq!(code, 2, "{plan}");
    assert!(plan.contains("must be replaced"), "{plan}");
    assert!(forcing_line(&plan).contains(r#"type"#), "{plan}");
    assert!(forcing_line(&plan).contains(r#""integer" -> "id""#), "{plan}");

    // So does dropping the sort key.
    workspace.configure(&configuration("integer", false, AMOUNT));
    let (code, plan) = workspace.plan_exit_code();
    assert_eq!(code, 2, "{plan}");
    assert!(plan.contains("must be replaced"), "{plan}");
    assert!(forcing_line(&plan).contains("sort_key"), "{plan}");

    workspace.configure(&configuration("integer", true, AMOUNT));
    workspace.ok(&["destroy", "-auto-approve", "-input=false"]);
    assert_children_gone(&sdk, &updated).await;
}

/// Executions of the state machine so far.
async fn executions(sfn: &aws_sdk_sfn::Client, machine: &str) -> Vec<aws_sdk_sfn::types::ExecutionListItem> {
    sfn.list_executions()
        .state_machine_arn(machine)
        .send()
        .await
        .unwrap()
        .executions()
        .to_vec()
}

/// `aws s3 cp` into the input prefix starts one execution (S3 -> EventBridge -> Step Functions)
/// whose input is the object's event; a result written under the output prefix starts none.
async fn assert_uploads_start_runs_and_results_do_not(emulator: &Emulator, sdk: &SdkConfig, pipeline: &Value) {
    let bucket = text(&pipeline["bucket"]);
    let machine = text(&pipeline["state_machine_arn"]);
    let sfn = aws_sdk_sfn::Client::new(sdk);
    let payload = repo_root().join("examples/order-batch/payload/test.csv");
    let copy = |key: &str| upload(emulator, &payload, &bucket, key);
    copy("input/orders.csv");
    let deadline = Instant::now() + Duration::from_secs(30);
    let started = loop {
        let runs = executions(&sfn, &machine).await;
        if !runs.is_empty() || Instant::now() > deadline {
            break runs;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(started.len(), 1, "one upload, one run");
    let run = sfn
        .describe_execution()
        .execution_arn(started[0].execution_arn())
        .send()
        .await
        .unwrap();
    let input: Value = serde_json::from_str(run.input().unwrap_or("{}")).unwrap();
    assert_eq!(input["detail"]["bucket"]["name"], bucket.as_str());
    assert_eq!(input["detail"]["object"]["key"], "input/orders.csv");

    copy("output/not-an-input.csv");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        executions(&sfn, &machine).await.len(),
        1,
        "a result never triggers a run"
    );
}

/// The `team` and `project` tags of three children whose services tag differently: the job
/// role (IAM), the orders table (DynamoDB) and the list-chunks function (Lambda).
async fn live_tags(sdk: &SdkConfig, pipeline: &Value) -> [(Option<String>, Option<String>); 3] {
    let pick = |pairs: Vec<(String, String)>| {
        let get = |key: &str| pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
        (get("team"), get("project"))
    };
    let role_name = text(&pipeline["job_role_arn"]).rsplit('/').next().unwrap().to_owned();
    let role = aws_sdk_iam::Client::new(sdk)
        .list_role_tags()
        .role_name(role_name)
        .send()
        .await
        .unwrap();
    let table_arn = aws_sdk_dynamodb::Client::new(sdk)
        .describe_table()
        .table_name(text(&pipeline["table_name"]))
        .send()
        .await
        .unwrap()
        .table
        .and_then(|t| t.table_arn)
        .unwrap();
    let table = aws_sdk_dynamodb::Client::new(sdk)
        .list_tags_of_resource()
        .resource_arn(table_arn)
        .send()
        .await
        .unwrap();
    let function = aws_sdk_lambda::Client::new(sdk)
        .list_tags()
        .resource(text(&pipeline["lambda_function_arn"]))
        .send()
        .await
        .unwrap();
    [
        pick(
            role.tags()
                .iter()
                .map(|t| (t.key().to_owned(), t.value().to_owned()))
                .collect(),
        ),
        pick(
            table
                .tags()
                .iter()
                .map(|t| (t.key().to_owned(), t.value().to_owned()))
                .collect(),
        ),
        pick(
            function
                .tags()
                .map(|m| m.clone().into_iter().collect())
                .unwrap_or_default(),
        ),
    ]
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs terraform, fakecloud and aws: run tests/acceptance.sh"]
async fn a_pipeline_leaves_the_state_only_when_nothing_of_it_is_left() {
    let emulator = Emulator::start("core-gone");
    emulator.create_cluster();
    let mut workspace = Workspace::new("core-gone", &emulator, &variables("gone"));
    workspace.apply(&[]);
    // Its state machine alone gone, it is healed (the healing test deletes every child); in an
    // account where none of its children exists (a new, empty emulator), it is gone.
    let empty = Emulator::start("core-gone-empty");
    empty.create_cluster();
    for (name, value) in &mut workspace.env {
        if *name == "AWS_ENDPOINT_URL" {
            value.clone_from(&empty.endpoint);
        }
    }
    let (code, plan) = workspace.plan_exit_code();
    assert_eq!(code, 2, "{plan}");
    assert!(
        plan.contains("eventdriven_batch_pipeline.orders will be created"),
        "{plan}"
    );
    workspace.ok(&["refresh", "-input=false"]);
    assert_eq!(
        workspace.pipeline(),
        Value::Null,
        "the refreshed state no longer holds the pipeline"
    );
}

/// Nodes built without the cluster security group (launch templates, Karpenter) would leave
/// every Job waiting to mount the file system: apply refuses, naming the setting that lets them in.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs terraform, fakecloud and aws: run tests/acceptance.sh"]
async fn nodes_the_pipeline_would_shut_out_fail_the_apply_naming_node_security_group_ids() {
    let emulator = Emulator::start("nodes");
    emulator.create_cluster();
    let sdk = emulator.sdk().await;
    let ec2 = aws_sdk_ec2::Client::new(&sdk);
    let subnet = ec2.describe_subnets().send().await.unwrap().subnets()[0].clone();
    let vpc = subnet.vpc_id().unwrap().to_owned();
    let karpenter = ec2
        .create_security_group()
        .group_name("karpenter-nodes")
        .description("nodes of a launch template")
        .vpc_id(&vpc)
        .send()
        .await
        .unwrap()
        .group_id()
        .unwrap()
        .to_owned();
    let tag = aws_sdk_ec2::types::TagSpecification::builder()
        .resource_type(aws_sdk_ec2::types::ResourceType::Instance)
        .tags(
            aws_sdk_ec2::types::Tag::builder()
                .key(format!("kubernetes.io/cluster/{CLUSTER}"))
                .value("owned")
                .build(),
        )
        .build();
    ec2.run_instances()
        .image_id("ami-12345678")
        .instance_type(aws_sdk_ec2::types::InstanceType::M5Large)
        .min_count(1)
        .max_count(1)
        .subnet_id(subnet.subnet_id().unwrap())
        .security_group_ids(&karpenter)
        .tag_specifications(tag)
        .send()
        .await
        .unwrap();
    let workspace = Workspace::new("nodes", &emulator, &variables("nodes"));
    let refused = workspace.try_apply();
    assert!(
        !refused.status.success(),
        "nodes that could not reach the file system are refused"
    );
    let said = unwrapped(&refused.stderr);
    assert!(
        said.contains("node_security_group_ids") && said.contains(&karpenter),
        "the error names the setting and the nodes' group: {said}"
    );
    assert!(workspace.pipeline()["bucket"].is_null(), "nothing was created");
    let with_nodes = format!("{}node_security_group_ids = [\"{karpenter}\"]\n", variables("nodes"));
    std::fs::write(workspace.dir.join("terraform.tfvars"), with_nodes).unwrap();
    workspace.apply(&[]);
    workspace.ok(&["destroy", "-auto-approve", "-input=false"]);
}

/// Lambda releases a VPC function's network interfaces minutes after the function, with the
/// function's role: destroy keeps the role until they are gone, then finishes.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs terraform, fakecloud and aws: run tests/acceptance.sh"]
async fn destroy_keeps_the_functions_role_until_lambda_has_released_its_interfaces() {
    let emulator = Emulator::start("eni-wait");
    emulator.create_cluster();
    let sdk = emulator.sdk().await;
    let workspace = Workspace::new("eni-wait", &emulator, &variables("eni"));
    workspace.apply(&[]);
    let pipeline = workspace.pipeline();
    let group = text(&pipeline["security_group_id"]);
    let role = text(&pipeline["lambda_role_arn"]);
    let role = role.rsplit('/').next().unwrap().to_owned();
    // The interface Lambda made for the function, as EC2 describes it, still there.
    let ec2 = aws_sdk_ec2::Client::new(&sdk);
    let subnet = ec2.describe_subnets().send().await.unwrap().subnets()[0]
        .subnet_id()
        .unwrap()
        .to_owned();
    let interface = ec2
        .create_network_interface()
        .subnet_id(subnet)
        .groups(&group)
        .description("AWS Lambda VPC ENI-eventdriven-eni-3f2a")
        .send()
        .await
        .unwrap();
    let interface = interface
        .network_interface()
        .unwrap()
        .network_interface_id()
        .unwrap()
        .to_owned();

    let destroying = {
        let (dir, env) = (workspace.dir.clone(), workspace.env.clone());
        std::thread::spawn(move || {
            std::process::Command::new("terraform")
                .args(["destroy", "-auto-approve", "-input=false", "-no-color"])
                .current_dir(dir)
                .envs(env)
                .output()
                .unwrap()
        })
    };
    let lambda = aws_sdk_lambda::Client::new(&sdk);
    let iam = aws_sdk_iam::Client::new(&sdk);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while lambda
        .get_function()
        .function_name(text(&pipeline["lambda_function_arn"]))
        .send()
        .await
        .is_ok()
    {
        assert!(std::time::Instant::now() < deadline, "the function is deleted first");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    if iam.get_role().role_name(&role).send().await.is_err() {
        let output = destroying.join().unwrap();
        panic!(
            "the role went while the interface is there: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    assert!(!destroying.is_finished(), "destroy waits for the interface");
    ec2.delete_network_interface()
        .network_interface_id(interface)
        .send()
        .await
        .unwrap();
    let destroyed = destroying.join().unwrap();
    assert!(
        destroyed.status.success(),
        "{}",
        String::from_utf8_lossy(&destroyed.stderr)
    );
    assert!(
        iam.get_role().role_name(&role).send().await.is_err(),
        "then the role goes"
    );
    let groups = ec2.describe_security_groups().group_ids(&group).send().await;
    assert!(groups.map_or(true, |g| g.security_groups().is_empty()), "and the group");
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs terraform, fakecloud and aws: run tests/acceptance.sh"]
async fn a_cluster_missing_prerequisites_fails_before_any_child_exists() {
    let emulator = Emulator::start("preflight");
    emulator.create_cluster_with(&["--without-prerequisites"]);
    let sdk = emulator.sdk().await;
    let workspace = Workspace::new("preflight", &emulator, &variables("early"));
    let output = workspace.try_apply();
    assert!(!output.status.success());
    let stderr = unwrapped(&output.stderr);
    for fix in [
        "authenticationMode=API_AND_CONFIG_MAP",
        "create-addon --cluster-name main --addon-name eks-pod-identity-agent",
    ] {
        assert!(stderr.contains(fix), "the error names the fix {fix:?}: {stderr}");
    }
    let failed = workspace.pipeline();
    assert!(failed["bucket"].is_null(), "no child was created: {failed}");
    let buckets = aws_sdk_s3::Client::new(&sdk).list_buckets().send().await.unwrap();
    assert!(buckets.buckets().is_empty(), "no bucket was created");

    // Once the cluster is fixed, the same configuration applies.
    let eks = aws_sdk_eks::Client::new(&sdk);
    eks.update_cluster_config()
        .name(CLUSTER)
        .access_config(
            aws_sdk_eks::types::UpdateAccessConfigRequest::builder()
                .authentication_mode(aws_sdk_eks::types::AuthenticationMode::ApiAndConfigMap)
                .build(),
        )
        .send()
        .await
        .unwrap();
    eks.create_addon()
        .cluster_name(CLUSTER)
        .addon_name("eks-pod-identity-agent")
        .send()
        .await
        .unwrap();
    // A public endpoint that admits only some addresses may refuse Step Functions: said, not
    // refused.
    eks.update_cluster_config()
        .name(CLUSTER)
        .resources_vpc_config(
            aws_sdk_eks::types::VpcConfigRequest::builder()
                .public_access_cidrs("203.0.113.0/24")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let applied = workspace.try_apply();
    assert!(applied.status.success());
    let said = unwrapped(&[&applied.stdout[..], &applied.stderr[..]].concat());
    assert!(
        said.contains("Warning") && said.contains("203.0.113.0/24") && said.contains("0.0.0.0/0"),
        "the apply warns of the restricted endpoint: {said}"
    );
    assert!(
        said.contains("aws-efs-csi-driver") && said.contains("work_volume_mount"),
        "the apply warns that no EFS CSI driver add-on mounts the work volume: {said}"
    );
    assert!(workspace.pipeline()["bucket"].is_string());
    workspace.ok(&["destroy", "-auto-approve", "-input=false"]);
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs terraform, fakecloud and aws: run tests/acceptance.sh"]
async fn destroy_keeps_data_unless_force_destroy_allows_losing_it() {
    let emulator = Emulator::start("force-destroy");
    emulator.create_cluster();
    let sdk = emulator.sdk().await;
    let workspace = Workspace::new("force-destroy", &emulator, &variables("kept"));
    let keep = ["-var", "force_destroy=false"];
    workspace.apply(&keep);
    let pipeline = workspace.pipeline();
    aws_sdk_s3::Client::new(&sdk)
        .put_object()
        .bucket(text(&pipeline["bucket"]))
        .key("notes/keep-me.txt")
        .body(b"data".to_vec().into())
        .send()
        .await
        .unwrap();

    let output = workspace.run(&[&["destroy", "-auto-approve", "-input=false"][..], &keep].concat());
    assert!(!output.status.success(), "destroy refuses to lose the bucket's objects");
    let stderr = unwrapped(&output.stderr);
    assert!(
        stderr.contains("force_destroy = true"),
        "the error names the setting: {stderr}"
    );
    assert_eq!(workspace.pipeline(), pipeline, "nothing was deleted, nothing forgotten");
    assert_children_exist(&sdk, &pipeline).await;

    workspace.apply(&["-var", "force_destroy=true"]);
    workspace.ok(&["destroy", "-auto-approve", "-input=false", "-var", "force_destroy=true"]);
    assert_children_gone(&sdk, &pipeline).await;
}
