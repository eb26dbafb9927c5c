//! Where a local `lambda:invoke` finds its function when no emulator describes it: this
//! project's Lambda image, run with this process's environment.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use eventdriven_states::Failure;

use crate::local::images::ImageMap;
use crate::local::lambda_process::{FunctionSource, LocalFunction};

/// Every function is this project's list-chunks handler, configured by the current environment.
pub struct ThisBinary {
    pub images: ImageMap,
}

#[async_trait]
impl FunctionSource for ThisBinary {
    async fn function(&self, name: &str) -> Result<LocalFunction, Failure> {
        let image = format!("{}-lambda", eventdriven_core::spec::PREFIX);
        Ok(LocalFunction {
            arn: name.to_owned(),
            command: self.images.lambda_command(&image).map_err(Failure::task_failed)?,
            env: std::env::vars().collect::<BTreeMap<_, _>>(),
            timeout: Duration::from_secs(60),
        })
    }
}
