//! Where a listener's events go.

use async_trait::async_trait;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;

/// One event a listener puts on the bus.
#[derive(Clone, Debug, PartialEq)]
pub struct OutgoingEvent {
    pub bus: String,
    pub source: String,
    pub detail_type: String,
    /// The detail as JSON text.
    pub detail: String,
}

#[async_trait]
pub trait Bus: Send + Sync {
    async fn put(&self, event: OutgoingEvent) -> anyhow::Result<()>;
}

/// The EventBridge bus of the account the listener runs in (or the endpoint its environment
/// names, as `AWS_ENDPOINT_URL_EVENTBRIDGE` or `AWS_ENDPOINT_URL`).
pub struct EventBridgeBus {
    pub client: aws_sdk_eventbridge::Client,
}

impl EventBridgeBus {
    pub async fn from_env() -> Self {
        let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        Self {
            client: aws_sdk_eventbridge::Client::new(&config),
        }
    }
}

#[async_trait]
impl Bus for EventBridgeBus {
    async fn put(&self, event: OutgoingEvent) -> anyhow::Result<()> {
        let entry = PutEventsRequestEntry::builder()
            .event_bus_name(event.bus)
            .source(event.source)
            .detail_type(&event.detail_type)
            .detail(event.detail)
            .build();
        let sent = self.client.put_events().entries(entry).send().await.map_err(|e| {
            anyhow::anyhow!(
                "putting {:?}: {}",
                event.detail_type,
                aws_sdk_eventbridge::error::DisplayErrorContext(e)
            )
        })?;
        if sent.failed_entry_count() > 0 {
            let reason = sent
                .entries()
                .first()
                .and_then(|e| e.error_message())
                .unwrap_or("unknown");
            anyhow::bail!("EventBridge refused {:?}: {reason}", event.detail_type);
        }
        Ok(())
    }
}
