//! `eks:runJob` and `eks:runJob.sync` as local processes.
//!
//! The Job's containers run as processes, its init containers first, each to its end: the image
//! mapped to a local command, the manifest's command and args, its evaluated env, and each
//! volume a local directory (an emptyDir one of the Job's own, removed when it ends). A command that runs a binary from a volume (the copy of
//! `eventdriven` a user's process step runs under) takes its arguments, the user's command
//! inside the image, from what `--image` maps the image to. Pods are retried up
//! to `backoffLimit`, `activeDeadlineSeconds` bounds the Job, and the result is the Job object
//! with its `status` (and pod logs when `LogOptions.RetrieveLogs` is set), as EKS returns it.
//! A Job whose names a cluster's API server would refuse runs nothing and fails as it would
//! there ([`JobSpec::from_parameters`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;
use eventdriven_states::{Failure, Integration, Pattern, Resource, TaskRequest};
use serde_json::Value;

use crate::local::images::ImageMap;
use crate::local::job::{Container, JobSpec, PodRun, finished_job};
use crate::local::process::{ProcessEnv, container_process};

/// Runs Jobs as processes on this machine.
#[derive(Clone, Debug)]
pub struct LocalJobs {
    pub images: ImageMap,
    /// Where volumes live: one directory per EFS file system, claim or other volume.
    pub volumes_root: PathBuf,
    pub env: ProcessEnv,
}

#[async_trait]
impl Integration for LocalJobs {
    fn serves(&self, resource: &Resource) -> bool {
        resource.service == "eks" && resource.action == "runJob"
    }

    async fn call(&self, request: TaskRequest) -> Result<Value, Failure> {
        let spec = JobSpec::from_parameters(&request.parameters)?;
        let started = eventdriven_states::clock::now_iso();
        // A pod's emptyDir volumes live as long as the Job here, as they live as long as the
        // pod on a cluster: each Job has its own, removed when it ends.
        let pod_volumes = self.volumes_root.join("pods").join(&spec.name);
        let prepare = |container| self.prepare(container, &pod_volumes).map_err(Failure::task_failed);
        let init = spec
            .init_containers
            .iter()
            .map(prepare)
            .collect::<Result<Vec<_>, _>>()?;
        let main = prepare(&spec.container)?;
        let job = async {
            let mut pods = Vec::new();
            for attempt in 0..spec.attempts {
                let pod = run_pod(spec.pod_name(attempt), &init, &main).await;
                let succeeded = pod.succeeded;
                pods.push(pod);
                if succeeded {
                    break;
                }
            }
            pods
        };
        let pods = match spec.active_deadline_seconds {
            Some(seconds) => tokio::time::timeout(Duration::from_secs(seconds), job)
                .await
                .unwrap_or_else(|_| {
                    vec![PodRun {
                        name: spec.pod_name(0),
                        succeeded: false,
                        logs: format!("the Job ran longer than its activeDeadlineSeconds ({seconds} s)"),
                        ended: "stopped at the deadline".into(),
                        reason: Some("DeadlineExceeded".into()),
                    }]
                }),
            None => job.await,
        };
        let _ = std::fs::remove_dir_all(&pod_volumes);
        let finished = finished_job(&request.parameters, &spec, &pods, &started)?;
        // Without `.sync`, runJob returns once the Job is created; here it has also finished.
        Ok(match request.resource.pattern {
            Pattern::Sync => finished,
            _ => {
                let mut created = finished;
                created.as_object_mut().map(|job| job.remove("logs"));
                created
            }
        })
    }
}

/// A container ready to run here: its local command and environment.
struct LocalContainer {
    name: String,
    command: Vec<String>,
    env: BTreeMap<String, String>,
}

impl LocalJobs {
    /// The container's local command and environment, its volumes created as directories.
    fn prepare(&self, container: &Container, pod_volumes: &Path) -> Result<LocalContainer, String> {
        let mut mounts = Vec::new();
        for (volume, mount_path) in &container.mounts {
            let dir = match volume.get("emptyDir") {
                Some(_) => pod_volumes.join(volume["name"].as_str().unwrap_or("unnamed")),
                None => self.volumes_root.join(volume_dir(volume)),
            };
            std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
            mounts.push((mount_path.trim_end_matches('/').to_owned(), dir));
        }
        let command = match container.command.as_deref() {
            Some([program, rest @ ..]) => {
                let local_program = map_mounts(program, &mounts);
                let mut command = vec![local_program.clone()];
                command.extend(rest.iter().cloned());
                if local_program == *program {
                    command.extend(container.args.iter().map(|arg| map_mounts(arg, &mounts)));
                } else {
                    command.extend(self.images.command(&container.image)?);
                }
                command
            }
            _ => {
                let mut command = self.images.command(&container.image)?;
                command.extend(container.args.iter().map(|arg| map_mounts(arg, &mounts)));
                command
            }
        };
        let own = container
            .env
            .iter()
            .map(|(name, value)| (name.clone(), map_mounts(value, &mounts)));
        Ok(LocalContainer {
            name: container.name.clone(),
            command,
            env: self.env.compose(own),
        })
    }
}

/// A directory name for a volume: the same file system or claim always maps to the same place.
fn volume_dir(volume: &Value) -> String {
    if let Some(server) = volume["nfs"]["server"].as_str() {
        let file_system = server.split('.').next().unwrap_or(server);
        let path = volume["nfs"]["path"]
            .as_str()
            .unwrap_or("/")
            .trim_matches('/')
            .replace('/', "_");
        return if path.is_empty() {
            file_system.to_owned()
        } else {
            format!("{file_system}_{path}")
        };
    }
    if let Some(claim) = volume["persistentVolumeClaim"]["claimName"].as_str() {
        return format!("claim-{claim}");
    }
    format!("volume-{}", volume["name"].as_str().unwrap_or("unnamed"))
}

/// Replaces the longest mount path at the start of `value` (an env value or an argument) with
/// its local directory.
fn map_mounts(value: &str, mounts: &[(String, PathBuf)]) -> String {
    mounts
        .iter()
        .filter_map(|(mount, dir)| {
            let rest = value.strip_prefix(mount.as_str())?;
            (rest.is_empty() || rest.starts_with('/')).then(|| (mount.len(), format!("{}{rest}", dir.display())))
        })
        .max_by_key(|(length, _)| *length)
        .map_or_else(|| value.to_owned(), |(_, mapped)| mapped)
}

/// Runs one pod: its init containers in order, then its container, each a process with
/// exactly the container's environment (and `PATH`); the pod's logs are its container's, or
/// those of the init container that failed.
async fn run_pod(name: String, init: &[LocalContainer], main: &LocalContainer) -> PodRun {
    for container in init {
        let pod = run_container(name.clone(), container).await;
        if !pod.succeeded {
            return PodRun {
                ended: format!("init container {} {}", container.name, pod.ended),
                ..pod
            };
        }
    }
    run_container(name, main).await
}

async fn run_container(name: String, container: &LocalContainer) -> PodRun {
    match container_process(&container.command, &container.env).output().await {
        Ok(output) => {
            let mut logs = String::from_utf8_lossy(&output.stdout).into_owned();
            logs.push_str(&String::from_utf8_lossy(&output.stderr));
            PodRun {
                name,
                succeeded: output.status.success(),
                logs,
                ended: output.status.to_string(),
                reason: None,
            }
        }
        Err(e) => PodRun {
            name,
            succeeded: false,
            logs: format!("starting {}: {e}", container.command[0]),
            ended: "not started".into(),
            reason: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::path::Path;

    #[test]
    fn volumes_map_to_stable_directories_and_env_paths_follow() {
        assert_eq!(
            volume_dir(&json!({"name": "work", "nfs": {"server": "fs-12.efs.eu-west-1.amazonaws.com", "path": "/"}})),
            "fs-12"
        );
        assert_eq!(
            volume_dir(&json!({"name": "work", "persistentVolumeClaim": {"claimName": "c"}})),
            "claim-c"
        );
        let mounts = [
            ("/mnt".to_owned(), PathBuf::from("/tmp/v/other")),
            ("/mnt/work".to_owned(), PathBuf::from("/tmp/v/fs-12")),
        ];
        assert_eq!(map_mounts("/mnt/work", &mounts), "/tmp/v/fs-12");
        assert_eq!(map_mounts("/mnt/work/run/x", &mounts), "/tmp/v/fs-12/run/x");
        assert_eq!(map_mounts("/mnt/workers", &mounts), "/tmp/v/other/workers");
        assert_eq!(map_mounts("/opt/x", &mounts), "/opt/x");
    }

    fn request(args: Value, backoff: u64) -> TaskRequest {
        TaskRequest {
            resource: Resource::parse("arn:aws:states:::eks:runJob.sync").unwrap(),
            parameters: json!({
                "LogOptions": {"RetrieveLogs": true},
                "Job": {"metadata": {"name": "j-1"}, "spec": {"backoffLimit": backoff, "template": {"spec": {
                    "containers": [{"name": "eventdriven", "image": "tool:1", "command": ["sh", "-c"], "args": args,
                        "env": [{"name": "WHERE", "value": "/mnt/work/x"}],
                        "volumeMounts": [{"name": "work", "mountPath": "/mnt/work"}]}],
                    "volumes": [{"name": "work", "nfs": {"server": "fs-9.efs", "path": "/"}}]
                }}}}
            }),
            token: None,
            caller: eventdriven_states::Caller {
                execution_name: "e".into(),
                execution_arn: "a".into(),
                state_name: "S".into(),
                retry_count: 0,
            },
        }
    }

    fn jobs(root: &Path) -> LocalJobs {
        LocalJobs {
            images: ImageMap::default(),
            volumes_root: root.into(),
            env: ProcessEnv {
                extra: BTreeMap::from([("EXTRA".into(), "1".into())]),
                overrides: BTreeMap::new(),
            },
        }
    }

    #[tokio::test]
    async fn a_job_runs_its_container_with_env_and_volumes() {
        let root = tempfile::tempdir().unwrap();
        let job = jobs(root.path())
            .call(request(json!(["echo \"$WHERE $EXTRA\"; touch \"$WHERE\""]), 0))
            .await
            .unwrap();
        assert_eq!(job["status"]["succeeded"], 1);
        let logs = job["logs"]["pods"].as_object().unwrap().values().next().unwrap()["eventdriven"]
            .as_str()
            .unwrap()
            .to_owned();
        let expected = root.path().join("fs-9/x");
        assert_eq!(logs.trim(), format!("{} 1", expected.display()));
        assert!(expected.exists());
    }

    #[tokio::test]
    async fn a_job_named_as_no_cluster_accepts_runs_nothing() {
        let root = tempfile::tempdir().unwrap();
        let ran = root.path().join("ran");
        let mut request = request(json!([format!("touch {}", ran.display())]), 0);
        request.parameters["Job"]["metadata"]["name"] = json!("split-Orders_Rerun-0");
        let failure = jobs(root.path()).call(request).await.unwrap_err();
        assert_eq!(failure.error, "EKS.422");
        assert!(failure.cause.contains("metadata.name"), "{}", failure.cause);
        assert!(!ran.exists());
    }

    #[tokio::test]
    async fn a_failing_pod_is_retried_up_to_the_backoff_limit() {
        let root = tempfile::tempdir().unwrap();
        let counter = root.path().join("count");
        let script = format!("echo x >> {0}; echo attempt; exit 3", counter.display());
        let failure = jobs(root.path()).call(request(json!([script]), 2)).await.unwrap_err();
        assert_eq!(failure.error, "States.TaskFailed");
        assert!(
            failure.cause.contains("3 pod attempt(s)") && failure.cause.contains("exit status: 3"),
            "{}",
            failure.cause
        );
        assert_eq!(std::fs::read_to_string(counter).unwrap().lines().count(), 3);
    }

    #[tokio::test]
    async fn init_containers_run_first_and_a_binary_from_a_volume_runs_the_mapped_image() {
        let root = tempfile::tempdir().unwrap();
        let mut jobs = jobs(root.path());
        jobs.images = ImageMap::new("/nonexistent".into(), &["user:1=step --flag".into()]).unwrap();
        let install = r#"printf '#!/bin/sh\necho wrapped "$@"\n' > "$BIN/wrapper" && chmod +x "$BIN/wrapper""#;
        let mut request = request(json!([]), 0);
        request.parameters["Job"]["spec"]["template"]["spec"] = json!({
            "initContainers": [{"name": "install", "image": "tool:1", "command": ["sh", "-c"], "args": [install],
                "env": [{"name": "BIN", "value": "/opt/bin"}],
                "volumeMounts": [{"name": "bin", "mountPath": "/opt/bin"}]}],
            "containers": [{"name": "process", "image": "user:1", "command": ["/opt/bin/wrapper", "process", "--"],
                "args": ["python3", "/app/step.py"],
                "volumeMounts": [{"name": "bin", "mountPath": "/opt/bin", "readOnly": true}]}],
            "volumes": [{"name": "bin", "emptyDir": {}}]
        });
        let job = jobs.call(request).await.unwrap();
        let logs = job["logs"]["pods"].as_object().unwrap().values().next().unwrap()["process"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(
            logs.trim(),
            "wrapped process -- step --flag",
            "the image's arguments are what --image maps it to"
        );
    }
}
