//! EventBridge rules with one target each (a state machine, a function or a log group), on the
//! default bus or a named one.

use aws_sdk_eventbridge::types::{InputTransformer, RuleState, Tag, Target};

use crate::aws::{AwsClients, AwsError, Tags, found, ignore_not_found, retry_while_role_propagates, sync_tags};

fn rule_tags(tags: &Tags) -> Result<Vec<Tag>, AwsError> {
    tags.iter()
        .map(|(key, value)| Ok(Tag::builder().key(key).value(value).build()?))
        .collect()
}

/// A rule and its one target.
#[derive(Clone, Debug, PartialEq)]
pub struct RuleSettings {
    pub name: String,
    /// The event bus; `None` is the account's default bus.
    pub bus: Option<String>,
    pub description: &'static str,
    pub pattern: serde_json::Value,
    pub target_arn: String,
    /// The role EventBridge reaches the target with (state machines); functions and log groups
    /// are reached through their own resource policies.
    pub role_arn: Option<String>,
    /// Selects what of the event the target receives; the whole event when `None`.
    pub input_path: Option<&'static str>,
    /// Rebuilds what the target receives from parts of the event: (name, path) pairs and the
    /// template they are put into.
    pub input_transformer: Option<(Vec<(&'static str, &'static str)>, String)>,
}

fn input_transformer(rule: &RuleSettings) -> Result<Option<InputTransformer>, AwsError> {
    let Some((paths, template)) = &rule.input_transformer else {
        return Ok(None);
    };
    let paths = paths
        .iter()
        .map(|(name, path)| ((*name).to_owned(), (*path).to_owned()));
    Ok(Some(
        InputTransformer::builder()
            .set_input_paths_map(Some(paths.collect()))
            .input_template(template)
            .build()?,
    ))
}

/// The target's id within its rule, after the kind of target: one target per rule.
fn target_id(target_arn: &str) -> &'static str {
    match target_arn.split(':').nth(2) {
        Some("lambda") => "function",
        Some("logs") => "log-group",
        _ => "state-machine",
    }
}

/// Creates or updates the rule and its target (both calls are upserts).
pub async fn put(aws: &AwsClients, rule: &RuleSettings, tags: &Tags) -> Result<(), AwsError> {
    aws.events
        .put_rule()
        .name(&rule.name)
        .set_event_bus_name(rule.bus.clone())
        .description(rule.description)
        .event_pattern(rule.pattern.to_string())
        .state(RuleState::Enabled)
        .set_tags(Some(rule_tags(tags)?))
        .send()
        .await?;
    let target = Target::builder()
        .id(target_id(&rule.target_arn))
        .arn(&rule.target_arn)
        .set_role_arn(rule.role_arn.clone())
        .set_input_path(rule.input_path.map(str::to_owned))
        .set_input_transformer(input_transformer(rule)?)
        .build()?;
    let out = retry_while_role_propagates(
        |err| err.has_code("AccessDeniedException"),
        || async {
            Ok(aws
                .events
                .put_targets()
                .rule(&rule.name)
                .set_event_bus_name(rule.bus.clone())
                .targets(target.clone())
                .send()
                .await?)
        },
    )
    .await?;
    if out.failed_entry_count > 0 {
        let reason = out
            .failed_entries()
            .first()
            .and_then(|e| e.error_message())
            .unwrap_or("no reason given")
            .to_owned();
        return Err(AwsError::other(format!("PutTargets failed: {reason}")));
    }
    Ok(())
}

/// The rule's event pattern, or `None` when the rule is gone.
pub async fn read(aws: &AwsClients, name: &str, bus: Option<&str>) -> Result<Option<serde_json::Value>, AwsError> {
    let out = aws
        .events
        .describe_rule()
        .name(name)
        .set_event_bus_name(bus.map(str::to_owned))
        .send()
        .await;
    Ok(found(out.map_err(AwsError::from))?.map(|out| {
        out.event_pattern()
            .and_then(|p| serde_json::from_str(p).ok())
            .unwrap_or_default()
    }))
}

/// The settings [`put`] makes, as the rule holds them now: its pattern and state, and its
/// targets (none when removed).
pub async fn settings(
    aws: &AwsClients,
    name: &str,
    bus: Option<&str>,
) -> Result<Vec<(&'static str, String)>, AwsError> {
    let bus = bus.map(str::to_owned);
    let described = aws
        .events
        .describe_rule()
        .name(name)
        .set_event_bus_name(bus.clone())
        .send()
        .await?;
    let pattern = described
        .event_pattern()
        .and_then(|p| serde_json::from_str::<serde_json::Value>(p).ok())
        .unwrap_or_default();
    let state = described.state().map(|s| s.as_str().to_owned()).unwrap_or_default();
    let listed = aws
        .events
        .list_targets_by_rule()
        .rule(name)
        .set_event_bus_name(bus)
        .send()
        .await?;
    let targets: Vec<String> = listed
        .targets()
        .iter()
        .map(|t| {
            format!(
                "{} {} role={:?} input_path={:?} transformer={:?}",
                t.id(),
                t.arn(),
                t.role_arn(),
                t.input_path(),
                t.input_transformer()
                    .map(|i| (sorted(i.input_paths_map()), i.input_template()))
            )
        })
        .collect();
    Ok(vec![
        ("event pattern", format!("{pattern} {state}")),
        ("targets", targets.join("; ")),
    ])
}

fn sorted(map: Option<&std::collections::HashMap<String, String>>) -> Vec<(&String, &String)> {
    let mut entries: Vec<_> = map.into_iter().flatten().collect();
    entries.sort();
    entries
}

pub async fn put_tags(aws: &AwsClients, rule_arn: &str, tags: &Tags) -> Result<(), AwsError> {
    let out = aws
        .events
        .list_tags_for_resource()
        .resource_arn(rule_arn)
        .send()
        .await?;
    let untag = |stale| async move {
        let request = aws.events.untag_resource().resource_arn(rule_arn);
        request.set_tag_keys(Some(stale)).send().await?;
        Ok(())
    };
    let tag = || async {
        let request = aws.events.tag_resource().resource_arn(rule_arn);
        request.set_tags(Some(rule_tags(tags)?)).send().await?;
        Ok(())
    };
    sync_tags(out.tags().iter().map(|t| t.key()), tags, untag, tag).await
}

/// Removes the rule's targets, then the rule (EventBridge refuses to delete a rule with targets).
pub async fn delete(aws: &AwsClients, name: &str, bus: Option<&str>) -> Result<(), AwsError> {
    let bus = bus.map(str::to_owned);
    let listed = aws
        .events
        .list_targets_by_rule()
        .rule(name)
        .set_event_bus_name(bus.clone())
        .send()
        .await;
    let Some(listed) = found(listed.map_err(AwsError::from))? else {
        return Ok(());
    };
    let ids: Vec<String> = listed.targets().iter().map(|t| t.id().to_owned()).collect();
    if !ids.is_empty() {
        let out = aws
            .events
            .remove_targets()
            .rule(name)
            .set_event_bus_name(bus.clone())
            .set_ids(Some(ids))
            .send()
            .await;
        ignore_not_found(out.map(drop).map_err(Into::into))?;
    }
    let out = aws.events.delete_rule().name(name).set_event_bus_name(bus).send().await;
    ignore_not_found(out.map(drop).map_err(Into::into))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_target_is_named_after_its_kind() {
        let arns = [
            ("arn:aws:lambda:eu-west-1:123456789012:function:f", "function"),
            (
                "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/events/w",
                "log-group",
            ),
            ("arn:aws:states:eu-west-1:123456789012:stateMachine:m", "state-machine"),
        ];
        for (arn, id) in arns {
            assert_eq!(target_id(arn), id, "{arn}");
        }
    }
}
