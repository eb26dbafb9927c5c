//! Where in a resource's configuration a value sits (`task[1].detail_type`,
//! `listener["enrich"].image`), as typed steps: validation builds them, the provider turns them
//! into Terraform's attribute paths, and nothing formats a path only to parse it back. A
//! [`SpecError`] is an invalid value at its path; `spec` and `record` both report them, so it
//! lives here, below both.

use std::fmt;

use thiserror::Error;

/// One invalid attribute, reported against its place in the configuration.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("{attribute}: {message}")]
pub struct SpecError {
    pub attribute: ConfigPath,
    pub message: String,
}

/// `Err(message)` unless `holds`; chained with `?` so each attribute reports its first broken rule.
pub(crate) fn rule(holds: bool, message: impl Into<String>) -> Result<(), String> {
    if holds { Ok(()) } else { Err(message.into()) }
}

/// A container image reference, as far as it can be checked without a registry: shared by
/// `job_image` and the `process` block's `image`.
pub(crate) fn container_image(image: &str) -> Result<(), String> {
    rule(!image.is_empty(), "must not be empty")?;
    rule(!image.contains(char::is_whitespace), "must not contain whitespace")
}

/// One step of a [`ConfigPath`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// An attribute or a block, by name.
    Attribute(&'static str),
    /// An element of a list block, by position.
    Index(usize),
    /// An element of a set block, by its `name` argument: a set's elements have no position.
    Named(String),
}

/// A path from the resource's top level to one attribute.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigPath(Vec<Step>);

impl ConfigPath {
    /// The top-level attribute or block `name`.
    pub fn attribute(name: &'static str) -> Self {
        Self(vec![Step::Attribute(name)])
    }

    /// The attribute `name` inside what this path reaches.
    pub fn then(mut self, name: &'static str) -> Self {
        self.0.push(Step::Attribute(name));
        self
    }

    /// Element `index` of the list block this path reaches.
    pub fn index(mut self, index: usize) -> Self {
        self.0.push(Step::Index(index));
        self
    }

    /// The element named `name` of the set block this path reaches.
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.0.push(Step::Named(name.into()));
        self
    }

    pub fn steps(&self) -> &[Step] {
        &self.0
    }

    /// The top-level attribute or block the path starts at.
    pub fn root(&self) -> &'static str {
        match self.0.first() {
            Some(Step::Attribute(name)) => name,
            _ => "",
        }
    }
}

impl From<&'static str> for ConfigPath {
    fn from(name: &'static str) -> Self {
        Self::attribute(name)
    }
}

impl fmt::Display for ConfigPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, step) in self.0.iter().enumerate() {
            match step {
                Step::Attribute(name) if i == 0 => write!(f, "{name}")?,
                Step::Attribute(name) => write!(f, ".{name}")?,
                Step::Index(index) => write!(f, "[{index}]")?,
                Step::Named(name) => write!(f, "[{name:?}]")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_read_as_terraform_addresses_them() {
        let task = ConfigPath::attribute("task").index(1).then("detail_type");
        assert_eq!(task.to_string(), "task[1].detail_type");
        assert_eq!(task.root(), "task");
        let listener = ConfigPath::attribute("listener").named("enrich").then("image");
        assert_eq!(listener.to_string(), r#"listener["enrich"].image"#);
        assert_eq!(ConfigPath::from("name").to_string(), "name");
    }
}
