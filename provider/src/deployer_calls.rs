//! The deployer's policy (`core::deployer`, `docs/deployer-policy.json`) checked against the
//! provider's code: every SDK call in `src/` maps to the IAM action it needs, and the policy
//! grants exactly those, plus what AWS checks on the caller for them (`IMPLIED`). A new call
//! without its grant, or a grant no call needs, fails here.

use std::collections::BTreeSet;
use std::path::Path;

use eventdriven_core::deployer::{IMPLIED, granted_actions};

/// The client fields of `AwsClients` (and the log-group adapter's `logs(aws)`), by IAM prefix.
const CLIENTS: &[(&str, &str)] = &[
    (".s3.", "s3"),
    (".lambda.", "lambda"),
    (".sfn.", "states"),
    (".events.", "events"),
    (".eks.", "eks"),
    (".ec2.", "ec2"),
    (".iam.", "iam"),
    (".dynamodb.", "dynamodb"),
    (".efs.", "elasticfilesystem"),
    (".elasticache.", "elasticache"),
    (".secretsmanager.", "secretsmanager"),
    (".sts.", "sts"),
    ("logs(aws).", "logs"),
];

/// Operations whose IAM action is not their name: S3's, and waiters (which poll a describe).
const ACTIONS_NAMED_OTHERWISE: &[(&str, &str)] = &[
    ("s3:head_bucket", "s3:ListBucket"),
    ("s3:list_object_versions", "s3:ListBucketVersions"),
    ("s3:delete_objects", "s3:DeleteObject"),
    ("s3:delete_bucket_tagging", "s3:PutBucketTagging"),
    ("s3:put_bucket_encryption", "s3:PutEncryptionConfiguration"),
    ("s3:put_bucket_lifecycle_configuration", "s3:PutLifecycleConfiguration"),
    ("s3:put_bucket_notification_configuration", "s3:PutBucketNotification"),
    ("s3:put_public_access_block", "s3:PutBucketPublicAccessBlock"),
    ("s3:get_bucket_encryption", "s3:GetEncryptionConfiguration"),
    ("s3:get_public_access_block", "s3:GetBucketPublicAccessBlock"),
    ("dynamodb:wait_until_table_exists", "dynamodb:DescribeTable"),
    ("dynamodb:wait_until_table_not_exists", "dynamodb:DescribeTable"),
    ("lambda:wait_until_function_active_v2", "lambda:GetFunction"),
    ("lambda:wait_until_function_updated_v2", "lambda:GetFunction"),
    (
        "elasticache:wait_until_replication_group_deleted",
        "elasticache:DescribeReplicationGroups",
    ),
];

fn pascal(snake: &str) -> String {
    snake
        .split('_')
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect()
}

/// The IAM actions of the SDK calls in `source` (whitespace removed, so a call split over lines
/// reads as one).
fn actions_called(source: &str) -> BTreeSet<String> {
    let code: String = source.chars().filter(|c| !c.is_whitespace()).collect();
    let mut actions = BTreeSet::new();
    for (client, prefix) in CLIENTS {
        for (at, _) in code.match_indices(client) {
            let rest = &code[at + client.len()..];
            let operation: String = rest
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
                .collect();
            if operation.is_empty() || !rest[operation.len()..].starts_with('(') || operation == "clone" {
                continue;
            }
            let key = format!("{prefix}:{operation}");
            let action = ACTIONS_NAMED_OTHERWISE
                .iter()
                .find(|(call, _)| *call == key)
                .map_or_else(
                    || format!("{prefix}:{}", pascal(&operation)),
                    |(_, action)| (*action).to_owned(),
                );
            actions.insert(action);
        }
    }
    actions
}

fn sources(dir: &Path, found: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") && !path.ends_with("deployer_calls.rs") {
            found.push(std::fs::read_to_string(&path).unwrap());
        }
    }
}

#[test]
fn the_deployer_policy_grants_exactly_what_the_provider_calls() {
    let mut files = Vec::new();
    sources(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut files);
    let called: BTreeSet<String> = files.iter().flat_map(|f| actions_called(f)).collect();
    let granted: BTreeSet<String> = granted_actions().into_iter().map(str::to_owned).collect();
    let implied: BTreeSet<String> = IMPLIED.iter().map(|a| (*a).to_owned()).collect();
    let missing: Vec<&String> = called.difference(&granted).collect();
    assert!(
        missing.is_empty(),
        "the provider calls what the deployer may not: {missing:?}"
    );
    let unneeded: Vec<&String> = granted.difference(&called).filter(|a| !implied.contains(*a)).collect();
    assert!(
        unneeded.is_empty(),
        "the deployer may do what the provider never calls: {unneeded:?}"
    );
    assert!(called.len() > 100, "the scan finds the calls: {called:?}");
}

#[test]
fn calls_read_as_their_iam_actions() {
    let source = "aws.lambda\n    .create_function()\n .x; logs(aws).put_retention_policy(); aws.s3.head_bucket(); aws.sfn.clone()";
    assert_eq!(
        actions_called(source).into_iter().collect::<Vec<_>>(),
        ["lambda:CreateFunction", "logs:PutRetentionPolicy", "s3:ListBucket"]
    );
}
