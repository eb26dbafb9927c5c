//! Every IAM document the provider creates, checked by `parliament` (an IAM linter built on
//! AWS's own table of actions, resources and conditions). Ignored by a plain `cargo test`, as
//! it needs the linter; `tests/iam-lint.sh` (part of `make test`) installs it and runs this.

use std::process::{Command, Stdio};

use serde_json::Value;

use crate::fixtures;
use crate::iam;
use crate::naming::Names;
use crate::spec::PipelineSpec;
use crate::workflow::iam as workflow_iam;
use crate::workflow::naming::WorkflowNames;

/// Every permission and resource policy, by a name that says whose it is. Trust policies have
/// no `Resource` by design, which parliament (an identity-policy linter) reports as malformed;
/// core's own tests check them (one service principal each, conditions on the account).
fn documents() -> Vec<(String, Value)> {
    let (spec, aws, cluster) = (fixtures::spec(), fixtures::aws(), fixtures::cluster());
    let names = Names::new(&spec, &aws);
    let mut all = vec![
        ("pipeline-bucket".to_owned(), iam::bucket_policy(&names)),
        ("pipeline-sfn".to_owned(), iam::state_machine_policy(&names)),
        ("pipeline-events".to_owned(), iam::events_policy(&names)),
        (
            "pipeline-lambda".to_owned(),
            iam::lambda_policy(&names, &cluster.subnet_ids, &cluster.security_group_ids),
        ),
        ("pipeline-job".to_owned(), iam::job_policy(&names)),
        (
            "pipeline-file-system".to_owned(),
            iam::file_system_policy(&names, "fs-0123456789abcdef0", "fsap-0123456789abcdef0"),
        ),
    ];
    let tableless = PipelineSpec {
        table: false,
        process: Some(fixtures::process()),
        ..spec.clone()
    };
    all.push((
        "pipeline-job-without-table".to_owned(),
        iam::job_policy(&Names::new(&tableless, &aws)),
    ));
    let workflow = crate::workflow::fixtures::cookies();
    let names = WorkflowNames::new(&workflow, &aws);
    all.extend([
        ("workflow-main".to_owned(), workflow_iam::main_policy(&names)),
        ("workflow-finisher".to_owned(), workflow_iam::finisher_policy(&names)),
        ("workflow-events".to_owned(), workflow_iam::events_policy(&names)),
        ("workflow-trail".to_owned(), workflow_iam::trail_resource_policy(&names)),
        (
            "workflow-bucket".to_owned(),
            iam::tls_only_bucket_policy(&names.bucket_arn()),
        ),
    ]);
    for listener in &workflow.listeners {
        let policy = workflow_iam::listener_policy(&names, listener);
        all.push((format!("workflow-listener-{}", listener.name), policy));
    }
    all.push(("deployer".to_owned(), crate::deployer::deployer_policy()));
    let polyglot = crate::workflow::fixtures::polyglot();
    let names = WorkflowNames::new(&polyglot, &aws);
    all.push((
        "workflow-polyglot-finisher".to_owned(),
        workflow_iam::finisher_policy(&names),
    ));
    for listener in &polyglot.listeners {
        let policy = if listener.creates_function() {
            workflow_iam::listener_policy(&names, listener)
        } else {
            workflow_iam::existing_function_policy(&names, listener)
        };
        all.push((format!("workflow-polyglot-listener-{}", listener.name), policy));
    }
    all
}

#[test]
#[ignore = "needs parliament: run tests/iam-lint.sh"]
fn every_policy_passes_parliament() {
    let dir = std::env::temp_dir().join(format!("eventdriven-iam-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (name, document) in documents() {
        std::fs::write(
            dir.join(format!("{name}.json")),
            serde_json::to_string_pretty(&document).unwrap(),
        )
        .unwrap();
    }
    let parliament = std::env::var("PARLIAMENT").unwrap_or_else(|_| "parliament".to_owned());
    let output = Command::new(&parliament)
        .args([
            "--directory",
            &dir.display().to_string(),
            "--include_policy_extension",
            ".json",
            "--json",
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("running {parliament} (tests/iam-lint.sh installs it): {e}"));
    let _ = std::fs::remove_dir_all(&dir);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let findings: Vec<&str> = stdout.lines().filter(|line| !is_the_deployers_nature(line)).collect();
    assert!(
        findings.is_empty() && (output.status.success() || !stdout.trim().is_empty()),
        "parliament found problems:\n{}\n{}",
        findings.join("\n"),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The one finding that is the deployer's by nature, and only its: whoever may set the buckets'
/// policy (the provider sets the TLS-only one) could grant itself their objects. Filtered here
/// because parliament 1.6.4's own `ignore_locations` matches nothing.
fn is_the_deployers_nature(finding: &str) -> bool {
    let Ok(finding) = serde_json::from_str::<Value>(finding) else {
        return false;
    };
    finding["issue"] == "RESOURCE_POLICY_PRIVILEGE_ESCALATION"
        && finding["location"]["filepath"]
            .as_str()
            .is_some_and(|p| p.ends_with("/deployer.json"))
        && finding["detail"]
            .as_str()
            .is_some_and(|d| d.contains("s3:PutBucketPolicy"))
}
