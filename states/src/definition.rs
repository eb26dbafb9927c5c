//! A definition, typed and checked: [`Machine::parse`] refuses what AWS would refuse at
//! creation, so a broken definition fails before any state runs.
//!
//! `model` holds the types, whose deserialization checks each field's shape; `check` what
//! relates states to one another.

mod check;
mod model;

use serde_json::Value;

use crate::error::Failure;

pub use model::{
    Catcher, Choice, Common, Fail, ItemBatcher, ItemReader, Kind, Machine, MapState, NullablePath, Parallel, Pass,
    ProcessorConfig, ReaderConfig, ResultWriter, Retrier, State, Task, Wait,
};

impl Machine {
    /// Parses and checks a definition.
    pub fn parse(definition: &Value) -> Result<Machine, Failure> {
        let machine: Machine = serde_json::from_value(definition.clone())
            .map_err(|e| Failure::runtime(format!("invalid definition: {e}")))?;
        check::check_machine(&machine, "")?;
        check::check_unique_names(&machine)?;
        Ok(machine)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn task(extra: Value) -> Value {
        let mut state = json!({ "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke" });
        state
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        state
    }

    fn single(state: Value) -> Value {
        json!({ "StartAt": "A", "States": { "A": state } })
    }

    /// The cause `definition` is refused with.
    fn refused(definition: Value) -> String {
        let failure = Machine::parse(&definition).expect_err(&definition.to_string());
        assert_eq!(failure.error, "States.Runtime");
        failure.cause
    }

    fn assert_refused(definition: Value, expected: &[&str]) {
        let cause = refused(definition);
        for part in expected {
            assert!(cause.contains(part), "{cause:?} does not name {part:?}");
        }
    }

    #[test]
    fn accepts_a_minimal_machine() {
        Machine::parse(&single(task(json!({ "End": true })))).unwrap();
    }

    #[test]
    fn a_state_name_is_unique_in_the_whole_machine() {
        let processor = |state: &str| json!({ "StartAt": state, "States": { state: { "Type": "Succeed" } } });
        let maps = |inner: &str, distributed: &str| {
            json!({
                "StartAt": "Inline",
                "States": {
                    "Inline": { "Type": "Map", "ItemProcessor": processor(inner), "Next": "Distributed" },
                    "Distributed": { "Type": "Map", "ItemProcessor": processor(distributed), "End": true },
                }
            })
        };
        Machine::parse(&maps("ProcessChunk", "ProcessChunkInChild")).unwrap();
        assert_refused(
            maps("ProcessChunk", "ProcessChunk"),
            &["States.ProcessChunk", "used twice"],
        );
        let branch = |state: &str| processor(state);
        let parallel = json!({
            "StartAt": "Both",
            "States": { "Both": { "Type": "Parallel", "Branches": [branch("A"), branch("Both")], "End": true } }
        });
        assert_refused(parallel, &["States.Both", "used twice"]);
    }

    #[test]
    fn start_at_and_states_are_needed() {
        assert_refused(
            json!({ "StartAt": "B", "States": { "A": { "Type": "Succeed" } } }),
            &["StartAt"],
        );
        assert_refused(json!({ "States": { "A": { "Type": "Succeed" } } }), &["StartAt"]);
        assert_refused(json!({ "StartAt": "A" }), &["States"]);
        assert_refused(single(json!({ "Type": "Nothing" })), &["States.A", "Nothing"]);
    }

    #[test]
    fn transitions_must_name_states() {
        assert_refused(
            single(task(json!({ "Next": "Nowhere" }))),
            &["States.A.Next", "\"Nowhere\""],
        );
        let catch = task(json!({ "End": true, "Catch": [{ "ErrorEquals": ["States.ALL"], "Next": "Nowhere" }] }));
        assert_refused(single(catch), &["States.A", "\"Nowhere\""]);
    }

    #[test]
    fn next_and_end_where_the_state_type_wants_them() {
        assert_refused(single(task(json!({}))), &["States.A", "exactly one of Next and End"]);
        let both = json!({ "StartAt": "A", "States": { "A": task(json!({ "Next": "A", "End": true })) } });
        assert_refused(both, &["exactly one of Next and End"]);
        for kind in ["Succeed", "Fail"] {
            assert_refused(single(json!({ "Type": kind, "End": true })), &["neither Next nor End"]);
        }
        let choice = json!({ "StartAt": "C", "States": {
            "C": { "Type": "Choice", "Choices": [], "Default": "S", "Next": "S" },
            "S": { "Type": "Succeed" },
        } });
        assert_refused(choice, &["States.C", "a Choice state takes neither Next nor End"]);
    }

    #[test]
    fn every_state_must_be_reachable() {
        let orphan = json!({
            "StartAt": "A",
            "States": { "A": { "Type": "Succeed" }, "Orphan": { "Type": "Succeed" } },
        });
        assert_refused(orphan, &["States.Orphan", "reaches it"]);
        let via_catch_and_choice = json!({
            "StartAt": "A",
            "States": {
                "A": task(json!({ "Next": "C", "Catch": [{ "ErrorEquals": ["States.ALL"], "Next": "F" }] })),
                "C": { "Type": "Choice", "Choices": [{ "Variable": "$.x", "IsNull": true, "Next": "S" }], "Default": "T" },
                "S": { "Type": "Succeed" },
                "T": { "Type": "Succeed" },
                "F": { "Type": "Fail" },
            },
        });
        Machine::parse(&via_catch_and_choice).unwrap();
    }

    #[test]
    fn evaluated_values_must_be_paths_or_intrinsics() {
        let parameters = json!({ "ok.$": "$.x", "fn.$": "States.Format('{}', $.x)", "ctx.$": "$$.Execution.Name", "nested": { "bad.$": "x" } });
        assert_refused(
            single(task(json!({ "End": true, "Parameters": parameters }))),
            &["States.A.Parameters", "bad.$"],
        );
        assert_refused(
            single(task(json!({ "End": true, "ResultSelector": { "n.$": 1 } }))),
            &["States.A.ResultSelector", "n.$"],
        );
        // A Pass state's Result is data, never evaluated.
        Machine::parse(&single(
            json!({ "Type": "Pass", "Result": { "x.$": "literal" }, "End": true }),
        ))
        .unwrap();
    }

    #[test]
    fn task_resources_must_be_integration_arns() {
        for resource in [
            "arn:aws:states:::eks:runJob.sync",
            "arn:aws-cn:states:::lambda:invoke",
            "arn:aws:lambda:eu-west-1:1:function:f",
            "arn:aws:states:eu-west-1:1:activity:a",
        ] {
            Machine::parse(&single(task(json!({ "Resource": resource, "End": true })))).unwrap();
        }
        for resource in ["lambda:invoke", "arn::states:::lambda:invoke", "arn:aws:s3:::bucket"] {
            assert_refused(
                single(task(json!({ "Resource": resource, "End": true }))),
                &["States.A", "not a Step Functions integration ARN"],
            );
        }
    }

    #[test]
    fn maps_need_an_item_processor_checked_as_a_machine() {
        let processor = json!({ "StartAt": "P", "States": { "P": task(json!({ "End": true })) } });
        let map = |extra: Value| {
            let mut state = json!({ "Type": "Map", "ItemsPath": "$.items", "End": true });
            state
                .as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            json!({ "StartAt": "M", "States": { "M": state } })
        };
        Machine::parse(&map(json!({ "ItemProcessor": processor, "MaxConcurrency": 0 }))).unwrap();
        Machine::parse(&map(json!({ "Iterator": processor }))).unwrap();
        assert_refused(map(json!({})), &["States.M", "ItemProcessor"]);
        for concurrency in [json!(-1), json!(1.5)] {
            assert_refused(
                map(json!({ "ItemProcessor": processor, "MaxConcurrency": concurrency })),
                &["States.M"],
            );
        }
        assert_refused(
            map(json!({ "ItemProcessor": processor, "ItemsPath": "items" })),
            &["States.M", "\"items\""],
        );
        let broken = json!({ "StartAt": "Q", "States": { "P": task(json!({ "End": true })) } });
        assert_refused(map(json!({ "ItemProcessor": broken })), &["States.M[0].StartAt"]);
        let bad_selector = json!({ "ItemProcessor": processor, "ItemSelector": { "item.$": "Map.Item" } });
        assert_refused(map(bad_selector), &["States.M.ItemSelector", "item.$"]);
    }

    #[test]
    fn retries_and_paths_are_checked() {
        let retry = |retrier: Value| single(task(json!({ "End": true, "Retry": [retrier] })));
        assert_refused(
            retry(json!({ "ErrorEquals": [] })),
            &["States.A.Retry[0]", "ErrorEquals"],
        );
        assert_refused(
            retry(json!({ "ErrorEquals": ["X"], "IntervalSeconds": 0 })),
            &["States.A.Retry[0].IntervalSeconds"],
        );
        assert_refused(
            retry(json!({ "ErrorEquals": ["X"], "BackoffRate": 0.5 })),
            &["States.A.Retry[0].BackoffRate"],
        );
        assert_refused(retry(json!({ "ErrorEquals": ["X"], "MaxAttempts": -1 })), &["States.A"]);
        for field in ["InputPath", "OutputPath", "ResultPath"] {
            assert_refused(
                single(task(json!({ "End": true, field: "list" }))),
                &["States.A", "\"list\""],
            );
            Machine::parse(&single(task(json!({ "End": true, field: null })))).unwrap();
        }
        let catch =
            task(json!({ "End": true, "Catch": [{ "ErrorEquals": ["States.ALL"], "Next": "A", "ResultPath": 3 }] }));
        assert_refused(single(catch), &["States.A", "3"]);
    }

    #[test]
    fn parallel_branches_are_machines_too() {
        let parallel = |branches: Value| single(json!({ "Type": "Parallel", "End": true, "Branches": branches }));
        assert_refused(
            parallel(json!([{ "StartAt": "X", "States": { "Y": { "Type": "Succeed" } } }])),
            &["States.A[0].StartAt"],
        );
        assert_refused(parallel(json!([])), &["States.A.Branches", "needs a branch"]);
    }

    #[test]
    fn a_malformed_choice_rule_fails_the_parse_naming_its_state() {
        let choose = |rule: Value| {
            json!({ "StartAt": "Choose", "States": {
                "Choose": { "Type": "Choice", "Choices": [rule], "Default": "Done" },
                "Matched": { "Type": "Succeed" },
                "Done": { "Type": "Succeed" },
            } })
        };
        Machine::parse(&choose(
            json!({ "Variable": "$.n", "NumericEquals": 1, "Next": "Matched" }),
        ))
        .unwrap();
        let cases = [
            (
                json!({ "Variable": "$.n", "NumericIsAbout": 1, "Next": "Matched" }),
                "unknown operator NumericIsAbout",
            ),
            (json!({ "NumericEquals": 1, "Next": "Matched" }), "needs a Variable"),
            (
                json!({ "Variable": "$.n", "NumericEquals": "1", "Next": "Matched" }),
                "must be a number",
            ),
            (json!({ "Variable": "$.n", "NumericEquals": 1 }), "needs a string Next"),
            (
                json!({ "Not": { "Variable": "$.n", "IsNull": "yes" }, "Next": "Matched" }),
                "must be true or false",
            ),
        ];
        for (rule, expected) in cases {
            assert_refused(choose(rule), &["States.Choose", expected]);
        }
        // In a branch, the error names the state that holds the machine and the Choice.
        let nested = json!({ "StartAt": "P", "States": { "P": {
            "Type": "Parallel", "End": true,
            "Branches": [choose(json!({ "Variable": "$.n", "Next": "Matched" }))],
        } } });
        assert_refused(nested, &["States.P", "States.Choose", "no comparison operator"]);
        // A rule naming no state fails as any transition does.
        assert_refused(
            choose(json!({ "Variable": "$.n", "IsNull": true, "Next": "Elsewhere" })),
            &["States.Choose", "\"Elsewhere\""],
        );
    }
}
