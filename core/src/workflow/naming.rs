//! Deterministic names and ARNs of a workflow's children, derived from its spec and account only,
//! so the provider finds every child again from the state and IAM names them before they exist.

use crate::cluster::AwsContext;
use crate::naming::{fit, function_log_group_of};
use crate::spec::PREFIX;
use crate::workflow::spec::{ListenerSpec, WorkflowSpec};

const MAX_BUCKET_LEN: usize = 63;
/// IAM role names and EventBridge rule names.
const MAX_ROLE_OR_RULE_LEN: usize = 64;

/// The IAM roles a workflow creates besides one per listener.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WorkflowRole {
    /// Assumed by Step Functions to run the main machine.
    Main,
    /// Assumed by Step Functions to run the finisher.
    Finisher,
    /// Assumed by EventBridge to start both machines.
    Events,
}

impl WorkflowRole {
    pub const ALL: [WorkflowRole; 3] = [WorkflowRole::Main, WorkflowRole::Finisher, WorkflowRole::Events];

    fn suffix(self) -> &'static str {
        match self {
            WorkflowRole::Main => "sfn",
            WorkflowRole::Finisher => "finisher",
            WorkflowRole::Events => "events",
        }
    }
}

/// The rules a workflow creates besides one per listener.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WorkflowRule {
    Start,
    Finisher,
    Trail,
    /// The listeners' invocation results (Lambda's asynchronous-invocation destinations), to
    /// the finisher.
    Results,
}

impl WorkflowRule {
    fn suffix(self) -> &'static str {
        match self {
            WorkflowRule::Start => "start",
            WorkflowRule::Finisher => "finish",
            WorkflowRule::Trail => "trail",
            WorkflowRule::Results => "results",
        }
    }
}

/// The trail log group of the workflow whose main state machine is `state_machine`, so a run's
/// trail is found from its execution ARN alone.
pub fn trail_log_group_of(state_machine: &str) -> String {
    format!("/aws/events/{state_machine}")
}

/// Names of one workflow's children in one account.
#[derive(Clone, Copy, Debug)]
pub struct WorkflowNames<'a> {
    spec: &'a WorkflowSpec,
    aws: &'a AwsContext,
}

impl<'a> WorkflowNames<'a> {
    pub fn new(spec: &'a WorkflowSpec, aws: &'a AwsContext) -> Self {
        Self { spec, aws }
    }

    pub fn spec(&self) -> &'a WorkflowSpec {
        self.spec
    }

    pub fn aws(&self) -> &'a AwsContext {
        self.aws
    }

    /// `eventdriven-<name>`, the stem of every name.
    fn base(&self) -> String {
        format!("{PREFIX}-{}", self.spec.name)
    }

    pub fn state_machine(&self) -> String {
        self.base()
    }

    pub fn finisher(&self) -> String {
        format!("{}-finisher", self.base())
    }

    pub fn role(&self, role: WorkflowRole) -> String {
        format!("{}-{}", self.base(), role.suffix())
    }

    pub fn listener_role(&self, listener: &ListenerSpec) -> String {
        fit(&format!("{}-l-{}", self.base(), listener.name), MAX_ROLE_OR_RULE_LEN)
    }

    /// The function's name: the workflow's own, or the existing function's.
    pub fn function(&self, listener: &ListenerSpec) -> String {
        match &listener.function_arn {
            Some(arn) => arn.rsplit(':').next().unwrap_or(arn).to_owned(),
            None => self.own_function(&listener.name),
        }
    }

    /// The name of the function the workflow creates for the listener `listener`: a recorded
    /// function of another name is someone else's, to unwire and never delete.
    pub fn own_function(&self, listener: &str) -> String {
        format!("{}-{listener}", self.base())
    }

    pub fn rule(&self, rule: WorkflowRule) -> String {
        format!("{}-{}", self.base(), rule.suffix())
    }

    pub fn listener_rule(&self, listener: &ListenerSpec) -> String {
        self.listener_rule_of(&listener.name)
    }

    /// The rule of the listener named `listener`, which may no longer be configured.
    pub fn listener_rule_of(&self, listener: &str) -> String {
        fit(&format!("{}-on-{listener}", self.base()), MAX_ROLE_OR_RULE_LEN)
    }

    /// `eventdriven-<name>-<account>`: bucket names are global.
    pub fn bucket(&self) -> String {
        let tail = format!("-{}", self.aws.account_id);
        format!("{}{tail}", fit(&self.base(), MAX_BUCKET_LEN - tail.len()))
    }

    /// EventBridge delivers to log groups under `/aws/events/`.
    pub fn trail_log_group(&self) -> String {
        trail_log_group_of(&self.state_machine())
    }

    /// Step Functions delivers logs to groups under `/aws/vendedlogs/`.
    pub fn finisher_log_group(&self) -> String {
        format!("/aws/vendedlogs/states/{}", self.finisher())
    }

    pub fn finisher_log_group_arn(&self) -> String {
        self.regional_arn("logs", &format!("log-group:{}", self.finisher_log_group()))
    }

    pub fn function_log_group(&self, listener: &ListenerSpec) -> String {
        function_log_group_of(&self.function(listener))
    }

    fn arn(&self, service: &str, region: &str, account: &str, resource: &str) -> String {
        format!("arn:{}:{service}:{region}:{account}:{resource}", self.aws.partition)
    }

    fn regional_arn(&self, service: &str, resource: &str) -> String {
        self.arn(service, &self.aws.region, &self.aws.account_id, resource)
    }

    pub fn state_machine_arn(&self) -> String {
        self.regional_arn("states", &format!("stateMachine:{}", self.state_machine()))
    }

    pub fn finisher_arn(&self) -> String {
        self.regional_arn("states", &format!("stateMachine:{}", self.finisher()))
    }

    pub fn role_arn(&self, role: WorkflowRole) -> String {
        self.arn("iam", "", &self.aws.account_id, &format!("role/{}", self.role(role)))
    }

    pub fn listener_role_arn(&self, listener: &ListenerSpec) -> String {
        self.arn(
            "iam",
            "",
            &self.aws.account_id,
            &format!("role/{}", self.listener_role(listener)),
        )
    }

    pub fn function_arn(&self, listener: &ListenerSpec) -> String {
        match &listener.function_arn {
            Some(arn) => arn.clone(),
            None => self.regional_arn("lambda", &format!("function:{}", self.function(listener))),
        }
    }

    pub fn event_bus_arn(&self) -> String {
        self.regional_arn("events", &format!("event-bus/{}", self.spec.event_bus))
    }

    /// Rules on a custom bus carry the bus's name in their ARN.
    fn rule_arn_of(&self, rule: &str) -> String {
        match self.spec.event_bus.as_str() {
            "default" => self.regional_arn("events", &format!("rule/{rule}")),
            bus => self.regional_arn("events", &format!("rule/{bus}/{rule}")),
        }
    }

    pub fn rule_arn(&self, rule: WorkflowRule) -> String {
        self.rule_arn_of(&self.rule(rule))
    }

    pub fn listener_rule_arn(&self, listener: &ListenerSpec) -> String {
        self.rule_arn_of(&self.listener_rule(listener))
    }

    pub fn listener_rule_arn_of(&self, listener: &str) -> String {
        self.rule_arn_of(&self.listener_rule_of(listener))
    }

    pub fn bucket_arn(&self) -> String {
        self.arn("s3", "", "", &self.bucket())
    }

    /// The CloudWatch Logs resource policy letting the trail rule write to its log group.
    pub fn trail_resource_policy(&self) -> String {
        self.rule(WorkflowRule::Trail)
    }

    pub fn trail_log_group_arn(&self) -> String {
        self.regional_arn("logs", &format!("log-group:{}", self.trail_log_group()))
    }

    pub fn function_log_group_arn(&self, listener: &ListenerSpec) -> String {
        self.regional_arn("logs", &format!("log-group:{}", self.function_log_group(listener)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workflow::fixtures;
    use crate::workflow::spec::{MAX_LISTENER_NAME_LEN, MAX_WORKFLOW_NAME_LEN};

    #[test]
    fn names_of_the_example() {
        let (spec, aws) = (fixtures::cookies(), fixtures::aws());
        let names = WorkflowNames::new(&spec, &aws);
        assert_eq!(names.state_machine(), "eventdriven-cookie-report");
        assert_eq!(names.finisher(), "eventdriven-cookie-report-finisher");
        assert_eq!(
            names.function(&spec.listeners[0]),
            "eventdriven-cookie-report-get-multiple"
        );
        assert_eq!(
            names.listener_rule(&spec.listeners[0]),
            "eventdriven-cookie-report-on-get-multiple"
        );
        assert_eq!(names.bucket(), "eventdriven-cookie-report-123456789012");
        assert_eq!(names.trail_log_group(), "/aws/events/eventdriven-cookie-report");
        assert_eq!(
            names.rule_arn(WorkflowRule::Start),
            "arn:aws:events:eu-west-1:123456789012:rule/eventdriven-cookie-report-start"
        );
    }

    #[test]
    fn the_longest_names_fit_their_services() {
        let mut spec = fixtures::cookies();
        spec.name = "w".repeat(MAX_WORKFLOW_NAME_LEN);
        spec.listeners[0].name = "l".repeat(MAX_LISTENER_NAME_LEN);
        let aws = fixtures::aws();
        let names = WorkflowNames::new(&spec, &aws);
        let listener = &spec.listeners[0];
        assert!(names.function(listener).len() <= 64);
        assert!(names.listener_rule(listener).len() <= 64);
        assert!(names.listener_role(listener).len() <= 64);
        assert!(names.finisher().len() <= 80);
        assert!(names.bucket().len() <= 63);
    }

    #[test]
    fn rules_on_a_custom_bus_carry_its_name() {
        let mut spec = fixtures::cookies();
        spec.event_bus = "orders".into();
        let aws = fixtures::aws();
        let names = WorkflowNames::new(&spec, &aws);
        assert!(
            names
                .rule_arn(WorkflowRule::Trail)
                .ends_with(":rule/orders/eventdriven-cookie-report-trail")
        );
        assert!(names.event_bus_arn().ends_with(":event-bus/orders"));
    }
}
