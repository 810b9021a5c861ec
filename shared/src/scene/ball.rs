//! Scripted ball motion: a list of segments (ground passes, lofted balls, shots, the ball out
//! of play, the ball hidden behind players, the ball lying still).

use super::{BallPos, BALL_RADIUS_M};
use crate::geometry::PitchSpec;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const G: f64 = 9.81;

/// Named scripted scenarios.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scenario {
    /// Ground passes between random points.
    Passes,
    /// Long balls in flight.
    Lofted,
    /// Build-up then shots at goal.
    Shot,
    /// The ball goes out over the touchline, stays out, is thrown back in.
    OutOfPlay,
    /// Slow play with people gathered around the ball on the camera side.
    Hidden,
    /// The ball lies still for long stretches.
    Still,
    /// A random mix of all of the above (the default).
    Mixed,
}

impl Scenario {
    pub const ALL: [Scenario; 7] = [
        Scenario::Passes,
        Scenario::Lofted,
        Scenario::Shot,
        Scenario::OutOfPlay,
        Scenario::Hidden,
        Scenario::Still,
        Scenario::Mixed,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Scenario::Passes => "passes",
            Scenario::Lofted => "lofted",
            Scenario::Shot => "shot",
            Scenario::OutOfPlay => "out_of_play",
            Scenario::Hidden => "hidden",
            Scenario::Still => "still",
            Scenario::Mixed => "mixed",
        }
    }

    pub fn parse(s: &str) -> Option<Scenario> {
        Scenario::ALL.into_iter().find(|x| x.name() == s)
    }
}

/// How the ball moves during a segment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SegmentKind {
    /// Rolling on the ground, decelerating uniformly to `v_end` of the start speed.
    Ground,
    /// In the air on a parabola with the given apex height above the ground.
    Lofted { apex_m: f64 },
    /// Lying still.
    Still,
    /// Out of play (lying still where it went out).
    Out,
}

/// One piece of the script: from `from` to `to` in `duration` seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Segment {
    pub start_s: f64,
    pub duration_s: f64,
    pub from: (f64, f64),
    pub to: (f64, f64),
    pub kind: SegmentKind,
}

impl Segment {
    fn at(&self, t: f64) -> BallPos {
        let s = ((t - self.start_s) / self.duration_s).clamp(0.0, 1.0);
        let lerp = |f: f64| {
            (
                self.from.0 + (self.to.0 - self.from.0) * f,
                self.from.1 + (self.to.1 - self.from.1) * f,
            )
        };
        match self.kind {
            SegmentKind::Ground => {
                // Uniform deceleration to 30 % of the start speed: distance fraction
                // f(s) = (2 s - 0.7 s^2) / 1.3.
                let f = (2.0 * s - 0.7 * s * s) / 1.3;
                let (x, y) = lerp(f);
                BallPos {
                    x,
                    y,
                    z: BALL_RADIUS_M,
                    in_play: true,
                }
            }
            SegmentKind::Lofted { apex_m } => {
                let (x, y) = lerp(s);
                BallPos {
                    x,
                    y,
                    z: BALL_RADIUS_M + 4.0 * apex_m * s * (1.0 - s),
                    in_play: true,
                }
            }
            SegmentKind::Still => BallPos {
                x: self.from.0,
                y: self.from.1,
                z: BALL_RADIUS_M,
                in_play: true,
            },
            SegmentKind::Out => BallPos {
                x: self.from.0,
                y: self.from.1,
                z: BALL_RADIUS_M,
                in_play: false,
            },
        }
    }
}

/// A scripted ball path.
#[derive(Debug, Clone, PartialEq)]
pub struct BallScript {
    segments: Vec<Segment>,
}

struct Builder<'a> {
    rng: StdRng,
    pitch: &'a PitchSpec,
    t: f64,
    pos: (f64, f64),
    segments: Vec<Segment>,
}

impl Builder<'_> {
    fn push(&mut self, to: (f64, f64), duration: f64, kind: SegmentKind) {
        self.segments.push(Segment {
            start_s: self.t,
            duration_s: duration.max(0.04),
            from: self.pos,
            to,
            kind,
        });
        self.t += duration.max(0.04);
        if !matches!(kind, SegmentKind::Still | SegmentKind::Out) {
            self.pos = to;
        }
    }

    fn point_near(&mut self, max_dist: f64) -> (f64, f64) {
        let (l, w) = (self.pitch.length_m, self.pitch.width_m);
        loop {
            let a: f64 = self.rng.gen_range(0.0..std::f64::consts::TAU);
            let d: f64 = self.rng.gen_range(5.0..max_dist);
            let p = (self.pos.0 + d * a.cos(), self.pos.1 + d * a.sin());
            if p.0 > 3.0 && p.0 < l - 3.0 && p.1 > 3.0 && p.1 < w - 3.0 {
                return p;
            }
        }
    }

    fn dist(&self, p: (f64, f64)) -> f64 {
        ((p.0 - self.pos.0).powi(2) + (p.1 - self.pos.1).powi(2)).sqrt()
    }

    fn ground_pass(&mut self) {
        let to = self.point_near(30.0);
        let speed = self.rng.gen_range(8.0..16.0);
        let d = self.dist(to);
        // Mean speed of the decelerating roll is 1.3/2 of the start speed.
        self.push(to, d / (speed * 0.65), SegmentKind::Ground);
        let pause = self.rng.gen_range(0.3..1.5);
        self.push(to, pause, SegmentKind::Still);
    }

    fn dribble(&mut self) {
        let to = self.point_near(12.0);
        let d = self.dist(to);
        let speed = self.rng.gen_range(3.0..6.0);
        self.push(to, d / speed, SegmentKind::Ground);
    }

    fn lofted(&mut self) {
        let to = self.point_near(55.0);
        let d = self.dist(to);
        let apex: f64 = self.rng.gen_range(4.0..18.0);
        // Flight time of a parabola with that apex.
        let t = 2.0 * (2.0 * apex / G).sqrt();
        let _ = d;
        self.push(to, t, SegmentKind::Lofted { apex_m: apex });
        let pause = self.rng.gen_range(0.3..1.0);
        self.push(to, pause, SegmentKind::Still);
    }

    fn shot(&mut self) {
        let goal_x = if self.pos.0 < self.pitch.length_m / 2.0 {
            0.5
        } else {
            self.pitch.length_m - 0.5
        };
        // Move into shooting range first.
        let fx = if goal_x < 1.0 {
            18.0
        } else {
            self.pitch.length_m - 18.0
        };
        let fy = self.pitch.width_m / 2.0 + self.rng.gen_range(-12.0..12.0);
        let d = self.dist((fx, fy));
        self.push((fx, fy), d / 5.0, SegmentKind::Ground);
        let gy = self.pitch.width_m / 2.0 + self.rng.gen_range(-3.0..3.0);
        let d = self.dist((goal_x, gy));
        if self.rng.gen_bool(0.5) {
            self.push((goal_x, gy), d / 24.0, SegmentKind::Ground);
        } else {
            self.push((goal_x, gy), d / 24.0, SegmentKind::Lofted { apex_m: 1.8 });
        }
        self.push((goal_x, gy), 2.0, SegmentKind::Still);
        // Goal kick / restart from the goal area.
        let restart = (
            if goal_x < 1.0 {
                5.5
            } else {
                self.pitch.length_m - 5.5
            },
            self.pitch.width_m / 2.0,
        );
        self.pos = restart;
        self.push(restart, 1.0, SegmentKind::Still);
    }

    fn out_of_play(&mut self) {
        let w = self.pitch.width_m;
        let side = if self.rng.gen_bool(0.5) {
            -1.5
        } else {
            w + 1.5
        };
        let x =
            (self.pos.0 + self.rng.gen_range(-15.0..15.0)).clamp(5.0, self.pitch.length_m - 5.0);
        let d = self.dist((x, side));
        self.push((x, side), d / 9.0, SegmentKind::Ground);
        let wait = self.rng.gen_range(3.0..5.0);
        self.push((x, side), wait, SegmentKind::Out);
        // Throw-in from the line.
        let line = if side < 0.0 { 0.0 } else { w };
        self.pos = (x, line);
        let to = (
            x + self.rng.gen_range(-8.0..8.0),
            (line - side.signum() * 10.0).clamp(3.0, w - 3.0),
        );
        self.push(to, 1.0, SegmentKind::Lofted { apex_m: 2.0 });
    }

    fn hidden(&mut self) {
        // Slow play: short dribbles (people gather around the ball: see people.rs).
        for _ in 0..4 {
            let to = self.point_near(6.0);
            let d = self.dist(to);
            self.push(to, d / 2.0, SegmentKind::Ground);
        }
    }

    fn still(&mut self, seconds: f64) {
        let p = self.pos;
        self.push(p, seconds, SegmentKind::Still);
    }
}

impl BallScript {
    /// A scripted ball path of at least `duration_s` seconds, starting at the centre spot.
    pub fn generate(
        scenario: Scenario,
        duration_s: f64,
        seed: u64,
        pitch: &PitchSpec,
    ) -> BallScript {
        let mut b = Builder {
            rng: StdRng::seed_from_u64(seed ^ 0x5eed_ba11),
            pitch,
            t: 0.0,
            pos: (pitch.length_m / 2.0, pitch.width_m / 2.0),
            segments: Vec::new(),
        };
        b.still(1.0);
        while b.t < duration_s {
            match scenario {
                Scenario::Passes => b.ground_pass(),
                Scenario::Lofted => {
                    b.lofted();
                    b.ground_pass();
                }
                Scenario::Shot => {
                    b.ground_pass();
                    b.shot();
                }
                Scenario::OutOfPlay => {
                    b.ground_pass();
                    b.out_of_play();
                }
                Scenario::Hidden => b.hidden(),
                Scenario::Still => {
                    b.ground_pass();
                    b.still(10.0);
                }
                Scenario::Mixed => {
                    let r: f64 = b.rng.gen();
                    match r {
                        r if r < 0.40 => b.ground_pass(),
                        r if r < 0.55 => b.dribble(),
                        r if r < 0.70 => b.lofted(),
                        r if r < 0.78 => b.shot(),
                        r if r < 0.86 => b.out_of_play(),
                        r if r < 0.94 => b.hidden(),
                        _ => {
                            let secs = b.rng.gen_range(2.0..10.0);
                            b.still(secs)
                        }
                    }
                }
            }
        }
        BallScript {
            segments: b.segments,
        }
    }

    /// A script made of explicit segments (tests).
    pub fn from_segments(segments: Vec<Segment>) -> BallScript {
        BallScript { segments }
    }

    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    pub fn duration(&self) -> f64 {
        self.segments
            .last()
            .map(|s| s.start_s + s.duration_s)
            .unwrap_or(0.0)
    }

    /// Ball position at time `t` (clamped to the script).
    pub fn at(&self, t: f64) -> BallPos {
        let i = self
            .segments
            .partition_point(|s| s.start_s + s.duration_s <= t)
            .min(self.segments.len().saturating_sub(1));
        match self.segments.get(i) {
            Some(s) => s.at(t),
            None => BallPos {
                x: 0.0,
                y: 0.0,
                z: BALL_RADIUS_M,
                in_play: false,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scenario_is_continuous_while_in_play() {
        let pitch = PitchSpec::default();
        for sc in Scenario::ALL {
            let s = BallScript::generate(sc, 120.0, 11, &pitch);
            assert!(s.duration() >= 120.0);
            let mut prev = s.at(0.0);
            for k in 1..(120 * 50) {
                let p = s.at(k as f64 * 0.02);
                let step = ((p.x - prev.x).powi(2) + (p.y - prev.y).powi(2)).sqrt();
                // 40 m/s is faster than any shot in the script; restarts after a goal or a
                // throw-in jump (ball out of play or placed for a restart).
                if p.in_play && prev.in_play && step > 0.8 {
                    let restart = s
                        .segments()
                        .iter()
                        .any(|g| (g.start_s - k as f64 * 0.02).abs() < 0.05);
                    assert!(
                        restart,
                        "{} jumps {step} m at {}",
                        sc.name(),
                        k as f64 * 0.02
                    );
                }
                assert!(p.z >= BALL_RADIUS_M - 1e-9 && p.z < 25.0);
                prev = p;
            }
        }
    }

    #[test]
    fn lofted_balls_fly_and_out_of_play_is_marked() {
        let pitch = PitchSpec::default();
        let s = BallScript::generate(Scenario::Lofted, 60.0, 2, &pitch);
        assert!((0..3000).any(|k| s.at(k as f64 * 0.02).z > 3.0));
        let s = BallScript::generate(Scenario::OutOfPlay, 60.0, 2, &pitch);
        assert!((0..3000).any(|k| !s.at(k as f64 * 0.02).in_play));
    }
}
