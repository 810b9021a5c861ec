//! The panorama view: a scaled copy of the (delayed) panorama with the ball and the players'
//! centre as the analyzer saw them, and the virtual camera's footprint. Drawn into NV12.

use crate::pose::Pose;
use crate::vcam::{sample, VirtualCamera};
use shared::image::{Nv12Mut, Nv12Ref};
use shared::messages::{TrackStatus, Tracks};

/// Bilinear downscale of an NV12 image.
pub fn scale(src: &Nv12Ref<'_>, dst: &mut Nv12Mut<'_>) {
    let (sx, sy) = (
        src.width as f32 / dst.width as f32,
        src.height as f32 / dst.height as f32,
    );
    let at = |i: usize, s: f32| ((i as f32 + 0.5) * s - 0.5).max(0.0);
    // The source column of every output column, once per image rather than per pixel.
    let cols: Vec<f32> = (0..dst.width).map(|x| at(x, sx)).collect();
    for y in 0..dst.height {
        let v = at(y, sy);
        let row = &mut dst.y[y * dst.y_stride..y * dst.y_stride + dst.width];
        for (p, &u) in row.iter_mut().zip(&cols) {
            *p = sample(src.y, src.y_stride, src.width, src.height, u, v, 1, 0);
        }
    }
    let (cw, ch) = (src.width / 2, src.height / 2);
    for y in 0..dst.height / 2 {
        let v = at(y, sy);
        let row = &mut dst.uv[y * dst.uv_stride..y * dst.uv_stride + 2 * (dst.width / 2)];
        for (pair, &u) in row.chunks_exact_mut(2).zip(&cols) {
            pair[0] = sample(src.uv, src.uv_stride, cw, ch, u, v, 2, 0);
            pair[1] = sample(src.uv, src.uv_stride, cw, ch, u, v, 2, 1);
        }
    }
}

/// A colour as (Y, U, V).
pub type Yuv = (u8, u8, u8);
const YELLOW: Yuv = (210, 16, 146);
const CYAN: Yuv = (170, 166, 16);
const WHITE: Yuv = (235, 128, 128);
const RED: Yuv = (81, 90, 240);

/// One overlay point: a view pixel (may lie outside the view) and its colour. Drawing is the
/// list of points applied in order, so the CPU and the GPU paint the same pixels.
pub type Dot = (i64, i64, Yuv);

fn line(dots: &mut Vec<Dot>, a: (f64, f64), b: (f64, f64), c: Yuv) {
    let n = ((b.0 - a.0).abs().max((b.1 - a.1).abs()).ceil() as usize).max(1);
    for i in 0..=n {
        let t = i as f64 / n as f64;
        let (x, y) = (a.0 + (b.0 - a.0) * t, a.1 + (b.1 - a.1) * t);
        dots.push((x.round() as i64, y.round() as i64, c));
        dots.push((x.round() as i64 + 1, y.round() as i64, c));
    }
}

fn circle(dots: &mut Vec<Dot>, cx: f64, cy: f64, r: f64, c: Yuv) {
    let n = (r * 8.0).max(16.0) as usize;
    for i in 0..n {
        let a0 = i as f64 / n as f64 * std::f64::consts::TAU;
        let a1 = (i + 1) as f64 / n as f64 * std::f64::consts::TAU;
        line(
            dots,
            (cx + r * a0.cos(), cy + r * a0.sin()),
            (cx + r * a1.cos(), cy + r * a1.sin()),
            c,
        );
    }
}

/// The overlays for a view scaled by `k` (view px per panorama px), as points in drawing
/// order. `players_px`: the players' centre in panorama pixels.
pub fn plan(
    k: f64,
    tracks: Option<&Tracks>,
    players_px: Option<(f64, f64)>,
    vcam: &VirtualCamera,
    pose: &Pose,
) -> Vec<Dot> {
    let mut dots = Vec::with_capacity(4096);
    // The virtual camera's footprint: its frame border mapped into the panorama.
    let border = vcam.border_pixels(pose);
    for w in border.windows(2) {
        line(
            &mut dots,
            (w[0].0 * k, w[0].1 * k),
            (w[1].0 * k, w[1].1 * k),
            WHITE,
        );
    }
    if let Some(t) = tracks {
        if let Some(b) = &t.ball {
            let c = match b.status {
                TrackStatus::Tracked => YELLOW,
                TrackStatus::Predicted => CYAN,
                TrackStatus::Lost => RED,
            };
            circle(&mut dots, b.px as f64 * k, b.py as f64 * k, 7.0, c);
        }
    }
    if let Some((x, y)) = players_px {
        let (x, y) = (x * k, y * k);
        line(&mut dots, (x - 8.0, y), (x + 8.0, y), RED);
        line(&mut dots, (x, y - 8.0), (x, y + 8.0), RED);
    }
    dots
}

/// Paints points in order: luma at the pixel, chroma of its 2x2 block. Points outside the
/// image are skipped.
pub fn apply(img: &mut Nv12Mut<'_>, dots: &[Dot]) {
    for &(x, y, c) in dots {
        if x < 0 || y < 0 || x >= img.width as i64 || y >= img.height as i64 {
            continue;
        }
        let (x, y) = (x as usize, y as usize);
        img.y[y * img.y_stride + x] = c.0;
        let k = (y / 2) * img.uv_stride + (x / 2) * 2;
        img.uv[k] = c.1;
        img.uv[k + 1] = c.2;
    }
}

/// The byte writes that [`apply`] makes to a packed NV12 frame (`pitch` bytes per row, the
/// chroma plane right after the luma plane), each offset once with its last value: what the
/// GPU scatters.
pub fn resolve(dots: &[Dot], width: usize, height: usize, pitch: usize) -> Vec<[u32; 2]> {
    let mut writes = Vec::with_capacity(dots.len() * 3);
    for &(x, y, c) in dots {
        if x < 0 || y < 0 || x >= width as i64 || y >= height as i64 {
            continue;
        }
        let (x, y) = (x as usize, y as usize);
        let k = pitch * height + (y / 2) * pitch + (x / 2) * 2;
        writes.push([(y * pitch + x) as u32, c.0 as u32]);
        writes.push([k as u32, c.1 as u32]);
        writes.push([k as u32 + 1, c.2 as u32]);
    }
    let mut seen = std::collections::HashSet::with_capacity(writes.len());
    let mut unique: Vec<[u32; 2]> = writes
        .into_iter()
        .rev()
        .filter(|w| seen.insert(w[0]))
        .collect();
    unique.reverse();
    unique
}

/// Draws the overlays onto a view scaled by `k` (view px per panorama px).
/// `players_px`: the players' centre in panorama pixels.
pub fn draw(
    img: &mut Nv12Mut<'_>,
    k: f64,
    tracks: Option<&Tracks>,
    players_px: Option<(f64, f64)>,
    vcam: &VirtualCamera,
    pose: &Pose,
) {
    apply(img, &plan(k, tracks, players_px, vcam, pose));
}
