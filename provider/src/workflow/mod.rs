//! The `eventdriven_workflow` resource: what is particular to it in the one resource shape
//! ([`crate::resource::OwnerResource`]).

mod children;
mod deploy;
mod import;
pub(crate) mod plan;
mod schema;
pub(crate) mod state;

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use eventdriven_core::spec::SpecError;
use eventdriven_core::workflow::definition::{finisher_definition, main_definition};
use eventdriven_core::workflow::iam::existing_function_policy;
use eventdriven_core::workflow::naming::WorkflowNames;
use eventdriven_core::workflow::spec;
use tf_provider::schema::NestedBlock;
use tf_provider::value::Value;

use crate::aws::{AwsClients, AwsError, Tags};
use crate::lifecycle::{Failure, ReadSettings};
use crate::resource::attributes::AttributeRow;
use crate::resource::{Common, ResourceKind, StringMap, Warnings};
use crate::{adapters, cluster};
use plan::Workflow;
use state::{WorkflowChildren, WorkflowState};

/// Renders both definitions and the existing functions' policies into the planned state, and
/// records the zip listeners' code hashes, when every argument is known.
async fn plan_definitions(aws: &AwsClients, state: &mut WorkflowState) -> Result<(), AwsError> {
    if !state.fully_known() {
        state.definition = Value::Unknown;
        state.finisher_definition = Value::Unknown;
        state.listener_policies = Value::Unknown;
        state.listener_code_hashes = Value::Unknown;
        return Ok(());
    }
    state.listener_code_hashes = code_hashes(state)?;
    let context = cluster::aws_context(aws).await?;
    let spec = state.spec();
    let names = WorkflowNames::new(&spec, &context);
    state.definition = Value::Value(main_definition(&names).to_string());
    state.finisher_definition = Value::Value(finisher_definition(&names).to_string());
    let policies = spec.listeners.iter().filter(|l| !l.creates_function()).map(|l| {
        (
            l.name.clone(),
            Value::Value(existing_function_policy(&names, l).to_string()),
        )
    });
    state.listener_policies = Value::Value(policies.collect());
    Ok(())
}

/// Each zip listener's `source_code_hash`, or its file's hash: a missing file fails the plan,
/// naming the listener and the file.
fn code_hashes(state: &WorkflowState) -> Result<StringMap, AwsError> {
    let mut hashes = std::collections::BTreeMap::new();
    for block in state.listener.as_ref_option().into_iter().flatten() {
        let Some(block) = block.as_ref_option() else { continue };
        let (Some(name), Some(filename)) = (block.name.as_ref_option(), block.filename.as_ref_option()) else {
            continue;
        };
        let hash = match block.source_code_hash.as_ref_option() {
            Some(hash) => hash.clone(),
            None => {
                let bytes = std::fs::read(filename)
                    .map_err(|e| AwsError::other(format!("listener[{name:?}].filename: reading {filename}: {e}")))?;
                adapters::function::code_sha256(&bytes)
            }
        };
        hashes.insert(name.clone(), Value::Value(hash));
    }
    Ok(Value::Value(hashes))
}

fn force_destroy(state: &WorkflowState) -> bool {
    state.force_destroy.as_ref_option().copied().unwrap_or(false)
}

#[async_trait]
impl ResourceKind for Workflow {
    type State = WorkflowState;

    const NOUN: &'static str = "workflow";
    const DESCRIPTION: &'static str = "An event-driven Step Functions workflow: each task puts an event and waits for its task token; listeners (Lambda functions) answer, and an express finisher turns their answers into task results or failures.";

    fn attributes() -> &'static [AttributeRow<WorkflowState>] {
        WorkflowState::ATTRIBUTES
    }

    fn blocks() -> HashMap<String, NestedBlock> {
        schema::blocks()
    }

    fn common(state: &mut WorkflowState) -> Common<'_> {
        Common {
            id: &mut state.id,
            name: &mut state.name,
            tags: &mut state.tags,
            tags_all: &mut state.tags_all,
            timeouts: &mut state.timeouts,
            changed_outside_terraform: &mut state.changed_outside_terraform,
        }
    }

    /// Validates only a configuration whose every argument is known.
    fn spec_errors(config: &WorkflowState) -> Vec<SpecError> {
        if !config.fully_known() {
            return Vec::new();
        }
        let mut errors = config.listener_architecture_errors();
        errors.extend(spec::validate(&config.spec()).err().unwrap_or_default());
        errors
    }

    fn apply_defaults(state: &mut WorkflowState) {
        state.apply_defaults();
    }

    async fn plan_computed(
        aws: &AwsClients,
        prior: Option<&WorkflowState>,
        planned: &mut WorkflowState,
    ) -> Result<(), AwsError> {
        if prior.is_none() {
            planned.mark_children_unknown();
        }
        plan_definitions(aws, planned).await?;
        if prior.is_some() {
            let spec = planned.spec();
            planned.mark_changing_children_unknown(&spec);
        }
        Ok(())
    }

    fn children(state: &WorkflowState) -> WorkflowChildren {
        state.children()
    }

    fn set_children(state: &mut WorkflowState, children: &WorkflowChildren) {
        state.set_children(children);
    }

    async fn refresh(
        aws: Arc<AwsClients>,
        state: &WorkflowState,
        children: &mut WorkflowChildren,
    ) -> Result<ReadSettings, Failure> {
        deploy::refresh(aws, state.spec(), children).await
    }

    /// Without its main state machine there is no workflow left to heal.
    fn nothing_left(refreshed: &WorkflowChildren) -> bool {
        refreshed.is_empty()
    }

    fn missing(recorded: &WorkflowChildren, refreshed: &WorkflowChildren) -> Vec<String> {
        recorded.missing_from(refreshed)
    }

    async fn create(
        aws: Arc<AwsClients>,
        planned: &WorkflowState,
        tags: Tags,
        children: &mut WorkflowChildren,
    ) -> Result<Warnings, Failure> {
        deploy::create(aws, planned.spec(), tags, children)
            .await
            .map(|()| Warnings::new())
    }

    async fn update(
        aws: Arc<AwsClients>,
        planned: &WorkflowState,
        tags: Tags,
        tags_changed: bool,
        children: &mut WorkflowChildren,
    ) -> Result<Warnings, Failure> {
        let force_destroy = force_destroy(planned);
        deploy::update(aws, planned.spec(), tags, tags_changed, force_destroy, children)
            .await
            .map(|()| Warnings::new())
    }

    async fn destroy(
        aws: Arc<AwsClients>,
        prior: &WorkflowState,
        children: &mut WorkflowChildren,
    ) -> Result<(), Failure> {
        deploy::destroy(aws, prior.spec(), force_destroy(prior), children).await
    }

    async fn import(aws: Arc<AwsClients>, id: &str) -> Result<WorkflowState, Failure> {
        import::import(aws, id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_name_and_the_bus_replace_the_workflow() {
        let replacing: Vec<&str> = WorkflowState::ATTRIBUTES
            .iter()
            .filter(|row| row.replaces)
            .map(|row| row.name)
            .collect();
        assert_eq!(replacing, ["name", "event_bus"]);
    }

    #[test]
    fn every_attribute_core_validation_names_is_a_row_or_a_block() {
        let text = |v: &str| Value::Value(v.to_owned());
        let config = WorkflowState {
            name: text("Bad_Name"),
            event_source: text("aws.s3"),
            event_bus: text(""),
            start_detail_type: text(""),
            handler_image: text("not an image"),
            architecture: text("sparc"),
            log_retention_days: Value::Value(2),
            tags: Value::Value([("aws:no".to_owned(), text("v"))].into()),
            task: Value::Value(vec![Value::Value(state::TaskBlock {
                name: text(""),
                detail_type: text("task.finished"),
                timeout_seconds: Value::Value(0),
                max_concurrency: Value::Value(3),
                ..Default::default()
            })]),
            listener: Value::Value(vec![Value::Value(state::ListenerBlock {
                name: text("BAD"),
                detail_types: Value::Value(Vec::new()),
                command: Value::Value(Vec::new()),
                memory_size: Value::Value(1),
                ..Default::default()
            })]),
            trail: Value::Value(state::TrailBlock {
                retention_days: Value::Value(2),
            }),
            ..Default::default()
        };
        let errors = Workflow::spec_errors(&config);
        let named: std::collections::BTreeSet<&str> = errors.iter().map(|e| e.attribute.root()).collect();
        let blocks = schema::blocks();
        for name in &named {
            let known = WorkflowState::ATTRIBUTES.iter().any(|row| row.name == *name) || blocks.contains_key(*name);
            assert!(known, "{name:?} is neither an attribute nor a block");
        }
        assert!(named.len() >= 9, "every bad argument is reported: {named:?}");
    }

    #[test]
    fn a_state_serializes_every_attribute_under_its_row_name() {
        assert!(crate::resource::attributes::rows_not_serialized(WorkflowState::ATTRIBUTES).is_empty());
    }
}
