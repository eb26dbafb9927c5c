//! Killing the local run at any point and running it again gives the same result as a clean
//! run: nothing lost, nothing duplicated.

mod common;

use common::{READINGS, generated, write_readings};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// `eventdriven run` of `input` into `dir`; `record`, a declaration's file, or the order layout.
fn eventdriven(dir: &Path, input: &Path, output: &Path, record: Option<&Path>) -> Command {
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
    if let Some(record) = record {
        command.arg("--record").arg(record);
    }
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
    killed_runs_resume_to_the_clean_result(base.path(), &input, None);
}

#[test]
fn a_killed_run_of_a_declared_record_resumes_to_the_clean_result() {
    let base = tempfile::tempdir().unwrap();
    let input = base.path().join("readings.csv");
    write_readings(&input, 40_000, 5);
    let record = base.path().join("record.json");
    std::fs::write(&record, READINGS).unwrap();
    killed_runs_resume_to_the_clean_result(base.path(), &input, Some(&record));
}

/// Runs `input` once cleanly, then kills runs of it at points spread over the clean run's
/// time and resumes each: every resumed run ends with the clean run's bytes and items.
fn killed_runs_resume_to_the_clean_result(base: &Path, input: &Path, record: Option<&Path>) {
    let clean_dir = base.join("clean");
    let clean_output = clean_dir.join("result.csv");
    std::fs::create_dir_all(&clean_dir).unwrap();
    let started = Instant::now();
    let clean = eventdriven(&clean_dir, input, &clean_output, record).output().unwrap();
    let clean_ms = started.elapsed().as_millis() as f64;
    assert!(clean.status.success(), "{}", String::from_utf8_lossy(&clean.stderr));
    let expected = std::fs::read(&clean_output).unwrap();

    // Kill points spread over the clean run's duration, whatever this machine's speed: during
    // split, early, middle and later in processing.
    for (attempt, share) in [0.02, 0.1, 0.2, 0.35, 0.5].into_iter().enumerate() {
        let delay_ms = (clean_ms * share) as u64;
        let dir = base.join(format!("crash-{attempt}"));
        let output = dir.join("result.csv");
        std::fs::create_dir_all(&dir).unwrap();
        let mut child = eventdriven(&dir, input, &output, record).spawn().unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before it could be killed at {delay_ms} ms"
        );
        child.kill().unwrap(); // SIGKILL: no clean-up runs
        child.wait().unwrap();
        let resumed = eventdriven(&dir, input, &output, record).output().unwrap();
        assert!(resumed.status.success(), "{}", String::from_utf8_lossy(&resumed.stderr));
        assert!(
            std::fs::read(&output).unwrap() == expected,
            "killed after {delay_ms} ms: result differs from a clean run"
        );
        assert_eq!(count(&dir), "40000");
    }
}
