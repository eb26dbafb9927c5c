//! Where the pages' runs come from: `local-cloud`'s records (its executions, their histories,
//! the run directories' chunks) when there are any, else Step Functions (ListExecutions,
//! GetExecutionHistory, DescribeMapRun). A workflow run's trail is read from its log group
//! either way, and its listeners from its rules (ListRules and ListTargetsByRule, as
//! `local-cloud` reads them), at the emulator for the runs `local-cloud` ran.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use aws_sdk_sfn::error::DisplayErrorContext;
use aws_sdk_sfn::types::HistoryEvent;
use eventdriven_core::spec::PREFIX;
use eventdriven_states::Event;
use serde_json::{Value, json};

use super::model::{ChunkProgress, MapItems, RunInfo, RunKind, RunView, state_of};
use super::timeline::Listener;
use crate::local::events::{DeployedRule, RuleTarget};
use crate::local_cloud::report::trail_facts;
use crate::local_cloud::store::{ExecutionRecord, Store};
use crate::process::ChunkStats;
use crate::split::Manifest;
use crate::steps::RunSummary;
use crate::trail::{self, RunFacts, TrailEntry};
use crate::workdir::{RunDir, read_json};

/// How many runs the runs page lists, newest first.
const RECENT_RUNS: usize = 50;
/// How many runs of each state machine are read from Step Functions.
const RUNS_PER_MACHINE: i32 = 10;

pub enum Source {
    /// `local-cloud`'s state directory; `config` reaches the emulator, for trails.
    Local {
        state_dir: PathBuf,
        config: aws_config::SdkConfig,
    },
    Aws {
        config: aws_config::SdkConfig,
    },
    /// A state directory without records yet: Step Functions until `local-cloud` records a
    /// run there, its records from then on (the page is often opened before the first upload).
    Either {
        state_dir: PathBuf,
        config: aws_config::SdkConfig,
    },
}

/// Where a source reads at one moment.
enum Reading {
    Local {
        state_dir: PathBuf,
        config: aws_config::SdkConfig,
    },
    Aws {
        config: aws_config::SdkConfig,
    },
}

/// A run as the run page shows it.
pub struct RunPage {
    pub view: RunView,
    /// A workflow run's trail; `Err` says why it could not be read.
    pub trail: Option<Result<Vec<TrailEntry>, String>>,
    /// A workflow's listeners as deployed now (none for a pipeline); `Err` says why they
    /// could not be read.
    pub listeners: Result<Vec<Listener>, String>,
}

impl Source {
    /// The records in `state_dir` when it holds any, else the account `config` reaches; with a
    /// state directory, the records as soon as `local-cloud` writes the first.
    pub fn choose(state_dir: Option<&Path>, config: aws_config::SdkConfig) -> Result<Self> {
        let Some(state_dir) = state_dir else {
            return Ok(Source::Aws { config });
        };
        let state_dir = state_dir.to_owned();
        Ok(match Store::new(&state_dir).all()?.is_empty() {
            true => Source::Either { state_dir, config },
            false => Source::Local { state_dir, config },
        })
    }

    /// What to read now: an `Either` is `Local` once its directory holds a record.
    fn now(&self) -> Result<Reading> {
        Ok(match self {
            Source::Local { state_dir, config } => Reading::Local {
                state_dir: state_dir.clone(),
                config: config.clone(),
            },
            Source::Aws { config } => Reading::Aws { config: config.clone() },
            Source::Either { state_dir, config } => match Store::new(state_dir).all()?.is_empty() {
                true => Reading::Aws { config: config.clone() },
                false => Reading::Local {
                    state_dir: state_dir.clone(),
                    config: config.clone(),
                },
            },
        })
    }

    /// Says where the runs come from, for the pages' header.
    pub fn describe(&self) -> String {
        match self.now() {
            Ok(Reading::Local { state_dir, .. }) => format!("local-cloud records in {}", state_dir.display()),
            Ok(Reading::Aws { config }) => match config.endpoint_url() {
                Some(endpoint) => format!("Step Functions at {endpoint}"),
                None => "Step Functions".to_owned(),
            },
            Err(e) => format!("{e:#}"),
        }
    }

    /// The recent runs, newest first.
    pub async fn runs(&self, now: &str) -> Result<Vec<RunView>> {
        match &self.now()? {
            Reading::Local { state_dir, .. } => {
                let store = Store::new(state_dir);
                let mut records = store.all()?;
                records.reverse();
                records.truncate(RECENT_RUNS);
                records
                    .into_iter()
                    .map(|record| local_view(state_dir, &store, record, now))
                    .collect()
            }
            Reading::Aws { config } => {
                let sfn = aws_sdk_sfn::Client::new(config);
                let mut views = Vec::new();
                for (machine_arn, definition) in machines(&sfn).await? {
                    let listed = sfn
                        .list_executions()
                        .state_machine_arn(&machine_arn)
                        .max_results(RUNS_PER_MACHINE)
                        .send()
                        .await
                        .map_err(|e| {
                            anyhow::anyhow!("listing the runs of {machine_arn}: {}", DisplayErrorContext(e))
                        })?;
                    for execution in listed.executions() {
                        let (view, _) = aws_view(&sfn, execution.execution_arn(), &definition, now).await?;
                        views.push(view);
                    }
                }
                views.sort_by(|a, b| b.info.start_date.cmp(&a.info.start_date));
                views.truncate(RECENT_RUNS);
                Ok(views)
            }
        }
    }

    /// The run `key` names (`<state machine>--<execution name>`), with its trail if it is a
    /// workflow's; `None` when there is no such run.
    pub async fn run(&self, key: &str, now: &str) -> Result<Option<RunPage>> {
        match &self.now()? {
            Reading::Local { state_dir, config } => {
                let store = Store::new(state_dir);
                let Some(record) = store.all()?.into_iter().find(|r| r.key() == key) else {
                    return Ok(None);
                };
                let view = local_view(state_dir, &store, record.clone(), now)?;
                let (trail, listeners) = match view.info.kind() {
                    RunKind::Workflow => {
                        let sfn = aws_sdk_sfn::Client::new(config);
                        let described = trail::describe(&sfn, &record.execution_arn).await.ok();
                        let trail = read_trail(config, &trail_facts(&record, described)).await;
                        (Some(trail), read_listeners(config, &view.info.machine).await)
                    }
                    RunKind::Batch => (None, Ok(Vec::new())),
                };
                Ok(Some(RunPage { view, trail, listeners }))
            }
            Reading::Aws { config } => {
                let sfn = aws_sdk_sfn::Client::new(config);
                let Some((machine, name)) = key.split_once("--") else {
                    return Ok(None);
                };
                let Some((machine_arn, definition)) = machines(&sfn)
                    .await?
                    .into_iter()
                    .find(|(arn, _)| arn.rsplit(':').next() == Some(machine))
                else {
                    return Ok(None);
                };
                let execution_arn = format!("{}:{name}", machine_arn.replacen(":stateMachine:", ":execution:", 1));
                let (view, facts) = aws_view(&sfn, &execution_arn, &definition, now).await?;
                let (trail, listeners) = match view.info.kind() {
                    RunKind::Workflow => (
                        Some(read_trail(config, &facts).await),
                        read_listeners(config, &view.info.machine).await,
                    ),
                    RunKind::Batch => (None, Ok(Vec::new())),
                };
                Ok(Some(RunPage { view, trail, listeners }))
            }
        }
    }
}

/// The run's trail from its workflow's log group.
async fn read_trail(config: &aws_config::SdkConfig, facts: &RunFacts) -> Result<Vec<TrailEntry>, String> {
    let log_group = trail::log_group_of_execution(&facts.execution_arn)
        .ok_or_else(|| format!("{} is not an execution ARN", facts.execution_arn))?;
    let logs = aws_sdk_cloudwatchlogs::Client::new(config);
    let events = trail::read_run(&logs, &log_group, facts)
        .await
        .map_err(|e| format!("{e:#}"))?;
    Ok(trail::run_trail(&events, facts))
}

/// The listeners of the workflow whose state machine is named `machine`, from its rules.
pub async fn read_listeners(config: &aws_config::SdkConfig, machine: &str) -> Result<Vec<Listener>, String> {
    let events = aws_sdk_eventbridge::Client::new(config);
    let rules = crate::local_cloud::workflows::rules_named(&events, &listener_rule_prefix(machine))
        .await
        .map_err(|e| format!("{}: {}", e.error, e.cause))?;
    Ok(listeners_of(machine, &rules))
}

/// The longest a rule's name may be, and how much of a longer one is kept before its hash
/// (`eventdriven_core::naming::fit`: the head, a dash, eight hex digits).
const MAX_RULE_LEN: usize = 64;
const RULE_HEAD_LEN: usize = MAX_RULE_LEN - 9;

/// What every listener rule of the workflow whose state machine is `machine` begins with:
/// its name is `<machine>-on-<listener>` (`WorkflowNames::listener_rule_of`), or its head once
/// shortened to fit.
fn listener_rule_prefix(machine: &str) -> String {
    let stem: String = format!("{machine}-on-").chars().take(RULE_HEAD_LEN).collect();
    stem.trim_end_matches('-').to_owned()
}

/// Whether the rule `name` is a listener rule of the workflow whose state machine is `machine`:
/// `<machine>-on-…`, or a shortened name (ending in a dash and eight hex digits) with its head.
fn is_listener_rule(machine: &str, name: &str) -> bool {
    let shortened = name
        .rsplit_once('-')
        .is_some_and(|(_, hash)| hash.len() == 8 && hash.chars().all(|c| c.is_ascii_hexdigit()));
    name.starts_with(&format!("{machine}-on-"))
        || (shortened && name.chars().count() <= MAX_RULE_LEN && name.starts_with(&listener_rule_prefix(machine)))
}

/// The listeners of the workflow whose state machine is `machine`, among deployed rules: each
/// of its listener rules that invokes a function, with the detail types its pattern matches.
pub fn listeners_of(machine: &str, rules: &[DeployedRule]) -> Vec<Listener> {
    let mut listeners = Vec::new();
    for rule in rules.iter().filter(|r| is_listener_rule(machine, &r.name)) {
        let detail_types: Vec<String> = rule.pattern["detail-type"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| t.as_str().map(str::to_owned))
            .collect();
        for target in &rule.targets {
            let target = match target {
                RuleTarget::Transformed { target, .. } => target.as_ref(),
                target => target,
            };
            if let RuleTarget::Function { arn } = target {
                listeners.push(Listener {
                    // As `WorkflowNames::function` names it from an ARN.
                    function: arn.rsplit(':').next().unwrap_or(arn).to_owned(),
                    detail_types: detail_types.clone(),
                });
            }
        }
    }
    listeners
}

fn local_view(state_dir: &Path, store: &Store, record: ExecutionRecord, now: &str) -> Result<RunView> {
    let history = store.history(&record)?;
    let progress = crate::local_cloud::run_dir(state_dir, &record.name).and_then(|dir| run_dir_progress(&dir));
    let info = RunInfo {
        key: record.key(),
        machine: record
            .state_machine_arn
            .rsplit(':')
            .next()
            .unwrap_or_default()
            .to_owned(),
        name: record.name,
        execution_arn: record.execution_arn,
        status: record.status.name().to_owned(),
        start_date: record.start_date,
        stop_date: record.stop_date,
        error: record.error,
        cause: record.cause,
        definition: record.definition,
    };
    Ok(RunView::new(info, &history, progress, now))
}

/// A batch run's chunks and rows, as its work directory tells them: the merged summary once
/// merged, else the manifest and the chunks' done markers.
pub fn run_dir_progress(dir: &RunDir) -> Option<ChunkProgress> {
    if let Ok(Some(summary)) = read_json::<RunSummary>(&dir.merged()) {
        return Some(ChunkProgress {
            chunks_done: summary.chunks,
            chunks_total: summary.chunks,
            rows_in: Some(summary.rows_in),
            rows_out: Some(summary.rows_out),
            rejected: Some(summary.rejected),
        });
    }
    let manifest = read_json::<Manifest>(&dir.manifest()).ok()??;
    let (mut done, mut out, mut rejected) = (0, 0, manifest.rejected);
    for chunk in manifest.chunk_refs() {
        if let Ok(Some(stats)) = read_json::<ChunkStats>(&dir.done(chunk)) {
            done += 1;
            out += stats.accepted;
            rejected += stats.rejected;
        }
    }
    Some(ChunkProgress {
        chunks_done: done,
        chunks_total: manifest.chunks.len() as u64,
        rows_in: Some(manifest.rows + manifest.rejected),
        rows_out: Some(out),
        rejected: Some(rejected),
    })
}

/// The state machines this project deployed, with their definitions.
async fn machines(sfn: &aws_sdk_sfn::Client) -> Result<Vec<(String, Value)>> {
    let mut found = Vec::new();
    let mut pages = sfn.list_state_machines().into_paginator().items().send();
    while let Some(machine) = pages.next().await {
        let machine = machine.map_err(|e| anyhow::anyhow!("listing state machines: {}", DisplayErrorContext(e)))?;
        if !machine.name().starts_with(PREFIX) {
            continue;
        }
        let described = sfn
            .describe_state_machine()
            .state_machine_arn(machine.state_machine_arn())
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("describing {}: {}", machine.name(), DisplayErrorContext(e)))?;
        let definition = serde_json::from_str(described.definition())
            .with_context(|| format!("the definition of {} is not JSON", machine.name()))?;
        found.push((machine.state_machine_arn().to_owned(), definition));
    }
    Ok(found)
}

/// An execution read from Step Functions, and the facts its trail needs.
async fn aws_view(
    sfn: &aws_sdk_sfn::Client,
    execution_arn: &str,
    definition: &Value,
    now: &str,
) -> Result<(RunView, RunFacts)> {
    let facts = trail::describe(sfn, execution_arn).await?;
    let mut history = Vec::new();
    let mut pages = sfn
        .get_execution_history()
        .execution_arn(execution_arn)
        .into_paginator()
        .items()
        .send();
    while let Some(event) = pages.next().await {
        let event =
            event.map_err(|e| anyhow::anyhow!("reading the history of {execution_arn}: {}", DisplayErrorContext(e)))?;
        history.push(history_event(&event));
    }
    let mut parts = execution_arn.rsplit(':');
    let name = parts.next().unwrap_or_default().to_owned();
    let machine = parts.next().unwrap_or_default().to_owned();
    let info = RunInfo {
        key: format!("{machine}--{name}"),
        name,
        machine,
        execution_arn: execution_arn.to_owned(),
        status: facts.status.clone(),
        start_date: facts.start_date.clone(),
        stop_date: facts.stop_date.clone(),
        error: facts.error.clone(),
        cause: facts.cause.clone(),
        definition: definition.clone(),
    };
    let mut view = RunView::new(info, &history, None, now);
    for map in distributed_maps(sfn, &history).await {
        match view.maps.iter_mut().find(|m| m.state == map.state) {
            Some(known) => *known = map,
            None => view.maps.push(map),
        }
    }
    Ok((view, facts))
}

/// The items of each Distributed Map the history started, as DescribeMapRun counts them.
async fn distributed_maps(sfn: &aws_sdk_sfn::Client, history: &[Event]) -> Vec<MapItems> {
    let by_id: HashMap<u64, &Event> = history.iter().map(|e| (e.id, e)).collect();
    let mut maps = Vec::new();
    for event in history.iter().filter(|e| e.kind == "MapRunStarted") {
        let (Some(state), Some(arn)) = (state_of(event, &by_id), event.details()["mapRunArn"].as_str()) else {
            continue;
        };
        let Ok(described) = sfn.describe_map_run().map_run_arn(arn).send().await else {
            continue;
        };
        if let Some(counts) = described.item_counts() {
            maps.push(MapItems {
                state,
                total: Some(counts.total() as u64),
                done: counts.succeeded() as u64,
                running: counts.running() as u64,
                failed: (counts.failed() + counts.timed_out() + counts.aborted()) as u64,
                slowest: Vec::new(),
            });
        }
    }
    maps
}

/// A Step Functions history event in the interpreter's shape, with the details the pages read.
fn history_event(event: &HistoryEvent) -> Event {
    let failure = |error: Option<&str>, cause: Option<&str>| json!({ "error": error, "cause": cause });
    let details = if let Some(d) = event.state_entered_event_details() {
        json!({ "name": d.name(), "input": d.input() })
    } else if let Some(d) = event.state_exited_event_details() {
        json!({ "name": d.name(), "output": d.output() })
    } else if let Some(d) = event.task_failed_event_details() {
        failure(d.error(), d.cause())
    } else if let Some(d) = event.task_timed_out_event_details() {
        failure(d.error(), d.cause())
    } else if let Some(d) = event.lambda_function_failed_event_details() {
        failure(d.error(), d.cause())
    } else if let Some(d) = event.execution_failed_event_details() {
        failure(d.error(), d.cause())
    } else if let Some(d) = event.map_state_started_event_details() {
        json!({ "length": d.length() })
    } else if let Some(d) = event
        .map_iteration_started_event_details()
        .or(event.map_iteration_succeeded_event_details())
        .or(event.map_iteration_failed_event_details())
    {
        json!({ "name": d.name(), "index": d.index() })
    } else if let Some(d) = event.map_run_started_event_details() {
        json!({ "mapRunArn": d.map_run_arn() })
    } else {
        Value::Null
    };
    let timestamp = event
        .timestamp()
        .to_millis()
        .ok()
        .and_then(chrono::DateTime::from_timestamp_millis)
        .map(|at| at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default();
    let mut fields = serde_json::Map::new();
    if !details.is_null() {
        fields.insert("details".to_owned(), details);
    }
    Event {
        timestamp,
        kind: event.r#type().as_str().to_owned(),
        id: event.id() as u64,
        previous_event_id: event.previous_event_id() as u64,
        details: fields,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use eventdriven_core::cluster::AwsContext;
    use eventdriven_core::workflow::fixtures;
    use eventdriven_core::workflow::naming::{WorkflowNames, WorkflowRule};
    use eventdriven_core::workflow::rules::{listener_pattern, start_pattern};
    use eventdriven_core::workflow::spec::WorkflowSpec;

    fn aws() -> AwsContext {
        AwsContext {
            account_id: "123456789012".into(),
            region: "us-east-1".into(),
            partition: "aws".into(),
        }
    }

    /// The rules `spec` deploys that matter here: its start rule (to its machine) and one per
    /// listener (to its function, a side effect's through an input transformer).
    fn deployed(spec: &WorkflowSpec) -> Vec<DeployedRule> {
        let aws = aws();
        let names = WorkflowNames::new(spec, &aws);
        let start = DeployedRule {
            name: names.rule(WorkflowRule::Start),
            bus: "default".into(),
            pattern: start_pattern(spec),
            targets: vec![RuleTarget::StateMachine {
                arn: names.state_machine_arn(),
                input_path: None,
            }],
        };
        let listeners = spec.listeners.iter().map(|listener| {
            let function = RuleTarget::Function {
                arn: names.function_arn(listener),
            };
            let target = match listener.side_effect {
                true => RuleTarget::Transformed {
                    transformer: crate::local::input_transformer::InputTransformer {
                        paths: Default::default(),
                        template: "{}".into(),
                    },
                    target: Box::new(function),
                },
                false => function,
            };
            DeployedRule {
                name: names.listener_rule(listener),
                bus: "default".into(),
                pattern: listener_pattern(spec, listener),
                targets: vec![target],
            }
        });
        std::iter::once(start).chain(listeners).collect()
    }

    fn expected(spec: &WorkflowSpec) -> Vec<Listener> {
        let aws = aws();
        let names = WorkflowNames::new(spec, &aws);
        spec.listeners
            .iter()
            .map(|listener| Listener {
                function: names.function(listener),
                detail_types: listener.detail_types.clone(),
            })
            .collect()
    }

    #[test]
    fn a_workflows_listeners_are_its_listener_rules_to_functions_and_no_other_workflows() {
        let mut spec = fixtures::cookies();
        spec.listeners[4].side_effect = true;
        // Another workflow whose name begins with this one's.
        let mut other = spec.clone();
        other.name = format!("{}-2", spec.name);
        let mut rules = deployed(&spec);
        rules.extend(deployed(&other));
        let aws = aws();
        let machine = WorkflowNames::new(&spec, &aws).state_machine();
        let listeners = listeners_of(&machine, &rules);
        assert_eq!(listeners, expected(&spec));
        assert_eq!(listeners.len(), 5);
        assert!(
            listeners
                .iter()
                .any(|l| l.function.ends_with("-side-effect") && l.detail_types == ["process.single.post"]),
            "{listeners:?}"
        );
        let own = deployed(&spec);
        assert!(!is_listener_rule(&machine, &own[0].name), "the start rule");
        for rule in &own[1..] {
            assert!(rule.name.starts_with(&listener_rule_prefix(&machine)), "{}", rule.name);
        }
    }

    #[test]
    fn listener_rules_shortened_to_fit_are_found_by_their_head() {
        let mut spec = fixtures::cookies();
        spec.name = "a-workflow-whose-name-is-long-enough-to-be-cut-x".into();
        for listener in &mut spec.listeners {
            listener.name = format!("{}-with-a-long-name", listener.name);
        }
        let rules = deployed(&spec);
        let aws = aws();
        let machine = WorkflowNames::new(&spec, &aws).state_machine();
        let shortened = rules[1..]
            .iter()
            .filter(|r| !r.name.ends_with("-with-a-long-name"))
            .count();
        assert_eq!(shortened, 5, "every listener rule's name is shortened");
        assert!(
            !listener_rule_prefix(&machine).ends_with("-on"),
            "the prefix is cut short too"
        );
        let prefix = listener_rule_prefix(&machine);
        for rule in rules.iter().skip(1) {
            assert!(rule.name.starts_with(&prefix), "{} lists with {prefix}", rule.name);
        }
        assert_eq!(listeners_of(&machine, &rules), expected(&spec));
    }
}
