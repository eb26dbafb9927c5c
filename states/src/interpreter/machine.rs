//! The state loop: a machine's states from its StartAt to an end, each entered and exited in
//! the history, each output held to the payload limit; and the Retry loop around the states
//! that have one.

use futures_util::future::BoxFuture;
use serde_json::{Value, json};

use crate::clock;
use crate::definition::{Kind, Machine};
use crate::error::Failure;
use crate::history::state_details;
use crate::interpreter::run::{Here, Nested, Run};
use crate::interpreter::{choice, fail, io, map, parallel, pass, retry, succeed, task, wait};

impl Nested for Run<'_> {
    fn run_machine<'s>(
        &'s self,
        machine: &'s Machine,
        input: Value,
        last: &'s mut u64,
    ) -> BoxFuture<'s, Result<Value, Failure>> {
        Box::pin(run_from_start(self, machine, input, last))
    }
}

/// Where a state leads: its output and the next state, `None` at the end of a machine.
struct Transition {
    output: Value,
    next: Option<String>,
}

/// Runs `machine` from its StartAt to an end, a Fail state or an unhandled error.
async fn run_from_start(run: &Run<'_>, machine: &Machine, input: Value, last: &mut u64) -> Result<Value, Failure> {
    let mut name = machine.start_at.clone();
    let mut input = input;
    loop {
        let state = machine.state(&name)?;
        let kind = state.kind.type_name();
        *last = run.history.record(
            &format!("{kind}StateEntered"),
            *last,
            Some(state_details(&name, "input", &input)),
        );
        let mut here = Here {
            name: &name,
            state,
            entered_time: clock::now_iso(),
            retry_count: 0,
        };
        let transition = run_state(run, &mut here, input, last).await?;
        let output = io::within_payload_limit(&transition.output, || format!("the output of {name:?}"))?;
        *last = run.history.record(
            &format!("{kind}StateExited"),
            *last,
            Some(json!({ "name": name, "output": output })),
        );
        match transition.next {
            Some(next) => {
                name = next;
                input = transition.output;
            }
            None => return Ok(transition.output),
        }
    }
}

async fn run_state(run: &Run<'_>, here: &mut Here<'_>, input: Value, last: &mut u64) -> Result<Transition, Failure> {
    let state = here.state;
    let next = || state.common.next.clone();
    match &state.kind {
        Kind::Succeed => Ok(Transition {
            output: succeed::output(run, here, &input)?,
            next: None,
        }),
        Kind::Fail(fail) => Err(fail::failure(run, here, fail, &input)),
        Kind::Choice(choice) => {
            let (output, chosen) = choice::choose(run, here, choice, &input)?;
            Ok(Transition {
                output,
                next: Some(chosen),
            })
        }
        Kind::Wait(wait) => Ok(Transition {
            output: wait::output(run, here, wait, &input).await?,
            next: next(),
        }),
        Kind::Pass(pass) => Ok(Transition {
            output: pass::output(run, here, pass, input)?,
            next: next(),
        }),
        Kind::Task(_) | Kind::Parallel(_) | Kind::Map(_) => with_retry(run, here, input, last).await,
    }
}

/// Runs a Task, Parallel or Map state under its Retry and Catch.
async fn with_retry(run: &Run<'_>, here: &mut Here<'_>, input: Value, last: &mut u64) -> Result<Transition, Failure> {
    let state = here.state;
    let mut retries = retry::Retries::new(&state.common.retry);
    loop {
        let attempt = match &state.kind {
            Kind::Task(task) => task::attempt(run, here, task, &input, last).await,
            Kind::Parallel(parallel) => parallel::attempt(run, here, parallel, &input, last).await,
            Kind::Map(map_state) => map::attempt(run, here, map_state, &input, last).await,
            _ => unreachable!("only Task, Parallel and Map states have Retry and Catch"),
        };
        let failure = match attempt {
            Ok(output) => {
                return Ok(Transition {
                    output,
                    next: state.common.next.clone(),
                });
            }
            Err(failure) => failure,
        };
        if let Some(delay) = retries.delay(&failure) {
            tokio::time::sleep(delay.mul_f64(run.retry_scale)).await;
            here.retry_count += 1;
            continue;
        }
        let (output, next) = retry::catch(&state.common.catch, input, failure)?;
        return Ok(Transition {
            output,
            next: Some(next),
        });
    }
}
