//! The stitch tables in the form the CPU kernel reads: per output pixel and camera, the
//! integer source position, 8-bit bilinear fractions and a weight out of 256. One table for
//! the luma plane and one for the half-resolution chroma plane.

use shared::geometry::StitchLut;

/// One camera's contribution to one output pixel.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(C)]
pub struct Tap {
    pub x0: u16,
    pub y0: u16,
    pub fx: u8,
    pub fy: u8,
    /// Weight out of 256; 0 = this camera does not contribute.
    pub w: u16,
}

/// Kernel-ready tables.
#[derive(Debug, Clone)]
pub struct CompactTable {
    pub width: usize,
    pub height: usize,
    pub luma: Vec<[Tap; 2]>,
    pub chroma: Vec<[Tap; 2]>,
    /// Camera image sizes the taps index into.
    pub src: [(usize, usize); 2],
    /// Luma taps of a sample of pixels both cameras see (for gain measurement).
    pub overlap: Vec<[Tap; 2]>,
}

fn tap(x: f32, y: f32, w: f32, max_x: usize, max_y: usize) -> Tap {
    if w <= 0.0 || x < 0.0 || y < 0.0 {
        return Tap::default();
    }
    let xi = (x as f64 * 256.0).round() as i64;
    let yi = (y as f64 * 256.0).round() as i64;
    let (mut x0, mut fx) = ((xi >> 8) as usize, (xi & 255) as u8);
    let (mut y0, mut fy) = ((yi >> 8) as usize, (yi & 255) as u8);
    // The last column/row has no right/lower neighbour: sample it exactly.
    if x0 >= max_x {
        x0 = max_x;
        fx = 0;
    }
    if y0 >= max_y {
        y0 = max_y;
        fy = 0;
    }
    Tap {
        x0: x0 as u16,
        y0: y0 as u16,
        fx,
        fy,
        w: 0,
    }
}

/// Splits weights `a + b = 1` into integers summing to 256 (or 0 where neither is valid).
fn weights(a: f32, b: f32) -> (u16, u16) {
    match (a > 0.0, b > 0.0) {
        (false, false) => (0, 0),
        (true, false) => (256, 0),
        (false, true) => (0, 256),
        (true, true) => {
            let wa = ((a / (a + b)) * 256.0).round().clamp(0.0, 256.0) as u16;
            (wa, 256 - wa)
        }
    }
}

impl CompactTable {
    pub fn from_lut(lut: &StitchLut, src: [(usize, usize); 2]) -> CompactTable {
        let (w, h) = (lut.width as usize, lut.height as usize);
        let c = &lut.cams;
        let mut luma = Vec::with_capacity(w * h);
        for k in 0..w * h {
            let (wa, wb) = weights(c[0].w[k], c[1].w[k]);
            let mut a = tap(c[0].x[k], c[0].y[k], c[0].w[k], src[0].0 - 1, src[0].1 - 1);
            let mut b = tap(c[1].x[k], c[1].y[k], c[1].w[k], src[1].0 - 1, src[1].1 - 1);
            a.w = wa;
            b.w = wb;
            if wa == 0 {
                a = Tap::default();
            }
            if wb == 0 {
                b = Tap::default();
            }
            luma.push([a, b]);
        }
        // Chroma: each 2x2 luma block; source position at the block centre, in the
        // half-resolution chroma plane of the camera.
        let (cw, ch) = (w / 2, h / 2);
        let mut chroma = Vec::with_capacity(cw * ch);
        for cy in 0..ch {
            for cx in 0..cw {
                let ks = [
                    (2 * cy) * w + 2 * cx,
                    (2 * cy) * w + 2 * cx + 1,
                    (2 * cy + 1) * w + 2 * cx,
                    (2 * cy + 1) * w + 2 * cx + 1,
                ];
                let mut taps = [Tap::default(); 2];
                let mut ws = [0f32; 2];
                for i in 0..2 {
                    let valid = ks.iter().all(|&k| c[i].w[k] > 0.0);
                    if !valid {
                        continue;
                    }
                    let mx = ks.iter().map(|&k| c[i].x[k]).sum::<f32>() / 4.0;
                    let my = ks.iter().map(|&k| c[i].y[k]).sum::<f32>() / 4.0;
                    ws[i] = ks.iter().map(|&k| c[i].w[k]).sum::<f32>() / 4.0;
                    let (sw, sh) = (src[i].0 / 2, src[i].1 / 2);
                    taps[i] = tap(
                        ((mx + 0.5) / 2.0 - 0.5).max(0.0),
                        ((my + 0.5) / 2.0 - 0.5).max(0.0),
                        ws[i],
                        sw - 1,
                        sh - 1,
                    );
                }
                let (wa, wb) = weights(ws[0], ws[1]);
                taps[0].w = wa;
                taps[1].w = wb;
                chroma.push(taps);
            }
        }
        let both: Vec<[Tap; 2]> = luma
            .iter()
            .copied()
            .filter(|t| t[0].w > 0 && t[1].w > 0)
            .collect();
        let step = (both.len() / 20_000).max(1);
        let overlap = both.into_iter().step_by(step).collect();
        CompactTable {
            width: w,
            height: h,
            luma,
            chroma,
            src,
            overlap,
        }
    }
}
