//! `events:putEvents` (and `.waitForTaskToken`): the entries go to the EventBridge bus of the
//! emulator the executions came from.

use async_trait::async_trait;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use eventdriven_states::{Failure, Integration, Resource, TaskRequest};
use serde_json::{Value, json};

pub struct PutEvents {
    /// The bus's service; `None` where no endpoint was given.
    pub events: Option<aws_sdk_eventbridge::Client>,
}

#[async_trait]
impl Integration for PutEvents {
    fn serves(&self, resource: &Resource) -> bool {
        resource.service == "events" && resource.action == "putEvents"
    }

    async fn call(&self, request: TaskRequest) -> Result<Value, Failure> {
        let events = self.events.as_ref().ok_or_else(|| {
            Failure::runtime("events:putEvents needs an event bus: run with --endpoint of an emulator")
        })?;
        let entries = request.parameters["Entries"]
            .as_array()
            .ok_or_else(|| Failure::new("EventBridge.ValidationException", "Entries must be a list"))?;
        let text = |v: &Value| v.as_str().map(str::to_owned);
        let entries = entries
            .iter()
            .map(|entry| {
                let detail = match &entry["Detail"] {
                    Value::String(text) => text.clone(),
                    other => other.to_string(),
                };
                PutEventsRequestEntry::builder()
                    .set_source(text(&entry["Source"]))
                    .set_detail_type(text(&entry["DetailType"]))
                    .set_event_bus_name(text(&entry["EventBusName"]))
                    .detail(detail)
                    .build()
            })
            .collect();
        let sent = events
            .put_events()
            .set_entries(Some(entries))
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
        Ok(json!({ "Entries": results, "FailedEntryCount": 0 }))
    }
}
