//! The pipeline's security group: who may reach the file system and the cache, and where the
//! list-chunks function may go. Attached to the mount targets, the replication group and the
//! function, so the pipeline works whatever groups the cluster's nodes carry (managed node
//! groups, self-managed nodes, Karpenter, launch templates with their own groups).

use crate::cluster::ClusterInfo;
use crate::spec::PipelineSpec;

pub const NFS_PORT: i32 = 2049;
pub const REDIS_PORT: i32 = 6379;
pub const HTTPS_PORT: i32 = 443;
/// Everywhere: Secrets Manager is reached through a NAT gateway or a VPC endpoint.
pub const ANYWHERE: &str = "0.0.0.0/0";

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Direction {
    Ingress,
    Egress,
}

/// The other side of a rule.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Peer {
    /// Another security group, by id.
    Group(String),
    /// The pipeline's own group: the function reaching the cache.
    Itself,
    Cidr(String),
}

/// One TCP rule of the pipeline's group.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Rule {
    pub direction: Direction,
    pub port: i32,
    pub peer: Peer,
}

/// The groups of the nodes the Jobs run on: the spec's, or else the cluster security group
/// (the first EKS reports), which managed node groups carry.
pub fn node_groups<'a>(spec: &'a PipelineSpec, cluster: &'a ClusterInfo) -> Vec<&'a str> {
    if spec.node_security_group_ids.is_empty() {
        cluster.security_group_ids.iter().take(1).map(String::as_str).collect()
    } else {
        spec.node_security_group_ids.iter().map(String::as_str).collect()
    }
}

/// A node of the cluster (an EC2 instance the cluster tags as its own) and the security groups
/// of its network interfaces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    pub id: String,
    pub security_group_ids: Vec<String>,
}

/// What the cluster's nodes tell of the pipeline's network, before anything is created: an
/// error when nodes carry none of the groups the pipeline lets in (their Jobs would wait in
/// `ContainerCreating`, unable to mount the file system, until their deadline), a warning when
/// there is no node yet to check.
pub fn node_access(spec: &PipelineSpec, cluster: &ClusterInfo, nodes: &[Node]) -> Result<Option<String>, String> {
    if nodes.is_empty() {
        return Ok(Some(format!(
            "cluster {} has no nodes yet, so whether they may reach the file system (2049) and Redis (6379) \
             was not checked: nodes without the cluster security group need node_security_group_ids",
            cluster.name
        )));
    }
    let let_in = node_groups(spec, cluster);
    let shut_out: Vec<&Node> = nodes
        .iter()
        .filter(|node| !node.security_group_ids.iter().any(|g| let_in.contains(&g.as_str())))
        .collect();
    if shut_out.is_empty() {
        return Ok(None);
    }
    let mut groups: Vec<&str> = shut_out
        .iter()
        .flat_map(|node| node.security_group_ids.iter().map(String::as_str))
        .collect();
    groups.sort_unstable();
    groups.dedup();
    let ids: Vec<&str> = shut_out.iter().map(|node| node.id.as_str()).collect();
    Err(format!(
        "nodes {ids:?} of cluster {} carry none of the security groups the pipeline lets in ({let_in:?}), so their Jobs \
         could not mount the file system or reach Redis: set node_security_group_ids to their groups, e.g. {groups:?}",
        cluster.name
    ))
}

/// Every rule the group holds, and nothing else: no egress beyond what the function needs.
pub fn pipeline_rules(spec: &PipelineSpec, cluster: &ClusterInfo) -> Vec<Rule> {
    let rule = |direction, port, peer| Rule { direction, port, peer };
    let mut rules = Vec::new();
    for group in node_groups(spec, cluster) {
        rules.push(rule(Direction::Ingress, NFS_PORT, Peer::Group(group.to_owned())));
        rules.push(rule(Direction::Ingress, REDIS_PORT, Peer::Group(group.to_owned())));
    }
    rules.push(rule(Direction::Ingress, REDIS_PORT, Peer::Itself));
    rules.push(rule(Direction::Egress, REDIS_PORT, Peer::Itself));
    rules.push(rule(Direction::Egress, HTTPS_PORT, Peer::Cidr(ANYWHERE.to_owned())));
    rules.sort();
    rules
}

/// A route table as EC2 describes it, reduced to what tells a private subnet from a public one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteTable {
    /// The VPC's main table, which subnets without an explicit association use.
    pub main: bool,
    pub subnet_ids: Vec<String>,
    /// Whether it routes `0.0.0.0/0` to an internet gateway.
    pub to_internet_gateway: bool,
}

/// The subnets among `subnets` whose route table has no route to an internet gateway: a
/// Lambda function there reaches AWS services through a NAT gateway or VPC endpoints, which a
/// function in a public subnet (it gets no public address) never can.
pub fn private_subnets(subnets: &[String], tables: &[RouteTable]) -> Vec<String> {
    let main_is_public = tables.iter().any(|t| t.main && t.to_internet_gateway);
    subnets
        .iter()
        .filter(|subnet| {
            let public = match tables.iter().find(|t| t.subnet_ids.contains(subnet)) {
                Some(table) => table.to_internet_gateway,
                None => main_is_public,
            };
            !public
        })
        .cloned()
        .collect()
}

/// The list-chunks function's subnets: the spec's, or else the cluster's private ones.
pub fn lambda_subnets<'a>(spec: &'a PipelineSpec, cluster: &'a ClusterInfo) -> Result<&'a [String], String> {
    if !spec.lambda_subnet_ids.is_empty() {
        return Ok(&spec.lambda_subnet_ids);
    }
    if cluster.private_subnet_ids.is_empty() {
        return Err(format!(
            "none of the cluster {}'s subnets is private (each routes 0.0.0.0/0 to an internet gateway), \
             and a Lambda function in a public subnet cannot reach Secrets Manager: set lambda_subnet_ids \
             to private subnets with a NAT gateway or VPC endpoints",
            cluster.name
        ));
    }
    Ok(&cluster.private_subnet_ids)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures;

    #[test]
    fn nodes_without_a_group_the_pipeline_lets_in_are_refused_by_name() {
        let (mut spec, cluster) = (fixtures::spec(), fixtures::cluster());
        let node = |id: &str, groups: &[&str]| Node {
            id: id.into(),
            security_group_ids: groups.iter().map(|g| (*g).to_owned()).collect(),
        };
        let managed = node("i-managed", &["sg-0c", "sg-extra"]);
        assert_eq!(node_access(&spec, &cluster, std::slice::from_ref(&managed)), Ok(None));
        let karpenter = node("i-karpenter", &["sg-karpenter"]);
        let refused = node_access(&spec, &cluster, &[managed.clone(), karpenter.clone()]).unwrap_err();
        assert!(
            refused.contains("i-karpenter")
                && !refused.contains("i-managed")
                && refused.contains("node_security_group_ids"),
            "{refused}"
        );
        assert!(
            refused.contains("sg-karpenter"),
            "the groups to let in are named: {refused}"
        );
        spec.node_security_group_ids = vec!["sg-0c".into(), "sg-karpenter".into()];
        assert_eq!(node_access(&spec, &cluster, &[managed, karpenter]), Ok(None));
        let warned = node_access(&spec, &cluster, &[]).unwrap().unwrap();
        assert!(warned.contains("no nodes yet"), "{warned}");
    }

    #[test]
    fn nodes_reach_nfs_and_redis_and_the_function_reaches_redis_and_https_only() {
        let (spec, cluster) = (fixtures::spec(), fixtures::cluster());
        let rules = pipeline_rules(&spec, &cluster);
        let node = Peer::Group("sg-0c".into());
        assert!(rules.contains(&Rule {
            direction: Direction::Ingress,
            port: NFS_PORT,
            peer: node.clone()
        }));
        assert!(rules.contains(&Rule {
            direction: Direction::Ingress,
            port: REDIS_PORT,
            peer: node
        }));
        let egress: Vec<(i32, &Peer)> = rules
            .iter()
            .filter(|r| r.direction == Direction::Egress)
            .map(|r| (r.port, &r.peer))
            .collect();
        assert_eq!(
            egress,
            [(HTTPS_PORT, &Peer::Cidr(ANYWHERE.into())), (REDIS_PORT, &Peer::Itself)]
        );
    }

    #[test]
    fn given_node_groups_replace_the_cluster_group() {
        let (mut spec, cluster) = (fixtures::spec(), fixtures::cluster());
        spec.node_security_group_ids = vec!["sg-karpenter".into(), "sg-self-managed".into()];
        let rules = pipeline_rules(&spec, &cluster);
        let from: Vec<&Peer> = rules.iter().filter(|r| r.port == NFS_PORT).map(|r| &r.peer).collect();
        assert_eq!(
            from,
            [
                &Peer::Group("sg-karpenter".into()),
                &Peer::Group("sg-self-managed".into())
            ]
        );
        assert!(!rules.iter().any(|r| r.peer == Peer::Group("sg-0c".into())));
    }

    #[test]
    fn public_subnets_are_those_routed_to_an_internet_gateway() {
        let subnets: Vec<String> = ["subnet-a", "subnet-b", "subnet-c"].map(String::from).to_vec();
        let table = |main, subnets: &[&str], igw| RouteTable {
            main,
            subnet_ids: subnets.iter().map(|s| (*s).to_owned()).collect(),
            to_internet_gateway: igw,
        };
        // a is public explicitly, b private explicitly, c follows the main table.
        let tables = [
            table(false, &["subnet-a"], true),
            table(false, &["subnet-b"], false),
            table(true, &[], false),
        ];
        assert_eq!(private_subnets(&subnets, &tables), ["subnet-b", "subnet-c"]);
        let public_main = [table(false, &["subnet-b"], false), table(true, &[], true)];
        assert_eq!(private_subnets(&subnets, &public_main), ["subnet-b"]);
    }

    #[test]
    fn the_function_goes_where_told_or_to_the_private_subnets_or_fails_saying_why() {
        let (mut spec, mut cluster) = (fixtures::spec(), fixtures::cluster());
        cluster.private_subnet_ids = vec!["subnet-0b".into()];
        assert_eq!(lambda_subnets(&spec, &cluster).unwrap(), ["subnet-0b"]);
        spec.lambda_subnet_ids = vec!["subnet-x".into()];
        assert_eq!(lambda_subnets(&spec, &cluster).unwrap(), ["subnet-x"]);
        spec.lambda_subnet_ids.clear();
        cluster.private_subnet_ids.clear();
        assert!(
            lambda_subnets(&spec, &cluster)
                .unwrap_err()
                .contains("set lambda_subnet_ids")
        );
    }
}
