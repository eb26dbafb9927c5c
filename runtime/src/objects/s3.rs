//! Objects in S3: streaming reads, and multipart upload for results larger than one part.

use super::Opened;
use anyhow::{Context, Result, bail};
use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use std::ops::Range;

/// Part size of multipart uploads: above S3's 5 MiB minimum, and 10,000 parts reach 80 GiB.
const PART_BYTES: usize = eventdriven_core::scale::RESULT_PART_BYTES as usize;

/// An S3 client from the standard configuration chain. With an endpoint override (a local
/// emulator) addressing is path-style, as emulators expect.
pub async fn client() -> Client {
    let config = crate::sdk::config().await;
    let custom_endpoint = std::env::var_os("AWS_ENDPOINT_URL_S3").or_else(|| std::env::var_os("AWS_ENDPOINT_URL"));
    let s3_config = aws_sdk_s3::config::Builder::from(config)
        .force_path_style(custom_endpoint.is_some())
        .build();
    Client::from_conf(s3_config)
}

pub async fn open(bucket: &str, key: &str) -> Result<Opened> {
    let object = client()
        .await
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .with_context(|| format!("GetObject s3://{bucket}/{key}"))?;
    let version = object
        .e_tag()
        .with_context(|| format!("GetObject s3://{bucket}/{key} answered without an ETag"))?
        .to_owned();
    let reader = object.body.into_async_read();
    Ok(Opened {
        reader: Box::new(tokio_util::io::SyncIoBridge::new(reader)),
        version,
    })
}

/// Appends the bytes `range` of the object to `into`, asking for the ETag `version` and
/// checking the answer's, so an object replaced since is refused whether or not the endpoint
/// honours `If-Match`.
pub async fn read_range(bucket: &str, key: &str, range: Range<u64>, version: &str, into: &mut Vec<u8>) -> Result<()> {
    let object = client()
        .await
        .get_object()
        .bucket(bucket)
        .key(key)
        .range(format!("bytes={}-{}", range.start, range.end - 1))
        .if_match(version)
        .send()
        .await
        .with_context(|| format!("GetObject s3://{bucket}/{key} bytes {range:?} (ETag {version}, which split read)"))?;
    if object.e_tag() != Some(version) {
        bail!(
            "s3://{bucket}/{key} changed after the run split it (ETag {version}, now {:?}); start a \
             new run for the new object",
            object.e_tag()
        );
    }
    let bytes = object
        .body
        .collect()
        .await
        .with_context(|| format!("reading s3://{bucket}/{key} bytes {range:?}"))?;
    let start = into.len();
    into.extend_from_slice(&bytes.into_bytes());
    let read = (into.len() - start) as u64;
    if read != range.end - range.start {
        bail!("s3://{bucket}/{key} bytes {range:?}: {read} bytes came back");
    }
    Ok(())
}

/// Buffers up to one part; small results go up in one PutObject, larger ones as a multipart
/// upload that is aborted on failure so no incomplete upload is left behind.
pub struct S3Writer {
    client: Client,
    bucket: String,
    key: String,
    buffer: Vec<u8>,
    upload_id: Option<String>,
    parts: Vec<CompletedPart>,
}

impl S3Writer {
    pub async fn new(bucket: &str, key: &str) -> Self {
        S3Writer {
            client: client().await,
            bucket: bucket.to_string(),
            key: key.to_string(),
            buffer: Vec::with_capacity(PART_BYTES),
            upload_id: None,
            parts: Vec::new(),
        }
    }

    pub async fn write(&mut self, mut bytes: &[u8]) -> Result<()> {
        while !bytes.is_empty() {
            let room = PART_BYTES - self.buffer.len();
            let (now, later) = bytes.split_at(room.min(bytes.len()));
            self.buffer.extend_from_slice(now);
            bytes = later;
            if self.buffer.len() == PART_BYTES
                && let Err(e) = self.upload_part().await
            {
                self.abort().await;
                return Err(e);
            }
        }
        Ok(())
    }

    async fn upload_part(&mut self) -> Result<()> {
        let upload_id = match &self.upload_id {
            Some(id) => id.clone(),
            None => {
                let created = self
                    .client
                    .create_multipart_upload()
                    .bucket(&self.bucket)
                    .key(&self.key)
                    .send()
                    .await
                    .with_context(|| format!("CreateMultipartUpload s3://{}/{}", self.bucket, self.key))?;
                let id = created
                    .upload_id
                    .context("CreateMultipartUpload returned no upload id")?;
                self.upload_id = Some(id.clone());
                id
            }
        };
        let number = self.parts.len() as i32 + 1;
        let body = ByteStream::from(std::mem::replace(&mut self.buffer, Vec::with_capacity(PART_BYTES)));
        let part = self
            .client
            .upload_part()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(upload_id)
            .part_number(number)
            .body(body)
            .send()
            .await
            .with_context(|| format!("UploadPart {number} of s3://{}/{}", self.bucket, self.key))?;
        self.parts.push(
            CompletedPart::builder()
                .part_number(number)
                .set_e_tag(part.e_tag)
                .build(),
        );
        Ok(())
    }

    async fn abort(&self) {
        if let Some(id) = &self.upload_id {
            let _ = self
                .client
                .abort_multipart_upload()
                .bucket(&self.bucket)
                .key(&self.key)
                .upload_id(id)
                .send()
                .await;
        }
    }

    pub async fn finish(mut self) -> Result<()> {
        if self.upload_id.is_none() {
            let body = ByteStream::from(std::mem::take(&mut self.buffer));
            self.client
                .put_object()
                .bucket(&self.bucket)
                .key(&self.key)
                .body(body)
                .send()
                .await
                .with_context(|| format!("PutObject s3://{}/{}", self.bucket, self.key))?;
            return Ok(());
        }
        let result = async {
            if !self.buffer.is_empty() {
                self.upload_part().await?;
            }
            self.client
                .complete_multipart_upload()
                .bucket(&self.bucket)
                .key(&self.key)
                .upload_id(self.upload_id.clone().unwrap_or_default())
                .multipart_upload(
                    CompletedMultipartUpload::builder()
                        .set_parts(Some(self.parts.clone()))
                        .build(),
                )
                .send()
                .await
                .with_context(|| format!("CompleteMultipartUpload s3://{}/{}", self.bucket, self.key))?;
            Ok(())
        }
        .await;
        if result.is_err() {
            self.abort().await;
        }
        result
    }
}
