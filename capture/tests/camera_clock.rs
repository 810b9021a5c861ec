//! Two live camera pipelines started at different moments stamp frames on one time base, so
//! frames captured at the same instant carry the same timestamp and pair.

use capture::ingest::{
    camera_pipeline, CameraPipeline, CameraSource, HandOff, IngestEvent, SharedByCameras, TimeBase,
};
use std::sync::mpsc::{sync_channel, Receiver};
use std::time::Duration;

const FPS: u32 = 25;

fn live_camera(
    cam: usize,
    time_base: Option<&TimeBase>,
) -> (CameraPipeline, Receiver<IngestEvent>) {
    let (tx, rx) = sync_channel(64);
    let hand_off = HandOff {
        events: tx,
        block: false,
        dropped: Default::default(),
    };
    let source = CameraSource::Launch("videotestsrc is-live=true pattern=black".into());
    assert!(camera_pipeline(&source, 64, 36, FPS, false).contains("videotestsrc"));
    let p = CameraPipeline::start(
        cam,
        "live",
        &source,
        (64, 36),
        FPS,
        hand_off,
        SharedByCameras {
            cuda_context: None,
            time_base,
        },
    )
    .unwrap();
    (p, rx)
}

/// The timestamp of the next frame captured, what was queued before dropped.
fn next_pts(rx: &Receiver<IngestEvent>) -> u64 {
    while rx.try_recv().is_ok() {}
    match rx.recv_timeout(Duration::from_secs(5)).expect("a frame") {
        IngestEvent::Frame { pts_ns, .. } => pts_ns,
        IngestEvent::Eos { .. } => panic!("end of stream from a live source"),
        IngestEvent::Error { message, .. } | IngestEvent::Down { message, .. } => {
            panic!("camera error: {message}")
        }
    }
}

fn skew_ms(time_base: Option<&TimeBase>) -> f64 {
    gst::init().unwrap();
    let (mut a, ra) = live_camera(0, time_base);
    std::thread::sleep(Duration::from_millis(400));
    let (mut b, rb) = live_camera(1, time_base);
    std::thread::sleep(Duration::from_millis(300));
    // Both queues emptied at the same moment, then the next frame of each.
    while ra.try_recv().is_ok() || rb.try_recv().is_ok() {}
    let (pa, pb) = (next_pts(&ra), next_pts(&rb));
    a.stop();
    b.stop();
    (pa as f64 - pb as f64) / 1e6
}

#[test]
fn live_cameras_started_apart_share_one_time_base() {
    gst::init().unwrap();
    let shared = TimeBase::now();
    let with = skew_ms(Some(&shared));
    let without = skew_ms(None);
    println!("timestamp skew of frames taken together: {with:.1} ms with one time base, {without:.1} ms without");
    let frame_ms = 1e3 / FPS as f64;
    assert!(
        with.abs() <= frame_ms,
        "skew {with:.1} ms with one time base"
    );
    // Without it, the later pipeline counts from its own start (the test's own control).
    assert!(without.abs() >= 300.0, "skew {without:.1} ms without");
}
