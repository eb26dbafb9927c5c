//! The pipeline's definition against Step Functions' limits and the cluster's prerequisites,
//! run by the interpreter: a run past the inline threshold goes through the Distributed Map and
//! loses no row, 20,000 chunks keep every payload under 256 KiB, and a cluster without the
//! Jobs' service account fails the run at once.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use common::*;
use eventdriven_core::contract::{self, ChunkRef};
use eventdriven_core::definition::{
    PROCESS_CHUNKS, PROCESS_CHUNKS_DISTRIBUTED, SERVICE_ACCOUNT_MISSING_ERROR, state_machine_definition,
};
use eventdriven_core::local::{LOCAL_BUCKET, local_deployment, object_created_event};
use eventdriven_core::scale::{HISTORY_EVENT_LIMIT, INLINE_MAP_MAX_CHUNKS, PAYLOAD_LIMIT_BYTES};
use eventdriven_runtime::local::cluster_api::LocalClusterApi;
use eventdriven_runtime::local::job::{JobSpec, PodRun, finished_job};
use eventdriven_runtime::local::s3_objects::{ObjectStore, S3Objects, directory_path};
use eventdriven_runtime::objects::ObjectUrl;
use eventdriven_runtime::progress::{MEMORY_URL, ProgressStore};
use eventdriven_runtime::runner::{LocalRun, run_locally};
use eventdriven_runtime::table::{OrdersTable, TableUrl};
use eventdriven_states::{
    Event, Failure, Integration, Integrations, Interpreter, Resource, StartExecution, Status, TaskRequest, TaskTokens,
};
use serde_json::Value;

/// The largest payload an event carries: a state's input or output, or a task's result.
fn payload_bytes(event: &Event) -> usize {
    ["input", "output"]
        .iter()
        .filter_map(|field| event.details()[field].as_str())
        .map(str::len)
        .max()
        .unwrap_or(0)
}

/// Everything the run's execution recorded, as its observer saw it.
fn recorder() -> (Arc<Mutex<Vec<Event>>>, eventdriven_states::Observer) {
    let events: Arc<Mutex<Vec<Event>>> = Arc::default();
    let seen = events.clone();
    (
        events,
        Arc::new(move |event: &Event| seen.lock().unwrap().push(event.clone())),
    )
}

/// Files in `dir` and its subdirectories.
fn files_under(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |entries| {
        entries
            .map(|entry| entry.unwrap().path())
            .map(|path| if path.is_dir() { files_under(&path) } else { 1 })
            .sum()
    })
}

fn entered(events: &[Event], state: &str) -> bool {
    events
        .iter()
        .any(|e| e.kind.ends_with("StateEntered") && e.details()["name"] == state)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_past_the_inline_threshold_processes_every_row_through_the_distributed_map() {
    let rows = INLINE_MAP_MAX_CHUNKS + 50;
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("orders.csv");
    generated(&input, rows, 7);
    let (events, observer) = recorder();
    let run = LocalRun {
        run_id: "many-chunks".into(),
        pipeline_name: "test".into(),
        record: None,
        input: ObjectUrl::Local(input.clone()),
        output: ObjectUrl::Local(dir.path().join("result.csv")),
        // One row a chunk: just past what an inline Map takes.
        rows_per_chunk: 1,
        concurrency: 4,
        work_dir: dir.path().join("work"),
        keep_work: false,
        observer: Some(observer),
    };
    let progress = ProgressStore::open(MEMORY_URL, None).await.unwrap();
    let table = OrdersTable::open(&TableUrl::Embedded(dir.path().join("orders.table")))
        .await
        .unwrap();
    let report = run_locally(&run, &progress, &table).await.unwrap();
    let s = &report.summary;
    assert_eq!((s.rows_in, s.rows_out, s.rejected, s.chunks), (rows, rows, 0, rows));
    assert_eq!(table.count().await.unwrap(), rows);
    let out = lines(&dir.path().join("result.csv"));
    let input_lines = lines(&input);
    let input_ids: Vec<&str> = input_lines[1..].iter().map(|l| l.split(',').nth(6).unwrap()).collect();
    let output_ids: Vec<&str> = out[1..].iter().map(|l| l.split(',').next().unwrap()).collect();
    assert_eq!(input_ids, output_ids, "every row, in input order");

    let events = events.lock().unwrap();
    assert!(entered(&events, PROCESS_CHUNKS_DISTRIBUTED), "the Distributed Map ran");
    assert!(!entered(&events, PROCESS_CHUNKS), "the inline Map did not");
    assert!(events.iter().any(|e| e.kind == "MapRunSucceeded"));
    assert_eq!(
        files_under(&dir.path().join("work/objects")),
        0,
        "the chunk list and the map's results are removed with the run's work"
    );
}

/// Every Job of the run, standing in for the cluster: it succeeds at once, with logs far longer
/// than the task's log limits, and counts the chunks it was given.
#[derive(Clone, Default)]
struct ChattyJobs {
    chunks: Arc<Mutex<Vec<String>>>,
}

#[async_trait]
impl Integration for ChattyJobs {
    fn serves(&self, resource: &Resource) -> bool {
        resource.service == "eks" && resource.action == "runJob"
    }

    async fn call(&self, request: TaskRequest) -> Result<Value, Failure> {
        let spec = JobSpec::from_parameters(&request.parameters)?;
        if let Some(chunk) = spec.container.env.get(contract::CHUNK) {
            self.chunks.lock().unwrap().push(chunk.clone());
        }
        let pod = PodRun {
            name: spec.pod_name(0),
            succeeded: true,
            // Past both limits: more lines than the tail keeps, more bytes than it may hold.
            logs: format!("{}\n", "x".repeat(300)).repeat(120),
            ended: "exit status: 0".into(),
            reason: None,
        };
        finished_job(&request.parameters, &spec, &[pod], "2026-01-01T00:00:00Z")
    }
}

/// The list-chunks Lambda, answering from the run's progress store.
struct ListChunksFunction(ProgressStore);

#[async_trait]
impl Integration for ListChunksFunction {
    fn serves(&self, resource: &Resource) -> bool {
        resource.service == "lambda"
    }

    async fn call(&self, request: TaskRequest) -> Result<Value, Failure> {
        let answer = eventdriven_runtime::lambda::handle(&self.0, &request.parameters["Payload"])
            .await
            .map_err(|e| Failure::task_failed(e.to_string()))?;
        Ok(serde_json::json!({ "Payload": answer, "StatusCode": 200 }))
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn twenty_thousand_chunks_keep_every_state_and_task_result_under_256_kib() {
    const CHUNKS: u32 = 20_000;
    const RUN: &str = "twenty-thousand";
    let dir = tempfile::tempdir().unwrap();
    // What split leaves: the chunks queued in the progress store and listed in the bucket.
    let chunks: Vec<ChunkRef> = (0..CHUNKS)
        .map(|index| ChunkRef {
            index,
            first_line: 2 + u64::from(index) * 30_000,
        })
        .collect();
    let progress = ProgressStore::open(MEMORY_URL, None).await.unwrap();
    progress.replace(RUN, &chunks).await.unwrap();
    let objects = dir.path().join("objects");
    let list = directory_path(&objects, LOCAL_BUCKET, &contract::chunk_list_key(RUN)).unwrap();
    std::fs::create_dir_all(list.parent().unwrap()).unwrap();
    std::fs::write(&list, serde_json::to_vec(&chunks).unwrap()).unwrap();

    let jobs = ChattyJobs::default();
    let integrations = Integrations::default()
        .with(jobs.clone())
        .with(ListChunksFunction(progress))
        .with(S3Objects {
            store: ObjectStore::Directory(objects),
        })
        .with(LocalClusterApi);
    let (spec, cluster, refs) = local_deployment("orders", 30_000, 0);
    let (events, observer) = recorder();
    let execution = Interpreter::new(integrations, TaskTokens::default(), "us-east-1")
        .execute(
            &state_machine_definition(&spec, &cluster, &refs),
            StartExecution {
                name: RUN.into(),
                input: object_created_event(LOCAL_BUCKET, "input/orders.csv"),
                state_machine_arn: "arn:aws:states:us-east-1:000000000000:stateMachine:eventdriven-orders".into(),
                role_arn: String::new(),
                observer: Some(observer),
                keep_history: true,
            },
        )
        .await;
    // The interpreter fails any state output or task result over 256 KiB, in the run and in
    // every child execution, with States.DataLimitExceeded.
    assert_eq!(execution.status, Status::Succeeded, "{:?}", execution.failure);
    let mut processed = jobs.chunks.lock().unwrap().clone();
    processed.sort();
    let expected: Vec<String> = chunks.iter().map(ToString::to_string).collect();
    assert_eq!(processed, expected, "every chunk processed once");

    let events = events.lock().unwrap();
    assert!(entered(&events, PROCESS_CHUNKS_DISTRIBUTED));
    assert!(
        events.len() < 100,
        "the children's events are in their own histories: {}",
        events.len()
    );
    assert!((events.len() as u64) < HISTORY_EVENT_LIMIT);
    let largest = events.iter().max_by_key(|e| payload_bytes(e)).unwrap();
    assert!(
        payload_bytes(largest) < PAYLOAD_LIMIT_BYTES as usize / 4,
        "largest payload {} bytes, in {} {}",
        payload_bytes(largest),
        largest.kind,
        largest.details()["name"]
    );
}

/// A cluster whose API answers every call with `404 Not Found`.
struct ClusterWithoutServiceAccounts {
    calls: Arc<Mutex<Vec<Value>>>,
}

#[async_trait]
impl Integration for ClusterWithoutServiceAccounts {
    fn serves(&self, resource: &Resource) -> bool {
        resource.service == "eks"
    }

    async fn call(&self, request: TaskRequest) -> Result<Value, Failure> {
        self.calls.lock().unwrap().push(request.parameters.clone());
        Err(Failure::new(
            "EKS.404",
            r#"{"kind":"Status","reason":"NotFound","code":404}"#,
        ))
    }
}

#[tokio::test(start_paused = true)]
async fn a_cluster_without_the_service_account_fails_the_run_at_once_saying_what_is_missing() {
    let (spec, cluster, refs) = local_deployment("orders", 100, 2);
    let definition = state_machine_definition(&spec, &cluster, &refs);
    let calls: Arc<Mutex<Vec<Value>>> = Arc::default();
    let integrations = Integrations::default().with(ClusterWithoutServiceAccounts { calls: calls.clone() });
    let started = tokio::time::Instant::now();
    let execution = Interpreter::new(integrations, TaskTokens::default(), "us-east-1")
        .execute(
            &definition,
            StartExecution {
                name: "r".into(),
                input: object_created_event(LOCAL_BUCKET, "input/orders.csv"),
                state_machine_arn: "arn:aws:states:us-east-1:000000000000:stateMachine:eventdriven-orders".into(),
                role_arn: String::new(),
                observer: None,
                keep_history: true,
            },
        )
        .await;
    assert_eq!(execution.status, Status::Failed);
    let failure = execution.failure.unwrap();
    assert_eq!(failure.error, SERVICE_ACCOUNT_MISSING_ERROR);
    for named in [spec.service_account.as_str(), "namespace eventdriven", "NotFound"] {
        assert!(failure.cause.contains(named), "{named}: {}", failure.cause);
    }
    // The check and its two retries, 2 and 4 seconds apart; no Job was ever submitted.
    let calls = calls.lock().unwrap();
    assert_eq!(calls.len(), 3);
    assert!(calls.iter().all(|c| c["Method"] == "GET" && c.get("Job").is_none()));
    // On paused time: exactly the two retry intervals, not the Job's deadline.
    assert_eq!(started.elapsed(), Duration::from_secs(6));
}
