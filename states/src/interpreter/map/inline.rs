//! An inline Map's iterations: in this execution, its history recording each; the first
//! failure fails the Map and stops the iterations still running.

use futures_util::stream::{self, StreamExt, TryStreamExt};
use serde_json::{Value, json};

use crate::definition::Machine;
use crate::error::Failure;
use crate::interpreter::run::{Here, Nested, Run};

/// Runs `processor` on every input, at most `max_concurrency` at once; the outputs in input
/// order. `started` is the `MapStateStarted` event every iteration follows.
pub(crate) async fn iterations(
    run: &Run<'_>,
    here: &Here<'_>,
    processor: &Machine,
    inputs: Vec<Value>,
    max_concurrency: usize,
    started: u64,
) -> Result<Value, Failure> {
    let history = &run.history;
    let iterations = inputs.into_iter().enumerate().map(|(index, input)| async move {
        let iteration = json!({ "name": here.name, "index": index });
        let mut last = history.record("MapIterationStarted", started, Some(iteration.clone()));
        match run.run_machine(processor, input, &mut last).await {
            Ok(output) => {
                history.record("MapIterationSucceeded", last, Some(iteration));
                Ok((index, output))
            }
            Err(failure) => {
                history.record("MapIterationFailed", last, Some(iteration));
                Err(failure)
            }
        }
    });
    let mut outputs: Vec<(usize, Value)> = stream::iter(iterations)
        .buffer_unordered(max_concurrency.max(1))
        .try_collect()
        .await?;
    outputs.sort_by_key(|(index, _)| *index);
    Ok(Value::Array(outputs.into_iter().map(|(_, output)| output).collect()))
}
