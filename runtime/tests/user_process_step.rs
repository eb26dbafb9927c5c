//! A user's process step, run as its Job runs it (`eventdriven process --chunk C -- COMMAND`):
//! the command reads its chunk as a file of its own, the input's header line first, though
//! split copied nothing out of the input.

use eventdriven_core::contract;
use std::process::Command;

const HEADER: &str = "Station,Reading";

#[test]
fn a_user_command_reads_its_chunk_as_a_file_with_the_header_first() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("readings.csv");
    let rows: Vec<String> = (0..250).map(|i| format!("s{i},{}", i * 3)).collect();
    std::fs::write(&input, format!("{HEADER}\n{}\n", rows.join("\n"))).unwrap();
    let record = r#"{"key": "Station", "column": [{"header": "Station"}, {"header": "Reading", "type": "integer"}]}"#;
    let step = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_eventdriven"))
            .args(args)
            .env(contract::RUN_ID, "user")
            .env(contract::WORK_DIR, dir.path().join("work"))
            .env(contract::PIPELINE_NAME, "test")
            .env(contract::RECORD, record)
            .env_remove(contract::TABLE_URL)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let split = step(&[
        "split",
        "--input",
        input.to_str().unwrap(),
        "--max-lines-per-batch",
        "100",
    ]);
    assert!(split.contains("\"chunks\":3"), "{split}");
    assert!(
        !dir.path().join("work/user/chunks").exists(),
        "split copied the input into chunk files"
    );

    // The command checks its input's first line, then passes every row through, upper-cased.
    let command = format!(
        r#"test "$(head -n 1 "$EVENTDRIVEN_INPUT")" = "{HEADER}" && tr a-z A-Z < "$EVENTDRIVEN_INPUT" > "$EVENTDRIVEN_OUTPUT""#
    );
    for chunk in ["000000-2", "000001-102", "000002-202"] {
        let stats = step(&["process", "--chunk", chunk, "--", "sh", "-c", &command]);
        assert!(stats.contains("\"rejected\":0"), "{chunk}: {stats}");
    }
    let output = dir.path().join("result.csv");
    step(&["merge", "--output", output.to_str().unwrap()]);
    let expected = format!("{}\n{}\n", HEADER.to_uppercase(), rows.join("\n").to_uppercase());
    assert_eq!(std::fs::read_to_string(&output).unwrap(), expected);
    assert_eq!(
        std::fs::read_to_string(&input).unwrap(),
        format!("{HEADER}\n{}\n", rows.join("\n")),
        "the input is left as it was"
    );
}
