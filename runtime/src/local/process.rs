//! How a container or a function runs here: a process with exactly its environment (and
//! `PATH`, to find its command), no standard input, and stopped when its task is dropped.

use std::collections::BTreeMap;
use std::process::Stdio;

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
