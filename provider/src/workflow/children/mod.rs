//! The workflow's children, one file per kind: each implements [`Child`](crate::lifecycle::Child)
//! for the workflow over an owner-free adapter of `crate::adapters`, reading the workflow's plan
//! and recording its identity in the workflow's `WorkflowChildren`. `deploy::order` lists them.

pub mod bucket;
pub mod function;
pub mod log_group;
pub mod role;
pub mod rule;
pub mod state_machine;

/// The plan the children's tests read, built without reaching AWS.
#[cfg(test)]
mod fixtures {
    use std::sync::Arc;

    use eventdriven_core::cluster::AwsContext;
    use eventdriven_core::workflow::spec::{ListenerSpec, TaskSpec, TrailSpec, WorkflowSpec};

    use crate::aws::{AwsClients, Tags};
    use crate::workflow::plan::WorkflowPlan;

    /// The listener every fixture workflow has.
    pub const LISTENER: &str = "get-multiple";

    /// A workflow on the bus `cookies` with one task, the listener answering it, a bucket and
    /// a trail.
    pub fn spec() -> WorkflowSpec {
        let mut spec = WorkflowSpec::new("cookie-report", "registry/handlers:1");
        spec.event_bus = "cookies".into();
        spec.bucket = true;
        spec.trail = Some(TrailSpec { retention_days: 7 });
        spec.tasks = vec![TaskSpec::new("GetMultiple", "get.multiple")];
        spec.listeners = vec![ListenerSpec::new(
            LISTENER,
            &["get.multiple"],
            &["cookie-report", LISTENER],
        )];
        spec
    }

    pub fn plan(spec: WorkflowSpec) -> WorkflowPlan {
        WorkflowPlan {
            aws: Arc::new(AwsClients::offline()),
            spec,
            context: AwsContext {
                account_id: "123456789012".into(),
                region: "eu-west-1".into(),
                partition: "aws".into(),
            },
            tags: Tags::from([("team".to_owned(), "cookies".to_owned())]),
        }
    }
}
