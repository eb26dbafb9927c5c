//! The orders table: DynamoDB in the cloud, an embedded table on local disk otherwise.

mod dynamodb;
mod embedded;

pub use dynamodb::DynamoDbTable;
pub use embedded::EmbeddedTable;

use anyhow::Result;

use crate::objects::InvalidLocation;

/// How DynamoDB types an attribute value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Type {
    S,
    /// A number, kept as its decimal text so no value is rounded on the way.
    N,
}

/// One table item. Its values are packed into one string, so building an item costs two
/// allocations whatever its number of attributes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Item {
    text: String,
    attributes: Vec<(&'static str, Type, u32, u32)>,
    key: usize,
}

impl Item {
    pub fn with_capacity(attributes: usize, text_bytes: usize) -> Self {
        Item {
            text: String::with_capacity(text_bytes),
            attributes: Vec::with_capacity(attributes),
            key: 0,
        }
    }

    pub fn push(&mut self, name: &'static str, kind: Type, value: &str) {
        let start = self.text.len() as u32;
        self.text.push_str(value);
        self.attributes.push((name, kind, start, self.text.len() as u32));
    }

    /// Pushes the partition key (a string attribute).
    pub fn push_key(&mut self, name: &'static str, value: &str) {
        self.key = self.attributes.len();
        self.push(name, Type::S, value);
    }

    pub fn key(&self) -> &str {
        self.attributes
            .get(self.key)
            .map_or("", |&(_, _, start, end)| &self.text[start as usize..end as usize])
    }

    pub fn attributes(&self) -> impl Iterator<Item = (&'static str, Type, &str)> {
        self.attributes
            .iter()
            .map(|&(name, kind, start, end)| (name, kind, &self.text[start as usize..end as usize]))
    }

    pub fn get(&self, name: &str) -> Option<(Type, &str)> {
        self.attributes()
            .find(|(n, ..)| *n == name)
            .map(|(_, kind, value)| (kind, value))
    }

    /// Appends the item in DynamoDB's JSON form (`{"Name":{"S":"..."}}`), as
    /// `aws dynamodb get-item` prints it, without building an intermediate tree.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        out.push(b'{');
        for (n, (name, kind, value)) in self.attributes().enumerate() {
            if n > 0 {
                out.push(b',');
            }
            write_json_string(out, name);
            out.extend_from_slice(match kind {
                Type::S => b":{\"S\":",
                Type::N => b":{\"N\":",
            });
            write_json_string(out, value);
            out.push(b'}');
        }
        out.push(b'}');
    }
}

/// First byte of a [`Item::write_compact`] encoding; a value starting with `{` is an item
/// stored as DynamoDB JSON by an earlier version.
const COMPACT_V1: u8 = 1;

impl Item {
    /// Appends the item in the embedded table's compact form: a version byte, then per
    /// attribute its name (length byte), its type (`S` or `N`) and its value (length as 4
    /// little-endian bytes). Plain copies, no escaping: DynamoDB JSON is rendered when read.
    pub fn write_compact(&self, out: &mut Vec<u8>) {
        out.push(COMPACT_V1);
        for (name, kind, value) in self.attributes() {
            out.push(name.len() as u8);
            out.extend_from_slice(name.as_bytes());
            out.push(match kind {
                Type::S => b'S',
                Type::N => b'N',
            });
            out.extend_from_slice(&(value.len() as u32).to_le_bytes());
            out.extend_from_slice(value.as_bytes());
        }
    }
}

/// A stored item in DynamoDB's JSON form, from its compact form (or, as earlier versions
/// stored it, from DynamoDB JSON).
pub fn stored_item_json(stored: &[u8]) -> Result<serde_json::Value> {
    match stored.first() {
        Some(&COMPACT_V1) => {}
        _ => return Ok(serde_json::from_slice(stored)?),
    }
    let corrupt = || anyhow::anyhow!("a stored item is corrupt ({} bytes)", stored.len());
    let mut rest = &stored[1..];
    let mut item = serde_json::Map::new();
    while !rest.is_empty() {
        let name_len = take(&mut rest, 1).ok_or_else(corrupt)?[0] as usize;
        let name = std::str::from_utf8(take(&mut rest, name_len).ok_or_else(corrupt)?)?.to_owned();
        let kind = match take(&mut rest, 1).ok_or_else(corrupt)?[0] {
            b'S' => "S",
            b'N' => "N",
            _ => return Err(corrupt()),
        };
        let len = take(&mut rest, 4).ok_or_else(corrupt)?;
        let len = u32::from_le_bytes(len.try_into()?) as usize;
        let value = std::str::from_utf8(take(&mut rest, len).ok_or_else(corrupt)?)?;
        item.insert(name, serde_json::json!({ kind: value }));
    }
    Ok(serde_json::Value::Object(item))
}

/// The first `n` bytes of `rest`, which moves past them; `None` when it is shorter.
fn take<'a>(rest: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
    let (head, tail) = rest.split_at_checked(n)?;
    *rest = tail;
    Some(head)
}

/// Writes `text` as a JSON string; the common case, nothing to escape, is a plain copy.
fn write_json_string(out: &mut Vec<u8>, text: &str) {
    if text.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\') {
        serde_json::to_writer(out, text).expect("writing to a Vec cannot fail");
    } else {
        out.push(b'"');
        out.extend_from_slice(text.as_bytes());
        out.push(b'"');
    }
}

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

    /// The item whose key attribute `key_name` (a string) is `key`, in DynamoDB's JSON form.
    pub async fn get(&self, key_name: &str, key: &str) -> Result<Option<serde_json::Value>> {
        match self {
            OrdersTable::DynamoDb(t) => t.get(key_name, key).await,
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

/// Keeps the last item for each key, as a table applying the writes one by one would end up,
/// sorted by key (the order the embedded table stores them in).
pub fn last_per_key(mut items: Vec<Item>) -> Vec<Item> {
    // Stable: items with equal keys stay in input order, so the last one is the latest.
    items.sort_by(|a, b| a.key().cmp(b.key()));
    let mut unique: Vec<Item> = Vec::with_capacity(items.len());
    for item in items {
        match unique.last_mut() {
            Some(last) if last.key() == item.key() => *last = item,
            _ => unique.push(item),
        }
    }
    unique
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(key: &str, value: &str) -> Item {
        let mut item = Item::default();
        item.push_key("OrderId", key);
        item.push("V", Type::N, value);
        item
    }

    #[test]
    fn duplicate_keys_keep_the_last_item() {
        let unique = last_per_key(vec![item("2", "1"), item("1", "2"), item("2", "3"), item("2", "4")]);
        assert_eq!(unique, vec![item("1", "2"), item("2", "4")]);
    }

    #[test]
    fn table_urls_select_the_backend() {
        assert_eq!("dynamodb://orders".parse(), Ok(TableUrl::DynamoDb("orders".into())));
        assert_eq!(
            "out/orders.table".parse(),
            Ok(TableUrl::Embedded("out/orders.table".into()))
        );
        assert!("dynamodb://".parse::<TableUrl>().is_err());
    }

    #[test]
    fn compact_items_read_back_as_dynamodb_json() {
        let mut item = Item::default();
        item.push_key("OrderId", "7");
        item.push("Note", Type::S, "say \"hi\"\n, ünïcode");
        item.push("V", Type::N, "1.50");
        let (mut compact, mut json) = (Vec::new(), Vec::new());
        item.write_compact(&mut compact);
        item.write_json(&mut json);
        let expected: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(stored_item_json(&compact).unwrap(), expected);
        // Items stored as JSON by earlier versions still read.
        assert_eq!(stored_item_json(&json).unwrap(), expected);
        assert!(stored_item_json(&compact[..compact.len() - 1]).is_err());
    }

    #[test]
    fn items_print_as_dynamodb_json() {
        let mut bytes = Vec::new();
        item("7", "1.50").write_json(&mut bytes);
        let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(json, serde_json::json!({"OrderId": {"S": "7"}, "V": {"N": "1.50"}}));
        let mut quoted = Vec::new();
        let mut item = Item::default();
        item.push_key("A", "say \"hi\"\n");
        item.write_json(&mut quoted);
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&quoted).unwrap()["A"]["S"],
            "say \"hi\"\n"
        );
    }
}
