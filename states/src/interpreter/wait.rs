//! The Wait state: it waits for a number of seconds or until a timestamp, fixed or read from
//! its input, then passes its input on.

use std::time::Duration;

use serde_json::Value;

use crate::clock;
use crate::definition::Wait;
use crate::error::Failure;
use crate::interpreter::io;
use crate::interpreter::run::{Here, Run};
use crate::path::{self, Scope};

pub(crate) async fn output(run: &Run<'_>, here: &Here<'_>, wait: &Wait, input: &Value) -> Result<Value, Failure> {
    let context = run.context(here, None, None);
    let effective = io::input_path(here.state, input, &context)?;
    tokio::time::sleep(duration(wait, Scope::new(&effective, &context))?).await;
    io::output_path(here.state, effective, &context)
}

fn duration(wait: &Wait, scope: Scope<'_>) -> Result<Duration, Failure> {
    let until = |text: &str| -> Result<Duration, Failure> {
        let at =
            clock::parse_iso(text).ok_or_else(|| Failure::runtime(format!("{text:?} is not an RFC 3339 timestamp")))?;
        let remaining = at - time::OffsetDateTime::now_utc();
        Ok(Duration::try_from(remaining).unwrap_or(Duration::ZERO))
    };
    if let Some(seconds) = wait.seconds {
        return Ok(Duration::from_secs(seconds));
    }
    if let Some(timestamp) = &wait.timestamp {
        return until(timestamp);
    }
    if let Some(path) = &wait.seconds_path {
        let found = path::read(path, scope)?;
        let seconds = found.as_u64().ok_or_else(|| {
            Failure::runtime(format!(
                "SecondsPath {path} must select a non-negative integer, got {found}"
            ))
        })?;
        return Ok(Duration::from_secs(seconds));
    }
    if let Some(path) = &wait.timestamp_path {
        let found = path::read(path, scope)?;
        return until(found.as_str().unwrap_or_default());
    }
    Err(Failure::runtime(
        "a Wait state needs Seconds, Timestamp, SecondsPath or TimestampPath",
    ))
}
