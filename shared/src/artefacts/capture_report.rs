//! Capture's final report (`playout.report`, `playout.json` in a demo): the engine's, playout's
//! and the detector stage's counters and the run's throughput and resources. Capture writes
//! this type and launch's evaluation reads it; every struct reads older files with missing
//! fields as defaults.

use crate::messages::OutputHealth;
use serde::{Deserialize, Serialize};

/// The whole report.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CaptureReport {
    pub engine: EngineStats,
    pub playout: PlayoutReport,
    pub run: RunReport,
    /// The detector stage's counters, when it ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detector: Option<DetectorStats>,
}

/// Counters of the engine.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct EngineStats {
    /// Camera frames received per camera.
    pub camera_frames: [u64; 2],
    /// Panoramas stitched and handed on.
    pub panoramas: u64,
    /// Pairs dropped because every pool buffer was in use.
    pub pool_exhausted: u64,
    /// Pairs made with a repeated frame because a camera was late or missing.
    pub partner_missing: [u64; 2],
    /// Camera frames that were unusable (wrong size or layout).
    pub bad_frames: u64,
    /// Camera pipeline failures.
    pub camera_errors: u64,
    /// Times each camera went down (failed or ended) and was restarted (real-time runs).
    pub camera_down: [u64; 2],
    /// Panoramas made of both cameras' last frames while neither delivered, to keep the
    /// cadence (real-time runs).
    pub filled: u64,
    /// Camera frames that arrived behind those panoramas' time line and went out in them
    /// (fresh pictures on the kept cadence), per camera.
    pub refreshed: [u64; 2],
    /// Live pairs that came less than half a frame after the last one (a reconnected
    /// camera's backlog, a camera faster than the frame rate): not sent off the cadence,
    /// their pictures kept for the next repeat.
    pub too_close: u64,
    /// Camera frames stitched straight from GPU memory (NVDEC output, no upload).
    pub gpu_camera_frames: u64,
    /// Camera frames dropped at ingest because the engine was behind (live runs), per
    /// camera.
    pub ingest_dropped: [u64; 2],
    /// Frames where gain matching hit `capture.max_gain`, and frames whose overlap could not
    /// be measured (the last gains kept).
    pub gain_clamped: u64,
    pub gain_unmeasurable: u64,
    /// Where the engine thread's time went, microseconds: waiting for camera frames, waiting
    /// for a free pool frame (offline runs: the outputs are behind), stitching (with the
    /// uploads), and handing panoramas on to the sinks.
    pub wait_input_us: u64,
    pub wait_pool_us: u64,
    pub stitch_us: u64,
    pub sinks_us: u64,
    /// Milliseconds from the first panorama to the last: panoramas / this is the engine's
    /// sustained rate, start-up excluded.
    pub panorama_span_ms: u64,
}

/// What playout did, at the end.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PlayoutReport {
    pub frames_in: u64,
    pub frames_out: u64,
    pub fallback_frames: u64,
    /// Largest change of any pose angle between consecutive output frames, degrees.
    pub max_pose_step_deg: f64,
    pub ring_overflowed: u64,
    pub ring_bytes_copied: u64,
    pub audio_silence_ms: u64,
    pub audio_late_chunks: u64,
    /// Per output: frames written (over every incarnation), or the error that stopped it.
    pub outputs: Vec<(String, Result<u64, String>)>,
    /// Per output: state at the end, restarts, bytes, dropped frames, last error.
    pub output_health: Vec<OutputHealth>,
    /// Every file the file outputs wrote, in order (a rebuilt output continues in a new
    /// file; none is overwritten).
    pub files: Vec<String>,
    pub paths: u64,
    /// Keyframes of those paths that came after their frame was shown (dropped).
    pub late_keyframes: u64,
    /// Where the playout thread's time went while showing frames, microseconds: rendering
    /// the programme and panorama view (on the GPU: with the download of the output), and
    /// handing them to the outputs (in offline runs this waits for the encoders).
    pub render_us: u64,
    pub outputs_us: u64,
    /// Milliseconds from the first frame shown to the last.
    pub shown_span_ms: u64,
    /// Recording switched on and off (carried out).
    pub record_switches: u64,
    pub previews: PreviewStats,
}

/// Counts of the preview snapshots written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PreviewStats {
    pub written: u64,
    pub failed: u64,
}

/// Counters of the detector stage.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DetectorStats {
    /// Panoramas offered by the engine.
    pub offered: u64,
    /// Skipped by the rate cap (`max_rate_hz`).
    pub skipped_rate: u64,
    /// Skipped because a newer frame arrived while the worker was busy.
    pub skipped_busy: u64,
    /// Frames analysed and published.
    pub analysed: u64,
    /// Of which only the tile(s) around the ball were analysed (`detector.focus_full_every`).
    pub focused: u64,
    /// Of the focused frames, those that looked around a motion cue sighting for a ball the
    /// detector had lost (`detector.focus_on_cue`), and those of them that found a ball.
    pub focused_on_cue: u64,
    pub found_on_cue: u64,
    /// Frames that failed (unreadable frame, inference error).
    pub errors: u64,
    /// Detections published in total.
    pub detections: u64,
    /// Detections dropped by the per-frame cap.
    pub truncated: u64,
    /// Balls the ball verifier looked at, those it turned down, and those it could not look
    /// at (tiles on the GPU) (`detector.ball_verifier`).
    pub verified: u64,
    pub verifier_rejected: u64,
    pub unverified: u64,
    /// People boxes cut at a tile's inner edge and merged into the whole box a
    /// neighbouring tile found (`detector.seam_merge`).
    pub seam_merged: u64,
    /// Time of the last analysed frame (tile preparation, inference, decoding), microseconds.
    pub last_inference_us: u32,
    /// Of which the engine's run(s) alone, microseconds.
    pub last_engine_us: u32,
    /// Sums over every analysed frame, microseconds (means: divide by `analysed`).
    pub inference_us_total: u64,
    pub engine_us_total: u64,
    /// Tiles of the last analysed frame.
    pub tiles: u32,
    /// From the frame's hand-off to the worker until its detections were published, for the
    /// last analysed frame, microseconds (waiting for the worker included).
    pub last_latency_us: u32,
    /// Largest `last_latency_us` so far.
    pub max_latency_us: u32,
    /// Analysed frames per second of stream time (last 5 s).
    pub rate_hz: f64,
    /// Bytes the engine moved between host and GPU memory (zero for CPU engines; on the
    /// `cuda` backend with the `cuda` engine only the output comes back).
    pub engine_htod_bytes: u64,
    pub engine_dtoh_bytes: u64,
    /// The motion cue (`detector.motion_cue`): frames it looked at, frames it passed over
    /// because too much of the field changed at once, ball sightings it published, and its
    /// time over all frames, microseconds.
    pub motion_frames: u64,
    pub motion_flooded: u64,
    pub motion_sightings: u64,
    pub motion_us_total: u64,
    /// Cue frames dropped because the detector's frame before them took longer than they may
    /// wait (half of `playout.delay_s`, at most 4 s), and detector results older than what
    /// was already published (not published; none expected).
    pub motion_dropped: u64,
    pub late: u64,
}

/// Throughput and resources of the whole run, from ingest start to the outputs finalised.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RunReport {
    pub seconds: f64,
    /// Programme frames out per second.
    pub fps: f64,
    pub host_rss_bytes: u64,
    pub host_peak_bytes: u64,
    /// The CUDA backend's device memory and bus traffic (absent on the CPU backend).
    pub gpu: Option<GpuRunReport>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GpuRunReport {
    pub pool_bytes: usize,
    /// Device memory in use at the end (all processes).
    pub device_used_bytes: usize,
    /// Bytes copied by our copies since ingest started (setup uploads excluded).
    pub host_to_device_bytes: u64,
    pub device_to_host_bytes: u64,
    pub host_to_device_per_frame: f64,
    pub device_to_host_per_frame: f64,
}

/// What decoding a recorded programme found (`capture check-output FILE` prints it as JSON;
/// launch's demo evaluation reads it).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct OutputCheck {
    pub video_frames: u64,
    pub audio_seconds: f64,
    /// Video timestamps strictly increase.
    pub monotonic: bool,
    /// Longest run of identical consecutive frames, in frames.
    pub longest_frozen: u64,
    /// Flash times (s) and beep onsets (s).
    pub flashes_s: Vec<f64>,
    pub beeps_s: Vec<f64>,
    /// Beep onset minus flash time for each flash with a beep within 0.5 s, ms.
    pub av_offsets_ms: Vec<f64>,
}

impl OutputCheck {
    /// The offset with the largest magnitude, ms.
    pub fn worst_av_offset_ms(&self) -> Option<f64> {
        self.av_offsets_ms
            .iter()
            .copied()
            .max_by(|a, b| a.abs().total_cmp(&b.abs()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_reads_back_what_capture_writes() {
        let mut r = CaptureReport::default();
        r.engine.panoramas = 250;
        r.engine.ingest_dropped = [1, 2];
        r.playout.frames_out = 249;
        r.playout.outputs = vec![
            ("record".into(), Ok(249)),
            ("stream".into(), Err("refused".into())),
        ];
        r.run.gpu = Some(GpuRunReport {
            pool_bytes: 7,
            ..Default::default()
        });
        r.detector = Some(DetectorStats {
            analysed: 12,
            ..Default::default()
        });
        let text = serde_json::to_string_pretty(&r).unwrap();
        let back: CaptureReport = serde_json::from_str(&text).unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn older_reports_read_with_defaults() {
        // A report from before the detector block and the late keyframes.
        let old = r#"{"engine": {"panoramas": 3, "camera_frames": [3, 3]},
                      "playout": {"frames_in": 3, "frames_out": 3, "outputs": []},
                      "run": {"seconds": 1.5, "fps": 2.0}}"#;
        let r: CaptureReport = serde_json::from_str(old).unwrap();
        assert_eq!(r.engine.panoramas, 3);
        assert_eq!(r.playout.late_keyframes, 0);
        assert_eq!(r.detector, None);
        assert_eq!(r.run.gpu, None);
    }
}
