//! Helpers shared by the runtime's integration tests.
#![allow(dead_code)]

use eventdriven_runtime::generate::write_orders;
use eventdriven_runtime::objects::ObjectUrl;
use eventdriven_runtime::progress::{MEMORY_URL, ProgressStore};
use eventdriven_runtime::runner::{LocalRun, Report, run_locally};
use eventdriven_runtime::table::{OrdersTable, TableUrl};
use std::path::{Path, PathBuf};

pub const ROW: &str = "Asia,Japan,Fruits,Offline,M,7/27/2012,100,7/28/2012,1593,9.33,6.92,14862.69,11023.56,3839.13";

/// A valid row with the given Order ID.
pub fn row(order_id: u64) -> String {
    ROW.replace(",100,", &format!(",{order_id},"))
}

pub fn generated(path: &Path, rows: u64, seed: u64) {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    write_orders(&mut file, rows, seed).unwrap();
}

/// Runs the whole pipeline locally with the in-process store and an embedded table in `dir`.
pub async fn run(dir: &Path, input: &Path, rows_per_chunk: u64) -> anyhow::Result<(Report, PathBuf)> {
    let output = dir.join("result.csv");
    let local = LocalRun {
        run_id: "test-run".into(),
        pipeline_name: "test".into(),
        input: ObjectUrl::Local(input.into()),
        output: ObjectUrl::Local(output.clone()),
        rows_per_chunk,
        concurrency: 3,
        work_dir: dir.join("work"),
        keep_work: false,
        observer: None,
    };
    let progress = ProgressStore::open(MEMORY_URL, None).await?;
    let table = OrdersTable::open(&TableUrl::Embedded(dir.join("orders.table"))).await?;
    let report = run_locally(&local, &progress, &table).await?;
    Ok((report, output))
}

/// Data rows of a CSV file as a plain CSV reader counts them: records end at `\n`, and a line
/// that is empty or a lone `\r` is blank, not a row.
pub fn data_rows(bytes: &[u8]) -> u64 {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .terminator(csv::Terminator::Any(b'\n'))
        .from_reader(bytes);
    reader
        .byte_records()
        .filter_map(Result::ok)
        .filter(|r| !(r.len() == 1 && (r[0].is_empty() || &r[0] == b"\r")))
        .count() as u64
}

pub fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}
