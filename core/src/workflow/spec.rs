//! The user's description of a workflow (the `eventdriven_workflow` resource's attributes) and
//! its validation, which reports every problem at once against the attribute that has it.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::config_path::ConfigPath;
use crate::spec::{
    Architecture, MAX_CONCURRENCY_LIMIT, SpecError, in_range, is_lower_alnum, lambda_image, only, pipeline_name, rule,
    tags,
};
use crate::workflow::envelope::{DEFAULT_START_DETAIL_TYPE, TASK_FAILED, TASK_FINISHED};
use crate::workflow::environment::{BUCKET, EMITS, EVENT_BUS, EVENT_SOURCE};

/// Longest workflow name: `eventdriven-<workflow>-<listener>` must fit Lambda's 64 characters.
pub const MAX_WORKFLOW_NAME_LEN: usize = 30;
pub const MAX_LISTENER_NAME_LEN: usize = 20;
pub const DEFAULT_EVENT_BUS: &str = "default";
/// Five minutes: a listener that has not answered by then is taken as lost.
pub const DEFAULT_TASK_TIMEOUT_SECONDS: i64 = 300;
/// Step Functions' longest task wait is a year; a day is the longest a workflow task may wait here.
pub const MAX_TASK_TIMEOUT_SECONDS: i64 = 86_400;
pub const DEFAULT_LISTENER_TIMEOUT_SECONDS: i64 = 60;
pub const DEFAULT_LISTENER_MEMORY_MB: i64 = 256;
/// Where listeners keep a run's intermediate results in the bucket, unless told otherwise.
pub const DEFAULT_BUCKET_PREFIX: &str = "runs/";
/// Two weeks of listener logs, unless told otherwise.
pub const DEFAULT_LOG_RETENTION_DAYS: i64 = 14;
/// CloudWatch Logs' allowed retention periods, in days.
pub const RETENTION_DAYS: [i64; 22] = [
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
];

/// A workflow as the user declares it. Field names are the Terraform attribute names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkflowSpec {
    pub name: String,
    /// The `source` of every event of this workflow.
    pub event_source: String,
    pub event_bus: String,
    /// The detail type of the event that starts a run.
    pub start_detail_type: String,
    /// The image listeners run unless they name their own or are not images; empty for none.
    pub handler_image: String,
    pub architecture: Architecture,
    /// Whether the workflow has a bucket for intermediate results.
    pub bucket: bool,
    pub tasks: Vec<TaskSpec>,
    pub listeners: Vec<ListenerSpec>,
    pub trail: Option<TrailSpec>,
    /// How long the listeners' log groups keep their logs.
    pub log_retention_days: i64,
    pub tags: BTreeMap<String, String>,
}

/// One state of the main machine: emit an event, wait for a listener to answer its token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskSpec {
    pub name: String,
    pub detail_type: String,
    /// Where the answer goes in the state; `None` discards it.
    pub result_path: Option<String>,
    /// How long the task waits for its answer before the run fails with `States.Timeout`.
    pub timeout_seconds: i64,
    /// Makes the task a Map: one event per item found here.
    pub items_path: Option<String>,
    /// Parallel items of a Map; 0 sets no limit of its own, which leaves the inline Map's, 40
    /// ([`scale::INLINE_MAP_PARALLELISM`](crate::scale::INLINE_MAP_PARALLELISM)).
    pub max_concurrency: i64,
}

/// A Lambda function behind a rule on some detail types. It is one of three kinds, told apart by
/// which attributes are set: an image with a `command` (the workflow's `handler_image` unless
/// `image` is set), a zip `package` on a managed runtime, or an existing function
/// (`function_arn`) the workflow only wires to its rule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListenerSpec {
    pub name: String,
    pub detail_types: Vec<String>,
    /// The image's command: arguments to the handler image's entrypoint.
    pub command: Vec<String>,
    /// Overrides the workflow's `handler_image`.
    pub image: Option<String>,
    /// A zip package the workflow creates a function from.
    pub package: Option<ZipPackage>,
    /// An existing function: the workflow adds its rule, the rule's permission to invoke it and
    /// where its results go, and never edits its code, configuration or role.
    pub function_arn: Option<String>,
    /// Receives the events without their task token: it can neither answer nor fail a task, and
    /// its outcome is recorded as `<detail type>.done` or `side_effect.failed`.
    pub side_effect: bool,
    /// The detail types it may emit, besides finishing or failing its task.
    pub emits: Vec<String>,
    /// The part of the bucket it may read and write.
    pub bucket_prefix: String,
    pub timeout_seconds: i64,
    pub memory_size: i64,
    /// Environment variables of a function the workflow creates, besides the listener
    /// environment ([`crate::workflow::environment`]).
    pub environment: BTreeMap<String, String>,
    /// The function's architecture; the workflow's when unset.
    pub architecture: Option<Architecture>,
}

/// A listener's code as a zip package on a Lambda managed runtime.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZipPackage {
    /// The zip file, as the configuration names it (relative to Terraform's working directory).
    pub filename: String,
    /// A Lambda managed runtime, such as `python3.12` or `nodejs20.x`.
    pub runtime: String,
    /// The handler, such as `app.handler`.
    pub handler: String,
    /// Base64 of the zip's SHA-256: a new hash updates the function's code.
    pub source_code_hash: String,
}

/// What runs a listener, told from its attributes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListenerCode<'a> {
    Image { image: &'a str, command: &'a [String] },
    Zip(&'a ZipPackage),
    Existing { function_arn: &'a str },
}

/// Records every event of the workflow in a CloudWatch Logs group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrailSpec {
    pub retention_days: i64,
}

impl TaskSpec {
    pub fn new(name: impl Into<String>, detail_type: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            detail_type: detail_type.into(),
            result_path: None,
            timeout_seconds: DEFAULT_TASK_TIMEOUT_SECONDS,
            items_path: None,
            max_concurrency: 0,
        }
    }
}

impl ListenerSpec {
    pub fn new(name: impl Into<String>, detail_types: &[&str], command: &[&str]) -> Self {
        Self {
            name: name.into(),
            detail_types: detail_types.iter().map(|s| (*s).to_owned()).collect(),
            command: command.iter().map(|s| (*s).to_owned()).collect(),
            image: None,
            package: None,
            function_arn: None,
            side_effect: false,
            emits: Vec::new(),
            bucket_prefix: DEFAULT_BUCKET_PREFIX.to_owned(),
            timeout_seconds: DEFAULT_LISTENER_TIMEOUT_SECONDS,
            memory_size: DEFAULT_LISTENER_MEMORY_MB,
            environment: BTreeMap::new(),
            architecture: None,
        }
    }

    /// What runs it: an existing function, a zip package, or else an image.
    pub fn code<'a>(&'a self, workflow: &'a WorkflowSpec) -> ListenerCode<'a> {
        match (&self.function_arn, &self.package) {
            (Some(function_arn), _) => ListenerCode::Existing { function_arn },
            (None, Some(package)) => ListenerCode::Zip(package),
            (None, None) => ListenerCode::Image {
                image: self.image(workflow),
                command: &self.command,
            },
        }
    }

    /// Whether the workflow creates its function (and its role and log group).
    pub fn creates_function(&self) -> bool {
        self.function_arn.is_none()
    }

    /// The image the listener's function runs.
    pub fn image<'a>(&'a self, workflow: &'a WorkflowSpec) -> &'a str {
        self.image.as_deref().unwrap_or(&workflow.handler_image)
    }

    pub fn architecture(&self, workflow: &WorkflowSpec) -> Architecture {
        self.architecture.unwrap_or(workflow.architecture)
    }

    /// Every detail type it may put on the bus: what it forwards, and its task's answer unless
    /// it is a side effect, which has no task to answer.
    pub fn may_emit(&self) -> Vec<String> {
        let mut all: Vec<String> = self.emits.clone();
        if !self.side_effect {
            all.extend([TASK_FINISHED.to_owned(), TASK_FAILED.to_owned()]);
        }
        all
    }
}

impl WorkflowSpec {
    /// A spec with the required attributes set and every optional one at its default.
    pub fn new(name: impl Into<String>, handler_image: impl Into<String>) -> Self {
        let name = name.into();
        Self {
            event_source: name.clone(),
            name,
            event_bus: DEFAULT_EVENT_BUS.to_owned(),
            start_detail_type: DEFAULT_START_DETAIL_TYPE.to_owned(),
            handler_image: handler_image.into(),
            architecture: Architecture::X86_64,
            bucket: false,
            tasks: Vec::new(),
            listeners: Vec::new(),
            trail: None,
            log_retention_days: DEFAULT_LOG_RETENTION_DAYS,
            tags: BTreeMap::new(),
        }
    }
}

/// Checks every attribute and returns all the problems found, not only the first.
pub fn validate(spec: &WorkflowSpec) -> Result<(), Vec<SpecError>> {
    let mut errors = Vec::new();
    let mut check = |attribute: ConfigPath, outcome: Result<(), String>| {
        if let Err(message) = outcome {
            errors.push(SpecError { attribute, message });
        }
    };
    check("name".into(), workflow_name(&spec.name));
    check("event_source".into(), event_source(&spec.event_source));
    check("event_bus".into(), event_bus(&spec.event_bus));
    check("start_detail_type".into(), detail_type(&spec.start_detail_type));
    if !spec.handler_image.is_empty() {
        check("handler_image".into(), lambda_image(&spec.handler_image));
    }
    check(
        "task".into(),
        rule(!spec.tasks.is_empty(), "at least one task block is required"),
    );
    let mut state_names = BTreeSet::new();
    for (i, task) in spec.tasks.iter().enumerate() {
        let at = |field| ConfigPath::attribute("task").index(i).then(field);
        check(at("name"), state_name(&task.name));
        check(
            at("name"),
            rule(
                state_names.insert(task.name.as_str()),
                format!("{:?} names two tasks", task.name),
            ),
        );
        check(at("detail_type"), detail_type(&task.detail_type));
        check(at("detail_type"), not_reserved(&task.detail_type, spec));
        if let Some(path) = &task.result_path {
            check(at("result_path"), reference_path(path));
        }
        if let Some(path) = &task.items_path {
            check(at("items_path"), reference_path(path));
        }
        check(
            at("timeout_seconds"),
            in_range(task.timeout_seconds, 1, MAX_TASK_TIMEOUT_SECONDS),
        );
        check(
            at("max_concurrency"),
            in_range(task.max_concurrency, 0, MAX_CONCURRENCY_LIMIT),
        );
        check(
            at("max_concurrency"),
            rule(
                task.items_path.is_some() || task.max_concurrency == 0,
                "only applies to a task with items_path",
            ),
        );
    }
    let mut listener_names = BTreeSet::new();
    for listener in &spec.listeners {
        let at = |field| {
            ConfigPath::attribute("listener")
                .named(listener.name.as_str())
                .then(field)
        };
        check(at("name"), listener_name(&listener.name));
        check(
            at("name"),
            rule(
                listener_names.insert(listener.name.as_str()),
                format!("{:?} names two listeners", listener.name),
            ),
        );
        check(
            at("detail_types"),
            rule(!listener.detail_types.is_empty(), "must list at least one detail type"),
        );
        for detail in &listener.detail_types {
            check(at("detail_types"), detail_type(detail));
        }
        for detail in &listener.emits {
            check(at("emits"), detail_type(detail));
            check(at("emits"), not_reserved(detail, spec));
        }
        for (field, outcome) in listener_code(spec, listener) {
            check(at(field), outcome);
        }
        check(at("bucket_prefix"), bucket_prefix(&listener.bucket_prefix));
        check(at("timeout_seconds"), in_range(listener.timeout_seconds, 1, 900));
        check(at("memory_size"), in_range(listener.memory_size, 128, 10_240));
    }
    if let Some(trail) = &spec.trail {
        check(
            ConfigPath::attribute("trail").then("retention_days"),
            retention(trail.retention_days),
        );
    }
    check("log_retention_days".into(), retention(spec.log_retention_days));
    for message in tags(&spec.tags) {
        check("tags".into(), Err(message));
    }
    if errors.is_empty() { Ok(()) } else { Err(errors) }
}

/// The attributes that say what runs a listener: exactly one kind, complete, and nothing of
/// another kind.
fn listener_code(spec: &WorkflowSpec, listener: &ListenerSpec) -> Vec<(&'static str, Result<(), String>)> {
    let mut found = Vec::new();
    let mut set_by_other = |field: &'static str, set: bool, kind: &str| {
        if set {
            found.push((field, Err(format!("does not apply to {kind}"))));
        }
    };
    match listener.code(spec) {
        ListenerCode::Existing { function_arn } => {
            let kind = "a listener with function_arn (an existing function is never edited)";
            set_by_other("command", !listener.command.is_empty(), kind);
            set_by_other("image", listener.image.is_some(), kind);
            set_by_other("filename", listener.package.is_some(), kind);
            set_by_other("environment", !listener.environment.is_empty(), kind);
            set_by_other("architecture", listener.architecture.is_some(), kind);
            found.push(("function_arn", lambda_function_arn(function_arn)));
        }
        ListenerCode::Zip(package) => {
            let kind = "a zip package (filename)";
            set_by_other("command", !listener.command.is_empty(), kind);
            set_by_other("image", listener.image.is_some(), kind);
            found.push((
                "filename",
                rule(package.filename.ends_with(".zip"), "must name a .zip file"),
            ));
            found.push(("runtime", lambda_runtime(&package.runtime)));
            found.push((
                "handler",
                rule(
                    (1..=128).contains(&package.handler.len()) && !package.handler.contains(char::is_whitespace),
                    "must be a handler such as \"app.handler\" (1 to 128 characters, no spaces)",
                ),
            ));
        }
        ListenerCode::Image { image, command } => {
            found.push((
                "command",
                rule(
                    !command.is_empty(),
                    "must not be empty: a listener is an image with a command, a zip package (filename, runtime, handler) or an existing function (function_arn)",
                ),
            ));
            if image.is_empty() {
                found.push((
                    "image",
                    Err("is needed, or the workflow's handler_image, for a listener with a command".to_owned()),
                ));
            } else if listener.image.is_some() {
                found.push(("image", lambda_image(image)));
            }
        }
    }
    for name in listener.environment.keys() {
        found.push((
            "environment",
            rule(
                !RESERVED_ENVIRONMENT.contains(&name.as_str()) && !name.starts_with("AWS_"),
                format!("{name:?} is set by the workflow or by Lambda"),
            ),
        ));
    }
    found
}

/// The variables every listener function the workflow creates gets.
const RESERVED_ENVIRONMENT: [&str; 4] = [EVENT_BUS, EVENT_SOURCE, EMITS, BUCKET];

/// `arn:PARTITION:lambda:REGION:ACCOUNT:function:NAME`, unqualified (the rule invokes the
/// function as it is published to `$LATEST`).
fn lambda_function_arn(arn: &str) -> Result<(), String> {
    let parts: Vec<&str> = arn.split(':').collect();
    rule(
        parts.len() == 7 && parts[0] == "arn" && parts[2] == "lambda" && parts[5] == "function" && !parts[6].is_empty(),
        "must be an unqualified Lambda function ARN: arn:aws:lambda:REGION:ACCOUNT:function:NAME",
    )
}

/// The managed runtimes' names: `python3.12`, `nodejs20.x`, `java21`, `provided.al2023`, ...
fn lambda_runtime(runtime: &str) -> Result<(), String> {
    rule(
        ["python", "nodejs", "java", "dotnet", "ruby", "provided"]
            .iter()
            .any(|family| runtime.starts_with(family))
            && only(runtime, |c| c.is_ascii_alphanumeric() || c == '.'),
        format!("{runtime:?} is not a Lambda managed runtime such as \"python3.12\" or \"nodejs20.x\""),
    )
}

fn retention(days: i64) -> Result<(), String> {
    rule(
        RETENTION_DAYS.contains(&days),
        format!("must be one of CloudWatch Logs' retention periods: {RETENTION_DAYS:?}"),
    )
}

fn workflow_name(name: &str) -> Result<(), String> {
    pipeline_name(name)?;
    rule(
        name.len() <= MAX_WORKFLOW_NAME_LEN,
        format!("must be at most {MAX_WORKFLOW_NAME_LEN} characters long"),
    )
}

fn listener_name(name: &str) -> Result<(), String> {
    rule(
        (1..=MAX_LISTENER_NAME_LEN).contains(&name.len()),
        format!("must be 1 to {MAX_LISTENER_NAME_LEN} characters long"),
    )?;
    rule(
        only(name, |c| is_lower_alnum(c) || c == '-'),
        "may contain only lowercase letters, digits and '-'",
    )?;
    rule(
        name.starts_with(|c: char| c.is_ascii_lowercase()) && !name.ends_with('-'),
        "must start with a letter and not end with '-'",
    )
}

/// EventBridge reserves `aws.` sources for AWS services.
fn event_source(source: &str) -> Result<(), String> {
    rule((1..=256).contains(&source.len()), "must be 1 to 256 characters long")?;
    rule(
        !source.starts_with("aws."),
        "must not start with \"aws.\", which AWS services use",
    )?;
    rule(!source.contains(char::is_whitespace), "must not contain whitespace")
}

fn event_bus(bus: &str) -> Result<(), String> {
    rule((1..=256).contains(&bus.len()), "must be 1 to 256 characters long")?;
    rule(
        only(bus, |c| c.is_ascii_alphanumeric() || "._-/".contains(c)),
        "must be an event bus name",
    )
}

fn detail_type(detail: &str) -> Result<(), String> {
    rule((1..=128).contains(&detail.len()), "must be 1 to 128 characters long")
}

/// The finisher's and the start rule's detail types would make a task's event answer itself or
/// start another run.
fn not_reserved(detail: &str, spec: &WorkflowSpec) -> Result<(), String> {
    rule(
        ![TASK_FINISHED, TASK_FAILED, spec.start_detail_type.as_str()].contains(&detail),
        format!("{detail:?} is reserved for starting runs and answering tasks"),
    )
}

/// Step Functions state names: at most 80 characters, no characters it reserves.
fn state_name(name: &str) -> Result<(), String> {
    rule(
        (1..=80).contains(&name.chars().count()),
        "must be 1 to 80 characters long",
    )?;
    rule(
        only(name, |c| c.is_ascii_alphanumeric() || "-_. ".contains(c)),
        "may contain only letters, digits, ' ', '-', '_' and '.'",
    )
}

fn reference_path(path: &str) -> Result<(), String> {
    rule(
        path == "$" || path.starts_with("$.") || path.starts_with("$["),
        "must be a JSONPath starting with \"$\"",
    )
}

fn bucket_prefix(prefix: &str) -> Result<(), String> {
    rule(
        !prefix.is_empty() && prefix.ends_with('/') && !prefix.starts_with('/'),
        "must be a key prefix ending with '/', such as \"runs/\"",
    )?;
    rule(!prefix.contains('*'), "must not contain '*'")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workflow::fixtures;

    fn attributes_failing(change: impl FnOnce(&mut WorkflowSpec)) -> Vec<String> {
        let mut spec = fixtures::cookies();
        change(&mut spec);
        validate(&spec)
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|e| e.attribute.to_string())
            .collect()
    }

    #[test]
    fn the_example_is_valid_and_defaults_follow_the_name() {
        let spec = fixtures::cookies();
        assert_eq!(validate(&spec), Ok(()));
        let fresh = WorkflowSpec::new("report", "registry/handlers:1");
        assert_eq!(fresh.event_source, "report");
        assert_eq!(fresh.event_bus, "default");
        assert_eq!(fresh.start_detail_type, "start");
    }

    #[test]
    fn errors_name_the_block_and_field() {
        assert_eq!(
            attributes_failing(|s| s.tasks[1].detail_type = "task.finished".into()),
            ["task[1].detail_type"]
        );
        assert_eq!(
            attributes_failing(|s| s.tasks[2].name = s.tasks[0].name.clone()),
            ["task[2].name"]
        );
        assert_eq!(
            attributes_failing(|s| s.listeners[0].name = "Get_Multiple".into()),
            [r#"listener["Get_Multiple"].name"#]
        );
        assert_eq!(
            attributes_failing(|s| s.tasks[0].max_concurrency = 3),
            ["task[0].max_concurrency"]
        );
        assert_eq!(
            attributes_failing(|s| s.tasks[0].result_path = Some("names".into())),
            ["task[0].result_path"]
        );
        assert_eq!(
            attributes_failing(|s| s.event_source = "aws.s3".into()),
            ["event_source"]
        );
        assert_eq!(
            attributes_failing(|s| s.trail = Some(TrailSpec { retention_days: 2 })),
            ["trail.retention_days"]
        );
        assert_eq!(
            attributes_failing(|s| s.listeners[1].bucket_prefix = "runs".into()),
            [r#"listener["process-single"].bucket_prefix"#]
        );
        assert_eq!(attributes_failing(|s| s.tasks.clear()), ["task"]);
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let failing = attributes_failing(|s| {
            s.name = "x".repeat(31);
            s.listeners[0].command.clear();
            s.tasks[0].timeout_seconds = 0;
        });
        assert_eq!(
            failing,
            ["name", "task[0].timeout_seconds", r#"listener["get-multiple"].command"#]
        );
    }

    #[test]
    fn every_listener_kind_is_valid_in_the_polyglot_workflow() {
        let spec = fixtures::polyglot();
        assert_eq!(validate(&spec), Ok(()));
        let kinds: Vec<&str> = spec
            .listeners
            .iter()
            .map(|l| match l.code(&spec) {
                ListenerCode::Image { .. } => "image",
                ListenerCode::Zip(_) => "zip",
                ListenerCode::Existing { .. } => "existing",
            })
            .collect();
        assert_eq!(kinds, ["zip", "zip", "image", "zip", "existing"]);
    }

    #[test]
    fn a_listener_is_one_kind_and_complete() {
        let failing = |change: &dyn Fn(&mut ListenerSpec)| {
            let mut spec = fixtures::polyglot();
            for listener in &mut spec.listeners {
                change(listener);
            }
            let errors = validate(&spec).err().unwrap_or_default();
            errors.into_iter().map(|e| e.to_string()).collect::<Vec<_>>()
        };
        let errors = failing(&|l| {
            if l.name == "ledger" {
                l.command = vec!["x".into()];
                l.environment.insert("MODE".into(), "1".into());
            }
        });
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].starts_with(r#"listener["ledger"].command: does not apply to a listener with function_arn"#));
        assert!(errors[1].starts_with(r#"listener["ledger"].environment: does not apply"#));

        let errors = failing(&|l| {
            if l.name == "enrich" {
                l.package.as_mut().unwrap().runtime = "cobol85".into();
                l.environment.insert("EVENT_BUS".into(), "other".into());
            }
        });
        assert_eq!(
            errors,
            [
                r#"listener["enrich"].runtime: "cobol85" is not a Lambda managed runtime such as "python3.12" or "nodejs20.x""#,
                r#"listener["enrich"].environment: "EVENT_BUS" is set by the workflow or by Lambda"#,
            ]
        );
        let errors = failing(&|l| {
            if l.name == "ledger" {
                l.function_arn = Some("orders-audit".into());
            }
        });
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0].starts_with(r#"listener["ledger"].function_arn: must be an unqualified Lambda function ARN"#)
        );
        let errors = failing(&|l| {
            if l.name == "approve" {
                l.image = None;
            }
        });
        assert_eq!(
            errors,
            [r#"listener["approve"].image: is needed, or the workflow's handler_image, for a listener with a command"#]
        );
    }

    #[test]
    fn a_side_effect_may_not_answer_a_task() {
        let spec = fixtures::polyglot();
        let audit = spec.listeners.iter().find(|l| l.name == "audit").unwrap();
        assert!(audit.may_emit().is_empty());
    }

    #[test]
    fn a_listener_may_emit_its_answers_and_what_it_forwards() {
        let spec = fixtures::cookies();
        let process_single = spec.listeners.iter().find(|l| l.name == "process-single").unwrap();
        assert_eq!(
            process_single.may_emit(),
            ["process.single.post", "task.finished", "task.failed"]
        );
    }
}
