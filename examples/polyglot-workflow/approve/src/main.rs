//! `polyglot-approve approve`: the Approve task's listener of `examples/polyglot-workflow`,
//! served as an AWS Lambda function (the image's entrypoint; the function's command names the
//! listener, as `command = ["approve"]` in `main.tf`).
//!
//! Input: the run's state so far, with `priced.total` from the Price task. Answer:
//! `{"approved": total <= APPROVAL_LIMIT, "total": total}`.

use std::sync::Arc;

use anyhow::{Context, Result, bail};
use eventdriven_listener::{Answer, EventBridgeBus, ListenerEvent, Settings, lambda};
use serde_json::json;

/// Orders above this total are not approved, unless `APPROVAL_LIMIT` says otherwise.
const DEFAULT_LIMIT: f64 = 1000.0;

async fn approve(event: ListenerEvent, limit: f64) -> Result<Answer> {
    let total = event.input()["priced"]["total"]
        .as_f64()
        .with_context(|| format!("the input has no numeric priced.total: {}", event.input()))?;
    Ok(Answer::Finish(json!({ "approved": total <= limit, "total": total })))
}

#[tokio::main]
async fn main() -> Result<()> {
    let name = std::env::args().nth(1).unwrap_or_default();
    if name != "approve" {
        bail!("usage: polyglot-approve approve (the one listener this image serves), not {name:?}");
    }
    let limit = match std::env::var("APPROVAL_LIMIT") {
        Ok(text) => text
            .parse()
            .with_context(|| format!("APPROVAL_LIMIT={text:?} is not a number"))?,
        Err(_) => DEFAULT_LIMIT,
    };
    let settings = Settings::from_env()?;
    let bus = Arc::new(EventBridgeBus::from_env().await);
    lambda::serve(settings, bus, move |event| approve(event, limit)).await
}
