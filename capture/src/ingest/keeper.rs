//! Keeps a camera going: owns its pipeline on a thread of its own and, in real-time runs,
//! builds it again after an error or an end of stream (with backoff), while the engine goes
//! on with the other camera (or with the last frames of both, see `Pairer::fill`). In offline
//! runs an end is final and goes to the engine as it is.
//!
//! Time line of a rebuilt pipeline: a live source keeps the time base, so its timestamps go
//! on where they were; a file (played as a live camera) starts again from its beginning one
//! frame after its last frame, so both cameras' files, looping together, stay paired.

use super::camera::{
    CameraError, CameraExtras, CameraPipeline, HandOff, IngestEvent, PipelineEnd, SharedByCameras,
    TimeBase,
};
use super::health::{CameraRetry, CameraWatch};
use super::sources::CameraSource;
use shared::messages::CameraState;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A file that played this long before its end is started again at once (a loop); a shorter
/// run backs off like a failure.
const PLAYED_THROUGH: Duration = Duration::from_secs(1);

/// A camera that stops delivering without an error (a hung encoder, a network path that
/// drops everything) is restarted after this silence; a new pipeline gets longer for its
/// first frame (connection, first key frame).
const SILENCE_LIMIT: Duration = Duration::from_secs(5);
const FIRST_FRAME_LIMIT: Duration = Duration::from_secs(10);

/// Everything needed to build one camera's pipeline again.
#[derive(Clone)]
pub struct CameraSpec {
    pub cam: usize,
    pub name: String,
    pub source: CameraSource,
    pub size: (u32, u32),
    pub fps: u32,
    /// The configuration key of this camera's source, for messages (`capture.rtsp[1]`).
    pub key: String,
    /// A file: a rebuild plays it again after its last frame (see the module doc).
    pub replays: bool,
    /// Pace frames to their timestamps (files in real-time runs).
    pub sync: bool,
    /// Stamp frames on arrival less this latency, ns (RTSP; see [`CameraExtras`]).
    pub stamp_on_arrival: Option<u64>,
    pub cuda_context: Option<gst::Context>,
    pub time_base: Option<TimeBase>,
}

impl CameraSpec {
    fn build(
        &self,
        hand_off: &HandOff,
        ends: std::sync::mpsc::Sender<PipelineEnd>,
        watch: &Arc<Mutex<CameraWatch>>,
        offset_ns: u64,
    ) -> Result<CameraPipeline, CameraError> {
        CameraPipeline::start_with(
            self.cam,
            &self.name,
            &self.source,
            self.size,
            self.fps,
            hand_off.clone(),
            SharedByCameras {
                cuda_context: self.cuda_context.as_ref(),
                time_base: self.time_base.as_ref(),
            },
            CameraExtras {
                ends: Some(ends),
                offset_ns,
                sync: self.sync,
                watch: Some(watch.clone()),
                stamp_on_arrival: self.stamp_on_arrival,
            },
        )
    }
}

/// A camera and the thread that keeps it.
pub struct KeptCamera {
    pub cam: usize,
    /// The `appsrc` of a synthetic camera (never rebuilt).
    pub appsrc: Option<gst_app::AppSrc>,
    pub watch: Arc<Mutex<CameraWatch>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl KeptCamera {
    /// Builds the camera's first pipeline now (an error here is the caller's: a source that
    /// cannot even start is a configuration problem) and starts its keeper. `retry`: rebuild
    /// after failures (real-time runs); `None`: an end is final.
    pub fn start(
        spec: CameraSpec,
        hand_off: HandOff,
        retry: Option<CameraRetry>,
    ) -> Result<KeptCamera, CameraError> {
        let watch = Arc::new(Mutex::new(CameraWatch::new(
            &spec.name,
            retry.unwrap_or_default(),
            Instant::now(),
        )));
        let (ends_tx, ends_rx) = channel();
        let first = spec.build(&hand_off, ends_tx.clone(), &watch, 0)?;
        let appsrc = first.appsrc.clone();
        let stop = Arc::new(AtomicBool::new(false));
        let keeper = Keeper {
            spec,
            hand_off,
            watch: watch.clone(),
            retry,
            ends_tx,
            ends_rx,
            stop: stop.clone(),
        };
        let cam = keeper.spec.cam;
        let thread = std::thread::Builder::new()
            .name(format!("cam{cam}-keeper"))
            .spawn(move || keeper.run(first))
            .expect("spawn camera keeper");
        Ok(KeptCamera {
            cam,
            appsrc,
            watch,
            stop,
            thread: Some(thread),
        })
    }

    /// Stops the camera for good.
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for KeptCamera {
    fn drop(&mut self) {
        self.stop();
    }
}

struct Keeper {
    spec: CameraSpec,
    hand_off: HandOff,
    watch: Arc<Mutex<CameraWatch>>,
    retry: Option<CameraRetry>,
    ends_tx: std::sync::mpsc::Sender<PipelineEnd>,
    ends_rx: Receiver<PipelineEnd>,
    stop: Arc<AtomicBool>,
}

impl Keeper {
    fn watch(&self) -> std::sync::MutexGuard<'_, CameraWatch> {
        self.watch.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The next end of the running pipeline, or `None` once stopped. When cameras are kept
    /// going, a silent camera ends too (see [`SILENCE_LIMIT`]).
    fn wait_end(&self) -> Option<PipelineEnd> {
        loop {
            if self.stop.load(Ordering::Relaxed) {
                return None;
            }
            if self.retry.is_some() {
                let h = self.watch().health(Instant::now());
                let limit = match h.state {
                    CameraState::Starting => Some(FIRST_FRAME_LIMIT),
                    CameraState::Running => Some(SILENCE_LIMIT),
                    _ => None,
                };
                if let Some(limit) = limit.filter(|l| h.silent_ms > l.as_millis() as u64) {
                    return Some(PipelineEnd::Error(format!(
                        "no frame for {:.1} s (limit {} s)",
                        h.silent_ms as f64 / 1000.0,
                        limit.as_secs()
                    )));
                }
            }
            match self.ends_rx.recv_timeout(Duration::from_millis(100)) {
                Ok(end) => return Some(end),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return None,
            }
        }
    }

    /// Sleeps `d` unless stopped first; false when stopped.
    fn pause(&self, d: Duration) -> bool {
        let until = Instant::now() + d;
        while Instant::now() < until {
            if self.stop.load(Ordering::Relaxed) {
                return false;
            }
            std::thread::sleep((until - Instant::now()).min(Duration::from_millis(50)));
        }
        !self.stop.load(Ordering::Relaxed)
    }

    fn run(self, first: CameraPipeline) {
        let cam = self.spec.cam;
        let frame_ns = 1_000_000_000 / self.spec.fps.max(1) as u64;
        let mut pipeline = first;
        let mut offset_ns = 0u64;
        let mut built_at = Instant::now();
        loop {
            let end = self.wait_end();
            let last_running = pipeline.last_running_ns();
            pipeline.stop();
            // Whatever else the stopped pipeline said is about it, not its successor.
            while self.ends_rx.try_recv().is_ok() {}
            let Some(end) = end else {
                self.watch().ended(None);
                return;
            };
            let (message, is_eos) = match &end {
                PipelineEnd::Eos => ("end of stream".to_string(), true),
                PipelineEnd::Error(e) => (e.clone(), false),
            };
            if self.retry.is_none() {
                self.watch().ended((!is_eos).then(|| message.clone()));
                let _ = self.hand_off.events.send(match end {
                    PipelineEnd::Eos => IngestEvent::Eos { cam },
                    PipelineEnd::Error(message) => IngestEvent::Error { cam, message },
                });
                return;
            }
            let now = Instant::now();
            let mut delay = self.watch().failed(now, message.clone());
            if is_eos && self.spec.replays && now.duration_since(built_at) >= PLAYED_THROUGH {
                // A file played through: loop at once, on the time line after its end.
                delay = Duration::ZERO;
            }
            offset_ns = self.next_offset(offset_ns, last_running, frame_ns, is_eos);
            if !is_eos || !self.spec.replays {
                tracing::warn!(message = "Camera down; restarting it. The broadcast goes on without it.", camera = %self.spec.name, source = %self.spec.key, error = %message, retry_in_ms = delay.as_millis() as u64);
            } else {
                tracing::info!(message = "Camera file ended; playing it again.", camera = %self.spec.name, source = %self.spec.key);
            }
            let _ = self.hand_off.events.send(IngestEvent::Down {
                cam,
                message,
                eos: is_eos,
            });
            loop {
                if !self.pause(delay) {
                    self.watch().ended(None);
                    return;
                }
                match self
                    .spec
                    .build(&self.hand_off, self.ends_tx.clone(), &self.watch, offset_ns)
                {
                    Ok(p) => {
                        pipeline = p;
                        built_at = Instant::now();
                        self.watch().rebuilt(built_at);
                        tracing::info!(message = "Camera restarted.", camera = %self.spec.name, source = %self.spec.key);
                        break;
                    }
                    Err(e) => {
                        delay = self.watch().rebuild_failed(Instant::now(), e.to_string());
                        tracing::warn!(message = "Camera cannot restart yet; trying again.", camera = %self.spec.name, source = %self.spec.key, error = %e, retry_in_ms = delay.as_millis() as u64);
                    }
                }
            }
        }
    }

    /// Timestamp offset of the next incarnation: a file after a clean end goes on one frame
    /// after its last frame; a file after an error, at the time base's now; a live source
    /// keeps its time line (no offset).
    fn next_offset(&self, offset_ns: u64, last_running: u64, frame_ns: u64, is_eos: bool) -> u64 {
        if !self.spec.replays {
            return 0;
        }
        if is_eos {
            return offset_ns + last_running + frame_ns;
        }
        match &self.spec.time_base {
            Some(t) => t.elapsed_ns().div_ceil(frame_ns) * frame_ns,
            None => offset_ns + last_running + frame_ns,
        }
    }
}
