//! The embedded table: a directory on local disk that a user can query after a local run. A
//! chunk's items are staged, sorted, in a value file of their own ([`super::value_files`]);
//! the run's end (or the next opening of the table) merges the keys of every staged file in
//! one pass and ingests them into an LSM-tree (fjall) as one sorted run, each key with a
//! pointer to its value. Ingested one chunk at a time, overlapping files would be merged again
//! by every compaction past 64 of them, and a run's time would grow faster than its rows;
//! staged, each item's bytes are written once, whatever the run's size.

use super::item::stored_item_json;
use super::value_files::{self, Collection, Pointer, ValueFile, ValueFiles};
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
/// Where, inside the table's directory, versions before value files staged chunks' items;
/// what a killed run of such a version left there is taken at the next opening.
const EARLIER_STAGED_DIR: &str = "staged";

/// Where the table keeps its attribute names' dictionary (the key [`DICTIONARY`], a JSON
/// list); a table without one, as earlier versions wrote them, reads with the order sample's.
const NAMES_KEYSPACE: &str = "names";
const DICTIONARY: &[u8] = b"dictionary";

/// Key: the item's key (see [`super::key`]). Value: a [`Pointer`] to the item in compact form
/// (see [`super::item`]) in a value file, or, in tables of earlier versions, the item itself;
/// rendered as DynamoDB JSON when read. Clones share the open table.
#[derive(Clone)]
pub struct EmbeddedTable {
    database: Database,
    orders: Keyspace,
    names: Keyspace,
    /// Held while the dictionary is read and grown, so two chunks never grow it apart.
    growing_names: Arc<Mutex<()>>,
    values: Arc<ValueFiles>,
    /// Held while staged files are taken (and garbage collected), one taking at a time.
    taking: Arc<Mutex<()>>,
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
                    // Lookups are of orders that exist; without bloom filters, an ingestion of
                    // tens of millions of pointers holds no filter of theirs in memory until a
                    // table file is finished.
                    .expect_point_read_hits(true)
            })
            .with_context(|| format!("opening the orders table {}", path.display()))?;
        let names = db
            .keyspace(NAMES_KEYSPACE, KeyspaceCreateOptions::default)
            .with_context(|| format!("opening the orders table {}", path.display()))?;
        let values = ValueFiles::open(path.join(value_files::DIR))?;
        take_earlier_staged(&path.join(EARLIER_STAGED_DIR), &values)?;
        let table = EmbeddedTable {
            database: db,
            orders,
            names,
            growing_names: Arc::default(),
            values: Arc::new(values),
            taking: Arc::default(),
        };
        // What a killed run staged is in the table before anything reads or writes it.
        table.take_staged()?;
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
        let values = self.values.clone();
        tokio::task::spawn_blocking(move || -> Result<()> {
            items.keep_last_per_key();
            let file = values
                .stage(items.iter().map(|item| (item.key(), item.compact())))
                .context("writing to the orders table")?;
            written(items);
            file.publish().context("writing to the orders table")?;
            Ok(())
        })
        .await?
    }

    /// Merges the keys of every staged file and ingests them with pointers to their values,
    /// then marks the files taken. The keys are cut into one range per core, each merged and
    /// ingested on a thread of its own as a sorted run of table files (visible whole, after it
    /// is fsynced). Killed before the marking, the next call ingests the same pointers again,
    /// over themselves. Then collects garbage, when the files hold more than twice the items
    /// the table has keys.
    pub fn take_staged(&self) -> Result<()> {
        let _taking = self.taking.lock().expect("taking lock");
        let files = self.values.pending()?;
        if files.is_empty() {
            return Ok(());
        }
        let indexed = files
            .iter()
            .map(|file| staged::Indexed::read(&file.path))
            .collect::<Result<Vec<_>>>()?;
        let points = staged::split_points(&indexed, crate::runner::cores());
        let keys = std::thread::scope(|scope| {
            let ingesting: Vec<_> = staged::KeyRange::between(&points)
                .into_iter()
                .map(|range| {
                    let (files, indexed) = (&files, &indexed);
                    scope.spawn(move || self.ingest(files, indexed, range))
                })
                .collect();
            ingesting.into_iter().try_fold(0, |keys, thread| {
                Ok::<_, anyhow::Error>(keys + thread.join().expect("an ingesting thread panicked")?)
            })
        })?;
        self.values.mark_taken(&files)?;
        self.collect_garbage(keys)
    }

    /// Ingests the keys of `files` in `range`, merged, as one sorted run, each with a pointer
    /// to its value; returns how many.
    fn ingest(&self, files: &[ValueFile], indexed: &[staged::Indexed], range: staged::KeyRange<'_>) -> Result<u64> {
        let mut ingestion = self.orders.start_ingestion().context("writing to the orders table")?;
        let mut pointer = Vec::new();
        let keys = staged::merge(indexed, range, |item| {
            Pointer {
                file: files[item.file].id,
                offset: item.value_offset,
                length: item.value_length,
            }
            .encode(&mut pointer);
            ingestion
                .write(item.key, &pointer)
                .context("writing to the orders table")
        })?;
        ingestion.finish().context("writing to the orders table")?;
        Ok(keys)
    }

    /// Removes the value files nothing points to, and copies the live items of those mostly
    /// garbage to new files first, when the files hold more than twice the items the table has
    /// keys: at least `keys`, those the latest ingestion pointed to. A collection reads every
    /// pointer, and the table's keys at least double between two, so its cost per item
    /// written stays the same whatever the table's size.
    fn collect_garbage(&self, keys: u64) -> Result<()> {
        let files = self.values.taken()?;
        let mut items = Vec::with_capacity(files.len());
        for file in &files {
            items.push(staged::item_count(&file.path)?);
        }
        if !value_files::needs_collection(items.iter().sum(), keys.max(self.values.keys_counted()?)) {
            return Ok(());
        }
        let mut live = std::collections::HashMap::<u64, u64>::new();
        let mut counted = 0;
        for entry in self.orders.iter() {
            let value = entry.value().context("reading the orders table")?;
            if let Some(pointer) = Pointer::decode(&value)? {
                *live.entry(pointer.file).or_default() += 1;
            }
            counted += 1;
        }
        let shares: Vec<(u64, u64, u64)> = files
            .iter()
            .zip(&items)
            .map(|(file, &items)| (file.id, items, live.get(&file.id).copied().unwrap_or(0)))
            .collect();
        let plan = Collection::plan(&shares);
        let by_id = |ids: &[u64]| -> Vec<ValueFile> { files.iter().filter(|f| ids.contains(&f.id)).cloned().collect() };
        for file in by_id(&plan.copy) {
            self.copy_live_items(&file)?;
        }
        self.values.remove(&by_id(&plan.remove))?;
        self.values.remove(&by_id(&plan.copy))?;
        self.values.set_keys_counted(counted)
    }

    /// Copies the items of `file` the table still points to into a new file, and points the
    /// table to the copies.
    fn copy_live_items(&self, file: &ValueFile) -> Result<()> {
        let mut kept: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        staged::for_each(&file.path, |key, offset, value| {
            let stored = self.orders.get(key).context("reading the orders table")?;
            let points_here = match stored.as_deref().map(Pointer::decode).transpose()?.flatten() {
                Some(pointer) => pointer.file == file.id && pointer.offset == offset,
                None => false,
            };
            if points_here {
                kept.push((key.to_vec(), value.to_vec()));
            }
            Ok(())
        })?;
        let copy = self
            .values
            .copy(kept.iter().map(|(key, value)| (key.as_slice(), value.as_slice())))?;
        let indexed = staged::Indexed::read(&copy.path)?;
        self.ingest(std::slice::from_ref(&copy), &[indexed], staged::KeyRange::default())?;
        Ok(())
    }

    pub fn get(&self, key: &TableKey<'_>) -> Result<Option<serde_json::Value>> {
        let Some(stored) = self.orders.get(key.encoded())? else {
            return Ok(None);
        };
        let item = match Pointer::decode(&stored)? {
            Some(pointer) => self.values.read(pointer)?,
            None => stored.to_vec(),
        };
        Ok(Some(stored_item_json(&item, &self.stored_names()?)?))
    }

    /// Counts the items (a full scan: the table keeps no running count).
    pub fn count(&self) -> Result<u64> {
        Ok(self.orders.len()? as u64)
    }
}

/// Moves the files a killed run of an earlier version staged in `dir` into `values`, pending,
/// in the order they were staged.
fn take_earlier_staged(dir: &Path, values: &ValueFiles) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    let mut staged: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|e| e == "items"))
        .collect();
    staged.sort();
    values.adopt(&staged)?;
    std::fs::remove_dir_all(dir).with_context(|| format!("removing {}", dir.display()))
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

    /// Stages one item per id, each with `units`.
    async fn put(table: &EmbeddedTable, ids: impl Iterator<Item = u32>, units: &str) {
        let ids: Vec<String> = ids.map(|id| id.to_string()).collect();
        let rows: Vec<(&str, &str)> = ids.iter().map(|id| (id.as_str(), units)).collect();
        table.put_all(items(&rows), drop).await.unwrap();
    }

    fn units(table: &EmbeddedTable, id: u32) -> serde_json::Value {
        let item = table.get(&order(&id.to_string())).unwrap();
        item.unwrap_or_else(|| panic!("order {id} is missing"))["UnitsSold"]["N"].clone()
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
            let ids: Vec<u32> = (0..50).map(|i| (i * 7 + chunk) % 200).collect();
            put(&table, ids.iter().copied(), &units).await;
            latest.extend(ids.into_iter().map(|id| (id, units.clone())));
        }
        assert_eq!(table.count().unwrap(), 0, "staged, not yet in the table");
        table.take_staged().unwrap();
        assert!(table.values.pending().unwrap().is_empty());
        assert_eq!(table.count().unwrap(), latest.len() as u64);
        for (id, expected) in latest {
            assert_eq!(units(&table, id), serde_json::json!(expected), "order {id}");
        }
    }

    #[tokio::test]
    async fn staged_files_taken_again_after_a_crash_change_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("orders");
        let values = path.join(value_files::DIR);
        {
            let table = EmbeddedTable::open(&path).unwrap();
            table.put_all(items(&[("1", "10"), ("2", "20")]), drop).await.unwrap();
            table.put_all(items(&[("2", "21"), ("3", "30")]), drop).await.unwrap();
            table.take_staged().unwrap();
        }
        // As if killed after the ingestion, before the files were marked taken.
        for file in std::fs::read_dir(&values).unwrap() {
            let file = file.unwrap().path();
            if file.extension().is_some_and(|e| e == "items") {
                std::fs::rename(&file, file.with_extension("pending")).unwrap();
            }
        }
        // Opening takes them again.
        let table = EmbeddedTable::open(&path).unwrap();
        assert!(table.values.pending().unwrap().is_empty());
        assert_eq!(table.values.taken().unwrap().len(), 2);
        assert_eq!(table.count().unwrap(), 3);
        assert_eq!(units(&table, 2), serde_json::json!("21"));
    }

    #[tokio::test]
    async fn what_an_earlier_version_staged_is_taken_at_opening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("orders");
        let earlier = path.join(EARLIER_STAGED_DIR);
        {
            let table = EmbeddedTable::open(&path).unwrap();
            table.put_all(items(&[("1", "10"), ("2", "20")]), drop).await.unwrap();
            table.put_all(items(&[("2", "21")]), drop).await.unwrap();
            // Staged by that version: the same files, under its names, in its directory.
            std::fs::create_dir_all(&earlier).unwrap();
            for (n, file) in table.values.pending().unwrap().into_iter().enumerate() {
                std::fs::rename(&file.path, earlier.join(format!("{n:020}-0000000001-{n:010}.items"))).unwrap();
            }
        }
        let table = EmbeddedTable::open(&path).unwrap();
        assert!(!earlier.exists());
        assert_eq!(table.count().unwrap(), 2);
        assert_eq!(units(&table, 2), serde_json::json!("21"));
    }

    #[tokio::test]
    async fn garbage_is_collected_once_it_outweighs_the_live_items() {
        let dir = tempfile::tempdir().unwrap();
        let table = EmbeddedTable::open(&dir.path().join("orders")).unwrap();
        let file_count = || table.values.taken().unwrap().len();
        put(&table, 0..100, "1").await;
        table.take_staged().unwrap();
        assert_eq!(file_count(), 1);
        // 160 items, and at least the 60 keys just written: more than half may be garbage. The
        // first file, with 40 of its 100 items live, is copied, then removed.
        put(&table, 0..60, "2").await;
        table.take_staged().unwrap();
        let files = table.values.taken().unwrap();
        let items: Vec<u64> = files.iter().map(|f| staged::item_count(&f.path).unwrap()).collect();
        assert_eq!(items, [60, 40]);
        assert_eq!(table.values.keys_counted().unwrap(), 100);
        // 160 items for 100 keys counted: nothing collected.
        put(&table, 0..60, "3").await;
        table.take_staged().unwrap();
        assert_eq!(file_count(), 3);
        assert_eq!(table.count().unwrap(), 100);
        for id in 0..100 {
            let expected = if id < 60 { "3" } else { "1" };
            assert_eq!(units(&table, id), serde_json::json!(expected), "order {id}");
        }
        // 220 items: the file of the second write, all garbage now, goes.
        put(&table, 0..60, "4").await;
        table.take_staged().unwrap();
        let items: Vec<u64> = table
            .values
            .taken()
            .unwrap()
            .iter()
            .map(|f| staged::item_count(&f.path).unwrap())
            .collect();
        assert_eq!(items, [40, 60]);

        // The same run again and again: the files never hold much more than twice the live
        // items, and every read gives the latest.
        for round in 4..10 {
            put(&table, 0..100, &round.to_string()).await;
            table.take_staged().unwrap();
            let held: u64 = table
                .values
                .taken()
                .unwrap()
                .iter()
                .map(|f| staged::item_count(&f.path).unwrap())
                .sum();
            assert!(held <= 200, "round {round}: {held} items held for 100 keys");
        }
        drop(table);
        let table = EmbeddedTable::open(&dir.path().join("orders")).unwrap();
        assert_eq!(units(&table, 99), serde_json::json!("9"));
        assert_eq!(table.count().unwrap(), 100);
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
