//! The listeners of the cookie report (`examples/cookie-report`): who ate how many cookies in
//! one run, summed into a report. Written with the `eventdriven-listener` library; the binary
//! `cookie-report-handlers NAME` serves the listener `NAME` as a Lambda function.
//!
//! Everything is derived from the execution's name, so a run is reproducible and a test can
//! check that the report's total is the sum of the per-person files. Per-person results travel
//! as presigned URLs to keep events small, as large intermediate results must.
//!
//! - `get-multiple`: the run's people, `{"value": [names]}`; a run started with
//!   `{"failWith": "why"}` fails here instead, to show the failure path.
//! - `process-single`: one person's cookies, written to the bucket, forwarded as
//!   `process.single.post` with a presigned URL.
//! - `post-process-single`: finishes the person's task with what it was given.
//! - `side-effect`: logs the person; the state machine does not wait for it.
//! - `post-process-all`: reads every person's file, writes the report, finishes with the total.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use aws_sdk_s3::presigning::PresigningConfig;
use eventdriven_listener::{Answer, ListenerEvent as Event, TaskError};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

pub const WORKFLOW: &str = "cookie-report";
/// The start detail's field that makes `get-multiple` fail the run, with its text as the cause.
pub const FAIL_WITH: &str = "failWith";
/// The error a run started with [`FAIL_WITH`] fails with.
pub const FAILED_ON_REQUEST: &str = "CookieReportFailed";
/// The detail type `process-single` forwards.
pub const PROCESS_SINGLE_POST: &str = "process.single.post";
const PEOPLE: [&str; 10] = [
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy",
];
const URL_LIFETIME: Duration = Duration::from_secs(3600);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Listener {
    GetMultiple,
    ProcessSingle,
    PostProcessSingle,
    SideEffect,
    PostProcessAll,
}

impl Listener {
    pub const ALL: [(&'static str, Listener); 5] = [
        ("get-multiple", Listener::GetMultiple),
        ("process-single", Listener::ProcessSingle),
        ("post-process-single", Listener::PostProcessSingle),
        ("side-effect", Listener::SideEffect),
        ("post-process-all", Listener::PostProcessAll),
    ];

    pub fn from_name(name: &str) -> Result<Self> {
        match Self::ALL.iter().find(|(known, _)| *known == name) {
            Some((_, listener)) => Ok(*listener),
            None => bail!(
                "{WORKFLOW} has no listener {name:?}; it has {:?}",
                Self::ALL.map(|(name, _)| name)
            ),
        }
    }
}

/// One person's line of the report, as their file holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    pub name: String,
    pub cookies: u64,
}

/// The report `post-process-all` writes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub names: Vec<String>,
    pub number_of_people: usize,
    pub total_cookies_consumed: u64,
}

/// 64-bit FNV-1a: stable across builds, so runs are reproducible.
fn hash(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The run's people: three to seven of them, chosen by the run's name.
pub fn people_of(run: &str) -> Vec<String> {
    let seed = hash(run);
    let count = 3 + (seed % 5) as usize;
    let start = (seed / 5 % PEOPLE.len() as u64) as usize;
    (0..count)
        .map(|i| PEOPLE[(start + i) % PEOPLE.len()].to_owned())
        .collect()
}

/// How many cookies one person ate in one run: one to twelve.
pub fn cookies_of(run: &str, person: &str) -> u64 {
    1 + hash(&format!("{run}/{person}")) % 12
}

pub fn person_key(prefix: &str, run: &str, person: &str) -> String {
    format!("{prefix}{run}/people/{person}.json")
}

pub fn report_key(prefix: &str, run: &str) -> String {
    format!("{prefix}{run}/report.json")
}

/// Where this workflow's listeners keep a run's files: the prefix the provider grants them.
pub const RUNS_PREFIX: &str = eventdriven_core::workflow::spec::DEFAULT_BUCKET_PREFIX;

pub async fn handle(listener: Listener, event: Event) -> Result<Answer> {
    let run = event.run_name().to_owned();
    match listener {
        Listener::GetMultiple => {
            // A run started with {"failWith": "…"} shows the failure path.
            if let Some(cause) = event.input()[FAIL_WITH].as_str() {
                return Err(TaskError {
                    error: FAILED_ON_REQUEST.to_owned(),
                    cause: cause.to_owned(),
                }
                .into());
            }
            Ok(Answer::Finish(json!({ "value": people_of(&run) })))
        }
        Listener::ProcessSingle => {
            let name = event
                .input()
                .as_str()
                .with_context(|| format!("process-single expects a person's name, got {}", event.input()))?;
            let person = Person {
                name: name.to_owned(),
                cookies: cookies_of(&run, name),
            };
            let (bucket, s3) = bucket_of(&event).await?;
            let key = person_key(RUNS_PREFIX, &run, name);
            put_json(&s3, bucket, &key, &serde_json::to_value(&person)?).await?;
            let url = presigned(&s3, bucket, &key).await?;
            Ok(Answer::Forward {
                detail_type: PROCESS_SINGLE_POST.to_owned(),
                input: json!({ "name": person.name, "cookies": person.cookies, "url": url }),
            })
        }
        Listener::PostProcessSingle => Ok(Answer::Finish(event.input().clone())),
        Listener::SideEffect => {
            println!(
                "{run}: {} ate {} cookies",
                event.input()["name"],
                event.input()["cookies"]
            );
            Ok(Answer::Nothing)
        }
        Listener::PostProcessAll => {
            let names: Vec<String> = serde_json::from_value(event.input()["names"]["value"].clone())
                .context("post-process-all expects the people at $.names.value")?;
            let (bucket, s3) = bucket_of(&event).await?;
            let mut total = 0;
            for name in &names {
                let person: Person =
                    serde_json::from_value(get_json(&s3, bucket, &person_key(RUNS_PREFIX, &run, name)).await?)?;
                total += person.cookies;
            }
            let report = Report {
                number_of_people: names.len(),
                names,
                total_cookies_consumed: total,
            };
            let key = report_key(RUNS_PREFIX, &run);
            put_json(&s3, bucket, &key, &serde_json::to_value(&report)?).await?;
            Ok(Answer::Finish(json!({
                "value": total,
                "report": format!("s3://{bucket}/{key}"),
                "url": presigned(&s3, bucket, &key).await?,
            })))
        }
    }
}

async fn bucket_of(event: &Event) -> Result<(&str, aws_sdk_s3::Client)> {
    let bucket = event
        .bucket()
        .context("the cookie report needs the workflow's bucket (bucket = true)")?;
    Ok((bucket, s3_client().await))
}

/// S3 as the environment configures it; an endpoint of its own (an emulator) is addressed by path.
async fn s3_client() -> aws_sdk_s3::Client {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(10))
        .load()
        .await;
    let custom_endpoint = std::env::var_os("AWS_ENDPOINT_URL_S3").or_else(|| std::env::var_os("AWS_ENDPOINT_URL"));
    let s3_config = aws_sdk_s3::config::Builder::from(&config)
        .force_path_style(custom_endpoint.is_some())
        .build();
    aws_sdk_s3::Client::from_conf(s3_config)
}

async fn put_json(s3: &aws_sdk_s3::Client, bucket: &str, key: &str, value: &Value) -> Result<()> {
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .content_type("application/json")
        .body(serde_json::to_vec(value)?.into())
        .send()
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "writing s3://{bucket}/{key}: {}",
                aws_sdk_s3::error::DisplayErrorContext(e)
            )
        })?;
    Ok(())
}

async fn get_json(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Result<Value> {
    let object = s3.get_object().bucket(bucket).key(key).send().await.map_err(|e| {
        anyhow::anyhow!(
            "reading s3://{bucket}/{key}: {}",
            aws_sdk_s3::error::DisplayErrorContext(e)
        )
    })?;
    let bytes = object.body.collect().await?.into_bytes();
    serde_json::from_slice(&bytes).with_context(|| format!("s3://{bucket}/{key} is not JSON"))
}

async fn presigned(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Result<String> {
    let request = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .presigned(PresigningConfig::expires_in(URL_LIFETIME)?)
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "presigning s3://{bucket}/{key}: {}",
                aws_sdk_s3::error::DisplayErrorContext(e)
            )
        })?;
    Ok(request.uri().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn people_and_cookies_are_derived_from_the_run() {
        let people = people_of("run-1");
        assert_eq!(people, people_of("run-1"));
        assert!((3..=7).contains(&people.len()), "{people:?}");
        let unique: std::collections::BTreeSet<_> = people.iter().collect();
        assert_eq!(unique.len(), people.len());
        let runs: std::collections::BTreeSet<Vec<String>> = (0..20).map(|i| people_of(&format!("run-{i}"))).collect();
        assert!(runs.len() > 1, "different runs have different people");
        for person in &people {
            assert!((1..=12).contains(&cookies_of("run-1", person)));
        }
    }

    #[test]
    fn every_listener_of_the_example_is_known_by_name() {
        for (name, listener) in Listener::ALL {
            assert_eq!(Listener::from_name(name).unwrap(), listener);
        }
        assert!(
            Listener::from_name("eat")
                .unwrap_err()
                .to_string()
                .contains("has no listener \"eat\"")
        );
    }
}
