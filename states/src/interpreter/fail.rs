//! The Fail state: it ends its execution with an error and a cause, fixed or read from its
//! input (`ErrorPath`, `CausePath`, each a path or an intrinsic function).

use serde_json::Value;

use crate::definition::Fail;
use crate::error::Failure;
use crate::interpreter::run::{Here, Run};
use crate::intrinsics;
use crate::path::{self, Scope};

/// The failure the state raises; a path or intrinsic that fails raises its own failure instead.
pub(crate) fn failure(run: &Run<'_>, here: &Here<'_>, fail: &Fail, input: &Value) -> Failure {
    let context = run.context(here, None, None);
    let scope = Scope::new(input, &context);
    let dynamic = |expression: &Option<String>, fixed: &Option<String>| -> Result<String, Failure> {
        match expression {
            Some(e) => {
                let value = if intrinsics::is_intrinsic(e) {
                    intrinsics::evaluate(e, scope)?
                } else {
                    path::read(e, scope)?
                };
                Ok(value.as_str().map_or_else(|| value.to_string(), str::to_owned))
            }
            None => Ok(fixed.clone().unwrap_or_default()),
        }
    };
    match (
        dynamic(&fail.error_path, &fail.error),
        dynamic(&fail.cause_path, &fail.cause),
    ) {
        (Ok(error), Ok(cause)) => Failure::new(error, cause),
        (Err(failure), _) | (_, Err(failure)) => failure,
    }
}
