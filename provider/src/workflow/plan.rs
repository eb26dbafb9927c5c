//! What a workflow's children are built from: the spec resolved against the account (the plan),
//! and what refreshing and deleting need (the scope), which the state alone provides.

use std::sync::Arc;

use eventdriven_core::cluster::AwsContext;
use eventdriven_core::workflow::naming::WorkflowNames;
use eventdriven_core::workflow::spec::{ListenerSpec, WorkflowSpec};

use crate::aws::{AwsClients, AwsError, Tags};
use crate::lifecycle::Owner;
use crate::workflow::state::WorkflowChildren;

pub enum Workflow {}

impl Owner for Workflow {
    type Plan = WorkflowPlan;
    type Scope = WorkflowScope;
    type Children = WorkflowChildren;
}

pub struct WorkflowPlan {
    pub aws: Arc<AwsClients>,
    pub spec: WorkflowSpec,
    pub context: AwsContext,
    pub tags: Tags,
}

impl WorkflowPlan {
    pub fn names(&self) -> WorkflowNames<'_> {
        WorkflowNames::new(&self.spec, &self.context)
    }

    /// The bus every rule lives on; `None` for the default bus.
    pub fn bus(&self) -> Option<&str> {
        bus_of(&self.spec)
    }

    pub fn listener(&self, name: &str) -> Option<&ListenerSpec> {
        self.spec.listeners.iter().find(|l| l.name == name)
    }
}

fn bus_of(spec: &WorkflowSpec) -> Option<&str> {
    (spec.event_bus != "default").then_some(spec.event_bus.as_str())
}

pub struct WorkflowScope {
    pub aws: Arc<AwsClients>,
    /// The spec as the state records it: names and the bus derive from it.
    pub spec: WorkflowSpec,
    pub context: AwsContext,
    pub force_destroy: bool,
}

impl WorkflowScope {
    pub fn names(&self) -> WorkflowNames<'_> {
        WorkflowNames::new(&self.spec, &self.context)
    }

    pub fn bus(&self) -> Option<&str> {
        bus_of(&self.spec)
    }

    pub fn may_lose(&self, child: &str, holds_data: bool, what: &str) -> Result<(), AwsError> {
        crate::lifecycle::may_lose("workflow", self.force_destroy, child, holds_data, what)
    }
}
