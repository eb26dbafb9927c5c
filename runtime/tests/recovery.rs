//! Killing the local run at any point and running it again gives the same result as a clean
//! run: nothing lost, nothing duplicated.

mod common;

use common::generated;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

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
    let started = Instant::now();
    let clean = eventdriven(&clean_dir, &input, &clean_output).output().unwrap();
    let clean_ms = started.elapsed().as_millis() as f64;
    assert!(clean.status.success(), "{}", String::from_utf8_lossy(&clean.stderr));
    let expected = std::fs::read(&clean_output).unwrap();

    // Kill points spread over the clean run's duration, whatever this machine's speed: during
    // split, early, middle and later in processing.
    for (attempt, share) in [0.02, 0.1, 0.2, 0.35, 0.5].into_iter().enumerate() {
        let delay_ms = (clean_ms * share) as u64;
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
