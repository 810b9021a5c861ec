//! Timestamps from arrival times: a live camera whose own timestamps cannot be trusted (RTSP
//! after a reconnection) is stamped when its frames arrive, and arrival times jitter with the
//! network and the machine's load. The smoother keeps a steady cadence: each frame is expected
//! one frame interval after the last, and the stamp follows the arrivals only slowly; a frame
//! far from expected (after a gap or a stall) starts the cadence again from its arrival. Pure
//! logic with time passed in.

/// Share of the difference between arrival and expectation taken per frame.
const FOLLOW: f64 = 1.0 / 16.0;

/// Steady timestamps from jittery arrivals.
#[derive(Debug, Clone)]
pub struct ArrivalSmoother {
    frame_ns: u64,
    last: Option<u64>,
}

impl ArrivalSmoother {
    pub fn new(frame_ns: u64) -> ArrivalSmoother {
        ArrivalSmoother {
            frame_ns,
            last: None,
        }
    }

    /// The timestamp of a frame that arrived at `arrival_ns`.
    pub fn stamp(&mut self, arrival_ns: u64) -> u64 {
        let pts = match self.last {
            Some(last) => {
                let expected = last + self.frame_ns;
                let off = arrival_ns as i64 - expected as i64;
                if off.unsigned_abs() > self.frame_ns / 2 {
                    arrival_ns
                } else {
                    (expected as i64 + (off as f64 * FOLLOW) as i64) as u64
                }
            }
            None => arrival_ns,
        };
        // Never at or before the last stamp (a burst of frames arriving together).
        let pts = self.last.map_or(pts, |l| pts.max(l + self.frame_ns / 4));
        self.last = Some(pts);
        pts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const F: u64 = 40_000_000;

    #[test]
    fn jitter_is_smoothed_to_a_steady_cadence() {
        let mut s = ArrivalSmoother::new(F);
        let jitter = [0i64, 7, -5, 3, -8, 6, -2, 9, -6, 1];
        let stamps: Vec<u64> = (0..200i64)
            .map(|i| (1_000_000_000 + i * F as i64 + jitter[(i % 10) as usize] * 1_000_000) as u64)
            .map(|arrival| s.stamp(arrival))
            .collect();
        for w in stamps.windows(2).skip(20) {
            let step = w[1] as i64 - w[0] as i64;
            assert!((step - F as i64).abs() <= 1_000_000, "step {step}");
        }
    }

    #[test]
    fn a_slightly_faster_camera_is_followed() {
        // 25.025 fps against our 25: the stamps keep up with the arrivals.
        let mut s = ArrivalSmoother::new(F);
        let period = 39_960_040u64;
        let mut last = 0;
        for i in 0..3000u64 {
            last = s.stamp(i * period);
        }
        assert!(
            (last as i64 - (2999 * period) as i64).abs() < 2_000_000,
            "{last}"
        );
    }

    #[test]
    fn a_burst_gets_increasing_stamps() {
        let mut s = ArrivalSmoother::new(F);
        let a = s.stamp(0);
        let b = s.stamp(0);
        let c = s.stamp(1);
        assert!(a < b && b < c, "{a} {b} {c}");
    }

    #[test]
    fn after_a_gap_the_cadence_starts_again_from_the_arrival() {
        let mut s = ArrivalSmoother::new(F);
        s.stamp(0);
        s.stamp(F);
        assert_eq!(s.stamp(10 * F + 3_000_000), 10 * F + 3_000_000);
        assert_eq!(s.stamp(11 * F + 3_000_000), 11 * F + 3_000_000);
    }
}
