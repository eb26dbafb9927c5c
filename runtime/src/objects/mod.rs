//! Object storage: S3 in the cloud, plain files locally. Inputs are read as a stream; results
//! are written whole-or-nothing (a renamed temporary file, a completed multipart upload).

mod local;
pub(crate) mod s3;

use anyhow::{Context, Result};
use std::io::Read;
use std::ops::Range;
use std::path::PathBuf;

/// An object opened for reading, with the version read: S3's ETag, or a local file's identity
/// (device, inode, length, modification time). Chunks are byte ranges of the input, read
/// again later, and only from this version.
pub struct Opened {
    pub reader: Box<dyn Read + Send>,
    pub version: String,
}

/// Where an object lives: `s3://bucket/key` or a local path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ObjectUrl {
    S3 { bucket: String, key: String },
    Local(PathBuf),
}

/// Text that names no object: the message says what was expected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidLocation(pub String);

impl std::str::FromStr for ObjectUrl {
    type Err = InvalidLocation;
    fn from_str(s: &str) -> Result<Self, InvalidLocation> {
        match s.strip_prefix("s3://") {
            Some(rest) => match rest.split_once('/') {
                Some((bucket, key)) if !bucket.is_empty() && !key.is_empty() => Ok(ObjectUrl::S3 {
                    bucket: bucket.to_string(),
                    key: key.to_string(),
                }),
                _ => Err(InvalidLocation(format!(
                    "{s:?} is not an S3 object URL (expected s3://BUCKET/KEY)"
                ))),
            },
            None if s.is_empty() => Err(InvalidLocation("path is empty".into())),
            None => Ok(ObjectUrl::Local(s.into())),
        }
    }
}

impl std::fmt::Display for ObjectUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ObjectUrl::S3 { bucket, key } => write!(f, "s3://{bucket}/{key}"),
            ObjectUrl::Local(path) => write!(f, "{}", path.display()),
        }
    }
}

impl ObjectUrl {
    /// The object beside this one whose name has `suffix` appended (e.g. the rejects file).
    pub fn with_suffix(&self, suffix: &str) -> ObjectUrl {
        match self {
            ObjectUrl::S3 { bucket, key } => ObjectUrl::S3 {
                bucket: bucket.clone(),
                key: format!("{key}{suffix}"),
            },
            ObjectUrl::Local(path) => {
                let mut name = path.as_os_str().to_os_string();
                name.push(suffix);
                ObjectUrl::Local(name.into())
            }
        }
    }

    /// A blocking reader of the object; call from a blocking context (`spawn_blocking`).
    pub async fn open(&self) -> Result<Opened> {
        match self {
            ObjectUrl::Local(path) => local::open(path),
            ObjectUrl::S3 { bucket, key } => s3::open(bucket, key).await,
        }
    }

    /// Appends the bytes `range` of the object to `into`, provided the object is still the
    /// `version` [`ObjectUrl::open`] read; a replaced object fails rather than give bytes of
    /// another file.
    pub async fn read_range(&self, range: Range<u64>, version: &str, into: &mut Vec<u8>) -> Result<()> {
        match self {
            ObjectUrl::Local(path) => local::read_range(path, range, version, into),
            ObjectUrl::S3 { bucket, key } => s3::read_range(bucket, key, range, version, into).await,
        }
    }

    /// Writes the whole object at once.
    pub async fn put(&self, bytes: &[u8]) -> Result<()> {
        let mut writer = self.create().await?;
        writer.write(bytes).await?;
        writer.finish().await
    }

    /// A writer that publishes the object only when [`ObjectWriter::finish`] succeeds.
    pub async fn create(&self) -> Result<ObjectWriter> {
        Ok(match self {
            ObjectUrl::Local(path) => ObjectWriter::Local(local::LocalWriter::create(path)?),
            ObjectUrl::S3 { bucket, key } => ObjectWriter::S3(s3::S3Writer::new(bucket, key).await),
        })
    }
}

pub enum ObjectWriter {
    Local(local::LocalWriter),
    S3(s3::S3Writer),
}

impl ObjectWriter {
    pub async fn write(&mut self, bytes: &[u8]) -> Result<()> {
        match self {
            ObjectWriter::Local(w) => w.write(bytes),
            ObjectWriter::S3(w) => w.write(bytes).await,
        }
    }

    /// Appends the whole file at `path`; between local files the kernel copies it.
    pub async fn append_file(&mut self, path: &std::path::Path) -> Result<()> {
        match self {
            ObjectWriter::Local(w) => w.append_file(path),
            ObjectWriter::S3(w) => {
                let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
                w.write(&bytes).await
            }
        }
    }

    pub async fn finish(self) -> Result<()> {
        match self {
            ObjectWriter::Local(w) => w.finish(),
            ObjectWriter::S3(w) => w.finish().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_select_the_backend() {
        assert_eq!(
            "s3://b/in/x.csv".parse(),
            Ok(ObjectUrl::S3 {
                bucket: "b".into(),
                key: "in/x.csv".into()
            })
        );
        assert_eq!("data/x.csv".parse(), Ok(ObjectUrl::Local("data/x.csv".into())));
        assert!("s3://bucket-only".parse::<ObjectUrl>().is_err());
        let out: ObjectUrl = "s3://b/out/r.csv".parse().unwrap();
        assert_eq!(
            out.with_suffix(".rejects.csv").to_string(),
            "s3://b/out/r.csv.rejects.csv"
        );
    }

    #[tokio::test]
    async fn local_objects_appear_only_when_finished() {
        let dir = tempfile::tempdir().unwrap();
        let url = ObjectUrl::Local(dir.path().join("result.csv"));
        let mut writer = url.create().await.unwrap();
        writer.write(b"a\n").await.unwrap();
        assert!(!dir.path().join("result.csv").exists());
        writer.finish().await.unwrap();
        let mut text = String::new();
        url.open().await.unwrap().reader.read_to_string(&mut text).unwrap();
        assert_eq!(text, "a\n");
    }
}
