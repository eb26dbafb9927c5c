//! The in-process progress store of local runs.

use anyhow::Result;
use eventdriven_core::contract::ChunkRef;
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
pub struct MemoryProgress {
    sets: Arc<Mutex<HashMap<String, BTreeSet<ChunkRef>>>>,
}

impl MemoryProgress {
    pub fn replace(&self, run: &str, chunks: &[ChunkRef]) -> Result<()> {
        self.sets
            .lock()
            .unwrap()
            .insert(run.to_string(), chunks.iter().cloned().collect());
        Ok(())
    }

    pub fn add(&self, run: &str, chunks: &[ChunkRef]) -> Result<()> {
        self.sets
            .lock()
            .unwrap()
            .entry(run.to_string())
            .or_default()
            .extend(chunks.iter().copied());
        Ok(())
    }

    pub fn pending(&self, run: &str) -> Vec<ChunkRef> {
        self.sets
            .lock()
            .unwrap()
            .get(run)
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default()
    }

    pub fn complete(&self, run: &str, chunk: ChunkRef) -> Result<()> {
        if let Some(set) = self.sets.lock().unwrap().get_mut(run) {
            set.remove(&chunk);
        }
        Ok(())
    }
}
