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

/// One hop of a run: which function emitted which event. A run's events carry every hop so far,
/// so each event says how the run got there.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Hop {
    pub source: String,
    pub detail_type: String,
    /// The emitting function's name, or the state machine's for a task's first event.
    pub function: String,
}

/// The detail of a workflow event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Envelope {
    pub task_token: String,
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

    #[test]
    fn truncate_keeps_whole_characters() {
        assert_eq!(truncate("héllo", 2), "h");
        assert_eq!(truncate("héllo", 3), "hé");
        assert_eq!(truncate("abc", 10), "abc");
    }
}
