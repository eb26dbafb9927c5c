//! A workflow's EventBridge rules: its own three (start, finisher, trail) and one per listener.

use async_trait::async_trait;
use eventdriven_core::workflow::naming::WorkflowRule;
use eventdriven_core::workflow::rules;
use eventdriven_core::workflow::spec::ListenerSpec;

use crate::adapters::rule::{self, RuleSettings};
use crate::aws::AwsError;
use crate::lifecycle::{Child, OwnedSettings};
use crate::workflow::plan::{Workflow, WorkflowPlan, WorkflowScope};
use crate::workflow::state::WorkflowChildren;

/// One of a workflow's own rules: start (to the main machine, with the event's detail as the
/// run's input), finisher (task answers to the finisher) and trail (everything to the log group).
pub struct WorkflowRuleChild(pub WorkflowRule);

impl WorkflowRuleChild {
    fn wanted(&self, plan: &WorkflowPlan) -> bool {
        self.0 != WorkflowRule::Trail || plan.spec.trail.is_some()
    }

    fn settings(&self, plan: &WorkflowPlan, children: &WorkflowChildren) -> RuleSettings {
        let names = plan.names();
        let spec = &plan.spec;
        let events_role = children.events_role_arn.clone();
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
            WorkflowRule::Results => (
                "Hands the listeners' invocation results to the workflow's finisher",
                rules::results_pattern(spec),
                names.finisher_arn(),
                events_role,
                None,
            ),
        };
        RuleSettings {
            name: names.rule(self.0),
            bus: plan.bus().map(str::to_owned),
            description,
            pattern,
            target_arn: target,
            role_arn: role,
            input_path,
            input_transformer: None,
        }
    }

    async fn put_for(&self, plan: &WorkflowPlan, children: &WorkflowChildren) -> Result<(), AwsError> {
        rule::put(&plan.aws, &self.settings(plan, children), &plan.tags).await
    }
}

#[async_trait]
impl Child<Workflow> for WorkflowRuleChild {
    fn label(&self) -> &'static str {
        match self.0 {
            WorkflowRule::Start => "EventBridge rule (start)",
            WorkflowRule::Finisher => "EventBridge rule (finisher)",
            WorkflowRule::Trail => "EventBridge rule (trail)",
            WorkflowRule::Results => "EventBridge rule (results)",
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
            WorkflowRule::Results => &mut children.results_rule_name,
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
        rule::put_tags(&plan.aws, &plan.names().rule_arn(self.0), &plan.tags).await
    }

    async fn refresh(
        &self,
        scope: &WorkflowScope,
        id: &str,
        _children: &mut WorkflowChildren,
    ) -> Result<bool, AwsError> {
        Ok(rule::read(&scope.aws, id, scope.bus()).await?.is_some())
    }

    async fn settings(&self, scope: &WorkflowScope, id: &str) -> Result<OwnedSettings, AwsError> {
        rule::settings(&scope.aws, id, scope.bus()).await
    }

    async fn delete(&self, scope: &WorkflowScope, id: &str, _children: &WorkflowChildren) -> Result<(), AwsError> {
        rule::delete(&scope.aws, id, scope.bus()).await
    }
}

/// A listener's rule: its detail types, to its function.
pub struct ListenerRule(pub String);

impl ListenerRule {
    /// The listener's detail types, to its function, which lets the rule invoke it (no role);
    /// a side effect gets the events without their task token.
    fn settings(&self, plan: &WorkflowPlan, listener: &ListenerSpec) -> RuleSettings {
        let names = plan.names();
        RuleSettings {
            name: names.listener_rule(listener),
            bus: plan.bus().map(str::to_owned),
            description: "Invokes a workflow listener",
            pattern: rules::listener_pattern(&plan.spec, listener),
            target_arn: names.function_arn(listener),
            role_arn: None,
            input_path: None,
            input_transformer: listener.side_effect.then(rules::side_effect_input),
        }
    }

    async fn put_for(&self, plan: &WorkflowPlan, listener: &ListenerSpec) -> Result<(), AwsError> {
        rule::put(&plan.aws, &self.settings(plan, listener), &plan.tags).await
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
        rule::put_tags(&plan.aws, &plan.names().listener_rule_arn(listener), &plan.tags).await
    }

    async fn refresh(
        &self,
        scope: &WorkflowScope,
        id: &str,
        _children: &mut WorkflowChildren,
    ) -> Result<bool, AwsError> {
        Ok(rule::read(&scope.aws, id, scope.bus()).await?.is_some())
    }

    async fn settings(&self, scope: &WorkflowScope, id: &str) -> Result<OwnedSettings, AwsError> {
        rule::settings(&scope.aws, id, scope.bus()).await
    }

    async fn delete(&self, scope: &WorkflowScope, id: &str, _children: &WorkflowChildren) -> Result<(), AwsError> {
        rule::delete(&scope.aws, id, scope.bus()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workflow::children::fixtures;

    fn recorded() -> WorkflowChildren {
        WorkflowChildren {
            events_role_arn: Some("arn:events-role".into()),
            ..WorkflowChildren::default()
        }
    }

    #[test]
    fn the_start_rule_starts_the_main_machine_with_the_event_detail_as_input() {
        let plan = fixtures::plan(fixtures::spec());
        let rule = WorkflowRuleChild(WorkflowRule::Start).settings(&plan, &recorded());
        assert_eq!(rule.target_arn, plan.names().state_machine_arn());
        assert_eq!(rule.role_arn.as_deref(), Some("arn:events-role"));
        assert_eq!(rule.input_path, Some(rules::START_INPUT_PATH));
        assert_eq!(rule.pattern, rules::start_pattern(&plan.spec));
        assert_eq!(rule.bus.as_deref(), Some("cookies"));
    }

    #[test]
    fn task_answers_go_to_the_finisher_and_every_event_to_the_trail_log_group() {
        let plan = fixtures::plan(fixtures::spec());
        let finisher = WorkflowRuleChild(WorkflowRule::Finisher).settings(&plan, &recorded());
        assert_eq!(finisher.target_arn, plan.names().finisher_arn());
        assert_eq!(finisher.role_arn.as_deref(), Some("arn:events-role"));
        assert_eq!(finisher.input_path, None);
        let trail = WorkflowRuleChild(WorkflowRule::Trail).settings(&plan, &recorded());
        assert_eq!(trail.target_arn, plan.names().trail_log_group_arn());
        assert_eq!(
            trail.role_arn, None,
            "the log group's resource policy lets the rule write"
        );
        assert_eq!(trail.pattern, rules::trail_pattern(&plan.spec));
    }

    #[test]
    fn listeners_results_go_to_the_finisher_and_a_side_effect_gets_no_token() {
        let plan = fixtures::plan(fixtures::spec());
        let results = WorkflowRuleChild(WorkflowRule::Results).settings(&plan, &recorded());
        assert_eq!(results.target_arn, plan.names().finisher_arn());
        assert_eq!(results.pattern, rules::results_pattern(&plan.spec));
        let mut spec = fixtures::spec();
        let listener = ListenerRule(fixtures::LISTENER.into());
        assert_eq!(
            listener
                .settings(&plan, plan.listener(fixtures::LISTENER).unwrap())
                .input_transformer,
            None
        );
        spec.listeners[0].side_effect = true;
        let plan = fixtures::plan(spec);
        let rule = listener.settings(&plan, plan.listener(fixtures::LISTENER).unwrap());
        let (_, template) = rule.input_transformer.expect("a side effect's input is rebuilt");
        assert!(!template.contains("taskToken"), "{template}");
    }

    #[test]
    fn rules_on_the_default_bus_name_no_bus() {
        let mut spec = fixtures::spec();
        spec.event_bus = "default".into();
        let plan = fixtures::plan(spec);
        let listener = plan.listener(fixtures::LISTENER).unwrap();
        assert_eq!(
            WorkflowRuleChild(WorkflowRule::Start).settings(&plan, &recorded()).bus,
            None
        );
        assert_eq!(
            ListenerRule(fixtures::LISTENER.into()).settings(&plan, listener).bus,
            None
        );
    }

    #[test]
    fn only_a_workflow_with_a_trail_wants_its_trail_rule() {
        let mut spec = fixtures::spec();
        assert!(WorkflowRuleChild(WorkflowRule::Trail).wanted(&fixtures::plan(spec.clone())));
        spec.trail = None;
        let plan = fixtures::plan(spec);
        assert!(!WorkflowRuleChild(WorkflowRule::Trail).wanted(&plan));
        assert!(WorkflowRuleChild(WorkflowRule::Start).wanted(&plan));
        assert!(WorkflowRuleChild(WorkflowRule::Finisher).wanted(&plan));
    }

    #[test]
    fn a_listener_rule_invokes_its_function_on_its_detail_types() {
        let plan = fixtures::plan(fixtures::spec());
        let listener = plan.listener(fixtures::LISTENER).unwrap();
        let rule = ListenerRule(fixtures::LISTENER.into()).settings(&plan, listener);
        assert_eq!(rule.name, plan.names().listener_rule(listener));
        assert_eq!(rule.target_arn, plan.names().function_arn(listener));
        assert_eq!(rule.role_arn, None, "the function's permission lets the rule invoke it");
        assert_eq!(rule.pattern, rules::listener_pattern(&plan.spec, listener));
    }
}
