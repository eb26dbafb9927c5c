//! The resource's Terraform state, and its translation to and from core's `PipelineSpec`.

use eventdriven_core::spec::{Architecture, BillingMode, PipelineSpec, WorkVolumeMount};
use tf_provider::value::Value;

use crate::pipeline::process::ProcessBlock;
use crate::pipeline::record::RecordBlock;
use crate::resource::StringMap;
use crate::resource::attributes::attribute_table;
use crate::resource::timeouts::Timeouts;

attribute_table! {
    /// Every attribute of `eventdriven_batch_pipeline`; field names are the attribute names.
    pub struct PipelineState {
        // Arguments.
        name: Value<String> = string(Required, "Pipeline name; every child's name derives from it."), replaces;
        cluster_name: Value<String> = string(Required, "Existing EKS cluster the Jobs run on; its VPC, subnets and security groups place the file system, cache and Lambda."), replaces;
        job_image: Value<String> = string(Required, "Container image of the `eventdriven` runtime the Jobs run.");
        lambda_image: Value<String> = string(Required, "Container image URI (ECR) of the list-chunks Lambda function.");
        architecture [one_of Architecture::NAMES]: Value<String> = string(OptionalComputed, "CPU architecture of both images: `x86_64` (default) or `arm64`. The Lambda is created for it and the Jobs run on nodes of it.");
        max_lines_per_batch: Value<i64> = number(OptionalComputed, "Data rows per chunk. Default 30000.");
        max_concurrency: Value<i64> = number(OptionalComputed, "Most `process` Jobs running at once; 0 (the default) means the Map's own limit: about 40 inline, and 40 for the Distributed Map a run past 1,927 chunks takes.");
        step_timeout_seconds: Value<i64> = number(OptionalComputed, "How long one Job may run, pending time included, before it fails the run (default 3600, 60 to 86400). Every task of the state machine times out shortly after.");
        keep_work: Value<bool> = boolean(OptionalComputed, "Keep each run's chunks on the file system after merge, for inspection. By default (`false`) merge removes them once the result is published, so the file system does not keep a copy of every input.");
        namespace: Value<String> = string(OptionalComputed, "Kubernetes namespace of the Jobs. Default `eventdriven`."), replaces;
        service_account: Value<String> = string(OptionalComputed, "Kubernetes service account of the Jobs, granted the job role through EKS Pod Identity. Default `eventdriven-<name>`."), replaces;
        work_volume_mount [one_of WorkVolumeMount::NAMES]: Value<String> = string(OptionalComputed, "How the Jobs mount their work directory. `efs_csi` (the default for a new pipeline): a PersistentVolumeClaim bound through the EFS CSI driver to the pipeline's access point, with TLS and IAM (the `terraform/work-volume` module creates it); the file system's policy refuses clients without TLS or outside the access point. `nfs`: the file system root as a plain NFS volume, with no driver, no TLS and no file system policy. A pipeline created by an earlier version keeps its mount (null: `nfs`, or `efs_csi` with `work_volume_claim`).");
        work_volume_claim: Value<String> = string(Optional, "With `efs_csi`, the PersistentVolumeClaim in `namespace` the Jobs mount, bound to the pipeline's access point (`access_point_id`). Default `eventdriven-<name>-work`, the claim `terraform/work-volume` creates.");
        input_prefix: Value<String> = string(OptionalComputed, "Key prefix whose new objects start a run. Default `input/`.");
        input_suffix: Value<String> = string(OptionalComputed, "Key suffix new objects must also have to start a run; empty means any.");
        output_prefix: Value<String> = string(OptionalComputed, "Key prefix results are written under; must not overlap `input_prefix`. Default `output/`.");
        bucket_name: Value<String> = string(Optional, "Bucket name instead of the derived `eventdriven-<name>-<account>`."), replaces;
        #[serde(default)]
        node_security_group_ids: Value<Vec<Value<String>>> = strings(Optional, "Security groups of the nodes the Jobs run on (self-managed nodes, Karpenter, launch templates with their own groups), let in to the file system (2049) and the cache (6379) through the pipeline's security group. Unset: the cluster security group, which managed node groups carry.");
        #[serde(default)]
        lambda_subnet_ids: Value<Vec<Value<String>>> = strings(Optional, "Subnets of the list-chunks Lambda function, which must reach Secrets Manager (a NAT gateway or a VPC endpoint). Unset: the cluster's private subnets, those whose route table has no route to an internet gateway; apply fails, saying so, when there is none.");
        redis_node_type: Value<String> = string(OptionalComputed, "ElastiCache node type of the progress store. Default `cache.t4g.micro`."), replaces;
        dynamodb_billing_mode [one_of BillingMode::NAMES]: Value<String> = string(OptionalComputed, "`PAY_PER_REQUEST` (default) or `PROVISIONED`."), replaces;
        dynamodb_read_capacity: Value<i64> = number(Optional, "Read capacity units; only with `PROVISIONED`."), replaces;
        dynamodb_write_capacity: Value<i64> = number(Optional, "Write capacity units; only with `PROVISIONED`."), replaces;
        table_warm_write_units: Value<i64> = number(Optional, "Warm throughput of the table: write units a second it takes at once, without scaling first (a new on-demand table starts at 4000). Raised in place; DynamoDB never lowers it, so a value below the table's is left, with a warning. Unset: DynamoDB's own.");
        table_warm_read_units: Value<i64> = number(Optional, "Warm throughput of the table: read units a second it serves at once, without scaling first (a new on-demand table starts at 12000). Raised in place; DynamoDB never lowers it, so a value below the table's is left, with a warning. Unset: DynamoDB's own.");
        table: Value<bool> = boolean(Optional, "Whether the pipeline has a DynamoDB table. Default `true`; `false` needs a `process` block (the built-in step stores every row in the table) and creates no table: `table_name` is null and no policy names DynamoDB. Changing it between `true` (or unset) and `false` forces replacement.");
        tags: StringMap = string_map(Optional, "Tags for every child, over the provider's `default_tags`.");
        force_destroy: Value<bool> = boolean(OptionalComputed, "Whether destroy may delete the bucket while it holds objects and the table while it holds orders. Default `false`: destroy then fails before deleting anything.");

        // Computed: the pipeline and the identity of every child it owns.
        id: Value<String> = string(Computed, "The pipeline name.");
        tags_all: StringMap = string_map(Computed, "Tags every child carries: `tags` merged over the provider's `default_tags`.");
        bucket: Value<String> = string(Computed, "Name of the S3 bucket.");
        table_name: Value<String> = string(Computed, "Name of the DynamoDB orders table; null with `table = false`.");
        security_group_id: Value<String> = string(Computed, "Id of the pipeline's security group, on the mount targets, the cache and the Lambda function: in from the nodes on 2049 and 6379, out only to Redis and HTTPS.");
        file_system_id: Value<String> = string(Computed, "Id of the EFS file system.");
        mount_target_ids: Value<Vec<Value<String>>> = strings(Computed, "Ids of the EFS mount targets, one per Availability Zone of the cluster's subnets.");
        access_point_id: Value<String> = string(Computed, "Id of the EFS access point confining the Jobs to the pipeline's directory as a nonroot user; the `efs_csi` mount's PersistentVolume is bound to `<file_system_id>::<access_point_id>`.");
        redis_auth_secret_arn: Value<String> = string(Computed, "ARN of the Secrets Manager secret holding the Redis auth token (the token is never in the state).");
        cache_subnet_group_name: Value<String> = string(Computed, "Name of the ElastiCache subnet group.");
        replication_group_id: Value<String> = string(Computed, "Id of the ElastiCache replication group.");
        redis_url: Value<String> = string(Computed, "`rediss://` URL of the progress store, without credentials.");
        job_role_arn: Value<String> = string(Computed, "ARN of the IAM role the Jobs assume.");
        lambda_role_arn: Value<String> = string(Computed, "ARN of the Lambda function's execution role.");
        state_machine_role_arn: Value<String> = string(Computed, "ARN of the state machine's IAM role.");
        events_role_arn: Value<String> = string(Computed, "ARN of the IAM role EventBridge starts executions with.");
        lambda_function_arn: Value<String> = string(Computed, "ARN of the list-chunks Lambda function.");
        state_machine_arn: Value<String> = string(Computed, "ARN of the Step Functions state machine.");
        definition: Value<String> = string(Computed, "The state machine's definition (Amazon States Language JSON).");
        input_rule_name: Value<String> = string(Computed, "Name of the EventBridge rule starting a run per input object.");
        access_entry_arn: Value<String> = string(Computed, "ARN of the EKS access entry of the state machine's role.");
        pod_identity_association_id: Value<String> = string(Computed, "Id of the EKS Pod Identity association of the job role.");
        changed_outside_terraform: Value<Vec<Value<String>>> = strings(Computed, "Settings of the children the last refresh found changed outside Terraform (`<child> <name>: <setting>`), which the next apply sets back; null when none.");
    }
    blocks {
        #[serde(default, with = "crate::resource::single_block")]
        record: Value<RecordBlock>;
        #[serde(default, with = "crate::resource::single_block")]
        process: Value<ProcessBlock>;
        #[serde(default, with = "crate::resource::single_block")]
        timeouts: Value<Timeouts>;
    }
}

/// Identities of the pipeline's children; `None` for one not created (or gone).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Children {
    pub bucket: Option<String>,
    pub security_group_id: Option<String>,
    pub table_name: Option<String>,
    pub file_system_id: Option<String>,
    pub mount_target_ids: Option<Vec<String>>,
    pub access_point_id: Option<String>,
    pub redis_auth_secret_arn: Option<String>,
    pub cache_subnet_group_name: Option<String>,
    pub replication_group_id: Option<String>,
    pub redis_url: Option<String>,
    pub job_role_arn: Option<String>,
    pub lambda_role_arn: Option<String>,
    pub state_machine_role_arn: Option<String>,
    pub events_role_arn: Option<String>,
    pub lambda_function_arn: Option<String>,
    pub state_machine_arn: Option<String>,
    /// The definition as last applied (the state stores it as compact JSON text).
    pub definition: Option<serde_json::Value>,
    pub input_rule_name: Option<String>,
    pub access_entry_arn: Option<String>,
    pub pod_identity_association_id: Option<String>,
    /// What refresh saw the children hold; not stored in the state.
    pub observed: Observed,
    /// A Redis auth token the secret was just created with, for the replication group to take
    /// in the same apply (at creation, or as its new token); never stored in the state.
    pub new_auth_token: Option<AuthToken>,
}

/// A Redis auth token, which no `Debug` output shows.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthToken(pub String);

impl std::fmt::Debug for AuthToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuthToken(***)")
    }
}

/// Arguments as the children report them, for refresh to surface changes made outside Terraform.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Observed {
    pub lambda_image: Option<String>,
}

fn known(value: &Value<String>) -> Option<String> {
    value.as_ref_option().cloned()
}

fn to_value(value: &Option<String>) -> Value<String> {
    value.clone().map_or(Value::Null, Value::Value)
}

/// Applies `$apply` to every (state field, children field) pair with the same name.
macro_rules! each_child_string {
    ($apply:ident) => {
        $apply!(
            bucket,
            security_group_id,
            table_name,
            file_system_id,
            access_point_id,
            redis_auth_secret_arn,
            cache_subnet_group_name,
            replication_group_id,
            redis_url,
            job_role_arn,
            lambda_role_arn,
            state_machine_role_arn,
            events_role_arn,
            lambda_function_arn,
            state_machine_arn,
            input_rule_name,
            access_entry_arn,
            pod_identity_association_id
        )
    };
}

impl Children {
    /// Whether no child is recorded: nothing of the pipeline exists.
    pub fn is_empty(&self) -> bool {
        macro_rules! none {
            ($($field:ident),*) => { $(self.$field.is_none())&&* };
        }
        each_child_string!(none) && self.mount_target_ids.as_ref().is_none_or(Vec::is_empty)
    }

    /// The attributes of the children recorded here and not in `refreshed`.
    pub fn missing_from(&self, refreshed: &Children) -> Vec<String> {
        let mut missing = Vec::new();
        macro_rules! gone {
            ($($field:ident),*) => { $(if self.$field.is_some() && refreshed.$field.is_none() {
                missing.push(stringify!($field).to_owned());
            })* };
        }
        each_child_string!(gone);
        if self.mount_target_ids.is_some() && refreshed.mount_target_ids.is_none() {
            missing.push("mount_target_ids".to_owned());
        }
        missing
    }
}

impl PipelineState {
    pub fn children(&self) -> Children {
        macro_rules! read {
            ($($field:ident),*) => { Children {
                $($field: known(&self.$field),)*
                mount_target_ids: self.mount_target_ids.as_ref_option().map(|ids| {
                    ids.iter().filter_map(|id| id.as_ref_option().cloned()).collect()
                }),
                // A definition that is not JSON was not applied by this provider: apply it again.
                definition: self.definition.as_ref_option().and_then(|text| serde_json::from_str(text).ok()),
                observed: Observed::default(),
                new_auth_token: None,
            } };
        }
        each_child_string!(read)
    }

    /// Records `children` in the state; a child not created is null, never unknown, so a
    /// half-finished create leaves a valid state behind.
    pub fn set_children(&mut self, children: &Children) {
        macro_rules! write {
            ($($field:ident),*) => { $(self.$field = to_value(&children.$field);)* };
        }
        each_child_string!(write);
        self.definition = children
            .definition
            .as_ref()
            .map_or(Value::Null, |d| Value::Value(d.to_string()));
        self.mount_target_ids = children.mount_target_ids.clone().map_or(Value::Null, |ids| {
            Value::Value(ids.into_iter().map(Value::Value).collect())
        });
    }

    /// Marks every child identity unknown, as a plan for a fresh create shows them.
    pub fn mark_children_unknown(&mut self) {
        macro_rules! unknown {
            ($($field:ident),*) => { $(self.$field = Value::Unknown;)* };
        }
        each_child_string!(unknown);
        if self.tableless() {
            self.table_name = Value::Null;
        }
        self.definition = Value::Unknown;
        self.mount_target_ids = Value::Unknown;
    }

    /// Whether the configuration says there is no table (`table = false`); unset is `true`,
    /// so a state written before the attribute existed keeps its table.
    pub fn tableless(&self) -> bool {
        self.table == Value::Value(false)
    }

    /// Marks unknown the identities of children that are missing (null), so the plan shows
    /// them coming back; returns whether any was.
    pub fn mark_missing_children_unknown(&mut self) -> bool {
        let mut missing = false;
        let tableless = self.tableless();
        macro_rules! unknown_if_null {
            ($($field:ident),*) => { $(if self.$field.is_null() && !(tableless && stringify!($field) == "table_name") {
                self.$field = Value::Unknown;
                missing = true;
            })* };
        }
        each_child_string!(unknown_if_null);
        if self.definition.is_null() {
            self.definition = Value::Unknown;
            missing = true;
        }
        if self.mount_target_ids.is_null() {
            self.mount_target_ids = Value::Unknown;
            missing = true;
        }
        missing
    }

    /// Fills unset optional arguments with core's defaults, so the plan shows real values.
    pub fn apply_defaults(&mut self) {
        let defaults = PipelineSpec::new(self.name.as_ref_option().cloned().unwrap_or_default(), "", "", "");
        fn fill<T: Clone>(value: &mut Value<T>, default: &T) {
            if value.is_null() {
                *value = Value::Value(default.clone());
            }
        }
        fill(&mut self.max_lines_per_batch, &defaults.max_lines_per_batch);
        fill(&mut self.max_concurrency, &defaults.max_concurrency);
        fill(&mut self.architecture, &defaults.architecture.as_str().to_owned());
        fill(&mut self.step_timeout_seconds, &defaults.step_timeout_seconds);
        fill(&mut self.keep_work, &defaults.keep_work);
        fill(&mut self.namespace, &defaults.namespace);
        // The default service account derives from the name, unknown while the name is.
        if !self.name.is_unknown() {
            fill(&mut self.service_account, &defaults.service_account);
        } else if self.service_account.is_null() {
            self.service_account = Value::Unknown;
        }
        fill(&mut self.input_prefix, &defaults.input_prefix);
        fill(&mut self.input_suffix, &defaults.input_suffix);
        fill(&mut self.output_prefix, &defaults.output_prefix);
        fill(&mut self.redis_node_type, &defaults.redis_node_type);
        fill(
            &mut self.dynamodb_billing_mode,
            &defaults.dynamodb_billing_mode.as_str().to_owned(),
        );
        fill(&mut self.force_destroy, &false);
    }

    /// Core's view of the arguments, with each unknown one replaced by its default and its name
    /// returned, so validation can skip what it cannot see yet.
    pub fn spec_with_unknowns(&self) -> (PipelineSpec, Vec<&'static str>) {
        let mut unknown = Vec::new();
        let mut spec = PipelineSpec::new(String::new(), "", "", "");
        macro_rules! take {
            ($($field:ident),*) => { $(match &self.$field {
                Value::Value(v) => spec.$field = v.clone(),
                Value::Unknown => unknown.push(stringify!($field)),
                Value::Null => {}
            })* };
        }
        take!(
            name,
            cluster_name,
            job_image,
            lambda_image,
            max_lines_per_batch,
            max_concurrency,
            step_timeout_seconds,
            keep_work,
            namespace,
            input_prefix,
            input_suffix,
            output_prefix,
            redis_node_type
        );
        // Closed sets: the attribute table refuses other names before this is read.
        match &self.architecture {
            Value::Value(v) => spec.architecture = Architecture::named(v),
            Value::Unknown => unknown.push("architecture"),
            Value::Null => {}
        }
        match &self.dynamodb_billing_mode {
            Value::Value(v) => spec.dynamodb_billing_mode = BillingMode::named(v),
            Value::Unknown => unknown.push("dynamodb_billing_mode"),
            Value::Null => {}
        }
        // Null is a state an earlier version wrote: it mounted a claim only when one was named.
        match &self.work_volume_mount {
            Value::Value(v) => spec.work_volume_mount = WorkVolumeMount::named(v),
            Value::Unknown => unknown.push("work_volume_mount"),
            Value::Null if self.work_volume_claim.is_null() => spec.work_volume_mount = WorkVolumeMount::Nfs,
            Value::Null => {}
        }
        match &self.service_account {
            Value::Value(v) => spec.service_account = v.clone(),
            Value::Unknown => unknown.push("service_account"),
            Value::Null => spec.service_account = PipelineSpec::new(spec.name.clone(), "", "", "").service_account,
        }
        macro_rules! take_optional {
            ($($field:ident),*) => { $(match &self.$field {
                Value::Value(v) => spec.$field = Some(v.clone()),
                Value::Unknown => unknown.push(stringify!($field)),
                Value::Null => {}
            })* };
        }
        take_optional!(
            bucket_name,
            work_volume_claim,
            dynamodb_read_capacity,
            dynamodb_write_capacity,
            table_warm_write_units,
            table_warm_read_units
        );
        macro_rules! take_list {
            ($($field:ident),*) => { $(match &self.$field {
                Value::Value(items) => {
                    for item in items {
                        match item {
                            Value::Value(id) => spec.$field.push(id.clone()),
                            Value::Unknown => unknown.push(stringify!($field)),
                            Value::Null => {}
                        }
                    }
                }
                Value::Unknown => unknown.push(stringify!($field)),
                Value::Null => {}
            })* };
        }
        take_list!(node_security_group_ids, lambda_subnet_ids);
        match &self.tags {
            Value::Value(tags) => {
                for (key, value) in tags {
                    match value {
                        Value::Value(v) => {
                            spec.tags.insert(key.clone(), v.clone());
                        }
                        Value::Unknown => unknown.push("tags"),
                        Value::Null => {}
                    }
                }
            }
            Value::Unknown => unknown.push("tags"),
            Value::Null => {}
        }
        match &self.record {
            Value::Value(block) => match block.spec() {
                Some(record) => spec.record = Some(record),
                None => unknown.push("record"),
            },
            Value::Unknown => unknown.push("record"),
            Value::Null => {}
        }
        // `table = false` is valid only beside a process block, so while the block is not
        // known yet (a variable's value, at validate), neither can `table` be checked.
        match &self.process {
            Value::Value(block) => match block.spec() {
                Some(process) => spec.process = Some(process),
                None => unknown.extend(["process", "table"]),
            },
            Value::Unknown => unknown.extend(["process", "table"]),
            Value::Null => {}
        }
        match &self.table {
            Value::Value(table) => spec.table = *table,
            Value::Unknown => unknown.push("table"),
            Value::Null => {}
        }
        (spec, unknown)
    }

    /// The arguments of `spec`, as an imported pipeline's state holds them.
    pub fn from_spec(spec: &PipelineSpec) -> Self {
        let text = |v: &String| Value::Value(v.clone());
        let optional = |v: &Option<String>| v.clone().map_or(Value::Null, Value::Value);
        let number = |v: &Option<i64>| v.map_or(Value::Null, Value::Value);
        let list = |items: &Vec<String>| {
            if items.is_empty() {
                Value::Null
            } else {
                Value::Value(items.iter().map(text).collect())
            }
        };
        Self {
            name: text(&spec.name),
            cluster_name: text(&spec.cluster_name),
            job_image: text(&spec.job_image),
            lambda_image: text(&spec.lambda_image),
            architecture: Value::Value(spec.architecture.as_str().to_owned()),
            max_lines_per_batch: Value::Value(spec.max_lines_per_batch),
            max_concurrency: Value::Value(spec.max_concurrency),
            step_timeout_seconds: Value::Value(spec.step_timeout_seconds),
            keep_work: Value::Value(spec.keep_work),
            namespace: text(&spec.namespace),
            service_account: text(&spec.service_account),
            input_prefix: text(&spec.input_prefix),
            input_suffix: text(&spec.input_suffix),
            output_prefix: text(&spec.output_prefix),
            bucket_name: optional(&spec.bucket_name),
            node_security_group_ids: list(&spec.node_security_group_ids),
            lambda_subnet_ids: list(&spec.lambda_subnet_ids),
            work_volume_mount: Value::Value(spec.work_volume_mount.as_str().to_owned()),
            work_volume_claim: optional(&spec.work_volume_claim),
            redis_node_type: text(&spec.redis_node_type),
            dynamodb_billing_mode: Value::Value(spec.dynamodb_billing_mode.as_str().to_owned()),
            dynamodb_read_capacity: number(&spec.dynamodb_read_capacity),
            dynamodb_write_capacity: number(&spec.dynamodb_write_capacity),
            table_warm_write_units: number(&spec.table_warm_write_units),
            table_warm_read_units: number(&spec.table_warm_read_units),
            tags: Value::Value(
                spec.tags
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::Value(v.clone())))
                    .collect(),
            ),
            record: spec
                .record
                .as_ref()
                .map_or(Value::Null, |record| Value::Value(RecordBlock::from_spec(record))),
            process: spec
                .process
                .as_ref()
                .map_or(Value::Null, |process| Value::Value(ProcessBlock::from_spec(process))),
            // Unset is `true`, as a configuration without the attribute has it.
            table: if spec.table { Value::Null } else { Value::Value(false) },
            ..Default::default()
        }
    }

    /// Core's view of fully known arguments (after plan, every argument is known).
    pub fn spec(&self) -> PipelineSpec {
        self.spec_with_unknowns().0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn configured() -> PipelineState {
        PipelineState {
            name: Value::Value("orders".into()),
            cluster_name: Value::Value("main".into()),
            job_image: Value::Value("busybox".into()),
            lambda_image: Value::Value("registry/lambda:1".into()),
            ..Default::default()
        }
    }

    #[test]
    fn specs_round_trip_through_the_state() {
        let mut spec = PipelineSpec::new("orders", "main", "busybox", "registry/lambda:1");
        spec.bucket_name = Some("company-orders".into());
        spec.tags.insert("team".into(), "data".into());
        spec.table_warm_write_units = Some(40_000);
        spec.table_warm_read_units = Some(15_000);
        assert_eq!(PipelineState::from_spec(&spec).spec(), spec);
        assert!(PipelineState::from_spec(&spec).record.is_null(), "no block, no record");
        spec.record = Some(eventdriven_core::record::RecordSpec::orders());
        assert_eq!(PipelineState::from_spec(&spec).spec(), spec);
        spec.process = Some(eventdriven_core::process_step::ProcessSpec {
            image: "registry/enrich:3".into(),
            command: vec!["python3".into(), "/app/enrich.py".into()],
            env: Default::default(),
            cpu: None,
            memory: Some("1Gi".into()),
        });
        spec.table = false;
        let state = PipelineState::from_spec(&spec);
        assert_eq!(state.table, Value::Value(false));
        assert_eq!(state.spec(), spec);
    }

    #[test]
    fn without_a_table_its_name_is_null_and_never_planned_back() {
        let mut state = configured();
        state.table = Value::Value(false);
        state.mark_children_unknown();
        assert!(state.table_name.is_null());
        assert!(state.bucket.is_unknown());
        state.set_children(&Children {
            table_name: None,
            ..every_child()
        });
        assert!(!state.mark_missing_children_unknown(), "nothing is missing");
        assert!(state.table_name.is_null());
        state.table = Value::Null;
        assert!(state.mark_missing_children_unknown(), "a table is: unset is true");
        assert!(state.table_name.is_unknown());
    }

    fn every_child() -> Children {
        let id = |name: &str| Some(name.to_owned());
        Children {
            bucket: id("b"),
            security_group_id: id("sg"),
            table_name: id("t"),
            file_system_id: id("fs"),
            mount_target_ids: Some(vec!["fsmt".into()]),
            access_point_id: id("ap"),
            redis_auth_secret_arn: id("s"),
            cache_subnet_group_name: id("sn"),
            replication_group_id: id("rg"),
            redis_url: id("r"),
            job_role_arn: id("jr"),
            lambda_role_arn: id("lr"),
            state_machine_role_arn: id("sr"),
            events_role_arn: id("er"),
            lambda_function_arn: id("f"),
            state_machine_arn: id("sm"),
            definition: Some(serde_json::json!({})),
            input_rule_name: id("rule"),
            access_entry_arn: id("ae"),
            pod_identity_association_id: id("pi"),
            ..Default::default()
        }
    }

    #[test]
    fn a_pipeline_with_any_child_left_is_healed_and_its_missing_children_named() {
        let recorded = every_child();
        assert!(!recorded.is_empty());
        let refreshed = Children {
            state_machine_arn: None,
            bucket: None,
            ..every_child()
        };
        assert!(!refreshed.is_empty(), "the other children are healed, not dropped");
        assert_eq!(recorded.missing_from(&refreshed), ["bucket", "state_machine_arn"]);
        let only_mounts = Children {
            mount_target_ids: Some(vec!["fsmt-1".into()]),
            ..Children::default()
        };
        assert!(!only_mounts.is_empty());
        assert!(
            Children::default().is_empty(),
            "nothing left: the pipeline leaves the state"
        );
        assert_eq!(
            recorded.missing_from(&Children::default()).len(),
            19,
            "every child and the mount targets"
        );
    }

    #[test]
    fn defaults_come_from_core() {
        let mut state = configured();
        state.apply_defaults();
        let mut expected = PipelineSpec::new("orders", "main", "busybox", "registry/lambda:1");
        // The mount is filled at plan, for a new pipeline only: null is a state an earlier
        // version wrote, which mounted over NFS unless a claim was named.
        assert!(state.work_volume_mount.is_null());
        expected.work_volume_mount = WorkVolumeMount::Nfs;
        assert_eq!(state.spec(), expected);
        state.work_volume_claim = Value::Value("orders-work".into());
        assert_eq!(state.spec().work_volume_mount, WorkVolumeMount::EfsCsi);
        state.work_volume_mount = Value::Value("efs_csi".into());
        state.work_volume_claim = Value::Null;
        assert_eq!(state.spec().mounted_claim().as_deref(), Some("eventdriven-orders-work"));
    }

    #[test]
    fn unknown_arguments_are_reported_not_validated() {
        let mut state = configured();
        state.cluster_name = Value::Unknown;
        state.name = Value::Unknown;
        state.record = Value::Value(RecordBlock {
            key: Value::Unknown,
            ..Default::default()
        });
        state.apply_defaults();
        let (spec, unknown) = state.spec_with_unknowns();
        assert_eq!(unknown, ["name", "cluster_name", "service_account", "record"]);
        assert_eq!(spec.record, None);
    }

    #[test]
    fn children_round_trip_and_missing_ones_become_unknown() {
        let children = Children {
            bucket: Some("b".into()),
            mount_target_ids: Some(vec!["fsmt-1".into()]),
            ..Default::default()
        };
        let mut state = configured();
        state.set_children(&children);
        assert_eq!(state.children(), children);
        assert!(state.mark_missing_children_unknown());
        assert_eq!(state.bucket, Value::Value("b".into()));
        assert!(state.table_name.is_unknown());
    }
}
