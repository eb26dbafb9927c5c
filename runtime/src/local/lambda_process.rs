//! `lambda:invoke` (and a function ARN as the resource) as a local process.
//!
//! The function (its image's command, or a zip package under a runtime interface client) runs as
//! a process against a Lambda Runtime API served on loopback for one invocation, with the
//! deployed function's environment. Its answer comes back in the Invoke envelope (`StatusCode`,
//! `ExecutedVersion`, `Payload`); a function error becomes the task error Step Functions raises,
//! named by the error's `errorType`.

use std::collections::BTreeMap;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::routing::{get, post};
use eventdriven_states::{Failure, Integration, Resource, TaskRequest};
use serde_json::{Value, json};
use tokio::sync::oneshot;

use crate::local::process::{ProcessEnv, container_process};

/// The environment variable that names a function's code directory, Lambda's `/var/task`: the
/// process runs there, as Lambda runs a function in its task root.
pub const TASK_ROOT_ENV: &str = "LAMBDA_TASK_ROOT";
/// The memory Lambda gives a function, as it tells the function; 128 MB unless configured.
pub const MEMORY_SIZE_ENV: &str = "AWS_LAMBDA_FUNCTION_MEMORY_SIZE";

/// A function as it runs here: the command of its image (or of its zip package's runtime) and
/// its configuration. Lambda's own variables it sets in `env` (`LAMBDA_TASK_ROOT`,
/// `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`) are kept; the invocation's are added.
#[derive(Clone, Debug)]
pub struct LocalFunction {
    pub arn: String,
    pub command: Vec<String>,
    pub env: BTreeMap<String, String>,
    pub timeout: Duration,
}

/// A function's settings for asynchronous invocations (`PutFunctionEventInvokeConfig`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct InvokeConfig {
    /// Attempts after a failed one; Lambda's default is 2.
    pub maximum_retry_attempts: Option<u32>,
    /// Where the record of a successful invocation goes (an ARN).
    pub on_success: Option<String>,
    /// Where the record of an invocation that failed every attempt goes (an ARN).
    pub on_failure: Option<String>,
}

/// Finds the function a task names (`FunctionName`: name, ARN or partial ARN).
#[async_trait]
pub trait FunctionSource: Send + Sync {
    async fn function(&self, name: &str) -> Result<LocalFunction, Failure>;

    /// The function's asynchronous invocation settings; `None` where it has none, as for a
    /// function only this machine knows.
    async fn invoke_config(&self, _name: &str) -> Result<Option<InvokeConfig>, Failure> {
        Ok(None)
    }
}

/// An invocation's error, as Lambda returns it for a function error: the runtime's error object
/// (`errorType`, `errorMessage`, whatever else it adds, such as a stack trace), or one made here
/// for a function that could not run, exited or timed out.
#[derive(Clone, Debug, PartialEq)]
pub struct FunctionError {
    /// What Step Functions names the task error: the object's `errorType`, else the runtime's
    /// error type header, else `Lambda.Unknown`.
    pub error_type: String,
    /// The response payload.
    pub payload: Value,
}

impl FunctionError {
    /// An error this machine reports for the function.
    pub fn new(error_type: &str, message: impl Into<String>) -> Self {
        FunctionError {
            error_type: error_type.to_owned(),
            payload: json!({ "errorType": error_type, "errorMessage": message.into() }),
        }
    }

    /// What a runtime posted to the error endpoint, with the type its header names, if any.
    pub fn reported(body: &str, header_type: Option<&str>) -> Self {
        let payload: Value = serde_json::from_str(body).unwrap_or_else(|_| json!({ "errorMessage": body }));
        let error_type = payload["errorType"]
            .as_str()
            .or(header_type)
            .filter(|t| !t.is_empty())
            .unwrap_or("Lambda.Unknown")
            .to_owned();
        FunctionError { error_type, payload }
    }

    /// The task failure Step Functions raises: the error type, with the error object as cause.
    pub fn into_failure(self) -> Failure {
        Failure::new(self.error_type, self.payload.to_string())
    }
}

/// A function that could not be found or set up fails its invocation as Lambda fails one whose
/// runtime cannot start, with the failure's error and cause.
impl From<Failure> for FunctionError {
    fn from(failure: Failure) -> Self {
        FunctionError::new(&failure.error, failure.cause)
    }
}

/// Invokes functions as local processes.
#[derive(Clone)]
pub struct LocalLambda {
    pub functions: Arc<dyn FunctionSource>,
    pub env: ProcessEnv,
}

#[async_trait]
impl Integration for LocalLambda {
    fn serves(&self, resource: &Resource) -> bool {
        resource.service == "lambda" && resource.action == "invoke"
    }

    async fn call(&self, request: TaskRequest) -> Result<Value, Failure> {
        let (name, payload) = if request.resource.direct_lambda {
            (request.resource.arn.clone(), request.parameters.clone())
        } else {
            let name = request.parameters["FunctionName"]
                .as_str()
                .ok_or_else(|| Failure::runtime("lambda:invoke needs a FunctionName"))?
                .to_owned();
            (name, request.parameters.get("Payload").cloned().unwrap_or(json!({})))
        };
        let function = self.functions.function(&name).await?;
        let answer = self
            .run(&function, &payload, &new_request_id())
            .await
            .map_err(FunctionError::into_failure)?;
        if request.resource.direct_lambda {
            return Ok(answer);
        }
        Ok(invoke_envelope(answer))
    }
}

impl LocalLambda {
    /// Runs one invocation of `function` as the request `request_id` and returns its answer.
    pub async fn run(&self, function: &LocalFunction, payload: &Value, request_id: &str) -> Outcome {
        let env = self.env.compose(function.env.clone());
        invoke(function, env, payload, request_id).await
    }
}

/// A fresh request id, as Lambda gives each invocation (a random UUID).
pub fn new_request_id() -> String {
    uuid::Builder::from_random_bytes(fastrand::u128(..).to_le_bytes())
        .into_uuid()
        .to_string()
}

/// What `lambda:invoke` returns to the state machine: the function's answer in Invoke's envelope.
pub fn invoke_envelope(payload: Value) -> Value {
    json!({
        "ExecutedVersion": "$LATEST",
        "Payload": payload,
        "StatusCode": 200,
        "SdkHttpMetadata": { "HttpStatusCode": 200 },
    })
}

/// What the function reported through the Runtime API: its answer, or its error.
pub type Outcome = Result<Value, FunctionError>;

struct Invocation {
    request_id: String,
    function_arn: String,
    deadline_ms: u128,
    payload: Mutex<Option<String>>,
    outcome: Mutex<Option<oneshot::Sender<Outcome>>>,
}

impl Invocation {
    fn finish(&self, outcome: Outcome) {
        if let Some(sender) = self.outcome.lock().expect("outcome lock").take() {
            let _ = sender.send(outcome);
        }
    }
}

/// Runs one invocation of `function` and returns its response payload.
async fn invoke(
    function: &LocalFunction,
    mut env: BTreeMap<String, String>,
    payload: &Value,
    request_id: &str,
) -> Outcome {
    let (sender, receiver) = oneshot::channel();
    let deadline = std::time::SystemTime::now() + function.timeout;
    let invocation = Arc::new(Invocation {
        request_id: request_id.to_owned(),
        function_arn: function.arn.clone(),
        deadline_ms: deadline
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis(),
        payload: Mutex::new(Some(payload.to_string())),
        outcome: Mutex::new(Some(sender)),
    });
    let api = Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next_invocation))
        .route("/2018-06-01/runtime/invocation/:id/response", post(response))
        .route("/2018-06-01/runtime/invocation/:id/error", post(error))
        .route("/2018-06-01/runtime/init/error", post(error))
        // The Invoke API's payload limit, so a large answer is not refused as the default 2 MB would.
        .layer(axum::extract::DefaultBodyLimit::max(6 << 20))
        .with_state(invocation.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| FunctionError::new("Lambda.ServiceException", format!("binding the local Runtime API: {e}")))?;
    let address = listener
        .local_addr()
        .map_err(|e| FunctionError::new("Lambda.ServiceException", e.to_string()))?;
    // Stopped however this invocation ends, a task timeout or a failed sibling included.
    let _server = AbortOnDrop(tokio::spawn(async move { axum::serve(listener, api).await }));

    let function_name = function.arn.rsplit(':').next().unwrap_or(&function.arn).to_owned();
    env.insert("AWS_LAMBDA_RUNTIME_API".into(), address.to_string());
    env.insert("AWS_LAMBDA_FUNCTION_NAME".into(), function_name);
    env.insert("AWS_LAMBDA_FUNCTION_VERSION".into(), "$LATEST".into());
    env.entry(MEMORY_SIZE_ENV.into()).or_insert_with(|| "128".into());
    // Lambda sets both; some SDKs (boto3) read only the older name.
    if let Some(region) = env.get("AWS_REGION").cloned() {
        env.entry("AWS_DEFAULT_REGION".into()).or_insert(region);
    }
    let mut process = container_process(&function.command, &env);
    if let Some(task_root) = env.get(TASK_ROOT_ENV) {
        process.current_dir(task_root);
    }
    process.stdout(Stdio::null()).stderr(Stdio::piped());
    match process.spawn() {
        Err(e) => Err(FunctionError::new(
            "Lambda.ServiceException",
            format!("starting {}: {e}", function.command[0]),
        )),
        Ok(mut child) => {
            // Read as it is written, so a chatty function never blocks on a full pipe.
            let stderr = child.stderr.take().map(|pipe| {
                tokio::spawn(async move {
                    use tokio::io::AsyncReadExt;
                    let mut text = String::new();
                    let _ = tokio::io::BufReader::new(pipe).read_to_string(&mut text).await;
                    text
                })
            });
            let exited = async {
                let status = child.wait().await;
                let stderr = match stderr {
                    Some(reading) => reading.await.unwrap_or_default(),
                    None => String::new(),
                };
                let tail: Vec<&str> = stderr.lines().rev().take(20).collect();
                (status, tail.into_iter().rev().collect::<Vec<_>>().join("\n"))
            };
            tokio::select! {
                // An answer wins over the exit that may follow it.
                biased;
                outcome = receiver => outcome.unwrap_or_else(|_| Err(FunctionError::new("Lambda.Unknown", "the Runtime API closed"))),
                // Lambda reports a function process that exits without answering as this.
                (status, stderr) = exited => Err(FunctionError::new(
                    "Runtime.ExitError",
                    format!("the function exited ({}) without answering: {}", status.map_or_else(|e| e.to_string(), |s| s.to_string()), stderr.trim()),
                )),
                () = tokio::time::sleep(function.timeout) => Err(FunctionError::new(
                    "Sandbox.Timedout",
                    format!("the function did not answer within {} s", function.timeout.as_secs()),
                )),
            }
        }
    }
}

/// Aborts a task when dropped.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn next_invocation(State(invocation): State<Arc<Invocation>>) -> Result<(HeaderMap, String), StatusCode> {
    let payload = invocation.payload.lock().expect("payload lock").take();
    let Some(payload) = payload else {
        // One invocation per process: the next one never comes, and the process is stopped.
        std::future::pending::<()>().await;
        unreachable!("a pending future never completes");
    };
    let mut headers = HeaderMap::new();
    let header = |v: &str| HeaderValue::from_str(v).unwrap_or(HeaderValue::from_static(""));
    headers.insert("lambda-runtime-aws-request-id", header(&invocation.request_id));
    headers.insert(
        "lambda-runtime-deadline-ms",
        header(&invocation.deadline_ms.to_string()),
    );
    headers.insert("lambda-runtime-invoked-function-arn", header(&invocation.function_arn));
    headers.insert(
        "lambda-runtime-trace-id",
        header("Root=1-00000000-000000000000000000000000"),
    );
    // The runtime interface clients decode the event as JSON only when told it is.
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    Ok((headers, payload))
}

async fn response(State(invocation): State<Arc<Invocation>>, body: String) -> StatusCode {
    let payload = serde_json::from_str(&body).unwrap_or(Value::String(body));
    invocation.finish(Ok(payload));
    StatusCode::ACCEPTED
}

/// A function error: its error object, and the type the runtime names in its header.
async fn error(State(invocation): State<Arc<Invocation>>, headers: HeaderMap, body: String) -> StatusCode {
    let header_type = headers
        .get("lambda-runtime-function-error-type")
        .and_then(|v| v.to_str().ok());
    invocation.finish(Err(FunctionError::reported(&body, header_type)));
    StatusCode::ACCEPTED
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reported_error_keeps_the_runtimes_object_and_is_named_by_its_type() {
        let body = r#"{"errorMessage": "'qty'", "errorType": "KeyError", "requestId": "r", "stackTrace": []}"#;
        let error = FunctionError::reported(body, Some("Runtime.Other"));
        assert_eq!(error.error_type, "KeyError");
        assert_eq!(error.payload, serde_json::from_str::<Value>(body).unwrap());
        let failure = error.into_failure();
        assert_eq!(failure.error, "KeyError");
        assert_eq!(
            serde_json::from_str::<Value>(&failure.cause).unwrap()["errorMessage"],
            "'qty'"
        );
    }

    #[test]
    fn an_error_without_a_type_takes_the_headers_else_lambdas_unknown() {
        assert_eq!(
            FunctionError::reported(r#"{"errorMessage": "m"}"#, Some("Handled")).error_type,
            "Handled"
        );
        let text = FunctionError::reported("not json", None);
        assert_eq!(text.error_type, "Lambda.Unknown");
        assert_eq!(text.payload, json!({ "errorMessage": "not json" }));
    }

    #[test]
    fn a_function_that_could_not_be_set_up_fails_with_the_failures_name() {
        let error = FunctionError::from(Failure::new("Runtime.Unsupported", "runtime java21 …"));
        assert_eq!(
            error.payload,
            json!({ "errorType": "Runtime.Unsupported", "errorMessage": "runtime java21 …" })
        );
    }
}
