//! Tags at the Terraform boundary: string maps whose elements may be unknown, and the provider's
//! `default_tags` merged under a resource's own.

use std::collections::BTreeMap;

use tf_provider::value::Value;

/// A Terraform map of strings, whose elements may each be unknown during plan.
pub type StringMap = Value<BTreeMap<String, Value<String>>>;

/// A fully known string map as plain strings.
pub fn plain_map(map: &StringMap) -> BTreeMap<String, String> {
    map.as_ref_option()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_ref_option().map(|v| (k.clone(), v.clone())))
                .collect()
        })
        .unwrap_or_default()
}

/// The tags every child gets: the resource's `tags` over the provider's `default_tags`.
pub fn merged_tags(tags: &StringMap, default_tags: &BTreeMap<String, String>) -> StringMap {
    let mut all: BTreeMap<String, Value<String>> = default_tags
        .iter()
        .map(|(k, v)| (k.clone(), Value::Value(v.clone())))
        .collect();
    match tags {
        Value::Value(tags) => all.extend(tags.iter().map(|(k, v)| (k.clone(), v.clone()))),
        Value::Unknown => return Value::Unknown,
        Value::Null => {}
    }
    Value::Value(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_tags_override_default_tags() {
        let tags = Value::Value(BTreeMap::from([("team".into(), Value::Value("data".into()))]));
        let defaults = BTreeMap::from([("team".into(), "ops".into()), ("env".into(), "dev".into())]);
        let merged = plain_map(&merged_tags(&tags, &defaults));
        assert_eq!(
            merged,
            BTreeMap::from([("env".into(), "dev".into()), ("team".into(), "data".into())])
        );
        assert!(merged_tags(&Value::Unknown, &defaults).is_unknown());
    }
}
