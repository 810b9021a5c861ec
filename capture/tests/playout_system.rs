//! The whole capture process: synthetic source -> stitch -> delay ring (2 s) -> virtual camera
//! following a path sent over the bus -> MP4 with audio. Frame count in == frame count out,
//! the file decodes, audio and video stay in sync, a bad output leaves the others running.

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use shared::messages::{CameraPath, Keyframe, Message};
use shared::transport::{Endpoint, Publisher, PublisherOptions};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn config(dir: &Path, playout: &str) -> PathBuf {
    let p = dir.join("t.toml");
    std::fs::write(
        &p,
        format!(
            "[runtime]\ndir = \"{rt}\"\n[capture]\ntable_cache = \"{cache}\"\npanorama_width = 960\ncamera_width = 480\ncamera_height = 270\n[playout]\ndelay_s = 2.0\noutput_width = 640\noutput_height = 360\nsync_flash_period_s = 2.0\nreport = \"{report}\"\npose_log = \"{poses}\"\n{playout}",
            rt = dir.join("rt").display(),
            cache = dir.join("cache").display(),
            report = dir.join("report.json").display(),
            poses = dir.join("poses.jsonl").display(),
        ),
    )
    .unwrap();
    p
}

fn start(cfg: &Path) -> Child {
    let log = std::fs::File::create(cfg.with_extension("log")).unwrap();
    Command::new(env!("CARGO_BIN_EXE_capture"))
        .arg("--config")
        .arg(cfg)
        .stderr(Stdio::from(log))
        .spawn()
        .unwrap()
}

fn stop(mut child: Child) {
    kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).unwrap();
    let t = Instant::now();
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            assert!(s.success(), "capture exited with {s}");
            return;
        }
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "capture did not stop"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn report(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap()
}

#[test]
fn synthetic_to_mp4_through_a_2s_delay_following_a_path() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("broadcast.mp4");
    let cfg = config(dir.path(), &format!("record = \"{}\"\n", out.display()));
    let child = start(&cfg);
    // Act as the director: a path that pans slowly from -20 to +20 degrees over 12 s.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let ep = Endpoint::ipc_in(&dir.path().join("rt"), "capture-paths.sock");
        let publisher = Publisher::connect("test-director", &ep, PublisherOptions::default());
        let path = CameraPath {
            path_id: 1,
            keyframes: (0..=300)
                .map(|i| Keyframe {
                    pts_ns: i * 40_000_000,
                    yaw: -20.0 + 40.0 * i as f32 / 300.0,
                    pitch: -16.0,
                    fov: 40.0,
                })
                .collect(),
        };
        for _ in 0..30 {
            publisher
                .publish(&Message::CameraPath(path.clone()))
                .unwrap();
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    stop(child);
    let r = report(dir.path());
    let (fin, fout) = (
        r["playout"]["frames_in"].as_u64().unwrap(),
        r["playout"]["frames_out"].as_u64().unwrap(),
    );
    assert!(fin >= 100, "only {fin} frames in 6 s");
    assert_eq!(fin, fout, "every panorama is shown");
    assert_eq!(r["engine"]["panoramas"].as_u64().unwrap(), fin);
    let check = playout::check::inspect(&out).unwrap();
    assert_eq!(check.video_frames, fout, "the file has every frame");
    assert!(check.monotonic);
    assert!(
        check.av_offsets_ms.len() >= 2,
        "flashes and beeps found: {check:?}"
    );
    for o in &check.av_offsets_ms {
        assert!(o.abs() <= 20.0, "A/V offset {o} ms: {check:?}");
    }
    // The camera followed the path once it was known (after the blend).
    let poses = std::fs::read_to_string(dir.path().join("poses.jsonl")).unwrap();
    let last: serde_json::Value = serde_json::from_str(poses.lines().last().unwrap()).unwrap();
    let pts = last["pts_ns"].as_u64().unwrap();
    let expected = -20.0 + 40.0 * (pts as f64 / 40e6) / 300.0;
    assert!(
        (last["yaw"].as_f64().unwrap() - expected).abs() < 0.1,
        "last pose {last} expected yaw {expected}"
    );
    assert_eq!(last["fallback"], false);
}

#[test]
fn a_bad_output_is_reported_and_the_others_continue() {
    let dir = tempfile::tempdir().unwrap();
    let view = dir.path().join("panorama.mkv");
    let cfg = config(
        dir.path(),
        &format!(
            "record = \"/nonexistent/dir/broadcast.mp4\"\npanorama_view = \"{}\"\n",
            view.display()
        ),
    );
    let child = start(&cfg);
    std::thread::sleep(Duration::from_secs(5));
    stop(child);
    let r = report(dir.path());
    assert_eq!(r["playout"]["frames_in"], r["playout"]["frames_out"]);
    let check = playout::check::inspect(&view).unwrap();
    assert_eq!(
        check.video_frames,
        r["playout"]["frames_out"].as_u64().unwrap()
    );
}
