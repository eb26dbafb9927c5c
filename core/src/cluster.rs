//! What the provider learns about the AWS account and the existing EKS cluster before rendering.
//!
//! The pipeline runs on a cluster it does not own, so these are inputs read from AWS
//! (STS GetCallerIdentity, EKS DescribeCluster) rather than attributes the user sets.

use serde::{Deserialize, Serialize};

use crate::spec::PipelineSpec;

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
    /// The cluster's subnets without a route to an internet gateway (EC2 route tables).
    pub private_subnet_ids: Vec<String>,
    pub security_group_ids: Vec<String>,
}

/// What the cluster offers that a pipeline needs, as EKS reports it (DescribeCluster,
/// DescribeAddon, ListNodegroups, ListFargateProfiles).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterReadiness {
    /// `API`, `API_AND_CONFIG_MAP` or `CONFIG_MAP`; `None` when EKS reports none.
    pub authentication_mode: Option<String>,
    pub endpoint_public_access: bool,
    /// Who may reach the public endpoint (`publicAccessCidrs`); empty when EKS reports none.
    pub public_access_cidrs: Vec<String>,
    /// EKS Auto Mode (`computeConfig.enabled`): EKS runs the nodes and the Pod Identity agent.
    pub auto_mode: bool,
    /// Whether the `eks-pod-identity-agent` add-on is installed.
    pub pod_identity_agent: bool,
    /// Whether the `aws-efs-csi-driver` add-on is installed (the driver may also have been
    /// installed another way, which EKS does not report).
    pub efs_csi_driver: bool,
    pub node_groups: usize,
    pub fargate_profiles: usize,
}

/// The add-on that hands the Jobs their role through the pod identity association.
pub const POD_IDENTITY_AGENT: &str = "eks-pod-identity-agent";
/// The add-on that mounts the work volume's claim (TLS and IAM, through the access point).
pub const EFS_CSI_DRIVER: &str = "aws-efs-csi-driver";

/// Every prerequisite `cluster` misses, each as a message that names the fix. Checked before
/// any child is created: on a cluster that misses one, the Jobs would wait forever.
pub fn preflight(cluster: &str, readiness: &ClusterReadiness) -> Vec<String> {
    let mut problems = Vec::new();
    if !matches!(
        readiness.authentication_mode.as_deref(),
        Some("API" | "API_AND_CONFIG_MAP")
    ) {
        let mode = readiness.authentication_mode.as_deref().unwrap_or("CONFIG_MAP");
        problems.push(format!(
            "cluster {cluster} uses authentication mode {mode}, which has no access entries: run \
             `aws eks update-cluster-config --name {cluster} --access-config authenticationMode=API_AND_CONFIG_MAP`"
        ));
    }
    // "You do not need to install the EKS Pod Identity Agent on EKS Auto Mode Clusters."
    if !readiness.pod_identity_agent && !readiness.auto_mode {
        problems.push(format!(
            "cluster {cluster} has no {POD_IDENTITY_AGENT} add-on, so the Jobs would get no AWS credentials: run \
             `aws eks create-addon --cluster-name {cluster} --addon-name {POD_IDENTITY_AGENT}`"
        ));
    }
    if !readiness.endpoint_public_access {
        problems.push(format!(
            "cluster {cluster}'s API endpoint is private, and Step Functions' eks:runJob reaches it from outside the VPC: run \
             `aws eks update-cluster-config --name {cluster} --resources-vpc-config endpointPublicAccess=true` \
             (with publicAccessCidrs left at 0.0.0.0/0: Step Functions calls it from addresses AWS does not list)"
        ));
    }
    if readiness.node_groups == 0 && readiness.fargate_profiles > 0 && !readiness.auto_mode {
        problems.push(format!(
            "cluster {cluster} runs pods only on Fargate, which supports neither Pod Identity nor NFS volumes: \
             add a node group (`aws eks create-nodegroup --cluster-name {cluster} ...`)"
        ));
    }
    problems
}

/// What may break runs on `cluster` without being certain to: said, not refused. "The Step
/// Functions EKS integration supports only Kubernetes APIs with public endpoint access", from
/// addresses AWS does not publish, so a `publicAccessCidrs` without `0.0.0.0/0` may refuse
/// every Job.
pub fn preflight_warnings(spec: &PipelineSpec, readiness: &ClusterReadiness) -> Vec<String> {
    let cluster = &spec.cluster_name;
    let mut warnings = Vec::new();
    let open =
        readiness.public_access_cidrs.is_empty() || readiness.public_access_cidrs.iter().any(|c| c == "0.0.0.0/0");
    if readiness.endpoint_public_access && !open {
        warnings.push(format!(
            "cluster {cluster}'s public endpoint only admits {:?}: Step Functions' eks:runJob calls it from AWS addresses \
             outside any list you can write, so runs may fail to reach it; set publicAccessCidrs to 0.0.0.0/0 \
             (the API server still requires authentication)",
            readiness.public_access_cidrs
        ));
    }
    if let (Some(claim), false) = (spec.mounted_claim(), readiness.efs_csi_driver) {
        warnings.push(format!(
            "cluster {cluster} has no {EFS_CSI_DRIVER} add-on, and the Jobs mount their work directory through \
             the EFS CSI driver (claim {claim} in namespace {}): unless the driver was installed another way, \
             every Job waits for its volume until its deadline. Install it (terraform/cluster-prerequisites, \
             install_efs_csi_driver) or set work_volume_mount = \"nfs\"",
            spec.namespace
        ));
    }
    warnings
}

/// The account, region and partition every ARN is built in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AwsContext {
    pub account_id: String,
    pub region: String,
    /// `aws`, `aws-cn`, `aws-us-gov`, …
    pub partition: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ready() -> ClusterReadiness {
        ClusterReadiness {
            authentication_mode: Some("API_AND_CONFIG_MAP".into()),
            endpoint_public_access: true,
            public_access_cidrs: vec!["0.0.0.0/0".into()],
            auto_mode: false,
            pod_identity_agent: true,
            efs_csi_driver: true,
            node_groups: 1,
            fargate_profiles: 0,
        }
    }

    #[test]
    fn a_ready_cluster_passes() {
        assert_eq!(preflight("main", &ready()), Vec::<String>::new());
        let api_only = ClusterReadiness {
            authentication_mode: Some("API".into()),
            node_groups: 0,
            ..ready()
        };
        // No managed node groups and no Fargate: self-managed nodes or Karpenter, fine.
        assert_eq!(preflight("main", &api_only), Vec::<String>::new());
    }

    #[test]
    fn auto_mode_needs_no_pod_identity_add_on_and_no_node_group() {
        let auto = ClusterReadiness {
            auto_mode: true,
            pod_identity_agent: false,
            node_groups: 0,
            fargate_profiles: 1,
            ..ready()
        };
        assert_eq!(preflight("main", &auto), Vec::<String>::new());
        let without = ClusterReadiness {
            auto_mode: false,
            ..auto
        };
        assert_eq!(
            preflight("main", &without).len(),
            2,
            "the add-on and the nodes are missing"
        );
    }

    #[test]
    fn a_restricted_public_endpoint_is_warned_of_and_never_advised() {
        let spec = crate::fixtures::spec();
        assert_eq!(preflight_warnings(&spec, &ready()), Vec::<String>::new());
        let restricted = ClusterReadiness {
            public_access_cidrs: vec!["203.0.113.0/24".into()],
            ..ready()
        };
        let warnings = preflight_warnings(&spec, &restricted);
        assert_eq!(warnings.len(), 1);
        assert!(
            warnings[0].contains("203.0.113.0/24") && warnings[0].contains("0.0.0.0/0"),
            "{warnings:?}"
        );
        assert!(preflight("main", &restricted).is_empty(), "a warning, not a refusal");
        let private = ClusterReadiness {
            endpoint_public_access: false,
            ..ready()
        };
        let problems = preflight("main", &private);
        assert!(
            !problems[0].contains("can restrict"),
            "no advice that breaks every run: {problems:?}"
        );
    }

    #[test]
    fn each_missing_prerequisite_is_reported_with_its_fix() {
        /// A way to break a ready cluster, and the fix its message must name.
        type Case = (fn(&mut ClusterReadiness), &'static str);
        let cases: [Case; 5] = [
            (
                |r| r.authentication_mode = Some("CONFIG_MAP".into()),
                "authenticationMode=API_AND_CONFIG_MAP",
            ),
            (
                |r| r.authentication_mode = None,
                "authenticationMode=API_AND_CONFIG_MAP",
            ),
            (
                |r| r.pod_identity_agent = false,
                "create-addon --cluster-name main --addon-name eks-pod-identity-agent",
            ),
            (|r| r.endpoint_public_access = false, "endpointPublicAccess=true"),
            (
                |r| {
                    r.node_groups = 0;
                    r.fargate_profiles = 2;
                },
                "create-nodegroup",
            ),
        ];
        for (break_it, fix) in cases {
            let mut readiness = ready();
            break_it(&mut readiness);
            let problems = preflight("main", &readiness);
            assert_eq!(problems.len(), 1, "{problems:?}");
            assert!(problems[0].contains(fix), "{}", problems[0]);
        }
    }

    #[test]
    fn a_claim_without_the_efs_csi_add_on_is_warned_of() {
        let mut spec = crate::fixtures::spec();
        let without = ClusterReadiness {
            efs_csi_driver: false,
            ..ready()
        };
        let warnings = preflight_warnings(&spec, &without);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        for named in [
            EFS_CSI_DRIVER,
            "eventdriven-orders-work",
            "install_efs_csi_driver",
            "nfs",
        ] {
            assert!(warnings[0].contains(named), "{named}: {warnings:?}");
        }
        assert!(preflight_warnings(&spec, &ready()).is_empty());
        spec.work_volume_mount = crate::spec::WorkVolumeMount::Nfs;
        assert!(
            preflight_warnings(&spec, &without).is_empty(),
            "plain NFS needs no driver"
        );
    }
}
