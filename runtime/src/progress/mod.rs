//! The progress store: per run, the set of chunks not yet processed (Redis in the cloud,
//! an in-process set locally).

mod memory;
mod redis;

pub use self::memory::MemoryProgress;
pub use self::redis::{RedisProgress, client as redis_client};

use anyhow::Result;
use eventdriven_core::contract::ChunkRef;
use std::path::Path;

/// The progress store behind whichever backend `--redis-url` selects; clones share it.
#[derive(Clone)]
pub enum ProgressStore {
    Memory(MemoryProgress),
    Redis(RedisProgress),
}

/// The URL that selects the in-process store.
pub const MEMORY_URL: &str = "memory:";

impl ProgressStore {
    /// `memory:` for the in-process set, `redis://` or `rediss://` for a server. The password,
    /// when `auth_token` is given, is added here and never printed.
    pub async fn open(url: &str, auth_token: Option<String>) -> Result<Self> {
        Self::open_verified_by(url, auth_token, None).await
    }

    /// [`ProgressStore::open`], with a `rediss://` server's certificate verified against the CAs
    /// of `ca_file` (PEM) instead of the system's roots.
    pub async fn open_verified_by(url: &str, auth_token: Option<String>, ca_file: Option<&Path>) -> Result<Self> {
        if url == MEMORY_URL {
            return Ok(ProgressStore::Memory(MemoryProgress::default()));
        }
        Ok(ProgressStore::Redis(
            RedisProgress::connect(url, auth_token, ca_file).await?,
        ))
    }

    /// Makes `chunks` the whole pending set of `run` (DEL then SADD, atomically).
    pub async fn replace(&self, run: &str, chunks: &[ChunkRef]) -> Result<()> {
        match self {
            ProgressStore::Memory(s) => s.replace(run, chunks),
            ProgressStore::Redis(s) => s.replace(run, chunks).await,
        }
    }

    /// Adds chunks to the pending set (SADD): used to re-queue chunks whose output is missing.
    pub async fn add(&self, run: &str, chunks: &[ChunkRef]) -> Result<()> {
        match self {
            ProgressStore::Memory(s) => s.add(run, chunks),
            ProgressStore::Redis(s) => s.add(run, chunks).await,
        }
    }

    /// The pending chunks, sorted.
    pub async fn pending(&self, run: &str) -> Result<Vec<ChunkRef>> {
        let mut chunks = match self {
            ProgressStore::Memory(s) => s.pending(run),
            ProgressStore::Redis(s) => s.pending(run).await?,
        };
        chunks.sort();
        Ok(chunks)
    }

    pub async fn pending_count(&self, run: &str) -> Result<u64> {
        match self {
            ProgressStore::Memory(s) => Ok(s.pending(run).len() as u64),
            ProgressStore::Redis(s) => s.pending_count(run).await,
        }
    }

    /// Marks a chunk done (SREM).
    pub async fn complete(&self, run: &str, chunk: ChunkRef) -> Result<()> {
        match self {
            ProgressStore::Memory(s) => s.complete(run, chunk),
            ProgressStore::Redis(s) => s.complete(run, chunk).await,
        }
    }
}

/// The Redis key of a run's pending set.
pub fn set_key(run: &str) -> String {
    format!("eventdriven:{run}:pending")
}
