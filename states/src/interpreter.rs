//! Runs a definition: an [`Interpreter`] executes it to an [`Execution`], its status, output or
//! failure, and its history.
//!
//! Below this module, each part of a run has its own: `run` (what the states of one
//! execution share), `machine` (the state loop, and the Retry loop around a state), `retry`
//! (Retry and Catch), `io` (input and output processing, the payload limit), and one module
//! per state type: `task`, `parallel`, `map`, `choice`, `wait`, `pass`, `succeed`, `fail`.

mod choice;
mod fail;
mod io;
mod machine;
mod map;
mod parallel;
mod pass;
mod retry;
mod run;
mod succeed;
mod task;
mod wait;

use std::time::Duration;

use serde_json::{Value, json};

use crate::context::ExecutionContext;
use crate::definition::Machine;
use crate::error::Failure;
use crate::history::{Event, History, Observer};
use crate::integration::{Integrations, TaskTokens};
use crate::interpreter::run::{Nested, Run};

/// The payload limit at the path callers first knew it by; its home is [`crate::limits`].
pub use crate::limits::PAYLOAD_LIMIT_BYTES;

/// Runs executions of definitions with a set of integrations.
#[derive(Clone)]
pub struct Interpreter {
    integrations: Integrations,
    tokens: TaskTokens,
    region: String,
    retry_scale: f64,
}

/// What starts an execution.
#[derive(Clone)]
pub struct StartExecution {
    pub name: String,
    pub input: Value,
    /// `arn:aws:states:REGION:ACCOUNT:stateMachine:NAME`; the execution's ARN derives from it.
    pub state_machine_arn: String,
    pub role_arn: String,
    /// Sees each history event as it is recorded.
    pub observer: Option<Observer>,
    /// Whether the finished [`Execution`] carries its history. A caller that has the events
    /// from its observer, or needs none, lets them go: a run of thousands of chunks records
    /// tens of thousands of events.
    pub keep_history: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    Succeeded,
    Failed,
    TimedOut,
}

/// A finished execution.
#[derive(Clone, Debug)]
pub struct Execution {
    pub execution_arn: String,
    pub status: Status,
    pub output: Option<Value>,
    pub failure: Option<Failure>,
    /// Empty unless the execution was started with `keep_history`.
    pub history: Vec<Event>,
}

/// The execution ARN Step Functions gives an execution named `name` of `state_machine_arn`.
pub fn execution_arn(state_machine_arn: &str, name: &str) -> String {
    format!(
        "{}:{name}",
        state_machine_arn.replacen(":stateMachine:", ":execution:", 1)
    )
}

impl Interpreter {
    pub fn new(integrations: Integrations, tokens: TaskTokens, region: impl Into<String>) -> Self {
        Interpreter {
            integrations,
            tokens,
            region: region.into(),
            retry_scale: 1.0,
        }
    }

    /// Scales every Retry interval: a local run uses 0 so that a failed step is retried at once
    /// instead of after the tens of seconds a cluster needs.
    pub fn with_retry_scale(mut self, scale: f64) -> Self {
        self.retry_scale = scale;
        self
    }

    pub fn tokens(&self) -> &TaskTokens {
        &self.tokens
    }

    /// Runs `definition` to its end. A definition that does not parse fails the execution with
    /// `States.Runtime`, as it would have failed to deploy.
    pub async fn execute(&self, definition: &Value, start: StartExecution) -> Execution {
        let execution_arn = execution_arn(&start.state_machine_arn, &start.name);
        let history = History::new(start.observer.clone(), start.keep_history);
        let started = history.record(
            "ExecutionStarted",
            0,
            Some(json!({ "input": start.input.to_string(), "roleArn": start.role_arn })),
        );
        let run = Run {
            integrations: &self.integrations,
            tokens: &self.tokens,
            region: &self.region,
            retry_scale: self.retry_scale,
            history: history.clone(),
            execution: ExecutionContext::new(
                &execution_arn,
                &start.name,
                &start.input,
                &start.state_machine_arn,
                &start.role_arn,
            ),
        };
        let mut timed_out = false;
        let outcome = match Machine::parse(definition) {
            Err(failure) => Err(failure),
            Ok(machine) => {
                let mut last = started;
                let running = run.run_machine(&machine, start.input.clone(), &mut last);
                match machine.timeout_seconds {
                    Some(seconds) => tokio::time::timeout(Duration::from_secs(seconds), running)
                        .await
                        .unwrap_or_else(|_| {
                            timed_out = true;
                            Err(Failure::timeout(format!(
                                "the execution ran longer than its {seconds} s TimeoutSeconds"
                            )))
                        }),
                    None => running.await,
                }
            }
        };
        let last = history.last_id();
        let (status, output, failure) = match outcome {
            Ok(output) => {
                history.record(
                    "ExecutionSucceeded",
                    last,
                    Some(json!({ "output": output.to_string() })),
                );
                (Status::Succeeded, Some(output), None)
            }
            Err(failure) if timed_out => {
                let details = json!({ "error": failure.error, "cause": failure.cause });
                history.record("ExecutionTimedOut", last, Some(details));
                (Status::TimedOut, None, Some(failure))
            }
            Err(failure) => {
                let details = json!({ "error": failure.error, "cause": failure.cause });
                history.record("ExecutionFailed", last, Some(details));
                (Status::Failed, None, Some(failure))
            }
        };
        Execution {
            execution_arn,
            status,
            output,
            failure,
            history: history.take_events(),
        }
    }
}
