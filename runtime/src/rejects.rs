//! The rejects file: every row that could not be processed, with its input line, the reason
//! and the raw text, so nothing is dropped silently.

use anyhow::Result;
use std::io::Write;

pub const HEADER: &str = "line,reason,raw";

/// Writes reject rows as CSV (raw text quoted as needed); the header is written by the merge.
pub struct RejectWriter<W: Write> {
    writer: csv::Writer<W>,
    count: u64,
}

impl<W: Write> RejectWriter<W> {
    pub fn new(inner: W) -> Self {
        RejectWriter {
            writer: csv::WriterBuilder::new().has_headers(false).from_writer(inner),
            count: 0,
        }
    }

    pub fn reject(&mut self, line: u64, reason: &str, raw: &[u8]) -> Result<()> {
        self.writer
            .write_record([line.to_string().as_bytes(), reason.as_bytes(), raw])?;
        self.count += 1;
        Ok(())
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    pub fn into_inner(self) -> Result<W> {
        self.writer
            .into_inner()
            .map_err(|e| anyhow::anyhow!("flushing rejects: {}", e.error()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_text_with_quotes_and_newlines_survives() {
        let mut w = RejectWriter::new(Vec::new());
        w.reject(7, "expected 14 fields, found 2", b"a,\"b\nc\"").unwrap();
        assert_eq!(w.count(), 1);
        let bytes = w.into_inner().unwrap();
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(bytes.as_slice());
        let record = reader.records().next().unwrap().unwrap();
        assert_eq!(&record[0], "7");
        assert_eq!(&record[2], "a,\"b\nc\"");
    }
}
