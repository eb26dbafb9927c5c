//! EventBridge's input transformer: what a rule's target receives instead of the event, made of
//! a template and the values paths select from the event.
//!
//! In a JSON template, a `<name>` placeholder outside a string becomes the value's JSON (`null`
//! when its path selects nothing) and inside a string the value's text, escaped (nothing when
//! its path selects nothing). A template that is not JSON is text: each placeholder becomes the
//! value's text, and the target receives the text as a JSON string.

use std::collections::BTreeMap;

use eventdriven_states::Failure;
use eventdriven_states::path::{Scope, try_read};
use serde_json::Value;

/// A target's `InputTransformer`.
#[derive(Clone, Debug, PartialEq)]
pub struct InputTransformer {
    /// `InputPathsMap`: placeholder name -> JSONPath into the event.
    pub paths: BTreeMap<String, String>,
    /// `InputTemplate`.
    pub template: String,
}

impl InputTransformer {
    /// What the target receives for `event`.
    pub fn apply(&self, event: &Value) -> Result<Value, Failure> {
        let mut values = BTreeMap::new();
        for (name, path) in &self.paths {
            values.insert(name.as_str(), try_read(path, Scope::new(event, &Value::Null))?);
        }
        let as_json = fill(&self.template, &values, Mode::Json);
        Ok(serde_json::from_str(&as_json).unwrap_or_else(|_| Value::String(fill(&self.template, &values, Mode::Text))))
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Json,
    Text,
}

/// The template with every placeholder of a known name replaced.
fn fill(template: &str, values: &BTreeMap<&str, Option<Value>>, mode: Mode) -> String {
    let mut out = String::with_capacity(template.len());
    let (mut in_string, mut escaped) = (false, false);
    let mut rest = template;
    while let Some(c) = rest.chars().next() {
        let placeholder = (c == '<')
            .then(|| rest[1..].split_once('>'))
            .flatten()
            .and_then(|(name, after)| Some((values.get(name)?, after)));
        if let Some((value, after)) = placeholder {
            match (mode, in_string, value) {
                (Mode::Json, false, Some(value)) => out.push_str(&value.to_string()),
                (Mode::Json, false, None) => out.push_str("null"),
                (Mode::Json, true, value) => {
                    let quoted = Value::String(text(value.as_ref())).to_string();
                    out.push_str(&quoted[1..quoted.len() - 1]);
                }
                (Mode::Text, _, value) => out.push_str(&text(value.as_ref())),
            }
            rest = after;
            continue;
        }
        if escaped {
            escaped = false;
        } else if c == '\\' && in_string {
            escaped = true;
        } else if c == '"' {
            in_string = !in_string;
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// A value as text: a string's own characters, anything else its JSON; nothing when absent.
fn text(value: Option<&Value>) -> String {
    match value {
        None => String::new(),
        Some(Value::String(text)) => text.clone(),
        Some(other) => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use eventdriven_core::workflow::envelope::Envelope;
    use eventdriven_core::workflow::rules::side_effect_input;
    use serde_json::json;

    fn transformer(paths: &[(&str, &str)], template: &str) -> InputTransformer {
        InputTransformer {
            paths: paths.iter().map(|(n, p)| (n.to_string(), p.to_string())).collect(),
            template: template.to_owned(),
        }
    }

    fn task_event() -> Value {
        json!({
            "version": "0",
            "id": "e-1",
            "detail-type": "order.approve",
            "source": "polyglot",
            "account": "123456789012",
            "time": "2026-11-23T10:00:00Z",
            "region": "us-east-1",
            "resources": [],
            "detail": {
                "taskToken": "secret-token",
                "executionId": "arn:aws:states:us-east-1:123456789012:execution:eventdriven-polyglot:run-1",
                "state": "Approve \"quoted\"\nline",
                "input": {"order": {"id": "o-1", "items": [1, 2]}},
                "meta": [{"source": "polyglot", "detailType": "order.approve", "function": "eventdriven-polyglot", "time": "2026-11-23T10:00:00.123Z"}],
            },
        })
    }

    #[test]
    fn a_side_effect_gets_the_event_without_its_task_token() {
        let (paths, template) = side_effect_input();
        let transformer = transformer(&paths, &template);
        let event = task_event();
        let received = transformer.apply(&event).unwrap();
        for field in [
            "version",
            "id",
            "detail-type",
            "source",
            "account",
            "time",
            "region",
            "resources",
        ] {
            assert_eq!(received[field], event[field], "{field}");
        }
        let detail = received["detail"].as_object().unwrap();
        assert!(!detail.contains_key("taskToken"), "{received}");
        let envelope: Envelope = serde_json::from_value(received["detail"].clone()).unwrap();
        assert_eq!(envelope.task_token, None);
        assert_eq!(envelope.execution_id, event["detail"]["executionId"]);
        assert_eq!(envelope.state, "Approve \"quoted\"\nline");
        assert_eq!(envelope.input, event["detail"]["input"]);
        assert_eq!(json!(envelope.meta), event["detail"]["meta"]);
    }

    #[test]
    fn a_missing_value_is_null_outside_strings_and_empty_inside() {
        let transformer = transformer(&[("a", "$.detail.absent")], r#"{"value": <a>, "text": "[<a>]"}"#);
        assert_eq!(
            transformer.apply(&task_event()).unwrap(),
            json!({"value": null, "text": "[]"})
        );
    }

    #[test]
    fn values_inside_strings_are_their_text_escaped() {
        let transformer = transformer(
            &[("input", "$.detail.input"), ("state", "$.detail.state")],
            r#"{"summary": "<state> got <input>", "input": <input>}"#,
        );
        let received = transformer.apply(&task_event()).unwrap();
        assert_eq!(
            received["summary"],
            format!("Approve \"quoted\"\nline got {}", task_event()["detail"]["input"])
        );
        assert_eq!(received["input"], task_event()["detail"]["input"]);
    }

    #[test]
    fn a_text_template_gives_text_and_unknown_placeholders_stay() {
        let text = transformer(
            &[("type", "$.detail-type"), ("id", "$.detail.input.order.id")],
            "order <id> is <type> <not-a-placeholder>",
        );
        assert_eq!(
            text.apply(&task_event()).unwrap(),
            json!("order o-1 is order.approve <not-a-placeholder>")
        );
        let comparison = transformer(
            &[("id", "$.detail.input.order.id")],
            r#"{"rule": "a < b", "id": "<id>"}"#,
        );
        assert_eq!(
            comparison.apply(&task_event()).unwrap(),
            json!({"rule": "a < b", "id": "o-1"})
        );
    }
}
