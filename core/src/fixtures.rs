//! Test inputs shared by the modules' tests, and helpers to inspect rendered JSON.

use eventdriven_states::definition::{Kind, Machine, Task};
use serde_json::Value;

use crate::cluster::{AwsContext, ClusterInfo};
use crate::naming::Names;
use crate::process_step::ProcessSpec;
use crate::refs::DeployedRefs;
use crate::spec::PipelineSpec;

pub fn spec() -> PipelineSpec {
    PipelineSpec::new(
        "orders",
        "main",
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com/eventdriven:1.0.0",
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com/eventdriven-lambda:1.0.0",
    )
}

/// A `process` block as the custom-process example writes it.
pub fn process() -> ProcessSpec {
    ProcessSpec {
        image: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/enrich:3".into(),
        command: vec!["python3".into(), "/app/enrich.py".into()],
        env: [("MODEL".to_owned(), "v2".to_owned())].into(),
        cpu: Some("500m".into()),
        memory: Some("1Gi".into()),
    }
}

pub fn aws() -> AwsContext {
    AwsContext {
        account_id: "123456789012".into(),
        region: "eu-west-1".into(),
        partition: "aws".into(),
    }
}

pub fn cluster() -> ClusterInfo {
    ClusterInfo {
        name: "main".into(),
        arn: "arn:aws:eks:eu-west-1:123456789012:cluster/main".into(),
        endpoint: "https://0123456789ABCDEF.gr7.eu-west-1.eks.amazonaws.com".into(),
        certificate_authority: "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==".into(),
        vpc_id: "vpc-0123456789abcdef0".into(),
        subnet_ids: vec!["subnet-0a".into(), "subnet-0b".into()],
        private_subnet_ids: vec!["subnet-0a".into(), "subnet-0b".into()],
        security_group_ids: vec!["sg-0c".into()],
    }
}

/// What the provider would have deployed for [`spec`] in [`aws`].
pub fn refs() -> DeployedRefs {
    refs_for(&spec())
}

/// What the provider would have deployed for `spec` in [`aws`].
pub fn refs_for(spec: &PipelineSpec) -> DeployedRefs {
    let aws = aws();
    let names = Names::new(spec, &aws);
    DeployedRefs {
        lambda_function_arn: names.lambda_function_arn(),
        efs_file_system_id: "fs-0123456789abcdef0".into(),
        redis_url: "rediss://master.eventdriven-orders.x1y2z3.euw1.cache.amazonaws.com:6379".into(),
        redis_auth_secret_arn: Some(names.redis_auth_secret_arn_pattern().replace("??????", "Ab3dE9")),
        table_name: names.table(),
        bucket_name: names.bucket(),
        region: aws.region,
        partition: aws.partition,
    }
}

/// The integrations the project's Tasks use, after `arn:<partition>:states:::`: those the
/// runtime serves and the roles allow.
const INTEGRATIONS: &[&str] = &[
    "lambda:invoke",
    "eks:runJob",
    "eks:runJob.sync",
    "eks:call",
    "events:putEvents",
    "events:putEvents.waitForTaskToken",
    "aws-sdk:sfn:sendTaskSuccess",
    "aws-sdk:sfn:sendTaskFailure",
];

/// Checks a rendered definition as the interpreter does before it runs one (the checks
/// Step Functions applies at creation, and some it leaves to run time), and that every Task
/// uses one of [`INTEGRATIONS`].
pub fn validate_definition(definition: &Value) -> Result<(), String> {
    let machine = Machine::parse(definition).map_err(|failure| failure.cause)?;
    match tasks(&machine).into_iter().find(|task| !is_known_integration(task)) {
        Some(task) => Err(format!("{:?} is not a known integration", task.resource.arn)),
        None => Ok(()),
    }
}

fn is_known_integration(task: &Task) -> bool {
    let resource = &task.resource;
    let call = format!("{}:{}", resource.service, resource.display_action());
    resource.arn.contains(":states:::") && INTEGRATIONS.contains(&call.as_str())
}

/// Every Task of `machine`, in nested machines too.
fn tasks(machine: &Machine) -> Vec<&Task> {
    machine
        .states
        .values()
        .flat_map(|state| match &state.kind {
            Kind::Task(task) => vec![&**task],
            kind => kind.machines().into_iter().flat_map(tasks).collect(),
        })
        .collect()
}

/// Every string value in a document, at any depth.
pub fn strings(value: &Value) -> Vec<&str> {
    let mut found = Vec::new();
    visit(value, &mut |_, v| {
        if let Value::String(s) = v {
            found.push(s.as_str());
        }
    });
    found
}

/// Every `(key, value)` whose key ends in `.$`, i.e. that Step Functions evaluates.
pub fn dynamic_entries(value: &Value) -> Vec<(&str, &str)> {
    let mut found = Vec::new();
    visit(value, &mut |key, v| {
        if let (Some(key), Value::String(s)) = (key, v)
            && key.ends_with(".$")
        {
            found.push((key, s.as_str()));
        }
    });
    found
}

fn visit<'a>(value: &'a Value, on: &mut impl FnMut(Option<&'a str>, &'a Value)) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                on(Some(key), child);
                visit(child, on);
            }
        }
        Value::Array(items) => {
            for child in items {
                on(None, child);
                visit(child, on);
            }
        }
        _ => {}
    }
}

/// The first field of every state path (`$.field…`) an expression reads; context paths (`$$.`)
/// are not state and are skipped.
pub fn state_roots(expression: &str) -> Vec<String> {
    let bytes = expression.as_bytes();
    let mut roots = Vec::new();
    for (at, _) in expression.match_indices("$.") {
        if at > 0 && bytes[at - 1] == b'$' {
            continue;
        }
        let field: String = expression[at + 2..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        roots.push(field);
    }
    roots
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn only_the_projects_integrations_pass() {
        let definition = |resource: &str| json!({ "StartAt": "A", "States": { "A": { "Type": "Task", "Resource": resource, "End": true } } });
        for resource in ["arn:aws:states:::eks:runJob.sync", "arn:aws-cn:states:::lambda:invoke"] {
            assert_eq!(validate_definition(&definition(resource)), Ok(()), "{resource}");
        }
        for resource in [
            "arn:aws:states:::s3:putObject",
            "arn:aws:lambda:eu-west-1:1:function:f",
            "arn:aws:states:eu-west-1:1:activity:a",
        ] {
            let error = validate_definition(&definition(resource)).unwrap_err();
            assert!(error.contains("not a known integration"), "{resource}: {error}");
        }
        let nested = json!({ "StartAt": "M", "States": { "M": { "Type": "Map", "End": true, "ItemProcessor":
            definition("arn:aws:states:::s3:putObject") } } });
        assert!(validate_definition(&nested).is_err());
        assert!(validate_definition(&json!({ "StartAt": "A" })).is_err());
    }
}
