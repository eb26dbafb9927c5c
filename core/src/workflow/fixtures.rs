//! The cookie-report workflow, read from `examples/cookie-report/main.tf` and the defaults of its
//! `variables.tf`: the spec the provider plans from that configuration. It is the one copy of the
//! example the tests use: core's own, and, through the `fixtures` feature, the example crate's.
//!
//! The reader knows the part of HCL those two files are written in (a block or an attribute a
//! line; values that are strings, numbers, booleans, `var.NAME`, `{}` or a one-line list of
//! strings) and fails on anything else, so the example cannot say something the tests miss.

use crate::spec::Architecture;
use std::collections::BTreeMap;

use super::spec::{ListenerSpec, TaskSpec, TrailSpec, WorkflowSpec, ZipPackage};

pub const MAIN_TF: &str = include_str!("../../../examples/cookie-report/main.tf");
pub const VARIABLES_TF: &str = include_str!("../../../examples/cookie-report/variables.tf");
/// The image the tests deploy for `var.handler_image`, which has no default.
pub const HANDLER_IMAGE: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/cookie-report-handlers:1";

/// The workflow of `examples/cookie-report`, with [`HANDLER_IMAGE`] as its handler image.
pub fn cookies() -> WorkflowSpec {
    cookie_report(HANDLER_IMAGE)
}

/// The workflow `examples/cookie-report/main.tf` declares, every variable at its default and
/// `handler_image` as given.
pub fn cookie_report(handler_image: &str) -> WorkflowSpec {
    let mut variables: BTreeMap<String, String> = Block::parse(VARIABLES_TF)
        .blocks("variable")
        .filter_map(|v| Some((v.label(), v.attributes.get("default")?.clone())))
        .collect();
    variables.insert("handler_image".into(), format!("{handler_image:?}"));
    let config = Config {
        main: Block::parse(MAIN_TF),
        variables,
    };
    let workflow = config
        .main
        .blocks("resource")
        .find(|r| r.labels.first().map(String::as_str) == Some("eventdriven_workflow"))
        .expect("main.tf declares an eventdriven_workflow");
    config.spec(workflow)
}

/// A workflow of every listener kind: a Python zip, a Node.js zip, a Rust image, a Python side
/// effect and an existing function as a side effect, as `examples/polyglot-workflow` declares
/// them (the first four).
pub fn polyglot() -> WorkflowSpec {
    let mut spec = WorkflowSpec::new("polyglot", "");
    spec.bucket = true;
    spec.tasks = vec![
        TaskSpec::new("Enrich", "order.enrich"),
        TaskSpec::new("Price", "order.price"),
        TaskSpec::new("Approve", "order.approve"),
    ];
    let zip = |name: &str, detail_type: &str, runtime: &str, handler: &str| ListenerSpec {
        package: Some(ZipPackage {
            filename: format!("build/{name}.zip"),
            runtime: runtime.to_owned(),
            handler: handler.to_owned(),
            source_code_hash: "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=".to_owned(),
        }),
        ..ListenerSpec::new(name, &[detail_type], &[])
    };
    let approve = ListenerSpec {
        image: Some("123456789012.dkr.ecr.us-east-1.amazonaws.com/polyglot-approve:1".to_owned()),
        ..ListenerSpec::new("approve", &["order.approve"], &["approve"])
    };
    let audit = ListenerSpec {
        side_effect: true,
        ..zip("audit", "order.approve", "python3.12", "app.handler")
    };
    let existing = ListenerSpec {
        function_arn: Some("arn:aws:lambda:eu-west-1:123456789012:function:orders-audit".to_owned()),
        side_effect: true,
        ..ListenerSpec::new("ledger", &["order.price"], &[])
    };
    spec.listeners = vec![
        zip("enrich", "order.enrich", "python3.12", "app.handler"),
        zip("price", "order.price", "nodejs20.x", "index.handler"),
        approve,
        audit,
        existing,
    ];
    spec.trail = Some(TrailSpec { retention_days: 1 });
    spec
}

#[cfg(test)]
pub fn aws() -> crate::cluster::AwsContext {
    crate::fixtures::aws()
}

struct Config {
    main: Block,
    /// Variable name -> its value, as written in HCL.
    variables: BTreeMap<String, String>,
}

impl Config {
    fn spec(&self, workflow: &Block) -> WorkflowSpec {
        workflow.only(&[
            "name",
            "handler_image",
            "bucket",
            "force_destroy",
            "tags",
            "event_source",
            "event_bus",
            "start_detail_type",
            "architecture",
            "log_retention_days",
        ]);
        let mut spec = WorkflowSpec::new(
            self.string(workflow, "name").expect("name"),
            self.string(workflow, "handler_image").expect("handler_image"),
        );
        spec.bucket = self.value(workflow, "bucket").is_some_and(|v| v == "true");
        if let Some(tags) = self.value(workflow, "tags") {
            assert_eq!(tags, "{}", "the reader knows only empty tags");
        }
        let optional = [
            ("event_source", &mut spec.event_source),
            ("event_bus", &mut spec.event_bus),
            ("start_detail_type", &mut spec.start_detail_type),
        ];
        for (attribute, field) in optional {
            if let Some(value) = self.string(workflow, attribute) {
                *field = value;
            }
        }
        if let Some(architecture) = self.string(workflow, "architecture") {
            spec.architecture = Architecture::named(&architecture);
        }
        if let Some(days) = self.number(workflow, "log_retention_days") {
            spec.log_retention_days = days;
        }
        spec.tasks = workflow.blocks("task").map(|task| self.task(task)).collect();
        spec.listeners = workflow.blocks("listener").map(|l| self.listener(l)).collect();
        spec.trail = workflow.blocks("trail").next().map(|trail| {
            trail.only(&["retention_days"]);
            TrailSpec {
                retention_days: self.number(trail, "retention_days").expect("trail.retention_days"),
            }
        });
        spec
    }

    fn task(&self, task: &Block) -> TaskSpec {
        task.only(&[
            "name",
            "detail_type",
            "result_path",
            "items_path",
            "max_concurrency",
            "timeout_seconds",
        ]);
        let defaults = TaskSpec::new(
            self.string(task, "name").expect("task.name"),
            self.string(task, "detail_type").expect("task.detail_type"),
        );
        TaskSpec {
            result_path: self.string(task, "result_path"),
            items_path: self.string(task, "items_path"),
            max_concurrency: self.number(task, "max_concurrency").unwrap_or(defaults.max_concurrency),
            timeout_seconds: self.number(task, "timeout_seconds").unwrap_or(defaults.timeout_seconds),
            ..defaults
        }
    }

    fn listener(&self, listener: &Block) -> ListenerSpec {
        listener.only(&[
            "name",
            "detail_types",
            "command",
            "image",
            "emits",
            "bucket_prefix",
            "timeout_seconds",
            "memory_size",
        ]);
        let strings = |attribute: &str| self.strings(listener, attribute);
        let defaults = ListenerSpec {
            detail_types: strings("detail_types").expect("listener.detail_types"),
            command: strings("command").expect("listener.command"),
            ..ListenerSpec::new(self.string(listener, "name").expect("listener.name"), &[], &[])
        };
        ListenerSpec {
            image: self.string(listener, "image"),
            emits: strings("emits").unwrap_or_default(),
            bucket_prefix: self
                .string(listener, "bucket_prefix")
                .unwrap_or(defaults.bucket_prefix.clone()),
            timeout_seconds: self
                .number(listener, "timeout_seconds")
                .unwrap_or(defaults.timeout_seconds),
            memory_size: self.number(listener, "memory_size").unwrap_or(defaults.memory_size),
            ..defaults
        }
    }

    /// The attribute's value as written, a variable replaced by its value.
    fn value(&self, block: &Block, attribute: &str) -> Option<String> {
        let value = block.attributes.get(attribute)?;
        Some(match value.strip_prefix("var.") {
            Some(variable) => self
                .variables
                .get(variable)
                .unwrap_or_else(|| panic!("var.{variable} has no default"))
                .clone(),
            None => value.clone(),
        })
    }

    fn string(&self, block: &Block, attribute: &str) -> Option<String> {
        self.value(block, attribute).map(|v| unquote(&v))
    }

    fn number(&self, block: &Block, attribute: &str) -> Option<i64> {
        let value = self.value(block, attribute)?;
        Some(
            value
                .parse()
                .unwrap_or_else(|_| panic!("{attribute} = {value} is not a number")),
        )
    }

    fn strings(&self, block: &Block, attribute: &str) -> Option<Vec<String>> {
        let value = self.value(block, attribute)?;
        let items = value
            .strip_prefix('[')
            .and_then(|v| v.strip_suffix(']'))
            .unwrap_or_else(|| panic!("{attribute} = {value} is not a one-line list"));
        Some(
            items
                .split(',')
                .map(str::trim)
                .filter(|item| !item.is_empty())
                .map(unquote)
                .collect(),
        )
    }
}

/// A block of HCL: `kind "label" … { attributes and blocks }`. An attribute whose value is an
/// object spanning lines (`name = {`) is kept as a block of that kind.
#[derive(Default)]
struct Block {
    kind: String,
    labels: Vec<String>,
    /// Attribute name -> its value, as written.
    attributes: BTreeMap<String, String>,
    blocks: Vec<Block>,
}

impl Block {
    /// The file as the body of one block.
    fn parse(text: &str) -> Block {
        let mut open = vec![Block::default()];
        let lines = text.lines().map(str::trim);
        for line in lines.filter(|l| !l.is_empty() && !l.starts_with('#')) {
            if line == "}" {
                let block = open.pop().expect("balanced braces");
                open.last_mut().expect("balanced braces").blocks.push(block);
            } else if let Some(head) = line.strip_suffix('{') {
                let mut words = head.split_whitespace().filter(|w| *w != "=");
                open.push(Block {
                    kind: words.next().expect("a block has a kind").to_owned(),
                    labels: words.map(unquote).collect(),
                    ..Block::default()
                });
            } else {
                let (name, value) = line
                    .split_once('=')
                    .unwrap_or_else(|| panic!("not an attribute: {line}"));
                let block = open.last_mut().expect("balanced braces");
                block.attributes.insert(name.trim().to_owned(), value.trim().to_owned());
            }
        }
        assert_eq!(open.len(), 1, "unbalanced braces");
        open.pop().unwrap()
    }

    fn blocks<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a Block> {
        self.blocks.iter().filter(move |b| b.kind == kind)
    }

    fn label(&self) -> String {
        self.labels.first().cloned().unwrap_or_default()
    }

    /// Fails on an attribute or block the reader does not turn into the spec.
    fn only(&self, known: &[&str]) {
        for name in self.attributes.keys() {
            assert!(
                known.contains(&name.as_str()),
                "{} has {name}, which the reader does not know",
                self.kind
            );
        }
        for block in &self.blocks {
            assert!(
                ["task", "listener", "trail"].contains(&block.kind.as_str()) && self.kind == "resource",
                "{} has a {} block, which the reader does not know",
                self.kind,
                block.kind
            );
        }
    }
}

fn unquote(text: &str) -> String {
    let inner = text
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or_else(|| panic!("not a string: {text}"));
    assert!(
        !inner.contains(['\\', '"']) && !inner.contains("${"),
        "escapes and templates are not read: {text}"
    );
    inner.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_reads_as_its_terraform_says() {
        let spec = cookies();
        assert_eq!(spec.name, "cookie-report");
        assert_eq!(spec.handler_image, HANDLER_IMAGE);
        assert!(spec.bucket);
        let tasks: Vec<_> = spec
            .tasks
            .iter()
            .map(|t| (t.name.as_str(), t.detail_type.as_str()))
            .collect();
        assert_eq!(
            tasks,
            [
                ("GetMultiple", "get.multiple"),
                ("ProcessMultiple", "process.single"),
                ("PostProcessAll", "process.all")
            ]
        );
        let process = &spec.tasks[1];
        assert_eq!(process.items_path.as_deref(), Some("$.names.value"));
        assert_eq!(process.result_path.as_deref(), Some("$.people"));
        assert_eq!((process.max_concurrency, process.timeout_seconds), (2, 300));
        let single = &spec.listeners[1];
        assert_eq!(single.name, "process-single");
        assert_eq!(single.command, ["process-single"]);
        assert_eq!(single.emits, ["process.single.post"]);
        assert_eq!(spec.listeners.len(), 5);
        assert_eq!(spec.trail, Some(TrailSpec { retention_days: 1 }));
    }
}
