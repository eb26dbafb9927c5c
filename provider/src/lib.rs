//! The eventdriven Terraform provider: the `eventdriven_batch_pipeline` resource, expanded into
//! the AWS children core renders.
//!
//! - [`EventdrivenProvider`]: the provider block and the resources it serves.
//! - `pipeline`: the resource's schema, state, plan and import, and its ordered children.
//! - `lifecycle`: the `Child` trait and the walks every resource shares.
//! - `children`: one file per kind of child, each an SDK adapter and its `Child` impl.
//! - `aws`: clients, errors, tags, waits and retries shared by the children.

mod aws;
mod children;
mod cluster;
mod lifecycle;
mod pipeline;
mod provider;
mod timeouts;

pub use provider::EventdrivenProvider;
