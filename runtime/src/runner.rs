//! The local runner: the state machine core renders for a local pipeline, executed by the
//! interpreter with in-process steps, with a progress bar on a terminal and a summary at the end.

use crate::local::cluster_api::LocalClusterApi;
use crate::local::in_process::{InProcessSteps, StepProgress};
use crate::local::s3_objects::{ObjectStore, S3Objects};
use crate::objects::ObjectUrl;
use crate::process::BufferPool;
use crate::progress::ProgressStore;
use crate::steps::RunSummary;
use crate::table::OrdersTable;
use crate::workdir::{RunDir, read_json, remove_if_present};
use anyhow::{Context, Result, bail};
use eventdriven_core::contract::{MAP_RESULTS_PREFIX, run_prefix};
use eventdriven_core::definition::state_machine_definition;
use eventdriven_core::local::{LOCAL_BUCKET, local_deployment, object_created_event};
use eventdriven_core::record::RecordSpec;
use eventdriven_core::spec::PREFIX;
use eventdriven_states::{Event, Integrations, Interpreter, Observer, StartExecution, Status, TaskTokens};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub struct LocalRun {
    pub run_id: String,
    pub pipeline_name: String,
    /// The declared record, which reaches the steps as their Jobs' `RECORD`; `None` loads the
    /// order layout.
    pub record: Option<RecordSpec>,
    pub input: ObjectUrl,
    pub output: ObjectUrl,
    pub rows_per_chunk: u64,
    pub concurrency: usize,
    pub work_dir: PathBuf,
    pub keep_work: bool,
    /// Sees every event of the run's execution as it is recorded.
    pub observer: Option<Observer>,
}

/// The cores this process may use: chunks parsed at once.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// A run id that stays the same while the input does, so running again resumes.
pub fn default_run_id(input: &ObjectUrl) -> String {
    let identity = match input {
        ObjectUrl::Local(path) => {
            let absolute = std::fs::canonicalize(path).unwrap_or_else(|_| path.clone());
            let meta = std::fs::metadata(path).ok();
            let modified = meta
                .as_ref()
                .and_then(|m| m.modified().ok())
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok());
            format!("{}|{:?}|{:?}", absolute.display(), meta.map(|m| m.len()), modified)
        }
        s3 => s3.to_string(),
    };
    uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, identity.as_bytes()).to_string()
}

/// What a finished run prints.
#[derive(Debug)]
pub struct Report {
    pub summary: RunSummary,
    pub elapsed: Duration,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = &self.summary;
        let seconds = self.elapsed.as_secs_f64();
        writeln!(f, "rows in:       {}", s.rows_in)?;
        writeln!(f, "rows out:      {}", s.rows_out)?;
        writeln!(f, "rows rejected: {}", s.rejected)?;
        writeln!(f, "chunks:        {}", s.chunks)?;
        writeln!(
            f,
            "time:          {seconds:.2} s ({:.0} rows/s)",
            s.rows_in as f64 / seconds.max(1e-9)
        )?;
        writeln!(f, "result:        {}", s.output)?;
        writeln!(f, "rejects:       {}", s.rejects)?;
        if s.rows_in == 0 {
            writeln!(f, "note:          the input has a header but no data rows")?;
        }
        Ok(())
    }
}

pub async fn run_locally(run: &LocalRun, progress: &ProgressStore, table: &OrdersTable) -> Result<Report> {
    let started = Instant::now();
    let dir = RunDir::new(&run.work_dir, &run.run_id)?;
    let bar = ProgressBar::new_spinner().with_message(format!("splitting {}", run.input));
    bar.enable_steady_tick(Duration::from_millis(120));
    let steps = InProcessSteps {
        work_dir: run.work_dir.clone(),
        input: run.input.clone(),
        output: run.output.clone(),
        progress: progress.clone(),
        table: table.clone(),
        on_progress: Some(Arc::new(progress_bar(bar.clone()))),
        buffers: BufferPool::new(run.concurrency.min(cores())),
    };

    let (mut spec, cluster, refs) = local_deployment(&run.pipeline_name, run.rows_per_chunk, run.concurrency as u64);
    spec.record = run.record.clone();
    let definition = state_machine_definition(&spec, &cluster, &refs);
    let objects_root = steps.objects_root();
    let objects = S3Objects {
        store: ObjectStore::Directory(objects_root.clone()),
    };
    let integrations = Integrations::default().with(steps).with(objects).with(LocalClusterApi);
    let interpreter = Interpreter::new(integrations, TaskTokens::default(), refs.region).with_retry_scale(0.0);
    // The execution keeps no history (a long run records tens of thousands of events); what
    // the run needs of it afterwards, its Distributed Maps' run ids, is picked up as it goes.
    let map_runs = Arc::new(Mutex::new(Vec::new()));
    let observer: Observer = {
        let (map_runs, watcher) = (map_runs.clone(), run.observer.clone());
        Arc::new(move |event: &Event| {
            if event.kind == "MapRunStarted"
                && let Some(id) = event.details()["mapRunArn"]
                    .as_str()
                    .and_then(|arn| arn.rsplit(':').next())
            {
                map_runs.lock().expect("map runs lock").push(id.to_owned());
            }
            if let Some(watcher) = &watcher {
                watcher(event);
            }
        })
    };
    let execution = interpreter
        .execute(
            &definition,
            StartExecution {
                name: run.run_id.clone(),
                input: object_created_event(LOCAL_BUCKET, &run.input.to_string()),
                state_machine_arn: format!("arn:aws:states:local:000000000000:stateMachine:{PREFIX}-{}", spec.name),
                role_arn: String::new(),
                observer: Some(observer),
                keep_history: false,
            },
        )
        .await;
    // The run's merge step put its staged items into the table; a failed run's go in now.
    table.take_staged().await?;
    bar.finish_and_clear();
    if execution.status != Status::Succeeded {
        let failure = execution
            .failure
            .unwrap_or_else(|| eventdriven_states::Failure::runtime("no failure recorded"));
        bail!("run {} failed: {}: {}", run.run_id, failure.error, failure.cause);
    }
    let summary = read_json::<RunSummary>(&dir.merged())?
        .with_context(|| format!("run {} succeeded but left no {}", run.run_id, dir.merged().display()))?;
    if !run.keep_work {
        std::fs::remove_dir_all(dir.root()).with_context(|| format!("removing {}", dir.root().display()))?;
        // What the run kept in the stand-in bucket: its chunk list, and its Distributed Map's
        // results (under the map run's id), which nothing reads.
        let map_runs = std::mem::take(&mut *map_runs.lock().expect("map runs lock"));
        let kept = std::iter::once(run_prefix(&run.run_id))
            .chain(map_runs.into_iter().map(|id| format!("{MAP_RESULTS_PREFIX}/{id}")));
        for key in kept {
            remove_if_present(&objects_root.join(LOCAL_BUCKET).join(key))?;
        }
    }
    Ok(Report {
        summary,
        elapsed: started.elapsed(),
    })
}

/// Turns step progress into the bar: a spinner while splitting, then rows processed.
fn progress_bar(bar: ProgressBar) -> impl Fn(StepProgress) + Send + Sync {
    move |progress| match progress {
        StepProgress::Split { rows, done } => {
            bar.set_style(
                ProgressStyle::with_template(
                    "{bar:40} {human_pos}/{human_len} rows, {elapsed} elapsed, eta {eta} {msg}",
                )
                .expect("valid template"),
            );
            bar.set_length(rows);
            bar.set_position(done);
            bar.set_message("processing");
        }
        StepProgress::Chunk { rows } => bar.inc(rows),
    }
}
