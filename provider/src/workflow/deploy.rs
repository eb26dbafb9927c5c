//! The ordered children of a workflow and the walks over them. The listeners' children (role,
//! function, rule) come one set per listener, so the list is built from the listener names:
//! the planned ones to create and update, the recorded ones to refresh and destroy.
//!
//! Adding a child takes one file in `children/` (its `Child` impl and its tests, over an
//! adapter of `crate::adapters`), its `mod` line in `children/mod.rs` and one line in [`order`]
//! (one more in `update` if the configuration can drop it); and, to record its identity, one
//! field in `state::WorkflowChildren` and the attribute Terraform shows it under (one row of
//! `WorkflowState`'s attribute table, and its name in `each_child_string!`). A child per
//! listener goes in [`listener_children`] instead, and records its identity in `ListenerIds`
//! and a map attribute of its own, which `state` converts by hand.

use std::sync::Arc;

use eventdriven_core::workflow::naming::{WorkflowRole, WorkflowRule};
use eventdriven_core::workflow::spec::WorkflowSpec;

use crate::aws::{AwsClients, Tags};
use crate::cluster;
use crate::lifecycle::{self, Child, Failure, ReadSettings};
// Every module of `children/`, so a new one needs no import here.
use crate::workflow::children::*;
use crate::workflow::plan::{Workflow, WorkflowPlan, WorkflowScope};
use crate::workflow::state::WorkflowChildren;

type Children = Vec<Box<dyn Child<Workflow>>>;

/// One listener's children, in creation order.
fn listener_children(name: &str) -> Children {
    vec![
        Box::new(role::ListenerRole(name.to_owned())),
        Box::new(function::ListenerFunction(name.to_owned())),
        Box::new(rule::ListenerRule(name.to_owned())),
    ]
}

/// Every child in creation order: what the machines use exists before them, and the start rule
/// comes last, so no run starts before everything is in place.
fn order<'a>(listeners: impl IntoIterator<Item = &'a String>) -> Children {
    let mut all: Children = vec![
        Box::new(bucket::WorkflowBucket),
        Box::new(log_group::TrailLogGroup),
        Box::new(log_group::FinisherLogGroup),
        Box::new(role::WorkflowRoleChild(WorkflowRole::Main)),
        Box::new(role::WorkflowRoleChild(WorkflowRole::Finisher)),
        Box::new(role::WorkflowRoleChild(WorkflowRole::Events)),
    ];
    for name in listeners {
        all.extend(listener_children(name));
    }
    all.extend([
        Box::new(state_machine::WorkflowMachine::Main) as Box<dyn Child<Workflow>>,
        Box::new(state_machine::WorkflowMachine::Finisher),
        Box::new(rule::WorkflowRuleChild(WorkflowRule::Finisher)),
        Box::new(rule::WorkflowRuleChild(WorkflowRule::Results)),
        Box::new(rule::WorkflowRuleChild(WorkflowRule::Trail)),
        Box::new(rule::WorkflowRuleChild(WorkflowRule::Start)),
    ]);
    all
}

fn refs(children: &Children) -> Vec<&dyn Child<Workflow>> {
    children.iter().map(AsRef::as_ref).collect()
}

fn planned_listeners(spec: &WorkflowSpec) -> Vec<String> {
    spec.listeners.iter().map(|l| l.name.clone()).collect()
}

fn recorded_listeners(children: &WorkflowChildren) -> Vec<String> {
    children.listeners.keys().cloned().collect()
}

/// Drops the entries of listeners none of whose children exist.
fn tidy(children: &mut WorkflowChildren) {
    children.listeners.retain(|_, ids| !ids.is_empty());
}

async fn plan_of(aws: Arc<AwsClients>, spec: WorkflowSpec, tags: Tags) -> Result<WorkflowPlan, Failure> {
    let context = cluster::aws_context(&aws)
        .await
        .map_err(Failure::of("reading", "AWS account", "sts"))?;
    Ok(WorkflowPlan {
        aws,
        spec,
        context,
        tags,
    })
}

async fn scope_of(aws: Arc<AwsClients>, spec: WorkflowSpec, force_destroy: bool) -> Result<WorkflowScope, Failure> {
    let context = cluster::aws_context(&aws)
        .await
        .map_err(Failure::of("reading", "AWS account", "sts"))?;
    Ok(WorkflowScope {
        aws,
        spec,
        context,
        force_destroy,
    })
}

pub async fn create(
    aws: Arc<AwsClients>,
    spec: WorkflowSpec,
    tags: Tags,
    children: &mut WorkflowChildren,
) -> Result<(), Failure> {
    let plan = plan_of(aws, spec, tags).await?;
    let result = lifecycle::ensure(&refs(&order(&planned_listeners(&plan.spec))), &plan, children).await;
    tidy(children);
    result
}

/// Deletes what the configuration no longer has (listeners, the trail, the bucket), then
/// creates what is missing and re-applies every setting in place.
pub async fn update(
    aws: Arc<AwsClients>,
    spec: WorkflowSpec,
    tags: Tags,
    tags_changed: bool,
    force_destroy: bool,
    children: &mut WorkflowChildren,
) -> Result<(), Failure> {
    let scope = scope_of(aws.clone(), spec.clone(), force_destroy).await?;
    let mut unwanted: Children = Vec::new();
    for name in recorded_listeners(children) {
        match spec.listeners.iter().find(|l| l.name == name) {
            None => unwanted.extend(listener_children(&name)),
            // An existing function runs as its own role: one the workflow made goes.
            Some(listener) if !listener.creates_function() => unwanted.push(Box::new(role::ListenerRole(name))),
            Some(_) => {}
        }
    }
    if spec.trail.is_none() {
        unwanted.push(Box::new(log_group::TrailLogGroup));
        unwanted.push(Box::new(rule::WorkflowRuleChild(WorkflowRule::Trail)));
    }
    if !spec.bucket {
        unwanted.push(Box::new(bucket::WorkflowBucket));
    }
    let result = lifecycle::destroy(&refs(&unwanted), &scope, children).await;
    tidy(children);
    result?;

    let plan = plan_of(aws, spec, tags).await?;
    let all = order(&planned_listeners(&plan.spec));
    let result = async {
        lifecycle::ensure(&refs(&all), &plan, children).await?;
        lifecycle::apply_settings(&refs(&all), &plan, children, tags_changed).await
    }
    .await;
    tidy(children);
    result
}

/// Forgets every recorded child that no longer exists.
pub async fn refresh(
    aws: Arc<AwsClients>,
    spec: WorkflowSpec,
    children: &mut WorkflowChildren,
) -> Result<ReadSettings, Failure> {
    let scope = scope_of(aws, spec, false).await?;
    let all = order(&recorded_listeners(children));
    let result = lifecycle::refresh(&refs(&all), &scope, children).await;
    tidy(children);
    result
}

/// Deletes every recorded child, in reverse order; unless `force_destroy`, none when the bucket
/// still holds objects.
pub async fn destroy(
    aws: Arc<AwsClients>,
    spec: WorkflowSpec,
    force_destroy: bool,
    children: &mut WorkflowChildren,
) -> Result<(), Failure> {
    let scope = scope_of(aws, spec, force_destroy).await?;
    let all = order(&recorded_listeners(children));
    let result = lifecycle::destroy(&refs(&all), &scope, children).await;
    tidy(children);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_child_is_listed_once_under_its_own_state_field() {
        let names = ["a".to_owned(), "b".to_owned()];
        let mut children = WorkflowChildren::default();
        for (index, child) in order(&names).iter().enumerate() {
            let slot = child.recorded(&mut children);
            assert!(slot.is_none(), "{} shares its state field", child.label());
            *slot = Some(index.to_string());
        }
        assert_eq!(children.listeners.len(), 2);
    }

    #[test]
    fn the_start_rule_comes_last() {
        let all = order(&["a".to_owned()]);
        assert_eq!(all.last().unwrap().label(), "EventBridge rule (start)");
    }
}
