//! Tracks from known ball motion (a scripted scenario or a trajectory file), as an analyzer
//! would publish them, with simulated detector faults: missed detections (plus the ball
//! hidden behind people, from the scene's ground truth), position noise and false
//! positives. A small alpha-beta tracker stands in for the analyzer's ball tracker, so the
//! tracks carry predictions through misses and are lost after a second without detection.
//! Everything is deterministic for a seed.

use serde::Serialize;
use shared::geometry::Calibration;
use shared::messages::{BallState, PlayersSummary, TrackStatus, Tracks};
use shared::scene::{BallSource, GroundTruth, Role, SceneSim};
use shared::time::NS_PER_SEC;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Simulated detector faults.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct TrackFaults {
    /// Probability that a visible ball is not detected in a frame.
    pub miss_rate: f64,
    /// Standard deviation of the detected position on the pitch, metres.
    pub noise_m: f64,
    /// Probability per frame of a false detection somewhere on the pitch that the tracker
    /// takes for the ball.
    pub false_positive_rate: f64,
    /// Seed of the fault draws.
    pub seed: u64,
}

/// The true ball of one frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BallTruth {
    pub pts_ns: u64,
    pub x_m: f64,
    pub y_m: f64,
    pub z_m: f64,
    pub in_play: bool,
}

/// Tracks and the truth behind them, one per frame.
#[derive(Debug, Clone, Default)]
pub struct SynthTracks {
    pub tracks: Vec<Tracks>,
    pub truth: Vec<BallTruth>,
}

/// Frames without a detection after which the stand-in tracker gives the ball up.
const LOST_AFTER: u32 = 25;
/// Gate of the stand-in tracker, metres, and its growth per frame without a detection.
const GATE_M: f64 = 3.0;
const GATE_GROWTH_M: f64 = 1.0;
/// Alpha-beta gains of the stand-in tracker.
const ALPHA: f64 = 0.6;
const BETA: f64 = 0.2;

struct BallTracker {
    pos: [f64; 3],
    vel: [f64; 3],
    misses: u32,
    live: bool,
    /// A detection outside the gate, waiting for a second one near it: (position, frames).
    candidate: Option<([f64; 3], u32)>,
}

/// A candidate is confirmed by a second detection within this distance (plus 1 m per frame
/// of age) and forgotten after `CANDIDATE_FRAMES`.
const CANDIDATE_M: f64 = 3.0;
const CANDIDATE_FRAMES: u32 = 5;
/// Largest gate of a coasting track, metres.
const GATE_MAX_M: f64 = 10.0;

fn dist2d(a: &[f64; 3], b: &[f64; 3]) -> f64 {
    (a[0] - b[0]).hypot(a[1] - b[1])
}

impl BallTracker {
    fn new() -> BallTracker {
        BallTracker {
            pos: [0.0; 3],
            vel: [0.0; 3],
            misses: 0,
            live: false,
            candidate: None,
        }
    }

    /// Gating, as a real tracker does: a detection far from the prediction is not taken
    /// into the track (a false positive, or the ball somewhere else: see `candidate`).
    fn gate(&self, m: &[f64; 3], dt: f64) -> bool {
        let pred = [
            self.pos[0] + self.vel[0] * dt,
            self.pos[1] + self.vel[1] * dt,
            0.0,
        ];
        dist2d(m, &pred) < (GATE_M + GATE_GROWTH_M * self.misses as f64).min(GATE_MAX_M)
    }

    /// Two detections close together outside the gate start a new track there (M-of-N
    /// confirmation): a lone false positive never moves the track.
    fn confirm(&mut self, m: [f64; 3], dt: f64) -> bool {
        match self.candidate {
            Some((c, age)) if dist2d(&m, &c) < CANDIDATE_M + age as f64 => {
                let t = (age + 1) as f64 * dt;
                self.pos = m;
                self.vel = [(m[0] - c[0]) / t, (m[1] - c[1]) / t, (m[2] - c[2]) / t];
                self.misses = 0;
                self.live = true;
                self.candidate = None;
                true
            }
            _ => {
                self.candidate = Some((m, 0));
                false
            }
        }
    }

    fn coast(&mut self, dt: f64) -> Option<(TrackStatus, f32)> {
        if !self.live {
            return None;
        }
        self.misses += 1;
        if self.misses > LOST_AFTER {
            self.live = false;
            return None;
        }
        for i in 0..3 {
            self.vel[i] *= 0.97;
            self.pos[i] += self.vel[i] * dt;
        }
        self.pos[2] = self.pos[2].max(0.11);
        Some((
            TrackStatus::Predicted,
            0.9 * 0.9f32.powi(self.misses as i32),
        ))
    }

    fn step(&mut self, meas: Option<[f64; 3]>, dt: f64) -> Option<(TrackStatus, f32)> {
        if let Some((_, age)) = &mut self.candidate {
            *age += 1;
            if *age > CANDIDATE_FRAMES {
                self.candidate = None;
            }
        }
        match meas {
            Some(m) if self.live && self.gate(&m, dt) => {
                for (i, mi) in m.iter().enumerate() {
                    let pred = self.pos[i] + self.vel[i] * dt;
                    let r = mi - pred;
                    self.pos[i] = pred + ALPHA * r;
                    self.vel[i] += BETA * r / dt;
                }
                self.misses = 0;
                self.candidate = None;
                Some((TrackStatus::Tracked, 0.9))
            }
            Some(m) => {
                if self.confirm(m, dt) {
                    Some((TrackStatus::Tracked, 0.8))
                } else {
                    self.coast(dt)
                }
            }
            None => self.coast(dt),
        }
    }
}

fn gaussian(rng: &mut StdRng) -> f64 {
    // Box-Muller.
    let u1: f64 = rng.gen_range(f64::MIN_POSITIVE..1.0);
    let u2: f64 = rng.gen();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// Simulates `[start_s, end_s]` at `fps` frames per second. `scene_seed` seeds the players;
/// `faults.seed` the faults.
pub fn synthesize(
    source: BallSource,
    cal: &Calibration,
    fps: f64,
    start_s: f64,
    end_s: f64,
    faults: &TrackFaults,
    scene_seed: u64,
) -> SynthTracks {
    let mut sim = SceneSim::new(cal.pitch.clone(), source, scene_seed);
    let mut rng = StdRng::seed_from_u64(faults.seed ^ 0xfa17_5eed);
    let dt = 1.0 / fps;
    let mut tracker = BallTracker::new();
    let first = (start_s * fps).ceil().max(0.0) as u64;
    let last = (end_s * fps).floor().max(0.0) as u64;
    let mut out = SynthTracks::default();
    let (l, w) = (cal.pitch.length_m, cal.pitch.width_m);
    for k in first..=last {
        let t = k as f64 / fps;
        sim.advance_to(t);
        let frame = sim.frame();
        let pts = (t * NS_PER_SEC as f64).round() as u64;
        let gt = GroundTruth::of(&frame, cal, pts);
        let b = &gt.ball;
        out.truth.push(BallTruth {
            pts_ns: pts,
            x_m: b.x_m,
            y_m: b.y_m,
            z_m: b.z_m,
            in_play: b.in_play,
        });
        // Draw every random number every frame so that one fault rate does not shift the
        // others' draws.
        let miss = rng.gen::<f64>() < faults.miss_rate;
        let fp = rng.gen::<f64>() < faults.false_positive_rate;
        let noise = [gaussian(&mut rng), gaussian(&mut rng), gaussian(&mut rng)];
        let fp_pos = [rng.gen_range(0.0..l), rng.gen_range(0.0..w), 0.11];
        let meas = if fp {
            Some(fp_pos)
        } else if b.visible && !miss {
            Some([
                b.x_m + noise[0] * faults.noise_m,
                b.y_m + noise[1] * faults.noise_m,
                (b.z_m + noise[2] * faults.noise_m * 0.5).max(0.0),
            ])
        } else {
            None
        };
        let ball = tracker.step(meas, dt).map(|(status, confidence)| {
            let p = tracker.pos;
            let (px, py) = cal.pitch_to_panorama(p[0], p[1], p[2]);
            BallState {
                x_m: p[0] as f32,
                y_m: p[1] as f32,
                z_m: p[2] as f32,
                vx_mps: tracker.vel[0] as f32,
                vy_mps: tracker.vel[1] as f32,
                vz_mps: tracker.vel[2] as f32,
                px: px as f32,
                py: py as f32,
                confidence,
                status,
            }
        });
        out.tracks.push(Tracks {
            pts_ns: pts,
            ball,
            players: players_summary(&frame.people),
        });
    }
    out
}

/// Median centre and standard deviation of the players (not officials).
fn players_summary(people: &[shared::scene::Person]) -> Option<PlayersSummary> {
    let players: Vec<&shared::scene::Person> =
        people.iter().filter(|p| p.role == Role::Player).collect();
    if players.is_empty() {
        return None;
    }
    let med = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let xs: Vec<f64> = players.iter().map(|p| p.x).collect();
    let ys: Vec<f64> = players.iter().map(|p| p.y).collect();
    let sd = |v: &[f64]| {
        let m = v.iter().sum::<f64>() / v.len() as f64;
        (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / v.len() as f64).sqrt()
    };
    Some(PlayersSummary {
        count: players.len() as u16,
        cx_m: med(xs.clone()) as f32,
        cy_m: med(ys.clone()) as f32,
        spread_x_m: sd(&xs) as f32,
        spread_y_m: sd(&ys) as f32,
    })
}
