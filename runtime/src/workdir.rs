//! Where a run keeps its files in the shared work directory (EFS in the cloud), and the
//! atomic write every step uses to publish a file only once it is complete.

use anyhow::{Context, Result, bail};
use serde::{Serialize, de::DeserializeOwned};
use std::io::Write;
use std::path::{Path, PathBuf};

pub use eventdriven_core::contract::ChunkRef;

/// The files of one run under the work directory.
#[derive(Clone, Debug)]
pub struct RunDir {
    root: PathBuf,
    run: String,
}

impl RunDir {
    /// Run ids become directory names and Redis keys, so only a safe alphabet is accepted.
    pub fn new(work_dir: &Path, run: &str) -> Result<Self> {
        let safe = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
        if run.is_empty() || run.len() > 128 || !run.chars().all(safe) || run.starts_with('.') {
            bail!("run id {run:?} must be 1-128 characters of A-Z, a-z, 0-9, '-', '_', '.'");
        }
        Ok(RunDir {
            root: work_dir.join(run),
            run: run.to_string(),
        })
    }

    pub fn run_id(&self) -> &str {
        &self.run
    }
    pub fn root(&self) -> &Path {
        &self.root
    }
    pub fn chunks_dir(&self) -> PathBuf {
        self.root.join("chunks")
    }
    pub fn chunk(&self, chunk: ChunkRef) -> PathBuf {
        self.chunks_dir().join(format!("{chunk}.csv"))
    }
    /// Written last by split: its presence means the chunks and the pending set are complete.
    pub fn manifest(&self) -> PathBuf {
        self.root.join("manifest.json")
    }
    /// Where split lists the chunks when it is given no other place.
    pub fn chunk_list(&self) -> PathBuf {
        self.root.join("chunks.json")
    }
    pub fn split_rejects(&self) -> PathBuf {
        self.root.join("split.rejects.csv")
    }
    pub fn out_dir(&self) -> PathBuf {
        self.root.join("out")
    }
    pub fn output(&self, chunk: ChunkRef) -> PathBuf {
        self.out_dir().join(format!("{:06}.csv", chunk.index))
    }
    /// The chunk's rejected rows; written only when it has some.
    pub fn rejects(&self, chunk: ChunkRef) -> PathBuf {
        self.out_dir().join(format!("{:06}.rejects.csv", chunk.index))
    }
    /// Written last by process: its presence means the chunk's output and rejects are complete.
    pub fn done(&self, chunk: ChunkRef) -> PathBuf {
        self.out_dir().join(format!("{:06}.done.json", chunk.index))
    }
    /// Removes what the run kept to produce its result (chunks, outputs, manifest, split
    /// rejects), leaving only merge's marker, so a merge run again still finds it.
    pub fn remove_work(&self) -> Result<()> {
        for path in [self.chunks_dir(), self.out_dir(), self.manifest(), self.split_rejects()] {
            remove_if_present(&path)?;
        }
        Ok(())
    }
    /// The header of the output a user's process step wrote, which merge puts first; the
    /// built-in step's header follows the record instead.
    pub fn output_header(&self) -> PathBuf {
        self.out_dir().join("header.csv")
    }
    /// Written last by merge: the result has been published.
    pub fn merged(&self) -> PathBuf {
        self.root.join("merged.json")
    }
}

/// The largest chunk: split refuses to write one larger, process to read one. A process holds
/// a chunk in memory whole, and its items (at most about four times its bytes) must stay under
/// the 4 GiB their offsets address.
pub const MAX_CHUNK_BYTES: u64 = 512 << 20;

/// Removes the file or directory at `path`, if it is there.
pub fn remove_if_present(path: &Path) -> Result<()> {
    let removed = if path.is_dir() {
        std::fs::remove_dir_all(path)
    } else {
        std::fs::remove_file(path)
    };
    match removed {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("removing {}", path.display()))
        }
        _ => Ok(()),
    }
}

/// The temporary name a file is written under before [`publish`] renames it into place.
pub fn temporary(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

/// Flushes `file` to disk and renames it from its temporary name to `path`, so a reader sees
/// either nothing or the whole file; then flushes the directory, so that the rename too
/// survives a power loss before anything published after it (a done marker after its outputs).
pub fn publish(file: std::fs::File, path: &Path) -> Result<()> {
    file.sync_all()
        .with_context(|| format!("flushing {}", path.display()))?;
    drop(file);
    std::fs::rename(temporary(path), path).with_context(|| format!("publishing {}", path.display()))?;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    flush_dir(dir)
}

/// Flushes the directory `dir`, so that the names created, renamed or removed in it survive a
/// power loss.
pub fn flush_dir(dir: &Path) -> Result<()> {
    std::fs::File::open(dir)
        .and_then(|dir| dir.sync_all())
        .with_context(|| format!("flushing the directory {}", dir.display()))
}

/// Creates `path`'s temporary file (and its directory).
pub fn create_temporary(path: &Path) -> Result<std::fs::File> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let tmp = temporary(path);
    std::fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))
}

pub fn write_json_atomically<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    write_atomically(path, &serde_json::to_vec_pretty(value)?)
}

/// Writes `bytes` to `path` so that a reader sees either nothing or all of them.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut file = create_temporary(path)?;
    file.write_all(bytes)
        .with_context(|| format!("writing {}", path.display()))?;
    publish(file, path)
}

/// Reads a JSON file, `None` when it does not exist.
pub fn read_json<T: DeserializeOwned>(path: &Path) -> Result<Option<T>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(
            serde_json::from_slice(&bytes).with_context(|| format!("reading {}", path.display()))?,
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_cannot_escape_the_work_dir() {
        let work = Path::new("/w");
        assert!(RunDir::new(work, "0f8e-11aa").is_ok());
        for bad in ["", "..", "a/b", ".hidden", "a b"] {
            assert!(RunDir::new(work, bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn published_files_appear_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x/done.json");
        assert_eq!(read_json::<u32>(&path).unwrap(), None);
        write_json_atomically(&path, &7u32).unwrap();
        assert_eq!(read_json::<u32>(&path).unwrap(), Some(7));
        assert!(!temporary(&path).exists());
    }
}
