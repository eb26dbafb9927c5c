//! Table items in the compact form the embedded table stores: a version byte, then per
//! attribute its name (a code: its position in the table's [`Names`], as a LEB128 varint, one
//! byte below 128), its type (`S`, `N` or `B`) and its value (its length as a varint, then the
//! bytes). A chunk's items are written back to back into one buffer as its rows are parsed, so
//! an item costs no allocation of its own; DynamoDB JSON or SDK values are rendered from that
//! form only when needed. An order takes about 180 bytes: its values, plus 3 bytes per attribute.

use anyhow::{Result, anyhow};
use std::ops::Range;
use std::sync::Arc;

use super::key::{CanonicalNumber, encode_key};

/// How DynamoDB types an attribute value; each variant's value is its byte in the compact form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Type {
    S = b'S',
    /// A number, kept as its decimal text so no value is rounded on the way.
    N = b'N',
    /// A boolean, kept as the text `true` or `false`.
    Bool = b'B',
}

impl Type {
    /// The type's byte in the compact form.
    fn code(self) -> u8 {
        self as u8
    }

    /// The type's name in DynamoDB's JSON.
    pub fn dynamodb_name(self) -> &'static str {
        match self {
            Type::S => "S",
            Type::N => "N",
            Type::Bool => "BOOL",
        }
    }
}

/// The names items were written with before records were declared: the order sample's. A
/// table that stores no dictionary of its own reads its items with these codes, and every
/// dictionary starts with them, so the order layout writes the codes it always wrote.
const LEGACY_NAMES: [&str; 15] = [
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

/// A table's attribute names, each stored items' code for it: its position. Append only, so
/// a code keeps its name when a later run declares more attributes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Names(Vec<String>);

impl Default for Names {
    fn default() -> Self {
        Names(LEGACY_NAMES.iter().map(|name| (*name).to_owned()).collect())
    }
}

impl Names {
    /// A dictionary as a table stored it; it must start with the names every dictionary starts with.
    pub fn stored(names: Vec<String>) -> Result<Self> {
        if !names.starts_with(&Names::default().0) {
            return Err(anyhow!(
                "the stored attribute names do not start with the order sample's"
            ));
        }
        Ok(Names(names))
    }

    /// These names with `more` appended, those they lack, in the order given.
    pub fn with(&self, more: &[&str]) -> Names {
        let mut names = self.clone();
        for name in more {
            if names.code(name).is_none() {
                names.0.push((*name).to_owned());
            }
        }
        names
    }

    pub fn code(&self, name: &str) -> Option<Name> {
        self.0.iter().position(|n| n == name).map(|code| Name(code as u32))
    }

    fn name(&self, code: u32) -> Option<&str> {
        self.0.get(code as usize).map(String::as_str)
    }

    pub fn as_slice(&self) -> &[String] {
        &self.0
    }
}

/// An attribute name, held as its code in a [`Names`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Name(u32);

/// First byte of the compact form written by earlier versions: each attribute's name in full
/// and its length in 4 bytes. Such items still read; a stored value starting with `{` is an
/// item stored as DynamoDB JSON by a version before that.
const COMPACT_V1: u8 = 1;
/// First byte of the compact form written now.
const COMPACT_V2: u8 = 2;

/// Items, each in compact form, back to back in one buffer, with where each one and its key
/// lie in it, and the names their codes stand for.
#[derive(Clone, Debug, Default)]
pub struct Items {
    bytes: Vec<u8>,
    entries: Vec<Entry>,
    names: Arc<Names>,
    /// Where an item's partition and sort keys are joined (see [`super::key`]).
    joined_key: Vec<u8>,
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

    /// Removes every item, keeping the memory for the next ones, which are written with `names`.
    pub fn clear(&mut self, names: Arc<Names>) {
        self.bytes.clear();
        self.entries.clear();
        self.names = names;
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
            start,
            key: 0..0,
            sort_key: None,
            joined_key: &mut self.joined_key,
            names: &self.names,
        };
        let built = match build(&mut writer) {
            Ok(built) => built,
            Err(err) => {
                self.bytes.truncate(start);
                return Err(err);
            }
        };
        let (key, sort_key) = (writer.key, writer.sort_key);
        let end = self.bytes.len();
        let key = match sort_key {
            None => key,
            // The joined key lies past the item, outside its compact form.
            Some(sort_key) => {
                self.joined_key.clear();
                encode_key(&self.bytes[key], &self.bytes[sort_key], &mut self.joined_key);
                self.bytes.extend_from_slice(&self.joined_key);
                end..self.bytes.len()
            }
        };
        // Every offset of the item is at most the buffer's end: checked here, they all fit their u32s.
        u32::try_from(self.bytes.len()).expect("a chunk's items stay under 4 GiB (workdir::MAX_CHUNK_BYTES)");
        let mut prefix = [0u8; KEY_PREFIX_BYTES];
        let head = &self.bytes[key.start..key.end.min(key.start + KEY_PREFIX_BYTES)];
        prefix[..head.len()].copy_from_slice(head);
        self.entries.push(Entry {
            key_prefix: u128::from_be_bytes(prefix),
            start: start as u32,
            end: end as u32,
            key_start: key.start as u32,
            key_end: key.end as u32,
        });
        Ok((self.get(self.entries.len() - 1), built))
    }

    fn get(&self, index: usize) -> ItemRef<'_> {
        let entry = self.entries[index];
        ItemRef {
            compact: &self.bytes[entry.range()],
            key: &self.bytes[entry.key()],
            names: &self.names,
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

/// Writes one item's attributes into [`Items`].
pub struct ItemWriter<'a> {
    bytes: &'a mut Vec<u8>,
    /// Where the item starts in `bytes`.
    start: usize,
    key: Range<usize>,
    sort_key: Option<Range<usize>>,
    /// The partition and sort keys joined, when asked for by [`Self::key`].
    joined_key: &'a mut Vec<u8>,
    names: &'a Names,
}

impl ItemWriter<'_> {
    /// The bytes of the item's compact form so far.
    pub fn compact_len(&self) -> usize {
        self.bytes.len() - self.start
    }

    /// The item's size as DynamoDB counts it (its names' and values' bytes), read back from
    /// what is written so far.
    pub fn dynamodb_size(&self) -> usize {
        Attributes::of(&self.bytes[self.start..], self.names)
            .expect("written in the current form")
            .map(|attribute| attribute.map_or(0, |(name, _, value)| name.len() + value.len()))
            .sum()
    }

    /// Pushes an attribute; returns where its value lies in the item's compact form.
    #[inline]
    pub fn push(&mut self, name: Name, kind: Type, value: &str) -> Range<usize> {
        let at = self.push_value(name, kind, value);
        at.start - self.start..at.end - self.start
    }

    /// Pushes the partition key, S or N (a number is stored as its key: see [`CanonicalNumber`]).
    pub fn push_key(&mut self, name: Name, kind: Type, value: &str) -> Range<usize> {
        self.key = self.push_key_value(name, kind, value);
        self.key.start - self.start..self.key.end - self.start
    }

    /// Pushes the sort key, S or N, as [`Self::push_key`] pushes the partition key.
    pub fn push_sort_key(&mut self, name: Name, kind: Type, value: &str) -> Range<usize> {
        let at = self.push_key_value(name, kind, value);
        self.sort_key = Some(at.clone());
        at.start - self.start..at.end - self.start
    }

    /// The item's key as pushed so far (see [`super::key`]); empty before [`Self::push_key`].
    pub fn key(&mut self) -> &[u8] {
        match &self.sort_key {
            None => &self.bytes[self.key.clone()],
            Some(sort_key) => {
                self.joined_key.clear();
                encode_key(
                    &self.bytes[self.key.clone()],
                    &self.bytes[sort_key.clone()],
                    self.joined_key,
                );
                self.joined_key
            }
        }
    }

    fn push_key_value(&mut self, name: Name, kind: Type, value: &str) -> Range<usize> {
        match kind {
            Type::N => {
                let number = CanonicalNumber::of(value);
                self.push_head(name, kind, number.len());
                let start = self.bytes.len();
                number.write(self.bytes);
                start..self.bytes.len()
            }
            _ => self.push_value(name, kind, value),
        }
    }

    #[inline]
    fn push_value(&mut self, name: Name, kind: Type, value: &str) -> Range<usize> {
        self.push_head(name, kind, value.len());
        let start = self.bytes.len();
        self.bytes.extend_from_slice(value.as_bytes());
        start..self.bytes.len()
    }

    /// An attribute's name, type and value length.
    // Always: once per attribute, 15 times an order, a call showed in profiles.
    #[inline(always)]
    fn push_head(&mut self, name: Name, kind: Type, len: usize) {
        let len = u32::try_from(len).expect("values are bounded by the record size");
        push_varint(self.bytes, name.0);
        self.bytes.push(kind.code());
        push_varint(self.bytes, len);
    }
}

/// Appends `value` as a LEB128 varint (7 bits a byte, low bits first): 1 byte below 128, at
/// most 5.
#[inline(always)]
fn push_varint(bytes: &mut Vec<u8>, mut value: u32) {
    // Byte by byte: these pushes compile inline, where copying a slice calls memmove.
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
    key: &'a [u8],
    names: &'a Names,
}

impl<'a> ItemRef<'a> {
    /// The item's key (see [`super::key`]).
    pub fn key(&self) -> &'a [u8] {
        self.key
    }

    /// The item's compact form, as the embedded table stores it.
    pub fn compact(&self) -> &'a [u8] {
        self.compact
    }

    pub fn attributes(&self) -> impl Iterator<Item = (&'a str, Type, &'a str)> {
        Attributes::of(self.compact, self.names)
            .expect("items are written in the current form")
            .map(|attribute| attribute.expect("items are written whole, with their names' codes"))
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
            match kind {
                Type::S => out.extend_from_slice(b":{\"S\":"),
                Type::N => out.extend_from_slice(b":{\"N\":"),
                Type::Bool => out.extend_from_slice(b":{\"BOOL\":"),
            }
            match kind {
                Type::Bool => out.extend_from_slice(value.as_bytes()),
                _ => write_json_string(out, value),
            }
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
    names: &'a Names,
}

impl<'a> Attributes<'a> {
    /// The attributes of `stored`, whose codes stand for `names`, or `None` when it is not in a
    /// compact form.
    fn of(stored: &'a [u8], names: &'a Names) -> Option<Self> {
        match stored.split_first() {
            Some((&version, rest)) if version == COMPACT_V1 || version == COMPACT_V2 => {
                Some(Attributes { version, rest, names })
            }
            _ => None,
        }
    }

    fn attribute(&mut self) -> Result<(&'a str, Type, &'a str)> {
        let name = if self.version == COMPACT_V1 {
            let name_len = self.take(1)?[0] as usize;
            std::str::from_utf8(self.take(name_len)?)?
        } else {
            let code = self.varint()?;
            self.names
                .name(code)
                .ok_or_else(|| anyhow!("unknown attribute name {code}"))?
        };
        let kind = match self.take(1)?[0] {
            b'S' => Type::S,
            b'N' => Type::N,
            b'B' => Type::Bool,
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

/// A stored item in DynamoDB's JSON form, from its compact form, whose codes stand for `names`
/// (or, as the first versions stored it, from DynamoDB JSON).
pub fn stored_item_json(stored: &[u8], names: &Names) -> Result<serde_json::Value> {
    let Some(attributes) = Attributes::of(stored, names) else {
        return Ok(serde_json::from_slice(stored)?);
    };
    let mut item = serde_json::Map::new();
    for attribute in attributes {
        let (name, kind, value) =
            attribute.map_err(|e| anyhow!("a stored item is corrupt ({} bytes): {e}", stored.len()))?;
        let value = match kind {
            Type::Bool => serde_json::Value::Bool(value == "true"),
            _ => value.into(),
        };
        item.insert(name.to_owned(), serde_json::json!({ kind.dynamodb_name(): value }));
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

/// The code of one of the order sample's names, for tests.
#[cfg(test)]
pub(crate) fn legacy(name: &str) -> Name {
    Names::default().code(name).expect("one of the order sample's names")
}

/// Items of an OrderId and a UnitsSold each, for tests.
#[cfg(test)]
pub(crate) fn items(rows: &[(&str, &str)]) -> Items {
    let mut items = Items::default();
    for (key, value) in rows {
        items
            .push(|item| {
                item.push_key(legacy("OrderId"), Type::S, key);
                item.push(legacy("UnitsSold"), Type::N, value);
                Ok::<_, ()>(())
            })
            .unwrap();
    }
    items
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(key: &[u8]) -> String {
        String::from_utf8(key.to_vec()).unwrap()
    }

    fn rows(items: &Items) -> Vec<(String, String)> {
        items
            .iter()
            .map(|item| (text(item.key()), item.get("UnitsSold").unwrap().1.to_owned()))
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
        let keys: Vec<String> = sorted.iter().map(|i| text(i.key())).collect();
        assert_eq!(keys, ["12345678", "12345678\u{0}", "123456789", "2"]);
    }

    #[test]
    fn a_failed_item_leaves_nothing_behind() {
        let mut all = items(&[("1", "1")]);
        let failed = all.push(|item| {
            item.push_key(legacy("OrderId"), Type::S, "2");
            Err::<(), _>("bad value")
        });
        assert_eq!(failed.unwrap_err(), "bad value");
        all.push(|item| {
            item.push_key(legacy("OrderId"), Type::S, "3");
            Ok::<_, ()>(())
        })
        .unwrap();
        let keys: Vec<String> = all.iter().map(|i| text(i.key())).collect();
        assert_eq!(keys, ["1", "3"]);
    }

    #[test]
    fn items_print_as_dynamodb_json_and_read_back_from_storage() {
        let mut all = Items::default();
        let long = "x".repeat(300);
        let (item, ()) = all
            .push(|item| {
                item.push_key(legacy("OrderId"), Type::S, "7");
                item.push(legacy("Region"), Type::S, "say \"hi\"\n, ünïcode");
                item.push(legacy("UnitPrice"), Type::N, "1.50");
                item.push(legacy("Country"), Type::S, &long);
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
        let names = Names::default();
        assert_eq!(stored_item_json(item.compact(), &names).unwrap(), expected);
        // Items stored as JSON by the first versions still read.
        assert_eq!(stored_item_json(&json, &names).unwrap(), expected);
        let cut = &item.compact()[..item.compact().len() - 1];
        assert!(
            stored_item_json(cut, &names)
                .unwrap_err()
                .to_string()
                .contains("corrupt")
        );
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
            stored_item_json(&stored, &Names::default()).unwrap(),
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
                names: &Names::default(),
            };
            assert_eq!(attributes.varint().unwrap(), len, "{len}");
            assert!(attributes.rest.is_empty());
        }
        let mut unterminated = Attributes {
            version: COMPACT_V2,
            rest: &[0x80; 6],
            names: &Names::default(),
        };
        assert!(unterminated.varint().is_err());
    }

    #[test]
    fn the_order_sample_s_names_keep_the_codes_stored_items_hold() {
        // An item the previous version wrote: OrderId (code 6), UnitsSold (code 8), one byte each.
        let stored = [COMPACT_V2, 6, b'S', 1, b'7', 8, b'N', 2, b'1', b'2'];
        let expected = serde_json::json!({"OrderId": {"S": "7"}, "UnitsSold": {"N": "12"}});
        assert_eq!(stored_item_json(&stored, &Names::default()).unwrap(), expected);
        let declared = Names::default().with(&["Sku", "OrderId", "InStock"]);
        assert_eq!(stored_item_json(&stored, &declared).unwrap(), expected);
        let mut written = Items::default();
        written.clear(Arc::new(declared));
        let (item, ()) = written
            .push(|item| {
                item.push_key(legacy("OrderId"), Type::S, "7");
                item.push(legacy("UnitsSold"), Type::N, "12");
                Ok::<_, ()>(())
            })
            .unwrap();
        assert_eq!(item.compact(), stored);
    }

    #[test]
    fn dictionaries_only_grow_and_keep_every_code() {
        let first = Names::default().with(&["Sku", "Region", "InStock"]);
        assert_eq!(first.code("Region"), Some(legacy("Region")));
        assert_eq!(first.as_slice()[15..], ["Sku", "InStock"]);
        let later = first.with(&["Added", "Sku"]);
        assert_eq!(later.as_slice()[..first.as_slice().len()], *first.as_slice());
        assert_eq!(later.code("Added"), Some(Name(17)));
        assert_eq!(Names::stored(later.as_slice().to_vec()).unwrap(), later);
        assert!(Names::stored(vec!["Sku".into()]).is_err());
    }

    #[test]
    fn codes_past_127_take_two_bytes_and_read_back() {
        let many: Vec<String> = (0..200).map(|n| format!("a{n}")).collect();
        let names = Names::default().with(&many.iter().map(String::as_str).collect::<Vec<_>>());
        let code = names.code("a199").unwrap();
        assert_eq!(code, Name(214));
        let mut items = Items::default();
        items.clear(Arc::new(names));
        let (item, ()) = items
            .push(|item| {
                item.push_key(code, Type::S, "k");
                item.push(legacy("Region"), Type::Bool, "true");
                Ok::<_, ()>(())
            })
            .unwrap();
        assert_eq!(item.compact()[1..3], [(214 & 0x7f) | 0x80, 214 >> 7]);
        let mut json = Vec::new();
        item.write_json(&mut json);
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&json).unwrap(),
            serde_json::json!({"a199": {"S": "k"}, "Region": {"BOOL": true}})
        );
    }

    #[test]
    fn number_keys_are_stored_canonical_and_sort_keys_join_the_key() {
        let names = Names::default().with(&["id", "at"]);
        let (id, at) = (names.code("id").unwrap(), names.code("at").unwrap());
        let mut items = Items::default();
        items.clear(Arc::new(names));
        let mut keys_seen = Vec::new();
        for (partition, sort) in [("007", "b"), ("7.0", "b"), ("7", "a")] {
            items
                .push(|item| {
                    item.push_key(id, Type::N, partition);
                    item.push_sort_key(at, Type::S, sort);
                    keys_seen.push(item.key().to_vec());
                    item.push(legacy("Region"), Type::S, "x");
                    Ok::<_, ()>(())
                })
                .unwrap();
        }
        let mut joined = Vec::new();
        encode_key(b"7", b"b", &mut joined);
        assert_eq!(keys_seen[0], joined);
        items.keep_last_per_key();
        let kept: Vec<Vec<u8>> = items.iter().map(|i| i.key().to_vec()).collect();
        assert_eq!(kept.len(), 2, "007/b and 7.0/b are one key");
        assert_eq!(kept[1], joined);
        assert_eq!(items.iter().nth(1).unwrap().get("id"), Some((Type::N, "7")));
        // The joined key is not part of the stored item.
        let item = items.iter().next().unwrap();
        assert_eq!(item.attributes().count(), 3);
    }
}
