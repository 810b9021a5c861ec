//! The old prototype's ball logic, reproduced as a baseline for the evaluation (not used by
//! the analyzer). Its rules, faults included:
//!
//! - confidence >= 0.35 for every class; a field mask that is the pitch as painted (a PNG in
//!   the prototype: no margin, so a ball out of play or high in the air is masked out);
//!   aspect ratio 0.7-1.3;
//! - a search radius around the last ball position, growing with every miss;
//! - among candidates in the radius, the one nearest the players' centre of mass wins;
//! - outlier removal on a 30 px grid: a cell where candidates were rejected six times is
//!   banned *for ever*;
//! - a 2 px duplicate filter that also throws away a ball lying still;
//! - gaps filled up to 10 s with a made-up parabola;
//! - the players' (plain) centre of mass as the fallback target;
//! - an unbounded history.
//!
//! Everything is in panorama pixels (the prototype had no pitch model); positions in metres
//! are derived by assuming the ball is on the grass, as the prototype's consumers did.

use crate::geom::PitchModel;
use shared::messages::{BallState, RawDetections, TrackStatus, Tracks};
use shared::scene::BALL_RADIUS_M;
use std::collections::{HashMap, HashSet};

const MIN_SCORE: f32 = 0.35;
const GRID_PX: f64 = 30.0;
const BAN_AFTER: u32 = 6;
const DUPLICATE_PX: f64 = 2.0;
const GAP_FILL_S: f64 = 10.0;
/// Search radius at 1920 px panorama width, and its growth per miss.
const RADIUS_PX: f64 = 40.0;
const RADIUS_GROWTH_PX: f64 = 20.0;

/// The old prototype's state.
pub struct Baseline {
    model: PitchModel,
    scale: f64,
    last: Option<(f64, f64)>,
    last_ns: u64,
    velocity: (f64, f64),
    misses: u32,
    rejections: HashMap<(i64, i64), u32>,
    banned: HashSet<(i64, i64)>,
    /// Everything ever reported (the prototype never trimmed it).
    pub history: Vec<Tracks>,
}

impl Baseline {
    pub fn new(model: PitchModel) -> Baseline {
        let scale = model.calibration().panorama.width as f64 / 1920.0;
        Baseline {
            model,
            scale,
            last: None,
            last_ns: 0,
            velocity: (0.0, 0.0),
            misses: 0,
            rejections: HashMap::new(),
            banned: HashSet::new(),
            history: Vec::new(),
        }
    }

    fn cell(&self, u: f64, v: f64) -> (i64, i64) {
        (
            (u / (GRID_PX * self.scale)).floor() as i64,
            (v / (GRID_PX * self.scale)).floor() as i64,
        )
    }

    fn on_pitch_mask(&self, u: f64, v: f64) -> bool {
        self.model
            .to_pitch(u, v, 0.0)
            .is_some_and(|(x, y)| self.model.pitch().contains(x, y, 0.0))
    }

    fn state(&self, u: f64, v: f64, status: TrackStatus, confidence: f32) -> BallState {
        let (x, y) = self
            .model
            .to_pitch(u, v, BALL_RADIUS_M)
            .unwrap_or((f64::NAN, f64::NAN));
        BallState {
            x_m: x as f32,
            y_m: y as f32,
            z_m: BALL_RADIUS_M as f32,
            vx_mps: 0.0,
            vy_mps: 0.0,
            vz_mps: 0.0,
            px: u as f32,
            py: v as f32,
            confidence,
            status,
        }
    }

    /// One frame through the old rules.
    // Long by design: the old prototype's per-frame rules as it had them, faults included, so the
    // baseline stays comparable with it.
    pub fn process(&mut self, frame: &RawDetections) -> Tracks {
        let ball_class = frame.classes.iter().position(|c| c == "ball");
        let player_class = frame.classes.iter().position(|c| c == "player");
        let mut players = Vec::new();
        let mut cands = Vec::new();
        for d in &frame.detections {
            if d.score < MIN_SCORE || !d.cx.is_finite() || !d.cy.is_finite() {
                continue;
            }
            let (u, v) = (d.cx as f64, d.cy as f64);
            if Some(d.class_id as usize) == player_class {
                players.push((u, v + d.h as f64 / 2.0));
            } else if Some(d.class_id as usize) == ball_class {
                let aspect = d.w / d.h;
                if (0.7..=1.3).contains(&aspect)
                    && self.on_pitch_mask(u, v)
                    && !self.banned.contains(&self.cell(u, v))
                {
                    cands.push((u, v));
                }
            }
        }
        let com = if players.is_empty() {
            None
        } else {
            let n = players.len() as f64;
            Some((
                players.iter().map(|p| p.0).sum::<f64>() / n,
                players.iter().map(|p| p.1).sum::<f64>() / n,
            ))
        };
        // Search radius around the last ball, growing with misses.
        if let Some((lu, lv)) = self.last {
            let r = (RADIUS_PX + RADIUS_GROWTH_PX * self.misses as f64) * self.scale;
            let mut kept = Vec::new();
            for (u, v) in cands {
                if ((u - lu).powi(2) + (v - lv).powi(2)).sqrt() <= r {
                    kept.push((u, v));
                } else {
                    let cell = self.cell(u, v);
                    let n = self.rejections.entry(cell).or_default();
                    *n += 1;
                    if *n >= BAN_AFTER {
                        self.banned.insert(cell);
                    }
                }
            }
            cands = kept;
        }
        // Nearest the players' centre of mass.
        let pick = match com {
            Some((cu, cv)) => cands.iter().copied().min_by(|a, b| {
                let da = (a.0 - cu).powi(2) + (a.1 - cv).powi(2);
                let db = (b.0 - cu).powi(2) + (b.1 - cv).powi(2);
                da.total_cmp(&db)
            }),
            None => cands.first().copied(),
        };
        // The duplicate filter: "the same detection again" (a ball lying still, too).
        let pick = pick.filter(|p| {
            self.last.is_none_or(|l| {
                ((p.0 - l.0).powi(2) + (p.1 - l.1).powi(2)).sqrt() > DUPLICATE_PX * self.scale
            })
        });
        let ball = match pick {
            Some((u, v)) => {
                if let Some((lu, lv)) = self.last {
                    let dt = (frame.pts_ns.saturating_sub(self.last_ns) as f64 * 1e-9).max(1e-3);
                    self.velocity = ((u - lu) / dt, (v - lv) / dt);
                }
                self.last = Some((u, v));
                self.last_ns = frame.pts_ns;
                self.misses = 0;
                Some(self.state(u, v, TrackStatus::Tracked, 0.9))
            }
            None => {
                self.misses += 1;
                let gap = frame.pts_ns.saturating_sub(self.last_ns) as f64 * 1e-9;
                match (self.last, com) {
                    (Some((lu, lv)), _) if gap <= GAP_FILL_S => {
                        // The made-up parabola: slows down to a stop at the end of the fill.
                        let s = gap * (1.0 - gap / (2.0 * GAP_FILL_S));
                        let (u, v) = (lu + self.velocity.0 * s, lv + self.velocity.1 * s);
                        Some(self.state(u, v, TrackStatus::Predicted, 0.5))
                    }
                    (_, Some((cu, cv))) => Some(self.state(cu, cv, TrackStatus::Lost, 0.1)),
                    _ => None,
                }
            }
        };
        let tracks = Tracks {
            pts_ns: frame.pts_ns,
            ball,
            players: None,
        };
        self.history.push(tracks.clone());
        tracks
    }
}
