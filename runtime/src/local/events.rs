//! EventBridge on this machine: an event put by a run or a listener is matched against the
//! deployed rules (with core's pattern matcher) and delivered to their targets here, each in its
//! own task, as EventBridge delivers asynchronously: functions as local processes invoked
//! asynchronously (their destinations' records routed here in turn), state machines through the
//! interpreter, log groups to the trail; a target's input transformer first.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use eventdriven_core::workflow::rules::{LAMBDA_SOURCE, matches};
use eventdriven_states::Failure;
use eventdriven_states::path::Scope;
use serde_json::{Value, json};

use crate::local::async_invoke::invoke_async;
use crate::local::input_transformer::InputTransformer;
use crate::local::lambda_process::LocalLambda;

/// One entry of a `PutEvents` call.
#[derive(Clone, Debug, PartialEq)]
pub struct PutEntry {
    /// The bus's name (or ARN); `None` is the default bus.
    pub bus: Option<String>,
    pub source: String,
    pub detail_type: String,
    /// The detail as JSON text, as the API takes it.
    pub detail: String,
}

/// Where a rule sends what it matches, by the target's ARN.
#[derive(Clone, Debug, PartialEq)]
pub enum RuleTarget {
    Function {
        arn: String,
    },
    /// `input_path` selects the execution's input from the event (the whole event if `None`).
    StateMachine {
        arn: String,
        input_path: Option<String>,
    },
    LogGroup {
        arn: String,
    },
    /// `target`, receiving what `transformer` makes of the event instead of the event.
    Transformed {
        transformer: InputTransformer,
        target: Box<RuleTarget>,
    },
}

impl RuleTarget {
    /// The target an ARN names, or `None` for a kind this machine does not deliver to.
    pub fn from_arn(arn: &str, input_path: Option<String>) -> Option<Self> {
        let arn = arn.to_owned();
        match arn.split(':').nth(2)? {
            "lambda" => Some(RuleTarget::Function { arn }),
            "states" => Some(RuleTarget::StateMachine { arn, input_path }),
            "logs" => Some(RuleTarget::LogGroup { arn }),
            _ => None,
        }
    }

    /// This target with its input transformed, when it has a transformer.
    pub fn transformed(self, transformer: Option<InputTransformer>) -> Self {
        match transformer {
            Some(transformer) => RuleTarget::Transformed {
                transformer,
                target: Box::new(self),
            },
            None => self,
        }
    }
}

/// A rule as deployed: its bus, pattern and targets.
#[derive(Clone, Debug, PartialEq)]
pub struct DeployedRule {
    pub name: String,
    /// The bus's name.
    pub bus: String,
    pub pattern: Value,
    pub targets: Vec<RuleTarget>,
}

/// Starts executions of the state machines rules target.
#[async_trait]
pub trait MachineStarter: Send + Sync {
    async fn start(&self, state_machine_arn: &str, input: Value) -> Result<(), Failure>;
}

/// The rules events are matched against, as deployed now.
#[async_trait]
pub trait RuleSource: Send + Sync {
    async fn rules(&self) -> Result<Vec<DeployedRule>, Failure>;
}

/// Matches events against the rules and delivers them.
pub struct EventRouter {
    pub rules: Arc<dyn RuleSource>,
    pub functions: LocalLambda,
    pub machines: Arc<dyn MachineStarter>,
    pub account: String,
    pub region: String,
    /// Every event delivered to a log group target, as EventBridge writes it there; `None`
    /// where the events also reach an emulator's bus, which writes its log groups itself.
    pub trail: Option<Arc<Mutex<Vec<Value>>>>,
}

impl EventRouter {
    /// The event EventBridge makes of an entry, as its targets receive it.
    pub fn event_of(&self, entry: &PutEntry) -> Value {
        let detail: Value = serde_json::from_str(&entry.detail).unwrap_or(Value::String(entry.detail.clone()));
        self.event(&entry.source, &entry.detail_type, &[], detail)
    }

    /// An event of this account and region, as EventBridge makes it.
    fn event(&self, source: &str, detail_type: &str, resources: &[String], detail: Value) -> Value {
        json!({
            "version": "0",
            "id": new_event_id(),
            "detail-type": detail_type,
            "source": source,
            "account": self.account,
            "time": eventdriven_states::clock::now_iso(),
            "region": self.region,
            "resources": resources,
            "detail": detail,
        })
    }

    /// Delivers `entries` to every matching target. Deliveries run on their own; a failing
    /// target is reported on stderr, as EventBridge reports it in metrics, and never fails the
    /// caller's `PutEvents`.
    pub async fn deliver(self: &Arc<Self>, entries: &[PutEntry]) -> Result<(), Failure> {
        let rules = self.rules.rules().await?;
        for entry in entries {
            self.route(&rules, bus_name(entry.bus.as_deref()), self.event_of(entry));
        }
        Ok(())
    }

    /// Delivers an event made elsewhere (a Lambda destination's record) on the bus `bus`.
    async fn deliver_event(self: &Arc<Self>, bus: &str, event: Value) -> Result<(), Failure> {
        let rules = self.rules.rules().await?;
        self.route(&rules, bus, event);
        Ok(())
    }

    /// Starts the delivery of `event` to the targets of the rules on `bus` it matches.
    fn route(self: &Arc<Self>, rules: &[DeployedRule], bus: &str, event: Value) {
        let matching = rules
            .iter()
            .filter(|rule| rule.bus == bus && matches(&rule.pattern, &event));
        for rule in matching {
            for target in &rule.targets {
                let (router, target, event, rule) = (self.clone(), target.clone(), event.clone(), rule.name.clone());
                tokio::spawn(async move {
                    if let Err(failure) = router.deliver_to(&target, event).await {
                        eprintln!("local-cloud: rule {rule}: delivering to {target:?} failed: {failure}");
                    }
                });
            }
        }
    }

    async fn deliver_to(self: &Arc<Self>, target: &RuleTarget, event: Value) -> Result<(), Failure> {
        match target {
            RuleTarget::Function { arn } => {
                let Some(destination) = invoke_async(&self.functions, arn, &event).await else {
                    return Ok(());
                };
                let record = self.event(
                    LAMBDA_SOURCE,
                    destination.detail_type,
                    &destination.resources,
                    destination.detail,
                );
                self.deliver_event(&destination.bus, record).await
            }
            RuleTarget::Transformed { transformer, target } => {
                let input = transformer.apply(&event)?;
                Box::pin(self.deliver_to(target, input)).await
            }
            RuleTarget::StateMachine { arn, input_path } => {
                let input = match input_path {
                    Some(path) => eventdriven_states::path::read(path, Scope::new(&event, &Value::Null))?,
                    None => event,
                };
                self.machines.start(arn, input).await
            }
            RuleTarget::LogGroup { .. } => {
                if let Some(trail) = &self.trail {
                    trail.lock().expect("trail lock").push(event);
                }
                Ok(())
            }
        }
    }
}

/// A fresh event id, as EventBridge gives each event it accepts.
pub fn new_event_id() -> String {
    format!("{:032x}", fastrand::u128(..))
}

/// The name of the bus an entry names (by name or ARN), `default` when it names none.
pub fn bus_name(bus: Option<&str>) -> &str {
    match bus {
        None | Some("") => "default",
        Some(bus) => bus.rsplit('/').next().unwrap_or(bus),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_known_by_their_arns() {
        assert_eq!(
            RuleTarget::from_arn("arn:aws:lambda:r:1:function:f", None),
            Some(RuleTarget::Function {
                arn: "arn:aws:lambda:r:1:function:f".into()
            })
        );
        assert!(matches!(
            RuleTarget::from_arn("arn:aws:states:r:1:stateMachine:m", Some("$.detail".into())),
            Some(RuleTarget::StateMachine {
                input_path: Some(_),
                ..
            })
        ));
        assert!(matches!(
            RuleTarget::from_arn("arn:aws:logs:r:1:log-group:/aws/events/x", None),
            Some(RuleTarget::LogGroup { .. })
        ));
        assert_eq!(RuleTarget::from_arn("arn:aws:sqs:r:1:q", None), None);
    }

    #[test]
    fn buses_are_known_by_name_or_arn() {
        assert_eq!(bus_name(None), "default");
        assert_eq!(bus_name(Some("orders")), "orders");
        assert_eq!(bus_name(Some("arn:aws:events:r:1:event-bus/orders")), "orders");
    }
}
