//! An Amazon States Language interpreter, JSONPath query mode.
//!
//! It runs Step Functions definitions on this machine: every state type, input and output
//! processing, intrinsic functions, Retry and Catch, inline and distributed Map, and a history
//! in the shapes of `GetExecutionHistory`. Tasks go through [`Integration`]s, so the same
//! definition can call local processes, in-process handlers or real services.
//!
//! - [`definition`]: the typed definition and its structural checks.
//! - [`interpreter`]: the state loop, input/output processing, Retry/Catch, timeouts; `map`
//!   holds the Map state.
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
mod map;
pub mod path;
pub mod payload;

pub use error::Failure;
pub use history::{Event, Observer};
pub use integration::{Caller, Integration, Integrations, Pattern, Resource, TaskRequest, TaskTokens, TokenAnswer};
pub use interpreter::{Execution, Interpreter, StartExecution, Status, execution_arn};
