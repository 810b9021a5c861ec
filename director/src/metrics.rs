//! How good a camera path is, frame by frame against the ball (ground truth where the input
//! has it, else the tracks), with the view model playout renders with ([`crate::view`]).

use crate::view::{Pose, ViewModel};
use serde::Serialize;
use shared::geometry::PanoramaSpec;

/// One evaluated frame: the pose shown and where the ball really was.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EvalFrame {
    pub t_s: f64,
    pub pose: Pose,
    /// Ball direction (lon, lat), degrees, when known.
    pub ball: Option<(f64, f64)>,
    /// The ball is in play (out-of-play time is not judged for framing).
    pub in_play: bool,
    /// Some pose inside the panorama can hold the ball in the safe zone (false only at the
    /// panorama's edges; see [`crate::limits::PoseLimits::can_show`]).
    pub safe_reachable: bool,
}

/// Thresholds of the metrics.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MetricsOptions {
    /// Safe zone as fractions of the frame (centred).
    pub safe_w: f64,
    pub safe_h: f64,
    /// A pan reversal counts as hunting when the pan speed is above this on both sides.
    pub hunting_speed_deg_s: f64,
    /// The zoom counts as changing while its rate is above this.
    pub zoom_change_deg_s: f64,
    /// Largest shift searched for the lag between ball and frame centre, seconds.
    pub max_lag_s: f64,
    /// The output's perspective model (aspect, roll): what "in frame" means.
    pub view: ViewModel,
}

/// Mean, 99th percentile and maximum.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Stat {
    pub mean: f64,
    pub p99: f64,
    pub max: f64,
}

impl Stat {
    fn of(values: &mut [f64]) -> Stat {
        if values.is_empty() {
            return Stat::default();
        }
        let mean = values.iter().sum::<f64>() / values.len() as f64;
        values.sort_by(f64::total_cmp);
        Stat {
            mean,
            p99: shared::stats::percentile(values, 0.99),
            max: values[values.len() - 1],
        }
    }
}

/// The metrics of one path.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct PathMetrics {
    pub frames: usize,
    pub duration_s: f64,
    /// Frames with the ball known and in play.
    pub in_play_frames: usize,
    /// In-play frames whose ball lies outside the panorama (no pose can show it): not judged.
    pub unframeable_frames: usize,
    /// Judged frames whose ball is inside the panorama but so close to its edge that no pose
    /// inside it can hold the ball in the safe zone: judged for "in frame", not for "in the
    /// safe zone".
    pub safe_zone_unreachable_frames: usize,
    /// Share of judged in-play frames with the ball inside the frame, %.
    pub ball_in_frame_pct: f64,
    /// Share of judged in-play frames where the safe zone is reachable with the ball inside
    /// it, %.
    pub ball_in_safe_zone_pct: f64,
    /// Mean distance of the ball from the frame centre, in half-frames (0 centre, 1 edge).
    pub mean_ball_offset: f64,
    /// Angular speed, acceleration and jerk of the view centre ((pan, tilt) as a vector).
    pub speed_deg_s: Stat,
    pub accel_deg_s2: Stat,
    pub jerk_deg_s3: Stat,
    /// Starts of zoom motion per minute.
    pub zoom_changes_per_min: f64,
    /// Pan direction reversals above the hunting speed, in all and per minute.
    pub hunting_count: u64,
    pub hunting_per_min: f64,
    /// Time by which the pan follows the ball (positive: behind it), seconds.
    pub lag_s: f64,
    pub mean_fov_deg: f64,
}

/// Computes the metrics of frames spaced `dt` seconds apart.
pub fn compute(
    frames: &[EvalFrame],
    dt: f64,
    pano: &PanoramaSpec,
    o: &MetricsOptions,
) -> PathMetrics {
    let n = frames.len();
    let mut m = PathMetrics {
        frames: n,
        duration_s: n as f64 * dt,
        ..Default::default()
    };
    if n == 0 {
        return m;
    }
    framing(frames, pano, o, &mut m);
    m.mean_fov_deg = frames.iter().map(|f| f.pose.fov).sum::<f64>() / n as f64;
    let zoom_starts = motion(frames, dt, o, &mut m);
    let minutes = (m.duration_s / 60.0).max(1e-9);
    m.zoom_changes_per_min = zoom_starts as f64 / minutes;
    m.hunting_per_min = m.hunting_count as f64 / minutes;
    m.lag_s = lag(frames, dt, o.max_lag_s);
    m
}

/// Framing: the share of in-play frames with the ball in the picture and in the safe zone
/// (frames where it cannot be framed or the safe zone cannot be reached counted apart), and
/// its mean offset from the centre.
fn framing(frames: &[EvalFrame], pano: &PanoramaSpec, o: &MetricsOptions, m: &mut PathMetrics) {
    let (mut judged, mut in_frame, mut in_safe, mut offset) = (0usize, 0usize, 0usize, 0.0);
    for f in frames {
        let Some((lon, lat)) = f.ball else { continue };
        if !f.in_play {
            continue;
        }
        m.in_play_frames += 1;
        let outside = lon < pano.lon_min_deg
            || lon > pano.lon_max_deg
            || lat < pano.lat_min_deg
            || lat > pano.lat_max_deg;
        if outside {
            m.unframeable_frames += 1;
            continue;
        }
        judged += 1;
        if !f.safe_reachable {
            m.safe_zone_unreachable_frames += 1;
        }
        if let Some((x, y)) = o.view.project(&f.pose, lon, lat) {
            if x.abs() <= 1.0 && y.abs() <= 1.0 {
                in_frame += 1;
                offset += x.hypot(y);
            }
            if f.safe_reachable && x.abs() <= o.safe_w && y.abs() <= o.safe_h {
                in_safe += 1;
            }
        }
    }
    if judged > 0 {
        m.ball_in_frame_pct = 100.0 * in_frame as f64 / judged as f64;
    }
    let safe_judged = judged - m.safe_zone_unreachable_frames;
    if safe_judged > 0 {
        m.ball_in_safe_zone_pct = 100.0 * in_safe as f64 / safe_judged as f64;
    }
    if in_frame > 0 {
        m.mean_ball_offset = offset / in_frame as f64;
    }
}

/// Motion: speed, acceleration and jerk of (pan, tilt) from finite differences, pan
/// reversals above the hunting speed; returns how many zoom changes started.
fn motion(frames: &[EvalFrame], dt: f64, o: &MetricsOptions, m: &mut PathMetrics) -> u64 {
    let vel: Vec<(f64, f64)> = frames
        .windows(2)
        .map(|w| {
            (
                (w[1].pose.yaw - w[0].pose.yaw) / dt,
                (w[1].pose.pitch - w[0].pose.pitch) / dt,
            )
        })
        .collect();
    let diff = |v: &[(f64, f64)]| -> Vec<(f64, f64)> {
        v.windows(2)
            .map(|w| ((w[1].0 - w[0].0) / dt, (w[1].1 - w[0].1) / dt))
            .collect()
    };
    let acc = diff(&vel);
    let jerk = diff(&acc);
    let norms = |v: &[(f64, f64)]| -> Vec<f64> { v.iter().map(|(a, b)| a.hypot(*b)).collect() };
    m.speed_deg_s = Stat::of(&mut norms(&vel));
    m.accel_deg_s2 = Stat::of(&mut norms(&acc));
    m.jerk_deg_s3 = Stat::of(&mut norms(&jerk));

    // Hunting: pan reversals above the threshold speed on both sides.
    let mut last_dir = 0.0f64;
    for (vx, _) in &vel {
        if vx.abs() > o.hunting_speed_deg_s {
            let dir = vx.signum();
            if last_dir != 0.0 && dir != last_dir {
                m.hunting_count += 1;
            }
            last_dir = dir;
        }
    }
    // Zoom changes: starts of runs of zoom rate above the threshold.
    let mut zooming = false;
    let mut zoom_starts = 0u64;
    for w in frames.windows(2) {
        let z = ((w[1].pose.fov - w[0].pose.fov) / dt).abs() > o.zoom_change_deg_s;
        if z && !zooming {
            zoom_starts += 1;
        }
        zooming = z;
    }
    zoom_starts
}

/// The shift of the ball's longitude that best matches the pan (least mean absolute
/// difference): positive when the camera follows behind the ball.
fn lag(frames: &[EvalFrame], dt: f64, max_lag_s: f64) -> f64 {
    let n = frames.len();
    let max_shift = ((max_lag_s / dt).round() as isize).max(0);
    let mut best = (f64::INFINITY, 0isize);
    // Coarse to fine would be faster; the direct search costs frames x shifts additions.
    for s in -max_shift..=max_shift {
        let (mut sum, mut cnt) = (0.0, 0usize);
        for (i, f) in frames.iter().enumerate() {
            let j = i as isize - s;
            if j < 0 || j >= n as isize {
                continue;
            }
            if let Some((lon, _)) = frames[j as usize].ball {
                sum += (f.pose.yaw - lon).abs();
                cnt += 1;
            }
        }
        if cnt > n / 2 {
            let e = sum / cnt as f64;
            if e < best.0 {
                best = (e, s);
            }
        }
    }
    best.1 as f64 * dt
}

/// A Markdown table of metrics, one row per named path.
pub fn table(rows: &[(String, PathMetrics)]) -> String {
    let mut s = String::from(
        "| path | in frame % | in safe zone % | edge frames | speed mean/p99/max deg/s | accel mean/p99/max deg/s2 | jerk p99/max deg/s3 | zoom changes/min | hunting (per min) | lag s | mean fov |\n|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for (name, m) in rows {
        s.push_str(&format!(
            "| {name} | {:.2} | {:.2} | {}/{} | {:.1}/{:.1}/{:.1} | {:.1}/{:.1}/{:.1} | {:.0}/{:.0} | {:.2} | {} ({:.2}) | {:.2} | {:.1} |\n",
            m.ball_in_frame_pct,
            m.ball_in_safe_zone_pct,
            m.unframeable_frames,
            m.safe_zone_unreachable_frames,
            m.speed_deg_s.mean,
            m.speed_deg_s.p99,
            m.speed_deg_s.max,
            m.accel_deg_s2.mean,
            m.accel_deg_s2.p99,
            m.accel_deg_s2.max,
            m.jerk_deg_s3.p99,
            m.jerk_deg_s3.max,
            m.zoom_changes_per_min,
            m.hunting_count,
            m.hunting_per_min,
            m.lag_s,
            m.mean_fov_deg,
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::geometry::Calibration;

    fn opts() -> MetricsOptions {
        MetricsOptions {
            safe_w: 0.7,
            safe_h: 0.7,
            hunting_speed_deg_s: 2.0,
            zoom_change_deg_s: 0.5,
            max_lag_s: 2.0,
            view: ViewModel::default(),
        }
    }

    /// Frame `i` (25 fps) of a still camera at (0, -10) with a 40 degree view.
    fn still(i: usize, ball: (f64, f64), safe_reachable: bool) -> EvalFrame {
        EvalFrame {
            t_s: i as f64 * 0.04,
            pose: Pose {
                yaw: 0.0,
                pitch: -10.0,
                fov: 40.0,
            },
            ball: Some(ball),
            in_play: true,
            safe_reachable,
        }
    }

    #[test]
    fn centred_ball_and_still_camera() {
        let pano = Calibration::synthetic(1920, 960, 540).panorama;
        let frames: Vec<EvalFrame> = (0..100).map(|i| still(i, (0.0, -10.0), true)).collect();
        let m = compute(&frames, 0.04, &pano, &opts());
        assert_eq!(m.ball_in_frame_pct, 100.0);
        assert_eq!(m.ball_in_safe_zone_pct, 100.0);
        assert_eq!(m.speed_deg_s.max, 0.0);
        assert_eq!(m.hunting_count, 0);
        assert_eq!(m.zoom_changes_per_min, 0.0);
    }

    #[test]
    fn oscillating_pan_is_hunting_and_lag_is_found() {
        let pano = Calibration::synthetic(1920, 960, 540).panorama;
        let ball = |t: f64| 20.0 * (t * 0.5).sin();
        let frames: Vec<EvalFrame> = (0..1500)
            .map(|i| {
                let t = i as f64 * 0.04;
                EvalFrame {
                    t_s: t,
                    pose: Pose {
                        yaw: ball(t - 0.4),
                        pitch: -10.0,
                        fov: 40.0,
                    },
                    ball: Some((ball(t), -10.0)),
                    in_play: true,
                    safe_reachable: true,
                }
            })
            .collect();
        let m = compute(&frames, 0.04, &pano, &opts());
        assert!((m.lag_s - 0.4).abs() < 0.05, "{}", m.lag_s);
        assert!(m.hunting_count >= 8, "{}", m.hunting_count);
    }

    #[test]
    fn unreachable_safe_zone_frames_are_counted_apart() {
        let pano = Calibration::synthetic(1920, 960, 540).panorama;
        // The ball just below the frame's top edge: in frame, outside the safe zone.
        let frames: Vec<EvalFrame> = (0..10).map(|i| still(i, (0.0, 0.5), i >= 4)).collect();
        let m = compute(&frames, 0.04, &pano, &opts());
        assert_eq!(m.ball_in_frame_pct, 100.0);
        assert_eq!(m.safe_zone_unreachable_frames, 4);
        // Judged for the safe zone: the six reachable frames, none of them in it.
        assert_eq!(m.ball_in_safe_zone_pct, 0.0);
    }
}
