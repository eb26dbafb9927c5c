//! What every resource shares at the Terraform boundary: string maps and tags, schema
//! attributes, and running a walk over the children within a time limit, its failure reported
//! as a diagnostic.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use tf_provider::Diagnostics;
use tf_provider::schema::{Attribute, AttributeConstraint, AttributeType, Description};
use tf_provider::value::Value;

use crate::lifecycle::Failure;

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

pub fn attribute(attr_type: AttributeType, constraint: AttributeConstraint, doc: &str) -> Attribute {
    Attribute {
        attr_type,
        description: Description::markdown(doc),
        constraint,
        sensitive: false,
        deprecated: false,
    }
}

pub fn string(constraint: AttributeConstraint, doc: &str) -> Attribute {
    attribute(AttributeType::String, constraint, doc)
}

pub fn number(constraint: AttributeConstraint, doc: &str) -> Attribute {
    attribute(AttributeType::Number, constraint, doc)
}

pub fn boolean(constraint: AttributeConstraint, doc: &str) -> Attribute {
    attribute(AttributeType::Bool, constraint, doc)
}

pub fn string_map(constraint: AttributeConstraint, doc: &str) -> Attribute {
    attribute(AttributeType::Map(Box::new(AttributeType::String)), constraint, doc)
}

pub fn report(diags: &mut Diagnostics, failure: Failure) {
    diags.root_error(
        format!("Failed {} {} {}", failure.action, failure.child, failure.name),
        failure.error.to_string(),
    );
}

/// The value, or `None` with the failure reported.
pub fn reported<T>(diags: &mut Diagnostics, result: Result<T, Failure>) -> Option<T> {
    result.map_err(|failure| report(diags, failure)).ok()
}

/// Runs `work` within `limit`; on timeout the children recorded so far stay recorded, since
/// `work` only borrows them.
pub async fn within<F: Future<Output = Result<(), Failure>>>(
    diags: &mut Diagnostics,
    limit: Duration,
    what: &str,
    work: F,
) {
    match tokio::time::timeout(limit, work).await {
        Ok(Ok(())) => {}
        Ok(Err(failure)) => report(diags, failure),
        Err(_) => diags.root_error(
            format!("Timed out {what}"),
            format!(
                "gave up after {}s; every child created so far is recorded in the state",
                limit.as_secs()
            ),
        ),
    }
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
