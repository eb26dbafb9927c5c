//! The local runner: split, list, process (chunks in parallel) and merge on one machine, with
//! a progress bar on a terminal and a summary at the end.

use crate::objects::ObjectUrl;
use crate::order::ConfirmationIds;
use crate::progress::ProgressStore;
use crate::steps::{RunSummary, list_chunks, merge_step, process_step, split_step};
use crate::table::OrdersTable;
use crate::workdir::{ChunkRef, RunDir};
use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
use std::time::{Duration, Instant};

pub struct LocalRun {
    pub run_id: String,
    pub input: ObjectUrl,
    pub output: ObjectUrl,
    pub max_lines_per_batch: u64,
    pub concurrency: usize,
    pub work_dir: PathBuf,
    pub keep_work: bool,
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

pub async fn run_locally(
    run: &LocalRun,
    progress: &ProgressStore,
    table: &OrdersTable,
    ids: &ConfirmationIds,
) -> Result<Report> {
    let started = Instant::now();
    let dir = RunDir::new(&run.work_dir, &run.run_id)?;
    let bar = ProgressBar::new_spinner().with_message(format!("splitting {}", run.input));
    bar.enable_steady_tick(Duration::from_millis(120));
    let manifest = split_step(&dir, progress, &run.input, run.max_lines_per_batch).await?;
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {human_pos}/{human_len} rows, {elapsed} elapsed, eta {eta} {msg}")
            .expect("valid template"),
    );
    bar.set_length(manifest.rows);
    bar.set_message("processing");

    let pending = list_chunks(&run.run_id, progress).await?.chunks;
    let done_rows: u64 = manifest
        .chunks
        .iter()
        .filter(|c| !pending.contains(&c.reference))
        .map(|c| c.rows)
        .sum();
    bar.set_position(done_rows);
    process_all(&dir, progress, table, ids, &pending, run.concurrency, &bar).await?;

    bar.set_message("merging");
    let summary = merge_step(&dir, progress, &run.output).await?;
    bar.finish_and_clear();
    if !run.keep_work {
        std::fs::remove_dir_all(dir.root()).with_context(|| format!("removing {}", dir.root().display()))?;
    }
    Ok(Report {
        summary,
        elapsed: started.elapsed(),
    })
}

/// Processes `chunks` with at most `concurrency` in flight, each on its own task.
async fn process_all(
    dir: &RunDir,
    progress: &ProgressStore,
    table: &OrdersTable,
    ids: &ConfirmationIds,
    chunks: &[String],
    concurrency: usize,
    bar: &ProgressBar,
) -> Result<()> {
    let mut queue = chunks
        .iter()
        .map(|c| c.parse::<ChunkRef>().map_err(anyhow::Error::msg))
        .collect::<Result<Vec<_>>>()?
        .into_iter();
    let mut running = tokio::task::JoinSet::new();
    loop {
        while running.len() < concurrency {
            let Some(chunk) = queue.next() else { break };
            let (dir, progress, table, ids) = (dir.clone(), progress.clone(), table.clone(), *ids);
            running.spawn(async move { process_step(&dir, &progress, &table, &ids, chunk).await });
        }
        match running.join_next().await {
            Some(result) => bar.inc(result??.rows()),
            None => return Ok(()),
        }
    }
}
