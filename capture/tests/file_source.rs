//! The files source: two video files in, a stitched panorama out, through the same pipeline
//! as the cameras.

use std::path::Path;
use std::process::{Command, Stdio};

fn make_video(path: &Path, pattern: &str) {
    let st = Command::new("gst-launch-1.0")
        .args([
            "-q",
            "videotestsrc",
            &format!("pattern={pattern}"),
            "num-buffers=50",
            "!",
            "video/x-raw,width=480,height=270,framerate=25/1",
            "!",
            "x264enc",
            "speed-preset=ultrafast",
            "!",
            "matroskamux",
            "!",
            "filesink",
            &format!("location={}", path.display()),
        ])
        .status()
        .expect("gst-launch-1.0 (gstreamer1.0-tools) is needed");
    assert!(st.success());
}

/// A rig calibration and a config using the files source with `left` and `right`.
fn files_config(dir: &Path, left: &str, right: &str) -> std::path::PathBuf {
    let cal = dir.join("rig.toml");
    std::fs::write(
        &cal,
        shared::geometry::Calibration::synthetic(960, 480, 270).to_toml_string(),
    )
    .unwrap();
    let cfg = dir.join("t.toml");
    std::fs::write(
        &cfg,
        format!(
            "[runtime]\ndir = \"{}\"\n[capture]\nsource = \"files\"\nfiles = [\"{left}\", \"{right}\"]\ncalibration = \"{}\"\ntable_cache = \"{}\"\n",
            dir.join("rt").display(),
            cal.display(),
            dir.join("cache").display()
        ),
    )
    .unwrap();
    cfg
}

#[test]
fn two_files_are_stitched_into_a_panorama() {
    let dir = tempfile::tempdir().unwrap();
    let (l, r) = (dir.path().join("left.mkv"), dir.path().join("right.mkv"));
    make_video(&l, "ball");
    make_video(&r, "smpte");
    let cfg = files_config(
        dir.path(),
        &l.display().to_string(),
        &r.display().to_string(),
    );
    let out = dir.path().join("pano.mkv");
    let st = Command::new(env!("CARGO_BIN_EXE_capture"))
        .arg("--config")
        .arg(&cfg)
        .args(["panorama", "--seconds", "1", "--out"])
        .arg(&out)
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success());
    let check = playout::check::inspect(&out).unwrap();
    assert_eq!(check.video_frames, 25);
    assert!(check.monotonic);
}

#[test]
fn a_missing_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = files_config(
        dir.path(),
        "/nonexistent/left.mkv",
        "/nonexistent/right.mkv",
    );
    let out = Command::new(env!("CARGO_BIN_EXE_capture"))
        .arg("--config")
        .arg(&cfg)
        .args(["panorama", "--seconds", "1", "--out"])
        .arg(dir.path().join("p.mkv"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() || err.contains("/nonexistent/left.mkv"),
        "{err}"
    );
    assert!(
        err.contains("/nonexistent/left.mkv") || err.contains("left.mkv"),
        "the error names the file: {err}"
    );
}
