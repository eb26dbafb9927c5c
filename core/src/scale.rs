//! The Step Functions limits a run meets as it grows, and the chunk count past which the
//! pipeline's Map runs distributed. The limits themselves are `eventdriven_states::limits`,
//! re-exported here.
//!
//! An inline Map's iterations share their execution's history, which holds at most
//! [`HISTORY_EVENT_LIMIT`] events; its items travel in the state, which holds at most
//! [`PAYLOAD_LIMIT_BYTES`]. A Distributed Map reads its items from S3 and runs each as a child
//! execution with a history of its own, so neither limit grows with the chunk count.

// Written once, in the interpreter that models the service.
pub use eventdriven_states::limits::{
    DISTRIBUTED_MAP_PARALLELISM, HISTORY_EVENT_LIMIT, INLINE_MAP_PARALLELISM, PAYLOAD_LIMIT_BYTES,
};

/// The parts the result is uploaded in, and the most a multipart upload may have: together
/// they bound the result's size (80 GiB).
pub const RESULT_PART_BYTES: u64 = 8 << 20;
pub const RESULT_MAX_PARTS: u64 = 10_000;

/// An upper bound of the events recorded outside the Map, every retry of every state
/// included; the definition's tests count them.
pub const EVENTS_OUTSIDE_THE_MAP: u64 = 200;

/// The events a Task state records when it is retried `retries` times: entered and exited,
/// and per attempt scheduled, started, submitted, and succeeded or failed.
pub const fn task_events(retries: u64) -> u64 {
    2 + 4 * (1 + retries)
}

/// The events one inline iteration records at most: its start and end, and the process task.
/// A failed Job is not retried by Step Functions (its pods are, by Kubernetes, within the Job's
/// deadline: see `manifest`), so the task records one attempt.
pub const INLINE_ITERATION_EVENTS: u64 = 2 + task_events(0);

/// The most chunks an inline Map takes: past this, the history could overflow, or the chunk
/// list crowd the state's payload, so the chunks go to a Distributed Map.
pub const INLINE_MAP_MAX_CHUNKS: u64 = min(
    (HISTORY_EVENT_LIMIT - EVENTS_OUTSIDE_THE_MAP) / INLINE_ITERATION_EVENTS,
    PAYLOAD_LIMIT_BYTES / 4 / LONGEST_CHUNK_REF_JSON_BYTES,
);

/// A chunk reference in the chunk list at its longest: `"4294967295-18446744073709551615",`.
/// The list an inline Map takes keeps within a quarter of the state's payload limit.
const LONGEST_CHUNK_REF_JSON_BYTES: u64 = 34;

const fn min(a: u64, b: u64) -> u64 {
    if a < b { a } else { b }
}

/// How the pipeline's Map runs its chunks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapMode {
    /// Iterations in the execution's own history, items from the Lambda's answer.
    Inline,
    /// Child executions, items from the chunk list in S3.
    Distributed,
}

impl MapMode {
    /// The mode the definition's Choice picks for a run of `chunks` chunks.
    pub fn for_chunks(chunks: u64) -> MapMode {
        if chunks > INLINE_MAP_MAX_CHUNKS {
            MapMode::Distributed
        } else {
            MapMode::Inline
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            MapMode::Inline => "inline",
            MapMode::Distributed => "distributed",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::ChunkRef;

    #[test]
    fn the_threshold_leaves_room_in_the_history_for_every_iteration() {
        assert_eq!(INLINE_ITERATION_EVENTS, 8);
        assert_eq!(INLINE_MAP_MAX_CHUNKS, 1927, "the payload bounds it before the history");
        const { assert!(EVENTS_OUTSIDE_THE_MAP + INLINE_MAP_MAX_CHUNKS * INLINE_ITERATION_EVENTS <= HISTORY_EVENT_LIMIT) };
        assert_eq!(MapMode::for_chunks(INLINE_MAP_MAX_CHUNKS), MapMode::Inline);
        assert_eq!(MapMode::for_chunks(INLINE_MAP_MAX_CHUNKS + 1), MapMode::Distributed);
    }

    #[test]
    fn the_longest_chunk_list_an_inline_map_takes_fits_a_payload_with_room_to_spare() {
        let longest = ChunkRef {
            index: u32::MAX,
            first_line: u64::MAX,
        };
        let list = vec![longest; INLINE_MAP_MAX_CHUNKS as usize];
        let bytes = serde_json::to_vec(&list).unwrap().len() as u64;
        assert_eq!(bytes, INLINE_MAP_MAX_CHUNKS * LONGEST_CHUNK_REF_JSON_BYTES + 1);
        assert!(bytes < PAYLOAD_LIMIT_BYTES / 4, "{bytes} bytes");
    }
}
