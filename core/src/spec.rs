//! The user's description of a pipeline (the Terraform resource's attributes) and its validation.
//!
//! Every child resource's name derives from these fields, so [`validate`] rejects anything that
//! would make a derived name illegal for S3, DynamoDB, IAM, ElastiCache or Kubernetes before a
//! single AWS call is made, and reports every problem at once so one `terraform plan` shows them all.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::config_path::ConfigPath;
pub use crate::config_path::SpecError;
pub(crate) use crate::config_path::{container_image, rule};
use crate::contract;
use crate::process_step::ProcessSpec;
use crate::record::{Record, RecordSpec};

/// Prefix of every derived name, so the project's resources are recognisable in a shared account.
pub const PREFIX: &str = "eventdriven";

/// Longest pipeline name: with the `eventdriven-` prefix and the longest suffix it still fits the
/// tightest AWS limit it feeds (64-character Lambda function names).
pub const MAX_NAME_LEN: usize = 40;
/// The most rows a chunk may hold (`max_lines_per_batch`).
pub const MAX_ROWS_PER_CHUNK: i64 = 10_000_000;
/// The CPU architecture of the images, by Lambda's names.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Architecture {
    #[default]
    #[serde(rename = "x86_64")]
    X86_64,
    #[serde(rename = "arm64")]
    Arm64,
}

impl Architecture {
    /// Every architecture's name, as the attribute takes it.
    pub const NAMES: &[&str] = &[Self::X86_64.as_str(), Self::Arm64.as_str()];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::X86_64 => "x86_64",
            Self::Arm64 => "arm64",
        }
    }

    /// The architecture named `name`; the attribute's validation refuses any other name, so
    /// an unknown one (never seen past validation) is the default.
    pub fn named(name: &str) -> Self {
        if name == Self::Arm64.as_str() {
            Self::Arm64
        } else {
            Self::X86_64
        }
    }

    /// Its Kubernetes name (`kubernetes.io/arch`).
    pub fn kubernetes(self) -> &'static str {
        match self {
            Self::X86_64 => "amd64",
            Self::Arm64 => "arm64",
        }
    }
}

/// How the Jobs mount the pipeline's EFS file system as their work directory.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum WorkVolumeMount {
    /// A PersistentVolumeClaim bound through the EFS CSI driver to the pipeline's access point,
    /// mounted with TLS and IAM; the file system's policy refuses any other client.
    #[default]
    #[serde(rename = "efs_csi")]
    EfsCsi,
    /// The file system root as a plain Kubernetes `nfs` volume: no driver needed, but no TLS,
    /// and the file system open to any client that reaches a mount target. Only when chosen.
    #[serde(rename = "nfs")]
    Nfs,
}

impl WorkVolumeMount {
    /// Every mount's name, as the attribute takes it.
    pub const NAMES: &[&str] = &[Self::EfsCsi.as_str(), Self::Nfs.as_str()];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::EfsCsi => "efs_csi",
            Self::Nfs => "nfs",
        }
    }

    /// The mount named `name`; as for [`Architecture::named`], any other name is the default.
    pub fn named(name: &str) -> Self {
        if name == Self::Nfs.as_str() {
            Self::Nfs
        } else {
            Self::EfsCsi
        }
    }
}

/// How the table is billed, by DynamoDB's names.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum BillingMode {
    #[default]
    #[serde(rename = "PAY_PER_REQUEST")]
    PayPerRequest,
    #[serde(rename = "PROVISIONED")]
    Provisioned,
}

impl BillingMode {
    /// Every billing mode's name, as the attribute takes it.
    pub const NAMES: &[&str] = &[Self::PayPerRequest.as_str(), Self::Provisioned.as_str()];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::PayPerRequest => "PAY_PER_REQUEST",
            Self::Provisioned => "PROVISIONED",
        }
    }

    /// The mode named `name`; as for [`Architecture::named`], any other name is the default.
    pub fn named(name: &str) -> Self {
        if name == Self::Provisioned.as_str() {
            Self::Provisioned
        } else {
            Self::PayPerRequest
        }
    }
}

/// An hour per step: a 30,000-row chunk takes seconds, a large split some minutes.
pub const DEFAULT_STEP_TIMEOUT_SECONDS: i64 = 3600;
/// A Job needs time to be scheduled and to pull its image.
pub const MIN_STEP_TIMEOUT_SECONDS: i64 = 60;
/// A day: longer than any step should take, far below Step Functions' task limit.
pub const MAX_STEP_TIMEOUT_SECONDS: i64 = 86_400;
/// The most child executions a Distributed Map runs at once, the highest `max_concurrency`.
pub const MAX_CONCURRENCY_LIMIT: i64 = eventdriven_states::limits::DISTRIBUTED_MAP_PARALLELISM as i64;
pub const DEFAULT_NAMESPACE: &str = "eventdriven";
pub const DEFAULT_INPUT_PREFIX: &str = "input/";
pub const DEFAULT_OUTPUT_PREFIX: &str = "output/";
pub const DEFAULT_REDIS_NODE_TYPE: &str = "cache.t4g.micro";

/// A pipeline as the user declares it. Field names are the Terraform attribute names.
///
/// Numbers are `i64` because that is what Terraform hands over; [`validate`] checks their ranges.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PipelineSpec {
    pub name: String,
    pub cluster_name: String,
    pub job_image: String,
    pub lambda_image: String,
    /// The CPU architecture of both images, `x86_64` or `arm64`: the Lambda is created for it
    /// and the Jobs are scheduled on nodes of it.
    pub architecture: Architecture,
    /// Data rows per chunk. The attribute keeps its first name, though it counts rows (a quoted
    /// field may span lines) and a batch is what the runtime calls a chunk.
    pub max_lines_per_batch: i64,
    /// Parallel `process` Jobs; 0 sets no limit of its own, which leaves the inline Map's,
    /// 40 ([`scale::INLINE_MAP_PARALLELISM`](crate::scale::INLINE_MAP_PARALLELISM)), and the
    /// Distributed Map keeps that 40 too ([`definition::distributed_concurrency`](crate::definition::distributed_concurrency)).
    pub max_concurrency: i64,
    /// How long one Job may run (its `activeDeadlineSeconds`, pending time included) before it
    /// fails; its task's `TimeoutSeconds` allows a little more, so no run waits forever.
    pub step_timeout_seconds: i64,
    /// Keeps each run's chunks on the file system after merge (for inspection); by default
    /// merge removes them once the result is published.
    pub keep_work: bool,
    pub namespace: String,
    pub service_account: String,
    /// How the Jobs mount the work directory; see [`PipelineSpec::mounted_claim`].
    #[serde(default)]
    pub work_volume_mount: WorkVolumeMount,
    /// The PersistentVolumeClaim (bound to the pipeline's EFS access point through the EFS CSI
    /// driver) the Jobs mount with `efs_csi`; `None` is `eventdriven-<name>-work`, the claim
    /// `terraform/work-volume` creates.
    pub work_volume_claim: Option<String>,
    pub input_prefix: String,
    /// Only keys ending with this start a run; empty means any key.
    pub input_suffix: String,
    pub output_prefix: String,
    /// Overrides the derived bucket name.
    pub bucket_name: Option<String>,
    /// The security groups of the nodes the Jobs run on, let in to the file system and the
    /// cache; empty means the cluster security group.
    pub node_security_group_ids: Vec<String>,
    /// The subnets of the list-chunks function; empty means the cluster's private subnets.
    pub lambda_subnet_ids: Vec<String>,
    pub redis_node_type: String,
    pub dynamodb_billing_mode: BillingMode,
    pub dynamodb_read_capacity: Option<i64>,
    pub dynamodb_write_capacity: Option<i64>,
    /// The table's warm throughput (write and read units a second it serves at once, without
    /// scaling first); `None` leaves DynamoDB's own. It can be raised in place, never lowered.
    pub table_warm_write_units: Option<i64>,
    pub table_warm_read_units: Option<i64>,
    /// The records the built-in step loads; `None` loads the order sample's layout
    /// ([`RecordSpec::orders`]).
    pub record: Option<RecordSpec>,
    /// The user's step run on every chunk instead of the built-in one (the `process` block).
    pub process: Option<ProcessSpec>,
    /// Whether the pipeline has a DynamoDB table; only a `process` block may do without one,
    /// since the built-in step stores every row in it.
    pub table: bool,
    pub tags: BTreeMap<String, String>,
}

impl PipelineSpec {
    /// A spec with the required attributes set and every optional one at its default.
    pub fn new(
        name: impl Into<String>,
        cluster_name: impl Into<String>,
        job_image: impl Into<String>,
        lambda_image: impl Into<String>,
    ) -> Self {
        let name = name.into();
        Self {
            service_account: format!("{PREFIX}-{name}"),
            name,
            cluster_name: cluster_name.into(),
            job_image: job_image.into(),
            lambda_image: lambda_image.into(),
            architecture: Architecture::X86_64,
            max_lines_per_batch: contract::DEFAULT_ROWS_PER_CHUNK as i64,
            max_concurrency: 0,
            step_timeout_seconds: DEFAULT_STEP_TIMEOUT_SECONDS,
            keep_work: false,
            namespace: DEFAULT_NAMESPACE.to_owned(),
            work_volume_mount: WorkVolumeMount::EfsCsi,
            work_volume_claim: None,
            input_prefix: DEFAULT_INPUT_PREFIX.to_owned(),
            input_suffix: String::new(),
            output_prefix: DEFAULT_OUTPUT_PREFIX.to_owned(),
            bucket_name: None,
            node_security_group_ids: Vec::new(),
            lambda_subnet_ids: Vec::new(),
            redis_node_type: DEFAULT_REDIS_NODE_TYPE.to_owned(),
            dynamodb_billing_mode: BillingMode::PayPerRequest,
            dynamodb_read_capacity: None,
            dynamodb_write_capacity: None,
            table_warm_write_units: None,
            table_warm_read_units: None,
            record: None,
            process: None,
            table: true,
            tags: BTreeMap::new(),
        }
    }

    /// The declared records, checked; the order layout when none is declared. Only for a spec
    /// [`validate`] accepted.
    pub fn record(&self) -> Record {
        self.record
            .clone()
            .unwrap_or_else(RecordSpec::orders)
            .resolve(&ConfigPath::attribute("record"))
            .expect("a validated spec declares a valid record")
    }

    /// The claim the Jobs mount their work directory from, or `None` for the plain NFS volume.
    pub fn mounted_claim(&self) -> Option<String> {
        match self.work_volume_mount {
            WorkVolumeMount::Nfs => None,
            WorkVolumeMount::EfsCsi => Some(
                self.work_volume_claim
                    .clone()
                    .unwrap_or_else(|| format!("{PREFIX}-{}-work", self.name)),
            ),
        }
    }

    /// Sets the mount from the claim a Job mounts (read back from a definition): the inverse of
    /// [`mounted_claim`](Self::mounted_claim), the default claim left unset.
    pub fn set_mounted_claim(&mut self, claim: Option<String>) {
        self.work_volume_mount = match claim {
            Some(_) => WorkVolumeMount::EfsCsi,
            None => WorkVolumeMount::Nfs,
        };
        self.work_volume_claim = None;
        self.work_volume_claim = claim.filter(|claim| Some(claim) != self.mounted_claim().as_ref());
    }
}

/// Checks every attribute and returns all the problems found, not only the first.
pub fn validate(spec: &PipelineSpec) -> Result<(), Vec<SpecError>> {
    let mut errors = Vec::new();
    let mut check = |attribute: &'static str, outcome: Result<(), String>| {
        if let Err(message) = outcome {
            errors.push(SpecError {
                attribute: ConfigPath::attribute(attribute),
                message,
            });
        }
    };
    check("name", pipeline_name(&spec.name));
    check("cluster_name", eks_cluster_name(&spec.cluster_name));
    check("job_image", container_image(&spec.job_image));
    check("lambda_image", lambda_image(&spec.lambda_image));
    check(
        "max_lines_per_batch",
        in_range(spec.max_lines_per_batch, 1, MAX_ROWS_PER_CHUNK),
    );
    check(
        "max_concurrency",
        in_range(spec.max_concurrency, 0, MAX_CONCURRENCY_LIMIT),
    );
    check(
        "step_timeout_seconds",
        in_range(
            spec.step_timeout_seconds,
            MIN_STEP_TIMEOUT_SECONDS,
            MAX_STEP_TIMEOUT_SECONDS,
        ),
    );
    check("namespace", dns_label(&spec.namespace));
    check("service_account", dns_subdomain(&spec.service_account));
    if let Some(claim) = &spec.work_volume_claim {
        check("work_volume_claim", dns_subdomain(claim));
        if spec.work_volume_mount == WorkVolumeMount::Nfs {
            check(
                "work_volume_claim",
                Err("does not apply with work_volume_mount = \"nfs\", which mounts the file system root".to_owned()),
            );
        }
    }
    check(
        "output_prefix",
        separate_prefixes(&spec.input_prefix, &spec.output_prefix),
    );
    for (attribute, prefix) in [
        ("input_prefix", &spec.input_prefix),
        ("output_prefix", &spec.output_prefix),
    ] {
        check(attribute, clear_of_runs_prefix(prefix));
    }
    if let Some(bucket) = &spec.bucket_name {
        check("bucket_name", s3_bucket_name(bucket));
    }
    for group in &spec.node_security_group_ids {
        check(
            "node_security_group_ids",
            rule(
                group.starts_with("sg-"),
                format!("{group:?} is not a security group id (sg-…)"),
            ),
        );
    }
    for subnet in &spec.lambda_subnet_ids {
        check(
            "lambda_subnet_ids",
            rule(
                subnet.starts_with("subnet-"),
                format!("{subnet:?} is not a subnet id (subnet-…)"),
            ),
        );
    }
    check("redis_node_type", redis_node_type(&spec.redis_node_type));
    for (attribute, message) in billing(spec).into_iter().chain(warm_throughput(spec)) {
        check(attribute, Err(message));
    }
    for message in tags(&spec.tags) {
        check("tags", Err(message));
    }
    if let Some(Err(record_errors)) = spec
        .record
        .as_ref()
        .map(|r| r.resolve(&ConfigPath::attribute("record")))
    {
        errors.extend(record_errors);
    }
    match &spec.process {
        Some(process) => errors.extend(process.check(&ConfigPath::attribute("process"))),
        None if !spec.table => errors.push(SpecError {
            attribute: ConfigPath::attribute("table"),
            message: "false needs a process block: the built-in step stores every row in the table".to_owned(),
        }),
        None => {}
    }
    if errors.is_empty() { Ok(()) } else { Err(errors) }
}

pub(crate) fn only(text: &str, allowed: impl Fn(char) -> bool) -> bool {
    text.chars().all(allowed)
}

pub(crate) fn is_lower_alnum(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

fn starts_and_ends(text: &str, allowed: impl Fn(char) -> bool) -> bool {
    text.starts_with(&allowed) && text.ends_with(&allowed)
}

pub(crate) fn pipeline_name(name: &str) -> Result<(), String> {
    let len = name.chars().count();
    rule(
        (1..=MAX_NAME_LEN).contains(&len),
        format!("must be 1 to {MAX_NAME_LEN} characters long"),
    )?;
    rule(
        only(name, |c| is_lower_alnum(c) || c == '-'),
        "may contain only lowercase letters, digits and '-'",
    )?;
    rule(
        name.starts_with(|c: char| c.is_ascii_lowercase()),
        "must start with a letter",
    )?;
    rule(!name.ends_with('-'), "must not end with '-'")?;
    // ElastiCache replication group ids, derived from the name, reject "--".
    rule(!name.contains("--"), "must not contain \"--\"")
}

fn eks_cluster_name(name: &str) -> Result<(), String> {
    rule((1..=100).contains(&name.len()), "must be 1 to 100 characters long")?;
    rule(
        only(name, |c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
        "may contain only letters, digits, '-' and '_'",
    )?;
    rule(
        name.starts_with(|c: char| c.is_ascii_alphanumeric()),
        "must start with a letter or digit",
    )
}

/// Lambda only runs images from a registry, so a bare `name:tag` cannot be right; anything
/// with a registry part is accepted so emulators and mirrors work too.
pub(crate) fn lambda_image(image: &str) -> Result<(), String> {
    container_image(image)?;
    rule(
        image.contains('/'),
        "must be an image URI such as ACCOUNT.dkr.ecr.REGION.amazonaws.com/repo:tag",
    )
}

pub(crate) fn in_range(value: i64, min: i64, max: i64) -> Result<(), String> {
    rule((min..=max).contains(&value), format!("must be between {min} and {max}"))
}

/// Kubernetes namespaces are RFC 1123 labels.
fn dns_label(name: &str) -> Result<(), String> {
    rule((1..=63).contains(&name.len()), "must be 1 to 63 characters long")?;
    rule(
        only(name, |c| is_lower_alnum(c) || c == '-'),
        "may contain only lowercase letters, digits and '-'",
    )?;
    rule(
        starts_and_ends(name, is_lower_alnum),
        "must start and end with a letter or digit",
    )
}

/// Kubernetes service account names are RFC 1123 subdomains.
fn dns_subdomain(name: &str) -> Result<(), String> {
    rule((1..=253).contains(&name.len()), "must be 1 to 253 characters long")?;
    rule(
        only(name, |c| is_lower_alnum(c) || c == '-' || c == '.'),
        "may contain only lowercase letters, digits, '-' and '.'",
    )?;
    rule(
        starts_and_ends(name, is_lower_alnum),
        "must start and end with a letter or digit",
    )
}

/// A result written under the input prefix would start another run, forever.
fn separate_prefixes(input: &str, output: &str) -> Result<(), String> {
    rule(
        !output.starts_with(input) && !input.starts_with(output),
        format!("must not overlap input_prefix {input:?}, or every result would trigger another run"),
    )
}

/// The runs prefix holds what Step Functions reads and writes for a run (chunk lists, map
/// results); an input there would start runs from them, an output there would mix with them.
fn clear_of_runs_prefix(prefix: &str) -> Result<(), String> {
    let runs = crate::contract::RUNS_PREFIX;
    rule(
        !prefix.starts_with(runs) && !runs.starts_with(prefix),
        format!("must not overlap {runs:?}, where runs keep their chunk lists and map results"),
    )
}

/// S3 general purpose bucket naming rules.
pub(crate) fn s3_bucket_name(name: &str) -> Result<(), String> {
    rule((3..=63).contains(&name.len()), "must be 3 to 63 characters long")?;
    rule(
        only(name, |c| is_lower_alnum(c) || c == '-' || c == '.'),
        "may contain only lowercase letters, digits, '.' and '-'",
    )?;
    rule(
        starts_and_ends(name, is_lower_alnum),
        "must start and end with a letter or digit",
    )?;
    rule(!name.contains(".."), "must not contain \"..\"")?;
    let parts: Vec<&str> = name.split('.').collect();
    rule(
        !(parts.len() == 4 && parts.iter().all(|p| only(p, |c| c.is_ascii_digit()))),
        "must not be formatted as an IP address",
    )?;
    rule(
        !name.starts_with("xn--") && !name.ends_with("-s3alias") && !name.ends_with("--ol-s3"),
        "must not use a prefix or suffix reserved by S3",
    )
}

fn redis_node_type(node_type: &str) -> Result<(), String> {
    rule(
        node_type.strip_prefix("cache.").is_some_and(|rest| !rest.is_empty()),
        "must be an ElastiCache node type such as cache.t4g.micro",
    )
}

/// Capacities only mean something, and are then mandatory, with provisioned billing.
fn billing(spec: &PipelineSpec) -> Vec<(&'static str, String)> {
    let capacities = [
        ("dynamodb_read_capacity", spec.dynamodb_read_capacity),
        ("dynamodb_write_capacity", spec.dynamodb_write_capacity),
    ];
    let provisioned = BillingMode::Provisioned.as_str();
    match spec.dynamodb_billing_mode {
        BillingMode::PayPerRequest => capacities
            .into_iter()
            .filter(|(_, capacity)| capacity.is_some())
            .map(|(attribute, _)| {
                (
                    attribute,
                    format!("only allowed when dynamodb_billing_mode is {provisioned}"),
                )
            })
            .collect(),
        BillingMode::Provisioned => capacities
            .into_iter()
            .filter_map(|(attribute, capacity)| match capacity {
                None => Some((
                    attribute,
                    format!("required when dynamodb_billing_mode is {provisioned}"),
                )),
                Some(units) if units < 1 => Some((attribute, "must be at least 1".to_owned())),
                Some(_) => None,
            })
            .collect(),
    }
}

/// Warm throughput is a setting of the table: at least one unit a second, and only with a table.
fn warm_throughput(spec: &PipelineSpec) -> Vec<(&'static str, String)> {
    [
        ("table_warm_write_units", spec.table_warm_write_units),
        ("table_warm_read_units", spec.table_warm_read_units),
    ]
    .into_iter()
    .filter_map(|(attribute, units)| match units {
        Some(_) if !spec.table => Some((attribute, "only allowed when the pipeline has a table".to_owned())),
        Some(units) if units < 1 => Some((attribute, "must be at least 1".to_owned())),
        _ => None,
    })
    .collect()
}

/// AWS tag limits, shared by every taggable child; `aws:` keys are reserved for AWS itself.
pub(crate) fn tags(tags: &BTreeMap<String, String>) -> Vec<String> {
    let mut messages = Vec::new();
    for (key, value) in tags {
        if !(1..=128).contains(&key.chars().count()) {
            messages.push(format!("key {key:?} must be 1 to 128 characters long"));
        }
        if key.to_ascii_lowercase().starts_with("aws:") {
            messages.push(format!("key {key:?} must not start with \"aws:\""));
        }
        if value.chars().count() > 256 {
            messages.push(format!("value of {key:?} must be at most 256 characters long"));
        }
    }
    messages
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures;

    fn errors_of(spec: &PipelineSpec) -> Vec<String> {
        match validate(spec) {
            Ok(()) => Vec::new(),
            Err(errors) => errors.iter().map(ToString::to_string).collect(),
        }
    }

    fn attributes_failing(spec: &PipelineSpec) -> Vec<String> {
        validate(spec)
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|e| e.attribute.to_string())
            .collect()
    }

    fn with(change: impl FnOnce(&mut PipelineSpec)) -> PipelineSpec {
        let mut spec = fixtures::spec();
        change(&mut spec);
        spec
    }

    #[test]
    fn new_fills_every_default() {
        let spec = PipelineSpec::new("orders", "main", "job:1", "1.dkr.ecr.r.amazonaws.com/l:1");
        assert_eq!(spec.max_lines_per_batch, 30_000);
        assert_eq!(spec.max_concurrency, 0);
        assert_eq!(spec.namespace, "eventdriven");
        assert_eq!(spec.service_account, "eventdriven-orders");
        assert_eq!(
            (spec.input_prefix.as_str(), spec.output_prefix.as_str()),
            ("input/", "output/")
        );
        assert_eq!(spec.input_suffix, "");
        assert_eq!(spec.bucket_name, None);
        assert_eq!(spec.redis_node_type, "cache.t4g.micro");
        assert_eq!(spec.dynamodb_billing_mode, BillingMode::PayPerRequest);
        assert!(spec.tags.is_empty());
        assert_eq!(validate(&spec), Ok(()));
    }

    #[test]
    fn error_displays_attribute_then_message() {
        let errors = errors_of(&with(|s| s.max_lines_per_batch = 0));
        assert_eq!(errors, ["max_lines_per_batch: must be between 1 and 10000000"]);
    }

    #[test]
    fn collects_every_error_not_only_the_first() {
        let spec = with(|s| {
            s.name = "Bad".into();
            s.max_concurrency = -1;
            s.namespace = "-x".into();
            s.tags.insert("aws:owner".into(), "me".into());
        });
        assert_eq!(
            attributes_failing(&spec),
            ["name", "max_concurrency", "namespace", "tags"]
        );
    }

    #[test]
    fn name_rules() {
        let forty = "a".repeat(40);
        assert_eq!(validate(&with(|s| s.name = forty.clone())), Ok(()));
        for bad in [
            "",
            &"a".repeat(41),
            "Orders",
            "1orders",
            "-orders",
            "orders-",
            "or--ders",
            "or_ders",
        ] {
            assert_eq!(attributes_failing(&with(|s| s.name = bad.into())), ["name"], "{bad:?}");
        }
    }

    #[test]
    fn cluster_name_rules() {
        assert_eq!(validate(&with(|s| s.cluster_name = "Prod_Cluster-1".into())), Ok(()));
        for bad in ["", "_x", "a b", &"a".repeat(101)] {
            let spec = with(|s| s.cluster_name = bad.into());
            assert_eq!(attributes_failing(&spec), ["cluster_name"], "{bad:?}");
        }
    }

    #[test]
    fn images_must_be_references() {
        assert_eq!(
            attributes_failing(&with(|s| s.job_image = String::new())),
            ["job_image"]
        );
        assert_eq!(attributes_failing(&with(|s| s.job_image = "a b".into())), ["job_image"]);
        assert_eq!(validate(&with(|s| s.job_image = "busybox".into())), Ok(()));
        for bad in ["", "lambda:1", "a.dkr.ecr/x y"] {
            let spec = with(|s| s.lambda_image = bad.into());
            assert_eq!(attributes_failing(&spec), ["lambda_image"], "{bad:?}");
        }
        let local = with(|s| s.lambda_image = "localhost:4510/list-chunks:dev".into());
        assert_eq!(validate(&local), Ok(()));
    }

    #[test]
    fn numeric_ranges() {
        for (lines, ok) in [(1, true), (10_000_000, true), (0, false), (10_000_001, false)] {
            let spec = with(|s| s.max_lines_per_batch = lines);
            assert_eq!(validate(&spec).is_ok(), ok, "{lines}");
        }
        for (concurrency, ok) in [(0, true), (10_000, true), (-1, false), (10_001, false)] {
            let spec = with(|s| s.max_concurrency = concurrency);
            assert_eq!(validate(&spec).is_ok(), ok, "{concurrency}");
        }
    }

    #[test]
    fn kubernetes_names() {
        for bad in ["", "Batch", "batch-", &"a".repeat(64), "a.b"] {
            let spec = with(|s| s.namespace = bad.into());
            assert_eq!(attributes_failing(&spec), ["namespace"], "{bad:?}");
        }
        assert_eq!(validate(&with(|s| s.service_account = "jobs.runner".into())), Ok(()));
        for bad in ["", "Runner", ".runner", "run_ner"] {
            let spec = with(|s| s.service_account = bad.into());
            assert_eq!(attributes_failing(&spec), ["service_account"], "{bad:?}");
        }
    }

    #[test]
    fn output_prefix_must_not_overlap_input_prefix() {
        let cases = [
            ("in/", "out/", true),
            ("in/", "in/", false),
            ("in/", "in/results/", false),
            ("data/", "data", false),
            ("", "out/", false),
            ("in/", "", false),
        ];
        for (input, output, ok) in cases {
            let spec = with(|s| {
                s.input_prefix = input.into();
                s.output_prefix = output.into();
            });
            assert_eq!(validate(&spec).is_ok(), ok, "{input:?} {output:?}");
        }
    }

    #[test]
    fn neither_prefix_may_overlap_the_runs_prefix() {
        for (input, output, failing) in [
            ("runs/in/", "out/", vec!["input_prefix"]),
            ("in/", "run", vec!["output_prefix"]),
            ("in/", "runs/x/", vec!["output_prefix"]),
            ("in/", "out/", vec![]),
            ("running/", "out/", vec![]),
        ] {
            let spec = with(|s| {
                s.input_prefix = input.into();
                s.output_prefix = output.into();
            });
            assert_eq!(attributes_failing(&spec), failing, "{input:?} {output:?}");
        }
    }

    #[test]
    fn bucket_name_override_follows_s3_rules() {
        assert_eq!(validate(&with(|s| s.bucket_name = Some("my.orders-1".into()))), Ok(()));
        let bad = [
            "ab",
            "Orders",
            "-orders",
            "orders-",
            "my..orders",
            "192.168.1.1",
            "xn--orders",
            "orders-s3alias",
            "my_orders",
            &"a".repeat(64),
        ];
        for bad in bad {
            let spec = with(|s| s.bucket_name = Some(bad.into()));
            assert_eq!(attributes_failing(&spec), ["bucket_name"], "{bad:?}");
        }
    }

    #[test]
    fn redis_node_type_must_be_a_cache_type() {
        assert_eq!(
            validate(&with(|s| s.redis_node_type = "cache.r7g.large".into())),
            Ok(())
        );
        for bad in ["t4g.micro", "cache.", ""] {
            let spec = with(|s| s.redis_node_type = bad.into());
            assert_eq!(attributes_failing(&spec), ["redis_node_type"], "{bad:?}");
        }
    }

    #[test]
    fn closed_sets_read_their_names() {
        for name in Architecture::NAMES {
            assert_eq!(Architecture::named(name).as_str(), *name);
        }
        for name in BillingMode::NAMES {
            assert_eq!(BillingMode::named(name).as_str(), *name);
        }
        assert_eq!(Architecture::Arm64.kubernetes(), "arm64");
        assert_eq!(Architecture::X86_64.kubernetes(), "amd64");
        assert_eq!(serde_json::to_value(BillingMode::Provisioned).unwrap(), "PROVISIONED");
    }

    #[test]
    fn billing_mode_and_capacities() {
        let provisioned = |read, write| {
            with(|s| {
                s.dynamodb_billing_mode = BillingMode::Provisioned;
                s.dynamodb_read_capacity = read;
                s.dynamodb_write_capacity = write;
            })
        };
        assert_eq!(validate(&provisioned(Some(1), Some(5))), Ok(()));
        assert_eq!(
            attributes_failing(&provisioned(None, Some(0))),
            ["dynamodb_read_capacity", "dynamodb_write_capacity"]
        );
        let extra = with(|s| s.dynamodb_read_capacity = Some(5));
        assert_eq!(attributes_failing(&extra), ["dynamodb_read_capacity"]);
    }

    #[test]
    fn warm_throughput_needs_a_table_and_a_positive_rate() {
        let warm = |write, read| {
            with(|s| {
                s.table_warm_write_units = write;
                s.table_warm_read_units = read;
            })
        };
        assert_eq!(validate(&warm(Some(40_000), Some(12_000))), Ok(()));
        assert_eq!(
            attributes_failing(&warm(Some(0), Some(-1))),
            ["table_warm_write_units", "table_warm_read_units"]
        );
        let mut tableless = warm(Some(40_000), None);
        tableless.table = false;
        tableless.process = Some(fixtures::process());
        assert_eq!(
            errors_of(&tableless),
            ["table_warm_write_units: only allowed when the pipeline has a table"]
        );
    }

    #[test]
    fn only_a_process_block_may_do_without_the_table() {
        let errors = errors_of(&with(|s| s.table = false));
        assert_eq!(
            errors,
            ["table: false needs a process block: the built-in step stores every row in the table"]
        );
        let process = fixtures::process();
        assert_eq!(validate(&with(|s| s.process = Some(process.clone()))), Ok(()));
        let tableless = with(|s| {
            s.table = false;
            s.process = Some(process.clone());
        });
        assert_eq!(validate(&tableless), Ok(()));
    }

    #[test]
    fn the_process_block_is_checked_at_its_paths() {
        let spec = with(|s| {
            let mut process = fixtures::process();
            process.command = vec![];
            process.env.insert("TABLE_NAME".into(), "mine".into());
            s.process = Some(process);
        });
        assert_eq!(
            errors_of(&spec),
            [
                "process.command: must name a program to run, e.g. [\"python3\", \"/app/step.py\"]",
                "process.env: \"TABLE_NAME\" is set by the pipeline, or reserved for it and for AWS",
            ]
        );
    }

    #[test]
    fn tag_limits() {
        let spec = with(|s| {
            s.tags.insert("team".into(), "data".into());
            s.tags.insert("k".repeat(128), "v".repeat(256));
        });
        assert_eq!(validate(&spec), Ok(()));
        let spec = with(|s| {
            s.tags.insert(String::new(), "x".into());
            s.tags.insert("k".repeat(129), "x".into());
            s.tags.insert("AWS:cost".into(), "x".into());
            s.tags.insert("long".into(), "v".repeat(257));
        });
        assert_eq!(attributes_failing(&spec), ["tags"; 4]);
    }
}
