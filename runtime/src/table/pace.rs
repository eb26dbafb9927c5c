//! A process Job's writes paced to its share of the table's rate (`eventdriven_core::pace`):
//! a token bucket of write units a second that each `BatchWriteItem` waits on. When DynamoDB
//! leaves items unprocessed the rate is halved, and while requests go through whole it is raised
//! back step by step toward the share (additive increase, multiplicative decrease, as TCP
//! does): the Jobs of a run together neither throttle for long nor leave the table idle.
//!
//! The bucket banks no idle time: the Jobs together spend the table's whole rate, so a Job that
//! saved up while it parsed would spend another's share when it writes.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::time::Instant;

/// Each request gone through whole adds 1/`RECOVERY_STEPS` of the share to the rate: from half
/// the share back to it in 8 requests, from the floor in 16.
const RECOVERY_STEPS: f64 = 16.0;
/// The rate never falls below this part of the share, so it recovers in a bounded number of
/// steps once DynamoDB keeps up again.
const FLOOR: f64 = 1.0 / 64.0;

/// One Job's pace; clones share it, so the batches it writes at once share its rate.
#[derive(Clone, Debug)]
pub struct WritePace(Arc<Mutex<Bucket>>);

#[derive(Debug)]
struct Bucket {
    /// The Job's share of the table's rate, in write units a second: the most it writes.
    share: f64,
    rate: f64,
    /// When the units handed out so far are paid for at the rate: the next request's wait.
    paid_until: Instant,
    /// Counts the halvings, so that the requests in flight when DynamoDB throttled, each
    /// answered with items unprocessed, halve the rate once between them, not once each.
    halvings: u64,
}

/// A request let through by [`WritePace::wait_for`]; its answer adjusts the rate.
#[must_use = "the answer to the request adjusts the rate"]
pub struct Sent {
    pace: WritePace,
    halvings: u64,
}

impl WritePace {
    /// A pace starting at `share` write units a second.
    pub fn new(share: f64) -> Self {
        let share = share.max(f64::MIN_POSITIVE);
        WritePace(Arc::new(Mutex::new(Bucket {
            share,
            rate: share,
            paid_until: Instant::now(),
            halvings: 0,
        })))
    }

    /// Waits until a request of `units` write units fits the rate.
    pub async fn wait_for(&self, units: u64) -> Sent {
        let (until, halvings) = {
            let mut bucket = self.bucket();
            let start = bucket.paid_until.max(Instant::now());
            bucket.paid_until = start + Duration::from_secs_f64(units as f64 / bucket.rate);
            (bucket.paid_until, bucket.halvings)
        };
        tokio::time::sleep_until(until).await;
        Sent {
            pace: self.clone(),
            halvings,
        }
    }

    /// The rate now, in write units a second.
    #[cfg(test)]
    pub fn rate(&self) -> f64 {
        self.bucket().rate
    }

    fn bucket(&self) -> MutexGuard<'_, Bucket> {
        // The lock guards plain numbers, left consistent even by a panic.
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Sent {
    /// DynamoDB answered the request: `whole` when it processed every item, else it throttled.
    pub fn answered(self, whole: bool) {
        let mut bucket = self.pace.bucket();
        if whole {
            bucket.rate = (bucket.rate + bucket.share / RECOVERY_STEPS).min(bucket.share);
        } else if self.halvings == bucket.halvings {
            bucket.rate = (bucket.rate / 2.0).max(bucket.share * FLOOR);
            bucket.halvings += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn units_go_out_at_the_rate_even_from_batches_in_flight_at_once() {
        let pace = WritePace::new(100.0);
        let started = Instant::now();
        // 1,000 units from four writers sharing the pace: 10 s at 100 units a second.
        let writers: Vec<_> = (0..4)
            .map(|_| {
                let pace = pace.clone();
                tokio::spawn(async move {
                    for _ in 0..10 {
                        pace.wait_for(25).await.answered(true);
                    }
                })
            })
            .collect();
        for writer in writers {
            writer.await.unwrap();
        }
        let elapsed = started.elapsed().as_secs_f64();
        assert!((elapsed - 10.0).abs() < 1e-3, "{elapsed} s");
    }

    #[tokio::test(start_paused = true)]
    async fn idle_time_is_not_banked() {
        let pace = WritePace::new(100.0);
        tokio::time::sleep(Duration::from_secs(60)).await;
        let started = Instant::now();
        pace.wait_for(100).await.answered(true);
        assert!((started.elapsed().as_secs_f64() - 1.0).abs() < 1e-3);
    }

    #[tokio::test(start_paused = true)]
    async fn a_throttled_answer_halves_the_rate_once_and_whole_ones_raise_it_back() {
        let pace = WritePace::new(160.0);
        // Two requests in flight when DynamoDB throttled: one halving between them.
        let (first, second) = (pace.wait_for(10).await, pace.wait_for(10).await);
        first.answered(false);
        second.answered(false);
        assert_eq!(pace.rate(), 80.0);
        // A request sent after the halving that is throttled too halves it again.
        pace.wait_for(10).await.answered(false);
        assert_eq!(pace.rate(), 40.0);
        // Each request gone through whole adds a sixteenth of the share (10), up to the share.
        for expected in [50.0, 60.0, 70.0] {
            pace.wait_for(10).await.answered(true);
            assert_eq!(pace.rate(), expected);
        }
        for _ in 0..20 {
            pace.wait_for(10).await.answered(true);
        }
        assert_eq!(pace.rate(), 160.0);
        // Never below the floor.
        for _ in 0..20 {
            pace.wait_for(10).await.answered(false);
        }
        assert_eq!(pace.rate(), 160.0 / 64.0);
    }
}
