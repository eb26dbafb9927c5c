//! Objects as local files.

use super::Opened;
use crate::workdir::{create_temporary, publish};
use anyhow::{Context, Result, bail};
use std::io::{BufWriter, Write};
use std::ops::Range;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};

pub fn open(path: &Path) -> Result<Opened> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let version = version(&file).with_context(|| format!("reading the metadata of {}", path.display()))?;
    Ok(Opened {
        reader: Box::new(file),
        version,
    })
}

/// Appends the bytes `range` of the file at `path` to `into`, once it is checked to be the
/// file `version` names.
pub fn read_range(path: &Path, range: Range<u64>, version: &str, into: &mut Vec<u8>) -> Result<()> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let now = self::version(&file).with_context(|| format!("reading the metadata of {}", path.display()))?;
    if now != version {
        bail!(
            "{} changed after the run split it (it was {version}, it is {now}); start a new run \
             for the new file",
            path.display()
        );
    }
    let start = into.len();
    into.resize(start + (range.end - range.start) as usize, 0);
    file.read_exact_at(&mut into[start..], range.start)
        .with_context(|| format!("reading bytes {range:?} of {}", path.display()))
}

/// Device, inode, length and modification time: a file rewritten or replaced in place differs
/// in at least one.
fn version(file: &std::fs::File) -> std::io::Result<String> {
    let meta = file.metadata()?;
    Ok(format!(
        "{}:{}:{}:{}.{:09}",
        meta.dev(),
        meta.ino(),
        meta.len(),
        meta.mtime(),
        meta.mtime_nsec()
    ))
}

pub struct LocalWriter {
    file: BufWriter<std::fs::File>,
    path: PathBuf,
}

impl LocalWriter {
    pub fn create(path: &Path) -> Result<Self> {
        Ok(LocalWriter {
            file: BufWriter::with_capacity(1 << 20, create_temporary(path)?),
            path: path.to_path_buf(),
        })
    }

    pub fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.file
            .write_all(bytes)
            .with_context(|| format!("writing {}", self.path.display()))
    }

    /// Appends the file at `path`, copied by the kernel (`copy_file_range`) where it can.
    pub fn append_file(&mut self, path: &Path) -> Result<()> {
        let mut file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
        std::io::copy(&mut file, &mut self.file)
            .with_context(|| format!("copying {} into {}", path.display(), self.path.display()))?;
        Ok(())
    }

    pub fn finish(self) -> Result<()> {
        let file = self.file.into_inner().map_err(|e| e.into_error())?;
        publish(file, &self.path)
    }
}
