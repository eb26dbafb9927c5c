//! Workflow listeners shipped in the runtime image: `eventdriven handler <workflow> <listener>`.

pub mod cookie_report;

use std::sync::Arc;

use anyhow::{Result, bail};
use eventdriven_listener::{EventBridgeBus, Settings, lambda};

/// Serves the named listener of the named workflow as a Lambda function.
pub async fn serve(workflow: &str, listener: &str) -> Result<()> {
    let settings = Settings::from_env()?;
    let bus = Arc::new(EventBridgeBus::from_env().await);
    match workflow {
        cookie_report::WORKFLOW => {
            let listener = cookie_report::Listener::from_name(listener)?;
            lambda::serve(settings, bus, move |event| cookie_report::handle(listener, event)).await
        }
        other => bail!(
            "no handlers for the workflow {other:?}; this image has: {}",
            cookie_report::WORKFLOW
        ),
    }
}
