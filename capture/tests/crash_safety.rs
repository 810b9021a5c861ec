//! A capture killed with SIGKILL mid-recording leaves an MP4 that plays up to within a second
//! of the kill (the file is written in half-second fragments), and a capture started again
//! writes a new file beside it instead of overwriting it.

mod common;

use common::{config, Capture, StatusTap};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::time::{Duration, Instant};

#[test]
fn sigkill_mid_recording_leaves_a_file_that_plays_up_to_the_kill() {
    let dir = tempfile::tempdir().unwrap();
    let rec = dir.path().join("broadcast.mp4");
    let cfg = config(dir.path(), "", &format!("record = \"{}\"\n", rec.display()));
    let mut capture = Capture::start(&cfg);
    let tap = StatusTap::start(&dir.path().join("rt"));
    // Recording for a while: 100 frames shown (4 s of programme).
    tap.wait_for(Duration::from_secs(30), |s| s.frames_out >= 100)
        .expect("frames shown");
    std::thread::sleep(Duration::from_millis(1300));
    let (seen_at, status) = tap.all().last().cloned().unwrap();
    kill(Pid::from_raw(capture.child.id() as i32), Signal::SIGKILL).unwrap();
    let killed_at = Instant::now();
    let _ = capture.child.wait();
    // Frames shown when the kill came: the last status, plus the frames of the time since.
    let since = killed_at.duration_since(seen_at).as_secs_f64();
    let shown = status.frames_out as f64 + since * 25.0;
    let check = playout::check::inspect(&rec).expect("the killed recording decodes");
    println!(
        "killed with {shown:.0} frames shown; the file plays {} frames ({:.2} s short)",
        check.video_frames,
        (shown - check.video_frames as f64) / 25.0
    );
    assert!(check.monotonic);
    assert!(
        check.video_frames as f64 >= shown - 25.0,
        "the file plays {} frames; {shown:.0} were shown at the kill",
        check.video_frames
    );
    // Started again: the first file is kept, the new recording goes beside it.
    drop(tap);
    let size = std::fs::metadata(&rec).unwrap().len();
    let again = Capture::start(&cfg);
    let second = dir.path().join("broadcast-2.mp4");
    let t = Instant::now();
    while std::fs::metadata(&second).map_or(0, |m| m.len()) == 0 {
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "no second recording; see {}",
            again.log.display()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    again.stop();
    assert_eq!(
        std::fs::metadata(&rec).unwrap().len(),
        size,
        "not overwritten"
    );
    assert!(playout::check::inspect(&second).unwrap().video_frames > 0);
}
