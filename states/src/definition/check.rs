//! What relates a machine's states to one another, checked once it has parsed: transitions
//! name states, every state is reachable, Next and End where the state type wants them, Retry
//! and Catch as the language allows them, evaluated template values. AWS refuses a definition
//! that breaks any of these, so it fails here before anything runs.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::definition::model::{Kind, Machine, State};
use crate::error::{Failure, names};
use crate::payload;

/// Checks `machine`, whose fields are named after `at` (`""` for the definition itself).
pub(crate) fn check_machine(machine: &Machine, at: &str) -> Result<(), Failure> {
    if machine.query_language.as_deref().is_some_and(|q| q != "JSONPath") {
        return Err(Failure::runtime(format!(
            "{at}QueryLanguage {:?} is not supported; only JSONPath is",
            machine.query_language.as_deref().unwrap_or_default()
        )));
    }
    machine
        .state(&machine.start_at)
        .map_err(|_| Failure::runtime(format!("{at}StartAt {:?} is not a state", machine.start_at)))?;
    for (name, state) in &machine.states {
        let here = format!("{at}States.{name}");
        check_state(machine, state, &here)?;
        for (i, branch) in state.kind.machines().into_iter().enumerate() {
            check_machine(branch, &format!("{here}[{i}]."))?;
        }
    }
    let reachable = reachable(machine);
    match machine.states.keys().find(|name| !reachable.contains(name.as_str())) {
        Some(name) => Err(Failure::runtime(format!(
            "{at}States.{name}: no transition from StartAt reaches it"
        ))),
        None => Ok(()),
    }
}

/// Refuses a state name used twice anywhere in `machine`, nested Map and Parallel states
/// included: the States Language makes names unique in the whole state machine, and Step
/// Functions refuses a definition that repeats one.
pub(crate) fn check_unique_names(machine: &Machine) -> Result<(), Failure> {
    fn walk<'m>(machine: &'m Machine, at: &str, seen: &mut BTreeSet<&'m str>) -> Result<(), Failure> {
        for (name, state) in &machine.states {
            let here = format!("{at}States.{name}");
            if !seen.insert(name.as_str()) {
                return Err(Failure::runtime(format!(
                    "{here}: the name is used twice; state names are unique in the whole state \
                     machine, nested Map and Parallel states included"
                )));
            }
            for (i, nested) in state.kind.machines().into_iter().enumerate() {
                walk(nested, &format!("{here}[{i}]."), seen)?;
            }
        }
        Ok(())
    }
    walk(machine, "", &mut BTreeSet::new())
}

fn check_state(machine: &Machine, state: &State, here: &str) -> Result<(), Failure> {
    let common = &state.common;
    let terminal = matches!(state.kind, Kind::Succeed | Kind::Fail(_) | Kind::Choice(_));
    if terminal && (common.next.is_some() || common.end) {
        return Err(Failure::runtime(format!(
            "{here}: a {} state takes neither Next nor End",
            state.kind.type_name()
        )));
    }
    if !terminal && common.next.is_some() == common.end {
        return Err(Failure::runtime(format!(
            "{here}: exactly one of Next and End must be set"
        )));
    }
    if let Some(target) = &common.next {
        machine
            .state(target)
            .map_err(|_| Failure::runtime(format!("{here}.Next: {target:?} is not a state")))?;
    }
    check_error_handlers(state, here)?;
    for target in transitions(state) {
        machine
            .state(target)
            .map_err(|_| Failure::runtime(format!("{here}: the transition to {target:?} names no state")))?;
    }
    if let Kind::Parallel(parallel) = &state.kind
        && parallel.branches.is_empty()
    {
        return Err(Failure::runtime(format!(
            "{here}.Branches: a Parallel state needs a branch"
        )));
    }
    for (field, template) in templates(state) {
        payload::check(template).map_err(|failure| Failure::runtime(format!("{here}.{field}: {}", failure.cause)))?;
    }
    Ok(())
}

/// Transitions other than `Next`: a Choice's rules and Default, and every Catch's.
fn transitions(state: &State) -> Vec<&str> {
    let choices = match &state.kind {
        Kind::Choice(choice) => choice
            .choices
            .iter()
            .map(|branch| branch.next.as_str())
            .chain(choice.default.as_deref())
            .collect(),
        _ => Vec::new(),
    };
    let catches = state.common.catch.iter().map(|catcher| catcher.next.as_str());
    choices.into_iter().chain(catches).collect()
}

/// The states some chain of transitions leads to from StartAt.
fn reachable(machine: &Machine) -> BTreeSet<&str> {
    let mut seen = BTreeSet::from([machine.start_at.as_str()]);
    let mut pending = vec![machine.start_at.as_str()];
    while let Some(name) = pending.pop() {
        let Ok(state) = machine.state(name) else { continue };
        for target in state.common.next.as_deref().into_iter().chain(transitions(state)) {
            if seen.insert(target) {
                pending.push(target);
            }
        }
    }
    seen
}

/// The payload templates of a state, by field, whose `key.$` values are evaluated.
fn templates(state: &State) -> Vec<(&'static str, &Value)> {
    let common = &state.common;
    let mut templates = vec![
        ("Parameters", common.parameters.as_ref()),
        ("ResultSelector", common.result_selector.as_ref()),
    ];
    if let Kind::Map(map) = &state.kind {
        templates.extend([
            ("ItemSelector", map.item_selector.as_ref()),
            (
                "ItemReader.Parameters",
                map.item_reader.as_ref().and_then(|r| r.parameters.as_ref()),
            ),
            (
                "ItemBatcher.BatchInput",
                map.item_batcher.as_ref().and_then(|b| b.batch_input.as_ref()),
            ),
            (
                "ResultWriter.Parameters",
                map.result_writer.as_ref().and_then(|w| w.parameters.as_ref()),
            ),
        ]);
    }
    templates
        .into_iter()
        .filter_map(|(field, template)| Some((field, template?)))
        .collect()
}

/// Retry and Catch as the language has them: a non-empty `ErrorEquals`, `States.ALL` alone and
/// last, and retry intervals that do not shrink.
fn check_error_handlers(state: &State, at: &str) -> Result<(), Failure> {
    let retry = &state.common.retry;
    let catch = &state.common.catch;
    let lists = retry
        .iter()
        .map(|r| &r.error_equals)
        .chain(catch.iter().map(|c| &c.error_equals));
    for (i, list) in lists.enumerate() {
        let (field, index, len) = if i < retry.len() {
            ("Retry", i, retry.len())
        } else {
            ("Catch", i - retry.len(), catch.len())
        };
        if list.is_empty() {
            return Err(Failure::runtime(format!("{at}.{field}[{index}]: ErrorEquals is empty")));
        }
        if list.iter().any(|e| e == names::ALL) && (list.len() > 1 || index + 1 != len) {
            return Err(Failure::runtime(format!(
                "{at}.{field}[{index}]: States.ALL must appear alone and in the last {field}"
            )));
        }
    }
    for (index, retrier) in retry.iter().enumerate() {
        if retrier.interval_seconds == 0 {
            return Err(Failure::runtime(format!(
                "{at}.Retry[{index}].IntervalSeconds: must be at least 1"
            )));
        }
        if retrier.backoff_rate < 1.0 {
            return Err(Failure::runtime(format!(
                "{at}.Retry[{index}].BackoffRate: must be at least 1.0"
            )));
        }
    }
    Ok(())
}
