//! Tile preparation for the CPU backend: crop the NV12 panorama, convert to RGB (BT.709),
//! scale into the model input with an Ultralytics-style letterbox (aspect kept, centred, grey
//! 114 padding), and normalise to `[0, 1]` planes (NCHW).
//!
//! The same code makes the training tiles (`touchline-eval dataset`), so the model sees at run time
//! exactly the pixels it was trained on. Downscaling uses an antialiased linear (triangle)
//! filter; a crop the size of the input is copied unscaled.

use super::tiling::Tile;
use rayon::prelude::*;
use shared::image::Nv12Ref;

/// Grey of the letterbox padding (Ultralytics' value).
pub const PAD_VALUE: u8 = 114;

/// Where a crop lands in the model input.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Letterbox {
    /// Input size.
    pub in_w: u32,
    pub in_h: u32,
    /// Size of the scaled crop inside the input.
    pub new_w: u32,
    pub new_h: u32,
    /// Top-left corner of the scaled crop in the input.
    pub left: u32,
    pub top: u32,
    /// Exact scale per axis (`new / crop`).
    pub sx: f64,
    pub sy: f64,
}

impl Letterbox {
    pub fn new(crop_w: u32, crop_h: u32, in_w: u32, in_h: u32) -> Letterbox {
        let s = (in_w as f64 / crop_w as f64).min(in_h as f64 / crop_h as f64);
        let new_w = ((crop_w as f64 * s).round() as u32).clamp(1, in_w);
        let new_h = ((crop_h as f64 * s).round() as u32).clamp(1, in_h);
        Letterbox {
            in_w,
            in_h,
            new_w,
            new_h,
            left: (in_w - new_w) / 2,
            top: (in_h - new_h) / 2,
            sx: new_w as f64 / crop_w as f64,
            sy: new_h as f64 / crop_h as f64,
        }
    }

    /// Model input pixel -> crop pixel (continuous coordinates, pixel centres at integers in
    /// both, as in OpenCV).
    pub fn to_crop(&self, x: f64, y: f64) -> (f64, f64) {
        (
            (x - self.left as f64 + 0.5) / self.sx - 0.5,
            (y - self.top as f64 + 0.5) / self.sy - 0.5,
        )
    }

    /// Crop pixel -> model input pixel.
    pub fn to_input(&self, x: f64, y: f64) -> (f64, f64) {
        (
            (x + 0.5) * self.sx - 0.5 + self.left as f64,
            (y + 0.5) * self.sy - 0.5 + self.top as f64,
        )
    }
}

/// BT.709 video-range YUV -> RGB in 0..255 by table look-up (the same arithmetic as
/// `shared::image::yuv_to_rgb`, split per component).
struct YuvTables {
    y: [f32; 256],
    rv: [f32; 256],
    gu: [f32; 256],
    gv: [f32; 256],
    bu: [f32; 256],
}

impl YuvTables {
    fn new() -> YuvTables {
        let mut t = YuvTables {
            y: [0.0; 256],
            rv: [0.0; 256],
            gu: [0.0; 256],
            gv: [0.0; 256],
            bu: [0.0; 256],
        };
        for i in 0..256 {
            let f = i as f32;
            let (y, c) = ((f - 16.0) / 219.0, (f - 128.0) / 224.0);
            t.y[i] = y * 255.0;
            t.rv[i] = 1.5748 * c * 255.0;
            t.gu[i] = -0.187_324 * c * 255.0;
            t.gv[i] = -0.468_124 * c * 255.0;
            t.bu[i] = 1.8556 * c * 255.0;
        }
        t
    }

    #[inline]
    fn rgb(&self, y: u8, u: u8, v: u8) -> [f32; 3] {
        let y = self.y[y as usize];
        [
            (y + self.rv[v as usize]).clamp(0.0, 255.0),
            (y + self.gu[u as usize] + self.gv[v as usize]).clamp(0.0, 255.0),
            (y + self.bu[u as usize]).clamp(0.0, 255.0),
        ]
    }
}

fn tables() -> &'static YuvTables {
    static T: std::sync::OnceLock<YuvTables> = std::sync::OnceLock::new();
    T.get_or_init(YuvTables::new)
}

/// The conversion tables in the order the CUDA preparer reads them: Y, R from V, G from U,
/// G from V, B from U (256 entries each).
pub(crate) fn yuv_tables_flat() -> Vec<f32> {
    let t = tables();
    [t.y, t.rv, t.gu, t.gv, t.bu].concat()
}

/// Linear-filter taps for one output coordinate.
#[derive(Debug, Clone)]
pub(crate) struct Taps {
    pub(crate) start: usize,
    pub(crate) weights: Vec<f32>,
}

/// Antialiased linear resampling weights from `src` to `dst` samples.
pub(crate) fn taps(src: usize, dst: usize) -> Vec<Taps> {
    let scale = dst as f64 / src as f64;
    // Downscaling widens the triangle to cover the source footprint (antialiasing).
    let support = if scale < 1.0 { 1.0 / scale } else { 1.0 };
    (0..dst)
        .map(|d| {
            let centre = (d as f64 + 0.5) / scale - 0.5;
            let lo = ((centre - support).floor() as i64 + 1).max(0) as usize;
            let hi = ((centre + support).ceil() as i64 - 1)
                .min(src as i64 - 1)
                .max(0) as usize;
            let mut w: Vec<f64> = (lo..=hi)
                .map(|s| (1.0 - ((s as f64 - centre) / support).abs()).max(0.0))
                .collect();
            let sum: f64 = w.iter().sum();
            if sum <= 0.0 {
                // The centre lies outside the source: take the nearest edge pixel.
                let s = centre.round().clamp(0.0, (src - 1) as f64) as usize;
                return Taps {
                    start: s,
                    weights: vec![1.0],
                };
            }
            w.iter_mut().for_each(|x| *x /= sum);
            Taps {
                start: lo,
                weights: w.into_iter().map(|x| x as f32).collect(),
            }
        })
        .collect()
}

/// Turns tiles of a panorama into model input. Keeps its scratch buffers and filter taps
/// between frames.
/// Filter taps for one (crop size, scaled size): horizontal and vertical.
type TapCache = Vec<((u32, u32, u32, u32), Vec<Taps>, Vec<Taps>)>;

#[derive(Debug, Default)]
pub struct TilePreparer {
    cache: TapCache,
}

impl TilePreparer {
    pub fn new() -> TilePreparer {
        TilePreparer::default()
    }

    fn taps_for(&mut self, cw: u32, ch: u32, lb: &Letterbox) -> (Vec<Taps>, Vec<Taps>) {
        let key = (cw, ch, lb.new_w, lb.new_h);
        if let Some((_, h, v)) = self.cache.iter().find(|(k, _, _)| *k == key) {
            return (h.clone(), v.clone());
        }
        let h = taps(cw as usize, lb.new_w as usize);
        let v = taps(ch as usize, lb.new_h as usize);
        self.cache.push((key, h.clone(), v.clone()));
        (h, v)
    }

    /// Writes the tile as interleaved RGB bytes (`in_w * in_h * 3`), letterboxed.
    pub fn tile_rgb(&mut self, pano: &Nv12Ref<'_>, tile: &Tile, lb: &Letterbox, out: &mut [u8]) {
        let (iw, ih) = (lb.in_w as usize, lb.in_h as usize);
        assert_eq!(out.len(), iw * ih * 3, "output size");
        out.fill(PAD_VALUE);
        let (cw, ch) = (tile.w as usize, tile.h as usize);
        let (x0, y0) = (tile.x as usize, tile.y as usize);
        // Crop to RGB, one row at a time (in parallel).
        let lut = tables();
        let mut rgb = vec![0f32; cw * ch * 3];
        rgb.par_chunks_mut(cw * 3).enumerate().for_each(|(r, row)| {
            let y = y0 + r;
            let yrow = &pano.y[y * pano.y_stride + x0..y * pano.y_stride + x0 + cw];
            let uvrow = &pano.uv[(y / 2) * pano.uv_stride..];
            for (c, (px, &yy)) in row.chunks_exact_mut(3).zip(yrow).enumerate() {
                let k = ((x0 + c) / 2) * 2;
                px.copy_from_slice(&lut.rgb(yy, uvrow[k], uvrow[k + 1]));
            }
        });
        let (nw, nh) = (lb.new_w as usize, lb.new_h as usize);
        let (left, top) = (lb.left as usize, lb.top as usize);
        let store = |v: f32| v.round().clamp(0.0, 255.0) as u8;
        if nw == cw && nh == ch {
            out.par_chunks_mut(iw * 3)
                .skip(top)
                .take(nh)
                .enumerate()
                .for_each(|(r, row)| {
                    for (o, v) in row[left * 3..(left + nw) * 3]
                        .iter_mut()
                        .zip(&rgb[r * cw * 3..(r + 1) * cw * 3])
                    {
                        *o = store(*v);
                    }
                });
            return;
        }
        let (ht, vt) = self.taps_for(tile.w, tile.h, lb);
        // Horizontal pass: ch rows of nw pixels.
        let mut mid = vec![0f32; nw * ch * 3];
        mid.par_chunks_mut(nw * 3).enumerate().for_each(|(r, row)| {
            let src = &rgb[r * cw * 3..(r + 1) * cw * 3];
            for (d, t) in ht.iter().enumerate() {
                let mut acc = [0f32; 3];
                for (i, w) in t.weights.iter().enumerate() {
                    let s = (t.start + i) * 3;
                    acc[0] += src[s] * w;
                    acc[1] += src[s + 1] * w;
                    acc[2] += src[s + 2] * w;
                }
                row[d * 3..d * 3 + 3].copy_from_slice(&acc);
            }
        });
        // Vertical pass into the letterboxed output.
        out.par_chunks_mut(iw * 3)
            .skip(top)
            .take(nh)
            .enumerate()
            .for_each(|(r, row)| {
                let t = &vt[r];
                let dst = &mut row[left * 3..(left + nw) * 3];
                for (c, o) in dst.iter_mut().enumerate() {
                    let mut acc = 0f32;
                    for (i, w) in t.weights.iter().enumerate() {
                        acc += mid[(t.start + i) * nw * 3 + c] * w;
                    }
                    *o = store(acc);
                }
            });
    }
}

/// Interleaved RGB bytes -> planar `[3, h, w]` floats in `[0, 1]` (appended to `out`).
pub fn rgb_to_planes(rgb: &[u8], out: &mut [f32]) {
    let n = rgb.len() / 3;
    assert_eq!(out.len(), n * 3, "plane size");
    let (r, rest) = out.split_at_mut(n);
    let (g, b) = rest.split_at_mut(n);
    for (i, px) in rgb.chunks_exact(3).enumerate() {
        r[i] = px[0] as f32 * (1.0 / 255.0);
        g[i] = px[1] as f32 * (1.0 / 255.0);
        b[i] = px[2] as f32 * (1.0 / 255.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::image::Nv12Image;

    #[test]
    fn letterbox_of_a_wide_crop_pads_top_and_bottom() {
        let lb = Letterbox::new(1024, 512, 640, 640);
        assert_eq!((lb.new_w, lb.new_h, lb.left, lb.top), (640, 320, 0, 160));
        let (x, y) = lb.to_crop(lb.to_input(100.0, 50.0).0, lb.to_input(100.0, 50.0).1);
        assert!((x - 100.0).abs() < 1e-9 && (y - 50.0).abs() < 1e-9);
        // Pixel centres: input pixel 0 covers crop pixels 0..1.6.
        assert!((lb.to_crop(0.0, 160.0).0 - 0.3).abs() < 1e-9);
    }

    #[test]
    fn table_conversion_matches_the_shared_one() {
        let t = YuvTables::new();
        for (y, u, v) in [
            (16u8, 128u8, 128u8),
            (235, 128, 128),
            (120, 90, 200),
            (60, 240, 16),
        ] {
            let a = t.rgb(y, u, v);
            let b = shared::image::yuv_to_rgb(y as f32, u as f32, v as f32);
            for k in 0..3 {
                assert!(
                    (a[k] - b[k] * 255.0).abs() < 1e-3,
                    "{y} {u} {v}: {a:?} {b:?}"
                );
            }
        }
    }

    #[test]
    fn taps_sum_to_one_and_stay_inside() {
        for (s, d) in [(1024, 640), (640, 640), (300, 640), (1900, 640)] {
            for t in taps(s, d) {
                let sum: f32 = t.weights.iter().sum();
                assert!((sum - 1.0).abs() < 1e-5);
                assert!(t.start + t.weights.len() <= s);
            }
        }
    }

    #[test]
    fn unscaled_tile_is_the_crop_in_rgb() {
        let mut img = Nv12Image::new(64, 32);
        for (i, p) in img.data[..64 * 32].iter_mut().enumerate() {
            *p = 16 + (i % 200) as u8;
        }
        let tile = Tile {
            id: 0,
            x: 8,
            y: 4,
            w: 16,
            h: 16,
            col: 0,
            row: 0,
        };
        let lb = Letterbox::new(16, 16, 16, 16);
        let mut out = vec![0u8; 16 * 16 * 3];
        TilePreparer::new().tile_rgb(&img.as_ref(), &tile, &lb, &mut out);
        // Grey (U = V = 128): R = G = B from luma.
        let y = img.luma(8 + 3, 4 + 2) as f32;
        let expect = ((y - 16.0) / 219.0 * 255.0).round() as u8;
        assert_eq!(&out[(2 * 16 + 3) * 3..(2 * 16 + 3) * 3 + 3], &[expect; 3]);
    }

    #[test]
    fn scaled_flat_tile_stays_flat_and_padding_is_grey() {
        let img = Nv12Image::new(200, 100);
        let tile = Tile {
            id: 0,
            x: 0,
            y: 0,
            w: 200,
            h: 100,
            col: 0,
            row: 0,
        };
        let lb = Letterbox::new(200, 100, 64, 64);
        let mut out = vec![0u8; 64 * 64 * 3];
        TilePreparer::new().tile_rgb(&img.as_ref(), &tile, &lb, &mut out);
        assert_eq!(out[0], PAD_VALUE);
        assert_eq!(out[(32 * 64 + 32) * 3], 0);
    }
}
