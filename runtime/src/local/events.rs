//! EventBridge on this machine: an event put by a run or a listener is matched against the
//! deployed rules (with core's pattern matcher) and delivered to their targets here, each in its
//! own task, as EventBridge delivers asynchronously: functions as local processes, state
//! machines through the interpreter, log groups to the trail.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use eventdriven_core::workflow::rules::matches;
use eventdriven_states::Failure;
use eventdriven_states::path::Scope;
use serde_json::{Value, json};

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
        json!({
            "version": "0",
            "id": new_event_id(),
            "detail-type": entry.detail_type,
            "source": entry.source,
            "account": self.account,
            "time": eventdriven_states::clock::now_iso(),
            "region": self.region,
            "resources": [],
            "detail": detail,
        })
    }

    /// Delivers `entries` to every matching target. Deliveries run on their own; a failing
    /// target is reported on stderr, as EventBridge reports it in metrics, and never fails the
    /// caller's `PutEvents`.
    pub async fn deliver(self: &Arc<Self>, entries: &[PutEntry]) -> Result<(), Failure> {
        let rules = self.rules.rules().await?;
        for entry in entries {
            let event = self.event_of(entry);
            let bus = bus_name(entry.bus.as_deref());
            let matching = rules
                .iter()
                .filter(|rule| rule.bus == bus && matches(&rule.pattern, &event));
            for rule in matching {
                for target in &rule.targets {
                    let (router, target, event, rule) =
                        (self.clone(), target.clone(), event.clone(), rule.name.clone());
                    tokio::spawn(async move {
                        if let Err(failure) = router.deliver_to(&target, event).await {
                            eprintln!("local-cloud: rule {rule}: delivering to {target:?} failed: {failure}");
                        }
                    });
                }
            }
        }
        Ok(())
    }

    async fn deliver_to(&self, target: &RuleTarget, event: Value) -> Result<(), Failure> {
        match target {
            RuleTarget::Function { arn } => self.functions.invoke(arn, &event).await.map(drop),
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
