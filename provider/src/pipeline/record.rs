//! The `record` block: its schema, its state <-> core's `RecordSpec`, and which of its changes
//! replace the pipeline. The block holds exactly what was written (no default is filled in at
//! plan: a computed value in a list of blocks would follow its position, not its column); core
//! resolves the defaults.

use eventdriven_core::config_path::ConfigPath;
use eventdriven_core::record::{ColumnSpec, ColumnType, GeneratedKind, GeneratedSpec, KeyType, Record, RecordSpec};
use serde::{Deserialize, Serialize};
use tf_provider::AttributePath;
use tf_provider::schema::{Attribute, AttributeConstraint, Block, Description, NestedBlock};
use tf_provider::value::Value;

use crate::resource::attributes::{boolean, string, strings};
use AttributeConstraint::{Optional, Required};

type StringList = Value<Vec<Value<String>>>;

/// `record { … }`: the records the pipeline loads.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordBlock {
    pub key: Value<String>,
    pub sort_key: Value<String>,
    #[serde(default)]
    pub output: StringList,
    #[serde(default, with = "crate::resource::single_block")]
    pub generated: Value<GeneratedBlock>,
    #[serde(default)]
    pub column: Value<Vec<Value<ColumnBlock>>>,
}

/// `generated { attribute = "ConfirmationId", kind = "uuid_v5" }`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GeneratedBlock {
    pub attribute: Value<String>,
    pub kind: Value<String>,
}

/// `column { header = "Order ID", attribute = "OrderId", type = "id" }`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnBlock {
    pub header: Value<String>,
    pub attribute: Value<String>,
    #[serde(rename = "type")]
    pub column_type: Value<String>,
    pub required: Value<bool>,
    pub format: Value<String>,
}

/// `Some` of the value (`None` when null), or `None` while it is unknown.
fn settled<T: Clone>(value: &Value<T>) -> Option<Option<T>> {
    match value {
        Value::Value(value) => Some(Some(value.clone())),
        Value::Null => Some(None),
        Value::Unknown => None,
    }
}

/// A required text; null reads as empty, which validation refuses where it matters.
fn text(value: &Value<String>) -> Option<String> {
    settled(value).map(Option::unwrap_or_default)
}

fn texts(list: &StringList) -> Option<Option<Vec<String>>> {
    match settled(list)? {
        Some(items) => Some(Some(items.iter().map(text).collect::<Option<_>>()?)),
        None => Some(None),
    }
}

fn or_null<T>(value: Option<T>) -> Value<T> {
    value.map_or(Value::Null, Value::Value)
}

impl RecordBlock {
    /// Core's declaration, or `None` while any of it is unknown.
    pub fn spec(&self) -> Option<RecordSpec> {
        let generated = match settled(&self.generated)? {
            Some(block) => Some(GeneratedSpec {
                attribute: text(&block.attribute)?,
                kind: text(&block.kind)?,
            }),
            None => None,
        };
        let columns = settled(&self.column)?.unwrap_or_default();
        let columns = columns
            .iter()
            .map(|column| {
                let column = settled(column)?.unwrap_or_default();
                Some(ColumnSpec {
                    header: text(&column.header)?,
                    attribute: settled(&column.attribute)?,
                    column_type: settled(&column.column_type)?,
                    required: settled(&column.required)?,
                    format: settled(&column.format)?,
                })
            })
            .collect::<Option<_>>()?;
        Some(RecordSpec {
            key: text(&self.key)?,
            sort_key: settled(&self.sort_key)?,
            generated,
            columns,
            output: texts(&self.output)?,
        })
    }

    /// The block that declares `spec`, as an imported pipeline's state holds it.
    pub fn from_spec(spec: &RecordSpec) -> Self {
        let texts = |items: &[String]| items.iter().cloned().map(Value::Value).collect();
        Self {
            key: Value::Value(spec.key.clone()),
            sort_key: or_null(spec.sort_key.clone()),
            output: or_null(spec.output.as_deref().map(texts)),
            generated: or_null(spec.generated.as_ref().map(|generated| GeneratedBlock {
                attribute: Value::Value(generated.attribute.clone()),
                kind: Value::Value(generated.kind.clone()),
            })),
            column: Value::Value(
                spec.columns
                    .iter()
                    .map(|column| {
                        Value::Value(ColumnBlock {
                            header: Value::Value(column.header.clone()),
                            attribute: or_null(column.attribute.clone()),
                            column_type: or_null(column.column_type.clone()),
                            required: or_null(column.required),
                            format: or_null(column.format.clone()),
                        })
                    })
                    .collect(),
            ),
        }
    }
}

fn block(description: &str, attributes: Vec<(&str, Attribute)>, blocks: Vec<(&str, NestedBlock)>) -> Block {
    Block {
        attributes: attributes.into_iter().map(|(n, a)| (n.to_owned(), a)).collect(),
        blocks: blocks.into_iter().map(|(n, b)| (n.to_owned(), b)).collect(),
        description: Description::markdown(description),
        ..Default::default()
    }
}

/// The block's schema: at most one `record`, holding at most one `generated` and a list of
/// `column`s.
pub fn schema() -> NestedBlock {
    let types = ColumnType::NAMES.join("`, `");
    let kinds = GeneratedKind::NAMES.join("`, `");
    let generated = block(
        "A value derived from each row's key, stored beside the columns (and available to `output`).",
        vec![
            (
                "attribute",
                string(Required, "Table attribute the value is stored under; no column's."),
            ),
            (
                "kind",
                string(
                    Required,
                    &format!(
                        "How it derives: `{kinds}`. `uuid_v5` is a name-based UUID of the pipeline name and the key, the same on every run; `uuid_v4` is random, new on every run; `sha256` is the key's SHA-256 in lowercase hex."
                    ),
                ),
            ),
        ],
        vec![],
    );
    let column = block(
        "One column of the input files, found by its header (columns may come in any order; a file may have others, which are ignored).",
        vec![
            ("header", string(Required, "The column's header text in the CSV file.")),
            (
                "attribute",
                string(
                    Optional,
                    "Table attribute the value is stored under. Default: `header` without its spaces (`Order ID` → `OrderId`).",
                ),
            ),
            (
                "type",
                string(
                    Optional,
                    &format!(
                        "How the value is checked and stored: `{types}`. Default `string`. `string` and `id` (digits only) are stored as S, `integer` and `decimal` as N, `boolean` as BOOL, `date` as S (`YYYY-MM-DD`), `timestamp` as S (RFC 3339, UTC). A row whose value does not parse is rejected."
                    ),
                ),
            ),
            (
                "required",
                boolean(
                    Optional,
                    "Whether every row must have a value; an empty optional value stores no attribute. Default `true`. Key columns must be required.",
                ),
            ),
            (
                "format",
                string(
                    Optional,
                    "Input format of a `date` or `timestamp` column, in strftime notation. Default: `%m/%d/%Y` for a date, RFC 3339 for a timestamp.",
                ),
            ),
        ],
        vec![],
    );
    NestedBlock::Optional(block(
        "The records the pipeline loads: the CSV columns, their types, the table's keys and the result file's columns. Without it, the order sample's layout (`OrderId` key, `ConfirmationId` a `uuid_v5`). Changing a key, the sort key or a key column's type replaces the pipeline (the table's key schema changes); any other change updates it in place, and the next run uses it.",
        vec![
            (
                "key",
                string(
                    Required,
                    "Attribute of the table's partition key: a required column's of type `string`, `id`, `date` or `timestamp` (an S key) or `integer` or `decimal` (an N key).",
                ),
            ),
            (
                "sort_key",
                string(
                    Optional,
                    "Attribute of the table's sort key, another key column's. Default: none.",
                ),
            ),
            (
                "output",
                strings(
                    Optional,
                    "The result file's columns, as attribute names (a column's or the generated one), in order. Default: `key` and the generated attribute.",
                ),
            ),
        ],
        vec![
            ("generated", NestedBlock::Optional(generated)),
            ("column", NestedBlock::List(column)),
        ],
    ))
}

/// A key's attribute and its type.
type Key<'a> = (&'a str, KeyType);

/// The record a state declares, resolved: the order layout without a block; `None` while it
/// is unknown (or, for a state no plan accepted, invalid).
fn resolved(block: &Value<RecordBlock>) -> Option<Record> {
    let spec = match block {
        Value::Null => RecordSpec::orders(),
        Value::Value(block) => block.spec()?,
        Value::Unknown => return None,
    };
    spec.resolve(&ConfigPath::attribute("record")).ok()
}

/// The paths of the `record` block whose change from `prior` to `planned` replaces the
/// pipeline: those that change the table's key schema, a key's attribute or its key type.
/// Adding or removing the block replaces only when the declared keys differ from the order
/// layout's. While the planned block is not known, the block itself is returned (Terraform
/// replaces only when a returned path's value differs or is unknown).
pub fn replacing(prior: &Value<RecordBlock>, planned: &Value<RecordBlock>) -> Vec<AttributePath> {
    let whole = || vec![AttributePath::new("record")];
    let (Some(prior_record), Some(planned_record)) = (resolved(prior), resolved(planned)) else {
        return whole();
    };
    fn keys(record: &Record) -> (Key<'_>, Option<Key<'_>>) {
        (record.key_attribute(), record.sort_key_attribute())
    }
    fn attribute(key: Option<Key<'_>>) -> Option<&str> {
        key.map(|(attribute, _)| attribute)
    }
    if keys(&prior_record) == keys(&planned_record) {
        return Vec::new();
    }
    let (Value::Value(prior_block), Value::Value(planned_block)) = (prior, planned) else {
        return whole();
    };
    let mut paths = Vec::new();
    for (name, before, after, index) in [
        (
            "key",
            Some(prior_record.key_attribute()),
            Some(planned_record.key_attribute()),
            Some(planned_record.key),
        ),
        (
            "sort_key",
            prior_record.sort_key_attribute(),
            planned_record.sort_key_attribute(),
            planned_record.sort_key,
        ),
    ] {
        if attribute(before) != attribute(after) {
            paths.push(AttributePath::new("record").index(0).attribute(name));
        } else if before != after
            && let Some(index) = index
        {
            paths.push(key_type_path(prior_block, planned_block, index));
        }
    }
    paths
}

/// Where a key column's changed type shows: its `type`, or the whole column when the column at
/// that position in the prior block happens to have the same type text (columns moved).
fn key_type_path(prior: &RecordBlock, planned: &RecordBlock, index: usize) -> AttributePath {
    let column = AttributePath::new("record")
        .index(0)
        .attribute("column")
        .index(index as i64);
    let type_at = |block: &RecordBlock| {
        let columns = block.column.as_ref_option()?;
        Some(columns.get(index)?.as_ref_option()?.column_type.clone())
    };
    if type_at(prior) != type_at(planned) {
        column.attribute("type")
    } else {
        column
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::terraform_path;

    fn column(header: &str, column_type: &str) -> Value<ColumnBlock> {
        Value::Value(ColumnBlock {
            header: Value::Value(header.into()),
            column_type: Value::Value(column_type.into()),
            ..Default::default()
        })
    }

    /// Keyed by an integer `Id`, with a date and a note.
    fn declared() -> RecordBlock {
        RecordBlock {
            key: Value::Value("Id".into()),
            column: Value::Value(vec![
                column("Id", "integer"),
                column("Day", "date"),
                column("Note", "string"),
            ]),
            ..Default::default()
        }
    }

    fn record(block: RecordBlock) -> Value<RecordBlock> {
        Value::Value(block)
    }

    #[test]
    fn specs_round_trip_through_the_block() {
        let mut spec = RecordSpec::orders();
        spec.sort_key = Some("OrderDate".into());
        spec.columns[0].required = Some(false);
        spec.columns[5].format = Some("%d.%m.%Y".into());
        assert_eq!(RecordBlock::from_spec(&spec).spec(), Some(spec));
    }

    #[test]
    fn an_unknown_value_anywhere_leaves_the_spec_unknown() {
        let mut block = declared();
        assert!(block.spec().is_some());
        if let Value::Value(columns) = &mut block.column
            && let Value::Value(column) = &mut columns[2]
        {
            column.format = Value::Unknown;
        }
        assert_eq!(block.spec(), None);
    }

    #[test]
    fn core_s_paths_become_the_block_s_terraform_paths() {
        let blocks = [("record".to_owned(), schema())].into();
        let path = ConfigPath::attribute("record").then("column").index(2).then("type");
        assert_eq!(
            terraform_path(&blocks, &path),
            AttributePath::new("record")
                .index(0)
                .attribute("column")
                .index(2)
                .attribute("type")
        );
        let path = ConfigPath::attribute("record").then("generated").then("attribute");
        assert_eq!(
            terraform_path(&blocks, &path),
            AttributePath::new("record")
                .index(0)
                .attribute("generated")
                .index(0)
                .attribute("attribute")
        );
    }

    #[test]
    fn a_non_key_change_replaces_nothing() {
        let mut changed = declared();
        changed.column = Value::Value(vec![
            column("Id", "integer"),
            column("Day", "timestamp"),
            column("Amount", "decimal"),
        ]);
        changed.output = Value::Value(vec![Value::Value("Amount".into())]);
        assert!(replacing(&record(declared()), &record(changed)).is_empty());
    }

    #[test]
    fn a_changed_key_or_sort_key_replaces_at_its_path() {
        let mut rekeyed = declared();
        rekeyed.key = Value::Value("Day".into());
        assert_eq!(
            replacing(&record(declared()), &record(rekeyed)),
            [AttributePath::new("record").index(0).attribute("key")]
        );
        let mut sorted = declared();
        sorted.sort_key = Value::Value("Day".into());
        assert_eq!(
            replacing(&record(declared()), &record(sorted)),
            [AttributePath::new("record").index(0).attribute("sort_key")]
        );
    }

    #[test]
    fn a_key_column_s_new_key_type_replaces_at_its_type() {
        let mut retyped = declared();
        retyped.column = Value::Value(vec![
            column("Id", "id"),
            column("Day", "date"),
            column("Note", "string"),
        ]);
        let first_column = AttributePath::new("record").index(0).attribute("column").index(0);
        assert_eq!(
            replacing(&record(declared()), &record(retyped)),
            [first_column.clone().attribute("type")]
        );
        // Same key type (N), another type name: the key schema stays.
        let mut decimal = declared();
        decimal.column = Value::Value(vec![
            column("Id", "decimal"),
            column("Day", "date"),
            column("Note", "string"),
        ]);
        assert!(replacing(&record(declared()), &record(decimal)).is_empty());
        // Columns swapped, so the key's position held the new type text: the column shows.
        let mut before = declared();
        before.column = Value::Value(vec![column("Id", "integer"), column("Note", "string")]);
        let mut swapped = declared();
        swapped.column = Value::Value(vec![column("Note", "integer"), column("Id", "string")]);
        assert_eq!(
            replacing(&record(before), &record(swapped)),
            [AttributePath::new("record").index(0).attribute("column").index(1)]
        );
    }

    #[test]
    fn adding_or_removing_the_block_replaces_only_for_other_keys() {
        let orders = record(RecordBlock::from_spec(&RecordSpec::orders()));
        assert!(
            replacing(&Value::Null, &orders).is_empty(),
            "the same keys as without it"
        );
        assert!(replacing(&orders, &Value::Null).is_empty());
        let whole = [AttributePath::new("record")];
        assert_eq!(replacing(&Value::Null, &record(declared())), whole);
        assert_eq!(replacing(&record(declared()), &Value::Null), whole);
        assert_eq!(replacing(&record(declared()), &Value::Unknown), whole);
    }
}
