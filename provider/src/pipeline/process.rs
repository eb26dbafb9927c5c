//! The `process` block: its schema, and its state <-> core's `ProcessSpec`, exactly as
//! written. Every change updates the pipeline in place: only the definition changes.

use std::collections::BTreeMap;

use eventdriven_core::process_step::ProcessSpec;
use serde::{Deserialize, Serialize};
use tf_provider::schema::{Block, Description, NestedBlock};
use tf_provider::value::Value;

use crate::resource::StringMap;
use crate::resource::attributes::{string, string_map, strings};
use tf_provider::schema::AttributeConstraint::{Optional, Required};

/// `process { image = "…", command = [ … ] }`: the user's step.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessBlock {
    pub image: Value<String>,
    #[serde(default)]
    pub command: Value<Vec<Value<String>>>,
    #[serde(default)]
    pub env: StringMap,
    pub cpu: Value<String>,
    pub memory: Value<String>,
}

/// `Some` of the value (`None` when null), or `None` while it is unknown.
fn settled<T: Clone>(value: &Value<T>) -> Option<Option<T>> {
    match value {
        Value::Value(value) => Some(Some(value.clone())),
        Value::Null => Some(None),
        Value::Unknown => None,
    }
}

fn or_null<T>(value: Option<T>) -> Value<T> {
    value.map_or(Value::Null, Value::Value)
}

impl ProcessBlock {
    /// Core's block, or `None` while any of it is unknown. A null required value reads as
    /// empty, which validation refuses.
    pub fn spec(&self) -> Option<ProcessSpec> {
        let command = settled(&self.command)?.unwrap_or_default();
        let env = settled(&self.env)?.unwrap_or_default();
        Some(ProcessSpec {
            image: settled(&self.image)?.unwrap_or_default(),
            command: command
                .iter()
                .map(|part| settled(part).map(Option::unwrap_or_default))
                .collect::<Option<_>>()?,
            env: env
                .iter()
                .map(|(name, value)| Some((name.clone(), settled(value)?.unwrap_or_default())))
                .collect::<Option<BTreeMap<_, _>>>()?,
            cpu: settled(&self.cpu)?,
            memory: settled(&self.memory)?,
        })
    }

    /// The block that declares `spec`, as an imported pipeline's state holds it.
    pub fn from_spec(spec: &ProcessSpec) -> Self {
        Self {
            image: Value::Value(spec.image.clone()),
            command: Value::Value(spec.command.iter().cloned().map(Value::Value).collect()),
            env: or_null((!spec.env.is_empty()).then(|| {
                spec.env
                    .iter()
                    .map(|(name, value)| (name.clone(), Value::Value(value.clone())))
                    .collect()
            })),
            cpu: or_null(spec.cpu.clone()),
            memory: or_null(spec.memory.clone()),
        }
    }
}

/// The block's schema: at most one `process`.
pub fn schema() -> NestedBlock {
    let attributes = [
        (
            "image",
            string(
                Required,
                "Container image the command runs in. It needs nothing of this project: a Linux with glibc 2.36 or newer on the Jobs' architecture (see docs/process-contract.md).",
            ),
        ),
        (
            "command",
            strings(
                Required,
                "The program and its arguments, run once per chunk (the image's entrypoint is not used), under the `eventdriven` binary, which counts and publishes what it writes.",
            ),
        ),
        (
            "env",
            string_map(
                Optional,
                "More environment for the command. Names the pipeline sets (its settings, `TABLE_NAME`, `BUCKET`, `EVENTDRIVEN_*`) and `AWS_*` are refused.",
            ),
        ),
        (
            "cpu",
            string(
                Optional,
                "CPU request of the command's container, a Kubernetes quantity. Default `250m`.",
            ),
        ),
        (
            "memory",
            string(
                Optional,
                "Memory request and limit of the command's container, a Kubernetes quantity. Default `512Mi`.",
            ),
        ),
    ];
    NestedBlock::Optional(Block {
        attributes: attributes.into_iter().map(|(n, a)| (n.to_owned(), a)).collect(),
        description: Description::markdown(
            "Your command run on every chunk in your image instead of the built-in step; the pipeline still counts every row and publishes atomically (docs/process-contract.md). A change updates the pipeline in place: the next run uses it.",
        ),
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::terraform_path;
    use eventdriven_core::config_path::ConfigPath;
    use tf_provider::AttributePath;

    fn example() -> ProcessSpec {
        ProcessSpec {
            image: "registry/enrich:3".into(),
            command: vec!["python3".into(), "/app/enrich.py".into()],
            env: [("MODEL".to_owned(), "v2".to_owned())].into(),
            cpu: Some("500m".into()),
            memory: None,
        }
    }

    #[test]
    fn specs_round_trip_through_the_block() {
        assert_eq!(ProcessBlock::from_spec(&example()).spec(), Some(example()));
        let bare = ProcessSpec {
            env: BTreeMap::new(),
            ..example()
        };
        let block = ProcessBlock::from_spec(&bare);
        assert!(block.env.is_null(), "no env written, none recorded");
        assert_eq!(block.spec(), Some(bare));
    }

    #[test]
    fn an_unknown_value_anywhere_leaves_the_spec_unknown() {
        let mut block = ProcessBlock::from_spec(&example());
        block.command = Value::Value(vec![Value::Value("python3".into()), Value::Unknown]);
        assert_eq!(block.spec(), None);
        let mut block = ProcessBlock::from_spec(&example());
        block.env = Value::Unknown;
        assert_eq!(block.spec(), None);
    }

    #[test]
    fn core_s_paths_become_the_block_s_terraform_paths() {
        let blocks = [("process".to_owned(), schema())].into();
        let path = ConfigPath::attribute("process").then("env");
        assert_eq!(
            terraform_path(&blocks, &path),
            AttributePath::new("process").index(0).attribute("env")
        );
    }
}
