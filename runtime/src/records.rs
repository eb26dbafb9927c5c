//! What one CSV record is, decided in one place for the splitter and the parser.
//!
//! The splitter must cut chunks exactly where the parser sees record boundaries, or a row could
//! be split in two or two rows fused into one. Both follow these rules: records end at `\n`
//! outside quotes (a `\r` before it belongs to the line ending), a quote opens a quoted field
//! only at the start of a field, `""` inside quotes is a literal quote, and a line that is empty
//! or holds only `\r` is blank: not a row, on either side.

use memchr::{memchr, memchr2};

/// The CSV reader configuration whose record boundaries [`Boundaries`] reproduces.
pub fn reader_builder() -> csv::ReaderBuilder {
    let mut builder = csv::ReaderBuilder::new();
    builder
        .has_headers(false)
        .flexible(true)
        .terminator(csv::Terminator::Any(b'\n'));
    builder
}

/// True for the raw bytes of a line that is not a row: empty, or a lone `\r`.
pub fn is_blank(raw: &[u8]) -> bool {
    raw.is_empty() || raw == b"\r"
}

/// Finds record ends in a byte stream fed buffer by buffer; quote state carries across buffers.
#[derive(Debug)]
pub struct Boundaries {
    in_quotes: bool,
    /// Inside quotes, the buffer ended on a quote: the next byte decides if it was `""`.
    pending_quote: bool,
    /// Last byte seen before the current buffer, to tell whether a quote starts a field.
    previous: u8,
    /// Newlines passed inside quoted fields since the last call to [`Boundaries::take_quoted_newlines`].
    quoted_newlines: u64,
}

impl Default for Boundaries {
    fn default() -> Self {
        Boundaries {
            in_quotes: false,
            pending_quote: false,
            previous: b'\n',
            quoted_newlines: 0,
        }
    }
}

impl Boundaries {
    /// Index of the `\n` ending the record that continues at `buf[from..]`, or `None` when the
    /// buffer ends inside it.
    pub fn next_end(&mut self, buf: &[u8], from: usize) -> Option<usize> {
        let mut i = from;
        if self.pending_quote && i < buf.len() {
            self.pending_quote = false;
            if buf[i] == b'"' {
                i += 1;
            } else {
                self.in_quotes = false;
            }
        }
        loop {
            if i >= buf.len() {
                if i > from {
                    self.previous = buf[i - 1];
                }
                return None;
            }
            if self.in_quotes {
                let Some(k) = memchr(b'"', &buf[i..]) else {
                    self.quoted_newlines += memchr::memchr_iter(b'\n', &buf[i..]).count() as u64;
                    self.previous = buf[buf.len() - 1];
                    return None;
                };
                let quote = i + k;
                self.quoted_newlines += memchr::memchr_iter(b'\n', &buf[i..quote]).count() as u64;
                match buf.get(quote + 1) {
                    Some(b'"') => i = quote + 2,
                    Some(_) => {
                        self.in_quotes = false;
                        i = quote + 1;
                    }
                    None => {
                        self.pending_quote = true;
                        self.previous = b'"';
                        return None;
                    }
                }
            } else {
                let Some(k) = memchr2(b'\n', b'"', &buf[i..]) else {
                    self.previous = buf[buf.len() - 1];
                    return None;
                };
                let at = i + k;
                if buf[at] == b'\n' {
                    self.previous = b'\n';
                    return Some(at);
                }
                let before = if at == 0 { self.previous } else { buf[at - 1] };
                self.in_quotes = before == b',' || before == b'\n';
                i = at + 1;
            }
        }
    }

    /// True between records: not inside quotes, nothing pending from a previous buffer.
    pub fn between_records(&self) -> bool {
        !self.in_quotes && !self.pending_quote
    }

    /// Newlines inside quoted fields passed since the last call; they count as lines, not records.
    pub fn take_quoted_newlines(&mut self) -> u64 {
        std::mem::take(&mut self.quoted_newlines)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Number of non-blank records the CSV reader yields.
    fn reader_count(data: &[u8]) -> usize {
        reader_builder()
            .from_reader(data)
            .byte_records()
            .map(|r| r.unwrap())
            .filter(|r| !(r.len() == 1 && &r[0] == b"\r" && data.windows(1).count() > 0 && is_lone_cr_line(data, r)))
            .count()
    }

    /// Whether the record read from `data` is the raw line "\r" rather than a quoted "\r".
    fn is_lone_cr_line(data: &[u8], record: &csv::ByteRecord) -> bool {
        let start = record.position().unwrap().byte() as usize;
        let rest = &data[start..];
        let line_start = rest.iter().position(|&b| b != b'\n').unwrap_or(rest.len());
        is_blank(rest[line_start..].split(|&b| b == b'\n').next().unwrap_or(b""))
    }

    /// Number of non-blank records [`Boundaries`] finds when fed `data` in buffers of `step` bytes.
    fn boundary_count(data: &[u8], step: usize) -> usize {
        let mut boundaries = Boundaries::default();
        let mut count = 0;
        let mut record_start = 0;
        let mut offset = 0;
        for buf in data.chunks(step) {
            let mut from = 0;
            while let Some(end) = boundaries.next_end(buf, from) {
                count += usize::from(!is_blank(&data[record_start..offset + end]));
                record_start = offset + end + 1;
                from = end + 1;
            }
            offset += buf.len();
        }
        count + usize::from(!is_blank(&data[record_start..]))
    }

    #[test]
    fn boundaries_match_the_csv_reader_on_random_input() {
        let alphabet = b"a,\"\n\r";
        let mut rng = fastrand::Rng::with_seed(7);
        for case in 0..3000 {
            let len = rng.usize(0..40);
            let data: Vec<u8> = (0..len).map(|_| alphabet[rng.usize(..alphabet.len())]).collect();
            let expected = reader_count(&data);
            for step in [1, 2, 3, 7, 64] {
                assert_eq!(
                    boundary_count(&data, step),
                    expected,
                    "case {case}, step {step}: {:?}",
                    String::from_utf8_lossy(&data)
                );
            }
        }
    }

    #[test]
    fn newline_inside_quotes_does_not_end_a_record() {
        let data = b"a,\"b\nc\",d\ne,f\n";
        let mut b = Boundaries::default();
        assert_eq!(b.next_end(data, 0), Some(9));
        assert_eq!(b.take_quoted_newlines(), 1);
        assert_eq!(b.next_end(data, 10), Some(13));
    }

    #[test]
    fn quote_inside_an_unquoted_field_is_literal() {
        let data = b"a\"b,c\nd\n";
        let mut b = Boundaries::default();
        assert_eq!(b.next_end(data, 0), Some(5));
    }

    #[test]
    fn escaped_quote_split_across_buffers_stays_quoted() {
        let mut b = Boundaries::default();
        assert_eq!(b.next_end(b"\"x\"", 0), None);
        assert_eq!(b.next_end(b"\"\ny\",z\n", 0), Some(6));
        assert_eq!(b.take_quoted_newlines(), 1);
    }
}
