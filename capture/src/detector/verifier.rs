//! The ball verifier (`detector.ball_verifier`): a second, small model that looks again at
//! each ball the detector proposes, on a square crop of the model input around it, and keeps
//! the ball only when it agrees.
//!
//! On real pitches the detector calls a ball in light and dark spots of the grass that its
//! tile cannot tell from the ball at any one threshold (models/README.md); the verifier is
//! trained on exactly those candidates (`tools/train_ball_verifier.py`). It runs on tract,
//! on the CPU, whatever the detector's engine: a 48 px crop is about a thousandth of a tile.
//!
//! The model: input `[N, 3, S, S]` RGB in 0..1 (S from the file, 48 for the shipped one), one
//! crop of S x S panorama pixels centred on the candidate; output `[N, 1]`, the probability
//! that it is the ball.

use super::prepare::Letterbox;
use super::tiling::Tile;
use super::DetectorError;
use shared::messages::Detection;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tract_onnx::prelude::*;

/// What one [`BallVerifier::verify`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyCounts {
    pub verified: u64,
    pub rejected: u64,
    pub unverified: u64,
    /// The last failure, when a ball could not be looked at.
    pub error: Option<String>,
}

/// The loaded verifier and its threshold.
pub struct BallVerifier {
    plan: Arc<TypedRunnableModel>,
    side: usize,
    threshold: f32,
    path: PathBuf,
    crop: Vec<f32>,
}

impl BallVerifier {
    /// Loads the model at `path` (its input side read from the file) and checks it on a blank
    /// crop: one output value per crop.
    pub fn load(path: &Path, threshold: f32) -> Result<BallVerifier, DetectorError> {
        let load_err = |e: TractError| DetectorError::ModelLoad {
            path: path.to_path_buf(),
            reason: format!("{e:#}"),
        };
        let (din, dout) = super::engine::declared_shapes(path)?;
        let side = match din.as_slice() {
            [_, Some(3), Some(h), Some(w)] if h == w && (8..=256).contains(h) => *h as usize,
            _ => {
                return Err(DetectorError::ModelShape {
                    path: path.to_path_buf(),
                    what: "ball verifier input",
                    expected: "[N, 3, S, S] with a fixed side S of 8-256".into(),
                    found: super::engine::show(&din),
                })
            }
        };
        if dout.len() != 2 || dout[1].is_some_and(|c| c != 1) {
            return Err(DetectorError::ModelShape {
                path: path.to_path_buf(),
                what: "ball verifier output",
                expected: "[N, 1] (one probability per crop)".into(),
                found: super::engine::show(&dout),
            });
        }
        let mut model = tract_onnx::onnx().model_for_path(path).map_err(load_err)?;
        let fact = f32::fact([1, 3, side, side]);
        model.set_input_fact(0, fact.into()).map_err(load_err)?;
        let plan = model
            .into_optimized()
            .and_then(|m| m.into_runnable())
            .map_err(load_err)?;
        let mut v = BallVerifier {
            plan,
            side,
            threshold,
            path: path.to_path_buf(),
            crop: vec![0.0; 3 * side * side],
        };
        v.run()?;
        Ok(v)
    }

    /// Crop side in panorama pixels.
    pub fn side(&self) -> usize {
        self.side
    }

    pub fn threshold(&self) -> f32 {
        self.threshold
    }

    /// The probability that the candidate at panorama `(cx, cy)`, found in `tile` whose model
    /// input (`[3, in_h, in_w]` planes letterboxed by `lb`) is `planes`, is the ball.
    pub fn score(
        &mut self,
        planes: &[f32],
        tile: &Tile,
        lb: &Letterbox,
        cx: f32,
        cy: f32,
    ) -> Result<f32, DetectorError> {
        crop_planes(
            planes,
            lb,
            (cx as f64 - tile.x as f64, cy as f64 - tile.y as f64),
            self.side,
            &mut self.crop,
        );
        self.run()
    }

    /// True when the candidate is kept.
    pub fn keeps(&self, p: f32) -> bool {
        p >= self.threshold
    }

    /// The second look at the balls (class `ball`) among `dets[first..]`, all found in `tile`
    /// whose model input is `planes` (`None`: not readable, not looked at); the balls turned
    /// down are removed (the order of `dets[first..]` changes). A ball the model fails on is
    /// kept, unverified, with the error.
    pub fn verify(
        &mut self,
        dets: &mut Vec<Detection>,
        first: usize,
        ball: u16,
        planes: Option<&[f32]>,
        tile: &Tile,
        lb: &Letterbox,
    ) -> VerifyCounts {
        let mut c = VerifyCounts::default();
        let Some(planes) = planes else {
            c.unverified = dets[first..].iter().filter(|d| d.class_id == ball).count() as u64;
            return c;
        };
        let mut k = first;
        while k < dets.len() {
            let d = &dets[k];
            if d.class_id != ball {
                k += 1;
                continue;
            }
            match self.score(planes, tile, lb, d.cx, d.cy) {
                Ok(p) if self.keeps(p) => {
                    c.verified += 1;
                    k += 1;
                }
                Ok(_) => {
                    c.verified += 1;
                    c.rejected += 1;
                    dets.swap_remove(k);
                }
                Err(e) => {
                    c.unverified += 1;
                    c.error = Some(e.to_string());
                    k += 1;
                }
            }
        }
        c
    }

    fn run(&mut self) -> Result<f32, DetectorError> {
        let s = self.side;
        let input = Tensor::from_shape(&[1, 3, s, s], &self.crop)
            .map_err(|e| self.fail(format!("{e:#}")))?;
        let out = self
            .plan
            .run(tvec!(input.into()))
            .map_err(|e| self.fail(format!("{e:#}")))?;
        let view = out[0]
            .to_plain_array_view::<f32>()
            .map_err(|e| self.fail(format!("{e:#}")))?;
        match view.iter().next() {
            Some(&p) if view.len() == 1 => Ok(p),
            _ => Err(DetectorError::ModelShape {
                path: self.path.clone(),
                what: "output",
                expected: "one probability per crop ([N, 1])".into(),
                found: format!("{:?}", view.shape()),
            }),
        }
    }

    fn fail(&self, reason: String) -> DetectorError {
        DetectorError::Inference {
            engine: "ball verifier",
            reason: format!("{}: {reason}", self.path.display()),
        }
    }
}

/// The input rows (first, last) a crop centred on crop row `at_y` reads.
fn crop_rows(lb: &Letterbox, at_y: f64, side: usize) -> (usize, usize) {
    let half = side as f64 / 2.0;
    let (y0, y1) = (lb.top as f64, (lb.top + lb.new_h - 1) as f64);
    let row = |j: usize| {
        let (_, y) = lb.to_input(0.0, (at_y + j as f64 - half).round());
        y.round().clamp(y0, y1) as usize
    };
    (row(0), row(side.saturating_sub(1)))
}

/// For tiles that stay on the GPU: downloads into `planes` (one tile's model input,
/// `[3, in_h, in_w]` floats, whose GPU copy starts at `device`) the rows that crops of
/// `side` around `centres` (crop pixels of the tile) read; the rest of `planes` is left as
/// it was. A few rows of the model input per ball: the panorama itself stays on the GPU.
pub fn fetch_rows(
    gpu: &shared::gpu::Gpu,
    device: u64,
    lb: &Letterbox,
    side: usize,
    centres: impl Iterator<Item = (f64, f64)>,
    planes: &mut [f32],
) -> Result<(), DetectorError> {
    let (w, h) = (lb.in_w as usize, lb.in_h as usize);
    let n = w * h;
    if planes.len() != 3 * n {
        return Err(DetectorError::Config(format!(
            "ball verifier: {} floats for a {w}x{h} tile input",
            planes.len()
        )));
    }
    for (_, y) in centres {
        let (lo, hi) = crop_rows(lb, y, side);
        for c in 0..3 {
            let (from, to) = (c * n + lo * w, c * n + (hi + 1) * w);
            gpu.download(device + (from * 4) as u64, &mut planes[from..to])?;
        }
    }
    Ok(())
}

/// Cuts a `side` x `side` crop, one sample per panorama pixel, centred on `at` (crop pixels of
/// the tile), out of a tile's model input planes, nearest sample, the tile's edge pixels
/// repeated beyond it. `out` holds `3 * side * side` values (RGB planes).
pub fn crop_planes(planes: &[f32], lb: &Letterbox, at: (f64, f64), side: usize, out: &mut [f32]) {
    let (w, h) = (lb.in_w as usize, lb.in_h as usize);
    let n = w * h;
    debug_assert_eq!(planes.len(), 3 * n, "planes of the letterbox's input");
    debug_assert_eq!(out.len(), 3 * side * side, "crop buffer");
    let half = side as f64 / 2.0;
    let (x0, x1) = (lb.left as f64, (lb.left + lb.new_w - 1) as f64);
    let (y0, y1) = (lb.top as f64, (lb.top + lb.new_h - 1) as f64);
    debug_assert!(crop_rows(lb, at.1, side).0 >= y0 as usize);
    let cols: Vec<usize> = (0..side)
        .map(|i| {
            let (x, _) = lb.to_input((at.0 + i as f64 - half).round(), 0.0);
            x.round().clamp(x0, x1) as usize
        })
        .collect();
    for j in 0..side {
        let (_, y) = lb.to_input(0.0, (at.1 + j as f64 - half).round());
        let row = y.round().clamp(y0, y1) as usize * w;
        for (i, &col) in cols.iter().enumerate() {
            for c in 0..3 {
                out[c * side * side + j * side + i] =
                    planes.get(c * n + row + col).copied().unwrap_or(0.0);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn planes_of(w: u32, h: u32, f: impl Fn(usize, usize, usize) -> f32) -> Vec<f32> {
        let (w, h) = (w as usize, h as usize);
        let mut p = vec![0.0; 3 * w * h];
        for c in 0..3 {
            for y in 0..h {
                for x in 0..w {
                    p[c * w * h + y * w + x] = f(c, x, y);
                }
            }
        }
        p
    }

    #[test]
    fn a_crop_at_scale_one_is_the_pixels_around_the_point() {
        let lb = Letterbox::new(64, 64, 64, 64);
        let planes = planes_of(64, 64, |c, x, y| (c * 10_000 + y * 100 + x) as f32);
        let mut out = vec![0.0; 3 * 8 * 8];
        crop_planes(&planes, &lb, (20.0, 30.0), 8, &mut out);
        // Pixel (i, j) of the crop is input pixel (20 - 4 + i, 30 - 4 + j).
        assert_eq!(out[0], (26 * 100 + 16) as f32);
        assert_eq!(out[7 * 8 + 7], (33 * 100 + 23) as f32);
        assert_eq!(out[2 * 64 + 3 * 8 + 5], (20_000 + 29 * 100 + 21) as f32);
    }

    #[test]
    fn beyond_the_tile_the_edge_repeats_and_the_letterbox_bars_are_never_read() {
        // A 64x32 tile in a 64x64 input: rows 16..48 hold the picture, the rest is padding.
        let lb = Letterbox::new(64, 32, 64, 64);
        assert_eq!(lb.top, 16);
        let planes = planes_of(64, 64, |_, x, y| {
            if (16..48).contains(&y) {
                (y * 100 + x) as f32
            } else {
                -1.0
            }
        });
        let mut out = vec![0.0; 3 * 8 * 8];
        crop_planes(&planes, &lb, (0.0, 0.0), 8, &mut out);
        assert!(out.iter().all(|&v| v >= 0.0), "no padding read: {out:?}");
        assert_eq!(out[0], (16 * 100) as f32, "the corner repeats");
        assert_eq!(out[7 * 8 + 7], ((16 + 3) * 100 + 3) as f32);
    }

    #[test]
    fn the_rows_a_crop_reads_are_the_ones_fetched() {
        // Every row a crop reads lies in crop_rows' span (what a GPU tile downloads).
        for (lb, at) in [
            (Letterbox::new(64, 64, 64, 64), (20.0, 30.0)),
            (Letterbox::new(64, 32, 64, 64), (3.0, 1.0)),
            (Letterbox::new(32, 32, 64, 64), (16.0, 30.0)),
        ] {
            let planes = planes_of(64, 64, |_, _, y| y as f32);
            let mut out = vec![0.0; 3 * 8 * 8];
            crop_planes(&planes, &lb, at, 8, &mut out);
            let (lo, hi) = crop_rows(&lb, at.1, 8);
            assert!(
                out.iter().all(|&y| (lo as f32..=hi as f32).contains(&y)),
                "{lo}..={hi}: {out:?}"
            );
            assert!(out.contains(&(lo as f32)) && out.contains(&(hi as f32)));
        }
    }

    #[test]
    fn a_magnified_tile_is_sampled_once_per_panorama_pixel() {
        // A 32 px crop magnified 2x: panorama pixel k is input pixel 2k + 0.5 (rounded up).
        let lb = Letterbox::new(32, 32, 64, 64);
        let planes = planes_of(64, 64, |_, x, y| (y * 100 + x) as f32);
        let mut out = vec![0.0; 3 * 4 * 4];
        crop_planes(&planes, &lb, (16.0, 16.0), 4, &mut out);
        let xs: Vec<f32> = (0..4).map(|i| out[i] % 100.0).collect();
        assert_eq!(xs, vec![29.0, 31.0, 33.0, 35.0]);
    }
}
