//! The calls a Distributed Map makes to S3 for its `ItemReader` and `ResultWriter`: through
//! the run's integrations, as the Map state.

use serde_json::Value;

use crate::error::Failure;
use crate::integration::{Resource, TaskRequest};
use crate::interpreter::run::{Here, Run};

pub(crate) async fn call(
    run: &Run<'_>,
    here: &Here<'_>,
    resource: &Resource,
    parameters: Value,
) -> Result<Value, Failure> {
    let integration = run.integrations.find(resource)?;
    integration
        .call(TaskRequest {
            resource: resource.clone(),
            parameters,
            token: None,
            caller: run.caller(here),
        })
        .await
}
