//! Runs a definition: the state loop, input and output processing, Retry and Catch, timeouts,
//! and the recording of every step in the execution's history.

use std::time::Duration;

use futures_util::future::BoxFuture;
use serde_json::{Value, json};

use crate::choice;
use crate::context::{ExecutionContext, StateContext};
use crate::definition::{Catcher, Fail, Kind, Machine, Pass, Retrier, State, Task, Wait};
use crate::error::{Failure, names};
use crate::history::{Event, History, Observer, state_details};
use crate::integration::{Caller, Integrations, Pattern, Resource, TaskRequest, TaskTokens, TokenAnswer};
use crate::map;
use crate::path::{self, Scope};
use crate::payload;
use crate::{clock, intrinsics};

/// Runs executions of definitions with a set of integrations.
#[derive(Clone)]
pub struct Interpreter {
    pub(crate) integrations: Integrations,
    pub(crate) tokens: TaskTokens,
    pub(crate) region: String,
    retry_scale: f64,
}

/// What starts an execution.
#[derive(Clone)]
pub struct StartExecution {
    pub name: String,
    pub input: Value,
    /// `arn:aws:states:REGION:ACCOUNT:stateMachine:NAME`; the execution's ARN derives from it.
    pub state_machine_arn: String,
    pub role_arn: String,
    /// Sees each history event as it is recorded.
    pub observer: Option<Observer>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    Succeeded,
    Failed,
    TimedOut,
}

/// A finished execution.
#[derive(Clone, Debug)]
pub struct Execution {
    pub execution_arn: String,
    pub status: Status,
    pub output: Option<Value>,
    pub failure: Option<Failure>,
    pub history: Vec<Event>,
}

/// The execution ARN Step Functions gives an execution named `name` of `state_machine_arn`.
pub fn execution_arn(state_machine_arn: &str, name: &str) -> String {
    format!(
        "{}:{name}",
        state_machine_arn.replacen(":stateMachine:", ":execution:", 1)
    )
}

impl Interpreter {
    pub fn new(integrations: Integrations, tokens: TaskTokens, region: impl Into<String>) -> Self {
        Interpreter {
            integrations,
            tokens,
            region: region.into(),
            retry_scale: 1.0,
        }
    }

    /// Scales every Retry interval: a local run uses 0 so that a failed step is retried at once
    /// instead of after the tens of seconds a cluster needs.
    pub fn with_retry_scale(mut self, scale: f64) -> Self {
        self.retry_scale = scale;
        self
    }

    pub fn tokens(&self) -> &TaskTokens {
        &self.tokens
    }

    /// Runs `definition` to its end. A definition that does not parse fails the execution with
    /// `States.Runtime`, as it would have failed to deploy.
    pub async fn execute(&self, definition: &Value, start: StartExecution) -> Execution {
        let execution_arn = execution_arn(&start.state_machine_arn, &start.name);
        let history = History::new(start.observer.clone());
        let started = history.record(
            "ExecutionStarted",
            0,
            Some(json!({ "input": start.input.to_string(), "roleArn": start.role_arn })),
        );
        let run = Run {
            interpreter: self,
            history: history.clone(),
            execution: ExecutionContext::new(
                &execution_arn,
                &start.name,
                &start.input,
                &start.state_machine_arn,
                &start.role_arn,
            ),
        };
        let mut timed_out = false;
        let outcome = match Machine::parse(definition) {
            Err(failure) => Err(failure),
            Ok(machine) => {
                let mut last = started;
                let running = run.run_machine(&machine, start.input.clone(), &mut last);
                match machine.timeout_seconds {
                    Some(seconds) => tokio::time::timeout(Duration::from_secs(seconds), running)
                        .await
                        .unwrap_or_else(|_| {
                            timed_out = true;
                            Err(Failure::timeout(format!(
                                "the execution ran longer than its {seconds} s TimeoutSeconds"
                            )))
                        }),
                    None => running.await,
                }
            }
        };
        let last = history.last_id();
        let (status, output, failure) = match outcome {
            Ok(output) => {
                history.record(
                    "ExecutionSucceeded",
                    last,
                    Some(json!({ "output": output.to_string() })),
                );
                (Status::Succeeded, Some(output), None)
            }
            Err(failure) if timed_out => {
                let details = json!({ "error": failure.error, "cause": failure.cause });
                history.record("ExecutionTimedOut", last, Some(details));
                (Status::TimedOut, None, Some(failure))
            }
            Err(failure) => {
                let details = json!({ "error": failure.error, "cause": failure.cause });
                history.record("ExecutionFailed", last, Some(details));
                (Status::Failed, None, Some(failure))
            }
        };
        Execution {
            execution_arn,
            status,
            output,
            failure,
            history: history.take_events(),
        }
    }
}

/// Where a state leads: its output and the next state, `None` at the end of a machine.
struct Transition {
    output: Value,
    next: Option<String>,
}

/// One execution in progress.
pub(crate) struct Run<'a> {
    pub(crate) interpreter: &'a Interpreter,
    pub(crate) history: History,
    pub(crate) execution: ExecutionContext,
}

/// The state being run, as its input and output processing needs it.
pub(crate) struct Here<'s> {
    pub(crate) name: &'s str,
    pub(crate) state: &'s State,
    pub(crate) entered_time: String,
    pub(crate) retry_count: u64,
}

impl Run<'_> {
    pub(crate) fn context(&self, here: &Here<'_>, token: Option<&str>, item: Option<(usize, &Value)>) -> Value {
        StateContext {
            execution: &self.execution,
            state_name: here.name,
            entered_time: &here.entered_time,
            retry_count: here.retry_count,
            token,
            map_item: item,
        }
        .to_value()
    }

    /// Runs `machine` from its StartAt to an end, a Fail state or an unhandled error.
    pub(crate) fn run_machine<'s>(
        &'s self,
        machine: &'s Machine,
        input: Value,
        last: &'s mut u64,
    ) -> BoxFuture<'s, Result<Value, Failure>> {
        Box::pin(async move {
            let mut name = machine.start_at.clone();
            let mut input = input;
            loop {
                let state = machine.state(&name)?;
                let kind = state.kind.type_name();
                *last = self.history.record(
                    &format!("{kind}StateEntered"),
                    *last,
                    Some(state_details(&name, "input", &input)),
                );
                let mut here = Here {
                    name: &name,
                    state,
                    entered_time: clock::now_iso(),
                    retry_count: 0,
                };
                let transition = self.run_state(&mut here, input, last).await?;
                let output = within_payload_limit(&transition.output, || format!("the output of {name:?}"))?;
                *last = self.history.record(
                    &format!("{kind}StateExited"),
                    *last,
                    Some(json!({ "name": name, "output": output })),
                );
                match transition.next {
                    Some(next) => {
                        name = next;
                        input = transition.output;
                    }
                    None => return Ok(transition.output),
                }
            }
        })
    }

    async fn run_state(&self, here: &mut Here<'_>, input: Value, last: &mut u64) -> Result<Transition, Failure> {
        let state = here.state;
        let next = || state.common.next.clone();
        match &state.kind {
            Kind::Succeed => {
                let context = self.context(here, None, None);
                let effective = input_path(state, &input, &context)?;
                Ok(Transition {
                    output: output_path(state, effective, &context)?,
                    next: None,
                })
            }
            Kind::Fail(fail) => Err(fail_failure(fail, &input, &self.context(here, None, None))),
            Kind::Choice(rules) => {
                let context = self.context(here, None, None);
                let effective = input_path(state, &input, &context)?;
                let chosen = choice::choose(&rules.choices, Scope::new(&effective, &context))?
                    .or_else(|| rules.default.clone())
                    .ok_or_else(|| {
                        Failure::new(
                            names::NO_CHOICE_MATCHED,
                            format!("no Choice rule of {:?} matched, and it has no Default", here.name),
                        )
                    })?;
                Ok(Transition {
                    output: output_path(state, effective, &context)?,
                    next: Some(chosen),
                })
            }
            Kind::Wait(wait) => {
                let context = self.context(here, None, None);
                let effective = input_path(state, &input, &context)?;
                tokio::time::sleep(wait_duration(wait, &effective, &context)?).await;
                Ok(Transition {
                    output: output_path(state, effective, &context)?,
                    next: next(),
                })
            }
            Kind::Pass(pass) => Ok(Transition {
                output: self.pass(here, pass, input)?,
                next: next(),
            }),
            Kind::Task(_) | Kind::Parallel(_) | Kind::Map(_) => self.with_error_handling(here, input, last).await,
        }
    }

    fn pass(&self, here: &Here<'_>, pass: &Pass, input: Value) -> Result<Value, Failure> {
        let state = here.state;
        let context = self.context(here, None, None);
        let effective = parameters(state, input_path(state, &input, &context)?, &context)?;
        let result = pass.result.clone().unwrap_or(effective);
        output_path(state, result_path(state, input, result)?, &context)
    }

    /// Runs a Task, Parallel or Map state under its Retry and Catch.
    async fn with_error_handling(
        &self,
        here: &mut Here<'_>,
        input: Value,
        last: &mut u64,
    ) -> Result<Transition, Failure> {
        let state = here.state;
        let mut attempts = vec![0u64; state.common.retry.len()];
        loop {
            let attempt = match &state.kind {
                Kind::Task(task) => self.task(here, task, &input, last).await,
                Kind::Parallel(parallel) => self.parallel(here, &parallel.branches, &input, last).await,
                Kind::Map(map_state) => map::run(self, here, map_state, &input, last).await,
                _ => unreachable!("only Task, Parallel and Map states have Retry and Catch"),
            };
            let failure = match attempt {
                Ok(output) => {
                    return Ok(Transition {
                        output,
                        next: state.common.next.clone(),
                    });
                }
                Err(failure) => failure,
            };
            if let Some(index) = state
                .common
                .retry
                .iter()
                .position(|r| failure.matches_any(&r.error_equals))
            {
                let retrier = &state.common.retry[index];
                if attempts[index] < retrier.max_attempts {
                    tokio::time::sleep(retry_delay(retrier, attempts[index]).mul_f64(self.interpreter.retry_scale))
                        .await;
                    attempts[index] += 1;
                    here.retry_count += 1;
                    continue;
                }
            }
            return match state.common.catch.iter().find(|c| failure.matches_any(&c.error_equals)) {
                Some(catcher) => Ok(Transition {
                    output: caught_output(catcher, input, &failure)?,
                    next: Some(catcher.next.clone()),
                }),
                None => Err(failure),
            };
        }
    }

    /// One attempt of a Task state.
    async fn task(&self, here: &Here<'_>, task: &Task, input: &Value, last: &mut u64) -> Result<Value, Failure> {
        let state = here.state;
        let resource = Resource::parse(&task.resource)?;
        let issued = (resource.pattern == Pattern::WaitForTaskToken).then(|| self.interpreter.tokens.issue());
        let token = issued.as_ref().map(|(token, _)| token.clone());
        let context = self.context(here, token.as_deref(), None);
        let effective = input_path(state, input, &context)?;
        let parameters = parameters(state, effective.clone(), &context)?;
        let timeout = seconds(
            task.timeout_seconds,
            task.timeout_seconds_path.as_deref(),
            &effective,
            &context,
        )?;
        let heartbeat = seconds(
            task.heartbeat_seconds,
            task.heartbeat_seconds_path.as_deref(),
            &effective,
            &context,
        )?;
        let integration = self.interpreter.integrations.find(&resource)?;

        // Direct function ARNs and activities have events of their own; every other resource is a Task.
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
        let event = |suffix: &str| format!("{prefix}{suffix}");
        let mut scheduled = resource_fields.clone();
        if prefix == "Task" {
            scheduled["region"] = json!(self.interpreter.region);
            scheduled["parameters"] = json!(parameters.to_string());
        } else {
            scheduled["resource"] = json!(resource.arn);
            scheduled["input"] = json!(parameters.to_string());
        }
        if let Some(timeout) = timeout {
            scheduled["timeoutInSeconds"] = json!(timeout);
        }
        if let Some(heartbeat) = heartbeat.filter(|_| prefix != "LambdaFunction") {
            scheduled["heartbeatInSeconds"] = json!(heartbeat);
        }
        *last = self.history.record(&event("Scheduled"), *last, Some(scheduled));
        let started = (prefix == "Task").then(|| resource_fields.clone());
        *last = self.history.record(&event("Started"), *last, started);

        let request = TaskRequest {
            resource: resource.clone(),
            parameters,
            token: token.clone(),
            caller: Caller {
                execution_name: self.execution.execution["Name"].as_str().unwrap_or_default().to_owned(),
                execution_arn: self.execution.execution["Id"].as_str().unwrap_or_default().to_owned(),
                state_name: here.name.to_owned(),
                retry_count: here.retry_count,
            },
        };
        let history = &self.history;
        let submitted_fields = resource_fields.clone();
        let call = async {
            let result = integration.call(request).await?;
            // A job started (`.sync`) or a token handed out is recorded as submitted.
            if prefix == "Task" && resource.pattern != Pattern::RequestResponse {
                let mut submitted = submitted_fields;
                submitted["output"] = json!(result.to_string());
                *last = history.record("TaskSubmitted", *last, Some(submitted));
            }
            match issued {
                Some((_, answers)) => wait_for_token(answers, heartbeat).await,
                None => Ok(result),
            }
        };
        let result = match timeout {
            Some(seconds) => tokio::time::timeout(Duration::from_secs(seconds), call)
                .await
                .unwrap_or_else(|_| {
                    Err(Failure::timeout(format!(
                        "the task ran longer than its {seconds} s timeout"
                    )))
                }),
            None => call.await,
        };
        if let Some(token) = &token {
            self.interpreter.tokens.retire(token);
        }
        let result = result.and_then(|result| {
            let text = within_payload_limit(&result, || format!("the result of the task {:?}", here.name))?;
            Ok((result, text))
        });
        let mut details = resource_fields;
        match result {
            Ok((result, text)) => {
                details["output"] = json!(text);
                *last = self.history.record(&event("Succeeded"), *last, Some(details));
                let selected = result_selector(state, result, &context)?;
                output_path(state, result_path(state, input.clone(), selected)?, &context)
            }
            Err(failure) => {
                details["error"] = json!(failure.error);
                details["cause"] = json!(failure.cause);
                let timed_out = failure.error == names::TIMEOUT || failure.error == names::HEARTBEAT_TIMEOUT;
                let kind = event(if timed_out { "TimedOut" } else { "Failed" });
                *last = self.history.record(&kind, *last, Some(details));
                Err(failure)
            }
        }
    }

    /// One attempt of a Parallel state: every branch on the same input, outputs in branch order.
    async fn parallel(
        &self,
        here: &Here<'_>,
        branches: &[Machine],
        input: &Value,
        last: &mut u64,
    ) -> Result<Value, Failure> {
        let state = here.state;
        let context = self.context(here, None, None);
        let effective = parameters(state, input_path(state, input, &context)?, &context)?;
        *last = self.history.record("ParallelStateStarted", *last, None);
        let started = *last;
        let runs = branches.iter().map(|branch| {
            let effective = effective.clone();
            async move {
                let mut branch_last = started;
                self.run_machine(branch, effective, &mut branch_last).await
            }
        });
        let outcome = futures_util::future::try_join_all(runs).await;
        let last_id = self.history.last_id().max(started);
        match outcome {
            Ok(outputs) => {
                *last = self.history.record("ParallelStateSucceeded", last_id, None);
                let selected = result_selector(state, Value::Array(outputs), &context)?;
                output_path(state, result_path(state, input.clone(), selected)?, &context)
            }
            Err(failure) => {
                let details = json!({ "error": failure.error, "cause": failure.cause });
                *last = self.history.record("ParallelStateFailed", last_id, Some(details));
                Err(failure)
            }
        }
    }
}

/// Waits for the answer to a task token; each heartbeat restarts the heartbeat window.
async fn wait_for_token(
    mut answers: tokio::sync::mpsc::UnboundedReceiver<TokenAnswer>,
    heartbeat: Option<u64>,
) -> Result<Value, Failure> {
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

/// The delay before retry number `attempt` (0-based) of `retrier`.
fn retry_delay(retrier: &Retrier, attempt: u64) -> Duration {
    let mut seconds = retrier.interval_seconds as f64 * retrier.backoff_rate.powi(attempt.min(64) as i32);
    if let Some(max) = retrier.max_delay_seconds {
        seconds = seconds.min(max as f64);
    }
    if retrier.jitter_strategy.as_deref() == Some("FULL") {
        seconds *= fastrand::f64();
    }
    Duration::from_secs_f64(seconds.max(0.0))
}

/// The state output after a Catch: the error output placed in the raw input by its ResultPath.
fn caught_output(catcher: &Catcher, input: Value, failure: &Failure) -> Result<Value, Failure> {
    match &catcher.result_path {
        None => Ok(failure.to_output()),
        Some(Value::Null) => Ok(input),
        Some(Value::String(path)) => path::write(input, path, failure.to_output()),
        Some(other) => Err(Failure::runtime(format!(
            "a Catch ResultPath must be a string or null, got {other}"
        ))),
    }
}

/// `InputPath`: the whole input by default, `{}` when null.
pub(crate) fn input_path(state: &State, input: &Value, context: &Value) -> Result<Value, Failure> {
    select(state.common.input_path.as_ref(), input, context, "InputPath")
}

/// `OutputPath`: the whole output by default, `{}` when null.
pub(crate) fn output_path(state: &State, output: Value, context: &Value) -> Result<Value, Failure> {
    match &state.common.output_path {
        None => Ok(output),
        path => select(path.as_ref(), &output, context, "OutputPath"),
    }
}

fn select(path: Option<&Value>, data: &Value, context: &Value, field: &str) -> Result<Value, Failure> {
    match path {
        None => Ok(data.clone()),
        Some(Value::Null) => Ok(json!({})),
        Some(Value::String(path)) => path::read(path, Scope::new(data, context)),
        Some(other) => Err(Failure::runtime(format!("{field} must be a path or null, got {other}"))),
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

/// `ResultPath`: where the result goes in the raw input; `$` by default, discarded when null.
pub(crate) fn result_path(state: &State, input: Value, result: Value) -> Result<Value, Failure> {
    match &state.common.result_path {
        None => Ok(result),
        Some(Value::Null) => Ok(input),
        Some(Value::String(path)) => path::write(input, path, result),
        Some(other) => Err(Failure::runtime(format!(
            "ResultPath must be a path or null, got {other}"
        ))),
    }
}

/// A number of seconds given directly or through a path.
pub(crate) fn seconds(
    value: Option<u64>,
    path: Option<&str>,
    effective: &Value,
    context: &Value,
) -> Result<Option<u64>, Failure> {
    match path {
        None => Ok(value),
        Some(path) => {
            let found = path::read(path, Scope::new(effective, context))?;
            found
                .as_u64()
                .map(Some)
                .ok_or_else(|| Failure::runtime(format!("{path} must select a non-negative integer, got {found}")))
        }
    }
}

fn wait_duration(wait: &Wait, effective: &Value, context: &Value) -> Result<Duration, Failure> {
    let scope = Scope::new(effective, context);
    let until = |text: &str| -> Result<Duration, Failure> {
        let at =
            clock::parse_iso(text).ok_or_else(|| Failure::runtime(format!("{text:?} is not an RFC 3339 timestamp")))?;
        let remaining = at - time::OffsetDateTime::now_utc();
        Ok(Duration::try_from(remaining).unwrap_or(Duration::ZERO))
    };
    if let Some(seconds) = wait.seconds {
        return Ok(Duration::from_secs(seconds));
    }
    if let Some(timestamp) = &wait.timestamp {
        return until(timestamp);
    }
    if let Some(path) = &wait.seconds_path {
        let found = path::read(path, scope)?;
        let seconds = found.as_u64().ok_or_else(|| {
            Failure::runtime(format!(
                "SecondsPath {path} must select a non-negative integer, got {found}"
            ))
        })?;
        return Ok(Duration::from_secs(seconds));
    }
    if let Some(path) = &wait.timestamp_path {
        let found = path::read(path, scope)?;
        return until(found.as_str().unwrap_or_default());
    }
    Err(Failure::runtime(
        "a Wait state needs Seconds, Timestamp, SecondsPath or TimestampPath",
    ))
}

/// The most a state's input or output, or a task's result, may hold: 256 KiB of UTF-8.
pub const PAYLOAD_LIMIT_BYTES: usize = 256 * 1024;

/// `data` as the JSON text history records; fails with `States.DataLimitExceeded`, as the
/// service does, when it is larger than a payload may be (`what` names it in the cause).
fn within_payload_limit(data: &Value, what: impl FnOnce() -> String) -> Result<String, Failure> {
    let text = data.to_string();
    let size = text.len();
    if size <= PAYLOAD_LIMIT_BYTES {
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

/// The failure a Fail state raises; `ErrorPath` and `CausePath` may be paths or intrinsics.
fn fail_failure(fail: &Fail, input: &Value, context: &Value) -> Failure {
    let scope = Scope::new(input, context);
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
