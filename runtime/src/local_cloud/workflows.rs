//! Workflows deployed at the endpoint, as `local-cloud` routes their events: the rules this
//! project deployed (read from the emulator's EventBridge, on every bus, with their targets'
//! input path or transformer) and the state machines they start (their deployed definitions, run
//! through the interpreter here).

use std::sync::OnceLock;

use async_trait::async_trait;
use eventdriven_core::spec::PREFIX;
use eventdriven_states::{Failure, Interpreter, StartExecution};
use serde_json::Value;

use crate::local::events::{DeployedRule, MachineStarter, RuleSource, RuleTarget};
use crate::local::input_transformer::InputTransformer;

fn failure(what: &str, error: impl std::fmt::Display) -> Failure {
    Failure::runtime(format!("{what}: {error}"))
}

/// The rules of this project's resources, on every bus of the emulator.
pub struct EmulatorRules {
    pub events: aws_sdk_eventbridge::Client,
}

#[async_trait]
impl RuleSource for EmulatorRules {
    async fn rules(&self) -> Result<Vec<DeployedRule>, Failure> {
        rules_named(&self.events, PREFIX).await
    }
}

/// The rules whose names start with `name_prefix`, on every bus `events` reaches, with their
/// targets: the emulator's for `local-cloud`, and an account's as well (`eventdriven ui` reads a
/// workflow's listeners this way).
pub async fn rules_named(
    events: &aws_sdk_eventbridge::Client,
    name_prefix: &str,
) -> Result<Vec<DeployedRule>, Failure> {
    let buses = events.list_event_buses().send().await.map_err(|e| {
        failure(
            "listing event buses",
            aws_sdk_eventbridge::error::DisplayErrorContext(e),
        )
    })?;
    let mut found = Vec::new();
    for bus in buses.event_buses().iter().filter_map(|b| b.name()) {
        let rules = events
            .list_rules()
            .event_bus_name(bus)
            .name_prefix(name_prefix)
            .send()
            .await
            .map_err(|e| failure("listing rules", aws_sdk_eventbridge::error::DisplayErrorContext(e)))?;
        for rule in rules.rules() {
            let (Some(name), Some(pattern)) = (rule.name(), rule.event_pattern()) else {
                continue;
            };
            let Ok(pattern) = serde_json::from_str::<Value>(pattern) else {
                continue;
            };
            let targets = events
                .list_targets_by_rule()
                .event_bus_name(bus)
                .rule(name)
                .send()
                .await
                .map_err(|e| failure("listing targets", aws_sdk_eventbridge::error::DisplayErrorContext(e)))?;
            let targets = targets
                .targets()
                .iter()
                .filter_map(|t| {
                    let target = RuleTarget::from_arn(t.arn(), t.input_path().map(str::to_owned))?;
                    Some(target.transformed(t.input_transformer().map(input_transformer)))
                })
                .collect();
            found.push(DeployedRule {
                name: name.to_owned(),
                bus: bus.to_owned(),
                pattern,
                targets,
            });
        }
    }
    Ok(found)
}

fn input_transformer(transformer: &aws_sdk_eventbridge::types::InputTransformer) -> InputTransformer {
    InputTransformer {
        paths: transformer
            .input_paths_map()
            .map(|paths| paths.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default(),
        template: transformer.input_template().to_owned(),
    }
}

/// Runs executions of the machines rules start here, with their deployed definitions. The
/// main machine's runs start on the emulator (a user's start event) and are taken over by the
/// watch loop; what is started here are the finisher's short express runs.
pub struct EmulatorMachines {
    pub sfn: aws_sdk_sfn::Client,
    /// Set once the integrations (which hold the router that holds this) exist.
    pub interpreter: OnceLock<Interpreter>,
}

#[async_trait]
impl MachineStarter for EmulatorMachines {
    async fn start(&self, state_machine_arn: &str, input: Value) -> Result<(), Failure> {
        let machine = self
            .sfn
            .describe_state_machine()
            .state_machine_arn(state_machine_arn)
            .send()
            .await
            .map_err(|e| failure(state_machine_arn, aws_sdk_sfn::error::DisplayErrorContext(e)))?;
        let definition: Value =
            serde_json::from_str(machine.definition()).map_err(|e| failure("the deployed definition", e))?;
        let interpreter = self
            .interpreter
            .get()
            .ok_or_else(|| Failure::runtime("local-cloud is still starting"))?
            .clone();
        let start = StartExecution {
            name: format!("{:032x}", fastrand::u128(..)),
            input,
            state_machine_arn: state_machine_arn.to_owned(),
            role_arn: machine.role_arn().to_owned(),
            observer: None,
            keep_history: false,
        };
        let execution = interpreter.execute(&definition, start).await;
        if let Some(failure) = execution.failure {
            eprintln!(
                "local-cloud: {} failed: {}: {}",
                machine.name(),
                failure.error,
                failure.cause
            );
        }
        Ok(())
    }
}
