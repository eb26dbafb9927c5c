//! The example run on this machine: the main machine and the finisher as core renders them from
//! `main.tf`, run by the interpreter; events routed by the deployed rules' patterns; the
//! listeners as real `cookie-report-handlers` processes (the image mapped to this build's binary,
//! as `local-cloud --image` does) putting their answers through the event relay; their objects
//! in the emulator's S3.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, OnceLock};

use async_trait::async_trait;
use cookie_report_handlers::{Person, RUNS_PREFIX, Report, cookies_of, people_of, person_key, report_key};
use eventdriven_core::cluster::AwsContext;
use eventdriven_core::workflow::definition::{finisher_definition, main_definition};
use eventdriven_core::workflow::environment::listener_environment;
use eventdriven_core::workflow::fixtures;
use eventdriven_core::workflow::naming::{WorkflowNames, WorkflowRule};
use eventdriven_core::workflow::rules;
use eventdriven_core::workflow::spec::WorkflowSpec;
use eventdriven_runtime::local::event_relay::{self, ENDPOINT_ENV};
use eventdriven_runtime::local::events::{DeployedRule, EventRouter, MachineStarter, RuleSource, RuleTarget};
use eventdriven_runtime::local::images::ImageMap;
use eventdriven_runtime::local::lambda_process::{FunctionSource, LocalFunction, LocalLambda};
use eventdriven_runtime::local::{LocalSetup, local_integrations};
use eventdriven_runtime::trail::{architecture, trail_of};
use eventdriven_states::{Execution, Failure, Interpreter, StartExecution, Status, TaskTokens};
use eventdriven_testkit::Emulator;
use serde_json::{Value, json};

/// The listeners' image, mapped to this build's binary.
const IMAGE: &str = "localhost/cookie-report-handlers:1";
const HANDLERS: &str = env!("CARGO_BIN_EXE_cookie-report-handlers");
const REGION: &str = "us-east-1";

fn aws() -> AwsContext {
    AwsContext {
        account_id: "000000000000".into(),
        region: REGION.into(),
        partition: "aws".into(),
    }
}

/// `local-cloud --image IMAGE=cookie-report-handlers`. No Job runs, so this project's own
/// images are never asked for.
fn images() -> ImageMap {
    ImageMap::new("eventdriven".into(), &[format!("{IMAGE}={HANDLERS}")]).unwrap()
}

/// The workflow of `main.tf`, with or without its bucket.
fn cookie_report(bucket: bool) -> WorkflowSpec {
    let mut spec = fixtures::cookie_report(IMAGE);
    spec.bucket = bucket;
    spec
}

/// The rules the provider deploys, with their targets.
fn deployed_rules(names: &WorkflowNames) -> Vec<DeployedRule> {
    let spec = names.spec();
    let rule = |name: String, pattern: Value, target: RuleTarget| DeployedRule {
        name,
        bus: spec.event_bus.clone(),
        pattern,
        targets: vec![target],
    };
    let mut all = vec![
        rule(
            names.rule(WorkflowRule::Start),
            rules::start_pattern(spec),
            RuleTarget::StateMachine {
                arn: names.state_machine_arn(),
                input_path: Some(rules::START_INPUT_PATH.into()),
            },
        ),
        rule(
            names.rule(WorkflowRule::Finisher),
            rules::finisher_pattern(spec),
            RuleTarget::StateMachine {
                arn: names.finisher_arn(),
                input_path: None,
            },
        ),
        rule(
            names.rule(WorkflowRule::Trail),
            rules::trail_pattern(spec),
            RuleTarget::LogGroup {
                arn: names.trail_log_group_arn(),
            },
        ),
    ];
    for listener in &spec.listeners {
        all.push(rule(
            names.listener_rule(listener),
            rules::listener_pattern(spec, listener),
            RuleTarget::Function {
                arn: names.function_arn(listener),
            },
        ));
    }
    all
}

struct Rules(Vec<DeployedRule>);

#[async_trait]
impl RuleSource for Rules {
    async fn rules(&self) -> Result<Vec<DeployedRule>, Failure> {
        Ok(self.0.clone())
    }
}

/// The listeners' functions as the provider configures them, run from this build's binary.
struct Listeners {
    functions: HashMap<String, LocalFunction>,
}

#[async_trait]
impl FunctionSource for Listeners {
    async fn function(&self, name: &str) -> Result<LocalFunction, Failure> {
        self.functions
            .get(name)
            .cloned()
            .ok_or_else(|| Failure::runtime(format!("no function {name}")))
    }
}

/// Runs the machines rules start through the interpreter.
struct Machines {
    interpreter: OnceLock<Interpreter>,
    definitions: HashMap<String, Value>,
    finished: Mutex<Vec<Execution>>,
}

#[async_trait]
impl MachineStarter for Machines {
    async fn start(&self, arn: &str, input: Value) -> Result<(), Failure> {
        let definition = self
            .definitions
            .get(arn)
            .ok_or_else(|| Failure::runtime(format!("no machine {arn}")))?;
        let interpreter = self.interpreter.get().expect("interpreter set").clone();
        let start = StartExecution {
            name: format!("{:016x}", fastrand::u64(..)),
            input,
            state_machine_arn: arn.to_owned(),
            role_arn: String::new(),
            observer: None,
            keep_history: true,
        };
        let execution = interpreter.execute(definition, start).await;
        self.finished.lock().unwrap().push(execution);
        Ok(())
    }
}

struct LocalWorkflow {
    interpreter: Interpreter,
    router: Arc<EventRouter>,
    machines: Arc<Machines>,
    main: Value,
    main_arn: String,
    _relay: tokio::task::JoinHandle<()>,
}

impl LocalWorkflow {
    async fn new(spec: &WorkflowSpec, emulator_env: BTreeMap<String, String>) -> Self {
        let aws = aws();
        let names = WorkflowNames::new(spec, &aws);
        let (listener, relay_address) = event_relay::bind().await.unwrap();
        let mut functions = HashMap::new();
        for l in &spec.listeners {
            let mut env = emulator_env.clone();
            env.insert(ENDPOINT_ENV.into(), format!("http://{relay_address}"));
            env.extend(listener_environment(&names, l));
            let mut command = images().lambda_command(l.image(spec)).unwrap();
            command.extend(l.command.iter().cloned());
            let function = LocalFunction {
                arn: names.function_arn(l),
                command,
                env,
                timeout: std::time::Duration::from_secs(30),
            };
            functions.insert(names.function_arn(l), function);
        }
        let machines = Arc::new(Machines {
            interpreter: OnceLock::new(),
            definitions: HashMap::from([
                (names.state_machine_arn(), main_definition(&names)),
                (names.finisher_arn(), finisher_definition(&names)),
            ]),
            finished: Mutex::new(Vec::new()),
        });
        let functions: Arc<dyn FunctionSource> = Arc::new(Listeners { functions });
        let router = Arc::new(EventRouter {
            rules: Arc::new(Rules(deployed_rules(&names))),
            functions: LocalLambda {
                functions: functions.clone(),
                env: Default::default(),
            },
            machines: machines.clone(),
            account: aws.account_id.clone(),
            region: aws.region.clone(),
            trail: Some(Default::default()),
        });
        let relay = event_relay::serve(listener, router.clone(), None);
        let setup = LocalSetup {
            images: images(),
            volumes_root: std::env::temp_dir(),
            functions,
            env: Default::default(),
            services: None,
            router: Some(router.clone()),
        };
        let tokens = TaskTokens::default();
        let interpreter = Interpreter::new(local_integrations(&setup, &tokens), tokens, REGION);
        machines.interpreter.set(interpreter.clone()).ok().unwrap();
        Self {
            interpreter,
            router,
            machines,
            main: main_definition(&names),
            main_arn: names.state_machine_arn(),
            _relay: relay,
        }
    }

    async fn run(&self, name: &str, input: Value) -> Execution {
        let start = StartExecution {
            name: name.into(),
            input,
            state_machine_arn: self.main_arn.clone(),
            role_arn: String::new(),
            observer: None,
            keep_history: true,
        };
        self.interpreter.execute(&self.main, start).await
    }

    fn trail_detail_types(&self) -> Vec<String> {
        let trail = self.router.trail.as_ref().unwrap().lock().unwrap();
        trail
            .iter()
            .map(|e| e["detail-type"].as_str().unwrap().to_owned())
            .collect()
    }
}

fn dummy_aws_env() -> BTreeMap<String, String> {
    BTreeMap::from([
        ("AWS_REGION".into(), REGION.into()),
        ("AWS_ACCESS_KEY_ID".into(), "test".into()),
        ("AWS_SECRET_ACCESS_KEY".into(), "test".into()),
        ("AWS_EC2_METADATA_DISABLED".into(), "true".into()),
    ])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_run_reports_the_sum_of_the_per_person_files_and_the_trail_holds_every_event() {
    let emulator = Emulator::start("workflow-1");
    let config = emulator.sdk().await;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(true)
            .build(),
    );
    let spec = cookie_report(true);
    let bucket = &WorkflowNames::new(&spec, &aws()).bucket();
    s3.create_bucket().bucket(bucket).send().await.unwrap();
    let env: BTreeMap<String, String> = emulator.env().into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    let workflow = LocalWorkflow::new(&spec, env).await;

    let execution = workflow.run("run-7", json!({})).await;
    assert_eq!(execution.status, Status::Succeeded, "{:?}", execution.failure);
    let output = execution.output.unwrap();
    let people = people_of("run-7");
    assert_eq!(output["names"]["value"], json!(people));

    let mut sum = 0;
    for person in &people {
        let object = s3
            .get_object()
            .bucket(bucket)
            .key(person_key(RUNS_PREFIX, "run-7", person))
            .send()
            .await
            .unwrap();
        let file: Person = serde_json::from_slice(&object.body.collect().await.unwrap().into_bytes()).unwrap();
        assert_eq!(file.cookies, cookies_of("run-7", person));
        sum += file.cookies;
    }
    let object = s3
        .get_object()
        .bucket(bucket)
        .key(report_key(RUNS_PREFIX, "run-7"))
        .send()
        .await
        .unwrap();
    let report: Report = serde_json::from_slice(&object.body.collect().await.unwrap().into_bytes()).unwrap();
    assert_eq!(
        report,
        Report {
            names: people.clone(),
            number_of_people: people.len(),
            total_cookies_consumed: sum
        }
    );
    assert_eq!(output["totalCookiesConsumed"]["value"], sum);
    assert_eq!(output["people"].as_array().unwrap().len(), people.len());

    // Side effects finish after the run; wait for the trail to settle, bounded.
    let n = people.len();
    let mut counts = BTreeMap::new();
    for _ in 0..50 {
        counts = workflow
            .trail_detail_types()
            .into_iter()
            .fold(BTreeMap::new(), |mut m, t| {
                *m.entry(t).or_insert(0) += 1;
                m
            });
        if counts.values().sum::<usize>() == 2 + 3 * n + 1 + 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let expected: BTreeMap<String, usize> = [
        ("get.multiple", 1),
        ("process.single", n),
        ("process.single.post", n),
        ("process.all", 1),
        ("task.finished", 1 + n + 1),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    assert_eq!(counts, expected);
    let events = workflow.router.trail.as_ref().unwrap().lock().unwrap().clone();
    let trail = trail_of(&events, "run-7");
    assert_eq!(trail.len(), events.len(), "every event of the trail belongs to the run");
    let page = eventdriven_runtime::ui::page::trail_document(&trail, "run-7", &[]);
    assert_eq!(page.matches("<tr class=\"event\"").count(), events.len());
    let edge = (
        "process.single.post".to_owned(),
        "eventdriven-cookie-report-post-process-single".to_owned(),
    );
    assert!(architecture(&trail).contains(&edge));
    let finisher_runs = workflow.machines.finished.lock().unwrap();
    assert_eq!(finisher_runs.len(), n + 2);
    assert!(finisher_runs.iter().all(|e| e.status == Status::Succeeded));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failing_listener_fails_the_run_with_its_error_and_cause() {
    let mut spec = cookie_report(false);
    // process-single expects a person's name; the first task's input is an object.
    spec.listeners[0].command = vec!["process-single".into()];
    let workflow = LocalWorkflow::new(&spec, dummy_aws_env()).await;
    let execution = workflow.run("run-fails", json!({ "not": "a name" })).await;
    assert_eq!(execution.status, Status::Failed);
    let failure = execution.failure.unwrap();
    assert_eq!(failure.error, "ListenerError");
    assert!(
        failure.cause.contains("process-single expects a person's name"),
        "{}",
        failure.cause
    );
    // The listener's own error, not the task's timeout (`States.Timeout`): it failed at once,
    // which no clock has to show.
    // Deliveries run on their own: the trail's copy of the answer may come after the run ends.
    let mut trail = workflow.trail_detail_types();
    for _ in 0..50 {
        if trail.contains(&"task.failed".to_owned()) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        trail = workflow.trail_detail_types();
    }
    assert!(trail.contains(&"task.failed".to_owned()), "{trail:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_listener_that_never_answers_times_the_task_out() {
    let mut spec = cookie_report(false);
    spec.tasks[0].detail_type = "nobody.listens".into();
    spec.tasks[0].timeout_seconds = 1;
    let workflow = LocalWorkflow::new(&spec, dummy_aws_env()).await;
    let execution = workflow.run("run-times-out", json!({})).await;
    assert_eq!(execution.status, Status::Failed);
    assert_eq!(execution.failure.unwrap().error, "States.Timeout");
}
