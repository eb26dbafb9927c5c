//! The list-chunks Lambda: `{"run_id": "..."}` in, the run's pending chunks out.

use crate::progress::ProgressStore;
use crate::steps::list_chunks;
use anyhow::Result;
use eventdriven_core::contract::{ListChunksRequest, ListChunksResponse};
use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde::Deserialize;

/// The `errorType` of a failed invocation: Step Functions names the task's error after it, so a
/// Retry or Catch can select it.
pub const ERROR_TYPE: &str = "ListChunksFailed";

/// Answers one invocation.
pub async fn handle(progress: &ProgressStore, payload: &serde_json::Value) -> Result<ListChunksResponse> {
    let request = ListChunksRequest::deserialize(payload)
        .map_err(|e| anyhow::anyhow!("the payload is not a list-chunks request ({e}): {payload}"))?;
    list_chunks(&request.run_id, progress).await
}

/// Runs the Lambda runtime loop; the progress store connection is shared by invocations.
pub async fn serve(progress: ProgressStore) -> Result<()> {
    let progress = std::sync::Arc::new(progress);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| {
        let progress = progress.clone();
        async move {
            handle(&progress, &event.payload).await.map_err(|e| Diagnostic {
                error_type: ERROR_TYPE.to_owned(),
                error_message: format!("{e:#}"),
            })
        }
    }))
    .await
    .map_err(|e| anyhow::anyhow!("Lambda runtime: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn returns_the_pending_chunks_of_the_run() {
        let store = ProgressStore::open(crate::progress::MEMORY_URL, None).await.unwrap();
        store
            .replace("r1", &["000001-30002".parse().unwrap(), "000000-2".parse().unwrap()])
            .await
            .unwrap();
        let list = handle(&store, &serde_json::json!({"run_id": "r1"})).await.unwrap();
        let listed: Vec<String> = list.chunks.iter().map(ToString::to_string).collect();
        assert_eq!(listed, ["000000-2", "000001-30002"]);
        let json = serde_json::to_value(&list).unwrap();
        assert_eq!(
            json[eventdriven_core::contract::LIST_CHUNKS_CHUNKS_FIELD][0],
            "000000-2"
        );
        assert_eq!(json[eventdriven_core::contract::LIST_CHUNKS_COUNT_FIELD], 2);
        assert!(
            handle(&store, &serde_json::json!({}))
                .await
                .unwrap_err()
                .to_string()
                .contains("run_id")
        );
    }

    #[tokio::test]
    async fn past_the_inline_threshold_only_the_count_is_returned() {
        use eventdriven_core::scale::INLINE_MAP_MAX_CHUNKS;
        let store = ProgressStore::open(crate::progress::MEMORY_URL, None).await.unwrap();
        let chunks = |n: u64| -> Vec<eventdriven_core::contract::ChunkRef> {
            (0..n)
                .map(|i| eventdriven_core::contract::ChunkRef {
                    index: i as u32,
                    first_line: 2 + i,
                })
                .collect()
        };
        store.replace("at", &chunks(INLINE_MAP_MAX_CHUNKS)).await.unwrap();
        store.replace("past", &chunks(INLINE_MAP_MAX_CHUNKS + 1)).await.unwrap();
        let at = handle(&store, &serde_json::json!({"run_id": "at"})).await.unwrap();
        assert_eq!(
            (at.count, at.chunks.len() as u64),
            (INLINE_MAP_MAX_CHUNKS, INLINE_MAP_MAX_CHUNKS)
        );
        let past = handle(&store, &serde_json::json!({"run_id": "past"})).await.unwrap();
        assert_eq!((past.count, past.chunks.len()), (INLINE_MAP_MAX_CHUNKS + 1, 0));
    }
}
