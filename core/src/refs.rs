//! Identifiers that only exist once the pipeline's children have been created.
//!
//! The state machine definition and the Job manifests embed them, so the provider renders those
//! last, after creating the Lambda, the file system, the cache and the secret.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeployedRefs {
    pub lambda_function_arn: String,
    pub efs_file_system_id: String,
    /// Progress store URL without credentials, e.g. `rediss://host:6379`.
    pub redis_url: String,
    /// Secret holding the Redis auth token; the token itself is never rendered anywhere.
    pub redis_auth_secret_arn: Option<String>,
    pub table_name: String,
    pub bucket_name: String,
    pub region: String,
    /// Partition of `region`, for integration ARNs and service DNS names.
    pub partition: String,
}
