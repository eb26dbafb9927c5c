//! The `eventdriven_batch_pipeline` resource: what is particular to it in the one resource
//! shape ([`crate::resource::OwnerResource`]).

mod children;
mod deploy;
mod import;
pub(crate) mod plan;
mod process;
mod record;
pub(crate) mod state;

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use eventdriven_core::definition;
use eventdriven_core::spec::{self, SpecError, WorkVolumeMount};
use tf_provider::AttributePath;
use tf_provider::schema::NestedBlock;
use tf_provider::value::Value;

use crate::aws::{AwsClients, AwsError, Tags};
use crate::lifecycle::{Failure, ReadSettings};
use crate::resource::attributes::{self, AttributeRow, any_differs};
use crate::resource::{Common, ResourceKind, Warnings};
use plan::Pipeline;
use state::{Children, PipelineState};

fn cluster_name(state: &PipelineState) -> String {
    state.cluster_name.as_ref_option().cloned().unwrap_or_default()
}

#[async_trait]
impl ResourceKind for Pipeline {
    type State = PipelineState;

    const NOUN: &'static str = "pipeline";
    const DESCRIPTION: &'static str = "An event-driven batch pipeline: an object under the input prefix of its bucket starts a Step Functions execution that splits it, processes the chunks as Kubernetes Jobs on an existing EKS cluster, and merges the results.";

    fn attributes() -> &'static [AttributeRow<PipelineState>] {
        PipelineState::ATTRIBUTES
    }

    fn blocks() -> HashMap<String, NestedBlock> {
        [
            ("record".to_owned(), record::schema()),
            ("process".to_owned(), process::schema()),
        ]
        .into()
    }

    /// A change of the table's keys (`record`) replaces the pipeline; the rest of the block
    /// updates in place, as every change of `process` does. `table` replaces when it turns
    /// the table on or off, not when unset becomes an explicit `true` (the same table).
    fn replacing_in_blocks(prior: &PipelineState, planned: &PipelineState) -> Vec<AttributePath> {
        let mut paths = record::replacing(&prior.record, &planned.record);
        if planned.table.is_unknown() || prior.tableless() != planned.tableless() {
            paths.push(AttributePath::new("table"));
        }
        paths
    }

    fn common(state: &mut PipelineState) -> Common<'_> {
        Common {
            id: &mut state.id,
            name: &mut state.name,
            tags: &mut state.tags,
            tags_all: &mut state.tags_all,
            timeouts: &mut state.timeouts,
            changed_outside_terraform: &mut state.changed_outside_terraform,
        }
    }

    /// Skips attributes not known yet, and defaults the user did not write (a default derived
    /// from a bad name would repeat the name's error).
    fn spec_errors(config: &PipelineState) -> Vec<SpecError> {
        let mut with_defaults = config.clone();
        with_defaults.apply_defaults();
        let (spec, unknown) = with_defaults.spec_with_unknowns();
        // An error naming no row is reported: a test keeps core's names and the rows agreeing.
        let written = |attribute: &str| {
            attributes::row(PipelineState::ATTRIBUTES, attribute)
                .is_none_or(|row| (row.differs)(config, &PipelineState::default()))
        };
        spec::validate(&spec)
            .err()
            .unwrap_or_default()
            .into_iter()
            .filter(|e| !unknown.contains(&e.attribute.root()) && written(e.attribute.root()))
            .collect()
    }

    fn apply_defaults(state: &mut PipelineState) {
        state.apply_defaults();
    }

    async fn plan_computed(
        _aws: &AwsClients,
        prior: Option<&PipelineState>,
        planned: &mut PipelineState,
    ) -> Result<(), AwsError> {
        let Some(prior) = prior else {
            // A new pipeline mounts through the EFS CSI driver unless told otherwise; one an
            // earlier version created keeps the mount its null stands for (see the state).
            if planned.work_volume_mount.is_null() {
                planned.work_volume_mount = Value::Value(WorkVolumeMount::EfsCsi.as_str().to_owned());
            }
            planned.mark_children_unknown();
            return Ok(());
        };
        if any_differs(PipelineState::ATTRIBUTES, &definition::INPUTS, prior, planned) {
            planned.definition = Value::Unknown;
        }
        // Children found missing by refresh are null: plan them back.
        if planned.mark_missing_children_unknown() {
            planned.definition = Value::Unknown;
        }
        Ok(())
    }

    fn children(state: &PipelineState) -> Children {
        state.children()
    }

    fn set_children(state: &mut PipelineState, children: &Children) {
        state.set_children(children);
    }

    async fn refresh(
        aws: Arc<AwsClients>,
        state: &PipelineState,
        children: &mut Children,
    ) -> Result<ReadSettings, Failure> {
        deploy::refresh(aws, cluster_name(state), children).await
    }

    fn nothing_left(refreshed: &Children) -> bool {
        refreshed.is_empty()
    }

    fn missing(recorded: &Children, refreshed: &Children) -> Vec<String> {
        recorded.missing_from(refreshed)
    }

    /// An image changed outside Terraform shows up as a diff on `lambda_image`.
    fn observe(state: &mut PipelineState, children: &Children) {
        if let Some(image) = children.observed.lambda_image.clone() {
            state.lambda_image = Value::Value(image);
        }
    }

    async fn create(
        aws: Arc<AwsClients>,
        planned: &PipelineState,
        tags: Tags,
        children: &mut Children,
    ) -> Result<Warnings, Failure> {
        deploy::create(aws, planned.spec(), tags, children).await
    }

    async fn update(
        aws: Arc<AwsClients>,
        planned: &PipelineState,
        tags: Tags,
        tags_changed: bool,
        children: &mut Children,
    ) -> Result<Warnings, Failure> {
        deploy::update(aws, planned.spec(), tags, tags_changed, children).await
    }

    async fn destroy(aws: Arc<AwsClients>, prior: &PipelineState, children: &mut Children) -> Result<(), Failure> {
        let force_destroy = prior.force_destroy.as_ref_option().copied().unwrap_or(false);
        deploy::destroy(aws, cluster_name(prior), force_destroy, children).await
    }

    async fn import(aws: Arc<AwsClients>, id: &str) -> Result<PipelineState, Failure> {
        import::import(aws, id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_definition_input_is_an_attribute() {
        for name in definition::INPUTS {
            assert!(
                attributes::row(PipelineState::ATTRIBUTES, name).is_some(),
                "core's definition input {name:?} names no attribute"
            );
        }
    }

    #[test]
    fn names_and_what_fixes_children_replace_and_the_rest_updates_in_place() {
        let replacing: Vec<&str> = PipelineState::ATTRIBUTES
            .iter()
            .filter(|row| row.replaces)
            .map(|row| row.name)
            .collect();
        assert_eq!(
            replacing,
            [
                "name",
                "cluster_name",
                "namespace",
                "service_account",
                "bucket_name",
                "redis_node_type",
                "dynamodb_billing_mode",
                "dynamodb_read_capacity",
                "dynamodb_write_capacity",
            ]
        );
    }

    #[test]
    fn a_state_serializes_every_attribute_under_its_row_name() {
        assert!(crate::resource::attributes::rows_not_serialized(PipelineState::ATTRIBUTES).is_empty());
    }

    #[test]
    fn every_attribute_core_validation_names_is_a_row() {
        let text = |v: &str| Value::Value(v.to_owned());
        let list = |v: &str| Value::Value(vec![text(v)]);
        let config = PipelineState {
            name: text("Bad_Name"),
            cluster_name: text(""),
            job_image: text("a b"),
            lambda_image: text("not-an-ecr-image"),
            architecture: text("sparc"),
            max_lines_per_batch: Value::Value(0),
            max_concurrency: Value::Value(-1),
            step_timeout_seconds: Value::Value(1),
            namespace: text("NS"),
            service_account: text("SA_"),
            work_volume_claim: text("_"),
            input_prefix: text("runs/"),
            output_prefix: text("runs/"),
            bucket_name: text("A"),
            node_security_group_ids: list("x"),
            lambda_subnet_ids: list("y"),
            redis_node_type: text("z"),
            dynamodb_billing_mode: text("WHATEVER"),
            table_warm_write_units: Value::Value(0),
            tags: Value::Value([("aws:no".to_owned(), text("v"))].into()),
            record: Value::Value(record::RecordBlock {
                key: text("Missing"),
                ..Default::default()
            }),
            process: Value::Value(process::ProcessBlock {
                image: text("a b"),
                ..Default::default()
            }),
            ..Default::default()
        };
        let errors = Pipeline::spec_errors(&config);
        let named: std::collections::BTreeSet<&str> = errors.iter().map(|e| e.attribute.root()).collect();
        for name in &named {
            assert!(
                attributes::row(PipelineState::ATTRIBUTES, name).is_some(),
                "{name:?} is no attribute"
            );
        }
        assert!(named.len() >= 17, "every bad argument is reported: {named:?}");
        assert!(named.contains("record") && named.contains("process"), "{named:?}");
        let tableless = PipelineState {
            table: Value::Value(false),
            ..config
        };
        let named: Vec<String> = Pipeline::spec_errors(&PipelineState {
            process: Value::Null,
            ..tableless
        })
        .iter()
        .map(|e| e.attribute.root().to_owned())
        .collect();
        assert!(named.contains(&"table".to_owned()), "{named:?}");
    }

    #[test]
    fn the_table_replaces_only_when_it_comes_or_goes() {
        let with = |table| PipelineState {
            table,
            ..Default::default()
        };
        let replaced = |prior, planned| Pipeline::replacing_in_blocks(&with(prior), &with(planned));
        let table = [AttributePath::new("table")];
        assert_eq!(replaced(Value::Null, Value::Value(false)), table);
        assert_eq!(replaced(Value::Value(false), Value::Value(true)), table);
        assert_eq!(replaced(Value::Null, Value::Unknown), table);
        assert!(replaced(Value::Null, Value::Value(true)).is_empty());
        assert!(replaced(Value::Value(true), Value::Null).is_empty());
        assert!(replaced(Value::Value(false), Value::Value(false)).is_empty());
    }

    #[test]
    fn validation_skips_unwritten_defaults_and_unknowns() {
        let mut config = PipelineState {
            name: Value::Value("Bad_Name".into()),
            cluster_name: Value::Unknown,
            job_image: Value::Value("busybox".into()),
            lambda_image: Value::Value("registry/lambda:1".into()),
            ..Default::default()
        };
        let failing = |config: &PipelineState| -> Vec<String> {
            Pipeline::spec_errors(config)
                .iter()
                .map(|e| e.attribute.to_string())
                .collect()
        };
        // The service account's default derives from the bad name: only the name is reported.
        assert_eq!(failing(&config), ["name"]);
        config.name = Value::Value("orders".into());
        config.max_lines_per_batch = Value::Value(0);
        assert_eq!(failing(&config), ["max_lines_per_batch"]);
    }
}
