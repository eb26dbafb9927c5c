//! The `eventdriven_workflow` resource's Terraform state, and its translation to and from core's
//! `WorkflowSpec` and the recorded children.

use std::collections::BTreeMap;

use eventdriven_core::spec::Architecture;
use eventdriven_core::workflow::spec::{ListenerSpec, TaskSpec, TrailSpec, WorkflowSpec, ZipPackage};
use serde::{Deserialize, Serialize};
use tf_provider::value::Value;

use crate::resource::attributes::attribute_table;
use crate::resource::timeouts::Timeouts;
use crate::resource::{StringMap, plain_map};

pub type StringList = Value<Vec<Value<String>>>;

/// `task { … }`: one state of the main machine.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskBlock {
    pub name: Value<String>,
    pub detail_type: Value<String>,
    pub result_path: Value<String>,
    pub timeout_seconds: Value<i64>,
    pub items_path: Value<String>,
    pub max_concurrency: Value<i64>,
}

/// `listener { … }`: a function behind a rule.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListenerBlock {
    pub name: Value<String>,
    pub detail_types: StringList,
    pub command: StringList,
    pub image: Value<String>,
    #[serde(default)]
    pub filename: Value<String>,
    #[serde(default)]
    pub runtime: Value<String>,
    #[serde(default)]
    pub handler: Value<String>,
    #[serde(default)]
    pub source_code_hash: Value<String>,
    #[serde(default)]
    pub function_arn: Value<String>,
    #[serde(default)]
    pub side_effect: Value<bool>,
    #[serde(default)]
    pub environment: StringMap,
    #[serde(default)]
    pub architecture: Value<String>,
    pub emits: StringList,
    pub bucket_prefix: Value<String>,
    pub timeout_seconds: Value<i64>,
    pub memory_size: Value<i64>,
}

/// `trail { retention_days = 1 }`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrailBlock {
    pub retention_days: Value<i64>,
}

attribute_table! {
    /// Every attribute of `eventdriven_workflow`; field names are the attribute names.
    pub struct WorkflowState {
        // Arguments.
        name: Value<String> = string(Required, "Workflow name (at most 30 characters); every child's name derives from it."), replaces;
        event_source: Value<String> = string(OptionalComputed, "The `source` of every event of this workflow. Default: `name`.");
        event_bus: Value<String> = string(OptionalComputed, "The event bus every event and rule lives on. Default `default`."), replaces;
        start_detail_type: Value<String> = string(OptionalComputed, "The detail type of the event (with `event_source`) that starts a run; its detail is the run's input. Default `start`.");
        handler_image: Value<String> = string(Optional, "Container image URI of the listeners with a `command`, unless a listener names its own `image`.");
        architecture [one_of Architecture::NAMES]: Value<String> = string(OptionalComputed, "CPU architecture of the listener images: `x86_64` (default) or `arm64`.");
        bucket: Value<bool> = boolean(OptionalComputed, "Whether the workflow has a bucket for intermediate results (private, encrypted, TLS only), passed to listeners as `BUCKET`. Default `false`.");
        log_retention_days: Value<i64> = number(OptionalComputed, "Days the listeners' log groups (`/aws/lambda/<function>`, created with the functions and deleted with them) keep their logs. Default 14.");
        force_destroy: Value<bool> = boolean(OptionalComputed, "Whether destroy may delete the bucket while it holds objects. Default `false`.");
        tags: StringMap = string_map(Optional, "Tags for every child, over the provider's `default_tags`.");

        // Computed: the workflow and the identity of every child it owns.
        id: Value<String> = string(Computed, "The workflow name.");
        tags_all: StringMap = string_map(Computed, "Tags every child carries.");
        bucket_name: Value<String> = string(Computed, "Name of the bucket, when `bucket` is true.");
        trail_log_group: Value<String> = string(Computed, "CloudWatch Logs group holding every event of every run, when there is a `trail`.");
        finisher_log_group: Value<String> = string(Computed, "CloudWatch Logs group the finisher logs its errors to (a task answer Step Functions refused), with `log_retention_days`.");
        main_role_arn: Value<String> = string(Computed, "ARN of the main state machine's role.");
        finisher_role_arn: Value<String> = string(Computed, "ARN of the finisher's role.");
        events_role_arn: Value<String> = string(Computed, "ARN of the role EventBridge starts both machines with.");
        state_machine_arn: Value<String> = string(Computed, "ARN of the main state machine.");
        finisher_arn: Value<String> = string(Computed, "ARN of the finisher (an express state machine).");
        start_rule_name: Value<String> = string(Computed, "Name of the rule starting a run.");
        finisher_rule_name: Value<String> = string(Computed, "Name of the rule passing task answers to the finisher.");
        trail_rule_name: Value<String> = string(Computed, "Name of the rule writing every event to the trail.");
        results_rule_name: Value<String> = string(Computed, "Name of the rule passing the listeners' invocation results (Lambda's destination events) to the finisher.");
        definition: Value<String> = string(Computed, "The main state machine's definition (Amazon States Language JSON).");
        finisher_definition: Value<String> = string(Computed, "The finisher's definition (Amazon States Language JSON).");
        listener_role_arns: StringMap = string_map(Computed, "ARN of each listener's role, by listener name.");
        listener_function_arns: StringMap = string_map(Computed, "ARN of each listener's function, by listener name.");
        listener_rule_names: StringMap = string_map(Computed, "Name of each listener's rule, by listener name.");
        listener_code_hashes: StringMap = string_map(Computed, "Base64 SHA-256 of each zip listener's package (its `source_code_hash` when set, else the file's), by listener name: a new hash updates the function's code.");
        listener_policies: StringMap = string_map(Computed, "For each listener with `function_arn`, by listener name: the IAM policy (JSON) its function's role needs, for the function's owner to attach.");
        changed_outside_terraform: Value<Vec<Value<String>>> = strings(Computed, "Settings of the children the last refresh found changed outside Terraform (`<child> <name>: <setting>`), which the next apply sets back; null when none.");
    }
    blocks {
        task: Value<Vec<Value<TaskBlock>>>;
        listener: Value<Vec<Value<ListenerBlock>>>;
        #[serde(default, with = "crate::resource::single_block")]
        trail: Value<TrailBlock>;
        #[serde(default, with = "crate::resource::single_block")]
        timeouts: Value<Timeouts>;
    }
}

/// A listener's children; `None` for one not created (or gone).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListenerIds {
    pub role_arn: Option<String>,
    pub function_arn: Option<String>,
    pub rule_name: Option<String>,
}

impl ListenerIds {
    pub fn is_empty(&self) -> bool {
        self.role_arn.is_none() && self.function_arn.is_none() && self.rule_name.is_none()
    }
}

/// Identities of the workflow's children; `None` for one not created (or gone).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WorkflowChildren {
    pub bucket_name: Option<String>,
    pub trail_log_group: Option<String>,
    pub finisher_log_group: Option<String>,
    pub main_role_arn: Option<String>,
    pub finisher_role_arn: Option<String>,
    pub events_role_arn: Option<String>,
    pub state_machine_arn: Option<String>,
    pub finisher_arn: Option<String>,
    pub start_rule_name: Option<String>,
    pub finisher_rule_name: Option<String>,
    pub trail_rule_name: Option<String>,
    pub results_rule_name: Option<String>,
    /// The definitions as last applied.
    pub definition: Option<serde_json::Value>,
    pub finisher_definition: Option<serde_json::Value>,
    /// By listener name.
    pub listeners: BTreeMap<String, ListenerIds>,
}

/// Applies `$apply` to every (state field, children field) pair with the same name.
macro_rules! each_child_string {
    ($apply:ident) => {
        $apply!(
            bucket_name,
            trail_log_group,
            finisher_log_group,
            main_role_arn,
            finisher_role_arn,
            events_role_arn,
            state_machine_arn,
            finisher_arn,
            start_rule_name,
            finisher_rule_name,
            trail_rule_name,
            results_rule_name
        )
    };
}

fn known<T: Clone>(value: &Value<T>) -> Option<T> {
    value.as_ref_option().cloned()
}

fn to_value(value: &Option<String>) -> Value<String> {
    value.clone().map_or(Value::Null, Value::Value)
}

fn strings(list: &StringList) -> Vec<String> {
    list.as_ref_option()
        .map(|items| items.iter().filter_map(known).collect())
        .unwrap_or_default()
}

fn json_text(value: &Option<serde_json::Value>) -> Value<String> {
    value.as_ref().map_or(Value::Null, |d| Value::Value(d.to_string()))
}

fn map_of(entries: impl Iterator<Item = (String, Option<String>)>) -> StringMap {
    Value::Value(entries.filter_map(|(k, v)| Some((k, Value::Value(v?)))).collect())
}

fn blocks<T: Clone>(list: &Value<Vec<Value<T>>>) -> Vec<T> {
    list.as_ref_option()
        .map(|items| items.iter().filter_map(known).collect())
        .unwrap_or_default()
}

impl WorkflowChildren {
    /// Whether no child is recorded: nothing of the workflow exists.
    pub fn is_empty(&self) -> bool {
        macro_rules! none {
            ($($field:ident),*) => { $(self.$field.is_none())&&* };
        }
        each_child_string!(none) && self.listeners.values().all(ListenerIds::is_empty)
    }

    /// The attributes of the children recorded here and not in `refreshed`; a listener's by
    /// its name.
    pub fn missing_from(&self, refreshed: &WorkflowChildren) -> Vec<String> {
        let mut missing = Vec::new();
        macro_rules! gone {
            ($($field:ident),*) => { $(if self.$field.is_some() && refreshed.$field.is_none() {
                missing.push(stringify!($field).to_owned());
            })* };
        }
        each_child_string!(gone);
        for (name, ids) in &self.listeners {
            let now = refreshed.listeners.get(name).cloned().unwrap_or_default();
            for (part, was, is) in [
                ("role", &ids.role_arn, &now.role_arn),
                ("function", &ids.function_arn, &now.function_arn),
                ("rule", &ids.rule_name, &now.rule_name),
            ] {
                if was.is_some() && is.is_none() {
                    missing.push(format!("listener {name:?}'s {part}"));
                }
            }
        }
        missing
    }
}

impl WorkflowState {
    /// The spec, with core's defaults for whatever is unset; a zip listener's code hash is the
    /// one `listener_code_hashes` records.
    pub fn spec(&self) -> WorkflowSpec {
        let code_hashes = plain_map(&self.listener_code_hashes);
        let mut spec = WorkflowSpec::new(
            known(&self.name).unwrap_or_default(),
            known(&self.handler_image).unwrap_or_default(),
        );
        let set = |field: &mut String, value: &Value<String>| {
            if let Some(value) = known(value) {
                *field = value;
            }
        };
        set(&mut spec.event_source, &self.event_source);
        set(&mut spec.event_bus, &self.event_bus);
        set(&mut spec.start_detail_type, &self.start_detail_type);
        if let Some(architecture) = known(&self.architecture) {
            spec.architecture = Architecture::named(&architecture);
        }
        spec.bucket = known(&self.bucket).unwrap_or(false);
        spec.log_retention_days = known(&self.log_retention_days).unwrap_or(spec.log_retention_days);
        spec.tasks = blocks(&self.task)
            .into_iter()
            .map(|block| {
                let mut task = TaskSpec::new(
                    known(&block.name).unwrap_or_default(),
                    known(&block.detail_type).unwrap_or_default(),
                );
                task.result_path = known(&block.result_path);
                task.items_path = known(&block.items_path);
                task.timeout_seconds = known(&block.timeout_seconds).unwrap_or(task.timeout_seconds);
                task.max_concurrency = known(&block.max_concurrency).unwrap_or(task.max_concurrency);
                task
            })
            .collect();
        spec.listeners = blocks(&self.listener)
            .into_iter()
            .map(|block| {
                let mut listener = ListenerSpec::new(known(&block.name).unwrap_or_default(), &[], &[]);
                listener.detail_types = strings(&block.detail_types);
                listener.command = strings(&block.command);
                listener.emits = strings(&block.emits);
                listener.image = known(&block.image);
                set(&mut listener.bucket_prefix, &block.bucket_prefix);
                listener.timeout_seconds = known(&block.timeout_seconds).unwrap_or(listener.timeout_seconds);
                listener.memory_size = known(&block.memory_size).unwrap_or(listener.memory_size);
                listener.function_arn = known(&block.function_arn);
                listener.side_effect = known(&block.side_effect).unwrap_or(false);
                listener.environment = plain_map(&block.environment);
                listener.architecture = known(&block.architecture).map(|a| Architecture::named(&a));
                listener.package = known(&block.filename).map(|filename| ZipPackage {
                    filename,
                    runtime: known(&block.runtime).unwrap_or_default(),
                    handler: known(&block.handler).unwrap_or_default(),
                    source_code_hash: code_hashes.get(&listener.name).cloned().unwrap_or_default(),
                });
                listener
            })
            .collect();
        spec.trail = known(&self.trail).map(|trail| TrailSpec {
            retention_days: known(&trail.retention_days).unwrap_or(1),
        });
        spec.tags = plain_map(&self.tags);
        spec
    }

    /// A listener's `architecture` that names none (core reads any other name as the default).
    pub fn listener_architecture_errors(&self) -> Vec<eventdriven_core::spec::SpecError> {
        blocks(&self.listener)
            .into_iter()
            .filter_map(|block| {
                let architecture = known(&block.architecture)?;
                (!Architecture::NAMES.contains(&architecture.as_str())).then(|| eventdriven_core::spec::SpecError {
                    attribute: eventdriven_core::config_path::ConfigPath::attribute("listener")
                        .named(known(&block.name).unwrap_or_default().as_str())
                        .then("architecture"),
                    message: format!("must be one of {:?}", Architecture::NAMES),
                })
            })
            .collect()
    }

    /// Fills unset optional arguments (and the tasks' timeouts and concurrency) with core's
    /// defaults, so the plan shows real values and an import reads the same.
    pub fn apply_defaults(&mut self) {
        fn fill<T: Clone>(value: &mut Value<T>, default: T) {
            if value.is_null() {
                *value = Value::Value(default);
            }
        }
        let defaults = WorkflowSpec::new(known(&self.name).unwrap_or_default(), "");
        fill(&mut self.event_source, defaults.event_source);
        fill(&mut self.event_bus, defaults.event_bus);
        fill(&mut self.start_detail_type, defaults.start_detail_type);
        fill(&mut self.architecture, defaults.architecture.as_str().to_owned());
        fill(&mut self.bucket, defaults.bucket);
        fill(&mut self.log_retention_days, defaults.log_retention_days);
        fill(&mut self.force_destroy, false);
        let task_defaults = TaskSpec::new("", "");
        if let Value::Value(tasks) = &mut self.task {
            for task in tasks.iter_mut() {
                if let Value::Value(task) = task {
                    fill(&mut task.timeout_seconds, task_defaults.timeout_seconds);
                    fill(&mut task.max_concurrency, task_defaults.max_concurrency);
                }
            }
        }
    }

    /// Whether every argument is known, so the definitions can be rendered at plan.
    pub fn fully_known(&self) -> bool {
        fn list_known(list: &StringList) -> bool {
            !list.is_unknown()
                && list
                    .as_ref_option()
                    .is_none_or(|items| items.iter().all(|i| !i.is_unknown()))
        }
        let strings = [
            &self.name,
            &self.event_source,
            &self.event_bus,
            &self.start_detail_type,
            &self.handler_image,
            &self.architecture,
        ];
        let tasks_known = |tasks: &Vec<Value<TaskBlock>>| {
            tasks.iter().all(|task| {
                task.as_ref_option().is_some_and(|t| {
                    [&t.name, &t.detail_type, &t.result_path, &t.items_path]
                        .iter()
                        .all(|v| !v.is_unknown())
                        && !t.timeout_seconds.is_unknown()
                        && !t.max_concurrency.is_unknown()
                })
            })
        };
        let listeners_known = |listeners: &Vec<Value<ListenerBlock>>| {
            listeners.iter().all(|listener| {
                listener.as_ref_option().is_some_and(|l| {
                    [
                        &l.name,
                        &l.image,
                        &l.bucket_prefix,
                        &l.filename,
                        &l.runtime,
                        &l.handler,
                        &l.source_code_hash,
                        &l.function_arn,
                        &l.architecture,
                    ]
                    .iter()
                    .all(|v| !v.is_unknown())
                        && [&l.detail_types, &l.command, &l.emits].into_iter().all(list_known)
                        && !l.side_effect.is_unknown()
                        && !l.environment.is_unknown()
                        && l.environment
                            .as_ref_option()
                            .is_none_or(|m| m.values().all(|v| !v.is_unknown()))
                        && !l.timeout_seconds.is_unknown()
                        && !l.memory_size.is_unknown()
                })
            })
        };
        strings.iter().all(|v| !v.is_unknown())
            && !self.bucket.is_unknown()
            && !self.log_retention_days.is_unknown()
            && !self.tags.is_unknown()
            && !self.trail.is_unknown()
            && self
                .trail
                .as_ref_option()
                .is_none_or(|t| !t.retention_days.is_unknown())
            && !self.task.is_unknown()
            && self.task.as_ref_option().is_none_or(tasks_known)
            && !self.listener.is_unknown()
            && self.listener.as_ref_option().is_none_or(listeners_known)
    }

    pub fn children(&self) -> WorkflowChildren {
        macro_rules! read {
            ($($field:ident),*) => { WorkflowChildren {
                $($field: known(&self.$field),)*
                definition: known(&self.definition).and_then(|text| serde_json::from_str(&text).ok()),
                finisher_definition: known(&self.finisher_definition).and_then(|text| serde_json::from_str(&text).ok()),
                listeners: self.recorded_listeners(),
            } };
        }
        each_child_string!(read)
    }

    fn recorded_listeners(&self) -> BTreeMap<String, ListenerIds> {
        let plain = plain_map;
        let (roles, functions, rules) = (
            plain(&self.listener_role_arns),
            plain(&self.listener_function_arns),
            plain(&self.listener_rule_names),
        );
        let names: std::collections::BTreeSet<&String> =
            roles.keys().chain(functions.keys()).chain(rules.keys()).collect();
        names
            .into_iter()
            .map(|name| {
                let ids = ListenerIds {
                    role_arn: roles.get(name).cloned(),
                    function_arn: functions.get(name).cloned(),
                    rule_name: rules.get(name).cloned(),
                };
                (name.clone(), ids)
            })
            .collect()
    }

    /// Records `children` in the state; a child not created is null (or absent from its map),
    /// never unknown, so a half-finished create leaves a valid state behind.
    pub fn set_children(&mut self, children: &WorkflowChildren) {
        macro_rules! write {
            ($($field:ident),*) => { $(self.$field = to_value(&children.$field);)* };
        }
        each_child_string!(write);
        self.definition = json_text(&children.definition);
        self.finisher_definition = json_text(&children.finisher_definition);
        let listeners = &children.listeners;
        self.listener_role_arns = map_of(listeners.iter().map(|(n, ids)| (n.clone(), ids.role_arn.clone())));
        self.listener_function_arns = map_of(listeners.iter().map(|(n, ids)| (n.clone(), ids.function_arn.clone())));
        self.listener_rule_names = map_of(listeners.iter().map(|(n, ids)| (n.clone(), ids.rule_name.clone())));
    }

    /// Marks every child identity unknown, as a plan for a fresh create shows them.
    pub fn mark_children_unknown(&mut self) {
        macro_rules! unknown {
            ($($field:ident),*) => { $(self.$field = Value::Unknown;)* };
        }
        each_child_string!(unknown);
        self.listener_role_arns = Value::Unknown;
        self.listener_function_arns = Value::Unknown;
        self.listener_rule_names = Value::Unknown;
    }

    /// Marks unknown what the apply will change: children that are missing (null) and should
    /// exist, and the listener maps when a listener is missing, added or removed.
    pub fn mark_changing_children_unknown(&mut self, spec: &WorkflowSpec) {
        macro_rules! unknown_if_null {
            ($($field:ident),*) => { $(if self.$field.is_null() {
                self.$field = Value::Unknown;
            })* };
        }
        each_child_string!(unknown_if_null);
        // Children the spec does not want stay null.
        if !spec.bucket {
            self.bucket_name = Value::Null;
        }
        if spec.trail.is_none() {
            self.trail_log_group = Value::Null;
            self.trail_rule_name = Value::Null;
        }
        let recorded = self.recorded_listeners();
        // A role only for a function the workflow creates: an existing function has its own.
        let complete = |l: &ListenerSpec, ids: &ListenerIds| {
            ids.role_arn.is_some() == l.creates_function() && ids.function_arn.is_some() && ids.rule_name.is_some()
        };
        let same = recorded.len() == spec.listeners.len()
            && spec
                .listeners
                .iter()
                .all(|l| recorded.get(&l.name).is_some_and(|ids| complete(l, ids)));
        if !same {
            self.listener_role_arns = Value::Unknown;
            self.listener_function_arns = Value::Unknown;
            self.listener_rule_names = Value::Unknown;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Value<String> {
        Value::Value(s.to_owned())
    }

    fn configured() -> WorkflowState {
        WorkflowState {
            name: text("cookie-report"),
            handler_image: text("registry/eventdriven-handlers:1"),
            bucket: Value::Value(true),
            task: Value::Value(vec![Value::Value(TaskBlock {
                name: text("GetMultiple"),
                detail_type: text("get.multiple"),
                result_path: text("$.names"),
                ..Default::default()
            })]),
            listener: Value::Value(vec![Value::Value(ListenerBlock {
                name: text("get-multiple"),
                detail_types: Value::Value(vec![text("get.multiple")]),
                command: Value::Value(vec![text("cookie-report"), text("get-multiple")]),
                ..Default::default()
            })]),
            trail: Value::Value(TrailBlock {
                retention_days: Value::Value(3),
            }),
            ..Default::default()
        }
    }

    #[test]
    fn the_spec_takes_core_defaults_for_what_is_unset() {
        let spec = configured().spec();
        assert_eq!(spec.event_source, "cookie-report");
        assert_eq!(spec.event_bus, "default");
        assert_eq!(spec.tasks[0].timeout_seconds, 300);
        assert_eq!(spec.tasks[0].result_path.as_deref(), Some("$.names"));
        assert_eq!(spec.listeners[0].command, ["cookie-report", "get-multiple"]);
        assert_eq!(spec.listeners[0].bucket_prefix, "runs/");
        assert_eq!(spec.trail, Some(TrailSpec { retention_days: 3 }));
        assert_eq!(eventdriven_core::workflow::spec::validate(&spec), Ok(()));
    }

    #[test]
    fn children_round_trip_and_a_missing_listener_marks_the_maps_unknown() {
        let mut state = configured();
        let mut children = WorkflowChildren {
            state_machine_arn: Some("arn:sm".into()),
            definition: Some(serde_json::json!({ "StartAt": "A" })),
            ..Default::default()
        };
        children.listeners.insert(
            "get-multiple".into(),
            ListenerIds {
                role_arn: Some("arn:role".into()),
                function_arn: Some("arn:fn".into()),
                rule_name: Some("rule".into()),
            },
        );
        state.set_children(&children);
        assert_eq!(state.children(), children);

        let spec = state.spec();
        let mut planned = state.clone();
        planned.mark_changing_children_unknown(&spec);
        assert_eq!(
            planned.listener_function_arns, state.listener_function_arns,
            "nothing to change"
        );
        assert!(planned.bucket_name.is_unknown(), "a missing bucket comes back");

        children.listeners.get_mut("get-multiple").unwrap().function_arn = None;
        state.set_children(&children);
        state.mark_changing_children_unknown(&spec);
        assert!(state.listener_function_arns.is_unknown());
    }

    #[test]
    fn unknown_arguments_are_noticed() {
        let mut state = configured();
        assert!(state.fully_known());
        state.handler_image = Value::Unknown;
        assert!(!state.fully_known());
    }
}
