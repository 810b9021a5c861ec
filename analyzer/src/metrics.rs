//! Evaluation of a ball track against ground truth.
//!
//! - **RMSE** of the position over *tracked* frames (status `tracked`), in metres (3D) and in
//!   panorama pixels. Frames where an estimate has no pitch position (a baseline estimate
//!   above the horizon) are left out of the metres figure only.
//! - **Right ball %**: frames, out of all, where the reported ball (tracked or predicted) is
//!   within [`Criteria::right_m`] metres or [`Criteria::right_px`] pixels of the match ball.
//!   The pixel test matters for lofted balls, where one camera cannot tell the height well
//!   but the virtual camera only needs the direction.
//! - **Track breaks**: times the report goes from the right ball to anything else.
//! - **Time to re-acquire**: after each run of at least [`Criteria::min_gap_s`] without a
//!   detection of the match ball, the time from its next detection until the report is
//!   tracked and right again (runs never re-acquired count up to the end of the stream).

use crate::synth::DetectorTruth;
use serde::Serialize;
use shared::messages::{BallState, TrackStatus};

/// Thresholds of the metrics.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Criteria {
    pub right_m: f64,
    pub right_px: f64,
    pub min_gap_s: f64,
}

impl Default for Criteria {
    fn default() -> Self {
        Criteria {
            right_m: 2.0,
            right_px: 12.0,
            min_gap_s: 0.2,
        }
    }
}

/// The metrics of one run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct TrackingMetrics {
    pub frames: usize,
    pub tracked_frames: usize,
    pub rmse_m: f64,
    pub rmse_px: f64,
    pub right_pct: f64,
    pub breaks: usize,
    pub reacquire_events: usize,
    pub reacquire_mean_s: f64,
    pub reacquire_max_s: f64,
}

/// Whether a report is the right ball in a frame.
pub fn is_right(t: &DetectorTruth, b: Option<&BallState>, c: &Criteria) -> bool {
    let Some(b) = b else {
        return false;
    };
    if b.status == TrackStatus::Lost {
        return false;
    }
    let dm = ((b.x_m as f64 - t.x).powi(2)
        + (b.y_m as f64 - t.y).powi(2)
        + (b.z_m as f64 - t.z).powi(2))
    .sqrt();
    let dp = ((b.px as f64 - t.px).powi(2) + (b.py as f64 - t.py).powi(2)).sqrt();
    dm <= c.right_m || dp <= c.right_px
}

/// Seconds from the end of each gap in the detections (at least `c.min_gap_s`, neither at
/// the start nor at the end) until the ball is tracked and right again.
fn reacquire_waits(
    truth: &[DetectorTruth],
    reports: &[Option<BallState>],
    right: &[bool],
    c: &Criteria,
) -> Vec<f64> {
    let n = truth.len();
    let mut waits = Vec::new();
    let mut i = 0;
    while i < n {
        if truth[i].detected {
            i += 1;
            continue;
        }
        let start = i;
        while i < n && !truth[i].detected {
            i += 1;
        }
        if start == 0 || i >= n {
            continue;
        }
        let gap_s = (truth[i].pts_ns - truth[start].pts_ns) as f64 * 1e-9;
        if gap_s < c.min_gap_s {
            continue;
        }
        let back = truth[i].pts_ns;
        let j = (i..n)
            .find(|&j| {
                right[j]
                    && reports[j]
                        .as_ref()
                        .is_some_and(|b| b.status == TrackStatus::Tracked)
            })
            .unwrap_or(n - 1);
        waits.push((truth[j].pts_ns - back) as f64 * 1e-9);
    }
    waits
}

/// Computes the metrics of `reports` (one per truth frame, same order).
pub fn evaluate(
    truth: &[DetectorTruth],
    reports: &[Option<BallState>],
    c: &Criteria,
) -> TrackingMetrics {
    assert_eq!(truth.len(), reports.len(), "one report per truth frame");
    let n = truth.len();
    let (mut se_m, mut n_m, mut se_px, mut tracked) = (0.0, 0usize, 0.0, 0usize);
    let mut right = vec![false; n];
    for (i, (t, r)) in truth.iter().zip(reports).enumerate() {
        right[i] = is_right(t, r.as_ref(), c);
        let Some(b) = r else { continue };
        if b.status != TrackStatus::Tracked {
            continue;
        }
        tracked += 1;
        se_px += (b.px as f64 - t.px).powi(2) + (b.py as f64 - t.py).powi(2);
        let e2 = (b.x_m as f64 - t.x).powi(2)
            + (b.y_m as f64 - t.y).powi(2)
            + (b.z_m as f64 - t.z).powi(2);
        if e2.is_finite() {
            se_m += e2;
            n_m += 1;
        }
    }
    let breaks = right.windows(2).filter(|w| w[0] && !w[1]).count();
    let waits = reacquire_waits(truth, reports, &right, c);
    let rms = |se: f64, k: usize| {
        if k == 0 {
            f64::NAN
        } else {
            (se / k as f64).sqrt()
        }
    };
    TrackingMetrics {
        frames: n,
        tracked_frames: tracked,
        rmse_m: rms(se_m, n_m),
        rmse_px: rms(se_px, tracked),
        right_pct: if n == 0 {
            0.0
        } else {
            100.0 * right.iter().filter(|r| **r).count() as f64 / n as f64
        },
        breaks,
        reacquire_events: waits.len(),
        reacquire_mean_s: if waits.is_empty() {
            0.0
        } else {
            waits.iter().sum::<f64>() / waits.len() as f64
        },
        reacquire_max_s: waits.iter().cloned().fold(0.0, f64::max),
    }
}

/// Adds up metrics of several runs (weighted by frames and events).
pub fn combine(runs: &[TrackingMetrics]) -> TrackingMetrics {
    let mut m = TrackingMetrics::default();
    let (mut se_m, mut se_px, mut right, mut wait) = (0.0, 0.0, 0.0, 0.0);
    for r in runs {
        m.frames += r.frames;
        m.tracked_frames += r.tracked_frames;
        if r.tracked_frames > 0 {
            se_m += r.rmse_m.powi(2) * r.tracked_frames as f64;
            se_px += r.rmse_px.powi(2) * r.tracked_frames as f64;
        }
        right += r.right_pct * r.frames as f64;
        m.breaks += r.breaks;
        m.reacquire_events += r.reacquire_events;
        wait += r.reacquire_mean_s * r.reacquire_events as f64;
        m.reacquire_max_s = m.reacquire_max_s.max(r.reacquire_max_s);
    }
    let t = m.tracked_frames.max(1) as f64;
    m.rmse_m = (se_m / t).sqrt();
    m.rmse_px = (se_px / t).sqrt();
    m.right_pct = right / m.frames.max(1) as f64;
    m.reacquire_mean_s = wait / m.reacquire_events.max(1) as f64;
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn truth(k: u64, detected: bool) -> DetectorTruth {
        DetectorTruth {
            pts_ns: k * 40_000_000,
            x: k as f64,
            y: 10.0,
            z: 0.11,
            px: 100.0 + k as f64,
            py: 300.0,
            visible: true,
            detected,
        }
    }

    fn at(t: &DetectorTruth, dx: f64, status: TrackStatus) -> Option<BallState> {
        Some(BallState {
            x_m: (t.x + dx) as f32,
            y_m: t.y as f32,
            z_m: t.z as f32,
            vx_mps: 0.0,
            vy_mps: 0.0,
            vz_mps: 0.0,
            px: (t.px + 10.0 * dx) as f32,
            py: t.py as f32,
            confidence: 1.0,
            status,
        })
    }

    #[test]
    fn counts_breaks_and_reacquisition() {
        // 10 good frames, 10 undetected (report drifts away), 10 detected where the report
        // comes back after 5 frames.
        let truth: Vec<_> = (0..30).map(|k| truth(k, !(10..20).contains(&k))).collect();
        let reports: Vec<_> = truth
            .iter()
            .enumerate()
            .map(|(k, t)| match k {
                0..=9 => at(t, 0.5, TrackStatus::Tracked),
                10..=24 => at(t, 30.0, TrackStatus::Predicted),
                _ => at(t, 0.0, TrackStatus::Tracked),
            })
            .collect();
        let m = evaluate(&truth, &reports, &Criteria::default());
        assert_eq!(m.tracked_frames, 15);
        assert_eq!(m.breaks, 1);
        assert_eq!(m.reacquire_events, 1);
        assert!((m.reacquire_mean_s - 0.2).abs() < 1e-9);
        assert!((m.right_pct - 50.0).abs() < 1e-9);
        assert!((m.rmse_m - (10.0f64 * 0.25 / 15.0).sqrt()).abs() < 1e-6);
    }
}
