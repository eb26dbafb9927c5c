//! A zip function's code, as the emulator serves it at `GetFunction`'s `Code.Location`:
//! downloaded once per `CodeSha256`, checked against it, and unpacked into a directory of its
//! own, which every later invocation of the same code runs in.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use eventdriven_states::Failure;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use sha2::Digest;

/// Unpacked code, one directory per code hash.
pub struct CodeCache {
    root: PathBuf,
    http: Client<HttpConnector, Empty<Bytes>>,
}

fn failure(what: impl std::fmt::Display) -> Failure {
    Failure::new("Lambda.ServiceException", what.to_string())
}

impl CodeCache {
    pub fn new(root: PathBuf) -> Self {
        CodeCache {
            root,
            http: Client::builder(TokioExecutor::new()).build_http(),
        }
    }

    /// The directory holding the code whose hash is `code_sha256`, downloaded from `location`
    /// unless a previous invocation unpacked it already.
    pub async fn unpacked(&self, code_sha256: &str, location: &str) -> Result<PathBuf, Failure> {
        let dir = self.root.join(dir_name(code_sha256));
        if dir.is_dir() {
            return Ok(dir);
        }
        let zip = self.download(location).await?;
        check_hash(&zip, code_sha256)?;
        let partial = self
            .root
            .join(format!("{}.partial-{:016x}", dir_name(code_sha256), fastrand::u64(..)));
        let target = dir.clone();
        tokio::task::spawn_blocking(move || publish(&zip, &partial, &target))
            .await
            .map_err(failure)??;
        Ok(dir)
    }

    async fn download(&self, location: &str) -> Result<Bytes, Failure> {
        let uri: axum::http::Uri = location
            .parse()
            .map_err(|e| failure(format!("the code location {location:?}: {e}")))?;
        let response = self
            .http
            .get(uri)
            .await
            .map_err(|e| failure(format!("downloading the code from {location}: {e}")))?;
        let status = response.status();
        if !status.is_success() {
            return Err(failure(format!("downloading the code from {location}: {status}")));
        }
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| failure(format!("downloading the code from {location}: {e}")))?;
        Ok(body.to_bytes())
    }
}

/// A directory name for a code hash: its base64 in the alphabet that has no `/`.
fn dir_name(code_sha256: &str) -> String {
    code_sha256.replace('/', "_").replace('+', "-")
}

/// Fails unless `zip` is the code `code_sha256` (base64 of its SHA-256) names.
fn check_hash(zip: &[u8], code_sha256: &str) -> Result<(), Failure> {
    let actual = STANDARD.encode(sha2::Sha256::digest(zip));
    if actual == code_sha256 {
        return Ok(());
    }
    Err(failure(format!(
        "the downloaded code's SHA-256 is {actual}, not the function's CodeSha256 {code_sha256}"
    )))
}

/// Unpacks `zip` into `partial`, then renames it to `dir`; a concurrent invocation that
/// published the same code first wins, and this copy is dropped.
fn publish(zip: &[u8], partial: &Path, dir: &Path) -> Result<(), Failure> {
    let mut archive =
        zip::ZipArchive::new(Cursor::new(zip)).map_err(|e| failure(format!("the code is not a zip: {e}")))?;
    archive
        .extract(partial)
        .map_err(|e| failure(format!("unpacking the code into {}: {e}", partial.display())))?;
    if let Err(e) = std::fs::rename(partial, dir) {
        std::fs::remove_dir_all(partial).ok();
        if !dir.is_dir() {
            return Err(failure(format!("publishing the code in {}: {e}", dir.display())));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn zip_of(files: &[(&str, &str)]) -> Vec<u8> {
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (name, text) in files {
            let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
            zip.start_file(*name, options).unwrap();
            zip.write_all(text.as_bytes()).unwrap();
        }
        zip.finish().unwrap().into_inner()
    }

    #[test]
    fn code_is_checked_against_its_hash() {
        let zip = zip_of(&[("app.py", "def handler(e, c): return e\n")]);
        let hash = STANDARD.encode(sha2::Sha256::digest(&zip));
        assert_eq!(check_hash(&zip, &hash), Ok(()));
        let err = check_hash(&zip, "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=").unwrap_err();
        assert!(err.cause.contains("not the function's CodeSha256"), "{err}");
    }

    #[test]
    fn code_is_unpacked_once_into_its_hashs_directory() {
        let root = tempfile::tempdir().unwrap();
        let zip = zip_of(&[("app.py", "print(1)\n"), ("pkg/helper.py", "X = 1\n")]);
        let dir = root.path().join(dir_name("ab/c+d="));
        assert_eq!(dir.file_name().unwrap(), "ab_c-d=");
        publish(&zip, &root.path().join("p1"), &dir).unwrap();
        assert_eq!(std::fs::read_to_string(dir.join("pkg/helper.py")).unwrap(), "X = 1\n");
        // A second copy finds the directory taken and leaves nothing behind.
        publish(&zip, &root.path().join("p2"), &dir).unwrap();
        let mut entries: Vec<_> = std::fs::read_dir(root.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        entries.sort();
        assert_eq!(entries, ["ab_c-d="]);
    }
}
