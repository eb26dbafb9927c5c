//! EC2 security groups whose rules are made exactly the given `network::Rule`s, whatever was
//! added or removed outside Terraform. Deleting one waits for the network interfaces still using
//! it, which Lambda releases some minutes after their function is gone.

use std::collections::BTreeSet;
use std::future::Future;

use aws_sdk_ec2::types::{Filter, IpPermission, IpRange, ResourceType, Tag, TagSpecification, UserIdGroupPair};
use eventdriven_core::network::{Direction, Peer, Rule};

use crate::aws::{AwsClients, AwsError, Tags, found, sync_tags, wait_until};

/// A rule as EC2 holds it: any protocol and port range, so rules not made here can be found.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct LiveRule {
    direction: Direction,
    protocol: String,
    from: Option<i32>,
    to: Option<i32>,
    peer: Peer,
}

impl From<&Rule> for LiveRule {
    fn from(rule: &Rule) -> Self {
        LiveRule {
            direction: rule.direction,
            protocol: "tcp".into(),
            from: Some(rule.port),
            to: Some(rule.port),
            peer: rule.peer.clone(),
        }
    }
}

impl LiveRule {
    fn permission(&self, own_id: &str) -> IpPermission {
        let mut permission = IpPermission::builder()
            .ip_protocol(&self.protocol)
            .set_from_port(self.from)
            .set_to_port(self.to);
        permission = match &self.peer {
            Peer::Group(id) => permission.user_id_group_pairs(UserIdGroupPair::builder().group_id(id).build()),
            Peer::Itself => permission.user_id_group_pairs(UserIdGroupPair::builder().group_id(own_id).build()),
            Peer::Cidr(cidr) => permission.ip_ranges(IpRange::builder().cidr_ip(cidr).build()),
        };
        permission.build()
    }
}

fn live_rules(direction: Direction, permissions: &[IpPermission], own_id: &str) -> Vec<LiveRule> {
    let mut rules = Vec::new();
    for permission in permissions {
        let rule = |peer| LiveRule {
            direction,
            protocol: permission.ip_protocol().unwrap_or("-1").to_owned(),
            from: permission.from_port(),
            to: permission.to_port(),
            peer,
        };
        for pair in permission.user_id_group_pairs() {
            let id = pair.group_id().unwrap_or_default();
            rules.push(rule(if id == own_id {
                Peer::Itself
            } else {
                Peer::Group(id.to_owned())
            }));
        }
        for range in permission.ip_ranges() {
            rules.push(rule(Peer::Cidr(range.cidr_ip().unwrap_or_default().to_owned())));
        }
    }
    rules
}

/// Creates the group in `vpc_id`; returns its id. [`sync_rules`] then gives it its rules.
pub async fn create(aws: &AwsClients, name: &str, vpc_id: &str, tags: &Tags) -> Result<String, AwsError> {
    let out = aws
        .ec2
        .create_security_group()
        .group_name(name)
        .description("eventdriven pipeline: file system, cache and list-chunks function")
        .vpc_id(vpc_id)
        .tag_specifications(
            TagSpecification::builder()
                .resource_type(ResourceType::SecurityGroup)
                .set_tags(Some(ec2_tags(tags)))
                .build(),
        )
        .send()
        .await?;
    out.group_id
        .ok_or_else(|| AwsError::other("CreateSecurityGroup returned no id"))
}

/// The group's rules, in and out, whoever made them.
async fn read_rules(aws: &AwsClients, group_id: &str) -> Result<BTreeSet<LiveRule>, AwsError> {
    let out = aws.ec2.describe_security_groups().group_ids(group_id).send().await?;
    let group = out
        .security_groups()
        .first()
        .ok_or_else(|| AwsError::other(format!("security group {group_id} not found")))?;
    let mut live: BTreeSet<LiveRule> = live_rules(Direction::Ingress, group.ip_permissions(), group_id)
        .into_iter()
        .collect();
    live.extend(live_rules(Direction::Egress, group.ip_permissions_egress(), group_id));
    Ok(live)
}

/// The setting [`sync_rules`] makes, as the group holds it now: its rules.
pub async fn settings(aws: &AwsClients, group_id: &str) -> Result<Vec<(&'static str, String)>, AwsError> {
    let rules = read_rules(aws, group_id).await?;
    Ok(vec![("rules", format!("{rules:?}"))])
}

/// Makes the group's rules exactly `rules`: adds the missing, revokes the others (the default
/// allow-all egress among them).
pub async fn sync_rules(aws: &AwsClients, group_id: &str, rules: &[Rule]) -> Result<(), AwsError> {
    let live = read_rules(aws, group_id).await?;
    let wanted: BTreeSet<LiveRule> = rules.iter().map(LiveRule::from).collect();
    for rule in live.difference(&wanted) {
        let permission = rule.permission(group_id);
        match rule.direction {
            Direction::Ingress => {
                let call = aws.ec2.revoke_security_group_ingress().group_id(group_id);
                call.ip_permissions(permission).send().await?;
            }
            Direction::Egress => {
                let call = aws.ec2.revoke_security_group_egress().group_id(group_id);
                call.ip_permissions(permission).send().await?;
            }
        }
    }
    for rule in wanted.difference(&live) {
        let permission = rule.permission(group_id);
        match rule.direction {
            Direction::Ingress => {
                let call = aws.ec2.authorize_security_group_ingress().group_id(group_id);
                call.ip_permissions(permission).send().await?;
            }
            Direction::Egress => {
                let call = aws.ec2.authorize_security_group_egress().group_id(group_id);
                call.ip_permissions(permission).send().await?;
            }
        }
    }
    Ok(())
}

pub async fn exists(aws: &AwsClients, group_id: &str) -> Result<bool, AwsError> {
    let out = aws.ec2.describe_security_groups().group_ids(group_id).send().await;
    Ok(found(out.map_err(AwsError::from))?.is_some_and(|out| !out.security_groups().is_empty()))
}

/// The id of the group named `name`, for import.
pub async fn find(aws: &AwsClients, name: &str) -> Result<Option<String>, AwsError> {
    let filter = Filter::builder().name("group-name").values(name).build();
    let out = aws.ec2.describe_security_groups().filters(filter).send().await?;
    Ok(out
        .security_groups()
        .first()
        .and_then(|g| g.group_id())
        .map(str::to_owned))
}

/// Deletes the group, waiting while network interfaces still use it (Lambda releases a
/// deleted function's interfaces some minutes later); the operation's timeout bounds the wait.
/// How Lambda describes the network interfaces it creates for a function in a VPC.
const LAMBDA_INTERFACE: &str = "AWS Lambda VPC ENI*";

/// How many of Lambda's network interfaces still use the group.
pub async fn lambda_interfaces(aws: &AwsClients, group_id: &str) -> Result<usize, AwsError> {
    let out = aws
        .ec2
        .describe_network_interfaces()
        .filters(Filter::builder().name("group-id").values(group_id).build())
        .filters(Filter::builder().name("description").values(LAMBDA_INTERFACE).build())
        .send()
        .await?;
    Ok(out.network_interfaces().len())
}

/// Waits until `remaining` says no interface is left. Lambda deletes a VPC function's network
/// interfaces some minutes after the function, with the function's execution role ("To delete
/// unused network interfaces, the Lambda service uses the execution role of the functions that
/// created the network interfaces"): the role must outlive them, or they stay, and the group
/// can never be deleted.
pub async fn wait_until_released<F, Fut>(mut remaining: F) -> Result<(), AwsError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<usize, AwsError>>,
{
    wait_until(|| {
        let count = remaining();
        async move { Ok((count.await? == 0).then_some(())) }
    })
    .await
}

pub async fn delete(aws: &AwsClients, group_id: &str) -> Result<(), AwsError> {
    wait_until(|| async {
        let out = aws.ec2.delete_security_group().group_id(group_id).send().await;
        match out.map_err(AwsError::from) {
            Ok(_) => Ok(Some(())),
            Err(e) if e.has_code("DependencyViolation") => Ok(None),
            Err(e) if e.is_not_found() || e.has_code("InvalidGroup.NotFound") => Ok(Some(())),
            Err(e) => Err(e),
        }
    })
    .await
}

fn ec2_tags(tags: &Tags) -> Vec<Tag> {
    tags.iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

pub async fn put_tags(aws: &AwsClients, group_id: &str, tags: &Tags) -> Result<(), AwsError> {
    let out = aws.ec2.describe_security_groups().group_ids(group_id).send().await?;
    let current: Vec<&str> = out
        .security_groups()
        .first()
        .map(|g| g.tags().iter().filter_map(|t| t.key()).collect())
        .unwrap_or_default();
    let untag = |stale: Vec<String>| async move {
        let stale = stale.into_iter().map(|key| Tag::builder().key(key).build()).collect();
        aws.ec2
            .delete_tags()
            .resources(group_id)
            .set_tags(Some(stale))
            .send()
            .await?;
        Ok(())
    };
    let tag = || async {
        aws.ec2
            .create_tags()
            .resources(group_id)
            .set_tags(Some(ec2_tags(tags)))
            .send()
            .await?;
        Ok(())
    };
    sync_tags(current, tags, untag, tag).await
}

#[cfg(test)]
mod tests {

    #[tokio::test]
    async fn the_wait_lasts_until_lambda_has_released_every_interface() {
        let left = std::sync::Mutex::new(vec![0, 1, 2]);
        let probes = std::sync::atomic::AtomicUsize::new(0);
        wait_until_released(|| async {
            probes.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok(left.lock().unwrap().pop().unwrap_or(0))
        })
        .await
        .unwrap();
        assert_eq!(probes.into_inner(), 3, "2 interfaces, then 1, then none");
    }

    use super::*;

    const OWN: &str = "sg-own";

    fn rules() -> Vec<Rule> {
        vec![
            Rule {
                direction: Direction::Ingress,
                port: 2049,
                peer: Peer::Group("sg-nodes".into()),
            },
            Rule {
                direction: Direction::Egress,
                port: 6379,
                peer: Peer::Itself,
            },
            Rule {
                direction: Direction::Egress,
                port: 443,
                peer: Peer::Cidr("0.0.0.0/0".into()),
            },
        ]
    }

    #[test]
    fn rules_read_back_as_they_were_authorized_the_group_itself_by_its_id() {
        for rule in rules() {
            let wanted = LiveRule::from(&rule);
            let permission = wanted.permission(OWN);
            if rule.peer == Peer::Itself {
                assert_eq!(permission.user_id_group_pairs()[0].group_id(), Some(OWN));
            }
            assert_eq!(live_rules(rule.direction, &[permission], OWN), [wanted]);
        }
    }

    #[test]
    fn a_rule_made_elsewhere_differs_from_every_wanted_one() {
        let allow_all = IpPermission::builder()
            .ip_protocol("-1")
            .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
            .build();
        let live = live_rules(Direction::Egress, &[allow_all], OWN);
        let wanted: Vec<LiveRule> = rules().iter().map(LiveRule::from).collect();
        assert_eq!(live.len(), 1);
        assert!(!wanted.contains(&live[0]), "the default allow-all egress is revoked");
    }
}
