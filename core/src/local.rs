//! The deployment a run on this machine renders: the same state machine as on AWS, for a
//! pipeline whose cluster, bucket and stores are local stand-ins.
//!
//! `eventdriven run` executes this definition with in-process integrations, so the local run
//! and a deployed pipeline share their wiring (paths, Map, Job environments, Lambda payload).

use serde_json::{Value, json};

use crate::cluster::ClusterInfo;
use crate::refs::DeployedRefs;
use crate::spec::PipelineSpec;

/// The bucket name the local run's event names; objects are local files.
pub const LOCAL_BUCKET: &str = "local";
const LOCAL_IMAGE: &str = "eventdriven:local";

/// Spec, cluster and references of a local pipeline named `name`.
pub fn local_deployment(
    name: &str,
    rows_per_chunk: u64,
    max_concurrency: u64,
) -> (PipelineSpec, ClusterInfo, DeployedRefs) {
    let mut spec = PipelineSpec::new(name, "local", LOCAL_IMAGE, LOCAL_IMAGE);
    spec.max_lines_per_batch = i64::try_from(rows_per_chunk).unwrap_or(i64::MAX);
    spec.max_concurrency = i64::try_from(max_concurrency).unwrap_or(i64::MAX);
    let cluster = ClusterInfo {
        name: "local".into(),
        arn: "arn:aws:eks:local:000000000000:cluster/local".into(),
        endpoint: "https://127.0.0.1".into(),
        certificate_authority: String::new(),
        vpc_id: String::new(),
        subnet_ids: Vec::new(),
        private_subnet_ids: Vec::new(),
        security_group_ids: Vec::new(),
    };
    let refs = DeployedRefs {
        lambda_function_arn: format!("arn:aws:lambda:local:000000000000:function:eventdriven-{name}-list-chunks"),
        efs_file_system_id: "fs-local".into(),
        redis_url: "memory:".into(),
        redis_auth_secret_arn: None,
        table_name: format!("eventdriven-{name}"),
        bucket_name: LOCAL_BUCKET.into(),
        region: "local".into(),
        partition: "aws".into(),
    };
    (spec, cluster, refs)
}

/// The S3 "Object Created" event EventBridge would deliver for `key` in `bucket`: the input
/// of every execution.
pub fn object_created_event(bucket: &str, key: &str) -> Value {
    json!({
        "version": "0",
        "source": "aws.s3",
        "detail-type": "Object Created",
        "detail": {
            "version": "0",
            "bucket": { "name": bucket },
            "object": { "key": key },
            "reason": "PutObject",
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::definition::state_machine_definition;
    use crate::fixtures::validate_definition;

    #[test]
    fn the_local_definition_is_the_deployed_one_with_local_stand_ins() {
        let (spec, cluster, refs) = local_deployment("local", 250, 3);
        let definition = state_machine_definition(&spec, &cluster, &refs);
        assert_eq!(validate_definition(&definition), Ok(()));
        assert_eq!(definition["States"]["ProcessChunks"]["MaxConcurrency"], 3);
    }
}
