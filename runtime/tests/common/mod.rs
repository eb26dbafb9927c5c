//! Helpers shared by the runtime's integration tests.
#![allow(dead_code)]

use eventdriven_core::record::RecordSpec;
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
    run_record(dir, input, rows_per_chunk, None).await
}

/// [`run`] with a declared record (`None`: the order layout).
pub async fn run_record(
    dir: &Path,
    input: &Path,
    rows_per_chunk: u64,
    record: Option<RecordSpec>,
) -> anyhow::Result<(Report, PathBuf)> {
    let output = dir.join("result.csv");
    let local = LocalRun {
        run_id: "test-run".into(),
        pipeline_name: "test".into(),
        record,
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

/// A record other than the orders: sensor readings keyed by an integer and a timestamp, with a
/// boolean, an optional note and an optional date (`day`, day first).
pub fn readings() -> RecordSpec {
    serde_json::from_str(READINGS).unwrap()
}

/// [`readings`] in its JSON form, as `--record` and `RECORD` take it.
pub const READINGS: &str = r#"{
  "key": "Sensor",
  "sort_key": "At",
  "generated": {"attribute": "ReadingId", "kind": "uuid_v5"},
  "column": [
    {"header": "sensor", "attribute": "Sensor", "type": "integer"},
    {"header": "at", "attribute": "At", "type": "timestamp", "format": "%Y-%m-%d %H:%M:%S"},
    {"header": "ok", "attribute": "Ok", "type": "boolean"},
    {"header": "level", "attribute": "Level", "type": "decimal"},
    {"header": "note", "attribute": "Note", "required": false},
    {"header": "day", "attribute": "Day", "type": "date", "format": "%d.%m.%Y", "required": false}
  ],
  "output": ["Sensor", "At", "ReadingId", "Note"]
}"#;

/// Writes `rows` valid readings (distinct keys, some notes quoted, some optional fields empty)
/// under the header `level,at,sensor,ok,note,day`, which is not the declaration's order.
pub fn write_readings(path: &Path, rows: u64, seed: u64) {
    use std::io::Write;
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(file, "level,at,sensor,ok,note,day").unwrap();
    for n in 0..rows {
        let note = match rng.u8(0..4) {
            0 => String::new(),
            1 => "\"cold, \"\"very\"\"\"".to_owned(),
            _ => format!("note {n}"),
        };
        let day = if rng.bool() {
            format!("{}.3.2024", rng.u8(1..=28))
        } else {
            String::new()
        };
        writeln!(
            file,
            "{}.{},2024-03-{:02} {:02}:{:02}:00,{},{},{note},{day}",
            rng.i32(-50..50),
            rng.u8(0..100),
            1 + n % 28,
            n / 28 % 24,
            n / (28 * 24) % 60,
            // Sensors repeat, each with its own times: the key is sensor and time together.
            n % 97,
            ["true", "no", "1", "FALSE"][rng.usize(..4)],
        )
        .unwrap();
    }
}
