//! Retry and Catch: whether a failure is tried again and after how long, or where a caught
//! failure leads and with what output.

use std::time::Duration;

use serde_json::Value;

use crate::definition::{Catcher, Retrier};
use crate::error::Failure;
use crate::interpreter::io;

/// The attempts a state's retriers have made so far.
pub(crate) struct Retries<'s> {
    retriers: &'s [Retrier],
    attempts: Vec<u64>,
}

impl<'s> Retries<'s> {
    pub(crate) fn new(retriers: &'s [Retrier]) -> Self {
        Retries {
            retriers,
            attempts: vec![0; retriers.len()],
        }
    }

    /// How long to wait before trying again after `failure`, counting the attempt; `None` when
    /// the first retrier that matches it has none left, or none matches.
    pub(crate) fn delay(&mut self, failure: &Failure) -> Option<Duration> {
        let index = self
            .retriers
            .iter()
            .position(|r| failure.matches_any(&r.error_equals))?;
        let retrier = &self.retriers[index];
        let attempt = self.attempts[index];
        if attempt >= retrier.max_attempts {
            return None;
        }
        self.attempts[index] += 1;
        Some(delay(retrier, attempt))
    }
}

/// The delay before retry number `attempt` (0-based) of `retrier`.
fn delay(retrier: &Retrier, attempt: u64) -> Duration {
    let mut seconds = retrier.interval_seconds as f64 * retrier.backoff_rate.powi(attempt.min(64) as i32);
    if let Some(max) = retrier.max_delay_seconds {
        seconds = seconds.min(max as f64);
    }
    if retrier.jitter_strategy.as_deref() == Some("FULL") {
        seconds *= fastrand::f64();
    }
    Duration::from_secs_f64(seconds.max(0.0))
}

/// The first catcher that handles `failure`: the state it leads to, and its output, the error
/// output placed in the raw input by the catcher's ResultPath. The failure itself when none does.
pub(crate) fn catch(catchers: &[Catcher], input: Value, failure: Failure) -> Result<(Value, String), Failure> {
    match catchers.iter().find(|c| failure.matches_any(&c.error_equals)) {
        Some(catcher) => {
            let output = io::result_path(catcher.result_path.as_ref(), input, failure.to_output())?;
            Ok((output, catcher.next.clone()))
        }
        None => Err(failure),
    }
}
