//! What the provider learns about the AWS account and the existing EKS cluster before rendering.
//!
//! The pipeline runs on a cluster it does not own, so these are inputs read from AWS
//! (STS GetCallerIdentity, EKS DescribeCluster) rather than attributes the user sets.

use serde::{Deserialize, Serialize};

/// The existing EKS cluster the Jobs run on, as DescribeCluster reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterInfo {
    pub name: String,
    pub arn: String,
    /// Kubernetes API server URL, `https://…`.
    pub endpoint: String,
    /// Base64-encoded certificate authority data of the API server.
    pub certificate_authority: String,
    pub vpc_id: String,
    pub subnet_ids: Vec<String>,
    pub security_group_ids: Vec<String>,
}

/// The account, region and partition every ARN is built in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AwsContext {
    pub account_id: String,
    pub region: String,
    /// `aws`, `aws-cn`, `aws-us-gov`, …
    pub partition: String,
}
