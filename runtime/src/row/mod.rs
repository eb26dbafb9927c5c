//! How one CSV row of the declared record becomes a table item and a result line.
//!
//! [`RowSchema`] is the record compiled once per process or chunk: each column's attribute code,
//! value parser and role (partition key, sort key, attribute), the generated attribute and the
//! result's columns. [`RowReader`] applies it to the rows of one file, whose header says where
//! each column is ([`layout`]).

pub mod generated;
pub mod layout;
mod output;
pub mod value;

pub use layout::{HeaderError, Layout};

use crate::records::Fields;
use crate::table::{Items, Name, Names, OrdersTable, Type};
use anyhow::Result;
use eventdriven_core::record::Record;
use generated::Generator;
use std::ops::Range;
use std::sync::Arc;
use value::{FormatError, ValueBuffer, ValueParser};

/// DynamoDB's largest item, names and values counted (400 KB).
const MAX_ITEM_BYTES: usize = 400 * 1024;
/// DynamoDB's longest partition key and sort key values.
const MAX_PARTITION_KEY_BYTES: usize = 2048;
const MAX_SORT_KEY_BYTES: usize = 1024;

/// The declared record, compiled for parsing rows.
#[derive(Clone, Debug)]
pub struct RowSchema {
    record: Record,
    columns: Vec<ColumnRule>,
    generated: Option<GeneratedRule>,
    /// Per slot of the result line, whether its values may need quotes (a string column's).
    output_quoting: Vec<bool>,
    /// The attribute names' bytes together: an item whose compact form plus these is within
    /// DynamoDB's limit is within it, without counting.
    names_bytes: usize,
    names: Arc<Names>,
}

/// What one declared column does with its field.
#[derive(Clone, Debug)]
struct ColumnRule {
    name: Name,
    parser: ValueParser,
    table_type: Type,
    required: bool,
    role: Role,
    /// Its position in the result line, if it is one of the output attributes.
    output_slot: Option<usize>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Attribute,
    PartitionKey,
    SortKey,
}

#[derive(Clone, Debug)]
struct GeneratedRule {
    name: Name,
    generator: Generator,
    output_slot: Option<usize>,
}

/// Checks that every date and timestamp format of `record` reads its type.
pub fn check_formats(record: &Record) -> Result<(), FormatError> {
    record
        .columns
        .iter()
        .try_for_each(|column| ValueParser::for_column(column).map(drop))
}

impl RowSchema {
    /// Compiles `record` for the pipeline named `pipeline`, its attribute names coded by `names`,
    /// which holds every one of them (see [`attributes`]).
    pub fn new(record: &Record, pipeline: &str, names: Arc<Names>) -> Result<Self, FormatError> {
        let code = |attribute: &str| names.code(attribute).expect("the names hold the record's attributes");
        let slot = |attribute: &str| record.output.iter().position(|name| name == attribute);
        let columns = record
            .columns
            .iter()
            .enumerate()
            .map(|(index, column)| {
                let parser = ValueParser::for_column(column)?;
                Ok(ColumnRule {
                    name: code(&column.attribute),
                    table_type: parser.table_type(),
                    parser,
                    required: column.required,
                    role: if index == record.key {
                        Role::PartitionKey
                    } else if Some(index) == record.sort_key {
                        Role::SortKey
                    } else {
                        Role::Attribute
                    },
                    output_slot: slot(&column.attribute),
                })
            })
            .collect::<Result<Vec<_>, FormatError>>()?;
        let generated = record.generated.as_ref().map(|generated| GeneratedRule {
            name: code(&generated.attribute),
            generator: Generator::new(generated.kind, pipeline),
            output_slot: slot(&generated.attribute),
        });
        let output_quoting = (0..record.output.len())
            .map(|slot| {
                columns
                    .iter()
                    .any(|rule| rule.output_slot == Some(slot) && rule.parser.may_need_quotes())
            })
            .collect();
        Ok(RowSchema {
            record: record.clone(),
            columns,
            generated,
            output_quoting,
            names_bytes: attributes(record).iter().map(|name| name.len()).sum(),
            names,
        })
    }

    /// Compiles `record` with the codes `table` has (or now gives) its attribute names.
    pub async fn for_table(record: &Record, pipeline: &str, table: &OrdersTable) -> Result<Self> {
        let names = table.names(&attributes(record)).await?;
        Ok(RowSchema::new(record, pipeline, names)?)
    }

    pub fn record(&self) -> &Record {
        &self.record
    }

    /// The names the items are written with.
    pub fn names(&self) -> Arc<Names> {
        self.names.clone()
    }

    /// A reader of the rows of the file whose header's fields are `header`.
    pub fn reader<'f>(&self, header: impl IntoIterator<Item = &'f [u8]>) -> Result<RowReader<'_>, HeaderError> {
        Ok(RowReader {
            schema: self,
            layout: Layout::from_header(&self.record, header)?,
            slots: vec![None; self.output_quoting.len()],
            buffer: ValueBuffer::default(),
        })
    }
}

/// Every attribute an item of `record` may have: the columns', then the generated one.
pub fn attributes(record: &Record) -> Vec<&str> {
    record
        .columns
        .iter()
        .map(|c| c.attribute.as_str())
        .chain(record.generated.as_ref().map(|g| g.attribute.as_str()))
        .collect()
}

/// Reads the rows of one file: [`RowSchema`] with the file's [`Layout`], and the space a row
/// is read in.
pub struct RowReader<'s> {
    schema: &'s RowSchema,
    layout: Layout,
    /// Where each output value lies in the item being written; `None` for one it lacks.
    slots: Vec<Option<Range<usize>>>,
    buffer: ValueBuffer,
}

/// Why a row is rejected; its text is the `reason` column of the rejects file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RowError {
    #[error("expected {expected} fields, found {found}")]
    FieldCount { expected: usize, found: usize },
    #[error("column {column:?} is not valid UTF-8")]
    NotUtf8 { column: String },
    #[error("column {column:?}: {why}")]
    BadValue { column: String, why: String },
    #[error("the item is {bytes} bytes, over the {MAX_ITEM_BYTES} bytes DynamoDB stores in one item")]
    ItemTooLarge { bytes: usize },
}

impl RowReader<'_> {
    /// Appends the row's item to `items` and its result line to `output`, or says why the row
    /// cannot be loaded (and appends nothing).
    pub fn read(&mut self, fields: &Fields<'_>, items: &mut Items, output: &mut Vec<u8>) -> Result<(), RowError> {
        let layout = &self.layout;
        if fields.count() != layout.field_count() {
            return Err(RowError::FieldCount {
                expected: layout.field_count(),
                found: fields.count(),
            });
        }
        let last = fields.count() - 1;
        let (schema, slots, buffer) = (self.schema, &mut self.slots, &mut self.buffer);
        let column_error = |index: usize, why: String| RowError::BadValue {
            column: schema.record.columns[index].header.clone(),
            why,
        };
        let (item, ()) = items.push(|item| {
            for (index, (rule, position)) in schema.columns.iter().zip(layout.positions()).enumerate() {
                let text = match *position {
                    Some(position) => {
                        let text = fields.text(position).ok_or_else(|| RowError::NotUtf8 {
                            column: schema.record.columns[index].header.clone(),
                        })?;
                        let text = if position == last {
                            text.strip_suffix('\r').unwrap_or(text)
                        } else {
                            text
                        };
                        trim(text)
                    }
                    None => "",
                };
                if text.is_empty() {
                    if rule.required {
                        return Err(column_error(index, "is empty".into()));
                    }
                    if let Some(slot) = rule.output_slot {
                        slots[slot] = None;
                    }
                    continue;
                }
                let value = rule
                    .parser
                    .parse(text, buffer)
                    .map_err(|why| column_error(index, why))?;
                let at = match rule.role {
                    Role::Attribute => item.push(rule.name, rule.table_type, value),
                    Role::PartitionKey => key_length(value, MAX_PARTITION_KEY_BYTES, "partition")
                        .map(|()| item.push_key(rule.name, rule.table_type, value))
                        .map_err(|why| column_error(index, why))?,
                    Role::SortKey => key_length(value, MAX_SORT_KEY_BYTES, "sort")
                        .map(|()| item.push_sort_key(rule.name, rule.table_type, value))
                        .map_err(|why| column_error(index, why))?,
                };
                if let Some(slot) = rule.output_slot {
                    slots[slot] = Some(at);
                }
            }
            if let Some(rule) = &schema.generated {
                let value = rule.generator.value(item.key());
                let at = item.push(rule.name, Type::S, value.as_str());
                if let Some(slot) = rule.output_slot {
                    slots[slot] = Some(at);
                }
            }
            if item.compact_len() + schema.names_bytes > MAX_ITEM_BYTES {
                let bytes = item.dynamodb_size();
                if bytes > MAX_ITEM_BYTES {
                    return Err(RowError::ItemTooLarge { bytes });
                }
            }
            Ok(())
        })?;
        let compact = item.compact();
        for (n, (slot, &quoting)) in slots.iter().zip(&schema.output_quoting).enumerate() {
            if n > 0 {
                output.push(b',');
            }
            if let Some(at) = slot {
                output::push_field(output, &compact[at.clone()], quoting);
            }
        }
        output.push(b'\n');
        Ok(())
    }
}

fn key_length(value: &str, max: usize, which: &str) -> Result<(), String> {
    if value.len() > max {
        return Err(format!(
            "is {} bytes, over the {max} bytes DynamoDB allows a {which} key",
            value.len()
        ));
    }
    Ok(())
}

/// `text` without the whitespace around it. Most fields have none, which their first and last
/// bytes tell without decoding a character.
fn trim(text: &str) -> &str {
    match (text.as_bytes().first(), text.as_bytes().last()) {
        (Some(first), Some(last)) if first.is_ascii_graphic() && last.is_ascii_graphic() => text,
        _ => text.trim(),
    }
}

/// The order sample's layout compiled for the pipeline `pipeline`, for tests.
#[cfg(test)]
pub(crate) fn order_schema(pipeline: &str) -> RowSchema {
    let record = crate::declaration::record(None).unwrap();
    RowSchema::new(&record, pipeline, Arc::new(Names::default())).unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::ChunkRecords;
    use eventdriven_core::config_path::ConfigPath;
    use eventdriven_core::record::RecordSpec;
    use generated::UuidV5Ids;

    const ROW: &str = "Sub-Saharan Africa,South Africa,Fruits,Offline,M,7/27/2012,443368995,7/28/2012,1593,9.33,6.92,14862.69,11023.56,3839.13";

    /// What reading one row gave: its item's attributes, or why it was rejected, and its line.
    struct Read {
        items: Items,
        line: String,
    }

    impl Read {
        fn attr(&self, name: &str) -> Option<(Type, &str)> {
            self.items.iter().next().unwrap().get(name)
        }
    }

    /// Reads the first row after `header` with `schema`.
    fn read(schema: &RowSchema, header: &str, row: &[u8]) -> Result<Read, RowError> {
        let mut headers = ChunkRecords::new(header.as_bytes());
        let mut reader = schema.reader(headers.next_record().unwrap().fields.iter()).unwrap();
        let mut records = ChunkRecords::new(row);
        let record = records.next_record().unwrap();
        let (mut items, mut output) = (Items::default(), Vec::new());
        items.clear(schema.names());
        reader.read(&record.fields, &mut items, &mut output)?;
        assert_eq!(items.len(), 1);
        Ok(Read {
            items,
            line: String::from_utf8(output).unwrap(),
        })
    }

    fn order(row: &[u8]) -> Result<Read, RowError> {
        read(&order_schema("orders"), &crate::generate::order_header(), row)
    }

    #[test]
    fn every_order_column_lands_under_its_own_name_with_its_type_and_codes() {
        let read = order(ROW.as_bytes()).unwrap();
        let confirmation = UuidV5Ids::for_pipeline("orders").id(b"443368995");
        assert_eq!(read.line, format!("443368995,{}\n", confirmation.as_str()));
        assert_eq!(read.attr("OrderId"), Some((Type::S, "443368995")));
        assert_eq!(read.attr("Region"), Some((Type::S, "Sub-Saharan Africa")));
        assert_eq!(read.attr("ItemType"), Some((Type::S, "Fruits")));
        assert_eq!(read.attr("OrderDate"), Some((Type::S, "2012-07-27")));
        assert_eq!(read.attr("UnitsSold"), Some((Type::N, "1593")));
        assert_eq!(read.attr("UnitCost"), Some((Type::N, "6.92")));
        assert_eq!(read.attr("TotalProfit"), Some((Type::N, "3839.13")));
        assert_eq!(read.attr("ConfirmationId"), Some((Type::S, confirmation.as_str())));
        let item = read.items.iter().next().unwrap();
        assert_eq!(item.attributes().count(), 15);
        // The compact form earlier versions wrote: Region is code 0, OrderId 6, ConfirmationId 14.
        assert_eq!(item.compact()[..4], [2, 0, b'S', 18]);
        let order_id = item.compact().windows(3).position(|w| w == [6, b'S', 9]);
        assert!(order_id.is_some(), "OrderId under code 6");
        assert_eq!(item.compact()[item.compact().len() - 39..][..3], [14, b'S', 36]);
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
                order(&bytes).err(),
                Some(RowError::NotUtf8 {
                    column: "Region".into()
                }),
                "{line}"
            );
        }
    }

    #[test]
    fn bad_rows_say_why() {
        let cases = [
            ("a,b", "expected 14 fields, found 2"),
            (
                &ROW.replace("443368995", "44336x995"),
                "column \"Order ID\": \"44336x995\" is not an id",
            ),
            (&ROW.replace("7/27/2012", "2/30/2012"), "column \"Order Date\""),
            (
                &ROW.replace("9.33", "nan"),
                "column \"Unit Price\": \"nan\" is not a decimal number",
            ),
            (&ROW.replace("Fruits", ""), "column \"Item Type\": is empty"),
            (&format!("{ROW},extra"), "expected 14 fields, found 15"),
        ];
        for (row, expected) in cases {
            let err = order(row.as_bytes()).err().unwrap().to_string();
            assert!(err.contains(expected), "{row}: {err}");
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
        let read = order(row.as_bytes()).unwrap();
        assert_eq!(read.attr("OrderDate"), Some((Type::S, "2012-02-29")));
        assert_eq!(read.attr("TotalProfit"), Some((Type::N, "3839.13")));
    }

    /// Readings: an integer key, a timestamp sort key, a boolean, an optional note, a sha256.
    fn readings() -> RowSchema {
        let spec: RecordSpec = serde_json::from_str(
            r#"{"key": "Sensor", "sort_key": "At",
                "generated": {"attribute": "Digest", "kind": "sha256"},
                "column": [
                  {"header": "Sensor Id", "attribute": "Sensor", "type": "integer"},
                  {"header": "At", "type": "timestamp"},
                  {"header": "Ok", "type": "boolean"},
                  {"header": "Note", "required": false},
                  {"header": "Level", "type": "decimal", "required": false}],
                "output": ["Sensor", "Note", "Ok", "Digest"]}"#,
        )
        .unwrap();
        let record = spec.resolve(&ConfigPath::attribute("record")).unwrap();
        let names = Arc::new(Names::default().with(&attributes(&record)));
        RowSchema::new(&record, "p", names).unwrap()
    }

    #[test]
    fn a_declared_record_types_its_keys_and_values() {
        let schema = readings();
        let read = read(
            &schema,
            "Note,At,Sensor Id,Ok,Level",
            b"\"a, \"\"b\"\"\",2024-03-01T10:00:00+01:00,007,YES,",
        )
        .unwrap();
        assert_eq!(
            read.attr("Sensor"),
            Some((Type::N, "7")),
            "a number key is stored canonical"
        );
        assert_eq!(read.attr("At"), Some((Type::S, "2024-03-01T09:00:00Z")));
        assert_eq!(read.attr("Ok"), Some((Type::Bool, "true")));
        assert_eq!(read.attr("Note"), Some((Type::S, "a, \"b\"")));
        assert_eq!(read.attr("Level"), None, "an empty optional field stores nothing");
        let item = read.items.iter().next().unwrap();
        let key = crate::table::TableKey {
            partition: crate::table::KeyValue {
                attribute: "Sensor",
                kind: Type::N,
                value: "007",
            },
            sort: Some(crate::table::KeyValue {
                attribute: "At",
                kind: Type::S,
                value: "2024-03-01T09:00:00Z",
            }),
        }
        .encoded();
        assert_eq!(item.key(), key, "a lookup finds the item written");
        let digest = Generator::new(eventdriven_core::record::GeneratedKind::Sha256, "p").value(&key);
        assert_eq!(read.attr("Digest"), Some((Type::S, digest.as_str())));
        assert_eq!(read.line, format!("7,\"a, \"\"b\"\"\",true,{}\n", digest.as_str()));
    }

    #[test]
    fn an_optional_column_may_be_empty_or_absent_from_the_file() {
        let schema = readings();
        let read = read(&schema, "Sensor Id,At,Ok", b"-3,2024-03-01T10:00:00.5Z,no").unwrap();
        assert_eq!(read.attr("Note"), None);
        assert_eq!(read.attr("Ok"), Some((Type::Bool, "false")));
        assert_eq!(read.attr("At"), Some((Type::S, "2024-03-01T10:00:00.500Z")));
        assert!(read.line.starts_with("-3,,false,"), "{}", read.line);
    }

    #[test]
    fn a_declared_record_s_rejects_name_the_column_and_the_problem() {
        let schema = readings();
        let header = "Sensor Id,At,Ok,Note";
        let cases = [
            (
                "1.5,2024-03-01T10:00:00Z,1,",
                "column \"Sensor Id\": \"1.5\" is not an integer of at most 38 digits",
            ),
            (",2024-03-01T10:00:00Z,1,", "column \"Sensor Id\": is empty"),
            (
                "1,yesterday,1,",
                "column \"At\": \"yesterday\" is not an RFC 3339 timestamp",
            ),
            (
                "1,2024-03-01T10:00:00Z,maybe,",
                "column \"Ok\": \"maybe\" is not a boolean",
            ),
        ];
        for (row, expected) in cases {
            let err = read(&schema, header, row.as_bytes()).err().unwrap().to_string();
            assert!(err.starts_with(expected), "{row}: {err}");
        }
        let long_sort_key = format!("1,{},", "x".repeat(MAX_SORT_KEY_BYTES + 1));
        let schema = {
            let mut spec: RecordSpec = serde_json::from_str(r#"{"key": "k", "sort_key": "s", "column": [{"header": "k"}, {"header": "s"}, {"header": "big", "required": false}]}"#).unwrap();
            spec.output = None;
            let record = spec.resolve(&ConfigPath::attribute("record")).unwrap();
            RowSchema::new(&record, "p", Arc::new(Names::default().with(&attributes(&record)))).unwrap()
        };
        let err = read(&schema, "k,s,big", long_sort_key.as_bytes())
            .err()
            .unwrap()
            .to_string();
        assert_eq!(
            err,
            "column \"s\": is 1025 bytes, over the 1024 bytes DynamoDB allows a sort key"
        );
        // Near the limit the size is counted: names and values, not the compact form's bytes.
        let fits = format!("1,2,{}", "x".repeat(MAX_ITEM_BYTES - 7));
        assert!(read(&schema, "k,s,big", fits.as_bytes()).is_ok());
        let big = format!("1,2,{}", "x".repeat(MAX_ITEM_BYTES - 6));
        let err = read(&schema, "k,s,big", big.as_bytes()).err().unwrap();
        assert!(matches!(err, RowError::ItemTooLarge { .. }), "{err}");
    }
}
