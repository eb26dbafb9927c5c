//! Reads what the pipeline needs from AWS before rendering: the account (STS) and the existing
//! EKS cluster's endpoint, CA and network (DescribeCluster, and EC2's route tables to tell its
//! private subnets).

use aws_sdk_ec2::types::Filter;
use aws_sdk_eks::types::AuthenticationMode;
use eventdriven_core::cluster::{AwsContext, ClusterInfo, ClusterReadiness, EFS_CSI_DRIVER, POD_IDENTITY_AGENT};
use eventdriven_core::network::{Node, RouteTable, private_subnets};

use crate::aws::{AwsClients, AwsError, found};

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
pub async fn describe(aws: &AwsClients, cluster_name: &str) -> Result<(ClusterInfo, ClusterReadiness), AwsError> {
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
    let readiness = ClusterReadiness {
        authentication_mode: cluster
            .access_config()
            .and_then(|c| c.authentication_mode())
            .map(|mode: &AuthenticationMode| mode.as_str().to_owned()),
        endpoint_public_access: vpc.is_some_and(|v| v.endpoint_public_access()),
        public_access_cidrs: vpc.map(|v| v.public_access_cidrs().to_vec()).unwrap_or_default(),
        auto_mode: cluster.compute_config().and_then(|c| c.enabled()).unwrap_or(false),
        pod_identity_agent: addon_installed(aws, cluster_name, POD_IDENTITY_AGENT).await?,
        efs_csi_driver: addon_installed(aws, cluster_name, EFS_CSI_DRIVER).await?,
        node_groups: aws
            .eks
            .list_nodegroups()
            .cluster_name(cluster_name)
            .send()
            .await?
            .nodegroups()
            .len(),
        fargate_profiles: aws
            .eks
            .list_fargate_profiles()
            .cluster_name(cluster_name)
            .send()
            .await?
            .fargate_profile_names()
            .len(),
    };
    let vpc_id = vpc.and_then(|v| v.vpc_id()).unwrap_or_default().to_owned();
    let subnet_ids = vpc.map(|v| v.subnet_ids().to_vec()).unwrap_or_default();
    let private_subnet_ids = private_subnets(&subnet_ids, &route_tables(aws, &vpc_id).await?);
    let info = ClusterInfo {
        name: cluster_name.to_owned(),
        arn: cluster.arn().unwrap_or_default().to_owned(),
        endpoint: cluster.endpoint().unwrap_or_default().to_owned(),
        certificate_authority: cluster
            .certificate_authority()
            .and_then(|ca| ca.data())
            .unwrap_or_default()
            .to_owned(),
        vpc_id,
        subnet_ids,
        private_subnet_ids,
        security_group_ids,
    };
    Ok((info, readiness))
}

/// The cluster's running nodes and their interfaces' security groups: instances tagged as the
/// cluster's, the way managed node groups (`eks:cluster-name`) and self-managed nodes and
/// Karpenter (`kubernetes.io/cluster/<name>`) tag them.
pub async fn nodes(aws: &AwsClients, cluster_name: &str) -> Result<Vec<Node>, AwsError> {
    let running = Filter::builder()
        .name("instance-state-name")
        .values("pending")
        .values("running")
        .build();
    let tagged = [
        Filter::builder()
            .name("tag:eks:cluster-name")
            .values(cluster_name)
            .build(),
        Filter::builder()
            .name(format!("tag:kubernetes.io/cluster/{cluster_name}"))
            .values("owned")
            .values("shared")
            .build(),
    ];
    let mut nodes: Vec<Node> = Vec::new();
    for tag in tagged {
        let mut pages = aws
            .ec2
            .describe_instances()
            .filters(tag)
            .filters(running.clone())
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(AwsError::from)?;
            for instance in page.reservations().iter().flat_map(|r| r.instances()) {
                let id = instance.instance_id().unwrap_or_default().to_owned();
                if nodes.iter().any(|n| n.id == id) {
                    continue;
                }
                let mut security_group_ids: Vec<String> = instance
                    .network_interfaces()
                    .iter()
                    .flat_map(|i| i.groups())
                    .chain(instance.security_groups())
                    .filter_map(|g| g.group_id().map(str::to_owned))
                    .collect();
                security_group_ids.sort();
                security_group_ids.dedup();
                nodes.push(Node { id, security_group_ids });
            }
        }
    }
    Ok(nodes)
}

/// The VPC's route tables: which subnets each serves, and whether it leads to the internet.
async fn route_tables(aws: &AwsClients, vpc_id: &str) -> Result<Vec<RouteTable>, AwsError> {
    let filter = Filter::builder().name("vpc-id").values(vpc_id).build();
    let out = aws.ec2.describe_route_tables().filters(filter).send().await?;
    Ok(out
        .route_tables()
        .iter()
        .map(|table| RouteTable {
            main: table.associations().iter().any(|a| a.main() == Some(true)),
            subnet_ids: table
                .associations()
                .iter()
                .filter_map(|a| a.subnet_id())
                .map(str::to_owned)
                .collect(),
            to_internet_gateway: table.routes().iter().any(|route| {
                route.destination_cidr_block() == Some("0.0.0.0/0")
                    && route.gateway_id().is_some_and(|gateway| gateway.starts_with("igw-"))
            }),
        })
        .collect())
}

/// Whether the EKS add-on `addon` is installed on the cluster.
async fn addon_installed(aws: &AwsClients, cluster_name: &str, addon: &str) -> Result<bool, AwsError> {
    let described = aws
        .eks
        .describe_addon()
        .cluster_name(cluster_name)
        .addon_name(addon)
        .send()
        .await;
    Ok(found(described.map_err(AwsError::from))?.is_some())
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
