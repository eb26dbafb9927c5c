//! Input and output processing, in the order a state applies it: `InputPath`, `Parameters`,
//! the state's work, `ResultSelector`, `ResultPath`, `OutputPath`; the payload limit every
//! state output and task result is held to; and the integer fields a path may give instead.

use serde_json::{Value, json};

use crate::definition::{NullablePath, State};
use crate::error::{Failure, names};
use crate::limits::PAYLOAD_LIMIT_BYTES;
use crate::path::{self, Scope};
use crate::payload;

/// `InputPath`: the whole input by default, `{}` when null.
pub(crate) fn input_path(state: &State, input: &Value, context: &Value) -> Result<Value, Failure> {
    match &state.common.input_path {
        None => Ok(input.clone()),
        Some(path) => select(path, input, context),
    }
}

/// `OutputPath`: the whole output by default, `{}` when null.
pub(crate) fn output_path(state: &State, output: Value, context: &Value) -> Result<Value, Failure> {
    match &state.common.output_path {
        None => Ok(output),
        Some(path) => select(path, &output, context),
    }
}

fn select(path: &NullablePath, data: &Value, context: &Value) -> Result<Value, Failure> {
    match path {
        NullablePath::Null => Ok(json!({})),
        NullablePath::Path(path) => path::read(path, Scope::new(data, context)),
    }
}

/// `Parameters`, evaluated on the effective input.
pub(crate) fn parameters(state: &State, effective: Value, context: &Value) -> Result<Value, Failure> {
    match &state.common.parameters {
        Some(template) => payload::evaluate(template, Scope::new(&effective, context)),
        None => Ok(effective),
    }
}

/// `ResultSelector`, evaluated on the raw result.
pub(crate) fn result_selector(state: &State, result: Value, context: &Value) -> Result<Value, Failure> {
    match &state.common.result_selector {
        Some(template) => payload::evaluate(template, Scope::new(&result, context)),
        None => Ok(result),
    }
}

/// `ResultPath` of a state or a Catch: where the result goes in the raw input; `$` by default,
/// discarded when null.
pub(crate) fn result_path(path: Option<&NullablePath>, input: Value, result: Value) -> Result<Value, Failure> {
    match path {
        None => Ok(result),
        Some(NullablePath::Null) => Ok(input),
        Some(NullablePath::Path(path)) => path::write(input, path, result),
    }
}

/// The result placed by the state's `ResultSelector` and `ResultPath`, then its `OutputPath`:
/// what a Task, Parallel or Map state outputs.
pub(crate) fn state_output(state: &State, input: &Value, result: Value, context: &Value) -> Result<Value, Failure> {
    let selected = result_selector(state, result, context)?;
    let placed = result_path(state.common.result_path.as_ref(), input.clone(), selected)?;
    output_path(state, placed, context)
}

/// `data` as the JSON text history records; fails with `States.DataLimitExceeded`, as the
/// service does, when it is larger than a payload may be (`what` names it in the cause).
pub(crate) fn within_payload_limit(data: &Value, what: impl FnOnce() -> String) -> Result<String, Failure> {
    let text = data.to_string();
    let size = text.len();
    if size as u64 <= PAYLOAD_LIMIT_BYTES {
        return Ok(text);
    }
    Err(Failure::new(
        names::DATA_LIMIT_EXCEEDED,
        format!(
            "{} is {size} bytes, more than the {PAYLOAD_LIMIT_BYTES} bytes a payload may hold",
            what()
        ),
    ))
}

/// A non-negative integer given directly (`TimeoutSeconds`) or through a path
/// (`TimeoutSecondsPath`) read in `scope`.
pub(crate) fn integer(value: Option<u64>, path: Option<&str>, scope: Scope<'_>) -> Result<Option<u64>, Failure> {
    match path {
        None => Ok(value),
        Some(path) => {
            let found = path::read(path, scope)?;
            found
                .as_u64()
                .map(Some)
                .ok_or_else(|| Failure::runtime(format!("{path} must select a non-negative integer, got {found}")))
        }
    }
}
