//! Split: scan the input into chunks of at most `max_rows` data rows, cut only at record
//! boundaries. A chunk is a byte range of the input, read with the input's header line before
//! it (`chunk_input`); split writes no copy. Memory stays constant: the read buffers plus, for
//! a record that spans buffers, at most [`MAX_RECORD_BYTES`] of it.

use crate::objects::Opened;
use crate::records::{Boundaries, is_blank, reader_builder};
use crate::rejects::RejectWriter;
use crate::row::{HeaderError, Layout};
use crate::workdir::{ChunkRef, MAX_CHUNK_BYTES, RunDir};
use anyhow::{Context, Result};
use eventdriven_core::record::Record;
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::{BufWriter, Read};

const READ_BUFFER_BYTES: usize = 1 << 20;
/// Read buffers: one being filled, one filled and waiting, one being scanned.
const READ_BUFFERS: usize = 3;
/// A longer record is rejected at split (with a preview of its text), which bounds memory.
/// No record inside one read buffer can exceed it, which the fast path relies on.
pub const MAX_RECORD_BYTES: usize = READ_BUFFER_BYTES;
/// The header is one line; anything longer is not a CSV file of records.
const MAX_HEADER_BYTES: usize = 64 << 10;
/// How much of an over-long record the rejects file keeps.
const PREVIEW_BYTES: usize = 1024;
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// What split produced, saved as the run's manifest.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub source: String,
    /// Where the chunks' bytes are: ranges of the input. Absent from manifests of earlier
    /// versions, whose chunks are files of their own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chunk_source: Option<ChunkSource>,
    pub chunks: Vec<ChunkInfo>,
    /// Data rows in chunks.
    pub rows: u64,
    /// Data rows rejected by split itself (over-long records).
    pub rejected: u64,
}

/// The input the chunks are ranges of, as split read it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkSource {
    /// The input's URL (`s3://…`, or an absolute path).
    pub object: String,
    /// The version split read ([`crate::objects::Opened`]); a chunk is read only from it.
    pub version: String,
    /// The input's header line, line end included, which goes before each chunk's rows.
    pub header: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkInfo {
    pub reference: ChunkRef,
    pub rows: u64,
    /// The chunk's rows in the input, from its first row's first byte to past its last row's
    /// line end; absent for a chunk file of an earlier version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<ByteRange>,
}

/// A range of the input's bytes, `start` included, `end` not.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ByteRange {
    pub start: u64,
    pub end: u64,
}

/// What split reports: the manifest's counts, whatever the number of chunks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SplitSummary<'a> {
    pub source: &'a str,
    pub rows: u64,
    pub rejected: u64,
    pub chunks: usize,
}

impl Manifest {
    pub fn summary(&self) -> SplitSummary<'_> {
        SplitSummary {
            source: &self.source,
            rows: self.rows,
            rejected: self.rejected,
            chunks: self.chunks.len(),
        }
    }

    pub fn chunk_refs(&self) -> impl Iterator<Item = ChunkRef> + '_ {
        self.chunks.iter().map(|c| c.reference)
    }
}

/// Input that is not a CSV file of the declared records; the message names the source and line.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("{source_name}: the file is empty; expected a CSV header line")]
    Empty { source_name: String },
    #[error("{source_name} line 1: {error}")]
    Header { source_name: String, error: HeaderError },
    #[error("{source_name} line 1: the header is longer than {MAX_HEADER_BYTES} bytes; is this a CSV file?")]
    HeaderTooLong { source_name: String },
    #[error(
        "{source_name}: the chunk of {max_rows} rows from line {first_line} grows past {} MiB, more than a \
         process holds; lower max_lines_per_batch (rows per chunk)",
        MAX_CHUNK_BYTES >> 20
    )]
    ChunkTooLarge {
        source_name: String,
        first_line: u64,
        max_rows: u64,
    },
}

/// Splits `input`, the CSV file of `record`s at `object` (a URL or an absolute path), into
/// chunks of the run and returns the manifest (not yet saved): each chunk is a range of the
/// input's bytes, nothing is copied. A header without every required column, or with one the
/// record does not declare, fails the split. `source_name` is how messages name the input.
pub fn split(
    input: Opened,
    object: String,
    source_name: &str,
    run: &RunDir,
    max_rows: u64,
    record: &Record,
) -> Result<Manifest> {
    assert!(max_rows > 0, "max_rows is validated by the caller");
    let rejects =
        File::create(run.split_rejects()).with_context(|| format!("creating {}", run.split_rejects().display()))?;
    let mut splitter = Splitter {
        source_name,
        record,
        max_rows,
        header: None,
        boundaries: Boundaries::default(),
        line: 1,
        base: 0,
        carry: Vec::new(),
        overlong_bytes: 0,
        chunk: None,
        manifest: Manifest {
            source: source_name.to_string(),
            ..Manifest::default()
        },
        rejects: RejectWriter::new(BufWriter::new(rejects)),
    };
    splitter.read_all(input.reader)?;
    let Splitter {
        mut manifest,
        rejects,
        header,
        ..
    } = splitter;
    let header = String::from_utf8(header.unwrap_or_default())
        .with_context(|| format!("{source_name} line 1: the header is not UTF-8"))?;
    manifest.chunk_source = Some(ChunkSource {
        object,
        version: input.version,
        header,
    });
    manifest.rejected = rejects.count();
    rejects
        .into_inner()?
        .into_inner()
        .map_err(|e| e.into_error())?
        .sync_all()?;
    Ok(manifest)
}

/// The chunk being cut: rows from `start` to `end` of the input.
struct OpenChunk {
    reference: ChunkRef,
    start: u64,
    end: u64,
    rows: u64,
}

struct Splitter<'a> {
    source_name: &'a str,
    record: &'a Record,
    max_rows: u64,
    /// The header line (BOM removed, line ending kept), once read.
    header: Option<Vec<u8>>,
    boundaries: Boundaries,
    /// Input line number at the start of the current record.
    line: u64,
    /// The input offset of the buffer being scanned.
    base: u64,
    /// The current record's bytes from earlier buffers, up to the record size limit.
    carry: Vec<u8>,
    /// Bytes of the current record beyond what `carry` kept.
    overlong_bytes: u64,
    chunk: Option<OpenChunk>,
    manifest: Manifest,
    rejects: RejectWriter<BufWriter<File>>,
}

impl Splitter<'_> {
    /// Reads the input on a thread of its own while this one scans, so that reading and
    /// scanning overlap. Buffers return to the reader to be filled again: memory stays at
    /// [`READ_BUFFERS`] of them.
    fn read_all(&mut self, input: impl Read + Send) -> Result<()> {
        std::thread::scope(|scope| -> Result<()> {
            let (filled_tx, filled_rx) = std::sync::mpsc::sync_channel(1);
            let (empty_tx, empty_rx) = std::sync::mpsc::channel::<Vec<u8>>();
            for _ in 0..READ_BUFFERS {
                empty_tx
                    .send(vec![0u8; READ_BUFFER_BYTES])
                    .expect("the receiver is here");
            }
            scope.spawn(move || {
                let mut input = input;
                // Ends when the input does, on an error, or when the scanner stops taking buffers.
                while let Ok(mut buf) = empty_rx.recv() {
                    let read = read_full(&mut input, &mut buf);
                    let last = !matches!(read, Ok(n) if n > 0);
                    if filled_tx.send(read.map(|n| (buf, n))).is_err() || last {
                        break;
                    }
                }
            });
            for read in filled_rx {
                let (buf, n) = read.with_context(|| format!("reading {}", self.source_name))?;
                if n == 0 {
                    break;
                }
                let mut data = &buf[..n];
                if self.base == 0
                    && let Some(rest) = data.strip_prefix(UTF8_BOM)
                {
                    data = rest;
                    self.base = UTF8_BOM.len() as u64;
                }
                self.feed(data)?;
                self.base += data.len() as u64;
                // The reader has stopped once the input ended; the buffer is then not needed.
                let _ = empty_tx.send(buf);
            }
            Ok(())
        })?;
        if self.header.is_none() && self.carry.is_empty() {
            return Err(InputError::Empty {
                source_name: self.source_name.to_string(),
            }
            .into());
        }
        if !self.carry.is_empty() || self.overlong_bytes > 0 {
            self.end_record(&[], 0, 0, false)?;
        }
        self.close_chunk();
        Ok(())
    }

    /// Scans one buffer: records are counted into chunks, the incomplete tail is carried into
    /// the next buffer.
    fn feed(&mut self, buf: &[u8]) -> Result<()> {
        let mut record_start = 0;
        let mut next_quote = 0;
        loop {
            if next_quote < record_start {
                next_quote = memchr::memchr(b'"', &buf[record_start..]).map_or(buf.len(), |q| record_start + q);
            }
            record_start = self.plain_lines(buf, record_start, next_quote.max(record_start))?;
            let Some(end) = self.boundaries.next_end(buf, record_start) else {
                break;
            };
            self.end_record(buf, record_start, end + 1, true)?;
            record_start = end + 1;
        }
        self.carry_tail(&buf[record_start..])
    }

    /// The fast path of [`Splitter::feed`]: complete lines before `quote_free_until` hold no
    /// quote, so each is one record (or blank), and only rows need counting. It stops at the
    /// end of the open chunk, returning where the general path takes over.
    fn plain_lines(&mut self, buf: &[u8], from: usize, quote_free_until: usize) -> Result<usize> {
        let ready = self.header.is_some() && self.carry.is_empty() && self.overlong_bytes == 0;
        let Some(chunk) = self
            .chunk
            .as_mut()
            .filter(|_| ready && self.boundaries.between_records())
        else {
            return Ok(from);
        };
        let mut line_start = from;
        let mut row_end = None;
        let mut full = false;
        for newline in memchr::memchr_iter(b'\n', &buf[from..quote_free_until]) {
            let end = from + newline;
            self.line += 1;
            let blank = is_blank(&buf[line_start..end]);
            line_start = end + 1;
            if !blank {
                self.manifest.rows += 1;
                chunk.rows += 1;
                row_end = Some(line_start);
                if chunk.rows == self.max_rows {
                    full = true;
                    break;
                }
            }
        }
        if let Some(end) = row_end {
            self.extend_chunk(self.base + end as u64)?;
        }
        if full {
            self.close_chunk();
        }
        Ok(line_start)
    }

    fn carry_tail(&mut self, tail: &[u8]) -> Result<()> {
        let limit = if self.header.is_none() {
            MAX_HEADER_BYTES
        } else {
            MAX_RECORD_BYTES
        };
        let room = (limit + 1).saturating_sub(self.carry.len()).min(tail.len());
        self.carry.extend_from_slice(&tail[..room]);
        self.overlong_bytes += (tail.len() - room) as u64;
        if self.header.is_none() && self.carry.len() > MAX_HEADER_BYTES {
            return Err(InputError::HeaderTooLong {
                source_name: self.source_name.to_string(),
            }
            .into());
        }
        Ok(())
    }

    /// Handles the record made of `carry` + `buf[start..end]` (`end` past its newline when
    /// `terminated`).
    fn end_record(&mut self, buf: &[u8], start: usize, end: usize, terminated: bool) -> Result<()> {
        let start_line = self.line;
        let lines = 1 + self.boundaries.take_quoted_newlines();
        self.line += lines;
        let body_end = if terminated { end - 1 } else { end };
        let carried = self.carry.len() as u64 + self.overlong_bytes;
        let total = carried + (body_end - start) as u64;
        let (record_start, record_end) = (self.base + start as u64 - carried, self.base + end as u64);

        if self.header.is_none() {
            let mut header = std::mem::take(&mut self.carry);
            header.extend_from_slice(&buf[start..body_end]);
            if total as usize > MAX_HEADER_BYTES {
                return Err(InputError::HeaderTooLong {
                    source_name: self.source_name.to_string(),
                }
                .into());
            }
            self.check_header(&header)?;
            header.push(b'\n');
            self.header = Some(header);
            return Ok(());
        }

        let blank = total <= 1 && self.carry.iter().chain(&buf[start..body_end]).all(|&b| b == b'\r');
        if total as usize > MAX_RECORD_BYTES {
            let mut preview = std::mem::take(&mut self.carry);
            preview.extend_from_slice(&buf[start..body_end.min(start + PREVIEW_BYTES)]);
            preview.truncate(PREVIEW_BYTES);
            let reason = format!("record is {total} bytes, over the {MAX_RECORD_BYTES}-byte limit; raw text truncated");
            self.rejects.reject(start_line, &reason, &preview)?;
            // The chunk ends before it: a chunk's range holds only records process reads.
            self.close_chunk();
            self.overlong_bytes = 0;
            return Ok(());
        }
        self.carry.clear();
        if blank {
            return Ok(());
        }
        if self.chunk.is_none() {
            self.chunk = Some(OpenChunk {
                reference: ChunkRef {
                    index: self.manifest.chunks.len() as u32,
                    first_line: start_line,
                },
                start: record_start,
                end: record_start,
                rows: 0,
            });
        }
        self.manifest.rows += 1;
        self.extend_chunk(record_end)?;
        let chunk = self.chunk.as_mut().expect("opened above");
        chunk.rows += 1;
        if chunk.rows == self.max_rows {
            self.close_chunk();
        }
        Ok(())
    }

    fn check_header(&self, header: &[u8]) -> Result<()> {
        let record = reader_builder()
            .from_reader(header)
            .byte_records()
            .next()
            .transpose()
            .ok()
            .flatten()
            .unwrap_or_default();
        Layout::from_header(self.record, record.iter()).map_err(|error| InputError::Header {
            source_name: self.source_name.to_string(),
            error,
        })?;
        Ok(())
    }

    /// Grows the open chunk to end at the input offset `end`, within what a process holds.
    fn extend_chunk(&mut self, end: u64) -> Result<()> {
        let header = self.header.as_ref().map_or(0, Vec::len) as u64;
        let chunk = self.chunk.as_mut().expect("a chunk is open");
        chunk.end = end;
        if header + chunk.end - chunk.start > MAX_CHUNK_BYTES {
            return Err(InputError::ChunkTooLarge {
                source_name: self.source_name.to_string(),
                first_line: chunk.reference.first_line,
                max_rows: self.max_rows,
            }
            .into());
        }
        Ok(())
    }

    fn close_chunk(&mut self) {
        if let Some(chunk) = self.chunk.take() {
            self.manifest.chunks.push(ChunkInfo {
                reference: chunk.reference,
                rows: chunk.rows,
                bytes: Some(ByteRange {
                    start: chunk.start,
                    end: chunk.end,
                }),
            });
        }
    }
}

/// Fills `buf` as far as the input allows (fewer, larger buffers for the scanner).
fn read_full(input: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match input.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}
