//! The Kubernetes Job each step runs as, in the form `eks:runJob` takes it.
//!
//! Manifests are rendered into the state machine definition, so anything known only at run time
//! (the run id, the chunk, the input object) is a `….$` entry that Step Functions fills in.
//! The container's environment comes from [`env::job_settings`] alone, which keeps every Job
//! within the settings contract.

pub mod kubernetes_names;

use serde_json::{Value, json};

use crate::contract::Step;
use crate::env::{self, EnvValue, WORK_DIR_MOUNT};
use crate::paths::{self, EXECUTION_ID, REDRIVE_COUNT, RETRY_COUNT, Scope};
use crate::process_step::ProcessSpec;
use crate::refs::DeployedRefs;
use crate::spec::PREFIX;
use crate::spec::PipelineSpec;

pub const CONTAINER_NAME: &str = "eventdriven";
const WORK_VOLUME: &str = "work";
/// Pod retries: the only retries a step gets, all within the Job's `activeDeadlineSeconds`, so a
/// stuck Job costs one deadline, not one per retry (Step Functions does not retry a failed Job).
const BACKOFF_LIMIT: u32 = 4;
/// Finished Jobs stay an hour for `kubectl logs`, then Kubernetes deletes them.
const TTL_SECONDS_AFTER_FINISHED: u32 = 3600;
const CPU_REQUEST: &str = "250m";
const MEMORY_REQUEST: &str = "128Mi";
/// Split and merge stream their files, in constant memory.
const MEMORY_LIMIT: &str = "512Mi";
/// The built-in process step holds its chunk whole, with the chunk's items and output lines:
/// about 1 KiB a row over a base of 256 MiB, and never less than the other steps' 512 MiB.
const PROCESS_BASE_MIB: u64 = 256;
const PROCESS_KIB_PER_ROW: u64 = 1;
/// A chunk is at most 512 MiB (the runtime's `workdir::MAX_CHUNK_BYTES`, which split and
/// process enforce), and its items and output are each smaller than three times that
/// together with it: no chunk a legal `max_lines_per_batch` makes needs more than this.
const PROCESS_MAX_MIB: u64 = PROCESS_BASE_MIB + 3 * 512;

/// The `batch/v1` Job running `eventdriven <step>` for one run (and, for `process`, one chunk).
///
/// The image's entrypoint is expected to be the `eventdriven` binary, so the step is its only
/// argument. The work directory is the pipeline's EFS file system: through a
/// PersistentVolumeClaim bound to its access point (`PipelineSpec::mounted_claim`), or the
/// file system root as a plain NFS volume when `work_volume_mount = "nfs"` was chosen.
///
/// With a `process` block, the process Job runs the user's command instead
/// ([`ProcessSpec::pod_spec`]).
pub fn job_manifest(step: Step, spec: &PipelineSpec, refs: &DeployedRefs) -> Value {
    let labels = json!({
        "app.kubernetes.io/name": PREFIX,
        "app.kubernetes.io/instance": spec.name,
        "app.kubernetes.io/component": step.subcommand(),
    });
    let mut job = json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            (paths::dynamic("name")): job_name(step),
            "namespace": spec.namespace,
            "labels": labels,
        },
        "spec": {
            "backoffLimit": BACKOFF_LIMIT,
            "activeDeadlineSeconds": spec.step_timeout_seconds,
            "ttlSecondsAfterFinished": TTL_SECONDS_AFTER_FINISHED,
            "template": {
                "metadata": { "labels": labels },
                "spec": {
                    "restartPolicy": "Never",
                    "nodeSelector": { "kubernetes.io/arch": spec.architecture.kubernetes() },
                    "serviceAccountName": spec.service_account,
                    "containers": [{
                        "name": CONTAINER_NAME,
                        "image": spec.job_image,
                        "args": [step.subcommand()],
                        "env": container_env(step, spec, refs),
                        "resources": {
                            "requests": { "cpu": CPU_REQUEST, "memory": MEMORY_REQUEST },
                            "limits": { "memory": memory_limit(step, spec.max_lines_per_batch) },
                        },
                        "volumeMounts": [{ "name": WORK_VOLUME, "mountPath": WORK_DIR_MOUNT }],
                        "securityContext": security_context(spec),
                    }],
                    "volumes": [work_volume(spec, refs)],
                },
            },
        },
    });
    if step == Step::Process
        && let Some(process) = &spec.process
    {
        let pod = &mut job["spec"]["template"]["spec"];
        *pod = ProcessSpec::pod_spec(process, pod, &spec.job_image);
    }
    job
}

/// The Job's memory limit: the process step's follows the chunk's rows (see
/// [`PROCESS_BASE_MIB`]), so no legal `max_lines_per_batch` gets the Job OOM-killed; the
/// default 30,000 rows keep 512Mi.
fn memory_limit(step: Step, rows_per_chunk: i64) -> String {
    if step != Step::Process {
        return MEMORY_LIMIT.to_owned();
    }
    let rows = u64::try_from(rows_per_chunk).unwrap_or(0);
    let mib = (PROCESS_BASE_MIB + (rows * PROCESS_KIB_PER_ROW).div_ceil(1024)).clamp(512, PROCESS_MAX_MIB);
    format!("{mib}Mi")
}

/// The intrinsic function naming the Job:
/// `<step>-<execution hash>-<redrive count>[-<chunk index>]-<retry count>`.
///
/// A Job's name must be a lowercase DNS subdomain of at most 63 characters (its pods carry it as
/// their `job-name` label, see [`kubernetes_names`]), and no other Job of the namespace may have
/// it while a finished one is kept ([`TTL_SECONDS_AFTER_FINISHED`]): creating it again fails
/// with 409 AlreadyExists. An execution's name can be neither (one started by hand may be
/// `Orders_Rerun`, up to 80 characters), so the name holds the MD5 of the execution's ARN, 32
/// lowercase hex digits: the ARN rather than the name, so pipelines sharing a namespace never
/// meet, and each child execution of the Distributed Map has its own, even in a new Map Run.
/// A redrive runs failed steps again under the same ARN, hence its count; a Retry (none is set
/// today) would run a state again in the same redrive, hence the retry count; the inline Map's iterations share their execution, hence the chunk's position
/// (short and bounded, unlike its reference). The fixed parts take 43 characters, leaving 20
/// digits to the counters. The run id stays on the Job, in its container's `RUN_ID`.
pub fn job_name(step: Step) -> String {
    let execution = paths::md5(EXECUTION_ID);
    let index = paths::item(paths::item::INDEX);
    let args: Vec<&str> = match Scope::of(step) {
        Scope::Execution => vec![&execution, REDRIVE_COUNT, RETRY_COUNT],
        Scope::Iteration => vec![&execution, REDRIVE_COUNT, &index, RETRY_COUNT],
    };
    paths::format(&format!("{}{}", step.subcommand(), "-{}".repeat(args.len())), &args)
}

fn container_env(step: Step, spec: &PipelineSpec, refs: &DeployedRefs) -> Vec<Value> {
    env::job_settings(step, spec, refs)
        .into_iter()
        .map(|(name, value)| match value {
            EnvValue::Static(value) => json!({ "name": name, "value": value }),
            EnvValue::Dynamic(path) => json!({ "name": name, (paths::dynamic("value")): path }),
        })
        .collect()
}

/// The user and group the pipeline's EFS access point imposes on every client, and so the
/// user its Jobs run as when they mount it through a claim.
pub const ACCESS_POINT_UID: i64 = 65532;

/// The container writes only to its work volume and needs no privilege. It runs as the
/// access point's user when the work volume is the claim on it; over plain NFS the file
/// system's root directory belongs to root, so there it stays root.
fn security_context(spec: &PipelineSpec) -> Value {
    let mut context = json!({
        "allowPrivilegeEscalation": false,
        "readOnlyRootFilesystem": true,
        "capabilities": { "drop": ["ALL"] },
    });
    if spec.mounted_claim().is_some() {
        context["runAsNonRoot"] = json!(true);
        context["runAsUser"] = json!(ACCESS_POINT_UID);
        context["runAsGroup"] = json!(ACCESS_POINT_UID);
    }
    context
}

fn work_volume(spec: &PipelineSpec, refs: &DeployedRefs) -> Value {
    match spec.mounted_claim() {
        Some(claim) => json!({ "name": WORK_VOLUME, "persistentVolumeClaim": { "claimName": claim } }),
        None => json!({ "name": WORK_VOLUME, "nfs": { "server": efs_server(refs), "path": "/" } }),
    }
}

/// The file system's regional DNS name, which resolves to the mount target in the pod's zone.
fn efs_server(refs: &DeployedRefs) -> String {
    let suffix = match refs.partition.as_str() {
        "aws-cn" => "amazonaws.com.cn",
        _ => "amazonaws.com",
    };
    format!("{}.efs.{}.{suffix}", refs.efs_file_system_id, refs.region)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use eventdriven_states::context::{ExecutionContext, StateContext};
    use eventdriven_states::intrinsics;
    use eventdriven_states::path as states_path;

    use super::*;
    use crate::contract;
    use crate::fixtures;
    use crate::paths::item;
    use crate::spec::WorkVolumeMount;

    fn manifest(step: Step) -> Value {
        job_manifest(step, &fixtures::spec(), &fixtures::refs())
    }

    fn env_names(manifest: &Value) -> Vec<String> {
        manifest["spec"]["template"]["spec"]["containers"][0]["env"]
            .as_array()
            .expect("env is a list")
            .iter()
            .map(|e| e["name"].as_str().expect("env has a name").to_owned())
            .collect()
    }

    /// The Job's name as the interpreter evaluates it, for the execution `name` of the state
    /// machine `machine`, redriven `redrives` times, at the chunk `index` and the retry `retry`.
    fn evaluated_name(step: Step, machine: &str, name: &str, redrives: u64, index: u64, retry: u64) -> String {
        let input = json!({ (item::RUN_ID): name, (item::CHUNK): "000000-2", (item::INDEX): index });
        let arn = |kind: &str, name: &str| format!("arn:aws:states:eu-west-1:123456789012:{kind}:{name}");
        let mut execution = ExecutionContext::new(
            &arn("execution", &format!("{machine}:{name}")),
            name,
            &input,
            &arn("stateMachine", machine),
            "",
        );
        execution.execution["RedriveCount"] = json!(redrives);
        let context = StateContext {
            execution: &execution,
            state_name: "Split",
            entered_time: "",
            retry_count: retry,
            token: None,
            map_item: None,
        }
        .to_value();
        let evaluated = intrinsics::evaluate(&job_name(step), states_path::Scope::new(&input, &context))
            .unwrap_or_else(|e| panic!("{step:?}: {e:?}"));
        evaluated.as_str().expect("a name is text").to_owned()
    }

    /// The manifest of `step` as the cluster receives it, named `name`.
    fn named(step: Step, name: &str) -> Value {
        let mut job = manifest(step);
        let metadata = job["metadata"].as_object_mut().unwrap();
        metadata.remove(&paths::dynamic("name"));
        metadata.insert("name".into(), json!(name));
        job
    }

    #[test]
    fn the_process_job_reads_its_run_s_chunk_count_as_text() {
        let job = manifest(Step::Process);
        let env = job["spec"]["template"]["spec"]["containers"][0]["env"]
            .as_array()
            .unwrap();
        let entry = env.iter().find(|e| e["name"] == contract::RUN_CHUNKS).unwrap();
        let input = json!({ (item::RUN_CHUNKS): 33_334 });
        let context = json!({});
        let value = intrinsics::evaluate(
            entry[paths::dynamic("value")].as_str().unwrap(),
            states_path::Scope::new(&input, &context),
        )
        .unwrap();
        assert_eq!(value, "33334", "a container's environment holds strings");
    }

    #[test]
    fn every_step_satisfies_the_settings_contract() {
        for step in Step::ALL {
            let names = env_names(&manifest(step));
            for required in contract::required_for(step) {
                assert!(names.iter().any(|n| n == required), "{step:?} lacks {required}");
            }
            assert!(names.iter().any(|n| n == contract::REDIS_AUTH_SECRET_ARN), "{step:?}");
            let unique: HashSet<_> = names.iter().collect();
            assert_eq!(unique.len(), names.len(), "{step:?} repeats a setting");
            for name in &names {
                assert!(
                    contract::SETTINGS.iter().any(|s| s.name == name),
                    "{step:?} sets unknown {name}"
                );
            }
        }
    }

    #[test]
    fn without_a_secret_no_secret_setting_is_rendered() {
        let mut refs = fixtures::refs();
        refs.redis_auth_secret_arn = None;
        let names = env_names(&job_manifest(Step::Process, &fixtures::spec(), &refs));
        assert!(!names.iter().any(|n| n == contract::REDIS_AUTH_SECRET_ARN));
    }

    #[test]
    fn env_entries_are_static_or_dynamic_never_both() {
        for step in Step::ALL {
            let job = manifest(step);
            for entry in job["spec"]["template"]["spec"]["containers"][0]["env"]
                .as_array()
                .unwrap()
            {
                let has_value = entry.get("value").is_some_and(Value::is_string);
                let has_path = entry.get("value.$").is_some_and(Value::is_string);
                assert!(has_value != has_path, "{entry}");
            }
        }
    }

    #[test]
    fn the_job_runs_the_step_in_the_pipeline_namespace() {
        let job = manifest(Step::Merge);
        assert_eq!(job["apiVersion"], "batch/v1");
        assert_eq!(job["kind"], "Job");
        assert_eq!(job["metadata"]["namespace"], "eventdriven");
        assert_eq!(job["metadata"]["labels"]["app.kubernetes.io/name"], "eventdriven");
        assert_eq!(job["metadata"]["labels"]["app.kubernetes.io/instance"], "orders");
        assert_eq!(job["metadata"]["labels"]["app.kubernetes.io/component"], "merge");
        assert_eq!(job["spec"]["backoffLimit"], 4);
        assert_eq!(job["spec"]["ttlSecondsAfterFinished"], 3600);
        let pod = &job["spec"]["template"]["spec"];
        assert_eq!(pod["restartPolicy"], "Never");
        assert_eq!(pod["nodeSelector"]["kubernetes.io/arch"], "amd64");
        assert_eq!(pod["serviceAccountName"], "eventdriven-orders");
        let container = &pod["containers"][0];
        assert_eq!(container["name"], "eventdriven");
        assert_eq!(container["image"], fixtures::spec().job_image);
        assert_eq!(container["args"], json!(["merge"]));
        assert_eq!(container["resources"]["limits"]["memory"], "512Mi");
    }

    #[test]
    fn the_process_job_s_memory_follows_the_chunk_s_rows_within_what_a_chunk_can_need() {
        let limit = |rows| {
            let mut spec = fixtures::spec();
            spec.max_lines_per_batch = rows;
            let job = job_manifest(Step::Process, &spec, &fixtures::refs());
            job["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["memory"].clone()
        };
        assert_eq!(
            limit(contract::DEFAULT_ROWS_PER_CHUNK as i64),
            "512Mi",
            "today's default"
        );
        assert_eq!(limit(1), "512Mi");
        assert_eq!(limit(262_144), "512Mi");
        assert_eq!(limit(300_000), "549Mi");
        assert_eq!(limit(1_000_000), "1233Mi");
        assert_eq!(limit(crate::spec::MAX_ROWS_PER_CHUNK), "1792Mi");
        assert_eq!(memory_limit(Step::Split, crate::spec::MAX_ROWS_PER_CHUNK), "512Mi");
    }

    #[test]
    fn with_a_process_block_the_process_job_runs_the_user_s_command_and_the_others_do_not() {
        let mut spec = fixtures::spec();
        spec.process = Some(fixtures::process());
        let refs = fixtures::refs();
        let job = job_manifest(Step::Process, &spec, &refs);
        let pod = &job["spec"]["template"]["spec"];
        assert_eq!(pod["initContainers"][0]["image"], spec.job_image);
        assert_eq!(
            pod["initContainers"][0]["args"],
            json!(["install-entrypoint", "/eventdriven"])
        );
        let container = &pod["containers"][0];
        assert_eq!(container["image"], fixtures::process().image);
        assert_eq!(
            container["command"],
            json!(["/eventdriven/eventdriven", "process", "--"])
        );
        assert_eq!(container["args"], json!(["python3", "/app/enrich.py"]));
        let names = env_names(&job);
        for name in [
            contract::RUN_ID,
            contract::CHUNK,
            contract::TABLE_NAME,
            contract::BUCKET,
            "MODEL",
        ] {
            assert!(names.iter().any(|n| n == name), "{name}: {names:?}");
        }
        assert_eq!(pod["serviceAccountName"], "eventdriven-orders");
        assert_eq!(pod["volumes"][0]["name"], "work");
        // Without the block, and for the other steps, the Job is the built-in one.
        let builtin = job_manifest(Step::Process, &fixtures::spec(), &refs);
        assert!(builtin["spec"]["template"]["spec"].get("initContainers").is_none());
        for step in [Step::Split, Step::Merge] {
            assert_eq!(
                job_manifest(step, &spec, &refs),
                job_manifest(step, &fixtures::spec(), &refs)
            );
        }
    }

    #[test]
    fn jobs_run_unprivileged_and_as_the_access_points_user_with_a_claim() {
        let context = |spec: &PipelineSpec| {
            job_manifest(Step::Process, spec, &fixtures::refs())["spec"]["template"]["spec"]["containers"][0]
                ["securityContext"]
                .clone()
        };
        let mut spec = fixtures::spec();
        spec.work_volume_mount = WorkVolumeMount::Nfs;
        let over_nfs = context(&spec);
        assert_eq!(over_nfs["readOnlyRootFilesystem"], true);
        assert_eq!(over_nfs["allowPrivilegeEscalation"], false);
        assert_eq!(over_nfs["capabilities"]["drop"], json!(["ALL"]));
        assert!(over_nfs.get("runAsUser").is_none(), "the NFS root belongs to root");
        spec.work_volume_mount = WorkVolumeMount::EfsCsi;
        let with_claim = context(&spec);
        assert_eq!(with_claim["runAsNonRoot"], true);
        assert_eq!(with_claim["runAsUser"], ACCESS_POINT_UID);
    }

    #[test]
    fn by_default_the_work_dir_is_the_pipelines_claim_and_a_named_claim_replaces_it() {
        let mut spec = fixtures::spec();
        let volumes = |spec: &PipelineSpec| {
            job_manifest(Step::Process, spec, &fixtures::refs())["spec"]["template"]["spec"]["volumes"].clone()
        };
        assert_eq!(
            volumes(&spec),
            json!([{ "name": "work", "persistentVolumeClaim": { "claimName": "eventdriven-orders-work" } }])
        );
        spec.work_volume_claim = Some("orders-work".into());
        assert_eq!(
            volumes(&spec),
            json!([{ "name": "work", "persistentVolumeClaim": { "claimName": "orders-work" } }])
        );
    }

    #[test]
    fn with_nfs_chosen_the_work_dir_is_the_efs_file_system_root() {
        let mut spec = fixtures::spec();
        spec.work_volume_mount = WorkVolumeMount::Nfs;
        let pod = job_manifest(Step::Split, &spec, &fixtures::refs())["spec"]["template"]["spec"].clone();
        assert_eq!(
            pod["containers"][0]["volumeMounts"],
            json!([{ "name": "work", "mountPath": "/mnt/work" }])
        );
        assert_eq!(
            pod["volumes"],
            json!([{ "name": "work", "nfs": { "server": "fs-0123456789abcdef0.efs.eu-west-1.amazonaws.com", "path": "/" } }])
        );
        let mut refs = fixtures::refs();
        (refs.partition, refs.region) = ("aws-cn".into(), "cn-north-1".into());
        assert_eq!(
            efs_server(&refs),
            "fs-0123456789abcdef0.efs.cn-north-1.amazonaws.com.cn"
        );
    }

    #[test]
    fn job_names_hash_the_execution_and_count_redrives_chunks_and_attempts() {
        assert_eq!(
            job_name(Step::Split),
            "States.Format('split-{}-{}-{}', States.Hash($$.Execution.Id, 'MD5'), $$.Execution.RedriveCount, $$.State.RetryCount)"
        );
        assert_eq!(
            job_name(Step::Process),
            "States.Format('process-{}-{}-{}-{}', States.Hash($$.Execution.Id, 'MD5'), $$.Execution.RedriveCount, $.index, $$.State.RetryCount)"
        );
        assert_eq!(manifest(Step::Merge)["metadata"]["name.$"], job_name(Step::Merge));
        // The MD5 of `arn:aws:states:eu-west-1:123456789012:execution:eventdriven-orders:Orders_Rerun`.
        let hash = "d4045e2b1318185944abb0517e446ed9";
        let name = |step| evaluated_name(step, "eventdriven-orders", "Orders_Rerun", 1, 7, 2);
        assert_eq!(name(Step::Split), format!("split-{hash}-1-2"));
        assert_eq!(name(Step::Process), format!("process-{hash}-1-7-2"));
        assert_eq!(name(Step::Merge), format!("merge-{hash}-1-2"));
    }

    #[test]
    fn no_two_jobs_share_a_name() {
        let mut names = HashSet::new();
        for machine in ["eventdriven-orders", "eventdriven-invoices"] {
            for execution in ["Orders_Rerun", "orders_rerun", "0f1e2d3c-4b5a-6978-8695-a4b3c2d1e0f9"] {
                for redrives in [0, 1, 10] {
                    for retry in [0, 1] {
                        for index in [0, 1, 11] {
                            names.insert(evaluated_name(
                                Step::Process,
                                machine,
                                execution,
                                redrives,
                                index,
                                retry,
                            ));
                        }
                        for step in [Step::Split, Step::Merge] {
                            names.insert(evaluated_name(step, machine, execution, redrives, 0, retry));
                        }
                    }
                }
            }
        }
        assert_eq!(names.len(), 2 * 3 * 3 * 2 * (3 + 2));
        let again = evaluated_name(Step::Split, "eventdriven-orders", "Orders_Rerun", 1, 0, 1);
        assert!(
            names.contains(&again),
            "the same execution, redrive and attempt: the same name"
        );
    }

    #[test]
    fn the_longest_job_name_is_a_valid_kubernetes_name() {
        // Step Functions allows names of 80 characters, of about any character but whitespace,
        // brackets, wildcards and a few marks; 10,000,000 chunks of a row each and 9,999
        // redrives are beyond any run.
        let machine = format!("eventdriven-{}", "m".repeat(68));
        let longest = format!("Orders_Rerun.{}", "X".repeat(67));
        assert_eq!((machine.len(), longest.len()), (80, 80));
        for execution in [
            "0f1e2d3c-4b5a-6978-8695-a4b3c2d1e0f9",
            "Orders_Rerun",
            "Ünïcode!@'()+=",
            &longest,
        ] {
            for step in Step::ALL {
                let name = evaluated_name(step, &machine, execution, 9_999, 9_999_999, 0);
                assert!(name.len() <= 55, "{name}");
                let invalid = kubernetes_names::invalid_fields(&named(step, &name));
                assert!(invalid.is_empty(), "{name}: {invalid:?}");
            }
        }
    }

    #[test]
    fn only_names_and_values_are_evaluated_and_no_setting_is_a_credential() {
        for step in Step::ALL {
            let job = manifest(step);
            for (key, _) in fixtures::dynamic_entries(&job) {
                assert!(["name.$", "value.$"].contains(&key), "{key}");
            }
            for name in env_names(&job) {
                let upper = name.to_ascii_uppercase();
                assert!(!upper.contains("PASSWORD") && !upper.ends_with("TOKEN"), "{name}");
            }
        }
    }
}
