//! The blocks of `eventdriven_workflow`'s schema; its attributes are rows of `state`'s table.

use std::collections::HashMap;

use tf_provider::schema::{Attribute, AttributeConstraint, Block, Description, NestedBlock};

use crate::resource::attributes::{boolean, number, string, string_map, strings};
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
        "A Lambda function behind a rule on some detail types: an image with a `command`, a zip package (`filename`, `runtime`, `handler`) the workflow creates a function from, or an existing function (`function_arn`) it only wires. See docs/listener-protocol.md.",
        vec![
            ("name", string(Required, "Listener name (at most 20 characters).")),
            (
                "detail_types",
                strings(Required, "Detail types the listener's rule matches."),
            ),
            (
                "command",
                strings(
                    Optional,
                    "An image listener: arguments to the image's entrypoint, e.g. `[\"cookie-report\", \"get-multiple\"]`.",
                ),
            ),
            (
                "image",
                string(
                    Optional,
                    "An image listener: container image URI instead of `handler_image`.",
                ),
            ),
            (
                "filename",
                string(
                    Optional,
                    "A zip listener: the package, relative to the working directory; a new file (a new hash) updates the function's code.",
                ),
            ),
            (
                "runtime",
                string(
                    Optional,
                    "A zip listener: the Lambda managed runtime, e.g. `python3.12` or `nodejs20.x` (both run locally under `local-cloud`).",
                ),
            ),
            (
                "handler",
                string(Optional, "A zip listener: the handler, e.g. `app.handler`."),
            ),
            (
                "source_code_hash",
                string(
                    Optional,
                    "A zip listener: the hash that triggers a code update, e.g. `filebase64sha256(\"build/enrich.zip\")`; default: the file's own.",
                ),
            ),
            (
                "function_arn",
                string(
                    Optional,
                    "An existing function (unqualified ARN): the workflow adds its rule, the rule's permission to invoke it and where its results go, and never edits its code or role; attach `listener_policies[name]` to its role.",
                ),
            ),
            (
                "side_effect",
                boolean(
                    Optional,
                    "Receives the events without their task token: it can neither answer nor fail a task; its success is put as `<detail type>.done`, its failure as `side_effect.failed`, and the run goes on. Default `false`.",
                ),
            ),
            (
                "environment",
                string_map(
                    Optional,
                    "Environment variables of a function the workflow creates, besides `EVENT_BUS`, `EVENT_SOURCE`, `EMITS` and `BUCKET`.",
                ),
            ),
            (
                "architecture",
                string(
                    Optional,
                    "`x86_64` or `arm64` for a function the workflow creates; default: the workflow's `architecture`.",
                ),
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
