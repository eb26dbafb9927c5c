//! What the pipeline's children are built from: the spec resolved against the account and
//! the cluster ([`Deployment`]), and what tearing them down needs ([`Teardown`]).

use std::sync::{Arc, Mutex, PoisonError};

use eventdriven_core::cluster::{AwsContext, ClusterInfo, preflight, preflight_warnings};
use eventdriven_core::definition::state_machine_definition;
use eventdriven_core::naming::Names;
use eventdriven_core::network;
use eventdriven_core::refs::DeployedRefs;
use eventdriven_core::spec::PipelineSpec;

use crate::aws::{AwsClients, AwsError, Tags};
use crate::cluster;
use crate::lifecycle::{Failure, Owner};
use crate::pipeline::state::Children;
use crate::resource::Warnings;

/// The `eventdriven_batch_pipeline` resource as the owner of its children.
pub enum Pipeline {}

impl Owner for Pipeline {
    type Plan = Deployment;
    type Scope = Teardown;
    type Children = Children;
}

/// Everything needed to render and place the children: the spec, the account and the cluster.
pub struct Deployment {
    pub aws: Arc<AwsClients>,
    pub spec: PipelineSpec,
    pub context: AwsContext,
    pub cluster: ClusterInfo,
    pub tags: Tags,
    /// What preflight found that may break runs without being certain to, and what the children
    /// could not apply as configured (a child adds to it while the walk borrows the plan).
    pub warnings: Mutex<Warnings>,
}

impl Deployment {
    /// Reads the account and the cluster; fails naming the cluster when it cannot be described
    /// or misses a prerequisite (each named with its fix), before any child exists.
    pub async fn prepare(aws: Arc<AwsClients>, spec: PipelineSpec, tags: Tags) -> Result<Self, Failure> {
        let context = cluster::aws_context(&aws)
            .await
            .map_err(Failure::of("reading", "AWS account", "sts"))?;
        let (cluster, readiness) = cluster::describe(&aws, &spec.cluster_name).await.map_err(Failure::of(
            "reading",
            "EKS cluster",
            &spec.cluster_name,
        ))?;
        let nodes = cluster::nodes(&aws, &spec.cluster_name).await.map_err(Failure::of(
            "reading",
            "EKS cluster nodes",
            &spec.cluster_name,
        ))?;
        let mut warnings = preflight_warnings(&spec, &readiness);
        let mut problems = preflight(&spec.cluster_name, &readiness);
        if let Err(problem) = network::lambda_subnets(&spec, &cluster) {
            problems.push(problem);
        }
        match network::node_access(&spec, &cluster, &nodes) {
            Ok(warning) => warnings.extend(warning),
            Err(problem) => problems.push(problem),
        }
        if !problems.is_empty() {
            let error = AwsError::other(problems.join("\n"));
            return Err(Failure::of("checking", "EKS cluster", &spec.cluster_name)(error));
        }
        Ok(Self {
            aws,
            spec,
            context,
            cluster,
            tags,
            warnings: Mutex::new(warnings),
        })
    }

    /// Adds a warning the create or update returns.
    pub fn warn(&self, warning: String) {
        self.warnings
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(warning);
    }

    /// Every warning of the walk.
    pub fn into_warnings(self) -> Warnings {
        self.warnings.into_inner().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn names(&self) -> Names<'_> {
        Names::new(&self.spec, &self.context)
    }

    /// The identifiers the definition and the Lambda's environment embed. Names are
    /// deterministic, so only what AWS chooses (file system id, endpoint, secret ARN) comes
    /// from `children`.
    pub fn refs(&self, children: &Children) -> DeployedRefs {
        let names = self.names();
        DeployedRefs {
            lambda_function_arn: children
                .lambda_function_arn
                .clone()
                .unwrap_or_else(|| names.lambda_function_arn()),
            efs_file_system_id: children.file_system_id.clone().unwrap_or_default(),
            redis_url: children.redis_url.clone().unwrap_or_default(),
            redis_auth_secret_arn: children.redis_auth_secret_arn.clone(),
            table_name: names.table(),
            bucket_name: names.bucket(),
            region: self.context.region.clone(),
            partition: self.context.partition.clone(),
        }
    }

    /// The list-chunks function's subnets (checked by `prepare`).
    pub fn lambda_subnets(&self) -> &[String] {
        network::lambda_subnets(&self.spec, &self.cluster).unwrap_or(&self.cluster.subnet_ids)
    }

    /// The pipeline's security group, for the children placed in the VPC.
    pub fn security_groups(&self, children: &Children) -> Vec<String> {
        children.security_group_id.iter().cloned().collect()
    }

    /// The state machine definition core renders for the children as they are now.
    pub fn definition(&self, children: &Children) -> serde_json::Value {
        state_machine_definition(&self.spec, &self.cluster, &self.refs(children))
    }
}

/// What deleting and refreshing the children need: the clients, the cluster they are on, and
/// whether children holding data (objects, orders) may be deleted with it.
pub struct Teardown {
    pub aws: Arc<AwsClients>,
    pub cluster_name: String,
    pub force_destroy: bool,
}

impl Teardown {
    /// Refuses to delete a `child` that holds data (`what`) unless `force_destroy` allows it.
    pub fn may_lose(&self, child: &str, holds_data: bool, what: &str) -> Result<(), AwsError> {
        crate::lifecycle::may_lose("pipeline", self.force_destroy, child, holds_data, what)
    }
}
