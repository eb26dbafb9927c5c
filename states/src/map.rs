//! The Map state: inline (items from the state, at most [`INLINE_LIMIT`] iterations at once) and
//! distributed (items from S3 through `ItemReader`, batching, tolerated failures and results
//! written to S3 through `ResultWriter`).

use futures_util::stream::{self, StreamExt, TryStreamExt};
use serde_json::{Map, Value, json};

use crate::context::ExecutionContext;
use crate::definition::{ItemBatcher, ItemReader, MapState, ResultWriter};
use crate::error::{Failure, names};
use crate::history::History;
use crate::integration::{Caller, Resource, TaskRequest};
use crate::interpreter::{Here, Run, input_path, output_path, result_path, result_selector, seconds};
use crate::path::{self, Scope};
use crate::payload;

/// Iterations an inline Map runs at once when `MaxConcurrency` is 0, as AWS does.
pub const INLINE_LIMIT: usize = 40;
/// Child executions a distributed Map runs at once when `MaxConcurrency` is 0 (AWS: 10,000).
pub const DISTRIBUTED_LIMIT: usize = 1000;

/// One attempt of a Map state.
pub(crate) async fn run(
    run: &Run<'_>,
    here: &Here<'_>,
    map: &MapState,
    input: &Value,
    last: &mut u64,
) -> Result<Value, Failure> {
    let state = here.state;
    let processor = map
        .processor()
        .ok_or_else(|| Failure::runtime(format!("the Map state {:?} has no ItemProcessor", here.name)))?;
    let context = run.context(here, None, None);
    let effective = input_path(state, input, &context)?;
    let scope = Scope::new(&effective, &context);
    let items = match &map.item_reader {
        Some(reader) => read_items(run, here, reader, scope).await?,
        None => {
            let items = match &map.items_path {
                Some(path) => path::read(path, scope)?,
                None => effective.clone(),
            };
            match items {
                Value::Array(items) => items,
                other => {
                    return Err(Failure::runtime(format!(
                        "the Map state {:?} needs an array to iterate over, got {other}",
                        here.name
                    )));
                }
            }
        }
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
        inputs = batch(inputs, batcher, scope)?;
    }
    let max_concurrency = match seconds(
        map.max_concurrency,
        map.max_concurrency_path.as_deref(),
        &effective,
        &context,
    )? {
        Some(0) | None if map.is_distributed() => DISTRIBUTED_LIMIT,
        Some(0) | None => INLINE_LIMIT,
        Some(n) => n as usize,
    };

    *last = run
        .history
        .record("MapStateStarted", *last, Some(json!({ "length": inputs.len() })));
    let started = *last;
    let outcome = if map.is_distributed() {
        distributed(run, here, map, processor, inputs, max_concurrency, scope).await
    } else {
        inline(run, here, processor, inputs, max_concurrency, started).await
    };
    let last_id = run.history.last_id().max(started);
    match outcome {
        Ok(results) => {
            *last = run.history.record("MapStateSucceeded", last_id, None);
            let selected = result_selector(state, results, &context)?;
            output_path(state, result_path(state, input.clone(), selected)?, &context)
        }
        Err(failure) => {
            let details = json!({ "error": failure.error, "cause": failure.cause });
            *last = run.history.record("MapStateFailed", last_id, Some(details));
            Err(failure)
        }
    }
}

/// Inline iterations, in this execution's history; the first failure fails the Map and stops
/// the iterations still running.
async fn inline(
    run: &Run<'_>,
    here: &Here<'_>,
    processor: &crate::definition::Machine,
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

/// Distributed iterations: child executions with their own histories, failures tolerated up to
/// the state's thresholds, results written to S3 when a ResultWriter is set.
async fn distributed(
    run: &Run<'_>,
    here: &Here<'_>,
    map: &MapState,
    processor: &crate::definition::Machine,
    inputs: Vec<Value>,
    max_concurrency: usize,
    scope: Scope<'_>,
) -> Result<Value, Failure> {
    let map_run_arn = format!(
        "{}/{}:{}",
        run.execution.state_machine["Id"]
            .as_str()
            .unwrap_or_default()
            .replacen(":stateMachine:", ":mapRun:", 1),
        map.label.as_deref().unwrap_or(here.name),
        uuid::Uuid::new_v4().hyphenated()
    );
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
        // Each child is an execution of its own: its own name, ARN, input and history.
        let child = Run {
            interpreter: run.interpreter,
            history: History::new(None),
            execution: child_execution(run, map_run, &input),
        };
        let mut last = 0;
        let outcome = child.run_machine(processor, input.clone(), &mut last).await;
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
    let context = json!({});
    let tolerated_count = seconds(
        map.tolerated_failure_count,
        map.tolerated_failure_count_path.as_deref(),
        scope.input,
        &context,
    )?;
    let tolerated_percentage = match &map.tolerated_failure_percentage_path {
        Some(path) => path::read(path, scope)?.as_f64(),
        None => map.tolerated_failure_percentage,
    };
    // Exceeding either threshold fails the Map; with neither set, any failure does.
    let over_count = tolerated_count.is_some_and(|count| failed as u64 > count);
    let over_percentage =
        tolerated_percentage.is_some_and(|percent| total > 0 && failed as f64 * 100.0 / total as f64 > percent);
    let exceeded = if tolerated_count.is_none() && tolerated_percentage.is_none() {
        failed > 0
    } else {
        over_count || over_percentage
    };
    let last = run.history.last_id();
    if exceeded {
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
        Some(writer) => write_results(run, here, writer, &map_run_arn, &results, scope).await,
        None => Ok(Value::Array(
            results
                .into_iter()
                .map(|(_, _, outcome)| outcome.unwrap_or_else(|f| f.to_output()))
                .collect(),
        )),
    }
}

/// The context of a distributed Map's child execution: an execution of the Map's own state
/// machine (`<state machine>/<label>`), named by a UUID, whose input is its item or batch.
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

/// Groups items into batches of `{"BatchInput": …, "Items": […]}`.
fn batch(inputs: Vec<Value>, batcher: &ItemBatcher, scope: Scope<'_>) -> Result<Vec<Value>, Failure> {
    let max_items = seconds(
        batcher.max_items_per_batch,
        batcher.max_items_per_batch_path.as_deref(),
        scope.input,
        scope.context,
    )?;
    let max_bytes = seconds(
        batcher.max_input_bytes_per_batch,
        batcher.max_input_bytes_per_batch_path.as_deref(),
        scope.input,
        scope.context,
    )?
    .unwrap_or(256 * 1024);
    let batch_input = match &batcher.batch_input {
        Some(template) => Some(payload::evaluate(template, scope)?),
        None => None,
    };
    let wrap = |items: Vec<Value>| {
        let mut batch = Map::new();
        if let Some(input) = &batch_input {
            batch.insert("BatchInput".into(), input.clone());
        }
        batch.insert("Items".into(), Value::Array(items));
        Value::Object(batch)
    };
    let mut batches = Vec::new();
    let (mut current, mut bytes) = (Vec::new(), 0u64);
    for item in inputs {
        let size = item.to_string().len() as u64;
        let full_by_count = max_items.is_some_and(|max| current.len() as u64 >= max);
        if !current.is_empty() && (full_by_count || bytes + size > max_bytes) {
            batches.push(wrap(std::mem::take(&mut current)));
            bytes = 0;
        }
        bytes += size;
        current.push(item);
    }
    if !current.is_empty() {
        batches.push(wrap(current));
    }
    Ok(batches)
}

/// Calls the S3 integration the way an ItemReader or ResultWriter does.
async fn call_s3(run: &Run<'_>, here: &Here<'_>, resource: &str, parameters: Value) -> Result<Value, Failure> {
    let resource = Resource::parse(resource)?;
    let integration = run.interpreter.integrations.find(&resource)?;
    integration
        .call(TaskRequest {
            resource,
            parameters,
            token: None,
            caller: Caller {
                execution_name: run.execution.execution["Name"].as_str().unwrap_or_default().to_owned(),
                execution_arn: run.execution.execution["Id"].as_str().unwrap_or_default().to_owned(),
                state_name: here.name.to_owned(),
                retry_count: here.retry_count,
            },
        })
        .await
}

/// Reads the items of a distributed Map from a CSV or JSON object (`s3:getObject`).
async fn read_items(
    run: &Run<'_>,
    here: &Here<'_>,
    reader: &ItemReader,
    scope: Scope<'_>,
) -> Result<Vec<Value>, Failure> {
    let reader_failed = |cause: String| Failure::new(names::ITEM_READER_FAILED, cause);
    let parameters = match &reader.parameters {
        Some(template) => payload::evaluate(template, scope)?,
        None => json!({}),
    };
    let object = call_s3(run, here, &reader.resource, parameters)
        .await
        .map_err(|f| reader_failed(format!("reading the items failed: {f}")))?;
    let body = object["Body"]
        .as_str()
        .ok_or_else(|| reader_failed("the object has no Body".into()))?;
    let config = &reader.reader_config;
    let mut items = match config.input_type.as_deref().unwrap_or("JSON") {
        "JSON" => match serde_json::from_str(body) {
            Ok(Value::Array(items)) => items,
            Ok(_) => return Err(reader_failed("a JSON item source must hold an array".into())),
            Err(e) => return Err(reader_failed(format!("the item source is not valid JSON: {e}"))),
        },
        "CSV" => csv_items(
            body,
            config.csv_header_location.as_deref(),
            config.csv_headers.as_deref(),
        )
        .map_err(reader_failed)?,
        other => return Err(reader_failed(format!("InputType {other:?} is not supported"))),
    };
    let max_items = seconds(
        config.max_items,
        config.max_items_path.as_deref(),
        scope.input,
        scope.context,
    )?;
    if let Some(max) = max_items.filter(|max| *max > 0) {
        items.truncate(max as usize);
    }
    Ok(items)
}

/// CSV rows as objects keyed by the header (the first row, or the given headers).
fn csv_items(body: &str, header_location: Option<&str>, given: Option<&[String]>) -> Result<Vec<Value>, String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(body.as_bytes());
    let mut rows = reader.records();
    let headers: Vec<String> = match header_location.unwrap_or("FIRST_ROW") {
        "GIVEN" => given.ok_or("CSVHeaderLocation GIVEN needs CSVHeaders")?.to_vec(),
        _ => match rows.next() {
            Some(row) => row.map_err(|e| e.to_string())?.iter().map(str::to_owned).collect(),
            None => return Ok(Vec::new()),
        },
    };
    rows.map(|row| {
        let row = row.map_err(|e| e.to_string())?;
        if row.len() != headers.len() {
            return Err(format!(
                "CSV row {} has {} fields, the header has {}",
                row.position().map_or(0, |p| p.line()),
                row.len(),
                headers.len()
            ));
        }
        Ok(Value::Object(
            headers
                .iter()
                .cloned()
                .zip(row.iter().map(|f| Value::String(f.to_owned())))
                .collect(),
        ))
    })
    .collect()
}

/// Writes the child executions' results as `ResultWriter` does and returns its details.
async fn write_results(
    run: &Run<'_>,
    here: &Here<'_>,
    writer: &ResultWriter,
    map_run_arn: &str,
    results: &[(usize, Value, Result<Value, Failure>)],
    scope: Scope<'_>,
) -> Result<Value, Failure> {
    let writer_failed = |f: Failure| Failure::new(names::RESULT_WRITER_FAILED, f.to_string());
    let parameters = match &writer.parameters {
        Some(template) => payload::evaluate(template, scope)?,
        None => json!({}),
    };
    let bucket = parameters["Bucket"].as_str().unwrap_or_default().to_owned();
    let prefix = parameters["Prefix"]
        .as_str()
        .unwrap_or_default()
        .trim_end_matches('/')
        .to_owned();
    let run_id = map_run_arn.rsplit(':').next().unwrap_or_default();
    let key = |file: &str| format!("{prefix}/{run_id}/{file}").trim_start_matches('/').to_owned();
    let entry = |index: &usize, input: &Value, outcome: &Result<Value, Failure>| {
        let mut entry = json!({
            "ExecutionArn": format!("{}:{index}", map_run_arn.replacen(":mapRun:", ":execution:", 1)),
            "Input": input.to_string(),
            "Name": index.to_string(),
            "StateMachineArn": run.execution.state_machine["Id"],
        });
        match outcome {
            Ok(output) => {
                entry["Status"] = json!("SUCCEEDED");
                entry["Output"] = json!(output.to_string());
            }
            Err(failure) => {
                entry["Status"] = json!("FAILED");
                entry["Error"] = json!(failure.error);
                entry["Cause"] = json!(failure.cause);
            }
        }
        entry
    };
    let mut files = Map::new();
    for (status, file, wanted) in [
        ("SUCCEEDED", "SUCCEEDED_0.json", true),
        ("FAILED", "FAILED_0.json", false),
    ] {
        let entries: Vec<Value> = results
            .iter()
            .filter(|(_, _, outcome)| outcome.is_ok() == wanted)
            .map(|(index, input, outcome)| entry(index, input, outcome))
            .collect();
        let mut listed = Vec::new();
        if !entries.is_empty() {
            let body = Value::Array(entries).to_string();
            listed.push(json!({ "Key": key(file), "Size": body.len() }));
            let put = json!({ "Bucket": bucket, "Key": key(file), "Body": body });
            call_s3(run, here, "arn:aws:states:::s3:putObject", put)
                .await
                .map_err(writer_failed)?;
        }
        files.insert(status.into(), Value::Array(listed));
    }
    files.insert("PENDING".into(), json!([]));
    let manifest = json!({
        "DestinationBucket": bucket,
        "MapRunArn": map_run_arn,
        "ResultFiles": files,
    });
    let put = json!({ "Bucket": bucket, "Key": key("manifest.json"), "Body": manifest.to_string() });
    call_s3(run, here, "arn:aws:states:::s3:putObject", put)
        .await
        .map_err(writer_failed)?;
    Ok(json!({
        "MapRunArn": map_run_arn,
        "ResultWriterDetails": { "Bucket": bucket, "Key": key("manifest.json") },
    }))
}
