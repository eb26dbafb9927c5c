//! What identifies an item: its partition key and, when the table has one, its sort key, each
//! typed S or N. Numbers are keyed as DynamoDB keys them (`007` and `7.0` are the key `7`), and a
//! key is one byte string, which both backends compare items by: the embedded table stores items
//! under it, and a DynamoDB request never carries two items of one key.

use super::Type;

/// One key attribute's value, as a lookup names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyValue<'a> {
    pub attribute: &'a str,
    /// S or N: a key is never BOOL.
    pub kind: Type,
    pub value: &'a str,
}

/// The key of one item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TableKey<'a> {
    pub partition: KeyValue<'a>,
    pub sort: Option<KeyValue<'a>>,
}

impl TableKey<'_> {
    /// The key's bytes, as [`encode_key`] gives them for an item written with these values.
    pub fn encoded(&self) -> Vec<u8> {
        let text = |key: &KeyValue<'_>| match key.kind {
            Type::N => CanonicalNumber::of(key.value).to_string(),
            _ => key.value.to_owned(),
        };
        let mut out = Vec::new();
        let partition = text(&self.partition);
        match &self.sort {
            None => out.extend_from_slice(partition.as_bytes()),
            Some(sort) => encode_key(partition.as_bytes(), text(sort).as_bytes(), &mut out),
        }
        out
    }
}

/// Reads as a lookup names it: `OrderId = "4242"`, or `id = "7", at = "2024-01-01"`.
impl std::fmt::Display for TableKey<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} = {:?}", self.partition.attribute, self.partition.value)?;
        if let Some(sort) = &self.sort {
            write!(f, ", {} = {:?}", sort.attribute, sort.value)?;
        }
        Ok(())
    }
}

/// Appends the key of an item with a sort key: the partition key's bytes with each 0x00 written
/// as 0x00 0xFF, then 0x00 0x01, then the sort key's bytes. No two pairs share an encoding, and
/// the items of one partition sort together, by sort key. (Without a sort key, the key is the
/// partition key's bytes as they are.)
pub fn encode_key(partition: &[u8], sort: &[u8], out: &mut Vec<u8>) {
    for &byte in partition {
        out.push(byte);
        if byte == 0 {
            out.push(0xFF);
        }
    }
    out.extend_from_slice(&[0, 1]);
    out.extend_from_slice(sort);
}

/// A number in plain decimal notation, as DynamoDB normalizes it: no leading zeros, no trailing
/// zeros after the point, no point without digits after it, and no sign on zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CanonicalNumber<'a> {
    negative: bool,
    /// Without leading zeros; empty for a number below 1.
    whole: &'a str,
    /// Without trailing zeros; empty for a whole number.
    fraction: &'a str,
}

impl<'a> CanonicalNumber<'a> {
    /// `text`, checked by the caller to be plain decimal notation (`-12.50`, `.5`, `007`).
    pub fn of(text: &'a str) -> Self {
        let (negative, unsigned) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
        let whole = whole.trim_start_matches('0');
        let fraction = fraction.trim_end_matches('0');
        CanonicalNumber {
            negative: negative && !(whole.is_empty() && fraction.is_empty()),
            whole,
            fraction,
        }
    }

    /// The length of its text.
    pub fn len(&self) -> usize {
        usize::from(self.negative)
            + self.whole.len().max(1)
            + self.fraction.len()
            + usize::from(!self.fraction.is_empty())
    }

    /// Appends its text.
    pub fn write(&self, out: &mut Vec<u8>) {
        if self.negative {
            out.push(b'-');
        }
        if self.whole.is_empty() {
            out.push(b'0');
        }
        out.extend_from_slice(self.whole.as_bytes());
        if !self.fraction.is_empty() {
            out.push(b'.');
            out.extend_from_slice(self.fraction.as_bytes());
        }
    }
}

impl std::fmt::Display for CanonicalNumber<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut text = Vec::with_capacity(self.len());
        self.write(&mut text);
        f.write_str(std::str::from_utf8(&text).expect("written from ASCII digits"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_keyed_as_dynamodb_normalizes_them() {
        for (text, canonical) in [
            ("7", "7"),
            ("007", "7"),
            ("7.0", "7"),
            ("7.", "7"),
            ("-0", "0"),
            ("-0.00", "0"),
            (".5", "0.5"),
            ("-00.50", "-0.5"),
            ("10", "10"),
            ("100.010", "100.01"),
            ("0", "0"),
        ] {
            let number = CanonicalNumber::of(text);
            assert_eq!(number.to_string(), canonical, "{text}");
            assert_eq!(number.len(), canonical.len(), "{text}");
        }
    }

    #[test]
    fn keys_with_a_sort_key_are_unambiguous_and_group_by_partition() {
        let encode = |partition: &[u8], sort: &[u8]| {
            let mut out = Vec::new();
            encode_key(partition, sort, &mut out);
            out
        };
        // The same bytes split differently between the two keys.
        assert_ne!(encode(b"a\0b", b"c"), encode(b"a", b"b\0c"));
        assert_ne!(encode(b"a\0", b"\x01"), encode(b"a", b"\0\x01"));
        // Partition first, then sort key, even when one partition is a prefix of another.
        let mut keys = vec![
            encode(b"ab", b"1"),
            encode(b"a", b"9"),
            encode(b"a", b"10"),
            encode(b"a\0", b""),
        ];
        keys.sort();
        assert_eq!(
            keys,
            [
                encode(b"a", b"10"),
                encode(b"a", b"9"),
                encode(b"a\0", b""),
                encode(b"ab", b"1")
            ]
        );
    }

    #[test]
    fn a_lookup_key_encodes_as_the_written_one() {
        let key = |kind, value| KeyValue {
            attribute: "k",
            kind,
            value,
        };
        let plain = TableKey {
            partition: key(Type::S, "042"),
            sort: None,
        };
        assert_eq!(plain.encoded(), b"042");
        let numbers = TableKey {
            partition: key(Type::N, "042"),
            sort: Some(key(Type::N, "1.50")),
        };
        let mut expected = Vec::new();
        encode_key(b"42", b"1.5", &mut expected);
        assert_eq!(numbers.encoded(), expected);
    }
}
