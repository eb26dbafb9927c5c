//! One execution in progress: what its states share (the interpreter's integrations, task
//! tokens and settings, the execution's history and context object), and the state being run.

use futures_util::future::BoxFuture;
use serde_json::Value;

use crate::context::{ExecutionContext, StateContext};
use crate::definition::{Machine, State};
use crate::error::Failure;
use crate::history::History;
use crate::integration::{Caller, Integrations, TaskTokens};

/// One execution in progress.
pub(crate) struct Run<'a> {
    pub(crate) integrations: &'a Integrations,
    pub(crate) tokens: &'a TaskTokens,
    pub(crate) region: &'a str,
    /// What every Retry interval is multiplied by.
    pub(crate) retry_scale: f64,
    pub(crate) history: History,
    pub(crate) execution: ExecutionContext,
}

/// The state being run, as its input and output processing needs it.
pub(crate) struct Here<'s> {
    pub(crate) name: &'s str,
    pub(crate) state: &'s State,
    pub(crate) entered_time: String,
    pub(crate) retry_count: u64,
}

impl<'a> Run<'a> {
    /// Another execution with the same integrations and settings, its history its own: a
    /// distributed Map's child execution.
    pub(crate) fn child(&self, execution: ExecutionContext) -> Run<'a> {
        Run {
            history: History::new(None, false),
            execution,
            ..*self
        }
    }

    /// The context object (`$$`) of the state `here`.
    pub(crate) fn context(&self, here: &Here<'_>, token: Option<&str>, item: Option<(usize, &Value)>) -> Value {
        StateContext {
            execution: &self.execution,
            state_name: here.name,
            entered_time: &here.entered_time,
            retry_count: here.retry_count,
            token,
            map_item: item,
        }
        .to_value()
    }

    /// Who an integration is called for: this execution and the state `here`.
    pub(crate) fn caller(&self, here: &Here<'_>) -> Caller {
        let execution = &self.execution.execution;
        Caller {
            execution_name: execution["Name"].as_str().unwrap_or_default().to_owned(),
            execution_arn: execution["Id"].as_str().unwrap_or_default().to_owned(),
            state_name: here.name.to_owned(),
            retry_count: here.retry_count,
        }
    }
}

/// Runs a state machine nested in a state: a Parallel branch, a Map iteration, a distributed
/// Map's child execution. The state loop implements it; Parallel and Map reach the loop
/// through it because the loop is what runs them.
pub(crate) trait Nested {
    /// Runs `machine` on `input` to its end; `last` is the event the machine's first follows.
    fn run_machine<'s>(
        &'s self,
        machine: &'s Machine,
        input: Value,
        last: &'s mut u64,
    ) -> BoxFuture<'s, Result<Value, Failure>>;
}
