//! The detector in the live engine: [`DetectorSink`] is a panorama sink that hands the newest
//! admitted frame (a buffer reference, no pixel copy) to a worker thread and returns at once;
//! the worker prepares the tiles, lets the frame go, runs the model and publishes
//! `RawDetections`. A slow or stalled worker only makes frames be skipped (counted), never
//! waited for.
//!
//! With a [`MotionCue`], every host-memory frame is also looked at for a moving ball in the
//! engine's thread (about half a millisecond at 1920x640), and the cue's sightings are
//! published in frame order with the detector's results ([`InOrder`]).
//!
//! Lock order: `Shared::slot` then `Shared::stats`; `Shared::order` is taken alone. None is
//! held while analysing.

use super::handoff::{Mailbox, RateGate, RateMeter};
use super::motion::MotionCue;
use super::order::InOrder;
use super::Detector;
use crate::engine::{PanoramaFrame, PanoramaSink};
use gst_video::prelude::*;
use playout::frame::FrameRef;
use shared::image::Nv12Ref;
use shared::messages::{Message, RawDetections};
use shared::transport::Publisher;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Where the detections of each analysed frame go.
pub trait DetectionsOut: Send {
    fn send(&mut self, d: RawDetections);
}

impl DetectionsOut for Arc<Publisher> {
    fn send(&mut self, d: RawDetections) {
        // The publisher counts what it cannot send; it never blocks.
        let _ = self.publish(&Message::RawDetections(d));
    }
}

impl DetectionsOut for std::sync::mpsc::Sender<RawDetections> {
    fn send(&mut self, d: RawDetections) {
        let _ = std::sync::mpsc::Sender::send(self, d);
    }
}

pub use shared::artefacts::DetectorStats;

struct Shared {
    /// The newest admitted frame and when it was handed over.
    slot: Mutex<Mailbox<(PanoramaFrame, Instant)>>,
    wake: Condvar,
    stop: AtomicBool,
    stats: Mutex<DetectorStats>,
    /// Frame order of what is published, and where it goes (closed by the worker when it
    /// exits, after everything held is published).
    order: Mutex<(InOrder, Option<Box<dyn DetectionsOut>>)>,
    /// The motion cue's newest sighting (pts, x, y), taken by the worker before it plans a
    /// frame (the detector's focus may look there).
    cue_hint: Mutex<Option<(u64, f32, f32)>>,
}

impl Shared {
    fn bump(&self, f: impl FnOnce(&mut DetectorStats)) {
        if let Ok(mut s) = self.stats.lock() {
            f(&mut s);
        }
    }

    /// Runs `f` on the order and publishes what it releases.
    fn publish(&self, f: impl FnOnce(&mut InOrder) -> Vec<RawDetections>) {
        let counts = {
            let Ok(mut g) = self.order.lock() else {
                return;
            };
            let (order, out) = &mut *g;
            for m in f(order) {
                if let Some(out) = out.as_mut() {
                    out.send(m);
                }
            }
            order.counts
        };
        self.bump(|s| {
            s.motion_dropped = counts.dropped;
            s.late = counts.late;
        });
    }

    /// Publishes everything still held and closes the output (the worker, on its way out:
    /// nothing is published after it).
    fn close(&self) {
        self.publish(|o| o.flush());
        if let Ok(mut g) = self.order.lock() {
            g.1 = None;
        }
    }
}

/// Longest the cue's frames wait behind a frame the detector is on, by default (stream
/// time; older ones are dropped, the detector's result never).
pub const MAX_HOLD_NS: u64 = 4_000_000_000;

/// The panorama sink that feeds the detector worker.
pub struct DetectorSink {
    shared: Arc<Shared>,
    gate: RateGate,
    worker: Option<JoinHandle<()>>,
    /// Looks at every host-memory frame for a moving ball.
    cue: Option<MotionCue>,
    classes: Vec<String>,
    /// Closed by the worker when it exits.
    done: Receiver<()>,
    /// How long `finish` waits for the frame in progress before leaving the worker behind
    /// (a stalled engine must not hold up the end of the stream).
    pub finish_timeout: Duration,
    last_log: Instant,
}

/// Seconds between stats lines in the log.
const LOG_INTERVAL: Duration = Duration::from_secs(10);

impl DetectorSink {
    /// Starts the worker thread around a ready detector.
    pub fn start(
        detector: Detector,
        out: Box<dyn DetectionsOut>,
        max_rate_hz: f32,
    ) -> std::io::Result<DetectorSink> {
        let shared = Arc::new(Shared {
            slot: Mutex::new(Mailbox::default()),
            wake: Condvar::new(),
            stop: AtomicBool::new(false),
            stats: Mutex::new(DetectorStats::default()),
            order: Mutex::new((InOrder::new(MAX_HOLD_NS), Some(out))),
            cue_hint: Mutex::new(None),
        });
        let classes = detector.classes().to_vec();
        let s = shared.clone();
        let (done_tx, done) = std::sync::mpsc::channel::<()>();
        let worker = std::thread::Builder::new()
            .name("detector".into())
            .spawn(move || {
                // Dropped on exit, which closes `done`.
                let _done = done_tx;
                worker(detector, &s);
                s.close();
            })?;
        Ok(DetectorSink {
            shared,
            gate: RateGate::new(max_rate_hz),
            worker: Some(worker),
            cue: None,
            classes,
            done,
            finish_timeout: Duration::from_secs(5),
            last_log: Instant::now(),
        })
    }

    /// Adds the motion cue; the cue's frames wait at most `max_hold_ns` (stream time) behind
    /// a frame the detector is on.
    pub fn with_motion_cue(mut self, cue: MotionCue, max_hold_ns: u64) -> DetectorSink {
        if let Ok(mut g) = self.shared.order.lock() {
            g.0 = InOrder::new(max_hold_ns);
        }
        self.cue = Some(cue);
        self
    }

    /// The cue's sightings in the frame, when there is a cue and the frame is in host memory.
    fn look(&mut self, f: &PanoramaFrame) -> Option<RawDetections> {
        let cue = self.cue.as_mut()?;
        let started = Instant::now();
        let before = cue.counts;
        let detections = with_host_nv12(f, |p| {
            if p.width != cue.width() || p.height != cue.height() {
                return Err(format!(
                    "a {}x{} frame for a {}x{} motion cue",
                    p.width,
                    p.height,
                    cue.width(),
                    cue.height()
                ));
            }
            Ok(cue.observe(p.y, p.y_stride))
        })
        .ok()?;
        let us = started.elapsed().as_micros().min(u32::MAX as u128) as u32;
        let after = cue.counts;
        self.shared.bump(|s| {
            s.motion_frames += after.frames - before.frames;
            s.motion_flooded += after.flooded - before.flooded;
            s.motion_sightings += after.sightings - before.sightings;
            s.motion_us_total += u64::from(us);
        });
        Some(RawDetections {
            pts_ns: f.pts_ns,
            seq: f.seq,
            classes: self.classes.clone(),
            detections,
            inference_us: us,
            region: None,
            motion: true,
        })
    }

    /// A copy of the counters.
    pub fn stats(&self) -> DetectorStats {
        self.shared.stats.lock().map(|s| *s).unwrap_or_default()
    }

    /// A handle that reads the counters from another thread (status reports).
    pub fn stats_handle(&self) -> impl Fn() -> DetectorStats + Send + Sync + 'static {
        let s = self.shared.clone();
        move || s.stats.lock().map(|s| *s).unwrap_or_default()
    }

    /// Asks the worker to stop after its frame in progress; waits up to `finish_timeout`
    /// (a worker still busy then is left to finish alone, and said so).
    fn stop_worker(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        self.shared.wake.notify_all();
        let Some(w) = self.worker.take() else {
            return;
        };
        match self.done.recv_timeout(self.finish_timeout) {
            Err(RecvTimeoutError::Timeout) => {
                tracing::warn!(
                    message = "Detector still busy at shutdown; not waiting for it.",
                    waited_ms = self.finish_timeout.as_millis() as u64
                );
            }
            _ => {
                let _ = w.join();
            }
        }
    }
}

impl PanoramaSink for DetectorSink {
    fn name(&self) -> &str {
        "detector"
    }

    fn frame(&mut self, f: &PanoramaFrame) {
        let admitted = self.gate.admit(f.pts_ns);
        let cue = self.look(f);
        if let Some(best) = cue.as_ref().and_then(|c| c.detections.first()) {
            if let Ok(mut h) = self.shared.cue_hint.lock() {
                *h = Some((f.pts_ns, best.cx, best.cy));
            }
        }
        // Announced before the worker can have it, so that its result finds its place.
        self.shared.publish(|o| o.frame(f.pts_ns, cue, admitted));
        let replaced = if admitted {
            let old = self
                .shared
                .slot
                .lock()
                .ok()
                .and_then(|mut m| m.put((f.clone(), Instant::now())));
            self.shared.wake.notify_one();
            old.map(|(old, _)| old.pts_ns)
        } else {
            None
        };
        if let Some(pts) = replaced {
            self.shared.publish(|o| o.skipped(pts));
        }
        let replaced = replaced.is_some();
        self.shared.bump(|s| {
            s.offered += 1;
            s.skipped_rate += u64::from(!admitted);
            s.skipped_busy += u64::from(replaced);
        });
        if self.last_log.elapsed() >= LOG_INTERVAL {
            self.last_log = Instant::now();
            let s = self.stats();
            tracing::info!(
                message = "Detector stats.",
                analysed = s.analysed,
                focused = s.focused,
                rate_hz = format!("{:.2}", s.rate_hz),
                skipped_rate = s.skipped_rate,
                skipped_busy = s.skipped_busy,
                errors = s.errors,
                detections = s.detections,
                last_inference_ms = s.last_inference_us / 1000,
                last_engine_ms = s.last_engine_us / 1000,
                last_latency_ms = s.last_latency_us / 1000
            );
        }
    }

    /// Stops the worker after the frame it is on (a frame waiting in the slot is dropped and
    /// counted as skipped).
    fn finish(&mut self) {
        let waiting = self.shared.slot.lock().ok().and_then(|mut m| m.take());
        if let Some((f, _)) = waiting {
            self.shared.bump(|s| s.skipped_busy += 1);
            self.shared.publish(|o| o.skipped(f.pts_ns));
        }
        // The worker publishes what is still held when it exits (now, or after the frame it
        // is still on).
        self.stop_worker();
        let s = self.stats();
        tracing::info!(message = "Detector stopped.", stats = ?s);
    }
}

impl Drop for DetectorSink {
    fn drop(&mut self) {
        self.stop_worker();
    }
}

fn nv12_of<'a>(f: &'a gst_video::VideoFrameRef<&gst::BufferRef>) -> Result<Nv12Ref<'a>, String> {
    Ok(Nv12Ref {
        width: f.width() as usize,
        height: f.height() as usize,
        y: f.plane_data(0).map_err(|e| e.to_string())?,
        y_stride: f.plane_stride()[0] as usize,
        uv: f.plane_data(1).map_err(|e| e.to_string())?,
        uv_stride: f.plane_stride()[1] as usize,
    })
}

/// Runs `f` on a host-memory frame's pixels.
fn with_host_nv12<T>(
    frame: &PanoramaFrame,
    f: impl FnOnce(&Nv12Ref) -> Result<T, String>,
) -> Result<T, String> {
    let FrameRef::Host(buffer) = &frame.frame else {
        return Err("not a host-memory frame".into());
    };
    let info =
        gst_video::VideoInfo::builder(gst_video::VideoFormat::Nv12, frame.width, frame.height)
            .build()
            .map_err(|e| e.to_string())?;
    let mapped = gst_video::VideoFrameRef::from_buffer_ref_readable(buffer.as_ref(), &info)
        .map_err(|e| e.to_string())?;
    f(&nv12_of(&mapped)?)
}

/// Copies the frame's tiles into the detector input; the frame is released on return.
fn prepare_frame(det: &mut Detector, frame: PanoramaFrame) -> Result<(), String> {
    match &frame.frame {
        FrameRef::Host(_) => {}
        FrameRef::Cuda(f) => return det.prepare_device(&f.nv12()).map_err(|e| e.to_string()),
        FrameRef::Downloaded(_) => return Err("the detector takes pooled frames only".into()),
    }
    let tiles = det.plan_tiles(frame.pts_ns);
    with_host_nv12(&frame, |pano| {
        det.prepare_tiles(pano, &tiles).map_err(|e| e.to_string())
    })
}

fn worker(mut det: Detector, shared: &Shared) {
    super::priority::lower_current_thread(det.nice());
    let mut meter = RateMeter::new(5_000_000_000);
    let mut errors_logged = 0u64;
    loop {
        let frame = {
            let Ok(mut slot) = shared.slot.lock() else {
                return;
            };
            loop {
                if shared.stop.load(Ordering::Relaxed) {
                    return;
                }
                if let Some(f) = slot.take() {
                    break f;
                }
                slot = match shared.wake.wait(slot) {
                    Ok(s) => s,
                    Err(_) => return,
                };
            }
        };
        let (frame, handed_over) = frame;
        let started = Instant::now();
        let (pts_ns, seq) = (frame.pts_ns, frame.seq);
        if let Some((pts, x, y)) = shared.cue_hint.lock().ok().and_then(|mut h| h.take()) {
            det.cue_hint(pts, x, y);
        }
        let result =
            prepare_frame(&mut det, frame).and_then(|()| det.infer().map_err(|e| e.to_string()));
        match result {
            Ok(dets) => {
                det.observe(pts_ns, &dets);
                let focused = det.analysed_region().is_some();
                let on_cue = det.on_cue();
                let found_on_cue = on_cue && det.ball_found(&dets);
                let msg = det.message(dets, pts_ns, seq, started);
                meter.record(pts_ns);
                let (n, us) = (msg.detections.len() as u64, msg.inference_us);
                shared.publish(|o| o.detected(msg));
                let counts = det.counts;
                let (engine_us, tiles) = (det.last_engine_us, det.analysed_tiles().len() as u32);
                let transfers = det.engine().transfers();
                let latency_us = handed_over.elapsed().as_micros().min(u32::MAX as u128) as u32;
                shared.bump(|s| {
                    s.analysed += 1;
                    s.focused += u64::from(focused);
                    s.focused_on_cue += u64::from(on_cue);
                    s.found_on_cue += u64::from(found_on_cue);
                    s.detections += n;
                    s.truncated = counts.truncated;
                    s.verified = counts.verified;
                    s.verifier_rejected = counts.verifier_rejected;
                    s.unverified = counts.unverified;
                    s.seam_merged = counts.seam_merged;
                    s.last_inference_us = us;
                    s.last_engine_us = engine_us;
                    s.inference_us_total += u64::from(us);
                    s.engine_us_total += u64::from(engine_us);
                    s.tiles = tiles;
                    s.last_latency_us = latency_us;
                    s.max_latency_us = s.max_latency_us.max(latency_us);
                    s.rate_hz = meter.rate_hz();
                    s.engine_htod_bytes = transfers.htod_bytes;
                    s.engine_dtoh_bytes = transfers.dtoh_bytes;
                });
            }
            Err(e) => {
                shared.bump(|s| s.errors += 1);
                shared.publish(|o| o.skipped(pts_ns));
                errors_logged += 1;
                // The first error, then one in a hundred.
                if errors_logged % 100 == 1 {
                    tracing::warn!(message = "Detector failed on a frame; skipped.", error = %e, pts_ns, errors = errors_logged);
                }
            }
        }
    }
}
