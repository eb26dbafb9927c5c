//! The records a pipeline loads: which CSV columns, typed how, stored under which table
//! attributes and keys, and which of them make the result file.
//!
//! [`RecordSpec`] is the declaration as the user writes it: the resource's `record` block, or
//! its JSON form (`eventdriven run --record FILE`, and the Jobs' `RECORD` setting). [`Record`]
//! is the same declaration checked, every default resolved and every name typed: the provider
//! renders the table's key schema from it and the runtime parses rows with it, so the two read
//! one definition. Without a declaration a pipeline loads the order sample's layout,
//! [`RecordSpec::orders`].

use serde::{Deserialize, Serialize};

use crate::config_path::{ConfigPath, SpecError, rule};

/// The `date` columns' input format when none is given: the order sample's `M/D/YYYY`.
pub const DEFAULT_DATE_FORMAT: &str = "%m/%d/%Y";
/// The most columns a record may declare: DynamoDB items are at most 400 KB, and a CSV of more
/// columns is a different kind of file.
pub const MAX_COLUMNS: usize = 250;
/// DynamoDB's longest attribute name that can be a key (partition and sort keys: 255 bytes).
pub const MAX_ATTRIBUTE_LEN: usize = 255;

/// The `record` block as written: its JSON form uses the same names (`column` holds the list
/// of column blocks), so a file and a configuration read alike.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordSpec {
    /// The attribute of the table's partition key; a column's.
    pub key: String,
    /// The attribute of the table's sort key, if it has one; a column's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort_key: Option<String>,
    /// A value derived from each row's key, stored beside the columns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generated: Option<GeneratedSpec>,
    #[serde(rename = "column", default)]
    pub columns: Vec<ColumnSpec>,
    /// The result file's columns, as attribute names, in order; unset, the key and the
    /// generated attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<Vec<String>>,
}

/// The `generated` block.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GeneratedSpec {
    pub attribute: String,
    /// One of [`GeneratedKind::NAMES`].
    pub kind: String,
}

/// One `column` block.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnSpec {
    /// The header's text for this column; columns are found by header, never by position.
    pub header: String,
    /// The table attribute; unset, the header without its spaces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attribute: Option<String>,
    /// One of [`ColumnType::NAMES`]; unset, `string`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub column_type: Option<String>,
    /// Whether every row must have a value here; unset, true. An empty optional field stores
    /// no attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required: Option<bool>,
    /// The input format of a `date` or `timestamp` column, in strftime notation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
}

impl ColumnSpec {
    fn new(header: &str, attribute: &str, column_type: ColumnType) -> Self {
        ColumnSpec {
            header: header.to_owned(),
            attribute: (attribute != default_attribute(header)).then(|| attribute.to_owned()),
            column_type: Some(column_type.as_str().to_owned()),
            required: None,
            format: None,
        }
    }
}

/// How a column's text is checked and stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ColumnType {
    /// Any text, stored as S.
    String,
    /// Digits only, stored as S (so leading zeros and 30-digit ids survive).
    Id,
    /// A whole number, stored as N.
    Integer,
    /// A number in plain decimal notation, stored as N.
    Decimal,
    /// `true`/`false` (also `1`/`0`, `yes`/`no`, any case), stored as BOOL.
    Boolean,
    /// A date in the column's `format`, stored as S in ISO 8601 (`YYYY-MM-DD`).
    Date,
    /// A date and time: RFC 3339 unless the column's `format` says otherwise (then read as
    /// UTC), stored as S in RFC 3339 UTC (`YYYY-MM-DDTHH:MM:SSZ`).
    Timestamp,
}

impl ColumnType {
    pub const ALL: [ColumnType; 7] = [
        Self::String,
        Self::Id,
        Self::Integer,
        Self::Decimal,
        Self::Boolean,
        Self::Date,
        Self::Timestamp,
    ];
    /// Every type's name, as the `type` argument takes it.
    pub const NAMES: &[&str] = &[
        Self::String.as_str(),
        Self::Id.as_str(),
        Self::Integer.as_str(),
        Self::Decimal.as_str(),
        Self::Boolean.as_str(),
        Self::Date.as_str(),
        Self::Timestamp.as_str(),
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::String => "string",
            Self::Id => "id",
            Self::Integer => "integer",
            Self::Decimal => "decimal",
            Self::Boolean => "boolean",
            Self::Date => "date",
            Self::Timestamp => "timestamp",
        }
    }

    pub fn named(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == name)
    }

    /// How a key of this type is declared in the table's key schema; `None` for a type that
    /// cannot be a key.
    pub fn key_type(self) -> Option<KeyType> {
        match self {
            Self::String | Self::Id | Self::Date | Self::Timestamp => Some(KeyType::S),
            Self::Integer | Self::Decimal => Some(KeyType::N),
            Self::Boolean => None,
        }
    }
}

/// A key attribute's type in DynamoDB's key schema.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyType {
    S,
    N,
}

impl KeyType {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::S => "S",
            Self::N => "N",
        }
    }
}

/// How the generated attribute derives from a row's key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GeneratedKind {
    /// A name-based UUID of the key in the pipeline's namespace: the same key gives the same
    /// id on every run of that pipeline.
    UuidV5,
    /// A random UUID, new on every run.
    UuidV4,
    /// The SHA-256 of the key, as lowercase hex.
    Sha256,
}

impl GeneratedKind {
    pub const ALL: [GeneratedKind; 3] = [Self::UuidV5, Self::UuidV4, Self::Sha256];
    pub const NAMES: &[&str] = &[Self::UuidV5.as_str(), Self::UuidV4.as_str(), Self::Sha256.as_str()];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::UuidV5 => "uuid_v5",
            Self::UuidV4 => "uuid_v4",
            Self::Sha256 => "sha256",
        }
    }

    pub fn named(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

/// A checked declaration, defaults resolved: what the runtime parses rows with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// In declaration order.
    pub columns: Vec<Column>,
    /// Position in `columns` of the partition key.
    pub key: usize,
    /// Position in `columns` of the sort key.
    pub sort_key: Option<usize>,
    pub generated: Option<Generated>,
    /// The result file's columns, in order.
    pub output: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Column {
    pub header: String,
    pub attribute: String,
    pub column_type: ColumnType,
    pub required: bool,
    /// The input format of a `date` (defaulted) or `timestamp` (`None`: RFC 3339) column.
    pub format: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Generated {
    pub attribute: String,
    pub kind: GeneratedKind,
}

impl Record {
    /// The partition key's attribute and its key type.
    pub fn key_attribute(&self) -> (&str, KeyType) {
        self.key_of(self.key)
    }

    /// The sort key's attribute and its key type, if there is one.
    pub fn sort_key_attribute(&self) -> Option<(&str, KeyType)> {
        self.sort_key.map(|index| self.key_of(index))
    }

    fn key_of(&self, index: usize) -> (&str, KeyType) {
        let column = &self.columns[index];
        let key_type = column
            .column_type
            .key_type()
            .expect("checked: a key column has a key type");
        (&column.attribute, key_type)
    }

    /// The headers of the columns every file must have.
    pub fn required_headers(&self) -> impl Iterator<Item = &str> {
        self.columns.iter().filter(|c| c.required).map(|c| c.header.as_str())
    }

    /// The result file's header line (without its line end).
    pub fn output_header(&self) -> String {
        self.output.join(",")
    }
}

/// The attribute a column is stored under when the block names none.
pub fn default_attribute(header: &str) -> String {
    header.chars().filter(|c| !c.is_whitespace()).collect()
}

impl RecordSpec {
    /// The order sample's layout: what a pipeline without a `record` block loads.
    pub fn orders() -> Self {
        use ColumnType::*;
        let columns = [
            ("Region", "Region", String),
            ("Country", "Country", String),
            ("Item Type", "ItemType", String),
            ("Sales Channel", "SalesChannel", String),
            ("Order Priority", "OrderPriority", String),
            ("Order Date", "OrderDate", Date),
            ("Order ID", "OrderId", Id),
            ("Ship Date", "ShipDate", Date),
            ("Units Sold", "UnitsSold", Integer),
            ("Unit Price", "UnitPrice", Decimal),
            ("Unit Cost", "UnitCost", Decimal),
            ("Total Revenue", "TotalRevenue", Decimal),
            ("Total Cost", "TotalCost", Decimal),
            ("Total Profit", "TotalProfit", Decimal),
        ];
        RecordSpec {
            key: "OrderId".to_owned(),
            sort_key: None,
            generated: Some(GeneratedSpec {
                attribute: "ConfirmationId".to_owned(),
                kind: GeneratedKind::UuidV5.as_str().to_owned(),
            }),
            columns: columns
                .into_iter()
                .map(|(header, attribute, column_type)| ColumnSpec::new(header, attribute, column_type))
                .collect(),
            output: Some(vec!["OrderId".to_owned(), "ConfirmationId".to_owned()]),
        }
    }

    /// Checks the declaration and resolves its defaults; every problem is reported, each at its
    /// path under `at` (`record` in a configuration, the file's top level for `--record`).
    pub fn resolve(&self, at: &ConfigPath) -> Result<Record, Vec<SpecError>> {
        let mut errors = Vec::new();
        let mut error = |path: ConfigPath, message: String| {
            errors.push(SpecError {
                attribute: path,
                message,
            })
        };
        let mut columns = Vec::with_capacity(self.columns.len());
        if self.columns.is_empty() {
            error(at.clone().then("column"), "declare at least one column".to_owned());
        }
        if self.columns.len() > MAX_COLUMNS {
            error(
                at.clone().then("column"),
                format!(
                    "{} columns declared, at most {MAX_COLUMNS} are allowed",
                    self.columns.len()
                ),
            );
        }
        for (index, spec) in self.columns.iter().enumerate() {
            let path = || at.clone().then("column").index(index);
            let header = spec.header.trim();
            if header.is_empty() {
                error(path().then("header"), "must not be empty".to_owned());
            } else if header.contains(['"', '\n', '\r']) || header.len() != spec.header.len() {
                error(
                    path().then("header"),
                    format!(
                        "{:?} must not hold quotes or line breaks, nor start or end with spaces",
                        spec.header
                    ),
                );
            } else if let Some(first) = self.columns[..index].iter().position(|c| c.header == spec.header) {
                error(
                    path().then("header"),
                    format!("{header:?} is already the header of column {first}"),
                );
            }
            let attribute = spec
                .attribute
                .clone()
                .unwrap_or_else(|| default_attribute(&spec.header));
            if let Err(message) = attribute_name(&attribute) {
                error(path().then("attribute"), message);
            }
            let column_type = match spec.column_type.as_deref() {
                None => ColumnType::String,
                Some(name) => ColumnType::named(name).unwrap_or_else(|| {
                    error(
                        path().then("type"),
                        format!(
                            "unknown type {name:?}; expected one of {}",
                            ColumnType::NAMES.join(", ")
                        ),
                    );
                    ColumnType::String
                }),
            };
            let format = match (column_type, &spec.format) {
                (ColumnType::Date, None) => Some(DEFAULT_DATE_FORMAT.to_owned()),
                (ColumnType::Date | ColumnType::Timestamp, Some(format)) if format.trim().is_empty() => {
                    error(path().then("format"), "must not be empty".to_owned());
                    None
                }
                (ColumnType::Date | ColumnType::Timestamp, format) => format.clone(),
                (_, Some(_)) => {
                    error(
                        path().then("format"),
                        format!(
                            "only a date or timestamp column takes a format, not a {} column",
                            column_type.as_str()
                        ),
                    );
                    None
                }
                (_, None) => None,
            };
            columns.push(Column {
                header: spec.header.clone(),
                attribute,
                column_type,
                required: spec.required.unwrap_or(true),
                format,
            });
        }
        for (index, column) in columns.iter().enumerate() {
            if let Some(first) = columns[..index].iter().position(|c| c.attribute == column.attribute) {
                error(
                    at.clone().then("column").index(index).then("attribute"),
                    format!("{:?} is already the attribute of column {first}", column.attribute),
                );
            }
        }
        let generated = self.generated.as_ref().and_then(|spec| {
            let path = || at.clone().then("generated");
            if let Err(message) = attribute_name(&spec.attribute) {
                error(path().then("attribute"), message);
            }
            if columns.iter().any(|c| c.attribute == spec.attribute) {
                error(
                    path().then("attribute"),
                    format!("{:?} is already a column's attribute", spec.attribute),
                );
            }
            match GeneratedKind::named(&spec.kind) {
                Some(kind) => Some(Generated {
                    attribute: spec.attribute.clone(),
                    kind,
                }),
                None => {
                    error(
                        path().then("kind"),
                        format!(
                            "unknown kind {:?}; expected one of {}",
                            spec.kind,
                            GeneratedKind::NAMES.join(", ")
                        ),
                    );
                    None
                }
            }
        });
        let same_keys = self.sort_key.as_deref() == Some(self.key.as_str());
        if same_keys {
            error(at.clone().then("sort_key"), "must differ from key".to_owned());
        }
        let mut key_column = |name: &str, attribute: &'static str| {
            let Some(index) = columns.iter().position(|c| c.attribute == name) else {
                error(
                    at.clone().then(attribute),
                    format!("{name:?} is not the attribute of any column"),
                );
                return None;
            };
            let column = &columns[index];
            if column.column_type.key_type().is_none() {
                error(
                    at.clone().then(attribute),
                    format!(
                        "{name:?} is a {} column, which cannot be a key",
                        column.column_type.as_str()
                    ),
                );
            }
            if !column.required {
                error(
                    at.clone().then(attribute),
                    format!("{name:?} is an optional column; every row needs its key"),
                );
            }
            Some(index)
        };
        let key = key_column(&self.key, "key");
        let sort_key = (self.sort_key.as_deref())
            .filter(|_| !same_keys)
            .and_then(|name| key_column(name, "sort_key"));
        let attributes: Vec<&str> = columns
            .iter()
            .map(|c| c.attribute.as_str())
            .chain(generated.as_ref().map(|g| g.attribute.as_str()))
            .collect();
        let output = match &self.output {
            Some(output) => {
                if output.is_empty() {
                    error(at.clone().then("output"), "name at least one attribute".to_owned());
                }
                for (index, name) in output.iter().enumerate() {
                    if !attributes.contains(&name.as_str()) {
                        error(
                            at.clone().then("output"),
                            format!(
                                "{name:?} is not a declared attribute; declared: {}",
                                attributes.join(", ")
                            ),
                        );
                    } else if output[..index].contains(name) {
                        error(at.clone().then("output"), format!("{name:?} is named twice"));
                    }
                }
                output.clone()
            }
            None => std::iter::once(self.key.clone())
                .chain(generated.as_ref().map(|g| g.attribute.clone()))
                .collect(),
        };
        match key {
            Some(key) if errors.is_empty() => Ok(Record {
                columns,
                key,
                sort_key,
                generated,
                output,
            }),
            _ => Err(errors),
        }
    }
}

/// DynamoDB takes any name of 1 to 64 KB; this takes what a CSV header, a result header and a
/// Terraform configuration all carry without quoting: 1 to 255 letters, digits, `_`, `-`, `.`.
fn attribute_name(name: &str) -> Result<(), String> {
    rule(
        (1..=MAX_ATTRIBUTE_LEN).contains(&name.len()),
        format!("{name:?} must be 1 to {MAX_ATTRIBUTE_LEN} characters long"),
    )?;
    rule(
        name.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')),
        format!("{name:?} may contain only letters, digits, '_', '-' and '.'"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> ConfigPath {
        ConfigPath::attribute("record")
    }

    fn column(header: &str, column_type: &str) -> ColumnSpec {
        ColumnSpec {
            header: header.to_owned(),
            attribute: None,
            column_type: Some(column_type.to_owned()),
            required: None,
            format: None,
        }
    }

    fn errors(spec: &RecordSpec) -> Vec<String> {
        spec.resolve(&at()).unwrap_err().iter().map(|e| e.to_string()).collect()
    }

    #[test]
    fn the_order_layout_resolves_to_the_sample_s_columns_keyed_by_order_id() {
        let record = RecordSpec::orders().resolve(&at()).unwrap();
        assert_eq!(record.columns.len(), 14);
        assert_eq!(record.key_attribute(), ("OrderId", KeyType::S));
        assert_eq!(record.output_header(), "OrderId,ConfirmationId");
        assert_eq!(record.columns[5].format.as_deref(), Some(DEFAULT_DATE_FORMAT));
        assert_eq!(record.columns[2].attribute, "ItemType", "the header without its spaces");
        assert_eq!(
            record.generated,
            Some(Generated {
                attribute: "ConfirmationId".into(),
                kind: GeneratedKind::UuidV5
            })
        );
    }

    #[test]
    fn the_json_form_reads_as_the_block_is_written() {
        let spec: RecordSpec = serde_json::from_str(
            r#"{"key": "id", "sort_key": "at", "column": [
                {"header": "id", "type": "integer"},
                {"header": "at", "type": "timestamp", "format": "%Y-%m-%d %H:%M:%S"},
                {"header": "note", "required": false}],
               "output": ["id", "at"]}"#,
        )
        .unwrap();
        let record = spec.resolve(&at()).unwrap();
        assert_eq!(record.key_attribute(), ("id", KeyType::N));
        assert_eq!(record.sort_key_attribute(), Some(("at", KeyType::S)));
        assert!(!record.columns[2].required);
        assert_eq!(record.columns[2].column_type, ColumnType::String);
        assert_eq!(record.output, ["id", "at"]);
        let round_trip: RecordSpec = serde_json::from_value(serde_json::to_value(&spec).unwrap()).unwrap();
        assert_eq!(round_trip, spec);
        assert!(serde_json::from_str::<RecordSpec>(r#"{"key": "id", "colum": []}"#).is_err());
    }

    #[test]
    fn output_defaults_to_the_key_and_the_generated_attribute() {
        let mut spec = RecordSpec::orders();
        spec.output = None;
        assert_eq!(spec.resolve(&at()).unwrap().output, ["OrderId", "ConfirmationId"]);
        spec.generated = None;
        assert_eq!(spec.resolve(&at()).unwrap().output, ["OrderId"]);
    }

    #[test]
    fn every_bad_declaration_is_named_by_its_path() {
        let mut spec = RecordSpec {
            key: "Missing".into(),
            sort_key: Some("Flag".into()),
            generated: Some(GeneratedSpec {
                attribute: "Name".into(),
                kind: "uuid_v7".into(),
            }),
            columns: vec![
                column("Name", "strng"),
                column("Flag", "boolean"),
                column("Name", "string"),
            ],
            output: Some(vec!["Nope".into()]),
        };
        spec.columns[2].attribute = Some("Other".into());
        assert_eq!(
            errors(&spec),
            [
                "record.column[0].type: unknown type \"strng\"; expected one of string, id, integer, decimal, boolean, date, timestamp",
                "record.column[2].header: \"Name\" is already the header of column 0",
                "record.generated.attribute: \"Name\" is already a column's attribute",
                "record.generated.kind: unknown kind \"uuid_v7\"; expected one of uuid_v5, uuid_v4, sha256",
                "record.key: \"Missing\" is not the attribute of any column",
                "record.sort_key: \"Flag\" is a boolean column, which cannot be a key",
                "record.output: \"Nope\" is not a declared attribute; declared: Name, Flag, Other",
            ]
        );
    }

    #[test]
    fn attributes_are_unique_and_formats_belong_to_dates() {
        let mut spec = RecordSpec::orders();
        spec.columns[1].attribute = Some("Region".into());
        spec.columns[0].format = Some("%Y".into());
        spec.columns[6].required = Some(false);
        assert_eq!(
            errors(&spec),
            [
                "record.column[0].format: only a date or timestamp column takes a format, not a string column",
                "record.column[1].attribute: \"Region\" is already the attribute of column 0",
                "record.key: \"OrderId\" is an optional column; every row needs its key",
            ]
        );
    }

    #[test]
    fn only_plain_attribute_names_and_a_distinct_sort_key_are_taken() {
        let mut spec = RecordSpec::orders();
        spec.columns[0].attribute = Some("Re gion".into());
        spec.sort_key = Some("OrderId".into());
        spec.output = Some(vec![]);
        assert_eq!(
            errors(&spec),
            [
                "record.column[0].attribute: \"Re gion\" may contain only letters, digits, '_', '-' and '.'",
                "record.sort_key: must differ from key",
                "record.output: name at least one attribute",
            ]
        );
    }

    #[test]
    fn key_types_follow_the_column_types() {
        for column_type in ColumnType::ALL {
            let expected = match column_type {
                ColumnType::Integer | ColumnType::Decimal => Some(KeyType::N),
                ColumnType::Boolean => None,
                _ => Some(KeyType::S),
            };
            assert_eq!(column_type.key_type(), expected, "{column_type:?}");
            assert_eq!(ColumnType::named(column_type.as_str()), Some(column_type));
        }
    }
}
