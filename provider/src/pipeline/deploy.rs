//! The pipeline's children in dependency order: walked forward to create and update, backward
//! to destroy (see [`crate::lifecycle`]).
//!
//! Adding a child takes one file in `children/` (its `Child` impl and its tests, over an
//! adapter of `crate::adapters`), its `mod` line in `children/mod.rs` and one line in
//! [`ORDER`]; and, to record its identity, one field in `state::Children` and the attribute
//! Terraform shows it under (one row of `PipelineState`'s attribute table, and its name in
//! `each_child_string!`).

use std::sync::Arc;

use eventdriven_core::naming::Role;
use eventdriven_core::spec::PipelineSpec;

use crate::aws::{AwsClients, Tags};
use crate::lifecycle::{self, Child, Failure, ReadSettings};
// Every module of `children/`, so a new one needs no import here.
use crate::pipeline::children::*;
use crate::pipeline::plan::{Deployment, Pipeline, Teardown};
use crate::pipeline::state::Children;
use crate::resource::Warnings;

/// Each child after the ones it needs: the Lambda's environment names the file system and the
/// progress store, the definition names the Lambda, the rule starts the state machine, and
/// the access entry and the association grant the roles.
const ORDER: &[&dyn Child<Pipeline>] = &[
    &bucket::Bucket,
    &security_group::PipelineSecurityGroup,
    &table::Table,
    &file_system::FileSystem,
    &auth_secret::AuthSecret,
    &cache::SubnetGroup,
    &cache::ReplicationGroup,
    &role::PipelineRole(Role::StateMachine),
    &role::PipelineRole(Role::Events),
    &role::PipelineRole(Role::Lambda),
    &role::PipelineRole(Role::Job),
    &function::ListChunksFunction,
    &state_machine::PipelineStateMachine,
    &rule::InputRule,
    &access_entry::StateMachineAccess,
    &pod_identity::JobIdentity,
];

/// Creates every child missing from `children`.
pub async fn create(
    aws: Arc<AwsClients>,
    spec: PipelineSpec,
    tags: Tags,
    children: &mut Children,
) -> Result<Warnings, Failure> {
    let plan = Deployment::prepare(aws, spec, tags).await?;
    lifecycle::ensure(ORDER, &plan, children).await?;
    Ok(plan.into_warnings())
}

/// Re-creates children found missing, then re-applies every in-place setting (and the tags,
/// when they changed).
pub async fn update(
    aws: Arc<AwsClients>,
    spec: PipelineSpec,
    tags: Tags,
    tags_changed: bool,
    children: &mut Children,
) -> Result<Warnings, Failure> {
    let plan = Deployment::prepare(aws, spec, tags).await?;
    lifecycle::ensure(ORDER, &plan, children).await?;
    lifecycle::apply_settings(ORDER, &plan, children, tags_changed).await?;
    Ok(plan.into_warnings())
}

/// Forgets every recorded child that no longer exists, and notes what the others hold.
pub async fn refresh(
    aws: Arc<AwsClients>,
    cluster_name: String,
    children: &mut Children,
) -> Result<ReadSettings, Failure> {
    let scope = Teardown {
        aws,
        cluster_name,
        force_destroy: false,
    };
    lifecycle::refresh(ORDER, &scope, children).await
}

/// Deletes every recorded child, in reverse order; unless `force_destroy`, none when the bucket
/// or the table still holds data.
pub async fn destroy(
    aws: Arc<AwsClients>,
    cluster_name: String,
    force_destroy: bool,
    children: &mut Children,
) -> Result<(), Failure> {
    let scope = Teardown {
        aws,
        cluster_name,
        force_destroy,
    };
    lifecycle::destroy(ORDER, &scope, children).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_child_is_listed_once_under_its_own_state_field() {
        let mut children = Children::default();
        for (index, child) in ORDER.iter().enumerate() {
            let slot = child.recorded(&mut children);
            assert!(slot.is_none(), "{} shares its state field", child.label());
            *slot = Some(index.to_string());
        }
    }
}
