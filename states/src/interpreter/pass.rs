//! The Pass state: its `Result`, or its effective input, placed by ResultPath.

use serde_json::Value;

use crate::definition::Pass;
use crate::error::Failure;
use crate::interpreter::io;
use crate::interpreter::run::{Here, Run};

pub(crate) fn output(run: &Run<'_>, here: &Here<'_>, pass: &Pass, input: Value) -> Result<Value, Failure> {
    let state = here.state;
    let context = run.context(here, None, None);
    let effective = io::parameters(state, io::input_path(state, &input, &context)?, &context)?;
    let result = pass.result.clone().unwrap_or(effective);
    io::output_path(
        state,
        io::result_path(state.common.result_path.as_ref(), input, result)?,
        &context,
    )
}
