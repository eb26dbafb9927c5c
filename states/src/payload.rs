//! Payload templates: `Parameters`, `ItemSelector` and `ResultSelector`.
//!
//! A template is JSON whose keys ending in `.$` are evaluated: their value is a path into the
//! state (`$…`), the context object (`$$…`) or an intrinsic function (`States.…`), and the key
//! loses its `.$` suffix. Everything else is copied as is, nested objects and arrays included.

use serde_json::{Map, Value};

use crate::error::Failure;
use crate::intrinsics;
use crate::path::{self, Scope};

/// Evaluates `template` in `scope`.
pub fn evaluate(template: &Value, scope: Scope<'_>) -> Result<Value, Failure> {
    match template {
        Value::Object(fields) => {
            let mut out = Map::with_capacity(fields.len());
            for (key, value) in fields {
                match key.strip_suffix(".$") {
                    Some(name) => {
                        out.insert(name.to_owned(), dynamic(key, value, scope)?);
                    }
                    None => {
                        out.insert(key.clone(), evaluate(value, scope)?);
                    }
                }
            }
            Ok(Value::Object(out))
        }
        Value::Array(items) => items.iter().map(|item| evaluate(item, scope)).collect(),
        other => Ok(other.clone()),
    }
}

/// The value of one `key.$` entry.
fn dynamic(key: &str, expression: &Value, scope: Scope<'_>) -> Result<Value, Failure> {
    let Some(expression) = expression.as_str() else {
        return Err(Failure::runtime(format!(
            "the value of {key:?} must be a path or an intrinsic function, got {expression}"
        )));
    };
    if path::is_path(expression) {
        // AWS fails the execution (`States.Runtime`), not the state, for a path that selects nothing.
        path::read(expression, scope)
            .map_err(|failure| Failure::runtime(format!("{} (the field {key:?})", failure.cause)))
    } else if intrinsics::is_intrinsic(expression) {
        intrinsics::evaluate(expression, scope)
    } else {
        Err(Failure::runtime(format!(
            "the value of {key:?} must be a path or an intrinsic function, got {expression:?}"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The AWS documentation's Parameters example.
    #[test]
    fn parameters_example_from_the_documentation() {
        let input = json!({
            "flagged": 7,
            "vals": [0, 10, 20, 30, 40, 50]
        });
        let context = json!({"Execution": {"Name": "exec"}});
        let template = json!({
            "flagged": true,
            "parts": {
                "first.$": "$.vals[0]",
                "last3.$": "$.vals[-3:]"
            },
            "weight.$": "$.flagged",
            "execution.$": "$$.Execution.Name",
            "list": [{"n.$": "$.flagged"}]
        });
        assert_eq!(
            evaluate(&template, Scope::new(&input, &context)).unwrap(),
            json!({
                "flagged": true,
                "parts": {"first": 0, "last3": [30, 40, 50]},
                "weight": 7,
                "execution": "exec",
                "list": [{"n": 7}]
            })
        );
    }

    #[test]
    fn a_missing_path_fails_the_execution_naming_the_field() {
        let err = evaluate(&json!({"x.$": "$.nope"}), Scope::new(&json!({}), &json!({}))).unwrap_err();
        assert_eq!(err.error, "States.Runtime");
        assert!(
            err.cause.contains("$.nope") && err.cause.contains("x.$"),
            "{}",
            err.cause
        );
    }

    #[test]
    fn a_literal_under_a_dynamic_key_is_refused() {
        let err = evaluate(&json!({"x.$": "plain"}), Scope::new(&json!({}), &json!({}))).unwrap_err();
        assert_eq!(err.error, "States.Runtime");
    }
}
