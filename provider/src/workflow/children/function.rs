//! A listener's function: the handler image with the listener's command, outside any VPC,
//! invocable by its rule only, logging to a group with the workflow's retention.

use std::collections::BTreeMap;

use async_trait::async_trait;
use eventdriven_core::workflow::environment::listener_environment;
use eventdriven_core::workflow::spec::ListenerSpec;

use crate::adapters::function;
use crate::aws::AwsError;
use crate::lifecycle::Child;
use crate::workflow::plan::{Workflow, WorkflowPlan, WorkflowScope};
use crate::workflow::state::WorkflowChildren;

/// A workflow listener's function: the handler image with the listener's command, outside any
/// VPC, invocable by its rule only.
pub struct ListenerFunction(pub String);

impl ListenerFunction {
    /// The listener's recorded role, which its function runs as.
    fn role(&self, children: &WorkflowChildren) -> String {
        let ids = children.listeners.get(&self.0);
        ids.and_then(|ids| ids.role_arn.clone()).unwrap_or_default()
    }
}

/// The listener's log group, with the workflow's retention.
async fn put_log_group(plan: &WorkflowPlan, listener: &ListenerSpec) -> Result<(), AwsError> {
    let function = plan.names().function(listener);
    function::put_function_log_group(&plan.aws, &function, &plan.tags, plan.spec.log_retention_days).await
}

/// The function's settings, borrowing the name and environment the caller holds.
fn listener_settings<'a>(
    plan: &'a WorkflowPlan,
    listener: &'a ListenerSpec,
    name: &'a str,
    environment: &'a BTreeMap<String, String>,
    role_arn: &'a str,
) -> function::FunctionSettings<'a> {
    function::FunctionSettings {
        name,
        image_uri: listener.image(&plan.spec),
        architecture: plan.spec.architecture.as_str(),
        role_arn,
        subnet_ids: &[],
        security_group_ids: &[],
        environment,
        timeout_seconds: listener.timeout_seconds as i32,
        memory_mb: listener.memory_size as i32,
        command: &listener.command,
    }
}

#[async_trait]
impl Child<Workflow> for ListenerFunction {
    fn label(&self) -> &'static str {
        "Lambda function (listener)"
    }

    fn name(&self, plan: &WorkflowPlan) -> String {
        plan.listener(&self.0)
            .map(|l| plan.names().function(l))
            .unwrap_or_default()
    }

    fn recorded<'c>(&self, children: &'c mut WorkflowChildren) -> &'c mut Option<String> {
        &mut children.listeners.entry(self.0.clone()).or_default().function_arn
    }

    async fn ensure(&self, plan: &WorkflowPlan, children: &mut WorkflowChildren) -> Result<(), AwsError> {
        let Some(listener) = plan.listener(&self.0) else {
            return Ok(());
        };
        if self.recorded(children).is_none() {
            // Created first, with a retention, so Lambda does not create it without one.
            put_log_group(plan, listener).await?;
            let role = self.role(children);
            let (name, environment) = (self.name(plan), listener_environment(&plan.names(), listener));
            let settings = listener_settings(plan, listener, &name, &environment, &role);
            let arn = function::create(&plan.aws, &settings, &plan.tags).await?;
            *self.recorded(children) = Some(arn);
            function::wait_active(&plan.aws, &name).await?;
            function::allow_rule(&plan.aws, &name, &plan.names().listener_rule_arn(listener)).await?;
        }
        Ok(())
    }

    /// Image, command, environment, timeout and memory follow the configuration in place.
    async fn apply_settings(&self, plan: &WorkflowPlan, children: &mut WorkflowChildren) -> Result<(), AwsError> {
        let Some(listener) = plan.listener(&self.0) else {
            return Ok(());
        };
        if self.recorded(children).is_none() {
            return Ok(());
        }
        let name = self.name(plan);
        let Some(live) = function::read(&plan.aws, &name).await? else {
            return Ok(());
        };
        let (role, environment) = (self.role(children), listener_environment(&plan.names(), listener));
        let settings = listener_settings(plan, listener, &name, &environment, &role);
        let drift = live.drift(&settings);
        if drift.image {
            function::update_image(&plan.aws, &name, settings.image_uri, settings.architecture).await?;
        }
        if drift.environment || drift.command || drift.timeout || drift.memory {
            function::update_configuration(&plan.aws, &settings).await?;
        }
        put_log_group(plan, listener).await?;
        function::allow_rule(&plan.aws, &name, &plan.names().listener_rule_arn(listener)).await
    }

    async fn tag(&self, plan: &WorkflowPlan, id: &str) -> Result<(), AwsError> {
        function::put_tags(&plan.aws, id, &plan.tags).await
    }

    async fn refresh(
        &self,
        scope: &WorkflowScope,
        id: &str,
        _children: &mut WorkflowChildren,
    ) -> Result<bool, AwsError> {
        Ok(function::read(&scope.aws, id).await?.is_some())
    }

    async fn delete(&self, scope: &WorkflowScope, id: &str, _children: &WorkflowChildren) -> Result<(), AwsError> {
        function::delete_with_log_group(&scope.aws, id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workflow::children::fixtures;

    #[test]
    fn a_listener_runs_its_command_outside_any_vpc_as_its_recorded_role() {
        let mut spec = fixtures::spec();
        spec.listeners[0].timeout_seconds = 90;
        spec.listeners[0].memory_size = 512;
        let plan = fixtures::plan(spec);
        let listener = plan.listener(fixtures::LISTENER).unwrap();
        let function = ListenerFunction(fixtures::LISTENER.into());
        let mut children = WorkflowChildren::default();
        children
            .listeners
            .entry(fixtures::LISTENER.into())
            .or_default()
            .role_arn = Some("arn:role".into());
        let (name, environment, role) = (function.name(&plan), BTreeMap::new(), function.role(&children));
        let settings = listener_settings(&plan, listener, &name, &environment, &role);
        assert_eq!(settings.role_arn, "arn:role");
        assert!(settings.subnet_ids.is_empty() && settings.security_group_ids.is_empty());
        assert_eq!(settings.command, ["cookie-report", fixtures::LISTENER]);
        assert_eq!((settings.timeout_seconds, settings.memory_mb), (90, 512));
        assert_eq!(
            settings.image_uri, "registry/handlers:1",
            "the workflow's handler image by default"
        );
    }

    #[test]
    fn a_listener_may_run_an_image_of_its_own() {
        let mut spec = fixtures::spec();
        spec.listeners[0].image = Some("registry/own:2".into());
        let plan = fixtures::plan(spec);
        let listener = plan.listener(fixtures::LISTENER).unwrap();
        let environment = BTreeMap::new();
        let settings = listener_settings(&plan, listener, "f", &environment, "");
        assert_eq!(settings.image_uri, "registry/own:2");
    }

    #[test]
    fn a_listener_without_a_recorded_role_runs_as_none() {
        let function = ListenerFunction(fixtures::LISTENER.into());
        assert_eq!(function.role(&WorkflowChildren::default()), "");
    }
}
