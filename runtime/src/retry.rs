//! Exponential backoff with full jitter, for calls a remote service asks us to repeat.

use std::time::Duration;

/// Delays of a bounded retry schedule: attempt `n` waits a random time up to `base * 2^n`,
/// capped at `max`, so retrying clients spread out instead of retrying in step.
#[derive(Clone, Copy, Debug)]
pub struct Backoff {
    pub base: Duration,
    pub max: Duration,
    pub attempts: u32,
}

impl Backoff {
    pub const REMOTE: Backoff = Backoff {
        base: Duration::from_millis(50),
        max: Duration::from_secs(5),
        attempts: 12,
    };

    /// The wait before retry number `attempt` (0-based).
    pub fn delay(&self, attempt: u32) -> Duration {
        let ceiling = self.base.saturating_mul(1u32 << attempt.min(20)).min(self.max);
        ceiling.mul_f64(fastrand::f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_and_stay_under_the_cap() {
        let b = Backoff {
            base: Duration::from_millis(10),
            max: Duration::from_millis(100),
            attempts: 5,
        };
        for attempt in 0..30 {
            let ceiling = Duration::from_millis(10 * (1u64 << attempt.min(20))).min(Duration::from_millis(100));
            assert!(b.delay(attempt) <= ceiling);
        }
    }
}
