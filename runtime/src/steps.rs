//! The four pipeline steps as the Jobs and the Lambda run them. Each is idempotent: a step
//! re-run after a crash, or retried by Step Functions, neither loses nor duplicates a row.
//!
//! The work directory is the source of truth for what is done (files published atomically);
//! the progress store is the queue of what is pending, and is rebuilt from the work directory
//! when it was lost.

use crate::objects::ObjectUrl;
use crate::process::{BufferPool, ChunkStats, process_chunk};
use crate::progress::ProgressStore;
use crate::rejects;
use crate::row::RowSchema;
use crate::split::{Manifest, split};
use crate::table::OrdersTable;
use crate::user_step::process_chunk_with;
use crate::workdir::{ChunkRef, RunDir, read_json, write_json_atomically};
use anyhow::{Context, Result, bail, ensure};
use eventdriven_core::contract::ListChunksResponse;
use eventdriven_core::record::Record;
use eventdriven_core::scale::MapMode;
use serde::{Deserialize, Serialize};

/// Split `input`, a CSV file of `record`s, into the run's chunks, queue them, and write their
/// list to `chunk_list` (where a Distributed Map reads them). A run already split is not split
/// again; chunks it left unprocessed are queued and listed again (the progress store may have
/// lost them). A run already merged is neither split nor queued again: its result is published
/// and its work removed, or being removed when the run was cut short (a whole run started
/// again after a crash comes back here). An input whose header does not fit the record fails
/// here, before any chunk is queued.
pub async fn split_step(
    run: &RunDir,
    progress: &ProgressStore,
    input: &ObjectUrl,
    chunk_list: &ObjectUrl,
    max_rows: u64,
    record: &Record,
) -> Result<Manifest> {
    ensure!(max_rows > 0, "rows per chunk must be at least 1");
    if run.merged().exists() {
        chunk_list.put(b"[]").await?;
        let nothing = || Manifest {
            source: input.to_string(),
            ..Manifest::default()
        };
        return Ok(read_json::<Manifest>(&run.manifest())?.unwrap_or_else(nothing));
    }
    if let Some(manifest) = read_json::<Manifest>(&run.manifest())? {
        let unfinished: Vec<ChunkRef> = manifest
            .chunk_refs()
            .filter(|chunk| !run.done(*chunk).exists())
            .collect();
        progress.add(run.run_id(), &unfinished).await?;
        chunk_list.put(&serde_json::to_vec(&unfinished)?).await?;
        return Ok(manifest);
    }
    std::fs::create_dir_all(run.root()).with_context(|| format!("creating {}", run.root().display()))?;
    let opened = input.open().await?;
    // Chunks are ranges of the input, read by steps that may start elsewhere: the manifest
    // names a local input by its absolute path.
    let object = match input {
        ObjectUrl::Local(path) => std::fs::canonicalize(path)
            .with_context(|| format!("finding {}", path.display()))?
            .display()
            .to_string(),
        s3 => s3.to_string(),
    };
    let (name, run_dir, record) = (input.to_string(), run.clone(), record.clone());
    let manifest =
        tokio::task::spawn_blocking(move || split(opened, object, &name, &run_dir, max_rows, &record)).await??;
    let refs: Vec<ChunkRef> = manifest.chunk_refs().collect();
    progress.replace(run.run_id(), &refs).await?;
    chunk_list.put(&serde_json::to_vec(&refs)?).await?;
    write_json_atomically(&run.manifest(), &manifest)?;
    Ok(manifest)
}

/// The run's pending chunks, as the Lambda returns them: all of them while an inline Map can take
/// them, else only their count (the Distributed Map reads the chunk list split wrote).
pub async fn list_chunks(run_id: &str, progress: &ProgressStore) -> Result<ListChunksResponse> {
    let mut chunks = progress.pending(run_id).await?;
    let count = chunks.len() as u64;
    if MapMode::for_chunks(count) == MapMode::Distributed {
        chunks.clear();
    }
    Ok(ListChunksResponse {
        run_id: run_id.to_string(),
        count,
        chunks,
    })
}

/// Process one chunk with `schema`, then mark it done in the progress store.
pub async fn process_step(
    run: &RunDir,
    progress: &ProgressStore,
    table: &OrdersTable,
    schema: &RowSchema,
    chunk: ChunkRef,
    buffers: &BufferPool,
) -> Result<ChunkStats> {
    let stats = process_chunk(run, chunk, table, schema, buffers).await?;
    progress.complete(run.run_id(), chunk).await?;
    Ok(stats)
}

/// Process one chunk with the user's `command` (docs/process-contract.md), then mark it done
/// in the progress store.
pub async fn user_process_step(
    run: &RunDir,
    progress: &ProgressStore,
    chunk: ChunkRef,
    command: &[String],
) -> Result<ChunkStats> {
    let stats = process_chunk_with(run, chunk, command).await?;
    progress.complete(run.run_id(), chunk).await?;
    Ok(stats)
}

/// Totals of a run, saved when the result is published.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunSummary {
    /// Data rows of the input.
    pub rows_in: u64,
    pub rows_out: u64,
    pub rejected: u64,
    pub chunks: u64,
    pub output: String,
    pub rejects: String,
    /// The chunks' table write requests answered with items unprocessed (throttled), each
    /// sent again. Absent from summaries of earlier versions.
    #[serde(default)]
    pub throttled: u64,
}

/// Concatenate the output chunks in input order into one result headed by `record`'s output
/// attributes (and the rejects beside it), once every chunk is done and every row is accounted
/// for. Unless `keep_work`, the run's chunks are then removed, its summary kept.
pub async fn merge_step(
    run: &RunDir,
    progress: &ProgressStore,
    output: &ObjectUrl,
    keep_work: bool,
    record: &Record,
) -> Result<RunSummary> {
    if let Some(summary) = read_json::<RunSummary>(&run.merged())? {
        // A merge cut short after publishing left work behind.
        if !keep_work {
            run.remove_work()?;
        }
        return Ok(summary);
    }
    let manifest = read_json::<Manifest>(&run.manifest())?.with_context(|| {
        format!(
            "run {} has not been split (no {})",
            run.run_id(),
            run.manifest().display()
        )
    })?;
    let pending = progress.pending_count(run.run_id()).await?;
    ensure!(
        pending == 0,
        "run {} still has {pending} chunk(s) pending",
        run.run_id()
    );

    let rejects_url = output.with_suffix(".rejects.csv");
    let mut summary = RunSummary {
        rows_in: manifest.rows + manifest.rejected,
        rejected: manifest.rejected,
        chunks: manifest.chunks.len() as u64,
        output: output.to_string(),
        rejects: rejects_url.to_string(),
        ..RunSummary::default()
    };
    let mut result = output.create().await?;
    let mut rejected = rejects_url.create().await?;
    let header = match std::fs::read(run.output_header()) {
        Ok(written) => String::from_utf8_lossy(&written).into_owned(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => record.output_header(),
        Err(e) => return Err(e).context("reading the output header a user's process step wrote"),
    };
    result.write(format!("{header}\n").as_bytes()).await?;
    rejected.write(format!("{}\n", rejects::HEADER).as_bytes()).await?;
    rejected.append_file(&run.split_rejects()).await?;
    for (info, chunk) in manifest.chunks.iter().zip(manifest.chunk_refs()) {
        let Some(stats) = read_json::<ChunkStats>(&run.done(chunk))? else {
            bail!(
                "chunk {chunk} of run {} is not pending but has no output; run split again to re-queue it",
                run.run_id()
            );
        };
        ensure!(
            stats.accepted + stats.rejected == info.rows,
            "chunk {chunk}: {} rows split but {} output + {} rejected",
            info.rows,
            stats.accepted,
            stats.rejected
        );
        result.append_file(&run.output(chunk)).await?;
        if stats.rejected > 0 {
            rejected.append_file(&run.rejects(chunk)).await?;
        }
        summary.rows_out += stats.accepted;
        summary.rejected += stats.rejected;
        summary.throttled += stats.throttled;
    }
    rejected.finish().await?;
    result.finish().await?;
    write_json_atomically(&run.merged(), &summary)?;
    if !keep_work {
        run.remove_work()?;
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::progress::MEMORY_URL;
    use eventdriven_core::config_path::ConfigPath;
    use eventdriven_core::record::RecordSpec;

    /// A crash after merge published the result, while it removed the run's work, and the whole
    /// run started again: nothing is split or processed again, and the work leaves the volume.
    #[tokio::test]
    async fn a_run_merged_before_a_crash_is_not_split_again_and_its_work_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::new(dir.path(), "run").unwrap();
        let chunks = [
            ChunkRef {
                index: 0,
                first_line: 2,
            },
            ChunkRef {
                index: 1,
                first_line: 12,
            },
        ];
        let manifest = Manifest {
            source: "orders.csv".into(),
            chunks: chunks
                .iter()
                .map(|&reference| crate::split::ChunkInfo {
                    reference,
                    rows: 10,
                    bytes: None,
                })
                .collect(),
            rows: 20,
            ..Manifest::default()
        };
        let summary = RunSummary {
            rows_in: 20,
            rows_out: 20,
            chunks: 2,
            ..RunSummary::default()
        };
        // Cut short with the chunks and one chunk's done marker already removed.
        std::fs::create_dir_all(run.out_dir()).unwrap();
        write_json_atomically(&run.manifest(), &manifest).unwrap();
        std::fs::write(run.output(chunks[0]), "").unwrap();
        write_json_atomically(&run.done(chunks[0]), &ChunkStats::default()).unwrap();
        write_json_atomically(&run.merged(), &summary).unwrap();

        let progress = ProgressStore::open(MEMORY_URL, None).await.unwrap();
        let input = ObjectUrl::Local(dir.path().join("removed-input.csv"));
        let chunk_list = ObjectUrl::Local(dir.path().join("chunks.json"));
        let record = RecordSpec::orders().resolve(&ConfigPath::attribute("record")).unwrap();
        split_step(&run, &progress, &input, &chunk_list, 10, &record)
            .await
            .unwrap();
        assert_eq!(progress.pending("run").await.unwrap(), [], "no chunk queued again");
        assert_eq!(std::fs::read_to_string(dir.path().join("chunks.json")).unwrap(), "[]");

        let output = ObjectUrl::Local(dir.path().join("result.csv"));
        assert_eq!(
            merge_step(&run, &progress, &output, false, &record).await.unwrap(),
            summary
        );
        let left: Vec<_> = std::fs::read_dir(run.root())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, ["merged.json"], "only merge's marker stays");
        assert!(!dir.path().join("result.csv").exists(), "nothing published again");
    }
}
