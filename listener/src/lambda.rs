//! The Lambda runtime loop around a handler: each invocation is one EventBridge event.

use std::future::Future;
use std::sync::Arc;

use anyhow::Result;
use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde_json::{Value, json};

use crate::bus::Bus;
use crate::handle::{Answer, ListenerEvent, Settings, TaskError, handle_event};

/// The `errorType` of an invocation that could not answer its task (no envelope, or the bus
/// refused the answer); Lambda retries asynchronous invocations that fail.
pub const UNANSWERED: &str = "ListenerUnanswered";

/// Serves invocations until the runtime stops.
pub async fn serve<F, Fut>(settings: Settings, bus: Arc<dyn Bus>, handler: F) -> Result<()>
where
    F: Fn(ListenerEvent) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<Answer>> + Send,
{
    let settings = Arc::new(settings);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let (settings, bus, handler) = (settings.clone(), bus.clone(), handler.clone());
        async move {
            let put = handle_event(&event.payload, &settings, bus.as_ref(), handler)
                .await
                .map_err(|e| match e.downcast_ref::<TaskError>() {
                    // A side effect's own failure, named as its handler named it.
                    Some(failed) => Diagnostic {
                        error_type: failed.error.clone(),
                        error_message: failed.cause.clone(),
                    },
                    None => Diagnostic {
                        error_type: UNANSWERED.to_owned(),
                        error_message: format!("{e:#}"),
                    },
                })?;
            Ok::<Value, Diagnostic>(json!({ "put": put.map(|event| event.detail_type) }))
        }
    }))
    .await
    .map_err(|e| anyhow::anyhow!("Lambda runtime: {e}"))
}
