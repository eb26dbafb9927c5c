//! The pipeline's input rule, which starts one state machine execution per new input object.

use async_trait::async_trait;
use eventdriven_core::trigger;

use crate::adapters::rule::{self, RuleSettings};
use crate::aws::AwsError;
use crate::lifecycle::{Child, OwnedSettings};
use crate::pipeline::plan::{Deployment, Pipeline, Teardown};
use crate::pipeline::state::Children;

/// The rule starting the pipeline's state machine for each new input object.
pub struct InputRule;

impl InputRule {
    /// On the default bus: the bucket's new objects under the input prefix and suffix, to the
    /// state machine, started with the events role.
    fn settings(&self, plan: &Deployment, children: &Children) -> RuleSettings {
        let names = plan.names();
        let spec = &plan.spec;
        RuleSettings {
            name: names.input_rule(),
            bus: None,
            description: "Starts an eventdriven pipeline run per new input object",
            pattern: trigger::input_event_pattern(&names.bucket(), &spec.input_prefix, &spec.input_suffix),
            target_arn: children.state_machine_arn.clone().unwrap_or_default(),
            role_arn: Some(children.events_role_arn.clone().unwrap_or_default()),
            input_path: None,
            input_transformer: None,
        }
    }

    async fn put_for(&self, plan: &Deployment, children: &Children) -> Result<(), AwsError> {
        rule::put(&plan.aws, &self.settings(plan, children), &plan.tags).await
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
        rule::put_tags(&plan.aws, &plan.names().input_rule_arn(), &plan.tags).await
    }

    async fn refresh(&self, scope: &Teardown, id: &str, _children: &mut Children) -> Result<bool, AwsError> {
        Ok(rule::read(&scope.aws, id, None).await?.is_some())
    }

    async fn settings(&self, scope: &Teardown, id: &str) -> Result<OwnedSettings, AwsError> {
        rule::settings(&scope.aws, id, None).await
    }

    async fn delete(&self, scope: &Teardown, id: &str, _children: &Children) -> Result<(), AwsError> {
        rule::delete(&scope.aws, id, None).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::children::fixtures;

    #[test]
    fn new_input_objects_start_the_recorded_state_machine_through_the_events_role() {
        let mut plan = fixtures::deployment();
        plan.spec.input_prefix = "incoming/".into();
        plan.spec.input_suffix = ".csv".into();
        let children = Children {
            state_machine_arn: Some("arn:aws:states:eu-west-1:123456789012:stateMachine:eventdriven-orders".into()),
            events_role_arn: Some("arn:aws:iam::123456789012:role/eventdriven-orders-events".into()),
            ..Children::default()
        };
        let rule = InputRule.settings(&plan, &children);
        assert_eq!(rule.name, InputRule.name(&plan));
        assert_eq!(rule.bus, None);
        assert_eq!(rule.target_arn, children.state_machine_arn.clone().unwrap());
        assert_eq!(rule.role_arn, children.events_role_arn.clone());
        assert_eq!(rule.input_path, None, "the run's input is the whole S3 event");
        let filter = trigger::input_filter(&rule.pattern);
        let bucket = plan.names().bucket();
        assert_eq!(filter, Some((bucket, "incoming/".into(), ".csv".into())));
    }
}
