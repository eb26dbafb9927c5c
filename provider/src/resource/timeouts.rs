//! The `timeouts` block every resource has, and durations as Terraform users write them:
//! `90s`, `45m`, `1h30m`.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tf_provider::AttributePath;
use tf_provider::schema::{AttributeConstraint, Block, Description, NestedBlock};
use tf_provider::value::Value;

use super::attributes::string;

/// Creating a pipeline waits for ElastiCache, which alone can take a quarter of an hour.
pub const DEFAULT_CREATE: Duration = Duration::from_secs(60 * 60);
pub const DEFAULT_DELETE: Duration = Duration::from_secs(60 * 60);

/// `timeouts { create = "60m", delete = "30m" }`; `create` also bounds an update.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timeouts {
    pub create: Value<String>,
    pub delete: Value<String>,
}

impl Timeouts {
    /// How long creating or updating may take.
    pub fn create(&self) -> Duration {
        chosen(&self.create, DEFAULT_CREATE)
    }

    /// How long destroying may take.
    pub fn delete(&self) -> Duration {
        chosen(&self.delete, DEFAULT_DELETE)
    }

    /// Each timeout that is not a duration, with its path and the reason.
    pub fn errors(&self) -> Vec<(AttributePath, String)> {
        [("create", &self.create), ("delete", &self.delete)]
            .into_iter()
            .filter_map(|(name, value)| {
                let message = parse(value.as_ref_option()?).err()?;
                Some((AttributePath::new("timeouts").index(0).attribute(name), message))
            })
            .collect()
    }
}

fn chosen(value: &Value<String>, default: Duration) -> Duration {
    value
        .as_ref_option()
        .and_then(|text| parse(text).ok())
        .unwrap_or(default)
}

/// The block's schema, the same for every resource.
pub fn block(what: &str) -> NestedBlock {
    let attributes = [
        (
            "create",
            format!("How long creating (or finishing, or updating) the {what} may take, e.g. `60m`. Default 60m."),
        ),
        (
            "delete",
            format!("How long destroying the {what} may take, e.g. `30m`. Default 60m."),
        ),
    ];
    NestedBlock::Optional(Block {
        attributes: attributes
            .into_iter()
            .map(|(name, doc)| (name.to_owned(), string(AttributeConstraint::Optional, &doc)))
            .collect(),
        description: Description::plain("Operation timeouts"),
        ..Default::default()
    })
}

/// Parses a Go-style duration made of `<number><unit>` parts, units `h`, `m` and `s`.
pub fn parse(text: &str) -> Result<Duration, String> {
    let invalid = || format!("{text:?} is not a duration such as \"30m\" or \"1h30m\"");
    let mut total = 0u64;
    let mut number = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            'h' => 3600,
            'm' => 60,
            's' => 1,
            _ => return Err(invalid()),
        };
        let value: u64 = number.parse().map_err(|_| invalid())?;
        total += value * unit;
        number.clear();
    }
    if !number.is_empty() || total == 0 {
        return Err(invalid());
    }
    Ok(Duration::from_secs(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_terraform_durations() {
        assert_eq!(parse("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse("45m"), Ok(Duration::from_secs(45 * 60)));
        assert_eq!(parse("1h30m"), Ok(Duration::from_secs(90 * 60)));
    }

    #[test]
    fn unset_timeouts_take_the_defaults_and_bad_ones_are_named() {
        let timeouts = Timeouts {
            create: Value::Value("90m".into()),
            delete: Value::Value("soon".into()),
        };
        assert_eq!(timeouts.create(), Duration::from_secs(90 * 60));
        assert_eq!(timeouts.delete(), DEFAULT_DELETE);
        let errors = timeouts.errors();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].0, AttributePath::new("timeouts").index(0).attribute("delete"));
        assert_eq!(Timeouts::default().create(), DEFAULT_CREATE);
    }

    #[test]
    fn a_missing_block_reads_as_none() {
        #[derive(serde::Deserialize)]
        struct State {
            #[serde(default, with = "crate::resource::single_block")]
            timeouts: Value<Timeouts>,
        }
        let missing: State = serde_json::from_str(r#"{"timeouts": null}"#).unwrap();
        assert!(missing.timeouts.is_null());
        let absent: State = serde_json::from_str("{}").unwrap();
        assert!(absent.timeouts.is_null());
        let set: State = serde_json::from_str(r#"{"timeouts": [{"create": "5m", "delete": null}]}"#).unwrap();
        assert_eq!(set.timeouts.as_ref_option().unwrap().create(), Duration::from_secs(300));
        let two = r#"{"timeouts": [{"create": "5m", "delete": null}, {"create": "6m", "delete": null}]}"#;
        assert!(serde_json::from_str::<State>(two).is_err(), "one block at most");
    }

    #[test]
    fn rejects_anything_else() {
        for bad in ["", "30", "m", "5d", "1.5h", "0s", "-1m"] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }
}
