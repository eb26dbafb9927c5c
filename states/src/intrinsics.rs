//! Intrinsic functions (`States.Format`, `States.Array`, …) as the JSONPath query mode has them.
//!
//! An expression is parsed whole before anything is evaluated, so a malformed call fails without
//! reading the state. A malformed expression is a fault of the definition and fails with
//! `States.Runtime`, as AWS does for an unescaped backslash; a well-formed call that gets the
//! wrong function, arguments or data fails with `States.IntrinsicFailure`, which Retry and Catch
//! can handle.

use std::fmt::Write as _;
use std::ops::RangeInclusive;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Map, Number, Value};
use sha2::Digest;

use crate::error::Failure;
use crate::path::{self, Scope};

/// The prefix every intrinsic function name has.
const PREFIX: &str = "States.";

/// AWS allows up to 10 intrinsic functions nested in one field.
const MAX_DEPTH: usize = 10;

/// The longest string `States.Base64Encode`, `States.Base64Decode` and `States.Hash` accept.
const MAX_DATA_CHARS: usize = 10_000;

/// The longest array `States.ArrayRange` may build.
const MAX_RANGE_ITEMS: i128 = 1000;

/// Whether `expression` is an intrinsic function call.
pub fn is_intrinsic(expression: &str) -> bool {
    expression.trim_start().starts_with(PREFIX)
}

/// Evaluates an intrinsic function call such as `States.Format('{}', $.name)` in `scope`.
pub fn evaluate(expression: &str, scope: Scope<'_>) -> Result<Value, Failure> {
    Parser::new(expression).parse()?.evaluate(scope)
}

/// The intrinsic functions AWS documents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Function {
    Format,
    StringToJson,
    JsonToString,
    Array,
    ArrayPartition,
    ArrayContains,
    ArrayRange,
    ArrayGetItem,
    ArrayLength,
    ArrayUnique,
    Base64Encode,
    Base64Decode,
    Hash,
    JsonMerge,
    MathRandom,
    MathAdd,
    StringSplit,
    Uuid,
}

impl Function {
    /// The function a full name such as `States.Format` names.
    fn named(name: &str) -> Option<Self> {
        Some(match name.strip_prefix(PREFIX)? {
            "Format" => Function::Format,
            "StringToJson" => Function::StringToJson,
            "JsonToString" => Function::JsonToString,
            "Array" => Function::Array,
            "ArrayPartition" => Function::ArrayPartition,
            "ArrayContains" => Function::ArrayContains,
            "ArrayRange" => Function::ArrayRange,
            "ArrayGetItem" => Function::ArrayGetItem,
            "ArrayLength" => Function::ArrayLength,
            "ArrayUnique" => Function::ArrayUnique,
            "Base64Encode" => Function::Base64Encode,
            "Base64Decode" => Function::Base64Decode,
            "Hash" => Function::Hash,
            "JsonMerge" => Function::JsonMerge,
            "MathRandom" => Function::MathRandom,
            "MathAdd" => Function::MathAdd,
            "StringSplit" => Function::StringSplit,
            "UUID" => Function::Uuid,
            _ => return None,
        })
    }
}

/// One parsed call: `States.Name(arg, …)`.
#[derive(Debug)]
struct Call<'a> {
    /// The name as written, for error messages.
    name: &'a str,
    function: Function,
    args: Vec<Arg<'a>>,
}

/// One parsed argument.
#[derive(Debug)]
enum Arg<'a> {
    /// A string literal, split at its unescaped `{}`: only those are `States.Format` placeholders.
    Text(Vec<String>),
    /// A number, `true`, `false` or `null`.
    Literal(Value),
    /// A path into the state (`$…`) or the context object (`$$…`).
    Path(&'a str),
    Call(Call<'a>),
}

/// A recursive-descent parser over the call grammar.
struct Parser<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Parser<'a> {
    fn new(text: &'a str) -> Self {
        Parser { text, pos: 0 }
    }

    /// The whole expression: one call and nothing after it.
    fn parse(mut self) -> Result<Call<'a>, Failure> {
        self.skip_whitespace();
        let call = self.call(1)?;
        self.skip_whitespace();
        if self.pos < self.text.len() {
            return Err(self.invalid("unexpected text after the closing ')'"));
        }
        Ok(call)
    }

    fn rest(&self) -> &'a str {
        &self.text[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn skip_whitespace(&mut self) {
        self.pos = self.text.len() - self.rest().trim_start().len();
    }

    /// Consumes the longest run of characters matching `accept`.
    fn take_while(&mut self, accept: impl Fn(char) -> bool) -> &'a str {
        let start = self.pos;
        while self.peek().is_some_and(&accept) {
            self.bump();
        }
        &self.text[start..self.pos]
    }

    fn invalid(&self, why: &str) -> Failure {
        Failure::runtime(format!(
            "invalid intrinsic function {:?} at character {}: {why}",
            self.text, self.pos
        ))
    }

    /// `States.Name(arg, …)`; `depth` counts the calls around it, itself included.
    fn call(&mut self, depth: usize) -> Result<Call<'a>, Failure> {
        if depth > MAX_DEPTH {
            return Err(self.invalid(&format!("more than {MAX_DEPTH} nested intrinsic functions")));
        }
        if !self.rest().starts_with(PREFIX) {
            return Err(self.invalid("an intrinsic function starting with 'States.' is expected"));
        }
        let start = self.pos;
        self.pos += PREFIX.len();
        self.take_while(|c| c.is_ascii_alphanumeric());
        let name = &self.text[start..self.pos];
        let function = Function::named(name)
            .ok_or_else(|| Failure::intrinsic(format!("{name} is not a supported intrinsic function")))?;
        self.skip_whitespace();
        if self.bump() != Some('(') {
            return Err(self.invalid(&format!("'(' expected after {name}")));
        }
        let mut args = Vec::new();
        self.skip_whitespace();
        if self.peek() == Some(')') {
            self.bump();
        } else {
            loop {
                args.push(self.arg(depth)?);
                self.skip_whitespace();
                match self.bump() {
                    Some(',') => {}
                    Some(')') => break,
                    _ => return Err(self.invalid(&format!("',' or ')' expected in the arguments of {name}"))),
                }
            }
        }
        Ok(Call { name, function, args })
    }

    fn arg(&mut self, depth: usize) -> Result<Arg<'a>, Failure> {
        self.skip_whitespace();
        match self.peek() {
            Some('\'') => self.text_literal(),
            Some('$') => Ok(Arg::Path(self.path())),
            Some(c) if c == '-' || c.is_ascii_digit() => self.number(),
            _ if self.rest().starts_with(PREFIX) => Ok(Arg::Call(self.call(depth + 1)?)),
            Some(c) if c.is_ascii_alphabetic() => self.keyword(),
            _ => Err(self.invalid("an argument is expected")),
        }
    }

    /// A single-quoted string; `\'`, `\{`, `\}` and `\\` are its only escapes.
    fn text_literal(&mut self) -> Result<Arg<'a>, Failure> {
        self.bump();
        let mut pieces = Vec::new();
        let mut piece = String::new();
        loop {
            match self.bump() {
                None => return Err(self.invalid("unterminated string literal")),
                Some('\'') => break,
                Some('\\') => match self.bump() {
                    Some(c @ ('\'' | '{' | '}' | '\\')) => piece.push(c),
                    _ => return Err(self.invalid("a backslash must escape one of ' { } \\")),
                },
                Some('{') if self.peek() == Some('}') => {
                    self.bump();
                    pieces.push(std::mem::take(&mut piece));
                }
                Some(c) => piece.push(c),
            }
        }
        pieces.push(piece);
        Ok(Arg::Text(pieces))
    }

    /// A path runs to the next `,` or `)` outside brackets and quotes, as in `$['a,b']`.
    fn path(&mut self) -> &'a str {
        let start = self.pos;
        let mut brackets = 0usize;
        let mut quote = None;
        while let Some(c) = self.peek() {
            match quote {
                Some(_) if c == '\\' => {
                    self.bump();
                }
                Some(q) if c == q => quote = None,
                Some(_) => {}
                None => match c {
                    '\'' | '"' => quote = Some(c),
                    '[' => brackets += 1,
                    ']' => brackets = brackets.saturating_sub(1),
                    ',' | ')' if brackets == 0 => break,
                    _ => {}
                },
            }
            self.bump();
        }
        self.text[start..self.pos].trim_end()
    }

    fn number(&mut self) -> Result<Arg<'a>, Failure> {
        let token = self.take_while(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E'));
        serde_json::from_str::<Number>(token)
            .map(|n| Arg::Literal(Value::Number(n)))
            .map_err(|_| self.invalid(&format!("{token:?} is not a number")))
    }

    fn keyword(&mut self) -> Result<Arg<'a>, Failure> {
        match self.take_while(|c| c.is_ascii_alphanumeric()) {
            "true" => Ok(Arg::Literal(Value::Bool(true))),
            "false" => Ok(Arg::Literal(Value::Bool(false))),
            "null" => Ok(Arg::Literal(Value::Null)),
            word => Err(self.invalid(&format!(
                "{word:?} is not an argument: strings are quoted with ' and paths start with $"
            ))),
        }
    }
}

impl Arg<'_> {
    fn evaluate(&self, scope: Scope<'_>) -> Result<Value, Failure> {
        match self {
            Arg::Text(pieces) => Ok(Value::String(pieces.join("{}"))),
            Arg::Literal(value) => Ok(value.clone()),
            Arg::Path(path) => path::read(path, scope),
            Arg::Call(call) => call.evaluate(scope),
        }
    }
}

impl Call<'_> {
    fn evaluate(&self, scope: Scope<'_>) -> Result<Value, Failure> {
        let values = self
            .args
            .iter()
            .map(|arg| arg.evaluate(scope))
            .collect::<Result<Vec<_>, _>>()?;
        let args = Args {
            name: self.name,
            values,
        };
        match self.function {
            Function::Format => self.format(&args),
            Function::StringToJson => {
                args.arity(1..=1)?;
                serde_json::from_str(args.string(0)?)
                    .map_err(|e| args.fail(format!("the argument is not valid JSON: {e}")))
            }
            Function::JsonToString => {
                args.arity(1..=1)?;
                Ok(Value::String(args.values[0].to_string()))
            }
            Function::Array => Ok(Value::Array(args.values)),
            Function::ArrayPartition => array_partition(&args),
            Function::ArrayContains => {
                args.arity(2..=2)?;
                Ok(Value::Bool(args.array(0)?.contains(&args.values[1])))
            }
            Function::ArrayRange => array_range(&args),
            Function::ArrayGetItem => array_get_item(&args),
            Function::ArrayLength => {
                args.arity(1..=1)?;
                Ok(Value::from(args.array(0)?.len()))
            }
            Function::ArrayUnique => array_unique(&args),
            Function::Base64Encode => {
                args.arity(1..=1)?;
                Ok(Value::String(BASE64.encode(args.data(0)?)))
            }
            Function::Base64Decode => base64_decode(&args),
            Function::Hash => hash(&args),
            Function::JsonMerge => json_merge(&args),
            Function::MathRandom => math_random(&args),
            Function::MathAdd => math_add(&args),
            Function::StringSplit => string_split(&args),
            Function::Uuid => {
                args.arity(0..=0)?;
                Ok(Value::String(uuid::Uuid::new_v4().to_string()))
            }
        }
    }

    /// `States.Format(template, value, …)`. A literal template keeps its escaped braces apart
    /// from its placeholders; one read from a path or a nested call has no escapes, so every
    /// `{}` in it is a placeholder.
    fn format(&self, args: &Args<'_>) -> Result<Value, Failure> {
        args.arity(1..=usize::MAX)?;
        let pieces = match &self.args[0] {
            Arg::Text(pieces) => pieces.clone(),
            _ => args.string(0)?.split("{}").map(str::to_owned).collect(),
        };
        let values = &args.values[1..];
        if values.len() != pieces.len() - 1 {
            return Err(args.fail(format!(
                "the template has {} placeholder(s) but {} value(s) are given",
                pieces.len() - 1,
                values.len()
            )));
        }
        let mut out = pieces[0].clone();
        for (value, piece) in values.iter().zip(&pieces[1..]) {
            render(value, &mut out);
            out.push_str(piece);
        }
        Ok(Value::String(out))
    }
}

/// How `States.Format` writes a value: a string as it is, a scalar as JSON, and an object or
/// array the way Java's `toString` does (`{a=1, b=[x, y]}`), as AWS's recorded executions show.
fn render(value: &Value, out: &mut String) {
    match value {
        Value::String(text) => out.push_str(text),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                render(item, out);
            }
            out.push(']');
        }
        Value::Object(fields) => {
            out.push('{');
            for (i, (key, item)) in fields.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(key);
                out.push('=');
                render(item, out);
            }
            out.push('}');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// The evaluated arguments of one call, with its name for error messages.
struct Args<'a> {
    name: &'a str,
    values: Vec<Value>,
}

impl Args<'_> {
    fn fail(&self, why: impl std::fmt::Display) -> Failure {
        Failure::intrinsic(format!("{}: {why}", self.name))
    }

    fn arity(&self, expected: RangeInclusive<usize>) -> Result<(), Failure> {
        if expected.contains(&self.values.len()) {
            return Ok(());
        }
        let (min, max) = (*expected.start(), *expected.end());
        let count = match max {
            usize::MAX => format!("at least {min}"),
            _ if min == max => min.to_string(),
            _ => format!("{min} to {max}"),
        };
        let noun = if max == 1 { "argument" } else { "arguments" };
        Err(self.fail(format!("takes {count} {noun}, got {}", self.values.len())))
    }

    /// A type error, showing the start of the value that was given.
    fn mismatch(&self, index: usize, expected: &str) -> Failure {
        const SHOWN: usize = 100;
        let mut given = self.values[index].to_string();
        if let Some((cut, _)) = given.char_indices().nth(SHOWN) {
            given.truncate(cut);
            given.push('…');
        }
        self.fail(format!("argument {} must be {expected}, got {given}", index + 1))
    }

    fn array(&self, index: usize) -> Result<&Vec<Value>, Failure> {
        self.values[index]
            .as_array()
            .ok_or_else(|| self.mismatch(index, "an array"))
    }

    fn object(&self, index: usize) -> Result<&Map<String, Value>, Failure> {
        self.values[index]
            .as_object()
            .ok_or_else(|| self.mismatch(index, "an object"))
    }

    fn string(&self, index: usize) -> Result<&str, Failure> {
        self.values[index]
            .as_str()
            .ok_or_else(|| self.mismatch(index, "a string"))
    }

    /// A string within the 10,000 characters AWS allows for encoding and hashing.
    fn data(&self, index: usize) -> Result<&str, Failure> {
        let text = self.string(index)?;
        let length = text.chars().count();
        if length > MAX_DATA_CHARS {
            return Err(self.fail(format!(
                "argument {} has {length} characters; at most {MAX_DATA_CHARS} are allowed",
                index + 1
            )));
        }
        Ok(text)
    }

    /// An integer argument. AWS rounds other numbers to the nearest integer, halves upwards,
    /// as Java's `Math.round` does (1.5 gives 2, -1.5 gives -1).
    fn integer(&self, index: usize) -> Result<i64, Failure> {
        let Value::Number(number) = &self.values[index] else {
            return Err(self.mismatch(index, "an integer"));
        };
        if let Some(integer) = number.as_i64() {
            return Ok(integer);
        }
        let rounded = (number.as_f64().unwrap_or(f64::NAN) + 0.5).floor();
        if rounded.is_finite() && rounded.abs() < i64::MAX as f64 {
            Ok(rounded as i64)
        } else {
            Err(self.mismatch(index, "an integer that fits in 64 bits"))
        }
    }
}

fn array_partition(args: &Args<'_>) -> Result<Value, Failure> {
    args.arity(2..=2)?;
    let items = args.array(0)?;
    let size = args.integer(1)?;
    let size = usize::try_from(size)
        .ok()
        .filter(|&size| size > 0)
        .ok_or_else(|| args.fail(format!("the chunk size must be a positive integer, got {size}")))?;
    Ok(items.chunks(size).map(|chunk| Value::Array(chunk.to_vec())).collect())
}

/// `States.ArrayRange(first, last, step)`: from `first` towards `last` inclusive.
fn array_range(args: &Args<'_>) -> Result<Value, Failure> {
    args.arity(3..=3)?;
    let (first, last, step) = (args.integer(0)?, args.integer(1)?, args.integer(2)?);
    if step == 0 {
        return Err(args.fail("the step must not be 0"));
    }
    let (first, last, step) = (i128::from(first), i128::from(last), i128::from(step));
    let count = if (step > 0 && first <= last) || (step < 0 && first >= last) {
        (last - first) / step + 1
    } else {
        0
    };
    if count > MAX_RANGE_ITEMS {
        return Err(args.fail(format!(
            "the range would have {count} items; at most {MAX_RANGE_ITEMS} are allowed"
        )));
    }
    // Every item lies between `first` and `last`, so it fits in an i64.
    Ok((0..count).map(|k| Value::from((first + k * step) as i64)).collect())
}

fn array_get_item(args: &Args<'_>) -> Result<Value, Failure> {
    args.arity(2..=2)?;
    let items = args.array(0)?;
    let index = args.integer(1)?;
    usize::try_from(index)
        .ok()
        .and_then(|i| items.get(i))
        .cloned()
        .ok_or_else(|| {
            args.fail(format!(
                "index {index} is out of bounds for an array of length {}",
                items.len()
            ))
        })
}

/// Keeps the first of equal values, in order. Values have no hash, and arrays are small enough
/// for the quadratic search.
fn array_unique(args: &Args<'_>) -> Result<Value, Failure> {
    args.arity(1..=1)?;
    let mut unique: Vec<Value> = Vec::new();
    for item in args.array(0)? {
        if !unique.contains(item) {
            unique.push(item.clone());
        }
    }
    Ok(Value::Array(unique))
}

fn base64_decode(args: &Args<'_>) -> Result<Value, Failure> {
    args.arity(1..=1)?;
    let bytes = BASE64
        .decode(args.data(0)?)
        .map_err(|e| args.fail(format!("the argument is not valid Base64: {e}")))?;
    String::from_utf8(bytes)
        .map(Value::String)
        .map_err(|_| args.fail("the decoded data is not UTF-8 text"))
}

/// `States.Hash(data, algorithm)`: the digest of the UTF-8 data in lowercase hex.
fn hash(args: &Args<'_>) -> Result<Value, Failure> {
    args.arity(2..=2)?;
    let data = args.data(0)?.as_bytes();
    let digest = match args.string(1)? {
        "MD5" => hex::<md5::Md5>(data),
        "SHA-1" => hex::<sha1::Sha1>(data),
        "SHA-256" => hex::<sha2::Sha256>(data),
        "SHA-384" => hex::<sha2::Sha384>(data),
        "SHA-512" => hex::<sha2::Sha512>(data),
        other => {
            return Err(args.fail(format!(
                "unknown algorithm {other:?}; expected one of MD5, SHA-1, SHA-256, SHA-384, SHA-512"
            )));
        }
    };
    Ok(Value::String(digest))
}

fn hex<D: Digest>(data: &[u8]) -> String {
    D::digest(data).iter().fold(String::new(), |mut out, byte| {
        let _ = write!(out, "{byte:02x}");
        out
    })
}

/// `States.JsonMerge(a, b, false)`: `b`'s top-level keys replace `a`'s. AWS only has the
/// shallow mode and rejects `true`.
fn json_merge(args: &Args<'_>) -> Result<Value, Failure> {
    args.arity(3..=3)?;
    match args.values[2] {
        Value::Bool(false) => {}
        Value::Bool(true) => {
            return Err(args.fail("only the shallow merge is supported: the third argument must be false"));
        }
        _ => return Err(args.mismatch(2, "the boolean false")),
    }
    let mut merged = args.object(0)?.clone();
    merged.extend(args.object(1)?.clone());
    Ok(Value::Object(merged))
}

/// `States.MathRandom(start, end[, seed])`: start inclusive, end exclusive; the same seed gives
/// the same number.
fn math_random(args: &Args<'_>) -> Result<Value, Failure> {
    args.arity(2..=3)?;
    let (start, end) = (args.integer(0)?, args.integer(1)?);
    if start >= end {
        return Err(args.fail(format!("the start ({start}) must be less than the end ({end})")));
    }
    let number = match args.values.get(2) {
        // The seed's bits make the generator's state; negative seeds are as good as any.
        Some(_) => fastrand::Rng::with_seed(args.integer(2)? as u64).i64(start..end),
        None => fastrand::i64(start..end),
    };
    Ok(Value::from(number))
}

/// `States.MathAdd(a, b)`: AWS takes 32-bit signed integers.
fn math_add(args: &Args<'_>) -> Result<Value, Failure> {
    args.arity(2..=2)?;
    let mut sum = 0;
    for index in 0..2 {
        let value = args.integer(index)?;
        if i32::try_from(value).is_err() {
            return Err(args.mismatch(index, "an integer from -2147483648 to 2147483647"));
        }
        sum += value;
    }
    Ok(Value::from(sum))
}

/// `States.StringSplit(text, delimiters)`: splits at any of the delimiter characters and drops
/// the empty parts.
fn string_split(args: &Args<'_>) -> Result<Value, Failure> {
    args.arity(2..=2)?;
    let (text, delimiters) = (args.string(0)?, args.string(1)?);
    Ok(text
        .split(|c| delimiters.contains(c))
        .filter(|part| !part.is_empty())
        .map(Value::from)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(input: &Value, expression: &str) -> Result<Value, Failure> {
        let context = json!({"Execution": {"Name": "run-1", "Id": "arn:aws:states:eu-west-1:1:execution:sm:run-1"}});
        evaluate(expression, Scope::new(input, &context))
    }

    /// The examples of the AWS documentation, and a few more of the same kind.
    #[test]
    fn documented_examples() {
        let cases = [
            // (input, expression, expected)
            (json!({"Id": 123456}), "States.Array($.Id)", json!([123456])),
            (json!({}), "States.Array()", json!([])),
            (
                json!({"inputArray": [1, 2, 3, 4, 5, 6, 7, 8, 9]}),
                "States.ArrayPartition($.inputArray,4)",
                json!([[1, 2, 3, 4], [5, 6, 7, 8], [9]]),
            ),
            (
                json!({"inputArray": [1, 2, 3, 4, 5, 6, 7]}),
                "States.ArrayPartition($.inputArray, 4)",
                json!([[1, 2, 3, 4], [5, 6, 7]]),
            ),
            (json!({"a": []}), "States.ArrayPartition($.a, 2)", json!([])),
            (
                json!({"inputArray": [1, 2, 3, 4, 5, 6, 7, 8, 9], "lookingFor": 5}),
                "States.ArrayContains($.inputArray, $.lookingFor)",
                json!(true),
            ),
            (
                json!({"a": [{"x": [1]}, "b"], "v": {"x": [1]}}),
                "States.ArrayContains($.a, $.v)",
                json!(true),
            ),
            (json!({"a": [1, 2]}), "States.ArrayContains($.a, 3)", json!(false)),
            (json!({}), "States.ArrayRange(1, 9, 2)", json!([1, 3, 5, 7, 9])),
            (json!({}), "States.ArrayRange(0, 10, 3)", json!([0, 3, 6, 9])),
            (json!({}), "States.ArrayRange(9, 1, -4)", json!([9, 5, 1])),
            (json!({}), "States.ArrayRange(5, 1, 1)", json!([])),
            (
                json!({"inputArray": [1, 2, 3, 4, 5, 6, 7, 8, 9], "index": 5}),
                "States.ArrayGetItem($.inputArray, $.index)",
                json!(6),
            ),
            (
                json!({"inputArray": [1, 2, 3, 4, 5, 6, 7, 8, 9]}),
                "States.ArrayLength($.inputArray)",
                json!(9),
            ),
            (
                json!({"inputArray": [1, 2, 3, 3, 3, 3, 3, 3, 4]}),
                "States.ArrayUnique($.inputArray)",
                json!([1, 2, 3, 4]),
            ),
            (
                json!({"a": [{"k": 1}, null, {"k": 1}, "x", null, [1], [1]]}),
                "States.ArrayUnique($.a)",
                json!([{"k": 1}, null, "x", [1]]),
            ),
            (
                json!({"input": "Data to encode"}),
                "States.Base64Encode($.input)",
                json!("RGF0YSB0byBlbmNvZGU="),
            ),
            (
                json!({"base64": "RGF0YSB0byBlbmNvZGU="}),
                "States.Base64Decode($.base64)",
                json!("Data to encode"),
            ),
            (
                json!({"Data": "input data", "Algorithm": "SHA-1"}),
                "States.Hash($.Data, $.Algorithm)",
                json!("aaff4a450a104cd177d28d18d74485e8cae074b7"),
            ),
            (
                json!({}),
                "States.Hash('input data', 'MD5')",
                json!("812f45842bc6d66ee14572ce20db8e86"),
            ),
            (
                json!({}),
                "States.Hash('input data', 'SHA-256')",
                json!("b4a697a057313163aee33cd8d40c66e9f0f177e00cac2de32475ffff6169c3e3"),
            ),
            (
                json!({}),
                "States.Hash('input data', 'SHA-384')",
                json!(
                    "d28a7d5cf25a74f11a50a18452b75e04bb3d70c9dd0510d6123aa008c756511b87525bdc835ebb27e1fb9e9374a15562"
                ),
            ),
            (
                json!({}),
                "States.Hash('input data', 'SHA-512')",
                json!(
                    "6ce4adb348546d4f449c4d25aad9a7c9cb711d9e91982d3f0b29ca2f3f47d4ce2deba23bf2954f0f1d593fc50283731a533d30d425402d4f91316d871303aac4"
                ),
            ),
            (
                json!({
                    "json1": {"a": {"a1": 1, "a2": 2}, "b": 2},
                    "json2": {"a": {"a3": 1, "a4": 2}, "c": 3}
                }),
                "States.JsonMerge($.json1, $.json2, false)",
                json!({"a": {"a3": 1, "a4": 2}, "b": 2, "c": 3}),
            ),
            (
                json!({"escapedJsonString": "{\"foo\": \"bar\"}"}),
                "States.StringToJson($.escapedJsonString)",
                json!({"foo": "bar"}),
            ),
            (
                json!({"unescapedJson": {"foo": "bar"}}),
                "States.JsonToString($.unescapedJson)",
                json!("{\"foo\":\"bar\"}"),
            ),
            (
                json!({"value1": 111, "step": -1}),
                "States.MathAdd($.value1, $.step)",
                json!(110),
            ),
            // Non-integers round as Java's Math.round does: 1.49 + 1.5 = 1 + 2, -1.49 + -1.5 = -1 + -1.
            (json!({}), "States.MathAdd(1.49, 1.5)", json!(3)),
            (json!({}), "States.MathAdd(-1.49, -1.5)", json!(-2)),
            (json!({}), "States.MathAdd(2147483647, -2147483648)", json!(-1)),
            (
                json!({"inputString": "1,2,3,4,5", "splitter": ","}),
                "States.StringSplit($.inputString, $.splitter)",
                json!(["1", "2", "3", "4", "5"]),
            ),
            (
                json!({"inputString": "This.is+a,test=string", "splitter": ".+,="}),
                "States.StringSplit($.inputString, $.splitter)",
                json!(["This", "is", "a", "test", "string"]),
            ),
            (json!({}), "States.StringSplit(',,a,,b,', ',')", json!(["a", "b"])),
            (
                json!({"name": "Arnav"}),
                "States.Format('Hello, my name is {}.', $.name)",
                json!("Hello, my name is Arnav."),
            ),
            (
                json!({"name": "Arnav", "template": "Hello, my name is {}."}),
                "States.Format($.template, $.name)",
                json!("Hello, my name is Arnav."),
            ),
        ];
        for (input, expression, expected) in cases {
            assert_eq!(run(&input, expression), Ok(expected), "{expression}");
        }
    }

    #[test]
    fn format_renders_each_kind_of_value() {
        let input =
            json!({"s": "x", "n": 1.5, "i": 7, "t": true, "z": null, "o": {"Arg1": 1, "Arg2": []}, "a": ["p", 2]});
        let cases = [
            (
                "States.Format('{}|{}|{}|{}|{}', $.s, $.n, $.i, $.t, $.z)",
                "x|1.5|7|true|null",
            ),
            (
                "States.Format('{} {} {} {}', 'lit', -3, false, null)",
                "lit -3 false null",
            ),
            // Objects and arrays come out as AWS prints them (Java's toString), not as JSON.
            ("States.Format('{} {}', $.o, $.a)", "{Arg1=1, Arg2=[]} [p, 2]"),
            ("States.Format('no placeholders')", "no placeholders"),
            ("States.Format('{}', States.ArrayLength($.a))", "2"),
            ("States.Format('{} ran', $$.Execution.Name)", "run-1 ran"),
        ];
        for (expression, expected) in cases {
            assert_eq!(run(&input, expression), Ok(json!(expected)), "{expression}");
        }
    }

    #[test]
    fn escapes_in_string_literals() {
        let input = json!({"v": "x", "t": "\\{} {}"});
        let cases = [
            (
                r"States.Format('\{\} is not a placeholder, {} is', $.v)",
                json!("{} is not a placeholder, x is"),
            ),
            (r"States.Format('it\'s {}', $.v)", json!("it's x")),
            (r"States.Format('back\\slash {}', $.v)", json!(r"back\slash x")),
            (r"States.Format('\{{}\}', $.v)", json!("{x}")),
            // A template read from a path has no escapes: every {} in it is a placeholder.
            (r"States.Format($.t, 1, 2)", json!(r"\1 2")),
            // Outside States.Format, braces are plain characters.
            (r"States.Array('a,b)', '{}', '\{\}')", json!(["a,b)", "{}", "{}"])),
        ];
        for (expression, expected) in cases {
            assert_eq!(run(&input, expression), Ok(expected), "{expression}");
        }
    }

    #[test]
    fn arguments_are_literals_paths_or_calls() {
        let input = json!({"a,b": 1, "items": [{"n": "x"}, {"n": "y"}], "s": "p-q-r"});
        let cases = [
            (
                "States.Array( 1 ,  'a' , true, false, null, -2.5, 1e2 )",
                json!([1, "a", true, false, null, -2.5, 100.0]),
            ),
            (
                "States.Array($['a,b'], $.items[1].n, $)",
                json!([1, "y", input.clone()]),
            ),
            ("States.Array($.items[*].n)", json!([["x", "y"]])),
            ("States.Array($$.Execution.Name)", json!(["run-1"])),
            (
                "States.ArrayGetItem(States.StringSplit($.s, '-'), States.MathAdd(States.ArrayLength(States.StringSplit($.s, '-')), -1))",
                json!("r"),
            ),
        ];
        for (expression, expected) in cases {
            assert_eq!(run(&input, expression), Ok(expected), "{expression}");
        }
    }

    #[test]
    fn uuid_gives_a_fresh_version_4_uuid() {
        let first = run(&json!({}), "  States.UUID  ( ) ").unwrap();
        let uuid = uuid::Uuid::parse_str(first.as_str().unwrap()).unwrap();
        assert_eq!(uuid.get_version_num(), 4);
        assert_ne!(run(&json!({}), "States.UUID()").unwrap(), first);
    }

    /// The field of the documentation with nine nested functions.
    #[test]
    fn documented_nested_call() {
        let input =
            json!({"ImageRecipe": {"Arn": "arn:aws:imagebuilder:us-east-1:123456789012:image-recipe/my-recipe/1.0.2"}});
        let expression = "States.Format('{}.{}.{}', \
            States.ArrayGetItem(States.StringSplit(States.ArrayGetItem(States.StringSplit($.ImageRecipe.Arn, '/'), 2), '.'), 0), \
            States.ArrayGetItem(States.StringSplit(States.ArrayGetItem(States.StringSplit($.ImageRecipe.Arn, '/'), 2), '.'), 1), \
            States.ArrayGetItem(States.StringSplit(States.ArrayGetItem(States.StringSplit($.ImageRecipe.Arn, '/'), 2), '.'), 2))";
        assert_eq!(run(&input, expression), Ok(json!("1.0.2")));
    }

    #[test]
    fn array_range_allows_at_most_1000_items() {
        let range = run(&json!({}), "States.ArrayRange(1, 1000, 1)").unwrap();
        assert_eq!(range.as_array().map(Vec::len), Some(1000));
        let err = run(&json!({}), "States.ArrayRange(1, 1001, 1)").unwrap_err();
        assert_eq!(err.error, "States.IntrinsicFailure");
        assert!(err.cause.contains("1001"), "{}", err.cause);
    }

    #[test]
    fn math_random_stays_in_range_and_a_seed_repeats() {
        for _ in 0..100 {
            let n = run(&json!({}), "States.MathRandom(1, 4)").unwrap().as_i64().unwrap();
            assert!((1..4).contains(&n), "{n}");
        }
        let input = json!({"start": 1, "end": 999, "seed": 42});
        let first = run(&input, "States.MathRandom($.start, $.end, $.seed)").unwrap();
        assert!((1..999).contains(&first.as_i64().unwrap()), "{first}");
        for _ in 0..5 {
            assert_eq!(run(&input, "States.MathRandom($.start, $.end, $.seed)").unwrap(), first);
        }
    }

    #[test]
    fn wrong_calls_are_intrinsic_failures_naming_the_function() {
        let long = "x".repeat(MAX_DATA_CHARS + 1);
        let input = json!({"a": [1, 2], "o": {"k": 1}, "s": "text", "long": long});
        let cases = [
            // (expression, words the cause must contain)
            ("States.Nope(1)", "States.Nope"),
            (
                "States.ArrayLength($.a, 1)",
                "States.ArrayLength: takes 1 argument, got 2",
            ),
            ("States.ArrayLength('x')", "must be an array"),
            ("States.UUID(1)", "States.UUID: takes 0 arguments"),
            ("States.MathRandom(1)", "takes 2 to 3 arguments"),
            ("States.MathRandom(5, 5)", "less than"),
            ("States.Format()", "States.Format"),
            ("States.Format('{} {}', 1)", "2 placeholder(s) but 1 value(s)"),
            ("States.Format('{}', 1, 2)", "1 placeholder(s) but 2 value(s)"),
            ("States.Format($.a, 1)", "argument 1 must be a string"),
            ("States.MathAdd('1', 2)", "must be an integer"),
            ("States.MathAdd(2147483648, 1)", "-2147483648 to 2147483647"),
            ("States.JsonMerge($.o, $.o, true)", "shallow"),
            ("States.JsonMerge($.o, $.a, false)", "must be an object"),
            ("States.JsonMerge($.o, $.o, 'false')", "boolean false"),
            ("States.Hash($.s, 'SHA-3')", "unknown algorithm"),
            ("States.Hash($.o, 'MD5')", "must be a string"),
            ("States.Hash($.long, 'MD5')", "10000"),
            ("States.Base64Encode($.long)", "10000"),
            ("States.Base64Decode('not base64!')", "not valid Base64"),
            ("States.ArrayRange(1, 2, 0)", "step"),
            ("States.ArrayPartition($.a, 0)", "positive"),
            ("States.ArrayGetItem($.a, 2)", "out of bounds"),
            ("States.ArrayGetItem($.a, -1)", "out of bounds"),
            ("States.StringToJson('{nope')", "not valid JSON"),
            ("States.StringSplit($.s, 1)", "must be a string"),
            ("States.Format('{}', States.ArrayLength($.o))", "States.ArrayLength"),
        ];
        for (expression, words) in cases {
            let err = run(&input, expression).expect_err(expression);
            assert_eq!(err.error, "States.IntrinsicFailure", "{expression}: {}", err.cause);
            assert!(err.cause.contains(words), "{expression}: {}", err.cause);
        }
    }

    #[test]
    fn a_missing_path_fails_as_the_path_does() {
        let err = run(&json!({"a": 1}), "States.Array($.missing)").unwrap_err();
        assert_eq!(err.error, "States.Runtime");
        assert!(err.cause.contains("$.missing"), "{}", err.cause);
    }

    #[test]
    fn malformed_expressions_are_runtime_errors() {
        let nested = format!(
            "{}1{}",
            "States.Array(".repeat(MAX_DEPTH + 1),
            ")".repeat(MAX_DEPTH + 1)
        );
        let cases = [
            "States.Array(1",
            "States.Array(1,)",
            "States.Array 1",
            "States.UUID() extra",
            "States.Format('unterminated)",
            r"States.Format('open \n backslash')",
            r"States.Format('trailing \')",
            "States.Array(True)",
            "States.Array(1.2.3)",
            "States.Array(\"double quoted\")",
            "Array(1)",
            nested.as_str(),
        ];
        for expression in cases {
            let err = run(&json!({}), expression).expect_err(expression);
            assert_eq!(err.error, "States.Runtime", "{expression}: {}", err.cause);
        }
        let ten = format!("{}1{}", "States.Array(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
        assert!(run(&json!({}), &ten).is_ok());
    }

    #[test]
    fn recognizes_intrinsics() {
        assert!(is_intrinsic("States.Array(1)"));
        assert!(is_intrinsic("  States.UUID()"));
        assert!(!is_intrinsic("$.States"));
        assert!(!is_intrinsic("Array(1)"));
    }
}
