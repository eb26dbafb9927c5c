//! `events:putEvents` (and `.waitForTaskToken`): the entries go to the EventBridge bus of the
//! emulator the executions came from, when there is one, and to the rules deployed here, when
//! events are routed on this machine.

use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use eventdriven_states::{Failure, Integration, Resource, TaskRequest};
use serde_json::{Value, json};

use crate::local::events::{EventRouter, PutEntry, new_event_id};

pub struct PutEvents {
    /// The bus's service; `None` where no endpoint was given.
    pub events: Option<aws_sdk_eventbridge::Client>,
    /// Delivers the entries to the rules deployed here.
    pub router: Option<Arc<EventRouter>>,
}

/// The entries of a `PutEvents` request (`Source`, `DetailType`, `Detail`, `EventBusName`); a
/// `Detail` object is taken as its JSON text.
pub fn entries_of(request: &Value) -> Result<Vec<PutEntry>, Failure> {
    let entries = request["Entries"]
        .as_array()
        .ok_or_else(|| Failure::new("EventBridge.ValidationException", "Entries must be a list"))?;
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    Ok(entries
        .iter()
        .map(|entry| {
            let detail = match &entry["Detail"] {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            PutEntry {
                bus: entry["EventBusName"].as_str().map(str::to_owned),
                source: text(&entry["Source"]),
                detail_type: text(&entry["DetailType"]),
                detail,
            }
        })
        .collect())
}

#[async_trait]
impl Integration for PutEvents {
    fn serves(&self, resource: &Resource) -> bool {
        resource.service == "events" && resource.action == "putEvents"
    }

    async fn call(&self, request: TaskRequest) -> Result<Value, Failure> {
        if self.events.is_none() && self.router.is_none() {
            return Err(Failure::runtime(
                "events:putEvents needs an event bus: run with --endpoint of an emulator",
            ));
        }
        let entries = entries_of(&request.parameters)?;
        let results = put_and_route(self.events.as_ref(), self.router.as_ref(), &entries).await?;
        Ok(json!({ "Entries": results, "FailedEntryCount": 0 }))
    }
}

/// Puts the entries on the emulator's bus when there is one (else gives each an id here), then
/// delivers them to the rules deployed here when events are routed here; returns the
/// `PutEvents` result entries.
pub async fn put_and_route(
    bus: Option<&aws_sdk_eventbridge::Client>,
    router: Option<&Arc<EventRouter>>,
    entries: &[PutEntry],
) -> Result<Vec<Value>, Failure> {
    let results = match bus {
        Some(bus) => put_on_bus(bus, entries).await?,
        None => entries.iter().map(|_| json!({ "EventId": new_event_id() })).collect(),
    };
    if let Some(router) = router {
        router.deliver(entries).await?;
    }
    Ok(results)
}

/// Puts the entries on the emulator's bus; any entry it refuses fails the call.
async fn put_on_bus(events: &aws_sdk_eventbridge::Client, entries: &[PutEntry]) -> Result<Vec<Value>, Failure> {
    let request: Vec<PutEventsRequestEntry> = entries
        .iter()
        .map(|entry| {
            PutEventsRequestEntry::builder()
                .source(&entry.source)
                .detail_type(&entry.detail_type)
                .set_event_bus_name(entry.bus.clone())
                .detail(&entry.detail)
                .build()
        })
        .collect();
    let sent = events
        .put_events()
        .set_entries(Some(request))
        .send()
        .await
        .map_err(|e| {
            Failure::new(
                "EventBridge.ServiceException",
                aws_sdk_eventbridge::error::DisplayErrorContext(e).to_string(),
            )
        })?;
    let results: Vec<Value> = sent
        .entries()
        .iter()
        .map(|e| json!({ "EventId": e.event_id(), "ErrorCode": e.error_code(), "ErrorMessage": e.error_message() }))
        .collect();
    if sent.failed_entry_count() > 0 {
        return Err(Failure::new(
            "EventBridge.FailedEntry",
            Value::Array(results).to_string(),
        ));
    }
    Ok(results)
}
