//! The pipeline's children, one file per kind: each implements [`Child`](crate::lifecycle::Child)
//! for the pipeline over an owner-free adapter of `crate::adapters`, reading the pipeline's plan
//! and recording its identity in the pipeline's `Children`. `deploy::ORDER` lists them.

pub mod access_entry;
pub mod auth_secret;
pub mod bucket;
pub mod cache;
pub mod file_system;
pub mod function;
pub mod pod_identity;
pub mod role;
pub mod rule;
pub mod security_group;
pub mod state_machine;
pub mod table;

/// The plan the children's tests read, built without reaching AWS.
#[cfg(test)]
mod fixtures {
    use std::sync::Arc;

    use eventdriven_core::cluster::{AwsContext, ClusterInfo};
    use eventdriven_core::spec::PipelineSpec;

    use crate::aws::{AwsClients, Tags};
    use crate::pipeline::plan::Deployment;

    /// The `orders` pipeline on the cluster `main`, two of whose three subnets are private.
    pub fn deployment() -> Deployment {
        Deployment {
            aws: Arc::new(AwsClients::offline()),
            spec: PipelineSpec::new(
                "orders",
                "main",
                "registry/eventdriven:1",
                "registry/eventdriven-lambda:1",
            ),
            context: AwsContext {
                account_id: "123456789012".into(),
                region: "eu-west-1".into(),
                partition: "aws".into(),
            },
            cluster: ClusterInfo {
                name: "main".into(),
                arn: "arn:aws:eks:eu-west-1:123456789012:cluster/main".into(),
                endpoint: "https://0123456789ABCDEF.gr7.eu-west-1.eks.amazonaws.com".into(),
                certificate_authority: String::new(),
                vpc_id: "vpc-1".into(),
                subnet_ids: vec!["subnet-a".into(), "subnet-b".into(), "subnet-public".into()],
                private_subnet_ids: vec!["subnet-a".into(), "subnet-b".into()],
                security_group_ids: vec!["sg-cluster".into()],
            },
            tags: Tags::from([("team".to_owned(), "data".to_owned())]),
            warnings: Default::default(),
        }
    }
}
