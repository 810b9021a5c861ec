//! The hand-off from a camera pipeline to the engine is bounded: a live camera drops (and
//! counts) what the engine has no room for, an offline one waits. Nothing piles up.

use capture::ingest::{CameraPipeline, CameraSource, HandOff, IngestEvent};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{sync_channel, Receiver};
use std::time::{Duration, Instant};

const W: u32 = 64;
const H: u32 = 36;
const FRAMES: u64 = 10;

fn start(block: bool, room: usize) -> (CameraPipeline, Receiver<IngestEvent>, HandOff) {
    gst::init().unwrap();
    let (tx, rx) = sync_channel(room);
    let hand_off = HandOff {
        events: tx,
        block,
        dropped: Default::default(),
    };
    let cam = CameraPipeline::start(
        0,
        "left",
        &CameraSource::Synthetic,
        (W, H),
        25,
        hand_off.clone(),
        Default::default(),
    )
    .unwrap();
    let src = cam.appsrc.clone().unwrap();
    std::thread::spawn(move || {
        for i in 0..FRAMES {
            let mut b = gst::Buffer::with_size((W * H * 3 / 2) as usize).unwrap();
            b.get_mut()
                .unwrap()
                .set_pts(gst::ClockTime::from_mseconds(40 * i));
            if src.push_buffer(b).is_err() {
                return;
            }
        }
        let _ = src.end_of_stream();
    });
    (cam, rx, hand_off)
}

/// Events until the end of stream (or 10 s without one).
fn drain(rx: &Receiver<IngestEvent>) -> Vec<u64> {
    let mut pts = Vec::new();
    loop {
        match rx.recv_timeout(Duration::from_secs(10)) {
            Ok(IngestEvent::Frame { pts_ns, .. }) => pts.push(pts_ns),
            Ok(IngestEvent::Eos { .. }) => return pts,
            Ok(IngestEvent::Error { message, .. } | IngestEvent::Down { message, .. }) => {
                panic!("camera error: {message}")
            }
            Err(e) => panic!("no end of stream: {e}"),
        }
    }
}

#[test]
fn a_live_camera_drops_and_counts_what_a_stalled_engine_has_no_room_for() {
    let (mut cam, rx, hand_off) = start(false, 2);
    // The engine takes nothing until every frame has reached the sink: two wait, eight go.
    let deadline = Instant::now() + Duration::from_secs(10);
    while hand_off.dropped.load(Ordering::Relaxed) < FRAMES - 2 {
        assert!(
            Instant::now() < deadline,
            "frames were neither queued nor dropped"
        );
        std::thread::yield_now();
    }
    let pts = drain(&rx);
    assert_eq!(pts, vec![0, 40_000_000], "the oldest two waited");
    assert_eq!(hand_off.dropped.load(Ordering::Relaxed), FRAMES - 2);
    cam.stop();
}

#[test]
fn an_offline_camera_waits_for_the_engine_and_loses_nothing() {
    let (mut cam, rx, hand_off) = start(true, 2);
    // Give the camera time to run into the full hand-off (a live one drops eight here).
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(hand_off.dropped.load(Ordering::Relaxed), 0);
    let pts = drain(&rx);
    assert_eq!(pts, (0..FRAMES).map(|i| i * 40_000_000).collect::<Vec<_>>());
    assert_eq!(hand_off.dropped.load(Ordering::Relaxed), 0);
    cam.stop();
}
