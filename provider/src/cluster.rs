//! Reads what the pipeline needs from AWS before rendering: the account (STS) and the existing
//! EKS cluster's endpoint, CA and network (DescribeCluster; no EC2 calls).

use eventdriven_core::cluster::{AwsContext, ClusterInfo};

use crate::aws::{AwsClients, AwsError};

/// The partition a region belongs to, for ARNs.
fn partition_of(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

pub async fn aws_context(aws: &AwsClients) -> Result<AwsContext, AwsError> {
    Ok(AwsContext {
        account_id: aws.account_id().await?,
        region: aws.region.clone(),
        partition: partition_of(&aws.region).to_owned(),
    })
}

/// Describes the cluster. Its security groups are the cluster security group EKS created
/// (which nodes and pods use) followed by any additional ones, so children placed in them can
/// reach and be reached by the Jobs.
pub async fn describe(aws: &AwsClients, cluster_name: &str) -> Result<ClusterInfo, AwsError> {
    let out = aws.eks.describe_cluster().name(cluster_name).send().await?;
    let cluster = out
        .cluster
        .ok_or_else(|| AwsError::other(format!("DescribeCluster returned no cluster {cluster_name}")))?;
    let vpc = cluster.resources_vpc_config();
    let mut security_group_ids: Vec<String> = vpc
        .and_then(|v| v.cluster_security_group_id())
        .map(str::to_owned)
        .into_iter()
        .collect();
    for id in vpc.map(|v| v.security_group_ids()).unwrap_or_default() {
        if !security_group_ids.contains(id) {
            security_group_ids.push(id.clone());
        }
    }
    Ok(ClusterInfo {
        name: cluster_name.to_owned(),
        arn: cluster.arn().unwrap_or_default().to_owned(),
        endpoint: cluster.endpoint().unwrap_or_default().to_owned(),
        certificate_authority: cluster
            .certificate_authority()
            .and_then(|ca| ca.data())
            .unwrap_or_default()
            .to_owned(),
        vpc_id: vpc.and_then(|v| v.vpc_id()).unwrap_or_default().to_owned(),
        subnet_ids: vpc.map(|v| v.subnet_ids().to_vec()).unwrap_or_default(),
        security_group_ids,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_follow_region_prefixes() {
        assert_eq!(partition_of("eu-west-1"), "aws");
        assert_eq!(partition_of("cn-north-1"), "aws-cn");
        assert_eq!(partition_of("us-gov-west-1"), "aws-us-gov");
    }
}
