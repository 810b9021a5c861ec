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

use crate::dataset::{ball_on_spot, truth_boxes, LabelBox};
use capture::detector::mask::PanoramaMask;
use capture::detector::scenes::{LutCache, Scene, SceneFrame, SceneVariety};
use capture::detector::{field_mask, Detector, DetectorError, InferenceEngine};
use shared::config::DetectorConfig;
use shared::geometry::Calibration;
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

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
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
    /// A visible ball in the mask resting on a painted spot (not counted).
    on_spot: bool,
    /// A visible ball in play outside the mask (not counted).
    outside_mask: bool,
    diameter_px: f64,
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
    mask: &PanoramaMask,
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
    let classes = Classes::of(cfg)?;
    let ball_threshold = cfg.threshold(classes.ball as usize);
    let sweep_thresholds: Vec<f32> = (1..=19).map(|i| i as f32 / 20.0).collect();
    let low = low_ball_threshold(cfg, classes.ball, sweep_thresholds[0].min(ball_threshold));
    let engine_name = engine.name().to_string();
    let model = engine.info().path.display().to_string();
    let mut luts = LutCache::default();
    let mut det: Option<(Detector, PanoramaMask)> = None;
    let mut engine = Some(engine);
    let mut tally = Tally::default();
    let mut scene_no = 0u64;
    while tally.frames < spec.frames {
        let mut scene = Scene::new(
            spec.seed.wrapping_mul(1_000_003).wrapping_add(scene_no),
            &spec.variety,
            &mut luts,
        );
        scene_no += 1;
        if let Some(e) = engine.take() {
            let d = Detector::with_engine(&low, &scene.cal, e)?;
            det = Some((d, field_mask(cfg, &scene.cal)));
        }
        let Some((d, mask)) = det.as_mut() else {
            break;
        };
        for _ in 0..spec.frames_per_scene.min(spec.frames - tally.frames) {
            let f = scene.next_frame();
            let t = Instant::now();
            let out = d.detect(&scene.pano.as_ref(), f.truth.pts_ns, tally.frames as u64)?;
            tally.ms += t.elapsed().as_secs_f64() * 1e3;
            tally.add(cfg, &classes, &out.detections, &f, &scene.cal, mask);
            progress(tally.frames);
        }
    }
    let (d, _) = det.as_ref().ok_or_else(|| {
        DetectorError::Config("detector-eval: no frame to evaluate (frames = 0)".into())
    })?;
    Ok(tally.report(EvalReport {
        engine: engine_name,
        model,
        panorama: [d.tiling().width, d.tiling().height],
        tile_size: cfg.tile_size,
        tiles: d.tiling().tiles.len(),
        ball_threshold,
        loc_err_mean_px: f64::NAN,
        sweep: sweep_thresholds
            .iter()
            .map(|&threshold| BallPoint {
                threshold,
                recall: f64::NAN,
                precision: f64::NAN,
                tp: 0,
                fp: 0,
                missed: 0,
            })
            .collect(),
        ..Default::default()
    }))
}

/// The configured classes the evaluation scores.
struct Classes {
    ball: u16,
    player: Option<u16>,
    referee: Option<u16>,
}

impl Classes {
    fn of(cfg: &DetectorConfig) -> Result<Classes, DetectorError> {
        let class_of = |name: &str| cfg.classes.iter().position(|c| c == name).map(|i| i as u16);
        Ok(Classes {
            ball: class_of("ball").ok_or_else(|| {
                DetectorError::Config("detector.classes has no \"ball\" class to evaluate".into())
            })?,
            player: class_of("player"),
            referee: class_of("referee"),
        })
    }
}

/// The configuration with the ball decoded down to `floor`, so that every sweep point can be
/// scored from one pass.
fn low_ball_threshold(cfg: &DetectorConfig, ball: u16, floor: f32) -> DetectorConfig {
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
    low
}

/// What one frame's ball detections are, against the truth: merged across tiles, each a
/// match (with its error), ignored (near a ball not to be counted) or a false positive.
fn frame_balls(
    dets: &[Detection],
    ball: u16,
    f: &SceneFrame,
    labels: &[LabelBox],
    cal: &Calibration,
    mask: &PanoramaMask,
) -> FrameBalls {
    let b = &f.truth.ball;
    let findable = b.visible && mask.contains(b.px, b.py);
    let spot = findable && ball_on_spot(&f.truth, cal);
    let positive = findable && !spot;
    let radius = b.diameter_px.max(3.0) + f.blur.0.hypot(f.blur.1) / 2.0;
    let balls: Vec<Detection> = dets
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
    let near = positive && near_person(labels, b.px, b.py, b.diameter_px.max(1.0) / 2.0);
    FrameBalls {
        positive,
        on_spot: spot,
        outside_mask: b.visible && b.in_play && !findable,
        diameter_px: b.diameter_px,
        near_person: near,
        group: if near {
            1
        } else if b.z_m > 0.5 {
            2
        } else {
            0
        },
        dets: kinds,
    }
}

/// People of model class `class` at its threshold, matched as label class `label`:
/// (labelled in the mask, found).
fn people_found(
    cfg: &DetectorConfig,
    dets: &[Detection],
    labels: &[LabelBox],
    class: u16,
    label: u16,
    mask: &PanoramaMask,
) -> (usize, usize) {
    let dets: Vec<Detection> = dets
        .iter()
        .filter(|x| x.class_id == class && x.score >= cfg.threshold(class as usize))
        .map(|x| Detection {
            class_id: label,
            ..x.clone()
        })
        .collect();
    match_people(&dets, labels, label, mask)
}

/// The ball's outcome at one threshold over every frame.
#[derive(Debug, Default)]
struct PointScore {
    tp: usize,
    fp: usize,
    missed: usize,
    duplicates: usize,
    /// Localisation errors of the found balls, sorted.
    errs: Vec<f64>,
    missed_near_person: usize,
    fp_outside_mask: usize,
}

fn score_at(frames: &[FrameBalls], thr: f32) -> PointScore {
    let mut s = PointScore::default();
    for f in frames {
        let above: Vec<&BallDet> = f.dets.iter().filter(|d| d.score >= thr).collect();
        let matches: Vec<f64> = above
            .iter()
            .filter_map(|d| match d.kind {
                Kind::Match(e) => Some(e),
                _ => None,
            })
            .collect();
        s.fp += above
            .iter()
            .filter(|d| matches!(d.kind, Kind::False(_)))
            .count();
        s.fp_outside_mask += above
            .iter()
            .filter(|d| d.kind == Kind::False(false))
            .count();
        if f.positive {
            if let Some(e) = matches.first() {
                s.tp += 1;
                s.errs.push(*e);
                s.duplicates += matches.len() - 1;
            } else {
                s.missed += 1;
                s.missed_near_person += usize::from(f.near_person);
            }
        }
    }
    s.errs.sort_by(|a, b| a.total_cmp(b));
    s
}

/// Recall at `thr` by situation ([`GROUPS`]).
fn group_recalls(frames: &[FrameBalls], thr: f32) -> Vec<GroupRecall> {
    GROUPS
        .iter()
        .enumerate()
        .map(|(g, name)| {
            let mine: Vec<&FrameBalls> = frames
                .iter()
                .filter(|f| f.positive && f.group == g)
                .collect();
            let found = mine
                .iter()
                .filter(|f| {
                    f.dets
                        .iter()
                        .any(|d| d.score >= thr && matches!(d.kind, Kind::Match(_)))
                })
                .count();
            GroupRecall {
                group: name,
                balls: mine.len(),
                found,
                recall: ratio(found, mine.len()),
            }
        })
        .collect()
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        f64::NAN
    } else {
        a as f64 / b as f64
    }
}

/// The running evaluation: every frame's balls, people counts and time.
#[derive(Default)]
struct Tally {
    frames: usize,
    per_frame: Vec<FrameBalls>,
    /// (labelled, found) players and referees.
    players: (usize, usize),
    referees: (usize, usize),
    ms: f64,
}

impl Tally {
    fn add(
        &mut self,
        cfg: &DetectorConfig,
        classes: &Classes,
        dets: &[Detection],
        f: &SceneFrame,
        cal: &Calibration,
        mask: &PanoramaMask,
    ) {
        self.frames += 1;
        let (labels, _) = truth_boxes(&f.truth, cal, f.blur);
        self.per_frame
            .push(frame_balls(dets, classes.ball, f, &labels, cal, mask));
        if let Some(p) = classes.player {
            let (n, k) = people_found(cfg, dets, &labels, p, 1, mask);
            self.players = (self.players.0 + n, self.players.1 + k);
        }
        if let Some(r) = classes.referee {
            let (n, k) = people_found(cfg, dets, &labels, r, 2, mask);
            self.referees = (self.referees.0 + n, self.referees.1 + k);
        }
    }

    /// Fills the scores into `r` (which names the run and holds the sweep's thresholds).
    fn report(self, mut r: EvalReport) -> EvalReport {
        for p in &mut r.sweep {
            let s = score_at(&self.per_frame, p.threshold);
            (p.tp, p.fp, p.missed) = (s.tp, s.fp, s.missed);
            p.recall = ratio(s.tp, s.tp + s.missed);
            p.precision = ratio(s.tp, s.tp + s.fp);
        }
        let s = score_at(&self.per_frame, r.ball_threshold);
        let positive = || self.per_frame.iter().filter(|f| f.positive);
        r.frames = self.frames;
        r.balls_visible = s.tp + s.missed;
        r.balls_on_spot = self.per_frame.iter().filter(|f| f.on_spot).count();
        r.balls_outside_mask = self.per_frame.iter().filter(|f| f.outside_mask).count();
        r.ball_recall = ratio(s.tp, s.tp + s.missed);
        r.ball_precision = ratio(s.tp, s.tp + s.fp);
        (r.ball_tp, r.ball_fp, r.ball_duplicates) = (s.tp, s.fp, s.duplicates);
        r.ball_missed_near_person = s.missed_near_person;
        r.ball_fp_outside_mask = s.fp_outside_mask;
        r.ball_groups = group_recalls(&self.per_frame, r.ball_threshold);
        r.ball_diameter_mean_px =
            positive().map(|f| f.diameter_px).sum::<f64>() / r.balls_visible.max(1) as f64;
        if !s.errs.is_empty() {
            r.loc_err_mean_px = s.errs.iter().sum::<f64>() / s.errs.len() as f64;
        }
        r.loc_err_median_px = percentile(&s.errs, 0.5);
        r.loc_err_p95_px = percentile(&s.errs, 0.95);
        (r.players, r.player_recall) = (self.players.0, ratio(self.players.1, self.players.0));
        (r.referees, r.referee_recall) = (self.referees.0, ratio(self.referees.1, self.referees.0));
        r.mean_frame_ms = self.ms / self.frames.max(1) as f64;
        r
    }
}
