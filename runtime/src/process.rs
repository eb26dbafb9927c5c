//! Process: one chunk to table items, an output chunk (`OrderId,ConfirmationId` lines) and,
//! when rows were rejected, a rejects chunk. The chunk counts as done only once its outputs
//! are published, and a re-run rewrites exactly the same items and lines.

use crate::order::{ConfirmationIds, Layout, parse_row};
use crate::records::reader_builder;
use crate::rejects::RejectWriter;
use crate::table::{Items, OrdersTable};
use crate::workdir::{ChunkRef, RunDir, create_temporary, publish, read_json, write_json_atomically};
use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use std::io::{BufWriter, Write};
use std::sync::{Arc, Mutex};
use tokio::io::AsyncReadExt;

/// What processing one chunk gave; saved as the chunk's done marker.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkStats {
    pub accepted: u64,
    pub rejected: u64,
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

/// Buffers shared by the chunks one process processes: one set per chunk in progress.
#[derive(Clone, Default)]
pub struct BufferPool(Arc<Mutex<Vec<ChunkBuffers>>>);

impl BufferPool {
    fn take(&self) -> ChunkBuffers {
        self.0.lock().expect("buffer pool lock").pop().unwrap_or_default()
    }

    fn give_back(&self, buffers: ChunkBuffers) {
        self.0.lock().expect("buffer pool lock").push(buffers);
    }
}

/// Parses a chunk's bytes (header line first) into `reuse`'s buffers, emptied first. Pure: no I/O.
pub fn parse_chunk(data: &[u8], first_line: u64, ids: &ConfirmationIds, reuse: ParsedChunk) -> Result<ParsedChunk> {
    let mut reader = reader_builder().from_reader(data);
    let mut records = reader.byte_records();
    let header = records.next().context("chunk has no header line")??;
    let layout = Layout::from_header(&header).context("chunk header")?;
    let ParsedChunk {
        mut items,
        mut output,
        rejects: mut rejected,
        ..
    } = reuse;
    items.clear();
    output.clear();
    rejected.clear();
    // Chunk rows are about as long as their items' values; name codes and lengths add ~50 bytes.
    items.reserve(data.len() / 100, data.len() * 2);
    output.reserve(data.len() / 2);
    let mut rejects = RejectWriter::new(rejected);
    // A rejected row's raw text ends where the next record starts, so it is written one step late.
    let mut pending_reject: Option<(u64, String, usize)> = None;
    let line_of = |chunk_line: u64| first_line + chunk_line - 2;
    for record in records {
        let record = record?;
        // The reader records a position before skipping empty lines; the row starts after them.
        let position = record.position().expect("reader records positions");
        let empty_lines = data[position.byte() as usize..]
            .iter()
            .take_while(|&&b| b == b'\n')
            .count();
        let start = position.byte() as usize + empty_lines;
        let chunk_line = position.line() + empty_lines as u64;
        if let Some((line, reason, from)) = pending_reject.take() {
            rejects.reject(line, &reason, trim_line_end(&data[from..start]))?;
        }
        // A line holding only "\r" (a blank CRLF line) is not a row; a quoted "\r" is.
        if record.len() == 1 && &record[0] == b"\r" && data[start..].starts_with(b"\r") {
            continue;
        }
        match parse_row(&layout, &record, ids, &mut items) {
            Ok(order) => {
                output.extend_from_slice(order.order_id().as_bytes());
                output.push(b',');
                output.extend_from_slice(order.confirmation_id.as_str().as_bytes());
                output.push(b'\n');
            }
            Err(reason) => pending_reject = Some((line_of(chunk_line), reason.to_string(), start)),
        }
    }
    if let Some((line, reason, from)) = pending_reject {
        rejects.reject(line, &reason, trim_line_end(&data[from..]))?;
    }
    let stats = ChunkStats {
        accepted: items.len() as u64,
        rejected: rejects.count(),
    };
    Ok(ParsedChunk {
        items,
        output,
        rejects: rejects.into_inner()?,
        stats,
    })
}

/// The raw text of a record: its span without the line ending(s) after it.
fn trim_line_end(span: &[u8]) -> &[u8] {
    let mut end = span.len();
    while end > 0 && matches!(span[end - 1], b'\n' | b'\r') {
        end -= 1;
    }
    &span[..end]
}

/// Processes one chunk of `run`: table writes and outputs (at once), then the done marker, then
/// the chunk's input is removed. A chunk already done is left as it is. The caller removes it from
/// the pending set.
pub async fn process_chunk(
    run: &RunDir,
    chunk: ChunkRef,
    table: &OrdersTable,
    ids: &ConfirmationIds,
    buffers: &BufferPool,
) -> Result<ChunkStats> {
    if let Some(stats) = read_json::<ChunkStats>(&run.done(chunk))? {
        return Ok(stats);
    }
    let ChunkBuffers { mut data, parsed } = buffers.take();
    let path = run.chunk(chunk);
    data.clear();
    let read = match tokio::fs::File::open(&path).await {
        Ok(mut file) => file.read_to_end(&mut data).await,
        Err(e) => Err(e),
    };
    if let Err(e) = read {
        if e.kind() == std::io::ErrorKind::NotFound {
            bail!(
                "chunk {chunk} of run {} does not exist ({})",
                run.run_id(),
                path.display()
            )
        }
        return Err(e).with_context(|| format!("reading {}", path.display()));
    }
    let ParsedChunk {
        items,
        output,
        rejects,
        stats,
    } = parse_chunk(&data, chunk.first_line, ids, parsed).with_context(|| format!("chunk {chunk}"))?;
    // The output files are written while the table is: neither waits for the other's flush to
    // disk. Only the done marker, last, needs both.
    let (output_path, rejects_path) = (run.output(chunk), run.rejects(chunk));
    let outputs = tokio::task::spawn_blocking(move || -> Result<(Vec<u8>, Vec<u8>)> {
        write_published(&output_path, &output)?;
        // A chunk without rejects has no rejects file: its done marker says it has none.
        if stats.rejected > 0 {
            write_published(&rejects_path, &rejects)?;
        }
        Ok((output, rejects))
    });
    let items = table
        .put_all(items)
        .await
        .with_context(|| format!("writing the orders of chunk {chunk}"))?;
    let (output, rejects) = outputs.await??;
    write_json_atomically(&run.done(chunk), &stats)?;
    // Done, the chunk's input is not read again; removing it now frees its space while the
    // run goes on, rather than all at once at its end.
    match std::fs::remove_file(&path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(e).with_context(|| format!("removing {}", path.display()));
        }
        _ => {}
    }
    let parsed = ParsedChunk {
        items,
        output,
        rejects,
        stats,
    };
    buffers.give_back(ChunkBuffers { data, parsed });
    Ok(stats)
}

fn write_published(path: &std::path::Path, bytes: &[u8]) -> Result<()> {
    let mut file = BufWriter::new(create_temporary(path)?);
    file.write_all(bytes)?;
    publish(file.into_inner().map_err(|e| e.into_error())?, path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::order::input_header;

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
        let parsed = parse_chunk(
            data.as_bytes(),
            10,
            &ConfirmationIds::for_pipeline("p"),
            ParsedChunk::default(),
        )
        .unwrap();
        assert_eq!(
            parsed.stats,
            ChunkStats {
                accepted: 3,
                rejected: 2
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
        let parsed = parse_chunk(
            data.as_bytes(),
            2,
            &ConfirmationIds::for_pipeline("p"),
            ParsedChunk::default(),
        )
        .unwrap();
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
        let ids = ConfirmationIds::for_pipeline("p");
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

    #[test]
    fn blank_crlf_lines_are_not_rows() {
        let data = format!("{}\r\n{}\r\n\r\n{}\r\n", input_header(), row(1), row(2));
        let parsed = parse_chunk(
            data.as_bytes(),
            2,
            &ConfirmationIds::for_pipeline("p"),
            ParsedChunk::default(),
        )
        .unwrap();
        assert_eq!(
            parsed.stats,
            ChunkStats {
                accepted: 2,
                rejected: 0
            }
        );
    }
}
