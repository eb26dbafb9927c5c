//! What one CSV record is, decided in one place for the splitter and the parser.
//!
//! The splitter must cut chunks exactly where the parser sees record boundaries, or a row could
//! be split in two or two rows fused into one. Both follow these rules: records end at `\n`
//! outside quotes (a `\r` before it belongs to the line ending), a quote opens a quoted field
//! only at the start of a field, `""` inside quotes is a literal quote, and a line that is empty
//! or holds only `\r` is blank: not a row, on either side.

use memchr::{memchr, memchr2};
use std::ops::Range;

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

/// The records of a chunk held in memory, as the CSV reader of [`reader_builder`] gives them,
/// blank lines skipped. A line without a quote, as almost all are, is split at its commas where
/// it lies, with no copy; a line with a quote is read by `csv_core`, which undoes the quoting.
pub struct ChunkRecords<'a> {
    data: &'a [u8],
    /// All of `data` as text, when it is UTF-8 (checked once, not per record).
    text: Option<&'a str>,
    /// Where the next record, or a blank line before it, starts.
    at: usize,
    /// The line at `at`, counting from 1.
    line: u64,
    quoted: csv_core::Reader,
    unquoted: Vec<u8>,
    ends: Vec<usize>,
    ranges: Vec<Range<usize>>,
}

/// One record of a chunk.
pub struct Record<'r> {
    /// Where its raw text lies in the chunk, line ending excluded.
    pub raw: Range<usize>,
    /// The line it starts on, counting from 1.
    pub line: u64,
    pub fields: Fields<'r>,
}

/// The fields of a record, quoting undone.
pub struct Fields<'r> {
    bytes: &'r [u8],
    /// `bytes` as text, when it is UTF-8.
    text: Option<&'r str>,
    ranges: &'r [Range<usize>],
}

impl<'r> Fields<'r> {
    /// How many fields the record has: at least one.
    pub fn count(&self) -> usize {
        self.ranges.len()
    }

    /// Field `i` as text, or `None` when it is not UTF-8 on its own.
    #[inline]
    pub fn text(&self, i: usize) -> Option<&'r str> {
        let range = self.ranges[i].clone();
        match self.text {
            _ if range.is_empty() => Some(""),
            // Valid text cut off the boundary of a character is a field that is not valid.
            Some(text) => text.get(range),
            None => std::str::from_utf8(&self.bytes[range]).ok(),
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = &'r [u8]> + '_ {
        self.ranges.iter().map(|range| &self.bytes[range.clone()])
    }
}

impl<'a> ChunkRecords<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        ChunkRecords {
            data,
            text: std::str::from_utf8(data).ok(),
            at: 0,
            line: 1,
            quoted: csv_core::ReaderBuilder::new()
                .terminator(csv_core::Terminator::Any(b'\n'))
                .build(),
            unquoted: vec![0; 1024],
            ends: vec![0; 32],
            ranges: Vec::new(),
        }
    }

    /// The next record, or `None` at the end of the chunk.
    pub fn next_record(&mut self) -> Option<Record<'_>> {
        // The first line that is not blank, unless a quote comes before its end (`None`).
        let unquoted = loop {
            let rest = self.data.get(self.at..).filter(|rest| !rest.is_empty())?;
            let stop = memchr2(b'\n', b'"', rest).unwrap_or(rest.len());
            if rest.get(stop) == Some(&b'"') {
                break None;
            }
            if !is_blank(&rest[..stop]) {
                break Some(&rest[..stop]);
            }
            self.at += stop + 1;
            self.line += 1;
        };
        let start = self.at;
        let first_line = self.line;
        self.ranges.clear();
        let fields = if let Some(line) = unquoted {
            let mut from = 0;
            for comma in memchr::memchr_iter(b',', line) {
                self.ranges.push(from..comma);
                from = comma + 1;
            }
            self.ranges.push(from..line.len());
            self.at += line.len() + 1;
            self.line += 1;
            let text = match self.text {
                // Cut at line ends, which are ASCII, so on character boundaries.
                Some(text) => Some(&text[start..start + line.len()]),
                None => std::str::from_utf8(line).ok(),
            };
            Fields {
                bytes: line,
                text,
                ranges: &self.ranges,
            }
        } else {
            let (read, length) = self.read_quoted();
            self.line += memchr::memchr_iter(b'\n', &self.data[start..start + read]).count() as u64;
            self.at += read;
            let bytes = &self.unquoted[..length];
            Fields {
                bytes,
                text: std::str::from_utf8(bytes).ok(),
                ranges: &self.ranges,
            }
        };
        let raw_end = start + trim_line_end(&self.data[start..self.at.min(self.data.len())]).len();
        Some(Record {
            raw: start..raw_end,
            line: first_line,
            fields,
        })
    }

    /// Reads the record at `at` with `csv_core`: the bytes it takes (line ending included) and
    /// the length of its unquoted fields in `unquoted`, their ranges in `ranges`.
    fn read_quoted(&mut self) -> (usize, usize) {
        use csv_core::ReadRecordResult;
        let (mut read, mut written, mut ended) = (0, 0, 0);
        loop {
            let input = &self.data[self.at + read..];
            let (result, taken, wrote, ends) =
                self.quoted
                    .read_record(input, &mut self.unquoted[written..], &mut self.ends[ended..]);
            (read, written, ended) = (read + taken, written + wrote, ended + ends);
            match result {
                // The whole chunk is here: once it is used up, the next call (with no input)
                // ends the record.
                ReadRecordResult::InputEmpty => {}
                ReadRecordResult::OutputFull => self.unquoted.resize(self.unquoted.len() * 2, 0),
                ReadRecordResult::OutputEndsFull => self.ends.resize(self.ends.len() * 2, 0),
                ReadRecordResult::Record | ReadRecordResult::End => break,
            }
        }
        let mut from = 0;
        for &end in &self.ends[..ended] {
            self.ranges.push(from..end);
            from = end;
        }
        (read, written)
    }
}

/// The raw text of a record: its span without the line ending(s) after it.
fn trim_line_end(span: &[u8]) -> &[u8] {
    let mut end = span.len();
    while end > 0 && matches!(span[end - 1], b'\n' | b'\r') {
        end -= 1;
    }
    &span[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

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
            let expected = reader_records(&data).len();
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

    /// A record as (line, fields, each field's text when it is UTF-8).
    type Read = (u64, Vec<Vec<u8>>, Vec<Option<String>>);

    fn texts(fields: &[Vec<u8>]) -> Vec<Option<String>> {
        fields.iter().map(|f| String::from_utf8(f.clone()).ok()).collect()
    }

    /// The non-blank records the CSV reader yields, with the lines they start on.
    fn reader_records(data: &[u8]) -> Vec<Read> {
        reader_builder()
            .from_reader(data)
            .byte_records()
            .map(|r| r.unwrap())
            .filter(|r| !(r.len() == 1 && &r[0] == b"\r" && is_lone_cr_line(data, r)))
            .map(|r| {
                // The reader's position is before the empty lines it skips.
                let start = r.position().unwrap().byte() as usize;
                let skipped = data[start..].iter().take_while(|&&b| b == b'\n').count();
                let fields: Vec<Vec<u8>> = r.iter().map(<[u8]>::to_vec).collect();
                (
                    r.position().unwrap().line() + skipped as u64,
                    fields.clone(),
                    texts(&fields),
                )
            })
            .collect()
    }

    fn chunk_records(data: &[u8]) -> Vec<Read> {
        let mut records = ChunkRecords::new(data);
        let mut read = Vec::new();
        while let Some(record) = records.next_record() {
            let fields: Vec<Vec<u8>> = record.fields.iter().map(<[u8]>::to_vec).collect();
            let text = (0..record.fields.count())
                .map(|i| record.fields.text(i).map(str::to_owned))
                .collect();
            assert_eq!(text, texts(&fields), "{:?}", String::from_utf8_lossy(data));
            read.push((record.line, fields, text));
        }
        read
    }

    #[test]
    fn chunk_records_match_the_csv_reader_on_random_input() {
        // 0xC3 0xA9 is "é"; either byte alone is not UTF-8.
        let alphabet = b"a,\"\n\r\xC3\xA9";
        let mut rng = fastrand::Rng::with_seed(11);
        for case in 0..5000 {
            let len = rng.usize(0..60);
            let data: Vec<u8> = (0..len).map(|_| alphabet[rng.usize(..alphabet.len())]).collect();
            assert_eq!(
                chunk_records(&data),
                reader_records(&data),
                "case {case}: {:?}",
                String::from_utf8_lossy(&data)
            );
        }
    }

    #[test]
    fn a_record_raw_text_spans_its_quoted_lines_without_the_line_ending() {
        let data = b"\n\na,\"b\nc\"\r\n\r\nd\r\n";
        let mut records = ChunkRecords::new(data);
        let first = records.next_record().unwrap();
        assert_eq!((first.line, &data[first.raw.clone()]), (3, b"a,\"b\nc\"".as_slice()));
        let second = records.next_record().unwrap();
        assert_eq!((second.line, &data[second.raw.clone()]), (6, b"d".as_slice()));
        assert!(records.next_record().is_none());
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
