//! Detector quality on a folder of labelled images (real frames): `DIR/images/*.jpg|png` with
//! YOLO txt labels in `DIR/labels/<stem>.txt` (`class cx cy w h`, normalised), any size.
//!
//! Each image is optionally resized (`resize`, for sets stretched from 16:9), scaled by
//! `scale` (the size the scene would have in our panorama), converted to NV12 like a
//! panorama and cut into the configured tiles over the whole image; the real preparation,
//! engine and decoding then run as in capture.
//!
//! Rules: label ids map to model classes through `label_classes` (e.g. DFL's goalkeeper
//! counts as a player). Ball detections are merged across tiles (greedy, by score). A ball
//! detection matches a labelled ball when its centre is within `max(3 px, ball size)`;
//! further detections of a matched ball are duplicates (not false positives: the analyzer
//! merges them); the rest are false positives. People match a box of their class with
//! IoU >= 0.3 (greedy, by score). Sizes are the longer box side in the evaluated image.

use crate::dataset::LabelBox;
use crate::grass::grass_mask;
use crate::render_eval::{iou_box, merge};
use capture::detector::decode::DecodeParams;
use capture::detector::mask::PanoramaMask;
use capture::detector::{
    decode_params, load_engine, load_verifier, Detector, DetectorError, Tiling,
};
use shared::config::DetectorConfig;
use shared::image::{rgb_to_yuv, Nv12Image};
use shared::messages::Detection;
use shared::nms::{nms, BoxPx};
use shared::stats::percentile;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// What to evaluate.
#[derive(Debug, Clone)]
pub struct ImageEvalSpec {
    pub dir: PathBuf,
    /// Resize every image to this first (stretched sets back to their real aspect).
    pub resize: Option<(u32, u32)>,
    /// Then scale by this (1: as is).
    pub scale: f64,
    /// Model class index of each label id (`None`: not evaluated, detections of it ignored).
    pub label_classes: Vec<Option<u16>>,
    /// Only images whose file name starts with one of these (e.g. match ids); empty: all.
    pub only: Vec<String>,
    /// At most this many images (in name order); 0: all.
    pub limit: usize,
    /// Where detections count.
    pub field: Field,
    /// Also write each image's kept detections and field polygon here (JSON lines).
    pub detections_out: Option<PathBuf>,
    /// People are scored after the cross-tile NMS the analyzer applies, at this IoU
    /// (`analyzer.nms_iou`); `None`: as the detector gives them.
    pub people_nms_iou: Option<f32>,
}

/// One line of `detections_out`: what was found in one image, to look at.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ImageDetections {
    pub image: String,
    pub size: [u32; 2],
    /// The field polygon (`grass`), empty for the whole picture.
    pub field: Vec<(f64, f64)>,
    pub detections: Vec<Detection>,
}

/// Where in an image detections count: the live system analyses its calibrated field mask
/// only, which these frames lack.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Field {
    /// The whole picture: stands, boards and staff included.
    #[default]
    Whole,
    /// The grass ([`grass_mask`]): a detection counts when its ground point is on it.
    Grass,
}

impl Field {
    pub fn name(self) -> &'static str {
        match self {
            Field::Whole => "whole",
            Field::Grass => "grass",
        }
    }
}

/// Ball sizes the recall is broken down by (longer side, px): `[lo, hi)`.
pub const SIZE_BINS: [(&str, f64, f64); 4] = [
    ("<8", 0.0, 8.0),
    ("8-12", 8.0, 12.0),
    ("12-16", 12.0, 16.0),
    (">=16", 16.0, f64::INFINITY),
];

/// Ball thresholds of the sweep.
pub const SWEEP: [f32; 9] = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct SizeRecall {
    pub size_px: &'static str,
    pub balls: usize,
    pub found: usize,
    pub recall: f64,
}

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct BallAt {
    pub threshold: f32,
    pub recall: f64,
    pub precision: f64,
    pub tp: usize,
    pub fp: usize,
}

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct PeopleQuality {
    pub class: String,
    pub threshold: f32,
    pub labelled: usize,
    pub detected: usize,
    pub matched: usize,
    pub recall: f64,
    pub precision: f64,
}

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct ImageEvalReport {
    pub dir: String,
    pub engine: String,
    pub model: String,
    pub images: usize,
    /// Evaluated image size (after resize and scale) of the first image.
    pub image_size: [u32; 2],
    pub scale: f64,
    pub tile_size: u32,
    pub tiles_per_image: f64,
    pub ball_threshold: f32,
    pub balls: usize,
    pub ball_recall: f64,
    pub ball_precision: f64,
    pub ball_tp: usize,
    pub ball_fp: usize,
    pub ball_duplicates: usize,
    pub ball_size_median_px: f64,
    pub ball_recall_by_size: Vec<SizeRecall>,
    pub loc_err_mean_px: f64,
    pub loc_err_p95_px: f64,
    pub people: Vec<PeopleQuality>,
    pub sweep: Vec<BallAt>,
    /// Images skipped: unreadable image or label file (named in the log).
    pub skipped: usize,
    /// Where detections counted: `whole` or `grass`.
    pub field: String,
    /// Detections left out because their ground point was off the field.
    pub detections_off_field: usize,
    /// Labelled balls whose centre was off the field (still counted; a miss is a miss).
    pub balls_off_field: usize,
    /// Images in which no pitch was found (`grass`): the whole picture counted there.
    pub no_pitch_images: usize,
    pub mean_image_ms: f64,
    /// The ball verifier (`detector.ball_verifier`, empty: none), its threshold, and the
    /// balls it looked at and turned down (before the report's ball threshold).
    pub ball_verifier: String,
    pub ball_verifier_threshold: f32,
    pub verified: u64,
    pub verifier_rejected: u64,
    /// People boxes cut at a tile seam and merged into a neighbouring tile's whole box
    /// (`detector.seam_merge`).
    pub seam_merged: u64,
}

/// Reads YOLO label lines (`class cx cy w h`, normalised) into boxes of a `w` x `h` image.
pub fn read_labels(
    text: &str,
    w: f64,
    h: f64,
    map: &[Option<u16>],
) -> Result<Vec<LabelBox>, String> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.is_empty() {
            continue;
        }
        let bad = || format!("line {}: expected `class cx cy w h`, got {line:?}", i + 1);
        if f.len() < 5 {
            return Err(bad());
        }
        let id: usize = f[0].parse().map_err(|_| bad())?;
        let v: Vec<f64> = f[1..5]
            .iter()
            .map(|s| s.parse::<f64>())
            .collect::<Result<_, _>>()
            .map_err(|_| bad())?;
        let Some(Some(class)) = map.get(id) else {
            continue;
        };
        out.push(LabelBox {
            class: *class,
            cx: v[0] * w,
            cy: v[1] * h,
            w: v[2] * w,
            h: v[3] * h,
        });
    }
    Ok(out)
}

/// One image's ball outcome at one threshold.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BallScore {
    /// Per labelled ball: its size and, when found, the localisation error.
    pub balls: Vec<(f64, Option<f64>)>,
    pub fp: usize,
    pub duplicates: usize,
}

/// Scores the ball detections (class `ball`) of one image at `threshold`.
pub fn score_balls(truth: &[LabelBox], dets: &[Detection], ball: u16, threshold: f32) -> BallScore {
    let balls: Vec<&LabelBox> = truth.iter().filter(|t| t.class == ball).collect();
    let merged = merge(
        dets.iter()
            .filter(|d| d.class_id == ball && d.score >= threshold)
            .cloned()
            .collect(),
    );
    let mut found: Vec<Option<f64>> = vec![None; balls.len()];
    let mut s = BallScore::default();
    for d in &merged {
        let nearest = balls
            .iter()
            .enumerate()
            .map(|(i, b)| (i, (d.cx as f64 - b.cx).hypot(d.cy as f64 - b.cy)))
            .filter(|&(i, e)| e <= 3f64.max(balls[i].w.max(balls[i].h)))
            .min_by(|a, b| a.1.total_cmp(&b.1));
        match nearest {
            Some((i, e)) if found[i].is_none() => found[i] = Some(e),
            Some(_) => s.duplicates += 1,
            None => s.fp += 1,
        }
    }
    s.balls = balls.iter().map(|b| b.w.max(b.h)).zip(found).collect();
    s
}

/// Greedy matching (by score) of the detections of `class` to its labelled boxes at IoU >=
/// 0.3: (labelled, detected, matched).
pub fn match_people(truth: &[LabelBox], dets: &[Detection], class: u16) -> (usize, usize, usize) {
    let people: Vec<&LabelBox> = truth.iter().filter(|t| t.class == class).collect();
    let mut mine: Vec<&Detection> = dets.iter().filter(|d| d.class_id == class).collect();
    mine.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut used = vec![false; people.len()];
    let mut matched = 0;
    for d in &mine {
        let best = people
            .iter()
            .enumerate()
            .filter(|(i, _)| !used[*i])
            .map(|(i, t)| (i, iou_box(d, t)))
            .filter(|&(_, v)| v >= 0.3)
            .max_by(|a, b| a.1.total_cmp(&b.1));
        if let Some((i, _)) = best {
            used[i] = true;
            matched += 1;
        }
    }
    (people.len(), mine.len(), matched)
}

/// RGB bytes to NV12 (video range, BT.709 like the synthetic source; chroma from the 2x2
/// average). `w` and `h` must be even.
pub fn rgb8_to_nv12(rgb: &[u8], w: usize, h: usize) -> Nv12Image {
    let mut img = Nv12Image::new(w, h);
    let px = |x: usize, y: usize| -> [f32; 3] {
        let i = (y * w + x) * 3;
        [rgb[i], rgb[i + 1], rgb[i + 2]].map(|c| c as f32 / 255.0)
    };
    let (y_plane, uv_plane) = img.data.split_at_mut(w * h);
    for y in 0..h {
        for x in 0..w {
            y_plane[y * w + x] = rgb_to_yuv(px(x, y)).0.round().clamp(0.0, 255.0) as u8;
        }
    }
    for cy in 0..h / 2 {
        for cx in 0..w / 2 {
            let mut a = [0f32; 3];
            for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                let c = px(cx * 2 + dx, cy * 2 + dy);
                for k in 0..3 {
                    a[k] += c[k] * 0.25;
                }
            }
            let (_, u, v) = rgb_to_yuv(a);
            uv_plane[cy * w + cx * 2] = u.round().clamp(0.0, 255.0) as u8;
            uv_plane[cy * w + cx * 2 + 1] = v.round().clamp(0.0, 255.0) as u8;
        }
    }
    img
}

/// The labelled images of `spec`, in name order: (image path, label path).
pub fn list_images(spec: &ImageEvalSpec) -> Result<Vec<(PathBuf, PathBuf)>, DetectorError> {
    let images = spec.dir.join("images");
    let labels = spec.dir.join("labels");
    let entries = std::fs::read_dir(&images).map_err(|e| {
        DetectorError::Config(format!(
            "{}: {e}; --images needs a folder with images/ and labels/ (YOLO txt)",
            images.display()
        ))
    })?;
    let mut out: Vec<(PathBuf, PathBuf)> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .and_then(|x| x.to_str())
                .is_some_and(|x| matches!(x.to_ascii_lowercase().as_str(), "jpg" | "jpeg" | "png"))
        })
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            spec.only.is_empty() || spec.only.iter().any(|o| name.starts_with(o.as_str()))
        })
        .map(|p| {
            let stem = p.file_stem().unwrap_or_default().to_os_string();
            let mut l = labels.join(stem);
            l.set_extension("txt");
            (p, l)
        })
        .collect();
    out.sort();
    if spec.limit > 0 {
        out.truncate(spec.limit);
    }
    if out.is_empty() {
        return Err(DetectorError::Config(format!(
            "no images (jpg, png) in {}{}",
            images.display(),
            if spec.only.is_empty() {
                String::new()
            } else {
                format!(" starting with {:?}", spec.only)
            }
        )));
    }
    Ok(out)
}

/// Loads one image at the evaluated size (even sides) as RGB bytes; also returns the size.
fn load_image(path: &Path, spec: &ImageEvalSpec) -> Result<(Vec<u8>, u32, u32), String> {
    let img = image::open(path).map_err(|e| e.to_string())?.to_rgb8();
    let (w0, h0) = spec.resize.unwrap_or(img.dimensions());
    let w = ((w0 as f64 * spec.scale).round() as u32 / 2 * 2).max(2);
    let h = ((h0 as f64 * spec.scale).round() as u32 / 2 * 2).max(2);
    let img = if img.dimensions() == (w, h) {
        img
    } else {
        image::imageops::resize(&img, w, h, image::imageops::FilterType::Triangle)
    };
    Ok((img.into_raw(), w, h))
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        f64::NAN
    } else {
        a as f64 / b as f64
    }
}

/// Runs the configured detector over the images of `spec` and scores it. The ball class must
/// be named `ball` in `cfg.classes`; every other configured class is scored as people.
pub fn evaluate_images(
    cfg: &DetectorConfig,
    spec: &ImageEvalSpec,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<ImageEvalReport, DetectorError> {
    let ball = cfg
        .classes
        .iter()
        .position(|c| c == "ball")
        .ok_or_else(|| DetectorError::Config("detector.classes has no \"ball\" class".into()))?
        as u16;
    let files = list_images(spec)?;
    let mut runner = ImageDetector::new(cfg, ball)?;
    let mut tally = Tally::new(cfg, ball);
    let mut dump = match &spec.detections_out {
        Some(p) => Some(std::io::BufWriter::new(
            std::fs::File::create(p)
                .map_err(|e| DetectorError::Config(format!("{}: {e}", p.display())))?,
        )),
        None => None,
    };
    let mut r = ImageEvalReport {
        dir: spec.dir.display().to_string(),
        engine: cfg.engine.clone(),
        model: cfg.model.clone(),
        scale: spec.scale,
        tile_size: cfg.tile_size,
        ball_threshold: tally.ball_threshold,
        field: spec.field.name().to_string(),
        ..Default::default()
    };
    for (n, (img_path, label_path)) in files.iter().enumerate() {
        progress(n, files.len());
        let (rgb, w, h, truth) = match load_labelled(img_path, label_path, spec) {
            Ok(x) => x,
            Err(e) => {
                tracing::warn!(message = "Image skipped.", image = %img_path.display(), error = %e);
                r.skipped += 1;
                continue;
            }
        };
        if r.image_size == [0, 0] {
            r.image_size = [w, h];
        }
        let field = match spec.field {
            Field::Whole => None,
            Field::Grass => {
                let m = grass_mask(&rgb, w as usize, h as usize);
                r.no_pitch_images += m.is_none() as usize;
                m
            }
        };
        let dets = runner.detect(&rgb, w, h)?;
        let (dets, off) = on_field(dets, field.as_ref(), ball, h);
        let dets = match spec.people_nms_iou {
            Some(iou) => people_nms(dets, ball, iou),
            None => dets,
        };
        r.detections_off_field += off;
        r.balls_off_field += field.as_ref().map_or(0, |m| {
            truth
                .iter()
                .filter(|t| t.class == ball && !m.contains(t.cx, t.cy))
                .count()
        });
        tally.add(&truth, &dets);
        r.images += 1;
        if let Some(out) = dump.as_mut() {
            let field = field.map(|m| m.polygon).unwrap_or_default();
            write_detections(out, img_path, [w, h], field, dets)?;
        }
    }
    r.tiles_per_image = runner.tiles as f64 / r.images.max(1) as f64;
    r.mean_image_ms = runner.ms / r.images.max(1) as f64;
    (r.verified, r.verifier_rejected, r.seam_merged) = runner.counts();
    r.ball_verifier = cfg.ball_verifier.clone();
    r.ball_verifier_threshold = cfg.ball_verifier_threshold;
    Ok(tally.finish(r, cfg))
}

/// One line of `detections_out`.
fn write_detections(
    out: &mut impl std::io::Write,
    image: &Path,
    size: [u32; 2],
    field: Vec<(f64, f64)>,
    detections: Vec<Detection>,
) -> Result<(), DetectorError> {
    let line = ImageDetections {
        image: image.display().to_string(),
        size,
        field,
        detections,
    };
    let text = serde_json::to_string(&line).unwrap_or_default();
    writeln!(out, "{text}").map_err(|e| DetectorError::Config(format!("detections_out: {e}")))
}

/// Loads one image and its labels at the evaluated size.
fn load_labelled(
    img_path: &Path,
    label_path: &Path,
    spec: &ImageEvalSpec,
) -> Result<(Vec<u8>, u32, u32, Vec<LabelBox>), String> {
    let (rgb, w, h) = load_image(img_path, spec)?;
    let text = std::fs::read_to_string(label_path)
        .map_err(|e| format!("{}: {e}", label_path.display()))?;
    let truth = read_labels(&text, w as f64, h as f64, &spec.label_classes)
        .map_err(|e| format!("{}: {e}", label_path.display()))?;
    Ok((rgb, w, h, truth))
}

/// Splits off the detections whose ground point lies off the field: the ball's centre, a
/// person's feet (the bottom of the box, kept inside the picture). Returns the kept ones and
/// how many went.
pub fn on_field(
    dets: Vec<Detection>,
    field: Option<&PanoramaMask>,
    ball: u16,
    height: u32,
) -> (Vec<Detection>, usize) {
    let Some(m) = field else {
        return (dets, 0);
    };
    let n = dets.len();
    let kept: Vec<Detection> = dets
        .into_iter()
        .filter(|d| {
            let y = if d.class_id == ball {
                d.cy
            } else {
                (d.cy + d.h / 2.0).min(height as f32 - 1.0)
            };
            m.contains(d.cx as f64, y as f64)
        })
        .collect();
    let off = n - kept.len();
    (kept, off)
}

/// The analyzer's cross-tile NMS on every class but the ball (which `score_balls` merges);
/// highest score first.
pub fn people_nms(dets: Vec<Detection>, ball: u16, iou: f32) -> Vec<Detection> {
    let (balls, people): (Vec<Detection>, Vec<Detection>) =
        dets.into_iter().partition(|d| d.class_id == ball);
    let mut out = balls;
    let mut classes: Vec<u16> = people.iter().map(|d| d.class_id).collect();
    classes.sort_unstable();
    classes.dedup();
    for c in classes {
        let mine: Vec<&Detection> = people.iter().filter(|d| d.class_id == c).collect();
        let items: Vec<(BoxPx, f32)> = mine.iter().map(|d| (BoxPx::from(*d), d.score)).collect();
        out.extend(
            nms(&items, iou as f64, None)
                .into_iter()
                .map(|i| mine[i].clone()),
        );
    }
    out
}

/// The configured detector over whole images: one detector per image size, the engine moved
/// from one to the next. Keeps the inference time and tile count.
struct ImageDetector<'a> {
    cfg: &'a DetectorConfig,
    params: DecodeParams,
    engine: Option<Box<dyn capture::detector::InferenceEngine>>,
    det: Option<(Detector, (u32, u32))>,
    tiles: usize,
    ms: f64,
    /// The verifier and seam counts of detectors replaced by one for another image size.
    earlier: (u64, u64, u64),
}

impl<'a> ImageDetector<'a> {
    fn new(cfg: &'a DetectorConfig, ball: u16) -> Result<Self, DetectorError> {
        // Decode the ball at the lowest threshold of the sweep; score at each.
        let mut params: DecodeParams = decode_params(cfg);
        params.thresholds[ball as usize] = SWEEP[0].min(cfg.threshold(ball as usize));
        Ok(ImageDetector {
            cfg,
            params,
            engine: Some(load_engine(cfg)?),
            det: None,
            tiles: 0,
            ms: 0.0,
            earlier: (0, 0, 0),
        })
    }

    fn detect(&mut self, rgb: &[u8], w: u32, h: u32) -> Result<Vec<Detection>, DetectorError> {
        let cfg = self.cfg;
        if self.det.as_ref().is_none_or(|(_, size)| *size != (w, h)) {
            let engine = match self.engine.take() {
                Some(e) => e,
                None => load_engine(cfg)?,
            };
            if let Some((old, _)) = self.det.take() {
                self.earlier.0 += old.counts.verified;
                self.earlier.1 += old.counts.verifier_rejected;
                self.earlier.2 += old.counts.seam_merged;
            }
            let tiling = Tiling::new(
                w,
                h,
                cfg.tile_size,
                cfg.tile_overlap,
                &PanoramaMask::whole(w, h),
            );
            let mut d = Detector::new(
                engine,
                tiling,
                self.params.clone(),
                cfg.classes.clone(),
                usize::MAX,
                cfg.threads as usize,
            )?;
            if let Some(v) = load_verifier(cfg)? {
                d.set_verifier(v, cfg.classes.iter().position(|c| c == "ball"))?;
            }
            self.det = Some((d, (w, h)));
        }
        let Some((d, _)) = self.det.as_mut() else {
            return Ok(Vec::new());
        };
        let pano = rgb8_to_nv12(rgb, w as usize, h as usize);
        let t = Instant::now();
        d.prepare(&pano.as_ref())?;
        let dets = d.infer()?;
        self.ms += t.elapsed().as_secs_f64() * 1e3;
        self.tiles += d.tiling().tiles.len();
        Ok(dets)
    }

    /// Balls the verifier looked at and turned down, and people boxes merged at tile seams,
    /// over every image so far.
    fn counts(&self) -> (u64, u64, u64) {
        let now = self.det.as_ref().map_or((0, 0, 0), |(d, _)| {
            let c = &d.counts;
            (c.verified, c.verifier_rejected, c.seam_merged)
        });
        (
            self.earlier.0 + now.0,
            self.earlier.1 + now.1,
            self.earlier.2 + now.2,
        )
    }
}

/// The running scores over the images.
struct Tally {
    ball: u16,
    ball_threshold: f32,
    /// Per sweep threshold: (found, balls, fp).
    at: Vec<(usize, usize, usize)>,
    sizes: Vec<f64>,
    /// Per size bin: (balls, found).
    by_size: Vec<(usize, usize)>,
    loc: Vec<f64>,
    /// People classes and their (labelled, detected, matched, threshold).
    people: Vec<(u16, usize, usize, usize, f32)>,
    tp: usize,
    fp: usize,
    duplicates: usize,
}

impl Tally {
    fn new(cfg: &DetectorConfig, ball: u16) -> Tally {
        Tally {
            ball,
            ball_threshold: cfg.threshold(ball as usize),
            at: vec![(0, 0, 0); SWEEP.len()],
            sizes: Vec::new(),
            by_size: vec![(0, 0); SIZE_BINS.len()],
            loc: Vec::new(),
            people: (0..cfg.classes.len() as u16)
                .filter(|&c| c != ball)
                .map(|c| (c, 0, 0, 0, cfg.threshold(c as usize)))
                .collect(),
            tp: 0,
            fp: 0,
            duplicates: 0,
        }
    }

    fn add(&mut self, truth: &[LabelBox], dets: &[Detection]) {
        for (k, &th) in SWEEP.iter().enumerate() {
            let s = score_balls(truth, dets, self.ball, th);
            self.at[k].0 += s.balls.iter().filter(|b| b.1.is_some()).count();
            self.at[k].1 += s.balls.len();
            self.at[k].2 += s.fp;
        }
        let s = score_balls(truth, dets, self.ball, self.ball_threshold);
        self.fp += s.fp;
        self.duplicates += s.duplicates;
        for (size, found) in &s.balls {
            self.sizes.push(*size);
            let bin = SIZE_BINS
                .iter()
                .position(|(_, lo, hi)| size >= lo && size < hi)
                .unwrap_or(0);
            self.by_size[bin].0 += 1;
            if let Some(e) = found {
                self.tp += 1;
                self.by_size[bin].1 += 1;
                self.loc.push(*e);
            }
        }
        for p in &mut self.people {
            let kept: Vec<Detection> = dets.iter().filter(|d| d.score >= p.4).cloned().collect();
            let (l, dn, m) = match_people(truth, &kept, p.0);
            (p.1, p.2, p.3) = (p.1 + l, p.2 + dn, p.3 + m);
        }
    }

    fn finish(mut self, mut r: ImageEvalReport, cfg: &DetectorConfig) -> ImageEvalReport {
        r.balls = self.sizes.len();
        r.ball_tp = self.tp;
        r.ball_fp = self.fp;
        r.ball_duplicates = self.duplicates;
        r.ball_recall = ratio(self.tp, r.balls);
        r.ball_precision = ratio(self.tp, self.tp + self.fp);
        self.sizes.sort_by(f64::total_cmp);
        r.ball_size_median_px = percentile(&self.sizes, 0.5);
        r.ball_recall_by_size = SIZE_BINS
            .iter()
            .zip(&self.by_size)
            .map(|((name, _, _), &(balls, found))| SizeRecall {
                size_px: name,
                balls,
                found,
                recall: ratio(found, balls),
            })
            .collect();
        self.loc.sort_by(f64::total_cmp);
        r.loc_err_mean_px = self.loc.iter().sum::<f64>() / self.loc.len().max(1) as f64;
        r.loc_err_p95_px = percentile(&self.loc, 0.95);
        r.people = self
            .people
            .iter()
            .map(|&(c, l, dn, m, threshold)| PeopleQuality {
                class: cfg.classes[c as usize].clone(),
                threshold,
                labelled: l,
                detected: dn,
                matched: m,
                recall: ratio(m, l),
                precision: ratio(m, dn),
            })
            .collect();
        r.sweep = SWEEP
            .iter()
            .zip(&self.at)
            .map(|(&threshold, &(found, balls, fp))| BallAt {
                threshold,
                recall: ratio(found, balls),
                precision: ratio(found, found + fp),
                tp: found,
                fp,
            })
            .collect();
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn det(class_id: u16, cx: f32, cy: f32, size: f32, score: f32) -> Detection {
        Detection {
            cx,
            cy,
            w: size,
            h: size,
            class_id,
            score,
            tile: 0,
        }
    }

    #[test]
    fn labels_map_to_model_classes_and_bad_lines_are_named() {
        // DFL: 0 ball, 1 goalkeeper, 2 player, 3 referee -> ours: ball 0, player 1, referee 2.
        let map = [Some(0), Some(1), Some(1), Some(2)];
        let t = read_labels(
            "0 0.5 0.5 0.01 0.02\n1 0.1 0.2 0.02 0.1\n\n3 0.9 0.9 0.01 0.05\n9 0.1 0.1 0.1 0.1\n",
            1000.0,
            500.0,
            &map,
        )
        .unwrap();
        assert_eq!(t.len(), 3, "unknown label id 9 is left out");
        assert_eq!(t[0].class, 0);
        assert!((t[0].cx - 500.0).abs() < 1e-9 && (t[0].h - 10.0).abs() < 1e-9);
        assert_eq!(t[1].class, 1, "goalkeeper counts as player");
        assert_eq!(t[2].class, 2);
        let e = read_labels("0 0.5 x 0.1 0.1", 10.0, 10.0, &map).unwrap_err();
        assert!(e.contains("line 1"), "{e}");
    }

    #[test]
    fn balls_are_matched_once_and_the_rest_are_false_positives() {
        let truth = [LabelBox {
            class: 0,
            cx: 100.0,
            cy: 100.0,
            w: 10.0,
            h: 10.0,
        }];
        let dets = [
            det(0, 103.0, 101.0, 10.0, 0.9),  // match, 3.2 px off
            det(0, 300.0, 100.0, 10.0, 0.8),  // false positive
            det(0, 100.0, 100.0, 10.0, 0.3),  // merged into the first (same place)
            det(0, 108.0, 100.0, 10.0, 0.95), // within the size: the match, 8 px off
        ];
        let s = score_balls(&truth, &dets, 0, 0.5);
        assert_eq!(s.fp, 1);
        assert_eq!(s.balls.len(), 1);
        assert!((s.balls[0].1.unwrap() - 8.0).abs() < 1e-6, "{s:?}");
        // A higher threshold keeps the false positive out and the ball found.
        let s = score_balls(&truth, &dets, 0, 0.85);
        assert_eq!((s.fp, s.balls[0].1.is_some()), (0, true));
        // Nothing above 0.96: the ball is missed.
        let s = score_balls(&truth, &dets, 0, 0.96);
        assert_eq!(s.balls[0].1, None);
    }

    #[test]
    fn people_match_by_iou_once_each() {
        let p = |cx| LabelBox {
            class: 1,
            cx,
            cy: 50.0,
            w: 20.0,
            h: 60.0,
        };
        let truth = [p(100.0), p(200.0)];
        let mut d1 = det(1, 101.0, 50.0, 20.0, 0.9);
        d1.h = 60.0;
        let mut d2 = d1.clone();
        d2.score = 0.8; // a second box on the same person
        let mut d3 = det(1, 400.0, 50.0, 20.0, 0.7);
        d3.h = 60.0;
        assert_eq!(match_people(&truth, &[d1, d2, d3], 1), (2, 3, 1));
    }

    #[test]
    fn off_the_field_means_the_balls_centre_or_the_persons_feet() {
        let field = PanoramaMask::from_pixels(
            &[(0.0, 50.0), (200.0, 50.0), (200.0, 100.0), (0.0, 100.0)],
            200,
            100,
        );
        let mut standing = det(1, 100.0, 40.0, 10.0, 0.9); // feet at y = 70: on the pitch
        standing.h = 60.0;
        let mut stands = det(1, 100.0, 20.0, 10.0, 0.9); // feet at y = 45: in the stands
        stands.h = 50.0;
        let mut cut = det(1, 20.0, 90.0, 10.0, 0.9); // feet below the picture's edge
        cut.h = 40.0;
        let dets = vec![
            standing,
            stands,
            cut,
            det(0, 50.0, 60.0, 8.0, 0.9), // ball on the pitch
            det(0, 50.0, 30.0, 8.0, 0.9), // ball-like thing on the boards
        ];
        let (kept, off) = on_field(dets.clone(), Some(&field), 0, 100);
        assert_eq!(off, 2);
        assert_eq!(kept.len(), 3);
        assert!(kept.iter().all(|d| d.cy != 20.0 && d.cy != 30.0));
        assert_eq!(
            on_field(dets, None, 0, 100).1,
            0,
            "no field: everything counts"
        );
    }

    #[test]
    fn people_are_merged_across_tiles_as_the_analyzer_does_and_balls_are_left_alone() {
        let mut a = det(1, 100.0, 50.0, 20.0, 0.9);
        a.h = 60.0;
        let mut b = a.clone(); // the same player from the neighbouring tile
        b.cx = 102.0;
        b.score = 0.6;
        let mut c = a.clone(); // a player next to him
        c.cx = 125.0;
        let balls = [det(0, 10.0, 10.0, 8.0, 0.9), det(0, 10.5, 10.0, 8.0, 0.8)];
        let out = people_nms(vec![a, b, c, balls[0].clone(), balls[1].clone()], 0, 0.5);
        assert_eq!(out.iter().filter(|d| d.class_id == 0).count(), 2);
        let people: Vec<f32> = out
            .iter()
            .filter(|d| d.class_id == 1)
            .map(|d| d.cx)
            .collect();
        assert_eq!(people, vec![100.0, 125.0]);
    }

    #[test]
    fn rgb_converts_to_video_range_nv12() {
        let white_black = [255u8, 255, 255, 0, 0, 0, 255, 255, 255, 0, 0, 0];
        let img = rgb8_to_nv12(&white_black, 2, 2);
        assert_eq!(&img.data[..4], &[235, 16, 235, 16]);
        assert_eq!(&img.data[4..], &[128, 128]);
    }
}
