//! The `eventdriven_workflow` resource's pure model: a state machine whose tasks emit events and
//! wait for a task token, the listeners that answer them, and the finisher that turns their
//! answers into task results.
//!
//! - [`spec`]: the resource's attributes, defaults and validation.
//! - [`envelope`]: the event detail every hop of a run carries (task token, execution, trail).
//! - [`environment`]: what a listener function's environment holds.
//! - [`naming`]: every child's name and ARN.
//! - [`definition`]: the main state machine and the finisher.
//! - [`rules`]: the EventBridge patterns (start, finisher, listeners, trail).
//! - [`iam`]: the roles' policies.
//! - `fixtures` (tests, and the `fixtures` feature): the example workflow, read from
//!   `examples/cookie-report/main.tf`.

pub mod definition;
pub mod envelope;
pub mod environment;
pub mod iam;
pub mod naming;
pub mod rules;
pub mod spec;

#[cfg(any(test, feature = "fixtures"))]
pub mod fixtures;
