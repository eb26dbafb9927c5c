//! A pipeline of a record other than the orders: an integer partition key and a timestamp sort
//! key, a boolean, optional columns, a generated id. Every row is loaded typed or rejected with
//! its reason, the run is repeatable byte for byte, and a file that does not fit the record
//! fails at split, naming its columns.

mod common;

use common::*;
use eventdriven_core::contract;
use eventdriven_runtime::row::generated::UuidV5Ids;
use eventdriven_runtime::table::{KeyValue, OrdersTable, TableKey, TableUrl, Type};
use std::process::Command;

fn reading_key<'a>(sensor: &'a str, at: &'a str) -> TableKey<'a> {
    TableKey {
        partition: KeyValue {
            attribute: "Sensor",
            kind: Type::N,
            value: sensor,
        },
        sort: Some(KeyValue {
            attribute: "At",
            kind: Type::S,
            value: at,
        }),
    }
}

#[tokio::test]
async fn every_row_is_stored_typed_or_rejected_with_the_column_named() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("readings.csv");
    let rows = [
        "12.5,2024-03-01 10:00:00,007,yes,\"cold, \"\"very\"\"\",4.3.2024",
        // The same key in the same chunk: the later row is the item kept.
        "2.0,2024-03-01 10:00:00,7,TRUE,again,",
        "-3,2024-03-01 11:00:00,8,0,,",
        "1,2024-03-01 12:00:00,x9,true,,",
        "1,2024-03-01 13:00:00,9,maybe,,",
        "1,yesterday,9,true,,",
        ",2024-03-01 14:00:00,9,true,,",
        "1,2024-03-01 15:00:00,9,true,,31.2.2024",
        "short,row",
    ];
    std::fs::write(&input, format!("level,at,sensor,ok,note,day\n{}\n", rows.join("\n"))).unwrap();
    let (report, output) = run_record(dir.path(), &input, 3, Some(readings())).await.unwrap();
    let s = &report.summary;
    assert_eq!((s.rows_in, s.rows_out, s.rejected), (9, 3, 6), "{s:?}");

    let ids = UuidV5Ids::for_pipeline("test");
    let id = |sensor: &str, at: &str| {
        let key = reading_key(sensor, at).encoded();
        ids.id(&key).as_str().to_owned()
    };
    assert_eq!(
        lines(&output),
        [
            "Sensor,At,ReadingId,Note".to_owned(),
            format!(
                "7,2024-03-01T10:00:00Z,{},\"cold, \"\"very\"\"\"",
                id("7", "2024-03-01T10:00:00Z")
            ),
            format!("7,2024-03-01T10:00:00Z,{},again", id("7", "2024-03-01T10:00:00Z")),
            format!("8,2024-03-01T11:00:00Z,{},", id("8", "2024-03-01T11:00:00Z")),
        ]
    );
    let rejects = std::fs::read(output.with_file_name("result.csv.rejects.csv")).unwrap();
    let mut reader = csv::Reader::from_reader(rejects.as_slice());
    let reasons: Vec<(String, String)> = reader
        .records()
        .map(|r| r.unwrap())
        .map(|r| (r[0].to_owned(), r[1].to_owned()))
        .collect();
    let expected = [
        ("5", "column \"sensor\": \"x9\" is not an integer of at most 38 digits"),
        (
            "6",
            "column \"ok\": \"maybe\" is not a boolean (true/false, yes/no, 1/0)",
        ),
        (
            "7",
            "column \"at\": \"yesterday\" is not a timestamp in the form \"%Y-%m-%d %H:%M:%S\"",
        ),
        ("8", "column \"level\": is empty"),
        (
            "9",
            "column \"day\": \"31.2.2024\" is not a date in the form \"%d.%m.%Y\"",
        ),
        ("10", "expected 6 fields, found 2"),
    ];
    assert_eq!(reasons.len(), expected.len(), "{reasons:?}");
    for ((line, reason), (expected_line, expected_reason)) in reasons.iter().zip(expected) {
        assert_eq!(line, expected_line);
        assert!(reason.starts_with(expected_reason), "line {line}: {reason}");
    }

    let table = OrdersTable::open(&TableUrl::Embedded(dir.path().join("orders.table")))
        .await
        .unwrap();
    assert_eq!(table.count().await.unwrap(), 2, "sensor 7 at 10:00 twice is one item");
    let item = table
        .get(&reading_key("0007", "2024-03-01T10:00:00Z"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        item,
        serde_json::json!({
            "Sensor": {"N": "7"},
            "At": {"S": "2024-03-01T10:00:00Z"},
            "Ok": {"BOOL": true},
            "Level": {"N": "2.0"},
            "Note": {"S": "again"},
            "ReadingId": {"S": id("7", "2024-03-01T10:00:00Z")},
        }),
        "the later row of a key is the one kept"
    );
    let item = table
        .get(&reading_key("8", "2024-03-01T11:00:00Z"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(item["Ok"], serde_json::json!({"BOOL": false}));
    assert_eq!(item["Level"], serde_json::json!({"N": "-3"}));
    assert!(item.get("Note").is_none() && item.get("Day").is_none(), "{item}");
}

#[tokio::test]
async fn a_run_again_gives_the_same_bytes_and_keeps_the_row_invariant() {
    let base = tempfile::tempdir().unwrap();
    let input = base.path().join("readings.csv");
    write_readings(&input, 3_000, 2);
    let mut results = Vec::new();
    for attempt in 0..2 {
        let dir = base.path().join(format!("run-{attempt}"));
        std::fs::create_dir_all(&dir).unwrap();
        let (report, output) = run_record(&dir, &input, 250, Some(readings())).await.unwrap();
        let s = &report.summary;
        assert_eq!((s.rows_in, s.rows_out, s.rejected, s.chunks), (3_000, 3_000, 0, 12));
        results.push(std::fs::read(&output).unwrap());
        let table = OrdersTable::open(&TableUrl::Embedded(dir.join("orders.table")))
            .await
            .unwrap();
        assert_eq!(table.count().await.unwrap(), 3_000);
    }
    assert!(results[0] == results[1], "two runs of one input give one result");
    assert_eq!(lines(&input).len(), results[0].iter().filter(|&&b| b == b'\n').count());
}

#[tokio::test]
async fn a_file_that_does_not_fit_the_record_fails_at_split_naming_its_columns() {
    let cases = [
        ("level,at,ok,note", "missing column(s) [\"sensor\"]"),
        ("level,at,sensor,ok,colour", "unexpected column(s) [\"colour\"]"),
    ];
    for (header, expected) in cases {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("readings.csv");
        std::fs::write(&input, format!("{header}\n1,2,3,4,5\n")).unwrap();
        let err = run_record(dir.path(), &input, 10, Some(readings())).await.unwrap_err();
        let message = format!("{err:#}");
        assert!(
            message.contains(&format!("readings.csv line 1: {expected}")),
            "{message}"
        );
        let chunks = dir.path().join("work/test-run/chunks");
        let queued = std::fs::read_dir(&chunks).map_or(0, |d| d.count());
        assert_eq!(queued, 0, "no chunk was written");
    }
}

/// The steps as Jobs run them, the record in their `RECORD` setting: what a deployed pipeline
/// with a record block (and local-cloud, which runs its Job manifests) does.
#[test]
fn jobs_read_the_record_from_their_environment() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("readings.csv");
    write_readings(&input, 500, 4);
    let output = dir.path().join("result.csv");
    let step = |args: &[&str], record: Option<&str>| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_eventdriven"));
        command
            .args(args)
            .env(contract::RUN_ID, "jobs")
            .env(contract::WORK_DIR, dir.path().join("work"))
            .env(contract::TABLE_URL, dir.path().join("orders.table"))
            .env(contract::PIPELINE_NAME, "test")
            .env_remove(contract::RECORD);
        if let Some(record) = record {
            command.env(contract::RECORD, record);
        }
        command.output().unwrap()
    };
    let ok = |out: std::process::Output| {
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    // Without RECORD, the order layout: the readings' header does not fit it.
    let refused = step(&["split", "--input", input.to_str().unwrap()], None);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("missing column(s)"));
    // A declaration that does not check is named by the setting and the path inside it.
    let bad = step(
        &["split", "--input", input.to_str().unwrap()],
        Some(&READINGS.replace("\"boolean\"", "\"bool\"")),
    );
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("RECORD: column[2].type: unknown type \"bool\""),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );

    let split = ok(step(
        &[
            "split",
            "--input",
            input.to_str().unwrap(),
            "--max-lines-per-batch",
            "200",
        ],
        Some(READINGS),
    ));
    assert!(split.contains("\"chunks\":3"), "{split}");
    for chunk in ["000000-2", "000001-202", "000002-402"] {
        ok(step(&["process", "--chunk", chunk], Some(READINGS)));
    }
    ok(step(&["merge", "--output", output.to_str().unwrap()], Some(READINGS)));
    let result = lines(&output);
    assert_eq!(result[0], "Sensor,At,ReadingId,Note");
    assert_eq!(result.len(), 501);

    // `orders get` types the key as the declaration does: here an integer and a timestamp.
    let record_file = dir.path().join("record.json");
    std::fs::write(&record_file, READINGS).unwrap();
    let get = ok(step(
        &[
            "orders",
            "get",
            "00",
            "--sort-key",
            "2024-03-01T00:00:00Z",
            "--record",
            record_file.to_str().unwrap(),
        ],
        None,
    ));
    let item: serde_json::Value = serde_json::from_str(&get).unwrap();
    assert_eq!(item["Sensor"], serde_json::json!({"N": "0"}));
    assert_eq!(item["ReadingId"]["S"].as_str().unwrap().len(), 36);
}
