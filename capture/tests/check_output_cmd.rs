//! `capture check-output`: what launch's demo evaluation runs to decode the programme files
//! (launch has no GStreamer). Its success path runs in every demo test (launch/tests); here the
//! errors, which launch shows as the evaluation's problems.

use std::process::Command;

fn check_output(file: &std::path::Path) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_capture"))
        .arg("check-output")
        .arg(file)
        .env_remove("RUST_BACKTRACE")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_missing_or_undecodable_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("broadcast.mp4");
    let (ok, stdout, err) = check_output(&missing);
    assert!(!ok && stdout.is_empty());
    assert!(
        err.contains(&format!("Error: {}: no such file", missing.display())),
        "{err}"
    );

    let junk = dir.path().join("junk.mp4");
    std::fs::write(&junk, b"not a video").unwrap();
    let (ok, _, err) = check_output(&junk);
    assert!(!ok);
    assert!(
        err.contains(&format!("Error: {}: cannot decode", junk.display())),
        "{err}"
    );
}
