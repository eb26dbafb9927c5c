//! The eventdriven Terraform provider: the `eventdriven_batch_pipeline` and
//! `eventdriven_workflow` resources, each expanded into the AWS children core renders.
//!
//! - [`EventdrivenProvider`]: the provider block and the resources it serves.
//! - `pipeline`: the batch pipeline's schema, state, plan and import, and its ordered children.
//! - `workflow`: the workflow's schema, state and plan, and its children (one set per listener).
//! - `lifecycle`: the `Child` trait and the walks every resource shares.
//! - `adapters`: one file per kind of AWS resource, the SDK calls that create, read, update,
//!   tag and delete it, owner-free; each resource's `children/` implements `Child` over them.
//! - `aws`: clients, errors, tags, waits and retries shared by the adapters.
//! - `resource`: the one resource shape both resources are (`OwnerResource` over a
//!   `ResourceKind`), their attribute tables, timeouts, tags and diagnostics.

mod adapters;
mod aws;
mod cluster;
#[cfg(test)]
mod deployer_calls;
mod lifecycle;
mod pipeline;
mod provider;
mod resource;
mod workflow;

pub use provider::EventdrivenProvider;
