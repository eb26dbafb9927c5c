//! The schema of `eventdriven_workflow`, and which argument changes force replacement.

use std::collections::HashMap;

use tf_provider::schema::{Attribute, AttributeConstraint, AttributeType, Block, Description, NestedBlock, Schema};

use crate::resource::{attribute, boolean, number, string, string_map};
use AttributeConstraint::{Computed, Optional, OptionalComputed, Required};

/// Arguments whose change replaces the whole workflow: every child's name derives from them, or
/// every rule lives on the bus. Tasks, listeners and the trail change in place.
pub const FORCE_NEW: [&str; 2] = ["name", "event_bus"];

fn strings(constraint: AttributeConstraint, doc: &str) -> Attribute {
    attribute(AttributeType::List(Box::new(AttributeType::String)), constraint, doc)
}

fn block(description: &str, attributes: Vec<(&str, Attribute)>) -> Block {
    Block {
        attributes: attributes.into_iter().map(|(n, a)| (n.to_owned(), a)).collect(),
        description: Description::markdown(description),
        ..Default::default()
    }
}

pub fn schema() -> Schema {
    let attributes: HashMap<String, Attribute> = [
        ("name", string(Required, "Workflow name (at most 30 characters); every child's name derives from it. Forces replacement.")),
        ("event_source", string(OptionalComputed, "The `source` of every event of this workflow. Default: `name`.")),
        ("event_bus", string(OptionalComputed, "The event bus every event and rule lives on. Default `default`. Forces replacement.")),
        ("start_detail_type", string(OptionalComputed, "The detail type of the event (with `event_source`) that starts a run; its detail is the run's input. Default `start`.")),
        ("handler_image", string(Required, "Container image URI of the listeners, unless a listener names its own `image`.")),
        ("architecture", string(OptionalComputed, "CPU architecture of the listener images: `x86_64` (default) or `arm64`.")),
        ("bucket", boolean(OptionalComputed, "Whether the workflow has a bucket for intermediate results (private, encrypted, TLS only), passed to listeners as `BUCKET`. Default `false`.")),
        ("log_retention_days", number(OptionalComputed, "Days the listeners' log groups (`/aws/lambda/<function>`, created with the functions and deleted with them) keep their logs. Default 14.")),
        ("force_destroy", boolean(OptionalComputed, "Whether destroy may delete the bucket while it holds objects. Default `false`.")),
        ("tags", string_map(Optional, "Tags for every child, over the provider's `default_tags`.")),
        ("id", string(Computed, "The workflow name.")),
        ("tags_all", string_map(Computed, "Tags every child carries.")),
        ("bucket_name", string(Computed, "Name of the bucket, when `bucket` is true.")),
        ("trail_log_group", string(Computed, "CloudWatch Logs group holding every event of every run, when there is a `trail`.")),
        ("main_role_arn", string(Computed, "ARN of the main state machine's role.")),
        ("finisher_role_arn", string(Computed, "ARN of the finisher's role.")),
        ("events_role_arn", string(Computed, "ARN of the role EventBridge starts both machines with.")),
        ("state_machine_arn", string(Computed, "ARN of the main state machine.")),
        ("finisher_arn", string(Computed, "ARN of the finisher (an express state machine).")),
        ("start_rule_name", string(Computed, "Name of the rule starting a run.")),
        ("finisher_rule_name", string(Computed, "Name of the rule passing task answers to the finisher.")),
        ("trail_rule_name", string(Computed, "Name of the rule writing every event to the trail.")),
        ("definition", string(Computed, "The main state machine's definition (Amazon States Language JSON).")),
        ("finisher_definition", string(Computed, "The finisher's definition (Amazon States Language JSON).")),
        ("listener_role_arns", string_map(Computed, "ARN of each listener's role, by listener name.")),
        ("listener_function_arns", string_map(Computed, "ARN of each listener's function, by listener name.")),
        ("listener_rule_names", string_map(Computed, "Name of each listener's rule, by listener name.")),
    ]
    .into_iter()
    .map(|(name, attr)| (name.to_owned(), attr))
    .collect();

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

    Schema {
        version: 1,
        block: Block {
            version: 1,
            attributes,
            blocks: [
                ("task".to_owned(), NestedBlock::List(task)),
                ("listener".to_owned(), NestedBlock::Set(listener)),
                ("trail".to_owned(), NestedBlock::Optional(trail)),
            ]
            .into_iter()
            .collect(),
            description: Description::markdown(
                "An event-driven Step Functions workflow: each task puts an event and waits for its task token; listeners (Lambda functions) answer, and an express finisher turns their answers into task results or failures.",
            ),
            deprecated: false,
        },
    }
}
