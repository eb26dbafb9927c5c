//! The rules Kubernetes' API server holds a Job's names to, refusing the Job (422 Invalid)
//! otherwise: its own name, and the keys and values of its labels and its pod template's.
//!
//! Core's tests hold every rendered Job to them, and the local runner refuses a Job that breaks
//! them as a cluster would, so a name a cluster would refuse cannot pass unseen on this machine.

use std::fmt;

use serde_json::Value;

/// The longest label value and label name. A Job's name is held to it too: the Job's pods carry
/// that name as their `job-name` label.
const MAX_LABEL_LEN: usize = 63;
/// The longest DNS subdomain: a label key's prefix.
const MAX_SUBDOMAIN_LEN: usize = 253;

/// A value the API server would refuse, where it sits in the Job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invalid {
    /// As Kubernetes names fields, with the label's key: `metadata.labels[app]`.
    pub field: String,
    pub value: String,
    pub reason: String,
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: invalid value {:?}: {}", self.field, self.value, self.reason)
    }
}

/// Every name in `job` (a `batch/v1` Job manifest) the API server would refuse. A missing
/// `metadata.name` is not one of them: whoever reads the Job reports it.
pub fn invalid_fields(job: &Value) -> Vec<Invalid> {
    let mut found = Vec::new();
    if let Some(name) = job["metadata"]["name"].as_str()
        && let Err(reason) = job_name(name)
    {
        found.push(Invalid {
            field: "metadata.name".into(),
            value: name.into(),
            reason,
        });
    }
    for (at, labels) in [
        ("metadata.labels", &job["metadata"]["labels"]),
        (
            "spec.template.metadata.labels",
            &job["spec"]["template"]["metadata"]["labels"],
        ),
    ] {
        for (key, value) in labels.as_object().into_iter().flatten() {
            let field = format!("{at}[{key}]");
            if let Err(reason) = label_key(key) {
                found.push(Invalid {
                    field: field.clone(),
                    value: key.clone(),
                    reason,
                });
            }
            let checked = match value {
                Value::String(text) => label_value(text),
                _ => Err("a label's value must be a string".to_owned()),
            };
            if let Err(reason) = checked {
                let value = value.as_str().map_or_else(|| value.to_string(), str::to_owned);
                found.push(Invalid { field, value, reason });
            }
        }
    }
    found
}

/// A Job's name: a lowercase RFC 1123 subdomain, of at most [`MAX_LABEL_LEN`] characters.
fn job_name(name: &str) -> Result<(), String> {
    if name.len() > MAX_LABEL_LEN {
        return Err(format!(
            "a Job's name must be at most {MAX_LABEL_LEN} characters: its pods carry it as their job-name label"
        ));
    }
    dns_subdomain(name)
}

/// A label's key: a name, optionally behind a DNS subdomain prefix and `/`.
fn label_key(key: &str) -> Result<(), String> {
    let name = match key.split_once('/') {
        Some((prefix, name)) => {
            if prefix.len() > MAX_SUBDOMAIN_LEN {
                return Err(format!(
                    "a label key's prefix must be at most {MAX_SUBDOMAIN_LEN} characters"
                ));
            }
            dns_subdomain(prefix).map_err(|reason| format!("a label key's prefix: {reason}"))?;
            name
        }
        None => key,
    };
    if name.is_empty() {
        return Err("a label key's name must not be empty".into());
    }
    label_text(name).map_err(|reason| format!("a label key's name: {reason}"))
}

/// A label's value: empty, or a name as a label key's is.
fn label_value(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Ok(());
    }
    label_text(value).map_err(|reason| format!("a label's value: {reason}"))
}

/// At most [`MAX_LABEL_LEN`] letters, digits, `-`, `_` and `.`, starting and ending with a
/// letter or digit.
fn label_text(text: &str) -> Result<(), String> {
    if text.len() > MAX_LABEL_LEN {
        return Err(format!("must be at most {MAX_LABEL_LEN} characters"));
    }
    let inner = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    if !text.chars().all(inner) || !ends_alphanumeric(text, |c| c.is_ascii_alphanumeric()) {
        return Err("must be letters, digits, '-', '_' and '.', starting and ending with a letter or digit".into());
    }
    Ok(())
}

/// Lowercase letters, digits and `-` in parts separated by `.`, each starting and ending with a
/// letter or digit.
fn dns_subdomain(text: &str) -> Result<(), String> {
    let alphanumeric = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    let part = |part: &str| part.chars().all(|c| alphanumeric(c) || c == '-') && ends_alphanumeric(part, alphanumeric);
    if text.split('.').all(part) {
        Ok(())
    } else {
        Err("must be a lowercase RFC 1123 subdomain: lowercase letters, digits and '-' in parts separated by '.', each starting and ending with a letter or digit".into())
    }
}

/// Whether `text` is not empty and starts and ends with a character `alphanumeric` accepts.
fn ends_alphanumeric(text: &str, alphanumeric: impl Fn(char) -> bool) -> bool {
    text.starts_with(&alphanumeric) && text.ends_with(&alphanumeric)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn job_names_are_lowercase_dns_subdomains_a_label_value_long() {
        for valid in ["split-0", "p", "9", "a.b-c", &"a".repeat(63)] {
            assert_eq!(job_name(valid), Ok(()), "{valid}");
        }
        for invalid in [
            "",
            "Orders_Rerun",
            "split-Orders-0",
            "orders_rerun",
            "-split",
            "split-",
            "a..b",
            "a.-b",
            "split 0",
            "splît",
            &"a".repeat(64),
        ] {
            assert!(job_name(invalid).is_err(), "{invalid}");
        }
        assert!(job_name(&"a".repeat(64)).unwrap_err().contains("job-name label"));
    }

    #[test]
    fn label_keys_are_a_name_behind_an_optional_prefix() {
        for valid in ["app", "app.kubernetes.io/name", "A_b.c-D", &"k".repeat(63)] {
            assert_eq!(label_key(valid), Ok(()), "{valid}");
        }
        for invalid in [
            "",
            "app.kubernetes.io/",
            "/name",
            "Example.com/name",
            "a/b/c",
            "_app",
            "app-",
            &"k".repeat(64),
            &format!("{}/name", "p".repeat(254)),
        ] {
            assert!(label_key(invalid).is_err(), "{invalid}");
        }
    }

    #[test]
    fn label_values_are_empty_or_a_name() {
        for valid in ["", "orders", "Orders_Rerun", "1.0", &"v".repeat(63)] {
            assert_eq!(label_value(valid), Ok(()), "{valid}");
        }
        for invalid in ["Orders Rerun", "orders/", "-orders", "orders.", "é", &"v".repeat(64)] {
            assert!(label_value(invalid).is_err(), "{invalid}");
        }
    }

    #[test]
    fn every_invalid_name_of_a_job_is_reported_at_its_field() {
        let job = json!({
            "metadata": {
                "name": "split-Orders_Rerun-0",
                "labels": { "app": "orders", "app.kubernetes.io/instance": "Orders Rerun" },
            },
            "spec": { "template": { "metadata": { "labels": { "bad key!": "x", "n": 3 } } } },
        });
        let invalid = invalid_fields(&job);
        let fields: Vec<(&str, &str)> = invalid.iter().map(|i| (i.field.as_str(), i.value.as_str())).collect();
        assert_eq!(
            fields,
            [
                ("metadata.name", "split-Orders_Rerun-0"),
                ("metadata.labels[app.kubernetes.io/instance]", "Orders Rerun"),
                ("spec.template.metadata.labels[bad key!]", "bad key!"),
                ("spec.template.metadata.labels[n]", "3"),
            ]
        );
        assert!(
            invalid[0]
                .to_string()
                .starts_with(r#"metadata.name: invalid value "split-Orders_Rerun-0": "#),
            "{}",
            invalid[0]
        );
        assert!(invalid_fields(&json!({ "metadata": { "labels": { "app": "orders" } } })).is_empty());
    }
}
