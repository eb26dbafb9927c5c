//! The typed form of a definition: state machines, states and their fields.
//!
//! Deserializing checks each field's shape, so a wrong one fails naming its state: paths are
//! paths, resources parse, Choice rules follow the language. What relates states to one another
//! is checked afterwards, by `check`.

use std::collections::BTreeMap;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::choice::Branch;
use crate::error::Failure;
use crate::integration::Resource;
use crate::path;

/// A state machine: the definition itself, a Parallel branch or a Map's item processor.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Machine {
    pub start_at: String,
    #[serde(deserialize_with = "named_states")]
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
    pub fn state(&self, name: &str) -> Result<&State, Failure> {
        self.states
            .get(name)
            .ok_or_else(|| Failure::runtime(format!("the state {name:?} does not exist")))
    }
}

/// The states of a machine, each deserialized on its own so that an error names its state.
fn named_states<'de, D: Deserializer<'de>>(deserializer: D) -> Result<BTreeMap<String, State>, D::Error> {
    BTreeMap::<String, Value>::deserialize(deserializer)?
        .into_iter()
        .map(|(name, state)| match State::deserialize(state) {
            Ok(state) => Ok((name, state)),
            Err(e) => Err(D::Error::custom(format!("States.{name}: {e}"))),
        })
        .collect()
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
    #[serde(default, deserialize_with = "nullable_path")]
    pub input_path: Option<NullablePath>,
    #[serde(default, deserialize_with = "nullable_path")]
    pub output_path: Option<NullablePath>,
    #[serde(default, deserialize_with = "nullable_path")]
    pub result_path: Option<NullablePath>,
    #[serde(default)]
    pub parameters: Option<Value>,
    #[serde(default)]
    pub result_selector: Option<Value>,
    #[serde(default)]
    pub retry: Vec<Retrier>,
    #[serde(default)]
    pub catch: Vec<Catcher>,
}

/// An `InputPath`, `OutputPath` or `ResultPath` that is set: an explicit `null` means
/// something other than an absent field (`{}` in, the input kept), so it is kept apart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NullablePath {
    Null,
    Path(String),
}

fn nullable_path<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<NullablePath>, D::Error> {
    match Value::deserialize(deserializer)? {
        Value::Null => Ok(Some(NullablePath::Null)),
        Value::String(text) if path::is_path(&text) => Ok(Some(NullablePath::Path(text))),
        other => Err(D::Error::custom(format!("{other} is neither a path nor null"))),
    }
}

/// A field that must hold a path when it is set, such as `ItemsPath`.
fn optional_path<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    match Option::<String>::deserialize(deserializer)? {
        Some(text) if !path::is_path(&text) => Err(D::Error::custom(format!("{text:?} is not a path"))),
        text => Ok(text),
    }
}

fn resource<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Resource, D::Error> {
    Resource::parse(&String::deserialize(deserializer)?).map_err(|failure| D::Error::custom(failure.cause))
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

    /// The nested state machines: Parallel branches and a Map's processor.
    pub fn machines(&self) -> Vec<&Machine> {
        match self {
            Kind::Parallel(parallel) => parallel.branches.iter().collect(),
            Kind::Map(map) => vec![&map.item_processor],
            _ => Vec::new(),
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Task {
    #[serde(deserialize_with = "resource")]
    pub resource: Resource,
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
    pub choices: Vec<Branch>,
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
    /// `Iterator` is its older name.
    #[serde(alias = "Iterator")]
    pub item_processor: Machine,
    #[serde(default, deserialize_with = "optional_path")]
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
    /// Distributed mode: iterations run as child executions, items may come from S3.
    pub fn is_distributed(&self) -> bool {
        self.item_processor
            .processor_config
            .as_ref()
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
    #[serde(deserialize_with = "resource")]
    pub resource: Resource,
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
    #[serde(deserialize_with = "resource")]
    pub resource: Resource,
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
    #[serde(default, deserialize_with = "nullable_path")]
    pub result_path: Option<NullablePath>,
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
