//! The Choice state: its rules, parsed with the definition, pick the next state; its
//! `Default` when none matches.

use serde_json::Value;

use crate::choice::choose as first_match;
use crate::definition::Choice;
use crate::error::{Failure, names};
use crate::interpreter::io;
use crate::interpreter::run::{Here, Run};
use crate::path::Scope;

/// The state's output and the state it leads to.
pub(crate) fn choose(
    run: &Run<'_>,
    here: &Here<'_>,
    choice: &Choice,
    input: &Value,
) -> Result<(Value, String), Failure> {
    let context = run.context(here, None, None);
    let effective = io::input_path(here.state, input, &context)?;
    let chosen = first_match(&choice.choices, Scope::new(&effective, &context))?
        .or(choice.default.as_deref())
        .ok_or_else(|| {
            Failure::new(
                names::NO_CHOICE_MATCHED,
                format!("no Choice rule of {:?} matched, and it has no Default", here.name),
            )
        })?
        .to_owned();
    Ok((io::output_path(here.state, effective, &context)?, chosen))
}
