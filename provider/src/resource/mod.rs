//! One resource shape: Terraform's lifecycle (validate, read, plan, apply, import, destroy)
//! written once in [`OwnerResource`], over a [`ResourceKind`] that says what is particular to a
//! resource that owns children. Both resources are an `OwnerResource`, so they share their
//! timeouts, their validation path, their replacement rule and their bookkeeping of children.

pub mod attributes;
mod drift;
mod report;
pub mod single_block;
mod tags;
pub mod timeouts;

use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::Arc;

use async_trait::async_trait;
use eventdriven_core::config_path::{ConfigPath, Step};
use eventdriven_core::spec::SpecError;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tf_provider::schema::{Block, Description, NestedBlock, Schema};
use tf_provider::value::{Value, ValueEmpty};
use tf_provider::{AttributePath, Diagnostics, Resource};

use crate::aws::{AwsClients, AwsError, Configured, Tags};
use crate::lifecycle::{Failure, Owner, ReadSettings};
use attributes::{AttributeRow, outside_their_sets, replacing, schema_attributes};
use timeouts::Timeouts;

pub use report::{Warnings, report, reported, within};
pub use tags::{StringMap, merged_tags, plain_map};

/// The attributes every resource has, borrowed from its state.
pub struct Common<'s> {
    pub id: &'s mut Value<String>,
    pub name: &'s mut Value<String>,
    pub tags: &'s mut StringMap,
    pub tags_all: &'s mut StringMap,
    pub timeouts: &'s mut Value<Timeouts>,
    /// The settings the last refresh found changed outside Terraform; null when none.
    pub changed_outside_terraform: &'s mut Value<Vec<Value<String>>>,
}

/// What is particular to one resource: its attributes and blocks, its defaults and validation,
/// what its plan computes, and how its children are walked.
#[async_trait]
pub trait ResourceKind: Owner<Children: Clone + Default> {
    type State: Clone + Default + Serialize + DeserializeOwned + Send + Sync + 'static;

    /// What messages call it: "pipeline".
    const NOUN: &'static str;
    const DESCRIPTION: &'static str;

    /// Its attribute table.
    fn attributes() -> &'static [AttributeRow<Self::State>];

    /// Its blocks, besides `timeouts`.
    fn blocks() -> HashMap<String, NestedBlock> {
        HashMap::new()
    }

    /// The paths inside its blocks whose change from `prior` to `planned` replaces the resource:
    /// a row's `replaces` covers a top-level attribute whole, where only part of a block may
    /// replace. Terraform replaces when a returned path's value differs, or is unknown.
    fn replacing_in_blocks(_prior: &Self::State, _planned: &Self::State) -> Vec<AttributePath> {
        Vec::new()
    }

    fn common(state: &mut Self::State) -> Common<'_>;

    /// Core's validation errors worth reporting for `config`: none about values not known yet.
    fn spec_errors(config: &Self::State) -> Vec<SpecError>;

    /// Fills unset optional arguments with core's defaults, so the plan shows real values.
    fn apply_defaults(state: &mut Self::State);

    /// The plan's computed attributes: for a create (`prior` is `None`) every child unknown, for
    /// an update those the apply will change.
    async fn plan_computed(
        aws: &AwsClients,
        prior: Option<&Self::State>,
        planned: &mut Self::State,
    ) -> Result<(), AwsError>;

    /// The children the state records.
    fn children(state: &Self::State) -> Self::Children;

    /// Records `children` in the state; a child not created is null, never unknown, so a
    /// half-finished create leaves a valid state behind.
    fn set_children(state: &mut Self::State, children: &Self::Children);

    /// Forgets every recorded child that no longer exists, notes what the others hold, and
    /// reads the settings they own.
    async fn refresh(
        aws: Arc<AwsClients>,
        state: &Self::State,
        children: &mut Self::Children,
    ) -> Result<ReadSettings, Failure>;

    /// Whether refresh found nothing of the resource left, so it leaves the state. Anything
    /// less is healed: read records what is missing, plan shows it, apply creates it again.
    fn nothing_left(refreshed: &Self::Children) -> bool;

    /// The attributes of the children recorded before refresh and missing after it.
    fn missing(recorded: &Self::Children, refreshed: &Self::Children) -> Vec<String>;

    /// Surfaces in the arguments what refresh saw changed outside Terraform.
    fn observe(_state: &mut Self::State, _children: &Self::Children) {}

    async fn create(
        aws: Arc<AwsClients>,
        planned: &Self::State,
        tags: Tags,
        children: &mut Self::Children,
    ) -> Result<Warnings, Failure>;

    /// Re-creates children found missing, then re-applies every in-place setting (and the tags,
    /// when they changed).
    async fn update(
        aws: Arc<AwsClients>,
        planned: &Self::State,
        tags: Tags,
        tags_changed: bool,
        children: &mut Self::Children,
    ) -> Result<Warnings, Failure>;

    async fn destroy(aws: Arc<AwsClients>, prior: &Self::State, children: &mut Self::Children) -> Result<(), Failure>;

    /// The state of the resource named `id`, rebuilt from its children.
    async fn import(aws: Arc<AwsClients>, id: &str) -> Result<Self::State, Failure>;
}

/// A Terraform resource of kind `K`.
pub struct OwnerResource<K> {
    configured: Arc<Configured>,
    kind: PhantomData<fn() -> K>,
}

impl<K> OwnerResource<K> {
    pub fn new(configured: Arc<Configured>) -> Self {
        Self {
            configured,
            kind: PhantomData,
        }
    }
}

/// `path` as Terraform addresses it in a resource whose blocks are `blocks`. A block of at most
/// one element (`NestedBlock::Optional`) is a list of one to Terraform, so `record.key` is
/// `record[0].key` there. A set element has no address of its own, so an error in one points at
/// the set block, and its message names the element.
pub fn terraform_path(blocks: &HashMap<String, NestedBlock>, path: &ConfigPath) -> AttributePath {
    let mut terraform = AttributePath::root();
    let mut blocks = Some(blocks);
    for step in path.steps() {
        terraform = match step {
            Step::Attribute(name) => {
                let nested = blocks.and_then(|blocks| blocks.get(*name));
                blocks = nested.map(|nested| &block_of(nested).blocks);
                match nested {
                    Some(NestedBlock::Optional(_)) => terraform.attribute(*name).index(0),
                    _ => terraform.attribute(*name),
                }
            }
            Step::Index(index) => terraform.index(*index as i64),
            Step::Named(_) => break,
        };
    }
    terraform
}

fn block_of(nested: &NestedBlock) -> &Block {
    match nested {
        NestedBlock::Single(block)
        | NestedBlock::List(block)
        | NestedBlock::Set(block)
        | NestedBlock::Map(block)
        | NestedBlock::Group(block)
        | NestedBlock::Optional(block) => block,
    }
}

fn timeouts_of<K: ResourceKind>(state: &mut K::State) -> Timeouts {
    K::common(state).timeouts.as_ref_option().cloned().unwrap_or_default()
}

fn tags_of<K: ResourceKind>(state: &mut K::State) -> Tags {
    plain_map(K::common(state).tags_all)
}

/// The private state after an apply: the settings as the apply left them, read back, so the
/// next refresh sees what changes after it. A failed apply keeps `planned`: a setting it did
/// not set back still shows as changed.
async fn settings_applied<K: ResourceKind>(
    diags: &Diagnostics,
    aws: Arc<AwsClients>,
    state: &K::State,
    children: &K::Children,
    planned: drift::PrivateState,
) -> drift::PrivateState {
    if !diags.errors.is_empty() {
        return planned;
    }
    match K::refresh(aws, state, &mut children.clone()).await {
        Ok(settings) => Some(drift::Recorded::of(&settings)),
        Err(_) => planned,
    }
}

#[async_trait]
impl<K: ResourceKind> Resource for OwnerResource<K> {
    type State<'a> = K::State;
    type PrivateState<'a> = drift::PrivateState;
    type ProviderMetaState<'a> = ValueEmpty;

    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        let mut blocks = K::blocks();
        blocks.insert("timeouts".to_owned(), timeouts::block(K::NOUN));
        Some(Schema {
            version: 1,
            block: Block {
                version: 1,
                attributes: schema_attributes(K::attributes()),
                blocks,
                description: Description::markdown(K::DESCRIPTION),
                deprecated: false,
            },
        })
    }

    async fn validate<'a>(&self, diags: &mut Diagnostics, mut config: Self::State<'a>) -> Option<()> {
        for (attribute, message) in outside_their_sets(K::attributes(), &config) {
            let summary = format!("Invalid {attribute}");
            diags.error(summary, message, AttributePath::new(attribute));
        }
        let blocks = K::blocks();
        for error in K::spec_errors(&config) {
            let summary = format!("Invalid {}", error.attribute);
            diags.error(summary, error.message, terraform_path(&blocks, &error.attribute));
        }
        for (path, message) in timeouts_of::<K>(&mut config).errors() {
            diags.error("Invalid timeout", message, path);
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
        let recorded = K::children(&state);
        let mut children = recorded.clone();
        let settings = match K::refresh(aws, &state, &mut children).await {
            Ok(settings) => settings,
            Err(failure) => {
                report(diags, failure);
                return Some((state, private_state));
            }
        };
        if K::nothing_left(&children) {
            return None;
        }
        let missing = K::missing(&recorded, &children);
        if !missing.is_empty() {
            diags.root_warning(
                format!("Part of the {} was deleted outside Terraform", K::NOUN),
                format!("missing now: {}; the next apply creates them again", missing.join(", ")),
            );
        }
        let (changed, kept) = drift::compare(private_state.as_ref(), &settings);
        if !changed.is_empty() {
            diags.root_warning(
                format!("Part of the {} was changed outside Terraform", K::NOUN),
                format!("changed now: {}; the next apply sets them back", changed.join(", ")),
            );
        }
        K::set_children(&mut state, &children);
        K::observe(&mut state, &children);
        *K::common(&mut state).changed_outside_terraform = match changed.is_empty() {
            true => Value::Null,
            false => Value::Value(changed.into_iter().map(Value::Value).collect()),
        };
        Some((state, Some(kept)))
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
        K::apply_defaults(&mut state);
        let common = K::common(&mut state);
        *common.id = common.name.clone();
        *common.tags_all = merged_tags(common.tags, &aws.default_tags);
        *common.changed_outside_terraform = Value::Null;
        if let Err(error) = K::plan_computed(&aws, None, &mut state).await {
            diags.root_error(format!("Failed planning the {}", K::NOUN), error.to_string());
            return None;
        }
        Some((state, None))
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
        K::apply_defaults(&mut state);
        let common = K::common(&mut state);
        *common.tags_all = merged_tags(common.tags, &aws.default_tags);
        // What changed outside Terraform is set back by this apply.
        *common.changed_outside_terraform = Value::Null;
        let replace = replacing(K::attributes(), &prior_state, &state)
            .into_iter()
            .map(AttributePath::new)
            .chain(K::replacing_in_blocks(&prior_state, &state))
            .collect();
        if let Err(error) = K::plan_computed(&aws, Some(&prior_state), &mut state).await {
            diags.root_error(format!("Failed planning the {}", K::NOUN), error.to_string());
            return None;
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
        mut planned_state: Self::State<'a>,
        _config_state: Self::State<'a>,
        planned_private_state: Self::PrivateState<'a>,
        _provider_meta_state: Self::ProviderMetaState<'a>,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        let aws = self.configured.clients(diags)?;
        let tags = tags_of::<K>(&mut planned_state);
        let limit = timeouts_of::<K>(&mut planned_state).create();
        let mut children = K::Children::default();
        let what = format!("creating the {}", K::NOUN);
        within(
            diags,
            limit,
            &what,
            K::create(aws.clone(), &planned_state, tags, &mut children),
        )
        .await;
        let mut state = planned_state;
        let common = K::common(&mut state);
        *common.id = common.name.clone();
        // Whatever failed, the state records exactly the children that exist.
        K::set_children(&mut state, &children);
        let private = settings_applied::<K>(diags, aws, &state, &children, planned_private_state).await;
        Some((state, private))
    }

    async fn update<'a>(
        &self,
        diags: &mut Diagnostics,
        mut prior_state: Self::State<'a>,
        mut planned_state: Self::State<'a>,
        _config_state: Self::State<'a>,
        planned_private_state: Self::PrivateState<'a>,
        _provider_meta_state: Self::ProviderMetaState<'a>,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        let aws = self.configured.clients(diags)?;
        let tags = tags_of::<K>(&mut planned_state);
        let tags_changed = tags != tags_of::<K>(&mut prior_state);
        let limit = timeouts_of::<K>(&mut planned_state).create();
        let mut children = K::children(&prior_state);
        let what = format!("updating the {}", K::NOUN);
        let work = K::update(aws.clone(), &planned_state, tags, tags_changed, &mut children);
        within(diags, limit, &what, work).await;
        let mut state = planned_state;
        K::set_children(&mut state, &children);
        let private = settings_applied::<K>(diags, aws, &state, &children, planned_private_state).await;
        Some((state, private))
    }

    async fn import<'a>(
        &self,
        diags: &mut Diagnostics,
        id: String,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        let aws = self.configured.clients(diags)?;
        let state = reported(diags, K::import(aws, &id).await)?;
        Some((state, None))
    }

    async fn destroy<'a>(
        &self,
        diags: &mut Diagnostics,
        mut prior_state: Self::State<'a>,
        _planned_private_state: Self::PrivateState<'a>,
        _provider_meta_state: Self::ProviderMetaState<'a>,
    ) -> Option<()> {
        let aws = self.configured.clients(diags)?;
        let limit = timeouts_of::<K>(&mut prior_state).delete();
        let mut children = K::children(&prior_state);
        let what = format!("destroying the {}", K::NOUN);
        let work = async {
            K::destroy(aws, &prior_state, &mut children)
                .await
                .map(|()| Warnings::new())
        };
        within(diags, limit, &what, work).await;
        diags.errors.is_empty().then_some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blocks(entries: Vec<(&str, NestedBlock)>) -> HashMap<String, NestedBlock> {
        entries
            .into_iter()
            .map(|(name, block)| (name.to_owned(), block))
            .collect()
    }

    fn block(nested: Vec<(&str, NestedBlock)>) -> Block {
        Block {
            blocks: blocks(nested),
            ..Default::default()
        }
    }

    #[test]
    fn config_paths_become_terraform_paths_by_the_blocks_nesting() {
        let record = block(vec![
            ("generated", NestedBlock::Optional(block(vec![]))),
            ("column", NestedBlock::List(block(vec![]))),
        ]);
        let schema = blocks(vec![
            ("task", NestedBlock::List(block(vec![]))),
            ("listener", NestedBlock::Set(block(vec![]))),
            ("trail", NestedBlock::Optional(block(vec![]))),
            ("record", NestedBlock::Optional(record)),
        ]);
        let path = |config: ConfigPath| terraform_path(&schema, &config);
        assert_eq!(
            path(ConfigPath::attribute("name")),
            AttributePath::new("name"),
            "an attribute is itself"
        );
        assert_eq!(
            path(ConfigPath::attribute("task").index(1).then("detail_type")),
            AttributePath::new("task").index(1).attribute("detail_type")
        );
        assert_eq!(
            path(ConfigPath::attribute("trail").then("retention_days")),
            AttributePath::new("trail").index(0).attribute("retention_days"),
            "a block of at most one element is a list of one"
        );
        assert_eq!(
            path(ConfigPath::attribute("record").then("column").index(2).then("type")),
            AttributePath::new("record")
                .index(0)
                .attribute("column")
                .index(2)
                .attribute("type")
        );
        assert_eq!(
            path(ConfigPath::attribute("record").then("generated").then("kind")),
            AttributePath::new("record")
                .index(0)
                .attribute("generated")
                .index(0)
                .attribute("kind")
        );
        assert_eq!(
            path(ConfigPath::attribute("record").then("column")),
            AttributePath::new("record").index(0).attribute("column")
        );
        assert_eq!(
            path(ConfigPath::attribute("listener").named("enrich").then("image")),
            AttributePath::new("listener")
        );
    }
}
