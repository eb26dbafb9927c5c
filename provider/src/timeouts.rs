//! Operation timeouts as Terraform users write them: `90s`, `45m`, `1h30m`.

use std::time::Duration;

/// Creating a pipeline waits for ElastiCache, which alone can take a quarter of an hour.
pub const DEFAULT_CREATE: Duration = Duration::from_secs(60 * 60);
pub const DEFAULT_DELETE: Duration = Duration::from_secs(60 * 60);

/// Parses a Go-style duration made of `<number><unit>` parts, units `h`, `m` and `s`.
pub fn parse(text: &str) -> Result<Duration, String> {
    let invalid = || format!("{text:?} is not a duration such as \"30m\" or \"1h30m\"");
    let mut total = 0u64;
    let mut number = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            'h' => 3600,
            'm' => 60,
            's' => 1,
            _ => return Err(invalid()),
        };
        let value: u64 = number.parse().map_err(|_| invalid())?;
        total += value * unit;
        number.clear();
    }
    if !number.is_empty() || total == 0 {
        return Err(invalid());
    }
    Ok(Duration::from_secs(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_terraform_durations() {
        assert_eq!(parse("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse("45m"), Ok(Duration::from_secs(45 * 60)));
        assert_eq!(parse("1h30m"), Ok(Duration::from_secs(90 * 60)));
    }

    #[test]
    fn rejects_anything_else() {
        for bad in ["", "30", "m", "5d", "1.5h", "0s", "-1m"] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }
}
