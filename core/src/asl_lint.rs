//! Every state machine definition the project renders, checked by `asl-validator` (an
//! independent validator of the Amazon States Language): what core's own checks and the
//! emulator accept, Step Functions may still refuse (a state name used twice across nested
//! Maps was one). Ignored by a plain `cargo test`, as it needs the validator;
//! `tests/asl-validate.sh` (part of `make test`) installs it and runs this.

use std::process::{Command, Stdio};

use serde_json::Value;

use crate::cluster::AwsContext;
use crate::definition::state_machine_definition;
use crate::fixtures;
use crate::local::local_deployment;
use crate::spec::PipelineSpec;
use crate::workflow::definition::{finisher_definition, main_definition};
use crate::workflow::naming::WorkflowNames;
use crate::workflow::spec::WorkflowSpec;

/// Both of a workflow's machines, named after it.
fn workflow_definitions(label: &str, spec: &WorkflowSpec, aws: &AwsContext) -> [(String, Value); 2] {
    let names = WorkflowNames::new(spec, aws);
    [
        (format!("workflow-{label}-main"), main_definition(&names)),
        (format!("workflow-{label}-finisher"), finisher_definition(&names)),
    ]
}

/// Every definition, by a name that says whose it is: the pipeline as the order example
/// declares it, with a user's process step and without a table, as `eventdriven run` renders
/// it, and both machines of the cookie-report and polyglot workflows.
fn definitions() -> Vec<(String, Value)> {
    let (aws, cluster, refs) = (fixtures::aws(), fixtures::cluster(), fixtures::refs());
    let with_process = PipelineSpec {
        process: Some(fixtures::process()),
        ..fixtures::spec()
    };
    let tableless = PipelineSpec {
        table: false,
        ..with_process.clone()
    };
    let (local_spec, local_cluster, local_refs) = local_deployment("local", 250, 3);
    let mut all = vec![
        (
            "pipeline".to_owned(),
            state_machine_definition(&fixtures::spec(), &cluster, &refs),
        ),
        (
            "pipeline-process".to_owned(),
            state_machine_definition(&with_process, &cluster, &refs),
        ),
        (
            "pipeline-without-table".to_owned(),
            state_machine_definition(&tableless, &cluster, &fixtures::refs_for(&tableless)),
        ),
        (
            "pipeline-local-run".to_owned(),
            state_machine_definition(&local_spec, &local_cluster, &local_refs),
        ),
    ];
    all.extend(workflow_definitions(
        "cookie-report",
        &crate::workflow::fixtures::cookies(),
        &aws,
    ));
    all.extend(workflow_definitions(
        "polyglot",
        &crate::workflow::fixtures::polyglot(),
        &aws,
    ));
    all
}

#[test]
#[ignore = "needs asl-validator: run tests/asl-validate.sh"]
fn every_definition_passes_asl_validator() {
    let validator = std::env::var("ASL_VALIDATOR").unwrap_or_else(|_| "asl-validator".to_owned());
    let dir = std::env::temp_dir().join(format!("eventdriven-asl-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut failures = Vec::new();
    for (name, definition) in definitions() {
        let path = dir.join(format!("{name}.json"));
        std::fs::write(&path, serde_json::to_string_pretty(&definition).unwrap()).unwrap();
        let output = Command::new(&validator)
            .arg("--json-path")
            .arg(&path)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("running {validator} (tests/asl-validate.sh installs it): {e}"));
        if !output.status.success() {
            failures.push(format!(
                "{name}: {}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(failures.is_empty(), "asl-validator refuses:\n{}", failures.join("\n"));
}
