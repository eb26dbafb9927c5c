//! The pipeline's Step Functions state machine, in Amazon States Language.
//!
//! `CheckServiceAccount` → `Split` → `ListChunks` → `ChooseMapMode` → `ProcessChunks` (an inline
//! Map running one `process` Job per chunk) or, past [`INLINE_MAP_MAX_CHUNKS`],
//! `ProcessChunksDistributed` (a Distributed Map reading the chunk list split wrote to S3) →
//! `Merge`. The execution input is the S3 "Object Created" event EventBridge delivers, and the
//! run id is the execution's name. Every step's result is discarded (`ResultPath: null`) except
//! the chunk list and its count, so the state stays far below the 256 KiB limit however chatty
//! the Jobs' logs are and however many chunks there are.

use serde_json::{Value, json};

use crate::cluster::ClusterInfo;
use crate::contract::{self, Step};
use crate::manifest::job_manifest;
use crate::paths::{
    self, CHECK_FAILURE, CHUNK_FAILURE, EXECUTION_NAME, LIST_RESULT, MAP_ITEM_INDEX, MAP_ITEM_VALUE, item,
};
use crate::process_step::ProcessSpec;
use crate::record::RecordSpec;
use crate::refs::DeployedRefs;
use crate::scale::{INLINE_MAP_MAX_CHUNKS, INLINE_MAP_PARALLELISM, MapMode};
use crate::spec::PipelineSpec;

pub const CHECK_SERVICE_ACCOUNT: &str = "CheckServiceAccount";
pub const SERVICE_ACCOUNT_MISSING: &str = "ServiceAccountMissing";
/// With a work volume claim: the claim exists and is bound, or the run fails now.
pub const CHECK_WORK_VOLUME: &str = "CheckWorkVolume";
pub const IS_WORK_VOLUME_BOUND: &str = "IsWorkVolumeBound";
pub const WORK_VOLUME_MISSING: &str = "WorkVolumeMissing";
pub const WORK_VOLUME_NOT_BOUND: &str = "WorkVolumeNotBound";
pub const SPLIT: &str = "Split";
pub const LIST_CHUNKS: &str = "ListChunks";
pub const CHOOSE_MAP_MODE: &str = "ChooseMapMode";
pub const PROCESS_CHUNKS: &str = "ProcessChunks";
pub const PROCESS_CHUNKS_DISTRIBUTED: &str = "ProcessChunksDistributed";
pub const PROCESS_CHUNK: &str = "ProcessChunk";
/// The same step in the Distributed Map's item processor: state names are unique in the whole
/// state machine, nested Maps included.
pub const PROCESS_CHUNK_IN_CHILD: &str = "ProcessChunkInChild";
/// The Distributed Map's label: its child executions are named `<machine>/<label>:<id>`, which
/// the state machine's role is scoped to.
pub const DISTRIBUTED_MAP_LABEL: &str = "ProcessChunk";
pub const MERGE: &str = "Merge";

/// With a `process` block, a failed chunk goes to a Choice that tells lost rows from any other
/// failure, each ending in a Fail state of its own; the Distributed Map's copies have names of
/// their own, as [`PROCESS_CHUNK_IN_CHILD`] has.
pub const CHECK_ROWS_LOST: &str = "CheckRowsLost";
pub const ROWS_LOST: &str = "RowsLost";
pub const CHUNK_FAILED: &str = "ChunkFailed";
pub const CHECK_ROWS_LOST_IN_CHILD: &str = "CheckRowsLostInChild";
pub const ROWS_LOST_IN_CHILD: &str = "RowsLostInChild";
pub const CHUNK_FAILED_IN_CHILD: &str = "ChunkFailedInChild";

/// The error a run fails with when a user's step accounted for fewer (or more) rows than its
/// chunk holds: the runtime names it in the Job's failure, and the run fails with it as its
/// error, not as a Job's `States.TaskFailed`.
pub const ROWS_LOST_ERROR: &str = "eventdriven.RowsLost";

/// The error a run fails with, within seconds of the cluster's answer, when the Jobs' service
/// account (or its namespace) is missing or cannot be read: without it no Job pod is ever created, and the run would wait for
/// the Job's deadline.
pub const SERVICE_ACCOUNT_MISSING_ERROR: &str = "eventdriven.ServiceAccountMissing";

/// The error a run fails with, within seconds, when the Jobs' work volume claim is missing or
/// not bound: every Job would wait for its volume until its deadline.
pub const WORK_VOLUME_MISSING_ERROR: &str = "eventdriven.WorkVolumeMissing";

/// The service-account check: one call to the cluster's API.
const CHECK_TIMEOUT_SECONDS: i64 = 60;

/// What a Job task waits beyond its Job's deadline: `eks:runJob.sync` notices a failed Job
/// and fetches its logs within this margin. Its polling slows to about once every 5 minutes,
/// so the margin is two of those polls.
const JOB_TASK_MARGIN_SECONDS: i64 = 600;
/// The list-chunks task: the function's own timeout, plus a cold start.
const LIST_CHUNKS_TIMEOUT_SECONDS: i64 = contract::LIST_CHUNKS_FUNCTION_TIMEOUT_SECONDS as i64 + 30;

/// Log lines, and at most bytes, kept per container when a Job's logs are attached to its task
/// result: the logs count towards the 256 KiB task result limit even though the result is then
/// discarded. One container per Job, so a result stays far below the limit.
const LOG_TAIL_LINES: &str = "100";
pub const LOG_LIMIT_BYTES: &str = "32768";

/// The spec fields the definition embeds, by their attribute names: changing one of them changes
/// the definition (a test checks this against every field), and no other field does.
pub const INPUTS: [&str; 18] = [
    "name",
    "keep_work",
    "architecture",
    "step_timeout_seconds",
    "bucket_name",
    "namespace",
    "service_account",
    "job_image",
    "max_lines_per_batch",
    "max_concurrency",
    "dynamodb_write_capacity",
    "table_warm_write_units",
    "output_prefix",
    "work_volume_mount",
    "work_volume_claim",
    "record",
    "table",
    "process",
];

/// The spec settings a rendered definition embeds, read back (as `terraform import` does).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EmbeddedSettings {
    pub cluster_name: Option<String>,
    pub namespace: Option<String>,
    pub service_account: Option<String>,
    pub job_image: Option<String>,
    /// The claim the Jobs mount (`PipelineSpec::set_mounted_claim` takes it); `None` for NFS.
    pub mounted_claim: Option<String>,
    pub max_lines_per_batch: Option<i64>,
    pub max_concurrency: Option<i64>,
    pub step_timeout_seconds: Option<i64>,
    pub output_prefix: Option<String>,
    /// Whether merge keeps the chunks: its Job has the setting only then.
    pub keep_work: bool,
    /// The declared records: the Jobs have the setting only when a `record` block was given.
    pub record: Option<RecordSpec>,
    /// Whether there is a table: the process Job has its URL only then.
    pub table: bool,
    /// The `process` block, read from the user's container of the process Job.
    pub process: Option<ProcessSpec>,
}

/// Reads back what [`state_machine_definition`] embedded, from where it put it; a setting not
/// found (a definition edited by hand) is `None`.
pub fn embedded_settings(definition: &Value) -> EmbeddedSettings {
    let text = |pointer: &str| definition.pointer(pointer).and_then(Value::as_str).map(str::to_owned);
    let pod = |state: &str| format!("/States/{state}/Parameters/Job/spec/template/spec");
    let split_pod = pod(SPLIT);
    let env = |state: &str, name: &str| -> Option<&Value> {
        let entries = definition.pointer(&format!("{}/containers/0/env", pod(state)))?;
        entries.as_array()?.iter().find(|e| e["name"] == name)
    };
    let output_url = env(MERGE, contract::OUTPUT_URL).and_then(|e| e[paths::dynamic("value")].as_str());
    let process_pod = definition.pointer(&format!(
        "/States/{PROCESS_CHUNKS}/ItemProcessor/States/{PROCESS_CHUNK}/Parameters/Job/spec/template/spec"
    ));
    EmbeddedSettings {
        cluster_name: text(&format!("/States/{SPLIT}/Parameters/ClusterName")),
        namespace: text(&format!("/States/{SPLIT}/Parameters/Namespace")),
        service_account: text(&format!("{split_pod}/serviceAccountName")),
        job_image: text(&format!("{split_pod}/containers/0/image")),
        mounted_claim: text(&format!("{split_pod}/volumes/0/persistentVolumeClaim/claimName")),
        max_lines_per_batch: env(SPLIT, contract::MAX_LINES_PER_BATCH).and_then(|e| e["value"].as_str()?.parse().ok()),
        max_concurrency: definition
            .pointer(&format!("/States/{PROCESS_CHUNKS}/MaxConcurrency"))
            .and_then(Value::as_i64),
        step_timeout_seconds: definition
            .pointer(&format!("/States/{SPLIT}/Parameters/Job/spec/activeDeadlineSeconds"))
            .and_then(Value::as_i64),
        output_prefix: output_url.and_then(crate::env::output_prefix_of),
        keep_work: env(MERGE, contract::KEEP_WORK).is_some(),
        record: env(SPLIT, contract::RECORD)
            .and_then(|e| e["value"].as_str())
            .and_then(|json| serde_json::from_str(json).ok()),
        table: process_pod
            .and_then(|pod| pod["containers"][0]["env"].as_array())
            .is_some_and(|env| env.iter().any(|e| e["name"] == contract::TABLE_URL)),
        process: process_pod.and_then(ProcessSpec::from_pod_spec),
    }
}

pub fn state_machine_definition(spec: &PipelineSpec, cluster: &ClusterInfo, refs: &DeployedRefs) -> Value {
    let claim = spec.mounted_claim();
    let after_service_account = if claim.is_some() { CHECK_WORK_VOLUME } else { SPLIT };
    let mut definition = json!({
        "Comment": format!(
            "eventdriven pipeline {}: split the input, process every chunk, merge the results",
            spec.name
        ),
        "StartAt": CHECK_SERVICE_ACCOUNT,
        "States": {
            CHECK_SERVICE_ACCOUNT: next(check_service_account(spec, cluster, refs), after_service_account),
            SERVICE_ACCOUNT_MISSING: service_account_missing(spec),
            SPLIT: next(run_job(Step::Split, spec, cluster, refs), LIST_CHUNKS),
            LIST_CHUNKS: next(list_chunks(refs), CHOOSE_MAP_MODE),
            CHOOSE_MAP_MODE: choose_map_mode(),
            PROCESS_CHUNKS: next(process_chunks(MapMode::Inline, spec, cluster, refs), MERGE),
            PROCESS_CHUNKS_DISTRIBUTED: next(process_chunks(MapMode::Distributed, spec, cluster, refs), MERGE),
            MERGE: end(run_job(Step::Merge, spec, cluster, refs)),
        },
    });
    if let Some(claim) = claim {
        let states = definition["States"].as_object_mut().expect("states are an object");
        states.insert(CHECK_WORK_VOLUME.into(), check_work_volume(spec, &claim, cluster, refs));
        states.insert(IS_WORK_VOLUME_BOUND.into(), is_work_volume_bound());
        states.insert(WORK_VOLUME_MISSING.into(), work_volume_missing(spec, &claim));
        states.insert(WORK_VOLUME_NOT_BOUND.into(), work_volume_not_bound(spec, &claim));
    }
    definition
}

fn next(mut state: Value, target: &str) -> Value {
    state["Next"] = json!(target);
    state
}

fn end(mut state: Value) -> Value {
    state["End"] = json!(true);
    state
}

/// An optimized integration's ARN, e.g. `arn:aws:states:::lambda:invoke`.
fn integration(refs: &DeployedRefs, api: &str) -> String {
    format!("arn:{}:states:::{api}", refs.partition)
}

/// Where an `eks:` task reaches the cluster's API.
fn cluster_parameters(cluster: &ClusterInfo) -> Value {
    json!({
        "ClusterName": cluster.name,
        "CertificateAuthority": cluster.certificate_authority,
        "Endpoint": cluster.endpoint,
    })
}

/// Reads the Jobs' service account from the cluster's API before anything runs: a missing one
/// (or a missing namespace) fails the run at once with [`SERVICE_ACCOUNT_MISSING_ERROR`].
fn check_service_account(spec: &PipelineSpec, cluster: &ClusterInfo, refs: &DeployedRefs) -> Value {
    let mut check = cluster_read(&service_account_path(spec), SERVICE_ACCOUNT_MISSING, cluster, refs);
    check["ResultPath"] = Value::Null;
    check
}

/// A Task reading one object from the cluster's API (`eks:call` GET). A brief network failure
/// is retried; a missing object goes, within ~6 s, to `missing` with the cluster's answer at
/// [`CHECK_FAILURE`].
fn cluster_read(path: &str, missing: &str, cluster: &ClusterInfo, refs: &DeployedRefs) -> Value {
    let mut parameters = cluster_parameters(cluster);
    parameters["Method"] = json!("GET");
    parameters["Path"] = json!(path);
    json!({
        "Type": "Task",
        "Resource": integration(refs, "eks:call"),
        "Parameters": parameters,
        "TimeoutSeconds": CHECK_TIMEOUT_SECONDS,
        "Retry": [{
            "ErrorEquals": ["States.TaskFailed"],
            "IntervalSeconds": 2,
            "MaxAttempts": 2,
            "BackoffRate": 2.0,
        }],
        "Catch": [{
            "ErrorEquals": ["States.ALL"],
            "ResultPath": CHECK_FAILURE,
            "Next": missing,
        }],
    })
}

/// A Fail state with `error`, whose cause is `cause` followed by the cluster's answer.
fn fail_with_cluster_answer(error: &str, cause: &str) -> Value {
    json!({
        "Type": "Fail",
        "Error": error,
        "CausePath": paths::format(&format!("{}{{}}", paths::literal(cause)), &[&format!("{CHECK_FAILURE}.Cause")]),
    })
}

/// The Kubernetes API path of the Jobs' service account.
pub fn service_account_path(spec: &PipelineSpec) -> String {
    format!(
        "/api/v1/namespaces/{}/serviceaccounts/{}",
        spec.namespace, spec.service_account
    )
}

/// Fails the run naming what is missing and how to provide it, with the cluster's answer.
fn service_account_missing(spec: &PipelineSpec) -> Value {
    let cause = format!(
        "the Jobs run as service account {} in namespace {}, which the cluster could not show the \
         pipeline: create the namespace and the service account (the terraform/cluster-prerequisites \
         module does), and check that the state machine's access entry exists. The cluster answered: ",
        spec.service_account, spec.namespace
    );
    fail_with_cluster_answer(SERVICE_ACCOUNT_MISSING_ERROR, &cause)
}

/// Reads the Jobs' work volume claim: a missing one fails the run at once with
/// [`WORK_VOLUME_MISSING_ERROR`]; its phase goes to [`IS_WORK_VOLUME_BOUND`].
fn check_work_volume(spec: &PipelineSpec, claim: &str, cluster: &ClusterInfo, refs: &DeployedRefs) -> Value {
    let path = format!("/api/v1/namespaces/{}/persistentvolumeclaims/{claim}", spec.namespace);
    let mut check = cluster_read(&path, WORK_VOLUME_MISSING, cluster, refs);
    check["ResultSelector"] = json!({ "phase.$": "$.ResponseBody.status.phase" });
    check["ResultPath"] = json!(CHECK_FAILURE);
    check["Next"] = json!(IS_WORK_VOLUME_BOUND);
    check
}

fn is_work_volume_bound() -> Value {
    json!({
        "Type": "Choice",
        "Choices": [{
            "Variable": format!("{CHECK_FAILURE}.phase"),
            "StringEquals": "Bound",
            "Next": SPLIT,
        }],
        "Default": WORK_VOLUME_NOT_BOUND,
    })
}

/// What a run needs of the claim, and where it comes from.
fn work_volume_fix(spec: &PipelineSpec, claim: &str) -> String {
    format!(
        "the Jobs mount their work directory from PersistentVolumeClaim {claim} in namespace {}, bound to \
         the pipeline's EFS access point: create it with the terraform/work-volume module (and the EFS CSI \
         driver with terraform/cluster-prerequisites), or set work_volume_mount = \"nfs\"",
        spec.namespace
    )
}

fn work_volume_missing(spec: &PipelineSpec, claim: &str) -> Value {
    let cause = format!("{}. The cluster answered: ", work_volume_fix(spec, claim));
    fail_with_cluster_answer(WORK_VOLUME_MISSING_ERROR, &cause)
}

fn work_volume_not_bound(spec: &PipelineSpec, claim: &str) -> Value {
    json!({
        "Type": "Fail",
        "Error": WORK_VOLUME_MISSING_ERROR,
        "Cause": format!("the claim is not bound to a volume; {}", work_volume_fix(spec, claim)),
    })
}

/// Runs `step` as a Job and waits for it. A failed Job is not retried here: its pods are, by
/// Kubernetes (`backoffLimit`), all within the Job's one deadline. A Job that reached its
/// deadline was most often stuck (a pod that cannot mount its volume waits in
/// ContainerCreating), and retrying it would only wait the deadline again; a redrive runs it
/// again once the cause is fixed, which is safe because every runtime step is idempotent.
fn run_job(step: Step, spec: &PipelineSpec, cluster: &ClusterInfo, refs: &DeployedRefs) -> Value {
    let mut parameters = cluster_parameters(cluster);
    parameters["Namespace"] = json!(spec.namespace);
    parameters["LogOptions"] = json!({
        "RetrieveLogs": true,
        "RawLogs": true,
        "LogParameters": { "tailLines": [LOG_TAIL_LINES], "limitBytes": [LOG_LIMIT_BYTES] },
    });
    parameters["Job"] = job_manifest(step, spec, refs);
    json!({
        "Type": "Task",
        "Resource": integration(refs, "eks:runJob.sync"),
        "Parameters": parameters,
        "ResultPath": null,
        "TimeoutSeconds": spec.step_timeout_seconds + JOB_TASK_MARGIN_SECONDS,
    })
}

/// Asks the Lambda for the run's chunks and their count, and keeps only them, at [`LIST_RESULT`].
fn list_chunks(refs: &DeployedRefs) -> Value {
    let (chunks, count) = (contract::LIST_CHUNKS_CHUNKS_FIELD, contract::LIST_CHUNKS_COUNT_FIELD);
    json!({
        "Type": "Task",
        "Resource": integration(refs, "lambda:invoke"),
        "Parameters": {
            "FunctionName": refs.lambda_function_arn,
            "Payload": { (paths::dynamic(contract::LIST_CHUNKS_RUN_ID_FIELD)): EXECUTION_NAME },
        },
        "ResultSelector": {
            (paths::dynamic(chunks)): format!("$.Payload.{chunks}"),
            (paths::dynamic(count)): format!("$.Payload.{count}"),
        },
        "ResultPath": LIST_RESULT,
        "TimeoutSeconds": LIST_CHUNKS_TIMEOUT_SECONDS,
        "Retry": [{
            // The service's transient errors, and the function failing to start: it reads its
            // token from Secrets Manager first, which a cold network path can fail.
            "ErrorEquals": [
                "Lambda.ServiceException",
                "Lambda.AWSLambdaException",
                "Lambda.SdkClientException",
                "Lambda.TooManyRequestsException",
                "Runtime.ExitError",
            ],
            "IntervalSeconds": 2,
            "MaxAttempts": 6,
            "BackoffRate": 2.0,
        }],
    })
}

/// More chunks than an inline Map takes go to the Distributed Map.
fn choose_map_mode() -> Value {
    json!({
        "Type": "Choice",
        "Choices": [{
            "Variable": paths::chunk_count(),
            "NumericGreaterThan": INLINE_MAP_MAX_CHUNKS,
            "Next": PROCESS_CHUNKS_DISTRIBUTED,
        }],
        "Default": PROCESS_CHUNKS,
    })
}

/// The Distributed Map's MaxConcurrency. Unbounded, it would start up to 10,000 Jobs at once
/// where the inline Map starts about 40: pods beyond the cluster's capacity would wait out
/// their deadline. So `0` keeps the inline Map's parallelism; a set value is taken as it is.
pub fn distributed_concurrency(max_concurrency: i64) -> i64 {
    match max_concurrency {
        0 => INLINE_MAP_PARALLELISM as i64,
        n => n,
    }
}

/// One `process` Job per chunk, at most `max_concurrency` at a time (0: no limit inline, about
/// 40 on AWS; see [`distributed_concurrency`]).
///
/// Each iteration sees only what the ItemSelector hands it ([`item::ALL`]). Iterations output
/// nothing, so the Map's collected result stays small however many chunks there are. Inline,
/// the items are the Lambda's list; distributed, they are read from the chunk list in S3, each
/// runs as a Standard child execution, no failure is tolerated, and the children's results go
/// to S3 rather than into the state.
fn process_chunks(mode: MapMode, spec: &PipelineSpec, cluster: &ClusterInfo, refs: &DeployedRefs) -> Value {
    let mut process = end(run_job(Step::Process, spec, cluster, refs));
    process["OutputPath"] = Value::Null;
    let (step_name, check, rows_lost, failed) = match mode {
        MapMode::Inline => (PROCESS_CHUNK, CHECK_ROWS_LOST, ROWS_LOST, CHUNK_FAILED),
        MapMode::Distributed => (
            PROCESS_CHUNK_IN_CHILD,
            CHECK_ROWS_LOST_IN_CHILD,
            ROWS_LOST_IN_CHILD,
            CHUNK_FAILED_IN_CHILD,
        ),
    };
    let mut states = serde_json::Map::new();
    if spec.process.is_some() {
        process["Catch"] = json!([{ "ErrorEquals": ["States.ALL"], "ResultPath": CHUNK_FAILURE, "Next": check }]);
        states.insert(check.to_owned(), rows_lost_choice(rows_lost, failed));
        states.insert(rows_lost.to_owned(), fail_with(json!(ROWS_LOST_ERROR)));
        states.insert(failed.to_owned(), fail_with(json!(null)));
    }
    states.insert(step_name.to_owned(), process);
    let mut map = json!({
        "Type": "Map",
        "MaxConcurrency": spec.max_concurrency,
        "ItemSelector": {
            (paths::dynamic(item::RUN_ID)): EXECUTION_NAME,
            (paths::dynamic(item::CHUNK)): MAP_ITEM_VALUE,
            (paths::dynamic(item::INDEX)): MAP_ITEM_INDEX,
            (paths::dynamic(item::RUN_CHUNKS)): paths::chunk_count(),
        },
        "ItemProcessor": {
            "ProcessorConfig": { "Mode": "INLINE" },
            "StartAt": step_name,
            "States": states,
        },
        "ResultPath": null,
    });
    match mode {
        MapMode::Inline => map["ItemsPath"] = json!(paths::chunks()),
        MapMode::Distributed => {
            map["ItemProcessor"]["ProcessorConfig"] = json!({ "Mode": "DISTRIBUTED", "ExecutionType": "STANDARD" });
            map["MaxConcurrency"] = json!(distributed_concurrency(spec.max_concurrency));
            map["Label"] = json!(DISTRIBUTED_MAP_LABEL);
            map["ToleratedFailureCount"] = json!(0);
            map["ItemReader"] = json!({
                "Resource": integration(refs, "s3:getObject"),
                "ReaderConfig": { "InputType": "JSON" },
                "Parameters": {
                    "Bucket": refs.bucket_name,
                    (paths::dynamic("Key")): paths::chunk_list("", EXECUTION_NAME),
                },
            });
            map["ResultWriter"] = json!({
                "Resource": integration(refs, "s3:putObject"),
                "Parameters": { "Bucket": refs.bucket_name, "Prefix": contract::MAP_RESULTS_PREFIX },
            });
        }
    }
    map
}

/// Tells a chunk whose rows the user's step did not all account for (the runtime names
/// [`ROWS_LOST_ERROR`] in the Job's failure, which the caught Cause carries) from any other
/// failure.
fn rows_lost_choice(rows_lost: &str, failed: &str) -> Value {
    let cause = format!("{CHUNK_FAILURE}.Cause");
    json!({
        "Type": "Choice",
        "Choices": [{
            "And": [
                { "Variable": cause, "IsPresent": true },
                { "Variable": cause, "StringMatches": format!("*{ROWS_LOST_ERROR}*") },
            ],
            "Next": rows_lost,
        }],
        "Default": failed,
    })
}

/// Fails the iteration with the caught Cause, and `error`, or the caught Error when null.
fn fail_with(error: Value) -> Value {
    let mut fail = json!({ "Type": "Fail", "CausePath": format!("{CHUNK_FAILURE}.Cause") });
    match error {
        Value::Null => fail["ErrorPath"] = json!(format!("{CHUNK_FAILURE}.Error")),
        error => fail["Error"] = error,
    }
    fail
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{self, validate_definition};
    use crate::spec::{Architecture, BillingMode, WorkVolumeMount};

    fn render(spec: &PipelineSpec) -> Value {
        state_machine_definition(spec, &fixtures::cluster(), &fixtures::refs())
    }

    fn definition() -> Value {
        render(&fixtures::spec())
    }

    fn iteration(definition: &Value) -> &Value {
        &definition["States"][PROCESS_CHUNKS]["ItemProcessor"]
    }

    /// The first field of every state path read by an evaluated value.
    fn roots(value: &Value) -> Vec<String> {
        fixtures::dynamic_entries(value)
            .into_iter()
            .flat_map(|(_, v)| fixtures::state_roots(v))
            .collect()
    }

    #[test]
    fn exactly_the_listed_spec_fields_change_the_definition() {
        let base = fixtures::spec();
        let render_as_deployed =
            |spec: &PipelineSpec| state_machine_definition(spec, &fixtures::cluster(), &fixtures::refs_for(spec));
        let rendered = render_as_deployed(&base);
        let fields = serde_json::to_value(&base).unwrap();
        for (field, value) in fields.as_object().unwrap() {
            // An unset optional field is set to whichever of a text, a number or a record it
            // takes, and a closed set to another of its names.
            let candidates = match value {
                Value::String(text) => [format!("{text}x")]
                    .into_iter()
                    .chain(
                        Architecture::NAMES
                            .iter()
                            .chain(BillingMode::NAMES)
                            .chain(WorkVolumeMount::NAMES)
                            .map(|n| n.to_string()),
                    )
                    .filter(|candidate| candidate != text)
                    .map(|candidate| json!(candidate))
                    .collect(),
                Value::Number(n) => vec![json!(n.as_i64().unwrap() + 1)],
                Value::Bool(b) => vec![json!(!b)],
                Value::Null => vec![
                    json!("x"),
                    json!(1),
                    json!(RecordSpec::orders()),
                    json!(fixtures::process()),
                ],
                Value::Object(_) => vec![json!({ "team": "x" })],
                Value::Array(_) => vec![json!(["x"])],
            };
            let spec: PipelineSpec = candidates
                .into_iter()
                .find_map(|candidate| {
                    let mut changed = fields.clone();
                    changed[field] = candidate;
                    serde_json::from_value(changed).ok()
                })
                .unwrap();
            let differs = render_as_deployed(&spec) != rendered;
            assert_eq!(differs, INPUTS.contains(&field.as_str()), "{field}");
        }
    }

    #[test]
    fn embedded_settings_read_back_what_was_rendered() {
        let mut spec = fixtures::spec();
        spec.max_lines_per_batch = 1234;
        spec.max_concurrency = 7;
        spec.namespace = "batch".into();
        spec.service_account = "runner".into();
        spec.output_prefix = "out{it's}\\/".into();
        spec.work_volume_claim = Some("orders-work".into());
        spec.step_timeout_seconds = 600;
        spec.keep_work = true;
        spec.record = Some(RecordSpec::orders());
        spec.process = Some(fixtures::process());
        let read = embedded_settings(&render(&spec));
        assert_eq!(
            read,
            EmbeddedSettings {
                cluster_name: Some(fixtures::cluster().name),
                namespace: Some(spec.namespace),
                service_account: Some(spec.service_account),
                job_image: Some(spec.job_image),
                mounted_claim: spec.work_volume_claim,
                max_lines_per_batch: Some(1234),
                max_concurrency: Some(7),
                step_timeout_seconds: Some(600),
                output_prefix: Some(spec.output_prefix),
                keep_work: true,
                record: spec.record,
                table: true,
                process: spec.process,
            }
        );
        assert_eq!(embedded_settings(&json!({})), EmbeddedSettings::default());
        let mut tableless = fixtures::spec();
        tableless.table = false;
        tableless.process = Some(ProcessSpec {
            env: Default::default(),
            cpu: None,
            memory: None,
            ..fixtures::process()
        });
        let read = embedded_settings(&render(&tableless));
        assert!(!read.table);
        assert_eq!(read.process, tableless.process);
        assert_eq!(embedded_settings(&definition()).process, None);
    }

    #[test]
    fn the_definition_is_valid_asl() {
        assert_eq!(validate_definition(&definition()), Ok(()));
    }

    fn with_process() -> Value {
        let mut spec = fixtures::spec();
        spec.process = Some(fixtures::process());
        render(&spec)
    }

    #[test]
    fn without_a_process_block_an_iteration_is_its_one_job() {
        let definition = definition();
        for (map, step) in [
            (PROCESS_CHUNKS, PROCESS_CHUNK),
            (PROCESS_CHUNKS_DISTRIBUTED, PROCESS_CHUNK_IN_CHILD),
        ] {
            let states = definition["States"][map]["ItemProcessor"]["States"]
                .as_object()
                .unwrap();
            assert_eq!(states.keys().collect::<Vec<_>>(), [step], "{map}");
            assert!(states[step].get("Catch").is_none(), "{map}");
        }
    }

    #[test]
    fn with_a_process_block_lost_rows_fail_the_run_as_rows_lost_and_other_failures_as_they_were() {
        let definition = with_process();
        assert_eq!(
            validate_definition(&definition),
            Ok(()),
            "unique names, valid transitions"
        );
        for (map, step, check, rows_lost, failed) in [
            (PROCESS_CHUNKS, PROCESS_CHUNK, CHECK_ROWS_LOST, ROWS_LOST, CHUNK_FAILED),
            (
                PROCESS_CHUNKS_DISTRIBUTED,
                PROCESS_CHUNK_IN_CHILD,
                CHECK_ROWS_LOST_IN_CHILD,
                ROWS_LOST_IN_CHILD,
                CHUNK_FAILED_IN_CHILD,
            ),
        ] {
            let processor = &definition["States"][map]["ItemProcessor"];
            assert_eq!(processor["StartAt"], step);
            let states = &processor["States"];
            assert_eq!(
                states[step]["Catch"],
                json!([{ "ErrorEquals": ["States.ALL"], "ResultPath": "$.failure", "Next": check }])
            );
            let container = &states[step]["Parameters"]["Job"]["spec"]["template"]["spec"]["containers"][0];
            assert_eq!(container["image"], fixtures::process().image);
            let choice = &states[check];
            assert_eq!(choice["Type"], "Choice");
            assert_eq!(choice["Default"], failed);
            let rule = &choice["Choices"][0];
            assert_eq!(rule["Next"], rows_lost);
            assert_eq!(rule["And"][1]["Variable"], "$.failure.Cause");
            assert_eq!(rule["And"][1]["StringMatches"], "*eventdriven.RowsLost*");
            assert_eq!(
                states[rows_lost],
                json!({ "Type": "Fail", "Error": "eventdriven.RowsLost", "CausePath": "$.failure.Cause" })
            );
            assert_eq!(
                states[failed],
                json!({ "Type": "Fail", "ErrorPath": "$.failure.Error", "CausePath": "$.failure.Cause" })
            );
        }
        // The rest of the machine is as without the block.
        let mut without = definition.clone();
        let plain = self::definition();
        for map in [PROCESS_CHUNKS, PROCESS_CHUNKS_DISTRIBUTED] {
            without["States"][map]["ItemProcessor"] = plain["States"][map]["ItemProcessor"].clone();
        }
        assert_eq!(without, plain);
    }

    #[test]
    fn every_task_has_a_timeout_and_every_job_a_deadline_within_it() {
        let definition = definition();
        let states = &definition["States"];
        let tasks = [
            &states[CHECK_SERVICE_ACCOUNT],
            &states[SPLIT],
            &states[LIST_CHUNKS],
            &states[MERGE],
            &iteration(&definition)["States"][PROCESS_CHUNK],
            &states[PROCESS_CHUNKS_DISTRIBUTED]["ItemProcessor"]["States"][PROCESS_CHUNK_IN_CHILD],
        ];
        for task in tasks {
            let timeout = task["TimeoutSeconds"].as_i64().expect("every task has a timeout");
            if let Some(deadline) = task.pointer("/Parameters/Job/spec/activeDeadlineSeconds") {
                assert_eq!(deadline, fixtures::spec().step_timeout_seconds);
                assert!(timeout > deadline.as_i64().unwrap());
            }
        }
    }

    #[test]
    fn states_run_in_pipeline_order() {
        let definition = definition();
        let states = &definition["States"];
        assert_eq!(definition["StartAt"], CHECK_SERVICE_ACCOUNT);
        assert_eq!(states[CHECK_SERVICE_ACCOUNT]["Next"], CHECK_WORK_VOLUME);
        assert_eq!(
            states[CHECK_SERVICE_ACCOUNT]["Catch"][0]["Next"],
            SERVICE_ACCOUNT_MISSING
        );
        assert_eq!(states[CHECK_WORK_VOLUME]["Next"], IS_WORK_VOLUME_BOUND);
        assert_eq!(states[IS_WORK_VOLUME_BOUND]["Choices"][0]["Next"], SPLIT);
        assert_eq!(states[SPLIT]["Next"], LIST_CHUNKS);
        assert_eq!(states[LIST_CHUNKS]["Next"], CHOOSE_MAP_MODE);
        assert_eq!(states[CHOOSE_MAP_MODE]["Default"], PROCESS_CHUNKS);
        assert_eq!(
            states[CHOOSE_MAP_MODE]["Choices"][0]["Next"],
            PROCESS_CHUNKS_DISTRIBUTED
        );
        assert_eq!(states[PROCESS_CHUNKS]["Next"], MERGE);
        assert_eq!(states[PROCESS_CHUNKS_DISTRIBUTED]["Next"], MERGE);
        assert_eq!(states[MERGE]["End"], true);
        assert_eq!(states.as_object().unwrap().len(), 12);
    }

    #[test]
    fn each_job_state_runs_its_step_on_the_cluster() {
        let definition = definition();
        let cluster = fixtures::cluster();
        let states = &definition["States"];
        let jobs = [
            (SPLIT, &states[SPLIT]),
            (MERGE, &states[MERGE]),
            (PROCESS_CHUNK, &iteration(&definition)["States"][PROCESS_CHUNK]),
            (
                PROCESS_CHUNKS_DISTRIBUTED,
                &states[PROCESS_CHUNKS_DISTRIBUTED]["ItemProcessor"]["States"][PROCESS_CHUNK_IN_CHILD],
            ),
        ];
        for (name, state) in jobs {
            assert_eq!(state["Resource"], "arn:aws:states:::eks:runJob.sync", "{name}");
            let parameters = &state["Parameters"];
            assert_eq!(parameters["ClusterName"], cluster.name);
            assert_eq!(parameters["CertificateAuthority"], cluster.certificate_authority);
            assert_eq!(parameters["Endpoint"], cluster.endpoint);
            assert_eq!(parameters["Namespace"], "eventdriven");
            assert_eq!(parameters["LogOptions"]["RetrieveLogs"], true);
            let limit: usize = parameters["LogOptions"]["LogParameters"]["limitBytes"][0]
                .as_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!(limit <= 64 * 1024, "{name}: the logs leave room in the 256 KiB result");
            assert_eq!(state["ResultPath"], Value::Null, "{name}");
            // A Job past its deadline fails its task once: only its pods are retried, inside it.
            assert_eq!(state.get("Retry"), None, "{name}");
            let job = &parameters["Job"]["spec"];
            assert!(job["backoffLimit"].as_u64().unwrap() >= 2, "{name}: pods are retried");
            assert!(job["activeDeadlineSeconds"].as_i64().is_some(), "{name}: one deadline");
        }
        assert_eq!(
            states[SPLIT]["Parameters"]["Job"]["spec"]["template"]["spec"]["containers"][0]["args"],
            json!(["split"])
        );
        assert_eq!(
            states[MERGE]["Parameters"]["Job"]["spec"]["template"]["spec"]["containers"][0]["args"],
            json!(["merge"])
        );
    }

    #[test]
    fn list_chunks_invokes_the_lambda_with_the_run_id() {
        let definition = definition();
        let state = &definition["States"][LIST_CHUNKS];
        assert_eq!(state["Resource"], "arn:aws:states:::lambda:invoke");
        assert_eq!(
            state["Parameters"]["FunctionName"],
            fixtures::refs().lambda_function_arn
        );
        assert_eq!(
            state["Parameters"]["Payload"],
            json!({ "run_id.$": "$$.Execution.Name" })
        );
        assert_eq!(
            state["ResultSelector"],
            json!({ "chunks.$": "$.Payload.chunks", "count.$": "$.Payload.count" })
        );
        let retried = state["Retry"][0]["ErrorEquals"].as_array().unwrap();
        assert!(retried.contains(&json!("Lambda.TooManyRequestsException")));
        assert!(
            retried.contains(&json!("Runtime.ExitError")),
            "a function that fails to start"
        );
    }

    #[test]
    fn the_inline_map_iterates_over_what_list_chunks_returns_and_the_choice_reads_its_count() {
        let definition = definition();
        let list = &definition["States"][LIST_CHUNKS];
        let stored_at = |field: &str| {
            let selected = list["ResultSelector"].as_object().unwrap();
            assert!(selected.contains_key(&paths::dynamic(field)), "{field}");
            format!("{}.{field}", list["ResultPath"].as_str().unwrap())
        };
        assert_eq!(
            definition["States"][PROCESS_CHUNKS]["ItemsPath"],
            stored_at(contract::LIST_CHUNKS_CHUNKS_FIELD)
        );
        let choice = &definition["States"][CHOOSE_MAP_MODE]["Choices"][0];
        assert_eq!(choice["Variable"], stored_at(contract::LIST_CHUNKS_COUNT_FIELD));
        assert_eq!(choice["NumericGreaterThan"], INLINE_MAP_MAX_CHUNKS);
    }

    #[test]
    fn past_the_threshold_a_distributed_map_reads_the_chunk_list_split_writes() {
        let definition = definition();
        let map = &definition["States"][PROCESS_CHUNKS_DISTRIBUTED];
        assert_eq!(
            map["ItemProcessor"]["ProcessorConfig"],
            json!({ "Mode": "DISTRIBUTED", "ExecutionType": "STANDARD" })
        );
        assert_eq!(map["ToleratedFailureCount"], 0);
        assert_eq!(map["ItemReader"]["Resource"], "arn:aws:states:::s3:getObject");
        assert_eq!(map["ItemReader"]["ReaderConfig"]["InputType"], "JSON");
        let refs = fixtures::refs();
        assert_eq!(map["ItemReader"]["Parameters"]["Bucket"], refs.bucket_name);
        // The key is the one split's Job is told to write, after the bucket.
        let written =
            definition["States"][SPLIT]["Parameters"]["Job"]["spec"]["template"]["spec"]["containers"][0]["env"]
                .as_array()
                .unwrap()
                .iter()
                .find(|e| e["name"] == contract::CHUNK_LIST_URL)
                .expect("split is told where to write the chunk list")["value.$"]
                .clone();
        let read = map["ItemReader"]["Parameters"]["Key.$"].as_str().unwrap();
        assert_eq!(
            paths::format_pieces(written.as_str().unwrap()).unwrap(),
            paths::format_pieces(read)
                .unwrap()
                .into_iter()
                .enumerate()
                .map(|(i, piece)| if i == 0 {
                    format!("s3://{}/{piece}", refs.bucket_name)
                } else {
                    piece
                })
                .collect::<Vec<_>>()
        );
        assert_eq!(map["ResultWriter"]["Resource"], "arn:aws:states:::s3:putObject");
        assert_eq!(map["ResultWriter"]["Parameters"]["Prefix"], "runs/map-results");
        assert_eq!(map["ResultPath"], Value::Null);
        // Both Maps run the same iteration on the same items.
        let inline = &definition["States"][PROCESS_CHUNKS];
        assert_eq!(map["ItemSelector"], inline["ItemSelector"]);
        assert_eq!(
            map["ItemProcessor"]["States"][PROCESS_CHUNK_IN_CHILD], inline["ItemProcessor"]["States"][PROCESS_CHUNK],
            "the same step, under a name of its own: names are unique in the whole machine"
        );
        // Unbounded, the Distributed Map keeps the inline Map's parallelism.
        assert_eq!(inline["MaxConcurrency"], 0);
        assert_eq!(map["MaxConcurrency"], 40);
    }

    #[test]
    fn the_iteration_reads_only_what_the_item_selector_provides() {
        let definition = definition();
        let map = &definition["States"][PROCESS_CHUNKS];
        let mut provided: Vec<&str> = map["ItemSelector"]
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.trim_end_matches(".$"))
            .collect();
        provided.sort_unstable();
        let mut expected = item::ALL;
        expected.sort_unstable();
        assert_eq!(provided, expected);
        let read = roots(iteration(&definition));
        assert!(!read.is_empty());
        for root in read {
            assert!(provided.contains(&root.as_str()), "the iteration reads $.{root}");
        }
    }

    #[test]
    fn outside_the_maps_only_the_event_the_chunk_list_and_a_failed_check_are_read() {
        let mut definition = definition();
        for map in [PROCESS_CHUNKS, PROCESS_CHUNKS_DISTRIBUTED] {
            definition["States"][map]["ItemProcessor"] = Value::Null;
        }
        // A ResultSelector reads the task's result, not the state.
        definition["States"][LIST_CHUNKS]["ResultSelector"] = Value::Null;
        definition["States"][CHECK_WORK_VOLUME]["ResultSelector"] = Value::Null;
        for root in roots(&definition) {
            assert!(["detail", "list", "check"].contains(&root.as_str()), "reads $.{root}");
        }
    }

    #[test]
    fn a_missing_service_account_fails_the_run_naming_it_and_the_fix() {
        let definition = definition();
        let check = &definition["States"][CHECK_SERVICE_ACCOUNT];
        assert_eq!(check["Resource"], "arn:aws:states:::eks:call");
        assert_eq!(check["Parameters"]["Method"], "GET");
        assert_eq!(
            check["Parameters"]["Path"],
            "/api/v1/namespaces/eventdriven/serviceaccounts/eventdriven-orders"
        );
        assert_eq!(check["Parameters"]["Endpoint"], fixtures::cluster().endpoint);
        assert!(check["TimeoutSeconds"].as_i64().unwrap() <= 60);
        let missing = &definition["States"][SERVICE_ACCOUNT_MISSING];
        assert_eq!(missing["Type"], "Fail");
        assert_eq!(missing["Error"], SERVICE_ACCOUNT_MISSING_ERROR);
        let pieces = paths::format_pieces(missing["CausePath"].as_str().unwrap()).unwrap();
        for needed in [
            "eventdriven-orders",
            "namespace eventdriven",
            "terraform/cluster-prerequisites",
        ] {
            assert!(pieces[0].contains(needed), "{needed}: {}", pieces[0]);
        }
        assert!(missing["CausePath"].as_str().unwrap().ends_with(", $.check.Cause)"));
    }

    #[test]
    fn a_missing_or_unbound_work_volume_fails_the_run_naming_the_claim_and_the_fix() {
        let definition = definition();
        let states = &definition["States"];
        let check = &states[CHECK_WORK_VOLUME];
        assert_eq!(check["Resource"], "arn:aws:states:::eks:call");
        assert_eq!(
            (&check["Parameters"]["Method"], &check["Parameters"]["Path"]),
            (
                &json!("GET"),
                &json!("/api/v1/namespaces/eventdriven/persistentvolumeclaims/eventdriven-orders-work")
            )
        );
        assert!(check["TimeoutSeconds"].as_i64().unwrap() <= 60);
        assert_eq!(check["Catch"][0]["Next"], WORK_VOLUME_MISSING);
        let bound = &states[IS_WORK_VOLUME_BOUND];
        assert_eq!(bound["Choices"][0]["Variable"], "$.check.phase");
        assert_eq!(bound["Choices"][0]["StringEquals"], "Bound");
        assert_eq!(bound["Default"], WORK_VOLUME_NOT_BOUND);
        let missing_cause = paths::format_pieces(states[WORK_VOLUME_MISSING]["CausePath"].as_str().unwrap()).unwrap();
        for (state, cause) in [
            (WORK_VOLUME_MISSING, missing_cause[0].clone()),
            (
                WORK_VOLUME_NOT_BOUND,
                states[WORK_VOLUME_NOT_BOUND]["Cause"].as_str().unwrap().to_owned(),
            ),
        ] {
            assert_eq!(states[state]["Error"], WORK_VOLUME_MISSING_ERROR);
            for needed in [
                "eventdriven-orders-work",
                "namespace eventdriven",
                "terraform/work-volume",
                "nfs",
            ] {
                assert!(cause.contains(needed), "{state}: {needed}: {cause}");
            }
        }
        let mut spec = fixtures::spec();
        spec.work_volume_mount = WorkVolumeMount::Nfs;
        let over_nfs = render(&spec);
        assert_eq!(over_nfs["States"][CHECK_SERVICE_ACCOUNT]["Next"], SPLIT);
        for state in [
            CHECK_WORK_VOLUME,
            IS_WORK_VOLUME_BOUND,
            WORK_VOLUME_MISSING,
            WORK_VOLUME_NOT_BOUND,
        ] {
            assert!(
                over_nfs["States"].get(state).is_none(),
                "{state}: no claim to check over NFS"
            );
        }
    }

    /// The events a state records at most, every retry included, outside any Map's iterations.
    fn worst_case_events(state: &Value) -> u64 {
        let retries: u64 = state["Retry"].as_array().map_or(0, |retriers| {
            retriers.iter().map(|r| r["MaxAttempts"].as_u64().unwrap_or(3)).sum()
        });
        match state["Type"].as_str().unwrap() {
            "Task" => crate::scale::task_events(retries),
            // Entered, started, succeeded or failed, exited; a distributed one's run started and ended.
            "Map" => 6,
            _ => 2,
        }
    }

    #[test]
    fn the_history_bound_outside_the_map_and_per_iteration_holds() {
        let definition = definition();
        let states = definition["States"].as_object().unwrap();
        // Execution started and ended, plus every state once: a bound, as no run takes both Maps.
        let outside: u64 = 2 + states.values().map(worst_case_events).sum::<u64>();
        assert!(outside <= crate::scale::EVENTS_OUTSIDE_THE_MAP, "{outside}");
        let per_iteration = 2 + worst_case_events(&iteration(&definition)["States"][PROCESS_CHUNK]);
        assert_eq!(per_iteration, crate::scale::INLINE_ITERATION_EVENTS);
    }

    #[test]
    fn max_concurrency_follows_the_spec_and_changes_nothing_else() {
        let mut spec = fixtures::spec();
        let unbounded = render(&spec);
        assert_eq!(unbounded["States"][PROCESS_CHUNKS]["MaxConcurrency"], 0);
        spec.max_concurrency = 25;
        let mut bounded = render(&spec);
        for (map, step) in [
            (PROCESS_CHUNKS, PROCESS_CHUNK),
            (PROCESS_CHUNKS_DISTRIBUTED, PROCESS_CHUNK_IN_CHILD),
        ] {
            assert_eq!(bounded["States"][map]["MaxConcurrency"], 25);
            bounded["States"][map]["MaxConcurrency"] = unbounded["States"][map]["MaxConcurrency"].clone();
            // The process Job paces its writes by it.
            let env = &mut bounded["States"][map]["ItemProcessor"]["States"][step]["Parameters"]["Job"]["spec"]["template"]
                ["spec"]["containers"][0]["env"];
            let entry = env
                .as_array_mut()
                .unwrap()
                .iter_mut()
                .find(|e| e["name"] == contract::MAX_CONCURRENCY)
                .unwrap();
            assert_eq!(entry["value"], "25");
            entry["value"] = json!("0");
        }
        assert_eq!(bounded, unbounded);
    }

    #[test]
    fn integrations_follow_the_partition() {
        let mut refs = fixtures::refs();
        refs.partition = "aws-us-gov".into();
        let definition = state_machine_definition(&fixtures::spec(), &fixtures::cluster(), &refs);
        assert_eq!(
            definition["States"][LIST_CHUNKS]["Resource"],
            "arn:aws-us-gov:states:::lambda:invoke"
        );
        assert_eq!(validate_definition(&definition), Ok(()));
    }

    #[test]
    fn no_secret_is_rendered() {
        let definition = definition();
        let secret_arn = fixtures::refs().redis_auth_secret_arn.unwrap();
        for text in fixtures::strings(&definition) {
            let authority = text
                .split_once("://")
                .map(|(_, rest)| rest.split('/').next().unwrap_or(rest));
            assert!(!authority.is_some_and(|a| a.contains('@')), "credentials in {text}");
            let lower = text.to_ascii_lowercase();
            assert!(!lower.contains("password") && !lower.contains("token="), "{text}");
            let access_key = text.contains("AKIA") || text.contains("ASIA");
            assert!(!access_key, "{text}");
            if lower.contains("secret") && lower != "secret" {
                assert!(text == secret_arn || text.starts_with("REDIS_AUTH_SECRET"), "{text}");
            }
        }
    }
}
