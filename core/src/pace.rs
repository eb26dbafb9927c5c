//! How fast the built-in process Jobs may write to the table: the table's write rate, and
//! each Job's share of it.
//!
//! The Jobs of a run write at once, as many as the Map runs; together they should keep the
//! table busy without throttling for long. So each is paced to the table's rate divided by the
//! Jobs writing beside it, which the Job computes here from what its manifest gives it
//! (`TABLE_WRITE_UNITS`, `MAX_CONCURRENCY`, `RUN_CHUNKS`), and `eventdriven plan` from the run
//! it estimates.

use crate::definition::distributed_concurrency;
use crate::scale::{DISTRIBUTED_MAP_PARALLELISM, INLINE_MAP_PARALLELISM, MapMode};
use crate::spec::PipelineSpec;

/// The write request units a second a new on-demand table serves before it scales (its warm
/// throughput, which starts at 4,000 write and 12,000 read units).
pub const NEW_TABLE_WRITE_UNITS_PER_SECOND: u64 = 4_000;

/// The table's write rate, in units a second: a provisioned table's write capacity, else its
/// declared warm throughput, else a new on-demand table's. Capacity first: a provisioned table
/// serves its capacity whatever its warm throughput (and only a provisioned table has one).
pub fn table_write_units(spec: &PipelineSpec) -> u64 {
    spec.dynamodb_write_capacity
        .or(spec.table_warm_write_units)
        .and_then(|units| u64::try_from(units).ok())
        .unwrap_or(NEW_TABLE_WRITE_UNITS_PER_SECOND)
}

/// The process Jobs a run of `chunks` chunks runs at once at most: the concurrency of the Map
/// the definition chooses for it, and never more than its chunks.
pub fn jobs_at_once(chunks: u64, max_concurrency: u64) -> u64 {
    let map = match MapMode::for_chunks(chunks) {
        MapMode::Inline if max_concurrency == 0 => INLINE_MAP_PARALLELISM,
        MapMode::Inline => max_concurrency.min(INLINE_MAP_PARALLELISM),
        MapMode::Distributed => {
            let concurrency = distributed_concurrency(i64::try_from(max_concurrency).unwrap_or(i64::MAX));
            u64::try_from(concurrency).unwrap_or(0).min(DISTRIBUTED_MAP_PARALLELISM)
        }
    };
    map.min(chunks)
}

/// One process Job's share of the table's `table_write_units`, in units a second, in a run of
/// `chunks` chunks: a small run's few Jobs share the whole rate, so none idles.
pub fn job_share(table_write_units: u64, chunks: u64, max_concurrency: u64) -> f64 {
    table_write_units as f64 / jobs_at_once(chunks, max_concurrency).max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures;
    use crate::scale::INLINE_MAP_MAX_CHUNKS;
    use crate::spec::BillingMode;

    #[test]
    fn the_rate_is_the_provisioned_capacity_else_the_warm_throughput_else_a_new_table_s() {
        let mut spec = fixtures::spec();
        assert_eq!(table_write_units(&spec), 4_000);
        spec.table_warm_write_units = Some(40_000);
        assert_eq!(table_write_units(&spec), 40_000);
        spec.dynamodb_billing_mode = BillingMode::Provisioned;
        spec.dynamodb_write_capacity = Some(500);
        assert_eq!(table_write_units(&spec), 500);
    }

    #[test]
    fn the_jobs_at_once_follow_the_map_the_run_takes() {
        // Inline, about 40 at once, fewer when max_concurrency says so.
        assert_eq!(jobs_at_once(1_000, 0), 40);
        assert_eq!(jobs_at_once(1_000, 8), 8);
        assert_eq!(jobs_at_once(1_000, 100), 40);
        // Distributed: max_concurrency as set, 40 when unset, at most 10,000.
        let many = INLINE_MAP_MAX_CHUNKS + 1;
        assert_eq!(jobs_at_once(many, 0), 40);
        assert_eq!(jobs_at_once(many, 100), 100);
        assert_eq!(jobs_at_once(100_000, 20_000), 10_000);
        // Never more than the run's chunks.
        assert_eq!(jobs_at_once(3, 0), 3);
        assert_eq!(jobs_at_once(0, 0), 0);
    }

    #[test]
    fn each_job_gets_its_share_and_a_small_run_shares_the_whole_rate() {
        assert_eq!(job_share(4_000, 33_334, 0), 100.0);
        assert_eq!(job_share(40_000, 33_334, 0), 1_000.0);
        assert_eq!(job_share(4_000, 33_334, 200), 20.0);
        assert_eq!(job_share(4_000, 4, 0), 1_000.0);
        assert_eq!(job_share(4_000, 1, 0), 4_000.0);
    }
}
