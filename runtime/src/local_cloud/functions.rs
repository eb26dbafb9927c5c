//! Deployed functions, as the emulator describes them: image, environment and timeout.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use eventdriven_states::Failure;

use crate::local::images::ImageMap;
use crate::local::lambda_process::{FunctionSource, LocalFunction};

pub struct DeployedFunctions {
    pub lambda: aws_sdk_lambda::Client,
    pub images: ImageMap,
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
        let image = found.code.and_then(|code| code.image_uri).unwrap_or_default();
        // The image's entrypoint is what the image maps to; an ImageConfig Command adds arguments.
        let arguments = configuration
            .image_config_response
            .and_then(|r| r.image_config)
            .and_then(|c| c.command)
            .unwrap_or_default();
        let mut command = self.images.lambda_command(&image).map_err(Failure::task_failed)?;
        command.extend(arguments);
        let env: BTreeMap<String, String> = configuration
            .environment
            .and_then(|e| e.variables)
            .unwrap_or_default()
            .into_iter()
            .collect();
        Ok(LocalFunction {
            arn: configuration.function_arn.unwrap_or_else(|| name.to_owned()),
            command,
            env,
            timeout: Duration::from_secs(configuration.timeout.unwrap_or(3).max(1) as u64),
        })
    }
}
