//! Timestamps as Step Functions writes them: RFC 3339, UTC, milliseconds.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub fn now_iso() -> String {
    format_iso(OffsetDateTime::now_utc())
}

/// Always three digits of milliseconds: RFC 3339 formatting drops trailing zeros (`.14Z`,
/// or no fraction at all on a whole second), which Step Functions never writes.
pub fn format_iso(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.millisecond()
    )
}

/// Parses an RFC 3339 timestamp, as Wait's `Timestamp` and the Timestamp comparisons take it.
pub fn parse_iso(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text, &Rfc3339).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_keep_three_digits_of_milliseconds() {
        let at = parse_iso("2026-12-07T16:21:06.140912Z").unwrap();
        assert_eq!(format_iso(at), "2026-12-07T16:21:06.140Z");
        let whole = parse_iso("2026-01-01T00:00:00+02:00").unwrap();
        assert_eq!(format_iso(whole), "2025-12-31T22:00:00.000Z");
        assert_eq!(
            parse_iso(&format_iso(at)),
            Some(at.replace_nanosecond(140_000_000).unwrap())
        );
    }
}
