//! A state written by the previous release plans no change under this one, except the children
//! this release adds, which an in-place update creates.
//!
//! `fixtures/previous-release/<resource>/` holds a configuration and the resource's attributes
//! as the previous release wrote them to the state after applying it. The test applies the
//! same configuration with this build, then puts back the state the previous release would
//! have left: its attribute set and its argument values, with the identities (ids, ARNs,
//! definitions: every computed-only attribute) this emulator made. A plan must then be empty.
//! Ignored by a plain `cargo test`; `tests/acceptance.sh` runs it.

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;

use common::{ClusterSetup, Emulator, Workspace, repo_root};
use serde_json::{Map, Value};

fn fixture(resource: &str) -> PathBuf {
    repo_root()
        .join("provider/tests/fixtures/previous-release")
        .join(resource)
}

/// The attributes of `resource_type` that only the provider sets.
fn computed_only(workspace: &Workspace, resource_type: &str) -> BTreeSet<String> {
    let schemas: Value = serde_json::from_str(&workspace.ok(&["providers", "schema", "-json"])).unwrap();
    let provider = schemas["provider_schemas"]
        .as_object()
        .and_then(|providers| providers.values().next())
        .expect("the provider's schema");
    let attributes = provider["resource_schemas"][resource_type]["block"]["attributes"]
        .as_object()
        .expect("the resource's attributes");
    attributes
        .iter()
        .filter(|(_, a)| a["computed"] == true && a["optional"] != true)
        .map(|(name, _)| name.clone())
        .collect()
}

/// Replaces the applied instance's attributes with the previous release's, keeping this
/// emulator's identities.
fn restore_previous_state(workspace: &Workspace, resource_type: &str, previous: &Map<String, Value>) {
    let computed = computed_only(workspace, resource_type);
    let path = workspace.dir.join("terraform.tfstate");
    let mut state: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let resource = state["resources"]
        .as_array_mut()
        .and_then(|resources| resources.iter_mut().find(|r| r["type"] == resource_type))
        .expect("the applied resource");
    let attributes = &mut resource["instances"][0]["attributes"];
    let live = attributes.clone();
    let restored: Map<String, Value> = previous
        .iter()
        .map(|(name, value)| {
            let value = if computed.contains(name) {
                live[name].clone()
            } else {
                value.clone()
            };
            (name.clone(), value)
        })
        .collect();
    *attributes = Value::Object(restored);
    state["serial"] = Value::from(state["serial"].as_u64().unwrap_or(0) + 1);
    std::fs::write(&path, serde_json::to_string_pretty(&state).unwrap()).unwrap();
}

/// Applies the fixture, puts the previous release's state back, and plans: no change, or only
/// the attributes `new_children` (the identities of children this release adds) appearing, in
/// an in-place update whose apply leaves an empty plan.
fn plans_no_change(resource: &str, resource_type: &str, needs_cluster: bool, new_children: &[&str]) {
    let emulator = Emulator::start(&format!("previous-{resource}"));
    if needs_cluster {
        emulator.create_cluster();
    }
    let workspace = Workspace::of_dir(&fixture(resource), &format!("previous-{resource}"), &emulator, "");
    workspace.apply(&[]);
    let recorded = std::fs::read_to_string(fixture(resource).join("state.json")).unwrap();
    let previous: Value = serde_json::from_str(&recorded).unwrap();
    let previous = previous.as_object().expect("the recorded attributes");
    restore_previous_state(&workspace, resource_type, previous);
    let (code, plan) = workspace.plan_exit_code();
    if new_children.is_empty() {
        assert_eq!(code, 0, "the previous release's state plans a change:\n{plan}");
    } else {
        assert_eq!(code, 2, "the children this release adds are planned:\n{plan}");
        assert!(!plan.contains("must be replaced"), "{plan}");
        let changed: BTreeSet<&str> = plan
            .lines()
            .filter_map(|line| {
                line.trim_start()
                    .strip_prefix("+ ")
                    .or(line.trim_start().strip_prefix("~ "))
            })
            .filter_map(|line| line.split_whitespace().next())
            // Not the legend ("~ update in-place") nor the resource's own line.
            .filter(|word| !["resource", "update"].contains(word))
            .collect();
        let expected: BTreeSet<&str> = new_children.iter().copied().collect();
        assert_eq!(changed, expected, "only the new children's attributes change:\n{plan}");
        workspace.apply(&[]);
        let (code, plan) = workspace.plan_exit_code();
        assert_eq!(code, 0, "the plan after the upgrade's apply is empty:\n{plan}");
    }
    workspace.ok(&["destroy", "-auto-approve", "-input=false"]);
}

#[test]
#[ignore = "needs terraform, fakecloud and aws: run tests/acceptance.sh"]
fn a_pipeline_state_of_the_previous_release_plans_no_change() {
    plans_no_change("pipeline", "eventdriven_batch_pipeline", true, &[]);
}

#[test]
#[ignore = "needs terraform, fakecloud and aws: run tests/acceptance.sh"]
fn a_workflow_state_of_the_previous_release_plans_only_the_children_this_release_adds() {
    plans_no_change(
        "workflow",
        "eventdriven_workflow",
        false,
        &[
            "finisher_log_group",
            "listener_code_hashes",
            "listener_policies",
            "results_rule_name",
        ],
    );
}
