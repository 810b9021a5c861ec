//! The pure logic of the leaky hand-off between the engine thread and the detector worker:
//! a one-frame mailbox where the newest frame wins, a rate gate on stream time, and a rate
//! meter. No clocks, no threads: time is the frames' `pts_ns`.

use std::collections::VecDeque;

/// One slot; putting a frame into a full slot replaces (and returns) the older one.
#[derive(Debug)]
pub struct Mailbox<T> {
    slot: Option<T>,
}

impl<T> Default for Mailbox<T> {
    fn default() -> Self {
        Mailbox { slot: None }
    }
}

impl<T> Mailbox<T> {
    /// Stores `v`; returns the frame it replaced, which was never analysed.
    pub fn put(&mut self, v: T) -> Option<T> {
        self.slot.replace(v)
    }

    pub fn take(&mut self) -> Option<T> {
        self.slot.take()
    }

    pub fn is_empty(&self) -> bool {
        self.slot.is_none()
    }
}

/// Admits at most one frame per `1 / max_rate_hz` of stream time.
#[derive(Debug, Clone)]
pub struct RateGate {
    interval_ns: u64,
    last: Option<u64>,
}

/// Frames a little early still count as due (pts rounding, 29.97 fps).
const SLACK_NS: u64 = 2_000_000;

impl RateGate {
    pub fn new(max_rate_hz: f32) -> RateGate {
        RateGate {
            interval_ns: (1e9 / max_rate_hz.max(1e-3) as f64) as u64,
            last: None,
        }
    }

    /// True when the frame at `pts_ns` may be analysed. A jump back in time restarts the gate.
    pub fn admit(&mut self, pts_ns: u64) -> bool {
        let due = match self.last {
            None => true,
            Some(last) if pts_ns < last => true,
            Some(last) => pts_ns + SLACK_NS >= last + self.interval_ns,
        };
        if due {
            self.last = Some(pts_ns);
        }
        due
    }
}

/// Analysed frames per second of stream time over a sliding window.
#[derive(Debug, Clone)]
pub struct RateMeter {
    window_ns: u64,
    stamps: VecDeque<u64>,
}

impl RateMeter {
    pub fn new(window_ns: u64) -> RateMeter {
        RateMeter {
            window_ns,
            stamps: VecDeque::new(),
        }
    }

    pub fn record(&mut self, pts_ns: u64) {
        if self.stamps.back().is_some_and(|&b| pts_ns < b) {
            self.stamps.clear();
        }
        self.stamps.push_back(pts_ns);
        while let Some(&f) = self.stamps.front() {
            if pts_ns - f > self.window_ns {
                self.stamps.pop_front();
            } else {
                break;
            }
        }
    }

    /// Frames per second over the window (0 until two frames were seen).
    pub fn rate_hz(&self) -> f64 {
        match (self.stamps.front(), self.stamps.back()) {
            (Some(&a), Some(&b)) if b > a => (self.stamps.len() - 1) as f64 * 1e9 / (b - a) as f64,
            _ => 0.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FRAME: u64 = 40_000_000;

    #[test]
    fn newest_frame_wins_the_mailbox() {
        let mut m = Mailbox::default();
        assert_eq!(m.put(1), None);
        assert_eq!(m.put(2), Some(1));
        assert_eq!(m.take(), Some(2));
        assert!(m.is_empty());
    }

    #[test]
    fn gate_admits_every_fifth_frame_at_5_hz_of_25_fps() {
        let mut g = RateGate::new(5.0);
        let admitted: Vec<u64> = (0..20).filter(|i| g.admit(i * FRAME)).collect();
        assert_eq!(admitted, vec![0, 5, 10, 15]);
    }

    #[test]
    fn gate_restarts_when_time_goes_back() {
        let mut g = RateGate::new(1.0);
        assert!(g.admit(10 * FRAME));
        assert!(!g.admit(11 * FRAME));
        assert!(g.admit(0));
    }

    #[test]
    fn meter_measures_stream_rate() {
        let mut m = RateMeter::new(5_000_000_000);
        for i in 0..50 {
            m.record(i * 5 * FRAME);
        }
        assert!((m.rate_hz() - 5.0).abs() < 1e-9);
    }
}
