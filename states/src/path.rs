//! JSONPath as Step Functions uses it: paths that read the state (`$…`) or the context object
//! (`$$…`), and the reference paths of `ResultPath` that write into the state.
//!
//! Reads use an RFC 9535 implementation. A definite path (names and single indexes only) yields
//! the one value it selects; an indefinite one (wildcards, slices, filters, unions, `..`) yields
//! the array of every match, as Step Functions does.

use serde_json::{Map, Value};
use serde_json_path::JsonPath;

use crate::error::Failure;

/// What a path may read: the state's data (`$`) and the context object (`$$`).
#[derive(Clone, Copy, Debug)]
pub struct Scope<'a> {
    pub input: &'a Value,
    pub context: &'a Value,
}

impl<'a> Scope<'a> {
    pub fn new(input: &'a Value, context: &'a Value) -> Self {
        Scope { input, context }
    }
}

/// Whether `text` is a path (rather than an intrinsic function or a literal).
pub fn is_path(text: &str) -> bool {
    text.starts_with('$')
}

/// Evaluates `path` in `scope`; `None` when a definite path selects nothing.
pub fn try_read(path: &str, scope: Scope<'_>) -> Result<Option<Value>, Failure> {
    let (document, path) = match path.strip_prefix("$$") {
        Some(rest) => (scope.context, bracket_wide_names(&format!("${rest}"))),
        None => (scope.input, bracket_wide_names(path)),
    };
    let parsed = JsonPath::parse(&path).map_err(|e| Failure::runtime(format!("invalid JSONPath {path:?}: {e}")))?;
    let nodes = parsed.query(document).all();
    if is_definite(&path) {
        Ok(nodes.first().map(|v| (*v).clone()))
    } else {
        Ok(Some(Value::Array(nodes.into_iter().cloned().collect())))
    }
}

/// Evaluates `path` in `scope`, failing when it selects nothing.
pub fn read(path: &str, scope: Scope<'_>) -> Result<Value, Failure> {
    try_read(path, scope)?.ok_or_else(|| {
        Failure::runtime(format!(
            "the JSONPath {path:?} could not be found in the input {}",
            if path.starts_with("$$") {
                scope.context
            } else {
                scope.input
            }
        ))
    })
}

/// Rewrites dot-notation names RFC 9535 does not allow but Step Functions does (`$.a-b`, `$.a:b`)
/// into bracket notation (`$['a-b']`).
fn bracket_wide_names(path: &str) -> String {
    let mut out = String::with_capacity(path.len() + 8);
    let mut rest = path;
    let mut in_brackets = 0usize;
    while let Some(c) = rest.chars().next() {
        match c {
            '[' => in_brackets += 1,
            ']' => in_brackets = in_brackets.saturating_sub(1),
            '.' if in_brackets == 0 && !rest[1..].starts_with(['.', '*', '[']) => {
                let name_len = rest[1..].find(['.', '[']).unwrap_or(rest.len() - 1);
                let name = &rest[1..1 + name_len];
                let plain = name.chars().all(|c| c.is_alphanumeric() || c == '_')
                    && !name.starts_with(|c: char| c.is_ascii_digit());
                if !name.is_empty() && !plain {
                    // After `..` the selector follows the dots directly: `$..['a-b']`.
                    if out.ends_with('.') {
                        out.push('.');
                    }
                    out.push_str("['");
                    out.push_str(&name.replace('\\', "\\\\").replace('\'', "\\'"));
                    out.push_str("']");
                    rest = &rest[1 + name_len..];
                    continue;
                }
            }
            _ => {}
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// A path that can select at most one value: no wildcard, slice, filter, union or descendant.
fn is_definite(path: &str) -> bool {
    let mut in_quotes: Option<char> = None;
    let mut previous = '\0';
    for c in path.chars() {
        match in_quotes {
            Some(q) if c == q && previous != '\\' => in_quotes = None,
            Some(_) => {}
            None => match c {
                '\'' | '"' => in_quotes = Some(c),
                '*' | '?' | ':' | ',' => return false,
                '.' if previous == '.' => return false,
                _ => {}
            },
        }
        previous = c;
    }
    true
}

/// One step of a reference path: a field name or an array index.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Step {
    Field(String),
    Index(usize),
}

/// Parses a reference path (`$`, `$.a.b`, `$['a b'][0]`): names and indexes only.
fn reference_steps(path: &str) -> Result<Vec<Step>, Failure> {
    let invalid = |why: &str| Failure::runtime(format!("invalid reference path {path:?}: {why}"));
    let mut rest = path.strip_prefix('$').ok_or_else(|| invalid("it must start with $"))?;
    let mut steps = Vec::new();
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('.') {
            let end = after.find(['.', '[']).unwrap_or(after.len());
            let name = &after[..end];
            if name.is_empty() || name == "*" {
                return Err(invalid("a field name is expected after '.'"));
            }
            steps.push(Step::Field(name.to_owned()));
            rest = &after[end..];
        } else if let Some(after) = rest.strip_prefix('[') {
            let end = after.find(']').ok_or_else(|| invalid("unclosed '['"))?;
            let inner = after[..end].trim();
            let quoted = inner
                .strip_prefix('\'')
                .and_then(|s| s.strip_suffix('\''))
                .or_else(|| inner.strip_prefix('"').and_then(|s| s.strip_suffix('"')));
            match quoted {
                Some(name) => steps.push(Step::Field(name.to_owned())),
                None => steps.push(Step::Index(
                    inner
                        .parse()
                        .map_err(|_| invalid("only names and indexes are allowed"))?,
                )),
            }
            rest = &after[end + 1..];
        } else {
            return Err(invalid("'.' or '[' expected"));
        }
    }
    Ok(steps)
}

/// Writes `value` into `target` at the reference path `path`, creating the objects on the way,
/// as `ResultPath` does. `$` replaces the whole target.
pub fn write(target: Value, path: &str, value: Value) -> Result<Value, Failure> {
    let steps = reference_steps(path)?;
    let mismatch = || {
        Failure::new(
            crate::error::names::RESULT_PATH_MATCH_FAILURE,
            format!("unable to apply ResultPath {path:?}: the input does not have the shape the path needs"),
        )
    };
    let mut root = target;
    let mut slot = &mut root;
    for step in steps {
        slot = match step {
            Step::Field(name) => {
                if slot.is_null() {
                    *slot = Value::Object(Map::new());
                }
                slot.as_object_mut()
                    .ok_or_else(mismatch)?
                    .entry(name)
                    .or_insert(Value::Null)
            }
            Step::Index(index) => slot
                .as_array_mut()
                .and_then(|a| a.get_mut(index))
                .ok_or_else(mismatch)?,
        };
    }
    *slot = value;
    Ok(root)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn definite_paths_select_one_value_and_indefinite_ones_an_array() {
        let input = json!({"a": {"b": [1, 2, 3]}, "items": [{"p": 1}, {"p": 2}], "a-b": {"c": 7}, "2fa": "code"});
        let context = json!({"Execution": {"Name": "run-1"}});
        let scope = Scope::new(&input, &context);
        let cases = [
            ("$", input.clone()),
            ("$.a.b", json!([1, 2, 3])),
            ("$.a.b[1]", json!(2)),
            ("$['a']['b'][0]", json!(1)),
            ("$.items[*].p", json!([1, 2])),
            ("$.a.b[0:2]", json!([1, 2])),
            ("$..p", json!([1, 2])),
            ("$.items[?@.p > 1]", json!([{"p": 2}])),
            ("$$.Execution.Name", json!("run-1")),
            ("$.a-b.c", json!(7)),
            ("$..c", json!([7])),
            ("$..a-b", json!([{"c": 7}])),
            ("$.2fa", json!("code")),
        ];
        for (path, expected) in cases {
            assert_eq!(read(path, scope).unwrap(), expected, "{path}");
        }
    }

    #[test]
    fn a_missing_definite_path_fails_naming_the_path() {
        let input = json!({"a": 1});
        let err = read("$.b", Scope::new(&input, &Value::Null)).unwrap_err();
        assert_eq!(err.error, "States.Runtime");
        assert!(err.cause.contains("$.b"), "{}", err.cause);
        // An indefinite path that matches nothing is an empty array, not an error.
        assert_eq!(read("$.b[*]", Scope::new(&input, &Value::Null)).unwrap(), json!([]));
    }

    #[test]
    fn result_path_writes_create_objects_on_the_way() {
        let cases = [
            (json!({"a": 1}), "$", json!(2), json!(2)),
            (json!({"a": 1}), "$.b", json!(2), json!({"a": 1, "b": 2})),
            (json!({"a": 1}), "$.b.c", json!(2), json!({"a": 1, "b": {"c": 2}})),
            (
                json!({"a": {"x": 0}}),
                "$.a.c",
                json!(2),
                json!({"a": {"x": 0, "c": 2}}),
            ),
            (json!({"a": [0, 1]}), "$.a[1]", json!(5), json!({"a": [0, 5]})),
            (json!({"a": 1}), "$['b c']", json!(2), json!({"a": 1, "b c": 2})),
        ];
        for (target, path, value, expected) in cases {
            assert_eq!(write(target, path, value).unwrap(), expected, "{path}");
        }
    }

    #[test]
    fn result_path_into_a_scalar_is_a_match_failure() {
        let err = write(json!({"a": 1}), "$.a.b", json!(2)).unwrap_err();
        assert_eq!(err.error, "States.ResultPathMatchFailure");
        assert!(write(json!({}), "$.a[*]", json!(1)).is_err());
    }
}
