//! The orders table: DynamoDB in the cloud, an embedded table on local disk otherwise.

mod dynamodb;
mod embedded;

pub use dynamodb::DynamoDbTable;
pub use embedded::EmbeddedTable;

use anyhow::Result;

/// A typed attribute value, as DynamoDB types it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Attribute {
    S(String),
    /// A number kept as its decimal text, so no value is rounded on the way.
    N(String),
}

/// One table item: its partition key and every attribute (the key included).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    pub key: String,
    pub attributes: Vec<(&'static str, Attribute)>,
}

impl Item {
    /// DynamoDB's JSON form (`{"Name":{"S":"..."}}`), as `aws dynamodb get-item` prints it.
    pub fn to_json(&self) -> serde_json::Value {
        self.attributes
            .iter()
            .map(|(name, value)| {
                let typed = match value {
                    Attribute::S(s) => serde_json::json!({ "S": s }),
                    Attribute::N(n) => serde_json::json!({ "N": n }),
                };
                (name.to_string(), typed)
            })
            .collect::<serde_json::Map<_, _>>()
            .into()
    }
}

/// Where a table lives, from `--table`: `dynamodb://NAME` or a local file path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TableUrl {
    DynamoDb(String),
    Embedded(std::path::PathBuf),
}

impl std::str::FromStr for TableUrl {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.strip_prefix("dynamodb://") {
            Some("") => Err("dynamodb:// needs a table name, e.g. dynamodb://orders".into()),
            Some(name) => Ok(TableUrl::DynamoDb(name.to_string())),
            None if s.is_empty() => Err("table path is empty".into()),
            None => Ok(TableUrl::Embedded(s.into())),
        }
    }
}

/// The orders table behind whichever backend the URL selects; clones share it.
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

    /// Writes `items` durably. Keys must be unique within the call: DynamoDB rejects a batch
    /// that repeats a key, so callers keep the last item per key (see [`last_per_key`]).
    pub async fn put_all(&self, items: Vec<Item>) -> Result<()> {
        match self {
            OrdersTable::DynamoDb(t) => t.put_all(items).await,
            OrdersTable::Embedded(t) => t.put_all(items).await,
        }
    }

    /// The item stored under `key`, in DynamoDB's JSON form.
    pub async fn get(&self, key: &str) -> Result<Option<serde_json::Value>> {
        match self {
            OrdersTable::DynamoDb(t) => t.get(key).await,
            OrdersTable::Embedded(t) => t.get(key),
        }
    }

    pub async fn count(&self) -> Result<u64> {
        match self {
            OrdersTable::DynamoDb(t) => t.count().await,
            OrdersTable::Embedded(t) => t.count(),
        }
    }
}

/// Keeps the last item for each key, in order of first appearance, as a table applying the
/// writes one by one would end up.
pub fn last_per_key(items: Vec<Item>) -> Vec<Item> {
    let mut slot_of: std::collections::HashMap<String, usize> = std::collections::HashMap::with_capacity(items.len());
    let mut unique: Vec<Item> = Vec::with_capacity(items.len());
    for item in items {
        match slot_of.get(&item.key) {
            Some(&slot) => unique[slot] = item,
            None => {
                slot_of.insert(item.key.clone(), unique.len());
                unique.push(item);
            }
        }
    }
    unique
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(key: &str, value: &str) -> Item {
        Item {
            key: key.into(),
            attributes: vec![("OrderId", Attribute::S(key.into())), ("V", Attribute::N(value.into()))],
        }
    }

    #[test]
    fn duplicate_keys_keep_the_last_item() {
        let unique = last_per_key(vec![item("1", "1"), item("2", "2"), item("1", "3")]);
        assert_eq!(unique, vec![item("1", "3"), item("2", "2")]);
    }

    #[test]
    fn table_urls_select_the_backend() {
        assert_eq!("dynamodb://orders".parse(), Ok(TableUrl::DynamoDb("orders".into())));
        assert_eq!(
            "out/orders.redb".parse(),
            Ok(TableUrl::Embedded("out/orders.redb".into()))
        );
        assert!("dynamodb://".parse::<TableUrl>().is_err());
    }

    #[test]
    fn items_print_as_dynamodb_json() {
        let json = item("7", "1.50").to_json();
        assert_eq!(json, serde_json::json!({"OrderId": {"S": "7"}, "V": {"N": "1.50"}}));
    }
}
