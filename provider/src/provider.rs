//! The `eventdriven` provider block: region, profile, default tags and endpoint overrides.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tf_provider::schema::{Attribute, AttributeConstraint, AttributeType, Block, Description, NestedBlock, Schema};
use tf_provider::value::{Value, ValueEmpty, serde_as_vec};
use tf_provider::{Diagnostics, DynamicResource, Provider};

use crate::aws::{AwsClients, Configured, Endpoints, ProviderSettings};
use crate::pipeline::plan::Pipeline;
use crate::resource::OwnerResource;
use crate::workflow::plan::Workflow;

#[derive(Default)]
pub struct EventdrivenProvider {
    configured: Arc<Configured>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct ProviderConfig {
    region: Value<String>,
    profile: Value<String>,
    default_tags: Value<BTreeMap<String, Value<String>>>,
    #[serde(with = "serde_as_vec")]
    endpoints: Value<BTreeMap<String, Value<String>>>,
}

fn optional_string(doc: &str) -> Attribute {
    Attribute {
        attr_type: AttributeType::String,
        description: Description::markdown(doc),
        constraint: AttributeConstraint::Optional,
        ..Default::default()
    }
}

#[async_trait]
impl Provider for EventdrivenProvider {
    type Config<'a> = ProviderConfig;
    type MetaState<'a> = ValueEmpty;

    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        let endpoints = Block {
            attributes: Endpoints::SERVICES
                .iter()
                .map(|service| {
                    let doc = format!("Endpoint URL for {service}, over `AWS_ENDPOINT_URL_*`.");
                    (service.to_string(), optional_string(&doc))
                })
                .collect(),
            description: Description::plain("Custom endpoints, e.g. for an emulator"),
            ..Default::default()
        };
        let attributes: HashMap<String, Attribute> = [
            (
                "region",
                optional_string("AWS region; defaults to the SDK's chain (`AWS_REGION`, profile)."),
            ),
            (
                "profile",
                optional_string("Shared config profile; defaults to the SDK's chain (`AWS_PROFILE`)."),
            ),
            (
                "default_tags",
                Attribute {
                    attr_type: AttributeType::Map(Box::new(AttributeType::String)),
                    description: Description::markdown("Tags for every child of every pipeline."),
                    constraint: AttributeConstraint::Optional,
                    ..Default::default()
                },
            ),
        ]
        .into_iter()
        .map(|(name, attr)| (name.to_owned(), attr))
        .collect();
        Some(Schema {
            version: 1,
            block: Block {
                attributes,
                blocks: [("endpoints".to_owned(), NestedBlock::Optional(endpoints))]
                    .into_iter()
                    .collect(),
                description: Description::markdown("Deploys eventdriven batch pipelines on AWS."),
                ..Default::default()
            },
        })
    }

    async fn configure<'a>(
        &self,
        diags: &mut Diagnostics,
        _terraform_version: String,
        config: Self::Config<'a>,
    ) -> Option<()> {
        let mut settings = ProviderSettings {
            region: config.region.as_option(),
            profile: config.profile.as_option(),
            ..Default::default()
        };
        for (key, value) in config.default_tags.as_option().unwrap_or_default() {
            if let Value::Value(value) = value {
                settings.default_tags.insert(key, value);
            }
        }
        let mut endpoints = Endpoints::default();
        for (service, url) in config.endpoints.as_option().unwrap_or_default() {
            if let Value::Value(url) = url {
                endpoints.set(&service, url);
            }
        }
        settings.endpoints = endpoints;
        match AwsClients::load(&settings).await {
            Ok(clients) => {
                self.configured.set(clients);
                Some(())
            }
            Err(message) => {
                diags.root_error("Invalid provider configuration", message);
                None
            }
        }
    }

    fn get_resources(&self, _diags: &mut Diagnostics) -> Option<HashMap<String, Box<dyn DynamicResource>>> {
        let pipeline: Box<dyn DynamicResource> = Box::new(OwnerResource::<Pipeline>::new(self.configured.clone()));
        let workflow: Box<dyn DynamicResource> = Box::new(OwnerResource::<Workflow>::new(self.configured.clone()));
        Some(
            [
                ("batch_pipeline".to_owned(), pipeline),
                ("workflow".to_owned(), workflow),
            ]
            .into_iter()
            .collect(),
        )
    }
}
