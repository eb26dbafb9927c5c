//! A Distributed Map's iterations: child executions, each with its own history, failures
//! tolerated up to the state's thresholds, results written to S3 when a ResultWriter is set.

use futures_util::stream::{self, StreamExt};
use serde_json::{Value, json};

use crate::context::ExecutionContext;
use crate::definition::MapState;
use crate::error::{Failure, names};
use crate::interpreter::io;
use crate::interpreter::map::writer;
use crate::interpreter::run::{Here, Nested, Run};
use crate::path::{self, Scope};

/// Runs the Map's processor as a child execution per input, at most `max_concurrency` at once.
pub(crate) async fn child_executions(
    run: &Run<'_>,
    here: &Here<'_>,
    map: &MapState,
    inputs: Vec<Value>,
    max_concurrency: usize,
    scope: Scope<'_>,
) -> Result<Value, Failure> {
    let map_run_arn = map_run_arn(run, here, map);
    let last = run.history.last_id();
    run.history
        .record("MapRunStarted", last, Some(json!({ "mapRunArn": map_run_arn })));
    // Failures are counted in items, whether or not they were batched.
    let items_in = |input: &Value| input.get("Items").and_then(Value::as_array).map_or(1, Vec::len);
    let batched = map.item_batcher.is_some();
    let total: usize = if batched {
        inputs.iter().map(items_in).sum()
    } else {
        inputs.len()
    };
    let map_run = map_run_arn.as_str();
    let children = inputs.into_iter().enumerate().map(|(index, input)| async move {
        let child = run.child(child_execution(run, map_run, &input));
        let mut last = 0;
        let outcome = child.run_machine(&map.item_processor, input.clone(), &mut last).await;
        (index, input, outcome)
    });
    let mut results: Vec<(usize, Value, Result<Value, Failure>)> = stream::iter(children)
        .buffer_unordered(max_concurrency.max(1))
        .collect()
        .await;
    results.sort_by_key(|(index, _, _)| *index);

    let failed: usize = results
        .iter()
        .filter(|(_, _, outcome)| outcome.is_err())
        .map(|(_, input, _)| if batched { items_in(input) } else { 1 })
        .sum();
    let last = run.history.last_id();
    if tolerance_exceeded(map, failed, total, scope)? {
        run.history.record(
            "MapRunFailed",
            last,
            Some(json!({ "error": names::EXCEED_TOLERATED_FAILURE_THRESHOLD })),
        );
        let first = results
            .iter()
            .find_map(|(_, _, o)| o.as_ref().err())
            .expect("a failure");
        return Err(Failure::new(
            names::EXCEED_TOLERATED_FAILURE_THRESHOLD,
            format!("{failed} of {total} iterations failed, more than tolerated; the first: {first}"),
        ));
    }
    run.history.record("MapRunSucceeded", last, None);
    match &map.result_writer {
        Some(result_writer) => writer::write_results(run, here, result_writer, &map_run_arn, &results, scope).await,
        None => Ok(Value::Array(
            results
                .into_iter()
                .map(|(_, _, outcome)| outcome.unwrap_or_else(|f| f.to_output()))
                .collect(),
        )),
    }
}

/// Whether `failed` of `total` items fail the Map: exceeding either threshold does; with
/// neither set, any failure does.
fn tolerance_exceeded(map: &MapState, failed: usize, total: usize, scope: Scope<'_>) -> Result<bool, Failure> {
    // The count's path reads the effective input alone; the percentage's may read the context.
    let no_context = json!({});
    let tolerated_count = io::integer(
        map.tolerated_failure_count,
        map.tolerated_failure_count_path.as_deref(),
        Scope::new(scope.input, &no_context),
    )?;
    let tolerated_percentage = match &map.tolerated_failure_percentage_path {
        Some(path) => path::read(path, scope)?.as_f64(),
        None => map.tolerated_failure_percentage,
    };
    if tolerated_count.is_none() && tolerated_percentage.is_none() {
        return Ok(failed > 0);
    }
    let over_count = tolerated_count.is_some_and(|count| failed as u64 > count);
    let over_percentage =
        tolerated_percentage.is_some_and(|percent| total > 0 && failed as f64 * 100.0 / total as f64 > percent);
    Ok(over_count || over_percentage)
}

/// The Map Run's ARN, `…:mapRun:<state machine>/<label>:<id>`: the label is the state's name
/// unless the Map sets one, the id is new.
fn map_run_arn(run: &Run<'_>, here: &Here<'_>, map: &MapState) -> String {
    format!(
        "{}/{}:{}",
        run.execution.state_machine["Id"]
            .as_str()
            .unwrap_or_default()
            .replacen(":stateMachine:", ":mapRun:", 1),
        map.label.as_deref().unwrap_or(here.name),
        uuid::Uuid::new_v4().hyphenated()
    )
}

/// The context of a child execution: an execution of the Map's own state machine
/// (`<state machine>/<label>`), named by a UUID, whose input is its item or batch.
fn child_execution(run: &Run<'_>, map_run_arn: &str, input: &Value) -> ExecutionContext {
    let name = uuid::Uuid::new_v4().hyphenated().to_string();
    let state_machine = map_run_arn.replacen(":mapRun:", ":stateMachine:", 1);
    let state_machine = state_machine
        .rsplit_once(':')
        .map_or(state_machine.as_str(), |(machine, _)| machine);
    let execution_arn = format!("{}:{name}", map_run_arn.replacen(":mapRun:", ":execution:", 1));
    let role = run.execution.execution["RoleArn"].as_str().unwrap_or_default();
    ExecutionContext::new(&execution_arn, &name, input, state_machine, role)
}
