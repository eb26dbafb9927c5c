//! `eventdriven states run`: one execution of a definition on this machine.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use eventdriven_states::{Interpreter, StartExecution, Status, TaskTokens};
use serde_json::{Value, json};

use crate::local::functions::ThisBinary;
use crate::local::images::ImageMap;
use crate::local::{LocalSetup, local_integrations};

/// What `states run` takes.
#[derive(clap::Args)]
pub struct StatesRun {
    /// The state machine definition (Amazon States Language, JSONPath).
    pub definition: PathBuf,
    /// The execution input (default: {}).
    #[arg(long)]
    pub input: Option<PathBuf>,
    /// Write the execution's history events here, as a JSON array.
    #[arg(long)]
    pub history: Option<PathBuf>,
    /// The execution name (default: derived from the input).
    #[arg(long)]
    pub name: Option<String>,
    /// Run IMAGE as the local COMMAND (this project's images run this binary).
    #[arg(long = "image", value_name = "IMAGE=COMMAND")]
    pub images: Vec<String>,
    /// Where Job volumes live: one directory per file system or claim.
    #[arg(long, default_value = ".eventdriven/volumes")]
    pub volumes: PathBuf,
}

/// Runs the execution; prints its output (exit 0) or `{"error", "cause"}` (exit 1).
pub async fn states_run(run: StatesRun) -> Result<ExitCode> {
    let definition = read_json(&run.definition)?;
    let input = match &run.input {
        Some(path) => read_json(path)?,
        None => json!({}),
    };
    let images = ImageMap::new(std::env::current_exe()?, &run.images).map_err(anyhow::Error::msg)?;
    let setup = LocalSetup {
        functions: Arc::new(ThisBinary { images: images.clone() }),
        images,
        volumes_root: run.volumes,
        env: Default::default(),
        services: None,
        router: None,
    };
    let tokens = TaskTokens::default();
    let interpreter = Interpreter::new(local_integrations(&setup, &tokens), tokens, "local");
    let name = run
        .name
        .unwrap_or_else(|| uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, input.to_string().as_bytes()).to_string());
    let execution = interpreter
        .execute(
            &definition,
            StartExecution {
                name,
                input,
                state_machine_arn: "arn:aws:states:local:000000000000:stateMachine:local".into(),
                role_arn: String::new(),
                observer: None,
                keep_history: true,
            },
        )
        .await;
    if let Some(path) = &run.history {
        std::fs::write(path, serde_json::to_vec_pretty(&execution.history)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    match (execution.status, execution.output, execution.failure) {
        (Status::Succeeded, Some(output), _) => {
            println!("{output}");
            Ok(ExitCode::SUCCESS)
        }
        (_, _, failure) => {
            let failure = failure.unwrap_or_else(|| eventdriven_states::Failure::runtime("no failure recorded"));
            println!("{}", json!({ "error": failure.error, "cause": failure.cause }));
            Ok(ExitCode::FAILURE)
        }
    }
}

fn read_json(path: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))
}
