//! An Amazon States Language interpreter, JSONPath query mode.
//!
//! It runs Step Functions definitions on this machine: every state type, input and output
//! processing, intrinsic functions, Retry and Catch, inline and distributed Map, and a history
//! in the shapes of `GetExecutionHistory`. Tasks go through [`Integration`]s, so the same
//! definition can call local processes, in-process handlers or real services.
//!
//! - [`definition`]: the typed definition, parsed and checked as AWS checks one at creation.
//! - [`interpreter`]: runs a definition; below it the state loop, Retry and Catch, input and
//!   output processing, and a module per state type.
//! - [`limits`]: the service quotas (payload size, history length, Map parallelism).
//! - [`path`], [`payload`], [`intrinsics`], [`choice`]: JSONPath, payload templates,
//!   intrinsic functions and Choice rules.
//! - [`integration`]: resources, the [`Integration`] trait and task tokens.
//! - [`history`], [`context`], [`clock`], [`error`]: events, the context object, timestamps,
//!   error names and their matching.

pub mod choice;
pub mod clock;
pub mod context;
pub mod definition;
pub mod error;
pub mod history;
pub mod integration;
pub mod interpreter;
pub mod intrinsics;
pub mod limits;
pub mod path;
pub mod payload;

pub use error::Failure;
pub use history::{Event, Observer};
pub use integration::{Caller, Integration, Integrations, Pattern, Resource, TaskRequest, TaskTokens, TokenAnswer};
pub use interpreter::{Execution, Interpreter, StartExecution, Status, execution_arn};
