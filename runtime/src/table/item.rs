//! Table items in the compact form the embedded table stores: a version byte, then per
//! attribute its name (one byte: its position in [`NAMES`]), its type (`S` or `N`) and its
//! value (its length as a LEB128 varint, then the bytes). A chunk's items are written back to
//! back into one buffer as its rows are parsed, so an item costs no allocation of its own;
//! DynamoDB JSON or SDK values are rendered from that form only when needed. An order takes
//! about 180 bytes: its values, plus 3 bytes per attribute.

use anyhow::{Result, anyhow};
use std::ops::Range;

/// How DynamoDB types an attribute value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Type {
    S,
    /// A number, kept as its decimal text so no value is rounded on the way.
    N,
}

/// The attribute names items can have: the orders'. Stored items refer to a name by its
/// position here, so names are only ever appended.
pub const NAMES: [&str; 15] = [
    "Region",
    "Country",
    "ItemType",
    "SalesChannel",
    "OrderPriority",
    "OrderDate",
    "OrderId",
    "ShipDate",
    "UnitsSold",
    "UnitPrice",
    "UnitCost",
    "TotalRevenue",
    "TotalCost",
    "TotalProfit",
    "ConfirmationId",
];

/// An attribute name of [`NAMES`], held as its position.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Name(u8);

impl Name {
    /// The name `text`, looked up when the program is compiled: a name missing from [`NAMES`]
    /// does not compile.
    pub const fn of(text: &str) -> Name {
        let mut index = 0;
        while index < NAMES.len() {
            if const_eq(NAMES[index], text) {
                return Name(index as u8);
            }
            index += 1;
        }
        panic!("an attribute name missing from item::NAMES")
    }
}

const fn const_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// First byte of the compact form written by earlier versions: each attribute's name in full
/// and its length in 4 bytes. Such items still read; a stored value starting with `{` is an
/// item stored as DynamoDB JSON by a version before that.
const COMPACT_V1: u8 = 1;
/// First byte of the compact form written now.
const COMPACT_V2: u8 = 2;

/// Items, each in compact form, back to back in one buffer, with where each one and its key
/// lie in it.
#[derive(Clone, Debug, Default)]
pub struct Items {
    bytes: Vec<u8>,
    entries: Vec<Entry>,
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    /// The key's first 16 bytes, big-endian, zero-padded: keys up to that long sort and compare
    /// on this and their length alone, without touching the buffer (the entries are sorted in
    /// key order, and the items lie in input order, so each look would miss the cache).
    key_prefix: u128,
    start: u32,
    end: u32,
    key_start: u32,
    key_end: u32,
}

/// Keys up to this long are held whole in [`Entry::key_prefix`].
const KEY_PREFIX_BYTES: usize = 16;

impl Entry {
    fn range(self) -> Range<usize> {
        self.start as usize..self.end as usize
    }
    fn key(self) -> Range<usize> {
        self.key_start as usize..self.key_end as usize
    }
    fn key_len(self) -> usize {
        (self.key_end - self.key_start) as usize
    }
    /// The order of two keys, from the entries when both keys fit their prefixes.
    fn key_order(self, other: Entry, bytes: &[u8]) -> std::cmp::Ordering {
        let by_prefix = self.key_prefix.cmp(&other.key_prefix);
        if by_prefix.is_ne() || self.key_len().max(other.key_len()) > KEY_PREFIX_BYTES {
            // Past the prefix, the bytes decide; equal prefixes of short keys differ in length.
            return by_prefix.then_with(|| bytes[self.key()].cmp(&bytes[other.key()]));
        }
        self.key_len().cmp(&other.key_len())
    }
}

impl Items {
    /// Makes room for at least `items` more items of `bytes` bytes in all.
    pub fn reserve(&mut self, items: usize, bytes: usize) {
        self.bytes.reserve(bytes);
        self.entries.reserve(items);
    }

    /// Removes every item, keeping the memory for the next ones.
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.entries.clear();
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Appends the item `build` writes and returns it, with what `build` returned; when `build`
    /// fails, nothing is appended.
    pub fn push<T, E>(
        &mut self,
        build: impl FnOnce(&mut ItemWriter<'_>) -> Result<T, E>,
    ) -> Result<(ItemRef<'_>, T), E> {
        let start = self.bytes.len();
        self.bytes.push(COMPACT_V2);
        let mut writer = ItemWriter {
            bytes: &mut self.bytes,
            key: 0..0,
        };
        let built = match build(&mut writer) {
            Ok(built) => built,
            Err(err) => {
                self.bytes.truncate(start);
                return Err(err);
            }
        };
        let key = writer.key;
        // Every offset of the item is at most its end: checked here, they all fit their u32s.
        let end = u32::try_from(self.bytes.len()).expect("a chunk's items stay under 4 GiB (workdir::MAX_CHUNK_BYTES)");
        let mut prefix = [0u8; KEY_PREFIX_BYTES];
        let head = &self.bytes[key.start..key.end.min(key.start + KEY_PREFIX_BYTES)];
        prefix[..head.len()].copy_from_slice(head);
        self.entries.push(Entry {
            key_prefix: u128::from_be_bytes(prefix),
            start: start as u32,
            end,
            key_start: key.start as u32,
            key_end: key.end as u32,
        });
        Ok((self.get(self.entries.len() - 1), built))
    }

    fn get(&self, index: usize) -> ItemRef<'_> {
        let entry = self.entries[index];
        ItemRef {
            compact: &self.bytes[entry.range()],
            key: key_text(&self.bytes[entry.key()]),
        }
    }

    /// The items in entry order. After [`Self::keep_last_per_key`] that is key order, which
    /// jumps around the buffer, so the items a few steps ahead are fetched into the cache early.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = ItemRef<'_>> {
        (0..self.entries.len()).map(|index| {
            if let Some(ahead) = self.entries.get(index + PREFETCH_DISTANCE) {
                prefetch(&self.bytes[ahead.range()]);
            }
            self.get(index)
        })
    }

    /// Keeps the last item for each key, as a table applying the writes one by one would end
    /// up, in key order (the order the embedded table stores them in). Only the small entries
    /// move; the items stay where they were written.
    pub fn keep_last_per_key(&mut self) {
        let bytes = &self.bytes;
        // Stable: items with equal keys stay in input order, so the last one is the latest.
        self.entries.sort_by(|a, b| a.key_order(*b, bytes));
        let mut kept = 0;
        for index in 0..self.entries.len() {
            let entry = self.entries[index];
            if kept > 0 && self.entries[kept - 1].key_order(entry, bytes).is_eq() {
                self.entries[kept - 1] = entry;
            } else {
                self.entries[kept] = entry;
                kept += 1;
            }
        }
        self.entries.truncate(kept);
    }
}

/// How many items ahead [`Items::iter`] fetches: enough to cover a cache miss while the caller
/// copies the items in between.
const PREFETCH_DISTANCE: usize = 8;

/// Asks the CPU to bring `bytes` into its cache; a hint only, with no effect on the result.
fn prefetch(bytes: &[u8]) {
    #[cfg(target_arch = "x86_64")]
    for line in bytes.chunks(64) {
        // SAFETY: SSE is part of every x86_64 CPU, and a prefetch reads nothing and cannot fault.
        unsafe { std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(line.as_ptr().cast()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = bytes;
}

/// A key's bytes as the text they were written from. Unchecked: a check per item, three per
/// row with the ConfirmationId's and the dates', cost as much as 6% of processing a chunk.
fn key_text(bytes: &[u8]) -> &str {
    // SAFETY: keys are written into an item's private buffer by [`ItemWriter::push_key`] only,
    // copied from a `&str`, and entries point at them whole.
    unsafe { std::str::from_utf8_unchecked(bytes) }
}

/// Writes one item's attributes into [`Items`].
pub struct ItemWriter<'a> {
    bytes: &'a mut Vec<u8>,
    key: Range<usize>,
}

impl ItemWriter<'_> {
    pub fn push(&mut self, name: Name, kind: Type, value: &str) {
        self.push_value(name, kind, value);
    }

    /// Pushes the partition key (a string attribute).
    pub fn push_key(&mut self, name: Name, value: &str) {
        self.key = self.push_value(name, Type::S, value);
    }

    /// The key pushed so far; empty before [`Self::push_key`].
    pub fn key(&self) -> &str {
        key_text(&self.bytes[self.key.clone()])
    }

    fn push_value(&mut self, name: Name, kind: Type, value: &str) -> Range<usize> {
        let len = u32::try_from(value.len()).expect("values are bounded by the record size");
        // Byte by byte: these pushes compile inline, where copying a slice calls memmove.
        self.bytes.push(name.0);
        self.bytes.push(match kind {
            Type::S => b'S',
            Type::N => b'N',
        });
        push_varint(self.bytes, len);
        let start = self.bytes.len();
        self.bytes.extend_from_slice(value.as_bytes());
        start..self.bytes.len()
    }
}

/// Appends `value` as a LEB128 varint (7 bits a byte, low bits first): 1 byte below 128, at
/// most 5.
fn push_varint(bytes: &mut Vec<u8>, mut value: u32) {
    while value >= 0x80 {
        bytes.push(value as u8 | 0x80);
        value >>= 7;
    }
    bytes.push(value as u8);
}

/// One item of [`Items`].
#[derive(Clone, Copy, Debug)]
pub struct ItemRef<'a> {
    compact: &'a [u8],
    key: &'a str,
}

impl<'a> ItemRef<'a> {
    pub fn key(&self) -> &'a str {
        self.key
    }

    /// The item's compact form, as the embedded table stores it.
    pub fn compact(&self) -> &'a [u8] {
        self.compact
    }

    pub fn attributes(&self) -> impl Iterator<Item = (&'a str, Type, &'a str)> {
        Attributes::of(self.compact)
            .expect("items are written in the current form")
            .map(|attribute| attribute.expect("items are written whole"))
    }

    pub fn get(&self, name: &str) -> Option<(Type, &'a str)> {
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

/// The attributes of a compact item, of either version; an error where the bytes end early or
/// hold something else.
struct Attributes<'a> {
    version: u8,
    rest: &'a [u8],
}

impl<'a> Attributes<'a> {
    /// The attributes of `stored`, or `None` when it is not in a compact form.
    fn of(stored: &'a [u8]) -> Option<Self> {
        match stored.split_first() {
            Some((&version, rest)) if version == COMPACT_V1 || version == COMPACT_V2 => {
                Some(Attributes { version, rest })
            }
            _ => None,
        }
    }

    fn attribute(&mut self) -> Result<(&'a str, Type, &'a str)> {
        let name = if self.version == COMPACT_V1 {
            let name_len = self.take(1)?[0] as usize;
            std::str::from_utf8(self.take(name_len)?)?
        } else {
            let code = self.take(1)?[0];
            NAMES
                .get(code as usize)
                .ok_or_else(|| anyhow!("unknown attribute name {code}"))?
        };
        let kind = match self.take(1)?[0] {
            b'S' => Type::S,
            b'N' => Type::N,
            other => return Err(anyhow!("unknown attribute type {other}")),
        };
        let len = if self.version == COMPACT_V1 {
            u32::from_le_bytes(self.take(4)?.try_into()?) as usize
        } else {
            self.varint()? as usize
        };
        let value = std::str::from_utf8(self.take(len)?)?;
        Ok((name, kind, value))
    }

    fn varint(&mut self) -> Result<u32> {
        let mut value = 0u32;
        for shift in (0..35).step_by(7) {
            let byte = self.take(1)?[0];
            value |= u32::from(byte & 0x7f).checked_shl(shift).unwrap_or(0);
            if byte < 0x80 {
                return Ok(value);
            }
        }
        Err(anyhow!("a value length runs past 5 bytes"))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let (head, tail) = self
            .rest
            .split_at_checked(n)
            .ok_or_else(|| anyhow!("the item ends early"))?;
        self.rest = tail;
        Ok(head)
    }
}

impl<'a> Iterator for Attributes<'a> {
    type Item = Result<(&'a str, Type, &'a str)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let attribute = self.attribute();
        if attribute.is_err() {
            self.rest = &[];
        }
        Some(attribute)
    }
}

/// A stored item in DynamoDB's JSON form, from its compact form (or, as the first versions
/// stored it, from DynamoDB JSON).
pub fn stored_item_json(stored: &[u8]) -> Result<serde_json::Value> {
    let Some(attributes) = Attributes::of(stored) else {
        return Ok(serde_json::from_slice(stored)?);
    };
    let mut item = serde_json::Map::new();
    for attribute in attributes {
        let (name, kind, value) =
            attribute.map_err(|e| anyhow!("a stored item is corrupt ({} bytes): {e}", stored.len()))?;
        let kind = match kind {
            Type::S => "S",
            Type::N => "N",
        };
        item.insert(name.to_owned(), serde_json::json!({ kind: value }));
    }
    Ok(serde_json::Value::Object(item))
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

/// Items of an OrderId and a UnitsSold each, for tests.
#[cfg(test)]
pub(crate) fn items(rows: &[(&str, &str)]) -> Items {
    let mut items = Items::default();
    for (key, value) in rows {
        items
            .push(|item| {
                item.push_key(Name::of("OrderId"), key);
                item.push(Name::of("UnitsSold"), Type::N, value);
                Ok::<_, ()>(())
            })
            .unwrap();
    }
    items
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(items: &Items) -> Vec<(String, String)> {
        items
            .iter()
            .map(|item| (item.key().to_owned(), item.get("UnitsSold").unwrap().1.to_owned()))
            .collect()
    }

    #[test]
    fn duplicate_keys_keep_the_last_item_in_key_order() {
        let mut unique = items(&[("2", "1"), ("1", "2"), ("2", "3"), ("2", "4")]);
        unique.keep_last_per_key();
        assert_eq!(rows(&unique), [("1".into(), "2".into()), ("2".into(), "4".into())]);
    }

    #[test]
    fn keys_sort_as_text_whatever_their_length() {
        let mut sorted = items(&[
            ("123456789", "1"),
            ("12345678", "2"),
            ("12345678\u{0}", "3"),
            ("2", "4"),
        ]);
        sorted.keep_last_per_key();
        let keys: Vec<&str> = sorted.iter().map(|i| i.key()).collect();
        assert_eq!(keys, ["12345678", "12345678\u{0}", "123456789", "2"]);
    }

    #[test]
    fn a_failed_item_leaves_nothing_behind() {
        let mut all = items(&[("1", "1")]);
        let failed = all.push(|item| {
            item.push_key(Name::of("OrderId"), "2");
            Err::<(), _>("bad value")
        });
        assert_eq!(failed.unwrap_err(), "bad value");
        all.push(|item| {
            item.push_key(Name::of("OrderId"), "3");
            Ok::<_, ()>(())
        })
        .unwrap();
        let keys: Vec<&str> = all.iter().map(|i| i.key()).collect();
        assert_eq!(keys, ["1", "3"]);
    }

    #[test]
    fn items_print_as_dynamodb_json_and_read_back_from_storage() {
        let mut all = Items::default();
        let long = "x".repeat(300);
        let (item, ()) = all
            .push(|item| {
                item.push_key(Name::of("OrderId"), "7");
                item.push(Name::of("Region"), Type::S, "say \"hi\"\n, ünïcode");
                item.push(Name::of("UnitPrice"), Type::N, "1.50");
                item.push(Name::of("Country"), Type::S, &long);
                Ok::<_, ()>(())
            })
            .unwrap();
        let mut json = Vec::new();
        item.write_json(&mut json);
        let expected = serde_json::json!({
            "OrderId": {"S": "7"}, "Region": {"S": "say \"hi\"\n, ünïcode"}, "UnitPrice": {"N": "1.50"},
            "Country": {"S": long}
        });
        assert_eq!(serde_json::from_slice::<serde_json::Value>(&json).unwrap(), expected);
        assert_eq!(stored_item_json(item.compact()).unwrap(), expected);
        // Items stored as JSON by the first versions still read.
        assert_eq!(stored_item_json(&json).unwrap(), expected);
        let cut = &item.compact()[..item.compact().len() - 1];
        assert!(stored_item_json(cut).unwrap_err().to_string().contains("corrupt"));
    }

    #[test]
    fn items_stored_in_the_first_compact_form_still_read() {
        // Version 1: per attribute its name's length and bytes, its type, a 4-byte length, its value.
        let mut stored = vec![COMPACT_V1];
        for (name, kind, value) in [("OrderId", b'S', "7"), ("Custom", b'N', "1.5")] {
            stored.push(name.len() as u8);
            stored.extend_from_slice(name.as_bytes());
            stored.push(kind);
            stored.extend_from_slice(&(value.len() as u32).to_le_bytes());
            stored.extend_from_slice(value.as_bytes());
        }
        assert_eq!(
            stored_item_json(&stored).unwrap(),
            serde_json::json!({"OrderId": {"S": "7"}, "Custom": {"N": "1.5"}})
        );
    }

    #[test]
    fn value_lengths_round_trip_through_their_varint() {
        for len in [0u32, 1, 127, 128, 300, 16_383, 16_384, 1 << 20, u32::MAX] {
            let mut bytes = Vec::new();
            push_varint(&mut bytes, len);
            assert!(bytes.len() <= 5, "{len}");
            let mut attributes = Attributes {
                version: COMPACT_V2,
                rest: &bytes,
            };
            assert_eq!(attributes.varint().unwrap(), len, "{len}");
            assert!(attributes.rest.is_empty());
        }
        let mut unterminated = Attributes {
            version: COMPACT_V2,
            rest: &[0x80; 6],
        };
        assert!(unterminated.varint().is_err());
    }

    #[test]
    fn names_are_looked_up_when_compiled() {
        const UNITS: Name = Name::of("UnitsSold");
        assert_eq!(NAMES[UNITS.0 as usize], "UnitsSold");
        assert_eq!(Name::of("Region"), Name(0));
    }
}
