//! Cameras recover by themselves in real-time runs: an RTSP camera server that goes away and
//! comes back is reconnected without a restart of capture, the programme keeps its cadence
//! meanwhile, and files played as live cameras are paced to their frame rate (and loop).

mod common;

use common::{config, report, Capture, RtspCameras, StatusTap};
use shared::messages::CameraState;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// The synthetic rig's calibration for 480x270 cameras, written to `dir`.
fn calibration(dir: &Path) -> String {
    let cal = dir.join("rig.toml");
    std::fs::write(
        &cal,
        shared::geometry::Calibration::synthetic(960, 480, 270).to_toml_string(),
    )
    .unwrap();
    cal.display().to_string()
}

/// Presentation times of the programme frames, from the pose log.
fn programme_pts(dir: &Path) -> Vec<u64> {
    std::fs::read_to_string(dir.join("poses.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["pts_ns"]
                .as_u64()
                .unwrap()
        })
        .collect()
}

#[test]
fn rtsp_cameras_that_go_away_and_come_back_are_recovered_without_restarting_capture() {
    let dir = tempfile::tempdir().unwrap();
    let port = common::free_port();
    let cams = RtspCameras::start(port);
    let cfg = config(
        dir.path(),
        &format!(
            "source = \"rtsp\"\nrtsp = [\"{}\", \"{}\"]\ncalibration = \"{}\"\n",
            cams.url("left"),
            cams.url("right"),
            calibration(dir.path())
        ),
        &format!(
            "record = \"{}\"\naudio = \"none\"\n",
            dir.path().join("broadcast.mp4").display()
        ),
    );
    let capture = Capture::start(&cfg);
    let pid = capture.child.id();
    let tap = StatusTap::start(&dir.path().join("rt"));
    let both = |s: &shared::messages::PlayoutStatus, restarted: bool| {
        s.cameras.len() == 2
            && s.cameras.iter().all(|c| {
                c.state == CameraState::Running
                    && c.silent_ms < 500
                    && (!restarted || c.restarts >= 1)
            })
    };
    tap.wait_for(Duration::from_secs(20), |s| both(s, false))
        .unwrap_or_else(|| panic!("both cameras never ran; see {}", capture.log.display()));
    cams.stop();
    let gone = Instant::now();
    let (_, down) = tap
        .wait_for(Duration::from_secs(10), |s| {
            s.cameras.iter().all(|c| c.state == CameraState::Down)
        })
        .expect("the status shows both cameras down");
    assert!(down.cameras.iter().all(|c| c.last_error.is_some()));
    std::thread::sleep(Duration::from_secs(3).saturating_sub(gone.elapsed()));
    let cams = RtspCameras::start(port);
    let back = Instant::now();
    let (_, up) = tap
        .wait_for(Duration::from_secs(20), |s| both(s, true))
        .unwrap_or_else(|| {
            panic!(
                "the cameras did not come back: {:?}; see {}",
                tap.latest().map(|s| s.cameras),
                capture.log.display()
            )
        });
    println!(
        "RTSP cameras back after {:.1} s ({:?})",
        back.elapsed().as_secs_f64(),
        up.cameras
            .iter()
            .map(|c| (c.name.clone(), c.restarts))
            .collect::<Vec<_>>()
    );
    std::thread::sleep(Duration::from_secs(3));
    drop(tap);
    assert_eq!(capture.child.id(), pid, "the same capture process");
    capture.stop();
    drop(cams);
    let r = report(dir.path());
    let e = &r["engine"];
    assert!(
        e["camera_down"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d.as_u64().unwrap() >= 1),
        "{e}"
    );
    assert!(
        e["filled"].as_u64().unwrap() > 0,
        "the outage was bridged: {e}"
    );
    let fout = r["playout"]["frames_out"].as_u64().unwrap();
    let check = playout::check::inspect(&dir.path().join("broadcast.mp4")).unwrap();
    assert_eq!(check.video_frames, fout, "the recording has every frame");
    // The cadence held through the startup, the outage and the return: every programme
    // frame came one frame interval after the last, give or take the 1 ms a frame by which
    // the programme follows the cameras' time stamps.
    let pts = programme_pts(dir.path());
    let gaps: Vec<u64> = pts.windows(2).map(|w| w[1] - w[0]).collect();
    let irregular: Vec<String> = gaps
        .iter()
        .enumerate()
        .filter(|(_, g)| g.abs_diff(40_000_000) > 2_000_000)
        .map(|(i, g)| format!("{:.1} ms after frame {i}", *g as f64 / 1e6))
        .collect();
    println!(
        "{} programme frames; steps {:.1}..{:.1} ms",
        pts.len(),
        *gaps.iter().min().unwrap() as f64 / 1e6,
        *gaps.iter().max().unwrap() as f64 / 1e6
    );
    assert!(irregular.is_empty(), "steps off the cadence: {irregular:?}");
}

fn make_video(path: &Path, pattern: &str, frames: u32) {
    let st = Command::new("gst-launch-1.0")
        .args([
            "-q",
            "videotestsrc",
            &format!("pattern={pattern}"),
            &format!("num-buffers={frames}"),
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

#[test]
fn files_played_as_live_cameras_are_paced_lose_nothing_and_loop() {
    let dir = tempfile::tempdir().unwrap();
    let (l, r) = (dir.path().join("left.mkv"), dir.path().join("right.mkv"));
    make_video(&l, "ball", 50);
    make_video(&r, "smpte", 50);
    let cfg = config(
        dir.path(),
        &format!(
            "source = \"files\"\nrealtime = true\nfiles = [\"{}\", \"{}\"]\ncalibration = \"{}\"\n",
            l.display(),
            r.display(),
            calibration(dir.path())
        ),
        "audio = \"none\"\n",
    );
    let capture = Capture::start(&cfg);
    let tap = StatusTap::start(&dir.path().join("rt"));
    // Two seconds of files, played three times over.
    tap.wait_for(Duration::from_secs(30), |s| {
        s.cameras.len() == 2 && s.cameras.iter().all(|c| c.restarts >= 3)
    })
    .unwrap_or_else(|| panic!("the files did not loop; see {}", capture.log.display()));
    std::thread::sleep(Duration::from_secs(1));
    drop(tap);
    capture.stop();
    let r = report(dir.path());
    let e = &r["engine"];
    let frames = e["camera_frames"].as_array().unwrap();
    let panoramas = e["panoramas"].as_u64().unwrap();
    println!(
        "camera frames {frames:?}, panoramas {panoramas}, span {} ms, ingest dropped {}",
        e["panorama_span_ms"], e["ingest_dropped"]
    );
    assert!(panoramas >= 150, "three loops of 50 frames: {e}");
    assert_eq!(e["ingest_dropped"], serde_json::json!([0, 0]), "{e}");
    assert_eq!(e["pool_exhausted"], 0, "{e}");
    // Paced: 150 frames of 25 fps take at least 5 s to play (as fast as they decode would
    // take a fraction of that).
    assert!(
        e["panorama_span_ms"].as_u64().unwrap() >= 5_000,
        "not paced: {e}"
    );
    // The loops join on the time line: frame after frame, 40 ms apart, the two cameras
    // paired (no frame went out without its partner but at the very edges).
    let missing: u64 = e["partner_missing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert!(missing <= 6, "cameras out of step across loops: {e}");
    let pts = programme_pts(dir.path());
    for w in pts.windows(2) {
        assert!(w[1] > w[0], "timestamps increase: {} then {}", w[0], w[1]);
    }
}
