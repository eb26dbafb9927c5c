//! A column's text checked against its declared type and turned into the value the table
//! stores: as it is (a string, an id, a number), or rewritten (a boolean as `true`/`false`, a
//! date in ISO 8601, a timestamp in RFC 3339 UTC). A date or timestamp format is compiled once,
//! before any row, so a bad one fails the run at its start, naming its column.

use crate::table::Type;
use chrono::format::{Item, Parsed, StrftimeItems};
use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, TimeZone, Utc};
use eventdriven_core::record::{Column, ColumnType, DEFAULT_DATE_FORMAT};
use std::fmt::Write;

/// How many digits a number may have: DynamoDB keeps 38 significant digits.
const MAX_NUMBER_DIGITS: usize = 38;

/// How one column's text is checked and converted.
#[derive(Clone, Debug)]
pub enum ValueParser {
    String,
    Id,
    Integer,
    Decimal,
    Boolean,
    /// The default date format, `M/D/YYYY`, read by hand: the order sample has two dates a row.
    MonthDayYear,
    /// Boxed, as the rarer kinds: the variants a row meets most stay small.
    Date(Box<Format>),
    Rfc3339,
    Timestamp(Box<Format>),
}

/// A `format` compiled, with its text for messages.
#[derive(Clone, Debug)]
pub struct Format {
    text: String,
    items: Vec<Item<'static>>,
}

/// A column's format that cannot read its type.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("column {column:?}: the format {format:?} cannot read a {column_type}: {why}")]
pub struct FormatError {
    pub column: String,
    pub format: String,
    pub column_type: &'static str,
    pub why: String,
}

/// Room for any value a parser rewrites: the order sample's dates on the stack (two a row),
/// other dates and timestamps (30 bytes at most) in a string kept for the next row.
pub struct ValueBuffer {
    iso_date: IsoDate,
    text: String,
}

impl Default for ValueBuffer {
    fn default() -> Self {
        ValueBuffer {
            iso_date: IsoDate(*b"0000-00-00"),
            text: String::with_capacity(64),
        }
    }
}

impl ValueParser {
    pub fn for_column(column: &Column) -> Result<Self, FormatError> {
        let compile = |sample_check: fn(&Format) -> Result<(), String>| {
            let text = column
                .format
                .clone()
                .expect("a date's format is defaulted; a timestamp's is set here");
            let error = |why: String| FormatError {
                column: column.header.clone(),
                format: text.clone(),
                column_type: column.column_type.as_str(),
                why,
            };
            let items = StrftimeItems::new(&text)
                .parse_to_owned()
                .map_err(|e| error(format!("{e} (strftime notation, e.g. %Y-%m-%d)")))?;
            let format = Format {
                text: text.clone(),
                items,
            };
            sample_check(&format).map_err(error)?;
            Ok(format)
        };
        Ok(match column.column_type {
            ColumnType::String => ValueParser::String,
            ColumnType::Id => ValueParser::Id,
            ColumnType::Integer => ValueParser::Integer,
            ColumnType::Decimal => ValueParser::Decimal,
            ColumnType::Boolean => ValueParser::Boolean,
            ColumnType::Date if column.format.as_deref() == Some(DEFAULT_DATE_FORMAT) => ValueParser::MonthDayYear,
            ColumnType::Date => ValueParser::Date(Box::new(compile(|format| format.date(&format.sample()).map(drop))?)),
            ColumnType::Timestamp if column.format.is_none() => ValueParser::Rfc3339,
            ColumnType::Timestamp => ValueParser::Timestamp(Box::new(compile(|format| {
                format.timestamp(&format.sample()).map(drop)
            })?)),
        })
    }

    /// How the table types the values.
    pub fn table_type(&self) -> Type {
        match self {
            ValueParser::Integer | ValueParser::Decimal => Type::N,
            ValueParser::Boolean => Type::Bool,
            _ => Type::S,
        }
    }

    /// Whether a value may hold a comma, a quote or a line break, which a result line quotes.
    pub fn may_need_quotes(&self) -> bool {
        matches!(self, ValueParser::String)
    }

    /// The value to store for `text` (trimmed, not empty), or why it is not one.
    #[inline]
    pub fn parse<'t>(&self, text: &'t str, buffer: &'t mut ValueBuffer) -> Result<&'t str, String> {
        match self {
            ValueParser::String => Ok(text),
            ValueParser::Id if text.bytes().all(|b| b.is_ascii_digit()) => Ok(text),
            ValueParser::Id => Err(format!("{text:?} is not an id (digits only)")),
            ValueParser::Integer if is_integer(text) => Ok(text),
            ValueParser::Integer => Err(format!(
                "{text:?} is not an integer of at most {MAX_NUMBER_DIGITS} digits"
            )),
            ValueParser::Decimal if is_decimal(text) => Ok(text),
            ValueParser::Decimal => Err(format!("{text:?} is not a decimal number")),
            ValueParser::Boolean => boolean(text)
                .map(|value| if value { "true" } else { "false" })
                .ok_or_else(|| format!("{text:?} is not a boolean (true/false, yes/no, 1/0)")),
            ValueParser::MonthDayYear => {
                buffer.iso_date =
                    month_day_year(text).ok_or_else(|| format!("{text:?} is not a date in M/D/YYYY form"))?;
                Ok(buffer.iso_date.as_str())
            }
            ValueParser::Date(format) => {
                let date = format
                    .date(text)
                    .map_err(|why| format!("{text:?} is not a date in the form {:?} ({why})", format.text))?;
                buffer.text.clear();
                write!(buffer.text, "{}", date.format("%Y-%m-%d")).expect("a String takes any text");
                Ok(&buffer.text)
            }
            ValueParser::Rfc3339 => {
                let at = DateTime::parse_from_rfc3339(text)
                    .map_err(|why| format!("{text:?} is not an RFC 3339 timestamp ({why})"))?;
                utc_text(at, buffer).map_err(|why| format!("{text:?}: {why}"))
            }
            ValueParser::Timestamp(format) => {
                let at = format
                    .timestamp(text)
                    .map_err(|why| format!("{text:?} is not a timestamp in the form {:?} ({why})", format.text))?;
                utc_text(at, buffer).map_err(|why| format!("{text:?}: {why}"))
            }
        }
    }
}

impl Format {
    /// A moment written in this format, to check it reads back.
    fn sample(&self) -> String {
        let moment = FixedOffset::east_opt(0)
            .expect("UTC is an offset")
            .with_ymd_and_hms(2001, 2, 3, 4, 5, 6)
            .single()
            .expect("a valid moment");
        let mut text = String::new();
        // A format that cannot write the moment leaves it unfinished, and it then does not read back.
        let _ = write!(text, "{}", moment.format_with_items(self.items.iter()));
        text
    }

    fn parsed(&self, text: &str) -> Result<Parsed, String> {
        let mut parsed = Parsed::new();
        chrono::format::parse(&mut parsed, text, self.items.iter()).map_err(|e| e.to_string())?;
        Ok(parsed)
    }

    fn date(&self, text: &str) -> Result<NaiveDate, String> {
        let date = self.parsed(text)?.to_naive_date().map_err(|e| e.to_string())?;
        four_digit_year(date.year())?;
        Ok(date)
    }

    /// The moment `text` names: at its offset, if the format reads one, else in UTC.
    fn timestamp(&self, text: &str) -> Result<DateTime<FixedOffset>, String> {
        let parsed = self.parsed(text)?;
        match parsed.offset() {
            Some(_) => parsed.to_datetime().map_err(|e| e.to_string()),
            None => parsed
                .to_naive_datetime_with_offset(0)
                .map(|at| at.and_utc().fixed_offset())
                .map_err(|e| e.to_string()),
        }
    }
}

/// ISO 8601 and RFC 3339 write years of four digits.
fn four_digit_year(year: i32) -> Result<(), String> {
    if (0..=9999).contains(&year) {
        Ok(())
    } else {
        Err(format!("the year {year} is not one of 0000 to 9999"))
    }
}

/// `at` in UTC as RFC 3339 (`2012-07-27T13:05:00Z`), with its fraction of a second if it has one.
fn utc_text(at: DateTime<FixedOffset>, buffer: &mut ValueBuffer) -> Result<&str, String> {
    let utc = at.with_timezone(&Utc);
    four_digit_year(utc.year())?;
    buffer.text.clear();
    // `%.f`: nothing for a whole second, else 3, 6 or 9 digits, as many as the fraction needs.
    write!(buffer.text, "{}", utc.format("%Y-%m-%dT%H:%M:%S%.fZ")).expect("a String takes any text");
    Ok(&buffer.text)
}

/// `true`, `yes` and `1`, or `false`, `no` and `0`, in any case.
fn boolean(text: &str) -> Option<bool> {
    const TRUE: [&str; 3] = ["true", "yes", "1"];
    const FALSE: [&str; 3] = ["false", "no", "0"];
    if TRUE.iter().any(|t| t.eq_ignore_ascii_case(text)) {
        Some(true)
    } else if FALSE.iter().any(|f| f.eq_ignore_ascii_case(text)) {
        Some(false)
    } else {
        None
    }
}

/// A whole number, a leading `-` allowed: what DynamoDB takes as a number.
#[inline]
fn is_integer(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    !digits.is_empty() && digits.len() <= MAX_NUMBER_DIGITS && digits.bytes().all(|b| b.is_ascii_digit())
}

/// Plain decimal notation (`-12.50`, `3`, `.5`): what DynamoDB and a reader both take as is.
#[inline]
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
    digits > 0 && points <= 1 && number.len() <= MAX_NUMBER_DIGITS
}

/// An ISO 8601 date, `YYYY-MM-DD`, kept on the stack.
struct IsoDate([u8; 10]);

impl IsoDate {
    fn as_str(&self) -> &str {
        // SAFETY: built only by `month_day_year` (and `ValueBuffer::default`), of ASCII digits
        // and hyphens. (Two dates a row: their checks showed in profiles.)
        unsafe { std::str::from_utf8_unchecked(&self.0) }
    }
}

/// `M/D/YYYY` (the order sample's format) to ISO 8601, checking the day exists.
#[inline]
fn month_day_year(text: &str) -> Option<IsoDate> {
    // Month, day and year, with how many digits each has.
    let mut parts = [(0u32, 0usize); 3];
    let mut part = 0;
    for &byte in text.as_bytes() {
        match byte {
            b'/' if part < 2 => part += 1,
            b'0'..=b'9' if parts[part].1 < 4 => {
                parts[part] = (parts[part].0 * 10 + u32::from(byte - b'0'), parts[part].1 + 1);
            }
            _ => return None,
        }
    }
    let [(month, m), (day, d), (year, y)] = parts;
    if part != 2 || !(1..=2).contains(&m) || !(1..=2).contains(&d) || y != 4 {
        return None;
    }
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    let mut iso = *b"0000-00-00";
    for (slot, value, width) in [(0, year, 4), (5, month, 2), (8, day, 2)] {
        let mut v = value;
        for i in (slot..slot + width).rev() {
            iso[i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    }
    Some(IsoDate(iso))
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

    fn column(column_type: ColumnType, format: Option<&str>) -> Column {
        Column {
            header: "At".into(),
            attribute: "At".into(),
            column_type,
            required: true,
            format: format.map(str::to_owned),
        }
    }

    fn parse(column_type: ColumnType, format: Option<&str>, text: &str) -> Result<String, String> {
        let parser = ValueParser::for_column(&column(column_type, format)).unwrap();
        parser.parse(text, &mut ValueBuffer::default()).map(str::to_owned)
    }

    #[test]
    fn dates_must_be_month_day_four_digit_year() {
        for good in ["1/2/2012", "12/31/1999", "02/29/2000"] {
            assert!(month_day_year(good).is_some(), "{good}");
        }
        assert_eq!(month_day_year("7/4/2012").unwrap().as_str(), "2012-07-04");
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
            assert!(month_day_year(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn the_default_date_format_is_read_by_hand_as_chrono_reads_it() {
        let by_hand = ValueParser::for_column(&column(ColumnType::Date, Some(DEFAULT_DATE_FORMAT))).unwrap();
        assert!(matches!(by_hand, ValueParser::MonthDayYear));
        let items = StrftimeItems::new(DEFAULT_DATE_FORMAT).parse_to_owned().unwrap();
        let by_chrono = ValueParser::Date(Box::new(Format {
            text: DEFAULT_DATE_FORMAT.into(),
            items,
        }));
        for text in [
            "7/4/2012",
            "07/04/2012",
            "12/31/1999",
            "2/29/2000",
            "2/29/1900",
            "13/1/2012",
            "1/2/20x2",
        ] {
            let (mut a, mut b) = (ValueBuffer::default(), ValueBuffer::default());
            assert_eq!(
                by_hand.parse(text, &mut a).ok(),
                by_chrono.parse(text, &mut b).ok(),
                "{text}"
            );
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
    fn each_type_checks_and_stores_its_values() {
        use ColumnType::*;
        /// A column's type and format, a text, and its stored value or a part of why it is none.
        type Case<'a> = (ColumnType, Option<&'a str>, &'a str, Result<&'a str, &'a str>);
        let cases: &[Case] = &[
            (String, None, "a, \"b\"", Ok("a, \"b\"")),
            (
                Id,
                None,
                "000123456789012345678901234567890",
                Ok("000123456789012345678901234567890"),
            ),
            (Id, None, "-1", Err("\"-1\" is not an id (digits only)")),
            (Integer, None, "-42", Ok("-42")),
            (
                Integer,
                None,
                "4.2",
                Err("\"4.2\" is not an integer of at most 38 digits"),
            ),
            (Integer, None, "-", Err("not an integer")),
            (Integer, None, &"9".repeat(39), Err("not an integer")),
            (Decimal, None, "-0.50", Ok("-0.50")),
            (Boolean, None, "YES", Ok("true")),
            (Boolean, None, "0", Ok("false")),
            (Boolean, None, "False", Ok("false")),
            (
                Boolean,
                None,
                "y",
                Err("\"y\" is not a boolean (true/false, yes/no, 1/0)"),
            ),
            (Date, Some("%Y-%m-%d"), "2012-07-04", Ok("2012-07-04")),
            (Date, Some("%d.%m.%Y"), "4.7.2012", Ok("2012-07-04")),
            (
                Date,
                Some("%d.%m.%Y"),
                "31.4.2012",
                Err("is not a date in the form \"%d.%m.%Y\""),
            ),
            (Timestamp, None, "2012-07-04T10:00:00+02:00", Ok("2012-07-04T08:00:00Z")),
            (
                Timestamp,
                None,
                "2012-07-04T10:00:00.250Z",
                Ok("2012-07-04T10:00:00.250Z"),
            ),
            (Timestamp, None, "2012-07-04 10:00", Err("is not an RFC 3339 timestamp")),
            (
                Timestamp,
                Some("%Y-%m-%d %H:%M"),
                "2012-07-04 10:00",
                Ok("2012-07-04T10:00:00Z"),
            ),
            (
                Timestamp,
                Some("%d/%m/%Y %H:%M:%S %z"),
                "04/07/2012 10:00:00 +0100",
                Ok("2012-07-04T09:00:00Z"),
            ),
            (Timestamp, Some("%s"), "1341396000", Ok("2012-07-04T10:00:00Z")),
            (
                Timestamp,
                None,
                "0000-01-01T00:00:00+01:00",
                Err("is not one of 0000 to 9999"),
            ),
        ];
        for (column_type, format, text, expected) in cases {
            let got = parse(*column_type, *format, text);
            match expected {
                Ok(value) => assert_eq!(got.as_deref(), Ok(*value), "{column_type:?} {text:?}"),
                Err(why) => assert!(
                    got.as_ref().is_err_and(|e| e.contains(why)),
                    "{column_type:?} {text:?}: {got:?}"
                ),
            }
        }
    }

    #[test]
    fn a_format_that_cannot_read_its_type_fails_before_any_row() {
        let error = |column_type, format| ValueParser::for_column(&column(column_type, Some(format))).unwrap_err();
        let bad = error(ColumnType::Date, "%Y-%Q");
        assert_eq!(bad.column, "At");
        assert!(
            bad.to_string()
                .starts_with("column \"At\": the format \"%Y-%Q\" cannot read a date"),
            "{bad}"
        );
        // Valid notation, but no day to make a date of, nor a time to make a timestamp of.
        assert!(
            error(ColumnType::Date, "%Y-%m")
                .to_string()
                .contains("cannot read a date")
        );
        assert!(
            error(ColumnType::Timestamp, "%Y-%m-%d")
                .to_string()
                .contains("cannot read a timestamp")
        );
    }

    #[test]
    fn only_numbers_and_booleans_are_typed_apart_from_strings() {
        use ColumnType::*;
        for (column_type, table_type) in [
            (String, Type::S),
            (Id, Type::S),
            (Integer, Type::N),
            (Decimal, Type::N),
            (Boolean, Type::Bool),
            (Date, Type::S),
            (Timestamp, Type::S),
        ] {
            let format = (column_type == Date).then_some(DEFAULT_DATE_FORMAT);
            let parser = ValueParser::for_column(&column(column_type, format)).unwrap();
            assert_eq!(parser.table_type(), table_type, "{column_type:?}");
            assert_eq!(parser.may_need_quotes(), column_type == String, "{column_type:?}");
        }
    }
}
