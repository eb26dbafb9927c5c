//! A listener's function. The workflow creates it from the handler image with the listener's
//! command, or from a zip package on a managed runtime, outside any VPC, logging to a group with
//! the workflow's retention; or it wires an existing function, which it never edits beyond who
//! may invoke it and where its invocations' results go. Either way the listener's rule alone
//! may invoke it, and its failures (a side effect's successes too) go to the workflow's bus.

use std::collections::BTreeMap;

use async_trait::async_trait;
use eventdriven_core::workflow::environment::listener_environment;
use eventdriven_core::workflow::spec::{ListenerCode, ListenerSpec};

use crate::adapters::function::{self, ZipCode};
use crate::aws::AwsError;
use crate::lifecycle::{Child, OwnedSettings};
use crate::workflow::plan::{Workflow, WorkflowPlan, WorkflowScope};
use crate::workflow::state::WorkflowChildren;

pub struct ListenerFunction(pub String);

impl ListenerFunction {
    /// The listener's recorded role, which a function the workflow creates runs as.
    fn role(&self, children: &WorkflowChildren) -> String {
        let ids = children.listeners.get(&self.0);
        ids.and_then(|ids| ids.role_arn.clone()).unwrap_or_default()
    }

    /// Whether the function `id` (name or ARN) is the one the workflow creates for this
    /// listener, rather than someone else's.
    fn is_own(&self, names: &eventdriven_core::workflow::naming::WorkflowNames<'_>, id: &str) -> bool {
        id.rsplit(':').next() == Some(names.own_function(&self.0).as_str())
    }

    async fn create(
        &self,
        plan: &WorkflowPlan,
        listener: &ListenerSpec,
        children: &mut WorkflowChildren,
    ) -> Result<(), AwsError> {
        // Created first, with a retention, so Lambda does not create it without one.
        put_log_group(plan, listener).await?;
        let zip = zip_code(plan, listener)?;
        let (name, environment, role) = (
            self.name(plan),
            listener_environment(&plan.names(), listener),
            self.role(children),
        );
        let settings = listener_settings(plan, listener, &name, &environment, &role, zip.as_ref());
        let arn = function::create(&plan.aws, &settings, &plan.tags).await?;
        *self.recorded(children) = Some(arn);
        function::wait_active(&plan.aws, &name).await
    }

    /// Brings a function the workflow created in line with the configuration.
    async fn update(
        &self,
        plan: &WorkflowPlan,
        listener: &ListenerSpec,
        children: &mut WorkflowChildren,
    ) -> Result<(), AwsError> {
        let name = self.name(plan);
        let Some(live) = function::read(&plan.aws, &name).await? else {
            return Ok(());
        };
        let zip = zip_code(plan, listener)?;
        let (role, environment) = (self.role(children), listener_environment(&plan.names(), listener));
        let settings = listener_settings(plan, listener, &name, &environment, &role, zip.as_ref());
        let drift = live.drift(&settings);
        if drift.package_type {
            // Lambda keeps a function's package type for life: a new kind is a new function.
            function::delete(&plan.aws, &name).await?;
            *self.recorded(children) = None;
            return self.create(plan, listener, children).await;
        }
        if drift.image {
            function::update_image(&plan.aws, &name, settings.image_uri, settings.architecture).await?;
        }
        if let Some(zip) = zip.as_ref().filter(|_| drift.code || drift.architecture) {
            function::update_zip(&plan.aws, &name, zip, settings.architecture).await?;
        }
        if drift.environment || drift.command || drift.timeout || drift.memory || drift.runtime {
            function::update_configuration(&plan.aws, &settings).await?;
        }
        put_log_group(plan, listener).await
    }
}

/// The listener's zip package, read from disk, for a zip listener.
fn zip_code(plan: &WorkflowPlan, listener: &ListenerSpec) -> Result<Option<ZipCode>, AwsError> {
    match listener.code(&plan.spec) {
        ListenerCode::Zip(package) => ZipCode::read(&package.filename, &package.runtime, &package.handler).map(Some),
        _ => Ok(None),
    }
}

/// The listener's log group, with the workflow's retention.
async fn put_log_group(plan: &WorkflowPlan, listener: &ListenerSpec) -> Result<(), AwsError> {
    let function = plan.names().function(listener);
    function::put_function_log_group(&plan.aws, &function, &plan.tags, plan.spec.log_retention_days).await
}

/// Lets the listener's rule invoke the function, and sends its results to the bus.
async fn wire(plan: &WorkflowPlan, listener: &ListenerSpec, function: &str) -> Result<(), AwsError> {
    let names = plan.names();
    function::allow_rule(&plan.aws, function, &names.listener_rule_arn(listener)).await?;
    let bus = names.event_bus_arn();
    let results = function::put_invocation_results(&plan.aws, function, &bus, listener.side_effect);
    results.await.map_err(|e| {
        if e.has_code("InvalidParameterValueException") && listener.function_arn.is_some() {
            AwsError::other(format!(
                "{e}: the function's role must be allowed to put its results on the bus first: attach listener_policies[\"{}\"] to it (docs/listener-protocol.md)",
                listener.name
            ))
        } else {
            e
        }
    })
}

/// Takes back from someone else's function what [`wire`] gave it.
async fn unwire(scope_aws: &crate::aws::AwsClients, function: &str, rule_arn: &str) -> Result<(), AwsError> {
    function::disallow_rule(scope_aws, function, rule_arn).await?;
    function::delete_invocation_results(scope_aws, function).await
}

/// The function's settings, borrowing the name and environment the caller holds.
fn listener_settings<'a>(
    plan: &'a WorkflowPlan,
    listener: &'a ListenerSpec,
    name: &'a str,
    environment: &'a BTreeMap<String, String>,
    role_arn: &'a str,
    zip: Option<&'a ZipCode>,
) -> function::FunctionSettings<'a> {
    function::FunctionSettings {
        name,
        image_uri: listener.image(&plan.spec),
        architecture: listener.architecture(&plan.spec).as_str(),
        role_arn,
        subnet_ids: &[],
        security_group_ids: &[],
        environment,
        timeout_seconds: listener.timeout_seconds as i32,
        memory_mb: listener.memory_size as i32,
        command: &listener.command,
        zip,
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
        if self.recorded(children).is_some() {
            return Ok(());
        }
        match &listener.function_arn {
            Some(arn) => {
                if function::read(&plan.aws, arn).await?.is_none() {
                    return Err(AwsError::other(format!(
                        "listener {:?}: the function {arn} does not exist",
                        listener.name
                    )));
                }
                *self.recorded(children) = Some(arn.clone());
            }
            None => self.create(plan, listener, children).await?,
        }
        wire(plan, listener, &self.name(plan)).await
    }

    /// A function the workflow created follows the configuration in place (image or code,
    /// command or runtime and handler, environment, timeout, memory); an existing one only
    /// stays wired. A listener that changed kind drops its old function: deleted if the
    /// workflow created it, unwired if not.
    async fn apply_settings(&self, plan: &WorkflowPlan, children: &mut WorkflowChildren) -> Result<(), AwsError> {
        let Some(listener) = plan.listener(&self.0) else {
            return Ok(());
        };
        let Some(recorded) = self.recorded(children).clone() else {
            return Ok(());
        };
        let names = plan.names();
        let wanted = names.function_arn(listener);
        let same_function = recorded.rsplit(':').next() == wanted.rsplit(':').next();
        if !same_function {
            if self.is_own(&names, &recorded) {
                function::delete_with_log_group(&plan.aws, &recorded).await?;
            } else {
                unwire(&plan.aws, &recorded, &names.listener_rule_arn(listener)).await?;
            }
            *self.recorded(children) = None;
            return self.ensure(plan, children).await;
        }
        if listener.creates_function() {
            self.update(plan, listener, children).await?;
        }
        wire(plan, listener, &self.name(plan)).await
    }

    async fn tag(&self, plan: &WorkflowPlan, id: &str) -> Result<(), AwsError> {
        if !self.is_own(&plan.names(), id) {
            return Ok(());
        }
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

    /// A function the workflow created; someone else's settings are their own.
    async fn settings(&self, scope: &WorkflowScope, id: &str) -> Result<OwnedSettings, AwsError> {
        if !self.is_own(&scope.names(), id) {
            return Ok(Vec::new());
        }
        Ok(function::read(&scope.aws, id)
            .await?
            .map(|f| f.settings())
            .unwrap_or_default())
    }

    /// Deletes a function the workflow created; unwires someone else's and leaves it.
    async fn delete(&self, scope: &WorkflowScope, id: &str, _children: &WorkflowChildren) -> Result<(), AwsError> {
        let names = scope.names();
        if self.is_own(&names, id) {
            function::delete_with_log_group(&scope.aws, id).await
        } else {
            unwire(&scope.aws, id, &names.listener_rule_arn_of(&self.0)).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workflow::children::fixtures;
    use eventdriven_core::workflow::spec::ZipPackage;

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
        let settings = listener_settings(&plan, listener, &name, &environment, &role, None);
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
    fn a_listener_may_run_an_image_of_its_own_on_its_own_architecture() {
        let mut spec = fixtures::spec();
        spec.listeners[0].image = Some("registry/own:2".into());
        spec.listeners[0].architecture = Some(eventdriven_core::spec::Architecture::Arm64);
        let plan = fixtures::plan(spec);
        let listener = plan.listener(fixtures::LISTENER).unwrap();
        let environment = BTreeMap::new();
        let settings = listener_settings(&plan, listener, "f", &environment, "", None);
        assert_eq!((settings.image_uri, settings.architecture), ("registry/own:2", "arm64"));
    }

    #[test]
    fn a_zip_listener_reads_its_package_and_a_missing_one_is_named() {
        let dir = std::env::temp_dir().join(format!("eventdriven-zip-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("enrich.zip");
        std::fs::write(&path, b"PK\x05\x06").unwrap();
        let mut spec = fixtures::spec();
        spec.listeners[0].command.clear();
        spec.listeners[0].package = Some(ZipPackage {
            filename: path.display().to_string(),
            runtime: "python3.12".into(),
            handler: "app.handler".into(),
            source_code_hash: String::new(),
        });
        let plan = fixtures::plan(spec.clone());
        let zip = zip_code(&plan, plan.listener(fixtures::LISTENER).unwrap())
            .unwrap()
            .unwrap();
        assert_eq!(zip.sha256, function::code_sha256(b"PK\x05\x06"));
        assert_eq!(
            (zip.runtime.as_str(), zip.handler.as_str()),
            ("python3.12", "app.handler")
        );
        std::fs::remove_dir_all(&dir).unwrap();
        let error = zip_code(&plan, plan.listener(fixtures::LISTENER).unwrap()).unwrap_err();
        assert!(error.to_string().contains("enrich.zip"), "{error}");
    }

    #[test]
    fn only_the_workflows_own_function_is_its_own() {
        let plan = fixtures::plan(fixtures::spec());
        let function = ListenerFunction(fixtures::LISTENER.into());
        let names = plan.names();
        assert!(function.is_own(
            &names,
            "arn:aws:lambda:eu-west-1:123456789012:function:eventdriven-cookie-report-get-multiple"
        ));
        assert!(!function.is_own(&names, "arn:aws:lambda:eu-west-1:123456789012:function:orders-audit"));
    }

    #[test]
    fn a_listener_without_a_recorded_role_runs_as_none() {
        let function = ListenerFunction(fixtures::LISTENER.into());
        assert_eq!(function.role(&WorkflowChildren::default()), "");
    }
}
