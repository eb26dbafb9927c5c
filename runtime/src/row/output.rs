//! The result file's lines: the output attributes' stored values, comma-separated, a value
//! quoted (its quotes doubled) when it holds a comma, a quote or a line break, as a CSV reader
//! expects.

/// Appends one field. `may_need_quotes` is false for values that cannot hold those bytes
/// (numbers, ids, dates, generated ids), which are then copied without a look.
#[inline]
pub fn push_field(out: &mut Vec<u8>, value: &[u8], may_need_quotes: bool) {
    if may_need_quotes && value.iter().any(|&b| matches!(b, b',' | b'"' | b'\n' | b'\r')) {
        out.push(b'"');
        for &byte in value {
            if byte == b'"' {
                out.push(b'"');
            }
            out.push(byte);
        }
        out.push(b'"');
    } else {
        out.extend_from_slice(value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_read_back_as_written() {
        let values = ["plain", "a, b", "say \"hi\"", "two\nlines", "cr\r", ""];
        let mut line = Vec::new();
        for (n, value) in values.iter().enumerate() {
            if n > 0 {
                line.push(b',');
            }
            push_field(&mut line, value.as_bytes(), true);
        }
        line.push(b'\n');
        assert!(line.starts_with(b"plain,\"a, b\",\"say \"\"hi\"\"\","));
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(line.as_slice());
        let record = reader.records().next().unwrap().unwrap();
        assert_eq!(record.iter().collect::<Vec<_>>(), values);
    }
}
