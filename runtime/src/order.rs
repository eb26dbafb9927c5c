//! The order CSV layout and how one row becomes a table item and an output line.
//!
//! Columns are found by header name, never by position, so a reordered or shifted layout can
//! never put a value under the wrong attribute.

use crate::records::Fields;
use crate::table::{ItemRef, ItemWriter, Items, Name, Type};
use uuid::Uuid;

/// How a column is typed in the orders table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Text,
    /// Digits only, stored as a string: the partition key `OrderId` is typed S.
    Id,
    Date,
    Integer,
    Decimal,
}

/// One column of the input: its header text, its table attribute and its kind.
struct Column {
    header: &'static str,
    attribute: Name,
    kind: Kind,
}

const fn col(header: &'static str, attribute: &'static str, kind: Kind) -> Column {
    Column {
        header,
        attribute: Name::of(attribute),
        kind,
    }
}

/// The input layout, in the order of the original sample's files.
const COLUMNS: [Column; 14] = [
    col("Region", "Region", Kind::Text),
    col("Country", "Country", Kind::Text),
    col("Item Type", "ItemType", Kind::Text),
    col("Sales Channel", "SalesChannel", Kind::Text),
    col("Order Priority", "OrderPriority", Kind::Text),
    col("Order Date", "OrderDate", Kind::Date),
    col("Order ID", "OrderId", Kind::Id),
    col("Ship Date", "ShipDate", Kind::Date),
    col("Units Sold", "UnitsSold", Kind::Integer),
    col("Unit Price", "UnitPrice", Kind::Decimal),
    col("Unit Cost", "UnitCost", Kind::Decimal),
    col("Total Revenue", "TotalRevenue", Kind::Decimal),
    col("Total Cost", "TotalCost", Kind::Decimal),
    col("Total Profit", "TotalProfit", Kind::Decimal),
];

/// Partition key of the orders table.
pub const KEY_ATTRIBUTE: &str = "OrderId";
/// Attribute holding the derived confirmation id.
pub const CONFIRMATION_ATTRIBUTE: &str = "ConfirmationId";
/// Header of the result file.
pub const OUTPUT_HEADER: &str = "OrderId,ConfirmationId";

/// The header line of the input, e.g. for generated files and tests.
pub fn input_header() -> String {
    COLUMNS.iter().map(|c| c.header).collect::<Vec<_>>().join(",")
}

/// Where each column sits in a particular file, found from its header.
#[derive(Clone, Debug)]
pub struct Layout {
    /// `positions[i]` is the field index of `COLUMNS[i]`.
    positions: [usize; COLUMNS.len()],
    field_count: usize,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HeaderError {
    #[error("the header is not valid UTF-8; is this an orders CSV file?")]
    NotUtf8,
    #[error("the header holds control bytes; is this a binary file rather than an orders CSV file?")]
    NotText,
    #[error("missing column(s) {missing:?}; expected the header {expected:?}")]
    Missing { missing: Vec<String>, expected: String },
    #[error("unexpected column(s) {unexpected:?}; expected the header {expected:?}")]
    Unexpected { unexpected: Vec<String>, expected: String },
    #[error("column {0:?} appears more than once")]
    Duplicate(String),
}

impl Layout {
    /// Reads the layout from the header's fields (surrounding spaces ignored).
    pub fn from_header<'f>(fields: impl IntoIterator<Item = &'f [u8]>) -> Result<Self, HeaderError> {
        let fields: Vec<&[u8]> = fields.into_iter().collect();
        if fields
            .iter()
            .copied()
            .flatten()
            .any(|&b| b < 0x20 && !matches!(b, b'\t' | b'\r'))
        {
            return Err(HeaderError::NotText);
        }
        let names = fields
            .iter()
            .map(|f| std::str::from_utf8(f).map(|s| s.trim().trim_end_matches('\r')))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| HeaderError::NotUtf8)?;
        let mut positions = [usize::MAX; COLUMNS.len()];
        let mut unexpected = Vec::new();
        for (index, name) in names.iter().enumerate() {
            match COLUMNS.iter().position(|c| c.header == *name) {
                Some(c) if positions[c] != usize::MAX => {
                    return Err(HeaderError::Duplicate(name.to_string()));
                }
                Some(c) => positions[c] = index,
                None => unexpected.push(name.to_string()),
            }
        }
        let missing: Vec<String> = COLUMNS
            .iter()
            .zip(positions)
            .filter(|(_, p)| *p == usize::MAX)
            .map(|(c, _)| c.header.to_string())
            .collect();
        if !missing.is_empty() {
            return Err(HeaderError::Missing {
                missing,
                expected: input_header(),
            });
        }
        if !unexpected.is_empty() {
            return Err(HeaderError::Unexpected {
                unexpected,
                expected: input_header(),
            });
        }
        Ok(Layout {
            positions,
            field_count: names.len(),
        })
    }
}

/// Derives ConfirmationIds: a name-based UUID, so one pipeline always gives one OrderId the same id.
#[derive(Clone, Debug)]
pub struct ConfirmationIds {
    /// A hasher that has taken the pipeline's namespace, cloned for each id.
    hasher: sha1::Sha1,
}

/// Fixed root namespace of every pipeline's ConfirmationIds.
const ROOT_NAMESPACE: Uuid = Uuid::from_u128(0x6576_656e_7464_7269_7665_6e2d_6f72_6465);

impl ConfirmationIds {
    pub fn for_pipeline(pipeline: &str) -> Self {
        use sha1::Digest;
        let namespace = Uuid::new_v5(&ROOT_NAMESPACE, pipeline.as_bytes());
        ConfirmationIds {
            hasher: sha1::Sha1::new().chain_update(namespace.as_bytes()),
        }
    }

    /// The version 5 UUID of `order_id` in the pipeline's namespace (RFC 9562), hashed by
    /// `sha1`, which uses the CPU's SHA instructions: one hash per row adds up.
    pub fn id(&self, order_id: &str) -> ConfirmationId {
        use sha1::Digest;
        let digest = self.hasher.clone().chain_update(order_id.as_bytes()).finalize();
        let bytes: [u8; 16] = digest[..16].try_into().expect("a SHA-1 digest has 20 bytes");
        let mut text = [0u8; 36];
        uuid::Builder::from_sha1_bytes(bytes)
            .into_uuid()
            .hyphenated()
            .encode_lower(&mut text);
        ConfirmationId(text)
    }
}

/// A ConfirmationId in its hyphenated text form, kept on the stack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConfirmationId([u8; 36]);

impl ConfirmationId {
    pub fn as_str(&self) -> &str {
        // SAFETY: built only by `ConfirmationIds::id`, as a UUID's hyphenated lowercase hex:
        // ASCII. (Checked twice a row, for the item and the output line, it showed in profiles.)
        unsafe { std::str::from_utf8_unchecked(&self.0) }
    }
}

/// An accepted row: its table item and its ConfirmationId for the output line.
#[derive(Debug)]
pub struct Order<'a> {
    pub item: ItemRef<'a>,
    pub confirmation_id: ConfirmationId,
}

impl Order<'_> {
    pub fn order_id(&self) -> &str {
        self.item.key()
    }
}

/// Turns one parsed record into an [`Order`] whose item is appended to `items`, or says why
/// it cannot (and appends nothing).
pub fn parse_row<'a>(
    layout: &Layout,
    fields: &Fields<'_>,
    ids: &ConfirmationIds,
    items: &'a mut Items,
) -> Result<Order<'a>, RowError> {
    if fields.count() != layout.field_count {
        return Err(RowError::FieldCount {
            expected: layout.field_count,
            found: fields.count(),
        });
    }
    let last = fields.count() - 1;
    let (item, confirmation_id) = items.push(|item| {
        for (column_index, column) in COLUMNS.iter().enumerate() {
            let position = layout.positions[column_index];
            let mut text = fields
                .text(position)
                .ok_or(RowError::NotUtf8 { column: column.header })?;
            if position == last {
                text = text.strip_suffix('\r').unwrap_or(text);
            }
            let text = trim(text);
            push_typed(item, column, text).map_err(|why| RowError::BadValue {
                column: column.header,
                why,
            })?;
        }
        let confirmation_id = ids.id(item.key());
        item.push(
            const { Name::of(CONFIRMATION_ATTRIBUTE) },
            Type::S,
            confirmation_id.as_str(),
        );
        Ok(confirmation_id)
    })?;
    Ok(Order { item, confirmation_id })
}

/// Why a row is rejected; its text is the `reason` column of the rejects file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RowError {
    #[error("expected {expected} fields, found {found}")]
    FieldCount { expected: usize, found: usize },
    #[error("column {column:?} is not valid UTF-8")]
    NotUtf8 { column: &'static str },
    #[error("column {column:?}: {why}")]
    BadValue { column: &'static str, why: String },
}

/// `text` without the whitespace around it. Most fields have none, which their first and last
/// bytes tell without decoding a character.
fn trim(text: &str) -> &str {
    match (text.as_bytes().first(), text.as_bytes().last()) {
        (Some(first), Some(last)) if first.is_ascii_graphic() && last.is_ascii_graphic() => text,
        _ => text.trim(),
    }
}

/// Checks `text` against the column's kind and adds it to the item, typed.
fn push_typed(item: &mut ItemWriter<'_>, column: &Column, text: &str) -> Result<(), String> {
    if text.is_empty() {
        return Err("is empty".into());
    }
    let is_count = || text.len() <= 18 && text.bytes().all(|b| b.is_ascii_digit());
    match column.kind {
        Kind::Text => item.push(column.attribute, Type::S, text),
        Kind::Date => item.push(column.attribute, Type::S, iso_date(text)?.as_str()),
        Kind::Id | Kind::Integer if !is_count() => return Err(format!("{text:?} is not a non-negative integer")),
        Kind::Id => item.push_key(column.attribute, text),
        Kind::Integer => item.push(column.attribute, Type::N, text),
        Kind::Decimal if is_decimal(text) => item.push(column.attribute, Type::N, text),
        Kind::Decimal => return Err(format!("{text:?} is not a decimal number")),
    }
    Ok(())
}

/// Plain decimal notation (`-12.50`, `3`, `.5`): what DynamoDB and a reader both take as is.
fn is_decimal(text: &str) -> bool {
    let number = text.strip_prefix('-').unwrap_or(text).as_bytes();
    // One pass over the bytes: digits, and at most one point among them.
    let (mut digits, mut points) = (0, 0);
    for &byte in number {
        match byte {
            b'0'..=b'9' => digits += 1,
            b'.' => points += 1,
            _ => return false,
        }
    }
    digits > 0 && points <= 1 && number.len() <= 38
}

/// An ISO 8601 date, `YYYY-MM-DD`, kept on the stack.
struct IsoDate([u8; 10]);

impl IsoDate {
    fn as_str(&self) -> &str {
        // SAFETY: built only by `iso_date`, of ASCII digits and hyphens.
        unsafe { std::str::from_utf8_unchecked(&self.0) }
    }
}

/// `M/D/YYYY` (the sample's format) to ISO 8601, checking the day exists.
fn iso_date(text: &str) -> Result<IsoDate, String> {
    let bad = || format!("{text:?} is not a date in M/D/YYYY form");
    // Month, day and year, with how many digits each has.
    let mut parts = [(0u32, 0usize); 3];
    let mut part = 0;
    for &byte in text.as_bytes() {
        match byte {
            b'/' if part < 2 => part += 1,
            b'0'..=b'9' if parts[part].1 < 4 => {
                parts[part] = (parts[part].0 * 10 + u32::from(byte - b'0'), parts[part].1 + 1);
            }
            _ => return Err(bad()),
        }
    }
    let [(month, m), (day, d), (year, y)] = parts;
    if part != 2 || !(1..=2).contains(&m) || !(1..=2).contains(&d) || y != 4 {
        return Err(bad());
    }
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return Err(bad());
    }
    let mut iso = *b"0000-00-00";
    for (slot, value, width) in [(0, year, 4), (5, month, 2), (8, day, 2)] {
        let mut v = value;
        for i in (slot..slot + width).rev() {
            iso[i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    }
    Ok(IsoDate(iso))
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::ChunkRecords;

    const ROW: &str = "Sub-Saharan Africa,South Africa,Fruits,Offline,M,7/27/2012,443368995,7/28/2012,1593,9.33,6.92,14862.69,11023.56,3839.13";

    fn header(line: &str) -> Result<Layout, HeaderError> {
        let mut records = ChunkRecords::new(line.as_bytes());
        Layout::from_header(records.next_record().unwrap().fields.iter())
    }

    fn layout() -> Layout {
        header(&input_header()).unwrap()
    }

    /// Parses the first record of `line` with `layout`.
    fn parse<'i>(layout: &Layout, line: &[u8], items: &'i mut Items) -> Result<Order<'i>, RowError> {
        let mut records = ChunkRecords::new(line);
        let record = records.next_record().unwrap();
        parse_row(layout, &record.fields, &ConfirmationIds::for_pipeline("orders"), items)
    }

    #[test]
    fn a_character_split_across_two_fields_is_not_utf8() {
        // "\u{e9}" is 0xC3 0xA9: the first byte ends Region and the second starts Country.
        // Quoted, the two fields are read into one buffer side by side, where together the
        // bytes are valid UTF-8; neither field is.
        for line in [
            ROW.replace("Africa,South", "Africa\u{1},\u{2}South"),
            ROW.replace("Sub-Saharan Africa,South", "\"Sub-Saharan Africa\u{1}\",\"\u{2}South\""),
        ] {
            let bytes: Vec<u8> = line
                .bytes()
                .map(|b| match b {
                    1 => 0xC3,
                    2 => 0xA9,
                    b => b,
                })
                .collect();
            assert_eq!(
                parse(&layout(), &bytes, &mut Items::default()).unwrap_err(),
                RowError::NotUtf8 { column: "Region" },
                "{line}"
            );
        }
    }

    fn attr<'a>(order: &Order<'a>, name: &str) -> (Type, &'a str) {
        order.item.get(name).unwrap()
    }

    #[test]
    fn every_column_lands_under_its_own_name_with_its_type() {
        let ids = ConfirmationIds::for_pipeline("orders");
        let mut items = Items::default();
        let order = parse(&layout(), ROW.as_bytes(), &mut items).unwrap();
        assert_eq!(order.order_id(), "443368995");
        assert_eq!(attr(&order, KEY_ATTRIBUTE), (Type::S, "443368995"));
        assert_eq!(attr(&order, "Region"), (Type::S, "Sub-Saharan Africa"));
        assert_eq!(attr(&order, "ItemType"), (Type::S, "Fruits"));
        assert_eq!(attr(&order, "OrderDate"), (Type::S, "2012-07-27"));
        assert_eq!(attr(&order, "UnitsSold"), (Type::N, "1593"));
        assert_eq!(attr(&order, "UnitCost"), (Type::N, "6.92"));
        assert_eq!(attr(&order, "TotalProfit"), (Type::N, "3839.13"));
        assert_eq!(order.item.attributes().count(), 15);
        assert_eq!(order.confirmation_id, ids.id("443368995"));
        assert_eq!(
            attr(&order, CONFIRMATION_ATTRIBUTE),
            (Type::S, order.confirmation_id.as_str())
        );
    }

    #[test]
    fn columns_are_found_by_name_not_position() {
        let layout = header("Order ID,Region,Country,Item Type,Sales Channel,Order Priority,Order Date,Ship Date,Units Sold,Unit Price,Unit Cost,Total Revenue,Total Cost,Total Profit").unwrap();
        let row = "443368995,Sub-Saharan Africa,South Africa,Fruits,Offline,M,7/27/2012,7/28/2012,1593,9.33,6.92,14862.69,11023.56,3839.13";
        let mut items = Items::default();
        let order = parse(&layout, row.as_bytes(), &mut items).unwrap();
        assert_eq!(order.order_id(), "443368995");
        assert_eq!(attr(&order, "UnitCost"), (Type::N, "6.92"));
    }

    #[test]
    fn confirmation_ids_are_version_5_uuids_of_the_order_id() {
        let ids = ConfirmationIds::for_pipeline("orders");
        let namespace = Uuid::new_v5(&ROOT_NAMESPACE, b"orders");
        for order_id in ["1", "443368995", "", "ünïcode order"] {
            assert_eq!(
                ids.id(order_id).as_str(),
                Uuid::new_v5(&namespace, order_id.as_bytes()).to_string()
            );
        }
    }

    #[test]
    fn confirmation_ids_are_deterministic_per_pipeline() {
        let a = ConfirmationIds::for_pipeline("orders");
        assert_eq!(a.id("1"), ConfirmationIds::for_pipeline("orders").id("1"));
        assert_ne!(a.id("1"), a.id("2"));
        assert_ne!(a.id("1"), ConfirmationIds::for_pipeline("other").id("1"));
    }

    #[test]
    fn header_errors_name_the_columns() {
        let err = header("Region,Country").unwrap_err();
        assert!(
            matches!(&err, HeaderError::Missing { missing, .. } if missing.contains(&"Unit Cost".to_string())),
            "{err}"
        );
        let err = header(&format!("{},Extra", input_header())).unwrap_err();
        assert!(err.to_string().contains("Extra"));
        let err = header(&format!("{},Region", input_header())).unwrap_err();
        assert_eq!(err, HeaderError::Duplicate("Region".into()));
    }

    #[test]
    fn bad_rows_say_why() {
        let cases = [
            ("a,b", "expected 14 fields, found 2"),
            (&ROW.replace("443368995", "44336x995"), "Order ID"),
            (&ROW.replace("7/27/2012", "2/30/2012"), "Order Date"),
            (&ROW.replace("9.33", "nan"), "Unit Price"),
            (&ROW.replace("Fruits", ""), "Item Type"),
            (&format!("{ROW},extra"), "expected 14 fields, found 15"),
        ];
        for (row, expected) in cases {
            let err = parse(&layout(), row.as_bytes(), &mut Items::default())
                .unwrap_err()
                .to_string();
            assert!(err.contains(expected), "{row}: {err}");
        }
    }

    #[test]
    fn dates_must_be_month_day_four_digit_year() {
        for good in ["1/2/2012", "12/31/1999", "02/29/2000"] {
            assert!(iso_date(good).is_ok(), "{good}");
        }
        assert_eq!(iso_date("7/4/2012").unwrap().as_str(), "2012-07-04");
        for bad in [
            "",
            "1/2",
            "1/2/12",
            "1/2/20123",
            "123/1/2012",
            "1/123/2012",
            "1//2012",
            "/1/2012",
            "1/2/2012/",
            "1/2/2012/3",
            "a/2/2012",
            "1/2/201x",
            "13/1/2012",
            "0/1/2012",
            "2/29/1900",
            "4/31/2012",
            "1/0/2012",
            "+1/2/2012",
            "1/2/-201",
        ] {
            assert!(iso_date(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn decimals_are_plain_notation() {
        for good in ["3", "-12.50", ".5", "5.", "0", &"9".repeat(38)] {
            assert!(is_decimal(good), "{good}");
        }
        for bad in [
            "",
            "-",
            ".",
            "-.",
            "1.2.3",
            "1e5",
            "nan",
            "+1",
            "1,5",
            " 1",
            "--1",
            &"9".repeat(39),
        ] {
            assert!(!is_decimal(bad), "{bad:?}");
        }
    }

    #[test]
    fn fields_are_trimmed_of_surrounding_whitespace() {
        for (field, trimmed) in [
            ("a", "a"),
            (" a ", "a"),
            ("\ta b\u{a0}", "a b"),
            ("é", "é"),
            ("  ", ""),
            ("x\r", "x"),
        ] {
            assert_eq!(trim(field), trimmed, "{field:?}");
        }
    }

    #[test]
    fn crlf_and_leap_days_are_accepted() {
        let row = format!("{}\r", ROW.replace("7/27/2012", "2/29/2012"));
        let mut items = Items::default();
        let order = parse(&layout(), row.as_bytes(), &mut items).unwrap();
        assert_eq!(attr(&order, "OrderDate"), (Type::S, "2012-02-29"));
        assert_eq!(attr(&order, "TotalProfit"), (Type::N, "3839.13"));
    }
}
