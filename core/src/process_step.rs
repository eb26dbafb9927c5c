//! The user's process step (the `process` block): their image and command run on every chunk in
//! place of the built-in step. The command runs under the `eventdriven` binary, which an init
//! container from `job_image` copies into a volume the two containers share: the binary claims
//! the chunk, runs the command, counts and publishes (docs/process-contract.md). This keeps the
//! guarantees with the pipeline, whatever the user's code does, and needs nothing of the
//! project in the user's image; the local runner runs the same manifest, init container first.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::config_path::{ConfigPath, SpecError, container_image};
use crate::contract;

/// The `process` block.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessSpec {
    pub image: String,
    /// The command and its arguments, run in `image` (its entrypoint is not used).
    pub command: Vec<String>,
    /// More environment for the command.
    pub env: BTreeMap<String, String>,
    /// The container's CPU request, a Kubernetes quantity (`500m`, `2`).
    pub cpu: Option<String>,
    /// The container's memory request and limit, a Kubernetes quantity (`1Gi`, `512Mi`).
    pub memory: Option<String>,
}

/// The volume the init container puts the `eventdriven` binary in, and where it is mounted.
pub const ENTRYPOINT_VOLUME: &str = "eventdriven-entrypoint";
pub const ENTRYPOINT_DIR: &str = "/eventdriven";
/// The subcommand of the init container, which copies the running binary into a directory.
pub const INSTALL_SUBCOMMAND: &str = "install-entrypoint";
/// The user's container in the process Job.
const USER_CONTAINER: &str = "process";
/// A writable `/tmp` for the user's command: the root file system is read-only.
const TMP_VOLUME: &str = "tmp";
const DEFAULT_CPU: &str = "250m";
const DEFAULT_MEMORY: &str = "512Mi";

/// The path of the binary in the user's container.
pub fn entrypoint_binary() -> String {
    format!("{ENTRYPOINT_DIR}/eventdriven")
}

/// Names the user's `env` may not set: what the pipeline sets (every contract setting, the
/// table's and bucket's names among them, and the step's `EVENTDRIVEN_*` files), and what EKS
/// Pod Identity sets for the SDKs to find the job role's credentials.
fn reserved(name: &str) -> bool {
    contract::SETTINGS.iter().any(|s| s.name == name) || name.starts_with("EVENTDRIVEN_") || name.starts_with("AWS_")
}

impl ProcessSpec {
    /// Every problem of the block, each at its path under `at`.
    pub fn check(&self, at: &ConfigPath) -> Vec<SpecError> {
        let mut errors = Vec::new();
        let mut error = |attribute: &'static str, message: String| {
            errors.push(SpecError {
                attribute: at.clone().then(attribute),
                message,
            })
        };
        if let Err(message) = container_image(&self.image) {
            error("image", message);
        }
        if self.command.first().is_none_or(|program| program.trim().is_empty()) {
            error(
                "command",
                "must name a program to run, e.g. [\"python3\", \"/app/step.py\"]".to_owned(),
            );
        }
        for name in self.env.keys() {
            let identifier = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !identifier {
                error(
                    "env",
                    format!("{name:?} is not a variable name (letters, digits and '_')"),
                );
            } else if reserved(name) {
                error(
                    "env",
                    format!("{name:?} is set by the pipeline, or reserved for it and for AWS"),
                );
            }
        }
        if let Some(cpu) = &self.cpu
            && !is_quantity(cpu, &["m"])
        {
            error(
                "cpu",
                format!("{cpu:?} is not a CPU quantity such as \"500m\" or \"2\""),
            );
        }
        if let Some(memory) = &self.memory
            && !is_quantity(memory, &["Ki", "Mi", "Gi", "Ti", "k", "M", "G", "T"])
        {
            error(
                "memory",
                format!("{memory:?} is not a memory quantity such as \"512Mi\" or \"2Gi\""),
            );
        }
        errors
    }

    /// The process Job's pod spec, from the built-in step's: the user's container runs the
    /// command under the copied binary, with the built-in container's environment (which
    /// holds the table's and bucket's names for this step) and mounts, and the user's `env`.
    pub fn pod_spec(&self, builtin: &Value, job_image: &str) -> Value {
        let mut pod = builtin.clone();
        let base = pod["containers"][0].take();
        let entrypoint_mount = json!({ "name": ENTRYPOINT_VOLUME, "mountPath": ENTRYPOINT_DIR });
        let install = json!({
            "name": ENTRYPOINT_VOLUME,
            "image": job_image,
            "args": [INSTALL_SUBCOMMAND, ENTRYPOINT_DIR],
            "resources": base["resources"],
            "volumeMounts": [entrypoint_mount],
            "securityContext": base["securityContext"],
        });
        let mut env = base["env"].as_array().cloned().unwrap_or_default();
        env.extend(
            self.env
                .iter()
                .map(|(name, value)| json!({ "name": name, "value": value })),
        );
        let memory = self.memory.as_deref().unwrap_or(DEFAULT_MEMORY);
        let mut mounts = base["volumeMounts"].as_array().cloned().unwrap_or_default();
        mounts.push(json!({ "name": ENTRYPOINT_VOLUME, "mountPath": ENTRYPOINT_DIR, "readOnly": true }));
        mounts.push(json!({ "name": TMP_VOLUME, "mountPath": "/tmp" }));
        pod["initContainers"] = json!([install]);
        pod["containers"] = json!([{
            "name": USER_CONTAINER,
            "image": self.image,
            "command": [entrypoint_binary(), "process", "--"],
            "args": self.command,
            "env": env,
            "resources": {
                "requests": { "cpu": self.cpu.as_deref().unwrap_or(DEFAULT_CPU), "memory": memory },
                "limits": { "memory": memory },
            },
            "volumeMounts": mounts,
            "securityContext": base["securityContext"],
        }]);
        if let Some(volumes) = pod["volumes"].as_array_mut() {
            volumes.push(json!({ "name": ENTRYPOINT_VOLUME, "emptyDir": {} }));
            volumes.push(json!({ "name": TMP_VOLUME, "emptyDir": {} }));
        }
        pod
    }
}

impl ProcessSpec {
    /// The block a process Job's pod spec (as [`ProcessSpec::pod_spec`] renders it) runs, read
    /// back for import; `None` for the built-in step's. `env` is what the pipeline did not set;
    /// a `cpu` or `memory` equal to the default reads as unset.
    pub fn from_pod_spec(pod: &Value) -> Option<Self> {
        let container = &pod["containers"][0];
        if container["name"] != USER_CONTAINER {
            return None;
        }
        let text = |value: &Value| value.as_str().map(str::to_owned);
        let unless_default = |value: &Value, default: &str| text(value).filter(|v| v != default);
        let env = container["env"].as_array()?;
        Some(Self {
            image: text(&container["image"])?,
            command: container["args"].as_array()?.iter().map(text).collect::<Option<_>>()?,
            env: env
                .iter()
                .filter_map(|entry| Some((text(&entry["name"])?, text(&entry["value"])?)))
                .filter(|(name, _)| !reserved(name))
                .collect(),
            cpu: unless_default(&container["resources"]["requests"]["cpu"], DEFAULT_CPU),
            memory: unless_default(&container["resources"]["limits"]["memory"], DEFAULT_MEMORY),
        })
    }
}

/// A Kubernetes quantity: a plain decimal number with one of `suffixes`, or none.
fn is_quantity(text: &str, suffixes: &[&str]) -> bool {
    let number = suffixes
        .iter()
        .find_map(|suffix| text.strip_suffix(suffix))
        .unwrap_or(text);
    let mut parts = number.splitn(2, '.');
    let whole = parts.next().unwrap_or_default();
    let fraction = parts.next();
    let digits = |part: &str| !part.is_empty() && part.chars().all(|c| c.is_ascii_digit());
    digits(whole) && fraction.is_none_or(digits) && number.chars().any(|c| c != '0' && c != '.')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> ProcessSpec {
        crate::fixtures::process()
    }

    fn errors(spec: &ProcessSpec) -> Vec<String> {
        spec.check(&ConfigPath::attribute("process"))
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn a_well_formed_block_passes() {
        assert!(errors(&spec()).is_empty());
    }

    #[test]
    fn each_bad_argument_is_named() {
        let mut bad = spec();
        bad.image = "has space".into();
        bad.command = vec![];
        bad.env = BTreeMap::from([
            ("1ST".into(), String::new()),
            ("RUN_ID".into(), String::new()),
            ("BUCKET".into(), String::new()),
            ("AWS_REGION".into(), String::new()),
            ("EVENTDRIVEN_OUTPUT".into(), String::new()),
        ]);
        bad.cpu = Some("lots".into());
        bad.memory = Some("1GB".into());
        assert_eq!(
            errors(&bad),
            [
                "process.image: must not contain whitespace",
                "process.command: must name a program to run, e.g. [\"python3\", \"/app/step.py\"]",
                "process.env: \"1ST\" is not a variable name (letters, digits and '_')",
                "process.env: \"AWS_REGION\" is set by the pipeline, or reserved for it and for AWS",
                "process.env: \"BUCKET\" is set by the pipeline, or reserved for it and for AWS",
                "process.env: \"EVENTDRIVEN_OUTPUT\" is set by the pipeline, or reserved for it and for AWS",
                "process.env: \"RUN_ID\" is set by the pipeline, or reserved for it and for AWS",
                "process.cpu: \"lots\" is not a CPU quantity such as \"500m\" or \"2\"",
                "process.memory: \"1GB\" is not a memory quantity such as \"512Mi\" or \"2Gi\"",
            ]
        );
    }

    #[test]
    fn quantities_are_plain_numbers_with_a_unit() {
        for good in ["500m", "2", "0.5", "1.5"] {
            assert!(is_quantity(good, &["m"]), "{good}");
        }
        for bad in ["", "m", "-1", "0", "1.", ".5", "1e3", "2 m"] {
            assert!(!is_quantity(bad, &["m"]), "{bad}");
        }
    }

    #[test]
    fn the_user_s_container_runs_the_command_under_the_copied_binary() {
        let builtin = json!({
            "containers": [{
                "name": "eventdriven", "image": "eventdriven:1", "args": ["process"],
                "env": [{ "name": "RUN_ID", "value.$": "$.run_id" }, { "name": "BUCKET", "value": "b" }],
                "resources": { "requests": { "cpu": "250m", "memory": "128Mi" }, "limits": { "memory": "512Mi" } },
                "volumeMounts": [{ "name": "work", "mountPath": "/work" }],
                "securityContext": { "readOnlyRootFilesystem": true },
            }],
            "volumes": [{ "name": "work", "nfs": { "server": "fs", "path": "/" } }],
        });
        let pod = spec().pod_spec(&builtin, "eventdriven:1");
        let install = &pod["initContainers"][0];
        assert_eq!(install["image"], "eventdriven:1");
        assert_eq!(install["args"], json!([INSTALL_SUBCOMMAND, ENTRYPOINT_DIR]));
        let container = &pod["containers"][0];
        assert_eq!(container["image"], spec().image);
        assert_eq!(
            container["command"],
            json!(["/eventdriven/eventdriven", "process", "--"])
        );
        assert_eq!(container["args"], json!(["python3", "/app/enrich.py"]));
        let env: Vec<&str> = container["env"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["name"].as_str().unwrap())
            .collect();
        assert_eq!(env, ["RUN_ID", "BUCKET", "MODEL"]);
        assert_eq!(container["resources"]["limits"]["memory"], "1Gi");
        assert_eq!(container["resources"]["requests"]["cpu"], "500m");
        assert_eq!(container["volumeMounts"][0]["name"], "work");
        let volumes: Vec<&str> = pod["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["name"].as_str().unwrap())
            .collect();
        assert_eq!(volumes, ["work", ENTRYPOINT_VOLUME, TMP_VOLUME]);
        assert_eq!(ProcessSpec::from_pod_spec(&pod), Some(spec()));
        assert_eq!(ProcessSpec::from_pod_spec(&builtin), None);
    }
}
