//! Where each declared column sits in a particular file, found from its header: by name, never
//! by position, so a reordered or shifted layout can never put a value under the wrong
//! attribute. Every required column must be there, an optional one may be absent, and a column
//! the record does not declare fails the file: nothing is dropped silently.

use eventdriven_core::record::Record;

/// The field positions of a record's columns in one file.
#[derive(Clone, Debug)]
pub struct Layout {
    /// `positions[i]` is the field of the record's column `i`; `None` for an absent optional one.
    positions: Vec<Option<usize>>,
    field_count: usize,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HeaderError {
    #[error("the header is not valid UTF-8; is this a CSV file?")]
    NotUtf8,
    #[error("the header holds control bytes; is this a binary file rather than a CSV file?")]
    NotText,
    #[error("missing column(s) {missing:?}; expected the header {expected:?}")]
    Missing { missing: Vec<String>, expected: String },
    #[error("unexpected column(s) {unexpected:?}, which the record does not declare; expected the header {expected:?}")]
    Unexpected { unexpected: Vec<String>, expected: String },
    #[error("column {0:?} appears more than once")]
    Duplicate(String),
}

impl Layout {
    /// Reads the layout of `record`'s columns from a header's fields (surrounding spaces ignored).
    pub fn from_header<'f>(record: &Record, fields: impl IntoIterator<Item = &'f [u8]>) -> Result<Self, HeaderError> {
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
        let mut positions = vec![None; record.columns.len()];
        let mut unexpected = Vec::new();
        for (index, name) in names.iter().enumerate() {
            match record.columns.iter().position(|c| c.header == *name) {
                Some(c) if positions[c].is_some() => return Err(HeaderError::Duplicate(name.to_string())),
                Some(c) => positions[c] = Some(index),
                None => unexpected.push(name.to_string()),
            }
        }
        let missing: Vec<String> = record
            .columns
            .iter()
            .zip(&positions)
            .filter(|(column, position)| column.required && position.is_none())
            .map(|(column, _)| column.header.clone())
            .collect();
        if !missing.is_empty() {
            return Err(HeaderError::Missing {
                missing,
                expected: declared_header(record),
            });
        }
        if !unexpected.is_empty() {
            return Err(HeaderError::Unexpected {
                unexpected,
                expected: declared_header(record),
            });
        }
        Ok(Layout {
            positions,
            field_count: names.len(),
        })
    }

    /// The field of each of the record's columns, in declaration order.
    pub fn positions(&self) -> &[Option<usize>] {
        &self.positions
    }

    /// How many fields each row of the file has.
    pub fn field_count(&self) -> usize {
        self.field_count
    }
}

/// Every declared column's header, in declaration order: a header that reads every column.
pub fn declared_header(record: &Record) -> String {
    record
        .columns
        .iter()
        .map(|c| c.header.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::ChunkRecords;
    use eventdriven_core::config_path::ConfigPath;
    use eventdriven_core::record::RecordSpec;

    fn orders() -> Record {
        RecordSpec::orders().resolve(&ConfigPath::attribute("record")).unwrap()
    }

    fn header(record: &Record, line: &str) -> Result<Layout, HeaderError> {
        let mut records = ChunkRecords::new(line.as_bytes());
        Layout::from_header(record, records.next_record().unwrap().fields.iter())
    }

    #[test]
    fn columns_are_found_by_name_not_position() {
        let record = orders();
        let line = "Order ID,Region,Country,Item Type,Sales Channel,Order Priority,Order Date,Ship Date,Units Sold,Unit Price,Unit Cost,Total Revenue,Total Cost,Total Profit";
        let layout = header(&record, line).unwrap();
        assert_eq!(layout.field_count(), 14);
        assert_eq!(layout.positions()[6], Some(0), "Order ID");
        assert_eq!(layout.positions()[0], Some(1), "Region");
    }

    #[test]
    fn header_errors_name_the_columns() {
        let record = orders();
        let err = header(&record, "Region,Country").unwrap_err();
        assert!(
            matches!(&err, HeaderError::Missing { missing, .. } if missing.contains(&"Unit Cost".to_string())),
            "{err}"
        );
        let err = header(&record, &format!("{},Extra", declared_header(&record))).unwrap_err();
        assert!(err.to_string().starts_with("unexpected column(s) [\"Extra\"]"), "{err}");
        let err = header(&record, &format!("{},Region", declared_header(&record))).unwrap_err();
        assert_eq!(err, HeaderError::Duplicate("Region".into()));
        let err = header(&record, " ").unwrap_err();
        assert!(
            matches!(&err, HeaderError::Missing { missing, .. } if missing.len() == 14),
            "{err}"
        );
    }

    #[test]
    fn an_optional_column_may_be_absent_a_required_one_may_not() {
        let spec: RecordSpec = serde_json::from_str(
            r#"{"key": "id", "column": [
                {"header": "id", "type": "integer"},
                {"header": "note", "required": false},
                {"header": "at", "type": "timestamp"}]}"#,
        )
        .unwrap();
        let record = spec.resolve(&ConfigPath::attribute("record")).unwrap();
        let layout = header(&record, "at,id").unwrap();
        assert_eq!(layout.positions(), [Some(1), None, Some(0)]);
        let err = header(&record, "note,id").unwrap_err();
        assert_eq!(
            err,
            HeaderError::Missing {
                missing: vec!["at".into()],
                expected: "id,note,at".into()
            }
        );
    }
}
