//! One camera's GStreamer pipeline. Each camera runs in its own pipeline so that a camera
//! that fails does not stop the other one.

use super::health::CameraWatch;
use super::sources::{camera_pipeline, CameraSource};
use gst::prelude::*;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Sender, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use thiserror::Error;

/// What the camera pipelines report to the capture engine.
pub enum IngestEvent {
    Frame {
        cam: usize,
        pts_ns: u64,
        buffer: gst::Buffer,
        info: gst_video::VideoInfo,
    },
    /// The camera's stream ended (for good).
    Eos { cam: usize },
    /// The camera's pipeline failed (camera gone, file unreadable...) for good.
    Error { cam: usize, message: String },
    /// The camera failed or its stream ended, and it will be restarted: its partner's
    /// frames no longer wait for it until it delivers again.
    /// `eos`: it ended rather than failed.
    Down {
        cam: usize,
        message: String,
        eos: bool,
    },
}

/// How a pipeline ended, for whoever keeps it (see [`CameraExtras::ends`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PipelineEnd {
    Eos,
    Error(String),
}

/// Options of a camera pipeline beyond the basic ones (see [`CameraPipeline::start_with`]).
#[derive(Default)]
pub struct CameraExtras {
    /// Where the pipeline's end goes; `None`: to the engine as [`IngestEvent::Eos`] or
    /// [`IngestEvent::Error`].
    pub ends: Option<Sender<PipelineEnd>>,
    /// Added to every timestamp, and to the time base's base time: a restarted file plays on
    /// the time line after its previous run.
    pub offset_ns: u64,
    /// Pace frames to their timestamps on the time base's clock (files in real-time runs).
    pub sync: bool,
    /// Counts the frames and when they came.
    pub watch: Option<Arc<Mutex<CameraWatch>>>,
    /// Stamp each frame with the running time of its arrival at the sink, less this many
    /// nanoseconds (the source's latency), smoothed to a steady cadence
    /// ([`super::arrival`]), instead of the source's own timestamp. For RTSP cameras, whose
    /// jitter buffer's timestamps wander for seconds after every (re)connection while arrival
    /// times stay on capture's clock.
    pub stamp_on_arrival: Option<u64>,
}

#[derive(Debug, Error)]
pub enum CameraError {
    #[error("camera {cam} ({name}): cannot build its pipeline `{description}`: {reason}")]
    Build {
        cam: usize,
        name: String,
        description: String,
        reason: String,
    },
    #[error("camera {cam} ({name}): cannot start `{description}`: {reason}; check that the source exists and is reachable")]
    Start {
        cam: usize,
        name: String,
        description: String,
        reason: String,
    },
}

/// How a camera hands frames to the engine (see [`CameraPipeline::start`]).
#[derive(Clone)]
pub struct HandOff {
    /// The engine's bounded event channel.
    pub events: SyncSender<IngestEvent>,
    /// Wait for room (offline runs) instead of dropping the frame.
    pub block: bool,
    /// Frames dropped because the engine was behind.
    pub dropped: Arc<AtomicU64>,
}

/// Camera frames (both cameras together) that may wait for the engine: one second of both
/// cameras at `fps`, at least 8. Bounded so that a stalled engine cannot fill the memory.
pub fn ingest_queue_frames(fps: u32) -> usize {
    (2 * fps as usize).max(8)
}

/// One time base for both cameras' pipelines: the same clock and base time, so that a live
/// source's timestamps (running time of the moment of capture) are comparable across the
/// two pipelines and frames taken at the same instant pair, however far apart the pipelines
/// started. Without it each pipeline counts from its own start.
#[derive(Debug, Clone)]
pub struct TimeBase {
    clock: gst::Clock,
    base: gst::ClockTime,
}

impl TimeBase {
    /// The system clock, from now.
    pub fn now() -> TimeBase {
        let clock = gst::SystemClock::obtain();
        let base = clock.time();
        TimeBase { clock, base }
    }

    fn apply(&self, pipeline: &gst::Pipeline, offset_ns: u64) {
        pipeline.use_clock(Some(&self.clock));
        // No new base time on each start: ours holds.
        pipeline.set_start_time(gst::ClockTime::NONE);
        pipeline.set_base_time(self.base + gst::ClockTime::from_nseconds(offset_ns));
    }

    /// Time on this base's time line now (what a live source stamps a frame taken now with).
    pub fn elapsed_ns(&self) -> u64 {
        self.clock.time().saturating_sub(self.base).nseconds()
    }
}

/// What both cameras' pipelines share: capture's CUDA context (for a source decoding into
/// GPU memory, so that its frames are usable by our kernels) and one time base (live
/// sources).
#[derive(Debug, Clone, Copy, Default)]
pub struct SharedByCameras<'a> {
    pub cuda_context: Option<&'a gst::Context>,
    pub time_base: Option<&'a TimeBase>,
}

/// A running camera pipeline.
pub struct CameraPipeline {
    pub cam: usize,
    pub pipeline: gst::Pipeline,
    /// The `appsrc` of a synthetic camera.
    pub appsrc: Option<gst_app::AppSrc>,
    bus_thread: Option<std::thread::JoinHandle<()>>,
    bus_stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// Running time of the newest frame (before the offset), nanoseconds.
    last_running: Arc<AtomicU64>,
}

/// What the camera's appsink does with each frame: stamps it with its running time (plus
/// the camera's offset), tells the camera's watch, and hands it to the engine.
struct FrameSink {
    cam: usize,
    clock: FrameClock,
    watch: Option<Arc<Mutex<CameraWatch>>>,
    newest: Arc<AtomicU64>,
    hand_off: HandOff,
}

impl FrameSink {
    fn on_sample(&mut self, s: &gst_app::AppSink) -> Result<gst::FlowSuccess, gst::FlowError> {
        let sample = s.pull_sample().map_err(|_| gst::FlowError::Eos)?;
        let (Some(buffer), Some(caps)) = (sample.buffer_owned(), sample.caps()) else {
            return Ok(gst::FlowSuccess::Ok);
        };
        let Ok(info) = gst_video::VideoInfo::from_caps(caps) else {
            return Err(gst::FlowError::NotNegotiated);
        };
        let Some(pts) = buffer.pts() else {
            return Ok(gst::FlowSuccess::Ok);
        };
        let running = self.clock.running_ns(s, &sample, pts);
        self.newest.store(running, Ordering::Relaxed);
        if let Some(w) = &self.watch {
            w.lock()
                .unwrap_or_else(|p| p.into_inner())
                .frame(std::time::Instant::now());
        }
        let event = IngestEvent::Frame {
            cam: self.cam,
            pts_ns: running + self.clock.offset_ns,
            buffer,
            info,
        };
        hand_over(&self.hand_off, event, self.cam)
    }
}

/// What a format error of `source` should add: a source decoding into GPU memory must
/// give NV12 there.
fn gpu_hint(source: &CameraSource) -> &'static str {
    if source.in_gpu_memory() {
        "; the source must decode into NV12 in GPU memory (NVDEC): set capture.gpu_decode = false to decode into system memory"
    } else {
        ""
    }
}

/// Hands a frame to the engine: waits for room (offline) or drops it when the engine is
/// behind (live; counted, logged ever more rarely).
fn hand_over(
    hand_off: &HandOff,
    event: IngestEvent,
    cam: usize,
) -> Result<gst::FlowSuccess, gst::FlowError> {
    if hand_off.block {
        hand_off
            .events
            .send(event)
            .map_err(|_| gst::FlowError::Flushing)?;
        return Ok(gst::FlowSuccess::Ok);
    }
    match hand_off.events.try_send(event) {
        Ok(()) => {}
        Err(TrySendError::Full(_)) => {
            let n = hand_off.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if n.is_power_of_two() {
                tracing::warn!(
                    message = "Capture engine is behind; camera frame dropped at ingest.",
                    camera = cam,
                    dropped = n
                );
            }
        }
        Err(TrySendError::Disconnected(_)) => return Err(gst::FlowError::Flushing),
    }
    Ok(gst::FlowSuccess::Ok)
}

/// A frame's running time (what the time base counts): of its arrival (less the source's
/// latency, smoothed) for sources stamped on arrival, else from the buffer's timestamp and
/// segment. The time base's own clock is used where there is one: the sink's running time is
/// unknown until the pipeline has distributed its clock, and the first frames must not fall
/// back to the source's timestamps.
struct FrameClock {
    arrival_latency: Option<u64>,
    time_line: Option<TimeBase>,
    offset_ns: u64,
    smoother: super::arrival::ArrivalSmoother,
}

impl FrameClock {
    fn running_ns(
        &mut self,
        sink: &gst_app::AppSink,
        sample: &gst::Sample,
        pts: gst::ClockTime,
    ) -> u64 {
        let arrival = self.arrival_latency.and_then(|l| {
            let now = match &self.time_line {
                Some(t) => t.elapsed_ns().saturating_sub(self.offset_ns),
                None => sink.current_running_time()?.nseconds(),
            };
            Some(self.smoother.stamp(now.saturating_sub(l)))
        });
        arrival.unwrap_or_else(|| {
            sample
                .segment()
                .and_then(|seg| seg.downcast_ref::<gst::ClockTime>())
                .and_then(|seg| seg.to_running_time(pts))
                .unwrap_or(pts)
                .nseconds()
        })
    }
}

/// Where a pipeline's end goes: the keeper of the camera (which restarts it), or the engine.
fn end_sender(
    keeper: Option<Sender<PipelineEnd>>,
    events: SyncSender<IngestEvent>,
    cam: usize,
) -> impl Fn(PipelineEnd) + Clone + Send + 'static {
    move |end: PipelineEnd| match &keeper {
        Some(k) => {
            let _ = k.send(end);
        }
        None => {
            let _ = events.send(match end {
                PipelineEnd::Eos => IngestEvent::Eos { cam },
                PipelineEnd::Error(message) => IngestEvent::Error { cam, message },
            });
        }
    }
}

/// The pipeline's bus on its own thread: an error is reported through `errors` (with
/// `gpu_hint` when the format did not fit); the thread ends at an error, the end of the
/// stream or when the returned flag is set.
fn watch_bus(
    cam: usize,
    bus: gst::Bus,
    gpu_hint: &'static str,
    errors: impl Fn(PipelineEnd) + Send + 'static,
) -> (
    std::thread::JoinHandle<()>,
    Arc<std::sync::atomic::AtomicBool>,
) {
    let bus_stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop_flag = bus_stop.clone();
    let thread = std::thread::Builder::new()
        .name(format!("cam{cam}-bus"))
        .spawn(move || {
            // Polls with a timeout: a bus set to flushing (pipeline stopped) delivers
            // nothing more, so the stop flag is what ends this thread.
            while !stop_flag.load(std::sync::atomic::Ordering::Relaxed) {
                let Some(msg) = bus.timed_pop(gst::ClockTime::from_mseconds(100)) else {
                    continue;
                };
                match msg.view() {
                    gst::MessageView::Error(e) => {
                        let message = format!(
                            "{} ({}){}",
                            e.error(),
                            e.debug().map(|d| d.to_string()).unwrap_or_default(),
                            if e.error().matches(gst::StreamError::Format)
                                || e.debug().is_some_and(|d| d.contains("not-negotiated"))
                            {
                                gpu_hint
                            } else {
                                ""
                            }
                        );
                        errors(PipelineEnd::Error(message));
                        break;
                    }
                    gst::MessageView::Eos(_) => break,
                    _ => {}
                }
            }
        })
        .expect("spawn bus thread");
    (thread, bus_stop)
}

impl CameraPipeline {
    /// Builds the pipeline, connects its sink to `events` and starts it, with what the two
    /// cameras share (see [`SharedByCameras`]).
    ///
    /// `hand_off.events` is bounded. When it is full (the engine is behind), an offline run
    /// (`hand_off.block`) waits, which holds the decoder back; a live one drops the new frame
    /// and counts it in `hand_off.dropped`, so that frames never pile up in memory (GPU
    /// memory, for NVDEC output) and the camera pipeline never stalls.
    pub fn start(
        cam: usize,
        name: &str,
        source: &CameraSource,
        size: (u32, u32),
        fps: u32,
        hand_off: HandOff,
        shared: SharedByCameras<'_>,
    ) -> Result<CameraPipeline, CameraError> {
        Self::start_with(
            cam,
            name,
            source,
            size,
            fps,
            hand_off,
            shared,
            CameraExtras::default(),
        )
    }

    /// [`CameraPipeline::start`] with [`CameraExtras`].
    #[allow(clippy::too_many_arguments)]
    pub fn start_with(
        cam: usize,
        name: &str,
        source: &CameraSource,
        size: (u32, u32),
        fps: u32,
        hand_off: HandOff,
        shared: SharedByCameras<'_>,
        extras: CameraExtras,
    ) -> Result<CameraPipeline, CameraError> {
        let description = camera_pipeline(source, size.0, size.1, fps, extras.sync);
        let build_err = |reason: String| CameraError::Build {
            cam,
            name: name.to_string(),
            description: description.clone(),
            reason,
        };
        let pipeline = gst::parse::launch(&description)
            .map_err(|e| build_err(e.to_string()))?
            .downcast::<gst::Pipeline>()
            .map_err(|_| build_err("not a pipeline".into()))?;
        let sink = pipeline
            .by_name("sink")
            .and_then(|e| e.downcast::<gst_app::AppSink>().ok())
            .ok_or_else(|| build_err("no appsink named `sink`".into()))?;
        let appsrc = pipeline
            .by_name("src")
            .and_then(|e| e.downcast::<gst_app::AppSrc>().ok());
        if let Some(context) = shared.cuda_context {
            super::cuda_memory::share_with(&pipeline, context);
        }
        if let Some(t) = shared.time_base {
            t.apply(&pipeline, extras.offset_ns);
        }
        let gpu_hint = gpu_hint(source);
        let events = hand_off.events.clone();
        let send_end = end_sender(extras.ends.clone(), events, cam);
        let eos = send_end.clone();
        let errors = send_end;
        let last_running = Arc::new(AtomicU64::new(0));
        let mut frames = FrameSink {
            cam,
            clock: FrameClock {
                arrival_latency: extras.stamp_on_arrival,
                time_line: shared.time_base.cloned(),
                offset_ns: extras.offset_ns,
                smoother: super::arrival::ArrivalSmoother::new(1_000_000_000 / fps.max(1) as u64),
            },
            watch: extras.watch.clone(),
            newest: last_running.clone(),
            hand_off,
        };
        sink.set_callbacks(
            gst_app::AppSinkCallbacks::builder()
                .new_sample(move |s| frames.on_sample(s))
                .eos(move |_| eos(PipelineEnd::Eos))
                .build(),
        );
        let bus = pipeline.bus().expect("a pipeline has a bus");
        let (bus_thread, bus_stop) = watch_bus(cam, bus, gpu_hint, errors);
        pipeline
            .set_state(gst::State::Playing)
            .map_err(|e| CameraError::Start {
                cam,
                name: name.to_string(),
                description: description.clone(),
                reason: e.to_string(),
            })?;
        Ok(CameraPipeline {
            cam,
            pipeline,
            appsrc,
            bus_thread: Some(bus_thread),
            bus_stop,
            last_running,
        })
    }

    /// Running time of the newest frame (before the offset), nanoseconds.
    pub fn last_running_ns(&self) -> u64 {
        self.last_running.load(Ordering::Relaxed)
    }

    /// Stops the pipeline.
    pub fn stop(&mut self) {
        self.bus_stop
            .store(true, std::sync::atomic::Ordering::Relaxed);
        let _ = self.pipeline.set_state(gst::State::Null);
        if let Some(t) = self.bus_thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for CameraPipeline {
    fn drop(&mut self) {
        self.stop();
    }
}
