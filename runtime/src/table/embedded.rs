//! The embedded table: a directory on local disk (an LSM-tree, fjall) that a user can query
//! after a local run. A chunk's items are staged, sorted, in a file of their own
//! ([`super::staged`]); the run's end (or the next opening of the table) merges every staged
//! file in one pass and ingests the result as one sorted run of table files. Ingested one chunk
//! at a time, overlapping files would be merged again by every compaction past 64 of them, and
//! a run's time would grow faster than its rows; staged, each item is written to the table
//! once, whatever the run's size.

use super::item::stored_item_json;
use super::{Items, Names, TableKey, staged};
use anyhow::{Context, Result};
use fjall::compaction::Leveled;
use fjall::config::{PartitioningPolicy, PinningPolicy};
use fjall::{Database, Keyspace, KeyspaceCreateOptions, PersistMode};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Block cache of the table; small, since a run writes and a query reads once.
const CACHE_BYTES: u64 = 8 << 20;
/// Memtable size before a flush to disk; bounds the table's share of a run's memory.
const MEMTABLE_BYTES: u64 = 16 << 20;
/// Ingested runs the first level holds before they are compacted: a run ingests one (tables
/// of earlier versions, one per chunk). Fewer files merged at once bound the memory a
/// compaction takes (a read buffer per file).
const L0_TABLES: u8 = 64;
/// Where, inside the table's directory, chunks' items wait for the table to take them.
const STAGED_DIR: &str = "staged";

/// Where the table keeps its attribute names' dictionary (the key [`DICTIONARY`], a JSON
/// list); a table without one, as earlier versions wrote them, reads with the order sample's.
const NAMES_KEYSPACE: &str = "names";
const DICTIONARY: &[u8] = b"dictionary";

/// Key: the item's key (see [`super::key`]). Value: the item in compact form (see
/// [`super::item`]), rendered as DynamoDB JSON when read. Clones share the open table.
#[derive(Clone)]
pub struct EmbeddedTable {
    database: Database,
    orders: Keyspace,
    names: Keyspace,
    /// Held while the dictionary is read and grown, so two chunks never grow it apart.
    growing_names: Arc<Mutex<()>>,
    staged: PathBuf,
}

impl EmbeddedTable {
    pub fn open(path: &Path) -> Result<Self> {
        discard_interrupted_creation(path)?;
        let db = Database::builder(path)
            .cache_size(CACHE_BYTES)
            // One background worker: more only spin on the two cores a run already keeps busy.
            .worker_threads(1)
            .open()
            .with_context(|| format!("opening the orders table {}", path.display()))?;
        let orders = db
            .keyspace("orders", || {
                KeyspaceCreateOptions::default()
                    .max_memtable_size(MEMTABLE_BYTES)
                    // Filters and indexes go through the block cache rather than staying in
                    // memory per table file, so memory does not grow with the table.
                    .filter_block_pinning_policy(PinningPolicy::disabled())
                    .index_block_pinning_policy(PinningPolicy::disabled())
                    // Partitioned, so that what each table file keeps open is a small top-level
                    // index, not its whole index.
                    .index_block_partitioning_policy(PartitioningPolicy::all(true))
                    .filter_block_partitioning_policy(PartitioningPolicy::all(true))
                    .compaction_strategy(Arc::new(Leveled::default().with_l0_threshold(L0_TABLES)))
            })
            .with_context(|| format!("opening the orders table {}", path.display()))?;
        let names = db
            .keyspace(NAMES_KEYSPACE, KeyspaceCreateOptions::default)
            .with_context(|| format!("opening the orders table {}", path.display()))?;
        let table = EmbeddedTable {
            database: db,
            orders,
            names,
            growing_names: Arc::default(),
            staged: path.join(STAGED_DIR),
        };
        // What a killed run staged is in the table before anything reads or writes it.
        table.take_staged()?;
        std::fs::create_dir_all(&table.staged).with_context(|| format!("creating {}", table.staged.display()))?;
        Ok(table)
    }

    /// The table's dictionary, `attributes` appended to it (and stored, fsynced) where missing.
    pub async fn names(&self, attributes: &[&str]) -> Result<Arc<Names>> {
        let table = self.clone();
        let attributes: Vec<String> = attributes.iter().map(|name| (*name).to_owned()).collect();
        tokio::task::spawn_blocking(move || {
            let _growing = table.growing_names.lock().expect("names lock");
            let stored = table.stored_names()?;
            let grown = stored.with(&attributes.iter().map(String::as_str).collect::<Vec<_>>());
            if grown != stored {
                table
                    .names
                    .insert(DICTIONARY, serde_json::to_vec(grown.as_slice())?)
                    .context("storing the table's attribute names")?;
                table
                    .database
                    .persist(PersistMode::SyncAll)
                    .context("storing the table's attribute names")?;
            }
            Ok(Arc::new(grown))
        })
        .await?
    }

    fn stored_names(&self) -> Result<Names> {
        match self
            .names
            .get(DICTIONARY)
            .context("reading the table's attribute names")?
        {
            None => Ok(Names::default()),
            Some(json) => Names::stored(serde_json::from_slice(&json).context("the table's attribute names")?),
        }
    }

    /// Stages `items` (see [`staged`]): durable once this returns, in the table from the next
    /// [`Self::take_staged`]. `written` gets the items once they are all copied into the staged
    /// file, before the wait for the disk.
    pub async fn put_all(&self, mut items: Items, written: impl FnOnce(Items) + Send + 'static) -> Result<()> {
        let dir = self.staged.clone();
        tokio::task::spawn_blocking(move || -> Result<()> {
            items.keep_last_per_key();
            let file = staged::write(&dir, items.iter().map(|item| (item.key(), item.compact())))
                .context("writing to the orders table")?;
            written(items);
            file.publish().context("writing to the orders table")?;
            Ok(())
        })
        .await?
    }

    /// Merges every staged file and ingests the items, then removes the files. The keys are cut
    /// into one range per core, each merged and ingested on a thread of its own as a sorted run
    /// of table files (visible whole, after it is fsynced). Killed before the removal, the next
    /// call ingests the same items again, over themselves.
    pub fn take_staged(&self) -> Result<()> {
        let files = staged::pending(&self.staged)?;
        if files.is_empty() {
            return Ok(());
        }
        let points = staged::split_points(&files, crate::runner::cores())?;
        std::thread::scope(|scope| {
            let ingesting: Vec<_> = staged::KeyRange::between(&points)
                .into_iter()
                .map(|range| {
                    let files = &files;
                    scope.spawn(move || self.ingest(files, range))
                })
                .collect();
            ingesting
                .into_iter()
                .try_for_each(|thread| thread.join().expect("an ingesting thread panicked"))
        })?;
        staged::remove(&self.staged, &files)
    }

    /// Ingests the items of `files` in `range`, merged, as one sorted run.
    fn ingest(&self, files: &[PathBuf], range: staged::KeyRange<'_>) -> Result<()> {
        let mut ingestion = self.orders.start_ingestion().context("writing to the orders table")?;
        staged::merge(files, range, |key, value| {
            ingestion.write(key, value).context("writing to the orders table")
        })?;
        ingestion.finish().context("writing to the orders table")
    }

    pub fn get(&self, key: &TableKey<'_>) -> Result<Option<serde_json::Value>> {
        match self.orders.get(key.encoded())? {
            Some(value) => Ok(Some(stored_item_json(&value, &self.stored_names()?)?)),
            None => Ok(None),
        }
    }

    /// Counts the items (a full scan: the table keeps no running count).
    pub fn count(&self) -> Result<u64> {
        Ok(self.orders.len()? as u64)
    }
}

/// The files fjall creates before its `version` marker, which it writes last.
const CREATION_FILES: [&str; 3] = ["lock", "0.jnl", "keyspaces"];

/// A table whose creation was killed before fjall wrote its `version` marker holds no data, and
/// fjall refuses to create it again over the files it left: those files are removed. Anything
/// else in the directory leaves it untouched, so a wrong `--table` path never loses data.
fn discard_interrupted_creation(path: &Path) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(path) else {
        return Ok(());
    };
    let names: Vec<String> = entries
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    if names.iter().any(|n| n == "version") || !names.iter().all(|n| CREATION_FILES.contains(&n.as_str())) {
        return Ok(());
    }
    std::fs::remove_dir_all(path).with_context(|| format!("removing the unfinished table {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::item::items;
    use crate::table::{KeyValue, Type};

    fn order(id: &str) -> TableKey<'_> {
        TableKey {
            partition: KeyValue {
                attribute: "OrderId",
                kind: Type::S,
                value: id,
            },
            sort: None,
        }
    }

    #[tokio::test]
    async fn items_survive_reopening_and_overwrite_by_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("orders");
        {
            let table = EmbeddedTable::open(&path).unwrap();
            assert_eq!(table.count().unwrap(), 0);
            table.put_all(items(&[("42", "1")]), drop).await.unwrap();
            table.put_all(items(&[("42", "2"), ("42", "3")]), drop).await.unwrap();
        }
        let table = EmbeddedTable::open(&path).unwrap();
        assert_eq!(table.count().unwrap(), 1);
        assert_eq!(
            table.get(&order("42")).unwrap(),
            Some(serde_json::json!({"OrderId": {"S": "42"}, "UnitsSold": {"N": "3"}}))
        );
        assert_eq!(table.get(&order("43")).unwrap(), None);
    }

    #[tokio::test]
    async fn staged_chunks_enter_the_table_at_once_the_latest_winning() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("orders");
        let table = EmbeddedTable::open(&path).unwrap();
        // More stagings than the table holds ingested runs before compacting them; each id is
        // written by several, the last of which must win.
        let mut latest = std::collections::HashMap::new();
        for chunk in 0..80 {
            let units = chunk.to_string();
            let ids: Vec<String> = (0..50).map(|i| ((i * 7 + chunk) % 200).to_string()).collect();
            let rows: Vec<(&str, &str)> = ids.iter().map(|id| (id.as_str(), units.as_str())).collect();
            table.put_all(items(&rows), drop).await.unwrap();
            latest.extend(ids.into_iter().map(|id| (id, units.clone())));
        }
        assert_eq!(table.count().unwrap(), 0, "staged, not yet in the table");
        table.take_staged().unwrap();
        assert!(staged::pending(&table.staged).unwrap().is_empty());
        assert_eq!(table.count().unwrap(), latest.len() as u64);
        for (id, units) in latest {
            let item = table.get(&order(&id)).unwrap().unwrap();
            assert_eq!(item["UnitsSold"]["N"], serde_json::json!(units), "order {id}");
        }
    }

    #[tokio::test]
    async fn staged_files_taken_again_after_a_crash_change_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("orders");
        let copies = dir.path().join("copies");
        std::fs::create_dir_all(&copies).unwrap();
        {
            let table = EmbeddedTable::open(&path).unwrap();
            table.put_all(items(&[("1", "10"), ("2", "20")]), drop).await.unwrap();
            table.put_all(items(&[("2", "21"), ("3", "30")]), drop).await.unwrap();
            // As if killed after the ingestion, before the files were removed.
            for file in staged::pending(&table.staged).unwrap() {
                std::fs::copy(&file, copies.join(file.file_name().unwrap())).unwrap();
            }
            table.take_staged().unwrap();
        }
        for file in std::fs::read_dir(&copies).unwrap() {
            let file = file.unwrap().path();
            std::fs::copy(&file, path.join(STAGED_DIR).join(file.file_name().unwrap())).unwrap();
        }
        // Opening takes them again.
        let table = EmbeddedTable::open(&path).unwrap();
        assert!(staged::pending(&table.staged).unwrap().is_empty());
        assert_eq!(table.count().unwrap(), 3);
        let units = table.get(&order("2")).unwrap().unwrap()["UnitsSold"]["N"].clone();
        assert_eq!(units, serde_json::json!("21"));
    }

    #[tokio::test]
    async fn the_dictionary_is_stored_once_grown_and_kept_across_runs() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("records");
        {
            let table = EmbeddedTable::open(&path).unwrap();
            let orders = table.names(&["OrderId", "UnitsSold"]).await.unwrap();
            assert_eq!(*orders, Names::default());
            assert_eq!(
                table.names.get(DICTIONARY).unwrap(),
                None,
                "the order sample's names store nothing"
            );
            let first = table.names(&["Sku", "InStock"]).await.unwrap();
            assert_eq!(first.as_slice()[15..], ["Sku", "InStock"]);
        }
        let table = EmbeddedTable::open(&path).unwrap();
        let later = table.names(&["Added", "InStock"]).await.unwrap();
        assert_eq!(later.as_slice()[15..], ["Sku", "InStock", "Added"]);
        assert_eq!(table.stored_names().unwrap(), *later);
    }

    #[test]
    fn a_creation_killed_before_its_version_marker_is_started_afresh() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("orders.table");
        std::fs::create_dir_all(path.join("keyspaces")).unwrap();
        std::fs::write(path.join("lock"), b"").unwrap();
        std::fs::write(path.join("0.jnl"), b"").unwrap();
        assert!(EmbeddedTable::open(&path).is_ok());

        // A directory holding anything else is never removed.
        let other = dir.path().join("other");
        std::fs::create_dir_all(&other).unwrap();
        std::fs::write(other.join("notes.txt"), b"mine").unwrap();
        let _ = EmbeddedTable::open(&other);
        assert!(other.join("notes.txt").exists());
    }
}
