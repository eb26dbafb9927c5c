//! The record a command or a Job loads: a `RecordSpec` in JSON, from `--record` (a file, or the
//! JSON itself) or from the Jobs' `RECORD` setting, checked, resolved and its formats compiled,
//! so a bad declaration stops a step before it reads a row; with neither, the order sample's
//! layout. Errors name where the declaration came from and the path inside it
//! (`record.json: column[2].type: unknown type ...`).

use anyhow::{Context, Result, anyhow};
use eventdriven_core::config_path::{ConfigPath, Step};
use eventdriven_core::contract;
use eventdriven_core::record::{Record, RecordSpec};
use std::path::PathBuf;

use crate::row::check_formats;

/// Where a declaration comes from, as `--record` (or `RECORD`) gives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecordSource {
    File(PathBuf),
    /// The JSON itself, as a Job's `RECORD` holds it.
    Json(String),
}

impl std::str::FromStr for RecordSource {
    type Err = std::convert::Infallible;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Ok(if text.trim_start().starts_with('{') {
            RecordSource::Json(text.to_owned())
        } else {
            RecordSource::File(text.into())
        })
    }
}

impl RecordSource {
    /// The declaration as written, and checked.
    pub fn load(&self) -> Result<(RecordSpec, Record)> {
        let spec = self.spec()?;
        let record = resolve(&spec, &self.name())?;
        Ok((spec, record))
    }

    fn spec(&self) -> Result<RecordSpec> {
        let json = match self {
            RecordSource::File(path) => {
                std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?
            }
            RecordSource::Json(json) => json.clone(),
        };
        serde_json::from_str(&json).map_err(|e| anyhow!("{}: {e}", self.name()))
    }

    /// What errors call it: the file's path, or the setting's name.
    fn name(&self) -> String {
        match self {
            RecordSource::File(path) => path.display().to_string(),
            RecordSource::Json(_) => contract::RECORD.to_owned(),
        }
    }
}

/// The record `source` declares (checked, defaults resolved), or the order sample's.
pub fn record(source: Option<&RecordSource>) -> Result<Record> {
    match source {
        Some(source) => Ok(source.load()?.1),
        None => resolve(&RecordSpec::orders(), "the order layout"),
    }
}

/// `spec` checked, its formats compiled; each problem on a line of its own, at its path below
/// `name`.
fn resolve(spec: &RecordSpec, name: &str) -> Result<Record> {
    let record = spec.resolve(&ConfigPath::attribute("record")).map_err(|errors| {
        let lines: Vec<String> = errors
            .iter()
            .map(|e| format!("{name}: {}: {}", below_root(&e.attribute), e.message))
            .collect();
        anyhow!("{}", lines.join("\n"))
    })?;
    check_formats(&record).map_err(|e| anyhow!("{name}: {e}"))?;
    Ok(record)
}

/// `path` without its first step (`record`): where in the declaration itself it points.
fn below_root(path: &ConfigPath) -> String {
    let mut text = String::new();
    for step in &path.steps()[1..] {
        match step {
            Step::Attribute(name) if text.is_empty() => text.push_str(name),
            Step::Attribute(name) => {
                text.push('.');
                text.push_str(name);
            }
            Step::Index(index) => text.push_str(&format!("[{index}]")),
            Step::Named(name) => text.push_str(&format!("[{name:?}]")),
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_file_and_the_path_inside_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("record.json");
        std::fs::write(
            &path,
            r#"{"key": "id", "column": [{"header": "id", "type": "integer"}, {"header": "n", "type": "numbr"}]}"#,
        )
        .unwrap();
        let source: RecordSource = path.to_str().unwrap().parse().unwrap();
        let err = record(Some(&source)).unwrap_err().to_string();
        assert_eq!(
            err,
            format!(
                "{}: column[1].type: unknown type \"numbr\"; expected one of string, id, integer, decimal, boolean, date, timestamp",
                path.display()
            )
        );
        std::fs::write(&path, r#"{"key": "id", "colum": []}"#).unwrap();
        let err = record(Some(&source)).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!("{}: unknown field `colum`", path.display())),
            "{err}"
        );
        let missing = RecordSource::File(dir.path().join("nope.json"));
        assert!(record(Some(&missing)).unwrap_err().to_string().contains("nope.json"));
    }

    #[test]
    fn the_setting_holds_the_json_itself_and_unset_is_the_order_layout() {
        let json = serde_json::to_string(&RecordSpec::orders()).unwrap();
        let source: RecordSource = json.parse().unwrap();
        assert_eq!(source, RecordSource::Json(json));
        assert_eq!(record(Some(&source)).unwrap(), record(None).unwrap());
        assert_eq!(record(None).unwrap().output_header(), "OrderId,ConfirmationId");
        let bad: RecordSource = r#"{"key": "x", "column": [{"header": "id"}]}"#.parse().unwrap();
        assert_eq!(
            record(Some(&bad)).unwrap_err().to_string(),
            "RECORD: key: \"x\" is not the attribute of any column"
        );
        let bad_format: RecordSource =
            r#"{"key": "id", "column": [{"header": "id"}, {"header": "At", "type": "date", "format": "%Y-%m"}]}"#
                .parse()
                .unwrap();
        let err = record(Some(&bad_format)).unwrap_err().to_string();
        assert!(
            err.starts_with("RECORD: column \"At\": the format \"%Y-%m\" cannot read a date"),
            "{err}"
        );
    }
}
