//! The acceptance tests' harness: an emulator per test and a Terraform workspace holding a
//! copy of the example, using the built provider.
#![allow(dead_code)]

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub const CLUSTER: &str = "main";

/// The arguments of an unattended `terraform apply`.
const APPLY: [&str; 3] = ["apply", "-auto-approve", "-input=false"];

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("provider/ is in the repository")
        .to_owned()
}

pub use eventdriven_testkit::{Emulator, REGION};

/// What a pipeline is deployed onto, created in the emulator.
pub trait ClusterSetup {
    /// Creates the VPC, subnets and EKS cluster a pipeline is deployed onto.
    fn create_cluster(&self) {
        self.create_cluster_with(&[]);
    }

    /// Like [`Self::create_cluster`], with extra arguments for `tests/create-cluster.sh`.
    fn create_cluster_with(&self, arguments: &[&str]);
}

impl ClusterSetup for Emulator {
    fn create_cluster_with(&self, arguments: &[&str]) {
        let status = Command::new("bash")
            .arg(repo_root().join("tests/create-cluster.sh"))
            .arg(CLUSTER)
            .args(arguments)
            .envs(self.env())
            .status()
            .unwrap();
        assert!(status.success(), "tests/create-cluster.sh failed");
    }
}

/// A Terraform working directory holding a copy of the example, using the built provider
/// through `dev_overrides` (which also makes `terraform init` unnecessary).
pub struct Workspace {
    pub dir: PathBuf,
    pub env: Vec<(&'static str, String)>,
}

impl Workspace {
    pub fn new(test: &str, emulator: &Emulator, variables: &str) -> Self {
        Self::of_example("order-batch", test, emulator, variables)
    }

    /// A copy of `examples/<example>`.
    pub fn of_example(example: &str, test: &str, emulator: &Emulator, variables: &str) -> Self {
        Self::of_dir(&repo_root().join("examples").join(example), test, emulator, variables)
    }

    /// A copy of the configuration in `source`.
    pub fn of_dir(source: &Path, test: &str, emulator: &Emulator, variables: &str) -> Self {
        let workspace = Self::empty(test, emulator, variables);
        for entry in std::fs::read_dir(source).unwrap() {
            let path = entry.unwrap().path();
            // The configuration and the files it reads (an example's record.json).
            if path.extension().is_some_and(|e| e == "tf" || e == "json") {
                std::fs::copy(&path, workspace.dir.join(path.file_name().unwrap())).unwrap();
            }
        }
        workspace
    }

    /// A workspace whose whole configuration is `main_tf`.
    pub fn of_config(test: &str, emulator: &Emulator, main_tf: &str) -> Self {
        let workspace = Self::empty(test, emulator, "");
        workspace.configure(main_tf);
        workspace
    }

    /// Replaces the configuration with `main_tf`, as a user edits it between applies.
    pub fn configure(&self, main_tf: &str) {
        std::fs::write(self.dir.join("main.tf"), main_tf).unwrap();
    }

    /// A workspace with no configuration yet.
    fn empty(test: &str, emulator: &Emulator, variables: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("eventdriven-acc-{}-{test}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("terraform.tfvars"), variables).unwrap();
        let provider_dir = Path::new(env!("CARGO_BIN_EXE_terraform-provider-eventdriven"))
            .parent()
            .unwrap();
        let cli_config = dir.join("cli.tfrc");
        std::fs::write(
            &cli_config,
            format!(
                "provider_installation {{\n  dev_overrides {{\n    \"eventdriven/eventdriven\" = \"{}\"\n  }}\n  direct {{}}\n}}\n",
                provider_dir.display()
            ),
        )
        .unwrap();
        let mut env = emulator.env();
        env.push(("TF_CLI_CONFIG_FILE", cli_config.display().to_string()));
        env.push(("CHECKPOINT_DISABLE", "1".into()));
        env.push(("TF_IN_AUTOMATION", "1".into()));
        Self { dir, env }
    }

    pub fn run(&self, args: &[&str]) -> Output {
        let output = Command::new("terraform")
            .args(args)
            .arg("-no-color")
            .current_dir(&self.dir)
            .envs(self.env.iter().cloned())
            .stdin(Stdio::null())
            .output()
            .expect("terraform on PATH (scripts/ensure-terraform.sh)");
        eprintln!(
            "$ terraform {}\n{}{}",
            args.join(" "),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }

    /// `terraform apply` with `extra` arguments (variables); fails the test unless it succeeds.
    pub fn apply(&self, extra: &[&str]) -> String {
        self.ok(&[&APPLY[..], extra].concat())
    }

    /// The same apply, whatever its outcome.
    pub fn try_apply(&self) -> Output {
        self.run(&APPLY)
    }

    pub fn ok(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert!(output.status.success(), "terraform {args:?} failed");
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// `plan -detailed-exitcode`: 0 when nothing would change, 2 when something would.
    pub fn plan_exit_code(&self) -> (i32, String) {
        self.run_plan(&[])
    }

    pub fn run_plan(&self, extra: &[&str]) -> (i32, String) {
        let args: Vec<&str> = ["plan", "-detailed-exitcode", "-input=false"]
            .iter()
            .chain(extra)
            .copied()
            .collect();
        let output = self.run(&args);
        (
            output.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&output.stdout).into_owned(),
        )
    }

    /// The pipeline's attributes as the state records them.
    pub fn pipeline(&self) -> Value {
        self.resource("eventdriven_batch_pipeline")
    }

    /// The attributes of the resource of type `kind`, as the state records them.
    pub fn resource(&self, kind: &str) -> Value {
        let show: Value = serde_json::from_str(&self.ok(&["show", "-json"])).unwrap();
        show["values"]["root_module"]["resources"]
            .as_array()
            .and_then(|resources| resources.iter().find(|r| r["type"] == kind))
            .map(|r| r["values"].clone())
            .unwrap_or(Value::Null)
    }
}

impl Drop for Workspace {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The image local-cloud runs as the `eventdriven` binary built here.
pub const JOB_IMAGE: &str = "ghcr.io/example/eventdriven:1";

/// The variables of a pipeline named `name` whose runs local-cloud takes: the job image it
/// knows, chunks of `lines_per_chunk` rows; `more` is added as it is.
pub fn local_cloud_variables(name: &str, lines_per_chunk: u64, more: &str) -> String {
    format!(
        "name = \"{name}\"\ncluster_name = \"{CLUSTER}\"\njob_image = \"{JOB_IMAGE}\"\nlambda_image = \"123456789012.dkr.ecr.{REGION}.amazonaws.com/eventdriven-lambda:1\"\nmax_lines_per_batch = {lines_per_chunk}\n{more}"
    )
}

pub fn variables(name: &str) -> String {
    format!(
        "name = \"{name}\"\ncluster_name = \"{CLUSTER}\"\njob_image = \"ghcr.io/example/eventdriven:1\"\nlambda_image = \"123456789012.dkr.ecr.{REGION}.amazonaws.com/list-chunks:1\"\n"
    )
}

/// Terraform's output with every run of whitespace as one space: it wraps diagnostics to the
/// terminal's width.
pub fn unwrapped(output: &[u8]) -> String {
    String::from_utf8_lossy(output)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_owned()
}

/// `aws s3 cp FILE s3://BUCKET/KEY` against the emulator, as a user uploads.
pub fn upload(emulator: &Emulator, file: &Path, bucket: &str, key: &str) {
    let status = Command::new("aws")
        .args(["s3", "cp"])
        .arg(file)
        .arg(format!("s3://{bucket}/{key}"))
        .envs(emulator.env())
        .stdout(Stdio::null())
        .status()
        .expect("aws on PATH");
    assert!(status.success(), "aws s3 cp to {key}");
}

/// The `eventdriven` binary, built beside the provider.
pub fn eventdriven() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_terraform-provider-eventdriven")).with_file_name("eventdriven")
}

/// Writes `rows` generated orders (`eventdriven generate`, seeded) to `file`; returns its lines,
/// the header first.
pub fn generate_orders(file: &Path, rows: u64, seed: u64) -> Vec<String> {
    let status = Command::new(eventdriven())
        .args([
            "generate",
            "--rows",
            &rows.to_string(),
            "--seed",
            &seed.to_string(),
            "--output",
        ])
        .arg(file)
        .status()
        .unwrap();
    assert!(status.success(), "eventdriven generate failed");
    let text = std::fs::read_to_string(file).unwrap();
    text.lines().map(str::to_owned).collect()
}

/// The `terraform` and `provider` blocks of a configuration using the local build.
pub fn provider_blocks() -> String {
    format!(
        r#"
terraform {{
  required_providers {{
    eventdriven = {{
      source = "eventdriven/eventdriven"
    }}
  }}
}}

provider "eventdriven" {{
  region = "{REGION}"
}}
"#
    )
}

/// A running `eventdriven local-cloud`, stopped with SIGTERM when dropped (it then stops its
/// Redis server); [`LocalCloud::crash`] kills it instead. It leads a process group of its own,
/// which the processes it starts (Jobs, functions, Redis) join.
pub struct LocalCloud {
    process: Child,
}

impl LocalCloud {
    pub fn start(emulator: &Emulator, state_dir: &Path, extra: &[&str]) -> Self {
        Self::start_at(&emulator.endpoint, emulator, state_dir, extra)
    }

    /// Like [`Self::start`], reaching the emulator through `endpoint` (a fault proxy in front of
    /// it): local-cloud and every process it starts use that endpoint.
    pub fn start_at(endpoint: &str, emulator: &Emulator, state_dir: &Path, extra: &[&str]) -> Self {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(state_dir.with_extension("log"))
            .unwrap();
        let process = Command::new(eventdriven())
            .args(["local-cloud", "--endpoint", endpoint, "--poll-interval-ms", "200"])
            .arg("--state-dir")
            .arg(state_dir)
            .args(extra)
            .envs(emulator.env())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .process_group(0)
            .spawn()
            .expect("eventdriven built beside the provider");
        LocalCloud { process }
    }
}

impl LocalCloud {
    /// SIGKILL to local-cloud and every process it started, as in a machine crash: a Job left
    /// running would finish the work a restart must redo, and hide what it fails to.
    pub fn crash(mut self) {
        self.kill_group();
        let _ = self.process.kill();
        let _ = self.process.wait();
    }

    /// SIGKILL to the whole process group.
    fn kill_group(&self) {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.process.id())])
            .stderr(Stdio::null())
            .status();
    }
}

impl Drop for LocalCloud {
    fn drop(&mut self) {
        // A crashed one is gone already: nothing to stop gracefully.
        if matches!(self.process.try_wait(), Ok(None)) {
            let _ = Command::new("kill").arg(self.process.id().to_string()).status();
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while matches!(self.process.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.process.kill();
        let _ = self.process.wait();
        // Any process it started that its shutdown left running.
        self.kill_group();
    }
}

pub fn cli(emulator: &Emulator, state_dir: &Path, args: &[&str]) -> String {
    let output = Command::new(eventdriven())
        .args(args)
        .arg("--endpoint")
        .arg(&emulator.endpoint)
        .arg("--state-dir")
        .arg(state_dir)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "eventdriven {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// `(name, status)` of every execution `eventdriven executions` lists.
pub fn executions(emulator: &Emulator, state_dir: &Path) -> Vec<(String, String)> {
    cli(emulator, state_dir, &["executions"])
        .lines()
        .skip(1)
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            Some((fields.next()?.to_owned(), fields.next()?.to_owned()))
        })
        .collect()
}

/// Waits until `count` executions have ended, and returns them.
pub fn wait_for_ended(emulator: &Emulator, state_dir: &Path, count: usize, within: Duration) -> Vec<(String, String)> {
    let deadline = Instant::now() + within;
    loop {
        let runs = executions(emulator, state_dir);
        if runs.iter().filter(|(_, status)| status != "RUNNING").count() >= count {
            return runs;
        }
        assert!(
            Instant::now() < deadline,
            "{count} execution(s) did not end in time: {runs:?}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// `aws events put-events` with one event, as a user starts a run.
pub fn put_event(emulator: &Emulator, source: &str, detail_type: &str, detail: &str) {
    let entry = serde_json::json!([{ "Source": source, "DetailType": detail_type, "Detail": detail }]);
    let status = Command::new("aws")
        .args(["events", "put-events", "--entries", &entry.to_string()])
        .envs(emulator.env())
        .stdout(Stdio::null())
        .status()
        .expect("aws on PATH");
    assert!(status.success(), "aws events put-events failed");
}

/// The ARN of the execution `name` of the state machine `machine`.
pub async fn execution_arn(sdk: &aws_config::SdkConfig, machine: &str, name: &str) -> String {
    let sfn = aws_sdk_sfn::Client::new(sdk);
    let listed = sfn.list_executions().state_machine_arn(machine).send().await.unwrap();
    let found = listed
        .executions()
        .iter()
        .find(|e| e.name() == name)
        .expect("the execution is on the emulator");
    found.execution_arn().to_owned()
}

/// `eventdriven trail EXECUTION --format json`: the run's events, in order; `state_dir` is
/// local-cloud's, where the runs it took over are recorded.
pub fn trail(emulator: &Emulator, state_dir: &Path, execution: &str) -> Vec<Value> {
    let output = Command::new(eventdriven())
        .args(["trail", execution, "--endpoint", &emulator.endpoint, "--format", "json"])
        .arg("--state-dir")
        .arg(state_dir)
        .envs(emulator.env())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "eventdriven trail: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}
