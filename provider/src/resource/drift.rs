//! Settings changed outside Terraform. A resource's private state keeps a digest of every
//! setting its children own (`Child::settings`) as the last apply left it, or, where no apply
//! has recorded one yet (a state an earlier version wrote, an import), as first read. A refresh
//! that reads another value names the setting in `changed_outside_terraform`; the plan empties
//! that list, so it shows an update, and the apply sets every setting back.
//!
//! Live values are compared with live values, never with a rendering of the wanted ones, so no
//! canonical form of what AWS returns has to match what the provider sent.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::lifecycle::ReadSettings;

/// What the private state keeps: the digest of each setting, by the name refresh reads it under.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recorded {
    #[serde(default)]
    pub settings: BTreeMap<String, String>,
}

/// A resource's private state; null in states written before settings were recorded.
pub type PrivateState = Option<Recorded>;

impl Recorded {
    /// The digests of `read`, as an apply leaves them.
    pub fn of(read: &ReadSettings) -> Self {
        Recorded {
            settings: read.iter().map(|(name, value)| (name.clone(), digest(value))).collect(),
        }
    }
}

/// The settings of `read` whose value differs from `recorded`'s, and the record to keep: the
/// recorded digests of the settings still read (a changed one keeps its recorded digest until
/// an apply sets it back), plus a first digest for each setting read for the first time.
pub fn compare(recorded: Option<&Recorded>, read: &ReadSettings) -> (Vec<String>, Recorded) {
    let mut changed = Vec::new();
    let mut kept = Recorded::default();
    for (name, value) in read {
        let now = digest(value);
        let before = recorded.and_then(|r| r.settings.get(name));
        if before.is_some_and(|before| *before != now) {
            changed.push(name.clone());
        }
        kept.settings.insert(name.clone(), before.cloned().unwrap_or(now));
    }
    (changed, kept)
}

/// A setting's value is kept as its SHA-256, so the state holds no policy or environment text.
fn digest(value: &str) -> String {
    Sha256::digest(value.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(entries: &[(&str, &str)]) -> ReadSettings {
        entries.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn a_value_read_again_unchanged_is_no_change() {
        let applied = read(&[
            ("S3 bucket b: encryption", "AES256"),
            ("DynamoDB table t: billing", "PAY_PER_REQUEST"),
        ]);
        let recorded = Recorded::of(&applied);
        let (changed, kept) = compare(Some(&recorded), &applied);
        assert!(changed.is_empty());
        assert_eq!(kept, recorded);
    }

    #[test]
    fn a_changed_value_is_named_and_keeps_its_recorded_digest_until_an_apply() {
        let recorded = Recorded::of(&read(&[
            ("S3 bucket b: encryption", "AES256"),
            ("t: billing", "PAY_PER_REQUEST"),
        ]));
        let now = read(&[
            ("S3 bucket b: encryption", "aws:kms"),
            ("t: billing", "PAY_PER_REQUEST"),
        ]);
        let (changed, kept) = compare(Some(&recorded), &now);
        assert_eq!(changed, ["S3 bucket b: encryption"]);
        assert_eq!(kept, recorded, "still changed at the next refresh");
        let (again, _) = compare(Some(&kept), &now);
        assert_eq!(again, changed);
    }

    #[test]
    fn a_setting_read_for_the_first_time_is_recorded_as_it_is() {
        let now = read(&[("IAM role (jobs) r: inline policy", "{}")]);
        let (changed, kept) = compare(None, &now);
        assert!(changed.is_empty(), "nothing to compare with: no change");
        assert_eq!(kept, Recorded::of(&now));
        let (changed, _) = compare(Some(&kept), &read(&[("IAM role (jobs) r: inline policy", "{\"a\":1}")]));
        assert_eq!(changed.len(), 1);
    }

    #[test]
    fn a_setting_no_longer_read_is_forgotten() {
        let recorded = Recorded::of(&read(&[("a: x", "1"), ("b: y", "2")]));
        let (changed, kept) = compare(Some(&recorded), &read(&[("a: x", "1")]));
        assert!(changed.is_empty());
        assert_eq!(kept.settings.keys().collect::<Vec<_>>(), ["a: x"]);
    }

    #[test]
    fn the_record_holds_digests_not_values() {
        let recorded = Recorded::of(&read(&[("f: environment", "TOKEN=secret")]));
        let kept = &recorded.settings["f: environment"];
        assert_eq!(kept.len(), 64);
        assert!(!kept.contains("secret"));
    }
}
