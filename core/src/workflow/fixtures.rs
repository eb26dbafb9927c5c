//! The cookie-report workflow of `examples/cookie-report`, as the tests' reference spec.

use super::spec::{ListenerSpec, TaskSpec, TrailSpec, WorkflowSpec};
use crate::cluster::AwsContext;

pub fn cookies() -> WorkflowSpec {
    let mut spec = WorkflowSpec::new(
        "cookie-report",
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/eventdriven:1",
    );
    spec.bucket = true;
    spec.tasks = vec![
        TaskSpec {
            result_path: Some("$.names".into()),
            ..TaskSpec::new("GetMultiple", "get.multiple")
        },
        TaskSpec {
            items_path: Some("$.names.value".into()),
            max_concurrency: 2,
            ..TaskSpec::new("ProcessMultiple", "process.single")
        },
        TaskSpec {
            result_path: Some("$.totalCookiesConsumed".into()),
            ..TaskSpec::new("PostProcessAll", "process.all")
        },
    ];
    let listener = |name: &str, detail: &str, emits: &[&str]| ListenerSpec {
        emits: emits.iter().map(|s| (*s).to_owned()).collect(),
        ..ListenerSpec::new(name, &[detail], &["cookie-report", name])
    };
    spec.listeners = vec![
        listener("get-multiple", "get.multiple", &[]),
        listener("process-single", "process.single", &["process.single.post"]),
        listener("post-process-single", "process.single.post", &[]),
        listener("post-process-all", "process.all", &[]),
        listener("side-effect", "process.single.post", &[]),
    ];
    spec.trail = Some(TrailSpec { retention_days: 1 });
    spec
}

pub fn aws() -> AwsContext {
    crate::fixtures::aws()
}
