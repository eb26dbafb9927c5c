//! The JSONPaths and intrinsic functions that wire the execution input, the Map iteration and the
//! Job manifests together.
//!
//! The definition decides what `$` holds in each state and the manifests read from it; keeping
//! both sides' paths here means a renamed field cannot leave a Job reading a path that no longer
//! exists, which Step Functions would only report at run time.

use crate::contract::{self, Step};

/// The run id: the execution's name, a UUID when EventBridge starts the execution.
pub const EXECUTION_NAME: &str = "$$.Execution.Name";
/// The execution's ARN: it names the state machine too, and in a Distributed Map it is the
/// child execution's own.
pub const EXECUTION_ID: &str = "$$.Execution.Id";
/// How often the execution has been redriven: a redrive runs its failed steps again under the
/// same ARN.
pub const REDRIVE_COUNT: &str = "$$.Execution.RedriveCount";
/// How often the current state has been retried; makes Job names unique per attempt.
pub const RETRY_COUNT: &str = "$$.State.RetryCount";
/// The bucket and key of the object in the S3 "Object Created" event that is the execution input.
pub const EVENT_BUCKET: &str = "$.detail.bucket.name";
pub const EVENT_KEY: &str = "$.detail.object.key";
/// Where ListChunks stores its (filtered) answer in the execution state.
pub const LIST_RESULT: &str = "$.list";
/// Where a failed service-account check keeps its error, for the Fail state's cause.
pub const CHECK_FAILURE: &str = "$.check";
/// Where a failed chunk of a user's step keeps its error, for the Choice and the Fail states.
pub const CHUNK_FAILURE: &str = "$.failure";
/// The current Map item and its position, as the Map's ItemSelector sees them.
pub const MAP_ITEM_VALUE: &str = "$$.Map.Item.Value";
pub const MAP_ITEM_INDEX: &str = "$$.Map.Item.Index";

/// The fields the Map's ItemSelector gives each iteration: inside it, `$` holds only these.
pub mod item {
    pub const RUN_ID: &str = "run_id";
    pub const CHUNK: &str = "chunk";
    pub const INDEX: &str = "index";
    /// The run's chunks as list-chunks counted them: how many Jobs write beside this one.
    pub const RUN_CHUNKS: &str = "run_chunks";
    pub const ALL: [&str; 4] = [RUN_ID, CHUNK, INDEX, RUN_CHUNKS];
}

/// The array the Map iterates over: the chunks inside ListChunks' result.
pub fn chunks() -> String {
    format!("{LIST_RESULT}.{}", contract::LIST_CHUNKS_CHUNKS_FIELD)
}

/// How many chunks ListChunks counted: the Choice between the two Maps reads it.
pub fn chunk_count() -> String {
    format!("{LIST_RESULT}.{}", contract::LIST_CHUNKS_COUNT_FIELD)
}

/// A `States.Format` call for `before` followed by the chunk list key of the run whose id is
/// at the path `run_id`: the key a Distributed Map reads, or (after `s3://bucket/`) the URL
/// split writes.
pub fn chunk_list(before: &str, run_id: &str) -> String {
    let key = contract::chunk_list_key("\0");
    let (run_before, run_after) = key.split_once('\0').expect("the key holds the run id");
    let template = format!("{}{}{{}}{}", literal(before), literal(run_before), literal(run_after));
    format(&template, &[run_id])
}

/// Path of an ItemSelector field inside the iteration.
pub fn item(field: &str) -> String {
    format!("$.{field}")
}

/// A key whose value Step Functions evaluates as a path or intrinsic function.
pub fn dynamic(key: &str) -> String {
    format!("{key}.$")
}

/// `States.Format('template', args…)`. User text inside `template` must go through [`literal`].
pub fn format(template: &str, args: &[&str]) -> String {
    let mut call = format!("States.Format('{template}'");
    for arg in args {
        call.push_str(", ");
        call.push_str(arg);
    }
    call.push(')');
    call
}

/// `States.Hash(<path>, 'MD5')`: the value at `path` as 32 lowercase hex digits.
pub fn md5(path: &str) -> String {
    format!("States.Hash({path}, 'MD5')")
}

/// Escapes text for an intrinsic function's string literal, where `'`, `{`, `}` and `\` are special.
pub fn literal(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '\'' | '{' | '}' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// The literal pieces of a [`format`] call's template, unescaped, between its `{}` placeholders:
/// what [`literal`] and [`format`] put in, read back.
pub fn format_pieces(call: &str) -> Option<Vec<String>> {
    let template = call.strip_prefix("States.Format('")?;
    let (mut pieces, mut current, mut chars) = (Vec::new(), String::new(), template.chars());
    while let Some(c) = chars.next() {
        match c {
            '\\' => current.push(chars.next()?),
            '{' if chars.next()? == '}' => pieces.push(std::mem::take(&mut current)),
            '\'' => {
                pieces.push(current);
                return Some(pieces);
            }
            '{' | '}' => return None,
            c => current.push(c),
        }
    }
    None
}

/// What `$` holds where a step runs: the execution state, or one Map iteration's ItemSelector output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    Execution,
    Iteration,
}

impl Scope {
    /// `process` runs once per chunk inside the Map; every other step runs once per execution.
    pub fn of(step: Step) -> Self {
        match step {
            Step::Process => Scope::Iteration,
            Step::Split | Step::ListChunks | Step::Merge => Scope::Execution,
        }
    }

    pub fn run_id(self) -> String {
        match self {
            Scope::Execution => EXECUTION_NAME.to_owned(),
            Scope::Iteration => item(item::RUN_ID),
        }
    }

    /// `s3://bucket/key` of the triggering object; the event is only visible outside the Map.
    pub fn input_url(self) -> Option<String> {
        match self {
            Scope::Execution => Some(format("s3://{}/{}", &[EVENT_BUCKET, EVENT_KEY])),
            Scope::Iteration => None,
        }
    }

    /// The chunk reference; only an iteration has one.
    pub fn chunk(self) -> Option<String> {
        match self {
            Scope::Execution => None,
            Scope::Iteration => Some(item(item::CHUNK)),
        }
    }

    /// The run's chunk count as text (a container's environment holds only strings); only an
    /// iteration is handed it.
    pub fn run_chunks(self) -> Option<String> {
        match self {
            Scope::Execution => None,
            Scope::Iteration => Some(format("{}", &[&item(item::RUN_CHUNKS)])),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_builds_an_intrinsic_call() {
        assert_eq!(
            format("a-{}-{}", &["$.x", RETRY_COUNT]),
            "States.Format('a-{}-{}', $.x, $$.State.RetryCount)"
        );
    }

    #[test]
    fn format_pieces_read_back_what_format_and_literal_wrote() {
        let text = "it's {odd}\\";
        let call = format(&format!("s3://b/{}{{}}.csv", literal(text)), &["$.x"]);
        assert_eq!(
            format_pieces(&call),
            Some(vec![format!("s3://b/{text}"), ".csv".to_owned()])
        );
        assert_eq!(format_pieces("$.x"), None);
    }

    #[test]
    fn literal_escapes_intrinsic_metacharacters() {
        assert_eq!(literal(r"it's {x} \ y"), r"it\'s \{x\} \\ y");
        assert_eq!(literal("output/"), "output/");
    }

    #[test]
    fn only_the_process_step_runs_in_the_iteration() {
        assert_eq!(Scope::of(Step::Process), Scope::Iteration);
        for step in [Step::Split, Step::ListChunks, Step::Merge] {
            assert_eq!(Scope::of(step), Scope::Execution);
        }
        assert_eq!(Scope::Iteration.run_id(), "$.run_id");
        assert_eq!(Scope::Iteration.input_url(), None);
        assert_eq!(Scope::Execution.chunk(), None);
        assert_eq!(Scope::Execution.run_chunks(), None);
        assert_eq!(
            Scope::Iteration.run_chunks().as_deref(),
            Some("States.Format('{}', $.run_chunks)")
        );
    }

    #[test]
    fn chunks_are_read_from_the_list_result() {
        assert_eq!(chunks(), "$.list.chunks");
    }

    #[test]
    fn the_chunk_list_key_follows_the_contract() {
        assert_eq!(
            chunk_list("s3://b/", EXECUTION_NAME),
            "States.Format('s3://b/runs/{}/chunks.json', $$.Execution.Name)"
        );
        assert_eq!(
            format_pieces(&chunk_list("", "$.x")),
            Some(vec!["runs/".to_owned(), "/chunks.json".to_owned()])
        );
    }
}
