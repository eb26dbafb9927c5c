//! Deployed functions, as the emulator describes them: an image's command or a zip package's
//! runtime, handler and code; environment, memory and timeout; and the event invoke
//! configuration their asynchronous invocations follow.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_lambda::types::{FunctionConfiguration, PackageType};
use eventdriven_states::Failure;

use crate::local::images::ImageMap;
use crate::local::lambda_process::{FunctionSource, InvokeConfig, LocalFunction, MEMORY_SIZE_ENV};
use crate::local::zip_runtimes::{Language, ZipRuntimes};
use crate::local_cloud::function_code::CodeCache;

pub struct DeployedFunctions {
    pub lambda: aws_sdk_lambda::Client,
    pub images: ImageMap,
    pub runtimes: ZipRuntimes,
    pub code: CodeCache,
}

fn service_failure(name: &str, what: &str, error: impl std::fmt::Display) -> Failure {
    Failure::new("Lambda.ServiceException", format!("{what} of {name}: {error}"))
}

#[async_trait]
impl FunctionSource for DeployedFunctions {
    async fn function(&self, name: &str) -> Result<LocalFunction, Failure> {
        let found = self
            .lambda
            .get_function()
            .function_name(name)
            .send()
            .await
            .map_err(|e| {
                Failure::new(
                    "Lambda.ResourceNotFoundException",
                    format!(
                        "reading the function {name}: {}",
                        aws_sdk_lambda::error::DisplayErrorContext(e)
                    ),
                )
            })?;
        let configuration = found.configuration.ok_or_else(|| {
            Failure::new(
                "Lambda.ServiceException",
                format!("the function {name} has no configuration"),
            )
        })?;
        let mut env: BTreeMap<String, String> = configuration
            .environment
            .clone()
            .and_then(|e| e.variables)
            .unwrap_or_default()
            .into_iter()
            .collect();
        if let Some(memory) = configuration.memory_size {
            env.insert(MEMORY_SIZE_ENV.to_owned(), memory.to_string());
        }
        let command = if configuration.package_type == Some(PackageType::Image) {
            let image = found.code.and_then(|code| code.image_uri).unwrap_or_default();
            self.image_command(&image, &configuration)?
        } else {
            let location = found.code.and_then(|code| code.location).unwrap_or_default();
            let (command, runtime_env) = self.zip_process(name, &configuration, &location).await?;
            env.extend(runtime_env);
            command
        };
        Ok(LocalFunction {
            arn: configuration.function_arn.unwrap_or_else(|| name.to_owned()),
            command,
            env,
            timeout: Duration::from_secs(configuration.timeout.unwrap_or(3).max(1) as u64),
        })
    }

    async fn invoke_config(&self, name: &str) -> Result<Option<InvokeConfig>, Failure> {
        let found = self
            .lambda
            .get_function_event_invoke_config()
            .function_name(name)
            .send()
            .await;
        let config = match found {
            Ok(config) => config,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                return Ok(None);
            }
            Err(e) => {
                let e = aws_sdk_lambda::error::DisplayErrorContext(e);
                return Err(service_failure(name, "reading the event invoke config", e));
            }
        };
        let destination = |pick: fn(&aws_sdk_lambda::types::DestinationConfig) -> Option<String>| {
            config.destination_config().and_then(pick).filter(|arn| !arn.is_empty())
        };
        Ok(Some(InvokeConfig {
            maximum_retry_attempts: config.maximum_retry_attempts().and_then(|n| u32::try_from(n).ok()),
            on_success: destination(|d| d.on_success()?.destination().map(str::to_owned)),
            on_failure: destination(|d| d.on_failure()?.destination().map(str::to_owned)),
        }))
    }
}

impl DeployedFunctions {
    /// The image's entrypoint is what the image maps to; an ImageConfig Command adds arguments.
    fn image_command(&self, image: &str, configuration: &FunctionConfiguration) -> Result<Vec<String>, Failure> {
        let arguments = configuration
            .image_config_response()
            .and_then(|r| r.image_config())
            .and_then(|c| c.command.clone())
            .unwrap_or_default();
        let mut command = self.images.lambda_command(image).map_err(Failure::task_failed)?;
        command.extend(arguments);
        Ok(command)
    }

    /// The runtime's command and environment for a zip package, its code unpacked here. The
    /// runtime is checked first, so code that cannot run here is never downloaded.
    async fn zip_process(
        &self,
        name: &str,
        configuration: &FunctionConfiguration,
        location: &str,
    ) -> Result<(Vec<String>, BTreeMap<String, String>), Failure> {
        let runtime = configuration.runtime().map(|r| r.as_str()).unwrap_or_default();
        let language = Language::of(runtime)?;
        self.runtimes.check_installed(language)?;
        let handler = configuration.handler().unwrap_or_default();
        let code_sha256 = configuration.code_sha256().unwrap_or_default();
        if location.is_empty() || code_sha256.is_empty() {
            return Err(service_failure(
                name,
                "reading the code",
                "GetFunction gives no code location and hash",
            ));
        }
        let code = self.code.unpacked(code_sha256, location).await?;
        Ok(self.runtimes.process(language, handler, &code))
    }
}
