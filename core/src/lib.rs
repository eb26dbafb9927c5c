//! Pure model of an eventdriven pipeline, shared by the provider and the runtime.
//!
//! Nothing here performs I/O: the provider renders AWS resources from these types and the
//! runtime reads its configuration through them, so the two can never disagree about a name.
//!
//! - [`contract`]: the settings the runtime reads, and which step needs which.
//! - [`record`]: the records a pipeline loads (CSV columns, types, keys, result columns).
//! - [`process_step`]: the `process` block: the user's command on every chunk, in their image,
//!   under the `eventdriven` binary an init container copies in.
//! - [`spec`]: the user's pipeline attributes and their validation; [`config_path`]: where in
//!   a configuration an invalid value sits.
//! - [`cluster`], [`refs`]: what is read from AWS before rendering, and what exists after creating.
//! - [`naming`]: deterministic names and ARNs of every child resource.
//! - [`paths`], [`env`](mod@env): how run-time values reach each step.
//! - [`manifest`], [`definition`]: the Jobs and the state machine (rendered, and read back);
//!   their tests check every rendered definition with `eventdriven_states`' own parser.
//! - [`scale`]: the Step Functions limits a growing run meets (`eventdriven_states::limits`,
//!   re-exported), and when the Map runs distributed;
//!   [`estimate`]: what a run of a given size would do and cost (`eventdriven plan`);
//!   [`pace`]: the table's write rate and each process Job's share of it.
//! - [`iam`]: the roles' policies.
//! - [`network`]: the pipeline's security group rules.
//! - [`trigger`]: the event pattern that starts a run.
//! - [`local`]: the stand-in deployment a run on this machine renders.
//! - [`workflow`]: the `eventdriven_workflow` resource: tasks that emit events and wait, the
//!   listeners that answer them, the finisher, rules and roles.

pub mod cluster;
pub mod config_path;
pub mod contract;
pub mod definition;
pub mod deployer;
pub mod env;
pub mod estimate;
pub mod iam;
pub mod local;
pub mod manifest;
pub mod naming;
pub mod network;
pub mod pace;
pub mod paths;
pub mod process_step;
pub mod record;
pub mod refs;
pub mod scale;
pub mod spec;
pub mod trigger;
pub mod workflow;

#[cfg(test)]
mod asl_lint;
#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod iam_lint;
