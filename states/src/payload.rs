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

/// Checks, without evaluating it, that every `key.$` of `template` holds a path or an
/// intrinsic function: the definition is refused otherwise, as AWS refuses it.
pub fn check(template: &Value) -> Result<(), Failure> {
    match template {
        Value::Object(fields) => fields.iter().try_for_each(|(key, value)| {
            if key.ends_with(".$") {
                expression(key, value).map(drop)
            } else {
                check(value)
            }
        }),
        Value::Array(items) => items.iter().try_for_each(check),
        _ => Ok(()),
    }
}

/// What the value of a `key.$` entry may be.
enum Expression<'a> {
    Path(&'a str),
    Intrinsic(&'a str),
}

fn expression<'a>(key: &str, value: &'a Value) -> Result<Expression<'a>, Failure> {
    match value.as_str() {
        Some(text) if path::is_path(text) => Ok(Expression::Path(text)),
        Some(text) if intrinsics::is_intrinsic(text) => Ok(Expression::Intrinsic(text)),
        _ => Err(Failure::runtime(format!(
            "the value of {key:?} must be a path or an intrinsic function, got {value}"
        ))),
    }
}

/// The value of one `key.$` entry.
fn dynamic(key: &str, value: &Value, scope: Scope<'_>) -> Result<Value, Failure> {
    match expression(key, value)? {
        // AWS fails the execution (`States.Runtime`), not the state, for a path that selects nothing.
        Expression::Path(path) => path::read(path, scope)
            .map_err(|failure| Failure::runtime(format!("{} (the field {key:?})", failure.cause))),
        Expression::Intrinsic(call) => intrinsics::evaluate(call, scope),
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

    #[test]
    fn check_refuses_what_evaluate_would_and_reads_nothing() {
        let good = json!({"a.$": "$.missing", "b": [{"c.$": "States.Format('{}', $.x)"}], "d.$x": 1, "e": {"f": "g"}});
        assert_eq!(check(&good), Ok(()));
        for bad in [
            json!({"x.$": "plain"}),
            json!({"n": [{"x.$": 1}]}),
            json!({"x": {"y.$": null}}),
        ] {
            let err = check(&bad).unwrap_err();
            assert!(
                err.cause.contains("x.$") || err.cause.contains("y.$"),
                "{bad}: {}",
                err.cause
            );
        }
    }
}
