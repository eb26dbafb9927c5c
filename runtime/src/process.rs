//! Process: one chunk to table items, an output chunk (a line of the record's output
//! attributes per row) and, when rows were rejected, a rejects chunk. The chunk counts as done
//! only once its outputs are published, and a re-run rewrites exactly the same items and lines.

use crate::chunk_input;
use crate::records::ChunkRecords;
use crate::rejects::RejectWriter;
use crate::row::RowSchema;
use crate::table::{Items, OrdersTable};
use crate::workdir::{ChunkRef, RunDir, create_temporary, publish, read_json, write_json_atomically};
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::sync::{Arc, Mutex};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// What processing one chunk gave; saved as the chunk's done marker.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkStats {
    pub accepted: u64,
    pub rejected: u64,
    /// Table write requests answered with items unprocessed, which were sent again: what the
    /// run's report counts as throttled. Absent from markers of earlier versions.
    #[serde(default)]
    pub throttled: u64,
}

impl ChunkStats {
    /// Rows of the chunk accounted for.
    pub fn rows(&self) -> u64 {
        self.accepted + self.rejected
    }
}

/// The parsed chunk: items for the table and the text of its output and rejects chunks.
#[derive(Default)]
pub struct ParsedChunk {
    pub items: Items,
    pub output: Vec<u8>,
    pub rejects: Vec<u8>,
    pub stats: ChunkStats,
}

/// The buffers processing a chunk fills, kept for the next chunk a process takes: about 10 MiB
/// allocated afresh per chunk costs as many page faults, and freed, it fragments the heap.
#[derive(Default)]
struct ChunkBuffers {
    data: Vec<u8>,
    parsed: ParsedChunk,
}

/// The buffer sets of the chunks one process processes. A chunk holds a set while it reads,
/// parses and writes, and none while it waits for its writes to reach the disk: more chunks
/// can be in flight than there are sets, one's CPU work overlapping another's wait, and memory
/// is bounded by the sets.
#[derive(Clone)]
pub struct BufferPool {
    free: Arc<Mutex<Vec<ChunkBuffers>>>,
    leases: Arc<Semaphore>,
}

impl BufferPool {
    pub fn new(sets: usize) -> Self {
        BufferPool {
            free: Arc::default(),
            leases: Arc::new(Semaphore::new(sets.max(1))),
        }
    }

    /// A set, once one is free. Dropping the lease without giving the set back (on an error)
    /// frees its place for a new set.
    async fn take(&self) -> (ChunkBuffers, OwnedSemaphorePermit) {
        let lease = self
            .leases
            .clone()
            .acquire_owned()
            .await
            .expect("the pool never closes");
        let buffers = self.free.lock().expect("buffer pool lock").pop().unwrap_or_default();
        (buffers, lease)
    }

    /// Frees the sets no chunk holds, for a process done with chunks: what comes next (the
    /// run's merge) then has their memory. A chunk taken later allocates a set again.
    pub fn release(&self) {
        self.free.lock().expect("buffer pool lock").clear();
    }

    fn give_back(&self, buffers: ChunkBuffers, lease: OwnedSemaphorePermit) {
        self.free.lock().expect("buffer pool lock").push(buffers);
        drop(lease);
    }
}

/// Parses a chunk's bytes (header line first) into `reuse`'s buffers, emptied first. Pure: no I/O.
pub fn parse_chunk(data: &[u8], first_line: u64, schema: &RowSchema, reuse: ParsedChunk) -> Result<ParsedChunk> {
    let mut records = ChunkRecords::new(data);
    let header = records.next_record().context("chunk has no header line")?;
    let mut rows = schema.reader(header.fields.iter()).context("chunk header")?;
    let ParsedChunk {
        mut items,
        mut output,
        rejects: mut rejected,
        ..
    } = reuse;
    items.clear(schema.names());
    output.clear();
    rejected.clear();
    // Chunk rows are about as long as their items' values; name codes and lengths add ~50 bytes.
    items.reserve(data.len() / 100, data.len() * 2);
    output.reserve(data.len() / 2);
    let mut rejects = RejectWriter::new(rejected);
    // Line 1 of the chunk is its header; line 2 is the input's `first_line`.
    let line_of = |chunk_line: u64| first_line + chunk_line - 2;
    while let Some(record) = records.next_record() {
        if let Err(reason) = rows.read(&record.fields, &mut items, &mut output) {
            rejects.reject(line_of(record.line), &reason.to_string(), &data[record.raw])?;
        }
    }
    let stats = ChunkStats {
        accepted: items.len() as u64,
        rejected: rejects.count(),
        throttled: 0,
    };
    Ok(ParsedChunk {
        items,
        output,
        rejects: rejects.into_inner()?,
        stats,
    })
}

/// Processes one chunk of `run`: table writes and outputs (at once), then the done marker. A
/// chunk already done is left as it is. The caller removes it from
/// the pending set.
pub async fn process_chunk(
    run: &RunDir,
    chunk: ChunkRef,
    table: &OrdersTable,
    schema: &RowSchema,
    buffers: &BufferPool,
) -> Result<ChunkStats> {
    if let Some(stats) = read_json::<ChunkStats>(&run.done(chunk))? {
        return Ok(stats);
    }
    let (ChunkBuffers { mut data, parsed }, lease) = buffers.take().await;
    data.clear();
    let input = chunk_input::read(run, chunk, &mut data).await?;
    let ParsedChunk {
        items,
        output,
        rejects,
        mut stats,
    } = parse_chunk(&data, chunk.first_line, schema, parsed).with_context(|| format!("chunk {chunk}"))?;
    // The output files are written while the table is: neither waits for the other. The
    // buffers go back to the pool once both are written, before either waits for the disk;
    // only the done marker, last, needs both on disk.
    let (output_path, rejects_path) = (run.output(chunk), run.rejects(chunk));
    let outputs = tokio::task::spawn_blocking(move || -> Result<(Vec<u8>, Vec<u8>, Vec<Unpublished>)> {
        let mut files = vec![write_unpublished(&output_path, &output)?];
        // A chunk without rejects has no rejects file: its done marker says it has none.
        if stats.rejected > 0 {
            files.push(write_unpublished(&rejects_path, &rejects)?);
        }
        Ok((output, rejects, files))
    });
    let (items_back, items_written) = tokio::sync::oneshot::channel();
    let stored = table.put_all(items, move |items| drop(items_back.send(items)));
    let published = async {
        let items = items_written.await;
        let (output, rejects, files) = outputs.await??;
        if let Ok(items) = items {
            let parsed = ParsedChunk {
                items,
                output,
                rejects,
                stats,
            };
            buffers.give_back(ChunkBuffers { data, parsed }, lease);
        }
        tokio::task::spawn_blocking(move || files.into_iter().try_for_each(Unpublished::publish)).await?
    };
    let (stored, published) = tokio::join!(stored, published);
    stats.throttled = stored.with_context(|| format!("writing the items of chunk {chunk}"))?;
    published?;
    write_json_atomically(&run.done(chunk), &stats)?;
    input.release()?;
    Ok(stats)
}

/// A file written to its temporary path, published once it is on disk.
struct Unpublished {
    file: std::fs::File,
    path: std::path::PathBuf,
}

impl Unpublished {
    fn publish(self) -> Result<()> {
        publish(self.file, &self.path)
    }
}

fn write_unpublished(path: &std::path::Path, bytes: &[u8]) -> Result<Unpublished> {
    let mut file = create_temporary(path)?;
    file.write_all(bytes)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(Unpublished {
        file,
        path: path.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::order_header as input_header;
    use crate::row::order_schema;

    const ROW: &str = "Asia,Japan,Fruits,Offline,M,7/27/2012,100,7/28/2012,1593,9.33,6.92,14862.69,11023.56,3839.13";

    fn row(id: u64) -> String {
        ROW.replace(",100,", &format!(",{id},"))
    }

    #[test]
    fn every_row_is_output_or_rejected_with_its_input_line() {
        let data = format!(
            "{}\n{}\nbad,row\n\n{}\r\n\"quoted\nnewline\",x\n{}",
            input_header(),
            row(1),
            row(2),
            row(3)
        );
        let parsed = parse_chunk(data.as_bytes(), 10, &order_schema("p"), ParsedChunk::default()).unwrap();
        assert_eq!(
            parsed.stats,
            ChunkStats {
                accepted: 3,
                rejected: 2,
                throttled: 0
            }
        );
        let output = String::from_utf8(parsed.output).unwrap();
        let ids: Vec<_> = output.lines().map(|l| l.split(',').next().unwrap()).collect();
        assert_eq!(ids, ["1", "2", "3"]);
        let rejects = String::from_utf8(parsed.rejects).unwrap();
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(rejects.as_bytes());
        let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
        assert_eq!(&rows[0][0], "11");
        assert_eq!(&rows[0][2], "bad,row");
        assert_eq!(&rows[1][0], "14");
        assert_eq!(&rows[1][2], "\"quoted\nnewline\",x");
    }

    #[test]
    fn rejects_after_empty_lines_keep_their_own_line_and_text() {
        let data = format!("{}\n{}\n\n\nbad,row\n\nworse\n", input_header(), row(1));
        let parsed = parse_chunk(data.as_bytes(), 2, &order_schema("p"), ParsedChunk::default()).unwrap();
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(parsed.rejects.as_slice());
        let rows: Vec<(String, String)> = reader
            .records()
            .map(|r| r.unwrap())
            .map(|r| (r[0].to_string(), r[2].to_string()))
            .collect();
        assert_eq!(rows, [("5".into(), "bad,row".into()), ("7".into(), "worse".into())]);
    }

    #[test]
    fn buffers_reused_from_an_earlier_chunk_hold_only_the_new_one() {
        let ids = order_schema("p");
        let earlier = format!("{}\n{}\n{}\nbad,row\n", input_header(), row(7), row(8));
        let used = parse_chunk(earlier.as_bytes(), 2, &ids, ParsedChunk::default()).unwrap();
        let data = format!("{}\n{}\n", input_header(), row(1));
        let reused = parse_chunk(data.as_bytes(), 2, &ids, used).unwrap();
        let fresh = parse_chunk(data.as_bytes(), 2, &ids, ParsedChunk::default()).unwrap();
        assert_eq!(reused.stats, fresh.stats);
        assert_eq!(reused.output, fresh.output);
        assert_eq!(reused.rejects, fresh.rejects);
        let keys = |p: &ParsedChunk| p.items.iter().map(|i| i.compact().to_vec()).collect::<Vec<_>>();
        assert_eq!(keys(&reused), keys(&fresh));
    }

    #[tokio::test]
    async fn the_pool_lends_no_more_sets_than_it_has_and_replaces_a_lost_one() {
        let pool = BufferPool::new(1);
        let (mut set, lease) = pool.take().await;
        let second = tokio::time::timeout(std::time::Duration::from_millis(50), pool.take()).await;
        assert!(second.is_err(), "a second set was lent while the only one was out");
        set.data.extend_from_slice(b"earlier chunk");
        pool.give_back(set, lease);
        let (set, lease) = pool.take().await;
        assert_eq!(set.data, b"earlier chunk", "the set given back is lent again");
        // A chunk that fails drops its set without giving it back; its place is free again.
        drop((set, lease));
        let (mut set, lease) = pool.take().await;
        assert!(set.data.is_empty(), "a new set in the lost one's place");
        // Released, the sets given back are gone: the next chunk gets a new one.
        set.data.extend_from_slice(b"earlier chunk");
        pool.give_back(set, lease);
        pool.release();
        let (set, _lease) = pool.take().await;
        assert!(
            set.data.is_empty(),
            "a set given back before the release was lent again"
        );
    }

    #[tokio::test]
    async fn a_chunk_file_of_an_earlier_version_too_large_to_hold_is_refused_by_name_before_it_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::new(dir.path(), "r").unwrap();
        let chunk = ChunkRef {
            index: 0,
            first_line: 2,
        };
        // Sparse: its size is all the check reads.
        let file = std::fs::File::create(crate::chunk_input::earlier_chunk_file(&run, chunk)).unwrap();
        file.set_len(crate::workdir::MAX_CHUNK_BYTES + 1).unwrap();
        let table = OrdersTable::open(&crate::table::TableUrl::Embedded(dir.path().join("t")))
            .await
            .unwrap();
        let ids = order_schema("p");
        let err = process_chunk(&run, chunk, &table, &ids, &BufferPool::new(1))
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("chunk 000000-2") && err.contains("max_lines_per_batch"),
            "{err}"
        );
    }

    #[test]
    fn a_done_marker_of_an_earlier_version_reads_as_not_throttled() {
        let stats: ChunkStats = serde_json::from_str(r#"{"accepted":3,"rejected":1}"#).unwrap();
        assert_eq!(
            stats,
            ChunkStats {
                accepted: 3,
                rejected: 1,
                throttled: 0
            }
        );
    }

    #[test]
    fn blank_crlf_lines_are_not_rows() {
        let data = format!("{}\r\n{}\r\n\r\n{}\r\n", input_header(), row(1), row(2));
        let parsed = parse_chunk(data.as_bytes(), 2, &order_schema("p"), ParsedChunk::default()).unwrap();
        assert_eq!(
            parsed.stats,
            ChunkStats {
                accepted: 2,
                rejected: 0,
                throttled: 0
            }
        );
    }
}
