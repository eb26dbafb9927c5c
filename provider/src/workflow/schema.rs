//! The blocks of `eventdriven_workflow`'s schema; its attributes are rows of `state`'s table.

use std::collections::HashMap;

use tf_provider::schema::{Attribute, AttributeConstraint, Block, Description, NestedBlock};

use crate::resource::attributes::{number, string, strings};
use AttributeConstraint::{Optional, OptionalComputed, Required};

fn block(description: &str, attributes: Vec<(&str, Attribute)>) -> Block {
    Block {
        attributes: attributes.into_iter().map(|(n, a)| (n.to_owned(), a)).collect(),
        description: Description::markdown(description),
        ..Default::default()
    }
}

/// The workflow's blocks: its tasks in order, its listeners (a set), and its trail.
pub fn blocks() -> HashMap<String, NestedBlock> {
    let task = block(
        "One state of the main machine, in order: it puts an event and waits for a listener's answer.",
        vec![
            ("name", string(Required, "State name.")),
            (
                "detail_type",
                string(Required, "Detail type of the event the task puts."),
            ),
            (
                "result_path",
                string(
                    Optional,
                    "Where the answer goes in the state, e.g. `$.names`; unset, the answer is discarded.",
                ),
            ),
            (
                "timeout_seconds",
                number(
                    OptionalComputed,
                    "How long the task waits for its answer before the run fails with `States.Timeout`. Default 300.",
                ),
            ),
            (
                "items_path",
                string(
                    Optional,
                    "Makes the task a Map: one event per item found here, each waiting for its own answer.",
                ),
            ),
            (
                "max_concurrency",
                number(
                    OptionalComputed,
                    "Items of a Map in flight at once; 0 (default) means unbounded.",
                ),
            ),
        ],
    );
    let listener = block(
        "A Lambda function (container image) behind a rule on some detail types.",
        vec![
            ("name", string(Required, "Listener name (at most 20 characters).")),
            (
                "detail_types",
                strings(Required, "Detail types the listener's rule matches."),
            ),
            (
                "command",
                strings(
                    Required,
                    "Arguments to the image's entrypoint, e.g. `[\"cookie-report\", \"get-multiple\"]`.",
                ),
            ),
            (
                "image",
                string(Optional, "Container image URI instead of `handler_image`."),
            ),
            (
                "emits",
                strings(
                    Optional,
                    "Detail types the listener may forward (besides answering its task); passed as `EMITS`, and the only ones its role may put.",
                ),
            ),
            (
                "bucket_prefix",
                string(
                    Optional,
                    "The part of the bucket the listener may read and write. Default `runs/`.",
                ),
            ),
            ("timeout_seconds", number(Optional, "Function timeout. Default 60.")),
            ("memory_size", number(Optional, "Function memory in MB. Default 256.")),
        ],
    );
    let trail = block(
        "Records every event of the workflow (its `event_source`) in a CloudWatch Logs group.",
        vec![(
            "retention_days",
            number(
                Required,
                "Days the events are kept (a CloudWatch Logs retention period).",
            ),
        )],
    );

    [
        ("task".to_owned(), NestedBlock::List(task)),
        ("listener".to_owned(), NestedBlock::Set(listener)),
        ("trail".to_owned(), NestedBlock::Optional(trail)),
    ]
    .into_iter()
    .collect()
}
