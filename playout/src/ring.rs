//! The delay ring: panorama frames wait here for the configured delay as *references* to
//! their pooled buffers. No pixel is copied between the stitcher and the virtual camera.
//! The `host-copy` mode reproduces the old design (a deep copy in and out) for benchmarks.

use crate::frame::RingPayload;
use std::collections::VecDeque;

/// How frames are held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RingMode {
    /// References to the pooled buffers (the product).
    #[default]
    ZeroCopy,
    /// Deep copy on the way in and on the way out (the old prototype; benchmarks only).
    HostCopy,
}

/// A frame in the ring: a [`crate::frame::FrameRef`] in playout, a plain `gst::Buffer` in
/// CPU-only uses.
#[derive(Debug, Clone)]
pub struct RingFrame<F = gst::Buffer> {
    pub pts_ns: u64,
    pub seq: u64,
    pub buffer: F,
}

/// Counters of the ring.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RingStats {
    pub pushed: u64,
    pub popped: u64,
    /// Frames evicted because the ring was full (never expected when sized right).
    pub overflowed: u64,
    /// Bytes copied by host-copy mode.
    pub bytes_copied: u64,
}

/// Frames waiting for their turn, oldest first.
pub struct DelayRing<F = gst::Buffer> {
    delay_ns: u64,
    capacity: usize,
    mode: RingMode,
    frames: VecDeque<RingFrame<F>>,
    stats: RingStats,
}

impl<F: RingPayload> DelayRing<F> {
    pub fn new(delay_ns: u64, capacity: usize, mode: RingMode) -> DelayRing<F> {
        DelayRing {
            delay_ns,
            capacity: capacity.max(1),
            mode,
            frames: VecDeque::with_capacity(capacity.max(1)),
            stats: RingStats::default(),
        }
    }

    /// Adds the newest frame. Returns a frame evicted because the ring was full.
    pub fn push(&mut self, mut frame: RingFrame<F>) -> Option<RingFrame<F>> {
        if self.mode == RingMode::HostCopy {
            self.stats.bytes_copied += frame.buffer.bytes() as u64;
            frame.buffer = frame.buffer.deep_copy();
        }
        self.stats.pushed += 1;
        let evicted = if self.frames.len() >= self.capacity {
            self.stats.overflowed += 1;
            self.frames.pop_front()
        } else {
            None
        };
        self.frames.push_back(frame);
        evicted
    }

    fn out(&mut self, mut f: RingFrame<F>) -> RingFrame<F> {
        if self.mode == RingMode::HostCopy {
            self.stats.bytes_copied += f.buffer.bytes() as u64;
            f.buffer = f.buffer.deep_copy();
        }
        self.stats.popped += 1;
        f
    }

    /// The oldest frame if it is due for a live time of `live_pts` (older than the delay).
    pub fn pop_due(&mut self, live_pts: u64) -> Option<RingFrame<F>> {
        let due = self
            .frames
            .front()
            .is_some_and(|f| f.pts_ns + self.delay_ns <= live_pts);
        if due {
            let f = self.frames.pop_front().unwrap();
            Some(self.out(f))
        } else {
            None
        }
    }

    /// The oldest frame whatever its time (end of input: drain everything).
    pub fn pop_any(&mut self) -> Option<RingFrame<F>> {
        let f = self.frames.pop_front()?;
        Some(self.out(f))
    }

    pub fn depth(&self) -> usize {
        self.frames.len()
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    pub fn delay_ns(&self) -> u64 {
        self.delay_ns
    }

    pub fn stats(&self) -> RingStats {
        self.stats
    }
}

/// Frames the pool must hold for a delay at a frame rate: the ring, plus frames being
/// stitched, analysed and encoded.
pub fn pool_frames_for(delay_ns: u64, rate: shared::time::FrameRate, margin: u32) -> u32 {
    rate.frames_in(delay_ns) as u32 + margin
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(pts: u64) -> RingFrame<gst::Buffer> {
        gst::init().unwrap();
        let mut b = gst::Buffer::from_mut_slice(vec![pts as u8; 64]);
        b.get_mut()
            .unwrap()
            .set_pts(gst::ClockTime::from_nseconds(pts));
        RingFrame {
            pts_ns: pts,
            seq: pts,
            buffer: b,
        }
    }

    fn data_ptr(b: &gst::Buffer) -> usize {
        b.map_readable().unwrap().as_slice().as_ptr() as usize
    }

    #[test]
    fn zero_copy_frames_leave_with_the_same_memory() {
        let mut r = DelayRing::new(100, 10, RingMode::ZeroCopy);
        let f = frame(0);
        let ptr_in = data_ptr(&f.buffer);
        r.push(f);
        assert!(r.pop_due(99).is_none(), "not due before the delay");
        let out = r.pop_due(100).unwrap();
        assert_eq!(data_ptr(&out.buffer), ptr_in, "same pixels, not a copy");
        assert_eq!(r.stats().bytes_copied, 0);
    }

    #[test]
    fn host_copy_copies_twice() {
        let mut r = DelayRing::new(0, 10, RingMode::HostCopy);
        let f = frame(0);
        let ptr_in = data_ptr(&f.buffer);
        // Keep the stitcher's buffer alive, as the pool would.
        let _original = f.buffer.clone();
        r.push(f);
        let out = r.pop_due(0).unwrap();
        assert_ne!(data_ptr(&out.buffer), ptr_in);
        assert_eq!(r.stats().bytes_copied, 128);
        assert_eq!(out.buffer.map_readable().unwrap().as_slice(), &[0u8; 64]);
    }

    #[test]
    fn frames_leave_in_order_after_the_delay_and_overflow_is_counted() {
        let mut r = DelayRing::new(100, 3, RingMode::ZeroCopy);
        for p in [0, 40, 80, 120] {
            r.push(frame(p));
        }
        assert_eq!(r.stats().overflowed, 1);
        assert_eq!(r.pop_due(200).unwrap().pts_ns, 40);
        assert_eq!(r.pop_due(200).unwrap().pts_ns, 80);
        assert!(r.pop_due(200).is_none());
        assert_eq!(r.pop_any().unwrap().pts_ns, 120);
    }

    #[test]
    fn pool_size_covers_the_delay() {
        let n = pool_frames_for(7_000_000_000, shared::time::FrameRate::new(25, 1), 12);
        assert_eq!(n, 175 + 12);
    }
}
