//! `s3:getObject` and `s3:putObject`, as a distributed Map's ItemReader and ResultWriter call
//! them, against the S3 of the emulator the executions came from.

use async_trait::async_trait;
use eventdriven_states::{Failure, Integration, Resource, TaskRequest};
use serde_json::{Value, json};

pub struct S3Objects {
    /// The object store; `None` where no endpoint was given.
    pub s3: Option<aws_sdk_s3::Client>,
}

#[async_trait]
impl Integration for S3Objects {
    fn serves(&self, resource: &Resource) -> bool {
        resource.service == "s3" && matches!(resource.action.as_str(), "getObject" | "putObject")
    }

    async fn call(&self, request: TaskRequest) -> Result<Value, Failure> {
        let s3 = self
            .s3
            .as_ref()
            .ok_or_else(|| Failure::runtime("s3 tasks need an object store: run with --endpoint of an emulator"))?;
        let p = &request.parameters;
        let field = |name: &str| {
            p[name]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| Failure::new("S3.ValidationException", format!("{name} is required")))
        };
        let (bucket, key) = (field("Bucket")?, field("Key")?);
        let failed = |e: String| Failure::new("S3.S3Exception", format!("s3://{bucket}/{key}: {e}"));
        if request.resource.action == "getObject" {
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
        } else {
            let body = match &p["Body"] {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            };
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
