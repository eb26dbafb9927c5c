//! An execution's events, in the shapes `GetExecutionHistory` returns them.
//!
//! Each event has an `id`, the `previousEventId` it follows, a `timestamp`, a `type` such as
//! `TaskScheduled`, and one `…EventDetails` object named after its type. Observers see every
//! event as it is recorded, which is how a caller logs transitions or persists progress. A
//! history that does not keep its events holds only their count: an execution with thousands of
//! Map iterations then runs in the same memory as one with a few.

use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::clock;

/// One history event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    pub timestamp: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub id: u64,
    pub previous_event_id: u64,
    #[serde(flatten)]
    pub details: serde_json::Map<String, Value>,
}

impl Event {
    /// The `…EventDetails` object, whatever its name.
    pub fn details(&self) -> &Value {
        self.details.values().next().unwrap_or(&Value::Null)
    }
}

/// Called with each event as it is recorded.
pub type Observer = Arc<dyn Fn(&Event) + Send + Sync>;

/// The events of one execution, shared by every branch and iteration of it.
#[derive(Clone)]
pub struct History {
    recorded: Arc<Mutex<Recorded>>,
    observer: Option<Observer>,
    keep: bool,
}

#[derive(Default)]
struct Recorded {
    count: u64,
    /// Empty unless the history keeps its events.
    events: Vec<Event>,
}

impl History {
    /// A history whose events reach `observer`, and stay in memory only when `keep`.
    pub fn new(observer: Option<Observer>, keep: bool) -> Self {
        History {
            recorded: Arc::default(),
            observer,
            keep,
        }
    }

    /// Records an event of `kind` after the event `previous` (0 for none) and returns its id.
    ///
    /// `details` goes under the field the API names after the type: `TaskStateEntered` and every
    /// other `…StateEntered` share `stateEnteredEventDetails`, and likewise for `…StateExited`.
    pub fn record(&self, kind: &str, previous: u64, details: Option<Value>) -> u64 {
        let mut recorded = self.recorded.lock().expect("history lock");
        recorded.count += 1;
        let id = recorded.count;
        let mut fields = serde_json::Map::new();
        if let Some(details) = details {
            fields.insert(details_field(kind), details);
        }
        let event = Event {
            timestamp: clock::now_iso(),
            kind: kind.to_owned(),
            id,
            previous_event_id: previous,
            details: fields,
        };
        if let Some(observer) = &self.observer {
            observer(&event);
        }
        if self.keep {
            recorded.events.push(event);
        }
        id
    }

    /// The id of the newest event, 0 when there is none.
    pub fn last_id(&self) -> u64 {
        self.recorded.lock().expect("history lock").count
    }

    /// The events kept, taken out rather than copied: for the end of an execution, whose
    /// history can be long.
    pub fn take_events(&self) -> Vec<Event> {
        std::mem::take(&mut self.recorded.lock().expect("history lock").events)
    }
}

/// `TaskScheduled` -> `taskScheduledEventDetails`; `PassStateEntered` -> `stateEnteredEventDetails`.
fn details_field(kind: &str) -> String {
    let base = if kind.ends_with("StateEntered") {
        "StateEntered"
    } else if kind.ends_with("StateExited") {
        "StateExited"
    } else {
        kind
    };
    let mut chars = base.chars();
    let first = chars.next().map(|c| c.to_ascii_lowercase()).unwrap_or_default();
    format!("{first}{}EventDetails", chars.as_str())
}

/// Details of a state entered or exited: its name and the input or output, as a JSON string.
pub fn state_details(name: &str, field: &str, data: &Value) -> Value {
    json!({ "name": name, field: data.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_fields_are_named_as_the_api_names_them() {
        let cases = [
            ("TaskStateEntered", "stateEnteredEventDetails"),
            ("MapStateEntered", "stateEnteredEventDetails"),
            ("PassStateExited", "stateExitedEventDetails"),
            ("TaskScheduled", "taskScheduledEventDetails"),
            ("ExecutionSucceeded", "executionSucceededEventDetails"),
            ("MapIterationStarted", "mapIterationStartedEventDetails"),
            ("MapStateStarted", "mapStateStartedEventDetails"),
        ];
        for (kind, field) in cases {
            assert_eq!(details_field(kind), field, "{kind}");
        }
    }

    #[test]
    fn events_chain_and_reach_the_observer() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        let history = History::new(
            Some(Arc::new(move |e: &Event| sink.lock().unwrap().push(e.kind.clone()))),
            true,
        );
        let first = history.record("ExecutionStarted", 0, Some(json!({"input": "{}"})));
        let second = history.record("PassStateEntered", first, Some(state_details("P", "input", &json!({}))));
        let events = history.take_events();
        assert_eq!((first, second), (1, 2));
        assert_eq!(events[1].previous_event_id, 1);
        assert_eq!(events[1].details()["name"], "P");
        assert_eq!(*seen.lock().unwrap(), ["ExecutionStarted", "PassStateEntered"]);
        let json = serde_json::to_value(&events[0]).unwrap();
        assert_eq!(json["type"], "ExecutionStarted");
        assert_eq!(json["executionStartedEventDetails"]["input"], "{}");
        assert_eq!(json["previousEventId"], 0);
    }

    #[test]
    fn a_history_that_keeps_nothing_still_numbers_and_observes_every_event() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        let history = History::new(Some(Arc::new(move |e: &Event| sink.lock().unwrap().push(e.id))), false);
        let mut last = 0;
        for _ in 0..1000 {
            last = history.record("MapIterationStarted", last, Some(json!({"index": 0})));
        }
        assert_eq!((last, history.last_id()), (1000, 1000));
        assert!(history.take_events().is_empty());
        assert_eq!(*seen.lock().unwrap(), (1..=1000).collect::<Vec<u64>>());
    }
}
