//! Feeds the synthetic cameras: renders both views frame by frame and pushes them into the
//! two camera pipelines' `appsrc`s with their timestamps, in real time or as fast as the
//! pipelines take them. Writes the ground truth to a file when asked (never to the detector).

use crate::synthetic::SyntheticWorld;
use shared::image::Nv12Mut;
use shared::scene::GroundTruth;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Settings of the feeder thread.
pub struct FeederSettings {
    /// Pace to real time (live) or push as fast as the pipeline accepts.
    pub realtime: bool,
    /// Stop after this many frames (then end the streams).
    pub max_frames: Option<u64>,
    /// Ground truth as JSON lines.
    pub truth_log: Option<PathBuf>,
    /// A white frame on both cameras every this many frames (the audio beeps at the same
    /// times), to measure audio/video sync at the outputs.
    pub flash_every: Option<u64>,
    /// Time origin shared with the synthetic audio, so both start together.
    pub start: Instant,
}

fn nv12_buffer(w: usize, h: usize) -> gst::Buffer {
    gst::Buffer::with_size(w * h * 3 / 2).expect("allocate a camera frame")
}

/// Runs until `stop`, the frame limit, or a pipeline that no longer accepts frames.
/// Returns the number of frames pushed.
pub fn run(
    mut world: SyntheticWorld,
    appsrcs: [gst_app::AppSrc; 2],
    settings: FeederSettings,
    stop: Arc<AtomicBool>,
) -> u64 {
    let cal = world.calibration().clone();
    let (w, h) = (
        cal.cameras[0].width as usize,
        cal.cameras[0].height as usize,
    );
    let rate = world.rate();
    let frame_ns = rate.frame_duration_ns();
    let mut truth_out = settings.truth_log.as_ref().and_then(|p| match std::fs::File::create(p) {
        Ok(f) => Some(std::io::BufWriter::new(f)),
        Err(e) => {
            tracing::warn!(message = "Cannot write the ground truth log; continuing without it.", path = %p.display(), error = %e);
            None
        }
    });
    let start = settings.start;
    let mut pushed = 0u64;
    while !stop.load(Ordering::Relaxed) && settings.max_frames.is_none_or(|m| pushed < m) {
        let mut bufs = [nv12_buffer(w, h), nv12_buffer(w, h)];
        let truth: GroundTruth = {
            let [a, b] = &mut bufs;
            let (mut ma, mut mb) = (
                a.get_mut().unwrap().map_writable().expect("map"),
                b.get_mut().unwrap().map_writable().expect("map"),
            );
            let mut l = Nv12Mut::packed(w, h, ma.as_mut_slice()).expect("sized");
            let mut r = Nv12Mut::packed(w, h, mb.as_mut_slice()).expect("sized");
            world.render_next(&mut l, &mut r)
        };
        let pts = truth.pts_ns;
        if settings
            .flash_every
            .is_some_and(|n| n > 0 && (pts / frame_ns).is_multiple_of(n))
        {
            for b in bufs.iter_mut() {
                let mut m = b.get_mut().unwrap().map_writable().expect("map");
                let d = m.as_mut_slice();
                d[..w * h].fill(235);
                d[w * h..].fill(128);
            }
        }
        for b in bufs.iter_mut() {
            let b = b.get_mut().unwrap();
            b.set_pts(gst::ClockTime::from_nseconds(pts));
            b.set_duration(gst::ClockTime::from_nseconds(frame_ns));
        }
        if let Some(out) = truth_out.as_mut() {
            let _ = shared::artefacts::write_line(out, &truth);
        }
        if settings.realtime {
            let due = start + Duration::from_nanos(pts);
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
        }
        let [a, b] = bufs;
        if appsrcs[0].push_buffer(a).is_err() || appsrcs[1].push_buffer(b).is_err() {
            break;
        }
        pushed += 1;
    }
    for s in &appsrcs {
        let _ = s.end_of_stream();
    }
    if let Some(mut out) = truth_out {
        let _ = out.flush();
    }
    pushed
}
