//! Step Functions state machines, standard or express: each definition validated by Step
//! Functions before it is created or updated, read back, tagged and deleted.

use aws_sdk_sfn::types::{
    CloudWatchLogsLogGroup, LogDestination, LogLevel, LoggingConfiguration, StateMachineStatus, StateMachineType, Tag,
    ValidateStateMachineDefinitionResultCode,
};

use crate::aws::{AwsClients, AwsError, Tags, found, ignore_not_found, retry_while_role_propagates, sync_tags};

fn sfn_tags(tags: &Tags) -> Vec<Tag> {
    tags.iter()
        .map(|(key, value)| Tag::builder().key(key).value(value).build())
        .collect()
}

/// Step Functions rejects a role it cannot assume yet (fresh from IAM) with this code.
fn role_not_ready(err: &AwsError) -> bool {
    err.has_code("AccessDeniedException") || err.has_code("InvalidArn")
}

/// Logs the machine's errors (failed executions and states, with their error and cause, not
/// their data) to the log group `log_group_arn`.
fn error_logging(log_group_arn: Option<&str>) -> Option<LoggingConfiguration> {
    let group = CloudWatchLogsLogGroup::builder()
        .log_group_arn(format!("{}:*", log_group_arn?))
        .build();
    Some(
        LoggingConfiguration::builder()
            .level(LogLevel::Error)
            .include_execution_data(false)
            .destinations(LogDestination::builder().cloud_watch_logs_log_group(group).build())
            .build(),
    )
}

/// Creates a state machine of `kind` (standard or express), logging its errors to
/// `error_log` (a log group's ARN) when given; returns its ARN.
pub async fn create(
    aws: &AwsClients,
    name: &str,
    kind: StateMachineType,
    definition: &serde_json::Value,
    role_arn: &str,
    error_log: Option<&str>,
    tags: &Tags,
) -> Result<String, AwsError> {
    let out = retry_while_role_propagates(role_not_ready, || async {
        let request = aws
            .sfn
            .create_state_machine()
            .name(name)
            .definition(definition.to_string())
            .role_arn(role_arn)
            .set_logging_configuration(error_logging(error_log))
            .set_type(Some(kind.clone()))
            .set_tags(Some(sfn_tags(tags)));
        Ok(request.send().await?)
    })
    .await?;
    Ok(out.state_machine_arn)
}

/// Asks Step Functions to check `definition`, so a definition it would reject fails with its
/// own diagnostics (every error, each with its location) before anything is changed.
pub async fn validate(
    aws: &AwsClients,
    kind: StateMachineType,
    definition: &serde_json::Value,
) -> Result<(), AwsError> {
    let out = aws
        .sfn
        .validate_state_machine_definition()
        .definition(definition.to_string())
        .r#type(kind)
        .send()
        .await?;
    if out.result() != &ValidateStateMachineDefinitionResultCode::Fail {
        return Ok(());
    }
    let diagnostics: Vec<String> = out
        .diagnostics()
        .iter()
        .map(|d| match d.location() {
            Some(location) => format!("{} at {location}: {}", d.code(), d.message()),
            None => format!("{}: {}", d.code(), d.message()),
        })
        .collect();
    Err(AwsError {
        code: Some("InvalidDefinition".into()),
        message: format!("the rendered definition is invalid: {}", diagnostics.join("; ")),
    })
}

/// What refresh compares against the configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct StateMachineInfo {
    pub definition: serde_json::Value,
    pub role_arn: String,
}

/// The live state machine, or `None` when it is gone or being deleted.
pub async fn read(aws: &AwsClients, arn: &str) -> Result<Option<StateMachineInfo>, AwsError> {
    let out = aws.sfn.describe_state_machine().state_machine_arn(arn).send().await;
    let Some(out) = found(out.map_err(AwsError::from))? else {
        return Ok(None);
    };
    if out.status() == Some(&StateMachineStatus::Deleting) {
        return Ok(None);
    }
    let definition = serde_json::from_str(out.definition())
        .map_err(|e| AwsError::other(format!("state machine {arn} has a definition that is not JSON: {e}")))?;
    Ok(Some(StateMachineInfo {
        definition,
        role_arn: out.role_arn().to_owned(),
    }))
}

/// Replaces the definition in place (concurrency, batch size and image live there), and where
/// errors are logged.
pub async fn update(
    aws: &AwsClients,
    arn: &str,
    definition: &serde_json::Value,
    role_arn: &str,
    error_log: Option<&str>,
) -> Result<(), AwsError> {
    aws.sfn
        .update_state_machine()
        .state_machine_arn(arn)
        .definition(definition.to_string())
        .role_arn(role_arn)
        .set_logging_configuration(error_logging(error_log))
        .send()
        .await?;
    Ok(())
}

/// The state machine's tags.
pub async fn tags(aws: &AwsClients, arn: &str) -> Result<Tags, AwsError> {
    let out = aws.sfn.list_tags_for_resource().resource_arn(arn).send().await?;
    Ok(out
        .tags()
        .iter()
        .filter_map(|t| Some((t.key()?.to_owned(), t.value()?.to_owned())))
        .collect())
}

pub async fn put_tags(aws: &AwsClients, arn: &str, tags: &Tags) -> Result<(), AwsError> {
    let out = aws.sfn.list_tags_for_resource().resource_arn(arn).send().await?;
    let untag = |stale| async move {
        aws.sfn
            .untag_resource()
            .resource_arn(arn)
            .set_tag_keys(Some(stale))
            .send()
            .await?;
        Ok(())
    };
    let tag = || async {
        aws.sfn
            .tag_resource()
            .resource_arn(arn)
            .set_tags(Some(sfn_tags(tags)))
            .send()
            .await?;
        Ok(())
    };
    sync_tags(out.tags().iter().filter_map(|t| t.key()), tags, untag, tag).await
}

pub async fn delete(aws: &AwsClients, arn: &str) -> Result<(), AwsError> {
    let out = aws.sfn.delete_state_machine().state_machine_arn(arn).send().await;
    ignore_not_found(out.map(drop).map_err(Into::into))
}
