//! The Succeed state: it ends its machine with its input, through InputPath and OutputPath.

use serde_json::Value;

use crate::error::Failure;
use crate::interpreter::io;
use crate::interpreter::run::{Here, Run};

pub(crate) fn output(run: &Run<'_>, here: &Here<'_>, input: &Value) -> Result<Value, Failure> {
    let context = run.context(here, None, None);
    let effective = io::input_path(here.state, input, &context)?;
    io::output_path(here.state, effective, &context)
}
