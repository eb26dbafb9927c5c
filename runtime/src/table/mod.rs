//! The table of a pipeline's records: DynamoDB in the cloud, an embedded table on local disk
//! otherwise.

mod dynamodb;
mod embedded;
mod item;
mod key;
mod pace;
mod staged;
mod value_files;

pub use dynamodb::DynamoDbTable;
pub use embedded::EmbeddedTable;
pub use item::{ItemRef, ItemWriter, Items, Name, Names, Type};
pub use key::{KeyValue, TableKey};

use anyhow::Result;
use std::sync::Arc;

use crate::objects::InvalidLocation;

/// Where a table lives, from `--table`: `dynamodb://NAME` or a local file path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TableUrl {
    DynamoDb(String),
    Embedded(std::path::PathBuf),
}

impl std::str::FromStr for TableUrl {
    type Err = InvalidLocation;
    fn from_str(s: &str) -> Result<Self, InvalidLocation> {
        let invalid = |message: &str| Err(InvalidLocation(message.to_owned()));
        match s.strip_prefix("dynamodb://") {
            Some("") => invalid("dynamodb:// needs a table name, e.g. dynamodb://orders"),
            Some(name) => Ok(TableUrl::DynamoDb(name.to_string())),
            None if s.is_empty() => invalid("table path is empty"),
            None => Ok(TableUrl::Embedded(s.into())),
        }
    }
}

/// The table behind whichever backend the URL selects; clones share it.
#[derive(Clone)]
pub enum OrdersTable {
    DynamoDb(DynamoDbTable),
    Embedded(EmbeddedTable),
}

impl OrdersTable {
    pub async fn open(url: &TableUrl) -> Result<Self> {
        Ok(match url {
            TableUrl::DynamoDb(name) => OrdersTable::DynamoDb(DynamoDbTable::connect(name).await),
            TableUrl::Embedded(path) => OrdersTable::Embedded(EmbeddedTable::open(path)?),
        })
    }

    /// Paces DynamoDB writes to `share` write units a second, when there is one; the embedded
    /// table writes as fast as its disk takes them, with no one to share it with.
    pub fn paced(self, share: Option<f64>) -> Self {
        match (self, share) {
            (OrdersTable::DynamoDb(t), Some(share)) => OrdersTable::DynamoDb(t.paced(share)),
            (table, _) => table,
        }
    }

    /// Writes `items` durably; of items sharing a key, the last one is written (as sequential
    /// puts would leave it, and since DynamoDB rejects a batch that repeats a key). `written`
    /// gets the items back (deduplicated, in key order), for their memory to be reused, as soon
    /// as the table has read them: the embedded table, before it waits for the disk. Returns
    /// the write requests DynamoDB answered with items unprocessed (throttled); the embedded
    /// table throttles none.
    pub async fn put_all(&self, items: Items, written: impl FnOnce(Items) + Send + 'static) -> Result<u64> {
        match self {
            OrdersTable::DynamoDb(t) => t.put_all(items, written).await,
            OrdersTable::Embedded(t) => t.put_all(items, written).await.map(|()| 0),
        }
    }

    /// The codes of the table's attribute names, `attributes` among them. The embedded table
    /// keeps its dictionary, grown by the names it lacked, durably before any item uses them.
    pub async fn names(&self, attributes: &[&str]) -> Result<Arc<Names>> {
        match self {
            OrdersTable::DynamoDb(_) => Ok(Arc::new(Names::default().with(attributes))),
            OrdersTable::Embedded(t) => t.names(attributes).await,
        }
    }

    /// Puts what the embedded table staged into it, in one ingestion (see [`EmbeddedTable`]);
    /// DynamoDB has nothing staged. The taking starts on a thread of its own when this is
    /// called, not when the future is first polled, so it overlaps whatever the caller does
    /// next even if that blocks the caller's thread.
    pub fn take_staged(&self) -> impl Future<Output = Result<()>> + use<> {
        let taking = match self {
            OrdersTable::DynamoDb(_) => None,
            OrdersTable::Embedded(t) => {
                let table = t.clone();
                Some(tokio::task::spawn_blocking(move || table.take_staged()))
            }
        };
        async move {
            match taking {
                Some(taking) => taking.await?,
                None => Ok(()),
            }
        }
    }

    /// The item of `key`, in DynamoDB's JSON form.
    pub async fn get(&self, key: &TableKey<'_>) -> Result<Option<serde_json::Value>> {
        match self {
            OrdersTable::DynamoDb(t) => t.get(key).await,
            OrdersTable::Embedded(t) => t.get(key),
        }
    }

    /// Write requests sent to DynamoDB so far, and the items they carried; `None` for the
    /// embedded table.
    pub fn requests_sent(&self) -> Option<(u64, u64)> {
        match self {
            OrdersTable::DynamoDb(t) => Some(t.requests_sent()),
            OrdersTable::Embedded(_) => None,
        }
    }

    pub async fn count(&self) -> Result<u64> {
        match self {
            OrdersTable::DynamoDb(t) => t.count().await,
            OrdersTable::Embedded(t) => t.count(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_urls_select_the_backend() {
        assert_eq!("dynamodb://orders".parse(), Ok(TableUrl::DynamoDb("orders".into())));
        assert_eq!(
            "out/orders.table".parse(),
            Ok(TableUrl::Embedded("out/orders.table".into()))
        );
        assert!("dynamodb://".parse::<TableUrl>().is_err());
    }
}
