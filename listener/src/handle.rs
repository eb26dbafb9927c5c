//! One event in, the answering event out: the part of a listener that is the same for all.

use std::future::Future;
use std::panic::AssertUnwindSafe;

use anyhow::{Context, Result};
use eventdriven_core::workflow::envelope::{
    ANSWER_TOO_LARGE, Envelope, Hop, MAX_CAUSE_LEN, MAX_ERROR_LEN, MAX_EVENT_BYTES, PUT_EVENTS_FAILED, TASK_FAILED,
    TASK_FINISHED, truncate,
};
use eventdriven_core::workflow::environment::{BUCKET, EMITS, EVENT_BUS, EVENT_SOURCE};
use futures_util::FutureExt;
use serde_json::Value;

use crate::bus::{Bus, OutgoingEvent};

/// Set by Lambda: the name the listener's hops carry.
pub const FUNCTION_NAME: &str = "AWS_LAMBDA_FUNCTION_NAME";

/// The error name a failed task carries when the handler gives none.
pub const LISTENER_ERROR: &str = "ListenerError";
/// The error name of a task whose listener panicked.
pub const LISTENER_PANICKED: &str = "ListenerPanicked";

/// Where a listener's events go and what it may emit.
#[derive(Clone, Debug)]
pub struct Settings {
    pub bus: String,
    pub source: String,
    pub function: String,
    pub emits: Vec<String>,
    pub bucket: Option<String>,
}

impl Settings {
    pub fn from_env() -> Result<Self> {
        let required =
            |name: &str| std::env::var(name).with_context(|| format!("the listener needs {name} in its environment"));
        Ok(Self {
            bus: required(EVENT_BUS)?,
            source: required(EVENT_SOURCE)?,
            function: std::env::var(FUNCTION_NAME).unwrap_or_else(|_| "listener".to_owned()),
            emits: std::env::var(EMITS)
                .unwrap_or_default()
                .split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            bucket: std::env::var(BUCKET).ok().filter(|b| !b.is_empty()),
        })
    }
}

/// The incoming event a handler is called with: its envelope and detail type, and the
/// listener's settings.
#[derive(Clone, Debug)]
pub struct ListenerEvent {
    pub envelope: Envelope,
    /// The incoming event's detail type.
    pub detail_type: String,
    pub settings: Settings,
}

impl ListenerEvent {
    /// The task's input, or what the previous listener forwarded.
    pub fn input(&self) -> &Value {
        &self.envelope.input
    }

    /// The execution's ARN.
    pub fn execution_id(&self) -> &str {
        &self.envelope.execution_id
    }

    /// Whether this listener is a side effect: its events carry no task token, it cannot answer
    /// the task, and its outcome is recorded by the platform (`.done` or `side_effect.failed`).
    pub fn is_side_effect(&self) -> bool {
        self.envelope.task_token.is_none()
    }

    /// The execution's name: the last part of its ARN, unique within the state machine.
    pub fn run_name(&self) -> &str {
        self.envelope.execution_id.rsplit(':').next().unwrap_or_default()
    }

    pub fn bucket(&self) -> Option<&str> {
        self.settings.bucket.as_deref()
    }
}

/// What a handler answers.
#[derive(Clone, Debug, PartialEq)]
pub enum Answer {
    /// Completes the task; the result lands at the task's `result_path`.
    Finish(Value),
    /// Puts a new event of this detail type, carrying the task token on.
    Forward { detail_type: String, input: Value },
    /// A side effect: nothing more to say.
    Nothing,
}

/// A failure the handler names itself; any other error is a [`LISTENER_ERROR`].
#[derive(Debug)]
pub struct TaskError {
    pub error: String,
    pub cause: String,
}

impl std::fmt::Display for TaskError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.error, self.cause)
    }
}

impl std::error::Error for TaskError {}

/// Runs `handler` on one EventBridge event and puts its answer on `bus`. Returns the event put.
///
/// An event that is not a workflow envelope cannot be answered and is an error; everything
/// after that answers the task, a failing or panicking handler included. A side effect (no
/// task token) answers nothing: its error is returned (as a [`TaskError`] naming it), for the
/// platform to record as `side_effect.failed`.
pub async fn handle_event<F, Fut>(
    event: &Value,
    settings: &Settings,
    bus: &dyn Bus,
    handler: F,
) -> Result<Option<OutgoingEvent>>
where
    F: FnOnce(ListenerEvent) -> Fut,
    Fut: Future<Output = Result<Answer>>,
{
    let envelope: Envelope = serde_json::from_value(event["detail"].clone())
        .with_context(|| format!("the event is not a workflow event (no envelope in its detail): {event}"))?;
    let incoming = ListenerEvent {
        envelope: envelope.clone(),
        detail_type: event["detail-type"].as_str().unwrap_or_default().to_owned(),
        settings: settings.clone(),
    };
    let side_effect = incoming.is_side_effect();
    let outcome = AssertUnwindSafe(handler(incoming)).catch_unwind().await;
    let answer = match outcome {
        Ok(Ok(answer)) => answer,
        Ok(Err(error)) => return fail(side_effect, envelope, settings, bus, failure_of(&error)).await,
        Err(panic) => {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "the handler panicked".to_owned());
            return fail(
                side_effect,
                envelope,
                settings,
                bus,
                (LISTENER_PANICKED.to_owned(), message),
            )
            .await;
        }
    };
    let (detail_type, detail) = match answer {
        Answer::Nothing => return Ok(None),
        Answer::Finish(_) if side_effect => return Ok(None),
        Answer::Finish(result) => (
            TASK_FINISHED.to_owned(),
            Envelope {
                result: Some(result),
                ..envelope
            },
        ),
        Answer::Forward { detail_type, input } => {
            if !settings.emits.contains(&detail_type) {
                let cause = format!(
                    "{} may not emit {detail_type:?}; its emits are {:?}",
                    settings.function, settings.emits
                );
                return fail(side_effect, envelope, settings, bus, (LISTENER_ERROR.to_owned(), cause)).await;
            }
            (detail_type, Envelope { input, ..envelope })
        }
    };
    match put(detail.clone(), detail_type, settings, bus).await {
        Ok(event) => Ok(Some(event)),
        // What could not be put fails the task now, rather than leave it to its timeout.
        Err(failure) => fail(side_effect, detail, settings, bus, failure).await,
    }
}

/// A listener's failure: a task listener answers `task.failed`; a side effect has no task to
/// answer, and returns its failure named, for the platform to record.
async fn fail(
    side_effect: bool,
    envelope: Envelope,
    settings: &Settings,
    bus: &dyn Bus,
    (error, cause): (String, String),
) -> Result<Option<OutgoingEvent>> {
    if side_effect {
        return Err(TaskError { error, cause }.into());
    }
    put_failure(envelope, settings, bus, (error, cause)).await.map(Some)
}

fn failure_of(error: &anyhow::Error) -> (String, String) {
    match error.downcast_ref::<TaskError>() {
        Some(named) => (named.error.clone(), named.cause.clone()),
        None => (LISTENER_ERROR.to_owned(), format!("{error:#}")),
    }
}

async fn put_failure(
    envelope: Envelope,
    settings: &Settings,
    bus: &dyn Bus,
    (error, cause): (String, String),
) -> Result<OutgoingEvent> {
    let detail = Envelope {
        error: Some(truncate(&error, MAX_ERROR_LEN).to_owned()),
        cause: Some(truncate(&cause, MAX_CAUSE_LEN).to_owned()),
        result: None,
        ..envelope
    };
    put(detail, TASK_FAILED.to_owned(), settings, bus)
        .await
        .map_err(|(error, cause)| anyhow::anyhow!("{error}: {cause}"))
}

/// Puts `detail` with this listener's hop added to its trail; what could not be put comes back
/// as the error and cause a failed task carries.
async fn put(
    mut detail: Envelope,
    detail_type: String,
    settings: &Settings,
    bus: &dyn Bus,
) -> std::result::Result<OutgoingEvent, (String, String)> {
    detail.meta.push(Hop {
        source: settings.source.clone(),
        detail_type: detail_type.clone(),
        function: settings.function.clone(),
        time: Some(eventdriven_states::clock::now_iso()),
    });
    let detail = serde_json::to_string(&detail).map_err(|e| (PUT_EVENTS_FAILED.to_owned(), e.to_string()))?;
    let event = OutgoingEvent {
        bus: settings.bus.clone(),
        source: settings.source.clone(),
        detail_type,
        detail,
    };
    let size = event.source.len() + event.detail_type.len() + event.detail.len();
    if size > MAX_EVENT_BYTES {
        return Err((
            ANSWER_TOO_LARGE.to_owned(),
            format!(
                "the {:?} event would be {size} bytes, over EventBridge's {MAX_EVENT_BYTES}: pass large results by reference (the bucket)",
                event.detail_type
            ),
        ));
    }
    bus.put(event.clone())
        .await
        .map_err(|e| (PUT_EVENTS_FAILED.to_owned(), format!("{e:#}")))?;
    Ok(event)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    use anyhow::bail;

    use serde_json::json;

    #[derive(Default)]
    struct Recorded(Mutex<Vec<OutgoingEvent>>);

    #[async_trait::async_trait]
    impl Bus for Recorded {
        async fn put(&self, event: OutgoingEvent) -> Result<()> {
            self.0.lock().unwrap().push(event);
            Ok(())
        }
    }

    fn settings() -> Settings {
        Settings {
            bus: "default".into(),
            source: "cookie-report".into(),
            function: "eventdriven-cookie-report-process-single".into(),
            emits: vec!["process.single.post".into()],
            bucket: None,
        }
    }

    fn event() -> Value {
        json!({
            "source": "cookie-report",
            "detail-type": "process.single",
            "detail": {
                "taskToken": "token-1",
                "executionId": "arn:aws:states:r:1:execution:m:run-1",
                "state": "ProcessMultiple",
                "input": "alice",
                "meta": [{ "source": "cookie-report", "detailType": "process.single", "function": "m" }],
            },
        })
    }

    async fn answer_of<Fut: Future<Output = Result<Answer>>>(handler: impl FnOnce(ListenerEvent) -> Fut) -> Value {
        let bus = Recorded::default();
        let put = handle_event(&event(), &settings(), &bus, handler)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(bus.0.lock().unwrap().as_slice(), std::slice::from_ref(&put));
        let mut detail: Value = serde_json::from_str(&put.detail).unwrap();
        detail["detailType"] = json!(put.detail_type);
        detail
    }

    #[tokio::test]
    async fn finishing_carries_the_token_and_the_result() {
        let detail = answer_of(async |event| {
            assert_eq!(event.run_name(), "run-1");
            Ok(Answer::Finish(json!({ "cookies": 3 })))
        })
        .await;
        assert_eq!(detail["detailType"], "task.finished");
        assert_eq!(detail["taskToken"], "token-1");
        assert_eq!(detail["result"], json!({ "cookies": 3 }));
        assert_eq!(
            detail["meta"][1]["function"],
            "eventdriven-cookie-report-process-single"
        );
        assert_eq!(detail["meta"][1]["detailType"], "task.finished");
    }

    #[tokio::test]
    async fn forwarding_passes_the_token_and_the_new_input_on() {
        let detail = answer_of(async |_| {
            Ok(Answer::Forward {
                detail_type: "process.single.post".into(),
                input: json!({ "url": "u" }),
            })
        })
        .await;
        assert_eq!(detail["detailType"], "process.single.post");
        assert_eq!(
            (detail["taskToken"].clone(), detail["input"].clone()),
            (json!("token-1"), json!({ "url": "u" }))
        );
        assert_eq!(detail["state"], "ProcessMultiple");
    }

    #[tokio::test]
    async fn an_error_fails_the_task_with_its_name_and_cause() {
        let detail = answer_of(async |_| Err(anyhow::anyhow!("no cookies for alice"))).await;
        assert_eq!(detail["detailType"], "task.failed");
        assert_eq!(
            (detail["error"].clone(), detail["cause"].clone()),
            (json!("ListenerError"), json!("no cookies for alice"))
        );
        let detail = answer_of(async |_| {
            Err(TaskError {
                error: "CookieJarEmpty".into(),
                cause: "x".repeat(40_000),
            }
            .into())
        })
        .await;
        assert_eq!(detail["error"], "CookieJarEmpty");
        assert_eq!(detail["cause"].as_str().unwrap().len(), MAX_CAUSE_LEN);
    }

    #[tokio::test]
    async fn a_panic_fails_the_task_instead_of_leaving_it_waiting() {
        let detail = answer_of(async |event| -> Result<Answer> {
            panic!("crashed on {}", event.input());
        })
        .await;
        assert_eq!(detail["error"], "ListenerPanicked");
        assert_eq!(detail["cause"], "crashed on \"alice\"");
    }

    #[tokio::test]
    async fn emitting_what_the_listener_may_not_fails_the_task() {
        let detail = answer_of(async |_| {
            Ok(Answer::Forward {
                detail_type: "process.all".into(),
                input: json!(null),
            })
        })
        .await;
        assert_eq!(detail["detailType"], "task.failed");
        assert!(
            detail["cause"]
                .as_str()
                .unwrap()
                .contains("may not emit \"process.all\"")
        );
    }

    /// A bus refusing everything, as EventBridge does when it is unreachable.
    struct Refusing;

    #[async_trait::async_trait]
    impl Bus for Refusing {
        async fn put(&self, _: OutgoingEvent) -> Result<()> {
            bail!("connection refused")
        }
    }

    #[tokio::test]
    async fn every_hop_is_stamped_with_milliseconds() {
        let detail = answer_of(async |_| Ok(Answer::Finish(json!(1)))).await;
        let time = detail["meta"][1]["time"].as_str().unwrap();
        assert!(
            eventdriven_states::clock::parse_iso(time).is_some() && time.len() == "2026-01-01T00:00:00.000Z".len(),
            "{time}"
        );
    }

    #[tokio::test]
    async fn an_answer_over_256_kib_fails_the_task_instead() {
        let detail = answer_of(async |_| Ok(Answer::Finish(json!("x".repeat(300 * 1024))))).await;
        assert_eq!(detail["detailType"], "task.failed");
        assert_eq!(detail["error"], ANSWER_TOO_LARGE);
        assert_eq!(detail["result"], Value::Null, "the answer is not carried along");
        assert!(detail["cause"].as_str().unwrap().contains("over EventBridge's 262144"));
    }

    #[tokio::test]
    async fn an_unreachable_bus_is_an_error_the_platform_reports() {
        let error = handle_event(&event(), &settings(), &Refusing, async |_| Ok(Answer::Finish(json!(1))))
            .await
            .unwrap_err();
        assert!(format!("{error:#}").contains("connection refused"), "{error:#}");
    }

    fn side_effect_event() -> Value {
        let mut event = event();
        event["detail"].as_object_mut().unwrap().remove("taskToken");
        event
    }

    #[tokio::test]
    async fn a_side_effect_answers_nothing_and_its_error_is_named_for_the_platform() {
        let bus = Recorded::default();
        let put = handle_event(&side_effect_event(), &settings(), &bus, async |event| {
            assert!(event.is_side_effect());
            Ok(Answer::Finish(json!("audited")))
        })
        .await
        .unwrap();
        assert_eq!(put, None);
        let error = handle_event(&side_effect_event(), &settings(), &bus, async |_| {
            Err(TaskError {
                error: "AuditStoreDown".into(),
                cause: "503".into(),
            }
            .into())
        })
        .await
        .unwrap_err();
        assert_eq!(error.downcast_ref::<TaskError>().unwrap().error, "AuditStoreDown");
        assert!(bus.0.lock().unwrap().is_empty(), "a side effect never answers a task");
    }

    #[tokio::test]
    async fn a_side_effect_puts_nothing_and_a_foreign_event_is_an_error() {
        let bus = Recorded::default();
        assert_eq!(
            handle_event(&event(), &settings(), &bus, async |_| Ok(Answer::Nothing))
                .await
                .unwrap(),
            None
        );
        let error = handle_event(&json!({ "detail": {} }), &settings(), &bus, async |_| {
            Ok(Answer::Nothing)
        })
        .await
        .unwrap_err();
        assert!(error.to_string().contains("not a workflow event"));
        assert!(bus.0.lock().unwrap().is_empty());
    }
}
