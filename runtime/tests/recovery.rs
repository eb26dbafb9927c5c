//! Killing the local run at any point and running it again gives the same result as a clean
//! run: nothing lost, nothing duplicated.

mod common;

use common::{READINGS, generated, write_readings};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How a run is cut and where its kill points fall.
#[derive(Clone, Copy)]
struct Killing {
    rows_per_chunk: u32,
    /// The shares of a clean run's time the kill points are drawn from.
    from: f64,
    to: f64,
}

/// Kill points anywhere in a run of 27 chunks.
const ANYWHERE: Killing = Killing {
    rows_per_chunk: 1500,
    from: 0.01,
    to: 0.99,
};

/// `eventdriven run` of `input` into `dir`; `record`, a declaration's file, or the order layout.
fn eventdriven(dir: &Path, input: &Path, output: &Path, record: Option<&Path>, rows_per_chunk: u32) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_eventdriven"));
    command
        .args(["run", "--run-id", "crash", "--max-lines-per-batch"])
        .arg(rows_per_chunk.to_string())
        .args(["--concurrency", "2", "--input"])
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
    killed_runs_resume_to_the_clean_result(base.path(), &input, None, ANYWHERE);
}

/// A run of more chunks than the table holds ingested runs before it compacts them (64),
/// killed in its last part: while its staged chunks' keys are merged into the table, or after.
#[test]
fn a_run_of_more_chunks_than_compaction_allows_resumes_when_killed_late() {
    let base = tempfile::tempdir().unwrap();
    let input = base.path().join("orders.csv");
    generated(&input, 40_000, 6);
    let late = Killing {
        rows_per_chunk: 400,
        from: 0.6,
        to: 0.99,
    };
    killed_runs_resume_to_the_clean_result(base.path(), &input, None, late);
}

#[test]
fn a_killed_run_of_a_declared_record_resumes_to_the_clean_result() {
    let base = tempfile::tempdir().unwrap();
    let input = base.path().join("readings.csv");
    write_readings(&input, 40_000, 5);
    let record = base.path().join("record.json");
    std::fs::write(&record, READINGS).unwrap();
    killed_runs_resume_to_the_clean_result(base.path(), &input, Some(&record), ANYWHERE);
}

/// How many kill points each test tries.
const KILL_POINTS: usize = 20;

/// The seed of the kill points: `KILL_SEED` to replay a failure, else a new one, printed.
fn kill_seed() -> u64 {
    let seed = std::env::var("KILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    eprintln!("kill points seeded with KILL_SEED={seed}");
    seed
}

/// Runs `input` once cleanly, then kills runs of it at [`KILL_POINTS`] random points over the
/// clean run's time (`killing`'s share of split, processing, merge, the table's ingestion and
/// the result's publication) and resumes each: every resumed run ends with the clean run's
/// bytes and items, none duplicated, and nothing left staged.
fn killed_runs_resume_to_the_clean_result(base: &Path, input: &Path, record: Option<&Path>, killing: Killing) {
    let clean_dir = base.join("clean");
    let clean_output = clean_dir.join("result.csv");
    std::fs::create_dir_all(&clean_dir).unwrap();
    let started = Instant::now();
    let clean = eventdriven(&clean_dir, input, &clean_output, record, killing.rows_per_chunk)
        .output()
        .unwrap();
    let mut clean_ms = started.elapsed().as_millis() as f64;
    assert!(clean.status.success(), "{}", String::from_utf8_lossy(&clean.stderr));
    let expected = std::fs::read(&clean_output).unwrap();

    // Kill points as shares of the clean run's duration, whatever this machine's speed. A run
    // that ends before its point (this run went faster) is run again all the same: a re-run of
    // a finished run must give the same bytes too.
    let mut rng = fastrand::Rng::with_seed(kill_seed());
    let mut killed = 0;
    for attempt in 0..KILL_POINTS {
        let share = killing.from + rng.f64() * (killing.to - killing.from);
        let delay_ms = (clean_ms * share) as u64;
        let dir = base.join(format!("crash-{attempt}"));
        let output = dir.join("result.csv");
        std::fs::create_dir_all(&dir).unwrap();
        let spawned = Instant::now();
        let mut child = eventdriven(&dir, input, &output, record, killing.rows_per_chunk)
            .spawn()
            .unwrap();
        let finished_in = loop {
            if child.try_wait().unwrap().is_some() {
                break Some(spawned.elapsed());
            }
            if spawned.elapsed() >= Duration::from_millis(delay_ms) {
                break None;
            }
            std::thread::sleep(Duration::from_millis(2));
        };
        let still_running = finished_in.is_none();
        if still_running {
            child.kill().unwrap(); // SIGKILL: no clean-up runs
            killed += 1;
        }
        child.wait().unwrap();
        // A run faster than the clean one (a warmer cache, a machine less busy): the points
        // that follow are shares of the fastest run seen, so that late points stay in the run.
        if let Some(took) = finished_in {
            clean_ms = clean_ms.min(took.as_millis() as f64);
        }
        eprintln!(
            "point {attempt}: {delay_ms} ms ({:.0}%), {}",
            share * 100.0,
            if still_running { "killed" } else { "already done" }
        );
        let resumed = eventdriven(&dir, input, &output, record, killing.rows_per_chunk)
            .output()
            .unwrap();
        assert!(resumed.status.success(), "{}", String::from_utf8_lossy(&resumed.stderr));
        assert!(
            std::fs::read(&output).unwrap() == expected,
            "killed after {delay_ms} ms: result differs from a clean run"
        );
        let pending = std::fs::read_dir(dir.join("orders.table").join("values"))
            .unwrap()
            .filter(|file| {
                file.as_ref()
                    .unwrap()
                    .path()
                    .extension()
                    .is_some_and(|e| e == "pending")
            })
            .count();
        assert_eq!(pending, 0, "the resumed run put every staged chunk in the table");
        assert_eq!(count(&dir), "40000", "every order once, none lost or doubled");
        std::fs::remove_dir_all(&dir).unwrap();
    }
    eprintln!("{killed} of {KILL_POINTS} points killed a running run");
    assert!(killed > 0, "no point hit a running run");
}
