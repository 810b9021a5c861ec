//! `capture dataset` and `capture detector-eval` moved to `touchline-eval`; the old commands
//! still work by handing their command line over. Needs the workspace's binaries built
//! (`cargo build --workspace --bins`, as scripts/test.sh does).

use std::path::PathBuf;
use std::process::Command;

/// The `capture` binary next to this crate's `touchline-eval`.
fn capture() -> PathBuf {
    let eval = PathBuf::from(env!("CARGO_BIN_EXE_touchline-eval"));
    let capture = eval.with_file_name("capture");
    assert!(
        capture.is_file(),
        "{} is missing: build the workspace's binaries first (cargo build --workspace --bins)",
        capture.display()
    );
    capture
}

#[test]
fn capture_dataset_hands_over_to_touchline_eval() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("set");
    let run = Command::new(capture())
        .env("RUST_LOG", "warn")
        .args(["dataset", "--out"])
        .arg(&out)
        .args(["--tiles", "3", "--seed", "1", "--size", "64"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    assert!(
        stderr.contains("`capture dataset` moved to `touchline-eval dataset`"),
        "{stderr}"
    );
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("dataset.json")).unwrap()).unwrap();
    assert_eq!(summary["summary"]["tiles"].as_u64(), Some(3), "{summary}");
}

#[test]
fn capture_detector_eval_help_is_touchline_evals() {
    let run = Command::new(capture())
        .args(["detector-eval", "--help"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success());
    assert!(
        stdout.contains("Usage: touchline-eval detector-eval"),
        "{stdout}"
    );
}
