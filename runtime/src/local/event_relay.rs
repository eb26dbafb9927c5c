//! The EventBridge endpoint local processes are given (`AWS_ENDPOINT_URL_EVENTBRIDGE`): it takes
//! their `PutEvents` calls, passes them on to the emulator's bus when there is one (which keeps
//! its own record and trail), and delivers them to the rules deployed here.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

use crate::local::events::EventRouter;
use crate::local::put_events::{entries_of, put_and_route};

/// The environment variable the AWS SDKs read EventBridge's endpoint from.
pub const ENDPOINT_ENV: &str = "AWS_ENDPOINT_URL_EVENTBRIDGE";
const PUT_EVENTS_TARGET: &str = "AWSEvents.PutEvents";

struct Relay {
    router: Arc<EventRouter>,
    bus: Option<aws_sdk_eventbridge::Client>,
}

/// Reserves the relay's loopback port first, so the processes it serves can be configured with
/// its address before the router they feed exists.
pub async fn bind() -> std::io::Result<(tokio::net::TcpListener, SocketAddr)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    Ok((listener, address))
}

/// Serves the relay on `listener` until the returned task is aborted.
pub fn serve(
    listener: tokio::net::TcpListener,
    router: Arc<EventRouter>,
    bus: Option<aws_sdk_eventbridge::Client>,
) -> tokio::task::JoinHandle<()> {
    let app = Router::new()
        .route("/", post(put_events))
        .with_state(Arc::new(Relay { router, bus }));
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            eprintln!("event relay stopped: {e}");
        }
    })
}

/// An error in the shape the SDKs read (`__type`, `message`).
fn error(status: StatusCode, kind: &str, message: impl Into<String>) -> Response {
    let body = json!({ "__type": kind, "message": message.into() });
    (
        status,
        [("content-type", "application/x-amz-json-1.1")],
        body.to_string(),
    )
        .into_response()
}

async fn put_events(State(relay): State<Arc<Relay>>, headers: HeaderMap, body: Bytes) -> Response {
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if target != PUT_EVENTS_TARGET {
        return error(
            StatusCode::BAD_REQUEST,
            "UnknownOperationException",
            format!("this endpoint only serves PutEvents, not {target:?}"),
        );
    }
    let request: Value = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                "ValidationException",
                format!("the request is not JSON: {e}"),
            );
        }
    };
    let entries = match entries_of(&request) {
        Ok(entries) => entries,
        Err(failure) => return error(StatusCode::BAD_REQUEST, "ValidationException", failure.cause),
    };
    let results = match put_and_route(relay.bus.as_ref(), Some(&relay.router), &entries).await {
        Ok(results) => results,
        Err(failure) => return error(StatusCode::INTERNAL_SERVER_ERROR, "InternalException", failure.cause),
    };
    let body = json!({ "FailedEntryCount": 0, "Entries": results });
    (
        StatusCode::OK,
        [("content-type", "application/x-amz-json-1.1")],
        body.to_string(),
    )
        .into_response()
}
