//! One attribute table per resource. A row declares an attribute once: its field in the state
//! struct, its schema, and whether changing it replaces the resource (terraform-provider-aws's
//! `ForceNew`, kept on the attribute itself). A block is a row too, so comparisons see it; its
//! schema is its resource's own. [`attribute_table!`] generates the struct and the table; the
//! schema, the replacement set and the comparisons are read from the table, so they cannot
//! disagree.

use std::collections::HashMap;

use tf_provider::schema::{Attribute, AttributeConstraint, AttributeType, Description};

/// One attribute (or block) of a resource whose state is `S`.
pub struct AttributeRow<S> {
    pub name: &'static str,
    /// Its type, constraint and description; `None` for a block, whose schema is its
    /// resource's (`ResourceKind::blocks`).
    pub schema: Option<fn() -> Attribute>,
    /// Whether a change replaces the resource rather than updating it in place; a block's
    /// changes that do say so themselves (`ResourceKind::replacing_in_blocks`).
    pub replaces: bool,
    /// The values a closed set allows (terraform-provider-aws's `StringInSlice`); empty for
    /// any value.
    pub one_of: &'static [&'static str],
    /// Its value as text, for a closed set's check.
    pub text: fn(&S) -> Option<&str>,
    /// Whether two states hold different values for it.
    pub differs: fn(&S, &S) -> bool,
}

/// The row named `name`.
pub fn row<'t, S>(table: &'t [AttributeRow<S>], name: &str) -> Option<&'t AttributeRow<S>> {
    table.iter().find(|row| row.name == name)
}

/// The schema's attributes; the description of one that replaces the resource says so.
pub fn schema_attributes<S>(table: &[AttributeRow<S>]) -> HashMap<String, Attribute> {
    table
        .iter()
        .filter_map(|row| Some((row, row.schema?)))
        .map(|(row, schema)| {
            let mut attribute = schema();
            if row.replaces {
                attribute.description.content.push_str(" Forces replacement.");
            }
            (row.name.to_owned(), attribute)
        })
        .collect()
}

/// The attributes whose change from `prior` to `planned` replaces the resource.
pub fn replacing<S>(table: &[AttributeRow<S>], prior: &S, planned: &S) -> Vec<&'static str> {
    table
        .iter()
        .filter(|row| row.replaces && (row.differs)(prior, planned))
        .map(|row| row.name)
        .collect()
}

/// Each attribute whose value is outside its closed set, with the reason.
pub fn outside_their_sets<S>(table: &[AttributeRow<S>], state: &S) -> Vec<(&'static str, String)> {
    table
        .iter()
        .filter(|row| !row.one_of.is_empty())
        .filter_map(|row| {
            let value = (row.text)(state)?;
            let allowed = row.one_of.join(", ");
            (!row.one_of.contains(&value)).then(|| (row.name, format!("must be one of {allowed}, not {value:?}")))
        })
        .collect()
}

/// Whether any attribute named in `names` differs between `a` and `b`. A name that matches no
/// row counts as changed, so a stale name errs towards re-rendering; a test of each resource
/// checks that every name it passes here has a row.
pub fn any_differs<S>(table: &[AttributeRow<S>], names: &[&str], a: &S, b: &S) -> bool {
    names
        .iter()
        .any(|name| row(table, name).is_none_or(|row| (row.differs)(a, b)))
}

/// The rows a state of type `S` does not serialize under their own name (a `serde(rename)` on
/// a field would make Terraform and the table disagree); tests expect none.
#[cfg(test)]
pub fn rows_not_serialized<S: serde::Serialize + Default>(table: &[AttributeRow<S>]) -> Vec<&'static str> {
    let serialized = serde_json::to_value(S::default()).unwrap_or_default();
    table
        .iter()
        .filter(|row| serialized.get(row.name).is_none())
        .map(|row| row.name)
        .collect()
}

pub fn attribute(attr_type: AttributeType, constraint: AttributeConstraint, doc: &str) -> Attribute {
    Attribute {
        attr_type,
        description: Description::markdown(doc),
        constraint,
        sensitive: false,
        deprecated: false,
    }
}

pub fn string(constraint: AttributeConstraint, doc: &str) -> Attribute {
    attribute(AttributeType::String, constraint, doc)
}

pub fn number(constraint: AttributeConstraint, doc: &str) -> Attribute {
    attribute(AttributeType::Number, constraint, doc)
}

pub fn boolean(constraint: AttributeConstraint, doc: &str) -> Attribute {
    attribute(AttributeType::Bool, constraint, doc)
}

pub fn string_map(constraint: AttributeConstraint, doc: &str) -> Attribute {
    attribute(AttributeType::Map(Box::new(AttributeType::String)), constraint, doc)
}

pub fn strings(constraint: AttributeConstraint, doc: &str) -> Attribute {
    attribute(AttributeType::List(Box::new(AttributeType::String)), constraint, doc)
}

/// Declares a resource's state struct and its attribute table from one list of rows:
///
/// ```text
/// attribute_table! {
///     pub struct PipelineState {
///         name: Value<String> = string(Required, "Pipeline name."), replaces;
///         job_image: Value<String> = string(Required, "Container image of the Jobs.");
///     }
///     blocks {
///         #[serde(default, with = "crate::resource::single_block")]
///         timeouts: Value<Timeouts>;
///     }
/// }
/// ```
///
/// Each row becomes a public field (documented with the attribute's description) and an
/// [`AttributeRow`] in `PipelineState::ATTRIBUTES`; a row ending in `replaces` forces
/// replacement, and a string attribute named with `[one_of NAMES]` (`architecture
/// [one_of Architecture::NAMES]: Value<String> = …`) takes only those values. Each block is a
/// field and a row without a schema (the resource's own) that never replaces as a whole.
macro_rules! attribute_table {
    (
        $(#[$struct_meta:meta])*
        pub struct $state:ident {
            $(
                $(#[$field_meta:meta])*
                $field:ident $([one_of $one_of:path])? : $ty:ty = $kind:ident ( $constraint:ident, $doc:expr ) $(, $replaces:ident)? ;
            )*
        }
        blocks {
            $( $(#[$block_meta:meta])* $block:ident : $block_ty:ty ; )*
        }
    ) => {
        $(#[$struct_meta])*
        #[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
        pub struct $state {
            $( $(#[$field_meta])* #[doc = $doc] pub $field: $ty, )*
            $( $(#[$block_meta])* pub $block: $block_ty, )*
        }

        impl $state {
            /// Every attribute, one row each, in declaration order.
            pub const ATTRIBUTES: &'static [$crate::resource::attributes::AttributeRow<$state>] = &[
                $( $crate::resource::attributes::AttributeRow {
                    name: stringify!($field),
                    schema: Some(|| $crate::resource::attributes::$kind(
                        tf_provider::schema::AttributeConstraint::$constraint,
                        $doc,
                    )),
                    replaces: $crate::resource::attributes::attribute_table!(@replaces $($replaces)?),
                    one_of: $crate::resource::attributes::attribute_table!(@one_of $($one_of)?),
                    text: $crate::resource::attributes::attribute_table!(@text $field $($one_of)?),
                    differs: |a, b| a.$field != b.$field,
                }, )*
                $( $crate::resource::attributes::AttributeRow {
                    name: stringify!($block),
                    schema: None,
                    replaces: false,
                    one_of: &[],
                    text: |_| None,
                    differs: |a, b| a.$block != b.$block,
                }, )*
            ];
        }
    };
    (@replaces replaces) => { true };
    (@replaces) => { false };
    (@one_of $one_of:path) => { $one_of };
    (@one_of) => { &[] };
    (@text $field:ident $one_of:path) => { |state| state.$field.as_ref_option().map(String::as_str) };
    (@text $field:ident) => { |_| None };
}

pub(crate) use attribute_table;

#[cfg(test)]
mod tests {
    use tf_provider::value::Value;

    use super::*;

    attribute_table! {
        pub struct Sample {
            name: Value<String> = string(Required, "The name."), replaces;
            size: Value<i64> = number(Optional, "The size.");
            colour [one_of COLOURS]: Value<String> = string(Optional, "The colour.");
        }
        blocks {
            part: Value<Vec<Value<String>>>;
        }
    }

    const COLOURS: &[&str] = &["red", "blue"];

    fn sample(name: &str, size: i64) -> Sample {
        Sample {
            name: Value::Value(name.into()),
            size: Value::Value(size),
            colour: Value::Null,
            part: Value::Null,
        }
    }

    #[test]
    fn only_rows_marked_replaces_replace() {
        let table = Sample::ATTRIBUTES;
        assert_eq!(replacing(table, &sample("a", 1), &sample("b", 2)), ["name"]);
        assert!(replacing(table, &sample("a", 1), &sample("a", 2)).is_empty());
    }

    #[test]
    fn the_schema_says_which_attributes_replace() {
        let attributes = schema_attributes(Sample::ATTRIBUTES);
        assert_eq!(attributes["name"].description.content, "The name. Forces replacement.");
        assert_eq!(attributes["size"].description.content, "The size.");
        assert_eq!(attributes["size"].constraint, AttributeConstraint::Optional);
        assert!(
            !attributes.contains_key("part"),
            "a block's schema is its resource's own"
        );
    }

    #[test]
    fn a_closed_set_takes_only_its_values() {
        let mut state = sample("a", 1);
        assert!(
            outside_their_sets(Sample::ATTRIBUTES, &state).is_empty(),
            "unset is fine"
        );
        state.colour = Value::Value("red".into());
        assert!(outside_their_sets(Sample::ATTRIBUTES, &state).is_empty());
        state.colour = Value::Value("green".into());
        assert_eq!(
            outside_their_sets(Sample::ATTRIBUTES, &state),
            [("colour", r#"must be one of red, blue, not "green""#.to_owned())]
        );
    }

    #[test]
    fn a_name_without_a_row_counts_as_changed() {
        let (a, b) = (sample("a", 1), sample("a", 1));
        assert!(!any_differs(Sample::ATTRIBUTES, &["name", "size", "part"], &a, &b));
        assert!(any_differs(Sample::ATTRIBUTES, &["nmae"], &a, &b));
    }

    #[test]
    fn a_block_is_compared_but_never_replaces_as_a_whole() {
        let (a, mut b) = (sample("a", 1), sample("a", 1));
        b.part = Value::Value(vec![Value::Value("wheel".into())]);
        assert!(any_differs(Sample::ATTRIBUTES, &["part"], &a, &b));
        assert!(replacing(Sample::ATTRIBUTES, &a, &b).is_empty());
    }
}
