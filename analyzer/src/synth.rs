//! Synthetic detection streams made from the synthetic match's ground truth, with controlled
//! faults: misses in bursts, static and random false positives, position noise, a spare ball
//! at the touchline. Deterministic for a seed; frames are produced one at a time so a
//! two-hour stream needs no memory.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use shared::geometry::Calibration;
use shared::messages::{Detection, RawDetections};
use shared::scene::{BallScript, BallSource, GroundTruth, Role, Scenario, SceneSim, BALL_RADIUS_M};

/// Class list the synthetic detector reports (the ball is not class 0 on purpose: the
/// analyzer must select it by name).
pub const CLASSES: [&str; 3] = ["player", "ball", "referee"];
const PLAYER: u16 = 0;
const BALL: u16 = 1;
const REFEREE: u16 = 2;

/// Misses of the real ball in bursts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MissBursts {
    /// Mean time between the starts of two bursts, seconds.
    pub mean_gap_s: f64,
    /// Longest burst, seconds (lengths are uniform from 0.2 s to this).
    pub max_s: f64,
}

/// A second ball lying still somewhere for a while.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SpareBall {
    pub start_s: f64,
    pub duration_s: f64,
    pub x: f64,
    pub y: f64,
}

/// Faults added to the perfect detector.
#[derive(Debug, Clone, PartialEq)]
pub struct DetectorFaults {
    /// Noise on the ball's box centre, pixels (one sigma); the size gets 10 % of its own.
    pub pixel_noise: f64,
    /// Chance that the visible ball is missed in a single frame.
    pub single_miss: f64,
    pub miss_bursts: Option<MissBursts>,
    /// Fixed ball-like objects on the pitch (metres), each reported with `static_fp_rate`.
    pub static_fps: Vec<(f64, f64)>,
    pub static_fp_rate: f64,
    /// Mean number of ball false positives per frame at random places on the pitch.
    pub random_fp_per_frame: f64,
    pub spare_ball: Option<SpareBall>,
    /// Chance that the ball is reported twice by overlapping tiles.
    pub tile_duplicate: f64,
    /// Range of the match ball's detector scores (uniform). A detector run with a high
    /// threshold (the real chain's 0.65) reports the ball between about 0.7 and 1.
    pub ball_score: (f32, f32),
}

impl Default for DetectorFaults {
    /// A decent detector: 1 px noise, 3 % single misses, some tile duplicates.
    fn default() -> Self {
        DetectorFaults {
            pixel_noise: 1.0,
            single_miss: 0.03,
            miss_bursts: None,
            static_fps: Vec::new(),
            static_fp_rate: 0.8,
            random_fp_per_frame: 0.0,
            spare_ball: None,
            tile_duplicate: 0.1,
            ball_score: (0.45, 0.95),
        }
    }
}

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamSpec {
    pub scenario: Scenario,
    pub duration_s: f64,
    /// Analysed frames per second.
    pub rate_hz: f64,
    pub seed: u64,
    pub faults: DetectorFaults,
}

/// The truth about the match ball in one frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DetectorTruth {
    pub pts_ns: u64,
    pub x: f64,
    pub y: f64,
    pub z: f64,
    pub px: f64,
    pub py: f64,
    /// Seen by a camera and not hidden behind a person.
    pub visible: bool,
    /// Reported by the (synthetic) detector in this frame.
    pub detected: bool,
}

/// One frame: what the detector says, and the truth.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthFrame {
    pub dets: RawDetections,
    pub truth: DetectorTruth,
}

/// Frame generator.
pub struct SynthStream {
    spec: StreamSpec,
    cal: Calibration,
    sim: SceneSim,
    rng: StdRng,
    k: u64,
    frames: u64,
    /// Current or next miss burst `[start, end)` in seconds.
    burst: Option<(f64, f64)>,
    classes: Vec<String>,
}

impl SynthStream {
    pub fn new(spec: StreamSpec, cal: &Calibration) -> SynthStream {
        let pitch = cal.pitch.clone();
        let script = BallScript::generate(spec.scenario, spec.duration_s, spec.seed, &pitch);
        let sim = SceneSim::new(pitch, BallSource::Script(script), spec.seed);
        let mut rng = StdRng::seed_from_u64(spec.seed ^ 0x0a11_a5e7);
        let burst = spec
            .faults
            .miss_bursts
            .map(|b| next_burst(&mut rng, 0.0, b));
        SynthStream {
            frames: (spec.duration_s * spec.rate_hz).round() as u64,
            spec,
            cal: cal.clone(),
            sim,
            rng,
            k: 0,
            burst,
            classes: CLASSES.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn ball_box(
        &mut self,
        x: f64,
        y: f64,
        z: f64,
        noise: f64,
        score: (f32, f32),
    ) -> Option<Detection> {
        let (u, v) = self.cal.pitch_to_panorama(x, y, z);
        if !self.cal.panorama.contains(u, v) {
            return None;
        }
        let range = ((x - self.cal.rig.x_m).powi(2)
            + (y - self.cal.rig.y_m).powi(2)
            + (z - self.cal.rig.height_m).powi(2))
        .sqrt();
        let d = (2.0 * BALL_RADIUS_M / range).atan().to_degrees() / self.cal.panorama.deg_per_px();
        let d = (d * (1.0 + 0.1 * gauss(&mut self.rng))).max(1.5);
        Some(Detection {
            cx: (u + noise * gauss(&mut self.rng)) as f32,
            cy: (v + noise * gauss(&mut self.rng)) as f32,
            w: d as f32,
            h: d as f32,
            class_id: BALL,
            score: self.rng.gen_range(score.0..score.1),
            tile: 0,
        })
    }
}

/// Standard normal sample (Box-Muller; rand_distr is not a dependency).
fn gauss(rng: &mut StdRng) -> f64 {
    let u1: f64 = rng.gen_range(1e-12..1.0);
    let u2: f64 = rng.gen();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

fn next_burst(rng: &mut StdRng, after: f64, b: MissBursts) -> (f64, f64) {
    let gap = -b.mean_gap_s * rng.gen_range(1e-9..1.0f64).ln();
    let start = after + gap.max(0.5);
    (start, start + rng.gen_range(0.2..b.max_s.max(0.21)))
}

impl SynthStream {
    /// The match ball's detection (and a tile duplicate now and then) unless it is hidden or
    /// missed (a single miss, or a burst of them); whether it was detected.
    fn match_ball(
        &mut self,
        t: f64,
        gt: &GroundTruth,
        f: &DetectorFaults,
        dets: &mut Vec<Detection>,
    ) -> bool {
        let mut in_burst = false;
        if let (Some(b), Some(spec)) = (self.burst, f.miss_bursts) {
            if t >= b.1 {
                self.burst = Some(next_burst(&mut self.rng, b.1, spec));
            }
            let b = self.burst.unwrap_or(b);
            in_burst = t >= b.0 && t < b.1;
        }
        let missed = in_burst || self.rng.gen_bool(f.single_miss.clamp(0.0, 1.0));
        let mut detected = false;
        if gt.ball.visible && !missed {
            let b = &gt.ball;
            if let Some(d) = self.ball_box(b.x_m, b.y_m, b.z_m, f.pixel_noise, f.ball_score) {
                if self.rng.gen_bool(f.tile_duplicate.clamp(0.0, 1.0)) {
                    let mut dup = d.clone();
                    dup.cx += 0.4;
                    dup.score *= 0.9;
                    dup.tile = 1;
                    dets.push(dup);
                }
                dets.push(d);
                detected = true;
            }
        }
        detected
    }

    /// Players and referees.
    fn people(&mut self, gt: &GroundTruth, dets: &mut Vec<Detection>) {
        // People: players and referees, boxes from head to foot.
        for p in &gt.people {
            let h = p.foot_py - p.head_py;
            if h <= 0.0 || !self.cal.panorama.contains(p.foot_px, p.foot_py) {
                continue;
            }
            dets.push(Detection {
                cx: p.foot_px as f32,
                cy: (p.foot_py - h / 2.0) as f32,
                w: (0.4 * h) as f32,
                h: h as f32,
                class_id: if p.role == Role::Player {
                    PLAYER
                } else {
                    REFEREE
                },
                score: self.rng.gen_range(0.6..0.95),
                tile: 0,
            });
        }
    }

    /// Fixed false positives, a spare ball lying still, random ones anywhere on the pitch.
    fn false_positives(&mut self, t: f64, f: &DetectorFaults, dets: &mut Vec<Detection>) {
        // Fixed false positives.
        for &(x, y) in &f.static_fps {
            if self.rng.gen_bool(f.static_fp_rate.clamp(0.0, 1.0)) {
                dets.extend(self.ball_box(x, y, BALL_RADIUS_M, 0.5, (0.4, 0.8)));
            }
        }
        // A spare ball lying still.
        if let Some(s) = f.spare_ball {
            if t >= s.start_s && t < s.start_s + s.duration_s && self.rng.gen_bool(0.95) {
                dets.extend(self.ball_box(s.x, s.y, BALL_RADIUS_M, 0.7, (0.5, 0.95)));
            }
        }
        // Random false positives anywhere on the pitch.
        let rate = f.random_fp_per_frame.max(0.0);
        let n = rate.floor() as usize + self.rng.gen_bool(rate.fract()) as usize;
        for _ in 0..n {
            let (l, w) = (self.cal.pitch.length_m, self.cal.pitch.width_m);
            let (x, y) = (self.rng.gen_range(0.0..l), self.rng.gen_range(0.0..w));
            dets.extend(self.ball_box(x, y, BALL_RADIUS_M, 0.0, (0.3, 0.75)));
        }
    }
}

impl Iterator for SynthStream {
    type Item = SynthFrame;

    fn next(&mut self) -> Option<SynthFrame> {
        if self.k >= self.frames {
            return None;
        }
        let t = self.k as f64 / self.spec.rate_hz;
        let pts_ns = (t * 1e9).round() as u64;
        self.k += 1;
        self.sim.advance_to(t);
        let frame = self.sim.frame();
        let gt = GroundTruth::of(&frame, &self.cal, pts_ns);
        let f = self.spec.faults.clone();
        let mut dets = Vec::new();
        let detected = self.match_ball(t, &gt, &f, &mut dets);
        self.people(&gt, &mut dets);
        self.false_positives(t, &f, &mut dets);
        Some(SynthFrame {
            dets: RawDetections {
                pts_ns,
                seq: self.k - 1,
                classes: self.classes.clone(),
                detections: dets,
                inference_us: 10_000,
                region: None,
                motion: false,
            },
            truth: DetectorTruth {
                pts_ns,
                x: gt.ball.x_m,
                y: gt.ball.y_m,
                z: gt.ball.z_m,
                px: gt.ball.px,
                py: gt.ball.py,
                visible: gt.ball.visible,
                detected,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(faults: DetectorFaults) -> StreamSpec {
        StreamSpec {
            scenario: Scenario::Passes,
            duration_s: 20.0,
            rate_hz: 25.0,
            seed: 4,
            faults,
        }
    }

    #[test]
    fn deterministic_and_complete() {
        let cal = Calibration::synthetic(1920, 960, 540);
        let a: Vec<_> = SynthStream::new(spec(DetectorFaults::default()), &cal).collect();
        let b: Vec<_> = SynthStream::new(spec(DetectorFaults::default()), &cal).collect();
        assert_eq!(a.len(), 500);
        assert_eq!(a, b);
        let detected = a.iter().filter(|f| f.truth.detected).count();
        assert!(detected > 300, "{detected}");
        assert!(a.iter().all(|f| f
            .dets
            .detections
            .iter()
            .filter(|d| d.class_id == PLAYER)
            .count()
            >= 18));
    }

    #[test]
    fn miss_bursts_are_at_most_the_maximum() {
        let cal = Calibration::synthetic(1920, 960, 540);
        let faults = DetectorFaults {
            single_miss: 0.0,
            miss_bursts: Some(MissBursts {
                mean_gap_s: 4.0,
                max_s: 2.0,
            }),
            ..DetectorFaults::default()
        };
        let frames: Vec<_> = SynthStream::new(spec(faults), &cal).collect();
        let mut run = 0;
        let mut longest = 0;
        let mut bursts = 0;
        for f in &frames {
            if f.truth.visible && !f.truth.detected {
                run += 1;
            } else {
                if run > 0 {
                    bursts += 1;
                }
                run = 0;
            }
            longest = longest.max(run);
        }
        assert!(bursts >= 2, "{bursts}");
        assert!(longest <= 50 + 25, "{longest} frames");
    }
}
