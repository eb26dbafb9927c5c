//! The parts of a `batch/v1` Job that an `eks:runJob` call carries, and the Job object it
//! returns, with its `status` as the Kubernetes API reports it.

use std::collections::BTreeMap;

use eventdriven_core::manifest::kubernetes_names::{self, Invalid};
use eventdriven_states::Failure;
use serde_json::{Value, json};

/// One container of a Job's pod template: what runs and with which settings.
#[derive(Clone, Debug)]
pub struct Container {
    /// Its name, under which its pod logs are reported.
    pub name: String,
    pub image: String,
    /// Replaces the image's entrypoint when set.
    pub command: Option<Vec<String>>,
    pub args: Vec<String>,
    /// `env`, evaluated (`value.$` entries already filled in by the interpreter).
    pub env: BTreeMap<String, String>,
    /// `(volume, mount path)` of each volume mount.
    pub mounts: Vec<(Value, String)>,
}

/// A Job: its pod's containers, and how often and how long its pods may run.
#[derive(Clone, Debug)]
pub struct JobSpec {
    pub name: String,
    /// Run in order before the container, each to its end; one that fails fails the pod.
    pub init_containers: Vec<Container>,
    /// The pod's first container, the one the Job is for.
    pub container: Container,
    /// Pod attempts before the Job fails: `backoffLimit` + 1.
    pub attempts: u32,
    pub active_deadline_seconds: Option<u64>,
    /// The `eks:runJob` call's `LogOptions.RetrieveLogs`, its tail and its byte limit.
    pub retrieve_logs: bool,
    pub tail_lines: Option<usize>,
    pub limit_bytes: Option<usize>,
}

impl Container {
    fn from_manifest(container: &Value, volumes: &[Value]) -> Result<Container, Failure> {
        let strings = |value: &Value| -> Option<Vec<String>> {
            value
                .as_array()
                .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_owned)).collect())
        };
        let env = container["env"]
            .as_array()
            .map(|entries| {
                entries
                    .iter()
                    .filter_map(|e| Some((e["name"].as_str()?.to_owned(), scalar(&e["value"]))))
                    .collect()
            })
            .unwrap_or_default();
        let mounts = container["volumeMounts"]
            .as_array()
            .map(|mounts| {
                mounts
                    .iter()
                    .filter_map(|m| {
                        let volume = volumes.iter().find(|v| v["name"] == m["name"])?;
                        Some((volume.clone(), m["mountPath"].as_str()?.to_owned()))
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(Container {
            name: container["name"].as_str().unwrap_or_default().to_owned(),
            image: container["image"]
                .as_str()
                .ok_or_else(|| Failure::runtime("the eks:runJob Job manifest has no valid container image"))?
                .to_owned(),
            command: strings(&container["command"]),
            args: strings(&container["args"]).unwrap_or_default(),
            env,
            mounts,
        })
    }
}

impl JobSpec {
    /// Reads the Job from an `eks:runJob` call's parameters, refusing it as the API server
    /// would one whose names break [`kubernetes_names`].
    pub fn from_parameters(parameters: &Value) -> Result<JobSpec, Failure> {
        let job = &parameters["Job"];
        let refused = kubernetes_names::invalid_fields(job);
        if !refused.is_empty() {
            return Err(unprocessable(job, &refused));
        }
        let invalid = |what: &str| Failure::runtime(format!("the eks:runJob Job manifest has no valid {what}"));
        let pod = &job["spec"]["template"]["spec"];
        let volumes = pod["volumes"].as_array().cloned().unwrap_or_default();
        let init_containers = pod["initContainers"]
            .as_array()
            .map(|containers| {
                containers
                    .iter()
                    .map(|c| Container::from_manifest(c, &volumes))
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?
            .unwrap_or_default();
        let log_options = &parameters["LogOptions"];
        Ok(JobSpec {
            name: job["metadata"]["name"]
                .as_str()
                .ok_or_else(|| invalid("metadata.name"))?
                .to_owned(),
            init_containers,
            container: Container::from_manifest(&pod["containers"][0], &volumes)?,
            attempts: job["spec"]["backoffLimit"].as_u64().unwrap_or(6) as u32 + 1,
            active_deadline_seconds: job["spec"]["activeDeadlineSeconds"].as_u64(),
            retrieve_logs: log_options["RetrieveLogs"].as_bool().unwrap_or(false),
            tail_lines: log_options["LogParameters"]["tailLines"][0]
                .as_str()
                .and_then(|n| n.parse().ok()),
            limit_bytes: log_options["LogParameters"]["limitBytes"][0]
                .as_str()
                .and_then(|n| n.parse().ok()),
        })
    }

    /// The pod name of attempt `attempt`, as a Job controller would generate it.
    pub fn pod_name(&self, attempt: u32) -> String {
        format!("{}-{:05x}", self.name, (fastrand::u32(..) ^ attempt) & 0xfffff)
    }
}

/// The API server's answer to a Job it refuses to create, 422 Invalid, as the task fails with
/// it: each refused value named with its field.
fn unprocessable(job: &Value, invalid: &[Invalid]) -> Failure {
    let name = job["metadata"]["name"].as_str().unwrap_or_default();
    let reasons: Vec<String> = invalid.iter().map(Invalid::to_string).collect();
    let status = json!({
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Failure",
        "reason": "Invalid",
        "code": 422,
        "message": format!("Job {name:?} is invalid: {}", reasons.join("; ")),
    });
    Failure::new("EKS.422", status.to_string())
}

/// A manifest env value as the container sees it: strings as they are, other JSON as text.
fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// What one pod of the Job did.
pub struct PodRun {
    pub name: String,
    pub succeeded: bool,
    pub logs: String,
    /// How the pod ended, e.g. `exit status: 1`.
    pub ended: String,
    /// Why the Job failed when it is not its backoff limit, as its condition says (`DeadlineExceeded`).
    pub reason: Option<String>,
}

/// The finished Job as `eks:runJob.sync` returns it: the manifest, its `status`, and the logs
/// of its pods when they were asked for. A failed Job fails the task with `States.TaskFailed`.
pub fn finished_job(parameters: &Value, spec: &JobSpec, pods: &[PodRun], started: &str) -> Result<Value, Failure> {
    let succeeded = pods.last().is_some_and(|p| p.succeeded);
    let failed = pods.iter().filter(|p| !p.succeeded).count();
    let now = eventdriven_states::clock::now_iso();
    let condition = if succeeded {
        json!({ "type": "Complete", "status": "True", "lastTransitionTime": now })
    } else {
        let reason = pods
            .last()
            .and_then(|p| p.reason.clone())
            .unwrap_or_else(|| "BackoffLimitExceeded".into());
        json!({ "type": "Failed", "status": "True", "reason": reason, "message": "Job has reached the specified backoff limit", "lastTransitionTime": now })
    };
    let mut job = parameters["Job"].clone();
    job["metadata"]["name"] = json!(spec.name);
    job["status"] = json!({
        "startTime": started,
        "completionTime": if succeeded { json!(now) } else { Value::Null },
        "succeeded": u32::from(succeeded),
        "failed": failed,
        "conditions": [condition],
    });
    if spec.retrieve_logs {
        let pods_logs: serde_json::Map<String, Value> = pods
            .iter()
            .map(|pod| {
                (
                    pod.name.clone(),
                    json!({ spec.container.name.as_str(): tail(&pod.logs, spec.tail_lines, spec.limit_bytes) }),
                )
            })
            .collect();
        job["logs"] = json!({ "pods": pods_logs });
    }
    if succeeded {
        Ok(job)
    } else {
        let last = pods.last();
        Err(Failure::task_failed(format!(
            "Job {} failed ({}) after {failed} pod attempt(s); the last pod ended with {}:\n{}",
            spec.name,
            job["status"]["conditions"][0]["reason"].as_str().unwrap_or_default(),
            last.map_or("nothing", |p| p.ended.as_str()),
            last.map(|p| tail(&p.logs, Some(20), None)).unwrap_or_default()
        )))
    }
}

/// The logs as Kubernetes returns them: the last `lines` lines, then at most `limit` bytes of
/// those (cut at a character boundary, possibly mid-line).
fn tail(logs: &str, lines: Option<usize>, limit: Option<usize>) -> String {
    let mut text = match lines {
        Some(n) => {
            let all: Vec<&str> = logs.lines().collect();
            all[all.len().saturating_sub(n)..].join("\n")
        }
        None => logs.to_owned(),
    };
    if let Some(limit) = limit.filter(|&limit| limit < text.len()) {
        let end = (0..=limit).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
        text.truncate(end);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parameters() -> Value {
        json!({
            "ClusterName": "c",
            "LogOptions": {"RetrieveLogs": true, "LogParameters": {"tailLines": ["2"], "limitBytes": ["3"]}},
            "Job": {
                "apiVersion": "batch/v1",
                "kind": "Job",
                "metadata": {"name": "split-run-0"},
                "spec": {
                    "backoffLimit": 2,
                    "template": {"spec": {
                        "containers": [{
                            "name": "eventdriven",
                            "image": "eventdriven:1",
                            "args": ["split"],
                            "env": [{"name": "RUN_ID", "value": "run"}, {"name": "N", "value": 3}],
                            "volumeMounts": [{"name": "work", "mountPath": "/mnt/work"}]
                        }],
                        "volumes": [{"name": "work", "nfs": {"server": "fs-1.efs", "path": "/"}}]
                    }}
                }
            }
        })
    }

    #[test]
    fn reads_the_container_of_the_manifest() {
        let spec = JobSpec::from_parameters(&parameters()).unwrap();
        assert_eq!(spec.name, "split-run-0");
        assert_eq!(spec.container.args, ["split"]);
        assert_eq!(spec.container.env["RUN_ID"], "run");
        assert_eq!(spec.container.env["N"], "3");
        assert_eq!(spec.container.mounts[0].1, "/mnt/work");
        assert_eq!(spec.container.mounts[0].0["nfs"]["server"], "fs-1.efs");
        assert_eq!(spec.attempts, 3);
        assert_eq!(spec.tail_lines, Some(2));
        assert_eq!(spec.limit_bytes, Some(3));
    }

    #[test]
    fn a_job_the_api_server_would_refuse_fails_naming_the_field_and_the_value() {
        let refused = |edit: &dyn Fn(&mut Value)| {
            let mut parameters = parameters();
            edit(&mut parameters["Job"]);
            let failure = JobSpec::from_parameters(&parameters).unwrap_err();
            assert_eq!(failure.error, "EKS.422");
            let status: Value = serde_json::from_str(&failure.cause).unwrap();
            assert_eq!(
                (status["reason"].as_str(), status["code"].as_u64()),
                (Some("Invalid"), Some(422))
            );
            status["message"].as_str().unwrap().to_owned()
        };
        let named = |name: &str| refused(&|job: &mut Value| job["metadata"]["name"] = json!(name));
        let message = named("split-Orders_Rerun-0");
        assert!(
            message.starts_with(
                r#"Job "split-Orders_Rerun-0" is invalid: metadata.name: invalid value "split-Orders_Rerun-0": "#
            ),
            "{message}"
        );
        assert!(named("split-orders_rerun-0").contains("RFC 1123"));
        assert!(named(&"s".repeat(64)).contains("job-name label"));
        let message = refused(&|job: &mut Value| {
            job["spec"]["template"]["metadata"] = json!({ "labels": { "app.kubernetes.io/instance": "Orders Rerun" } });
        });
        assert!(
            message
                .contains(r#"spec.template.metadata.labels[app.kubernetes.io/instance]: invalid value "Orders Rerun""#),
            "{message}"
        );
        let message = refused(&|job: &mut Value| job["metadata"]["labels"] = json!({ "_app": "x" }));
        assert!(
            message.contains(r#"metadata.labels[_app]: invalid value "_app""#),
            "{message}"
        );
        let mut valid = parameters();
        valid["Job"]["metadata"]["name"] = json!("a".repeat(63));
        valid["Job"]["metadata"]["labels"] = json!({ "app.kubernetes.io/instance": "Orders_Rerun", "empty": "" });
        assert!(JobSpec::from_parameters(&valid).is_ok());
    }

    #[test]
    fn a_finished_job_has_the_kubernetes_status_shape() {
        let parameters = parameters();
        let spec = JobSpec::from_parameters(&parameters).unwrap();
        let ok = PodRun {
            name: "p1".into(),
            succeeded: true,
            logs: "a\nb\ncc".into(),
            ended: "exit status: 0".into(),
            reason: None,
        };
        let job = finished_job(&parameters, &spec, &[ok], "t0").unwrap();
        assert_eq!(job["status"]["succeeded"], 1);
        assert_eq!(job["status"]["conditions"][0]["type"], "Complete");
        // The last 2 lines ("b\ncc"), then their first 3 bytes.
        assert_eq!(job["logs"]["pods"]["p1"]["eventdriven"], "b\nc");
        let bad = |name: &str| PodRun {
            name: name.into(),
            succeeded: false,
            logs: "error: boom".into(),
            ended: "exit status: 1".into(),
            reason: None,
        };
        let failure = finished_job(&parameters, &spec, &[bad("p1"), bad("p2"), bad("p3")], "t0").unwrap_err();
        assert_eq!(failure.error, "States.TaskFailed");
        assert!(
            failure.cause.contains("BackoffLimitExceeded") && failure.cause.contains("error: boom"),
            "{}",
            failure.cause
        );
    }
}
