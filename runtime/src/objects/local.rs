//! Objects as local files.

use crate::workdir::{create_temporary, publish};
use anyhow::{Context, Result};
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

pub fn open(path: &Path) -> Result<Box<dyn Read + Send>> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    Ok(Box::new(file))
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
