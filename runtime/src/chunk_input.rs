//! A chunk's bytes as a process step reads them: the input's header line, then the chunk's
//! rows. Split copies nothing: it records each chunk as a byte range of the input, with the
//! input's version, and a chunk is read from that range (a ranged `GetObject` in the cloud, a
//! positioned read locally). Chunks that an earlier version wrote out as files, listed in a
//! manifest without ranges, are read from those files.

use std::path::PathBuf;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::SystemTime;

use anyhow::{Context, Result, bail};

use crate::objects::ObjectUrl;
use crate::split::Manifest;
use crate::workdir::{ChunkRef, MAX_CHUNK_BYTES, RunDir, read_json, remove_if_present};

/// Where a chunk's bytes came from, for what is left to do once the chunk is done.
#[derive(Debug)]
pub enum ChunkInput {
    /// A range of the input, which stays as it is.
    Range,
    /// A chunk file of an earlier version, removed once the chunk is done.
    File(PathBuf),
}

impl ChunkInput {
    /// Frees what the chunk kept once it is done and will not be read again.
    pub fn release(self) -> Result<()> {
        match self {
            ChunkInput::Range => Ok(()),
            ChunkInput::File(path) => remove_if_present(&path),
        }
    }
}

/// Appends `chunk`'s bytes, header line first, to `into`.
pub async fn read(run: &RunDir, chunk: ChunkRef, into: &mut Vec<u8>) -> Result<ChunkInput> {
    let manifest = manifest(run)?;
    let info = manifest
        .chunks
        .get(chunk.index as usize)
        .filter(|info| info.reference == chunk)
        .with_context(|| format!("chunk {chunk} is not in the manifest of run {}", run.run_id()))?;
    let (Some(source), Some(range)) = (&manifest.chunk_source, &info.bytes) else {
        return read_file(run, chunk, into);
    };
    let object: ObjectUrl = source.object.parse()?;
    into.extend_from_slice(source.header.as_bytes());
    object
        .read_range(range.start..range.end, &source.version, into)
        .await
        .with_context(|| format!("reading chunk {chunk} of run {}", run.run_id()))?;
    Ok(ChunkInput::Range)
}

/// The run's manifest, parsed once per process while the file stays the same: a run of
/// thousands of chunks would otherwise parse it thousands of times, once per chunk.
fn manifest(run: &RunDir) -> Result<Arc<Manifest>> {
    type Cached = Option<(PathBuf, (u64, SystemTime), Arc<Manifest>)>;
    static LAST: LazyLock<Mutex<Cached>> = LazyLock::new(Mutex::default);
    let path = run.manifest();
    let stamp = match std::fs::metadata(&path) {
        Ok(meta) => (meta.len(), meta.modified()?),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            bail!(
                "run {} has no manifest ({}): it was not split",
                run.run_id(),
                path.display()
            )
        }
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let mut last = LAST.lock().expect("manifest cache lock");
    if let Some((cached, cached_stamp, manifest)) = &*last
        && *cached == path
        && *cached_stamp == stamp
    {
        return Ok(manifest.clone());
    }
    let manifest: Arc<Manifest> = read_json::<Manifest>(&path)?
        .with_context(|| format!("{} disappeared while it was read", path.display()))?
        .into();
    *last = Some((path, stamp, manifest.clone()));
    Ok(manifest)
}

fn read_file(run: &RunDir, chunk: ChunkRef, into: &mut Vec<u8>) -> Result<ChunkInput> {
    use std::io::Read;
    let path = run.chunk(chunk);
    let read = std::fs::File::open(&path).and_then(|mut file| {
        let size = file.metadata()?.len();
        if size > MAX_CHUNK_BYTES {
            return Ok(Some(size));
        }
        file.read_to_end(into).map(|_| None)
    });
    match read {
        Ok(None) => Ok(ChunkInput::File(path)),
        Ok(Some(size)) => bail!(
            "chunk {chunk} of run {} is {} MiB, over the {} MiB a chunk may hold: split the input \
             with a lower max_lines_per_batch",
            run.run_id(),
            size >> 20,
            MAX_CHUNK_BYTES >> 20
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
            "chunk {chunk} of run {} does not exist ({})",
            run.run_id(),
            path.display()
        ),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// Saves the manifest of a run split by an earlier version, `chunk` its only chunk, listed
/// without a range; returns where that version kept the chunk's file (its directory made).
#[cfg(test)]
pub(crate) fn earlier_chunk_file(run: &RunDir, chunk: ChunkRef) -> PathBuf {
    let manifest = Manifest {
        chunks: vec![crate::split::ChunkInfo {
            reference: chunk,
            rows: 1,
            bytes: None,
        }],
        ..Manifest::default()
    };
    crate::workdir::write_json_atomically(&run.manifest(), &manifest).unwrap();
    std::fs::create_dir_all(run.chunks_dir()).unwrap();
    run.chunk(chunk)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::objects::Opened;
    use crate::split::split;
    use crate::workdir::write_json_atomically;
    use eventdriven_core::config_path::ConfigPath;
    use eventdriven_core::record::RecordSpec;

    /// The order layout's header line, with a CRLF line end.
    fn header() -> String {
        format!("{}\r\n", crate::generate::order_header())
    }

    fn row(id: u64) -> String {
        format!("Asia,Japan,Fruits,Offline,M,7/27/2012,{id},7/28/2012,1593,9.33,6.92,14862.69,11023.56,3839.13\r\n")
    }

    /// Splits the file at `path` into chunks of 2 rows and saves the manifest, as split_step does.
    async fn split_file(run: &RunDir, path: &std::path::Path) -> Manifest {
        let opened: Opened = ObjectUrl::Local(path.to_owned()).open().await.unwrap();
        let record = RecordSpec::orders().resolve(&ConfigPath::attribute("record")).unwrap();
        std::fs::create_dir_all(run.root()).unwrap();
        let manifest = split(opened, path.display().to_string(), "input.csv", run, 2, &record).unwrap();
        write_json_atomically(&run.manifest(), &manifest).unwrap();
        manifest
    }

    #[tokio::test]
    async fn a_chunk_reads_as_the_header_and_its_rows_and_copies_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("input.csv");
        // A BOM, a blank line between rows, and a last row without its line end.
        let text = format!(
            "\u{feff}{}{}\r\n{}{}{}",
            header(),
            row(1),
            row(2),
            row(3),
            row(4).trim_end()
        );
        std::fs::write(&input, &text).unwrap();
        let run = RunDir::new(dir.path(), "r").unwrap();
        let manifest = split_file(&run, &input).await;
        assert_eq!(manifest.rows, 4);
        assert!(!run.chunks_dir().exists(), "split wrote chunk files");
        let refs: Vec<ChunkRef> = manifest.chunk_refs().collect();
        assert_eq!(refs.iter().map(|c| c.first_line).collect::<Vec<_>>(), [2, 5]);
        let mut first = Vec::new();
        read(&run, refs[0], &mut first).await.unwrap();
        assert_eq!(
            String::from_utf8(first).unwrap(),
            format!("{}{}\r\n{}", header(), row(1), row(2))
        );
        let mut second = b"kept".to_vec();
        read(&run, refs[1], &mut second).await.unwrap();
        assert_eq!(
            String::from_utf8(second).unwrap(),
            format!("kept{}{}{}", header(), row(3), row(4).trim_end())
        );
    }

    #[tokio::test]
    async fn an_input_replaced_after_split_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("input.csv");
        std::fs::write(&input, format!("{}{}{}", header(), row(1), row(2))).unwrap();
        let run = RunDir::new(dir.path(), "r").unwrap();
        let manifest = split_file(&run, &input).await;
        // The same length, other rows: only the file's identity tells.
        std::fs::write(&input, format!("{}{}{}", header(), row(7), row(8))).unwrap();
        let chunk = manifest.chunk_refs().next().unwrap();
        let err = read(&run, chunk, &mut Vec::new()).await.unwrap_err();
        let message = format!("{err:#}");
        assert!(
            message.contains("input.csv changed after the run split it") && message.contains("chunk 000000-2"),
            "{message}"
        );
    }

    #[tokio::test]
    async fn a_chunk_file_of_an_earlier_version_is_read_and_released() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::new(dir.path(), "r").unwrap();
        let chunk = ChunkRef {
            index: 0,
            first_line: 2,
        };
        std::fs::write(earlier_chunk_file(&run, chunk), format!("{}{}", header(), row(1))).unwrap();
        let mut bytes = Vec::new();
        let input = read(&run, chunk, &mut bytes).await.unwrap();
        assert_eq!(bytes, format!("{}{}", header(), row(1)).as_bytes());
        input.release().unwrap();
        assert!(!run.chunk(chunk).exists());
        let other = ChunkRef {
            index: 1,
            first_line: 3,
        };
        let err = read(&run, other, &mut bytes).await.unwrap_err().to_string();
        assert!(err.contains("chunk 000001-3 is not in the manifest of run r"), "{err}");
    }
}
