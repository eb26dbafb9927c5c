//! The `eventdriven_batch_pipeline` resource: Terraform's lifecycle mapped onto the children.

mod deploy;
mod import;
pub(crate) mod plan;
mod schema;
pub(crate) mod state;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use eventdriven_core::{definition, spec};
use tf_provider::schema::Schema;
use tf_provider::value::{Value, ValueEmpty};
use tf_provider::{AttributePath, Diagnostics, Resource};

use crate::aws::Configured;
use crate::resource::{merged_tags, plain_map, report, reported, within};
use crate::timeouts;
use state::{PipelineState, Timeouts};

pub struct BatchPipeline {
    configured: Arc<Configured>,
}

impl BatchPipeline {
    pub fn new(configured: Arc<Configured>) -> Self {
        Self { configured }
    }
}

/// The value of attribute `name` in `state`, for comparing two states attribute by attribute.
fn attribute_of(state: &PipelineState, name: &str) -> serde_json::Value {
    serde_json::to_value(state)
        .ok()
        .and_then(|mut v| v.get_mut(name).map(serde_json::Value::take))
        .unwrap_or_default()
}

fn changed(a: &PipelineState, b: &PipelineState, name: &str) -> bool {
    attribute_of(a, name) != attribute_of(b, name)
}

/// Reports core's validation errors against their attributes, skipping attributes not known yet
/// and defaults the user did not write (a default derived from a bad name would repeat the
/// name's error).
fn validate_spec(diags: &mut Diagnostics, config: &PipelineState) {
    let mut with_defaults = config.clone();
    with_defaults.apply_defaults();
    let (spec, unknown) = with_defaults.spec_with_unknowns();
    if let Err(errors) = spec::validate(&spec) {
        let reportable = |attribute: &str| !unknown.contains(&attribute) && !attribute_of(config, attribute).is_null();
        for error in errors.into_iter().filter(|e| reportable(&e.attribute)) {
            let summary = format!("Invalid {}", error.attribute);
            diags.error(summary, error.message, AttributePath::new(error.attribute));
        }
    }
    let timeouts = config.timeouts.as_ref_option().cloned().unwrap_or_default();
    for (name, value) in [("create", &timeouts.create), ("delete", &timeouts.delete)] {
        if let Value::Value(text) = value
            && let Err(message) = timeouts::parse(text)
        {
            diags.error(
                "Invalid timeout",
                message,
                AttributePath::new("timeouts").index(0).attribute(name),
            );
        }
    }
}

fn timeout(state: &PipelineState, pick: impl Fn(&Timeouts) -> &Value<String>, default: Duration) -> Duration {
    state
        .timeout(pick)
        .and_then(|text| timeouts::parse(&text).ok())
        .unwrap_or(default)
}

#[async_trait]
impl Resource for BatchPipeline {
    type State<'a> = PipelineState;
    type PrivateState<'a> = ValueEmpty;
    type ProviderMetaState<'a> = ValueEmpty;

    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        Some(schema::schema())
    }

    async fn validate<'a>(&self, diags: &mut Diagnostics, config: Self::State<'a>) -> Option<()> {
        validate_spec(diags, &config);
        Some(())
    }

    async fn read<'a>(
        &self,
        diags: &mut Diagnostics,
        mut state: Self::State<'a>,
        private_state: Self::PrivateState<'a>,
        _provider_meta_state: Self::ProviderMetaState<'a>,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        let aws = self.configured.clients(diags)?;
        let recorded = state.children();
        let mut children = recorded.clone();
        let cluster_name = state.cluster_name.as_ref_option().cloned().unwrap_or_default();
        if let Err(failure) = deploy::refresh(aws, cluster_name, &mut children).await {
            report(diags, failure);
            return Some((state, private_state));
        }
        // Without its state machine or its bucket there is no pipeline left to heal.
        let core_gone = (recorded.state_machine_arn.is_some() && children.state_machine_arn.is_none())
            || (recorded.bucket.is_some() && children.bucket.is_none());
        if core_gone {
            return None;
        }
        state.set_children(&children);
        // An image changed outside Terraform shows up as a diff on `lambda_image`.
        if let Some(image) = children.observed.lambda_image.clone() {
            state.lambda_image = Value::Value(image);
        }
        Some((state, private_state))
    }

    async fn plan_create<'a>(
        &self,
        diags: &mut Diagnostics,
        proposed_state: Self::State<'a>,
        _config_state: Self::State<'a>,
        _provider_meta_state: Self::ProviderMetaState<'a>,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        let aws = self.configured.clients(diags)?;
        let mut state = proposed_state;
        state.apply_defaults();
        state.id = state.name.clone();
        state.tags_all = merged_tags(&state.tags, &aws.default_tags);
        state.mark_children_unknown();
        Some((state, ValueEmpty::default()))
    }

    async fn plan_update<'a>(
        &self,
        diags: &mut Diagnostics,
        prior_state: Self::State<'a>,
        proposed_state: Self::State<'a>,
        _config_state: Self::State<'a>,
        prior_private_state: Self::PrivateState<'a>,
        _provider_meta_state: Self::ProviderMetaState<'a>,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>, Vec<AttributePath>)> {
        let aws = self.configured.clients(diags)?;
        let mut state = proposed_state;
        state.apply_defaults();
        state.tags_all = merged_tags(&state.tags, &aws.default_tags);
        let replace: Vec<AttributePath> = schema::FORCE_NEW
            .iter()
            .filter(|name| changed(&prior_state, &state, name))
            .map(|name| AttributePath::new(*name))
            .collect();
        if definition::INPUTS
            .iter()
            .any(|name| changed(&prior_state, &state, name))
        {
            state.definition = Value::Unknown;
        }
        // Children found missing by refresh are null: plan them back.
        if state.mark_missing_children_unknown() {
            state.definition = Value::Unknown;
        }
        Some((state, prior_private_state, replace))
    }

    async fn plan_destroy<'a>(
        &self,
        _diags: &mut Diagnostics,
        _prior_state: Self::State<'a>,
        prior_private_state: Self::PrivateState<'a>,
        _provider_meta_state: Self::ProviderMetaState<'a>,
    ) -> Option<Self::PrivateState<'a>> {
        Some(prior_private_state)
    }

    async fn create<'a>(
        &self,
        diags: &mut Diagnostics,
        planned_state: Self::State<'a>,
        _config_state: Self::State<'a>,
        planned_private_state: Self::PrivateState<'a>,
        _provider_meta_state: Self::ProviderMetaState<'a>,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        let aws = self.configured.clients(diags)?;
        let spec = planned_state.spec();
        let tags = plain_map(&planned_state.tags_all);
        let mut children = state::Children::default();
        let limit = timeout(&planned_state, |t| &t.create, timeouts::DEFAULT_CREATE);
        within(
            diags,
            limit,
            "creating the pipeline",
            deploy::create(aws, spec, tags, &mut children),
        )
        .await;
        let mut state = planned_state;
        state.id = state.name.clone();
        // Whatever failed, the state records exactly the children that exist.
        state.set_children(&children);
        Some((state, planned_private_state))
    }

    async fn update<'a>(
        &self,
        diags: &mut Diagnostics,
        prior_state: Self::State<'a>,
        planned_state: Self::State<'a>,
        _config_state: Self::State<'a>,
        planned_private_state: Self::PrivateState<'a>,
        _provider_meta_state: Self::ProviderMetaState<'a>,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        let aws = self.configured.clients(diags)?;
        let spec = planned_state.spec();
        let tags = plain_map(&planned_state.tags_all);
        let tags_changed = tags != plain_map(&prior_state.tags_all);
        let mut children = prior_state.children();
        let limit = timeout(&planned_state, |t| &t.create, timeouts::DEFAULT_CREATE);
        within(
            diags,
            limit,
            "updating the pipeline",
            deploy::update(aws, spec, tags, tags_changed, &mut children),
        )
        .await;
        let mut state = planned_state;
        state.set_children(&children);
        Some((state, planned_private_state))
    }

    async fn import<'a>(
        &self,
        diags: &mut Diagnostics,
        id: String,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        let aws = self.configured.clients(diags)?;
        let state = reported(diags, import::import(aws, &id).await)?;
        Some((state, ValueEmpty::default()))
    }

    async fn destroy<'a>(
        &self,
        diags: &mut Diagnostics,
        prior_state: Self::State<'a>,
        _planned_private_state: Self::PrivateState<'a>,
        _provider_meta_state: Self::ProviderMetaState<'a>,
    ) -> Option<()> {
        let aws = self.configured.clients(diags)?;
        let cluster_name = prior_state.cluster_name.as_ref_option().cloned().unwrap_or_default();
        let force_destroy = prior_state.force_destroy.as_ref_option().copied().unwrap_or(false);
        let mut children = prior_state.children();
        let limit = timeout(&prior_state, |t| &t.delete, timeouts::DEFAULT_DELETE);
        within(
            diags,
            limit,
            "destroying the pipeline",
            deploy::destroy(aws, cluster_name, force_destroy, &mut children),
        )
        .await;
        diags.errors.is_empty().then_some(())
    }
}
