//! `launch evaluate`: a folder that is not a demo's is refused, naming the file it needs.
//! (A demo's folder evaluated again gives its report's evaluation: `demo_restarts.rs`.)

use std::process::Command;

#[test]
fn a_folder_without_the_demos_configuration_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_launch"))
        .arg("evaluate")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("is not a demo's folder"), "{err}");
    assert!(err.contains("touchline.toml"), "{err}");
    assert!(out.stdout.is_empty(), "nothing evaluated: {out:?}");
}
