//! `eventdriven local-cloud`: the data plane of pipelines and workflows deployed to a local AWS
//! emulator.
//!
//! It watches the state machines this project deployed at the endpoint. Each execution that
//! starts there is stopped on the emulator (which cannot run Jobs) and run here instead, with
//! the same name, input and deployed definition, through the interpreter and the local
//! integrations: Jobs and the Lambda as processes against the emulator, EFS as a directory,
//! ElastiCache as a local `redis-server`. Records on disk make a restart resume what was running.
//!
//! Events a run or a process puts go to the emulator's bus (which records them and writes the
//! trail) and are matched here against the deployed rules (`workflows`): listener functions
//! (images, or zip packages under their runtime's interface client, `functions`) run as
//! processes invoked asynchronously, their destinations' records routed here too; the finisher
//! runs through the interpreter, answering the waiting task's token.

pub mod function_code;
pub mod functions;
pub mod redis_server;
pub mod report;
pub mod store;
pub mod workflows;

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anyhow::{Context, Result};
use aws_sdk_sfn::types::{ExecutionStatus, StateMachineType};
use eventdriven_core::spec::PREFIX;
use eventdriven_states::{Event, Interpreter, StartExecution, Status, TaskTokens};
use serde_json::Value;

use crate::local::event_relay;
use crate::local::events::EventRouter;
use crate::local::images::ImageMap;
use crate::local::lambda_process::{FunctionSource, LocalLambda};
use crate::local::process::ProcessEnv;
use crate::local::zip_runtimes::ZipRuntimes;
use crate::local::{LocalSetup, Services, local_integrations};
use crate::workdir::RunDir;
use function_code::CodeCache;
use functions::DeployedFunctions;
use redis_server::RedisServer;
use store::{ExecutionRecord, RecordStatus, Store};
use workflows::{EmulatorMachines, EmulatorRules};

/// The account events name when `AWS_ACCOUNT_ID` does not say (fakecloud's default).
const EMULATOR_ACCOUNT: &str = "123456789012";

/// Where `local-cloud` keeps its records and volumes for an endpoint, unless told otherwise.
pub fn default_state_dir(endpoint: &str) -> PathBuf {
    let host: String = endpoint
        .trim_start_matches("http://")
        .trim_start_matches("https://")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    PathBuf::from(".eventdriven/local-cloud").join(host)
}

pub struct LocalCloud {
    pub endpoint: String,
    pub state_dir: PathBuf,
    pub images: Vec<String>,
    pub poll_interval: Duration,
    pub retry_scale: f64,
}

/// What every execution shares.
struct Plane {
    sfn: aws_sdk_sfn::Client,
    secrets: aws_sdk_secretsmanager::Client,
    store: Store,
    redis: RedisServer,
    setup: LocalSetup,
    tokens: TaskTokens,
    region: String,
    retry_scale: f64,
}

/// Runs until interrupted.
pub async fn serve(options: LocalCloud) -> Result<()> {
    std::fs::create_dir_all(&options.state_dir).with_context(|| format!("creating {}", options.state_dir.display()))?;
    let _lock = lock_state_dir(&options.state_dir)?;
    let config = sdk_config(&options.endpoint).await;
    let region = config.region().map_or("us-east-1".to_owned(), |r| r.to_string());
    let images = ImageMap::new(std::env::current_exe()?, &options.images).map_err(anyhow::Error::msg)?;
    let redis = RedisServer::start(&options.state_dir).await?;
    let (relay, relay_address) = event_relay::bind().await?;
    let events = aws_sdk_eventbridge::Client::new(&config);
    let sfn = aws_sdk_sfn::Client::new(&config);
    let functions: Arc<dyn FunctionSource> = Arc::new(DeployedFunctions {
        lambda: aws_sdk_lambda::Client::new(&config),
        images: images.clone(),
        runtimes: ZipRuntimes::from_env(),
        // Absolute: a function runs in its code's directory, which its environment names.
        code: CodeCache::new(std::path::absolute(options.state_dir.join("function-code"))?),
    });
    // Every process's events go through the relay, so they reach the rules deployed here.
    let env = ProcessEnv {
        extra: emulator_env(&options.endpoint, &region),
        overrides: redis
            .env()
            .into_iter()
            .chain([(event_relay::ENDPOINT_ENV.to_owned(), format!("http://{relay_address}"))])
            .collect(),
    };
    let machines = Arc::new(EmulatorMachines {
        sfn: sfn.clone(),
        interpreter: OnceLock::new(),
    });
    let router = Arc::new(EventRouter {
        rules: Arc::new(EmulatorRules { events: events.clone() }),
        functions: LocalLambda {
            functions: functions.clone(),
            env: env.clone(),
        },
        machines: machines.clone(),
        account: std::env::var("AWS_ACCOUNT_ID").unwrap_or_else(|_| EMULATOR_ACCOUNT.to_owned()),
        region: region.clone(),
        trail: None,
    });
    let _relay = event_relay::serve(relay, router.clone(), Some(events.clone()));
    let plane = Arc::new(Plane {
        sfn,
        secrets: aws_sdk_secretsmanager::Client::new(&config),
        store: Store::new(&options.state_dir),
        setup: LocalSetup {
            functions,
            images,
            volumes_root: options.state_dir.join("volumes"),
            env,
            services: Some(Services {
                events,
                s3: aws_sdk_s3::Client::from_conf(
                    aws_sdk_s3::config::Builder::from(&config)
                        .force_path_style(true)
                        .build(),
                ),
            }),
            router: Some(router),
        },
        redis,
        tokens: TaskTokens::default(),
        region,
        retry_scale: options.retry_scale,
    });
    let finisher_runs = Interpreter::new(
        local_integrations(&plane.setup, &plane.tokens),
        plane.tokens.clone(),
        plane.region.clone(),
    );
    machines.interpreter.set(finisher_runs).ok();
    eprintln!(
        "local-cloud: watching {} (state in {}, Redis at {}, CA {})",
        options.endpoint,
        options.state_dir.display(),
        plane.redis.url(),
        plane.redis.ca_file().display()
    );

    let mut interrupt = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut taken: HashSet<String> = HashSet::new();
    for record in plane.store.all()? {
        taken.insert(record.execution_arn.clone());
        if record.status == RecordStatus::Running {
            eprintln!("local-cloud: resuming {}", record.name);
            // A crash may have come between recording the execution and stopping the emulator's copy.
            stop_emulator_copy(&plane, &record.execution_arn).await.ok();
            tokio::spawn(run_execution(plane.clone(), record));
        }
    }
    loop {
        tokio::select! {
            _ = interrupt.recv() => return Ok(()),
            _ = terminate.recv() => return Ok(()),
            () = take_new_executions(&plane, &mut taken) => {}
        }
        tokio::select! {
            _ = interrupt.recv() => return Ok(()),
            _ = terminate.recv() => return Ok(()),
            () = tokio::time::sleep(options.poll_interval) => {}
        }
    }
}

/// One `local-cloud` per state directory: a second would run the same executions again.
fn lock_state_dir(state_dir: &Path) -> Result<std::fs::File> {
    let path = state_dir.join("lock");
    let file = std::fs::File::create(&path).with_context(|| format!("creating {}", path.display()))?;
    file.try_lock().map_err(|_| {
        anyhow::anyhow!(
            "another local-cloud is running with the state directory {}",
            state_dir.display()
        )
    })?;
    Ok(file)
}

/// Takes over every execution running on the emulator that is not already ours. Errors are
/// reported per state machine and execution, and the next poll tries again.
async fn take_new_executions(plane: &Arc<Plane>, taken: &mut HashSet<String>) {
    let mut machines = plane.sfn.list_state_machines().into_paginator().items().send();
    while let Some(machine) = machines.next().await {
        let machine = match machine {
            Ok(machine) => machine,
            Err(e) => {
                eprintln!(
                    "local-cloud: listing state machines: {}",
                    aws_sdk_sfn::error::DisplayErrorContext(e)
                );
                return;
            }
        };
        // Express machines (a workflow's finisher) are started here by the router, never
        // taken over: the emulator's copies are its own deliveries of the same events.
        if !machine.name().starts_with(PREFIX) || machine.r#type() == &StateMachineType::Express {
            continue;
        }
        let running = plane
            .sfn
            .list_executions()
            .state_machine_arn(machine.state_machine_arn())
            .status_filter(ExecutionStatus::Running)
            .send()
            .await;
        let running = match running {
            Ok(running) => running,
            Err(e) => {
                let e = aws_sdk_sfn::error::DisplayErrorContext(e);
                eprintln!("local-cloud: listing the executions of {}: {e}", machine.name());
                continue;
            }
        };
        for execution in running.executions() {
            if taken.contains(execution.execution_arn()) {
                continue;
            }
            match take_over(plane, machine.state_machine_arn(), execution.execution_arn()).await {
                Ok(record) => {
                    taken.insert(record.execution_arn.clone());
                    eprintln!("local-cloud: {} started ({})", record.name, machine.name());
                    tokio::spawn(run_execution(plane.clone(), record));
                }
                Err(e) => eprintln!("local-cloud: taking over {}: {e:#}", execution.execution_arn()),
            }
        }
    }
}

/// Records an execution as ours, then stops the emulator's copy of it.
async fn take_over(plane: &Plane, state_machine_arn: &str, execution_arn: &str) -> Result<ExecutionRecord> {
    let described = plane
        .sfn
        .describe_execution()
        .execution_arn(execution_arn)
        .send()
        .await
        .with_context(|| format!("describing {execution_arn}"))?;
    let machine = plane
        .sfn
        .describe_state_machine()
        .state_machine_arn(state_machine_arn)
        .send()
        .await
        .with_context(|| format!("describing {state_machine_arn}"))?;
    let input = described
        .input()
        .map(serde_json::from_str)
        .transpose()?
        .unwrap_or(Value::Null);
    let record = ExecutionRecord {
        name: described.name().unwrap_or_default().to_owned(),
        execution_arn: execution_arn.to_owned(),
        state_machine_arn: state_machine_arn.to_owned(),
        role_arn: machine.role_arn().to_owned(),
        input,
        definition: serde_json::from_str(machine.definition()).context("the deployed definition is not JSON")?,
        status: RecordStatus::Running,
        start_date: eventdriven_states::clock::now_iso(),
        stop_date: None,
        output: None,
        error: None,
        cause: None,
        attempts: 0,
    };
    plane.store.save(&record)?;
    // Once recorded the execution is ours: a copy left running fails at its first Job anyway.
    if let Err(e) = stop_emulator_copy(plane, execution_arn).await {
        eprintln!("local-cloud: {e:#}");
    }
    Ok(record)
}

/// Stops the emulator's copy of an execution this machine runs.
async fn stop_emulator_copy(plane: &Plane, execution_arn: &str) -> Result<()> {
    plane
        .sfn
        .stop_execution()
        .execution_arn(execution_arn)
        .error("eventdriven.LocalCloud")
        .cause("this execution runs on the machine of eventdriven local-cloud")
        .send()
        .await
        .with_context(|| format!("stopping the emulator's copy of {execution_arn}"))?;
    Ok(())
}

/// Runs (or resumes) one execution to its end and records how it ended.
async fn run_execution(plane: Arc<Plane>, mut record: ExecutionRecord) {
    if let Err(e) = allow_secrets(&plane, &record.definition).await {
        eprintln!("local-cloud: {}: {e:#}", record.name);
    }
    record.attempts += 1;
    let saved = plane
        .store
        .save(&record)
        .and_then(|()| plane.store.reset_history(&record));
    if let Err(e) = saved {
        eprintln!("local-cloud: {}: {e:#}", record.name);
        return;
    }
    let (store, name, key) = (plane.store.clone(), record.name.clone(), record.key());
    let observer = Arc::new(move |event: &Event| {
        if let Some(line) = report::transition_line(event) {
            eprintln!("{name}: {line}");
        }
        if let Err(e) = store.append_event(&key, event) {
            eprintln!("local-cloud: {name}: {e:#}");
        }
    });
    let interpreter = Interpreter::new(
        local_integrations(&plane.setup, &plane.tokens),
        plane.tokens.clone(),
        plane.region.clone(),
    )
    .with_retry_scale(plane.retry_scale);
    let execution = interpreter
        .execute(
            &record.definition,
            StartExecution {
                name: record.name.clone(),
                input: record.input.clone(),
                state_machine_arn: record.state_machine_arn.clone(),
                role_arn: record.role_arn.clone(),
                observer: Some(observer),
                keep_history: false,
            },
        )
        .await;
    record.stop_date = Some(eventdriven_states::clock::now_iso());
    record.status = match execution.status {
        Status::Succeeded => RecordStatus::Succeeded,
        Status::Failed => RecordStatus::Failed,
        Status::TimedOut => RecordStatus::TimedOut,
    };
    record.output = execution.output;
    if let Some(failure) = execution.failure {
        record.error = Some(failure.error);
        record.cause = Some(failure.cause);
    }
    eprintln!("local-cloud: {} {:?}", record.name, record.status);
    if let Err(e) = plane.store.save(&record) {
        eprintln!("local-cloud: {}: {e:#}", record.name);
    }
}

/// Lets the Redis server accept the auth token of every secret the definition names; read for
/// each execution, so a rotated token is taken up.
async fn allow_secrets(plane: &Plane, definition: &Value) -> Result<()> {
    let mut arns = Vec::new();
    collect_secret_arns(definition, &mut arns);
    for arn in arns {
        let secret = plane
            .secrets
            .get_secret_value()
            .secret_id(&arn)
            .send()
            .await
            .with_context(|| format!("reading {arn}"))?;
        if let Some(token) = secret.secret_string() {
            plane.redis.allow_token(token).await?;
        }
    }
    Ok(())
}

fn collect_secret_arns(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::String(s) if s.starts_with("arn:") && s.contains(":secretsmanager:") && !found.contains(s) => {
            found.push(s.clone());
        }
        Value::Array(items) => items.iter().for_each(|v| collect_secret_arns(v, found)),
        Value::Object(fields) => fields.values().for_each(|v| collect_secret_arns(v, found)),
        _ => {}
    }
}

/// The environment that points a Job or function at the emulator.
fn emulator_env(endpoint: &str, region: &str) -> BTreeMap<String, String> {
    let from_env = |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.to_owned());
    BTreeMap::from([
        ("AWS_ENDPOINT_URL".to_owned(), endpoint.to_owned()),
        ("AWS_REGION".to_owned(), region.to_owned()),
        ("AWS_ACCESS_KEY_ID".to_owned(), from_env("AWS_ACCESS_KEY_ID", "test")),
        (
            "AWS_SECRET_ACCESS_KEY".to_owned(),
            from_env("AWS_SECRET_ACCESS_KEY", "test"),
        ),
        ("AWS_EC2_METADATA_DISABLED".to_owned(), "true".to_owned()),
    ])
}

/// SDK configuration for the emulator: its endpoint, and test credentials unless some are set.
pub async fn sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest()).endpoint_url(endpoint);
    if std::env::var_os("AWS_ACCESS_KEY_ID").is_none() {
        loader = loader.credentials_provider(aws_sdk_sfn::config::Credentials::new(
            "test", "test", None, None, "local",
        ));
    }
    if std::env::var_os("AWS_REGION").is_none() && std::env::var_os("AWS_DEFAULT_REGION").is_none() {
        loader = loader.region(aws_config::Region::new("us-east-1"));
    }
    loader.load().await
}

/// The work directory of an execution, if its split has run (or its merge, which removes the
/// manifest unless the chunks are kept): `<volumes>/<volume>/<run id>`.
pub fn run_dir(state_dir: &Path, name: &str) -> Option<RunDir> {
    let volumes = std::fs::read_dir(state_dir.join("volumes")).ok()?;
    volumes
        .filter_map(Result::ok)
        .filter_map(|volume| RunDir::new(&volume.path(), name).ok())
        .find(|dir| dir.manifest().exists() || dir.merged().exists())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_instance_on_the_same_state_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let held = lock_state_dir(dir.path()).unwrap();
        let err = lock_state_dir(dir.path()).unwrap_err().to_string();
        assert!(err.contains("another local-cloud"), "{err}");
        drop(held);
        assert!(lock_state_dir(dir.path()).is_ok());
    }

    #[test]
    fn secret_arns_are_found_anywhere_in_a_definition() {
        let arn = "arn:aws:secretsmanager:us-east-1:1:secret:eventdriven/orders/redis-auth-Ab3dE9";
        let definition = serde_json::json!({"States": {"S": {"Parameters": {"Job": {"env": [
            {"name": "REDIS_AUTH_SECRET_ARN", "value": arn}, {"name": "X", "value": "arn:aws:s3:::b"}
        ]}}}, "T": {"Parameters": {"again": arn}}}});
        let mut found = Vec::new();
        collect_secret_arns(&definition, &mut found);
        assert_eq!(found, [arn]);
    }
}
