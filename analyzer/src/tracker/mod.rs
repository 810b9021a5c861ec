//! The ball tracker: several hypotheses when candidates compete, one reported track.
//!
//! Every frame, each hypothesis of each lineage is predicted, then branches: missed, or
//! updated with each candidate inside its Mahalanobis gate. A candidate outside the normal
//! gate may still be explained by a kick (velocity much less certain: along the ground, or
//! up into the air), at a score penalty. The best few branches of each lineage survive.
//! Candidates that no hypothesis explains start new lineages. A lineage is reported only once
//! confirmed: M hits of N frames, two confident hits in successive frames, or one very
//! confident candidate when nothing competes (which continues the coasting reported ball if
//! it could have got there). The motion cue's sightings start nothing, except, with
//! `motion_seeds`, a ball seen moving fast on a line by three of them ([`moving_seed`]). The reported one changes only for a clearly better one, and a
//! lineage that never moved (a fixed false positive, a spare ball) never replaces one that
//! has travelled; beyond the pitch's lines nothing counts as travel or a move, so a lineage
//! that jumps onto a spare ball by the bench does not become the travelled ball. Smoothing is
//! forward only: the filter's current estimate.
//!
//! Predictions are bounded: an unseen ball slows down on the grass (friction), a lofted one
//! lands and rolls on, a hypothesis predicted off the pitch (beyond the field mask) ends, and
//! one whose velocity rests on a single reading after a kick is reported only a little way
//! along it and ends soon (a boot beside the ball is no shot). A miss counts only where the
//! detector looked ([`Looked`]).
//! A measurement of a hypothesis whose prediction has become very uncertain (coasting for
//! long, or just kicked at a low detection rate) re-initialises the state at the measurement
//! instead of being averaged with the prediction, and every measurement must be reachable
//! from the previous one at a plausible ball speed.

mod filter;
mod hypotheses;
mod moving_seed;

pub use filter::{BallFilter, MotionModel, Noise};
pub use hypotheses::{Hit, Hypothesis, Lineage, MOVE_M, SCORE_TAU_S, TRAVEL_M};
pub use moving_seed::{MovingSeeds, SeedRule};

use crate::counters::Counters;
use crate::gates::{Candidate, BALL_DIAMETER_M};
use crate::geom::PitchModel;
use shared::config::AnalyzerConfig;
use shared::geometry::{PitchSpec, SPOT_RADIUS_M};
use shared::messages::{BallState, TrackStatus};
use shared::scene::BALL_RADIUS_M;

/// Highest a ball goes, metres (a goal kick peaks at about 30 m).
const MAX_HEIGHT_M: f64 = 50.0;
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
/// How long a hypothesis whose velocity rests on one measurement after a kick may coast:
/// a false candidate next to the ball taken for a kick sends it off at tens of metres a
/// second, and a real kick is seen again within this in all but the longest gaps.
const KICK_COAST_NS: u64 = 500_000_000;
/// How far such a hypothesis is reported along its way before it is reported lost, metres.
const KICK_REACH_M: f64 = 2.0;
/// Velocity uncertainty of a lineage started by a ball seen moving by the motion cue, m/s.
const MOVING_SEED_VEL_SIGMA: f64 = 3.0;
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
/// Deceleration of an unseen rolling ball, m/s^2 (grass friction; passes lose more, but a
/// low value errs on the side of the ball having gone on).
const ROLL_DECEL: f64 = 1.5;
/// A hypothesis this uncertain (horizontal position, one sigma, metres) is stale: a
/// measurement re-initialises it at the measurement instead of a linearised update far from
/// both, which can land metres away from the detection.
const STALE_SIGMA_M: f64 = 3.0;
/// ... after this long without a measurement (a hypothesis measured every frame may be
/// uncertain, a ball high in the air, without being stale).
const STALE_AFTER_NS: u64 = 300_000_000;
/// A hypothesis predicted further than this outside the field mask ends, metres.
const BOUND_EXTRA_M: f64 = 2.0;
/// Position slack of the speed plausibility test between two measurements, metres.
const PLAUSIBLE_SLACK_M: f64 = 3.0;
/// Farthest from the reported ball's expected position that a new lineage is taken for it
/// (re-acquisition), metres: a ball coasting for long is expected nowhere in particular.
const REACQUIRE_MAX_M: f64 = 15.0;
/// Position uncertainty of a reading taken as the point of a candidate's ray nearest to
/// where the ball is expected, metres; below [`NEAR_GROUND_M`] that point is on the grass.
const NEAR_SIGMA_M: f64 = 4.0;
const NEAR_GROUND_M: f64 = 0.5;
/// That reading is offered only this soon after the last measurement: later, the ball may
/// be anywhere along a long stretch of the ray.
const NEAR_MAX_GAP_NS: u64 = 1_000_000_000;
/// Prior factor on the score of a candidate close to the panorama's left, right or top edge
/// (a ball cut by the edge, lights, the stands), and the width of that band in pixels at
/// 1920 px.
const EDGE_PRIOR: f64 = 0.5;
const EDGE_PX_AT_1920: f64 = 12.0;
/// Prior factor on the score of a candidate whose ground point lies on a painted spot (a
/// white disc of about a ball's size), and how near counts, metres.
const SPOT_PRIOR: f64 = 0.5;
const SPOT_NEAR_M: f64 = 0.5;
/// A ball expected this near the edge of the part of the panorama the detector looked at
/// may have been cut by it: its miss is no evidence, pixels.
const REGION_INSET_PX: f64 = 4.0;

/// What the tracker reports for a frame.
#[derive(Debug, Clone, PartialEq)]
pub struct BallReport {
    pub ball: Option<BallState>,
    /// Per candidate: explained by a lineage that travelled and moved lately (the moving
    /// ball), so static suppression must not learn from it.
    pub exempt: Vec<bool>,
}

/// Where the frame's candidates were looked for: what a missing ball says.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Looked {
    /// The detector looked at the whole panorama: a miss is evidence wherever the ball is
    /// expected.
    Whole,
    /// The detector looked only at `[x, y, w, h]` (panorama pixels, around where it expected
    /// the ball): a miss is evidence only for a ball expected inside it. A hypothesis
    /// expected elsewhere was not looked at.
    Region([f64; 4]),
    /// The motion cue, which cannot see a ball lying still: a miss is no evidence, and does
    /// not age a lineage.
    Motion,
}

impl Looked {
    /// Whether a ball expected at pixel `(u, v)` would have been looked at (a ball within
    /// [`REGION_INSET_PX`] of a region's edge may have been cut by it).
    fn covers(&self, (u, v): (f64, f64)) -> bool {
        match *self {
            Looked::Whole => true,
            Looked::Region([x, y, w, h]) => {
                let m = REGION_INSET_PX;
                u >= x + m && u <= x + w - m && v >= y + m && v <= y + h - m
            }
            Looked::Motion => false,
        }
    }
}

/// What every hypothesis of a frame is branched against.
#[derive(Clone, Copy)]
struct Frame<'a> {
    dt: f64,
    gamma: f64,
    now_ns: u64,
    cands: &'a [Candidate],
    /// Where the candidates were looked for.
    looked: Looked,
    /// The detector looked (its misses are evidence where it looked, it may start
    /// lineages); false for the motion cue's frames.
    informative: bool,
    /// Per candidate: the detector score times its prior (edges, painted spots).
    scores: &'a [f64],
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
    confirm_single_score: f64,
    confirm_pair_score: f64,
    max_speed: f64,
    pitch: PitchSpec,
    /// Field mask margin plus [`BOUND_EXTRA_M`]: where a predicted ball is given up.
    bound_m: f64,
    pano_w: f64,
    edge_px: f64,
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
    /// The motion cue's recent sightings: a ball seen moving fast through three of them
    /// starts a lineage while the reported ball goes unmeasured (`motion_seeds`).
    moving: Option<MovingSeeds>,
}

/// How much a lineage deserves to be reported: its score, far ahead if it has travelled,
/// a margin ahead if it is the one reported now (no flip-flopping between equals).
fn value(l: &Lineage, current: Option<u64>, now_ns: u64) -> f64 {
    l.best().score
        + if l.travelled { TRAVEL_BONUS } else { 0.0 }
        + if moving(l, now_ns) { MOVING_BONUS } else { 0.0 }
        + if Some(l.id) == current {
            SWITCH_MARGIN
        } else {
            0.0
        }
}

/// Moving, as far as static suppression goes: travelled, and moved within
/// [`MOVING_WINDOW_NS`]. A travelled lineage that then stays put (a ball lying still for long,
/// or one that jumped onto a spare ball by the bench) stops being exempt: static
/// suppression learns its spot and it may no longer feed on a learnt static candidate.
fn moving(l: &Lineage, now_ns: u64) -> bool {
    l.travelled && now_ns.saturating_sub(l.last_moved_ns) <= MOVING_WINDOW_NS
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
                roll_decel: ROLL_DECEL,
                air_accel: 1.5,
                pixel_sigma: cfg.pixel_sigma as f64,
                size_cue: cfg.use_size_cue,
            },
            max_lineages: cfg.max_hypotheses,
            confirm_hits: cfg.confirm_hits,
            confirm_window: cfg.confirm_window,
            confirm_single_score: cfg.confirm_single_score as f64,
            confirm_pair_score: cfg.confirm_pair_score as f64,
            max_speed: cfg.max_ball_speed_mps as f64,
            pitch: model.pitch().clone(),
            bound_m: cfg.field_margin_m as f64 + BOUND_EXTRA_M,
            pano_w: pano.width as f64,
            edge_px: EDGE_PX_AT_1920 * pano.width as f64 / 1920.0,
            predict_max_ns: (cfg.predict_max_s as f64 * 1e9) as u64,
            predict_still_max_ns: (cfg.predict_still_max_s as f64 * 1e9) as u64,
            ln_clutter: (pano.width as f64 * pano.height as f64 * 20.0).ln(),
            lineages: Vec::new(),
            next_id: 1,
            current: None,
            last: None,
            moving: cfg
                .motion_seeds
                .then(|| MovingSeeds::new(SeedRule::default(), pano.width as f64)),
        }
    }

    /// Forgets everything (capture restarted: the time line is new).
    pub fn reset(&mut self) {
        self.lineages.clear();
        self.current = None;
        self.last = None;
        if let Some(m) = self.moving.as_mut() {
            m.clear();
        }
    }

    /// Lineages alive (bounded by `max_hypotheses`).
    pub fn lineages(&self) -> &[Lineage] {
        &self.lineages
    }

    fn hit_delta(&self, inn: &filter::Innovation, score: f64) -> f64 {
        P_DETECT.ln() - 0.5 * inn.d2 - 0.5 * inn.ln_det
            + self.ln_clutter
            + (score.max(0.05) / 0.5).ln()
    }

    /// Prior factor of a candidate (1, or less where false positives are likely): next to
    /// the panorama's left, right or top edge, or on a painted spot.
    pub fn prior(&self, c: &Candidate) -> f64 {
        let mut p = 1.0;
        if c.u < self.edge_px || c.u > self.pano_w - 1.0 - self.edge_px || c.v < self.edge_px {
            p *= EDGE_PRIOR;
        }
        if let Some((x, y)) = c.ground {
            let near = SPOT_RADIUS_M + SPOT_NEAR_M;
            if self
                .pitch
                .spots()
                .iter()
                .any(|&s| dist2(s, (x, y)) <= near * near)
            {
                p *= SPOT_PRIOR;
            }
        }
        p
    }

    /// Whether a hypothesis' position is still somewhere the ball can be.
    fn in_bounds(&self, f: &BallFilter) -> bool {
        self.pitch.contains(f.s[0], f.s[1], self.bound_m)
    }

    /// Filters started from one candidate alone, with a score offset each: on the grass where
    /// its ray meets it, and in the air where its size puts it (when that is much nearer, or
    /// the ray never meets the grass).
    fn fresh(&self, c: &Candidate, model: &PitchModel) -> Vec<(BallFilter, f64)> {
        let mut out = Vec::new();
        let size_range = model.range_for_diameter(BALL_DIAMETER_M, c.diameter_px);
        if let Some((x, y)) = c.ground {
            let r = model.range(x, y, BALL_RADIUS_M);
            // Position uncertainty: a couple of pixels at that range, stretched in depth.
            let sigma = (r * model.rad_per_px() * 3.0 * self.noise.pixel_sigma).max(0.3);
            out.push((BallFilter::on_ground(x, y, sigma, 8.0), 0.0));
        }
        let ground_range = c
            .ground
            .map(|(x, y)| model.range(x, y, BALL_RADIUS_M))
            .unwrap_or(f64::INFINITY);
        if self.noise.size_cue && size_range < 0.7 * ground_range || c.ground.is_none() {
            let p = model.ray_at_range(c.u, c.v, size_range.min(ground_range));
            out.push((BallFilter::in_air(p.x, p.y, p.z, 0.3 * p.range, 10.0), -1.0));
        }
        // A ray that meets the grass far beyond the pitch (a ball high in the air, seen just
        // below the horizon) or a size that puts it there is no position: never a reading.
        out.retain(|(f, _)| self.possible(f));
        out
    }

    /// Inside the bounds and not higher than a ball goes.
    fn possible(&self, f: &BallFilter) -> bool {
        self.in_bounds(f) && f.s[2] <= MAX_HEIGHT_M
    }

    /// The reading of a candidate nearest to where a hypothesis expects the ball: the point
    /// of its viewing ray closest to `p` (a lofted ball seen once: its ray is exact, its range
    /// is not). In the air with a loose position, or on the grass when that point is low.
    fn near_reading(&self, c: &Candidate, model: &PitchModel, p: (f64, f64, f64)) -> BallFilter {
        let q = model.ray_nearest(c.u, c.v, p);
        if q.z <= NEAR_GROUND_M {
            if let Some((x, y)) = c.ground {
                return BallFilter::on_ground(x, y, NEAR_SIGMA_M, 8.0);
            }
        }
        BallFilter::in_air(q.x, q.y, q.z, NEAR_SIGMA_M, 10.0)
    }

    /// Children of a hypothesis measured by candidate `i`: the Kalman update of its
    /// prediction, or, when that prediction is stale, the state re-initialised at the
    /// measurement. Children that jump faster than a ball can, or leave the bounds, are not
    /// kept.
    #[allow(clippy::too_many_arguments)]
    fn hit_children(
        &self,
        prior: &Hypothesis,
        predicted: &BallFilter,
        pred: &filter::Predicted,
        inn: &filter::Innovation,
        delta: f64,
        i: usize,
        f: &Frame,
        kick: bool,
        out: &mut Vec<Hypothesis>,
    ) {
        let mut push = |filter: BallFilter, delta: f64| {
            let xy = (filter.s[0], filter.s[1]);
            if self.possible(&filter)
                && prior.plausible(xy, f.now_ns, self.max_speed, PLAUSIBLE_SLACK_M)
            {
                let hit = Hit {
                    candidate: i,
                    now_ns: f.now_ns,
                    score: f.scores[i],
                    kick,
                };
                out.push(prior.child(filter, delta, f.gamma, Some(hit)));
            }
        };
        // Only a confident candidate restarts the state: a stale hypothesis' gate is wide, and
        // a false positive in it must not become a precise (and wrong) position.
        let coasting = f.now_ns.saturating_sub(prior.last_hit_ns) >= STALE_AFTER_NS;
        let confident = f.scores[i] >= self.confirm_single_score;
        if coasting && confident && predicted.pos_sigma() > STALE_SIGMA_M {
            // Where the measurement alone puts the ball (on the grass, or in the air), the one
            // the old prediction agrees with best: its position spread is its only use.
            let (s, p2) = (&predicted.s, predicted.pos_sigma().powi(2));
            let c = &f.cands[i];
            let mut readings = self.fresh(c, f.model);
            if f.now_ns.saturating_sub(prior.last_hit_ns) <= NEAR_MAX_GAP_NS {
                readings.push((self.near_reading(c, f.model, (s[0], s[1], s[2])), -0.5));
            }
            for (filter, offset) in readings {
                let d2 =
                    dist2((s[0], s[1]), (filter.s[0], filter.s[1])) + (s[2] - filter.s[2]).powi(2);
                let agree = -0.5 * d2 / (p2 + filter.pos_sigma().powi(2));
                push(filter, delta + offset + agree);
            }
        } else {
            let mut filter = predicted.clone();
            filter.update(pred, inn);
            push(filter, delta);
        }
    }

    /// Children of one hypothesis for this frame's candidates.
    fn branch(&self, prior: &Hypothesis, moving: bool, f: &Frame, out: &mut Vec<Hypothesis>) {
        let Frame {
            dt,
            gamma,
            cands,
            scores,
            model,
            ..
        } = *f;
        let mut h = prior.clone();
        h.filter.predict(dt, &self.noise);
        let h = &h;
        // Predicted off the pitch: that hypothesis ends (a measurement may still continue it).
        if self.in_bounds(&h.filter) {
            if f.looked.covers(h.filter.pixel(model)) {
                out.push(h.child(h.filter.clone(), (1.0 - P_DETECT).ln(), gamma, None));
            } else {
                let mut missed = h.child(h.filter.clone(), 0.0, gamma, None);
                missed.hits = h.hits;
                out.push(missed);
            }
        }
        if cands.is_empty() {
            return;
        }
        // A learnt static false positive may only continue the moving ball, and only while
        // it is followed closely (not after long coasting, when the gate is wide).
        let close = h.filter.pos_sigma() < 1.5;
        let usable = |c: &Candidate| !c.suppressed || (moving && close);
        let pred = h.filter.predicted(model);
        let mut unexplained = Vec::new();
        for (i, c) in cands.iter().enumerate() {
            if !usable(c) {
                continue;
            }
            match BallFilter::innovation(&pred, c, &self.noise) {
                Some(inn) if inn.d2 <= self.gate2 => {
                    let delta = self.hit_delta(&inn, scores[i]);
                    self.hit_children(h, &h.filter, &pred, &inn, delta, i, f, false, out);
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
                        let p_kick = if take_off && h.filter.mode == MotionModel::Ground {
                            P_TAKE_OFF
                        } else {
                            P_KICK
                        };
                        let delta = self.hit_delta(&inn, scores[i]) + p_kick.ln();
                        self.hit_children(prior, &k, &kp, &inn, delta, i, f, true, out);
                    }
                }
            }
        }
    }

    /// New lineage for a candidate nobody explains.
    /// `score`: the candidate's score times its prior.
    fn birth(
        &mut self,
        i: usize,
        c: &Candidate,
        score: f64,
        model: &PitchModel,
        now_ns: u64,
    ) -> Lineage {
        let hyps: Vec<Hypothesis> = self
            .fresh(c, model)
            .into_iter()
            .map(|(filter, offset)| Hypothesis {
                score: BIRTH_SCORE + offset,
                hits: 1,
                last_hit_ns: now_ns,
                candidate: Some(i),
                speed_at_hit: 0.0,
                hit_scores: [score, 0.0],
                hit_xy: (filter.s[0], filter.s[1]),
                kick_hits: 0,
                filter,
            })
            .collect();
        let birth_xy = hyps.first().map(|h| h.hit_xy).unwrap_or((0.0, 0.0));
        // Re-acquisition: born where the reported ball is expected, it is the same ball.
        let travelled = self
            .current_lineage()
            .map(|l| {
                let f = &l.best().filter;
                let r = (3.0 * f.pos_sigma()).clamp(3.0, REACQUIRE_MAX_M);
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

    /// One very confident candidate when nothing competes (no confirmed lineage measured
    /// this frame, no other new lineage): the lineage born from it is confirmed at once. If
    /// the reported ball is coasting and could have got there since it was last measured,
    /// the newborn continues it (same identity, travel marks kept).
    fn confirm_single(
        &mut self,
        newborn: &[usize],
        cands: &[Candidate],
        scores: &[f64],
        model: &PitchModel,
        now_ns: u64,
    ) {
        let [n] = *newborn else {
            return;
        };
        let measured = self
            .lineages
            .iter()
            .any(|l| l.confirmed && l.best().candidate.is_some());
        let Some(i) = self.lineages[n].best().candidate else {
            return;
        };
        if measured || scores[i] < self.confirm_single_score {
            return;
        }
        self.lineages[n].confirmed = true;
        // Continues the reported ball if one of its readings is reachable from where that ball
        // was last measured: on the grass, or the point of the candidate's ray nearest to the
        // coasting ball when that was measured lately (a lofted ball seen once; its apparent
        // size is too rough a range). Only those readings are kept.
        let Some(k) = self
            .current
            .and_then(|id| self.lineages.iter().position(|l| l.id == id))
        else {
            return;
        };
        let b = self.lineages[k].best();
        let mut readings: Vec<Hypothesis> = self.lineages[n]
            .hyps
            .iter()
            .filter(|h| h.filter.mode == MotionModel::Ground)
            .cloned()
            .collect();
        if now_ns.saturating_sub(b.last_hit_ns) <= NEAR_MAX_GAP_NS {
            let s = &b.filter.s;
            let near = self.near_reading(&cands[i], model, (s[0], s[1], s[2]));
            let mut h = self.lineages[n].hyps[0].clone();
            h.hit_xy = (near.s[0], near.s[1]);
            h.score = BIRTH_SCORE - 0.5;
            h.filter = near;
            readings.push(h);
        }
        readings.retain(|h| {
            self.possible(&h.filter)
                && b.plausible(h.hit_xy, now_ns, self.max_speed, PLAUSIBLE_SLACK_M)
        });
        let continued = (!readings.is_empty()).then_some(k);
        let mut l = self.lineages[n].clone();
        l.hyps = readings;
        l.prune(PER_LINEAGE);
        if let Some(k) = continued {
            let old = &self.lineages[k];
            l.continue_from(old);
            l.travelled = old.travelled;
            l.move_anchor = old.move_anchor;
            l.last_moved_ns = old.last_moved_ns;
            l.note_travel(now_ns, &self.pitch);
            self.lineages[n] = l;
            self.lineages.remove(k);
        }
    }

    /// How long a hypothesis may coast: longer for a ball that was at rest when last seen
    /// (players gathered round a free kick hide it for seconds, and it does not move).
    fn coast_limit_ns(&self, h: &Hypothesis) -> u64 {
        if h.kick_unconfirmed() {
            self.predict_max_ns.min(KICK_COAST_NS)
        } else if h.speed_at_hit < STILL_MPS {
            self.predict_max_ns.max(self.predict_still_max_ns)
        } else {
            self.predict_max_ns
        }
    }

    fn current_lineage(&self) -> Option<&Lineage> {
        self.current
            .and_then(|id| self.lineages.iter().find(|l| l.id == id))
    }

    /// One analysed frame: `dt_s` since the previous one, the gated candidates. The steps:
    /// every lineage predicted and branched ([`Self::advance`]); lineages that ended, and
    /// duplicates of one object, removed ([`Self::end_and_merge`]); what the survivors
    /// explain ([`Self::explained`]); new lineages for the rest ([`Self::births`]); the
    /// weakest dropped over the bound ([`Self::bound`]); the reported one chosen
    /// ([`Self::choose`]) and reported ([`Self::report`]).
    pub fn step(
        &mut self,
        now_ns: u64,
        dt_s: f64,
        cands: &[Candidate],
        model: &PitchModel,
        counters: &mut Counters,
    ) -> BallReport {
        self.step_frame(now_ns, dt_s, cands, Looked::Whole, model, counters)
    }

    /// As [`Self::step`], saying where the candidates were looked for (what a miss says).
    pub fn step_frame(
        &mut self,
        now_ns: u64,
        dt_s: f64,
        cands: &[Candidate],
        looked: Looked,
        model: &PitchModel,
        counters: &mut Counters,
    ) -> BallReport {
        let cur = self.current;
        let dt = dt_s.clamp(1e-3, 2.0 * self.predict_max_ns as f64 * 1e-9 + 0.1);
        let gamma = (-dt / SCORE_TAU_S).exp();
        let scores: Vec<f64> = cands
            .iter()
            .map(|c| c.score as f64 * self.prior(c))
            .collect();
        let frame = Frame {
            dt,
            gamma,
            now_ns,
            cands,
            looked,
            informative: looked != Looked::Motion,
            scores: &scores,
            model,
        };
        let mut lineages = std::mem::take(&mut self.lineages);
        self.advance(&mut lineages, &frame);
        counters.tracks_ended += self.end_and_merge(&mut lineages, cur, now_ns, cands.len());
        let (explained, exempt) = self.explained(&lineages, &scores, now_ns);
        self.lineages = lineages;
        self.births(&explained, &frame, counters);
        self.bound(cur, now_ns, counters);
        self.choose(cur, now_ns, counters);
        let ball = self.report(model, now_ns);
        match ball.as_ref().map(|b| b.status) {
            Some(TrackStatus::Tracked) => counters.ball_tracked += 1,
            Some(TrackStatus::Predicted) => counters.ball_predicted += 1,
            _ => counters.ball_lost += 1,
        }
        BallReport { ball, exempt }
    }

    /// Every lineage predicted and branched against the frame's candidates, its best
    /// hypotheses kept, confirmed once it meets the rule, its travel marks updated.
    fn advance(&self, lineages: &mut [Lineage], frame: &Frame) {
        let now_ns = frame.now_ns;
        let mut children = Vec::new();
        for l in lineages.iter_mut() {
            children.clear();
            for h in &l.hyps {
                self.branch(h, moving(l, now_ns), frame, &mut children);
            }
            children.retain(|h| now_ns.saturating_sub(h.last_hit_ns) <= self.coast_limit_ns(h));
            l.hyps = std::mem::take(&mut children);
            l.prune(PER_LINEAGE);
            let hit = l.hyps.first().is_some_and(|b| b.candidate.is_some());
            if frame.informative || hit {
                l.age = l.age.saturating_add(1);
            }
            let Some(b) = l.hyps.first() else {
                // Every hypothesis left the bounds: ended in `end_and_merge`.
                continue;
            };
            if b.recent_hits(self.confirm_window) >= self.confirm_hits
                || b.confident_pair(self.confirm_pair_score)
            {
                l.confirmed = true;
            }
            l.note_travel(now_ns, &self.pitch);
        }
    }

    /// Removes lineages predicted off the pitch, lost too long, or never confirmed in their
    /// first frames (and seconds); of two lineages explaining the same candidate (one
    /// object), keeps the reported one, else the better. Leaves `lineages` best first;
    /// returns how many ended.
    fn end_and_merge(
        &self,
        lineages: &mut Vec<Lineage>,
        cur: Option<u64>,
        now_ns: u64,
        n_cands: usize,
    ) -> u64 {
        let before = lineages.len();
        lineages.retain(|l| {
            let Some(b) = l.hyps.first() else {
                return false;
            };
            let alive = now_ns.saturating_sub(b.last_hit_ns) <= self.coast_limit_ns(b);
            let hopeless = !l.confirmed && l.age >= self.confirm_window;
            alive && !hopeless
        });
        lineages.sort_by(|a, b| {
            value(b, cur, now_ns)
                .total_cmp(&value(a, cur, now_ns))
                .then(a.id.cmp(&b.id))
        });
        let mut used = vec![false; n_cands];
        lineages.retain(|l| match l.best().candidate {
            Some(i) if used[i] => false,
            Some(i) => {
                used[i] = true;
                true
            }
            None => true,
        });
        (before - lineages.len()) as u64
    }

    /// Per candidate: explained by a surviving lineage, and exempt from static suppression
    /// (used by the moving ball). A candidate used by any surviving hypothesis is explained,
    /// except a confident one that only an unlikely branch of a coasting lineage used (its
    /// gate had grown wide): it may start a lineage, which can then continue the coasting
    /// one (see `confirm_single`).
    fn explained(
        &self,
        lineages: &[Lineage],
        scores: &[f64],
        now_ns: u64,
    ) -> (Vec<bool>, Vec<bool>) {
        let mut explained = vec![false; scores.len()];
        let mut exempt = vec![false; scores.len()];
        for l in lineages {
            let coasting = l.best().candidate.is_none();
            for h in &l.hyps {
                if let Some(i) = h.candidate {
                    explained[i] |= !coasting || scores[i] < self.confirm_single_score;
                }
            }
            if let (true, Some(i)) = (moving(l, now_ns), l.best().candidate) {
                exempt[i] = true;
            }
        }
        (explained, exempt)
    }

    /// New lineages for the candidates nobody explains (never for a learnt static one, nor in
    /// the motion cue's frames), and a very confident one confirmed at once when nothing
    /// competes.
    fn births(&mut self, explained: &[bool], frame: &Frame, counters: &mut Counters) {
        let mut newborn = Vec::new();
        if !frame.informative {
            // The motion cue continues tracks; only the detector starts them (a moving white
            // sock is a ball to the cue), except a ball seen moving fast on a line.
            self.seed_moving(frame, counters);
            return;
        }
        for (i, c) in frame.cands.iter().enumerate() {
            if explained[i] || c.suppressed {
                continue;
            }
            let l = self.birth(i, c, frame.scores[i], frame.model, frame.now_ns);
            if l.hyps.is_empty() {
                continue;
            }
            counters.tracks_started += 1;
            newborn.push(self.lineages.len());
            self.lineages.push(l);
        }
        let n = self.lineages.len();
        self.confirm_single(
            &newborn,
            frame.cands,
            frame.scores,
            frame.model,
            frame.now_ns,
        );
        counters.tracks_ended += (n - self.lineages.len()) as u64;
    }

    /// In the motion cue's frames, while the reported ball has gone unmeasured for the seed
    /// rule's window (or there is none): a candidate no lineage follows that continues two
    /// earlier cue sightings on a line at ball speed ([`moving_seed`]) starts a lineage on
    /// the grass with their velocity, confirmed at once. It continues the reported ball (same
    /// identity: the ball is not in two places), which the detector lost or left behind, as
    /// after a shot it did not follow. Every candidate of the frame is then kept for the
    /// tests of later ones.
    fn seed_moving(&mut self, frame: &Frame, counters: &mut Counters) {
        let now_ns = frame.now_ns;
        let Some(mut moving) = self.moving.take() else {
            return;
        };
        moving.forget_before(now_ns);
        let window = moving.rule().window_ns;
        let quiet = self
            .current_lineage()
            .is_none_or(|l| now_ns.saturating_sub(l.best().last_hit_ns) > window);
        // A candidate some lineage's best hypothesis took is followed already; one only a
        // branch of a coasting lineage explains (its gate grown wide) is not.
        let taken = |i: usize| self.lineages.iter().any(|l| l.best().candidate == Some(i));
        let seed = quiet
            .then(|| {
                frame.cands.iter().enumerate().find_map(|(i, c)| {
                    let g = c.ground.filter(|_| !taken(i) && !c.suppressed)?;
                    moving.find(now_ns, c.u, c.v, g).map(|v| (i, v))
                })
            })
            .flatten();
        for c in frame.cands {
            if let Some(g) = c.ground {
                moving.push(now_ns, c.u, c.v, g);
            }
        }
        self.moving = Some(moving);
        let Some((i, (vx, vy))) = seed else {
            return;
        };
        let mut l = self.birth(i, &frame.cands[i], frame.scores[i], frame.model, now_ns);
        l.hyps.retain(|h| h.filter.mode == MotionModel::Ground);
        let Some(h) = l.hyps.first_mut() else {
            return;
        };
        h.filter.set_ground_velocity(vx, vy, MOVING_SEED_VEL_SIGMA);
        h.speed_at_hit = vx.hypot(vy);
        // Its velocity rests on the cue's sightings alone, as a kick's on one reading: it is
        // reported only a little way along it and coasts briefly, until a second reading.
        h.kick_hits = 1;
        l.hyps.truncate(1);
        l.confirmed = true;
        l.travelled = true;
        l.last_moved_ns = now_ns;
        if let Some(k) = self
            .current
            .and_then(|id| self.lineages.iter().position(|o| o.id == id))
        {
            l.continue_from(&self.lineages.remove(k));
            counters.tracks_ended += 1;
        }
        counters.tracks_started += 1;
        counters.tracks_started_moving += 1;
        self.lineages.push(l);
    }

    /// At most `max_lineages`: the weakest go, never the reported one.
    fn bound(&mut self, cur: Option<u64>, now_ns: u64, counters: &mut Counters) {
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
    }

    /// The reported lineage: the confirmed one of most value (counted when it changes).
    fn choose(&mut self, cur: Option<u64>, now_ns: u64, counters: &mut Counters) {
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
    }

    /// The reported ball: the reported lineage's best estimate, `tracked` if it was measured
    /// this frame, else `predicted` with a confidence fading since its last measurement;
    /// without one, the last known place as `lost`.
    fn report(&mut self, model: &PitchModel, now_ns: u64) -> Option<BallState> {
        // A kick seen once and not since: its direction and speed rest on that one reading
        // (often a boot or a sock next to the ball), so it is extrapolated only
        // [`KICK_REACH_M`] from it; further, the ball is reported lost where it was last seen
        // until the kick is seen again.
        let unsure = |l: &&Lineage| {
            let b = l.best();
            b.kick_unconfirmed()
                && b.candidate.is_none()
                && dist2((b.filter.s[0], b.filter.s[1]), b.hit_xy) > KICK_REACH_M * KICK_REACH_M
        };
        match self.current_lineage().filter(|l| !unsure(l)) {
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
                if self.current_lineage().is_none() {
                    self.current = None;
                }
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
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::geometry::Calibration;

    fn tracker(max_lineages: usize) -> (BallTracker, PitchModel) {
        let model = PitchModel::new(Calibration::synthetic(1920, 960, 540));
        let cfg = AnalyzerConfig {
            max_hypotheses: max_lineages,
            ..Default::default()
        };
        (BallTracker::new(&cfg, &model), model)
    }

    fn hyp(score: f64, candidate: Option<usize>, now_ns: u64) -> Hypothesis {
        Hypothesis {
            filter: BallFilter::on_ground(50.0, 30.0, 0.3, 1.0),
            score,
            hits: 0b111,
            last_hit_ns: now_ns,
            candidate,
            speed_at_hit: 5.0,
            hit_xy: (50.0, 30.0),
            hit_scores: [0.9, 0.9],
            kick_hits: 0,
        }
    }

    fn lineage(id: u64, hyps: Vec<Hypothesis>) -> Lineage {
        Lineage {
            id,
            hyps,
            age: 10,
            anchor: (50.0, 30.0),
            travelled: false,
            confirmed: true,
            move_anchor: (50.0, 30.0),
            last_moved_ns: 0,
        }
    }

    #[test]
    fn two_lineages_on_one_candidate_are_one_object_and_the_reported_one_stays() {
        let (t, _) = tracker(8);
        let now = 1_000_000_000;
        let mut ls = vec![
            lineage(1, vec![hyp(9.0, Some(0), now)]),
            lineage(2, vec![hyp(5.0, Some(0), now)]),
            lineage(3, vec![hyp(4.0, Some(1), now)]),
            // Lost for far longer than a ball can coast.
            lineage(4, vec![hyp(8.0, None, 0)]),
        ];
        ls[3].hyps[0].last_hit_ns = 0;
        let ended = t.end_and_merge(&mut ls, Some(2), 60 * now, 2);
        // At 60 s nothing measured at 1 s is alive; measured now, all would be.
        assert_eq!(ended, 4);
        let mut ls = vec![
            lineage(1, vec![hyp(9.0, Some(0), now)]),
            lineage(2, vec![hyp(8.0, Some(0), now)]),
            lineage(3, vec![hyp(4.0, Some(1), now)]),
        ];
        let ended = t.end_and_merge(&mut ls, Some(2), now, 2);
        assert_eq!(ended, 1);
        let ids: Vec<u64> = ls.iter().map(|l| l.id).collect();
        assert_eq!(
            ids,
            vec![2, 3],
            "the reported one keeps the candidate, best first"
        );
    }

    #[test]
    fn a_confident_candidate_only_a_coasting_lineage_reached_may_start_a_lineage() {
        let (t, _) = tracker(8);
        let now = 1_000_000_000;
        let coasting = lineage(1, vec![hyp(6.0, None, now), hyp(2.0, Some(0), now)]);
        let measured = lineage(2, vec![hyp(6.0, Some(1), now)]);
        let (explained, exempt) = t.explained(&[coasting, measured], &[0.9, 0.9], now);
        assert_eq!(explained, vec![false, true]);
        // Neither lineage travelled: nothing is exempt from static suppression.
        assert_eq!(exempt, vec![false, false]);
        // A weak candidate the coasting lineage reached is explained.
        let coasting = lineage(1, vec![hyp(6.0, None, now), hyp(2.0, Some(0), now)]);
        let (explained, _) = t.explained(&[coasting], &[0.3], now);
        assert_eq!(explained, vec![true]);
    }

    #[test]
    fn over_the_bound_the_lineages_of_least_value_go() {
        let (mut t, _) = tracker(2);
        let now = 1_000_000_000;
        t.lineages = vec![
            lineage(1, vec![hyp(1.0, Some(0), now)]),
            lineage(2, vec![hyp(9.0, Some(1), now)]),
            lineage(3, vec![hyp(5.0, Some(2), now)]),
        ];
        let mut counters = Counters::default();
        // Lineage 1 is the reported one and travelled: worth most whatever its score.
        t.lineages[0].travelled = true;
        t.bound(Some(1), now, &mut counters);
        let mut ids: Vec<u64> = t.lineages.iter().map(|l| l.id).collect();
        ids.sort();
        assert_eq!(ids, vec![1, 2]);
        assert_eq!(counters.tracks_ended, 1);
        t.choose(Some(1), now, &mut counters);
        assert_eq!(t.current, Some(1));
        assert_eq!(counters.track_switches, 0);
    }
}

#[cfg(test)]
mod looked_tests {
    use super::*;
    use shared::geometry::Calibration;

    /// A tracker that has followed a still ball at (40, 30) for a second, and that ball's
    /// pixel.
    fn following() -> (BallTracker, PitchModel, (f64, f64)) {
        let model = PitchModel::new(Calibration::synthetic(1920, 960, 540));
        let mut t = BallTracker::new(&AnalyzerConfig::default(), &model);
        let (x, y) = (40.0, 30.0);
        let (u, v) = model.to_pixel(x, y, BALL_RADIUS_M);
        let c = Candidate {
            u,
            v,
            diameter_px: model.diameter_px(2.0 * BALL_RADIUS_M, model.range(x, y, BALL_RADIUS_M)),
            score: 0.9,
            ground: Some((x, y)),
            suppressed: false,
        };
        let mut counters = Counters::default();
        for k in 0..25u64 {
            t.step(
                k * 40_000_000,
                0.04,
                std::slice::from_ref(&c),
                &model,
                &mut counters,
            );
        }
        (t, model, (u, v))
    }

    /// The reported lineage's best score after `n` empty frames looked at as `looked`.
    fn score_after_misses(looked: Looked, n: u64) -> f64 {
        let (mut t, model, _) = following();
        let mut counters = Counters::default();
        for k in 25..25 + n {
            t.step_frame(k * 40_000_000, 0.04, &[], looked, &model, &mut counters);
        }
        t.current_lineage().expect("still followed").best().score
    }

    #[test]
    fn a_miss_counts_only_where_the_detector_looked() {
        let (_, _, (u, v)) = following();
        let whole = score_after_misses(Looked::Whole, 10);
        let around = score_after_misses(Looked::Region([u - 80.0, v - 80.0, 160.0, 160.0]), 10);
        let elsewhere = score_after_misses(Looked::Region([u + 300.0, v - 80.0, 160.0, 160.0]), 10);
        let cut = score_after_misses(Looked::Region([u - 2.0, v - 80.0, 160.0, 160.0]), 10);
        let motion = score_after_misses(Looked::Motion, 10);
        assert!((around - whole).abs() < 1e-9, "{around} vs {whole}");
        assert!(elsewhere > whole + 0.3, "{elsewhere} vs {whole}");
        assert!(
            (cut - elsewhere).abs() < 1e-9,
            "a ball at the edge: {cut} vs {elsewhere}"
        );
        assert!((motion - elsewhere).abs() < 1e-9, "{motion} vs {elsewhere}");
    }
}
