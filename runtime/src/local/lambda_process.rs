//! `lambda:invoke` (and a function ARN as the resource) as a local process.
//!
//! The function's image runs as a process against a Lambda Runtime API served on loopback for
//! one invocation, with the deployed function's environment. Its answer comes back in the
//! Invoke envelope (`StatusCode`, `ExecutedVersion`, `Payload`); a function error becomes the
//! task error Step Functions raises, named by the error's `errorType`.

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

/// A function as it runs here: the command of its image and its configuration.
#[derive(Clone, Debug)]
pub struct LocalFunction {
    pub arn: String,
    pub command: Vec<String>,
    pub env: BTreeMap<String, String>,
    pub timeout: Duration,
}

/// Finds the function a task names (`FunctionName`: name, ARN or partial ARN).
#[async_trait]
pub trait FunctionSource: Send + Sync {
    async fn function(&self, name: &str) -> Result<LocalFunction, Failure>;
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
        let answer = self.invoke(&name, &payload).await?;
        if request.resource.direct_lambda {
            return Ok(answer);
        }
        Ok(invoke_envelope(answer))
    }
}

impl LocalLambda {
    /// Runs one invocation of the function `name` (name or ARN) and returns its answer.
    pub async fn invoke(&self, name: &str, payload: &Value) -> Result<Value, Failure> {
        let function = self.functions.function(name).await?;
        let env = self.env.compose(function.env.clone());
        invoke(&function, env, payload).await
    }
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

/// What the function reported through the Runtime API.
type Outcome = Result<Value, Failure>;

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
async fn invoke(function: &LocalFunction, mut env: BTreeMap<String, String>, payload: &Value) -> Outcome {
    let (sender, receiver) = oneshot::channel();
    let deadline = std::time::SystemTime::now() + function.timeout;
    let invocation = Arc::new(Invocation {
        request_id: uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, format!("{payload}{deadline:?}").as_bytes())
            .to_string(),
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
        .map_err(|e| Failure::new("Lambda.ServiceException", format!("binding the local Runtime API: {e}")))?;
    let address = listener
        .local_addr()
        .map_err(|e| Failure::new("Lambda.ServiceException", e.to_string()))?;
    // Stopped however this invocation ends, a task timeout or a failed sibling included.
    let _server = AbortOnDrop(tokio::spawn(async move { axum::serve(listener, api).await }));

    let function_name = function.arn.rsplit(':').next().unwrap_or(&function.arn).to_owned();
    env.insert("AWS_LAMBDA_RUNTIME_API".into(), address.to_string());
    env.insert("AWS_LAMBDA_FUNCTION_NAME".into(), function_name);
    env.insert("AWS_LAMBDA_FUNCTION_VERSION".into(), "$LATEST".into());
    env.insert("AWS_LAMBDA_FUNCTION_MEMORY_SIZE".into(), "128".into());
    let mut process = container_process(&function.command, &env);
    process.stdout(Stdio::null()).stderr(Stdio::piped());
    match process.spawn() {
        Err(e) => Err(Failure::new(
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
                outcome = receiver => outcome.unwrap_or_else(|_| Err(Failure::new("Lambda.Unknown", "the Runtime API closed"))),
                // Lambda reports a function process that exits without answering as this.
                (status, stderr) = exited => Err(Failure::new(
                    "Runtime.ExitError",
                    format!("the function exited ({}) without answering: {}", status.map_or_else(|e| e.to_string(), |s| s.to_string()), stderr.trim()),
                )),
                () = tokio::time::sleep(function.timeout) => Err(Failure::new(
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
    Ok((headers, payload))
}

async fn response(State(invocation): State<Arc<Invocation>>, body: String) -> StatusCode {
    let payload = serde_json::from_str(&body).unwrap_or(Value::String(body));
    invocation.finish(Ok(payload));
    StatusCode::ACCEPTED
}

/// A function error: Step Functions names the task error after its `errorType`.
async fn error(State(invocation): State<Arc<Invocation>>, body: String) -> StatusCode {
    let parsed: Value = serde_json::from_str(&body).unwrap_or(json!({ "errorMessage": body }));
    let error_type = parsed["errorType"]
        .as_str()
        .filter(|t| !t.is_empty())
        .unwrap_or("Lambda.Unknown");
    invocation.finish(Err(Failure::new(error_type, body.clone())));
    StatusCode::ACCEPTED
}
