//! Choice rules: the comparisons and `And`/`Or`/`Not` combinations that pick a Choice state's
//! `Next`.
//!
//! Rules are parsed with the definition, so a malformed rule fails it before anything runs,
//! as AWS rejects such a definition outright. Comparisons are type-sensitive: a value of
//! another type than the operator's makes the rule false, while a `Variable` that selects
//! nothing is a `States.Runtime` error for every operator but `IsPresent`.

use std::borrow::Cow;
use std::cmp::Ordering;

use serde::{Deserialize, Deserializer};
use serde_json::{Number, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::error::Failure;
use crate::path::{self, Scope};

/// One entry of a Choice state's `Choices`: a rule and the state it leads to.
#[derive(Clone, Debug)]
pub struct Branch {
    rule: Rule,
    pub next: String,
}

/// The `Next` of the first branch whose rule matches in `scope`, or `None` when none does.
pub fn choose<'b>(branches: &'b [Branch], scope: Scope<'_>) -> Result<Option<&'b str>, Failure> {
    for branch in branches {
        if branch.rule.holds(scope)? {
            return Ok(Some(&branch.next));
        }
    }
    Ok(None)
}

impl<'de> Deserialize<'de> for Branch {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let choice = Value::deserialize(deserializer)?;
        Branch::parse(&choice).map_err(|failure| serde::de::Error::custom(failure.cause))
    }
}

/// A Choice Rule.
#[derive(Clone, Debug)]
enum Rule {
    And(Vec<Rule>),
    Or(Vec<Rule>),
    Not(Box<Rule>),
    /// Apart from the others because it is the one test a missing `Variable` can pass.
    IsPresent {
        variable: String,
        expected: bool,
    },
    Test {
        variable: String,
        test: Test,
    },
}

/// A test of the value a `Variable` selects.
#[derive(Clone, Debug)]
enum Test {
    Compare {
        kind: Kind,
        relation: Relation,
        operand: Operand,
    },
    /// The pattern split at its unescaped `*`s, escapes resolved.
    Matches(Vec<String>),
    IsNull(bool),
    IsKind(Kind, bool),
}

/// What a comparison compares with: the operator's own value, or the value at its `…Path`.
#[derive(Clone, Debug)]
enum Operand {
    Literal(Value),
    Path(String),
}

/// The types comparison operators work on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    String,
    Numeric,
    Boolean,
    Timestamp,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Relation {
    Equals,
    LessThan,
    GreaterThan,
    LessThanEquals,
    GreaterThanEquals,
}

impl Rule {
    fn holds(&self, scope: Scope<'_>) -> Result<bool, Failure> {
        match self {
            // Short-circuits, so an `IsPresent` can guard the comparisons after it.
            Rule::And(rules) => {
                for rule in rules {
                    if !rule.holds(scope)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            Rule::Or(rules) => {
                for rule in rules {
                    if rule.holds(scope)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Rule::Not(rule) => Ok(!rule.holds(scope)?),
            Rule::IsPresent { variable, expected } => Ok(path::try_read(variable, scope)?.is_some() == *expected),
            Rule::Test { variable, test } => {
                let value = read_condition_path(variable, scope)?;
                test.holds(&value, scope)
            }
        }
    }
}

impl Test {
    fn holds(&self, value: &Value, scope: Scope<'_>) -> Result<bool, Failure> {
        Ok(match self {
            Test::Compare {
                kind,
                relation,
                operand,
            } => {
                let other = match operand {
                    Operand::Literal(literal) => Cow::Borrowed(literal),
                    Operand::Path(path) => Cow::Owned(read_condition_path(path, scope)?),
                };
                kind.compare(value, &other)
                    .is_some_and(|ordering| relation.holds(ordering))
            }
            Test::Matches(segments) => value.as_str().is_some_and(|text| glob_matches(segments, text)),
            Test::IsNull(expected) => value.is_null() == *expected,
            Test::IsKind(kind, expected) => kind.accepts(value) == *expected,
        })
    }
}

/// The value at a rule's path, failing as AWS does when it selects nothing.
fn read_condition_path(path: &str, scope: Scope<'_>) -> Result<Value, Failure> {
    path::try_read(path, scope)?.ok_or_else(|| {
        Failure::runtime(format!(
            "Invalid path '{path}': The choice state's condition path references an invalid value."
        ))
    })
}

impl Kind {
    const PREFIXES: [(&'static str, Kind); 4] = [
        ("String", Kind::String),
        ("Numeric", Kind::Numeric),
        ("Boolean", Kind::Boolean),
        ("Timestamp", Kind::Timestamp),
    ];

    /// How `a` orders against `b`, or `None` when either is not of this type.
    fn compare(self, a: &Value, b: &Value) -> Option<Ordering> {
        match self {
            Kind::String => Some(a.as_str()?.cmp(b.as_str()?)),
            Kind::Numeric => compare_numbers(a.as_number()?, b.as_number()?),
            Kind::Boolean => Some(a.as_bool()?.cmp(&b.as_bool()?)),
            Kind::Timestamp => Some(timestamp(a)?.cmp(&timestamp(b)?)),
        }
    }

    fn accepts(self, value: &Value) -> bool {
        self.compare(value, value).is_some()
    }

    fn description(self) -> &'static str {
        match self {
            Kind::String => "a string",
            Kind::Numeric => "a number",
            Kind::Boolean => "a boolean",
            Kind::Timestamp => "an RFC 3339 timestamp",
        }
    }
}

impl Relation {
    fn parse(name: &str) -> Option<Relation> {
        Some(match name {
            "Equals" => Relation::Equals,
            "LessThan" => Relation::LessThan,
            "GreaterThan" => Relation::GreaterThan,
            "LessThanEquals" => Relation::LessThanEquals,
            "GreaterThanEquals" => Relation::GreaterThanEquals,
            _ => return None,
        })
    }

    fn holds(self, ordering: Ordering) -> bool {
        match self {
            Relation::Equals => ordering.is_eq(),
            Relation::LessThan => ordering.is_lt(),
            Relation::GreaterThan => ordering.is_gt(),
            Relation::LessThanEquals => ordering.is_le(),
            Relation::GreaterThanEquals => ordering.is_ge(),
        }
    }
}

/// Integers compare exactly (f64 would round those beyond 2^53); anything else as f64.
fn compare_numbers(a: &Number, b: &Number) -> Option<Ordering> {
    let integer = |n: &Number| n.as_i64().map(i128::from).or_else(|| n.as_u64().map(i128::from));
    match (integer(a), integer(b)) {
        (Some(a), Some(b)) => Some(a.cmp(&b)),
        _ => a.as_f64()?.partial_cmp(&b.as_f64()?),
    }
}

/// A string in the spec's RFC 3339 profile, as an instant.
fn timestamp(value: &Value) -> Option<OffsetDateTime> {
    let text = value.as_str()?;
    let parsed = OffsetDateTime::parse(text, &Rfc3339).ok()?;
    // The spec demands an uppercase `T` and `Z`; the parser also takes lowercase and any separator.
    (text.get(10..11) == Some("T") && !text.ends_with('z')).then_some(parsed)
}

/// Splits a `StringMatches` pattern at its wildcards. Only `*` is special; `\*` and `\\` stand
/// for `*` and `\`, and any other backslash is itself.
fn glob_segments(pattern: &str) -> Vec<String> {
    let mut segments = Vec::new();
    let mut segment = String::new();
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' => segments.push(std::mem::take(&mut segment)),
            '\\' => segment.push(chars.next_if(|&next| next == '*' || next == '\\').unwrap_or('\\')),
            c => segment.push(c),
        }
    }
    segments.push(segment);
    segments
}

/// Whether `text` matches the pattern `segments` joined by wildcards: it starts with the first,
/// ends with the last, and holds the others in order between them.
fn glob_matches(segments: &[String], text: &str) -> bool {
    let Some((first, rest)) = segments.split_first() else {
        return false;
    };
    let Some((last, middle)) = rest.split_last() else {
        return text == first;
    };
    let Some(mut remaining) = text.strip_prefix(first.as_str()) else {
        return false;
    };
    for segment in middle {
        match remaining.find(segment.as_str()) {
            Some(at) => remaining = &remaining[at + segment.len()..],
            None => return false,
        }
    }
    remaining.ends_with(last.as_str())
}

/// A failure for a rule that does not follow the language.
fn malformed(rule: &Value, why: impl std::fmt::Display) -> Failure {
    Failure::runtime(format!("invalid Choice rule {rule}: {why}"))
}

impl Branch {
    /// A top-level rule and its `Next`.
    fn parse(choice: &Value) -> Result<Branch, Failure> {
        let next = choice
            .get("Next")
            .and_then(Value::as_str)
            .ok_or_else(|| malformed(choice, "a top-level rule needs a string Next"))?;
        Ok(Branch {
            rule: parse_rule(choice, true)?,
            next: next.to_owned(),
        })
    }
}

/// Fields of a rule that are not its operator.
const NON_OPERATORS: [&str; 4] = ["Variable", "Comment", "Next", "Assign"];

fn parse_rule(rule: &Value, top_level: bool) -> Result<Rule, Failure> {
    let fields = rule
        .as_object()
        .ok_or_else(|| malformed(rule, "a rule must be an object"))?;
    if !top_level && let Some(field) = ["Next", "Assign"].into_iter().find(|field| fields.contains_key(*field)) {
        return Err(malformed(
            rule,
            format!("a rule nested in And, Or or Not cannot have {field}"),
        ));
    }
    let mut operators = fields
        .iter()
        .filter(|(name, _)| !NON_OPERATORS.contains(&name.as_str()));
    let (name, operand) = match (operators.next(), operators.next()) {
        (Some(operator), None) => operator,
        (None, _) => return Err(malformed(rule, "no comparison operator, And, Or or Not")),
        (Some((a, _)), Some((b, _))) => {
            return Err(malformed(rule, format!("{a} and {b} cannot be in the same rule")));
        }
    };
    let name = name.as_str();
    match name {
        "And" | "Or" | "Not" if fields.contains_key("Variable") => {
            Err(malformed(rule, format!("{name} takes no Variable")))
        }
        "And" | "Or" => {
            let rules = operand
                .as_array()
                .filter(|rules| !rules.is_empty())
                .ok_or_else(|| malformed(rule, format!("{name} must be a non-empty array of rules")))?
                .iter()
                .map(|nested| parse_rule(nested, false))
                .collect::<Result<_, _>>()?;
            Ok(if name == "And" {
                Rule::And(rules)
            } else {
                Rule::Or(rules)
            })
        }
        "Not" => Ok(Rule::Not(Box::new(parse_rule(operand, false)?))),
        _ => {
            let variable = fields
                .get("Variable")
                .and_then(Value::as_str)
                .filter(|variable| path::is_path(variable))
                .ok_or_else(|| malformed(rule, format!("{name} needs a Variable path")))?;
            parse_comparison(rule, variable, name, operand)
        }
    }
}

/// A rule that tests `variable` with the operator `name` and its value `operand`.
fn parse_comparison(rule: &Value, variable: &str, name: &str, operand: &Value) -> Result<Rule, Failure> {
    let variable = variable.to_owned();
    let flag = || {
        operand
            .as_bool()
            .ok_or_else(|| malformed(rule, format!("{name} must be true or false")))
    };
    let test = match name {
        "IsPresent" => {
            return Ok(Rule::IsPresent {
                variable,
                expected: flag()?,
            });
        }
        "IsNull" => Test::IsNull(flag()?),
        "IsNumeric" => Test::IsKind(Kind::Numeric, flag()?),
        "IsString" => Test::IsKind(Kind::String, flag()?),
        "IsBoolean" => Test::IsKind(Kind::Boolean, flag()?),
        "IsTimestamp" => Test::IsKind(Kind::Timestamp, flag()?),
        "StringMatches" => Test::Matches(glob_segments(
            operand
                .as_str()
                .ok_or_else(|| malformed(rule, "StringMatches must be a string"))?,
        )),
        _ => {
            let (base, by_path) = match name.strip_suffix("Path") {
                Some(base) => (base, true),
                None => (name, false),
            };
            let (kind, relation) = Kind::PREFIXES
                .into_iter()
                .find_map(|(prefix, kind)| Some((kind, Relation::parse(base.strip_prefix(prefix)?)?)))
                .filter(|&(kind, relation)| kind != Kind::Boolean || relation == Relation::Equals)
                .ok_or_else(|| malformed(rule, format!("unknown operator {name}")))?;
            let operand = if by_path {
                Operand::Path(
                    operand
                        .as_str()
                        .filter(|path| path::is_path(path))
                        .ok_or_else(|| malformed(rule, format!("{name} must be a path")))?
                        .to_owned(),
                )
            } else if kind.accepts(operand) {
                Operand::Literal(operand.clone())
            } else {
                return Err(malformed(rule, format!("{name} must be {}", kind.description())));
            };
            Test::Compare {
                kind,
                relation,
                operand,
            }
        }
    };
    Ok(Rule::Test { variable, test })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const CONTEXT: &str = r#"{"Execution": {"Name": "run-1"}}"#;

    /// Parses `choices` as the definition does, then picks one for `input`.
    fn choose_in(choices: &Value, input: &Value) -> Result<Option<String>, Failure> {
        let branches = choices
            .as_array()
            .unwrap()
            .iter()
            .map(Branch::parse)
            .collect::<Result<Vec<_>, _>>()?;
        let context: Value = serde_json::from_str(CONTEXT).unwrap();
        Ok(choose(&branches, Scope::new(input, &context))?.map(str::to_owned))
    }

    /// Whether `rule` (without `Next`) matches `input` as the only choice.
    fn holds(rule: &Value, input: &Value) -> Result<bool, Failure> {
        let mut choice = rule.clone();
        choice["Next"] = json!("Matched");
        Ok(choose_in(&json!([choice]), input)?.is_some())
    }

    #[test]
    fn the_documented_choice_state_picks_the_first_matching_rule() {
        let choices = json!([
            {"Not": {"Variable": "$.type", "StringEquals": "Private"}, "Next": "Public"},
            {"Variable": "$.value", "NumericEquals": 0, "Next": "ValueIsZero"},
            {
                "And": [
                    {"Variable": "$.value", "NumericGreaterThanEquals": 20},
                    {"Variable": "$.value", "NumericLessThan": 30}
                ],
                "Next": "ValueInTwenties"
            },
            {"Variable": "$.value", "NumericLessThan": 0, "Next": "LessThanZero"}
        ]);
        let cases = [
            (json!({"type": "Public"}), Some("Public")),
            (json!({"type": "Private", "value": 0}), Some("ValueIsZero")),
            (json!({"type": "Private", "value": 20}), Some("ValueInTwenties")),
            (json!({"type": "Private", "value": 29.9}), Some("ValueInTwenties")),
            (json!({"type": "Private", "value": -3}), Some("LessThanZero")),
            (json!({"type": "Private", "value": 30}), None),
            (json!({"type": "Private", "value": 10}), None),
        ];
        for (input, expected) in cases {
            assert_eq!(choose_in(&choices, &input).unwrap().as_deref(), expected, "{input}");
        }
        let err = choose_in(&choices, &json!({"type": "Private"})).unwrap_err();
        assert_eq!(err.error, "States.Runtime");
    }

    #[test]
    fn every_operator_compares_as_documented() {
        let cases = [
            // (rule, input, matches)
            (
                json!({"Variable": "$.foo", "StringEquals": "MyString"}),
                json!({"foo": "MyString"}),
                true,
            ),
            (
                json!({"Variable": "$.foo", "StringEquals": "MyString"}),
                json!({"foo": "Other"}),
                false,
            ),
            (
                json!({"Variable": "$.foo", "StringLessThan": "b"}),
                json!({"foo": "a"}),
                true,
            ),
            (
                json!({"Variable": "$.foo", "StringLessThan": "b"}),
                json!({"foo": "b"}),
                false,
            ),
            (
                json!({"Variable": "$.foo", "StringGreaterThan": "MyStringABC"}),
                json!({"foo": "MyStringABD"}),
                true,
            ),
            (
                json!({"Variable": "$.foo", "StringGreaterThan": "MyStringABC"}),
                json!({"foo": "MyString"}),
                false,
            ),
            (
                json!({"Variable": "$.foo", "StringLessThanEquals": "b"}),
                json!({"foo": "b"}),
                true,
            ),
            (
                json!({"Variable": "$.foo", "StringLessThanEquals": "b"}),
                json!({"foo": "c"}),
                false,
            ),
            (
                json!({"Variable": "$.foo", "StringGreaterThanEquals": "b"}),
                json!({"foo": "b"}),
                true,
            ),
            (
                json!({"Variable": "$.foo", "StringGreaterThanEquals": "b"}),
                json!({"foo": "a"}),
                false,
            ),
            (
                json!({"Variable": "$.foo", "NumericEquals": 1}),
                json!({"foo": 1}),
                true,
            ),
            (
                json!({"Variable": "$.foo", "NumericEquals": 1}),
                json!({"foo": 1.0}),
                true,
            ),
            (
                json!({"Variable": "$.foo", "NumericEquals": 1}),
                json!({"foo": 2}),
                false,
            ),
            (
                json!({"Variable": "$.foo", "NumericEquals": 9_007_199_254_740_993_u64}),
                json!({"foo": 9_007_199_254_740_992_u64}),
                false,
            ),
            (
                json!({"Variable": "$.foo", "NumericLessThan": 0}),
                json!({"foo": -0.5}),
                true,
            ),
            (
                json!({"Variable": "$.foo", "NumericLessThan": 0}),
                json!({"foo": 0}),
                false,
            ),
            (
                json!({"Variable": "$.foo", "NumericGreaterThan": 1.5}),
                json!({"foo": 2}),
                true,
            ),
            (
                json!({"Variable": "$.foo", "NumericGreaterThan": 1.5}),
                json!({"foo": 1.5}),
                false,
            ),
            (
                json!({"Variable": "$.foo", "NumericLessThanEquals": 3}),
                json!({"foo": 3}),
                true,
            ),
            (
                json!({"Variable": "$.foo", "NumericLessThanEquals": 3}),
                json!({"foo": 4}),
                false,
            ),
            (
                json!({"Variable": "$.foo", "NumericGreaterThanEquals": -1}),
                json!({"foo": u64::MAX}),
                true,
            ),
            (
                json!({"Variable": "$.foo", "NumericGreaterThanEquals": 20}),
                json!({"foo": 19}),
                false,
            ),
            (
                json!({"Variable": "$.foo", "BooleanEquals": true}),
                json!({"foo": true}),
                true,
            ),
            (
                json!({"Variable": "$.foo", "BooleanEquals": true}),
                json!({"foo": false}),
                false,
            ),
            (
                json!({"Variable": "$.foo", "TimestampEquals": "2001-01-01T12:00:00Z"}),
                json!({"foo": "2001-01-01T13:00:00+01:00"}),
                true,
            ),
            (
                json!({"Variable": "$.foo", "TimestampEquals": "2001-01-01T12:00:00Z"}),
                json!({"foo": "2001-01-01T12:00:00.001Z"}),
                false,
            ),
            (
                json!({"Variable": "$.foo", "TimestampLessThan": "2001-01-01T12:00:00Z"}),
                json!({"foo": "2000-12-31T23:59:59Z"}),
                true,
            ),
            (
                json!({"Variable": "$.foo", "TimestampLessThan": "2001-01-01T12:00:00Z"}),
                json!({"foo": "2001-01-01T12:00:00Z"}),
                false,
            ),
            (
                json!({"Variable": "$.foo", "TimestampGreaterThan": "2001-01-01T12:00:00Z"}),
                json!({"foo": "2001-01-01T12:00:01Z"}),
                true,
            ),
            (
                json!({"Variable": "$.foo", "TimestampGreaterThan": "2001-01-01T12:00:00Z"}),
                json!({"foo": "2001-01-01T12:00:00-01:00"}),
                true,
            ),
            (
                json!({"Variable": "$.foo", "TimestampGreaterThan": "2001-01-01T12:00:00Z"}),
                json!({"foo": "2001-01-01T11:59:59Z"}),
                false,
            ),
            (
                json!({"Variable": "$.foo", "TimestampLessThanEquals": "2001-01-01T12:00:00Z"}),
                json!({"foo": "2001-01-01T12:00:00Z"}),
                true,
            ),
            (
                json!({"Variable": "$.foo", "TimestampLessThanEquals": "2001-01-01T12:00:00Z"}),
                json!({"foo": "2001-01-02T00:00:00Z"}),
                false,
            ),
            (
                json!({"Variable": "$.foo", "TimestampGreaterThanEquals": "2001-01-01T12:00:00Z"}),
                json!({"foo": "2001-01-01T12:00:00Z"}),
                true,
            ),
            (
                json!({"Variable": "$.foo", "TimestampGreaterThanEquals": "2001-01-01T12:00:00Z"}),
                json!({"foo": "1999-01-01T12:00:00Z"}),
                false,
            ),
            (json!({"Variable": "$.foo", "IsNull": true}), json!({"foo": null}), true),
            (json!({"Variable": "$.foo", "IsNull": true}), json!({"foo": 0}), false),
            (json!({"Variable": "$.foo", "IsNull": false}), json!({"foo": 0}), true),
            (
                json!({"Variable": "$.foo", "IsPresent": true}),
                json!({"foo": null}),
                true,
            ),
            (json!({"Variable": "$.foo", "IsPresent": true}), json!({}), false),
            (json!({"Variable": "$.foo", "IsPresent": false}), json!({}), true),
            (
                json!({"Variable": "$.foo", "IsNumeric": true}),
                json!({"foo": 1.5}),
                true,
            ),
            (
                json!({"Variable": "$.foo", "IsNumeric": true}),
                json!({"foo": "1.5"}),
                false,
            ),
            (
                json!({"Variable": "$.foo", "IsString": true}),
                json!({"foo": "1"}),
                true,
            ),
            (json!({"Variable": "$.foo", "IsString": true}), json!({"foo": 1}), false),
            (
                json!({"Variable": "$.foo", "IsBoolean": true}),
                json!({"foo": false}),
                true,
            ),
            (
                json!({"Variable": "$.foo", "IsBoolean": false}),
                json!({"foo": false}),
                false,
            ),
            (
                json!({"Variable": "$.foo", "IsTimestamp": true}),
                json!({"foo": "2016-03-14T01:59:00Z"}),
                true,
            ),
            (
                json!({"Variable": "$.foo", "IsTimestamp": true}),
                json!({"foo": "2016-03-14T01:59:00"}),
                false,
            ),
            (
                json!({"Variable": "$.foo", "IsTimestamp": true}),
                json!({"foo": "2016-03-14t01:59:00Z"}),
                false,
            ),
            (
                json!({"Variable": "$.foo", "IsTimestamp": true}),
                json!({"foo": "2016-03-14 01:59:00Z"}),
                false,
            ),
            (
                json!({"Variable": "$.foo", "IsTimestamp": false}),
                json!({"foo": "yesterday"}),
                true,
            ),
        ];
        for (rule, input, expected) in cases {
            assert_eq!(holds(&rule, &input).unwrap(), expected, "{rule} on {input}");
        }
    }

    #[test]
    fn string_matches_knows_only_the_star_and_its_escapes() {
        let cases = [
            // (pattern, text, matches)
            ("log-*.txt", "log-2024-01-01.txt", true),
            ("log-*.txt", "log-.txt", true),
            ("log-*.txt", "log-1.txt.gz", false),
            ("foo*.log", "foo23.log", true),
            ("*.log", "zebra.log", true),
            ("foo*.*", "foobar.zebra", true),
            ("*", "", true),
            ("a*b*c", "aXXbYYc", true),
            ("a*b*c", "acb", false),
            ("ab*ba", "aba", false),
            ("a.c", "abc", false),
            ("a?c", "abc", false),
            (r"a\*b", "a*b", true),
            (r"a\*b", "aXb", false),
            (r"a\\*", r"a\anything", true),
            (r"a\\*", "a", false),
            (r"a\b", r"a\b", true),
        ];
        for (pattern, text, expected) in cases {
            let rule = json!({"Variable": "$", "StringMatches": pattern});
            assert_eq!(holds(&rule, &json!(text)).unwrap(), expected, "{pattern} on {text}");
        }
    }

    #[test]
    fn a_value_of_another_type_makes_the_comparison_false() {
        let cases = [
            json!({"Variable": "$.foo", "StringEquals": "1"}),
            json!({"Variable": "$.foo", "StringMatches": "*"}),
            json!({"Variable": "$.bar", "NumericEquals": 1}),
            json!({"Variable": "$.foo", "BooleanEquals": true}),
            json!({"Variable": "$.bar", "BooleanEquals": true}),
            json!({"Variable": "$.foo", "TimestampEquals": "2001-01-01T12:00:00Z"}),
            json!({"Variable": "$.bar", "TimestampLessThan": "2001-01-01T12:00:00Z"}),
            json!({"Variable": "$.nothing", "StringEquals": "null"}),
            json!({"Variable": "$.list", "NumericEquals": 1}),
        ];
        let input = json!({"foo": 1, "bar": "1", "nothing": null, "list": [1]});
        for rule in cases {
            assert!(!holds(&rule, &input).unwrap(), "{rule}");
            // Not a type error either way: the negation matches.
            assert!(holds(&json!({"Not": rule}), &input).unwrap(), "Not {rule}");
        }
    }

    #[test]
    fn path_operators_compare_with_another_value_of_the_input() {
        let input = json!({
            "a": "apple", "b": "banana", "one": 1, "two": 2.0, "yes": true, "also": true,
            "early": "2001-01-01T12:00:00Z", "late": "2001-01-02T12:00:00Z", "text": "late"
        });
        let cases = [
            (json!({"Variable": "$.a", "StringEqualsPath": "$.a"}), true),
            (json!({"Variable": "$.a", "StringEqualsPath": "$.b"}), false),
            (json!({"Variable": "$.a", "StringLessThanPath": "$.b"}), true),
            (json!({"Variable": "$.a", "StringGreaterThanPath": "$.b"}), false),
            (json!({"Variable": "$.b", "StringGreaterThanEqualsPath": "$.a"}), true),
            (json!({"Variable": "$.b", "StringLessThanEqualsPath": "$.a"}), false),
            (json!({"Variable": "$.one", "NumericLessThanPath": "$.two"}), true),
            (json!({"Variable": "$.one", "NumericEqualsPath": "$.two"}), false),
            (json!({"Variable": "$.two", "NumericGreaterThanPath": "$.one"}), true),
            (
                json!({"Variable": "$.two", "NumericLessThanEqualsPath": "$.one"}),
                false,
            ),
            (
                json!({"Variable": "$.two", "NumericGreaterThanEqualsPath": "$.two"}),
                true,
            ),
            (json!({"Variable": "$.yes", "BooleanEqualsPath": "$.also"}), true),
            (json!({"Variable": "$.early", "TimestampLessThanPath": "$.late"}), true),
            (json!({"Variable": "$.early", "TimestampEqualsPath": "$.late"}), false),
            (
                json!({"Variable": "$.late", "TimestampGreaterThanPath": "$.early"}),
                true,
            ),
            (
                json!({"Variable": "$.late", "TimestampLessThanEqualsPath": "$.early"}),
                false,
            ),
            (
                json!({"Variable": "$.late", "TimestampGreaterThanEqualsPath": "$.late"}),
                true,
            ),
            // The value at the operator's path is of another type.
            (json!({"Variable": "$.a", "StringEqualsPath": "$.one"}), false),
            (json!({"Variable": "$.one", "NumericEqualsPath": "$.a"}), false),
            (
                json!({"Variable": "$.late", "TimestampGreaterThanPath": "$.text"}),
                false,
            ),
            (json!({"Variable": "$.yes", "BooleanEqualsPath": "$.one"}), false),
            // Both sides may read the context object.
            (
                json!({"Variable": "$$.Execution.Name", "StringEqualsPath": "$$.Execution.Name"}),
                true,
            ),
        ];
        for (rule, expected) in cases {
            assert_eq!(holds(&rule, &input).unwrap(), expected, "{rule}");
        }
    }

    #[test]
    fn and_or_not_nest() {
        let input = json!({"n": 5, "s": "x"});
        let cases = [
            (
                json!({"And": [{"Variable": "$.n", "NumericEquals": 5}, {"Variable": "$.s", "StringEquals": "x"}]}),
                true,
            ),
            (
                json!({"And": [{"Variable": "$.n", "NumericEquals": 5}, {"Variable": "$.s", "StringEquals": "y"}]}),
                false,
            ),
            (
                json!({"Or": [{"Variable": "$.n", "NumericEquals": 4}, {"Variable": "$.s", "StringEquals": "x"}]}),
                true,
            ),
            (
                json!({"Or": [{"Variable": "$.n", "NumericEquals": 4}, {"Variable": "$.s", "StringEquals": "y"}]}),
                false,
            ),
            (json!({"Not": {"Variable": "$.n", "NumericEquals": 4}}), true),
            (json!({"Not": {"Not": {"Variable": "$.n", "NumericEquals": 4}}}), false),
            (
                json!({"Or": [
                    {"And": [{"Variable": "$.n", "NumericGreaterThan": 1}, {"Not": {"Variable": "$.s", "IsNull": true}}]},
                    {"Variable": "$.n", "NumericEquals": 0}
                ]}),
                true,
            ),
            // And stops at the first false rule and Or at the first true one, so an IsPresent
            // guards the comparisons after it.
            (
                json!({"And": [
                    {"Variable": "$.keyThatMightNotExist", "IsPresent": true},
                    {"Variable": "$.keyThatMightNotExist", "StringEquals": "foo"}
                ]}),
                false,
            ),
            (
                json!({"Or": [
                    {"Variable": "$.keyThatMightNotExist", "IsPresent": false},
                    {"Variable": "$.keyThatMightNotExist", "StringEquals": "foo"}
                ]}),
                true,
            ),
        ];
        for (rule, expected) in cases {
            assert_eq!(holds(&rule, &input).unwrap(), expected, "{rule}");
        }
    }

    #[test]
    fn the_variable_may_read_the_context_object() {
        let rule = json!({"Variable": "$$.Execution.Name", "StringEquals": "run-1"});
        assert!(holds(&rule, &json!({})).unwrap());
        let rule = json!({"Variable": "$$.Execution.Missing", "IsPresent": true});
        assert!(!holds(&rule, &json!({})).unwrap());
    }

    #[test]
    fn a_missing_path_is_a_runtime_error_for_every_operator_but_is_present() {
        let cases = [
            json!({"Variable": "$.x", "StringEquals": "a"}),
            json!({"Variable": "$.x", "StringMatches": "*"}),
            json!({"Variable": "$.x", "NumericLessThan": 1}),
            json!({"Variable": "$.x", "BooleanEquals": false}),
            json!({"Variable": "$.x", "TimestampEquals": "2001-01-01T12:00:00Z"}),
            json!({"Variable": "$.x", "IsNull": false}),
            json!({"Variable": "$.x", "IsString": false}),
            json!({"Not": {"Variable": "$.x", "IsTimestamp": false}}),
            json!({"Variable": "$.a", "StringEqualsPath": "$.x"}),
        ];
        for rule in cases {
            let err = holds(&rule, &json!({"a": "a"})).unwrap_err();
            assert_eq!(
                err,
                Failure::runtime("Invalid path '$.x': The choice state's condition path references an invalid value."),
                "{rule}"
            );
        }
    }

    #[test]
    fn a_malformed_rule_fails_naming_the_problem() {
        let cases = [
            // (choices, text the cause must contain)
            (json!([{"Variable": "$.a", "Next": "N"}]), "no comparison operator"),
            (
                json!([{"Variable": "$.a", "StringEquals": "x", "NumericEquals": 1, "Next": "N"}]),
                "cannot be in the same rule",
            ),
            (
                json!([{"And": {"Variable": "$.a", "IsNull": true}, "Next": "N"}]),
                "non-empty array",
            ),
            (json!([{"Or": [], "Next": "N"}]), "non-empty array"),
            (
                json!([{"Not": [{"Variable": "$.a", "IsNull": true}], "Next": "N"}]),
                "must be an object",
            ),
            (json!([{"Variable": "$.a", "StringEquals": "x"}]), "Next"),
            (
                json!([{"Not": {"Variable": "$.a", "IsNull": true, "Next": "M"}, "Next": "N"}]),
                "cannot have Next",
            ),
            (json!([{"StringEquals": "x", "Next": "N"}]), "needs a Variable"),
            (
                json!([{"Variable": "a", "StringEquals": "x", "Next": "N"}]),
                "needs a Variable",
            ),
            (
                json!([{"Variable": "$.a", "StringEquals": 1, "Next": "N"}]),
                "must be a string",
            ),
            (
                json!([{"Variable": "$.a", "NumericEquals": "1", "Next": "N"}]),
                "must be a number",
            ),
            (
                json!([{"Variable": "$.a", "TimestampEquals": "today", "Next": "N"}]),
                "RFC 3339",
            ),
            (
                json!([{"Variable": "$.a", "IsPresent": "yes", "Next": "N"}]),
                "true or false",
            ),
            (
                json!([{"Variable": "$.a", "StringEqualsPath": "a", "Next": "N"}]),
                "must be a path",
            ),
            (
                json!([{"Variable": "$.a", "BooleanLessThan": true, "Next": "N"}]),
                "unknown operator BooleanLessThan",
            ),
            (
                json!([{"Variable": "$.a", "StringMatchesPath": "$.b", "Next": "N"}]),
                "unknown operator",
            ),
            (
                json!([{"Variable": "$.a", "And": [{"Variable": "$.a", "IsNull": true}], "Next": "N"}]),
                "no Variable",
            ),
            // A malformed rule fails the definition even after one that would match.
            (
                json!([{"Variable": "$.a", "IsPresent": true, "Next": "N"}, {"Variable": "$.a", "Next": "M"}]),
                "no comparison operator",
            ),
        ];
        for (choices, expected) in cases {
            let err = choose_in(&choices, &json!({"a": "x"})).unwrap_err();
            assert_eq!(err.error, "States.Runtime", "{choices}");
            assert!(err.cause.contains(expected), "{choices}: {}", err.cause);
        }
    }
}
