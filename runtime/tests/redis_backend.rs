//! The steps as Jobs run them: configured only through the contract's environment variables,
//! with the progress set in a real Redis server (started by the test command).

mod common;

use eventdriven_core::contract;
use redis::Commands;
use std::path::Path;
use std::process::Command;

const REDIS_URL: &str = "redis://127.0.0.1:6379";

/// Runs one step the way its Job does: `eventdriven <step>` with settings in the environment.
fn step(name: &str, env: &[(String, String)]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_eventdriven"))
        .arg(name)
        .envs(env.iter().cloned())
        .output()
        .unwrap();
    assert!(out.status.success(), "{name}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn pending(redis: &mut redis::Connection, run: &str) -> Vec<String> {
    let mut members: Vec<String> = redis.smembers(eventdriven_runtime::progress::set_key(run)).unwrap();
    members.sort();
    members
}

#[test]
fn jobs_share_progress_through_redis() {
    let mut redis = redis::Client::open(REDIS_URL)
        .unwrap()
        .get_connection()
        .expect("Redis on 127.0.0.1:6379 (make test starts it)");
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("orders.csv");
    common::generated(&input, 2_500, 8);
    let run = format!("redis-test-{}", std::process::id());
    let work = dir.path().join("work");
    let table = dir.path().join("orders.table");
    let (input, work, table, output) = (s(&input), s(&work), s(&table), s(&dir.path().join("result.csv")));
    let base = [
        (contract::RUN_ID, run.as_str()),
        (contract::WORK_DIR, work.as_str()),
        (contract::REDIS_URL, REDIS_URL),
    ];
    let with = |extra: &[(&str, &str)]| -> Vec<(String, String)> {
        base.iter()
            .chain(extra)
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };

    step(
        "split",
        &with(&[(contract::INPUT_URL, &input), (contract::MAX_LINES_PER_BATCH, "1000")]),
    );
    assert_eq!(pending(&mut redis, &run), ["000000-2", "000001-1002", "000002-2002"]);

    let listed: serde_json::Value = serde_json::from_str(&step("list-chunks", &with(&[]))).unwrap();
    assert_eq!(
        listed["chunks"],
        serde_json::json!(["000000-2", "000001-1002", "000002-2002"])
    );

    let process = |chunk: &str| {
        step(
            "process",
            &with(&[
                (contract::CHUNK, chunk),
                (contract::TABLE_URL, &table),
                (contract::PIPELINE_NAME, "orders"),
            ]),
        )
    };
    process("000001-1002");
    assert_eq!(pending(&mut redis, &run), ["000000-2", "000002-2002"]);

    // Redis lost its data (ElastiCache keeps none on restart): split re-queues what is unfinished.
    let _: () = redis.del(eventdriven_runtime::progress::set_key(&run)).unwrap();
    step(
        "split",
        &with(&[(contract::INPUT_URL, &input), (contract::MAX_LINES_PER_BATCH, "1000")]),
    );
    assert_eq!(pending(&mut redis, &run), ["000000-2", "000002-2002"]);

    let early = Command::new(env!("CARGO_BIN_EXE_eventdriven"))
        .arg("merge")
        .envs(with(&[(contract::OUTPUT_URL, &output)]))
        .output()
        .unwrap();
    assert!(!early.status.success(), "merge must wait for every chunk");
    assert!(String::from_utf8_lossy(&early.stderr).contains("2 chunk(s) pending"));

    process("000000-2");
    process("000002-2002");
    process("000002-2002"); // a retried Job: no duplicate, nothing changes
    assert!(pending(&mut redis, &run).is_empty());
    let summary: serde_json::Value =
        serde_json::from_str(&step("merge", &with(&[(contract::OUTPUT_URL, &output)]))).unwrap();
    assert_eq!(
        (summary["rows_in"].as_u64(), summary["rows_out"].as_u64()),
        (Some(2500), Some(2500))
    );
    assert_eq!(std::fs::read_to_string(&output).unwrap().lines().count(), 2501);

    // The run's chunks are gone once the result is published; a merge run again (a retried Job)
    // still answers with the same summary.
    let run_dir = Path::new(&work).join(&run);
    assert!(!run_dir.join("chunks").exists() && !run_dir.join("out").exists());
    assert!(!run_dir.join("manifest.json").exists());
    let again: serde_json::Value =
        serde_json::from_str(&step("merge", &with(&[(contract::OUTPUT_URL, &output)]))).unwrap();
    assert_eq!(again, summary);
}

fn s(path: &Path) -> String {
    path.to_str().unwrap().to_string()
}
