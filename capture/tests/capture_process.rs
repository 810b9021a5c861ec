//! The capture binary as a process: the panorama file, frame ticks on the bus, a clean stop,
//! and clear errors for bad calibration.

use gst::prelude::*;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use shared::messages::Message;
use shared::transport::{Endpoint, Subscriber, SubscriberOptions};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

fn capture() -> Command {
    Command::new(env!("CARGO_BIN_EXE_capture"))
}

fn config(dir: &Path, extra: &str) -> PathBuf {
    let p = dir.join("t.toml");
    std::fs::write(
        &p,
        format!(
            "[runtime]\ndir = \"{}\"\n[analyzer]\npanorama_width = 960\n[capture]\ntable_cache = \"{}\"\npanorama_width = 960\ncamera_width = 480\ncamera_height = 270\n{extra}",
            dir.join("rt").display(),
            dir.join("cache").display()
        ),
    )
    .unwrap();
    p
}

/// Decodes a video file and counts its frames, checking the timestamps increase.
fn decoded_frames(path: &Path) -> u64 {
    gst::init().unwrap();
    let p = gst::parse::launch(&format!(
        "filesrc location={} ! decodebin ! appsink name=s sync=false",
        path.display()
    ))
    .unwrap()
    .downcast::<gst::Pipeline>()
    .unwrap();
    let sink = p
        .by_name("s")
        .unwrap()
        .downcast::<gst_app::AppSink>()
        .unwrap();
    p.set_state(gst::State::Playing).unwrap();
    let mut n = 0;
    let mut last = None;
    while let Some(s) = sink.try_pull_sample(gst::ClockTime::from_seconds(10)) {
        let pts = s.buffer().and_then(|b| b.pts());
        assert!(pts > last, "timestamps must increase");
        last = pts;
        n += 1;
    }
    p.set_state(gst::State::Null).unwrap();
    n
}

#[test]
fn panorama_subcommand_writes_a_decodable_file_with_every_frame() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), "");
    for name in ["p.mp4", "p.mkv"] {
        let out = dir.path().join(name);
        let st = capture()
            .arg("--config")
            .arg(&cfg)
            .args(["panorama", "--seconds", "2", "--out"])
            .arg(&out)
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(st.success());
        assert_eq!(decoded_frames(&out), 50, "{name}: 2 s at 25 fps");
    }
}

#[test]
fn capture_publishes_a_tick_per_panorama_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), "");
    let mut child = capture()
        .arg("--config")
        .arg(&cfg)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let ticks = rt.block_on(async {
        let ep = Endpoint::ipc_in(&dir.path().join("rt"), "capture-pub.sock");
        let mut sub = Subscriber::connect(
            "t",
            &[ep],
            SubscriberOptions {
                topics: vec!["tick".into()],
                ..Default::default()
            },
        );
        let mut ticks = Vec::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while ticks.len() < 20 {
            match tokio::time::timeout_at(deadline, sub.recv()).await {
                Ok(Some(r)) => {
                    if let Message::FrameTick(t) = r.message {
                        ticks.push(t)
                    }
                }
                _ => break,
            }
        }
        ticks
    });
    assert!(ticks.len() >= 20, "only {} ticks", ticks.len());
    for w in ticks.windows(2) {
        assert_eq!(w[1].seq, w[0].seq + 1, "no frame skipped");
        assert_eq!(w[1].pts_ns - w[0].pts_ns, 40_000_000, "25 fps timestamps");
    }
    assert_eq!((ticks[0].width, ticks[0].height), (960, 320));
    kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).unwrap();
    let status = shared::process::wait_exit(&mut child, Duration::from_secs(2))
        .unwrap()
        .expect("capture stops within 2 s of SIGTERM");
    assert!(status.success(), "{status}");
}

#[test]
fn bad_calibration_is_a_clear_start_up_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut cal = shared::geometry::Calibration::synthetic(960, 480, 270);
    cal.cameras[0].yaw_deg = -100.0;
    cal.cameras[1].yaw_deg = 100.0;
    let calp = dir.path().join("cal.toml");
    std::fs::write(&calp, cal.to_toml_string()).unwrap();
    let cfg = config(
        dir.path(),
        &format!("calibration = \"{}\"\n", calp.display()),
    );
    let out = capture().arg("--config").arg(&cfg).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("do not overlap") && err.contains("cal.toml"),
        "{err}"
    );

    // A non-finite value reaches the calibration's own check (not a parse error).
    let mut nan = shared::geometry::Calibration::synthetic(960, 480, 270);
    nan.cameras[0].fx = f64::NAN;
    let text = nan.to_toml_string();
    assert!(text.contains("fx = nan"), "{text}");
    std::fs::write(&calp, text).unwrap();
    let out = capture().arg("--config").arg(&cfg).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cal.toml") && err.contains("cameras[0] (left)") && err.contains("fx"),
        "{err}"
    );
}

#[test]
fn missing_trajectory_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), "trajectory = \"/nonexistent/ball.csv\"\n");
    let out = capture()
        .arg("--config")
        .arg(&cfg)
        .args(["panorama", "--seconds", "1", "--out"])
        .arg(dir.path().join("x.mkv"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/nonexistent/ball.csv"), "{err}");
}

#[test]
fn unwritable_panorama_output_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), "");
    let out = capture()
        .arg("--config")
        .arg(&cfg)
        .args([
            "panorama",
            "--seconds",
            "1",
            "--out",
            "/nonexistent/dir/p.mp4",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/nonexistent/dir"), "{err}");
}
