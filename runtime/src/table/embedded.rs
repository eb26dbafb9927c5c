//! The embedded orders table: one redb file a user can query after a local run.

use super::Item;
use anyhow::{Context, Result};
use redb::{Database, ReadableDatabase, ReadableTableMetadata, TableDefinition};
use std::path::Path;
use std::sync::Arc;

/// Key: OrderId. Value: the item in DynamoDB's JSON form.
const ORDERS: TableDefinition<&str, &[u8]> = TableDefinition::new("orders");

#[derive(Clone)]
pub struct EmbeddedTable {
    db: Arc<Database>,
}

impl EmbeddedTable {
    pub fn open(path: &Path) -> Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let db = Database::create(path).with_context(|| format!("opening the orders table {}", path.display()))?;
        Ok(EmbeddedTable { db: Arc::new(db) })
    }

    /// One transaction for all of `items`: they are committed together or not at all.
    pub async fn put_all(&self, items: Vec<Item>) -> Result<()> {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || -> Result<()> {
            let txn = db.begin_write()?;
            {
                let mut table = txn.open_table(ORDERS)?;
                for item in &items {
                    table.insert(item.key.as_str(), serde_json::to_vec(&item.to_json())?.as_slice())?;
                }
            }
            txn.commit()?;
            Ok(())
        })
        .await?
    }

    pub fn get(&self, key: &str) -> Result<Option<serde_json::Value>> {
        let txn = self.db.begin_read()?;
        let table = match txn.open_table(ORDERS) {
            Ok(table) => table,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let Some(value) = table.get(key)? else {
            return Ok(None);
        };
        Ok(Some(serde_json::from_slice(value.value())?))
    }

    pub fn count(&self) -> Result<u64> {
        let txn = self.db.begin_read()?;
        match txn.open_table(ORDERS) {
            Ok(table) => Ok(table.len()?),
            Err(redb::TableError::TableDoesNotExist(_)) => Ok(0),
            Err(e) => Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::Attribute;

    #[tokio::test]
    async fn items_survive_reopening_and_overwrite_by_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("orders.redb");
        let item = |v: &str| Item {
            key: "42".into(),
            attributes: vec![
                ("OrderId", Attribute::S("42".into())),
                ("UnitsSold", Attribute::N(v.into())),
            ],
        };
        {
            let table = EmbeddedTable::open(&path).unwrap();
            assert_eq!(table.count().unwrap(), 0);
            table.put_all(vec![item("1")]).await.unwrap();
            table.put_all(vec![item("2")]).await.unwrap();
        }
        let table = EmbeddedTable::open(&path).unwrap();
        assert_eq!(table.count().unwrap(), 1);
        assert_eq!(table.get("42").unwrap(), Some(item("2").to_json()));
        assert_eq!(table.get("43").unwrap(), None);
    }
}
