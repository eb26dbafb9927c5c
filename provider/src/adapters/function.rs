//! Lambda functions from container images or zip packages, in a VPC or outside any, the log
//! groups they write to (created first, with a retention, so Lambda does not create them without
//! one), who may invoke them, and where their asynchronous invocations' results go.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_lambda::client::Waiters;
use aws_sdk_lambda::types::{
    Architecture, DestinationConfig, Environment, FunctionCode, ImageConfig, OnFailure, OnSuccess, PackageType,
    Runtime, VpcConfig,
};
use base64::Engine;
use sha2::{Digest, Sha256};

use crate::aws::{
    AwsClients, AwsError, Tags, WAITER_LIMIT, found, ignore_not_found, retry_while_role_propagates, sync_tags,
    waiter_failed,
};

use eventdriven_core::naming::function_log_group_of;

use crate::adapters::log_group;

/// What Lambda runs a function on when it is not told.
const DEFAULT_ARCHITECTURE: &str = eventdriven_core::spec::Architecture::X86_64.as_str();

/// Everything the function is configured with.
#[derive(Clone, Debug)]
pub struct FunctionSettings<'a> {
    pub name: &'a str,
    pub image_uri: &'a str,
    /// `x86_64` or `arm64`: what the image was built for.
    pub architecture: &'a str,
    pub role_arn: &'a str,
    pub subnet_ids: &'a [String],
    pub security_group_ids: &'a [String],
    pub environment: &'a BTreeMap<String, String>,
    pub timeout_seconds: i32,
    pub memory_mb: i32,
    /// Arguments to the image's entrypoint (its `CMD`); empty keeps the image's own.
    pub command: &'a [String],
    /// A zip package to run instead of the image.
    pub zip: Option<&'a ZipCode>,
}

/// A zip package's code, and what runs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZipCode {
    pub bytes: Vec<u8>,
    /// Base64 of the bytes' SHA-256, as Lambda reports a function's `CodeSha256`.
    pub sha256: String,
    pub runtime: String,
    pub handler: String,
}

impl ZipCode {
    /// Reads the package at `path` (relative to Terraform's working directory).
    pub fn read(path: &str, runtime: &str, handler: &str) -> Result<Self, AwsError> {
        let bytes = std::fs::read(path).map_err(|e| AwsError::other(format!("reading the zip package {path}: {e}")))?;
        Ok(Self {
            sha256: code_sha256(&bytes),
            bytes,
            runtime: runtime.to_owned(),
            handler: handler.to_owned(),
        })
    }
}

/// Base64 of the SHA-256 of `bytes`: Lambda's `CodeSha256`, Terraform's `filebase64sha256`.
pub fn code_sha256(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(bytes))
}

/// Lambda rejects a role it cannot assume yet (fresh from IAM) with this code.
fn role_not_ready(err: &AwsError) -> bool {
    err.has_code("InvalidParameterValueException") && err.message.to_ascii_lowercase().contains("role")
}

fn environment(variables: &BTreeMap<String, String>) -> Environment {
    let variables: HashMap<String, String> = variables.clone().into_iter().collect();
    Environment::builder().set_variables(Some(variables)).build()
}

/// Functions that need no private network (no subnets given) stay out of any VPC.
fn vpc_config(settings: &FunctionSettings<'_>) -> Option<VpcConfig> {
    (!settings.subnet_ids.is_empty()).then(|| {
        VpcConfig::builder()
            .set_subnet_ids(Some(settings.subnet_ids.to_vec()))
            .set_security_group_ids(Some(settings.security_group_ids.to_vec()))
            .build()
    })
}

fn image_config(settings: &FunctionSettings<'_>) -> Option<ImageConfig> {
    (!settings.command.is_empty()).then(|| {
        ImageConfig::builder()
            .set_command(Some(settings.command.to_vec()))
            .build()
    })
}

/// Creates the function; returns its ARN. It is usable once [`wait_until_settled`].
pub async fn create(aws: &AwsClients, settings: &FunctionSettings<'_>, tags: &Tags) -> Result<String, AwsError> {
    let tags: HashMap<String, String> = tags.clone().into_iter().collect();
    let out = retry_while_role_propagates(role_not_ready, || async {
        let request = aws.lambda.create_function().function_name(settings.name);
        let request = match settings.zip {
            None => request
                .package_type(PackageType::Image)
                .code(FunctionCode::builder().image_uri(settings.image_uri).build())
                .set_image_config(image_config(settings)),
            Some(zip) => request
                .package_type(PackageType::Zip)
                .code(FunctionCode::builder().zip_file(zip.bytes.clone().into()).build())
                .runtime(Runtime::from(zip.runtime.as_str()))
                .handler(&zip.handler),
        };
        let request = request
            .architectures(Architecture::from(settings.architecture))
            .role(settings.role_arn)
            .set_vpc_config(vpc_config(settings))
            .environment(environment(settings.environment))
            .timeout(settings.timeout_seconds)
            .memory_size(settings.memory_mb)
            .set_tags(Some(tags.clone()));
        Ok(request.send().await?)
    })
    .await?;
    out.function_arn
        .ok_or_else(|| AwsError::other("CreateFunction returned no ARN"))
}

/// Waits until a new function is `Active`.
pub async fn wait_active(aws: &AwsClients, name: &str) -> Result<(), AwsError> {
    let waiter = aws.lambda.wait_until_function_active_v2().function_name(name);
    waiter.wait(WAITER_LIMIT).await.map_err(waiter_failed)?;
    Ok(())
}

/// Waits until an update has been applied: Lambda refuses a second change while one is still
/// in progress.
pub async fn wait_updated(aws: &AwsClients, name: &str) -> Result<(), AwsError> {
    let waiter = aws.lambda.wait_until_function_updated_v2().function_name(name);
    waiter.wait(WAITER_LIMIT).await.map_err(waiter_failed)?;
    Ok(())
}

/// What refresh compares against the configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FunctionInfo {
    pub arn: String,
    pub image_uri: Option<String>,
    pub architecture: Option<String>,
    pub environment: BTreeMap<String, String>,
    /// The image's command as configured; empty when the image's own is used.
    pub command: Vec<String>,
    pub timeout_seconds: Option<i32>,
    pub memory_mb: Option<i32>,
    pub subnet_ids: Vec<String>,
    pub security_group_ids: Vec<String>,
    /// A zip package's code hash, runtime and handler; `None` for an image.
    pub zip: Option<(String, String, String)>,
}

/// What of a live function differs from the settings it should have; each owner updates what
/// it manages.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Drift {
    pub image: bool,
    pub architecture: bool,
    pub environment: bool,
    pub vpc: bool,
    pub command: bool,
    pub timeout: bool,
    pub memory: bool,
    /// An image where a zip package is wanted, or the reverse: Lambda cannot change it in place.
    pub package_type: bool,
    /// The zip package's code.
    pub code: bool,
    /// The zip package's runtime or handler.
    pub runtime: bool,
}

impl FunctionInfo {
    pub fn drift(&self, wanted: &FunctionSettings<'_>) -> Drift {
        // Endpoints that report no architecture run the default one.
        let architecture = self.architecture.as_deref().unwrap_or(DEFAULT_ARCHITECTURE);
        let live_zip = self.zip.as_ref();
        Drift {
            package_type: live_zip.is_some() != wanted.zip.is_some(),
            code: wanted
                .zip
                .is_some_and(|zip| live_zip.is_some_and(|(sha, ..)| *sha != zip.sha256)),
            runtime: wanted.zip.is_some_and(|zip| {
                live_zip.is_some_and(|(_, runtime, handler)| *runtime != zip.runtime || *handler != zip.handler)
            }),
            image: wanted.zip.is_none() && self.image_uri.as_deref() != Some(wanted.image_uri),
            architecture: architecture != wanted.architecture,
            environment: self.environment != *wanted.environment,
            vpc: self.subnet_ids != wanted.subnet_ids || self.security_group_ids != wanted.security_group_ids,
            command: wanted.zip.is_none() && self.command != wanted.command,
            timeout: self.timeout_seconds != Some(wanted.timeout_seconds),
            memory: self.memory_mb != Some(wanted.memory_mb),
        }
    }
}

impl FunctionInfo {
    /// The settings the function's owner makes, as it holds them now: its code (an image or a
    /// zip's hash, runtime and handler), its environment and the rest of its configuration.
    pub fn settings(&self) -> Vec<(&'static str, String)> {
        let code = match &self.zip {
            Some((sha, runtime, handler)) => format!("zip {sha} {runtime} {handler}"),
            None => format!("image {:?} {:?}", self.image_uri, self.command),
        };
        let configuration = format!(
            "architecture={:?} timeout={:?} memory={:?} subnets={:?} security_groups={:?}",
            self.architecture, self.timeout_seconds, self.memory_mb, self.subnet_ids, self.security_group_ids
        );
        vec![
            ("code", code),
            ("environment", format!("{:?}", self.environment)),
            ("configuration", configuration),
        ]
    }
}

/// Names of the functions whose name starts with `prefix`.
pub async fn names_with_prefix(aws: &AwsClients, prefix: &str) -> Result<Vec<String>, AwsError> {
    let mut names = Vec::new();
    let mut pages = aws.lambda.list_functions().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(AwsError::from)?;
        let matching = page.functions().iter().filter_map(|f| f.function_name());
        names.extend(matching.filter(|name| name.starts_with(prefix)).map(str::to_owned));
    }
    Ok(names)
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
        architecture: configuration
            .and_then(|c| c.architectures().first())
            .map(|a| a.as_str().to_owned()),
        environment: configuration
            .and_then(|c| c.environment())
            .and_then(|e| e.variables())
            .map(|vars| vars.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default(),
        command: configuration
            .and_then(|c| c.image_config_response())
            .and_then(|r| r.image_config())
            .map(|c| c.command().to_vec())
            .unwrap_or_default(),
        timeout_seconds: configuration.and_then(|c| c.timeout()),
        memory_mb: configuration.and_then(|c| c.memory_size()),
        subnet_ids: configuration
            .and_then(|c| c.vpc_config())
            .map(|v| v.subnet_ids().to_vec())
            .unwrap_or_default(),
        security_group_ids: configuration
            .and_then(|c| c.vpc_config())
            .map(|v| v.security_group_ids().to_vec())
            .unwrap_or_default(),
        zip: configuration
            .filter(|c| c.package_type() == Some(&PackageType::Zip))
            .map(|c| {
                (
                    c.code_sha256().unwrap_or_default().to_owned(),
                    c.runtime().map(|r| r.as_str().to_owned()).unwrap_or_default(),
                    c.handler().unwrap_or_default().to_owned(),
                )
            }),
    }))
}

/// Replaces a zip function's code.
pub async fn update_zip(aws: &AwsClients, name: &str, zip: &ZipCode, architecture: &str) -> Result<(), AwsError> {
    aws.lambda
        .update_function_code()
        .function_name(name)
        .zip_file(zip.bytes.clone().into())
        .architectures(Architecture::from(architecture))
        .send()
        .await?;
    wait_updated(aws, name).await
}

/// Points the function at a new image, built for `architecture`.
pub async fn update_image(aws: &AwsClients, name: &str, image_uri: &str, architecture: &str) -> Result<(), AwsError> {
    aws.lambda
        .update_function_code()
        .function_name(name)
        .image_uri(image_uri)
        .architectures(Architecture::from(architecture))
        .send()
        .await?;
    wait_updated(aws, name).await
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
    wait_updated(aws, name).await
}

/// Moves the function to other subnets or security groups.
pub async fn update_vpc(
    aws: &AwsClients,
    name: &str,
    subnet_ids: &[String],
    security_group_ids: &[String],
) -> Result<(), AwsError> {
    let vpc = VpcConfig::builder()
        .set_subnet_ids(Some(subnet_ids.to_vec()))
        .set_security_group_ids(Some(security_group_ids.to_vec()))
        .build();
    aws.lambda
        .update_function_configuration()
        .function_name(name)
        .vpc_config(vpc)
        .send()
        .await?;
    wait_updated(aws, name).await
}

/// Re-applies what a function's configuration holds: environment, timeout, memory, and the
/// image's command or the zip package's runtime and handler.
pub async fn update_configuration(aws: &AwsClients, settings: &FunctionSettings<'_>) -> Result<(), AwsError> {
    let request = aws
        .lambda
        .update_function_configuration()
        .function_name(settings.name)
        .environment(environment(settings.environment))
        .timeout(settings.timeout_seconds)
        .memory_size(settings.memory_mb);
    let request = match settings.zip {
        None => request.image_config(image_config(settings).unwrap_or_else(|| ImageConfig::builder().build())),
        Some(zip) => request
            .runtime(Runtime::from(zip.runtime.as_str()))
            .handler(&zip.handler),
    };
    request.send().await?;
    wait_updated(aws, settings.name).await
}

/// Where the results of the function's asynchronous invocations go (both to `bus_arn`: failures
/// always, successes when `on_success`), with no retry, so a failure is reported at once.
pub async fn put_invocation_results(
    aws: &AwsClients,
    name: &str,
    bus_arn: &str,
    on_success: bool,
) -> Result<(), AwsError> {
    let destinations = DestinationConfig::builder()
        .on_failure(OnFailure::builder().destination(bus_arn).build())
        .set_on_success(on_success.then(|| OnSuccess::builder().destination(bus_arn).build()))
        .build();
    aws.lambda
        .put_function_event_invoke_config()
        .function_name(name)
        .maximum_retry_attempts(0)
        .destination_config(destinations)
        .send()
        .await?;
    Ok(())
}

/// Removes what [`put_invocation_results`] set; already gone is fine.
pub async fn delete_invocation_results(aws: &AwsClients, name: &str) -> Result<(), AwsError> {
    let out = aws
        .lambda
        .delete_function_event_invoke_config()
        .function_name(name)
        .send()
        .await;
    ignore_not_found(out.map(drop).map_err(Into::into))
}

/// Takes back what [`allow_rule`] granted; already gone is fine.
pub async fn disallow_rule(aws: &AwsClients, name: &str, rule_arn: &str) -> Result<(), AwsError> {
    let statement_id = rule_arn.rsplit('/').next().unwrap_or(rule_arn);
    let out = aws
        .lambda
        .remove_permission()
        .function_name(name)
        .statement_id(statement_id)
        .send()
        .await;
    ignore_not_found(out.map(drop).map_err(Into::into))
}

/// Lets EventBridge invoke the function for the rule `rule_arn` only; already allowed is fine.
pub async fn allow_rule(aws: &AwsClients, name: &str, rule_arn: &str) -> Result<(), AwsError> {
    let statement_id = rule_arn.rsplit('/').next().unwrap_or(rule_arn);
    let out = aws
        .lambda
        .add_permission()
        .function_name(name)
        .statement_id(statement_id)
        .action("lambda:InvokeFunction")
        .principal("events.amazonaws.com")
        .source_arn(rule_arn)
        .send()
        .await;
    match out.map_err(AwsError::from) {
        Err(e) if e.has_code("ResourceConflictException") => Ok(()),
        other => other.map(drop),
    }
}

pub async fn put_tags(aws: &AwsClients, arn: &str, tags: &Tags) -> Result<(), AwsError> {
    let out = aws.lambda.list_tags().resource(arn).send().await?;
    let current = out
        .tags()
        .into_iter()
        .flat_map(|current| current.keys().map(String::as_str));
    let untag = |stale| async move {
        aws.lambda
            .untag_resource()
            .resource(arn)
            .set_tag_keys(Some(stale))
            .send()
            .await?;
        Ok(())
    };
    let tag = || async {
        let tags: HashMap<String, String> = tags.clone().into_iter().collect();
        aws.lambda
            .tag_resource()
            .resource(arn)
            .set_tags(Some(tags))
            .send()
            .await?;
        Ok(())
    };
    sync_tags(current, tags, untag, tag).await
}

/// The log group the function `name` writes to, with a retention (both upserts). Created
/// before the function, so Lambda does not create it without one.
pub async fn put_function_log_group(
    aws: &AwsClients,
    name: &str,
    tags: &Tags,
    retention_days: i64,
) -> Result<(), AwsError> {
    let group = function_log_group_of(name);
    log_group::create(aws, &group, tags).await?;
    log_group::put_retention(aws, &group, retention_days).await
}

/// Deletes the function (by name or ARN), then its log group.
pub async fn delete_with_log_group(aws: &AwsClients, id: &str) -> Result<(), AwsError> {
    delete(aws, id).await?;
    let name = id.rsplit(':').next().unwrap_or(id);
    log_group::delete(aws, &function_log_group_of(name)).await
}

pub async fn delete(aws: &AwsClients, name: &str) -> Result<(), AwsError> {
    let out = aws.lambda.delete_function().function_name(name).send().await;
    ignore_not_found(out.map(drop).map_err(Into::into))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wanted(environment: &BTreeMap<String, String>) -> FunctionSettings<'_> {
        FunctionSettings {
            name: "f",
            image_uri: "registry/f:1",
            architecture: DEFAULT_ARCHITECTURE,
            role_arn: "arn:aws:iam::123456789012:role/f",
            subnet_ids: &[],
            security_group_ids: &[],
            environment,
            timeout_seconds: 30,
            memory_mb: 256,
            command: &[],
            zip: None,
        }
    }

    /// The function as `settings` configure it, as Lambda reports it.
    fn live(settings: &FunctionSettings<'_>) -> FunctionInfo {
        FunctionInfo {
            arn: "arn:aws:lambda:eu-west-1:123456789012:function:f".into(),
            image_uri: Some(settings.image_uri.to_owned()),
            architecture: Some(settings.architecture.to_owned()),
            environment: settings.environment.clone(),
            command: settings.command.to_vec(),
            timeout_seconds: Some(settings.timeout_seconds),
            memory_mb: Some(settings.memory_mb),
            subnet_ids: settings.subnet_ids.to_vec(),
            security_group_ids: settings.security_group_ids.to_vec(),
            zip: settings
                .zip
                .map(|z| (z.sha256.clone(), z.runtime.clone(), z.handler.clone())),
        }
    }

    #[test]
    fn each_setting_that_differs_is_reported_alone() {
        let environment = BTreeMap::from([("A".to_owned(), "1".to_owned())]);
        let settings = wanted(&environment);
        assert_eq!(live(&settings).drift(&settings), Drift::default());

        type Case = (fn(&mut FunctionInfo), fn(&mut Drift));
        let cases: [Case; 7] = [
            (|f| f.image_uri = Some("registry/f:2".into()), |d| d.image = true),
            (|f| f.architecture = Some("arm64".into()), |d| d.architecture = true),
            (|f| f.environment.clear(), |d| d.environment = true),
            (|f| f.subnet_ids = vec!["subnet-1".into()], |d| d.vpc = true),
            (|f| f.command = vec!["serve".into()], |d| d.command = true),
            (|f| f.timeout_seconds = None, |d| d.timeout = true),
            (|f| f.memory_mb = Some(512), |d| d.memory = true),
        ];
        for (change, differs) in cases {
            let mut function = live(&settings);
            change(&mut function);
            let mut expected = Drift::default();
            differs(&mut expected);
            assert_eq!(function.drift(&settings), expected, "{function:?}");
        }
    }

    #[test]
    fn a_zip_package_drifts_on_its_code_and_runtime_and_never_on_an_image() {
        let environment = BTreeMap::new();
        let zip = ZipCode {
            bytes: b"PK".to_vec(),
            sha256: code_sha256(b"PK"),
            runtime: "python3.12".into(),
            handler: "app.handler".into(),
        };
        let settings = FunctionSettings {
            zip: Some(&zip),
            ..wanted(&environment)
        };
        let mut function = live(&settings);
        function.image_uri = None;
        assert_eq!(function.drift(&settings), Drift::default());
        function.zip.as_mut().unwrap().0 = code_sha256(b"PK2");
        assert_eq!(
            function.drift(&settings),
            Drift {
                code: true,
                ..Drift::default()
            }
        );
        function.zip.as_mut().unwrap().2 = "app.main".into();
        assert!(function.drift(&settings).runtime);
        assert!(live(&wanted(&environment)).drift(&settings).package_type);
    }

    #[test]
    fn the_code_hash_is_lambdas() {
        // `printf '' | openssl dgst -sha256 -binary | base64`
        assert_eq!(code_sha256(b""), "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
    }

    #[test]
    fn an_unreported_architecture_is_the_default_one() {
        let environment = BTreeMap::new();
        let mut function = live(&wanted(&environment));
        function.architecture = None;
        assert_eq!(function.drift(&wanted(&environment)), Drift::default());
        let arm = FunctionSettings {
            architecture: "arm64",
            ..wanted(&environment)
        };
        assert!(function.drift(&arm).architecture);
    }

    #[test]
    fn a_function_without_subnets_stays_out_of_any_vpc_and_keeps_its_image_command() {
        let environment = BTreeMap::new();
        let settings = wanted(&environment);
        assert!(vpc_config(&settings).is_none());
        assert!(image_config(&settings).is_none());
        let subnets = ["subnet-1".to_owned()];
        let command = ["handler".to_owned()];
        let placed = FunctionSettings {
            subnet_ids: &subnets,
            command: &command,
            ..settings
        };
        assert_eq!(vpc_config(&placed).unwrap().subnet_ids(), subnets);
        assert_eq!(image_config(&placed).unwrap().command(), command);
    }
}
