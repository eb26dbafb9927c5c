//! `cookie-report-handlers NAME`: serves the cookie-report listener `NAME` as an AWS Lambda
//! function. It is the entrypoint of the example's image; each function's command names its
//! listener (`command = ["get-multiple"]` in `main.tf`).

use std::sync::Arc;

use anyhow::Context;
use cookie_report_handlers::{Listener, handle};
use eventdriven_listener::{EventBridgeBus, Settings, lambda};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let name = std::env::args().nth(1).with_context(|| {
        format!(
            "usage: cookie-report-handlers LISTENER, one of {:?}",
            Listener::ALL.map(|(name, _)| name)
        )
    })?;
    let listener = Listener::from_name(&name)?;
    let settings = Settings::from_env()?;
    let bus = Arc::new(EventBridgeBus::from_env().await);
    lambda::serve(settings, bus, move |event| handle(listener, event)).await
}
