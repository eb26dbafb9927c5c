//! The executions `local-cloud` has run, kept on disk so that `executions` and `execution NAME`
//! can read them and a restarted `local-cloud` resumes the ones left running.
//!
//! One directory per execution under `<state dir>/executions/`: `record.json` (published
//! atomically) and `history.jsonl` (one history event a line, appended as they happen).

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use eventdriven_states::Event;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::workdir::{read_json, write_json_atomically};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RecordStatus {
    Running,
    Succeeded,
    Failed,
    TimedOut,
}

/// One execution as `local-cloud` took it over from the emulator.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ExecutionRecord {
    pub name: String,
    pub execution_arn: String,
    pub state_machine_arn: String,
    pub role_arn: String,
    pub input: Value,
    /// The definition as deployed when the execution started.
    pub definition: Value,
    pub status: RecordStatus,
    pub start_date: String,
    #[serde(default)]
    pub stop_date: Option<String>,
    #[serde(default)]
    pub output: Option<Value>,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub cause: Option<String>,
    /// How many times `local-cloud` started this execution (1, or more after a restart).
    #[serde(default)]
    pub attempts: u32,
}

#[derive(Clone, Debug)]
pub struct Store {
    root: PathBuf,
}

impl Store {
    pub fn new(state_dir: &Path) -> Self {
        Store {
            root: state_dir.join("executions"),
        }
    }

    fn dir(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    pub fn history_path(&self, name: &str) -> PathBuf {
        self.dir(name).join("history.jsonl")
    }

    pub fn save(&self, record: &ExecutionRecord) -> Result<()> {
        let dir = self.dir(&record.name);
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        write_json_atomically(&dir.join("record.json"), record)
    }

    pub fn load(&self, name: &str) -> Result<Option<ExecutionRecord>> {
        read_json(&self.dir(name).join("record.json"))
    }

    /// Every record, oldest first.
    pub fn all(&self) -> Result<Vec<ExecutionRecord>> {
        let entries = match std::fs::read_dir(&self.root) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e).with_context(|| format!("reading {}", self.root.display())),
        };
        let mut records = Vec::new();
        for entry in entries {
            let name = entry?.file_name().to_string_lossy().into_owned();
            if let Some(record) = self.load(&name)? {
                records.push(record);
            }
        }
        records.sort_by(|a, b| a.start_date.cmp(&b.start_date).then(a.name.cmp(&b.name)));
        Ok(records)
    }

    /// Starts a new history for a (re)started execution.
    pub fn reset_history(&self, name: &str) -> Result<()> {
        let path = self.history_path(name);
        std::fs::write(&path, b"").with_context(|| format!("writing {}", path.display()))
    }

    pub fn append_event(&self, name: &str, event: &Event) -> Result<()> {
        let path = self.history_path(name);
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        let mut line = serde_json::to_vec(event)?;
        line.push(b'\n');
        file.write_all(&line)
            .with_context(|| format!("writing {}", path.display()))
    }

    pub fn history(&self, name: &str) -> Result<Vec<Event>> {
        let path = self.history_path(name);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        // A line cut short by a kill is the last one; it is skipped.
        Ok(text
            .lines()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect())
    }
}
