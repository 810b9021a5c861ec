//! The CPU stitch kernel: bilinear samples from each camera, gain look-up, feathered blend,
//! written straight into the output planes; bands of rows in parallel.

use super::table::{CompactTable, Tap};
use rayon::prelude::*;
use shared::image::{Nv12Mut, Nv12Ref};

/// Rows of chroma (two rows of luma each) per parallel task.
const BAND: usize = 8;

#[inline(always)]
fn bilinear(plane: &[u8], stride: usize, t: &Tap) -> u32 {
    let (x0, y0) = (t.x0 as usize, t.y0 as usize);
    let (fx, fy) = (t.fx as u32, t.fy as u32);
    let i = y0 * stride + x0;
    let dx = (fx != 0) as usize;
    let dy = if fy != 0 { stride } else { 0 };
    let p00 = plane[i] as u32;
    let p01 = plane[i + dx] as u32;
    let p10 = plane[i + dy] as u32;
    let p11 = plane[i + dy + dx] as u32;
    let top = p00 * (256 - fx) + p01 * fx;
    let bot = p10 * (256 - fx) + p11 * fx;
    (top * (256 - fy) + bot * fy + 32768) >> 16
}

#[inline(always)]
fn bilinear_uv(plane: &[u8], stride: usize, t: &Tap) -> (u32, u32) {
    let (x0, y0) = (t.x0 as usize, t.y0 as usize);
    let (fx, fy) = (t.fx as u32, t.fy as u32);
    let i = y0 * stride + 2 * x0;
    let dx = if fx != 0 { 2 } else { 0 };
    let dy = if fy != 0 { stride } else { 0 };
    let mut out = [0u32; 2];
    for (c, o) in out.iter_mut().enumerate() {
        let p00 = plane[i + c] as u32;
        let p01 = plane[i + c + dx] as u32;
        let p10 = plane[i + c + dy] as u32;
        let p11 = plane[i + c + dy + dx] as u32;
        let top = p00 * (256 - fx) + p01 * fx;
        let bot = p10 * (256 - fx) + p11 * fx;
        *o = (top * (256 - fy) + bot * fy + 32768) >> 16;
    }
    (out[0], out[1])
}

/// The weighted mean `acc / wsum`, rounded; `none` where no camera contributes. The weights
/// of a pixel sum to 256 wherever both cameras are present, so the division is a shift there
/// (every pixel but those of a missing camera).
#[inline(always)]
fn blend(acc: u32, wsum: u32, none: u8) -> u8 {
    if wsum == 256 {
        ((acc + 128) >> 8) as u8
    } else {
        (acc + wsum / 2).checked_div(wsum).map_or(none, |v| v as u8)
    }
}

/// Per-camera look-up tables applying the gain to luma and chroma.
pub struct GainLuts {
    pub y: [[u8; 256]; 2],
    pub c: [[u8; 256]; 2],
}

impl GainLuts {
    pub fn new(gains: [f32; 2]) -> GainLuts {
        let mut y = [[0u8; 256]; 2];
        let mut c = [[0u8; 256]; 2];
        for i in 0..2 {
            for v in 0..256 {
                y[i][v] = (16.0 + (v as f32 - 16.0) * gains[i])
                    .round()
                    .clamp(0.0, 255.0) as u8;
                c[i][v] = (128.0 + (v as f32 - 128.0) * gains[i])
                    .round()
                    .clamp(0.0, 255.0) as u8;
            }
        }
        GainLuts { y, c }
    }
}

/// Stitches both cameras into `out`. A missing camera (`None`) contributes nothing; pixels
/// only it sees stay black.
pub fn stitch(
    table: &CompactTable,
    cams: [Option<&Nv12Ref<'_>>; 2],
    luts: &GainLuts,
    out: &mut Nv12Mut<'_>,
) {
    let w = table.width;
    let (ys, uvs) = (out.y_stride, out.uv_stride);
    let present = [cams[0].is_some(), cams[1].is_some()];
    let y_planes: [(&[u8], usize); 2] =
        [0, 1].map(|i| cams[i].map(|c| (c.y, c.y_stride)).unwrap_or((&[][..], 0)));
    let uv_planes: [(&[u8], usize); 2] =
        [0, 1].map(|i| cams[i].map(|c| (c.uv, c.uv_stride)).unwrap_or((&[][..], 0)));
    let rows_c = table.height / 2;
    out.y
        .par_chunks_mut(ys * 2 * BAND)
        .zip(out.uv.par_chunks_mut(uvs * BAND))
        .enumerate()
        .for_each(|(band, (yband, uvband))| {
            let c0 = band * BAND;
            let c1 = (c0 + BAND).min(rows_c);
            for cy in c0..c1 {
                for ly in [2 * cy, 2 * cy + 1] {
                    let row = &mut yband[(ly - 2 * c0) * ys..(ly - 2 * c0) * ys + w];
                    let taps = &table.luma[ly * w..(ly + 1) * w];
                    for (px, t) in row.iter_mut().zip(taps) {
                        let mut acc = 0u32;
                        let mut wsum = 0u32;
                        for i in 0..2 {
                            let tp = &t[i];
                            if tp.w == 0 || !present[i] {
                                continue;
                            }
                            let s = bilinear(y_planes[i].0, y_planes[i].1, tp);
                            acc += luts.y[i][s as usize] as u32 * tp.w as u32;
                            wsum += tp.w as u32;
                        }
                        *px = blend(acc, wsum, 16);
                    }
                }
                let cw = w / 2;
                let row = &mut uvband[(cy - c0) * uvs..(cy - c0) * uvs + w];
                let taps = &table.chroma[cy * cw..(cy + 1) * cw];
                for (k, t) in taps.iter().enumerate() {
                    let (mut au, mut av, mut wsum) = (0u32, 0u32, 0u32);
                    for i in 0..2 {
                        let tp = &t[i];
                        if tp.w == 0 || !present[i] {
                            continue;
                        }
                        let (u, v) = bilinear_uv(uv_planes[i].0, uv_planes[i].1, tp);
                        au += luts.c[i][u as usize] as u32 * tp.w as u32;
                        av += luts.c[i][v as usize] as u32 * tp.w as u32;
                        wsum += tp.w as u32;
                    }
                    row[2 * k] = blend(au, wsum, 128);
                    row[2 * k + 1] = blend(av, wsum, 128);
                }
            }
        });
}

/// Mean luma minus 16 of each camera over the overlap sample (nearest sample, fast).
pub fn overlap_means(table: &CompactTable, cams: [Option<&Nv12Ref<'_>>; 2]) -> Option<[f32; 2]> {
    let (Some(a), Some(b)) = (cams[0], cams[1]) else {
        return None;
    };
    if table.overlap.is_empty() {
        return None;
    }
    let (mut s0, mut s1) = (0u64, 0u64);
    for t in &table.overlap {
        s0 += a.y[t[0].y0 as usize * a.y_stride + t[0].x0 as usize] as u64;
        s1 += b.y[t[1].y0 as usize * b.y_stride + t[1].x0 as usize] as u64;
    }
    let n = table.overlap.len() as f32;
    Some([s0 as f32 / n - 16.0, s1 as f32 / n - 16.0])
}
