//! How a container or a function runs here: a process with exactly its environment (and
//! `PATH`, to find its command), no standard input, and stopped when its task is dropped.

use std::collections::BTreeMap;
use std::process::Stdio;

/// What a container's or function's environment is made of, beyond its own settings.
#[derive(Clone, Debug, Default)]
pub struct ProcessEnv {
    /// Added under every process's own settings (the emulator endpoint, credentials, region).
    pub extra: BTreeMap<String, String>,
    /// Replaces settings by name (a Redis URL pointing at the local server).
    pub overrides: BTreeMap<String, String>,
}

impl ProcessEnv {
    /// The environment of a process whose own settings are `own`.
    pub fn compose(&self, own: impl IntoIterator<Item = (String, String)>) -> BTreeMap<String, String> {
        let mut env = self.extra.clone();
        env.extend(own);
        env.extend(self.overrides.clone());
        env
    }
}

pub fn container_process(command: &[String], env: &BTreeMap<String, String>) -> tokio::process::Command {
    let mut process = tokio::process::Command::new(&command[0]);
    process
        .args(&command[1..])
        .env_clear()
        .envs(std::env::var_os("PATH").map(|p| ("PATH".to_owned(), p.to_string_lossy().into_owned())))
        .envs(env)
        .stdin(Stdio::null())
        .kill_on_drop(true);
    process
}
