//! Time types.
//!
//! Every panorama frame has a `pts_ns`: capture's pipeline running time in nanoseconds. It is
//! the one join key across processes. Durations on the wire are nanoseconds as `u64` too.

use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Nanoseconds per second.
pub const NS_PER_SEC: u64 = 1_000_000_000;
/// Nanoseconds per millisecond.
pub const NS_PER_MS: u64 = 1_000_000;

/// A frame rate as a rational number (`num / den` frames per second).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrameRate {
    pub num: u32,
    pub den: u32,
}

impl FrameRate {
    pub const fn new(num: u32, den: u32) -> Self {
        Self { num, den }
    }

    /// Frames per second as a float.
    pub fn fps(&self) -> f64 {
        self.num as f64 / self.den as f64
    }

    /// Exact presentation time of frame `seq` counted from zero (rounded down to whole ns).
    pub fn pts_of_frame(&self, seq: u64) -> u64 {
        ((seq as u128 * self.den as u128 * NS_PER_SEC as u128) / self.num as u128) as u64
    }

    /// Nominal duration of one frame in ns (rounded down).
    pub fn frame_duration_ns(&self) -> u64 {
        (self.den as u64 * NS_PER_SEC) / self.num as u64
    }

    /// Number of frames that cover `duration_ns` (rounded up).
    pub fn frames_in(&self, duration_ns: u64) -> u64 {
        let num = duration_ns as u128 * self.num as u128;
        let den = self.den as u128 * NS_PER_SEC as u128;
        num.div_ceil(den) as u64
    }
}

/// Seconds (float) to nanoseconds, saturating at zero for negative input.
pub fn secs_to_ns(secs: f64) -> u64 {
    if secs <= 0.0 || !secs.is_finite() {
        0
    } else {
        (secs * NS_PER_SEC as f64).round() as u64
    }
}

/// Nanoseconds to seconds as a float.
pub fn ns_to_secs(ns: u64) -> f64 {
    ns as f64 / NS_PER_SEC as f64
}

/// Wall-clock time since the Unix epoch in ns (for receive timestamps in recordings).
pub fn unix_now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// A source of monotonic time, so that logic can be tested without sleeping.
pub trait Clock: Send + Sync {
    /// Monotonic nanoseconds since an arbitrary, fixed origin.
    fn now_ns(&self) -> u64;
}

/// The real monotonic clock.
#[derive(Debug, Clone)]
pub struct MonotonicClock {
    origin: Instant,
}

impl MonotonicClock {
    pub fn new() -> Self {
        Self {
            origin: Instant::now(),
        }
    }
}

impl Default for MonotonicClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for MonotonicClock {
    fn now_ns(&self) -> u64 {
        self.origin.elapsed().as_nanos() as u64
    }
}

/// A clock that only moves when told to (tests and offline replay).
#[derive(Debug, Clone, Default)]
pub struct ManualClock {
    now: Arc<AtomicU64>,
}

impl ManualClock {
    pub fn new(start_ns: u64) -> Self {
        Self {
            now: Arc::new(AtomicU64::new(start_ns)),
        }
    }

    pub fn set(&self, ns: u64) {
        self.now.store(ns, Ordering::SeqCst);
    }

    pub fn advance(&self, ns: u64) {
        self.now.fetch_add(ns, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ns(&self) -> u64 {
        self.now.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ntsc_rate_is_exact() {
        let r = FrameRate::new(30000, 1001);
        assert_eq!(r.pts_of_frame(30000), 1001 * NS_PER_SEC);
        assert_eq!(r.frame_duration_ns(), 33_366_666);
    }

    #[test]
    fn frames_in_rounds_up() {
        let r = FrameRate::new(25, 1);
        assert_eq!(r.frames_in(7 * NS_PER_SEC), 175);
        assert_eq!(r.frames_in(7 * NS_PER_SEC + 1), 176);
    }

    #[test]
    fn manual_clock_moves_only_when_told() {
        let c = ManualClock::new(5);
        assert_eq!(c.now_ns(), 5);
        c.advance(10);
        assert_eq!(c.now_ns(), 15);
        c.set(2);
        assert_eq!(c.now_ns(), 2);
    }

    #[test]
    fn secs_conversion_saturates() {
        assert_eq!(secs_to_ns(-1.0), 0);
        assert_eq!(secs_to_ns(f64::NAN), 0);
        assert_eq!(secs_to_ns(1.5), 1_500_000_000);
        assert!((ns_to_secs(2_500_000_000) - 2.5).abs() < 1e-12);
    }
}
