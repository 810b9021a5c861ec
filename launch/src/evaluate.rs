//! After a demo run: what the files say. Frame counts from capture's playout report, the
//! broadcast file decoded and checked (frames, timestamps, frozen stretches, audio/video
//! offset at the sync flashes), and how often the ball was in the virtual camera's frame
//! against the synthetic source's ground truth.

use serde::Serialize;
use shared::artefacts::{CaptureReport, OutputCheck, PoseRecord};
use shared::config::SystemConfig;
use shared::geometry::view::{Pose, ViewModel};
use shared::geometry::Calibration;
use shared::messages::{Message, OutputHealth, TrackStatus, Tracks};
use shared::scene::GroundTruth;
use std::collections::HashMap;
use std::path::Path;
use touchline_director::metrics::EvalFrame;
use touchline_director::replay::metrics_options;
use touchline_director::rig::Rig;

#[derive(Debug, Default, Serialize)]
pub struct Evaluation {
    /// Panoramas stitched, shown, and dropped (ring overflow, pool exhaustion, or camera frames
    /// dropped at ingest because the engine was behind: the larger of the two cameras).
    pub frames_in: Option<u64>,
    pub frames_out: Option<u64>,
    pub frames_dropped: Option<u64>,
    /// Every programme output at the end (recording, panorama view, streams): state,
    /// restarts, frames, bytes, dropped frames, last error.
    pub outputs: Vec<OutputHealth>,
    /// Frames in panorama.mp4 as decoded (it must have as many as broadcast.mp4).
    pub panorama_frames: Option<u64>,
    /// Frames in broadcast.mp4 as decoded, timestamps monotonic, longest frozen run.
    pub broadcast_frames: Option<u64>,
    pub broadcast_monotonic: Option<bool>,
    pub broadcast_longest_frozen_frames: Option<u64>,
    /// Audio/video offsets measured at the sync flashes, ms, and the worst one.
    pub av_offsets_ms: Vec<f64>,
    pub av_offset_worst_ms: Option<f64>,
    /// Share of the judged in-play frames (the ball inside the panorama) with the ball inside
    /// the output frame, percent: the director replay's definition.
    pub ball_in_frame_pct: Option<f64>,
    /// Share of the judged in-play frames whose ball some pose can hold in the director's
    /// safe zone (the centred `director.safe_zone_width` x `safe_zone_height` of the output
    /// frame) with the ball inside it, percent.
    pub ball_in_safe_zone_pct: Option<f64>,
    pub in_play_frames: u64,
    /// In-play frames with the ball outside the panorama (above it, in a high lofted ball):
    /// no pose can show it, so they are not judged.
    pub unframeable_frames: u64,
    /// Judged frames with the ball so near the panorama's edge that no pose inside it holds
    /// the ball in the safe zone: judged for "in frame" only.
    pub safe_zone_unreachable_frames: u64,
    /// Share of every in-play frame with the ball inside the output frame (unframeable frames
    /// counted as misses), percent.
    pub ball_in_frame_all_in_play_pct: Option<f64>,
    /// Frames shown in fallback (no camera path).
    pub fallback_frames: Option<u64>,
    /// Largest change of the output pose between consecutive frames (pan or tilt, and zoom),
    /// degrees, and the most the configured bounds allow in one frame time (the director's
    /// speed limit plus playout's fallback/blend speed); steps beyond the bound over the time
    /// between the two frames are jumps.
    pub pose_max_step_deg: Option<f64>,
    pub pose_max_zoom_step_deg: Option<f64>,
    pub pose_step_limit_deg: f64,
    pub pose_zoom_step_limit_deg: f64,
    pub pose_jumps: u64,
    /// The whole chain (synthetic cameras -> stitch -> detector -> analyzer) against ground
    /// truth: analysed frames with the ball in play and visible, the share of them with a
    /// `tracked` ball, and the ground-position error of those (RMSE and 95th percentile, m).
    pub ball_truth_frames: u64,
    pub ball_tracked_pct: Option<f64>,
    pub ball_track_rmse_m: Option<f64>,
    pub ball_track_p95_m: Option<f64>,
    /// What the analyzer made of the frames it analysed, truth or not (the measure on real
    /// cameras): track messages in the recording (one per analysed frame), and the share of
    /// them with a `tracked` ball, percent.
    pub analysed_frames: u64,
    pub ball_tracked_analysed_pct: Option<f64>,
    /// What went wrong with the broadcast or its files: `launch demo` exits non-zero.
    pub problems: Vec<String>,
    /// Measurements that could not be made although nothing failed (a machine too busy
    /// for the detector to analyse enough frames): reported, not an error.
    pub not_measured: Vec<String>,
}

/// The analyzer's track messages in the demo's recording; a recording that cannot be read
/// is a problem, and nothing about tracks is measured.
fn read_tracks(out: &Path, e: &mut Evaluation) -> Option<Vec<Tracks>> {
    let reader = match shared::recording::RecordingReader::open(&out.join("messages.tlrec")) {
        Ok(r) => r,
        Err(err) => {
            e.problems.push(format!(
                "messages.tlrec: {err}; track accuracy not measured"
            ));
            return None;
        }
    };
    let tracks: Vec<Tracks> = reader
        .flatten()
        .filter_map(|rec| match rec.message() {
            Ok(Message::Tracks(t)) => Some(t),
            _ => None,
        })
        .collect();
    e.analysed_frames = tracks.len() as u64;
    if !tracks.is_empty() {
        let tracked = tracks.iter().filter(|t| ball_tracked(t)).count();
        e.ball_tracked_analysed_pct = Some(100.0 * tracked as f64 / tracks.len() as f64);
    }
    Some(tracks)
}

fn ball_tracked(t: &Tracks) -> bool {
    t.ball
        .as_ref()
        .is_some_and(|b| b.status == TrackStatus::Tracked)
}

/// Ball tracks from the message recording against the synthetic source's ground truth.
fn track_accuracy(tracks: &[Tracks], truth: &HashMap<u64, GroundTruth>, e: &mut Evaluation) {
    let mut errors = Vec::new();
    for t in tracks {
        let Some(tb) = truth.get(&t.pts_ns).map(|v| &v.ball) else {
            continue;
        };
        if !tb.in_play || !tb.visible {
            continue;
        }
        e.ball_truth_frames += 1;
        if let Some(b) = t.ball.as_ref().filter(|b| b.status == TrackStatus::Tracked) {
            let dx = b.x_m as f64 - tb.x_m;
            let dy = b.y_m as f64 - tb.y_m;
            errors.push(dx.hypot(dy));
        }
    }
    if e.ball_truth_frames == 0 {
        e.not_measured.push(format!(
            "track accuracy: no analysed frame with the ball in play matched the ground truth \
             ({} track messages; on a busy machine the detector analyses few frames)",
            tracks.len()
        ));
        return;
    }
    e.ball_tracked_pct = Some(100.0 * errors.len() as f64 / e.ball_truth_frames as f64);
    if !errors.is_empty() {
        let mse = errors.iter().map(|d| d * d).sum::<f64>() / errors.len() as f64;
        e.ball_track_rmse_m = Some(mse.sqrt());
        errors.sort_by(f64::total_cmp);
        e.ball_track_p95_m = Some(shared::stats::percentile(&errors, 0.95));
    }
}

/// Pose changes between consecutive broadcast frames against the configured bounds: the
/// director's speed limit plus playout's fallback/blend speed, over the time between the two
/// frames (frames dropped upstream leave a longer step; they are counted as drops).
fn pose_continuity(cfg: &SystemConfig, poses: &[PoseRecord], e: &mut Evaluation) {
    let fps = cfg.capture.fps as f64;
    let p = &cfg.playout;
    let d = &cfg.director;
    let ease = p.fallback_speed_deg_s.max(p.blend_speed_deg_s);
    let (pan_dps, zoom_dps) = (d.max_speed_deg_s + ease, d.max_zoom_speed_deg_s + ease);
    e.pose_step_limit_deg = pan_dps / fps;
    e.pose_zoom_step_limit_deg = zoom_dps / fps;
    let mut prev: Option<(u64, f64, f64, f64)> = None;
    let (mut pan, mut zoom) = (None::<f64>, None::<f64>);
    for &PoseRecord {
        pts_ns: pts,
        yaw,
        pitch,
        fov,
        ..
    } in poses
    {
        if let Some((t0, y0, p0, f0)) = prev {
            let dt = (pts.saturating_sub(t0) as f64 / 1e9).max(1.0 / fps);
            let step = (yaw - y0).abs().max((pitch - p0).abs());
            let zstep = (fov - f0).abs();
            pan = Some(pan.map_or(step, |m| m.max(step)));
            zoom = Some(zoom.map_or(zstep, |m| m.max(zstep)));
            // The log rounds to 1e-4 degrees.
            if step > pan_dps * dt + 1e-3 || zstep > zoom_dps * dt + 1e-3 {
                e.pose_jumps += 1;
            }
        }
        prev = Some((pts, yaw, pitch, fov));
    }
    e.pose_max_step_deg = pan;
    e.pose_max_zoom_step_deg = zoom;
}

/// The records of a JSON-lines artefact; lines that do not parse are reported (a renamed
/// field would otherwise look like an empty log), as measurements left out: the broadcast
/// itself is not at fault.
fn read_lines<T: serde::de::DeserializeOwned>(p: &Path, e: &mut Evaluation) -> Vec<T> {
    match shared::artefacts::read_lines(p) {
        Ok(l) => {
            if l.bad_lines > 0 {
                e.not_measured.push(format!(
                    "{}: {} lines not understood",
                    p.display(),
                    l.bad_lines
                ));
            }
            l.records
        }
        Err(_) => Vec::new(),
    }
}

/// Decodes a programme file with `capture check-output` (the capture program of
/// `launch.processes`), so that launch itself needs no GStreamer.
fn inspect(cfg: &SystemConfig, file: &Path) -> Result<OutputCheck, String> {
    let program = cfg
        .launch
        .processes
        .iter()
        .find(|p| p.name == "capture")
        .map_or("capture", |p| p.program.as_str());
    let program = crate::children::resolve_program(program).map_err(|e| format!("{e:#}"))?;
    let out = std::process::Command::new(&program)
        .arg("check-output")
        .arg(file)
        .env("RUST_LOG", "warn")
        .env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LIB_BACKTRACE")
        .output()
        .map_err(|e| format!("running {} check-output: {e}", program.display()))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(err
            .lines()
            .find_map(|l| l.strip_prefix("Error: "))
            .unwrap_or("check-output failed")
            .to_string());
    }
    serde_json::from_slice(&out.stdout)
        .map_err(|e| format!("{} check-output printed no check: {e}", program.display()))
}

pub fn evaluate(cfg: &SystemConfig, out: &Path) -> Evaluation {
    let mut e = Evaluation::default();
    capture_report(&out.join("playout.json"), &mut e);
    output_files(cfg, out, &mut e);
    let poses: Vec<PoseRecord> = read_lines(&out.join("poses.jsonl"), &mut e);
    pose_continuity(cfg, &poses, &mut e);
    let Ok(cal) = calibration(cfg) else {
        e.problems
            .push("calibration unreadable; ball in frame not measured".into());
        return e;
    };
    let tracks = read_tracks(out, &mut e);
    if cfg.capture.source != shared::config::SourceKind::Synthetic {
        // Real cameras have no ground truth: the files, the counters above and the share of
        // analysed frames with a tracked ball are the measure.
        return e;
    }
    let truth: HashMap<u64, GroundTruth> = read_lines(&out.join("truth.jsonl"), &mut e)
        .into_iter()
        .map(|t: GroundTruth| (t.pts_ns, t))
        .collect();
    if let Some(tracks) = &tracks {
        track_accuracy(tracks, &truth, &mut e);
    }
    ball_framing(cfg, &cal, &poses, &truth, &mut e);
    e
}

/// Capture's report: frames through playout, drops, fallback frames, output failures and
/// rebuilds.
fn capture_report(path: &Path, e: &mut Evaluation) {
    let r = match std::fs::read_to_string(path).map(|t| serde_json::from_str::<CaptureReport>(&t)) {
        Ok(Ok(r)) => r,
        Ok(Err(err)) => {
            e.problems.push(format!(
                "capture's report {} is unreadable: {err}",
                path.display()
            ));
            return;
        }
        Err(_) => {
            e.problems
                .push("capture wrote no playout report (playout.json)".into());
            return;
        }
    };
    e.frames_in = Some(r.playout.frames_in);
    e.frames_out = Some(r.playout.frames_out);
    let ingest_dropped = r.engine.ingest_dropped.into_iter().max().unwrap_or(0);
    e.frames_dropped = Some(r.playout.ring_overflowed + r.engine.pool_exhausted + ingest_dropped);
    e.fallback_frames = Some(r.playout.fallback_frames);
    for (name, result) in &r.playout.outputs {
        if let Err(err) = result {
            e.problems.push(format!("output {name} failed: {err}"));
        }
    }
    e.outputs = r.playout.output_health;
    for o in &e.outputs {
        if o.restarts > 0 {
            e.problems.push(format!(
                "output {} was rebuilt {} times (last error: {})",
                o.name,
                o.restarts,
                o.last_error.as_deref().unwrap_or("none")
            ));
        }
    }
}

/// The programme file and the panorama view file (when it is a file), decoded and checked.
fn output_files(cfg: &SystemConfig, out: &Path, e: &mut Evaluation) {
    match inspect(cfg, &out.join("broadcast.mp4")) {
        Ok(c) => {
            e.broadcast_frames = Some(c.video_frames);
            e.broadcast_monotonic = Some(c.monotonic);
            e.broadcast_longest_frozen_frames = Some(c.longest_frozen);
            e.av_offset_worst_ms = c.worst_av_offset_ms();
            e.av_offsets_ms = c.av_offsets_ms;
        }
        Err(err) => e.problems.push(format!("broadcast.mp4: {err}")),
    }
    let panorama = Path::new(&cfg.playout.panorama_view);
    if panorama.extension().is_none() {
        return;
    }
    match inspect(cfg, panorama) {
        Ok(c) => {
            e.panorama_frames = Some(c.video_frames);
            if e.broadcast_frames.is_some_and(|b| b != c.video_frames) {
                e.problems.push(format!(
                    "{} has {} frames, broadcast.mp4 {}",
                    panorama.display(),
                    c.video_frames,
                    e.broadcast_frames.unwrap_or(0)
                ));
            }
        }
        Err(err) => e.problems.push(format!("{}: {err}", panorama.display())),
    }
}

/// The run's calibration: the configured file, or the synthetic rig's.
fn calibration(cfg: &SystemConfig) -> Result<Calibration, String> {
    let c = &cfg.capture;
    if c.calibration.is_empty() {
        Ok(Calibration::synthetic(
            c.panorama_width,
            c.camera_width,
            c.camera_height,
        ))
    } else {
        Calibration::load(Path::new(&c.calibration)).map_err(|e| e.to_string())
    }
}

/// The true ball seen through each output pose, judged as the director's replay judges a
/// path ([`touchline_director::metrics`]): of the in-play frames with the ball inside the
/// panorama, the share with the ball in the picture; of those whose ball some pose can hold
/// in the safe zone, the share with it there (not measured when there is none). A ball above the panorama (a high lofted ball) cannot be
/// shown by any pose: those frames are counted apart (`unframeable_frames`), and the share of
/// every in-play frame is reported beside (`ball_in_frame_all_in_play_pct`).
fn ball_framing(
    cfg: &SystemConfig,
    cal: &Calibration,
    poses: &[PoseRecord],
    truth: &HashMap<u64, GroundTruth>,
    e: &mut Evaluation,
) {
    let p = &cfg.playout;
    let d = &cfg.director;
    let view = ViewModel::new(p.output_width, p.output_height, p.roll_deg);
    let rig = Rig::new(cal.clone(), d, view);
    let frames: Vec<EvalFrame> = poses
        .iter()
        .filter_map(|pose| {
            let t = truth.get(&pose.pts_ns)?;
            let (lon, lat) = cal.panorama.pixel_to_lonlat(t.ball.px, t.ball.py);
            Some(EvalFrame {
                t_s: pose.pts_ns as f64 / 1e9,
                pose: Pose {
                    yaw: pose.yaw,
                    pitch: pose.pitch,
                    fov: pose.fov,
                },
                ball: Some((lon, lat)),
                in_play: t.ball.in_play,
                safe_reachable: rig.limits.can_show(
                    lon,
                    lat,
                    d.safe_zone_width,
                    d.safe_zone_height,
                ),
            })
        })
        .collect();
    let dt = 1.0 / cfg.capture.fps as f64;
    let m =
        touchline_director::metrics::compute(&frames, dt, &cal.panorama, &metrics_options(d, view));
    e.in_play_frames = m.in_play_frames as u64;
    e.unframeable_frames = m.unframeable_frames as u64;
    e.safe_zone_unreachable_frames = m.safe_zone_unreachable_frames as u64;
    let judged = m.in_play_frames - m.unframeable_frames;
    if judged > 0 {
        e.ball_in_frame_pct = Some(m.ball_in_frame_pct);
        e.ball_in_safe_zone_pct =
            (judged > m.safe_zone_unreachable_frames).then_some(m.ball_in_safe_zone_pct);
        e.ball_in_frame_all_in_play_pct =
            Some(m.ball_in_frame_pct * judged as f64 / m.in_play_frames as f64);
    } else if m.in_play_frames > 0 {
        e.ball_in_frame_all_in_play_pct = Some(0.0);
        e.not_measured.push(format!(
            "ball in frame: the ball was outside the panorama in all {} in-play frames",
            m.in_play_frames
        ));
    } else {
        e.problems
            .push("no ground truth matched the output poses; ball in frame not measured".into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::messages::{encode, BallState};
    use shared::recording::RecordingWriter;

    fn tracks(pts_ns: u64, status: Option<TrackStatus>) -> Message {
        Message::Tracks(Tracks {
            pts_ns,
            ball: status.map(|status| BallState {
                x_m: 50.0,
                y_m: 30.0,
                z_m: 0.0,
                vx_mps: 0.0,
                vy_mps: 0.0,
                vz_mps: 0.0,
                px: 900.0,
                py: 300.0,
                confidence: 0.9,
                status,
            }),
            players: None,
        })
    }

    #[test]
    fn share_of_analysed_frames_with_a_tracked_ball_needs_no_ground_truth() {
        let dir = tempfile::tempdir().unwrap();
        let mut w =
            RecordingWriter::create(&dir.path().join("messages.tlrec"), "test", "tracks").unwrap();
        let messages = [
            tracks(1, Some(TrackStatus::Tracked)),
            tracks(2, Some(TrackStatus::Tracked)),
            tracks(3, Some(TrackStatus::Predicted)),
            tracks(4, None),
            tracks(5, Some(TrackStatus::Tracked)),
        ];
        for m in &messages {
            w.write_message(0, m.topic(), &encode(m).unwrap()).unwrap();
        }
        w.flush().unwrap();
        drop(w);
        let mut e = Evaluation::default();
        let read = read_tracks(dir.path(), &mut e).expect("recording read");
        assert_eq!(read.len(), 5);
        assert_eq!(e.analysed_frames, 5);
        assert_eq!(e.ball_tracked_analysed_pct, Some(60.0));
        assert!(e.problems.is_empty(), "{:?}", e.problems);
    }

    fn truth(pts_ns: u64, cal: &Calibration, lon: f64, lat: f64, in_play: bool) -> GroundTruth {
        let (px, py) = cal.panorama.lonlat_to_pixel(lon, lat);
        GroundTruth {
            pts_ns,
            t_s: pts_ns as f64 / 1e9,
            ball: shared::scene::BallTruth {
                x_m: 0.0,
                y_m: 0.0,
                z_m: 0.0,
                in_play,
                px,
                py,
                diameter_px: 3.0,
                visible: true,
            },
            people: Vec::new(),
        }
    }

    /// One pose for `n` frames 40 ms apart: centred at (0, -15), 60 degrees wide.
    fn still_poses(n: u64) -> Vec<PoseRecord> {
        (0..n)
            .map(|i| PoseRecord {
                pts_ns: i * 40_000_000,
                yaw: 0.0,
                pitch: -15.0,
                fov: 60.0,
                fallback: false,
            })
            .collect()
    }

    #[test]
    fn a_ball_above_the_panorama_is_counted_apart_not_judged() {
        let cfg = SystemConfig::default();
        let cal = calibration(&cfg).unwrap();
        let top = cal.panorama.lat_max_deg;
        let poses = still_poses(4);
        let truth: HashMap<u64, GroundTruth> = [
            truth(0, &cal, 0.0, -15.0, true),              // centred
            truth(40_000_000, &cal, 45.0, -15.0, true),    // beside the frame
            truth(80_000_000, &cal, 0.0, top + 5.0, true), // above the panorama
            truth(120_000_000, &cal, 45.0, -15.0, false),  // out of play
        ]
        .into_iter()
        .map(|t| (t.pts_ns, t))
        .collect();
        let mut e = Evaluation::default();
        ball_framing(&cfg, &cal, &poses, &truth, &mut e);
        assert_eq!(e.in_play_frames, 3);
        assert_eq!(e.unframeable_frames, 1);
        assert_eq!(e.ball_in_frame_pct, Some(50.0));
        assert_eq!(e.ball_in_safe_zone_pct, Some(50.0));
        let all = e.ball_in_frame_all_in_play_pct.unwrap();
        assert!((all - 100.0 / 3.0).abs() < 1e-9, "{all}");
        assert!(e.problems.is_empty() && e.not_measured.is_empty(), "{e:?}");
    }

    #[test]
    fn a_ball_at_the_panoramas_top_edge_is_judged_in_frame_only() {
        let cfg = SystemConfig::default();
        let cal = calibration(&cfg).unwrap();
        let top = cal.panorama.lat_max_deg - 0.2;
        let poses = still_poses(3);
        let truth: HashMap<u64, GroundTruth> = (0..3)
            .map(|i| (i * 40_000_000, truth(i * 40_000_000, &cal, 0.0, top, true)))
            .collect();
        let mut e = Evaluation::default();
        ball_framing(&cfg, &cal, &poses, &truth, &mut e);
        assert_eq!(e.safe_zone_unreachable_frames, 3);
        assert!(e.ball_in_frame_pct.is_some());
        assert_eq!(e.ball_in_safe_zone_pct, None, "no frame to judge it on");
    }

    #[test]
    fn a_ball_always_above_the_panorama_is_not_measured() {
        let cfg = SystemConfig::default();
        let cal = calibration(&cfg).unwrap();
        let t = truth(0, &cal, 0.0, cal.panorama.lat_max_deg + 5.0, true);
        let mut e = Evaluation::default();
        ball_framing(
            &cfg,
            &cal,
            &still_poses(1),
            &HashMap::from([(0, t)]),
            &mut e,
        );
        assert_eq!(e.ball_in_frame_pct, None);
        assert_eq!(e.ball_in_frame_all_in_play_pct, Some(0.0));
        assert!(e.not_measured[0].contains("outside the panorama"), "{e:?}");
    }

    #[test]
    fn a_missing_recording_is_a_problem_not_a_zero() {
        let dir = tempfile::tempdir().unwrap();
        let mut e = Evaluation::default();
        assert!(read_tracks(dir.path(), &mut e).is_none());
        assert_eq!(e.ball_tracked_analysed_pct, None);
        assert!(e.problems[0].contains("messages.tlrec"), "{:?}", e.problems);
    }
}
