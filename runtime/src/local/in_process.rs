//! In-process integrations for `eventdriven run`: the definition core renders runs through the
//! interpreter, and each `eks:runJob` or `lambda:invoke` task calls the step's function directly
//! with the environment the task rendered, on shared stores.
//!
//! Only where objects live differs from a deployed run: the input and output the user named
//! replace the rendered `s3://` URLs, the work directory replaces the mounted volume, and its
//! `objects/` directory stands in for the bucket the chunk list and map results go to.

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use eventdriven_core::contract::{self, Step};
use eventdriven_states::{Failure, Integration, Resource, TaskRequest};
use serde_json::Value;

use crate::declaration::{RecordSource, record};
use crate::local::job::{JobSpec, PodRun, finished_job};
use crate::local::lambda_process::invoke_envelope;
use crate::local::s3_objects::directory_path;
use crate::objects::ObjectUrl;
use crate::process::BufferPool;
use crate::progress::ProgressStore;
use crate::row::RowSchema;
use crate::steps::{merge_step, process_step, split_step};
use crate::table::OrdersTable;
use crate::workdir::{ChunkRef, RunDir};

/// What the steps report as they go (the progress bar listens).
#[derive(Clone, Copy, Debug)]
pub enum StepProgress {
    /// The input is split into `rows` rows, of which `done` were processed by an earlier attempt.
    Split { rows: u64, done: u64 },
    /// A chunk of `rows` rows was processed.
    Chunk { rows: u64 },
}

pub type OnProgress = Arc<dyn Fn(StepProgress) + Send + Sync>;

/// Runs the pipeline's steps and its Lambda inside this process.
#[derive(Clone)]
pub struct InProcessSteps {
    pub work_dir: PathBuf,
    pub input: ObjectUrl,
    pub output: ObjectUrl,
    pub progress: ProgressStore,
    pub table: OrdersTable,
    pub on_progress: Option<OnProgress>,
    /// Reused by the chunks processed one after another.
    pub buffers: BufferPool,
}

#[async_trait]
impl Integration for InProcessSteps {
    fn serves(&self, resource: &Resource) -> bool {
        matches!(
            (resource.service.as_str(), resource.action.as_str()),
            ("eks", "runJob") | ("lambda", "invoke")
        )
    }

    async fn call(&self, request: TaskRequest) -> Result<Value, Failure> {
        if request.resource.service == "lambda" {
            // The error is named as the deployed function names it.
            let list = crate::lambda::handle(&self.progress, &request.parameters["Payload"])
                .await
                .map_err(|e| Failure::new(crate::lambda::ERROR_TYPE, format!("{e:#}")))?;
            return Ok(invoke_envelope(
                serde_json::to_value(list).map_err(|e| Failure::runtime(e.to_string()))?,
            ));
        }
        let spec = JobSpec::from_parameters(&request.parameters)?;
        let started = eventdriven_states::clock::now_iso();
        // A task of its own, so that chunks processed at once use every core.
        let steps = self.clone();
        let job = spec.clone();
        let outcome = tokio::spawn(async move { steps.run_step(&job).await })
            .await
            .unwrap_or_else(|e| Err(anyhow::anyhow!("the step panicked: {e}")));
        let pod = PodRun {
            name: spec.pod_name(0),
            succeeded: outcome.is_ok(),
            logs: match &outcome {
                Ok(log) => log.clone(),
                Err(e) => format!("error: {e:#}"),
            },
            ended: if outcome.is_ok() {
                "exit status: 0"
            } else {
                "exit status: 1"
            }
            .into(),
            reason: None,
        };
        finished_job(&request.parameters, &spec, &[pod], &started)
    }
}

impl InProcessSteps {
    /// The directory standing in for the pipeline's bucket (see [`directory_path`]).
    pub fn objects_root(&self) -> PathBuf {
        self.work_dir.join("objects")
    }

    /// Where an object a Job was told to write lives in this run.
    fn local_object(&self, url: &str) -> anyhow::Result<ObjectUrl> {
        Ok(match url.parse::<ObjectUrl>()? {
            ObjectUrl::S3 { bucket, key } => ObjectUrl::Local(
                directory_path(&self.objects_root(), &bucket, &key)
                    .ok_or_else(|| anyhow::anyhow!("{url} names no object this run can keep"))?,
            ),
            local => local,
        })
    }

    fn report(&self, progress: StepProgress) {
        if let Some(on_progress) = &self.on_progress {
            on_progress(progress);
        }
    }

    /// Runs the Job's step with its rendered environment; returns what it would have printed.
    async fn run_step(&self, job: &JobSpec) -> anyhow::Result<String> {
        let setting = |name: &str| {
            job.container
                .env
                .get(name)
                .ok_or_else(|| anyhow::anyhow!("the {} Job has no {name}", job.name))
        };
        let step = job.container.args.first().map(String::as_str).unwrap_or_default();
        let dir = RunDir::new(&self.work_dir, setting(contract::RUN_ID)?)?;
        // Unset, as a pipeline without a record block renders it: the order layout.
        let record = record(
            job.container
                .env
                .get(contract::RECORD)
                .map(|json| RecordSource::Json(json.clone()))
                .as_ref(),
        )?;
        let printed = if step == Step::Split.subcommand() {
            let max_rows = setting(contract::MAX_LINES_PER_BATCH)?.parse()?;
            let chunk_list = self.local_object(setting(contract::CHUNK_LIST_URL)?)?;
            let manifest = split_step(&dir, &self.progress, &self.input, &chunk_list, max_rows, &record).await?;
            let done = manifest
                .chunks
                .iter()
                .zip(manifest.chunk_refs())
                .filter(|(_, chunk)| dir.done(*chunk).exists())
                .map(|(info, _)| info.rows)
                .sum();
            self.report(StepProgress::Split {
                rows: manifest.rows,
                done,
            });
            // Counts only, as the split Job prints: the chunk list can be long.
            serde_json::to_string(&manifest.summary())?
        } else if step == Step::Process.subcommand() {
            let chunk: ChunkRef = setting(contract::CHUNK)?.parse().map_err(anyhow::Error::msg)?;
            let schema = RowSchema::for_table(&record, setting(contract::PIPELINE_NAME)?, &self.table).await?;
            let stats = process_step(&dir, &self.progress, &self.table, &schema, chunk, &self.buffers).await?;
            self.report(StepProgress::Chunk { rows: stats.rows() });
            serde_json::to_string(&stats)?
        } else if step == Step::Merge.subcommand() {
            // Every chunk is done: their buffers' memory goes to the merge of the table's keys.
            self.buffers.release();
            // The table takes the run's staged items while merge writes the result, the one
            // mostly CPU, the other mostly disk.
            let taking = self.table.take_staged();
            let merged = merge_step(&dir, &self.progress, &self.output, true, &record).await;
            taking.await?;
            serde_json::to_string(&merged?)?
        } else {
            anyhow::bail!("the Job runs {step:?}, which is no pipeline step")
        };
        Ok(printed)
    }
}
