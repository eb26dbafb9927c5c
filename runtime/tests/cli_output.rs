//! The binary's standard output as a shell pipeline uses it.

use std::io::Read;
use std::process::{Command, Stdio};

#[test]
fn a_reader_that_stops_early_is_no_failure() {
    // `eventdriven generate --output - | head`: far more than a pipe holds, read for a moment.
    let mut child = Command::new(env!("CARGO_BIN_EXE_eventdriven"))
        .args(["generate", "--rows", "200000", "--output", "-"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut header = [0u8; 6];
    child.stdout.take().unwrap().read_exact(&mut header).unwrap();
    assert_eq!(&header, b"Region");
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{:?}", out.status);
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}
