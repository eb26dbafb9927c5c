//! The schema of `eventdriven_batch_pipeline`, and which argument changes force replacement.

use std::collections::HashMap;

use tf_provider::schema::{Attribute, AttributeConstraint, AttributeType, Block, Description, NestedBlock, Schema};

use crate::resource::{attribute, boolean, number, string, string_map};

use AttributeConstraint::{Computed, Optional, OptionalComputed, Required};

/// Arguments whose change replaces the whole pipeline: they name children, or are fixed at a
/// child's creation. Every other argument updates in place.
pub const FORCE_NEW: [&str; 9] = [
    "name",
    "cluster_name",
    "namespace",
    "service_account",
    "bucket_name",
    "redis_node_type",
    "dynamodb_billing_mode",
    "dynamodb_read_capacity",
    "dynamodb_write_capacity",
];

pub fn schema() -> Schema {
    let attributes: HashMap<String, Attribute> = [
        ("name", string(Required, "Pipeline name; every child's name derives from it. Forces replacement.")),
        ("cluster_name", string(Required, "Existing EKS cluster the Jobs run on; its VPC, subnets and security groups place the file system, cache and Lambda. Forces replacement.")),
        ("job_image", string(Required, "Container image of the `eventdriven` runtime the Jobs run.")),
        ("lambda_image", string(Required, "Container image URI (ECR) of the list-chunks Lambda function.")),
        ("max_lines_per_batch", number(OptionalComputed, "Data rows per chunk. Default 30000.")),
        ("architecture", string(OptionalComputed, "CPU architecture of both images: `x86_64` (default) or `arm64`. The Lambda is created for it and the Jobs run on nodes of it.")),
        ("force_destroy", boolean(OptionalComputed, "Whether destroy may delete the bucket while it holds objects and the table while it holds orders. Default `false`: destroy then fails before deleting anything.")),
        ("keep_work", boolean(OptionalComputed, "Keep each run's chunks on the file system after merge, for inspection. By default (`false`) merge removes them once the result is published, so the file system does not keep a copy of every input.")),
        ("max_concurrency", number(OptionalComputed, "Most `process` Jobs running at once; 0 (the default) means the Map's own limit: about 40 inline, and 40 for the Distributed Map a run past 1,550 chunks takes.")),
        ("step_timeout_seconds", number(OptionalComputed, "How long one Job may run, pending time included, before it fails the run (default 3600, 60 to 86400). Every task of the state machine times out shortly after.")),
        ("namespace", string(OptionalComputed, "Kubernetes namespace of the Jobs. Default `eventdriven`. Forces replacement.")),
        ("service_account", string(OptionalComputed, "Kubernetes service account of the Jobs, granted the job role through EKS Pod Identity. Default `eventdriven-<name>`. Forces replacement.")),
        ("work_volume_claim", string(Optional, "PersistentVolumeClaim in `namespace`, bound to the pipeline's EFS access point (`access_point_id`) through the EFS CSI driver, that the Jobs mount as their work directory. Unset, they mount the file system root over NFS.")),
        ("input_prefix", string(OptionalComputed, "Key prefix whose new objects start a run. Default `input/`.")),
        ("input_suffix", string(OptionalComputed, "Key suffix new objects must also have to start a run; empty means any.")),
        ("output_prefix", string(OptionalComputed, "Key prefix results are written under; must not overlap `input_prefix`. Default `output/`.")),
        ("node_security_group_ids", attribute(AttributeType::List(Box::new(AttributeType::String)), Optional, "Security groups of the nodes the Jobs run on (self-managed nodes, Karpenter, launch templates with their own groups), let in to the file system (2049) and the cache (6379) through the pipeline's security group. Unset: the cluster security group, which managed node groups carry.")),
        ("lambda_subnet_ids", attribute(AttributeType::List(Box::new(AttributeType::String)), Optional, "Subnets of the list-chunks Lambda function, which must reach Secrets Manager (a NAT gateway or a VPC endpoint). Unset: the cluster's private subnets, those whose route table has no route to an internet gateway; apply fails, saying so, when there is none.")),
        ("bucket_name", string(Optional, "Bucket name instead of the derived `eventdriven-<name>-<account>`. Forces replacement.")),
        ("redis_node_type", string(OptionalComputed, "ElastiCache node type of the progress store. Default `cache.t4g.micro`. Forces replacement.")),
        ("dynamodb_billing_mode", string(OptionalComputed, "`PAY_PER_REQUEST` (default) or `PROVISIONED`. Forces replacement.")),
        ("dynamodb_read_capacity", number(Optional, "Read capacity units; only with `PROVISIONED`. Forces replacement.")),
        ("dynamodb_write_capacity", number(Optional, "Write capacity units; only with `PROVISIONED`. Forces replacement.")),
        ("tags", string_map(Optional, "Tags for every child, over the provider's `default_tags`.")),
        ("id", string(Computed, "The pipeline name.")),
        ("tags_all", string_map(Computed, "Tags every child carries: `tags` merged over the provider's `default_tags`.")),
        ("bucket", string(Computed, "Name of the S3 bucket.")),
        ("table_name", string(Computed, "Name of the DynamoDB orders table.")),
        ("security_group_id", string(Computed, "Id of the pipeline's security group, on the mount targets, the cache and the Lambda function: in from the nodes on 2049 and 6379, out only to Redis and HTTPS.")),
        ("file_system_id", string(Computed, "Id of the EFS file system.")),
        ("access_point_id", string(Computed, "Id of the EFS access point confining the Jobs to the pipeline's directory as a nonroot user; bind a PersistentVolume to `<file_system_id>::<access_point_id>` for `work_volume_claim`.")),
        ("mount_target_ids", attribute(AttributeType::List(Box::new(AttributeType::String)), Computed, "Ids of the EFS mount targets, one per Availability Zone of the cluster's subnets.")),
        ("redis_auth_secret_arn", string(Computed, "ARN of the Secrets Manager secret holding the Redis auth token (the token is never in the state).")),
        ("cache_subnet_group_name", string(Computed, "Name of the ElastiCache subnet group.")),
        ("replication_group_id", string(Computed, "Id of the ElastiCache replication group.")),
        ("redis_url", string(Computed, "`rediss://` URL of the progress store, without credentials.")),
        ("job_role_arn", string(Computed, "ARN of the IAM role the Jobs assume.")),
        ("lambda_role_arn", string(Computed, "ARN of the Lambda function's execution role.")),
        ("state_machine_role_arn", string(Computed, "ARN of the state machine's IAM role.")),
        ("events_role_arn", string(Computed, "ARN of the IAM role EventBridge starts executions with.")),
        ("lambda_function_arn", string(Computed, "ARN of the list-chunks Lambda function.")),
        ("state_machine_arn", string(Computed, "ARN of the Step Functions state machine.")),
        ("definition", string(Computed, "The state machine's definition (Amazon States Language JSON).")),
        ("input_rule_name", string(Computed, "Name of the EventBridge rule starting a run per input object.")),
        ("access_entry_arn", string(Computed, "ARN of the EKS access entry of the state machine's role.")),
        ("pod_identity_association_id", string(Computed, "Id of the EKS Pod Identity association of the job role.")),
    ]
    .into_iter()
    .map(|(name, attr)| (name.to_owned(), attr))
    .collect();

    let timeouts = Block {
        attributes: [
            (
                "create",
                string(
                    Optional,
                    "How long creating (or finishing) the pipeline may take, e.g. `60m`. Default 60m.",
                ),
            ),
            (
                "delete",
                string(
                    Optional,
                    "How long destroying the pipeline may take, e.g. `30m`. Default 60m.",
                ),
            ),
        ]
        .into_iter()
        .map(|(name, attr)| (name.to_owned(), attr))
        .collect(),
        description: Description::plain("Operation timeouts"),
        ..Default::default()
    };

    Schema {
        version: 1,
        block: Block {
            version: 1,
            attributes,
            blocks: [("timeouts".to_owned(), NestedBlock::Optional(timeouts))]
                .into_iter()
                .collect(),
            description: Description::markdown(
                "An event-driven batch pipeline: an object under the input prefix of its bucket starts a Step Functions execution that splits it, processes the chunks as Kubernetes Jobs on an existing EKS cluster, and merges the results.",
            ),
            deprecated: false,
        },
    }
}
