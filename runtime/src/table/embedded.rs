//! The embedded table: a directory on local disk (an LSM-tree, fjall) that a user can query
//! after a local run. Each chunk's items are ingested as one sorted table file, so storing the
//! first 64 chunks costs about what writing them once does, whatever their key order; past
//! that, compactions rewrite what is stored, and a run's time grows faster than its rows.

use super::item::stored_item_json;
use super::{Items, Names, TableKey};
use anyhow::{Context, Result};
use fjall::compaction::Leveled;
use fjall::config::{PartitioningPolicy, PinningPolicy};
use fjall::{Database, Keyspace, KeyspaceCreateOptions, PersistMode};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// Block cache of the table; small, since a run writes and a query reads once.
const CACHE_BYTES: u64 = 8 << 20;
/// Memtable size before a flush to disk; bounds the table's share of a run's memory.
const MEMTABLE_BYTES: u64 = 16 << 20;
/// Ingested table files the first level holds before they are compacted: a run ingests one
/// per chunk, and every compaction rewrites the level below too (the files' key ranges all
/// overlap). Fewer files merged at once bound the memory a compaction takes (a read buffer per
/// file): at 64, a 10,000,000-row run stays under 64 MiB (`make bench`).
const L0_TABLES: u8 = 64;

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
        Ok(EmbeddedTable {
            database: db,
            orders,
            names,
            growing_names: Arc::default(),
        })
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

    /// Writes `items` as one new table file of the LSM tree, bypassing the journal and the
    /// memtable: it becomes visible whole, after it is fsynced, and newer than anything already
    /// stored under the same keys. `written` gets the items once they are all copied into the
    /// file, before the wait for the disk.
    pub async fn put_all(&self, mut items: Items, written: impl FnOnce(Items) + Send + 'static) -> Result<()> {
        let orders = self.orders.clone();
        tokio::task::spawn_blocking(move || -> Result<()> {
            items.keep_last_per_key();
            let mut ingestion = orders.start_ingestion().context("writing to the orders table")?;
            for item in items.iter() {
                ingestion
                    .write(item.key(), item.compact())
                    .context("writing to the orders table")?;
            }
            written(items);
            ingestion.finish().context("writing to the orders table")
        })
        .await?
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
