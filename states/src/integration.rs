//! How Task states reach the world: a resource ARN, parsed, is served by an [`Integration`].
//!
//! The interpreter handles the integration patterns itself. A request-response or `.sync` call
//! returns the task's result. For `.waitForTaskToken`, the call only has to deliver the token;
//! the task then waits until someone answers it through [`TaskTokens`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde_json::Value;
use tokio::sync::mpsc;

use crate::error::Failure;

/// How a Task waits for its integration: the `.sync` or `.waitForTaskToken` suffix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pattern {
    RequestResponse,
    /// Run a job and wait for it to finish.
    Sync,
    WaitForTaskToken,
}

/// A Task's `Resource`, parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resource {
    pub arn: String,
    /// `eks`, `lambda`, `events`, `s3`, `aws-sdk:sfn`, …
    pub service: String,
    /// `runJob`, `invoke`, `putEvents`, `sendTaskSuccess`, …
    pub action: String,
    pub pattern: Pattern,
    /// A Lambda function ARN given directly as the resource: its result is the function's answer.
    pub direct_lambda: bool,
}

impl Resource {
    pub fn parse(arn: &str) -> Result<Resource, Failure> {
        let invalid = || Failure::runtime(format!("the resource {arn:?} is not a Step Functions integration ARN"));
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        if parts.len() < 6 || parts[0] != "arn" || parts[1].is_empty() {
            return Err(invalid());
        }
        match parts[2] {
            "states" if parts[3].is_empty() && parts[4].is_empty() => {
                let path = parts[5];
                let (call, pattern) = if let Some(call) = path.strip_suffix(".waitForTaskToken") {
                    (call, Pattern::WaitForTaskToken)
                } else if let Some(call) = path.strip_suffix(".sync").or_else(|| path.strip_suffix(".sync:2")) {
                    (call, Pattern::Sync)
                } else {
                    (path, Pattern::RequestResponse)
                };
                let (service, action) = call.rsplit_once(':').ok_or_else(invalid)?;
                Ok(Resource {
                    arn: arn.to_owned(),
                    service: service.to_owned(),
                    action: action.to_owned(),
                    pattern,
                    direct_lambda: false,
                })
            }
            "lambda" if parts[5].starts_with("function:") => Ok(Resource {
                arn: arn.to_owned(),
                service: "lambda".to_owned(),
                action: "invoke".to_owned(),
                pattern: Pattern::RequestResponse,
                direct_lambda: true,
            }),
            "states" if parts[5].starts_with("activity:") => Ok(Resource {
                arn: arn.to_owned(),
                service: "activity".to_owned(),
                action: parts[5].trim_start_matches("activity:").to_owned(),
                pattern: Pattern::WaitForTaskToken,
                direct_lambda: false,
            }),
            _ => Err(invalid()),
        }
    }

    /// `runJob.sync`, as history events name the resource.
    pub fn display_action(&self) -> String {
        match self.pattern {
            Pattern::RequestResponse => self.action.clone(),
            Pattern::Sync => format!("{}.sync", self.action),
            Pattern::WaitForTaskToken => format!("{}.waitForTaskToken", self.action),
        }
    }
}

/// Which execution and state a task call belongs to.
#[derive(Clone, Debug)]
pub struct Caller {
    pub execution_name: String,
    pub execution_arn: String,
    pub state_name: String,
    pub retry_count: u64,
}

/// One call of a Task state.
#[derive(Clone, Debug)]
pub struct TaskRequest {
    pub resource: Resource,
    /// The evaluated `Parameters` (or the effective input when there are none).
    pub parameters: Value,
    /// The task token of a `.waitForTaskToken` task, already placed wherever `Parameters` put it.
    pub token: Option<String>,
    pub caller: Caller,
}

/// Something that serves Task resources.
#[async_trait]
pub trait Integration: Send + Sync {
    /// Whether this integration serves `resource`.
    fn serves(&self, resource: &Resource) -> bool;

    /// Performs the call. For `.sync` the result is the finished job's description; for
    /// `.waitForTaskToken` the result is ignored and the task waits for its token.
    async fn call(&self, request: TaskRequest) -> Result<Value, Failure>;
}

/// The integrations an interpreter can call, first match wins.
#[derive(Clone, Default)]
pub struct Integrations(Vec<Arc<dyn Integration>>);

impl Integrations {
    pub fn with(mut self, integration: impl Integration + 'static) -> Self {
        self.0.push(Arc::new(integration));
        self
    }

    pub fn find(&self, resource: &Resource) -> Result<Arc<dyn Integration>, Failure> {
        self.0.iter().find(|i| i.serves(resource)).cloned().ok_or_else(|| {
            Failure::runtime(format!(
                "no local integration for the resource {:?} ({}:{}); this machine runs eks:runJob, lambda:invoke, events:putEvents and sfn:sendTask* tasks",
                resource.arn,
                resource.service,
                resource.display_action()
            ))
        })
    }
}

/// What answers a task token.
#[derive(Debug)]
pub enum TokenAnswer {
    Success(Value),
    Failure(Failure),
    Heartbeat,
}

/// The task tokens of waiting tasks, and the way to answer them (`SendTaskSuccess`, …).
#[derive(Clone, Default)]
pub struct TaskTokens {
    waiting: Arc<Mutex<HashMap<String, mpsc::UnboundedSender<TokenAnswer>>>>,
}

impl TaskTokens {
    /// A new token and the receiver its answers arrive on.
    pub fn issue(&self) -> (String, mpsc::UnboundedReceiver<TokenAnswer>) {
        let token = uuid::Uuid::new_v4().simple().to_string();
        let (sender, receiver) = mpsc::unbounded_channel();
        self.waiting.lock().expect("token lock").insert(token.clone(), sender);
        (token, receiver)
    }

    /// Forgets a token once its task has finished, so later answers are refused.
    pub fn retire(&self, token: &str) {
        self.waiting.lock().expect("token lock").remove(token);
    }

    /// Delivers `answer`; fails with `TaskDoesNotExist` as the service does for an unknown token.
    pub fn answer(&self, token: &str, answer: TokenAnswer) -> Result<(), Failure> {
        let waiting = self.waiting.lock().expect("token lock");
        let sender = waiting
            .get(token)
            .ok_or_else(|| Failure::new("Sfn.TaskDoesNotExistException", "Task Timed Out or does not exist"))?;
        sender
            .send(answer)
            .map_err(|_| Failure::new("Sfn.TaskTimedOutException", "Task Timed Out"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_parse_into_service_action_and_pattern() {
        let cases = [
            (
                "arn:aws:states:::eks:runJob.sync",
                "eks",
                "runJob",
                Pattern::Sync,
                false,
            ),
            (
                "arn:aws:states:::lambda:invoke",
                "lambda",
                "invoke",
                Pattern::RequestResponse,
                false,
            ),
            (
                "arn:aws:states:::events:putEvents.waitForTaskToken",
                "events",
                "putEvents",
                Pattern::WaitForTaskToken,
                false,
            ),
            (
                "arn:aws:states:::aws-sdk:sfn:sendTaskSuccess",
                "aws-sdk:sfn",
                "sendTaskSuccess",
                Pattern::RequestResponse,
                false,
            ),
            (
                "arn:aws:states:::states:startExecution.sync:2",
                "states",
                "startExecution",
                Pattern::Sync,
                false,
            ),
            (
                "arn:aws-us-gov:lambda:us-gov-west-1:123456789012:function:f",
                "lambda",
                "invoke",
                Pattern::RequestResponse,
                true,
            ),
        ];
        for (arn, service, action, pattern, direct) in cases {
            let r = Resource::parse(arn).unwrap();
            assert_eq!(
                (r.service.as_str(), r.action.as_str(), r.pattern, r.direct_lambda),
                (service, action, pattern, direct),
                "{arn}"
            );
        }
        assert!(Resource::parse("lambda:invoke").is_err());
    }

    #[test]
    fn an_unknown_resource_names_itself_in_the_error() {
        let resource = Resource::parse("arn:aws:states:::glue:startJobRun.sync").unwrap();
        let err = Integrations::default().find(&resource).err().unwrap();
        assert_eq!(err.error, "States.Runtime");
        assert!(err.cause.contains("glue:startJobRun.sync"), "{}", err.cause);
    }

    #[test]
    fn tokens_deliver_once_and_refuse_unknown_ones() {
        let tokens = TaskTokens::default();
        let (token, mut answers) = tokens.issue();
        tokens.answer(&token, TokenAnswer::Heartbeat).unwrap();
        assert!(matches!(answers.try_recv().unwrap(), TokenAnswer::Heartbeat));
        tokens.retire(&token);
        let err = tokens.answer(&token, TokenAnswer::Success(Value::Null)).unwrap_err();
        assert!(err.error.contains("TaskDoesNotExist"));
    }
}
