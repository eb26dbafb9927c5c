//! The Lambda function answering the state machine's "which chunks are left" question: a
//! container image in the cluster's VPC, next to the progress store it reads.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_lambda::types::{Environment, FunctionCode, LastUpdateStatus, PackageType, State, VpcConfig};

use crate::aws::{
    AwsClients, AwsError, Tags, found, ignore_not_found, retry_while_role_propagates, stale_tag_keys, wait_until,
};

/// Everything the function is configured with.
#[derive(Clone, Debug)]
pub struct FunctionSettings<'a> {
    pub name: &'a str,
    pub image_uri: &'a str,
    pub role_arn: &'a str,
    pub subnet_ids: &'a [String],
    pub security_group_ids: &'a [String],
    pub environment: &'a BTreeMap<String, String>,
    pub timeout_seconds: i32,
    pub memory_mb: i32,
}

/// Lambda rejects a role it cannot assume yet (fresh from IAM) with this code.
fn role_not_ready(err: &AwsError) -> bool {
    err.has_code("InvalidParameterValueException") && err.message.to_ascii_lowercase().contains("role")
}

fn environment(variables: &BTreeMap<String, String>) -> Environment {
    let variables: HashMap<String, String> = variables.clone().into_iter().collect();
    Environment::builder().set_variables(Some(variables)).build()
}

/// Creates the function; returns its ARN. It is usable once [`wait_until_settled`].
pub async fn create(aws: &AwsClients, settings: &FunctionSettings<'_>, tags: &Tags) -> Result<String, AwsError> {
    let tags: HashMap<String, String> = tags.clone().into_iter().collect();
    let out = retry_while_role_propagates(role_not_ready, || {
        aws.lambda
            .create_function()
            .function_name(settings.name)
            .package_type(PackageType::Image)
            .code(FunctionCode::builder().image_uri(settings.image_uri).build())
            .role(settings.role_arn)
            .vpc_config(
                VpcConfig::builder()
                    .set_subnet_ids(Some(settings.subnet_ids.to_vec()))
                    .set_security_group_ids(Some(settings.security_group_ids.to_vec()))
                    .build(),
            )
            .environment(environment(settings.environment))
            .timeout(settings.timeout_seconds)
            .memory_size(settings.memory_mb)
            .set_tags(Some(tags.clone()))
            .send()
    })
    .await?;
    out.function_arn
        .ok_or_else(|| AwsError::other("CreateFunction returned no ARN"))
}

/// Waits until the function is `Active` and no update is in progress: Lambda refuses a
/// second change while one is still being applied.
pub async fn wait_until_settled(aws: &AwsClients, name: &str) -> Result<(), AwsError> {
    wait_until(|| async {
        let out = aws
            .lambda
            .get_function_configuration()
            .function_name(name)
            .send()
            .await?;
        match (out.state(), out.last_update_status()) {
            (Some(State::Failed), _) | (_, Some(LastUpdateStatus::Failed)) => Err(AwsError::other(format!(
                "function {name} failed: {}",
                out.state_reason()
                    .or(out.last_update_status_reason())
                    .unwrap_or("no reason given")
            ))),
            (Some(State::Pending), _) | (_, Some(LastUpdateStatus::InProgress)) => Ok(None),
            _ => Ok(Some(())),
        }
    })
    .await
}

/// What refresh compares against the configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FunctionInfo {
    pub arn: String,
    pub image_uri: Option<String>,
    pub environment: BTreeMap<String, String>,
}

pub async fn read(aws: &AwsClients, name: &str) -> Result<Option<FunctionInfo>, AwsError> {
    let out = aws.lambda.get_function().function_name(name).send().await;
    let Some(out) = found(out.map_err(AwsError::from))? else {
        return Ok(None);
    };
    let configuration = out.configuration();
    Ok(Some(FunctionInfo {
        arn: configuration
            .and_then(|c| c.function_arn())
            .unwrap_or_default()
            .to_owned(),
        image_uri: out.code().and_then(|c| c.image_uri()).map(str::to_owned),
        environment: configuration
            .and_then(|c| c.environment())
            .and_then(|e| e.variables())
            .map(|vars| vars.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default(),
    }))
}

/// Points the function at a new image.
pub async fn update_image(aws: &AwsClients, name: &str, image_uri: &str) -> Result<(), AwsError> {
    aws.lambda
        .update_function_code()
        .function_name(name)
        .image_uri(image_uri)
        .send()
        .await?;
    wait_until_settled(aws, name).await
}

/// Replaces the environment, e.g. after a child it names was re-created.
pub async fn update_environment(
    aws: &AwsClients,
    name: &str,
    variables: &BTreeMap<String, String>,
) -> Result<(), AwsError> {
    aws.lambda
        .update_function_configuration()
        .function_name(name)
        .environment(environment(variables))
        .send()
        .await?;
    wait_until_settled(aws, name).await
}

pub async fn put_tags(aws: &AwsClients, arn: &str, tags: &Tags) -> Result<(), AwsError> {
    let out = aws.lambda.list_tags().resource(arn).send().await?;
    let stale = stale_tag_keys(
        out.tags()
            .into_iter()
            .flat_map(|current| current.keys().map(String::as_str)),
        tags,
    );
    if !stale.is_empty() {
        aws.lambda
            .untag_resource()
            .resource(arn)
            .set_tag_keys(Some(stale))
            .send()
            .await?;
    }
    if !tags.is_empty() {
        let tags: HashMap<String, String> = tags.clone().into_iter().collect();
        aws.lambda
            .tag_resource()
            .resource(arn)
            .set_tags(Some(tags))
            .send()
            .await?;
    }
    Ok(())
}

pub async fn delete(aws: &AwsClients, name: &str) -> Result<(), AwsError> {
    let out = aws.lambda.delete_function().function_name(name).send().await;
    ignore_not_found(out.map(drop).map_err(Into::into))
}
