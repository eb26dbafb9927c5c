//! The Task state: one call of its resource's integration, within its timeout, and for
//! `.waitForTaskToken` the wait for the token's answer, each step recorded in the history.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::mpsc::UnboundedReceiver;

use crate::definition::Task;
use crate::error::{Failure, names};
use crate::integration::{Pattern, Resource, TaskRequest, TokenAnswer};
use crate::interpreter::io;
use crate::interpreter::run::{Here, Run};
use crate::path::Scope;

/// One attempt of a Task state.
pub(crate) async fn attempt(
    run: &Run<'_>,
    here: &Here<'_>,
    task: &Task,
    input: &Value,
    last: &mut u64,
) -> Result<Value, Failure> {
    let state = here.state;
    let resource = &task.resource;
    let issued = (resource.pattern == Pattern::WaitForTaskToken).then(|| run.tokens.issue());
    let token = issued.as_ref().map(|(token, _)| token.clone());
    let context = run.context(here, token.as_deref(), None);
    let effective = io::input_path(state, input, &context)?;
    let parameters = io::parameters(state, effective.clone(), &context)?;
    let scope = Scope::new(&effective, &context);
    let timeout = io::integer(task.timeout_seconds, task.timeout_seconds_path.as_deref(), scope)?;
    let heartbeat = io::integer(task.heartbeat_seconds, task.heartbeat_seconds_path.as_deref(), scope)?;
    let integration = run.integrations.find(resource)?;

    let events = Events::of(resource);
    let scheduled = events.scheduled(run.region, resource, &parameters, timeout, heartbeat);
    *last = run.history.record(&events.name("Scheduled"), *last, Some(scheduled));
    *last = run.history.record(&events.name("Started"), *last, events.started());

    let request = TaskRequest {
        resource: resource.clone(),
        parameters,
        token: token.clone(),
        caller: run.caller(here),
    };
    let call = async {
        let result = integration.call(request).await?;
        // A job started (`.sync`) or a token handed out is recorded as submitted.
        if events.is_task() && resource.pattern != Pattern::RequestResponse {
            let submitted = events.details("output", json!(result.to_string()));
            *last = run.history.record("TaskSubmitted", *last, Some(submitted));
        }
        match issued {
            Some((_, answers)) => wait_for_token(answers, heartbeat).await,
            None => Ok(result),
        }
    };
    let result = within_timeout(timeout, call).await;
    if let Some(token) = &token {
        run.tokens.retire(token);
    }
    let result = record_outcome(run, here, &events, result, last)?;
    io::state_output(state, input, result, &context)
}

/// `call`'s result, or `States.Timeout` when it runs longer than `timeout` seconds.
async fn within_timeout(
    timeout: Option<u64>,
    call: impl Future<Output = Result<Value, Failure>>,
) -> Result<Value, Failure> {
    match timeout {
        Some(seconds) => tokio::time::timeout(Duration::from_secs(seconds), call)
            .await
            .unwrap_or_else(|_| {
                Err(Failure::timeout(format!(
                    "the task ran longer than its {seconds} s timeout"
                )))
            }),
        None => call.await,
    }
}

/// Records how the task ended: succeeded with its result, which must fit a payload, or failed
/// or timed out.
fn record_outcome(
    run: &Run<'_>,
    here: &Here<'_>,
    events: &Events,
    result: Result<Value, Failure>,
    last: &mut u64,
) -> Result<Value, Failure> {
    let result = result.and_then(|result| {
        let text = io::within_payload_limit(&result, || format!("the result of the task {:?}", here.name))?;
        Ok((result, text))
    });
    match result {
        Ok((result, text)) => {
            let succeeded = events.details("output", json!(text));
            *last = run.history.record(&events.name("Succeeded"), *last, Some(succeeded));
            Ok(result)
        }
        Err(failure) => {
            let mut details = events.details("error", json!(failure.error));
            details["cause"] = json!(failure.cause);
            let timed_out = failure.error == names::TIMEOUT || failure.error == names::HEARTBEAT_TIMEOUT;
            let kind = events.name(if timed_out { "TimedOut" } else { "Failed" });
            *last = run.history.record(&kind, *last, Some(details));
            Err(failure)
        }
    }
}

/// The history events of a task. A function ARN given directly and an activity have events
/// of their own (`LambdaFunctionScheduled`, `ActivityScheduled`, …); every other resource's are
/// `Task…` events, which also name the resource.
struct Events {
    prefix: &'static str,
    resource_fields: Value,
}

impl Events {
    fn of(resource: &Resource) -> Events {
        let (prefix, resource_fields) = if resource.direct_lambda {
            ("LambdaFunction", json!({}))
        } else if resource.service == "activity" {
            ("Activity", json!({}))
        } else {
            (
                "Task",
                json!({ "resourceType": resource.service, "resource": resource.display_action() }),
            )
        };
        Events {
            prefix,
            resource_fields,
        }
    }

    fn is_task(&self) -> bool {
        self.prefix == "Task"
    }

    /// `TaskScheduled`, `LambdaFunctionSucceeded`, …
    fn name(&self, suffix: &str) -> String {
        format!("{}{suffix}", self.prefix)
    }

    /// The details of an event: the resource's fields and `field`.
    fn details(&self, field: &str, value: Value) -> Value {
        let mut details = self.resource_fields.clone();
        details[field] = value;
        details
    }

    /// A task event's details give the region and the parameters; the others' the resource and
    /// its input. A function has no heartbeat.
    fn scheduled(
        &self,
        region: &str,
        resource: &Resource,
        parameters: &Value,
        timeout: Option<u64>,
        heartbeat: Option<u64>,
    ) -> Value {
        let mut scheduled = self.resource_fields.clone();
        if self.is_task() {
            scheduled["region"] = json!(region);
            scheduled["parameters"] = json!(parameters.to_string());
        } else {
            scheduled["resource"] = json!(resource.arn);
            scheduled["input"] = json!(parameters.to_string());
        }
        if let Some(timeout) = timeout {
            scheduled["timeoutInSeconds"] = json!(timeout);
        }
        if let Some(heartbeat) = heartbeat.filter(|_| self.prefix != "LambdaFunction") {
            scheduled["heartbeatInSeconds"] = json!(heartbeat);
        }
        scheduled
    }

    /// Only `TaskStarted` has details.
    fn started(&self) -> Option<Value> {
        self.is_task().then(|| self.resource_fields.clone())
    }
}

/// Waits for the answer to a task token; each heartbeat restarts the heartbeat window.
async fn wait_for_token(mut answers: UnboundedReceiver<TokenAnswer>, heartbeat: Option<u64>) -> Result<Value, Failure> {
    loop {
        let answer = match heartbeat {
            Some(seconds) => tokio::time::timeout(Duration::from_secs(seconds), answers.recv())
                .await
                .map_err(|_| Failure::new(names::HEARTBEAT_TIMEOUT, format!("no heartbeat within {seconds} s")))?,
            None => answers.recv().await,
        };
        match answer {
            Some(TokenAnswer::Heartbeat) => continue,
            Some(TokenAnswer::Success(output)) => return Ok(output),
            Some(TokenAnswer::Failure(failure)) => return Err(failure),
            None => return Err(Failure::runtime("the task token was dropped without an answer")),
        }
    }
}
