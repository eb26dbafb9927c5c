//! The detail of every event a workflow run carries, shared by the definition (which emits the
//! first one), the listener library (which reads and forwards it) and the finisher (which reads
//! the token back). Field names are written once, here.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The detail type of a listener's answer that completes its task.
pub const TASK_FINISHED: &str = "task.finished";
/// The detail type of a listener's answer that fails its task, with `error` and `cause`.
pub const TASK_FAILED: &str = "task.failed";
/// The detail type that starts a run, unless the resource says otherwise.
pub const DEFAULT_START_DETAIL_TYPE: &str = "start";
/// What the platform puts when a side effect fails, with its `error` and `cause`.
pub const SIDE_EFFECT_FAILED: &str = "side_effect.failed";
/// Appended to a detail type for the event the platform puts when a side effect of it succeeds.
pub const DONE_SUFFIX: &str = ".done";
/// The largest event EventBridge accepts: source, detail type and detail, in bytes.
pub const MAX_EVENT_BYTES: usize = 256 * 1024;
/// The error of a task whose listener's answer would exceed [`MAX_EVENT_BYTES`].
pub const ANSWER_TOO_LARGE: &str = "eventdriven.AnswerTooLarge";
/// The error of a task whose listener could not put its answer.
pub const PUT_EVENTS_FAILED: &str = "eventdriven.PutEventsFailed";

pub const TASK_TOKEN: &str = "taskToken";
pub const EXECUTION_ID: &str = "executionId";
pub const STATE: &str = "state";
pub const INPUT: &str = "input";
pub const META: &str = "meta";
pub const RESULT: &str = "result";
pub const ERROR: &str = "error";
pub const CAUSE: &str = "cause";

/// Step Functions' limits on a task failure's fields.
pub const MAX_ERROR_LEN: usize = 256;
pub const MAX_CAUSE_LEN: usize = 32_768;

/// One hop of a run: which function emitted which event, and when. A run's events carry every
/// hop so far, so each event says how the run got there; EventBridge's own `time` has whole
/// seconds only, so each hop stamps its own.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Hop {
    pub source: String,
    pub detail_type: String,
    /// The emitting function's name, or the state machine's for a task's first event.
    pub function: String,
    /// When the event was put: RFC 3339, UTC, with milliseconds. Absent in events of earlier
    /// versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
}

/// The detail of a workflow event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Envelope {
    /// The task's token; absent in what a side effect receives, so it cannot answer the task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_token: Option<String>,
    pub execution_id: String,
    /// The task (state name) the event belongs to.
    pub state: String,
    /// The task's input, or what the previous listener passed on.
    #[serde(default)]
    pub input: Value,
    #[serde(default)]
    pub meta: Vec<Hop>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
}

/// Cuts `text` to at most `max` bytes on a character boundary.
pub fn truncate(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_envelope_reads_what_the_definition_emits() {
        let detail = json!({
            TASK_TOKEN: "t", EXECUTION_ID: "arn:x", STATE: "GetMultiple", INPUT: {"a": 1},
            META: [{"source": "s", "detailType": "get.multiple", "function": "machine"}],
        });
        let envelope: Envelope = serde_json::from_value(detail.clone()).unwrap();
        assert_eq!(envelope.meta[0].detail_type, "get.multiple");
        assert_eq!(serde_json::to_value(&envelope).unwrap(), detail);
    }

    /// The schema users read (docs/listener-protocol.md links it) is the one these types make:
    /// renaming a field without the schema fails here. `UPDATE_SCHEMA=1` rewrites the file.
    #[test]
    fn the_published_schema_is_the_envelopes() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/listener-envelope.schema.json");
        let mut schema = serde_json::to_value(schemars::schema_for!(Envelope)).unwrap();
        schema["title"] = json!("eventdriven workflow event detail (the envelope)");
        schema["$id"] = json!("https://eventdriven.dev/schemas/listener-envelope.schema.json");
        let generated = serde_json::to_string_pretty(&schema).unwrap() + "\n";
        if std::env::var_os("UPDATE_SCHEMA").is_some() {
            std::fs::write(&path, &generated).unwrap();
        }
        let published = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            published == generated,
            "{} differs from the Rust envelope; run UPDATE_SCHEMA=1 cargo test -p eventdriven-core envelope, and say what changed in docs/listener-protocol.md",
            path.display()
        );
    }

    #[test]
    fn a_side_effects_envelope_has_no_token_and_old_hops_no_time() {
        let detail =
            json!({ EXECUTION_ID: "arn:x", STATE: "S", META: [{"source": "s", "detailType": "d", "function": "f"}] });
        let envelope: Envelope = serde_json::from_value(detail.clone()).unwrap();
        assert_eq!(
            (envelope.task_token.clone(), envelope.meta[0].time.clone()),
            (None, None)
        );
        assert_eq!(serde_json::to_value(&envelope).unwrap()["taskToken"], Value::Null);
    }

    #[test]
    fn truncate_keeps_whole_characters() {
        assert_eq!(truncate("héllo", 2), "h");
        assert_eq!(truncate("héllo", 3), "hé");
        assert_eq!(truncate("abc", 10), "abc");
    }
}
