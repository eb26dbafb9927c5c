//! The typed form of a definition: state machines, states and their fields.
//!
//! Parsing checks shapes only; names and transitions are checked by [`Machine::check`], so a
//! definition that would fail at creation on AWS fails before it runs here.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use crate::error::Failure;

/// A state machine: the definition itself, a Parallel branch or a Map's item processor.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Machine {
    pub start_at: String,
    pub states: BTreeMap<String, State>,
    #[serde(default)]
    pub timeout_seconds: Option<u64>,
    #[serde(default)]
    pub query_language: Option<String>,
    #[serde(default)]
    pub comment: Option<String>,
    #[serde(default)]
    pub processor_config: Option<ProcessorConfig>,
}

impl Machine {
    /// Parses and checks a definition.
    pub fn parse(definition: &Value) -> Result<Machine, Failure> {
        let machine: Machine = serde_json::from_value(definition.clone())
            .map_err(|e| Failure::runtime(format!("invalid definition: {e}")))?;
        machine.check("")?;
        Ok(machine)
    }

    pub fn state(&self, name: &str) -> Result<&State, Failure> {
        self.states
            .get(name)
            .ok_or_else(|| Failure::runtime(format!("the state {name:?} does not exist")))
    }

    fn check(&self, at: &str) -> Result<(), Failure> {
        if self.query_language.as_deref().is_some_and(|q| q != "JSONPath") {
            return Err(Failure::runtime(format!(
                "{at}QueryLanguage {:?} is not supported; only JSONPath is",
                self.query_language.as_deref().unwrap_or_default()
            )));
        }
        self.state(&self.start_at)
            .map_err(|_| Failure::runtime(format!("{at}StartAt {:?} is not a state", self.start_at)))?;
        for (name, state) in &self.states {
            let here = format!("{at}States.{name}");
            if let Some(target) = &state.common.next {
                self.state(target)
                    .map_err(|_| Failure::runtime(format!("{here}.Next: {target:?} is not a state")))?;
            }
            let terminal = matches!(state.kind, Kind::Succeed | Kind::Fail(_) | Kind::Choice(_));
            if !terminal && state.common.next.is_some() == state.common.end {
                return Err(Failure::runtime(format!(
                    "{here}: exactly one of Next and End must be set"
                )));
            }
            check_error_handlers(state, &here)?;
            let catch_targets = state.common.catch.iter().map(|c| c.next.as_str());
            for target in state.kind.targets().into_iter().chain(catch_targets) {
                self.state(target)
                    .map_err(|_| Failure::runtime(format!("{here}: the transition to {target:?} names no state")))?;
            }
            for (i, branch) in state.kind.machines().into_iter().enumerate() {
                branch.check(&format!("{here}[{i}]."))?;
            }
        }
        Ok(())
    }
}

/// A state: the fields every type may have, and its type's own.
#[derive(Clone, Debug, Deserialize)]
pub struct State {
    #[serde(flatten)]
    pub common: Common,
    #[serde(flatten)]
    pub kind: Kind,
}

/// Fields shared by state types; each type uses the ones the language gives it.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Common {
    #[serde(default)]
    pub next: Option<String>,
    #[serde(default)]
    pub end: bool,
    #[serde(default)]
    pub comment: Option<String>,
    /// `Some(Value::Null)` for an explicit `null`, which differs from an absent path.
    #[serde(default, deserialize_with = "explicit")]
    pub input_path: Option<Value>,
    #[serde(default, deserialize_with = "explicit")]
    pub output_path: Option<Value>,
    #[serde(default, deserialize_with = "explicit")]
    pub result_path: Option<Value>,
    #[serde(default)]
    pub parameters: Option<Value>,
    #[serde(default)]
    pub result_selector: Option<Value>,
    #[serde(default)]
    pub retry: Vec<Retrier>,
    #[serde(default)]
    pub catch: Vec<Catcher>,
}

/// Keeps an explicit JSON `null` as `Some(Null)`; serde would otherwise make it `None`.
fn explicit<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(deserializer).map(Some)
}

#[derive(Clone, Debug, Deserialize)]
#[serde(tag = "Type")]
pub enum Kind {
    Task(Box<Task>),
    Pass(Pass),
    Choice(Choice),
    Wait(Wait),
    Succeed,
    Fail(Fail),
    Parallel(Parallel),
    Map(Box<MapState>),
}

impl Kind {
    pub fn type_name(&self) -> &'static str {
        match self {
            Kind::Task(_) => "Task",
            Kind::Pass(_) => "Pass",
            Kind::Choice(_) => "Choice",
            Kind::Wait(_) => "Wait",
            Kind::Succeed => "Succeed",
            Kind::Fail(_) => "Fail",
            Kind::Parallel(_) => "Parallel",
            Kind::Map(_) => "Map",
        }
    }

    /// Transitions other than `Next`: a Choice's targets and every Catch's.
    fn targets(&self) -> Vec<&str> {
        match self {
            Kind::Choice(choice) => choice
                .choices
                .iter()
                .filter_map(|rule| rule.get("Next").and_then(Value::as_str))
                .chain(choice.default.as_deref())
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The nested state machines: Parallel branches and a Map's processor.
    fn machines(&self) -> Vec<&Machine> {
        match self {
            Kind::Parallel(parallel) => parallel.branches.iter().collect(),
            Kind::Map(map) => map.processor().into_iter().collect(),
            _ => Vec::new(),
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Task {
    pub resource: String,
    #[serde(default)]
    pub timeout_seconds: Option<u64>,
    #[serde(default)]
    pub timeout_seconds_path: Option<String>,
    #[serde(default)]
    pub heartbeat_seconds: Option<u64>,
    #[serde(default)]
    pub heartbeat_seconds_path: Option<String>,
    #[serde(default)]
    pub credentials: Option<Value>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Pass {
    #[serde(default)]
    pub result: Option<Value>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Choice {
    pub choices: Vec<Value>,
    #[serde(default)]
    pub default: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Wait {
    #[serde(default)]
    pub seconds: Option<u64>,
    #[serde(default)]
    pub timestamp: Option<String>,
    #[serde(default)]
    pub seconds_path: Option<String>,
    #[serde(default)]
    pub timestamp_path: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Fail {
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub cause: Option<String>,
    #[serde(default)]
    pub error_path: Option<String>,
    #[serde(default)]
    pub cause_path: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Parallel {
    pub branches: Vec<Machine>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MapState {
    #[serde(default)]
    pub item_processor: Option<Machine>,
    /// The older name of `ItemProcessor`.
    #[serde(default)]
    pub iterator: Option<Machine>,
    #[serde(default)]
    pub items_path: Option<String>,
    #[serde(default)]
    pub item_selector: Option<Value>,
    #[serde(default)]
    pub item_reader: Option<ItemReader>,
    #[serde(default)]
    pub item_batcher: Option<ItemBatcher>,
    #[serde(default)]
    pub result_writer: Option<ResultWriter>,
    #[serde(default)]
    pub max_concurrency: Option<u64>,
    #[serde(default)]
    pub max_concurrency_path: Option<String>,
    #[serde(default)]
    pub tolerated_failure_percentage: Option<f64>,
    #[serde(default)]
    pub tolerated_failure_percentage_path: Option<String>,
    #[serde(default)]
    pub tolerated_failure_count: Option<u64>,
    #[serde(default)]
    pub tolerated_failure_count_path: Option<String>,
    #[serde(default)]
    pub label: Option<String>,
}

impl MapState {
    pub fn processor(&self) -> Option<&Machine> {
        self.item_processor.as_ref().or(self.iterator.as_ref())
    }

    /// Distributed mode: iterations run as child executions, items may come from S3.
    pub fn is_distributed(&self) -> bool {
        self.processor()
            .and_then(|p| p.processor_config.as_ref())
            .is_some_and(|c| c.mode.as_deref() == Some("DISTRIBUTED"))
    }
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProcessorConfig {
    #[serde(default)]
    pub mode: Option<String>,
    #[serde(default)]
    pub execution_type: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ItemReader {
    pub resource: String,
    #[serde(default)]
    pub reader_config: ReaderConfig,
    #[serde(default)]
    pub parameters: Option<Value>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReaderConfig {
    #[serde(default)]
    pub input_type: Option<String>,
    #[serde(default, rename = "CSVHeaderLocation")]
    pub csv_header_location: Option<String>,
    #[serde(default, rename = "CSVHeaders")]
    pub csv_headers: Option<Vec<String>>,
    #[serde(default)]
    pub max_items: Option<u64>,
    #[serde(default)]
    pub max_items_path: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ItemBatcher {
    #[serde(default)]
    pub max_items_per_batch: Option<u64>,
    #[serde(default)]
    pub max_items_per_batch_path: Option<String>,
    #[serde(default)]
    pub max_input_bytes_per_batch: Option<u64>,
    #[serde(default)]
    pub max_input_bytes_per_batch_path: Option<String>,
    #[serde(default)]
    pub batch_input: Option<Value>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ResultWriter {
    pub resource: String,
    #[serde(default)]
    pub parameters: Option<Value>,
}

/// One entry of a state's `Retry`.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Retrier {
    pub error_equals: Vec<String>,
    #[serde(default = "defaults::interval")]
    pub interval_seconds: u64,
    #[serde(default = "defaults::max_attempts")]
    pub max_attempts: u64,
    #[serde(default = "defaults::backoff_rate")]
    pub backoff_rate: f64,
    #[serde(default)]
    pub max_delay_seconds: Option<u64>,
    #[serde(default)]
    pub jitter_strategy: Option<String>,
}

/// One entry of a state's `Catch`.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Catcher {
    pub error_equals: Vec<String>,
    pub next: String,
    #[serde(default, deserialize_with = "explicit")]
    pub result_path: Option<Value>,
}

mod defaults {
    pub fn interval() -> u64 {
        1
    }
    pub fn max_attempts() -> u64 {
        3
    }
    pub fn backoff_rate() -> f64 {
        2.0
    }
}

/// Retry and Catch rules the language itself imposes: `States.ALL` alone and last.
fn check_error_handlers(state: &State, at: &str) -> Result<(), Failure> {
    let lists = state
        .common
        .retry
        .iter()
        .map(|r| &r.error_equals)
        .chain(state.common.catch.iter().map(|c| &c.error_equals));
    let count = state.common.retry.len();
    for (i, list) in lists.enumerate() {
        let (field, index, len) = if i < count {
            ("Retry", i, count)
        } else {
            ("Catch", i - count, state.common.catch.len())
        };
        if list.is_empty() {
            return Err(Failure::runtime(format!("{at}.{field}[{index}]: ErrorEquals is empty")));
        }
        if list.iter().any(|e| e == crate::error::names::ALL) && (list.len() > 1 || index + 1 != len) {
            return Err(Failure::runtime(format!(
                "{at}.{field}[{index}]: States.ALL must appear alone and in the last {field}"
            )));
        }
    }
    Ok(())
}
