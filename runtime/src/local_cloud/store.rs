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

impl RecordStatus {
    /// The status as Step Functions names it.
    pub fn name(self) -> &'static str {
        match self {
            RecordStatus::Running => "RUNNING",
            RecordStatus::Succeeded => "SUCCEEDED",
            RecordStatus::Failed => "FAILED",
            RecordStatus::TimedOut => "TIMED_OUT",
        }
    }
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

impl ExecutionRecord {
    /// Where the record lives: execution names are unique only within a state machine.
    pub fn key(&self) -> String {
        let machine = self.state_machine_arn.rsplit(':').next().unwrap_or_default();
        format!("{machine}--{}", self.name)
    }
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

    fn dir(&self, key: &str) -> PathBuf {
        self.root.join(key)
    }

    fn history_path(&self, key: &str) -> PathBuf {
        self.dir(key).join("history.jsonl")
    }

    pub fn save(&self, record: &ExecutionRecord) -> Result<()> {
        let dir = self.dir(&record.key());
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        write_json_atomically(&dir.join("record.json"), record)
    }

    fn load(&self, key: &str) -> Result<Option<ExecutionRecord>> {
        read_json(&self.dir(key).join("record.json"))
    }

    /// The execution named `name`; an error when executions of two state machines share it.
    pub fn find(&self, name: &str) -> Result<Option<ExecutionRecord>> {
        let mut found: Vec<ExecutionRecord> = self.all()?.into_iter().filter(|r| r.name == name).collect();
        match found.len() {
            0 | 1 => Ok(found.pop()),
            n => anyhow::bail!("{n} executions are named {name:?}, of different state machines"),
        }
    }

    /// The execution `name_or_arn` names: its ARN, or its name as [`Store::find`] takes it.
    pub fn find_execution(&self, name_or_arn: &str) -> Result<Option<ExecutionRecord>> {
        if !name_or_arn.starts_with("arn:") {
            return self.find(name_or_arn);
        }
        Ok(self.all()?.into_iter().find(|r| r.execution_arn == name_or_arn))
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
            let key = entry?.file_name().to_string_lossy().into_owned();
            if let Some(record) = self.load(&key)? {
                records.push(record);
            }
        }
        records.sort_by(|a, b| a.start_date.cmp(&b.start_date).then(a.name.cmp(&b.name)));
        Ok(records)
    }

    /// Starts a new history for a (re)started execution.
    pub fn reset_history(&self, record: &ExecutionRecord) -> Result<()> {
        let path = self.history_path(&record.key());
        std::fs::write(&path, b"").with_context(|| format!("writing {}", path.display()))
    }

    pub fn append_event(&self, key: &str, event: &Event) -> Result<()> {
        let path = self.history_path(key);
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

    pub fn history(&self, record: &ExecutionRecord) -> Result<Vec<Event>> {
        let path = self.history_path(&record.key());
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_execution_is_found_by_its_name_or_its_arn() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        let record = ExecutionRecord {
            name: "run-1".into(),
            execution_arn: "arn:aws:states:r:1:execution:m:run-1".into(),
            state_machine_arn: "arn:aws:states:r:1:stateMachine:m".into(),
            role_arn: String::new(),
            input: Value::Null,
            definition: Value::Null,
            status: RecordStatus::Running,
            start_date: "2026-11-23T10:00:00.000Z".into(),
            stop_date: None,
            output: None,
            error: None,
            cause: None,
            attempts: 1,
        };
        store.save(&record).unwrap();
        for key in ["run-1", "arn:aws:states:r:1:execution:m:run-1"] {
            assert_eq!(store.find_execution(key).unwrap().unwrap().name, "run-1", "{key}");
        }
        assert!(
            store
                .find_execution("arn:aws:states:r:1:execution:m:run-2")
                .unwrap()
                .is_none()
        );
        assert!(store.find_execution("run-2").unwrap().is_none());
    }
}
