//! The capture engine: takes camera frames from the ingest pipelines, pairs them, stitches
//! each pair into a pooled panorama buffer, and hands a reference to every panorama sink
//! (playout's delay ring, the detector, frame ticks, a panorama file).

mod cuda;
mod pool;

pub use cuda::{CameraInput, CudaStage, CudaStageError};
pub use pool::{PanoramaPool, PoolError};

use crate::ingest::cuda_memory::{self, CudaFrame};
use crate::ingest::{IngestEvent, Pairer};
use crate::stitch::CpuStitcher;
use gst_video::prelude::*;
use playout::frame::FrameRef;
use shared::image::{Nv12Mut, Nv12Ref};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The longest an offline engine waits for a free pool frame before dropping the pair.
const POOL_WAIT_LIMIT: Duration = Duration::from_secs(10);

/// A stitched panorama, as handed to sinks. `frame` is a reference into the pool (system
/// memory on the CPU backend, GPU memory on the CUDA backend).
#[derive(Clone)]
pub struct PanoramaFrame {
    pub frame: FrameRef,
    pub pts_ns: u64,
    pub seq: u64,
    pub width: u32,
    pub height: u32,
}

/// Something that takes panoramas. Must not block for long: the engine calls every sink for
/// every frame on its own thread.
pub trait PanoramaSink: Send {
    fn name(&self) -> &str;
    fn frame(&mut self, frame: &PanoramaFrame);
    /// End of input or shutdown.
    fn finish(&mut self) {}
}

pub use shared::artefacts::EngineStats;

/// Whether the `n`th drop of a kind gets its own log line: the first ones, then ever fewer
/// (1, 2, 4, ... and every 1000th), so that a machine that is behind does not also flood its
/// log. Every drop is counted in [`EngineStats`] (and capture's 10 s summary) regardless.
fn worth_logging(n: u64) -> bool {
    n.is_power_of_two() || n.is_multiple_of(1000)
}

/// Why the engine stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngineEnd {
    Stopped,
    EndOfInput,
    FrameLimit,
}

fn map_camera<'a>(
    buf: &'a gst::Buffer,
    info: &gst_video::VideoInfo,
) -> Option<gst_video::VideoFrameRef<&'a gst::BufferRef>> {
    gst_video::VideoFrameRef::from_buffer_ref_readable(buf.as_ref(), info).ok()
}

fn nv12_ref<'a>(f: &'a gst_video::VideoFrameRef<&gst::BufferRef>) -> Option<Nv12Ref<'a>> {
    Some(Nv12Ref {
        width: f.width() as usize,
        height: f.height() as usize,
        y: f.plane_data(0).ok()?,
        y_stride: f.plane_stride()[0] as usize,
        uv: f.plane_data(1).ok()?,
        uv_stride: f.plane_stride()[1] as usize,
    })
}

/// The engine loop. Runs until `stop`, end of input from both cameras, or `max_frames`.
pub struct Engine {
    pub stitcher: CpuStitcher,
    pub pool: PanoramaPool,
    /// The CUDA backend: when set, pairs are stitched on the GPU into its device pool and
    /// `stitcher`/`pool` stay idle.
    pub gpu: Option<CudaStage>,
    pub sinks: Vec<Box<dyn PanoramaSink>>,
    pub frame_ns: u64,
    pub max_frames: Option<u64>,
    /// Offline run (`capture.realtime = false`): a camera frame waits for its partner until
    /// that camera ends instead of one frame interval (decoders reading files are never in
    /// step).
    pub offline: bool,
    /// The cameras' counters of frames dropped at ingest ([`crate::ingest::HandOff`]).
    pub ingest_dropped: [Arc<std::sync::atomic::AtomicU64>; 2],
    pub stats: EngineStats,
    /// Shared live copy of the stats for status reports.
    pub live_stats: Arc<std::sync::Mutex<EngineStats>>,
}

impl Engine {
    pub fn run(&mut self, events: Receiver<IngestEvent>, stop: Arc<AtomicBool>) -> EngineEnd {
        let origin = Instant::now();
        let now = || origin.elapsed().as_nanos() as u64;
        let mut pairer: Pairer<(gst::Buffer, gst_video::VideoInfo)> = Pairer::new(self.frame_ns)
            .with_patience(if self.offline {
                u64::MAX
            } else {
                self.frame_ns
            });
        let mut ended = [false, false];
        // Cameras down and being restarted: their partner does not wait for them.
        let mut down = [false, false];
        let mut seq = 0u64;
        let mut first_panorama: Option<Instant> = None;
        let end = loop {
            if stop.load(Ordering::Relaxed) {
                break EngineEnd::Stopped;
            }
            // Every event already queued is taken before pairing: a frame whose partner is
            // waiting in the channel must not time out because the engine was busy.
            let waiting = Instant::now();
            let mut next = Some(events.recv_timeout(Duration::from_nanos(self.frame_ns / 4)));
            self.stats.wait_input_us += waiting.elapsed().as_micros() as u64;
            while let Some(event) = next.take() {
                self.on_event(event, &mut pairer, &mut ended, &mut down, now());
                next = events.try_recv().ok().map(Ok);
            }
            let all_ended = ended[0] && ended[1];
            let mut pairs = if all_ended {
                pairer.flush()
            } else {
                pairer.poll(now())
            };
            if !self.offline && !all_ended {
                // Neither camera delivers (both down): the broadcast keeps its cadence.
                pairs.extend(pairer.fill(now()));
            }
            for pair in pairs {
                if self.max_frames.is_some_and(|m| seq >= m) {
                    break;
                }
                if self.process(&pair.frames, pair.pts_ns, seq) {
                    seq += 1;
                    let first = *first_panorama.get_or_insert_with(Instant::now);
                    self.stats.panorama_span_ms = first.elapsed().as_millis() as u64;
                }
            }
            self.update_stats(pairer.stats());
            if self.max_frames.is_some_and(|m| seq >= m) {
                break EngineEnd::FrameLimit;
            }
            if all_ended {
                break EngineEnd::EndOfInput;
            }
        };
        for s in self.sinks.iter_mut() {
            s.finish();
        }
        end
    }

    /// One ingest event: a frame to pair, a camera that ended, failed or went down (its
    /// partner then stops waiting for it) or came back.
    fn on_event(
        &mut self,
        event: Result<IngestEvent, RecvTimeoutError>,
        pairer: &mut Pairer<(gst::Buffer, gst_video::VideoInfo)>,
        ended: &mut [bool; 2],
        down: &mut [bool; 2],
        now_ns: u64,
    ) {
        match event {
            Ok(IngestEvent::Frame {
                cam,
                pts_ns,
                buffer,
                info,
            }) => {
                self.stats.camera_frames[cam] += 1;
                if down[cam] {
                    down[cam] = false;
                    pairer.camera_resumed(cam);
                }
                pairer.push(cam, pts_ns, now_ns, (buffer, info));
            }
            Ok(IngestEvent::Eos { cam }) => {
                ended[cam] = true;
                pairer.camera_ended(cam);
            }
            Ok(IngestEvent::Error { cam, message }) => {
                self.stats.camera_errors += 1;
                tracing::error!(message = "Camera failed; the panorama continues with the other camera.", camera = cam, error = %message);
                ended[cam] = true;
                pairer.camera_ended(cam);
            }
            Ok(IngestEvent::Down { cam, eos, .. }) => {
                if !eos {
                    self.stats.camera_errors += 1;
                }
                self.stats.camera_down[cam] += 1;
                down[cam] = true;
                pairer.camera_ended(cam);
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => *ended = [true, true],
        }
    }

    /// Copies the pairer's and the stitcher's counters into the stats, and the stats into
    /// the live copy status reports read.
    fn update_stats(&mut self, pairing: crate::ingest::pairing::PairStats) {
        self.stats.partner_missing = pairing.partner_missing;
        self.stats.refreshed = pairing.refreshed;
        self.stats.too_close = pairing.too_close;
        self.stats.filled = pairing.filled;
        let gain = match &self.gpu {
            Some(stage) => stage.stitcher.gain_stats(),
            None => self.stitcher.gain_stats(),
        };
        self.stats.gain_clamped = gain.clamped;
        self.stats.gain_unmeasurable = gain.unmeasurable;
        self.stats.ingest_dropped = self
            .ingest_dropped
            .each_ref()
            .map(|d| d.load(Ordering::Relaxed));
        if let Ok(mut s) = self.live_stats.lock() {
            *s = self.stats;
        }
    }

    /// Stitches one pair; returns true when a panorama went out.
    fn process(
        &mut self,
        frames: &[Option<(gst::Buffer, gst_video::VideoInfo)>; 2],
        pts_ns: u64,
        seq: u64,
    ) -> bool {
        if self.gpu.is_some() {
            return self.process_cuda(frames, pts_ns, seq);
        }
        let Some(mut pano) = self.acquire_panorama() else {
            self.stats.pool_exhausted += 1;
            if worth_logging(self.stats.pool_exhausted) {
                tracing::warn!(
                    message = "Panorama pool exhausted; frame dropped.",
                    pts_ns,
                    capacity = self.pool.capacity,
                    dropped_so_far = self.stats.pool_exhausted
                );
            }
            return false;
        };
        let mapped: Vec<Option<_>> = frames
            .iter()
            .map(|f| f.as_ref().and_then(|(b, i)| map_camera(b, i)))
            .collect();
        let refs: Vec<Option<Nv12Ref<'_>>> = mapped
            .iter()
            .map(|m| m.as_ref().and_then(nv12_ref))
            .collect();
        let info = self.pool.info.clone();
        let (w, h) = (info.width() as usize, info.height() as usize);
        let started = Instant::now();
        let result = {
            let b = pano.get_mut().expect("a fresh pool buffer is writable");
            b.set_pts(gst::ClockTime::from_nseconds(pts_ns));
            b.set_duration(gst::ClockTime::from_nseconds(self.frame_ns));
            let mut map = b.map_writable().expect("map panorama");
            let data = map.as_mut_slice();
            let (y, uv) = data.split_at_mut(info.offset()[1]);
            let mut out = Nv12Mut {
                width: w,
                height: h,
                y,
                y_stride: info.stride()[0] as usize,
                uv,
                uv_stride: info.stride()[1] as usize,
            };
            self.stitcher
                .stitch([refs[0].as_ref(), refs[1].as_ref()], &mut out)
        };
        self.stats.stitch_us += started.elapsed().as_micros() as u64;
        if let Err(e) = result {
            self.stats.bad_frames += 1;
            tracing::warn!(message = "Cannot stitch this pair.", error = %e);
            return false;
        }
        let frame = PanoramaFrame {
            frame: FrameRef::Host(pano),
            pts_ns,
            seq,
            width: w as u32,
            height: h as u32,
        };
        self.hand_on(&frame);
        true
    }

    /// A free pool buffer. Offline runs wait for one (up to [`POOL_WAIT_LIMIT`]): the
    /// outputs set the pace there, and a frame must not be lost because an encoder still
    /// holds buffers. Live runs never wait.
    fn acquire_panorama(&mut self) -> Option<gst::Buffer> {
        if let Some(b) = self.pool.acquire() {
            return Some(b);
        }
        if !self.offline {
            return None;
        }
        let since = Instant::now();
        let found = loop {
            if let Some(b) = self.pool.acquire() {
                break Some(b);
            }
            if since.elapsed() >= POOL_WAIT_LIMIT {
                break None;
            }
            std::thread::sleep(Duration::from_micros(200));
        };
        self.stats.wait_pool_us += since.elapsed().as_micros() as u64;
        found
    }

    fn hand_on(&mut self, frame: &PanoramaFrame) {
        let t = Instant::now();
        for s in self.sinks.iter_mut() {
            s.frame(frame);
        }
        self.stats.panoramas += 1;
        self.stats.sinks_us += t.elapsed().as_micros() as u64;
    }

    /// [`Engine::process`] on the GPU.
    fn process_cuda(
        &mut self,
        frames: &[Option<(gst::Buffer, gst_video::VideoInfo)>; 2],
        pts_ns: u64,
        seq: u64,
    ) -> bool {
        let Some(stage) = self.gpu.as_mut() else {
            return false;
        };
        // Frames a decoder left in GPU memory are mapped as device pointers (read in place);
        // frames in system memory are mapped for the upload.
        let mut device = [None, None];
        let mut host = [None, None];
        for (i, f) in frames.iter().enumerate() {
            let Some((buffer, info)) = f else { continue };
            if cuda_memory::is_cuda_memory(buffer) {
                match CudaFrame::map(buffer, info) {
                    Ok(m) => device[i] = Some(m),
                    Err(e) => {
                        self.stats.bad_frames += 1;
                        tracing::warn!(message = "Cannot read a decoded camera frame in GPU memory; the pair goes on without it.", camera = i, error = %e);
                    }
                }
            } else {
                host[i] = map_camera(buffer, info);
            }
        }
        let host_refs = host.each_ref().map(|m| m.as_ref().and_then(nv12_ref));
        let mut views = [None, None];
        for (i, m) in device.iter().enumerate() {
            if let Some(m) = m {
                match m.nv12() {
                    Ok(v) => views[i] = Some(v),
                    Err(e) => {
                        self.stats.bad_frames += 1;
                        tracing::warn!(message = "Decoded camera frame in GPU memory has an unsupported layout; the pair goes on without it.", camera = i, error = %e);
                    }
                }
            }
        }
        self.stats.gpu_camera_frames += views.iter().flatten().count() as u64;
        let inputs = || {
            [0, 1].map(|i| match (&views[i], &host_refs[i]) {
                (Some(d), _) => Some(CameraInput::Device(d)),
                (None, Some(h)) => Some(CameraInput::Host(h)),
                (None, None) => None,
            })
        };
        let (w, h) = stage.pool.size();
        let waiting_since = Instant::now();
        let mut pool_wait = Duration::ZERO;
        let stitched = loop {
            match stage.stitch_cameras(inputs()) {
                Err(CudaStageError::PoolExhausted)
                    if stage.wait_for_pool && waiting_since.elapsed() < POOL_WAIT_LIMIT =>
                {
                    std::thread::sleep(Duration::from_micros(200));
                    pool_wait = waiting_since.elapsed();
                }
                r => break r,
            }
        };
        self.stats.wait_pool_us += pool_wait.as_micros() as u64;
        self.stats.stitch_us += (waiting_since.elapsed() - pool_wait).as_micros() as u64;
        let frame = match stitched {
            Ok(f) => f,
            Err(CudaStageError::PoolExhausted) => {
                self.stats.pool_exhausted += 1;
                if worth_logging(self.stats.pool_exhausted) {
                    tracing::warn!(
                        message = "GPU panorama pool exhausted; frame dropped.",
                        pts_ns,
                        capacity = stage.pool.capacity(),
                        dropped_so_far = self.stats.pool_exhausted
                    );
                }
                return false;
            }
            Err(CudaStageError::Stitch(e)) => {
                self.stats.bad_frames += 1;
                tracing::warn!(message = "Cannot stitch this pair on the GPU.", error = %e);
                return false;
            }
        };
        let frame = PanoramaFrame {
            frame: FrameRef::Cuda(frame),
            pts_ns,
            seq,
            width: w as u32,
            height: h as u32,
        };
        self.hand_on(&frame);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::worth_logging;

    #[test]
    fn drops_are_logged_ever_more_rarely() {
        let logged: Vec<u64> = (1..=3000).filter(|&n| worth_logging(n)).collect();
        assert_eq!(
            logged,
            [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1000, 1024, 2000, 2048, 3000]
        );
    }
}
