//! The `eventdriven_workflow` resource: Terraform's lifecycle mapped onto the children.

mod deploy;
mod import;
pub(crate) mod plan;
mod schema;
pub(crate) mod state;

use std::sync::Arc;

use async_trait::async_trait;
use eventdriven_core::workflow::definition::{finisher_definition, main_definition};
use eventdriven_core::workflow::naming::WorkflowNames;
use eventdriven_core::workflow::spec;
use tf_provider::schema::Schema;
use tf_provider::value::{Value, ValueEmpty};
use tf_provider::{AttributePath, Diagnostics, Resource};

use crate::aws::{AwsClients, Configured};
use crate::cluster;
use crate::resource::{merged_tags, plain_map, report, reported, within};
use crate::timeouts;
use state::WorkflowState;

pub struct WorkflowResource {
    configured: Arc<Configured>,
}

impl WorkflowResource {
    pub fn new(configured: Arc<Configured>) -> Self {
        Self { configured }
    }
}

/// `task[1].detail_type` as Terraform's attribute path.
fn attribute_path(attribute: &str) -> AttributePath {
    let mut parts = attribute.split('.');
    let mut path: Option<AttributePath> = None;
    for part in parts.by_ref() {
        let (name, index) = match part.split_once('[') {
            Some((name, rest)) => (name, rest.trim_end_matches(']').parse::<i64>().ok()),
            None => (part, None),
        };
        let step = match path.take() {
            None => AttributePath::new(name.to_owned()),
            Some(path) => path.attribute(name.to_owned()),
        };
        path = Some(match index {
            Some(index) => step.index(index),
            None => step,
        });
    }
    path.unwrap_or_else(|| AttributePath::new(attribute.to_owned()))
}

/// Renders both definitions into the planned state, when every argument is known.
async fn plan_definitions(aws: &AwsClients, state: &mut WorkflowState) -> Result<(), crate::aws::AwsError> {
    if !state.fully_known() {
        state.definition = Value::Unknown;
        state.finisher_definition = Value::Unknown;
        return Ok(());
    }
    let context = cluster::aws_context(aws).await?;
    let spec = state.spec();
    let names = WorkflowNames::new(&spec, &context);
    state.definition = Value::Value(main_definition(&names).to_string());
    state.finisher_definition = Value::Value(finisher_definition(&names).to_string());
    Ok(())
}

fn changed(a: &WorkflowState, b: &WorkflowState, name: &str) -> bool {
    let of = |state: &WorkflowState| {
        serde_json::to_value(state.spec())
            .ok()
            .and_then(|mut v| v.get_mut(name).map(serde_json::Value::take))
    };
    of(a) != of(b)
}

#[async_trait]
impl Resource for WorkflowResource {
    type State<'a> = WorkflowState;
    type PrivateState<'a> = ValueEmpty;
    type ProviderMetaState<'a> = ValueEmpty;

    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        Some(schema::schema())
    }

    async fn validate<'a>(&self, diags: &mut Diagnostics, config: Self::State<'a>) -> Option<()> {
        if config.fully_known()
            && let Err(errors) = spec::validate(&config.spec())
        {
            for error in errors {
                let summary = format!("Invalid {}", error.attribute);
                diags.error(summary, error.message, attribute_path(&error.attribute));
            }
        }
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
        if let Err(failure) = deploy::refresh(aws, state.spec(), &mut children).await {
            report(diags, failure);
            return Some((state, private_state));
        }
        // Without its main state machine there is no workflow left to heal.
        if recorded.state_machine_arn.is_some() && children.state_machine_arn.is_none() {
            return None;
        }
        state.set_children(&children);
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
        if let Err(error) = plan_definitions(&aws, &mut state).await {
            diags.root_error("Failed reading the AWS account", error.to_string());
            return None;
        }
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
        if let Err(error) = plan_definitions(&aws, &mut state).await {
            diags.root_error("Failed reading the AWS account", error.to_string());
            return None;
        }
        let spec = state.spec();
        state.mark_changing_children_unknown(&spec);
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
        let tags = plain_map(&planned_state.tags_all);
        let mut children = state::WorkflowChildren::default();
        let work = deploy::create(aws, planned_state.spec(), tags, &mut children);
        within(diags, timeouts::DEFAULT_CREATE, "creating the workflow", work).await;
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
        let tags = plain_map(&planned_state.tags_all);
        let tags_changed = tags != plain_map(&prior_state.tags_all);
        let force_destroy = planned_state.force_destroy.as_ref_option().copied().unwrap_or(false);
        let mut children = prior_state.children();
        let work = deploy::update(
            aws,
            planned_state.spec(),
            tags,
            tags_changed,
            force_destroy,
            &mut children,
        );
        within(diags, timeouts::DEFAULT_CREATE, "updating the workflow", work).await;
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
        let force_destroy = prior_state.force_destroy.as_ref_option().copied().unwrap_or(false);
        let mut children = prior_state.children();
        let work = deploy::destroy(aws, prior_state.spec(), force_destroy, &mut children);
        within(diags, timeouts::DEFAULT_DELETE, "destroying the workflow", work).await;
        diags.errors.is_empty().then_some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_errors_point_at_the_block_and_field() {
        let path = attribute_path("task[1].detail_type");
        assert_eq!(path, AttributePath::new("task").index(1).attribute("detail_type"));
        assert_eq!(attribute_path("name"), AttributePath::new("name"));
        assert_eq!(
            attribute_path("trail.retention_days"),
            AttributePath::new("trail").attribute("retention_days")
        );
    }
}
