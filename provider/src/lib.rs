//! The eventdriven Terraform provider: the `eventdriven_batch_pipeline` and
//! `eventdriven_workflow` resources, each expanded into the AWS children core renders.
//!
//! - [`EventdrivenProvider`]: the provider block and the resources it serves.
//! - `pipeline`: the batch pipeline's schema, state, plan and import, and its ordered children.
//! - `workflow`: the workflow's schema, state and plan, and its children (one set per listener).
//! - `lifecycle`: the `Child` trait and the walks every resource shares.
//! - `children`: one file per kind of child, each an SDK adapter and its `Child` impl.
//! - `aws`: clients, errors, tags, waits and retries shared by the children.
//! - `resource`: the one resource shape both resources are (`OwnerResource` over a
//!   `ResourceKind`), their attribute tables, timeouts, tags and diagnostics.

mod aws;
mod children;
mod cluster;
mod lifecycle;
mod pipeline;
mod provider;
mod resource;
mod workflow;

pub use provider::EventdrivenProvider;
