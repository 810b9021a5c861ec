//! An offline run never loses a frame to a busy encoder: when every panorama buffer of the
//! pool is still held downstream (an encoder behind on a loaded machine), the engine waits for
//! one instead of dropping the pair. Live runs drop (and count) instead of waiting.

use capture::engine::{Engine, PanoramaFrame, PanoramaPool, PanoramaSink};
use capture::ingest::IngestEvent;
use capture::stitch::{CpuStitcher, GainSettings};
use shared::geometry::{Calibration, StitchLut};
use std::collections::VecDeque;
use std::sync::atomic::AtomicBool;
use std::sync::mpsc::sync_channel;
use std::sync::Arc;
use std::time::Duration;

const FRAME_NS: u64 = 40_000_000;
const CAM: (u32, u32) = (240, 136);
const FRAMES: u64 = 40;

/// A slow encoder: holds the last `held` panoramas and releases the oldest 5 ms after each
/// new one arrives (on its own thread), so the pool of 4 runs out again and again.
struct SlowEncoder {
    held: Arc<std::sync::Mutex<VecDeque<gst::Buffer>>>,
    got: u64,
}

impl PanoramaSink for SlowEncoder {
    fn name(&self) -> &str {
        "slow-encoder"
    }
    fn frame(&mut self, f: &PanoramaFrame) {
        let playout::frame::FrameRef::Host(b) = &f.frame else {
            panic!("a host frame")
        };
        self.got += 1;
        self.held.lock().unwrap().push_back(b.clone());
        let held = self.held.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(30));
            held.lock().unwrap().pop_front();
        });
    }
}

fn run(offline: bool) -> (u64, u64) {
    gst::init().unwrap();
    let cal = Calibration::synthetic(480, 240, 136);
    let lut = StitchLut::compute(&cal);
    let held = Arc::new(std::sync::Mutex::new(VecDeque::new()));
    let sink = SlowEncoder {
        held: held.clone(),
        got: 0,
    };
    let mut engine = Engine {
        stitcher: CpuStitcher::new(
            &lut,
            [(CAM.0 as usize, CAM.1 as usize); 2],
            GainSettings::default(),
        ),
        pool: PanoramaPool::new(cal.panorama.width, cal.panorama.height, 4).unwrap(),
        gpu: None,
        sinks: vec![Box::new(sink)],
        frame_ns: FRAME_NS,
        max_frames: None,
        offline,
        ingest_dropped: Default::default(),
        stats: Default::default(),
        live_stats: Default::default(),
    };
    let (tx, rx) = sync_channel(2 * FRAMES as usize + 4);
    let info = gst_video::VideoInfo::builder(gst_video::VideoFormat::Nv12, CAM.0, CAM.1)
        .build()
        .unwrap();
    // Every frame at once, as a fast decoder would deliver them.
    for i in 0..FRAMES {
        for cam in 0..2 {
            tx.send(IngestEvent::Frame {
                cam,
                pts_ns: i * FRAME_NS,
                buffer: gst::Buffer::from_slice(vec![90u8; (CAM.0 * CAM.1 * 3 / 2) as usize]),
                info: info.clone(),
            })
            .unwrap();
        }
    }
    for cam in 0..2 {
        tx.send(IngestEvent::Eos { cam }).unwrap();
    }
    engine.run(rx, Arc::new(AtomicBool::new(false)));
    (engine.stats.panoramas, engine.stats.pool_exhausted)
}

#[test]
fn an_offline_engine_waits_for_a_pool_frame_and_loses_nothing() {
    let (panoramas, exhausted) = run(true);
    assert_eq!(panoramas, FRAMES, "every pair became a panorama");
    assert_eq!(exhausted, 0);
}

#[test]
fn a_live_engine_drops_and_counts_instead_of_waiting() {
    let (panoramas, exhausted) = run(false);
    assert!(exhausted > 0, "the pool ran out and it was counted");
    assert_eq!(panoramas + exhausted, FRAMES);
}
