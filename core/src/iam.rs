//! Least-privilege IAM policies and trust policies of the pipeline's four roles.
//!
//! Every resource is named through [`Names`], so the policies can be rendered before the
//! resources exist and never grant anything beyond this pipeline's own children. The one
//! exception, describing the VPC for the Lambda, is explained on [`VPC_DESCRIBE_SID`].

use serde_json::{Value, json};

use crate::cluster::{AwsContext, ClusterInfo};
use crate::naming::Names;
use crate::spec::PipelineSpec;

pub const POLICY_VERSION: &str = "2012-10-17";

/// The only statement with `Resource: "*"`: the Lambda describes network interfaces and
/// subnets, and EC2 does not scope its Describe actions by resource.
pub const VPC_DESCRIBE_SID: &str = "LambdaVpcDescribe";

pub(crate) fn document(statements: Vec<Value>) -> Value {
    json!({ "Version": POLICY_VERSION, "Statement": statements })
}

pub(crate) fn allow(sid: &str, actions: &[&str], resources: &[String]) -> Value {
    json!({ "Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources })
}

/// The bucket's policy: every request without TLS is denied, whoever makes it.
pub fn bucket_policy(names: &Names) -> Value {
    tls_only_bucket_policy(&names.bucket_arn())
}

/// Denies every request to the bucket `bucket` (its ARN) made without TLS.
pub fn tls_only_bucket_policy(bucket: &str) -> Value {
    document(vec![json!({
        "Sid": "DenyWithoutTls",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [bucket.to_owned(), format!("{bucket}/*")],
        "Condition": { "Bool": { "aws:SecureTransport": "false" } },
    })])
}

/// The file system's policy when the Jobs mount it through the EFS CSI driver: no client may
/// use it without TLS, and a client may mount and write only as an IAM identity of this account
/// (which its own policies must allow), only through the pipeline's access point. Without a
/// policy, EFS lets any client that reaches a mount target in (anonymous NFS). The CSI driver
/// mounts with its own identity, not the Job's, so the grant cannot name the job role; the
/// access point confines whoever mounts to the pipeline's directory as its nonroot user.
pub fn file_system_policy(names: &Names, file_system_id: &str, access_point_id: &str) -> Value {
    let file_system = names.efs_file_system_arn(file_system_id);
    let client_actions = ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"];
    document(vec![
        json!({
            "Sid": "DenyWithoutTls",
            "Effect": "Deny",
            "Principal": { "AWS": "*" },
            "Action": ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite", "elasticfilesystem:ClientRootAccess"],
            "Resource": file_system,
            "Condition": { "Bool": { "aws:SecureTransport": "false" } },
        }),
        json!({
            "Sid": "MountThroughTheAccessPoint",
            "Effect": "Allow",
            "Principal": { "AWS": format!("arn:{}:iam::{}:root", names.aws().partition, names.aws().account_id) },
            "Action": client_actions,
            "Resource": file_system,
            "Condition": {
                "Bool": { "aws:SecureTransport": "true" },
                "ArnEquals": { "elasticfilesystem:AccessPointArn": names.efs_access_point_arn(access_point_id) },
            },
        }),
    ])
}

/// Lets `service` assume the role, only on behalf of this account, which guards against a
/// confused deputy in another account.
pub(crate) fn service_trust(service: &str, aws: &AwsContext) -> Value {
    document(vec![json!({
        "Effect": "Allow",
        "Principal": { "Service": service },
        "Action": "sts:AssumeRole",
        "Condition": { "StringEquals": { "aws:SourceAccount": aws.account_id } },
    })])
}

pub fn state_machine_trust_policy(aws: &AwsContext) -> Value {
    service_trust("states.amazonaws.com", aws)
}

/// The state machine invokes the list-chunks Lambda (and its versions) and, for a run past the
/// inline threshold, runs the Distributed Map: it starts, watches, stops and redrives its own
/// child executions, describes its own executions, reads the chunk list and writes (and reads
/// back) the children's results, under the runs prefix only: what "IAM policies for using
/// Distributed Map states" in the Step Functions guide grants, scoped to this pipeline.
///
/// `eks:runJob.sync` and `eks:call` need no IAM action: the definition carries the cluster's
/// endpoint and certificate authority, so nothing calls DescribeCluster; the role is authorized
/// by the cluster's Kubernetes RBAC (an EKS access entry the provider creates); and the `.sync`
/// pattern polls the Job instead of relying on an EventBridge managed rule.
pub fn state_machine_policy(names: &Names) -> Value {
    let function = names.lambda_function_arn();
    use crate::definition::DISTRIBUTED_MAP_LABEL;
    document(vec![
        allow(
            "InvokeListChunks",
            &["lambda:InvokeFunction"],
            &[format!("{function}:*"), function],
        ),
        allow(
            "StartChunkExecutions",
            &["states:StartExecution"],
            &[names.state_machine_arn()],
        ),
        allow(
            "ManageChunkExecutions",
            &["states:StopExecution", "states:RedriveExecution"],
            &[names.map_child_executions_arn(DISTRIBUTED_MAP_LABEL)],
        ),
        // The children are Standard executions; the action's other resource type is listed
        // so that it names every type it takes, as linters require.
        allow(
            "DescribeChunkExecutions",
            &["states:DescribeExecution"],
            &[
                names.map_child_executions_arn(DISTRIBUTED_MAP_LABEL),
                names.map_child_express_executions_arn(DISTRIBUTED_MAP_LABEL),
            ],
        ),
        allow(
            "DescribeOwnExecutions",
            &["states:DescribeExecution"],
            &[names.own_executions_arn(), names.own_express_executions_arn()],
        ),
        allow("ReadChunkLists", &["s3:GetObject"], &[names.chunk_lists_arn()]),
        allow(
            "WriteMapResults",
            &[
                "s3:PutObject",
                "s3:GetObject",
                "s3:AbortMultipartUpload",
                "s3:ListMultipartUploadParts",
            ],
            &[names.map_results_arn()],
        ),
    ])
}

pub fn events_trust_policy(aws: &AwsContext) -> Value {
    service_trust("events.amazonaws.com", aws)
}

/// EventBridge only starts executions of this pipeline's state machine.
pub fn events_policy(names: &Names) -> Value {
    document(vec![allow(
        "StartRun",
        &["states:StartExecution"],
        &[names.state_machine_arn()],
    )])
}

pub fn lambda_trust_policy() -> Value {
    document(vec![json!({
        "Effect": "Allow",
        "Principal": { "Service": "lambda.amazonaws.com" },
        "Action": "sts:AssumeRole",
    })])
}

/// The list-chunks Lambda writes its own logs (the provider creates its log group, with a
/// retention), reads the Redis auth token and runs inside the
/// VPC (where Redis is). It only reads the progress store, so it mounts no file system. Lambda
/// creates its network interfaces with this role: only in the cluster's subnets and the
/// pipeline's security group, as AWS's documentation allows.
pub fn lambda_policy(names: &Names, subnet_ids: &[String], security_group_ids: &[String]) -> Value {
    let log_group = names.lambda_log_group_arn();
    let interfaces = names.ec2_arn("network-interface/*");
    let mut placement: Vec<String> = subnet_ids
        .iter()
        .map(|id| names.ec2_arn(&format!("subnet/{id}")))
        .collect();
    placement.extend(
        security_group_ids
            .iter()
            .map(|id| names.ec2_arn(&format!("security-group/{id}"))),
    );
    placement.push(interfaces.clone());
    document(vec![
        allow(
            "LambdaLogs",
            &["logs:CreateLogStream", "logs:PutLogEvents"],
            &[format!("{log_group}:*"), log_group],
        ),
        allow(
            "RedisAuthSecret",
            &["secretsmanager:GetSecretValue"],
            &[names.redis_auth_secret_arn_pattern()],
        ),
        allow("LambdaVpcCreateInterfaces", &["ec2:CreateNetworkInterface"], &placement),
        allow(
            "LambdaVpcManageInterfaces",
            &[
                "ec2:DeleteNetworkInterface",
                "ec2:AssignPrivateIpAddresses",
                "ec2:UnassignPrivateIpAddresses",
            ],
            &[interfaces],
        ),
        allow(
            VPC_DESCRIBE_SID,
            &["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"],
            &["*".to_owned()],
        ),
    ])
}

/// EKS Pod Identity assumes the Job role, and only for the pipeline's service account in its
/// namespace on the pipeline's cluster, which Pod Identity passes as session tags: the same
/// namespace and account on another cluster of the account get nothing.
pub fn job_trust_policy(spec: &PipelineSpec, cluster: &ClusterInfo) -> Value {
    document(vec![json!({
        "Effect": "Allow",
        "Principal": { "Service": "pods.eks.amazonaws.com" },
        "Action": ["sts:AssumeRole", "sts:TagSession"],
        "Condition": { "StringEquals": {
            "aws:RequestTag/eks-cluster-arn": cluster.arn,
            "aws:RequestTag/kubernetes-namespace": spec.namespace,
            "aws:RequestTag/kubernetes-service-account": spec.service_account,
        } },
    })])
}

/// The Jobs read inputs, write results (multipart for large ones), record items (only when
/// the pipeline has a table: with `table = false` no statement names DynamoDB) and read the
/// Redis auth token; they see no other object of the bucket.
pub fn job_policy(names: &Names) -> Value {
    let spec = names.spec();
    let bucket = names.bucket_arn();
    let (input, output) = (&spec.input_prefix, &spec.output_prefix);
    let mut list = allow(
        "ListPipelinePrefixes",
        &["s3:ListBucket"],
        std::slice::from_ref(&bucket),
    );
    list["Condition"] = json!({ "StringLike": { "s3:prefix": [format!("{input}*"), format!("{output}*")] } });
    let mut statements = vec![
        allow("ReadInput", &["s3:GetObject"], &[format!("{bucket}/{input}*")]),
        allow(
            "WriteOutput",
            &["s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
            &[format!("{bucket}/{output}*")],
        ),
        // Split writes each run's chunk list, which a Distributed Map reads.
        allow("WriteChunkLists", &["s3:PutObject"], &[names.chunk_lists_arn()]),
        list,
    ];
    if spec.table {
        // The built-in step only ever writes batches; a user's step may also put one item
        // (docs/process-contract.md). Reading items back is for people, not Jobs.
        let writes: &[&str] = match spec.process {
            None => &["dynamodb:BatchWriteItem"],
            Some(_) => &["dynamodb:BatchWriteItem", "dynamodb:PutItem"],
        };
        statements.push(allow("OrdersTable", writes, &[names.table_arn()]));
    }
    statements.push(allow(
        "RedisAuthSecret",
        &["secretsmanager:GetSecretValue"],
        &[names.redis_auth_secret_arn_pattern()],
    ));
    document(statements)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures;

    const EFS_ID: &str = "fs-0123456789abcdef0";

    /// Every permission policy of the pipeline, by role.
    fn policies(names: &Names) -> Vec<(&'static str, Value)> {
        vec![
            ("sfn", state_machine_policy(names)),
            ("events", events_policy(names)),
            (
                "lambda",
                lambda_policy(names, &fixtures::cluster().subnet_ids, &["sg-0c".to_owned()]),
            ),
            ("job", job_policy(names)),
        ]
    }

    fn statements(policy: &Value) -> &Vec<Value> {
        policy["Statement"].as_array().expect("Statement is a list")
    }

    fn list(value: &Value) -> Vec<&str> {
        match value {
            Value::String(one) => vec![one],
            Value::Array(many) => many.iter().map(|v| v.as_str().expect("a string")).collect(),
            other => panic!("not a string or list: {other}"),
        }
    }

    #[test]
    fn no_action_is_a_wildcard() {
        let (spec, aws) = (fixtures::spec(), fixtures::aws());
        for (role, policy) in policies(&Names::new(&spec, &aws)) {
            assert_eq!(policy["Version"], POLICY_VERSION);
            for statement in statements(&policy) {
                assert_eq!(statement["Effect"], "Allow");
                for action in list(&statement["Action"]) {
                    assert!(!action.contains('*'), "{role}: {action}");
                    assert!(
                        action
                            .split_once(':')
                            .is_some_and(|(s, a)| !s.is_empty() && !a.is_empty()),
                        "{role}: {action}"
                    );
                }
            }
        }
    }

    #[test]
    fn only_the_network_interface_statement_has_no_resource() {
        let (spec, aws) = (fixtures::spec(), fixtures::aws());
        for (role, policy) in policies(&Names::new(&spec, &aws)) {
            for statement in statements(&policy) {
                let any = list(&statement["Resource"]).contains(&"*");
                assert_eq!(any, statement["Sid"] == VPC_DESCRIBE_SID, "{role}: {statement}");
                if any {
                    assert!(
                        list(&statement["Action"]).iter().all(|a| a.starts_with("ec2:Describe")),
                        "{statement}"
                    );
                }
            }
        }
    }

    #[test]
    fn every_resource_belongs_to_this_pipeline() {
        let (spec, aws) = (fixtures::spec(), fixtures::aws());
        let names = Names::new(&spec, &aws);
        let (bucket, function, log_group) = (
            names.bucket_arn(),
            names.lambda_function_arn(),
            names.lambda_log_group_arn(),
        );
        let bucket_arn = bucket.clone();
        let own = [
            format!("{bucket}/input/*"),
            format!("{bucket}/output/*"),
            bucket,
            names.table_arn(),
            names.redis_auth_secret_arn_pattern(),
            names.state_machine_arn(),
            names.map_child_executions_arn("ProcessChunk"),
            names.map_child_express_executions_arn("ProcessChunk"),
            names.own_executions_arn(),
            names.own_express_executions_arn(),
            format!("{bucket_arn}/runs/*/chunks.json"),
            format!("{bucket_arn}/runs/map-results/*"),
            format!("{function}:*"),
            function,
            format!("{log_group}:*"),
            log_group,
            names.efs_file_system_arn(EFS_ID),
            "arn:aws:ec2:eu-west-1:123456789012:subnet/subnet-0a".to_owned(),
            "arn:aws:ec2:eu-west-1:123456789012:subnet/subnet-0b".to_owned(),
            "arn:aws:ec2:eu-west-1:123456789012:security-group/sg-0c".to_owned(),
            "arn:aws:ec2:eu-west-1:123456789012:network-interface/*".to_owned(),
            "*".to_owned(),
        ];
        for (role, policy) in policies(&names) {
            for statement in statements(&policy) {
                for resource in list(&statement["Resource"]) {
                    assert!(own.iter().any(|o| o == resource), "{role}: {resource}");
                }
            }
        }
    }

    #[test]
    fn the_jobs_reach_only_their_prefixes() {
        let (spec, aws) = (fixtures::spec(), fixtures::aws());
        let policy = job_policy(&Names::new(&spec, &aws));
        let by_sid = |sid: &str| {
            statements(&policy)
                .iter()
                .find(|s| s["Sid"] == sid)
                .cloned()
                .expect(sid)
        };
        let bucket = "arn:aws:s3:::eventdriven-orders-123456789012";
        assert_eq!(by_sid("ReadInput")["Resource"], json!([format!("{bucket}/input/*")]));
        assert_eq!(by_sid("WriteOutput")["Resource"], json!([format!("{bucket}/output/*")]));
        assert_eq!(
            by_sid("ListPipelinePrefixes")["Condition"],
            json!({ "StringLike": { "s3:prefix": ["input/*", "output/*"] } })
        );
        assert_eq!(list(&by_sid("OrdersTable")["Action"]), ["dynamodb:BatchWriteItem"]);
    }

    #[test]
    fn without_a_table_no_policy_names_dynamodb() {
        let (mut spec, aws) = (fixtures::spec(), fixtures::aws());
        spec.table = false;
        spec.process = Some(fixtures::process());
        for (role, policy) in policies(&Names::new(&spec, &aws)) {
            let text = policy.to_string();
            assert!(!text.contains("dynamodb"), "{role}: {text}");
        }
        spec.table = true;
        let policy = job_policy(&Names::new(&spec, &aws));
        let table = statements(&policy).iter().find(|s| s["Sid"] == "OrdersTable").unwrap();
        assert_eq!(list(&table["Action"]), ["dynamodb:BatchWriteItem", "dynamodb:PutItem"]);
    }

    #[test]
    fn the_bucket_refuses_requests_without_tls_and_allows_nothing() {
        let (spec, aws) = (fixtures::spec(), fixtures::aws());
        let policy = bucket_policy(&Names::new(&spec, &aws));
        let statements = statements(&policy);
        assert!(statements.iter().all(|s| s["Effect"] == "Deny"), "{policy}");
        let bucket = "arn:aws:s3:::eventdriven-orders-123456789012";
        assert_eq!(statements[0]["Resource"], json!([bucket, format!("{bucket}/*")]));
        assert_eq!(statements[0]["Condition"]["Bool"]["aws:SecureTransport"], "false");
    }

    #[test]
    fn the_file_system_takes_clients_only_over_tls_and_only_through_the_access_point() {
        let (spec, aws) = (fixtures::spec(), fixtures::aws());
        let policy = file_system_policy(&Names::new(&spec, &aws), "fs-1", "fsap-1");
        let statements = statements(&policy);
        let file_system = "arn:aws:elasticfilesystem:eu-west-1:123456789012:file-system/fs-1";
        let deny = &statements[0];
        assert_eq!(
            (&deny["Effect"], &deny["Resource"]),
            (&json!("Deny"), &json!(file_system))
        );
        assert_eq!(deny["Condition"]["Bool"]["aws:SecureTransport"], "false");
        assert!(list(&deny["Action"]).contains(&"elasticfilesystem:ClientMount"));
        let allow = &statements[1];
        assert_eq!(
            allow["Principal"]["AWS"], "arn:aws:iam::123456789012:root",
            "no anonymous client"
        );
        assert_eq!(
            allow["Condition"]["ArnEquals"]["elasticfilesystem:AccessPointArn"],
            "arn:aws:elasticfilesystem:eu-west-1:123456789012:access-point/fsap-1"
        );
        assert_eq!(allow["Condition"]["Bool"]["aws:SecureTransport"], "true");
        assert!(!list(&allow["Action"]).contains(&"elasticfilesystem:ClientRootAccess"));
    }

    #[test]
    fn the_state_machine_may_invoke_the_function_and_run_its_own_distributed_map() {
        let (spec, aws) = (fixtures::spec(), fixtures::aws());
        let policy = state_machine_policy(&Names::new(&spec, &aws));
        let function = "arn:aws:lambda:eu-west-1:123456789012:function:eventdriven-orders-list-chunks";
        let granted: Vec<(String, Value)> = statements(&policy)
            .iter()
            .map(|s| (s["Sid"].as_str().unwrap().to_owned(), s["Resource"].clone()))
            .collect();
        let machine = "arn:aws:states:eu-west-1:123456789012:stateMachine:eventdriven-orders";
        let bucket = "arn:aws:s3:::eventdriven-orders-123456789012";
        let children = "arn:aws:states:eu-west-1:123456789012:execution:eventdriven-orders/ProcessChunk:*";
        assert_eq!(
            granted,
            [
                (
                    "InvokeListChunks".to_owned(),
                    json!([format!("{function}:*"), function])
                ),
                ("StartChunkExecutions".to_owned(), json!([machine])),
                ("ManageChunkExecutions".to_owned(), json!([children])),
                (
                    "DescribeChunkExecutions".to_owned(),
                    json!([
                        children,
                        "arn:aws:states:eu-west-1:123456789012:express:eventdriven-orders/ProcessChunk:*:*"
                    ])
                ),
                (
                    "DescribeOwnExecutions".to_owned(),
                    json!([
                        "arn:aws:states:eu-west-1:123456789012:execution:eventdriven-orders:*",
                        "arn:aws:states:eu-west-1:123456789012:express:eventdriven-orders:*:*"
                    ])
                ),
                (
                    "ReadChunkLists".to_owned(),
                    json!([format!("{bucket}/runs/*/chunks.json")])
                ),
                (
                    "WriteMapResults".to_owned(),
                    json!([format!("{bucket}/runs/map-results/*")])
                ),
            ]
        );
        assert_eq!(
            list(&statements(&policy)[2]["Action"]),
            ["states:StopExecution", "states:RedriveExecution"]
        );
        let results = statements(&policy)
            .iter()
            .find(|s| s["Sid"] == "WriteMapResults")
            .unwrap();
        assert_eq!(
            list(&results["Action"]),
            [
                "s3:PutObject",
                "s3:GetObject",
                "s3:AbortMultipartUpload",
                "s3:ListMultipartUploadParts"
            ],
            "the documented Distributed Map grants on the ResultWriter prefix"
        );
    }

    #[test]
    fn trust_policies_name_one_service_each() {
        let (spec, aws) = (fixtures::spec(), fixtures::aws());
        let cases = [
            (state_machine_trust_policy(&aws), "states.amazonaws.com"),
            (events_trust_policy(&aws), "events.amazonaws.com"),
            (lambda_trust_policy(), "lambda.amazonaws.com"),
            (job_trust_policy(&spec, &fixtures::cluster()), "pods.eks.amazonaws.com"),
        ];
        for (policy, service) in cases {
            assert_eq!(policy["Version"], POLICY_VERSION);
            assert_eq!(statements(&policy).len(), 1);
            assert_eq!(policy["Statement"][0]["Principal"], json!({ "Service": service }));
            assert!(list(&policy["Statement"][0]["Action"]).contains(&"sts:AssumeRole"));
        }
        assert_eq!(
            state_machine_trust_policy(&aws)["Statement"][0]["Condition"],
            json!({ "StringEquals": { "aws:SourceAccount": "123456789012" } })
        );
    }

    #[test]
    fn only_the_pipeline_service_account_may_assume_the_job_role() {
        let cluster = fixtures::cluster();
        let policy = job_trust_policy(&fixtures::spec(), &cluster);
        let statement = &policy["Statement"][0];
        assert_eq!(statement["Action"], json!(["sts:AssumeRole", "sts:TagSession"]));
        assert_eq!(
            statement["Condition"]["StringEquals"],
            json!({
                "aws:RequestTag/eks-cluster-arn": cluster.arn,
                "aws:RequestTag/kubernetes-namespace": "eventdriven",
                "aws:RequestTag/kubernetes-service-account": "eventdriven-orders",
            })
        );
    }
}
