//! The IAM policy a deployer attaches to apply, refresh, import and destroy both resources:
//! every action the provider calls (a provider test checks this list against its SDK calls,
//! both ways), plus the few that AWS checks on the caller for another call ([`IMPLIED`]). Each
//! grant names this project's resources (`eventdriven-*`) where the service scopes the action by
//! a name the project chooses; AWS-chosen identifiers (file systems, security groups) and
//! account-wide calls take `*`. `docs/deployer-policy.json` is this document, checked by a test.

use serde_json::Value;

use crate::iam::{allow, document};
use crate::spec::PREFIX;

/// One statement: its id, its actions, its resources (`{p}` is the project's prefix).
type Grant = (&'static str, &'static [&'static str], &'static [&'static str]);

/// Every grant, by service.
const GRANTS: &[Grant] = &[
    ("ReadTheAccount", &["sts:GetCallerIdentity"], &["*"]),
    (
        "ReadTheCluster",
        &[
            "eks:DescribeCluster",
            "eks:DescribeAddon",
            "eks:ListNodegroups",
            "eks:ListFargateProfiles",
        ],
        &["arn:aws:eks:*:*:cluster/*", "arn:aws:eks:*:*:addon/*/*/*"],
    ),
    (
        "GrantTheJobsClusterAccess",
        &[
            "eks:CreateAccessEntry",
            "eks:DescribeAccessEntry",
            "eks:DeleteAccessEntry",
            "eks:AssociateAccessPolicy",
            "eks:ListAssociatedAccessPolicies",
            "eks:CreatePodIdentityAssociation",
            "eks:DescribePodIdentityAssociation",
            "eks:DeletePodIdentityAssociation",
            "eks:ListPodIdentityAssociations",
        ],
        &[
            "arn:aws:eks:*:*:cluster/*",
            "arn:aws:eks:*:*:access-entry/*/*/*/*/*",
            "arn:aws:eks:*:*:podidentityassociation/*/*",
        ],
    ),
    (
        "ReadTheNetwork",
        &[
            "ec2:DescribeRouteTables",
            "ec2:DescribeInstances",
            "ec2:DescribeSecurityGroups",
            "ec2:DescribeSubnets",
            "ec2:DescribeVpcs",
            "ec2:DescribeNetworkInterfaces",
        ],
        &["*"],
    ),
    (
        "SecurityGroups",
        &[
            "ec2:CreateSecurityGroup",
            "ec2:DeleteSecurityGroup",
            "ec2:AuthorizeSecurityGroupIngress",
            "ec2:AuthorizeSecurityGroupEgress",
            "ec2:RevokeSecurityGroupIngress",
            "ec2:RevokeSecurityGroupEgress",
            "ec2:CreateTags",
            "ec2:DeleteTags",
        ],
        &["arn:aws:ec2:*:*:security-group/*", "arn:aws:ec2:*:*:vpc/*"],
    ),
    (
        "MountTargetInterfaces",
        &["ec2:CreateNetworkInterface"],
        &[
            "arn:aws:ec2:*:*:network-interface/*",
            "arn:aws:ec2:*:*:subnet/*",
            "arn:aws:ec2:*:*:security-group/*",
        ],
    ),
    (
        "Roles",
        &[
            "iam:CreateRole",
            "iam:GetRole",
            "iam:DeleteRole",
            "iam:TagRole",
            "iam:UntagRole",
            "iam:ListRoleTags",
            "iam:PutRolePolicy",
            "iam:GetRolePolicy",
            "iam:DeleteRolePolicy",
            "iam:ListRolePolicies",
            "iam:ListAttachedRolePolicies",
            "iam:DetachRolePolicy",
            "iam:PassRole",
        ],
        &["arn:aws:iam::*:role/{p}-*"],
    ),
    (
        "ElastiCacheServiceRole",
        &["iam:CreateServiceLinkedRole"],
        &["arn:aws:iam::*:role/aws-service-role/elasticache.amazonaws.com/*"],
    ),
    (
        "BucketObjects",
        &["s3:DeleteObject", "s3:DeleteObjectVersion"],
        &["arn:aws:s3:::{p}-*/*"],
    ),
    (
        "Buckets",
        &[
            "s3:CreateBucket",
            "s3:DeleteBucket",
            "s3:ListBucket",
            "s3:ListBucketVersions",
            "s3:PutBucketPolicy",
            "s3:PutBucketTagging",
            "s3:PutEncryptionConfiguration",
            "s3:PutLifecycleConfiguration",
            "s3:PutBucketNotification",
            "s3:PutBucketPublicAccessBlock",
            "s3:GetEncryptionConfiguration",
            "s3:GetBucketPublicAccessBlock",
        ],
        &["arn:aws:s3:::{p}-*"],
    ),
    (
        "Tables",
        &[
            "dynamodb:CreateTable",
            "dynamodb:DescribeTable",
            "dynamodb:UpdateTable",
            "dynamodb:DeleteTable",
            "dynamodb:Scan",
            "dynamodb:TagResource",
            "dynamodb:UntagResource",
            "dynamodb:ListTagsOfResource",
        ],
        &["arn:aws:dynamodb:*:*:table/{p}-*"],
    ),
    (
        "CreateFileSystems",
        &[
            "elasticfilesystem:CreateFileSystem",
            "elasticfilesystem:DescribeFileSystems",
            "elasticfilesystem:DescribeAccessPoints",
            "elasticfilesystem:TagResource",
            "elasticfilesystem:UntagResource",
            "elasticfilesystem:ListTagsForResource",
        ],
        &["*"],
    ),
    (
        "FileSystems",
        &[
            "elasticfilesystem:DeleteFileSystem",
            "elasticfilesystem:CreateMountTarget",
            "elasticfilesystem:DescribeMountTargets",
            "elasticfilesystem:DeleteMountTarget",
            "elasticfilesystem:CreateAccessPoint",
            "elasticfilesystem:DeleteAccessPoint",
            "elasticfilesystem:PutFileSystemPolicy",
            "elasticfilesystem:DeleteFileSystemPolicy",
        ],
        &[
            "arn:aws:elasticfilesystem:*:*:file-system/*",
            "arn:aws:elasticfilesystem:*:*:access-point/*",
        ],
    ),
    (
        "Caches",
        &[
            "elasticache:CreateCacheSubnetGroup",
            "elasticache:DescribeCacheSubnetGroups",
            "elasticache:DeleteCacheSubnetGroup",
            "elasticache:CreateReplicationGroup",
            "elasticache:DescribeReplicationGroups",
            "elasticache:ModifyReplicationGroup",
            "elasticache:DeleteReplicationGroup",
            "elasticache:AddTagsToResource",
            "elasticache:RemoveTagsFromResource",
            "elasticache:ListTagsForResource",
        ],
        &[
            "arn:aws:elasticache:*:*:replicationgroup:{p}-*",
            "arn:aws:elasticache:*:*:subnetgroup:{p}-*",
            "arn:aws:elasticache:*:*:cluster:{p}-*",
            "arn:aws:elasticache:*:*:parametergroup:*",
            "arn:aws:elasticache:*:*:securitygroup:*",
        ],
    ),
    (
        "Secrets",
        &[
            "secretsmanager:CreateSecret",
            "secretsmanager:DescribeSecret",
            "secretsmanager:GetSecretValue",
            "secretsmanager:DeleteSecret",
            "secretsmanager:TagResource",
            "secretsmanager:UntagResource",
        ],
        &["arn:aws:secretsmanager:*:*:secret:{p}-*"],
    ),
    (
        "Functions",
        &[
            "lambda:CreateFunction",
            "lambda:GetFunction",
            "lambda:DeleteFunction",
            "lambda:UpdateFunctionCode",
            "lambda:UpdateFunctionConfiguration",
            "lambda:AddPermission",
            "lambda:RemovePermission",
            "lambda:PutFunctionEventInvokeConfig",
            "lambda:DeleteFunctionEventInvokeConfig",
            "lambda:TagResource",
            "lambda:UntagResource",
            "lambda:ListTags",
        ],
        // A workflow also wires existing functions (`function_arn`), of any name.
        &["arn:aws:lambda:*:*:function:*"],
    ),
    ("FindFunctions", &["lambda:ListFunctions"], &["*"]),
    (
        "StateMachines",
        &[
            "states:CreateStateMachine",
            "states:DescribeStateMachine",
            "states:UpdateStateMachine",
            "states:DeleteStateMachine",
            "states:TagResource",
            "states:UntagResource",
            "states:ListTagsForResource",
        ],
        &["arn:aws:states:*:*:stateMachine:{p}-*"],
    ),
    (
        "ValidateDefinitions",
        &["states:ValidateStateMachineDefinition"],
        &["*"],
    ),
    (
        "Rules",
        &[
            "events:PutRule",
            "events:DescribeRule",
            "events:DeleteRule",
            "events:PutTargets",
            "events:ListTargetsByRule",
            "events:RemoveTargets",
            "events:TagResource",
            "events:UntagResource",
            "events:ListTagsForResource",
        ],
        &["arn:aws:events:*:*:rule/{p}-*", "arn:aws:events:*:*:rule/*/{p}-*"],
    ),
    (
        "LogGroups",
        &[
            "logs:CreateLogGroup",
            "logs:DeleteLogGroup",
            "logs:PutRetentionPolicy",
            "logs:TagResource",
            "logs:UntagResource",
            "logs:ListTagsForResource",
        ],
        &[
            "arn:aws:logs:*:*:log-group:/aws/lambda/{p}-*",
            "arn:aws:logs:*:*:log-group:/aws/events/{p}-*",
            "arn:aws:logs:*:*:log-group:/aws/vendedlogs/states/{p}-*",
        ],
    ),
    (
        "AccountLogSettings",
        &[
            "logs:DescribeLogGroups",
            "logs:PutResourcePolicy",
            "logs:DeleteResourcePolicy",
            "logs:DescribeResourcePolicies",
            "logs:CreateLogDelivery",
            "logs:GetLogDelivery",
            "logs:UpdateLogDelivery",
            "logs:DeleteLogDelivery",
            "logs:ListLogDeliveries",
        ],
        &["*"],
    ),
];

/// Actions the provider does not call itself but AWS checks on its caller: passing roles to
/// the services, a function or mount target placed in a VPC, a Redis cache's service-linked
/// role, a state machine that delivers logs, objects' versions deleted with the bucket.
pub const IMPLIED: &[&str] = &[
    "iam:PassRole",
    "iam:CreateServiceLinkedRole",
    "ec2:DescribeSubnets",
    "ec2:DescribeVpcs",
    "ec2:CreateNetworkInterface",
    "s3:DeleteObjectVersion",
    "logs:DescribeResourcePolicies",
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
];

/// The deployer's policy document.
pub fn deployer_policy() -> Value {
    let statements = GRANTS
        .iter()
        .map(|(sid, actions, resources)| {
            let resources: Vec<String> = resources.iter().map(|r| r.replace("{p}", PREFIX)).collect();
            allow(sid, actions, &resources)
        })
        .collect();
    document(statements)
}

/// Every action the policy grants.
pub fn granted_actions() -> Vec<&'static str> {
    GRANTS
        .iter()
        .flat_map(|(_, actions, _)| actions.iter().copied())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The policy users attach is the one this module makes: `UPDATE_POLICY=1` rewrites it.
    #[test]
    fn the_published_policy_is_this_one() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/deployer-policy.json");
        let generated = serde_json::to_string_pretty(&deployer_policy()).unwrap() + "\n";
        if std::env::var_os("UPDATE_POLICY").is_some() {
            std::fs::write(&path, &generated).unwrap();
        }
        let published = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            published == generated,
            "{} differs from core::deployer; run UPDATE_POLICY=1 cargo test -p eventdriven-core deployer",
            path.display()
        );
    }

    #[test]
    fn no_action_is_granted_twice_and_every_implied_one_is_granted() {
        let mut actions = granted_actions();
        let count = actions.len();
        actions.sort();
        actions.dedup();
        assert_eq!(actions.len(), count, "an action in two statements");
        for implied in IMPLIED {
            assert!(actions.contains(implied), "{implied}");
        }
    }
}
