//! Gain matching between the cameras: measured on the overlap every frame, smoothed over time,
//! bounded, and loud when it cannot do its job (never silently off).

use shared::transport::RateLimitedLog;
use std::time::{Duration, Instant};

/// Settings of the gain matcher.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GainSettings {
    /// Fraction of the way to the measured target taken per frame (0..1].
    pub smoothing: f32,
    /// Largest gain either camera may get (and 1/max the smallest).
    pub max_gain: f32,
}

impl Default for GainSettings {
    fn default() -> Self {
        Self {
            smoothing: 0.1,
            max_gain: 1.5,
        }
    }
}

/// Counters of the gain matcher.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct GainStats {
    /// Frames where a gain hit its bound.
    pub clamped: u64,
    /// Frames where the overlap gave no usable measurement (too dark, no overlap pixels).
    pub unmeasurable: u64,
}

/// Per-camera gains applied to `(Y - 16)` and to chroma about 128.
#[derive(Debug)]
pub struct GainMatcher {
    settings: GainSettings,
    gains: [f32; 2],
    /// A measurement has been taken: later ones are smoothed, the first is taken whole (a
    /// start from equal gains would show the exposure step for the first second).
    measured: bool,
    stats: GainStats,
    log: RateLimitedLog,
}

impl GainMatcher {
    pub fn new(settings: GainSettings) -> GainMatcher {
        GainMatcher {
            settings,
            gains: [1.0, 1.0],
            measured: false,
            stats: GainStats::default(),
            log: RateLimitedLog::new(Duration::from_secs(30)),
        }
    }

    /// Updates from the mean luma (minus 16) of each camera over the overlap; returns the
    /// gains to apply to this frame.
    pub fn update(&mut self, means: Option<[f32; 2]>) -> [f32; 2] {
        let Some([m0, m1]) = means.filter(|m| m[0] > 4.0 && m[1] > 4.0) else {
            self.stats.unmeasurable += 1;
            if let Some(suppressed) = self.log.check(Instant::now()) {
                tracing::warn!(message = "Gain matching cannot measure the overlap; keeping the last gains.", gains = ?self.gains, suppressed);
            }
            return self.gains;
        };
        // Meet in the middle: both cameras move to the geometric mean of their levels.
        let target = [(m1 / m0).sqrt(), (m0 / m1).sqrt()];
        let (lo, hi) = (1.0 / self.settings.max_gain, self.settings.max_gain);
        let mut clamped = false;
        let step = if self.measured {
            self.settings.smoothing
        } else {
            1.0
        };
        self.measured = true;
        for (gain, &t) in self.gains.iter_mut().zip(&target) {
            let t = if t < lo || t > hi {
                clamped = true;
                t.clamp(lo, hi)
            } else {
                t
            };
            *gain += step * (t - *gain);
        }
        if clamped {
            self.stats.clamped += 1;
            if let Some(suppressed) = self.log.check(Instant::now()) {
                tracing::warn!(message = "Gain matching is at its limit; the cameras' exposures differ more than it may correct.", target = ?target, max_gain = self.settings.max_gain, suppressed);
            }
        }
        self.gains
    }

    pub fn gains(&self) -> [f32; 2] {
        self.gains
    }

    pub fn stats(&self) -> GainStats {
        self.stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converges_to_the_geometric_mean() {
        let mut g = GainMatcher::new(GainSettings::default());
        for _ in 0..200 {
            g.update(Some([120.0, 100.0]));
        }
        let [a, b] = g.gains();
        assert!((120.0 * a - 100.0 * b).abs() < 0.1);
        assert!((a * b - 1.0).abs() < 1e-3);
    }

    #[test]
    fn first_measurement_is_taken_whole_then_changes_are_smoothed() {
        let mut g = GainMatcher::new(GainSettings::default());
        // Nothing measurable yet: the gains stay neutral and the next measurement is the first.
        assert_eq!(g.update(None), [1.0, 1.0]);
        let [a, b] = g.update(Some([120.0, 100.0]));
        assert!(
            (120.0 * a - 100.0 * b).abs() < 1e-3,
            "matched from the first frame"
        );
        // The exposure changes: a tenth of the way per frame.
        let before = g.gains();
        let after = g.update(Some([100.0, 100.0]));
        assert!((after[0] - (before[0] + 0.1 * (1.0 - before[0]))).abs() < 1e-6);
    }

    #[test]
    fn bounded_and_counted() {
        let mut g = GainMatcher::new(GainSettings {
            smoothing: 1.0,
            max_gain: 1.2,
        });
        let [a, b] = g.update(Some([200.0, 50.0]));
        assert!((a - 1.0 / 1.2).abs() < 1e-6 && (b - 1.2).abs() < 1e-6);
        assert_eq!(g.stats().clamped, 1);
    }

    #[test]
    fn unmeasurable_keeps_gains_and_counts() {
        let mut g = GainMatcher::new(GainSettings::default());
        g.update(Some([110.0, 100.0]));
        let before = g.gains();
        assert_eq!(g.update(None), before);
        assert_eq!(g.update(Some([0.0, 100.0])), before);
        assert_eq!(g.stats().unmeasurable, 2);
    }
}
