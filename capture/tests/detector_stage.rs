//! The detector stage in the engine: a stalled or slow detector never delays or drops a
//! panorama; it skips frames (counted) and publishes `RawDetections` for every frame it
//! analyses, detections or not. No sleeps: the stalled engine waits on a channel.

use capture::detector::tract_engine::TractEngine;
use capture::detector::{
    Detector, DetectorError, DetectorSink, InferenceEngine, ModelInfo, ModelOutput,
};
use capture::engine::{Engine, EngineEnd, PanoramaFrame, PanoramaPool, PanoramaSink};
use capture::ingest::IngestEvent;
use capture::stitch::{CpuStitcher, GainSettings};
use shared::config::DetectorConfig;
use shared::geometry::{Calibration, StitchLut};
use shared::image::Nv12Image;
use shared::messages::RawDetections;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{channel, Receiver};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const FRAME_NS: u64 = 40_000_000;

fn cfg(max_rate_hz: f32, thresholds: f32) -> DetectorConfig {
    DetectorConfig {
        model: Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/tiny_yolo.onnx")
            .display()
            .to_string(),
        tile_size: 128,
        tile_overlap: 16,
        thresholds: vec![thresholds],
        min_size_px: vec![0.0],
        max_size_px: vec![10_000.0],
        max_rate_hz,
        threads: 1,
        ..Default::default()
    }
}

/// An engine that waits for a go-ahead on a channel before every run (a closed channel lets
/// everything through).
struct GatedEngine {
    inner: TractEngine,
    gate: Mutex<Receiver<()>>,
    runs: Arc<AtomicU64>,
}

impl InferenceEngine for GatedEngine {
    fn name(&self) -> &'static str {
        "gated"
    }
    fn info(&self) -> &ModelInfo {
        self.inner.info()
    }
    fn infer(&mut self, input: &[f32], batch: usize) -> Result<ModelOutput, DetectorError> {
        let _ = self.gate.lock().unwrap().recv();
        self.runs.fetch_add(1, Ordering::SeqCst);
        self.inner.infer(input, batch)
    }
}

/// Counts panoramas.
struct Counter(Arc<AtomicU64>);

impl PanoramaSink for Counter {
    fn name(&self) -> &str {
        "counter"
    }
    fn frame(&mut self, _: &PanoramaFrame) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn tiny_rig() -> Calibration {
    Calibration::synthetic(480, 240, 136)
}

fn gst_frame(img: &Nv12Image) -> (gst::Buffer, gst_video::VideoInfo) {
    let info = gst_video::VideoInfo::builder(
        gst_video::VideoFormat::Nv12,
        img.width as u32,
        img.height as u32,
    )
    .build()
    .unwrap();
    assert_eq!(info.size(), img.data.len(), "packed NV12");
    (gst::Buffer::from_slice(img.data.clone()), info)
}

/// Runs the real engine over `n` synthetic frame pairs with the detector sink and a
/// counter; returns the engine's end, its panorama count and the counter's.
fn run_engine(n: u64, detector: DetectorSink, cal: &Calibration) -> (EngineEnd, u64, u64) {
    gst::init().unwrap();
    let (tx, rx) = channel();
    let cam = Nv12Image::new(240, 136);
    for i in 0..n {
        for c in 0..2 {
            let (buffer, info) = gst_frame(&cam);
            tx.send(IngestEvent::Frame {
                cam: c,
                pts_ns: i * FRAME_NS,
                buffer,
                info,
            })
            .unwrap();
        }
    }
    for c in 0..2 {
        tx.send(IngestEvent::Eos { cam: c }).unwrap();
    }
    let count = Arc::new(AtomicU64::new(0));
    let lut = StitchLut::compute(cal);
    let mut engine = Engine {
        stitcher: CpuStitcher::new(&lut, [(240, 136); 2], GainSettings::default()),
        pool: PanoramaPool::new(cal.panorama.width, cal.panorama.height, 8).unwrap(),
        gpu: None,
        sinks: vec![Box::new(detector), Box::new(Counter(count.clone()))],
        frame_ns: FRAME_NS,
        max_frames: None,
        offline: false,
        ingest_dropped: Default::default(),
        stats: Default::default(),
        live_stats: Default::default(),
    };
    let end = engine.run(rx, Arc::new(AtomicBool::new(false)));
    (end, engine.stats.panoramas, count.load(Ordering::SeqCst))
}

#[test]
fn a_stalled_detector_does_not_delay_or_drop_a_panorama() {
    let cal = tiny_rig();
    let c = cfg(120.0, 0.55);
    let (go, gate) = channel();
    let runs = Arc::new(AtomicU64::new(0));
    let engine = GatedEngine {
        inner: TractEngine::load(Path::new(&c.model), 3, 640, 1).unwrap(),
        gate: Mutex::new(gate),
        runs: runs.clone(),
    };
    let det = Detector::with_engine(&c, &cal, Box::new(engine)).unwrap();
    let (out_tx, out_rx) = channel::<RawDetections>();
    let mut sink = DetectorSink::start(det, Box::new(out_tx), c.max_rate_hz).unwrap();
    // Do not wait for the stalled frame at the end of the stream.
    sink.finish_timeout = Duration::ZERO;
    let stats = sink.stats_handle();

    let n = 40;
    let (end, panoramas, counted) = run_engine(n, sink, &cal);
    assert_eq!(end, EngineEnd::EndOfInput);
    assert_eq!(panoramas, n, "every pair became a panorama");
    assert_eq!(counted, n, "every panorama reached the next sink");
    let s = stats();
    assert_eq!(s.offered, n);
    assert_eq!(s.analysed, 0, "the engine is stalled");
    // At most one frame is held by the stalled worker; every other one was skipped.
    let skipped = s.skipped_busy + s.skipped_rate;
    assert!(skipped == n - 1 || skipped == n, "{s:?}");

    // Let the worker go: the frame it held (if any) is analysed and published.
    drop(go);
    let published: Vec<RawDetections> = out_rx.iter().collect();
    let s = stats();
    assert_eq!(published.len() as u64, s.analysed);
    assert_eq!(
        s.analysed + s.skipped_busy + s.skipped_rate + s.errors,
        n,
        "{s:?}"
    );
    assert!(runs.load(Ordering::SeqCst) <= 1);
}

#[test]
fn the_rate_cap_skips_frames_and_every_analysed_frame_is_published_even_when_empty() {
    let cal = tiny_rig();
    // Threshold 1: no detections at all.
    let c = cfg(5.0, 1.0);
    let det = Detector::from_config(&c, &cal).unwrap();
    let (out_tx, out_rx) = channel::<RawDetections>();
    let sink = DetectorSink::start(det, Box::new(out_tx), c.max_rate_hz).unwrap();
    let stats = sink.stats_handle();
    // 50 frames at 25 fps = 2 s of stream: 10 due at 5 Hz.
    let (_, panoramas, _) = run_engine(50, sink, &cal);
    assert_eq!(panoramas, 50);
    let published: Vec<RawDetections> = out_rx.iter().collect();
    let s = stats();
    assert_eq!(s.offered, 50);
    assert_eq!(s.skipped_rate, 40, "{s:?}");
    assert_eq!(s.analysed + s.skipped_busy, 10, "{s:?}");
    assert_eq!(published.len() as u64, s.analysed);
    assert!(s.analysed >= 1);
    for m in &published {
        assert!(m.detections.is_empty());
        assert_eq!(
            m.pts_ns % (5 * FRAME_NS),
            0,
            "analysed frames are 200 ms apart"
        );
        assert_eq!(m.classes.len(), 3);
    }
    assert_eq!(s.errors, 0);
}

#[test]
fn with_the_motion_cue_every_frame_is_published_once_and_in_order() {
    let cal = tiny_rig();
    let c = cfg(5.0, 0.55);
    let det = Detector::from_config(&c, &cal).unwrap();
    let cue = capture::detector::motion_cue(&c, &cal).expect("on by default");
    let (out_tx, out_rx) = channel::<RawDetections>();
    let sink = DetectorSink::start(det, Box::new(out_tx), c.max_rate_hz)
        .unwrap()
        .with_motion_cue(cue, capture::detector::stage::MAX_HOLD_NS);
    let stats = sink.stats_handle();
    let n = 50;
    let (_, panoramas, _) = run_engine(n, sink, &cal);
    assert_eq!(panoramas, n);
    let published: Vec<RawDetections> = out_rx.iter().collect();
    let s = stats();
    // The detector's frames in their places, the cue's in between: each frame once.
    assert_eq!(published.len() as u64, n, "{s:?}");
    assert!(published.windows(2).all(|w| w[0].pts_ns < w[1].pts_ns));
    let detected = published.iter().filter(|m| !m.motion).count() as u64;
    assert_eq!(detected, s.analysed, "{s:?}");
    assert!(s.analysed >= 1);
    assert_eq!(s.motion_frames, n - 5, "after the cue's warm-up: {s:?}");
    assert_eq!((s.motion_dropped, s.late), (0, 0));
}
