//! Lambda's asynchronous invocation, as EventBridge invokes a rule's function: the attempts the
//! function's event invoke configuration allows, then the invocation record, for the
//! destination of the outcome when that destination is an event bus, as Lambda puts it there.

use eventdriven_core::workflow::rules::{LAMBDA_FAILURE, LAMBDA_SUCCESS};
use serde_json::{Value, json};

use crate::local::lambda_process::{FunctionError, InvokeConfig, LocalLambda, Outcome, new_request_id};

/// Lambda's attempts after a failed one, when the function's configuration does not say.
const DEFAULT_RETRIES: u32 = 2;

/// The event Lambda puts on a destination bus: on the bus named `bus`, with source `lambda`.
#[derive(Clone, Debug, PartialEq)]
pub struct DestinationEvent {
    pub bus: String,
    pub detail_type: &'static str,
    pub resources: Vec<String>,
    /// The invocation record.
    pub detail: Value,
}

/// Invokes `function_arn` with `payload` as an asynchronous invocation: up to the configured
/// attempts, until one succeeds. Returns the event for the outcome's destination, when the
/// function has one on an event bus. A failed invocation is written to standard error, as
/// Lambda writes it to the function's log.
pub async fn invoke_async(lambda: &LocalLambda, function_arn: &str, payload: &Value) -> Option<DestinationEvent> {
    let config = match lambda.functions.invoke_config(function_arn).await {
        Ok(config) => config.unwrap_or_default(),
        Err(failure) => {
            eprintln!("local-cloud: reading the event invoke config of {function_arn}: {failure}");
            InvokeConfig::default()
        }
    };
    // Lambda keeps one request id for every attempt of an asynchronous invocation.
    let request_id = new_request_id();
    let allowed = 1 + config.maximum_retry_attempts.unwrap_or(DEFAULT_RETRIES);
    let mut attempts = 0;
    let outcome = loop {
        attempts += 1;
        let outcome: Outcome = match lambda.functions.function(function_arn).await {
            Ok(function) => lambda.run(&function, payload, &request_id).await,
            Err(failure) => Err(FunctionError::from(failure)),
        };
        if outcome.is_ok() || attempts >= allowed {
            break outcome;
        }
    };
    let destination = match &outcome {
        Ok(_) => config.on_success.as_deref(),
        Err(_) => config.on_failure.as_deref(),
    };
    let bus = destination.and_then(bus_of);
    if let Err(error) = &outcome {
        eprintln!(
            "local-cloud: {function_arn} failed ({attempts} attempts): {}: {}",
            error.error_type, error.payload
        );
    }
    if let (Some(destination), None) = (destination, &bus) {
        eprintln!("local-cloud: {function_arn}'s destination {destination} is not an event bus: nothing sent there");
    }
    let record = Invocation {
        request_id: &request_id,
        function_arn,
        attempts,
        payload,
        outcome: &outcome,
        timestamp: &eventdriven_states::clock::now_iso(),
    };
    Some(DestinationEvent {
        bus: bus?.to_owned(),
        detail_type: if outcome.is_ok() {
            LAMBDA_SUCCESS
        } else {
            LAMBDA_FAILURE
        },
        resources: vec![qualified(function_arn)],
        detail: record.record(),
    })
}

/// The bus an event bus ARN names (`arn:aws:events:REGION:ACCOUNT:event-bus/NAME`); `None` for
/// any other kind of destination.
pub fn bus_of(arn: &str) -> Option<&str> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", _, "events", _, _, resource] => resource.strip_prefix("event-bus/"),
        _ => None,
    }
}

/// The version of the function asynchronous invocations run: `$LATEST` unless the ARN names one.
fn qualified(function_arn: &str) -> String {
    match function_arn.split(':').count() {
        7 => format!("{function_arn}:$LATEST"),
        _ => function_arn.to_owned(),
    }
}

/// One asynchronous invocation, once it ended.
struct Invocation<'a> {
    request_id: &'a str,
    function_arn: &'a str,
    attempts: u32,
    payload: &'a Value,
    outcome: &'a Outcome,
    timestamp: &'a str,
}

impl Invocation<'_> {
    /// The invocation record Lambda sends a destination: the request and its context, the
    /// response (the answer, or the error object) and its context.
    fn record(&self) -> Value {
        let (condition, response, function_error) = match self.outcome {
            Ok(answer) => ("Success", answer.clone(), None),
            Err(error) => ("RetriesExhausted", error.payload.clone(), Some("Unhandled")),
        };
        let mut response_context = json!({ "statusCode": 200, "executedVersion": "$LATEST" });
        if let Some(function_error) = function_error {
            response_context["functionError"] = json!(function_error);
        }
        json!({
            "version": "1.0",
            "timestamp": self.timestamp,
            "requestContext": {
                "requestId": self.request_id,
                "functionArn": qualified(self.function_arn),
                "condition": condition,
                "approximateInvokeCount": self.attempts,
            },
            "requestPayload": self.payload,
            "responseContext": response_context,
            "responsePayload": response,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARN: &str = "arn:aws:lambda:us-east-1:1:function:f";

    fn record(outcome: Outcome, attempts: u32) -> Value {
        Invocation {
            request_id: "r-1",
            function_arn: ARN,
            attempts,
            payload: &json!({"source": "s", "detail": {}}),
            outcome: &outcome,
            timestamp: "2026-01-02T03:04:05.678Z",
        }
        .record()
    }

    #[test]
    fn a_success_records_the_request_and_the_answer() {
        assert_eq!(
            record(Ok(json!({"audited": "o-1"})), 1),
            json!({
                "version": "1.0",
                "timestamp": "2026-01-02T03:04:05.678Z",
                "requestContext": {
                    "requestId": "r-1",
                    "functionArn": "arn:aws:lambda:us-east-1:1:function:f:$LATEST",
                    "condition": "Success",
                    "approximateInvokeCount": 1,
                },
                "requestPayload": {"source": "s", "detail": {}},
                "responseContext": {"statusCode": 200, "executedVersion": "$LATEST"},
                "responsePayload": {"audited": "o-1"},
            })
        );
    }

    #[test]
    fn a_failure_records_the_runtimes_error_object_and_every_attempt() {
        let error = FunctionError::reported(
            r#"{"errorMessage": "'order'", "errorType": "KeyError", "stackTrace": ["  File app.py"]}"#,
            Some("KeyError"),
        );
        let record = record(Err(error), 3);
        assert_eq!(record["requestContext"]["condition"], "RetriesExhausted");
        assert_eq!(record["requestContext"]["approximateInvokeCount"], 3);
        assert_eq!(record["responseContext"]["functionError"], "Unhandled");
        assert_eq!(
            record["responsePayload"],
            json!({"errorMessage": "'order'", "errorType": "KeyError", "stackTrace": ["  File app.py"]})
        );
    }

    #[test]
    fn only_event_bus_destinations_are_buses() {
        assert_eq!(bus_of("arn:aws:events:us-east-1:1:event-bus/orders"), Some("orders"));
        assert_eq!(bus_of("arn:aws:events:us-east-1:1:event-bus/default"), Some("default"));
        assert_eq!(bus_of("arn:aws:sqs:us-east-1:1:queue"), None);
        assert_eq!(bus_of("arn:aws:events:us-east-1:1:rule/r"), None);
        assert_eq!(bus_of("orders"), None);
    }

    #[test]
    fn the_invoked_version_is_latest_unless_named() {
        assert_eq!(qualified(ARN), format!("{ARN}:$LATEST"));
        assert_eq!(qualified(&format!("{ARN}:live")), format!("{ARN}:live"));
    }
}
