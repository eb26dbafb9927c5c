//! Kill points for `local-cloud`: a run of several chunks, killed with every process it
//! started (a machine crash) at seeded random points, merge included, then resumed by a restart,
//! ends as a clean run does: the same result and rejects, byte for byte, each valid row once in
//! the table, and the work directory left as a clean run leaves it.
//! Ignored by a plain `cargo test`; `tests/acceptance.sh` runs it.

mod common;

use std::collections::{BTreeMap, HashSet};
use std::hash::{BuildHasher, Hasher};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{AttributeValue, DeleteRequest, WriteRequest};
use common::*;
use serde_json::Value;

/// Rows of the generated input, to which two bad rows are added: 16 chunks.
const ROWS: u64 = 6_000;
const LINES_PER_CHUNK: u64 = 400;
/// How many kill points the test tries.
const KILL_POINTS: usize = 10;
/// The last points wait for Merge to start and kill within it, a share of a clean Merge later
/// (a share of the whole run rarely lands in a step this short); the very last, once merge has
/// published the result, before the run has left Merge.
const MERGE_POINTS: usize = 3;
/// The name of the merge state in the deployed definition.
const MERGE: &str = "Merge";
/// How long a run, clean or resumed, may take.
const RUN_WITHIN: Duration = Duration::from_secs(180);

/// The seed of the kill points: `KILL_SEED` to replay a failure, else a new one, printed.
fn kill_seed() -> u64 {
    let seed = std::env::var("KILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| std::collections::hash_map::RandomState::new().build_hasher().finish());
    eprintln!("kill points seeded with KILL_SEED={seed}");
    seed
}

/// SplitMix64: enough randomness to place kill points, and the same points for the same seed.
struct Points(u64);

impl Points {
    /// A number in [0, 1).
    fn share(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) as f64 / (u64::MAX as f64 + 1.0)
    }
}

/// A generated order file with a row missing a field and one with a text Order ID; returns the
/// valid rows' Order IDs.
fn input_with_bad_rows(dir: &Path) -> (PathBuf, HashSet<String>) {
    let mut lines = generate_orders(&dir.join("generated.csv"), ROWS, 11);
    lines.insert(7, "Asia,Japan,Fruits,Offline,M,7/27/2012".into());
    lines.insert(
        4_000,
        "Asia,Japan,Fruits,Offline,M,7/27/2012,abc,7/28/2012,1,9.33,6.92,9.33,6.92,2.41".into(),
    );
    let file = dir.join("orders.csv");
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    let valid = lines[1..]
        .iter()
        .filter(|line| line.split(',').count() == 14)
        .map(|line| line.split(',').nth(6).unwrap().to_owned())
        .filter(|id| id.parse::<u64>().is_ok())
        .collect();
    (file, valid)
}

/// One execution as local-cloud's records show it (`<state dir>/executions/*/`).
struct Seen {
    name: String,
    status: String,
    /// The states entered and not yet left, in the order they were entered.
    open: Vec<String>,
}

impl Seen {
    fn in_state(&self, state: &str) -> bool {
        self.open.iter().any(|open| open == state)
    }
}

/// The names of the executions recorded in `state_dir`.
fn recorded(state_dir: &Path) -> HashSet<String> {
    records(state_dir).into_iter().map(|(_, name, _)| name).collect()
}

/// `(directory, name, status)` of every execution recorded in `state_dir`.
fn records(state_dir: &Path) -> Vec<(PathBuf, String, String)> {
    let Ok(dirs) = std::fs::read_dir(state_dir.join("executions")) else {
        return Vec::new();
    };
    dirs.flatten()
        .filter_map(|dir| {
            let record: Value = serde_json::from_slice(&std::fs::read(dir.path().join("record.json")).ok()?).ok()?;
            Some((dir.path(), text(&record["name"]), text(&record["status"])))
        })
        .collect()
}

/// The one execution recorded in `state_dir` not among `known`, once local-cloud has taken it.
fn seen(state_dir: &Path, known: &HashSet<String>) -> Option<Seen> {
    let (dir, name, status) = records(state_dir)
        .into_iter()
        .find(|(_, name, _)| !known.contains(name))?;
    let history = std::fs::read_to_string(dir.join("history.jsonl")).unwrap_or_default();
    let mut open: Vec<String> = Vec::new();
    // A line cut short by a kill is the last one; it is skipped.
    for event in history
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
    {
        let kind = text(&event["type"]);
        let Some(state) = event
            .as_object()
            .and_then(|fields| fields.values().find_map(|v| v.get("name").and_then(Value::as_str)))
        else {
            continue;
        };
        if kind.ends_with("StateEntered") {
            open.push(state.to_owned());
        } else if kind.ends_with("StateExited")
            && let Some(at) = open.iter().rposition(|o| o == state)
        {
            open.remove(at);
        }
    }
    Some(Seen { name, status, open })
}

/// Waits until the new execution is seen and `done` holds of it.
fn wait_until(state_dir: &Path, known: &HashSet<String>, what: &str, done: impl Fn(&Seen) -> bool) -> Seen {
    let deadline = Instant::now() + RUN_WITHIN;
    loop {
        if let Some(seen) = seen(state_dir, known)
            && done(&seen)
        {
            return seen;
        }
        assert!(Instant::now() < deadline, "{what}: not within {RUN_WITHIN:?}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn ended(seen: &Seen) -> bool {
    seen.status != "RUNNING"
}

/// Whether merge has published the run's result: its marker is in the work directory.
fn merged(state_dir: &Path, name: &str) -> bool {
    std::fs::read_dir(state_dir.join("volumes"))
        .into_iter()
        .flatten()
        .flatten()
        .any(|volume| volume.path().join(name).join("merged.json").exists())
}

/// Every file under the run's work directory on the volumes, as paths relative to it.
fn work_left(state_dir: &Path, name: &str) -> Vec<String> {
    fn walk(dir: &Path, prefix: &str, found: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = format!("{prefix}{}", entry.file_name().to_string_lossy());
            if entry.file_type().unwrap().is_dir() {
                walk(&entry.path(), &format!("{path}/"), found);
            } else {
                found.push(path);
            }
        }
    }
    let mut found = Vec::new();
    for volume in std::fs::read_dir(state_dir.join("volumes"))
        .into_iter()
        .flatten()
        .flatten()
    {
        walk(&volume.path().join(name), "", &mut found);
    }
    found.sort();
    found
}

async fn object(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Option<Vec<u8>> {
    let found = s3.get_object().bucket(bucket).key(key).send().await.ok()?;
    Some(found.body.collect().await.unwrap().into_bytes().to_vec())
}

/// The result and rejects of the run `name`.
async fn published(s3: &aws_sdk_s3::Client, bucket: &str, name: &str) -> (Vec<u8>, Vec<u8>) {
    let result = object(s3, bucket, &format!("output/{name}.csv"))
        .await
        .unwrap_or_else(|| panic!("{name}: no result under output/"));
    let rejects = object(s3, bucket, &format!("output/{name}.csv.rejects.csv"))
        .await
        .unwrap_or_else(|| panic!("{name}: no rejects beside the result"));
    (result, rejects)
}

/// Every item of the table, each with its attributes in name order.
async fn items(dynamodb: &aws_sdk_dynamodb::Client, table: &str) -> Vec<BTreeMap<String, AttributeValue>> {
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let page = dynamodb
            .scan()
            .table_name(table)
            .set_exclusive_start_key(start)
            .send()
            .await
            .unwrap();
        items.extend(page.items().iter().map(|item| item.clone().into_iter().collect()));
        start = page.last_evaluated_key().cloned();
        if start.is_none() {
            return items;
        }
    }
}

/// Deletes every item, so that what a run leaves in the table is its own: a resumed run that
/// lost rows would otherwise be hidden by the earlier runs' items.
async fn empty_table(dynamodb: &aws_sdk_dynamodb::Client, table: &str) {
    let keys: Vec<AttributeValue> = items(dynamodb, table)
        .await
        .into_iter()
        .map(|item| item["OrderId"].clone())
        .collect();
    for batch in keys.chunks(25) {
        let mut requests: Vec<WriteRequest> = batch
            .iter()
            .map(|key| {
                let delete = DeleteRequest::builder().key("OrderId", key.clone()).build().unwrap();
                WriteRequest::builder().delete_request(delete).build()
            })
            .collect();
        while !requests.is_empty() {
            let written = dynamodb
                .batch_write_item()
                .request_items(table, requests)
                .send()
                .await
                .unwrap();
            requests = written
                .unprocessed_items()
                .and_then(|unprocessed| unprocessed.get(table))
                .cloned()
                .unwrap_or_default();
        }
    }
    assert!(items(dynamodb, table).await.is_empty(), "the table is empty");
}

#[tokio::test]
#[ignore = "needs terraform, fakecloud, aws and redis-server: run tests/acceptance.sh"]
async fn local_cloud_killed_at_seeded_points_merge_included_resumes_to_the_clean_result() {
    let emulator = Emulator::start("kill-points");
    emulator.create_cluster();
    let variables = local_cloud_variables("orders", LINES_PER_CHUNK, "max_concurrency = 2\nforce_destroy = true\n");
    let workspace = Workspace::new("kill-points", &emulator, &variables);
    workspace.apply(&[]);
    let pipeline = workspace.pipeline();
    let bucket = text(&pipeline["bucket"]);
    let table = text(&pipeline["table_name"]);
    let sdk = emulator.sdk().await;
    let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&sdk).force_path_style(true).build());
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    let state_dir = workspace.dir.join("local-cloud");
    let (input, valid_ids) = input_with_bad_rows(&workspace.dir);

    // A first run fetches the function's code and warms the caches, which would lengthen the
    // clean run that times the kill points.
    let cloud = LocalCloud::start(&emulator, &state_dir, &[]);
    upload(&emulator, &input, &bucket, "input/first.csv");
    let first = wait_until(&state_dir, &HashSet::new(), "the first run", ended);
    drop(cloud);
    assert_eq!(
        first.status,
        "SUCCEEDED",
        "{}",
        cli(&emulator, &state_dir, &["execution", &first.name])
    );

    // A clean run: the reference bytes, items and work directory, and the durations the kill
    // points are shares of (of the run from its upload, and of its Merge).
    empty_table(&dynamodb, &table).await;
    let earlier = recorded(&state_dir);
    let cloud = LocalCloud::start(&emulator, &state_dir, &[]);
    upload(&emulator, &input, &bucket, "input/clean.csv");
    let uploaded = Instant::now();
    wait_until(&state_dir, &earlier, "the clean run's Merge", |s| {
        s.in_state(MERGE) || ended(s)
    });
    let merge_started = Instant::now();
    wait_until(&state_dir, &earlier, "the clean run's Merge", |s| !s.in_state(MERGE));
    let merge_ms = merge_started.elapsed().as_millis() as f64;
    let clean = wait_until(&state_dir, &earlier, "the clean run", ended);
    let run_ms = uploaded.elapsed().as_millis() as f64;
    drop(cloud);
    assert_eq!(
        clean.status,
        "SUCCEEDED",
        "{}",
        cli(&emulator, &state_dir, &["execution", &clean.name])
    );
    let expected = published(&s3, &bucket, &clean.name).await;
    assert!(
        published(&s3, &bucket, &first.name).await == expected,
        "two clean runs give the same bytes"
    );
    let result = String::from_utf8(expected.0.clone()).unwrap();
    let ids: HashSet<String> = result
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap().to_owned())
        .collect();
    assert_eq!(ids, valid_ids, "the clean run's result has every valid row");
    let expected_items = {
        let mut items = items(&dynamodb, &table).await;
        items.sort_by_key(|item| format!("{item:?}"));
        items
    };
    assert_eq!(expected_items.len(), valid_ids.len(), "one item per valid row");
    let expected_work = work_left(&state_dir, &clean.name);
    eprintln!(
        "clean run {}: {run_ms} ms from its upload, Merge {merge_ms} ms; work left: {expected_work:?}",
        clean.name
    );

    let mut points = Points(kill_seed());
    let (mut killed, mut killed_in_merge) = (0, 0);
    for point in 0..KILL_POINTS {
        empty_table(&dynamodb, &table).await;
        let known = recorded(&state_dir);
        let cloud = LocalCloud::start(&emulator, &state_dir, &[]);
        upload(&emulator, &input, &bucket, &format!("input/point-{point}.csv"));
        let uploaded = Instant::now();
        let share = points.share();
        let at = if point == KILL_POINTS - 1 {
            // Right after merge published the result, before the run records that it left Merge.
            let name = wait_until(&state_dir, &known, "Merge", |s| s.in_state(MERGE) || ended(s)).name;
            let marker = wait_until(&state_dir, &known, "merged.json", |s| {
                merged(&state_dir, &name) || !s.in_state(MERGE)
            });
            format!(
                "{} ms after the upload, {}",
                uploaded.elapsed().as_millis(),
                match merged(&state_dir, &name) {
                    true if marker.in_state(MERGE) => "the result published",
                    _ => "Merge left before the result was seen published",
                }
            )
        } else if point >= KILL_POINTS - MERGE_POINTS {
            let entered = wait_until(&state_dir, &known, "Merge", |s| s.in_state(MERGE) || ended(s));
            let delay_ms = (merge_ms * 0.9 * share) as u64;
            std::thread::sleep(Duration::from_millis(delay_ms));
            format!(
                "{} + {delay_ms} ms ({:.0}% of a clean Merge)",
                if entered.in_state(MERGE) {
                    "Merge entered"
                } else {
                    "run ended"
                },
                share * 90.0
            )
        } else {
            let share = 0.01 + share * 0.98;
            let delay_ms = (run_ms * share) as u64;
            std::thread::sleep(Duration::from_millis(delay_ms));
            format!("upload + {delay_ms} ms ({:.0}% of a clean run)", share * 100.0)
        };
        cloud.crash();
        // Written as they happen, the records now show where the kill landed.
        let phase = match seen(&state_dir, &known) {
            // Running on the emulator still: counted with the points that hit no run here.
            None => "killed before taking the execution over".to_owned(),
            Some(seen) if ended(&seen) => format!("already done ({})", seen.status),
            Some(seen) => {
                killed += 1;
                if seen.in_state(MERGE) {
                    killed_in_merge += 1;
                }
                match seen.open.last() {
                    Some(state) => format!("killed in {state}"),
                    None => "killed between states".to_owned(),
                }
            }
        };
        eprintln!("point {point}: {at}, {phase}");

        let cloud = LocalCloud::start(&emulator, &state_dir, &[]);
        let run = wait_until(&state_dir, &known, "the resumed run", ended);
        drop(cloud);
        let report = || cli(&emulator, &state_dir, &["execution", &run.name]);
        assert_eq!(run.status, "SUCCEEDED", "point {point} ({phase}): {}", report());
        let (result, rejects) = published(&s3, &bucket, &run.name).await;
        assert!(
            result == expected.0,
            "point {point} ({phase}): the result differs from a clean run's"
        );
        assert!(
            rejects == expected.1,
            "point {point} ({phase}): the rejects differ from a clean run's"
        );
        let mut stored = items(&dynamodb, &table).await;
        let stored_ids: HashSet<String> = stored
            .iter()
            .map(|item| item["OrderId"].as_s().unwrap().clone())
            .collect();
        assert_eq!(
            stored.len(),
            valid_ids.len(),
            "point {point} ({phase}): one item per valid row, none twice"
        );
        assert!(
            stored_ids == valid_ids,
            "point {point} ({phase}): the items are the valid rows'"
        );
        stored.sort_by_key(|item| format!("{item:?}"));
        assert!(
            stored == expected_items,
            "point {point} ({phase}): the items differ from a clean run's"
        );
        assert_eq!(
            work_left(&state_dir, &run.name),
            expected_work,
            "point {point} ({phase}): the work directory is left as a clean run leaves it"
        );
    }
    eprintln!("{killed} of {KILL_POINTS} points killed a running run, {killed_in_merge} in Merge");
    assert!(killed > 0, "no point hit a running run");
    assert!(killed_in_merge > 0, "no point hit a run in Merge");

    workspace.ok(&["destroy", "-auto-approve", "-input=false"]);
}
