//! EventBridge rules with one target each: the pipeline's input rule, which starts one state
//! machine execution per new input object, and a workflow's rules.

use aws_sdk_eventbridge::types::{RuleState, Tag, Target};

use eventdriven_core::trigger;

use crate::aws::{AwsClients, AwsError, Tags, found, ignore_not_found, retry_while_role_propagates, sync_tags};
use async_trait::async_trait;

use crate::lifecycle::Child;
use crate::pipeline::plan::{Deployment, Pipeline, Teardown};
use crate::pipeline::state::Children;
use crate::workflow::plan::{Workflow, WorkflowPlan, WorkflowScope};
use crate::workflow::state::WorkflowChildren;
use eventdriven_core::workflow::naming::WorkflowRule;
use eventdriven_core::workflow::rules;

fn rule_tags(tags: &Tags) -> Result<Vec<Tag>, AwsError> {
    tags.iter()
        .map(|(key, value)| Ok(Tag::builder().key(key).value(value).build()?))
        .collect()
}

/// A rule and its one target.
#[derive(Clone, Copy, Debug)]
pub struct RuleSettings<'a> {
    pub name: &'a str,
    /// The event bus; `None` is the account's default bus.
    pub bus: Option<&'a str>,
    pub description: &'a str,
    pub pattern: &'a serde_json::Value,
    pub target_arn: &'a str,
    /// The role EventBridge reaches the target with (state machines); functions and log groups
    /// are reached through their own resource policies.
    pub role_arn: Option<&'a str>,
    /// Selects what of the event the target receives; the whole event when `None`.
    pub input_path: Option<&'a str>,
    pub tags: &'a Tags,
}

/// The target's id within its rule, after the kind of target: one target per rule.
fn target_id(target_arn: &str) -> &'static str {
    match target_arn.split(':').nth(2) {
        Some("lambda") => "function",
        Some("logs") => "log-group",
        _ => "state-machine",
    }
}

/// Creates or updates the rule and its target (both calls are upserts).
pub async fn put(aws: &AwsClients, rule: &RuleSettings<'_>) -> Result<(), AwsError> {
    aws.events
        .put_rule()
        .name(rule.name)
        .set_event_bus_name(rule.bus.map(str::to_owned))
        .description(rule.description)
        .event_pattern(rule.pattern.to_string())
        .state(RuleState::Enabled)
        .set_tags(Some(rule_tags(rule.tags)?))
        .send()
        .await?;
    let target = Target::builder()
        .id(target_id(rule.target_arn))
        .arn(rule.target_arn)
        .set_role_arn(rule.role_arn.map(str::to_owned))
        .set_input_path(rule.input_path.map(str::to_owned))
        .build()?;
    let out = retry_while_role_propagates(
        |err| err.has_code("AccessDeniedException"),
        || async {
            Ok(aws
                .events
                .put_targets()
                .rule(rule.name)
                .set_event_bus_name(rule.bus.map(str::to_owned))
                .targets(target.clone())
                .send()
                .await?)
        },
    )
    .await?;
    if out.failed_entry_count > 0 {
        let reason = out
            .failed_entries()
            .first()
            .and_then(|e| e.error_message())
            .unwrap_or("no reason given")
            .to_owned();
        return Err(AwsError::other(format!("PutTargets failed: {reason}")));
    }
    Ok(())
}

/// The rule's event pattern, or `None` when the rule is gone.
pub async fn read(aws: &AwsClients, name: &str, bus: Option<&str>) -> Result<Option<serde_json::Value>, AwsError> {
    let out = aws
        .events
        .describe_rule()
        .name(name)
        .set_event_bus_name(bus.map(str::to_owned))
        .send()
        .await;
    Ok(found(out.map_err(AwsError::from))?.map(|out| {
        out.event_pattern()
            .and_then(|p| serde_json::from_str(p).ok())
            .unwrap_or_default()
    }))
}

pub async fn put_tags(aws: &AwsClients, rule_arn: &str, tags: &Tags) -> Result<(), AwsError> {
    let out = aws
        .events
        .list_tags_for_resource()
        .resource_arn(rule_arn)
        .send()
        .await?;
    let untag = |stale| async move {
        let request = aws.events.untag_resource().resource_arn(rule_arn);
        request.set_tag_keys(Some(stale)).send().await?;
        Ok(())
    };
    let tag = || async {
        let request = aws.events.tag_resource().resource_arn(rule_arn);
        request.set_tags(Some(rule_tags(tags)?)).send().await?;
        Ok(())
    };
    sync_tags(out.tags().iter().map(|t| t.key()), tags, untag, tag).await
}

/// Removes the rule's targets, then the rule (EventBridge refuses to delete a rule with targets).
pub async fn delete(aws: &AwsClients, name: &str, bus: Option<&str>) -> Result<(), AwsError> {
    let bus = bus.map(str::to_owned);
    let listed = aws
        .events
        .list_targets_by_rule()
        .rule(name)
        .set_event_bus_name(bus.clone())
        .send()
        .await;
    let Some(listed) = found(listed.map_err(AwsError::from))? else {
        return Ok(());
    };
    let ids: Vec<String> = listed.targets().iter().map(|t| t.id().to_owned()).collect();
    if !ids.is_empty() {
        let out = aws
            .events
            .remove_targets()
            .rule(name)
            .set_event_bus_name(bus.clone())
            .set_ids(Some(ids))
            .send()
            .await;
        ignore_not_found(out.map(drop).map_err(Into::into))?;
    }
    let out = aws.events.delete_rule().name(name).set_event_bus_name(bus).send().await;
    ignore_not_found(out.map(drop).map_err(Into::into))
}

/// The rule starting the pipeline's state machine for each new input object.
pub struct InputRule;

impl InputRule {
    async fn put_for(&self, plan: &Deployment, children: &Children) -> Result<(), AwsError> {
        let names = plan.names();
        let pattern = trigger::input_event_pattern(&names.bucket(), &plan.spec.input_prefix, &plan.spec.input_suffix);
        let state_machine = children.state_machine_arn.as_deref().unwrap_or_default();
        let role = children.events_role_arn.as_deref().unwrap_or_default();
        let rule = RuleSettings {
            name: &names.input_rule(),
            bus: None,
            description: "Starts an eventdriven pipeline run per new input object",
            pattern: &pattern,
            target_arn: state_machine,
            role_arn: Some(role),
            input_path: None,
            tags: &plan.tags,
        };
        put(&plan.aws, &rule).await
    }
}

#[async_trait]
impl Child<Pipeline> for InputRule {
    fn label(&self) -> &'static str {
        "EventBridge rule"
    }

    fn name(&self, plan: &Deployment) -> String {
        plan.names().input_rule()
    }

    fn recorded<'c>(&self, children: &'c mut Children) -> &'c mut Option<String> {
        &mut children.input_rule_name
    }

    async fn ensure(&self, plan: &Deployment, children: &mut Children) -> Result<(), AwsError> {
        if children.input_rule_name.is_none() {
            self.put_for(plan, children).await?;
            children.input_rule_name = Some(self.name(plan));
        }
        Ok(())
    }

    async fn apply_settings(&self, plan: &Deployment, children: &mut Children) -> Result<(), AwsError> {
        self.put_for(plan, children).await
    }

    async fn tag(&self, plan: &Deployment, _id: &str) -> Result<(), AwsError> {
        put_tags(&plan.aws, &plan.names().input_rule_arn(), &plan.tags).await
    }

    async fn refresh(&self, scope: &Teardown, id: &str, _children: &mut Children) -> Result<bool, AwsError> {
        Ok(read(&scope.aws, id, None).await?.is_some())
    }

    async fn delete(&self, scope: &Teardown, id: &str, _children: &Children) -> Result<(), AwsError> {
        delete(&scope.aws, id, None).await
    }
}

/// One of a workflow's own rules: start (to the main machine, with the event's detail as the
/// run's input), finisher (task answers to the finisher) and trail (everything to the log group).
pub struct WorkflowRuleChild(pub WorkflowRule);

impl WorkflowRuleChild {
    fn wanted(&self, plan: &WorkflowPlan) -> bool {
        self.0 != WorkflowRule::Trail || plan.spec.trail.is_some()
    }

    async fn put_for(&self, plan: &WorkflowPlan, children: &WorkflowChildren) -> Result<(), AwsError> {
        let names = plan.names();
        let spec = &plan.spec;
        let events_role = children.events_role_arn.as_deref();
        let (description, pattern, target, role, input_path) = match self.0 {
            WorkflowRule::Start => (
                "Starts a workflow run",
                rules::start_pattern(spec),
                names.state_machine_arn(),
                events_role,
                Some(rules::START_INPUT_PATH),
            ),
            WorkflowRule::Finisher => (
                "Hands task answers to the workflow's finisher",
                rules::finisher_pattern(spec),
                names.finisher_arn(),
                events_role,
                None,
            ),
            WorkflowRule::Trail => (
                "Records every event of the workflow",
                rules::trail_pattern(spec),
                names.trail_log_group_arn(),
                None,
                None,
            ),
        };
        let rule = RuleSettings {
            name: &names.rule(self.0),
            bus: plan.bus(),
            description,
            pattern: &pattern,
            target_arn: &target,
            role_arn: role,
            input_path,
            tags: &plan.tags,
        };
        put(&plan.aws, &rule).await
    }
}

#[async_trait]
impl Child<Workflow> for WorkflowRuleChild {
    fn label(&self) -> &'static str {
        match self.0 {
            WorkflowRule::Start => "EventBridge rule (start)",
            WorkflowRule::Finisher => "EventBridge rule (finisher)",
            WorkflowRule::Trail => "EventBridge rule (trail)",
        }
    }

    fn name(&self, plan: &WorkflowPlan) -> String {
        plan.names().rule(self.0)
    }

    fn recorded<'c>(&self, children: &'c mut WorkflowChildren) -> &'c mut Option<String> {
        match self.0 {
            WorkflowRule::Start => &mut children.start_rule_name,
            WorkflowRule::Finisher => &mut children.finisher_rule_name,
            WorkflowRule::Trail => &mut children.trail_rule_name,
        }
    }

    async fn ensure(&self, plan: &WorkflowPlan, children: &mut WorkflowChildren) -> Result<(), AwsError> {
        if self.recorded(children).is_none() && self.wanted(plan) {
            self.put_for(plan, children).await?;
            *self.recorded(children) = Some(self.name(plan));
        }
        Ok(())
    }

    async fn apply_settings(&self, plan: &WorkflowPlan, children: &mut WorkflowChildren) -> Result<(), AwsError> {
        if self.recorded(children).is_some() {
            self.put_for(plan, children).await?;
        }
        Ok(())
    }

    async fn tag(&self, plan: &WorkflowPlan, _id: &str) -> Result<(), AwsError> {
        put_tags(&plan.aws, &plan.names().rule_arn(self.0), &plan.tags).await
    }

    async fn refresh(
        &self,
        scope: &WorkflowScope,
        id: &str,
        _children: &mut WorkflowChildren,
    ) -> Result<bool, AwsError> {
        Ok(read(&scope.aws, id, scope.bus()).await?.is_some())
    }

    async fn delete(&self, scope: &WorkflowScope, id: &str, _children: &WorkflowChildren) -> Result<(), AwsError> {
        delete(&scope.aws, id, scope.bus()).await
    }
}

/// A listener's rule: its detail types, to its function.
pub struct ListenerRule(pub String);

impl ListenerRule {
    async fn put_for(
        &self,
        plan: &WorkflowPlan,
        listener: &eventdriven_core::workflow::spec::ListenerSpec,
    ) -> Result<(), AwsError> {
        let names = plan.names();
        let pattern = rules::listener_pattern(&plan.spec, listener);
        let rule = RuleSettings {
            name: &names.listener_rule(listener),
            bus: plan.bus(),
            description: "Invokes a workflow listener",
            pattern: &pattern,
            target_arn: &names.function_arn(listener),
            role_arn: None,
            input_path: None,
            tags: &plan.tags,
        };
        put(&plan.aws, &rule).await
    }
}

#[async_trait]
impl Child<Workflow> for ListenerRule {
    fn label(&self) -> &'static str {
        "EventBridge rule (listener)"
    }

    fn name(&self, plan: &WorkflowPlan) -> String {
        plan.listener(&self.0)
            .map(|l| plan.names().listener_rule(l))
            .unwrap_or_default()
    }

    fn recorded<'c>(&self, children: &'c mut WorkflowChildren) -> &'c mut Option<String> {
        &mut children.listeners.entry(self.0.clone()).or_default().rule_name
    }

    async fn ensure(&self, plan: &WorkflowPlan, children: &mut WorkflowChildren) -> Result<(), AwsError> {
        let Some(listener) = plan.listener(&self.0) else {
            return Ok(());
        };
        if self.recorded(children).is_none() {
            self.put_for(plan, listener).await?;
            *self.recorded(children) = Some(self.name(plan));
        }
        Ok(())
    }

    async fn apply_settings(&self, plan: &WorkflowPlan, children: &mut WorkflowChildren) -> Result<(), AwsError> {
        match plan.listener(&self.0) {
            Some(listener) if self.recorded(children).is_some() => self.put_for(plan, listener).await,
            _ => Ok(()),
        }
    }

    async fn tag(&self, plan: &WorkflowPlan, _id: &str) -> Result<(), AwsError> {
        let Some(listener) = plan.listener(&self.0) else {
            return Ok(());
        };
        put_tags(&plan.aws, &plan.names().listener_rule_arn(listener), &plan.tags).await
    }

    async fn refresh(
        &self,
        scope: &WorkflowScope,
        id: &str,
        _children: &mut WorkflowChildren,
    ) -> Result<bool, AwsError> {
        Ok(read(&scope.aws, id, scope.bus()).await?.is_some())
    }

    async fn delete(&self, scope: &WorkflowScope, id: &str, _children: &WorkflowChildren) -> Result<(), AwsError> {
        delete(&scope.aws, id, scope.bus()).await
    }
}
