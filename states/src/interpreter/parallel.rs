//! The Parallel state: every branch on the same input at once, outputs in branch order; the
//! first failure fails the state.

use serde_json::{Value, json};

use crate::definition::Parallel;
use crate::error::Failure;
use crate::interpreter::io;
use crate::interpreter::run::{Here, Nested, Run};

/// One attempt of a Parallel state.
pub(crate) async fn attempt(
    run: &Run<'_>,
    here: &Here<'_>,
    parallel: &Parallel,
    input: &Value,
    last: &mut u64,
) -> Result<Value, Failure> {
    let state = here.state;
    let context = run.context(here, None, None);
    let effective = io::parameters(state, io::input_path(state, input, &context)?, &context)?;
    *last = run.history.record("ParallelStateStarted", *last, None);
    let started = *last;
    let branches = parallel.branches.iter().map(|branch| {
        let effective = effective.clone();
        async move {
            let mut branch_last = started;
            run.run_machine(branch, effective, &mut branch_last).await
        }
    });
    let outcome = futures_util::future::try_join_all(branches).await;
    let last_id = run.history.last_id().max(started);
    match outcome {
        Ok(outputs) => {
            *last = run.history.record("ParallelStateSucceeded", last_id, None);
            io::state_output(state, input, Value::Array(outputs), &context)
        }
        Err(failure) => {
            let details = json!({ "error": failure.error, "cause": failure.cause });
            *last = run.history.record("ParallelStateFailed", last_id, Some(details));
            Err(failure)
        }
    }
}
