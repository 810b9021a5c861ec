//! Decoding the Ultralytics YOLO export: one output `[batch, 4 + nc, N]` with, per candidate,
//! `cx cy w h` in model input pixels then one score per class (no objectness). Candidates are
//! mapped back through the letterbox and the tile offset to panorama pixels, gated by the
//! per-class threshold and size limits, and thinned by per-class NMS inside the tile
//! (cross-tile merging is the analyzer's job).

use super::prepare::Letterbox;
use super::tiling::Tile;
use shared::messages::Detection;

/// Per-class gates and NMS settings.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodeParams {
    /// Minimum score per class.
    pub thresholds: Vec<f32>,
    /// Size limits per class on the longer box side, panorama pixels.
    pub min_size: Vec<f32>,
    pub max_size: Vec<f32>,
    /// IoU above which a weaker box of the same class is dropped.
    pub nms_iou: f32,
    /// Candidates kept per tile before NMS (highest scores).
    pub max_candidates: usize,
    /// A person's box cut at a tile's inner edge that lies at least this much inside a box
    /// of another tile is merged into it (`detector.seam_merge`, [`super::seams`]); 0: off.
    pub seam_merge: f32,
}

impl DecodeParams {
    pub fn classes(&self) -> usize {
        self.thresholds.len()
    }
}

/// What decoding one tile threw away, for the counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DecodeCounts {
    /// Above threshold but outside the size limits.
    pub size_rejected: u64,
    /// Centre in the letterbox padding.
    pub outside_crop: u64,
    /// Removed by NMS.
    pub suppressed: u64,
}

impl DecodeCounts {
    pub fn add(&mut self, o: &DecodeCounts) {
        self.size_rejected += o.size_rejected;
        self.outside_crop += o.outside_crop;
        self.suppressed += o.suppressed;
    }
}

fn iou(a: &Detection, b: &Detection) -> f32 {
    let ix = ((a.cx + a.w / 2.0).min(b.cx + b.w / 2.0) - (a.cx - a.w / 2.0).max(b.cx - b.w / 2.0))
        .max(0.0);
    let iy = ((a.cy + a.h / 2.0).min(b.cy + b.h / 2.0) - (a.cy - a.h / 2.0).max(b.cy - b.h / 2.0))
        .max(0.0);
    let inter = ix * iy;
    let union = a.w * a.h + b.w * b.h - inter;
    if union <= 0.0 {
        0.0
    } else {
        inter / union
    }
}

/// Decodes one batch item. `out` holds `(4 + nc) * n` values, channel-major (the layout of one
/// item of `[B, 4 + nc, N]`). Detections are appended to `dets` in descending score order.
pub fn decode_tile(
    out: &[f32],
    n: usize,
    tile: &Tile,
    lb: &Letterbox,
    p: &DecodeParams,
    dets: &mut Vec<Detection>,
) -> DecodeCounts {
    let nc = p.classes();
    debug_assert_eq!(out.len(), (4 + nc) * n);
    let mut counts = DecodeCounts::default();
    let min_thr = p.thresholds.iter().cloned().fold(f32::MAX, f32::min);
    let mut cand: Vec<(f32, u16, usize)> = Vec::new();
    for i in 0..n {
        // Cheap first: the best class only (as Ultralytics' NMS does by default).
        let mut best = (f32::MIN, 0usize);
        for c in 0..nc {
            let s = out[(4 + c) * n + i];
            if s > best.0 {
                best = (s, c);
            }
        }
        if best.0 < min_thr || best.0 < p.thresholds[best.1] || best.0.is_nan() {
            continue;
        }
        cand.push((best.0, best.1 as u16, i));
    }
    cand.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.2.cmp(&b.2)));
    cand.truncate(p.max_candidates);
    let mut kept: Vec<Detection> = Vec::with_capacity(cand.len().min(64));
    let (ix0, iy0) = (lb.left as f64, lb.top as f64);
    let (ix1, iy1) = (ix0 + lb.new_w as f64, iy0 + lb.new_h as f64);
    for (score, class, i) in cand {
        let (cx, cy, w, h) = (
            out[i] as f64,
            out[n + i] as f64,
            out[2 * n + i] as f64,
            out[3 * n + i] as f64,
        );
        // Ultralytics' boxes are continuous coordinates in which pixel k spans [k, k+1); ours
        // (panorama, crop) put pixel centres at integers: subtract 0.5.
        if !(cx >= ix0 && cx < ix1 && cy >= iy0 && cy < iy1) {
            counts.outside_crop += 1;
            continue;
        }
        let (x, y) = lb.to_crop(cx - 0.5, cy - 0.5);
        let d = Detection {
            cx: (x + tile.x as f64) as f32,
            cy: (y + tile.y as f64) as f32,
            w: (w / lb.sx) as f32,
            h: (h / lb.sy) as f32,
            class_id: class,
            score,
            tile: tile.id,
        };
        let side = d.w.max(d.h);
        let c = class as usize;
        if !(side >= p.min_size[c] && side <= p.max_size[c]) {
            counts.size_rejected += 1;
            continue;
        }
        if kept
            .iter()
            .any(|k| k.class_id == d.class_id && iou(k, &d) > p.nms_iou)
        {
            counts.suppressed += 1;
            continue;
        }
        kept.push(d);
    }
    dets.extend(kept);
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iou_of_identical_and_disjoint_boxes() {
        let a = Detection {
            cx: 10.0,
            cy: 10.0,
            w: 4.0,
            h: 4.0,
            class_id: 0,
            score: 1.0,
            tile: 0,
        };
        assert!((iou(&a, &a) - 1.0).abs() < 1e-6);
        let b = Detection {
            cx: 20.0,
            ..a.clone()
        };
        assert_eq!(iou(&a, &b), 0.0);
    }
}
