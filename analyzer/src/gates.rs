//! Candidate gates: from one frame's raw detections to ball candidates and player positions.
//!
//! Order: well-formedness and class (by name) -> per-class score -> cap per class -> cross-tile
//! NMS -> aspect ratio -> size in metres and field mask along the viewing ray (ball) or at
//! the foot point (players). Every rejection is counted.

use crate::counters::Counters;
use crate::field::FieldMask;
use crate::geom::{PitchModel, RAY_HEIGHTS_M};
use shared::config::AnalyzerConfig;
use shared::messages::{Detection, RawDetections};
use shared::nms::{nms, BoxPx};
use shared::scene::BALL_RADIUS_M;

/// Ball diameter, metres.
pub const BALL_DIAMETER_M: f64 = 2.0 * BALL_RADIUS_M;

/// A ball candidate that passed the gates.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// Box centre and apparent diameter in panorama pixels.
    pub u: f64,
    pub v: f64,
    pub diameter_px: f64,
    pub score: f32,
    /// Where the viewing ray meets the ground (ball resting on the grass), if it does.
    pub ground: Option<(f64, f64)>,
    /// In a cell learnt as a static false positive (see `static_fp`).
    pub suppressed: bool,
}

/// A player's foot point on the pitch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlayerObs {
    pub x: f64,
    pub y: f64,
}

/// What the gates kept from a frame.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FrameCandidates {
    pub balls: Vec<Candidate>,
    pub players: Vec<PlayerObs>,
}

/// Class indices of this frame's class list, resolved by name.
#[derive(Debug, Clone, Default, PartialEq)]
struct ClassMap {
    names: Vec<String>,
    ball: Option<u16>,
    players: Vec<u16>,
}

/// The gates with their configuration and pitch model.
#[derive(Debug, Clone)]
pub struct Gates {
    cfg: AnalyzerConfig,
    mask: FieldMask,
    classes: ClassMap,
}

fn well_formed(d: &Detection) -> bool {
    let finite = [d.cx, d.cy, d.w, d.h, d.score]
        .iter()
        .all(|v| v.is_finite());
    finite && d.w > 0.0 && d.h > 0.0 && d.w < 1e5 && d.h < 1e5 && (0.0..=1.0).contains(&d.score)
}

impl Gates {
    pub fn new(cfg: &AnalyzerConfig, model: &PitchModel) -> Gates {
        Gates {
            cfg: cfg.clone(),
            mask: FieldMask::from_pitch(model.pitch(), cfg.field_margin_m as f64),
            classes: ClassMap::default(),
        }
    }

    pub fn mask(&self) -> &FieldMask {
        &self.mask
    }

    fn resolve_classes(&mut self, names: &[String]) {
        if self.classes.names == names {
            return;
        }
        let find = |n: &str| names.iter().position(|c| c == n).map(|i| i as u16);
        self.classes = ClassMap {
            names: names.to_vec(),
            ball: find(&self.cfg.ball_class),
            players: self
                .cfg
                .player_classes
                .iter()
                .filter_map(|c| find(c))
                .collect(),
        };
    }

    /// Keeps the best `max_candidates` detections by score, counting the rest.
    fn cap<'a>(&self, mut v: Vec<&'a Detection>, counters: &mut Counters) -> Vec<&'a Detection> {
        if v.len() > self.cfg.max_candidates {
            v.sort_by(|a, b| b.score.total_cmp(&a.score));
            counters.candidates_capped += (v.len() - self.cfg.max_candidates) as u64;
            v.truncate(self.cfg.max_candidates);
        }
        v
    }

    /// Runs every gate over one frame.
    pub fn apply(
        &mut self,
        frame: &RawDetections,
        model: &PitchModel,
        counters: &mut Counters,
    ) -> FrameCandidates {
        self.resolve_classes(&frame.classes);
        let mut balls = Vec::new();
        let mut players = Vec::new();
        for d in &frame.detections {
            if !well_formed(d) || d.class_id as usize >= frame.classes.len() {
                counters.malformed_detections += 1;
            } else if Some(d.class_id) == self.classes.ball {
                if d.score >= self.cfg.ball_min_score {
                    balls.push(d);
                } else {
                    counters.below_score += 1;
                }
            } else if self.classes.players.contains(&d.class_id) {
                if d.score >= self.cfg.player_min_score {
                    players.push(d);
                } else {
                    counters.below_score += 1;
                }
            } else {
                counters.other_class_detections += 1;
            }
        }
        let balls = self.cap(balls, counters);
        let players = self.cap(players, counters);
        let iou = self.cfg.nms_iou as f64;
        // A ball cut at a tile edge lies inside the whole ball: merge by containment too.
        // Players stand in front of each other, so only IoU merges them.
        let ball_items: Vec<_> = balls.iter().map(|d| (BoxPx::from(*d), d.score)).collect();
        let kept = nms(&ball_items, iou, Some(0.8));
        counters.nms_suppressed += (balls.len() - kept.len()) as u64;
        let mut out = FrameCandidates::default();
        for i in kept {
            if let Some(c) = self.ball_candidate(balls[i], model, counters) {
                out.balls.push(c);
            }
        }
        let player_items: Vec<_> = players.iter().map(|d| (BoxPx::from(*d), d.score)).collect();
        let kept = nms(&player_items, iou, None);
        counters.nms_suppressed += (players.len() - kept.len()) as u64;
        for i in kept {
            if let Some(p) = self.player(players[i], model, counters) {
                out.players.push(p);
            }
        }
        counters.ball_candidates += out.balls.len() as u64;
        out
    }

    fn ball_candidate(
        &self,
        d: &Detection,
        model: &PitchModel,
        counters: &mut Counters,
    ) -> Option<Candidate> {
        let (w, h) = (d.w as f64, d.h as f64);
        let aspect = w.max(h) / w.min(h);
        if aspect > self.cfg.ball_max_aspect as f64 {
            counters.aspect_rejected += 1;
            return None;
        }
        // Motion blur stretches a ball along its motion; the short side is its diameter.
        let diameter_px = w.min(h);
        let (u, v) = (d.cx as f64, d.cy as f64);
        // A ball could be anywhere along its viewing ray, from the grass to a high lofted
        // ball: it passes if at some height it is both over the field and of a ball's size.
        let (lo, hi) = (
            self.cfg.ball_min_diameter_m as f64,
            self.cfg.ball_max_diameter_m as f64,
        );
        let mut over_field = false;
        for z in RAY_HEIGHTS_M {
            let Some(p) = model.ray_at(u, v, z) else {
                continue;
            };
            if !self.mask.contains(p.x, p.y) {
                continue;
            }
            over_field = true;
            let size_m = diameter_px * model.rad_per_px() * p.range;
            if (lo..=hi).contains(&size_m) {
                return Some(Candidate {
                    u,
                    v,
                    diameter_px,
                    score: d.score,
                    ground: model.to_pitch(u, v, BALL_RADIUS_M),
                    suppressed: false,
                });
            }
        }
        if over_field {
            counters.size_rejected += 1;
        } else {
            counters.outside_field += 1;
        }
        None
    }

    fn player(
        &self,
        d: &Detection,
        model: &PitchModel,
        counters: &mut Counters,
    ) -> Option<PlayerObs> {
        let (u, foot_v) = (d.cx as f64, (d.cy + d.h / 2.0) as f64);
        let Some((x, y)) = model.to_pitch(u, foot_v, 0.0) else {
            counters.outside_field += 1;
            return None;
        };
        if !self.mask.contains(x, y) {
            counters.outside_field += 1;
            return None;
        }
        // Height in metres: compare the box with a 1.8 m person standing at the foot point.
        let (_, head_v) = model.to_pixel(x, y, 1.8);
        let px_per_m = (foot_v - head_v) / 1.8;
        let height_m = if px_per_m > 0.0 {
            d.h as f64 / px_per_m
        } else {
            f64::INFINITY
        };
        let (lo, hi) = (
            self.cfg.player_min_height_m as f64,
            self.cfg.player_max_height_m as f64,
        );
        if !(lo..=hi).contains(&height_m) {
            counters.size_rejected += 1;
            return None;
        }
        if (d.h / d.w) < 0.8 {
            counters.aspect_rejected += 1;
            return None;
        }
        Some(PlayerObs { x, y })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::geometry::Calibration;

    fn setup() -> (Gates, PitchModel) {
        let cfg = AnalyzerConfig::default();
        let model = PitchModel::new(Calibration::synthetic(1920, 960, 540));
        (Gates::new(&cfg, &model), model)
    }

    fn ball_at(model: &PitchModel, x: f64, y: f64, z: f64, score: f32) -> Detection {
        let (u, v) = model.to_pixel(x, y, z);
        let d = model.diameter_px(BALL_DIAMETER_M, model.range(x, y, z));
        Detection {
            cx: u as f32,
            cy: v as f32,
            w: d as f32,
            h: d as f32,
            class_id: 1,
            score,
            tile: 0,
        }
    }

    fn frame(dets: Vec<Detection>) -> RawDetections {
        RawDetections {
            pts_ns: 0,
            seq: 0,
            classes: vec!["player".into(), "ball".into(), "referee".into()],
            detections: dets,
            inference_us: 0,
            region: None,
            motion: false,
        }
    }

    #[test]
    fn ball_is_selected_by_class_name_and_gated() {
        let (mut g, m) = setup();
        let mut c = Counters::default();
        let mut low = ball_at(&m, 30.0, 30.0, 0.11, 0.1);
        low.cx += 200.0;
        let mut elongated = ball_at(&m, 60.0, 30.0, 0.11, 0.9);
        elongated.w *= 3.0;
        let mut huge = ball_at(&m, 70.0, 40.0, 0.11, 0.9);
        huge.w = 60.0;
        huge.h = 60.0;
        let mut nan = ball_at(&m, 70.0, 40.0, 0.11, 0.9);
        nan.cx = f32::NAN;
        let mut referee = ball_at(&m, 20.0, 20.0, 0.11, 0.9);
        referee.class_id = 2;
        let f = frame(vec![
            ball_at(&m, 30.0, 30.0, 0.11, 0.8),
            low,
            elongated,
            huge,
            nan,
            referee,
        ]);
        let out = g.apply(&f, &m, &mut c);
        assert_eq!(out.balls.len(), 1);
        let (x, y) = out.balls[0].ground.unwrap();
        assert!((x - 30.0).abs() < 0.1 && (y - 30.0).abs() < 0.1);
        assert_eq!(
            (c.below_score, c.aspect_rejected, c.size_rejected),
            (1, 1, 1)
        );
        assert_eq!((c.malformed_detections, c.other_class_detections), (1, 1));
    }

    #[test]
    fn lofted_ball_and_ball_out_of_play_pass_far_outside_does_not() {
        let (mut g, m) = setup();
        let mut c = Counters::default();
        let f = frame(vec![
            ball_at(&m, 50.0, 40.0, 15.0, 0.8),
            ball_at(&m, 50.0, -2.0, 0.11, 0.8),
            ball_at(&m, 50.0, -10.0, 0.11, 0.8),
        ]);
        let out = g.apply(&f, &m, &mut c);
        assert_eq!(out.balls.len(), 2, "{c:?}");
        assert_eq!(c.outside_field, 1);
    }

    #[test]
    fn duplicate_across_tiles_is_merged() {
        let (mut g, m) = setup();
        let mut c = Counters::default();
        let a = ball_at(&m, 30.0, 30.0, 0.11, 0.8);
        let mut b = a.clone();
        b.cx += 0.3;
        b.tile = 1;
        let out = g.apply(&frame(vec![a, b]), &m, &mut c);
        assert_eq!(out.balls.len(), 1);
        assert_eq!(c.nms_suppressed, 1);
    }
}
