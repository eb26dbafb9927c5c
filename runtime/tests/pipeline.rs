//! The local pipeline end to end: every input row ends in the output or the rejects file, in
//! input order, whatever the input looks like.

mod common;

use common::*;
use eventdriven_runtime::generate::order_header as input_header;
use eventdriven_runtime::row::generated::UuidV5Ids;
use eventdriven_runtime::table::{KeyValue, OrdersTable, TableKey, TableUrl, Type};

const OUTPUT_HEADER: &str = "OrderId,ConfirmationId";

#[tokio::test]
async fn every_row_is_output_in_input_order_and_stored() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("orders.csv");
    generated(&input, 10_000, 3);
    let (report, output) = run(dir.path(), &input, 700).await.unwrap();
    let s = &report.summary;
    assert_eq!((s.rows_in, s.rows_out, s.rejected, s.chunks), (10_000, 10_000, 0, 15));

    let out = lines(&output);
    assert_eq!(out[0], OUTPUT_HEADER);
    let input_ids: Vec<String> = lines(&input)[1..]
        .iter()
        .map(|l| l.split(',').nth(6).unwrap().to_string())
        .collect();
    let output_ids: Vec<String> = out[1..]
        .iter()
        .map(|l| l.split(',').next().unwrap().to_string())
        .collect();
    assert_eq!(input_ids, output_ids, "one output line per row, in input order");
    let ids = UuidV5Ids::for_pipeline("test");
    assert!(out[1..].iter().all(|l| {
        let (order, confirmation) = l.split_once(',').unwrap();
        confirmation == ids.id(order.as_bytes()).as_str()
    }));

    assert_eq!(
        lines(&output.with_file_name("result.csv.rejects.csv")),
        ["line,reason,raw"]
    );
    let table = OrdersTable::open(&TableUrl::Embedded(dir.path().join("orders.table")))
        .await
        .unwrap();
    assert_eq!(table.count().await.unwrap(), 10_000);
    let key = TableKey {
        partition: KeyValue {
            attribute: "OrderId",
            kind: Type::S,
            value: &input_ids[42],
        },
        sort: None,
    };
    let item = table.get(&key).await.unwrap().unwrap();
    assert_eq!(item["OrderId"]["S"], input_ids[42].as_str());
    assert_eq!(item["ConfirmationId"]["S"], ids.id(input_ids[42].as_bytes()).as_str());
    assert!(item["UnitCost"]["N"].is_string(), "{item}");
    assert!(
        !dir.path().join("work/test-run").exists(),
        "work files are removed after success"
    );
}

#[tokio::test]
async fn awkward_rows_are_kept_or_rejected_never_lost() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("awkward.csv");
    let quoted = row(2).replace("Japan", "\"Japan, \"\"East\"\"\nside\"");
    let long_line = format!("{},{}", row(9), "x".repeat(2 << 20));
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend_from_slice(format!("{}\r\n{}\r\n{quoted}\r\n\r\nbad,row\r\n", input_header(), row(1)).as_bytes());
    bytes.extend_from_slice(format!("{},extra\n{}\n", row(3), row(4).replace(",7/28/2012", "")).as_bytes());
    bytes.extend_from_slice(&row(5).replace("Fruits", "Fr\u{fc}its").into_bytes());
    bytes.extend_from_slice(b"\n");
    bytes.extend_from_slice(row(6).replace("Fruits", "Fr@its").as_bytes());
    let at = bytes.len() - row(6).len() + row(6).find("Fr").unwrap() + 2;
    bytes[at] = 0xFF; // invalid UTF-8 inside the Item Type
    bytes.extend_from_slice(format!("\n{long_line}\n{}\n{}\n{}", row(7), row(7), row(8)).as_bytes());
    std::fs::write(&input, &bytes).unwrap();

    let (report, output) = run(dir.path(), &input, 2).await.unwrap();
    let s = &report.summary;
    assert_eq!(s.rows_in, data_rows(&bytes), "split counts what a CSV reader counts");
    assert_eq!(s.rows_in, s.rows_out + s.rejected);
    assert_eq!((s.rows_out, s.rejected), (6, 5), "{s:?}");
    let ids: Vec<String> = lines(&output)[1..]
        .iter()
        .map(|l| l.split(',').next().unwrap().to_string())
        .collect();
    assert_eq!(ids, ["1", "2", "5", "7", "7", "8"]);

    let rejects = std::fs::read(output.with_file_name("result.csv.rejects.csv")).unwrap();
    let mut reader = csv::Reader::from_reader(rejects.as_slice());
    let mut rejected: Vec<(u64, String)> = reader
        .byte_records()
        .map(|r| r.unwrap())
        .map(|r| {
            (
                String::from_utf8_lossy(&r[0]).parse().unwrap(),
                String::from_utf8_lossy(&r[1]).into_owned(),
            )
        })
        .collect();
    rejected.sort();
    let lines_and_reasons: Vec<(u64, &str)> = rejected.iter().map(|(l, r)| (*l, r.as_str())).collect();
    assert_eq!(lines_and_reasons[0], (6, "expected 14 fields, found 2"));
    assert_eq!(lines_and_reasons[1], (7, "expected 14 fields, found 15"));
    assert_eq!(lines_and_reasons[2], (8, "expected 14 fields, found 13"));
    assert_eq!(lines_and_reasons[3], (10, "column \"Item Type\" is not valid UTF-8"));
    assert_eq!(lines_and_reasons[4].0, 11);
    assert!(lines_and_reasons[4].1.contains("over the 1048576-byte limit"));
    assert_eq!(rejected.len(), 5, "{rejected:?}");
}

#[tokio::test]
async fn duplicate_order_ids_in_a_batch_are_all_output_and_stored_once() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("dups.csv");
    let rows: Vec<String> = (0..60).map(|n| row(1000 + n % 7)).collect();
    std::fs::write(&input, format!("{}\n{}\n", input_header(), rows.join("\n"))).unwrap();
    let (report, _) = run(dir.path(), &input, 30).await.unwrap();
    assert_eq!((report.summary.rows_out, report.summary.rejected), (60, 0));
    let table = OrdersTable::open(&TableUrl::Embedded(dir.path().join("orders.table")))
        .await
        .unwrap();
    assert_eq!(table.count().await.unwrap(), 7);
}

#[tokio::test]
async fn bad_files_get_clear_errors_naming_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, &[u8], &str); 5] = [
        ("empty.csv", b"", "empty.csv: the file is empty"),
        (
            "binary.bin",
            b"\x7fELF\x02\x01\x01\x00\x00\x00\n\x00\x00",
            "binary.bin line 1: the header holds control bytes",
        ),
        (
            "latin1.csv",
            b"R\xe9gion,Country\n",
            "latin1.csv line 1: the header is not valid UTF-8",
        ),
        (
            "notes.txt",
            b"hello world\nsecond line\n",
            "notes.txt line 1: missing column(s)",
        ),
        (
            "short.csv",
            b"Region,Country,Order ID\n1,2,3\n",
            "short.csv line 1: missing column(s) [\"Item Type\"",
        ),
    ];
    for (name, bytes, expected) in cases {
        let input = dir.path().join(name);
        std::fs::write(&input, bytes).unwrap();
        let err = run(dir.path(), &input, 10).await.unwrap_err();
        assert!(format!("{err:#}").contains(expected), "{name}: {err:#}");
    }
}

#[tokio::test]
async fn a_header_only_file_gives_an_empty_result() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("header.csv");
    std::fs::write(&input, input_header()).unwrap();
    let (report, output) = run(dir.path(), &input, 10).await.unwrap();
    assert_eq!((report.summary.rows_in, report.summary.chunks), (0, 0));
    assert_eq!(lines(&output), [OUTPUT_HEADER]);
    assert!(report.to_string().contains("the input has a header but no data rows"));
}

#[tokio::test]
async fn random_inputs_keep_the_row_invariant() {
    let mut rng = fastrand::Rng::with_seed(11);
    let pieces = [
        row(1),
        row(2),
        "\"a\nb\",c".to_string(),
        "x,\"y\"\"z\"".to_string(),
        String::new(),
        "\r".to_string(),
        "q\"uote,1".into(),
    ];
    for case in 0..40 {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("random.csv");
        let body: Vec<&str> = (0..rng.usize(0..30))
            .map(|_| pieces[rng.usize(..pieces.len())].as_str())
            .collect();
        let sep = if rng.bool() { "\n" } else { "\r\n" };
        let bytes = format!("{}{sep}{}", input_header(), body.join(sep)).into_bytes();
        std::fs::write(&input, &bytes).unwrap();
        let (report, output) = run(dir.path(), &input, rng.u64(1..5)).await.unwrap();
        let s = &report.summary;
        assert_eq!(s.rows_in, s.rows_out + s.rejected, "case {case}");
        assert_eq!(
            s.rows_in,
            data_rows(&bytes),
            "case {case}: {:?}",
            String::from_utf8_lossy(&bytes)
        );
        assert_eq!(lines(&output).len() as u64, s.rows_out + 1);
    }
}
