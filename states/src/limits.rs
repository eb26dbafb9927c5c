//! The Step Functions service quotas a definition meets as its runs grow, written once: the
//! interpreter enforces or applies them, and a project that renders definitions plans with the
//! same numbers.

/// The most a state's input or output, or a task's result, may hold: 256 KiB of UTF-8. The
/// interpreter fails a larger one with `States.DataLimitExceeded`, as the service does; it is
/// also the default batch size of an `ItemBatcher`.
pub const PAYLOAD_LIMIT_BYTES: u64 = 256 * 1024;

/// The events one execution's history may hold. The interpreter records past it; a project
/// keeps its definitions below it (an inline Map's iterations share their execution's history).
pub const HISTORY_EVENT_LIMIT: u64 = 25_000;

/// The iterations an inline Map runs at once at most, and what it runs when `MaxConcurrency`
/// is 0 or unset.
pub const INLINE_MAP_PARALLELISM: u64 = 40;

/// The child executions a Distributed Map runs at once at most, and what it runs when
/// `MaxConcurrency` is 0 or unset: "up to 10,000 parallel child workflow executions".
pub const DISTRIBUTED_MAP_PARALLELISM: u64 = 10_000;
