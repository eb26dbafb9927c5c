//! A zip package function's runtime as a local process: Python and Node.js functions run under
//! Lambda's own runtime interface clients, installed (with the SDK the managed runtimes include)
//! by `scripts/ensure-lambda-runtimes.sh` into a directory of stand-ins; any other runtime cannot
//! run on this machine, and its invocations fail saying so.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use eventdriven_states::Failure;

use crate::local::lambda_process::TASK_ROOT_ENV;

/// Where the stand-ins are, when not in `$HOME/.cache/eventdriven/lambda-runtimes`.
pub const RUNTIMES_ENV: &str = "EVENTDRIVEN_LAMBDA_RUNTIMES";
/// The error of an invocation whose runtime cannot run here.
pub const UNSUPPORTED: &str = "Runtime.Unsupported";

/// The languages whose zip functions run here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Language {
    Python,
    Node,
}

impl Language {
    /// The language of a Lambda runtime identifier (`python3.12`, `nodejs20.x`).
    pub fn of(runtime: &str) -> Result<Self, Failure> {
        if runtime.starts_with("python3.") {
            Ok(Language::Python)
        } else if runtime.starts_with("nodejs") {
            Ok(Language::Node)
        } else {
            Err(Failure::new(
                UNSUPPORTED,
                format!(
                    "runtime {runtime} cannot run on this machine: local-cloud runs python3.* and nodejs* zip functions"
                ),
            ))
        }
    }
}

/// The directory of stand-ins: `python/` (awslambdaric, boto3) and `node/node_modules/`
/// (aws-lambda-ric, the SDK's EventBridge client).
#[derive(Clone, Debug, PartialEq)]
pub struct ZipRuntimes {
    pub root: PathBuf,
}

impl ZipRuntimes {
    /// `$EVENTDRIVEN_LAMBDA_RUNTIMES`, else `$HOME/.cache/eventdriven/lambda-runtimes`; absolute,
    /// since functions run in their own directories.
    pub fn from_env() -> Self {
        let root = std::env::var_os(RUNTIMES_ENV).map(PathBuf::from).unwrap_or_else(|| {
            let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default();
            home.join(".cache/eventdriven/lambda-runtimes")
        });
        ZipRuntimes {
            root: std::path::absolute(&root).unwrap_or(root),
        }
    }

    fn python(&self) -> PathBuf {
        self.root.join("python")
    }

    fn node_modules(&self) -> PathBuf {
        self.root.join("node/node_modules")
    }

    /// What must exist for `language` to run: the runtime interface client.
    fn client(&self, language: Language) -> PathBuf {
        match language {
            Language::Python => self.python().join("awslambdaric"),
            Language::Node => self.node_modules().join("aws-lambda-ric/bin/index.mjs"),
        }
    }

    /// Fails, naming the script that installs it, when `language`'s client is not installed.
    pub fn check_installed(&self, language: Language) -> Result<(), Failure> {
        let client = self.client(language);
        if client.exists() {
            return Ok(());
        }
        Err(Failure::new(
            UNSUPPORTED,
            format!(
                "the {language:?} Lambda runtime is not installed here ({} is missing): run scripts/ensure-lambda-runtimes.sh",
                client.display()
            ),
        ))
    }

    /// The command that runs `handler` of the code unpacked in `code`, and the environment it
    /// adds: the task root, and the stand-ins' paths.
    pub fn process(&self, language: Language, handler: &str, code: &Path) -> (Vec<String>, BTreeMap<String, String>) {
        let text = |path: &Path| path.display().to_string();
        let mut env = BTreeMap::from([
            (TASK_ROOT_ENV.to_owned(), text(code)),
            ("_HANDLER".to_owned(), handler.to_owned()),
        ]);
        let command = match language {
            Language::Python => {
                env.insert("PYTHONPATH".into(), format!("{}:{}", text(code), text(&self.python())));
                vec!["python3".into(), "-m".into(), "awslambdaric".into(), handler.into()]
            }
            Language::Node => {
                env.insert("NODE_PATH".into(), text(&self.node_modules()));
                vec!["node".into(), text(&self.client(language)), handler.into()]
            }
        };
        (command, env)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runtimes() -> ZipRuntimes {
        ZipRuntimes {
            root: PathBuf::from("/r"),
        }
    }

    #[test]
    fn python_runs_under_awslambdaric_with_the_code_first_on_its_path() {
        let language = Language::of("python3.12").unwrap();
        let (command, env) = runtimes().process(language, "app.handler", Path::new("/code/abc"));
        assert_eq!(command, ["python3", "-m", "awslambdaric", "app.handler"]);
        assert_eq!(env["PYTHONPATH"], "/code/abc:/r/python");
        assert_eq!(env[TASK_ROOT_ENV], "/code/abc");
        assert_eq!(env["_HANDLER"], "app.handler");
    }

    #[test]
    fn node_runs_under_aws_lambda_ric_with_the_sdk_on_its_path() {
        let language = Language::of("nodejs20.x").unwrap();
        let (command, env) = runtimes().process(language, "index.handler", Path::new("/code/abc"));
        assert_eq!(
            command,
            [
                "node",
                "/r/node/node_modules/aws-lambda-ric/bin/index.mjs",
                "index.handler"
            ]
        );
        assert_eq!(env["NODE_PATH"], "/r/node/node_modules");
        assert_eq!(env[TASK_ROOT_ENV], "/code/abc");
    }

    #[test]
    fn other_runtimes_cannot_run_here_and_say_so() {
        for runtime in ["java21", "dotnet8", "ruby3.3", "provided.al2023"] {
            let failure = Language::of(runtime).unwrap_err();
            assert_eq!(failure.error, UNSUPPORTED);
            assert_eq!(
                failure.cause,
                format!(
                    "runtime {runtime} cannot run on this machine: local-cloud runs python3.* and nodejs* zip functions"
                )
            );
        }
    }

    #[test]
    fn a_missing_client_names_the_script_that_installs_it() {
        let missing = ZipRuntimes {
            root: PathBuf::from("/nonexistent/runtimes"),
        };
        let failure = missing.check_installed(Language::Node).unwrap_err();
        assert!(failure.cause.contains("scripts/ensure-lambda-runtimes.sh"), "{failure}");
    }
}
