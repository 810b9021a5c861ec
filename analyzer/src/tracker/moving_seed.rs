//! A ball seen moving fast by the motion cue alone: three of its sightings in a short time
//! on one straight line at ball speed.
//!
//! The motion cue cannot start a track by itself: a moving white sock is a ball to it. But
//! after a shot the detector (a second or more per full sweep on a busy CPU, or a focus square
//! left behind) may not see the ball for seconds while the cue sees it in frame after frame.
//! Three cue sightings within [`SeedRule::window_ns`], the middle one within
//! [`SeedRule::residual_px`] of the straight line through the other two at constant speed,
//! faster than [`SeedRule::min_px_per_s`] across the panorama and [`SeedRule::min_mps`]
//! along the grass (the ground points of their viewing rays), were the ball itself in every
//! case on the chain benchmark's recordings (bench/README.md, "A ball seen moving by the
//! motion cue"). Feet and socks change direction and speed from frame to frame; a struck
//! ball does not.
//!
//! Pure logic: the tracker passes each sighting's frame time, pixel and ground point.

use std::collections::VecDeque;

/// The bounds of a moving sighting.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SeedRule {
    /// Three sightings within this, nanoseconds.
    pub window_ns: u64,
    /// Slowest speed across the panorama, pixels per second at 1920 px wide.
    pub min_px_per_s: f64,
    /// Slowest speed of the sightings' ground points, metres per second. (No fastest: the
    /// ground point of a ball rising into the air runs ahead of the ball.)
    pub min_mps: f64,
    /// Farthest the middle sighting may lie from the line, pixels at 1920 px wide.
    pub residual_px: f64,
}

impl Default for SeedRule {
    fn default() -> Self {
        SeedRule {
            window_ns: 600_000_000,
            min_px_per_s: 100.0,
            min_mps: 6.0,
            residual_px: 4.0,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Sighting {
    t_ns: u64,
    u: f64,
    v: f64,
    ground: (f64, f64),
}

/// The motion cue's recent sightings, and the test for a ball moving through them.
#[derive(Debug, Clone)]
pub struct MovingSeeds {
    rule: SeedRule,
    /// Pixels of the panorama per pixel at 1920 px wide.
    scale: f64,
    ring: VecDeque<Sighting>,
}

/// Most sightings kept (the cue reports a few per frame at most).
const RING_MAX: usize = 64;

impl MovingSeeds {
    pub fn new(rule: SeedRule, panorama_width: f64) -> MovingSeeds {
        MovingSeeds {
            rule,
            scale: panorama_width / 1920.0,
            ring: VecDeque::new(),
        }
    }

    pub fn rule(&self) -> &SeedRule {
        &self.rule
    }

    /// Forgets every sighting (the time line starts again).
    pub fn clear(&mut self) {
        self.ring.clear();
    }

    /// Forgets the sightings too old to pair with one at `now_ns`.
    pub fn forget_before(&mut self, now_ns: u64) {
        while self
            .ring
            .front()
            .is_some_and(|s| now_ns.saturating_sub(s.t_ns) > self.rule.window_ns)
        {
            self.ring.pop_front();
        }
    }

    /// Keeps a sighting (frame time, pixel, ground point) for the tests of later ones.
    pub fn push(&mut self, t_ns: u64, u: f64, v: f64, ground: (f64, f64)) {
        if self.ring.len() >= RING_MAX {
            self.ring.pop_front();
        }
        self.ring.push_back(Sighting { t_ns, u, v, ground });
    }

    /// The ground velocity (m/s) of a ball moving through two kept sightings (of two earlier
    /// frames) and this one, when there is one.
    pub fn find(&self, t_ns: u64, u: f64, v: f64, ground: (f64, f64)) -> Option<(f64, f64)> {
        let r = &self.rule;
        let earlier: Vec<&Sighting> = self
            .ring
            .iter()
            .filter(|s| s.t_ns < t_ns && t_ns - s.t_ns <= r.window_ns)
            .collect();
        for (i, a) in earlier.iter().enumerate() {
            let dt = (t_ns - a.t_ns) as f64 * 1e-9;
            let (pu, pv) = ((u - a.u) / dt, (v - a.v) / dt);
            let (gx, gy) = ((ground.0 - a.ground.0) / dt, (ground.1 - a.ground.1) / dt);
            let mps = gx.hypot(gy);
            if pu.hypot(pv) < r.min_px_per_s * self.scale || mps < r.min_mps {
                continue;
            }
            let on_line = earlier[i + 1..].iter().any(|b| {
                let tb = (b.t_ns - a.t_ns) as f64 * 1e-9;
                b.t_ns > a.t_ns
                    && (b.u - (a.u + pu * tb)).hypot(b.v - (a.v + pv * tb))
                        <= r.residual_px * self.scale
            });
            if on_line {
                return Some((gx, gy));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    /// A ball at 9 px and 0.9 m a frame (25 fps): 225 px/s, 22.5 m/s.
    fn shot(seeds: &mut MovingSeeds, frames: &[u64]) {
        for &k in frames {
            let t = k * 40 * MS;
            seeds.push(
                t,
                500.0 - 9.0 * k as f64,
                200.0,
                (20.0 - 0.9 * k as f64, 30.0),
            );
        }
    }

    #[test]
    fn three_sightings_on_a_line_at_ball_speed_are_a_ball() {
        let mut s = MovingSeeds::new(SeedRule::default(), 1920.0);
        shot(&mut s, &[0, 2]);
        let v = s.find(5 * 40 * MS, 455.0, 200.0, (15.5, 30.0)).unwrap();
        assert!((v.0 + 22.5).abs() < 1e-6 && v.1.abs() < 1e-6, "{v:?}");
    }

    #[test]
    fn two_sightings_are_not_enough() {
        let mut s = MovingSeeds::new(SeedRule::default(), 1920.0);
        shot(&mut s, &[0]);
        assert_eq!(s.find(5 * 40 * MS, 455.0, 200.0, (15.5, 30.0)), None);
    }

    #[test]
    fn a_sighting_off_the_line_is_no_ball() {
        let mut s = MovingSeeds::new(SeedRule::default(), 1920.0);
        shot(&mut s, &[0]);
        // The middle sighting 6 px off the line (the rule allows 4).
        s.push(80 * MS, 482.0, 206.0, (18.2, 30.0));
        assert_eq!(s.find(5 * 40 * MS, 455.0, 200.0, (15.5, 30.0)), None);
    }

    #[test]
    fn slow_movement_is_no_ball() {
        // A player's foot at 40 px/s, 4 m/s.
        let mut s = MovingSeeds::new(SeedRule::default(), 1920.0);
        for k in 0..3u64 {
            s.push(
                k * 80 * MS,
                500.0 + 3.2 * k as f64,
                200.0,
                (20.0 + 0.32 * k as f64, 30.0),
            );
        }
        assert_eq!(s.find(240 * MS, 509.6, 200.0, (20.96, 30.0)), None);
    }

    #[test]
    fn old_sightings_are_forgotten() {
        let mut s = MovingSeeds::new(SeedRule::default(), 1920.0);
        shot(&mut s, &[0, 2]);
        s.forget_before(1_000 * MS);
        // A sighting on the same line, but 1 s after the first: no pair left.
        assert_eq!(s.find(1_000 * MS, 500.0 - 225.0, 200.0, (-2.5, 30.0)), None);
    }
}
