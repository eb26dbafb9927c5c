//! The context object (`$$`): what a path can learn about the execution, the state, the task
//! token and the current Map item.

use serde_json::{Map, Value, json};

/// The execution's part of the context, fixed for its whole run.
#[derive(Clone, Debug)]
pub struct ExecutionContext {
    pub execution: Value,
    pub state_machine: Value,
}

impl ExecutionContext {
    pub fn new(execution_arn: &str, name: &str, input: &Value, state_machine_arn: &str, role_arn: &str) -> Self {
        let state_machine_name = state_machine_arn.rsplit(':').next().unwrap_or(state_machine_arn);
        ExecutionContext {
            execution: json!({
                "Id": execution_arn,
                "Input": input,
                "Name": name,
                "RoleArn": role_arn,
                "StartTime": crate::clock::now_iso(),
                "RedriveCount": 0,
            }),
            state_machine: json!({ "Id": state_machine_arn, "Name": state_machine_name }),
        }
    }
}

/// The context object a state sees.
pub struct StateContext<'a> {
    pub execution: &'a ExecutionContext,
    pub state_name: &'a str,
    pub entered_time: &'a str,
    pub retry_count: u64,
    pub token: Option<&'a str>,
    pub map_item: Option<(usize, &'a Value)>,
}

impl StateContext<'_> {
    pub fn to_value(&self) -> Value {
        let mut context = Map::new();
        context.insert("Execution".into(), self.execution.execution.clone());
        context.insert("StateMachine".into(), self.execution.state_machine.clone());
        context.insert(
            "State".into(),
            json!({ "Name": self.state_name, "EnteredTime": self.entered_time, "RetryCount": self.retry_count }),
        );
        if let Some(token) = self.token {
            context.insert("Task".into(), json!({ "Token": token }));
        }
        if let Some((index, value)) = self.map_item {
            context.insert("Map".into(), json!({ "Item": { "Index": index, "Value": value } }));
        }
        Value::Object(context)
    }
}
