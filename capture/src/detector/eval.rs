//! Detector quality against ground truth on held-out synthetic scenes (other seeds than any
//! training set), with the real tiling, preparation, engine and decoding: ball recall and
//! precision at the configured threshold (and a sweep of thresholds), ball localisation error
//! in pixels, player and referee recall.
//!
//! Rules: a ball counts when it is visible (not hidden behind a person), inside the field
//! mask, and not resting on a painted spot (the centre spot at kick-off, a penalty spot:
//! there it looks like the spot itself; such frames are counted in `balls_on_spot`). Ball
//! detections are merged across tiles (greedy, by score, within the larger of 4 px and the
//! box size). A detection matches when its centre is within `max(3 px, diameter) + blur / 2`
//! of the truth; more matches of the same ball are duplicates (the analyzer merges them),
//! detections near a hidden ball, a ball on a spot or a ball outside the mask are ignored,
//! the rest are false positives. People match a box of their class with IoU >= 0.3
//! (greedy).
//!
//! For reading the misses and false positives, the report also counts, at the configured
//! threshold, missed balls that overlap a person's box (a white ball at white socks, partly
//! in front of a leg) and false positives outside the field mask (stands, advertising), and
//! gives the recall by situation: on the ground in the open, next to a person, in the air.
//! Scenes are sampled across their whole 120 s script ([`SceneVariety::start_s`]), not from
//! the kick-off only.

use super::dataset::{ball_on_spot, truth_boxes, LabelBox};
use super::mask::FieldMask;
use super::scenes::{LutCache, Scene, SceneVariety};
use super::{field_mask, Detector, DetectorError, InferenceEngine};
use shared::config::DetectorConfig;
use shared::messages::Detection;
use shared::stats::percentile;
use std::time::Instant;

/// What to evaluate on.
#[derive(Debug, Clone)]
pub struct EvalSpec {
    /// Frames to analyse.
    pub frames: usize,
    /// Seed of the first scene (use seeds no dataset was made from).
    pub seed: u64,
    /// Panorama width of every scene.
    pub width: u32,
    pub frames_per_scene: usize,
    pub variety: SceneVariety,
}

impl EvalSpec {
    pub fn new(frames: usize, seed: u64, width: u32) -> EvalSpec {
        EvalSpec {
            frames,
            seed,
            width,
            frames_per_scene: 25,
            variety: SceneVariety {
                widths: vec![width],
                ..SceneVariety::default()
            },
        }
    }
}

/// Ball quality at one threshold.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct BallPoint {
    pub threshold: f32,
    pub recall: f64,
    pub precision: f64,
    pub tp: usize,
    pub fp: usize,
    pub missed: usize,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct EvalReport {
    pub engine: String,
    pub model: String,
    pub panorama: [u32; 2],
    pub tile_size: u32,
    pub tiles: usize,
    pub frames: usize,
    pub ball_threshold: f32,
    /// Frames with a visible ball in the mask (not on a painted spot).
    pub balls_visible: usize,
    /// Frames with a visible ball in the mask resting on a painted spot: not counted as
    /// balls to find; detections there are neither hits nor false positives.
    pub balls_on_spot: usize,
    pub ball_recall: f64,
    pub ball_precision: f64,
    pub ball_tp: usize,
    pub ball_fp: usize,
    pub ball_duplicates: usize,
    /// Missed visible balls whose box overlaps a person's box.
    pub ball_missed_near_person: usize,
    /// Recall of the counted balls by situation ([`GroupRecall`]).
    pub ball_groups: Vec<GroupRecall>,
    /// Frames with a visible ball in play outside the field mask (in the air above it, for
    /// a lofted ball): not counted, detections there are ignored.
    pub balls_outside_mask: usize,
    /// False positives whose centre is outside the field mask.
    pub ball_fp_outside_mask: usize,
    pub ball_diameter_mean_px: f64,
    pub loc_err_mean_px: f64,
    pub loc_err_median_px: f64,
    pub loc_err_p95_px: f64,
    pub players: usize,
    pub player_recall: f64,
    pub referees: usize,
    pub referee_recall: f64,
    pub mean_frame_ms: f64,
    pub sweep: Vec<BallPoint>,
}

/// A merged ball detection and what it is.
#[derive(Debug, Clone, Copy)]
struct BallDet {
    score: f32,
    kind: Kind,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Match(f64),
    Ignored,
    /// A false positive; `true` when inside the field mask.
    False(bool),
}

/// Ball recall at the configured threshold for one kind of situation.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct GroupRecall {
    /// `ground_clear` (on the ground, clear of people), `near_person` (its box overlaps a
    /// person's box), `in_air` (centre more than 0.5 m up, clear of people).
    pub group: &'static str,
    pub balls: usize,
    pub found: usize,
    pub recall: f64,
}

const GROUPS: [&str; 3] = ["ground_clear", "near_person", "in_air"];

/// One analysed frame: whether a visible ball in the mask is to be found, whether it
/// overlaps a person, its group, and the merged ball detections.
struct FrameBalls {
    positive: bool,
    near_person: bool,
    group: usize,
    dets: Vec<BallDet>,
}

/// Whether the ball (radius `r` around `x`, `y`) overlaps a person's box.
fn near_person(labels: &[LabelBox], x: f64, y: f64, r: f64) -> bool {
    labels.iter().any(|p| {
        p.class != 0 && (x - p.cx).abs() <= p.w / 2.0 + r && (y - p.cy).abs() <= p.h / 2.0 + r
    })
}

/// Ball detections merged across tiles: the strongest of any group closer than the larger
/// of 4 px and their sizes.
pub(crate) fn merge(mut dets: Vec<Detection>) -> Vec<Detection> {
    dets.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut kept: Vec<Detection> = Vec::new();
    for d in dets {
        let r = 4f32.max(d.w.max(d.h));
        if !kept
            .iter()
            .any(|k| (k.cx - d.cx).hypot(k.cy - d.cy) < r.max(k.w.max(k.h)))
        {
            kept.push(d);
        }
    }
    kept
}

/// Intersection over union of a detection and a labelled box.
pub(crate) fn iou_box(d: &Detection, b: &LabelBox) -> f64 {
    let (dx0, dx1) = (
        d.cx as f64 - d.w as f64 / 2.0,
        d.cx as f64 + d.w as f64 / 2.0,
    );
    let (dy0, dy1) = (
        d.cy as f64 - d.h as f64 / 2.0,
        d.cy as f64 + d.h as f64 / 2.0,
    );
    let (bx0, bx1) = (b.cx - b.w / 2.0, b.cx + b.w / 2.0);
    let (by0, by1) = (b.cy - b.h / 2.0, b.cy + b.h / 2.0);
    let iw = (dx1.min(bx1) - dx0.max(bx0)).max(0.0);
    let ih = (dy1.min(by1) - dy0.max(by0)).max(0.0);
    let inter = iw * ih;
    inter / ((dx1 - dx0) * (dy1 - dy0) + b.w * b.h - inter).max(1e-9)
}

/// Greedy matching of people of `class`; returns (count, found).
fn match_people(
    dets: &[Detection],
    truth: &[LabelBox],
    class: u16,
    mask: &FieldMask,
) -> (usize, usize) {
    let people: Vec<&LabelBox> = truth
        .iter()
        .filter(|b| b.class == class && mask.contains(b.cx, b.cy + b.h / 2.0))
        .collect();
    let mut used = vec![false; dets.len()];
    let mut found = 0;
    for p in &people {
        let best = dets
            .iter()
            .enumerate()
            .filter(|(i, d)| !used[*i] && d.class_id == class)
            .map(|(i, d)| (i, iou_box(d, p)))
            .filter(|&(_, v)| v >= 0.3)
            .max_by(|a, b| a.1.total_cmp(&b.1));
        if let Some((i, _)) = best {
            used[i] = true;
            found += 1;
        }
    }
    (people.len(), found)
}

/// Runs the detector over `spec.frames` held-out frames and scores it. The ball class must
/// be named `ball` in `cfg.classes`; people are `player` and `referee` where configured.
pub fn evaluate(
    cfg: &DetectorConfig,
    spec: &EvalSpec,
    engine: Box<dyn InferenceEngine>,
    progress: &mut dyn FnMut(usize),
) -> Result<EvalReport, DetectorError> {
    let class_of = |name: &str| cfg.classes.iter().position(|c| c == name).map(|i| i as u16);
    let ball = class_of("ball").ok_or_else(|| {
        DetectorError::Config("detector.classes has no \"ball\" class to evaluate".into())
    })?;
    let player = class_of("player");
    let referee = class_of("referee");
    let ball_threshold = cfg.threshold(ball as usize);
    let sweep_thresholds: Vec<f32> = (1..=19).map(|i| i as f32 / 20.0).collect();
    let floor = sweep_thresholds[0].min(ball_threshold);
    // Decode with a low ball threshold so every sweep point can be scored.
    let mut low = cfg.clone();
    low.thresholds = (0..cfg.classes.len())
        .map(|i| {
            if i == ball as usize {
                floor
            } else {
                cfg.threshold(i)
            }
        })
        .collect();
    let engine_name = engine.name().to_string();
    let model = engine.info().path.display().to_string();
    let mut luts = LutCache::default();
    let mut det: Option<Detector> = None;
    let mut engine = Some(engine);
    let mut frames = 0usize;
    let mut scene_no = 0u64;
    let mut per_frame: Vec<FrameBalls> = Vec::new();
    let (mut players, mut players_found, mut refs, mut refs_found) = (0, 0, 0, 0);
    let mut diam_sum = 0.0;
    let mut on_spot = 0usize;
    let mut outside_mask = 0usize;
    let mut ms = 0.0;
    let mut mask = None;
    while frames < spec.frames {
        let mut scene = Scene::new(
            spec.seed.wrapping_mul(1_000_003).wrapping_add(scene_no),
            &spec.variety,
            &mut luts,
        );
        scene_no += 1;
        if det.is_none() {
            let e = engine.take().expect("engine");
            det = Some(Detector::with_engine(&low, &scene.cal, e)?);
            mask = Some(field_mask(cfg, &scene.cal));
        }
        let (d, mask) = (
            det.as_mut().expect("detector"),
            mask.as_ref().expect("mask"),
        );
        for _ in 0..spec.frames_per_scene {
            if frames >= spec.frames {
                break;
            }
            let f = scene.next_frame();
            let t = Instant::now();
            let out = d.detect(&scene.pano.as_ref(), f.truth.pts_ns, frames as u64)?;
            ms += t.elapsed().as_secs_f64() * 1e3;
            frames += 1;
            let (labels, _) = truth_boxes(&f.truth, &scene.cal, f.blur);
            let b = &f.truth.ball;
            let findable = b.visible && mask.contains(b.px, b.py);
            let spot = ball_on_spot(&f.truth, &scene.cal);
            on_spot += usize::from(findable && spot);
            outside_mask += usize::from(b.visible && b.in_play && !findable);
            let positive = findable && !spot;
            if positive {
                diam_sum += b.diameter_px;
            }
            let radius = b.diameter_px.max(3.0) + f.blur.0.hypot(f.blur.1) / 2.0;
            let balls: Vec<Detection> = out
                .detections
                .iter()
                .filter(|x| x.class_id == ball)
                .cloned()
                .collect();
            let kinds = merge(balls)
                .into_iter()
                .map(|x| {
                    let dist = (x.cx as f64 - b.px).hypot(x.cy as f64 - b.py);
                    let kind = if dist <= radius && positive {
                        Kind::Match(dist)
                    } else if dist <= radius {
                        Kind::Ignored
                    } else {
                        Kind::False(mask.contains(x.cx as f64, x.cy as f64))
                    };
                    BallDet {
                        score: x.score,
                        kind,
                    }
                })
                .collect();
            let near = positive && near_person(&labels, b.px, b.py, b.diameter_px.max(1.0) / 2.0);
            per_frame.push(FrameBalls {
                positive,
                near_person: near,
                group: if near {
                    1
                } else if b.z_m > 0.5 {
                    2
                } else {
                    0
                },
                dets: kinds,
            });
            if let Some(p) = player {
                let dets: Vec<Detection> = out
                    .detections
                    .iter()
                    .filter(|x| x.class_id == p && x.score >= cfg.threshold(p as usize))
                    .map(|x| Detection {
                        class_id: 1,
                        ..x.clone()
                    })
                    .collect();
                let (n, k) = match_people(&dets, &labels, 1, mask);
                players += n;
                players_found += k;
            }
            if let Some(r) = referee {
                let dets: Vec<Detection> = out
                    .detections
                    .iter()
                    .filter(|x| x.class_id == r && x.score >= cfg.threshold(r as usize))
                    .map(|x| Detection {
                        class_id: 2,
                        ..x.clone()
                    })
                    .collect();
                let (n, k) = match_people(&dets, &labels, 2, mask);
                refs += n;
                refs_found += k;
            }
            progress(frames);
        }
    }
    let point = |thr: f32| {
        let (mut tp, mut fp, mut missed, mut dup) = (0, 0, 0, 0);
        let (mut missed_near, mut fp_outside) = (0, 0);
        let mut errs = Vec::new();
        for f in &per_frame {
            let above: Vec<&BallDet> = f.dets.iter().filter(|d| d.score >= thr).collect();
            let matches: Vec<f64> = above
                .iter()
                .filter_map(|d| match d.kind {
                    Kind::Match(e) => Some(e),
                    _ => None,
                })
                .collect();
            fp += above
                .iter()
                .filter(|d| matches!(d.kind, Kind::False(_)))
                .count();
            fp_outside += above
                .iter()
                .filter(|d| d.kind == Kind::False(false))
                .count();
            if f.positive {
                if let Some(e) = matches.first() {
                    tp += 1;
                    errs.push(*e);
                    dup += matches.len() - 1;
                } else {
                    missed += 1;
                    missed_near += usize::from(f.near_person);
                }
            }
        }
        errs.sort_by(|a, b| a.total_cmp(b));
        (tp, fp, missed, dup, errs, missed_near, fp_outside)
    };
    let ratio = |a: usize, b: usize| {
        if b == 0 {
            f64::NAN
        } else {
            a as f64 / b as f64
        }
    };
    let sweep = sweep_thresholds
        .iter()
        .map(|&t| {
            let (tp, fp, missed, ..) = point(t);
            BallPoint {
                threshold: t,
                recall: ratio(tp, tp + missed),
                precision: ratio(tp, tp + fp),
                tp,
                fp,
                missed,
            }
        })
        .collect();
    let (tp, fp, missed, dup, errs, missed_near, fp_outside) = point(ball_threshold);
    let ball_groups = GROUPS
        .iter()
        .enumerate()
        .map(|(g, name)| {
            let frames: Vec<&FrameBalls> = per_frame
                .iter()
                .filter(|f| f.positive && f.group == g)
                .collect();
            let found = frames
                .iter()
                .filter(|f| {
                    f.dets
                        .iter()
                        .any(|d| d.score >= ball_threshold && matches!(d.kind, Kind::Match(_)))
                })
                .count();
            GroupRecall {
                group: name,
                balls: frames.len(),
                found,
                recall: ratio(found, frames.len()),
            }
        })
        .collect();
    let d = det.as_ref().expect("at least one frame");
    Ok(EvalReport {
        engine: engine_name,
        model,
        panorama: [d.tiling().width, d.tiling().height],
        tile_size: cfg.tile_size,
        tiles: d.tiling().tiles.len(),
        frames,
        ball_threshold,
        balls_visible: tp + missed,
        balls_on_spot: on_spot,
        ball_recall: ratio(tp, tp + missed),
        ball_precision: ratio(tp, tp + fp),
        ball_tp: tp,
        ball_fp: fp,
        ball_duplicates: dup,
        ball_missed_near_person: missed_near,
        ball_groups,
        balls_outside_mask: outside_mask,
        ball_fp_outside_mask: fp_outside,
        ball_diameter_mean_px: diam_sum / (tp + missed).max(1) as f64,
        loc_err_mean_px: if errs.is_empty() {
            f64::NAN
        } else {
            errs.iter().sum::<f64>() / errs.len() as f64
        },
        loc_err_median_px: percentile(&errs, 0.5),
        loc_err_p95_px: percentile(&errs, 0.95),
        players,
        player_recall: ratio(players_found, players),
        referees: refs,
        referee_recall: ratio(refs_found, refs),
        mean_frame_ms: ms / frames.max(1) as f64,
        sweep,
    })
}
