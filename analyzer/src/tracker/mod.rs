//! The ball tracker: several hypotheses when candidates compete, one reported track.
//!
//! Every frame, each hypothesis of each lineage is predicted, then branches: missed, or
//! updated with each candidate inside its Mahalanobis gate. A candidate outside the normal
//! gate may still be explained by a kick (velocity much less certain: along the ground, or
//! up into the air), at a score penalty. The best few branches of each lineage survive.
//! Candidates that no hypothesis explains start new lineages. A lineage is reported only once
//! confirmed (M hits of N frames); the reported one changes only for a clearly better one,
//! and a lineage that never moved (a fixed false positive, a spare ball) never replaces one
//! that has travelled. Smoothing is forward only: the filter's current estimate.

mod filter;
mod hypotheses;

pub use filter::{BallFilter, Mode, Noise};
pub use hypotheses::{Hypothesis, Lineage, MOVE_M, SCORE_TAU_S, TRAVEL_M};

use crate::counters::Counters;
use crate::gates::{Candidate, BALL_DIAMETER_M};
use crate::geom::PitchModel;
use shared::config::AnalyzerConfig;
use shared::messages::{BallState, TrackStatus};
use shared::scene::BALL_RADIUS_M;

/// A ball slower than this (m/s) when last seen is "at rest" for the coasting limit.
const STILL_MPS: f64 = 0.8;
/// Hypotheses kept per lineage.
const PER_LINEAGE: usize = 3;
/// Probability that the ball is detected in a frame.
const P_DETECT: f64 = 0.85;
/// Prior probability of a kick in a frame (score penalty of a kick branch).
const P_KICK: f64 = 0.02;
/// Prior probability of a kick up into the air (rarer than along the ground: a ground ball
/// must not be taken for a low flight at the first noisy frame).
const P_TAKE_OFF: f64 = 0.003;
/// Velocity uncertainty added by a kick, m/s.
const KICK_SIGMA: f64 = 14.0;
/// Score margin another travelled lineage needs over the reported one to replace it.
const SWITCH_MARGIN: f64 = 3.0;
/// Score of a new lineage: below a steadily detected ball (about 10), above one coasting
/// for a while, so a confirmed re-acquisition takes over quickly.
const BIRTH_SCORE: f64 = 4.0;
/// Value that puts any travelled lineage ahead of any that never moved.
const TRAVEL_BONUS: f64 = 1000.0;
/// Value of having moved recently (within [`MOVING_WINDOW_NS`]): a travelled lineage stuck
/// on a fixed false positive gives way to one following a moving ball.
const MOVING_BONUS: f64 = 6.0;
const MOVING_WINDOW_NS: u64 = 5_000_000_000;

/// What the tracker reports for a frame.
#[derive(Debug, Clone, PartialEq)]
pub struct BallReport {
    pub ball: Option<BallState>,
    /// Per candidate: explained by a travelled lineage (the moving ball), so static
    /// suppression must not learn from it.
    pub exempt: Vec<bool>,
}

/// What every hypothesis of a frame is branched against.
#[derive(Clone, Copy)]
struct Frame<'a> {
    dt: f64,
    gamma: f64,
    now_ns: u64,
    cands: &'a [Candidate],
    model: &'a PitchModel,
}

/// Tracker state.
#[derive(Debug, Clone)]
pub struct BallTracker {
    gate2: f64,
    noise: Noise,
    max_lineages: usize,
    confirm_hits: u32,
    confirm_window: u32,
    predict_max_ns: u64,
    predict_still_max_ns: u64,
    /// ln of the clutter volume (pixels x pixels x diameter range): the likelihood of a false
    /// candidate is its inverse.
    ln_clutter: f64,
    lineages: Vec<Lineage>,
    next_id: u64,
    /// The reported lineage.
    current: Option<u64>,
    /// Last reported estimate (for the lost state).
    last: Option<BallState>,
}

/// How much a lineage deserves to be reported: its score, far ahead if it has travelled,
/// a margin ahead if it is the one reported now (no flip-flopping between equals).
fn value(l: &Lineage, current: Option<u64>, now_ns: u64) -> f64 {
    let moving = l.travelled && now_ns.saturating_sub(l.last_moved_ns) <= MOVING_WINDOW_NS;
    l.best().score
        + if l.travelled { TRAVEL_BONUS } else { 0.0 }
        + if moving { MOVING_BONUS } else { 0.0 }
        + if Some(l.id) == current {
            SWITCH_MARGIN
        } else {
            0.0
        }
}

fn dist2(a: (f64, f64), b: (f64, f64)) -> f64 {
    (a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)
}

impl BallTracker {
    pub fn new(cfg: &AnalyzerConfig, model: &PitchModel) -> BallTracker {
        let pano = &model.calibration().panorama;
        BallTracker {
            gate2: (cfg.gate_sigma as f64).powi(2),
            noise: Noise {
                ground_accel: 6.0,
                air_accel: 1.5,
                pixel_sigma: cfg.pixel_sigma as f64,
                size_cue: cfg.use_size_cue,
            },
            max_lineages: cfg.max_hypotheses,
            confirm_hits: cfg.confirm_hits,
            confirm_window: cfg.confirm_window,
            predict_max_ns: (cfg.predict_max_s as f64 * 1e9) as u64,
            predict_still_max_ns: (cfg.predict_still_max_s as f64 * 1e9) as u64,
            ln_clutter: (pano.width as f64 * pano.height as f64 * 20.0).ln(),
            lineages: Vec::new(),
            next_id: 1,
            current: None,
            last: None,
        }
    }

    /// Forgets everything (capture restarted: the time line is new).
    pub fn reset(&mut self) {
        self.lineages.clear();
        self.current = None;
        self.last = None;
    }

    /// Lineages alive (bounded by `max_hypotheses`).
    pub fn lineages(&self) -> &[Lineage] {
        &self.lineages
    }

    fn hit_delta(&self, inn: &filter::Innovation, c: &Candidate) -> f64 {
        P_DETECT.ln() - 0.5 * inn.d2 - 0.5 * inn.ln_det
            + self.ln_clutter
            + (c.score.max(0.05) as f64 / 0.5).ln()
    }

    /// Children of one hypothesis for this frame's candidates.
    fn branch(&self, prior: &Hypothesis, travelled: bool, f: &Frame, out: &mut Vec<Hypothesis>) {
        let Frame {
            dt,
            gamma,
            now_ns,
            cands,
            model,
        } = *f;
        let mut h = prior.clone();
        h.filter.predict(dt, &self.noise);
        let h = &h;
        out.push(h.child(h.filter.clone(), (1.0 - P_DETECT).ln(), gamma, None));
        if cands.is_empty() {
            return;
        }
        // A learnt static false positive may only continue the moving ball, and only while
        // it is followed closely (not after long coasting, when the gate is wide).
        let close = h.filter.pos_sigma() < 1.5;
        let usable = |c: &Candidate| !c.suppressed || (travelled && close);
        let pred = h.filter.predicted(model);
        let mut unexplained = Vec::new();
        for (i, c) in cands.iter().enumerate() {
            if !usable(c) {
                continue;
            }
            match BallFilter::innovation(&pred, c, &self.noise) {
                Some(inn) if inn.d2 <= self.gate2 => {
                    let mut f = h.filter.clone();
                    f.update(&pred, &inn);
                    out.push(h.child(f, self.hit_delta(&inn, c), gamma, Some((i, now_ns))));
                }
                _ => unexplained.push(i),
            }
        }
        if unexplained.is_empty() {
            return;
        }
        // Kicks: along the ground, or up into the air, at the start of the frame interval.
        for take_off in [false, true] {
            let mut k = prior.filter.kicked(KICK_SIGMA, take_off);
            k.predict(dt, &self.noise);
            let kp = k.predicted(model);
            for &i in &unexplained {
                let c = &cands[i];
                if let Some(inn) = BallFilter::innovation(&kp, c, &self.noise) {
                    if inn.d2 <= self.gate2 {
                        let mut f = k.clone();
                        f.update(&kp, &inn);
                        let prior = if take_off && h.filter.mode == Mode::Ground {
                            P_TAKE_OFF
                        } else {
                            P_KICK
                        };
                        let delta = self.hit_delta(&inn, c) + prior.ln();
                        out.push(h.child(f, delta, gamma, Some((i, now_ns))));
                    }
                }
            }
        }
    }

    /// New lineage for a candidate nobody explains.
    fn birth(&mut self, i: usize, c: &Candidate, model: &PitchModel, now_ns: u64) -> Lineage {
        let mut hyps = Vec::new();
        let base = Hypothesis {
            filter: BallFilter::on_ground(0.0, 0.0, 1.0, 1.0),
            score: BIRTH_SCORE,
            hits: 1,
            last_hit_ns: now_ns,
            candidate: Some(i),
            speed_at_hit: 0.0,
        };
        let size_range = model.range_for_diameter(BALL_DIAMETER_M, c.diameter_px);
        let mut birth_xy = None;
        if let Some((x, y)) = c.ground {
            let r = model.range(x, y, BALL_RADIUS_M);
            // Position uncertainty: a couple of pixels at that range, stretched in depth.
            let sigma = (r * model.rad_per_px() * 3.0 * self.noise.pixel_sigma).max(0.3);
            hyps.push(Hypothesis {
                filter: BallFilter::on_ground(x, y, sigma, 8.0),
                ..base.clone()
            });
            birth_xy = Some((x, y));
        }
        // The size says it is much nearer than where its ray meets the grass (or the ray
        // never does): it may be in the air.
        let ground_range = c
            .ground
            .map(|(x, y)| model.range(x, y, BALL_RADIUS_M))
            .unwrap_or(f64::INFINITY);
        if self.noise.size_cue && size_range < 0.7 * ground_range || c.ground.is_none() {
            let p = model.ray_at_range(c.u, c.v, size_range.min(ground_range));
            hyps.push(Hypothesis {
                filter: BallFilter::in_air(p.x, p.y, p.z, 0.3 * p.range, 10.0),
                score: BIRTH_SCORE - 1.0,
                ..base.clone()
            });
            birth_xy.get_or_insert((p.x, p.y));
        }
        let birth_xy = birth_xy.unwrap_or((0.0, 0.0));
        // Re-acquisition: born where the reported ball is expected, it is the same ball.
        let travelled = self
            .current_lineage()
            .map(|l| {
                let f = &l.best().filter;
                let r = (3.0 * f.pos_sigma()).max(3.0);
                l.travelled && dist2((f.s[0], f.s[1]), birth_xy) <= r * r
            })
            .unwrap_or(false);
        let id = self.next_id;
        self.next_id += 1;
        Lineage {
            id,
            hyps,
            age: 0,
            anchor: birth_xy,
            travelled,
            confirmed: false,
            move_anchor: birth_xy,
            last_moved_ns: if travelled { now_ns } else { 0 },
        }
    }

    /// How long a hypothesis may coast: longer for a ball that was at rest when last seen
    /// (players gathered round a free kick hide it for seconds, and it does not move).
    fn coast_limit_ns(&self, h: &Hypothesis) -> u64 {
        if h.speed_at_hit < STILL_MPS {
            self.predict_max_ns.max(self.predict_still_max_ns)
        } else {
            self.predict_max_ns
        }
    }

    fn current_lineage(&self) -> Option<&Lineage> {
        self.current
            .and_then(|id| self.lineages.iter().find(|l| l.id == id))
    }

    /// One analysed frame: `dt_s` since the previous one, the gated candidates.
    pub fn step(
        &mut self,
        now_ns: u64,
        dt_s: f64,
        cands: &[Candidate],
        model: &PitchModel,
        counters: &mut Counters,
    ) -> BallReport {
        let cur = self.current;
        let dt = dt_s.clamp(1e-3, 2.0 * self.predict_max_ns as f64 * 1e-9 + 0.1);
        let gamma = (-dt / SCORE_TAU_S).exp();
        let frame = Frame {
            dt,
            gamma,
            now_ns,
            cands,
            model,
        };
        // 1. Predict and branch.
        let mut lineages = std::mem::take(&mut self.lineages);
        let mut children = Vec::new();
        for l in &mut lineages {
            children.clear();
            for h in &l.hyps {
                self.branch(h, l.travelled, &frame, &mut children);
            }
            l.hyps = std::mem::take(&mut children);
            l.prune(PER_LINEAGE);
            l.age = l.age.saturating_add(1);
            if l.best().recent_hits(self.confirm_window) >= self.confirm_hits {
                l.confirmed = true;
            }
            l.note_travel(now_ns);
        }
        // 2. End lineages: lost too long, or never confirmed in their first frames.
        let before = lineages.len();
        lineages.retain(|l| {
            let b = l.best();
            let alive = now_ns.saturating_sub(b.last_hit_ns) <= self.coast_limit_ns(b);
            let hopeless = !l.confirmed && l.age >= self.confirm_window;
            alive && !hopeless
        });
        // 3. Two lineages explaining the same candidate are one object: keep the reported
        //    one, else the better.
        lineages.sort_by(|a, b| {
            value(b, cur, now_ns)
                .total_cmp(&value(a, cur, now_ns))
                .then(a.id.cmp(&b.id))
        });
        let mut used = vec![false; cands.len()];
        lineages.retain(|l| match l.best().candidate {
            Some(i) if used[i] => false,
            Some(i) => {
                used[i] = true;
                true
            }
            None => true,
        });
        counters.tracks_ended += (before - lineages.len()) as u64;
        // Candidates used by any surviving hypothesis are explained.
        let mut explained = vec![false; cands.len()];
        let mut exempt = vec![false; cands.len()];
        for l in &lineages {
            for h in &l.hyps {
                if let Some(i) = h.candidate {
                    explained[i] = true;
                }
            }
            if let (true, Some(i)) = (l.travelled, l.best().candidate) {
                exempt[i] = true;
            }
        }
        self.lineages = lineages;
        // 4. Births.
        for (i, c) in cands.iter().enumerate() {
            if explained[i] || c.suppressed {
                continue;
            }
            let l = self.birth(i, c, model, now_ns);
            if l.hyps.is_empty() {
                continue;
            }
            counters.tracks_started += 1;
            self.lineages.push(l);
        }
        // 5. Bounded: the weakest go, never the reported one.
        if self.lineages.len() > self.max_lineages {
            self.lineages.sort_by(|a, b| {
                value(b, cur, now_ns)
                    .total_cmp(&value(a, cur, now_ns))
                    .then(a.id.cmp(&b.id))
            });
            let n = self.lineages.len() - self.max_lineages;
            counters.tracks_ended += n as u64;
            self.lineages.truncate(self.max_lineages);
        }
        // 6. Choose the reported lineage.
        let chosen = self
            .lineages
            .iter()
            .filter(|l| l.confirmed)
            .max_by(|a, b| {
                value(a, cur, now_ns)
                    .total_cmp(&value(b, cur, now_ns))
                    .then(b.id.cmp(&a.id))
            })
            .map(|l| l.id);
        if chosen.is_some() && chosen != self.current {
            if self.current.is_some() {
                counters.track_switches += 1;
            }
            self.current = chosen;
        }
        let ball = match self.current_lineage() {
            Some(l) => {
                let b = l.best();
                let tracked = b.candidate.is_some();
                let since = now_ns.saturating_sub(b.last_hit_ns) as f64 * 1e-9;
                let base = (0.5 + b.score / 20.0).clamp(0.05, 1.0);
                let (status, confidence) = if tracked {
                    (TrackStatus::Tracked, base)
                } else {
                    (TrackStatus::Predicted, base * (-since).exp())
                };
                let s = &b.filter.s;
                let (px, py) = model.to_pixel(s[0], s[1], s[2]);
                let state = BallState {
                    x_m: s[0] as f32,
                    y_m: s[1] as f32,
                    z_m: s[2] as f32,
                    vx_mps: s[3] as f32,
                    vy_mps: s[4] as f32,
                    vz_mps: s[5] as f32,
                    px: px as f32,
                    py: py as f32,
                    confidence: confidence as f32,
                    status,
                };
                self.last = Some(state.clone());
                Some(state)
            }
            None => {
                self.current = None;
                // Lost: the last known place, still, with no confidence.
                self.last.as_ref().map(|s| BallState {
                    vx_mps: 0.0,
                    vy_mps: 0.0,
                    vz_mps: 0.0,
                    confidence: 0.0,
                    status: TrackStatus::Lost,
                    ..s.clone()
                })
            }
        };
        match ball.as_ref().map(|b| b.status) {
            Some(TrackStatus::Tracked) => counters.ball_tracked += 1,
            Some(TrackStatus::Predicted) => counters.ball_predicted += 1,
            _ => counters.ball_lost += 1,
        }
        BallReport { ball, exempt }
    }
}
