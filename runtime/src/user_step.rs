//! The user's process step: their command runs on one chunk, and everything the pipeline's
//! guarantees rest on happens here, around it, whatever the command does.
//!
//! The command reads the chunk at `EVENTDRIVEN_INPUT` and writes its output rows and its
//! rejects to `EVENTDRIVEN_OUTPUT` and `EVENTDRIVEN_REJECTS` (docs/process-contract.md). This
//! module claims nothing the command could break: it gives each attempt empty files, counts
//! the rows of all three once the command has exited 0, refuses a chunk whose rows do not add
//! up ([`ROWS_LOST`], nothing of it published), and only then publishes the outputs, writes
//! the done marker, as the built-in step does. A command run again on
//! the same chunk (a retry, a resumed run) starts from empty files again. The chunk, a range of
//! the input, is written out for the command as a file of its own, header line first.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use anyhow::{Context, Result, bail, ensure};

use crate::chunk_input;
use crate::process::ChunkStats;
use crate::records::{ChunkRecords, reader_builder};
use crate::rejects::{self, RejectWriter};
use crate::workdir::{ChunkRef, RunDir, read_json, remove_if_present, write_atomically, write_json_atomically};

/// The chunk the command reads: the input's header line, then the chunk's rows.
pub const INPUT: &str = "EVENTDRIVEN_INPUT";
/// Where the command writes its output: a header line, then one line per row that made it.
pub const OUTPUT: &str = "EVENTDRIVEN_OUTPUT";
/// Where the command writes its rejects: the header `line,reason,raw`, then one line per
/// rejected row, `line` counting the chunk's rows from 1.
pub const REJECTS: &str = "EVENTDRIVEN_REJECTS";
/// The input line of the chunk's first row, for messages that name input lines.
pub const FIRST_LINE: &str = "EVENTDRIVEN_FIRST_LINE";
/// The error a chunk fails with when its output rows and rejects do not add up to its rows.
pub const ROWS_LOST: &str = "eventdriven.RowsLost";

/// Runs `command` on `chunk` of `run`, checks its accounting and publishes what it wrote.
/// A chunk already done is left as it is; the caller removes it from the pending set.
pub async fn process_chunk_with(run: &RunDir, chunk: ChunkRef, command: &[String]) -> Result<ChunkStats> {
    if let Some(stats) = read_json::<ChunkStats>(&run.done(chunk))? {
        return Ok(stats);
    }
    let (program, arguments) = command.split_first().context("the process command is empty")?;
    let mut input = Vec::new();
    let source = chunk_input::read(run, chunk, &mut input).await?;
    let attempt = Attempt::new(run, chunk)?;
    std::fs::write(&attempt.input, &input).with_context(|| format!("writing {}", attempt.input.display()))?;
    let status = tokio::process::Command::new(program)
        .args(arguments)
        .env(INPUT, &attempt.input)
        .env(OUTPUT, &attempt.output)
        .env(REJECTS, &attempt.rejects)
        .env(FIRST_LINE, chunk.first_line.to_string())
        .stdin(Stdio::null())
        .status()
        .await
        .with_context(|| format!("starting the process command {program:?}"))?;
    ensure!(
        status.success(),
        "the process command {command:?} {status} on chunk {chunk}; the chunk will be tried again"
    );
    let output = read_if_written(&attempt.output)?;
    let rejects = read_if_written(&attempt.rejects)?;
    let checked = check_accounting(chunk, &input, &output, &rejects)?;
    publish_header(run, &checked.header)?;
    write_atomically(&run.output(chunk), &checked.rows)?;
    if checked.stats.rejected > 0 {
        write_atomically(&run.rejects(chunk), &checked.rejects)?;
    }
    write_json_atomically(&run.done(chunk), &checked.stats)?;
    remove_if_present(&attempt.dir)?;
    source.release()?;
    Ok(checked.stats)
}

/// Copies the running binary into `dir` as `eventdriven`, executable, where the user's
/// container runs it (the process Job's init container does this); returns its path.
pub fn install_entrypoint(dir: &Path) -> Result<PathBuf> {
    let binary = std::env::current_exe().context("finding the running binary")?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let installed = dir.join("eventdriven");
    let partial = crate::workdir::temporary(&installed);
    let _ = std::fs::remove_file(&partial);
    // A link where the directory is on the binary's file system (on this machine), else a copy.
    if std::fs::hard_link(&binary, &partial).is_err() {
        std::fs::copy(&binary, &partial)
            .with_context(|| format!("copying {} to {}", binary.display(), partial.display()))?;
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&partial, std::fs::Permissions::from_mode(0o755))?;
    }
    std::fs::rename(&partial, &installed).with_context(|| format!("installing {}", installed.display()))?;
    Ok(installed)
}

/// The files one attempt of the command writes, emptied before it starts.
struct Attempt {
    dir: PathBuf,
    /// The chunk, header line first, as the command reads it.
    input: PathBuf,
    output: PathBuf,
    rejects: PathBuf,
}

impl Attempt {
    fn new(run: &RunDir, chunk: ChunkRef) -> Result<Self> {
        let dir = run.out_dir().join(format!("{:06}.attempt", chunk.index));
        remove_if_present(&dir)?;
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(Attempt {
            input: dir.join("input.csv"),
            output: dir.join("output.csv"),
            rejects: dir.join("rejects.csv"),
            dir,
        })
    }
}

fn read_if_written(path: &Path) -> Result<Vec<u8>> {
    match std::fs::read(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        read => read.with_context(|| format!("reading {}", path.display())),
    }
}

/// What the command wrote, checked and ready to publish.
#[derive(Debug, PartialEq, Eq)]
struct Checked {
    /// The output's header line, without its line end.
    header: Vec<u8>,
    /// The output's rows, one per line, each ending in `\n`.
    rows: Vec<u8>,
    /// The rejects as the built-in step writes them: input lines, no header.
    rejects: Vec<u8>,
    stats: ChunkStats,
}

/// Counts the rows of the chunk, of the output and of the rejects, and refuses the chunk with
/// [`ROWS_LOST`] unless output and rejects account for every row. Pure: no I/O.
fn check_accounting(chunk: ChunkRef, input: &[u8], output: &[u8], rejects: &[u8]) -> Result<Checked> {
    // The input line each of the chunk's rows starts on (its line 1 is the header).
    let mut records = ChunkRecords::new(input);
    records.next_record().context("the chunk has no header line")?;
    let mut input_lines = Vec::new();
    while let Some(record) = records.next_record() {
        input_lines.push(chunk.first_line + record.line - 2);
    }

    let mut records = ChunkRecords::new(output);
    let header = records
        .next_record()
        .map(|r| output[r.raw].to_vec())
        .unwrap_or_default();
    let mut rows = Vec::with_capacity(output.len());
    let mut accepted = 0u64;
    while let Some(record) = records.next_record() {
        rows.extend_from_slice(&output[record.raw]);
        rows.push(b'\n');
        accepted += 1;
    }
    ensure!(
        accepted == 0 || !header.is_empty(),
        "chunk {chunk}: the output has rows but no header line"
    );

    let mut published = RejectWriter::new(Vec::new());
    // Lines may end in CRLF, as CSV writers such as Python's `csv` module end them.
    let mut reader = reader_builder().terminator(csv::Terminator::CRLF).from_reader(rejects);
    for (index, record) in reader.byte_records().enumerate() {
        let record = record.with_context(|| format!("chunk {chunk}: reading the rejects"))?;
        if index == 0 {
            ensure!(
                record.iter().eq(rejects::HEADER.split(',').map(str::as_bytes)),
                "chunk {chunk}: the rejects must start with the header {:?}",
                rejects::HEADER
            );
            continue;
        }
        let (Some(row), Some(reason), Some(raw), None) = (record.get(0), record.get(1), record.get(2), record.get(3))
        else {
            bail!(
                "chunk {chunk}: rejects line {}: expected the fields {}",
                index + 1,
                rejects::HEADER
            );
        };
        let line = std::str::from_utf8(row)
            .ok()
            .and_then(|row| row.parse::<usize>().ok())
            .and_then(|row| input_lines.get(row.checked_sub(1)?))
            .with_context(|| {
                format!(
                    "chunk {chunk}: rejects line {}: {:?} is not a row of the chunk (1 to {})",
                    index + 1,
                    String::from_utf8_lossy(row),
                    input_lines.len()
                )
            })?;
        published.reject(*line, &String::from_utf8_lossy(reason), raw)?;
    }
    // A user's command writes no table through the step, so nothing of it is throttled here.
    let stats = ChunkStats {
        accepted,
        rejected: published.count(),
        throttled: 0,
    };
    let rows_in = input_lines.len() as u64;
    ensure!(
        stats.rows() == rows_in,
        "{ROWS_LOST}: chunk {chunk}: {rows_in} rows in, {} output + {} rejected; nothing of the chunk is published",
        stats.accepted,
        stats.rejected
    );
    Ok(Checked {
        header,
        rows,
        rejects: published.into_inner()?,
        stats,
    })
}

/// Records the output's header for merge, once per run; every chunk must write the same one.
fn publish_header(run: &RunDir, header: &[u8]) -> Result<()> {
    if header.is_empty() {
        return Ok(());
    }
    let path = run.output_header();
    match std::fs::read(&path) {
        Ok(first) => {
            ensure!(
                first == header,
                "the output header {:?} differs from {:?}, the header of the run's other chunks",
                String::from_utf8_lossy(header),
                String::from_utf8_lossy(&first)
            );
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => write_atomically(&path, header),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHUNK: ChunkRef = ChunkRef {
        index: 3,
        first_line: 100,
    };
    const INPUT_CHUNK: &[u8] = b"id,name\n1,a\n\"2\",\"b\nc\"\n3,d\n";

    #[test]
    fn output_and_rejects_that_account_for_every_row_are_published_with_input_lines() {
        let checked = check_accounting(
            CHUNK,
            INPUT_CHUNK,
            b"id,upper\r\n1,A\r\n\r\n3,D",
            b"line,reason,raw\n2,\"name: has a line break\",\"2,\"\"b\nc\"\"\"\n",
        )
        .unwrap();
        assert_eq!(checked.header, b"id,upper");
        assert_eq!(checked.rows, b"1,A\n3,D\n", "one line per row, blank lines dropped");
        assert_eq!(
            String::from_utf8(checked.rejects).unwrap(),
            "101,name: has a line break,\"2,\"\"b\nc\"\"\"\n",
            "the chunk's second row starts on input line 101"
        );
        assert_eq!(
            checked.stats,
            ChunkStats {
                accepted: 2,
                rejected: 1,
                throttled: 0
            }
        );
    }

    #[test]
    fn rejects_with_crlf_line_ends_read_as_with_lf() {
        let checked = check_accounting(
            CHUNK,
            INPUT_CHUNK,
            b"id,upper\r\n1,A\r\n3,D\r\n",
            b"line,reason,raw\r\n2,\"name: has a line break\",\"2,\"\"b\nc\"\"\"\r\n",
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(checked.rejects).unwrap(),
            "101,name: has a line break,\"2,\"\"b\nc\"\"\"\n"
        );
        assert_eq!(checked.stats.rows(), 3);
    }

    #[test]
    fn a_lost_row_fails_the_chunk_naming_the_three_counts() {
        let error = check_accounting(CHUNK, INPUT_CHUNK, b"id\n1\n3\n", b"").unwrap_err();
        assert_eq!(
            error.to_string(),
            "eventdriven.RowsLost: chunk 000003-100: 3 rows in, 2 output + 0 rejected; nothing of the chunk is published"
        );
        let error = check_accounting(CHUNK, INPUT_CHUNK, b"id\n1\n2\n3\n3\n", b"").unwrap_err();
        assert!(error.to_string().contains("3 rows in, 4 output"), "{error}");
    }

    #[test]
    fn rejects_must_name_rows_of_the_chunk_under_their_header() {
        let no_header = check_accounting(CHUNK, INPUT_CHUNK, b"id\n1\n3\n", b"2,bad,x\n").unwrap_err();
        assert!(
            no_header.to_string().contains("must start with the header"),
            "{no_header}"
        );
        let past_the_end =
            check_accounting(CHUNK, INPUT_CHUNK, b"id\n1\n3\n", b"line,reason,raw\n4,bad,x\n").unwrap_err();
        assert!(
            past_the_end
                .to_string()
                .contains("\"4\" is not a row of the chunk (1 to 3)"),
            "{past_the_end}"
        );
        let rows_without_header = check_accounting(CHUNK, b"id\n", b"", b"").unwrap();
        assert_eq!(rows_without_header.stats.rows(), 0, "an empty chunk may write nothing");
    }
}
