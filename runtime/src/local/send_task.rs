//! `aws-sdk:sfn:sendTaskSuccess`, `sendTaskFailure` and `sendTaskHeartbeat`, answering the
//! task tokens of executions this interpreter runs.

use async_trait::async_trait;
use eventdriven_states::{Failure, Integration, Resource, TaskRequest, TaskTokens, TokenAnswer};
use serde_json::{Value, json};

pub struct SendTask {
    pub tokens: TaskTokens,
}

#[async_trait]
impl Integration for SendTask {
    fn serves(&self, resource: &Resource) -> bool {
        resource.service == "aws-sdk:sfn"
            && matches!(
                resource.action.as_str(),
                "sendTaskSuccess" | "sendTaskFailure" | "sendTaskHeartbeat"
            )
    }

    async fn call(&self, request: TaskRequest) -> Result<Value, Failure> {
        let p = &request.parameters;
        let token = p["TaskToken"]
            .as_str()
            .ok_or_else(|| Failure::new("Sfn.ValidationException", "TaskToken is required"))?;
        let text = |field: &str| p[field].as_str().unwrap_or_default().to_owned();
        let answer = match request.resource.action.as_str() {
            "sendTaskSuccess" => TokenAnswer::Success(match &p["Output"] {
                // The API takes the output as JSON text; an object is taken as it is.
                Value::String(text) => serde_json::from_str(text)
                    .map_err(|e| Failure::new("Sfn.InvalidOutputException", format!("Output is not JSON: {e}")))?,
                other => other.clone(),
            }),
            "sendTaskFailure" => TokenAnswer::Failure(Failure::new(text("Error"), text("Cause"))),
            _ => TokenAnswer::Heartbeat,
        };
        self.tokens.answer(token, answer)?;
        Ok(json!({}))
    }
}
