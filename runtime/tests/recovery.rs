//! Killing the local run at any point and running it again gives the same result as a clean
//! run: nothing lost, nothing duplicated.

mod common;

use common::generated;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

fn eventdriven(dir: &Path, input: &Path, output: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_eventdriven"));
    command
        .args([
            "run",
            "--run-id",
            "crash",
            "--max-lines-per-batch",
            "1500",
            "--concurrency",
            "2",
            "--input",
        ])
        .arg(input)
        .arg("--output")
        .arg(output)
        .arg("--work-dir")
        .arg(dir.join("work"))
        .arg("--table")
        .arg(dir.join("orders.table"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    command
}

fn count(dir: &Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_eventdriven"))
        .args(["orders", "count", "--table"])
        .arg(dir.join("orders.table"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn a_killed_run_resumes_to_the_clean_result() {
    let base = tempfile::tempdir().unwrap();
    let input = base.path().join("orders.csv");
    generated(&input, 40_000, 5);

    let clean_dir = base.path().join("clean");
    let clean_output = clean_dir.join("result.csv");
    std::fs::create_dir_all(&clean_dir).unwrap();
    let clean = eventdriven(&clean_dir, &input, &clean_output).output().unwrap();
    assert!(clean.status.success(), "{}", String::from_utf8_lossy(&clean.stderr));
    let expected = std::fs::read(&clean_output).unwrap();

    for (attempt, delay_ms) in [10u64, 60, 150, 300, 600].into_iter().enumerate() {
        let dir = base.path().join(format!("crash-{attempt}"));
        let output = dir.join("result.csv");
        std::fs::create_dir_all(&dir).unwrap();
        let mut child = eventdriven(&dir, &input, &output).spawn().unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before it could be killed at {delay_ms} ms"
        );
        child.kill().unwrap(); // SIGKILL: no clean-up runs
        child.wait().unwrap();
        let resumed = eventdriven(&dir, &input, &output).output().unwrap();
        assert!(resumed.status.success(), "{}", String::from_utf8_lossy(&resumed.stderr));
        assert!(
            std::fs::read(&output).unwrap() == expected,
            "killed after {delay_ms} ms: result differs from a clean run"
        );
        assert_eq!(count(&dir), "40000");
    }
}
