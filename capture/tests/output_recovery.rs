//! Outputs recover by themselves: a streaming server that goes away for 5 s is reached again
//! soon after it comes back (an RTMP server, an SRT listener), while the recording beside it
//! keeps every frame. What happened is in the playout status and the final report.

mod common;

use common::{config, report, Capture, RtmpServer, SrtListener, StatusTap};
use shared::messages::OutputState;
use std::time::{Duration, Instant};

/// What a test measured about one outage.
struct Outage {
    /// From the server's return to the stream flowing into it again.
    back_after: Duration,
}

fn recording_has_every_frame(dir: &std::path::Path) {
    let r = report(dir);
    let fout = r["playout"]["frames_out"].as_u64().unwrap();
    assert_eq!(r["playout"]["frames_in"].as_u64().unwrap(), fout);
    let check = playout::check::inspect(&dir.join("broadcast.mp4")).unwrap();
    assert_eq!(
        check.video_frames, fout,
        "the recording has every frame shown"
    );
    assert!(check.monotonic);
}

#[test]
fn an_rtmp_server_stopped_for_5_s_is_streamed_to_again_and_the_recording_has_every_frame() {
    let dir = tempfile::tempdir().unwrap();
    let server = RtmpServer::start(dir.path());
    let port = server.port;
    let key_file = dir.path().join("stream.key");
    std::fs::write(&key_file, "outage-key").unwrap();
    let cfg = config(
        dir.path(),
        "",
        &format!(
            "record = \"{}\"\nrtmp_url = \"rtmp://127.0.0.1:{port}/live\"\nrtmp_key_file = \"{}\"\n",
            dir.path().join("broadcast.mp4").display(),
            key_file.display()
        ),
    );
    let capture = Capture::start(&cfg);
    let tap = StatusTap::start(&dir.path().join("rt"));
    let rtmp = |s: &shared::messages::PlayoutStatus| {
        s.outputs
            .iter()
            .find(|o| o.name.starts_with("rtmp://"))
            .cloned()
    };
    tap.wait_for(Duration::from_secs(20), |s| {
        rtmp(s).is_some_and(|o| o.state == OutputState::Running && o.bytes > 0)
    })
    .expect("the stream runs");
    server.stop();
    std::thread::sleep(Duration::from_secs(5));
    let server = RtmpServer::start_on(dir.path(), port);
    let back = Instant::now();
    let before = server.recordings().len();
    // Reached again: a new recording on the server that grows.
    let mut grown = None;
    while back.elapsed() < Duration::from_secs(15) {
        let recs = server.recordings();
        if recs.len() > before
            && std::fs::metadata(recs.last().unwrap()).map_or(0, |m| m.len()) > 50_000
        {
            grown = Some(back.elapsed());
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let outage = Outage {
        back_after: grown.expect("the stream never reached the restarted server"),
    };
    println!(
        "RTMP server back; the stream reached it again after {:.1} s",
        outage.back_after.as_secs_f64()
    );
    assert!(outage.back_after <= Duration::from_secs(10));
    let (_, s) = tap
        .wait_for(Duration::from_secs(5), |s| {
            rtmp(s).is_some_and(|o| o.state == OutputState::Running && o.restarts >= 1)
        })
        .expect("the status shows the rebuilt stream running");
    let o = rtmp(&s).unwrap();
    assert!(o.last_error.is_some(), "{o:?}");
    assert!(!o.name.contains("outage-key"), "the key is never shown");
    std::thread::sleep(Duration::from_secs(2));
    drop(tap);
    capture.stop();
    recording_has_every_frame(dir.path());
    let r = report(dir.path());
    let health = r["playout"]["output_health"].as_array().unwrap();
    let rec = health
        .iter()
        .find(|o| o["name"].as_str().unwrap().ends_with("broadcast.mp4"))
        .unwrap();
    assert_eq!(rec["restarts"], 0, "the recording never noticed: {rec}");
    assert_eq!(rec["dropped"], 0, "{rec}");
    // The second connection's recording on the server decodes.
    let second = server.recordings().last().cloned().unwrap();
    let t = Instant::now();
    loop {
        match playout::check::inspect(&second) {
            Ok(c) if c.video_frames > 25 => break,
            other if t.elapsed() > Duration::from_secs(10) => {
                panic!("{} read back as {other:?}", second.display())
            }
            _ => std::thread::sleep(Duration::from_millis(200)),
        }
    }
    let log = std::fs::read_to_string(capture_log(&cfg)).unwrap();
    assert!(!log.contains("outage-key"), "the key was logged");
}

fn capture_log(cfg: &std::path::Path) -> std::path::PathBuf {
    cfg.with_extension("log")
}

#[test]
fn an_srt_listener_stopped_for_5_s_is_streamed_to_again_and_the_recording_has_every_frame() {
    let dir = tempfile::tempdir().unwrap();
    let port = common::free_udp_port();
    let first = SrtListener::start(port, &dir.path().join("srt-1.ts"));
    let cfg = config(
        dir.path(),
        "",
        &format!(
            "record = \"{}\"\nsrt_url = \"srt://127.0.0.1:{port}\"\n",
            dir.path().join("broadcast.mp4").display(),
        ),
    );
    let capture = Capture::start(&cfg);
    let tap = StatusTap::start(&dir.path().join("rt"));
    let t = Instant::now();
    while first.bytes() < 100_000 {
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "the SRT stream never reached the listener; see {}",
            capture.log.display()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    first.stop();
    std::thread::sleep(Duration::from_secs(5));
    let second = SrtListener::start(port, &dir.path().join("srt-2.ts"));
    let back = Instant::now();
    while second.bytes() < 100_000 {
        assert!(
            back.elapsed() < Duration::from_secs(10),
            "the SRT stream did not reach the listener within 10 s of its return ({} bytes); see {}",
            second.bytes(),
            capture.log.display()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    println!(
        "SRT listener back; the stream reached it again after {:.1} s",
        back.elapsed().as_secs_f64()
    );
    std::thread::sleep(Duration::from_secs(2));
    let s = tap.latest().expect("playout status");
    let srt = s
        .outputs
        .iter()
        .find(|o| o.name.starts_with("srt://"))
        .unwrap();
    assert_eq!(srt.state, OutputState::Running, "{srt:?}");
    drop(tap);
    capture.stop();
    drop(second);
    recording_has_every_frame(dir.path());
    // What the returned listener received is a stream that decodes.
    let c = playout::check::inspect(&dir.path().join("srt-2.ts")).unwrap();
    assert!(c.video_frames > 25, "{c:?}");
}
