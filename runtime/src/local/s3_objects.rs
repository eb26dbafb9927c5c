//! `s3:getObject` and `s3:putObject`, as a distributed Map's ItemReader and ResultWriter call
//! them: against the S3 of the emulator the executions came from or, for a run with no AWS at
//! all, against a directory standing in for the buckets.

use std::path::{Component, Path, PathBuf};

use async_trait::async_trait;
use eventdriven_states::{Failure, Integration, Resource, TaskRequest};
use serde_json::{Value, json};

/// Where the objects live.
#[derive(Clone)]
pub enum ObjectStore {
    Emulator(aws_sdk_s3::Client),
    /// `<root>/<bucket>/<key>`, see [`directory_path`].
    Directory(PathBuf),
    /// No endpoint was given: every call fails, naming the flag that provides one.
    Missing,
}

pub struct S3Objects {
    pub store: ObjectStore,
}

/// The file standing in for `s3://bucket/key` under `root`; `None` for a key that would leave it.
pub fn directory_path(root: &Path, bucket: &str, key: &str) -> Option<PathBuf> {
    let relative = Path::new(bucket).join(key);
    let inside = relative.components().all(|c| matches!(c, Component::Normal(_)));
    (inside && !bucket.is_empty() && !key.is_empty()).then(|| root.join(relative))
}

#[async_trait]
impl Integration for S3Objects {
    fn serves(&self, resource: &Resource) -> bool {
        resource.service == "s3" && matches!(resource.action.as_str(), "getObject" | "putObject")
    }

    async fn call(&self, request: TaskRequest) -> Result<Value, Failure> {
        let p = &request.parameters;
        let field = |name: &str| {
            p[name]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| Failure::new("S3.ValidationException", format!("{name} is required")))
        };
        let (bucket, key) = (field("Bucket")?, field("Key")?);
        let failed = |e: String| Failure::new("S3.S3Exception", format!("s3://{bucket}/{key}: {e}"));
        let get = request.resource.action == "getObject";
        let body = match &p["Body"] {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        };
        match &self.store {
            ObjectStore::Missing => Err(Failure::runtime(
                "s3 tasks need an object store: run with --endpoint of an emulator",
            )),
            ObjectStore::Directory(root) => {
                let path =
                    directory_path(root, &bucket, &key).ok_or_else(|| failed("not a key of this store".into()))?;
                if get {
                    let body = std::fs::read_to_string(&path).map_err(|e| failed(e.to_string()))?;
                    return Ok(json!({ "Body": body, "ContentLength": body.len() }));
                }
                crate::workdir::create_temporary(&path)
                    .and_then(|mut file| {
                        std::io::Write::write_all(&mut file, body.as_bytes())?;
                        crate::workdir::publish(file, &path)
                    })
                    .map_err(|e| failed(format!("{e:#}")))?;
                Ok(json!({ "ETag": format!("\"{:x}\"", body.len()) }))
            }
            ObjectStore::Emulator(s3) if get => {
                let object = s3
                    .get_object()
                    .bucket(&bucket)
                    .key(&key)
                    .send()
                    .await
                    .map_err(|e| failed(aws_sdk_s3::error::DisplayErrorContext(e).to_string()))?;
                let bytes = object
                    .body
                    .collect()
                    .await
                    .map_err(|e| failed(e.to_string()))?
                    .into_bytes();
                let body = String::from_utf8(bytes.to_vec()).map_err(|e| failed(e.to_string()))?;
                Ok(json!({ "Body": body, "ContentLength": body.len() }))
            }
            ObjectStore::Emulator(s3) => {
                let put = s3
                    .put_object()
                    .bucket(&bucket)
                    .key(&key)
                    .body(body.into_bytes().into())
                    .send()
                    .await
                    .map_err(|e| failed(aws_sdk_s3::error::DisplayErrorContext(e).to_string()))?;
                Ok(json!({ "ETag": put.e_tag() }))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directory_paths_stay_inside_the_root() {
        let root = Path::new("/w/objects");
        assert_eq!(
            directory_path(root, "b", "runs/r/chunks.json"),
            Some(PathBuf::from("/w/objects/b/runs/r/chunks.json"))
        );
        for (bucket, key) in [("b", "../x"), ("..", "x"), ("b", "/etc/passwd"), ("", "x"), ("b", "")] {
            assert_eq!(directory_path(root, bucket, key), None, "{bucket:?} {key:?}");
        }
    }
}
