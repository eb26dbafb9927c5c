//! Zip package functions under Lambda's own runtime interface clients (Python's awslambdaric,
//! Node.js's aws-lambda-ric) against the local Runtime API, and their asynchronous invocations:
//! a rule's input transformer, then the invocation record routed to the destination bus's rules.
//! Needs the runtimes `scripts/ensure-lambda-runtimes.sh` installs.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use eventdriven_core::workflow::rules::{LAMBDA_FAILURE, LAMBDA_SUCCESS, side_effect_input};
use eventdriven_runtime::local::events::{DeployedRule, EventRouter, MachineStarter, PutEntry, RuleSource, RuleTarget};
use eventdriven_runtime::local::input_transformer::InputTransformer;
use eventdriven_runtime::local::lambda_process::{
    FunctionError, FunctionSource, InvokeConfig, LocalFunction, LocalLambda, new_request_id,
};
use eventdriven_runtime::local::zip_runtimes::{Language, ZipRuntimes};
use eventdriven_states::Failure;
use serde_json::{Value, json};

const ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:listener";
const BUS_ARN: &str = "arn:aws:events:us-east-1:123456789012:event-bus/orders";

fn runtimes() -> ZipRuntimes {
    let runtimes = ZipRuntimes::from_env();
    for language in [Language::Python, Language::Node] {
        runtimes
            .check_installed(language)
            .unwrap_or_else(|failure| panic!("{}", failure.cause));
    }
    runtimes
}

/// A zip function whose unpacked code is `files`, written into `code`.
fn zip_function(code: &Path, runtime: &str, handler: &str, files: &[(&str, &str)]) -> LocalFunction {
    for (name, text) in files {
        std::fs::write(code.join(name), text).unwrap();
    }
    let (command, mut env) = runtimes().process(Language::of(runtime).unwrap(), handler, code);
    env.insert("AWS_LAMBDA_FUNCTION_MEMORY_SIZE".into(), "256".into());
    LocalFunction {
        arn: ARN.into(),
        command,
        env,
        timeout: Duration::from_secs(30),
    }
}

/// One function, and its event invoke configuration.
struct OneFunction(LocalFunction, Option<InvokeConfig>);

#[async_trait]
impl FunctionSource for OneFunction {
    async fn function(&self, _name: &str) -> Result<LocalFunction, Failure> {
        Ok(self.0.clone())
    }

    async fn invoke_config(&self, _name: &str) -> Result<Option<InvokeConfig>, Failure> {
        Ok(self.1.clone())
    }
}

fn lambda(function: LocalFunction, config: Option<InvokeConfig>) -> LocalLambda {
    LocalLambda {
        functions: Arc::new(OneFunction(function, config)),
        env: Default::default(),
    }
}

async fn run(function: LocalFunction, event: Value) -> Result<Value, FunctionError> {
    let lambda = lambda(function.clone(), None);
    lambda.run(&function, &event, &new_request_id()).await
}

const PYTHON_APP: &str = r#"
import os

def handler(event, context):
    if event.get("fail"):
        raise KeyError(event["fail"])
    return {
        "cwd": os.getcwd(),
        "memory": context.memory_limit_in_mb,
        "order": event["detail"]["order"],
        "request_id": context.aws_request_id,
    }
"#;

const NODE_APP: &str = r#"
export const handler = async (event, context) => {
  if (event.fail) {
    throw new TypeError(`no subtotal: ${event.fail}`);
  }
  return { cwd: process.cwd(), memory: context.memoryLimitInMB, order: event.detail.order };
};
"#;

#[tokio::test]
async fn a_python_zip_function_answers_from_its_code_directory() {
    let code = tempfile::tempdir().unwrap();
    let function = zip_function(code.path(), "python3.12", "app.handler", &[("app.py", PYTHON_APP)]);
    let answer = run(function, json!({"detail": {"order": "o-1"}})).await.unwrap();
    assert_eq!(answer["order"], "o-1");
    assert_eq!(answer["memory"], "256");
    assert_eq!(
        Path::new(answer["cwd"].as_str().unwrap()).canonicalize().unwrap(),
        code.path().canonicalize().unwrap()
    );
}

#[tokio::test]
async fn a_python_exception_is_the_runtimes_error_object() {
    let code = tempfile::tempdir().unwrap();
    let function = zip_function(code.path(), "python3.12", "app.handler", &[("app.py", PYTHON_APP)]);
    let error = run(function, json!({"fail": "qty"})).await.unwrap_err();
    assert_eq!(error.error_type, "KeyError");
    assert_eq!(error.payload["errorType"], "KeyError");
    assert_eq!(error.payload["errorMessage"], "'qty'");
    assert!(error.payload["stackTrace"].is_array(), "{}", error.payload);
}

#[tokio::test]
async fn a_python_handler_that_cannot_be_imported_fails_as_lambda_names_it() {
    let code = tempfile::tempdir().unwrap();
    let function = zip_function(code.path(), "python3.12", "missing.handler", &[("app.py", PYTHON_APP)]);
    let error = run(function, json!({})).await.unwrap_err();
    assert_eq!(error.error_type, "Runtime.ImportModuleError", "{}", error.payload);
}

#[tokio::test]
async fn a_node_zip_function_answers_and_its_errors_keep_their_type() {
    let code = tempfile::tempdir().unwrap();
    let function = zip_function(code.path(), "nodejs20.x", "index.handler", &[("index.mjs", NODE_APP)]);
    let answer = run(function.clone(), json!({"detail": {"order": "o-2"}}))
        .await
        .unwrap();
    assert_eq!(answer["order"], "o-2");
    assert_eq!(answer["memory"], "256");
    assert_eq!(
        Path::new(answer["cwd"].as_str().unwrap()).canonicalize().unwrap(),
        code.path().canonicalize().unwrap()
    );
    let error = run(function, json!({"fail": "o-3"})).await.unwrap_err();
    assert_eq!(error.error_type, "TypeError");
    assert_eq!(error.payload["errorMessage"], "no subtotal: o-3");
}

/// The rules of a bus: the listener's (its target transformed as a side effect's is), and the
/// destinations' records to a machine that records its input.
struct Rules(Vec<DeployedRule>);

#[async_trait]
impl RuleSource for Rules {
    async fn rules(&self) -> Result<Vec<DeployedRule>, Failure> {
        Ok(self.0.clone())
    }
}

#[derive(Default)]
struct Recorded(Mutex<Vec<Value>>);

#[async_trait]
impl MachineStarter for Recorded {
    async fn start(&self, _arn: &str, input: Value) -> Result<(), Failure> {
        self.0.lock().unwrap().push(input);
        Ok(())
    }
}

fn router(function: LocalFunction, config: InvokeConfig, results: Arc<Recorded>) -> Arc<EventRouter> {
    let (paths, template) = side_effect_input();
    let transformer = InputTransformer {
        paths: paths.into_iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect(),
        template,
    };
    let rule = |name: &str, pattern: Value, target: RuleTarget| DeployedRule {
        name: name.into(),
        bus: "orders".into(),
        pattern,
        targets: vec![target],
    };
    Arc::new(EventRouter {
        rules: Arc::new(Rules(vec![
            rule(
                "on-audit",
                json!({"source": ["polyglot"], "detail-type": ["order.approve"]}),
                RuleTarget::Function { arn: ARN.into() }.transformed(Some(transformer)),
            ),
            rule(
                "results",
                json!({"source": ["lambda"], "detail": {"requestPayload": {"source": ["polyglot"]}}}),
                RuleTarget::StateMachine {
                    arn: "arn:aws:states:us-east-1:123456789012:stateMachine:finisher".into(),
                    input_path: None,
                },
            ),
        ])),
        functions: lambda(function, Some(config)),
        machines: results,
        account: "123456789012".into(),
        region: "us-east-1".into(),
        trail: None,
    })
}

/// Waits for `count` recorded results, bounded.
async fn results(recorded: &Recorded, count: usize) -> Vec<Value> {
    for _ in 0..300 {
        if recorded.0.lock().unwrap().len() >= count {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    recorded.0.lock().unwrap().clone()
}

fn task_event(order: Value) -> PutEntry {
    PutEntry {
        bus: Some("orders".into()),
        source: "polyglot".into(),
        detail_type: "order.approve".into(),
        detail: json!({
            "taskToken": "secret",
            "executionId": "arn:aws:states:us-east-1:123456789012:execution:eventdriven-polyglot:run-1",
            "state": "Approve",
            "input": {"order": order},
            "meta": [{"source": "polyglot", "detailType": "order.approve", "function": "eventdriven-polyglot"}],
        })
        .to_string(),
    }
}

#[tokio::test]
async fn a_side_effects_outcomes_reach_the_destination_bus_as_lambda_puts_them() {
    let code = tempfile::tempdir().unwrap();
    let app = r#"
def handler(event, context):
    if "taskToken" in event["detail"]:
        raise ValueError("a side effect got the task token")
    order = event["detail"]["input"]["order"]
    if order == "bad":
        raise KeyError("qty")
    return {"audited": order}
"#;
    let function = zip_function(code.path(), "python3.12", "app.handler", &[("app.py", app)]);
    let config = InvokeConfig {
        maximum_retry_attempts: Some(1),
        on_success: Some(BUS_ARN.into()),
        on_failure: Some(BUS_ARN.into()),
    };
    let recorded = Arc::new(Recorded::default());
    let router = router(function, config, recorded.clone());
    router.deliver(&[task_event(json!("o-1"))]).await.unwrap();
    let success = results(&recorded, 1).await.remove(0);
    assert_eq!(success["source"], "lambda");
    assert_eq!(success["detail-type"], LAMBDA_SUCCESS);
    assert_eq!(success["resources"], json!([format!("{ARN}:$LATEST")]));
    let record = &success["detail"];
    assert_eq!(record["requestContext"]["condition"], "Success");
    assert_eq!(record["responsePayload"], json!({"audited": "o-1"}));
    assert_eq!(record["requestPayload"]["detail"]["state"], "Approve");
    assert_eq!(record["requestPayload"]["detail"].get("taskToken"), None);

    router.deliver(&[task_event(json!("bad"))]).await.unwrap();
    let failure = results(&recorded, 2).await.remove(1);
    assert_eq!(failure["detail-type"], LAMBDA_FAILURE);
    let record = &failure["detail"];
    assert_eq!(record["requestContext"]["condition"], "RetriesExhausted");
    assert_eq!(record["requestContext"]["approximateInvokeCount"], 2);
    assert_eq!(record["responseContext"]["functionError"], "Unhandled");
    assert_eq!(record["responsePayload"]["errorType"], "KeyError");
}

#[tokio::test]
async fn a_runtime_that_cannot_run_here_fails_its_invocation_by_name() {
    let failing = Arc::new(Unsupported);
    let lambda = LocalLambda {
        functions: failing,
        env: Default::default(),
    };
    let recorded = Arc::new(Recorded::default());
    let router = Arc::new(EventRouter {
        rules: Arc::new(Rules(vec![
            DeployedRule {
                name: "on-approve".into(),
                bus: "orders".into(),
                pattern: json!({"detail-type": ["order.approve"]}),
                targets: vec![RuleTarget::Function { arn: ARN.into() }],
            },
            DeployedRule {
                name: "results".into(),
                bus: "orders".into(),
                pattern: json!({"source": ["lambda"]}),
                targets: vec![RuleTarget::StateMachine {
                    arn: "finisher".into(),
                    input_path: Some("$.detail".into()),
                }],
            },
        ])),
        functions: lambda,
        machines: recorded.clone(),
        account: "123456789012".into(),
        region: "us-east-1".into(),
        trail: None,
    });
    router.deliver(&[task_event(json!("o-1"))]).await.unwrap();
    let record = results(&recorded, 1).await.remove(0);
    assert_eq!(record["responsePayload"]["errorType"], "Runtime.Unsupported");
    assert!(
        record["responsePayload"]["errorMessage"]
            .as_str()
            .unwrap()
            .contains("runtime java21 cannot run on this machine"),
        "{record}"
    );
    // No retries configured: Lambda's default of two.
    assert_eq!(record["requestContext"]["approximateInvokeCount"], 1 + 2);
    assert_eq!(record["requestPayload"]["detail"]["taskToken"], "secret");
}

/// A java function, with a failure destination on the bus.
struct Unsupported;

#[async_trait]
impl FunctionSource for Unsupported {
    async fn function(&self, _name: &str) -> Result<LocalFunction, Failure> {
        Err(Language::of("java21").unwrap_err())
    }

    async fn invoke_config(&self, _name: &str) -> Result<Option<InvokeConfig>, Failure> {
        Ok(Some(InvokeConfig {
            maximum_retry_attempts: None,
            on_success: None,
            on_failure: Some(BUS_ARN.into()),
        }))
    }
}
