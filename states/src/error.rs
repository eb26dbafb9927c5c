//! Errors as Step Functions names them, and how Retry and Catch match them.

use serde::{Deserialize, Serialize};

/// The predefined error names of the Amazon States Language.
pub mod names {
    pub const ALL: &str = "States.ALL";
    pub const BRANCH_FAILED: &str = "States.BranchFailed";
    pub const DATA_LIMIT_EXCEEDED: &str = "States.DataLimitExceeded";
    pub const EXCEED_TOLERATED_FAILURE_THRESHOLD: &str = "States.ExceedToleratedFailureThreshold";
    pub const HEARTBEAT_TIMEOUT: &str = "States.HeartbeatTimeout";
    pub const INTRINSIC_FAILURE: &str = "States.IntrinsicFailure";
    pub const ITEM_READER_FAILED: &str = "States.ItemReaderFailed";
    pub const NO_CHOICE_MATCHED: &str = "States.NoChoiceMatched";
    pub const PARAMETER_PATH_FAILURE: &str = "States.ParameterPathFailure";
    pub const PERMISSIONS: &str = "States.Permissions";
    pub const RESULT_PATH_MATCH_FAILURE: &str = "States.ResultPathMatchFailure";
    pub const RESULT_WRITER_FAILED: &str = "States.ResultWriterFailed";
    pub const RUNTIME: &str = "States.Runtime";
    pub const TASK_FAILED: &str = "States.TaskFailed";
    pub const TIMEOUT: &str = "States.Timeout";
}

/// A failure: an error name and a human-readable cause, as in `{"Error": …, "Cause": …}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{error}: {cause}")]
pub struct Failure {
    pub error: String,
    pub cause: String,
}

impl Failure {
    pub fn new(error: impl Into<String>, cause: impl Into<String>) -> Self {
        Failure {
            error: error.into(),
            cause: cause.into(),
        }
    }

    /// An error in the definition or its data that no Retry or Catch can handle.
    pub fn runtime(cause: impl Into<String>) -> Self {
        Failure::new(names::RUNTIME, cause)
    }

    pub fn intrinsic(cause: impl Into<String>) -> Self {
        Failure::new(names::INTRINSIC_FAILURE, cause)
    }

    pub fn task_failed(cause: impl Into<String>) -> Self {
        Failure::new(names::TASK_FAILED, cause)
    }

    pub fn timeout(cause: impl Into<String>) -> Self {
        Failure::new(names::TIMEOUT, cause)
    }

    /// The error output a Catch hands on: `{"Error": …, "Cause": …}`.
    pub fn to_output(&self) -> serde_json::Value {
        serde_json::json!({ "Error": self.error, "Cause": self.cause })
    }

    /// Whether a Retry or Catch whose `ErrorEquals` lists `pattern` handles this failure.
    ///
    /// `States.ALL` matches every error but the terminal ones (`States.Runtime`,
    /// `States.DataLimitExceeded`); `States.TaskFailed` matches every error `States.ALL` does
    /// except `States.Timeout`. Any other name matches only itself.
    pub fn matches(&self, pattern: &str) -> bool {
        let terminal = self.error == names::RUNTIME || self.error == names::DATA_LIMIT_EXCEEDED;
        match pattern {
            names::ALL => !terminal,
            names::TASK_FAILED => !terminal && self.error != names::TIMEOUT,
            name => name == self.error && self.error != names::RUNTIME,
        }
    }

    /// Whether any name in `error_equals` matches.
    pub fn matches_any(&self, error_equals: &[String]) -> bool {
        error_equals.iter().any(|pattern| self.matches(pattern))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(error: &str) -> Failure {
        Failure::new(error, "cause")
    }

    #[test]
    fn wildcards_follow_the_documented_precedence() {
        let cases = [
            // (error, pattern, matches)
            ("States.Timeout", "States.ALL", true),
            ("States.Timeout", "States.TaskFailed", false),
            ("States.Timeout", "States.Timeout", true),
            ("Lambda.ServiceException", "States.TaskFailed", true),
            ("Lambda.ServiceException", "States.ALL", true),
            ("MyError", "States.TaskFailed", true),
            ("States.HeartbeatTimeout", "States.TaskFailed", true),
            ("States.Runtime", "States.ALL", false),
            ("States.Runtime", "States.TaskFailed", false),
            ("States.Runtime", "States.Runtime", false),
            ("States.DataLimitExceeded", "States.ALL", false),
            ("States.DataLimitExceeded", "States.DataLimitExceeded", true),
            ("MyError", "OtherError", false),
            ("States.TaskFailed", "States.Timeout", false),
        ];
        for (error, pattern, expected) in cases {
            assert_eq!(failure(error).matches(pattern), expected, "{error} vs {pattern}");
        }
    }

    #[test]
    fn error_output_has_the_catch_shape() {
        assert_eq!(
            Failure::new("E", "C").to_output(),
            serde_json::json!({"Error": "E", "Cause": "C"})
        );
    }
}
