//! What `local-cloud` and `trail` read from the emulator: a zip function's code, runtime and
//! event invoke configuration, a rule target's input transformer, and a run's events only,
//! filtered by its execution and bounded by its times. The zip function runs under the Python
//! runtime `scripts/ensure-lambda-runtimes.sh` installs.

use std::io::Write;
use std::sync::Arc;

use aws_sdk_cloudwatchlogs::types::InputLogEvent;
use aws_sdk_eventbridge::types::{InputTransformer as SdkTransformer, Target};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{DestinationConfig, Environment, FunctionCode, OnFailure, PackageType, Runtime};
use eventdriven_core::workflow::rules::side_effect_input;
use eventdriven_runtime::local::events::{RuleSource, RuleTarget};
use eventdriven_runtime::local::images::ImageMap;
use eventdriven_runtime::local::lambda_process::{FunctionSource, LocalLambda, new_request_id};
use eventdriven_runtime::local::zip_runtimes::ZipRuntimes;
use eventdriven_runtime::local_cloud::function_code::CodeCache;
use eventdriven_runtime::local_cloud::functions::DeployedFunctions;
use eventdriven_runtime::local_cloud::workflows::EmulatorRules;
use eventdriven_runtime::trail::{RunFacts, read_run};
use eventdriven_testkit::Emulator;
use serde_json::{Value, json};

const ROLE: &str = "arn:aws:iam::123456789012:role/listener";
const BUS_ARN: &str = "arn:aws:events:us-east-1:123456789012:event-bus/default";

fn zip_of(files: &[(&str, &str)]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, text) in files {
        zip.start_file(*name, zip::write::SimpleFileOptions::default()).unwrap();
        zip.write_all(text.as_bytes()).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

async fn create_zip_function(lambda: &aws_sdk_lambda::Client, name: &str, runtime: &str, zip: Vec<u8>) {
    lambda
        .create_function()
        .function_name(name)
        .package_type(PackageType::Zip)
        .runtime(Runtime::from(runtime))
        .handler("app.handler")
        .role(ROLE)
        .memory_size(256)
        .environment(Environment::builder().variables("GREETING", "hello").build())
        .code(FunctionCode::builder().zip_file(Blob::new(zip)).build())
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn a_zip_function_runs_from_its_downloaded_code_with_its_configuration() {
    let emulator = Emulator::start("local_cloud_emulator-1");
    let lambda = aws_sdk_lambda::Client::new(&emulator.sdk().await);
    let app = "import os\n\ndef handler(event, context):\n    return {'greeting': os.environ['GREETING'], 'memory': context.memory_limit_in_mb, 'got': event}\n";
    create_zip_function(&lambda, "audit", "python3.12", zip_of(&[("app.py", app)])).await;
    create_zip_function(&lambda, "ledger", "java21", zip_of(&[("App.class", "")])).await;
    lambda
        .put_function_event_invoke_config()
        .function_name("audit")
        .maximum_retry_attempts(0)
        .destination_config(
            DestinationConfig::builder()
                .on_failure(OnFailure::builder().destination(BUS_ARN).build())
                .build(),
        )
        .send()
        .await
        .unwrap();
    let code = tempfile::tempdir().unwrap();
    let functions = Arc::new(DeployedFunctions {
        lambda,
        images: ImageMap::new("eventdriven".into(), &[]).unwrap(),
        runtimes: ZipRuntimes::from_env(),
        code: CodeCache::new(code.path().to_owned()),
    });

    let function = functions.function("audit").await.unwrap();
    let local = LocalLambda {
        functions: functions.clone(),
        env: Default::default(),
    };
    let answer = local.run(&function, &json!({"n": 1}), &new_request_id()).await.unwrap();
    assert_eq!(answer, json!({"greeting": "hello", "memory": "256", "got": {"n": 1}}));
    assert_eq!(
        std::fs::read_dir(code.path()).unwrap().count(),
        1,
        "unpacked once, by its hash"
    );

    let config = functions.invoke_config("audit").await.unwrap().unwrap();
    assert_eq!(config.maximum_retry_attempts, Some(0));
    assert_eq!(config.on_failure.as_deref(), Some(BUS_ARN));
    assert_eq!(config.on_success, None);
    assert_eq!(functions.invoke_config("ledger").await.unwrap(), None);

    let unsupported = functions.function("ledger").await.unwrap_err();
    assert_eq!(unsupported.error, "Runtime.Unsupported");
    assert!(unsupported.cause.contains("runtime java21"), "{unsupported}");
}

#[tokio::test]
async fn a_side_effects_target_keeps_its_input_transformer() {
    let emulator = Emulator::start("local_cloud_emulator-2");
    let events = aws_sdk_eventbridge::Client::new(&emulator.sdk().await);
    events
        .put_rule()
        .name("eventdriven-polyglot-on-audit")
        .event_pattern(json!({"source": ["polyglot"], "detail-type": ["order.approve"]}).to_string())
        .send()
        .await
        .unwrap();
    let (paths, template) = side_effect_input();
    let transformer = SdkTransformer::builder()
        .set_input_paths_map(Some(
            paths.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        ))
        .input_template(&template)
        .build()
        .unwrap();
    let function = "arn:aws:lambda:us-east-1:123456789012:function:eventdriven-polyglot-audit";
    events
        .put_targets()
        .rule("eventdriven-polyglot-on-audit")
        .targets(
            Target::builder()
                .id("audit")
                .arn(function)
                .input_transformer(transformer)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let rules = EmulatorRules { events }.rules().await.unwrap();
    let rule = rules
        .iter()
        .find(|r| r.name == "eventdriven-polyglot-on-audit")
        .unwrap();
    match rule.targets.as_slice() {
        [RuleTarget::Transformed { transformer, target }] => {
            assert_eq!(transformer.template, template);
            assert_eq!(transformer.paths.len(), paths.len());
            assert_eq!(**target, RuleTarget::Function { arn: function.into() });
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn the_trail_reads_the_runs_events_and_its_start_only() {
    let emulator = Emulator::start("local_cloud_emulator-3");
    let logs = aws_sdk_cloudwatchlogs::Client::new(&emulator.sdk().await);
    let group = "/aws/events/eventdriven-polyglot";
    logs.create_log_group().log_group_name(group).send().await.unwrap();
    logs.create_log_stream()
        .log_group_name(group)
        .log_stream_name("events")
        .send()
        .await
        .unwrap();
    let arn = "arn:aws:states:us-east-1:123456789012:execution:eventdriven-polyglot:run-1";
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let iso = |ms: i64| {
        chrono::DateTime::from_timestamp_millis(ms)
            .unwrap()
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    };
    let task = |execution: &str| json!({"source": "polyglot", "detail-type": "order.enrich", "detail": {"executionId": execution, "state": "Enrich", "input": {}, "meta": []}});
    let start = json!({"source": "polyglot", "detail-type": "start", "detail": {"order": 1}});
    let written: Vec<(i64, Value)> = vec![
        (
            now - 60_000,
            json!({"source": "polyglot", "detail-type": "start", "detail": {"order": 0}}),
        ),
        (
            now - 60_000,
            task("arn:aws:states:us-east-1:123456789012:execution:eventdriven-polyglot:run-0"),
        ),
        (now - 100, start.clone()),
        (now, task(arn)),
        (
            now + 50,
            task("arn:aws:states:us-east-1:123456789012:execution:eventdriven-polyglot:run-2"),
        ),
        (now + 2_000, task(arn)),
    ];
    logs.put_log_events()
        .log_group_name(group)
        .log_stream_name("events")
        .set_log_events(Some(
            written
                .iter()
                .map(|(at, event)| {
                    InputLogEvent::builder()
                        .timestamp(*at)
                        .message(event.to_string())
                        .build()
                        .unwrap()
                })
                .collect(),
        ))
        .send()
        .await
        .unwrap();
    let run = RunFacts {
        execution_arn: arn.into(),
        input: json!({"order": 1}),
        start_date: iso(now),
        stop_date: Some(iso(now + 3_000)),
        status: "SUCCEEDED".into(),
        error: None,
        cause: None,
        taken_over: None,
    };
    let read = read_run(&logs, group, &run).await.unwrap();
    assert_eq!(read, vec![task(arn), task(arn), start]);
}
