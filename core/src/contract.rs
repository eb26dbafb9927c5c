//! The settings contract between what the provider deploys and what the runtime reads.
//!
//! Every Job manifest and the Lambda's environment are rendered from [`SETTINGS`], and the
//! runtime's command-line flags take their environment fallbacks from the same constants, so
//! a setting renamed here is renamed on both sides at once.

/// One step of the pipeline, each run as `eventdriven <step>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Step {
    Split,
    ListChunks,
    Process,
    Merge,
}

impl Step {
    pub const ALL: [Step; 4] = [Step::Split, Step::ListChunks, Step::Process, Step::Merge];

    /// The subcommand of the `eventdriven` binary that runs this step.
    pub fn subcommand(self) -> &'static str {
        match self {
            Step::Split => "split",
            Step::ListChunks => "list-chunks",
            Step::Process => "process",
            Step::Merge => "merge",
        }
    }
}

/// Name of the pipeline; seeds the deterministic ConfirmationId.
pub const PIPELINE_NAME: &str = "PIPELINE_NAME";
/// Identity of one run (the triggering event's id); keys the progress set and the work directory.
pub const RUN_ID: &str = "RUN_ID";
/// Where the input object lives: `s3://bucket/key` or a local path.
pub const INPUT_URL: &str = "INPUT_URL";
/// Where the merged result goes: `s3://bucket/key` or a local path.
pub const OUTPUT_URL: &str = "OUTPUT_URL";
/// Shared working directory (the EFS mount in the cloud).
pub const WORK_DIR: &str = "WORK_DIR";
/// Progress store: `redis://` / `rediss://` URL, or `memory:` for the in-process set.
pub const REDIS_URL: &str = "REDIS_URL";
/// Orders table: `dynamodb://NAME` or a local directory holding the embedded table.
pub const TABLE_URL: &str = "TABLE_URL";
/// ARN of the Secrets Manager secret holding the Redis auth token, when the store needs one.
/// The token itself never appears in a definition, manifest or log.
pub const REDIS_AUTH_SECRET_ARN: &str = "REDIS_AUTH_SECRET_ARN";
/// A PEM file of the certificate authorities a `rediss://` server's certificate is verified
/// against, instead of the system's roots. No deployment renders it, so it is not in
/// [`SETTINGS`]: ElastiCache's certificates are publicly trusted; `local-cloud` sets it to the CA
/// of its own TLS Redis. Verification is never turned off.
pub const REDIS_CA_FILE: &str = "REDIS_CA_FILE";
/// Data rows per chunk (the variable keeps the name of the `max_lines_per_batch` attribute:
/// it counts rows, not lines, and a batch is a chunk).
pub const MAX_LINES_PER_BATCH: &str = "MAX_LINES_PER_BATCH";
/// The chunk a `process` Job works on, as returned by `list-chunks`.
pub const CHUNK: &str = "CHUNK";
/// Where split writes the run's chunk list (`s3://bucket/runs/<run id>/chunks.json`, a JSON
/// array of chunk references): a run with more chunks than an inline Map takes reads its items
/// from there.
pub const CHUNK_LIST_URL: &str = "CHUNK_LIST_URL";
/// The declared records (`record::RecordSpec` as JSON); unset, the order layout.
pub const RECORD: &str = "RECORD";
/// The table's name, for the user's process step (a `process` block) to write items with an
/// AWS SDK; unset with `table = false`. The built-in step reads [`TABLE_URL`] instead.
pub const TABLE_NAME: &str = "TABLE_NAME";
/// The pipeline's bucket, for the user's process step.
pub const BUCKET: &str = "BUCKET";
/// The table's write rate, in units a second, which the built-in process Jobs of a run share
/// (`pace::table_write_units`); unset (no table, a user's step, an older manifest), the Job
/// writes unpaced.
pub const TABLE_WRITE_UNITS: &str = "TABLE_WRITE_UNITS";
/// The pipeline's `max_concurrency`: with the run's chunks, how many process Jobs write at once.
pub const MAX_CONCURRENCY: &str = "MAX_CONCURRENCY";
/// The run's chunks, as list-chunks counted them for the Map: the Map's mode and how many of its
/// Jobs write at once follow from it.
pub const RUN_CHUNKS: &str = "RUN_CHUNKS";
/// `true` keeps a run's chunks in the work directory after merge; by default merge removes
/// them once the result is published, keeping only its summary.
pub const KEEP_WORK: &str = "KEEP_WORK";

/// A setting the runtime reads from its environment.
#[derive(Clone, Copy, Debug)]
pub struct Setting {
    pub name: &'static str,
    /// The steps that cannot run without it.
    pub required_by: &'static [Step],
    pub doc: &'static str,
}

use Step::*;

/// Every setting the runtime reads, with the steps that need it.
pub const SETTINGS: &[Setting] = &[
    Setting {
        name: PIPELINE_NAME,
        required_by: &[Process],
        doc: "pipeline name, seeds ConfirmationId",
    },
    Setting {
        name: RUN_ID,
        required_by: &[Split, Process, Merge],
        doc: "run id, keys the progress set (the Lambda gets it in its payload)",
    },
    Setting {
        name: INPUT_URL,
        required_by: &[Split],
        doc: "input object URL",
    },
    Setting {
        name: OUTPUT_URL,
        required_by: &[Merge],
        doc: "result object URL",
    },
    Setting {
        name: WORK_DIR,
        required_by: &[Split, Process, Merge],
        doc: "shared work directory (the Lambda reads only the progress store)",
    },
    Setting {
        name: REDIS_URL,
        required_by: &[Split, ListChunks, Process, Merge],
        doc: "progress store URL",
    },
    Setting {
        name: REDIS_AUTH_SECRET_ARN,
        required_by: &[],
        doc: "secret holding the Redis auth token (optional)",
    },
    Setting {
        name: CHUNK_LIST_URL,
        required_by: &[Split],
        doc: "where split writes the run's chunk list",
    },
    Setting {
        name: TABLE_URL,
        required_by: &[Process],
        doc: "orders table URL (unset with `table = false`, where only a user's step processes)",
    },
    Setting {
        name: MAX_LINES_PER_BATCH,
        required_by: &[Split],
        doc: "data rows per chunk",
    },
    Setting {
        name: CHUNK,
        required_by: &[Process],
        doc: "chunk reference to process",
    },
    Setting {
        name: RECORD,
        required_by: &[],
        doc: "declared records as JSON (optional: the order layout)",
    },
    Setting {
        name: TABLE_NAME,
        required_by: &[],
        doc: "the table's name, for a user's process step (optional: only with a process block and a table)",
    },
    Setting {
        name: BUCKET,
        required_by: &[],
        doc: "the pipeline's bucket, for a user's process step (optional: only with a process block)",
    },
    Setting {
        name: TABLE_WRITE_UNITS,
        required_by: &[],
        doc: "the table's write units a second, which the built-in process Jobs share (optional: unpaced)",
    },
    Setting {
        name: MAX_CONCURRENCY,
        required_by: &[],
        doc: "the pipeline's max_concurrency, for pacing (optional: 0)",
    },
    Setting {
        name: RUN_CHUNKS,
        required_by: &[],
        doc: "the run's chunks as the Map counted them, for pacing (optional: as many Jobs as the Map runs)",
    },
    Setting {
        name: KEEP_WORK,
        required_by: &[],
        doc: "keep the run's chunks after merge (optional)",
    },
];

/// Names of the settings `step` cannot run without.
pub fn required_for(step: Step) -> impl Iterator<Item = &'static str> {
    SETTINGS
        .iter()
        .filter(move |s| s.required_by.contains(&step))
        .map(|s| s.name)
}

/// The list-chunks function's timeout: it only reads one Redis set.
pub const LIST_CHUNKS_FUNCTION_TIMEOUT_SECONDS: i32 = 60;

/// Default rows per chunk, as in the product brief.
pub const DEFAULT_ROWS_PER_CHUNK: u64 = 30_000;

/// The Lambda's payload field carrying the run id, and the fields of its answer holding the
/// chunks and their count.
pub const LIST_CHUNKS_RUN_ID_FIELD: &str = "run_id";
pub const LIST_CHUNKS_CHUNKS_FIELD: &str = "chunks";
pub const LIST_CHUNKS_COUNT_FIELD: &str = "count";

/// The bucket prefix where runs keep what Step Functions reads or writes for them: the chunk
/// list and a Distributed Map's results. It must not overlap the input prefix.
pub const RUNS_PREFIX: &str = "runs/";

/// Where a run keeps its objects: `runs/<run id>`.
pub fn run_prefix(run_id: &str) -> String {
    format!("{RUNS_PREFIX}{run_id}")
}

/// The key of a run's chunk list, for `run_id`.
pub fn chunk_list_key(run_id: &str) -> String {
    format!("{}/chunks.json", run_prefix(run_id))
}

/// Where a Distributed Map writes its children's results (under `<map run id>/`): a fixed
/// prefix, as `ResultWriter` takes no path.
pub const MAP_RESULTS_PREFIX: &str = "runs/map-results";

/// How long what runs leave under [`RUNS_PREFIX`] is kept (a lifecycle rule of the bucket).
pub const RUNS_EXPIRATION_DAYS: i32 = 7;

/// What the state machine sends the list-chunks Lambda (its `Payload`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ListChunksRequest {
    pub run_id: String,
}

/// What the list-chunks Lambda answers: how many chunks the run has pending and, when an inline
/// Map can take them ([`crate::scale::INLINE_MAP_MAX_CHUNKS`] or fewer), the chunks themselves.
/// Past that, `chunks` is empty and a Distributed Map reads them from the chunk list.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ListChunksResponse {
    pub run_id: String,
    pub count: u64,
    pub chunks: Vec<ChunkRef>,
}

/// A chunk's compact reference, `{index:06}-{first_line}`: short enough that thousands fit in a
/// Step Functions payload, and carrying the input line its first row came from. It travels as
/// that text (in the manifest, the progress store, the chunk list and the Map's items) and is
/// parsed once, where it enters a step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct ChunkRef {
    pub index: u32,
    pub first_line: u64,
}

impl std::fmt::Display for ChunkRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:06}-{}", self.index, self.first_line)
    }
}

/// Text that is not a [`ChunkRef`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a chunk reference (expected INDEX-FIRSTLINE, e.g. 000003-90002)")]
pub struct NotAChunkRef(pub String);

impl std::str::FromStr for ChunkRef {
    type Err = NotAChunkRef;
    fn from_str(s: &str) -> Result<Self, NotAChunkRef> {
        let bad = || NotAChunkRef(s.to_owned());
        let (index, line) = s.split_once('-').ok_or_else(bad)?;
        Ok(ChunkRef {
            index: index.parse().map_err(|_| bad())?,
            first_line: line.parse().map_err(|_| bad())?,
        })
    }
}

impl From<ChunkRef> for String {
    fn from(chunk: ChunkRef) -> String {
        chunk.to_string()
    }
}

impl TryFrom<String> for ChunkRef {
    type Error = NotAChunkRef;
    fn try_from(text: String) -> Result<Self, NotAChunkRef> {
        text.parse()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lambda_messages_use_the_fields_the_definition_reads_and_writes() {
        let request = serde_json::to_value(ListChunksRequest { run_id: "r".into() }).unwrap();
        assert_eq!(request[LIST_CHUNKS_RUN_ID_FIELD], "r");
        let response = ListChunksResponse {
            run_id: "r".into(),
            count: 1,
            chunks: vec![ChunkRef {
                index: 0,
                first_line: 2,
            }],
        };
        let json = serde_json::to_value(&response).unwrap();
        assert_eq!(json[LIST_CHUNKS_CHUNKS_FIELD][0], "000000-2");
        assert_eq!(json[LIST_CHUNKS_COUNT_FIELD], 1);
        assert_eq!(chunk_list_key("r"), "runs/r/chunks.json");
        assert!(MAP_RESULTS_PREFIX.starts_with(RUNS_PREFIX));
        assert_eq!(serde_json::from_value::<ListChunksResponse>(json).unwrap(), response);
    }

    #[test]
    fn chunk_refs_round_trip_and_sort_in_input_order() {
        let a = ChunkRef {
            index: 3,
            first_line: 90002,
        };
        assert_eq!(a.to_string(), "000003-90002");
        assert_eq!("000003-90002".parse(), Ok(a));
        assert!("x-1".parse::<ChunkRef>().is_err());
        assert!("../etc".parse::<ChunkRef>().is_err());
        assert!(serde_json::from_str::<ChunkRef>("\"../etc\"").is_err());
        let b = ChunkRef {
            index: 10,
            first_line: 2,
        };
        assert!(a < b);
    }

    #[test]
    fn every_job_needs_a_run_id_and_work_dir() {
        for step in [Step::Split, Step::Process, Step::Merge] {
            let names: Vec<_> = required_for(step).collect();
            assert!(names.contains(&RUN_ID), "{step:?}");
            assert!(names.contains(&WORK_DIR), "{step:?}");
        }
    }

    #[test]
    fn the_lambda_needs_only_the_progress_store() {
        assert_eq!(required_for(Step::ListChunks).collect::<Vec<_>>(), [REDIS_URL]);
    }

    #[test]
    fn process_needs_its_chunk_and_table() {
        let names: Vec<_> = required_for(Step::Process).collect();
        assert!(names.contains(&CHUNK) && names.contains(&TABLE_URL));
        assert!(!required_for(Step::Split).any(|n| n == CHUNK));
    }

    #[test]
    fn setting_names_are_unique() {
        let mut names: Vec<_> = SETTINGS.iter().map(|s| s.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), SETTINGS.len());
    }
}
