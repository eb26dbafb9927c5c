//! The `ResultWriter`: a Distributed Map's child executions' results written to S3 (a file of
//! those that succeeded, one of those that failed, and a manifest listing them), and the
//! details of where, which become the Map's result.

use serde_json::{Map, Value, json};

use crate::definition::ResultWriter;
use crate::error::{Failure, names};
use crate::interpreter::map::s3;
use crate::interpreter::run::{Here, Run};
use crate::path::Scope;
use crate::payload;

/// Writes the child executions' results as `ResultWriter` does and returns its details.
pub(crate) async fn write_results(
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
    let mut files = Map::new();
    for (status, file, wanted) in [
        ("SUCCEEDED", "SUCCEEDED_0.json", true),
        ("FAILED", "FAILED_0.json", false),
    ] {
        let entries: Vec<Value> = results
            .iter()
            .filter(|(_, _, outcome)| outcome.is_ok() == wanted)
            .map(|(index, input, outcome)| entry(run, map_run_arn, *index, input, outcome))
            .collect();
        let mut listed = Vec::new();
        if !entries.is_empty() {
            let body = Value::Array(entries).to_string();
            listed.push(json!({ "Key": key(file), "Size": body.len() }));
            let put = json!({ "Bucket": bucket, "Key": key(file), "Body": body });
            s3::call(run, here, &writer.resource, put)
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
    s3::call(run, here, &writer.resource, put)
        .await
        .map_err(writer_failed)?;
    Ok(json!({
        "MapRunArn": map_run_arn,
        "ResultWriterDetails": { "Bucket": bucket, "Key": key("manifest.json") },
    }))
}

/// One child execution in a result file, as `DescribeExecution` describes it.
fn entry(run: &Run<'_>, map_run_arn: &str, index: usize, input: &Value, outcome: &Result<Value, Failure>) -> Value {
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
}
