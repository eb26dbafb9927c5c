//! The Map state: its items (from the state, or from S3 through an `ItemReader`), each shaped
//! by the `ItemSelector` and perhaps batched, run through the item processor inline or as child
//! executions, their results collected.

mod batch;
mod distributed;
mod inline;
mod reader;
mod s3;
mod writer;

use serde_json::{Value, json};

use crate::definition::MapState;
use crate::error::Failure;
use crate::interpreter::io;
use crate::interpreter::run::{Here, Run};
use crate::limits::{DISTRIBUTED_MAP_PARALLELISM, INLINE_MAP_PARALLELISM};
use crate::path::{self, Scope};
use crate::payload;

/// One attempt of a Map state.
pub(crate) async fn attempt(
    run: &Run<'_>,
    here: &Here<'_>,
    map: &MapState,
    input: &Value,
    last: &mut u64,
) -> Result<Value, Failure> {
    let state = here.state;
    let context = run.context(here, None, None);
    let effective = io::input_path(state, input, &context)?;
    let scope = Scope::new(&effective, &context);
    let items = match &map.item_reader {
        Some(reader) => reader::read_items(run, here, reader, scope).await?,
        None => items_at_path(here, map, scope)?,
    };
    // ItemSelector (or its older name, Parameters) shapes each item, with `$$.Map.Item` in scope.
    let selector = map.item_selector.as_ref().or(state.common.parameters.as_ref());
    let mut inputs = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        inputs.push(match selector {
            Some(template) => {
                let context = run.context(here, None, Some((index, item)));
                payload::evaluate(template, Scope::new(&effective, &context))?
            }
            None => item.clone(),
        });
    }
    if let Some(batcher) = &map.item_batcher {
        inputs = batch::batch(inputs, batcher, scope)?;
    }
    // 0 or unset runs as many at once as the service does: 40 iterations inline, and 10,000
    // child executions distributed (AWS: "up to 10,000 parallel child workflow executions"). The
    // interpreter models the service, so a definition runs here with the parallelism it gets
    // there; a definition that wants fewer says so.
    let max_concurrency = match io::integer(map.max_concurrency, map.max_concurrency_path.as_deref(), scope)? {
        Some(0) | None if map.is_distributed() => DISTRIBUTED_MAP_PARALLELISM,
        Some(0) | None => INLINE_MAP_PARALLELISM,
        Some(n) => n,
    } as usize;

    *last = run
        .history
        .record("MapStateStarted", *last, Some(json!({ "length": inputs.len() })));
    let started = *last;
    let outcome = if map.is_distributed() {
        distributed::child_executions(run, here, map, inputs, max_concurrency, scope).await
    } else {
        inline::iterations(run, here, &map.item_processor, inputs, max_concurrency, started).await
    };
    let last_id = run.history.last_id().max(started);
    match outcome {
        Ok(results) => {
            *last = run.history.record("MapStateSucceeded", last_id, None);
            io::state_output(state, input, results, &context)
        }
        Err(failure) => {
            let details = json!({ "error": failure.error, "cause": failure.cause });
            *last = run.history.record("MapStateFailed", last_id, Some(details));
            Err(failure)
        }
    }
}

/// The array at `ItemsPath`, the effective input by default.
fn items_at_path(here: &Here<'_>, map: &MapState, scope: Scope<'_>) -> Result<Vec<Value>, Failure> {
    let items = match &map.items_path {
        Some(path) => path::read(path, scope)?,
        None => scope.input.clone(),
    };
    match items {
        Value::Array(items) => Ok(items),
        other => Err(Failure::runtime(format!(
            "the Map state {:?} needs an array to iterate over, got {other}",
            here.name
        ))),
    }
}
