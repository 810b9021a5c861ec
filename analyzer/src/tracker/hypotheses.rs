//! Hypotheses and tracks ("lineages").
//!
//! A **lineage** is one physical object the tracker believes in (the match ball, a spare
//! ball, a false positive). It holds a few **hypotheses**: alternative explanations of its
//! recent measurements (this candidate or that one, missed, kicked along the ground or up in
//! the air). Each hypothesis carries a score: an exponential moving average (time constant
//! [`SCORE_TAU_S`]) of its per-frame log-likelihood ratio against clutter, so old evidence
//! fades and scores stay bounded.

use super::filter::BallFilter;
use shared::geometry::PitchSpec;

/// Time constant of the score average, seconds.
pub const SCORE_TAU_S: f64 = 1.0;

/// A measurement used by a hypothesis in a frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    /// Index of the candidate in the frame.
    pub candidate: usize,
    pub now_ns: u64,
    /// Its score times its prior.
    pub score: f64,
    /// Explained by a kick (the velocity changed at once), not by the motion model.
    pub kick: bool,
}

/// One explanation of a lineage's measurements.
#[derive(Debug, Clone)]
pub struct Hypothesis {
    pub filter: BallFilter,
    /// Moving average of the per-frame log-likelihood ratio.
    pub score: f64,
    /// Hit history, newest frame in bit 0.
    pub hits: u32,
    /// Frame time of the last measurement used.
    pub last_hit_ns: u64,
    /// Candidate used in the current frame, if any.
    pub candidate: Option<usize>,
    /// Horizontal speed after the last measurement, m/s.
    pub speed_at_hit: f64,
    /// Horizontal position after the last measurement, metres (plausibility of the next one).
    pub hit_xy: (f64, f64),
    /// Candidate scores (times their prior) of the last two measurements, newest first.
    pub hit_scores: [f64; 2],
    /// Measurements since the last kick, when its velocity rests on them alone (0: no kick
    /// since the lineage was born; counts up to 2, a kick seen twice).
    pub kick_hits: u8,
}

impl Hypothesis {
    /// A child after one more frame: `delta` is that frame's log-likelihood ratio.
    pub fn child(
        &self,
        filter: BallFilter,
        delta: f64,
        gamma: f64,
        hit: Option<Hit>,
    ) -> Hypothesis {
        let speed_at_hit = if hit.is_some() {
            (filter.s[3].powi(2) + filter.s[4].powi(2)).sqrt()
        } else {
            self.speed_at_hit
        };
        let (hit_xy, hit_scores) = match hit {
            Some(h) => ((filter.s[0], filter.s[1]), [h.score, self.hit_scores[0]]),
            None => (self.hit_xy, self.hit_scores),
        };
        let kick_hits = match hit {
            Some(h) if h.kick => 1,
            Some(_) if self.kick_hits > 0 => (self.kick_hits + 1).min(2),
            _ => self.kick_hits,
        };
        Hypothesis {
            speed_at_hit,
            hit_xy,
            hit_scores,
            kick_hits,
            filter,
            score: gamma * self.score + (1.0 - gamma) * delta,
            hits: (self.hits << 1) | hit.is_some() as u32,
            last_hit_ns: hit.map(|h| h.now_ns).unwrap_or(self.last_hit_ns),
            candidate: hit.map(|h| h.candidate),
        }
    }

    /// Its velocity rests on one measurement after a kick: a false candidate near the ball
    /// taken for a kick predicts the ball flying off at tens of metres a second.
    pub fn kick_unconfirmed(&self) -> bool {
        self.kick_hits == 1
    }

    /// Hits among the last `window` frames.
    pub fn recent_hits(&self, window: u32) -> u32 {
        let mask = if window >= 32 {
            u32::MAX
        } else {
            (1u32 << window) - 1
        };
        (self.hits & mask).count_ones()
    }

    /// Measured in this frame and the one before, both with at least `min_score`.
    pub fn confident_pair(&self, min_score: f64) -> bool {
        self.hits & 0b11 == 0b11 && self.hit_scores.iter().all(|&s| s >= min_score)
    }

    /// Whether a measurement putting the ball at `xy` at `now_ns` is physically plausible
    /// after the last one: no faster than `max_speed` m/s, with `slack_m` for the position
    /// uncertainty of both.
    pub fn plausible(&self, xy: (f64, f64), now_ns: u64, max_speed: f64, slack_m: f64) -> bool {
        let dt = now_ns.saturating_sub(self.last_hit_ns) as f64 * 1e-9;
        let d = ((xy.0 - self.hit_xy.0).powi(2) + (xy.1 - self.hit_xy.1).powi(2)).sqrt();
        d <= max_speed * dt + slack_m
    }
}

/// One tracked object and its hypotheses (best first).
#[derive(Debug, Clone)]
pub struct Lineage {
    pub id: u64,
    pub hyps: Vec<Hypothesis>,
    /// Frames since birth.
    pub age: u32,
    /// Where it was when confirmed (until then: where it is), metres. Jumps before
    /// confirmation (a false positive's branch grabbing another one) do not count as travel.
    pub anchor: (f64, f64),
    /// Has moved at least [`TRAVEL_M`] from its anchor: the match ball, not a fixed false
    /// positive. Static suppression never learns from a travelled lineage.
    pub travelled: bool,
    /// Has met the confirmation rule once (M of N hits).
    pub confirmed: bool,
    /// Reference point and frame time of the last move of at least [`MOVE_M`].
    pub move_anchor: (f64, f64),
    pub last_moved_ns: u64,
}

/// Distance from the anchor that makes a lineage "travelled", metres.
pub const TRAVEL_M: f64 = 3.0;
/// A move of this much counts as "moving recently", metres.
pub const MOVE_M: f64 = 1.0;
/// How far beyond the pitch's lines travel and moves stop counting, metres.
pub const OUT_M: f64 = 1.0;

impl Lineage {
    /// Takes over `old`'s identity (it is the same ball seen again): its id and anchor, and
    /// at least its score on every hypothesis.
    pub fn continue_from(&mut self, old: &Lineage) {
        self.id = old.id;
        self.anchor = old.anchor;
        let score = old.best().score;
        for h in &mut self.hyps {
            h.score = h.score.max(score);
        }
    }

    /// The most likely hypothesis. A lineage always has one (lineages left without any are
    /// removed at once).
    pub fn best(&self) -> &Hypothesis {
        &self.hyps[0]
    }

    /// Keeps the best `keep` hypotheses, dropping near-duplicates (same candidate and model,
    /// or both missed with the same model): they would only crowd out real alternatives.
    pub fn prune(&mut self, keep: usize) {
        self.hyps.sort_by(|a, b| b.score.total_cmp(&a.score));
        let mut kept: Vec<Hypothesis> = Vec::with_capacity(keep);
        for h in self.hyps.drain(..) {
            let dup = kept
                .iter()
                .any(|k| k.candidate == h.candidate && k.filter.mode == h.filter.mode);
            if !dup {
                kept.push(h);
                if kept.len() == keep {
                    break;
                }
            }
        }
        self.hyps = kept;
    }

    /// Updates the travel and recent-motion marks after a frame. Beyond the pitch's lines
    /// (more than [`OUT_M`]) nothing counts as travel or a move: balls lie still out there
    /// (spare balls by the benches), and a lineage that jumped onto one after coasting must
    /// not become the travelled, moving ball; a ball in play that crosses a line comes back
    /// or stops.
    pub fn note_travel(&mut self, now_ns: u64, pitch: &PitchSpec) {
        let b = &self.best().filter.s;
        let p = (b[0], b[1]);
        if !self.confirmed {
            self.anchor = p;
            self.move_anchor = p;
            return;
        }
        let d = |a: (f64, f64)| ((p.0 - a.0).powi(2) + (p.1 - a.1).powi(2)).sqrt();
        let out = p.0 < -OUT_M
            || p.1 < -OUT_M
            || p.0 > pitch.length_m + OUT_M
            || p.1 > pitch.width_m + OUT_M;
        if out {
            self.move_anchor = p;
            return;
        }
        if d(self.anchor) >= TRAVEL_M {
            self.travelled = true;
        }
        if d(self.move_anchor) >= MOVE_M {
            self.move_anchor = p;
            self.last_moved_ns = now_ns;
        }
    }
}
