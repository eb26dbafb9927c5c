//! What a run of a given size would do, before it runs: its chunks and the Map's mode, the
//! largest payload and the history it records, the DynamoDB writes and how long they take (at
//! a new table's rate, at its warm throughput, and as the paced Jobs write them), the result's
//! upload, and what it costs.
//!
//! Pure arithmetic over the pipeline's settings, the limits in [`crate::scale`], the pacing of
//! [`crate::pace`] and the prices below; `eventdriven plan` prints it. Figures are estimates:
//! the prices are us-east-1 list prices, and compute (the cluster's nodes), EFS, ElastiCache and
//! data transfer are left out. Warm throughput's price could not be sourced: it is the caller's
//! to give, or the raise is named without one.

use std::fmt;

use crate::contract::{ChunkRef, ListChunksResponse, Step};
use crate::definition::LOG_LIMIT_BYTES;
use crate::local::{local_deployment, object_created_event};
use crate::manifest::job_manifest;
use crate::pace::{self, NEW_TABLE_WRITE_UNITS_PER_SECOND};
use crate::scale::{
    EVENTS_OUTSIDE_THE_MAP, HISTORY_EVENT_LIMIT, INLINE_ITERATION_EVENTS, INLINE_MAP_MAX_CHUNKS, MapMode,
    PAYLOAD_LIMIT_BYTES, RESULT_MAX_PARTS, RESULT_PART_BYTES, task_events,
};

/// DynamoDB on-demand: $0.625 per million write request units (us-east-1).
const USD_PER_WRITE_UNIT: f64 = 0.625 / 1e6;
/// Step Functions Standard: $0.025 per 1,000 state transitions (us-east-1).
const USD_PER_STATE_TRANSITION: f64 = 0.025 / 1e3;
/// S3 Standard: $0.005 per 1,000 PUT and $0.0004 per 1,000 GET requests (us-east-1).
const USD_PER_S3_PUT: f64 = 0.005 / 1e3;
const USD_PER_S3_GET: f64 = 0.0004 / 1e3;
/// A write request unit writes an item of up to 1 KiB.
const WRITE_UNIT_BYTES: u64 = 1024;
/// What an item holds beyond the row's values: the 14 column names and `ConfirmationId`
/// (142 bytes) and its 36-character value, less the row's 13 commas and line end.
const ITEM_OVERHEAD_BYTES: u64 = 142 + 36 - 14;
/// A result line: an order id of about ten digits, a comma, a UUID and a line end.
const RESULT_LINE_BYTES: u64 = 10 + 1 + 36 + 1;
/// Items per `BatchWriteItem` request.
const BATCH_ITEMS: u64 = 25;
/// A Job's object around its logs in a task result: manifest, status, pod name.
const JOB_STATUS_BYTES: u64 = 1024;
/// S3 keys are at most 1,024 bytes and bucket names 63: the largest execution input.
const LONGEST_KEY: usize = 1024;
const LONGEST_BUCKET: usize = 63;

/// The run to estimate and the pipeline settings that shape it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunSize {
    pub rows: u64,
    pub bytes_per_row: u64,
    pub max_lines_per_batch: u64,
    /// 0: no limit beyond the Map's own.
    pub max_concurrency: u64,
    /// The table's warm throughput in write units a second (`table_warm_write_units`); `None`
    /// leaves a new table's.
    pub warm_write_units: Option<u64>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct RunEstimate {
    pub size: RunSize,
    pub chunks: u64,
    pub map_mode: MapMode,
    /// Process Jobs running at once at most.
    pub parallel_chunks: u64,
    /// The largest state input or output: the execution input with the chunk list.
    pub largest_state_bytes: u64,
    /// The largest task result: a Job's object with its logs at their limit.
    pub largest_task_result_bytes: u64,
    /// Events in the run's own history, without retries and with every retry.
    pub history_events: u64,
    pub history_events_worst: u64,
    /// Events in each chunk's child execution, when the Map is distributed.
    pub child_history_events: Option<u64>,
    pub batch_write_requests: u64,
    pub write_units: u64,
    pub write_units_per_item: u64,
    pub seconds_at_new_table_throughput: f64,
    /// The write units' time at the warm throughput, when one is set.
    pub seconds_at_warm_throughput: Option<f64>,
    /// The price of one write unit a second of warm throughput raised, when the caller has one.
    pub warm_write_unit_usd: Option<f64>,
    pub result_bytes: u64,
    pub result_parts: u64,
    pub state_transitions: u64,
    pub s3_puts: u64,
    pub s3_gets: u64,
}

/// Estimates a run of `size`; `warm_write_unit_usd`, the price of one write unit a second of
/// warm throughput raised, prices the raise to `size.warm_write_units`.
pub fn estimate(size: RunSize, warm_write_unit_usd: Option<f64>) -> RunEstimate {
    let lines = size.max_lines_per_batch.max(1);
    let chunks = size.rows.div_ceil(lines);
    let map_mode = MapMode::for_chunks(chunks);

    let (full, rest) = (size.rows / lines, size.rows % lines);
    let batch_write_requests = full * lines.div_ceil(BATCH_ITEMS) + rest.div_ceil(BATCH_ITEMS);
    let write_units_per_item = (size.bytes_per_row + ITEM_OVERHEAD_BYTES).div_ceil(WRITE_UNIT_BYTES);
    let write_units = size.rows * write_units_per_item;
    let result_bytes = RESULT_LINE_BYTES * (size.rows + 1);
    let result_parts = result_bytes.div_ceil(RESULT_PART_BYTES).max(1);

    // Nominal events: a task records six (five without a `.sync` submission), a Choice two,
    // an inline Map four and a distributed one six; the execution starts and ends. The checks
    // are the service account's and the work volume claim's (task and Choice; the default mount).
    let (check, split, list, choice, merge) = (5 + 5 + 2, task_events(0), 5, 2, task_events(0));
    let iteration = 2 + task_events(0);
    let (map_events, children) = match map_mode {
        MapMode::Inline => (4 + chunks * iteration, None),
        MapMode::Distributed => (6, Some(2 + task_events(0))),
    };
    let history_events = 2 + check + split + list + choice + merge + map_events;
    let history_events_worst = match map_mode {
        MapMode::Inline => EVENTS_OUTSIDE_THE_MAP + chunks * INLINE_ITERATION_EVENTS,
        MapMode::Distributed => EVENTS_OUTSIDE_THE_MAP,
    };

    RunEstimate {
        size,
        chunks,
        map_mode,
        parallel_chunks: pace::jobs_at_once(chunks, size.max_concurrency),
        largest_state_bytes: largest_state_bytes(chunks, map_mode, lines),
        largest_task_result_bytes: largest_task_result_bytes(lines),
        history_events,
        history_events_worst,
        child_history_events: children,
        batch_write_requests,
        write_units,
        write_units_per_item,
        seconds_at_new_table_throughput: write_units as f64 / NEW_TABLE_WRITE_UNITS_PER_SECOND as f64,
        seconds_at_warm_throughput: size
            .warm_write_units
            .map(|units| write_units as f64 / units.max(1) as f64),
        warm_write_unit_usd,
        result_bytes,
        result_parts,
        // Eight states outside the Map (the two checks, the work volume's Choice, split, list,
        // choose, the Map, merge), and one per chunk.
        state_transitions: 8 + chunks,
        // The chunk list; the result in one PutObject, or a multipart upload (create, each part,
        // complete); a Distributed Map's results and manifest.
        s3_puts: 1
            + if result_parts > 1 { result_parts + 2 } else { 1 }
            + if map_mode == MapMode::Distributed { 3 } else { 0 },
        // The input, read in one stream; the chunk list, when the Map is distributed.
        s3_gets: 1 + u64::from(map_mode == MapMode::Distributed),
    }
}

/// The execution input (an S3 event of the longest bucket and key) with the Lambda's answer:
/// every chunk reference when the Map is inline, only their count otherwise.
fn largest_state_bytes(chunks: u64, map_mode: MapMode, lines: u64) -> u64 {
    let event = object_created_event(&"b".repeat(LONGEST_BUCKET), &"k".repeat(LONGEST_KEY));
    let listed: Vec<ChunkRef> = match map_mode {
        MapMode::Inline => (0..chunks)
            .map(|index| ChunkRef {
                index: index as u32,
                first_line: 2 + index * lines,
            })
            .collect(),
        MapMode::Distributed => Vec::new(),
    };
    let answer = ListChunksResponse {
        run_id: uuid_sized(),
        count: chunks,
        chunks: listed,
    };
    let bytes = serde_json::to_vec(&event).map_or(0, |v| v.len()) + serde_json::to_vec(&answer).map_or(0, |v| v.len());
    bytes as u64
}

/// A run id as EventBridge makes them: a UUID.
fn uuid_sized() -> String {
    "00000000-0000-0000-0000-000000000000".to_owned()
}

/// A process Job's object as `eks:runJob.sync` returns it, with its logs at their byte limit.
fn largest_task_result_bytes(lines: u64) -> u64 {
    let (spec, _, refs) = local_deployment("estimate", lines, 0);
    let manifest = serde_json::to_vec(&job_manifest(Step::Process, &spec, &refs)).map_or(0, |v| v.len()) as u64;
    manifest + JOB_STATUS_BYTES + LOG_LIMIT_BYTES.parse::<u64>().unwrap_or(0)
}

impl RunEstimate {
    pub fn dynamodb_usd(&self) -> f64 {
        self.write_units as f64 * USD_PER_WRITE_UNIT
    }

    pub fn step_functions_usd(&self) -> f64 {
        self.state_transitions as f64 * USD_PER_STATE_TRANSITION
    }

    pub fn s3_usd(&self) -> f64 {
        self.s3_puts as f64 * USD_PER_S3_PUT + self.s3_gets as f64 * USD_PER_S3_GET
    }

    /// The write units a second of warm throughput raised above a new table's: warm
    /// throughput is raised, never lowered, so a lower setting raises nothing.
    pub fn warm_raise_units(&self) -> Option<u64> {
        let warm = self.size.warm_write_units?;
        Some(warm.saturating_sub(NEW_TABLE_WRITE_UNITS_PER_SECOND))
    }

    /// The raise's price, when there is a raise and a price for it.
    pub fn warm_throughput_usd(&self) -> Option<f64> {
        Some(self.warm_raise_units()? as f64 * self.warm_write_unit_usd?)
    }

    pub fn total_usd(&self) -> f64 {
        self.dynamodb_usd() + self.step_functions_usd() + self.s3_usd() + self.warm_throughput_usd().unwrap_or(0.0)
    }

    /// How long the process Jobs take to write the run to a table of `rate` write units a
    /// second, each paced to its share ([`pace::job_share`]): chunks start in rounds of
    /// [`RunEstimate::parallel_chunks`], and the last round's Jobs, fewer, leave the table part
    /// idle. The table's own bound (its rate over the write units) is never longer than this.
    pub fn paced_seconds(&self, rate: u64) -> f64 {
        let jobs = self.parallel_chunks;
        if jobs == 0 {
            return 0.0;
        }
        let share = pace::job_share(rate, self.chunks, self.size.max_concurrency);
        let lines = self.size.max_lines_per_batch.max(1);
        let (full, rest) = (self.size.rows / lines, self.size.rows % lines);
        let writing = |rows: u64| (rows * self.write_units_per_item) as f64 / share;
        let full_chunks_done = full.div_ceil(jobs) as f64 * writing(lines);
        // The short last chunk starts in the round after the full chunks before it.
        let last_chunk_done = match rest {
            0 => 0.0,
            rest => (full / jobs) as f64 * writing(lines) + writing(rest),
        };
        full_chunks_done.max(last_chunk_done)
    }

    /// What would stop the run, if anything.
    pub fn blockers(&self) -> Vec<String> {
        let mut blockers = Vec::new();
        if self.result_parts > RESULT_MAX_PARTS {
            blockers.push(format!(
                "the result needs {} parts of {} MiB, more than S3's {RESULT_MAX_PARTS}",
                self.result_parts,
                RESULT_PART_BYTES >> 20
            ));
        }
        if self.history_events_worst > HISTORY_EVENT_LIMIT {
            blockers.push(format!(
                "the history could reach {} events, more than {HISTORY_EVENT_LIMIT}",
                self.history_events_worst
            ));
        }
        blockers
    }
}

/// `1234567` → `1,234,567`.
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn duration(seconds: f64) -> String {
    if seconds >= 3600.0 {
        format!("{:.1} h", seconds / 3600.0)
    } else if seconds >= 60.0 {
        format!("{:.1} min", seconds / 60.0)
    } else {
        format!("{seconds:.1} s")
    }
}

fn bytes(n: u64) -> String {
    match n {
        n if n >= 1 << 30 => format!("{:.1} GiB", n as f64 / (1u64 << 30) as f64),
        n if n >= 1 << 20 => format!("{:.1} MiB", n as f64 / (1u64 << 20) as f64),
        n if n >= 1 << 10 => format!("{:.1} KiB", n as f64 / 1024.0),
        n => format!("{n} bytes"),
    }
}

impl RunEstimate {
    /// The time at the warm throughput, the paced Jobs' time (the bound a run meets: the table's
    /// rate shared by the Jobs at once, if each keeps its pace), and the warm throughput's raise.
    fn fmt_warm_and_jobs(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let warm = self.size.warm_write_units;
        if let (Some(units), Some(seconds)) = (warm, self.seconds_at_warm_throughput) {
            writeln!(
                f,
                "                 {} at its warm throughput of {} units/s",
                duration(seconds),
                grouped(units)
            )?;
        }
        if self.parallel_chunks == 0 {
            return Ok(());
        }
        let share = |rate| pace::job_share(rate, self.chunks, self.size.max_concurrency);
        let (mut time, mut pace) = (
            duration(self.paced_seconds(NEW_TABLE_WRITE_UNITS_PER_SECOND)),
            format!("{} units/s", grouped(share(NEW_TABLE_WRITE_UNITS_PER_SECOND) as u64)),
        );
        if let Some(units) = warm {
            time.push_str(&format!(" ({} warm)", duration(self.paced_seconds(units))));
            pace.push_str(&format!(" ({} warm)", grouped(share(units) as u64)));
        }
        let rounds = self.chunks.div_ceil(self.parallel_chunks);
        writeln!(
            f,
            "                 the Jobs: {time}, {} round(s) of {} at once, each paced to {pace};",
            grouped(rounds),
            grouped(self.parallel_chunks)
        )?;
        writeln!(
            f,
            "                 the run takes the Jobs' time if each keeps its pace, longer if not"
        )?;
        let (Some(units), Some(raise)) = (warm, self.warm_raise_units()) else {
            return Ok(());
        };
        let new = grouped(NEW_TABLE_WRITE_UNITS_PER_SECOND);
        match (raise, self.warm_throughput_usd()) {
            (0, _) => writeln!(
                f,
                "warm throughput  {} write units/s raise nothing over a new table's {new} (it is never lowered)",
                grouped(units)
            ),
            (_, Some(usd)) => writeln!(
                f,
                "warm throughput  raising {new} to {} write units/s: {} x ${} = ${usd:.2}",
                grouped(units),
                grouped(raise),
                self.warm_write_unit_usd.unwrap_or_default()
            ),
            (_, None) => writeln!(
                f,
                "warm throughput  raising {new} to {} write units/s ({} more) is charged per the DynamoDB pricing \
                 page;\n                 --warm-write-unit-usd PRICE adds it to the total",
                grouped(units),
                grouped(raise)
            ),
        }
    }
}

impl fmt::Display for RunEstimate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bound = match self.map_mode {
            MapMode::Inline => "at most",
            MapMode::Distributed => "more than",
        };
        let mode = format!(
            "{} Map: {bound} {}",
            self.map_mode.name(),
            grouped(INLINE_MAP_MAX_CHUNKS)
        );
        let size = &self.size;
        let concurrency = match size.max_concurrency {
            0 => "0 (the Map's own limit)".to_owned(),
            n => grouped(n),
        };
        writeln!(
            f,
            "a run of {} rows of {} bytes, {} rows a chunk, max_concurrency {concurrency}:",
            grouped(size.rows),
            grouped(size.bytes_per_row),
            grouped(size.max_lines_per_batch)
        )?;
        writeln!(f, "chunks           {} ({mode})", grouped(self.chunks))?;
        writeln!(f, "at once          {} process Jobs", grouped(self.parallel_chunks))?;
        writeln!(
            f,
            "largest payload  state {}, task result {} (limit {})",
            bytes(self.largest_state_bytes),
            bytes(self.largest_task_result_bytes),
            bytes(PAYLOAD_LIMIT_BYTES)
        )?;
        let children = match self.child_history_events {
            Some(n) => format!("; each chunk's child execution {n}"),
            None => String::new(),
        };
        writeln!(
            f,
            "history events   {} ({} with every retry){children} (limit {})",
            grouped(self.history_events),
            grouped(self.history_events_worst),
            grouped(HISTORY_EVENT_LIMIT)
        )?;
        writeln!(
            f,
            "DynamoDB         {} items in {} BatchWriteItem requests, {} write units ({} an item)",
            grouped(self.size.rows),
            grouped(self.batch_write_requests),
            grouped(self.write_units),
            self.write_units_per_item
        )?;
        writeln!(
            f,
            "                 {} at a new on-demand table's {} units/s",
            duration(self.seconds_at_new_table_throughput),
            grouped(NEW_TABLE_WRITE_UNITS_PER_SECOND)
        )?;
        self.fmt_warm_and_jobs(f)?;
        writeln!(
            f,
            "result           {} in {} part(s) of {} MiB (at most {})",
            bytes(self.result_bytes),
            grouped(self.result_parts),
            RESULT_PART_BYTES >> 20,
            grouped(RESULT_MAX_PARTS)
        )?;
        let warm = match self.warm_throughput_usd() {
            Some(usd) => format!(" + ${usd:.2} warm throughput"),
            None => String::new(),
        };
        writeln!(
            f,
            "cost             ${:.2} DynamoDB writes + ${:.2} Step Functions ({} transitions) + ${:.2} S3{warm} = ${:.2}",
            self.dynamodb_usd(),
            self.step_functions_usd(),
            grouped(self.state_transitions),
            self.s3_usd(),
            self.total_usd()
        )?;
        writeln!(
            f,
            "                 us-east-1 list prices; not included: the cluster's nodes, EFS, ElastiCache, data transfer"
        )?;
        for blocker in self.blockers() {
            writeln!(f, "would fail       {blocker}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scale::{DISTRIBUTED_MAP_PARALLELISM, INLINE_MAP_PARALLELISM};

    fn size(rows: u64) -> RunSize {
        RunSize {
            rows,
            bytes_per_row: 100,
            max_lines_per_batch: 30_000,
            max_concurrency: 0,
            warm_write_units: None,
        }
    }

    #[test]
    fn a_billion_rows_run_distributed_within_every_limit() {
        let e = estimate(size(1_000_000_000), None);
        assert_eq!(e.chunks, 33_334);
        assert_eq!(e.map_mode, MapMode::Distributed);
        // Unbounded, the Distributed Map keeps the inline Map's parallelism; set, up to 10,000.
        assert_eq!(e.parallel_chunks, INLINE_MAP_PARALLELISM);
        let wide = estimate(
            RunSize {
                max_concurrency: 20_000,
                ..size(1_000_000_000)
            },
            None,
        );
        assert_eq!(wide.parallel_chunks, DISTRIBUTED_MAP_PARALLELISM);
        // 33,333 chunks of 30,000 rows (1,200 requests each) and one of 10,000 (400).
        assert_eq!(e.batch_write_requests, 33_333 * 1_200 + 400);
        assert_eq!((e.write_units_per_item, e.write_units), (1, 1_000_000_000));
        assert_eq!(e.seconds_at_new_table_throughput, 250_000.0);
        assert!((e.dynamodb_usd() - 625.0).abs() < 1e-6);
        assert_eq!(e.state_transitions, 33_342);
        assert!(e.largest_state_bytes < 4 * 1024, "{}", e.largest_state_bytes);
        assert!(
            e.largest_task_result_bytes < 64 * 1024,
            "{}",
            e.largest_task_result_bytes
        );
        assert_eq!(e.child_history_events, Some(8));
        assert_eq!(e.result_parts, (48 * 1_000_000_001u64).div_ceil(8 << 20));
        assert!(e.blockers().is_empty(), "{:?}", e.blockers());
        let text = e.to_string();
        for expected in [
            "33,334 (distributed Map",
            "1,000,000,000 items",
            "69.4 h",
            "$625.00 DynamoDB",
        ] {
            assert!(text.contains(expected), "{expected}:\n{text}");
        }
    }

    #[test]
    fn a_small_run_stays_inline_with_its_chunk_list_in_the_state() {
        let e = estimate(
            RunSize {
                max_concurrency: 8,
                ..size(1_000_000)
            },
            None,
        );
        assert_eq!((e.chunks, e.map_mode, e.parallel_chunks), (34, MapMode::Inline, 8));
        assert_eq!(e.child_history_events, None);
        assert_eq!(e.history_events, 37 + 34 * 8);
        assert!(e.history_events_worst <= HISTORY_EVENT_LIMIT);
        // At the threshold the chunk list is the largest state, far under the limit.
        let at = estimate(
            RunSize {
                max_lines_per_batch: 1,
                ..size(INLINE_MAP_MAX_CHUNKS)
            },
            None,
        );
        assert_eq!(at.map_mode, MapMode::Inline);
        assert!(at.largest_state_bytes > 1550 * 10 && at.largest_state_bytes < 64 * 1024);
    }

    #[test]
    fn wide_rows_take_more_write_units_and_a_huge_result_is_flagged() {
        let wide = estimate(
            RunSize {
                bytes_per_row: 2_000,
                ..size(10)
            },
            None,
        );
        assert_eq!(wide.write_units_per_item, 3);
        let huge = estimate(size(10_000_000_000), None);
        assert_eq!(huge.blockers().len(), 1, "{:?}", huge.blockers());
        assert!(huge.to_string().contains("would fail"));
    }

    #[test]
    fn a_billion_rows_take_a_tenth_of_the_time_at_ten_times_the_warm_throughput() {
        let cold = estimate(size(1_000_000_000), None);
        assert_eq!(cold.seconds_at_warm_throughput, None);
        assert_eq!(duration(cold.seconds_at_new_table_throughput), "69.4 h");
        // 834 rounds of 40 Jobs at 100 units/s, 300 s a chunk: the last round, 14 Jobs, leaves
        // the table part idle.
        assert_eq!(cold.paced_seconds(4_000), 834.0 * 300.0);
        assert_eq!(duration(cold.paced_seconds(4_000)), "69.5 h");
        let text = cold.to_string();
        assert!(
            text.contains("the Jobs: 69.5 h, 834 round(s) of 40 at once, each paced to 100 units/s;"),
            "{text}"
        );
        assert!(!text.contains("warm"), "{text}");

        let warm = estimate(
            RunSize {
                warm_write_units: Some(40_000),
                ..size(1_000_000_000)
            },
            None,
        );
        assert_eq!(warm.seconds_at_warm_throughput, Some(25_000.0));
        assert_eq!(duration(25_000.0), "6.9 h");
        assert_eq!(warm.paced_seconds(40_000), 834.0 * 30.0);
        assert_eq!(warm.warm_raise_units(), Some(36_000));
        assert_eq!(warm.warm_throughput_usd(), None, "no price was given");
        assert_eq!(warm.total_usd(), cold.total_usd());
        let text = warm.to_string();
        for expected in [
            "69.4 h at a new on-demand table's 4,000 units/s",
            "6.9 h at its warm throughput of 40,000 units/s",
            "each paced to 100 units/s (1,000 warm)",
            "raising 4,000 to 40,000 write units/s (36,000 more) is charged per the DynamoDB pricing page",
            "--warm-write-unit-usd PRICE adds it to the total",
        ] {
            assert!(text.contains(expected), "{expected}:\n{text}");
        }
    }

    #[test]
    fn a_price_for_warm_throughput_adds_the_raise_to_the_cost() {
        let warm = RunSize {
            warm_write_units: Some(40_000),
            ..size(1_000_000_000)
        };
        let priced = estimate(warm, Some(0.01));
        let unpriced = estimate(warm, None);
        assert!((priced.warm_throughput_usd().unwrap() - 360.0).abs() < 1e-9);
        assert!((priced.total_usd() - unpriced.total_usd() - 360.0).abs() < 1e-9);
        let text = priced.to_string();
        for expected in [
            "raising 4,000 to 40,000 write units/s: 36,000 x $0.01 = $360.00",
            "+ $360.00 warm throughput = $985.86",
        ] {
            assert!(text.contains(expected), "{expected}:\n{text}");
        }
        // Warm throughput is never lowered: a setting under a new table's raises nothing.
        let low = estimate(
            RunSize {
                warm_write_units: Some(3_000),
                ..size(1_000)
            },
            Some(0.01),
        );
        assert_eq!(low.warm_throughput_usd(), Some(0.0));
        assert!(low.to_string().contains("raise nothing"), "{low}");
    }

    #[test]
    fn a_small_run_s_few_jobs_share_the_whole_rate() {
        // Three chunks, two full and a short one: three Jobs at 1,333 units/s; the full chunks
        // bound the time, a little over the table's.
        let e = estimate(size(70_000), None);
        assert_eq!((e.chunks, e.parallel_chunks), (3, 3));
        assert_eq!(e.seconds_at_new_table_throughput, 17.5);
        assert!((e.paced_seconds(4_000) - 22.5).abs() < 1e-9);
        assert!(
            e.to_string()
                .contains("1 round(s) of 3 at once, each paced to 1,333 units/s")
        );
        assert_eq!(estimate(size(0), None).paced_seconds(4_000), 0.0);
    }
}
