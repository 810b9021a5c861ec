//! The playout thread: panoramas enter the delay ring as references; when a frame is due, its
//! pose is taken from the pose store (or the fallback), the virtual camera renders it, and
//! the result goes to every output with the audio of the same time. It never waits for
//! another process: camera paths and tracks arrive through the same channel and are applied
//! when they come.

use crate::audio::{AudioQueue, AudioStats};
use crate::frame::FrameRef;
use crate::gpu::GpuRenderer;
use crate::outputs::{OutputSlot, ProgramSettings, ProgramTarget, RetrySettings};
use crate::overlay;
use crate::pose::{FallbackSettings, Pose, PoseFollower, PoseStore};
use crate::ring::{DelayRing, RingFrame, RingMode, RingStats};
use crate::vcam::{ViewLimits, VirtualCamera};
use gst_video::prelude::*;
use shared::config::{PlayoutConfig, RingModeConfig};
use shared::geometry::Calibration;
use shared::gpu::Gpu;
use shared::image::{Nv12Mut, Nv12Ref};
use shared::messages::{CameraPath, Keyframe, PlayoutStatus, RecordingStatus, Tracks};
use shared::time::{secs_to_ns, FrameRate};
use std::collections::VecDeque;
use std::io::Write;
use std::path::PathBuf;
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// What the playout thread receives.
pub enum PlayoutInput {
    /// A stitched panorama (a reference to the pooled frame, in system or GPU memory).
    Frame {
        pts_ns: u64,
        seq: u64,
        frame: FrameRef,
    },
    Path(CameraPath),
    /// S16LE stereo 48 kHz audio with its pts.
    Audio(gst::Buffer),
    Tracks(Tracks),
    /// Recording and streaming on or off, from the live frame received last on: the
    /// programme switches when that frame is shown. `unix_ns`: when the wish arrived.
    Record {
        on: bool,
        unix_ns: u64,
    },
    /// End of input: show everything still in the ring, finish the outputs.
    End,
}

/// Everything playout needs to start.
pub struct PlayoutSetup {
    pub calibration: Calibration,
    pub fps: u32,
    pub config: PlayoutConfig,
    /// Programme outputs (record, RTMP, display).
    pub outputs: Vec<ProgramTarget>,
    /// The panorama view with overlays.
    pub panorama_view: Option<ProgramTarget>,
    /// Offline runs: outputs apply back-pressure instead of queueing.
    pub blocking: bool,
    /// How failed outputs are built again.
    pub retry: RetrySettings,
    pub audio: bool,
    /// Write the pose of every output frame here (JSON lines), for evaluation.
    pub pose_log: Option<PathBuf>,
    /// The GPU of the CUDA backend: the virtual camera and the panorama view render there
    /// from the device panorama. `None`: the CPU renders.
    pub gpu: Option<Arc<Gpu>>,
    /// Whether the recording and stream outputs start switched on (the display and the
    /// panorama view always run).
    pub record: bool,
    /// JPEG snapshots for the operator page.
    pub preview: Option<crate::preview::PreviewSettings>,
}

pub use shared::artefacts::PlayoutReport;

/// A running playout.
pub struct Playout {
    tx: Sender<PlayoutInput>,
    status: Arc<Mutex<PlayoutStatus>>,
    thread: Option<JoinHandle<PlayoutReport>>,
}

struct State {
    /// When the first frame was shown (for the report's span).
    first_shown: Option<std::time::Instant>,
    ring: DelayRing<FrameRef>,
    gpu: Option<GpuRenderer>,
    store: PoseStore,
    follower: PoseFollower,
    vcam: VirtualCamera,
    cal: Calibration,
    pano_info: Option<gst_video::VideoInfo>,
    outputs: Vec<OutputSlot>,
    view: Option<(OutputSlot, usize, usize)>,
    audio: AudioQueue,
    tracks: VecDeque<Tracks>,
    frame_ns: u64,
    out_w: usize,
    out_h: usize,
    shown_pts: Option<u64>,
    last_pose: Option<Pose>,
    report: PlayoutReport,
    status: Arc<Mutex<PlayoutStatus>>,
    pose_log: Option<std::io::BufWriter<std::fs::File>>,
    path_id: u64,
    live_pts: u64,
    /// Per output: whether it follows the recording switch (files and streams do; the
    /// display does not).
    gated: Vec<bool>,
    recording: RecordingStatus,
    /// Switches waiting for their live frame to be shown: (on, from pts).
    pending_switches: VecDeque<(bool, u64)>,
    preview: Option<crate::preview::PreviewSettings>,
    next_preview_pts: u64,
}

/// Frames the delay ring holds beyond the delay's own (see [`Playout::start`]); at most the
/// smallest `playout.pool_margin` (10) less the frames in flight.
const RING_SLACK: usize = 6;

/// How often the playout thread looks at its outputs when no input comes.
const IDLE_POLL: std::time::Duration = std::time::Duration::from_millis(200);

/// The virtual camera of the configuration and its wide shot (the fallback pose), limited.
fn virtual_camera(setup: &PlayoutSetup) -> (VirtualCamera, Pose) {
    let c = &setup.config;
    let vcam = VirtualCamera::new(
        setup.calibration.panorama.clone(),
        c.output_width as usize,
        c.output_height as usize,
        ViewLimits {
            min_fov: c.fov_min_deg,
            max_fov: c.fov_max_deg,
            roll_deg: c.roll_deg,
        },
    );
    let wide = vcam.limit(&Pose {
        yaw: c.wide_yaw_deg,
        pitch: c.wide_pitch_deg,
        fov: c.wide_fov_deg,
    });
    (vcam, wide)
}

/// The programme outputs, each started or (when it is gated by recording and recording is
/// off) created off; which are gated. A bad output is reported and retried; the others and the
/// recording go on.
fn program_outputs(
    setup: &PlayoutSetup,
    settings: &ProgramSettings,
    now: std::time::Instant,
) -> (Vec<OutputSlot>, Vec<bool>) {
    let gated: Vec<bool> = setup
        .outputs
        .iter()
        .map(|t| !matches!(t, ProgramTarget::Display))
        .collect();
    let outputs = setup
        .outputs
        .iter()
        .zip(&gated)
        .map(|(t, &g)| {
            if g && !setup.record {
                OutputSlot::off(t.clone(), settings.clone(), setup.retry, now)
            } else {
                OutputSlot::start(t.clone(), settings.clone(), setup.retry, now)
            }
        })
        .collect();
    (outputs, gated)
}

/// The panorama view output (even size, the panorama's aspect), when configured.
fn panorama_view(
    setup: &PlayoutSetup,
    settings: &ProgramSettings,
    now: std::time::Instant,
) -> Option<(OutputSlot, usize, usize)> {
    let c = &setup.config;
    let p = &setup.calibration.panorama;
    let vw = (c.panorama_view_width as usize) & !1;
    let vh = ((vw as f64 * p.height as f64 / p.width as f64).round() as usize) & !1;
    setup.panorama_view.as_ref().map(|t| {
        let s = ProgramSettings {
            width: vw as u32,
            height: vh as u32,
            bitrate_kbps: (c.bitrate_kbps / 2).max(500),
            audio: false,
            text: true,
            ..settings.clone()
        };
        (OutputSlot::start(t.clone(), s, setup.retry, now), vw, vh)
    })
}

/// The programme's encoding settings.
fn program_settings(setup: &PlayoutSetup) -> ProgramSettings {
    let c = &setup.config;
    ProgramSettings {
        width: c.output_width,
        height: c.output_height,
        fps: setup.fps,
        bitrate_kbps: c.bitrate_kbps,
        audio: setup.audio,
        blocking: setup.blocking,
        text: false,
    }
}

/// The status before the first frame: nothing in, fallback active.
fn initial_status(capacity: usize) -> PlayoutStatus {
    PlayoutStatus {
        ring_capacity: capacity as u32,
        fallback_active: true,
        ..Default::default()
    }
}

/// The pose log's file; without it playout goes on and says so.
fn open_pose_log(path: &std::path::Path) -> Option<std::io::BufWriter<std::fs::File>> {
    match std::fs::File::create(path) {
        Ok(f) => Some(std::io::BufWriter::new(f)),
        Err(e) => {
            tracing::warn!(message = "Cannot write the pose log; continuing without it.", path = %path.display(), error = %e);
            None
        }
    }
}

impl Playout {
    /// Starts the playout thread. Fails only when the GPU renderer of the CUDA backend
    /// cannot be made.
    pub fn start(setup: PlayoutSetup) -> Result<Playout, shared::gpu::GpuError> {
        let c = &setup.config;
        let rate = FrameRate::new(setup.fps, 1);
        let delay_ns = secs_to_ns(c.delay_s);
        // The delay's frames, and room for frames closer together than one interval (a
        // camera rejoining the cadence, bridged gaps) so that none is pushed out unseen; the
        // pool's margin (at least 4 frames beyond this) covers the frames in flight.
        let capacity = rate.frames_in(delay_ns) as usize + RING_SLACK;
        let mode = match c.ring_mode {
            RingModeConfig::ZeroCopy => RingMode::ZeroCopy,
            RingModeConfig::HostCopy => RingMode::HostCopy,
        };
        let (vcam, wide) = virtual_camera(&setup);
        let settings = program_settings(&setup);
        let now = std::time::Instant::now();
        let (outputs, gated) = program_outputs(&setup, &settings, now);
        let view = panorama_view(&setup, &settings, now);
        let status = Arc::new(Mutex::new(initial_status(capacity)));
        let pose_log = setup.pose_log.as_deref().and_then(open_pose_log);
        let gpu = match &setup.gpu {
            Some(g) => Some(GpuRenderer::new(
                g.clone(),
                vcam.clone(),
                view.as_ref().map(|(_, w, h)| (*w, *h)),
            )?),
            None => None,
        };
        let state = State {
            first_shown: None,
            ring: DelayRing::new(delay_ns, capacity, mode),
            gpu,
            store: PoseStore::new(secs_to_ns(c.max_keyframe_gap_s)),
            follower: PoseFollower::new(FallbackSettings {
                hold_ns: secs_to_ns(c.fallback_after_s),
                wide,
                fallback_speed_deg_s: c.fallback_speed_deg_s,
                blend_speed_deg_s: c.blend_speed_deg_s,
            }),
            vcam,
            cal: setup.calibration.clone(),
            pano_info: None,
            outputs,
            view,
            audio: AudioQueue::default(),
            tracks: VecDeque::new(),
            frame_ns: rate.frame_duration_ns(),
            out_w: c.output_width as usize,
            out_h: c.output_height as usize,
            shown_pts: None,
            last_pose: None,
            report: PlayoutReport::default(),
            status: status.clone(),
            pose_log,
            path_id: 0,
            live_pts: 0,
            gated,
            recording: RecordingStatus {
                on: setup.record,
                ..Default::default()
            },
            pending_switches: VecDeque::new(),
            preview: setup.preview.clone(),
            next_preview_pts: 0,
        };
        let (tx, rx) = channel();
        let thread = std::thread::Builder::new()
            .name("playout".into())
            .spawn(move || run(state, rx))
            .expect("spawn playout thread");
        Ok(Playout {
            tx,
            status,
            thread: Some(thread),
        })
    }

    /// A sender for frames, paths, audio and tracks (never blocks).
    pub fn sender(&self) -> Sender<PlayoutInput> {
        self.tx.clone()
    }

    pub fn status(&self) -> PlayoutStatus {
        self.status
            .lock()
            .map(|s| s.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    /// Shared handle to the live status.
    pub fn status_handle(&self) -> Arc<Mutex<PlayoutStatus>> {
        self.status.clone()
    }

    /// Shows what is left in the ring, finishes the outputs, returns the report.
    pub fn finish(mut self) -> PlayoutReport {
        let _ = self.tx.send(PlayoutInput::End);
        self.thread
            .take()
            .and_then(|t| t.join().ok())
            .unwrap_or_default()
    }
}

/// Calls `f` with a panorama frame in system memory mapped as NV12.
fn with_nv12<R>(
    buffer: &gst::BufferRef,
    info: &gst_video::VideoInfo,
    f: impl FnOnce(&Nv12Ref<'_>) -> R,
) -> Result<R, String> {
    let mapped = gst_video::VideoFrameRef::from_buffer_ref_readable(buffer, info)
        .map_err(|e| format!("cannot read the panorama frame: {e}"))?;
    let pano = Nv12Ref {
        width: mapped.width() as usize,
        height: mapped.height() as usize,
        y: mapped.plane_data(0).unwrap_or(&[]),
        y_stride: mapped.plane_stride()[0] as usize,
        uv: mapped.plane_data(1).unwrap_or(&[]),
        uv_stride: mapped.plane_stride()[1] as usize,
    };
    Ok(f(&pano))
}

fn run(mut st: State, rx: Receiver<PlayoutInput>) -> PlayoutReport {
    loop {
        let input = match rx.recv_timeout(IDLE_POLL) {
            Ok(i) => i,
            Err(RecvTimeoutError::Timeout) => {
                // No frames: failed outputs are still built again when due.
                st.poll_outputs();
                st.update_status();
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => break,
        };
        match input {
            PlayoutInput::Frame {
                pts_ns,
                seq,
                frame: buffer,
            } => {
                st.report.frames_in += 1;
                st.live_pts = pts_ns;
                st.ring.push(RingFrame {
                    pts_ns,
                    seq,
                    buffer,
                });
                while let Some(f) = st.ring.pop_due(pts_ns) {
                    st.show(f);
                }
            }
            PlayoutInput::Path(p) => {
                st.path_id = p.path_id;
                st.store.apply(&p, st.shown_pts);
            }
            PlayoutInput::Audio(a) => st.audio.push(a),
            PlayoutInput::Record { on, unix_ns } => {
                tracing::info!(
                    message = if on {
                        "Recording asked for; it starts with the next live frame."
                    } else {
                        "Recording stop asked for; it stops after the frame live now."
                    },
                    live_pts = st.live_pts,
                    unix_ns
                );
                st.recording.switched_unix_ns = unix_ns;
                st.recording.switched_live_pts = st.live_pts;
                st.pending_switches.push_back((on, st.live_pts + 1));
            }
            PlayoutInput::Tracks(t) => {
                st.tracks.push_back(t);
                let keep = (st.ring.capacity() * 2).max(64);
                while st.tracks.len() > keep {
                    st.tracks.pop_front();
                }
            }
            PlayoutInput::End => break,
        }
        st.update_status();
    }
    while let Some(f) = st.ring.pop_any() {
        st.show(f);
    }
    st.update_status();
    st.finish()
}

impl State {
    fn poll_outputs(&mut self) {
        let now = std::time::Instant::now();
        for o in self.outputs.iter_mut() {
            o.poll(now);
        }
        if let Some((v, _, _)) = self.view.as_mut() {
            v.poll(now);
        }
    }

    fn update_status(&mut self) {
        let rs: RingStats = self.ring.stats();
        if let Ok(mut s) = self.status.lock() {
            s.live_pts = self.live_pts;
            s.playout_pts = self.shown_pts.unwrap_or(0);
            s.ring_depth = self.ring.depth() as u32;
            s.frames_in = self.report.frames_in;
            s.frames_out = self.report.frames_out;
            s.frames_dropped = rs.overflowed;
            s.frames_late = self.store.late_keyframes;
            s.fallback_active = self.follower.fallback_active();
            s.path_id = self.path_id;
            s.outputs = self
                .outputs
                .iter()
                .chain(self.view.as_ref().map(|(v, _, _)| v))
                .map(|o| o.health())
                .collect();
            s.recording = self.recording.clone();
            s.pose = self.last_pose.map(|p| Keyframe {
                pts_ns: self.shown_pts.unwrap_or(0),
                yaw: p.yaw as f32,
                pitch: p.pitch as f32,
                fov: p.fov as f32,
            });
        }
    }

    /// Carries out the recording switches due at the frame `pts_ns` (before it is shown).
    fn apply_switches(&mut self, pts_ns: u64) {
        while let Some(&(on, from)) = self.pending_switches.front() {
            if pts_ns < from {
                break;
            }
            self.pending_switches.pop_front();
            let now = std::time::Instant::now();
            for (o, _) in self
                .outputs
                .iter_mut()
                .zip(&self.gated)
                .filter(|(_, g)| **g)
            {
                o.switch(on, now);
            }
            if self.recording.on != on {
                self.report.record_switches += 1;
            }
            self.recording.on = on;
            self.recording.applied_pts = pts_ns;
            tracing::info!(
                message = if on {
                    "Recording started."
                } else {
                    "Recording stopped."
                },
                pts_ns,
                switched_live_pts = self.recording.switched_live_pts
            );
        }
    }

    fn show(&mut self, f: RingFrame<FrameRef>) {
        self.apply_switches(f.pts_ns);
        let pose = self.next_pose(f.pts_ns);
        let preview_due = self.preview.is_some() && f.pts_ns >= self.next_preview_pts;
        if self.outputs.iter().all(|o| o.is_off())
            && self.view.is_none()
            && self.pose_log.is_none()
            && !preview_due
        {
            // Nothing to show the frame to (no output, or recording and streaming switched
            // off between matches): keep the timing and the pose, skip the pixels.
            self.store.prune_before(f.pts_ns);
            self.mark_shown(f.pts_ns);
            let _ = self.audio.release(f.pts_ns + self.frame_ns);
            return;
        }
        let stamp = |b: &mut gst::BufferRef| {
            b.set_pts(gst::ClockTime::from_nseconds(f.pts_ns));
            b.set_duration(gst::ClockTime::from_nseconds(self.frame_ns));
        };
        let (w, h) = (self.out_w, self.out_h);
        let mut out = gst::Buffer::with_size(w * h * 3 / 2).expect("output frame");
        stamp(out.get_mut().expect("new buffer"));
        let mut view_buf = self.view.as_ref().map(|(_, vw, vh)| {
            let mut vb = gst::Buffer::with_size(*vw * *vh * 3 / 2).expect("view frame");
            stamp(vb.get_mut().expect("new buffer"));
            vb
        });
        let dots = self
            .view
            .as_ref()
            .map(|(_, vw, _)| self.overlay_dots(f.pts_ns, *vw, &pose));
        let render_started = std::time::Instant::now();
        let rendered = {
            let mut om = out
                .get_mut()
                .expect("new buffer")
                .map_writable()
                .expect("writable output");
            let mut vm = view_buf.as_mut().map(|b| {
                b.get_mut()
                    .expect("new buffer")
                    .map_writable()
                    .expect("writable view")
            });
            let view = vm.as_mut().map(|m| m.as_mut_slice()).zip(dots.as_deref());
            self.render(&f.buffer, &pose, om.as_mut_slice(), view)
        };
        let push_started = std::time::Instant::now();
        self.report.render_us += (push_started - render_started).as_micros() as u64;
        if let Err(e) = rendered {
            tracing::error!(message = "Cannot render a panorama frame; skipped.", pts_ns = f.pts_ns, error = %e);
            return;
        }
        if preview_due {
            self.write_previews(&f, &pose, &out, view_buf.as_ref());
        }
        if let Some(vb) = view_buf {
            self.push_view(&f, &pose, vb, push_started);
        }
        let audio = self.audio.release(f.pts_ns + self.frame_ns);
        for o in self.outputs.iter_mut() {
            o.push_video(out.clone(), push_started);
            for a in &audio {
                o.push_audio(a.clone());
            }
        }
        self.report.outputs_us += push_started.elapsed().as_micros() as u64;
        self.log_pose(f.pts_ns, &pose);
        self.store.prune_before(f.pts_ns);
        self.mark_shown(f.pts_ns);
    }

    /// The pose for the frame at `pts_ns`: the planned path's, limited, through the follower
    /// (which falls back when the path runs out); records the largest step and fallbacks.
    fn next_pose(&mut self, pts_ns: u64) -> Pose {
        let target = self.store.pose_at(pts_ns).map(|p| self.vcam.limit(&p));
        let pose = self.vcam.limit(&self.follower.next(pts_ns, target));
        if let Some(prev) = self.last_pose {
            self.report.max_pose_step_deg =
                self.report.max_pose_step_deg.max(pose.max_delta(&prev));
        }
        if self.follower.fallback_active() {
            self.report.fallback_frames += 1;
        }
        self.last_pose = Some(pose);
        pose
    }

    /// The panorama view's frame, with its status line.
    fn push_view(
        &mut self,
        f: &RingFrame<FrameRef>,
        pose: &Pose,
        vb: gst::Buffer,
        push_started: std::time::Instant,
    ) {
        let text = format!(
            "delay {:.1} s | ring {}/{} | {} | pose {:.1} {:.1} fov {:.1} | frame {}",
            (self.live_pts.saturating_sub(f.pts_ns)) as f64 / 1e9,
            self.ring.depth(),
            self.ring.capacity(),
            if self.follower.fallback_active() {
                "FALLBACK"
            } else {
                "path"
            },
            pose.yaw,
            pose.pitch,
            pose.fov,
            f.seq
        );
        if let Some((view, _, _)) = self.view.as_mut() {
            view.set_text(&text);
            view.push_video(vb, push_started);
        }
    }

    /// One line of the pose log, when there is one.
    fn log_pose(&mut self, pts_ns: u64, pose: &Pose) {
        let fallback = self.follower.fallback_active();
        if let Some(log) = self.pose_log.as_mut() {
            let record = shared::artefacts::PoseRecord {
                pts_ns,
                yaw: pose.yaw,
                pitch: pose.pitch,
                fov: pose.fov,
                fallback,
            };
            let _ = shared::artefacts::write_line(log, &record);
        }
    }

    /// The panorama view's overlays for a view `width` pixels wide.
    fn overlay_dots(&self, pts_ns: u64, width: usize, pose: &Pose) -> Vec<overlay::Dot> {
        let tracks = self.tracks.iter().rev().find(|t| t.pts_ns <= pts_ns);
        let players = tracks
            .and_then(|t| t.players.as_ref())
            .filter(|p| p.count > 0)
            .map(|p| {
                self.cal
                    .pitch_to_panorama(p.cx_m as f64, p.cy_m as f64, 0.0)
            });
        let k = width as f64 / self.cal.panorama.width as f64;
        overlay::plan(k, tracks, players, &self.vcam, pose)
    }

    /// Writes the operator page's snapshots of this frame: the programme, and the panorama
    /// view (the configured one, else one scaled here from a frame in system memory; a GPU
    /// panorama without a panorama view has no snapshot, to keep it on the GPU).
    fn write_previews(
        &mut self,
        f: &RingFrame<FrameRef>,
        pose: &Pose,
        out: &gst::Buffer,
        view: Option<&gst::Buffer>,
    ) {
        let Some(p) = self.preview.clone() else {
            return;
        };
        self.next_preview_pts = f.pts_ns + p.interval_ns;
        let mut results = Vec::with_capacity(2);
        if let Ok(m) = out.map_readable() {
            if let Some(prog) = Nv12Ref::packed(self.out_w, self.out_h, m.as_slice()) {
                let small = crate::preview::scaled(&prog, p.width);
                results.push(crate::preview::write_jpeg(
                    &small.as_ref(),
                    &p.dir.join(crate::preview::PROGRAMME_FILE),
                ));
            }
        }
        let pano = match (view, self.view.as_ref(), &f.buffer) {
            (Some(vb), Some((_, vw, vh)), _) => vb.map_readable().ok().and_then(|m| {
                Nv12Ref::packed(*vw, *vh, m.as_slice()).map(|v| crate::preview::scaled(&v, p.width))
            }),
            (_, _, FrameRef::Host(buffer)) => {
                let info = self.pano_info();
                with_nv12(buffer.as_ref(), &info, |pano| {
                    crate::preview::scaled(pano, p.width)
                })
                .ok()
                .map(|mut img| {
                    let dots = self.overlay_dots(f.pts_ns, img.width, pose);
                    overlay::apply(&mut img.as_mut(), &dots);
                    img
                })
            }
            _ => None,
        };
        if let Some(img) = pano {
            results.push(crate::preview::write_jpeg(
                &img.as_ref(),
                &p.dir.join(crate::preview::PANORAMA_FILE),
            ));
        }
        for r in results {
            match r {
                Ok(()) => self.report.previews.written += 1,
                Err(error) => {
                    self.report.previews.failed += 1;
                    if self.report.previews.failed == 1 {
                        tracing::warn!(message = "Cannot write the operator page's snapshot; the broadcast goes on.", %error);
                    }
                }
            }
        }
    }

    fn mark_shown(&mut self, pts_ns: u64) {
        self.shown_pts = Some(pts_ns);
        self.report.frames_out += 1;
        let first = *self.first_shown.get_or_insert_with(std::time::Instant::now);
        self.report.shown_span_ms = first.elapsed().as_millis() as u64;
    }

    /// Renders the programme (and the panorama view with its overlay points) from a frame:
    /// on the GPU with the CUDA backend, else on the CPU from the mapped buffer.
    fn render(
        &mut self,
        frame: &FrameRef,
        pose: &Pose,
        out: &mut [u8],
        view: Option<(&mut [u8], &[overlay::Dot])>,
    ) -> Result<(), String> {
        if let Some(g) = self.gpu.as_mut() {
            return g.render(frame, pose, out, view).map_err(|e| e.to_string());
        }
        let FrameRef::Host(buffer) = frame else {
            return Err("a GPU frame reached playout, which renders on the CPU".into());
        };
        let info = self.pano_info();
        let (out_w, out_h) = (self.out_w, self.out_h);
        let view_size = self.view.as_ref().map(|(_, vw, vh)| (*vw, *vh));
        let vcam = &self.vcam;
        with_nv12(buffer.as_ref(), &info, |pano| {
            let mut o = Nv12Mut::packed(out_w, out_h, out).ok_or("output buffer too small")?;
            vcam.render(pano, pose, &mut o);
            if let (Some((vout, dots)), Some((vw, vh))) = (view, view_size) {
                let mut o = Nv12Mut::packed(vw, vh, vout).ok_or("view buffer too small")?;
                overlay::scale(pano, &mut o);
                overlay::apply(&mut o, dots);
            }
            Ok::<(), String>(())
        })?
    }

    /// The layout of a panorama frame in system memory.
    fn pano_info(&mut self) -> gst_video::VideoInfo {
        self.pano_info
            .get_or_insert_with(|| {
                let p = &self.cal.panorama;
                gst_video::VideoInfo::builder(gst_video::VideoFormat::Nv12, p.width, p.height)
                    .build()
                    .expect("panorama video info")
            })
            .clone()
    }

    fn finish(mut self) -> PlayoutReport {
        let rs = self.ring.stats();
        let a: AudioStats = self.audio.stats();
        self.report.ring_overflowed = rs.overflowed;
        self.report.ring_bytes_copied = rs.bytes_copied;
        self.report.audio_silence_ms = a.silence_ms;
        self.report.audio_late_chunks = a.late_chunks;
        self.report.paths = self.store.paths;
        self.report.late_keyframes = self.store.late_keyframes;
        let slots: Vec<OutputSlot> = self
            .outputs
            .drain(..)
            .chain(self.view.take().map(|(v, _, _)| v))
            .collect();
        for o in slots {
            let name = o.name();
            self.report
                .files
                .extend(o.files().iter().map(|p| p.display().to_string()));
            let (health, result) = o.finish();
            self.report.outputs.push((name, result));
            self.report.output_health.push(health);
        }
        if let Some(mut l) = self.pose_log.take() {
            let _ = l.flush();
        }
        self.report
    }
}
