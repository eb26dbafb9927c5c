//! Deterministic names and ARNs of every resource a pipeline owns.
//!
//! Names derive only from the spec and the account, never from AWS responses, so the provider can
//! find (and delete) every child again from the spec alone, and IAM policies can name resources
//! before they exist. Where a service's length limit is tighter than a 40-character pipeline name
//! allows, the name is shortened with a hash of the full name so two pipelines never collide.

use crate::cluster::AwsContext;
use crate::spec::{PREFIX, PipelineSpec};

const MAX_BUCKET_LEN: usize = 63;
const MAX_REPLICATION_GROUP_ID_LEN: usize = 40;

/// The IAM roles a pipeline creates, one per principal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// Assumed by Step Functions to run the state machine.
    StateMachine,
    /// Assumed by EventBridge to start executions.
    Events,
    /// The list-chunks Lambda's execution role.
    Lambda,
    /// Assumed by the Job pods through EKS Pod Identity.
    Job,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::StateMachine, Role::Events, Role::Lambda, Role::Job];

    fn suffix(self) -> &'static str {
        match self {
            Role::StateMachine => "sfn",
            Role::Events => "events",
            Role::Lambda => "lambda",
            Role::Job => "job",
        }
    }
}

/// The log group Lambda writes the function `function`'s logs to.
pub fn function_log_group_of(function: &str) -> String {
    format!("/aws/lambda/{function}")
}

/// Names of one pipeline's children in one account.
#[derive(Clone, Copy, Debug)]
pub struct Names<'a> {
    spec: &'a PipelineSpec,
    aws: &'a AwsContext,
}

impl<'a> Names<'a> {
    pub fn new(spec: &'a PipelineSpec, aws: &'a AwsContext) -> Self {
        Self { spec, aws }
    }

    pub fn aws(&self) -> &'a AwsContext {
        self.aws
    }

    pub fn spec(&self) -> &'a PipelineSpec {
        self.spec
    }

    /// `eventdriven-<name>`, the stem of most names.
    fn base(&self) -> String {
        format!("{PREFIX}-{}", self.spec.name)
    }

    /// The override if given, else `eventdriven-<name>-<account>`: bucket names are global, so
    /// the account id keeps two accounts' pipelines of the same name apart.
    pub fn bucket(&self) -> String {
        if let Some(bucket) = &self.spec.bucket_name {
            return bucket.clone();
        }
        let tail = format!("-{}", self.aws.account_id);
        let head_len = MAX_BUCKET_LEN.saturating_sub(tail.len());
        format!("{}{tail}", fit(&self.base(), head_len))
    }

    /// The security group of the mount targets, the cache and the function.
    pub fn security_group(&self) -> String {
        self.base()
    }

    pub fn table(&self) -> String {
        format!("{}-orders", self.base())
    }

    pub fn state_machine(&self) -> String {
        self.base()
    }

    pub fn lambda_function(&self) -> String {
        format!("{}-list-chunks", self.base())
    }

    /// Where Lambda writes the function's logs; the provider creates it with a retention.
    pub fn lambda_log_group(&self) -> String {
        function_log_group_of(&self.lambda_function())
    }

    pub fn role(&self, role: Role) -> String {
        format!("{}-{}", self.base(), role.suffix())
    }

    /// The EventBridge rule matching new input objects.
    pub fn input_rule(&self) -> String {
        format!("{}-input", self.base())
    }

    /// EFS creation token, which makes CreateFileSystem idempotent across provider retries.
    pub fn efs_creation_token(&self) -> String {
        self.base()
    }

    /// Directory of the file system the pipeline's access point confines the Jobs to.
    pub fn efs_access_point_root(&self) -> String {
        format!("/{}", self.base())
    }

    pub fn efs_access_point_arn(&self, access_point_id: &str) -> String {
        self.regional_arn("elasticfilesystem", &format!("access-point/{access_point_id}"))
    }

    /// ElastiCache replication group id: at most 40 characters, lowercase, no "--".
    pub fn replication_group_id(&self) -> String {
        fit(&self.base(), MAX_REPLICATION_GROUP_ID_LEN)
    }

    pub fn cache_subnet_group(&self) -> String {
        self.base()
    }

    /// Secrets Manager name of the Redis auth token.
    pub fn redis_auth_secret(&self) -> String {
        format!("{PREFIX}/{}/redis-auth", self.spec.name)
    }

    fn arn(&self, service: &str, region: &str, account: &str, resource: &str) -> String {
        format!("arn:{}:{service}:{region}:{account}:{resource}", self.aws.partition)
    }

    fn regional_arn(&self, service: &str, resource: &str) -> String {
        self.arn(service, &self.aws.region, &self.aws.account_id, resource)
    }

    pub fn bucket_arn(&self) -> String {
        self.arn("s3", "", "", &self.bucket())
    }

    /// An EC2 resource of the pipeline's account and region, e.g. `subnet/subnet-0a`.
    pub fn ec2_arn(&self, resource: &str) -> String {
        self.regional_arn("ec2", resource)
    }

    pub fn table_arn(&self) -> String {
        self.regional_arn("dynamodb", &format!("table/{}", self.table()))
    }

    pub fn state_machine_arn(&self) -> String {
        self.regional_arn("states", &format!("stateMachine:{}", self.state_machine()))
    }

    /// The child executions a Distributed Map labelled `label` starts:
    /// `execution:<machine>/<label>:<id>`.
    pub fn map_child_executions_arn(&self, label: &str) -> String {
        self.regional_arn("states", &format!("execution:{}/{label}:*", self.state_machine()))
    }

    /// The state machine's own executions (`execution:<machine>:<name>`): a Distributed Map
    /// describes the execution it runs in.
    pub fn own_executions_arn(&self) -> String {
        self.regional_arn("states", &format!("execution:{}:*", self.state_machine()))
    }

    /// The same, as the Express type names them: `states:DescribeExecution` names both.
    pub fn own_express_executions_arn(&self) -> String {
        self.regional_arn("states", &format!("express:{}:*:*", self.state_machine()))
    }

    /// The same children, had they been Express executions (`express:<machine>/<label>:<id>:<id>`):
    /// `states:DescribeExecution` names both resource types.
    pub fn map_child_express_executions_arn(&self, label: &str) -> String {
        self.regional_arn("states", &format!("express:{}/{label}:*:*", self.state_machine()))
    }

    /// Every run's chunk list (`runs/<run id>/chunks.json`).
    pub fn chunk_lists_arn(&self) -> String {
        format!("{}/{}", self.bucket_arn(), crate::contract::chunk_list_key("*"))
    }

    /// The results Distributed Maps write.
    pub fn map_results_arn(&self) -> String {
        format!("{}/{}/*", self.bucket_arn(), crate::contract::MAP_RESULTS_PREFIX)
    }

    pub fn lambda_function_arn(&self) -> String {
        self.regional_arn("lambda", &format!("function:{}", self.lambda_function()))
    }

    pub fn lambda_log_group_arn(&self) -> String {
        self.regional_arn("logs", &format!("log-group:{}", self.lambda_log_group()))
    }

    pub fn role_arn(&self, role: Role) -> String {
        self.arn("iam", "", &self.aws.account_id, &format!("role/{}", self.role(role)))
    }

    pub fn input_rule_arn(&self) -> String {
        self.regional_arn("events", &format!("rule/{}", self.input_rule()))
    }

    pub fn replication_group_arn(&self) -> String {
        self.regional_arn(
            "elasticache",
            &format!("replicationgroup:{}", self.replication_group_id()),
        )
    }

    pub fn cache_subnet_group_arn(&self) -> String {
        self.regional_arn("elasticache", &format!("subnetgroup:{}", self.cache_subnet_group()))
    }

    /// Secrets Manager appends six random characters to a secret's ARN, so before the secret
    /// exists it can only be named with the `-??????` wildcard IAM documents for this case.
    pub fn redis_auth_secret_arn_pattern(&self) -> String {
        self.regional_arn("secretsmanager", &format!("secret:{}-??????", self.redis_auth_secret()))
    }

    /// The file system id is chosen by EFS, so its ARN needs it once created.
    pub fn efs_file_system_arn(&self, file_system_id: &str) -> String {
        self.regional_arn("elasticfilesystem", &format!("file-system/{file_system_id}"))
    }
}

/// `name` if it fits in `max` characters, else its head and an 8-digit hash of the whole name,
/// so truncated names stay unique and never end in '-' or contain "--".
pub(crate) fn fit(name: &str, max: usize) -> String {
    if name.chars().count() <= max {
        return name.to_owned();
    }
    let hash = format!("{:08x}", fnv1a(name));
    let head: String = name.chars().take(max.saturating_sub(hash.len() + 1)).collect();
    format!("{}-{hash}", head.trim_end_matches('-'))
}

/// 32-bit FNV-1a: tiny, stable across builds and platforms, enough to tell names apart.
fn fnv1a(text: &str) -> u32 {
    text.bytes().fold(0x811c_9dc5, |hash, byte| {
        (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures;
    use crate::spec::{self, s3_bucket_name};

    /// The longest legal name, with a '-' exactly where the bucket and the replication group
    /// id are cut.
    const LONGEST: &str = "abcdefghijklmnopqr-abcdefghi-abcdefghijk";

    fn long_spec(name: &str) -> PipelineSpec {
        let mut spec = fixtures::spec();
        spec.name = name.into();
        spec
    }

    fn replication_group_id_is_valid(id: &str) -> bool {
        id.len() <= 40
            && id.starts_with(|c: char| c.is_ascii_lowercase())
            && id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !id.contains("--")
            && !id.ends_with('-')
    }

    #[test]
    fn names_of_a_short_pipeline() {
        let (spec, aws) = (fixtures::spec(), fixtures::aws());
        let names = Names::new(&spec, &aws);
        assert_eq!(names.bucket(), "eventdriven-orders-123456789012");
        assert_eq!(names.table(), "eventdriven-orders-orders");
        assert_eq!(names.state_machine(), "eventdriven-orders");
        assert_eq!(names.lambda_function(), "eventdriven-orders-list-chunks");
        assert_eq!(names.lambda_log_group(), "/aws/lambda/eventdriven-orders-list-chunks");
        let roles: Vec<String> = Role::ALL.iter().map(|r| names.role(*r)).collect();
        assert_eq!(
            roles,
            [
                "eventdriven-orders-sfn",
                "eventdriven-orders-events",
                "eventdriven-orders-lambda",
                "eventdriven-orders-job"
            ]
        );
        assert_eq!(names.input_rule(), "eventdriven-orders-input");
        assert_eq!(names.efs_creation_token(), "eventdriven-orders");
        assert_eq!(names.replication_group_id(), "eventdriven-orders");
        assert_eq!(names.cache_subnet_group(), "eventdriven-orders");
        assert_eq!(names.redis_auth_secret(), "eventdriven/orders/redis-auth");
    }

    #[test]
    fn bucket_override_wins() {
        let mut spec = fixtures::spec();
        spec.bucket_name = Some("company-orders".into());
        let aws = fixtures::aws();
        let names = Names::new(&spec, &aws);
        assert_eq!(names.bucket(), "company-orders");
        assert_eq!(names.bucket_arn(), "arn:aws:s3:::company-orders");
    }

    #[test]
    fn every_name_of_the_longest_pipeline_fits_its_service() {
        let (spec, aws) = (long_spec(LONGEST), fixtures::aws());
        assert_eq!(spec::validate(&spec), Ok(()));
        let names = Names::new(&spec, &aws);

        let bucket = names.bucket();
        assert_eq!(s3_bucket_name(&bucket), Ok(()), "{bucket}");
        assert!(bucket.ends_with("-123456789012"), "{bucket}");
        for role in Role::ALL {
            assert!(names.role(role).len() <= 64, "{}", names.role(role));
        }
        assert!(names.lambda_function().len() <= 64);
        assert!(names.input_rule().len() <= 64);
        assert!(names.efs_creation_token().len() <= 64);
        assert!(names.state_machine().len() <= 80);
        assert!((3..=255).contains(&names.table().len()));
        assert!(names.cache_subnet_group().len() <= 255);
        let group = names.replication_group_id();
        assert!(replication_group_id_is_valid(&group), "{group}");
    }

    #[test]
    fn shortened_names_keep_long_pipelines_apart() {
        let aws = fixtures::aws();
        let (a, b) = (long_spec(LONGEST), long_spec(&format!("{}h", &LONGEST[..39])));
        let (a, b) = (Names::new(&a, &aws), Names::new(&b, &aws));
        assert_ne!(a.bucket(), b.bucket());
        assert_ne!(a.replication_group_id(), b.replication_group_id());
        assert_eq!(
            a.replication_group_id(),
            Names::new(&long_spec(LONGEST), &aws).replication_group_id()
        );
    }

    #[test]
    fn arns_follow_the_partition() {
        let spec = fixtures::spec();
        let aws = AwsContext {
            partition: "aws-cn".into(),
            region: "cn-north-1".into(),
            account_id: "123456789012".into(),
        };
        let names = Names::new(&spec, &aws);
        let acct = "cn-north-1:123456789012";
        assert_eq!(names.bucket_arn(), "arn:aws-cn:s3:::eventdriven-orders-123456789012");
        assert_eq!(
            names.table_arn(),
            format!("arn:aws-cn:dynamodb:{acct}:table/eventdriven-orders-orders")
        );
        assert_eq!(
            names.state_machine_arn(),
            format!("arn:aws-cn:states:{acct}:stateMachine:eventdriven-orders")
        );
        assert_eq!(
            names.lambda_function_arn(),
            format!("arn:aws-cn:lambda:{acct}:function:eventdriven-orders-list-chunks")
        );
        assert_eq!(
            names.lambda_log_group_arn(),
            format!("arn:aws-cn:logs:{acct}:log-group:/aws/lambda/eventdriven-orders-list-chunks")
        );
        assert_eq!(
            names.role_arn(Role::Job),
            "arn:aws-cn:iam::123456789012:role/eventdriven-orders-job"
        );
        assert_eq!(
            names.input_rule_arn(),
            format!("arn:aws-cn:events:{acct}:rule/eventdriven-orders-input")
        );
        assert_eq!(
            names.replication_group_arn(),
            format!("arn:aws-cn:elasticache:{acct}:replicationgroup:eventdriven-orders")
        );
        assert_eq!(
            names.cache_subnet_group_arn(),
            format!("arn:aws-cn:elasticache:{acct}:subnetgroup:eventdriven-orders")
        );
        assert_eq!(
            names.redis_auth_secret_arn_pattern(),
            format!("arn:aws-cn:secretsmanager:{acct}:secret:eventdriven/orders/redis-auth-??????")
        );
        assert_eq!(
            names.efs_file_system_arn("fs-0123"),
            format!("arn:aws-cn:elasticfilesystem:{acct}:file-system/fs-0123")
        );
    }

    #[test]
    fn fit_only_shortens_what_does_not_fit() {
        assert_eq!(fit("short", 10), "short");
        let shortened = fit("abcdefghij-klmnopqrst", 16);
        assert_eq!(shortened.len(), 16);
        assert!(shortened.starts_with("abcdefg-"), "{shortened}");
        let cut_at_dash = fit("abcdefghi-jklmnopqrst", 19);
        assert!(!cut_at_dash.contains("--"), "{cut_at_dash}");
    }
}
