//! Rendering the scene into a view: the static background once (2x2 supersampled), the
//! moving shapes per frame into their screen bounding boxes only, then exposure and noise.

use super::objects::{shapes, Hit, Shape};
use super::paint::background_color;
use super::view::View;
use nalgebra::Vector3;
use rayon::prelude::*;
use shared::geometry::Calibration;
use shared::image::{rgb_to_yuv, Nv12Image, Nv12Mut, Rgb};
use shared::scene::SceneFrame;

/// Sub-sample offsets for 2x2 supersampling.
const SUB: [(f64, f64); 4] = [(-0.25, -0.25), (0.25, -0.25), (-0.25, 0.25), (0.25, 0.25)];

/// Per-camera exposure: `Y' = 16 + (Y - 16) * gain`, chroma scaled the same way about 128.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Exposure {
    pub gain: f32,
    /// Amplitude of the per-pixel luma noise (code values).
    pub noise: f32,
}

impl Exposure {
    pub const NEUTRAL: Exposure = Exposure {
        gain: 1.0,
        noise: 0.0,
    };
}

/// Renders one view of the scene.
pub struct ViewRenderer {
    view: Box<dyn View + Send>,
    width: usize,
    height: usize,
    cal: Calibration,
    origin: Vector3<f64>,
    bg_rgb: Vec<Rgb>,
    bg: Nv12Image,
    /// Colours of the current frame inside dirty boxes (background elsewhere).
    work: Vec<Rgb>,
    noise: Vec<i8>,
}

#[derive(Debug, Clone, Copy)]
struct BBox {
    x0: usize,
    y0: usize,
    x1: usize,
    y1: usize,
}

impl ViewRenderer {
    /// Renders the static background (multi-threaded). Sizes must be even.
    pub fn new(cal: &Calibration, view: Box<dyn View + Send>) -> ViewRenderer {
        let (w, h) = view.size();
        let origin = cal.rig_origin();
        let mut bg_rgb = vec![[0f32; 3]; w * h];
        bg_rgb.par_chunks_mut(w).enumerate().for_each(|(y, row)| {
            for (x, px) in row.iter_mut().enumerate() {
                let mut acc = [0f32; 3];
                for (dx, dy) in SUB {
                    let c = match view.dir(x as f64 + dx, y as f64 + dy) {
                        Some(d) => {
                            background_color(&cal.pitch, &origin, &cal.rig_dir_to_pitch_dir(&d))
                        }
                        None => [0.0, 0.0, 0.0],
                    };
                    for k in 0..3 {
                        acc[k] += c[k] * 0.25;
                    }
                }
                *px = acc;
            }
        });
        let mut bg = Nv12Image::new(w, h);
        rgb_to_nv12(
            &bg_rgb,
            w,
            &mut bg.as_mut(),
            BBox {
                x0: 0,
                y0: 0,
                x1: w,
                y1: h,
            },
        );
        // A fixed noise field; each frame reads it at another offset.
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let noise = (0..(w * h + 65_536))
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                // Sum of two uniforms: a triangular distribution in -8..8.
                (((state & 0xF) as i32 + ((state >> 8) & 0xF) as i32) - 15) as i8
            })
            .collect();
        ViewRenderer {
            work: bg_rgb.clone(),
            bg_rgb,
            bg,
            view,
            width: w,
            height: h,
            cal: cal.clone(),
            origin,
            noise,
        }
    }

    pub fn size(&self) -> (usize, usize) {
        (self.width, self.height)
    }

    /// The static background alone (NV12).
    pub fn background(&self) -> &Nv12Image {
        &self.bg
    }

    fn bbox(&self, shape: &Shape) -> Option<BBox> {
        let mut b = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
        for p in shape.bounds() {
            let rig = self.cal.pitch_to_dir(p.x, p.y, p.z);
            let (x, y) = self.view.project(&rig)?;
            b = (b.0.min(x), b.1.min(y), b.2.max(x), b.3.max(y));
        }
        let x0 = (b.0.floor() - 1.0).max(0.0) as usize;
        let y0 = (b.1.floor() - 1.0).max(0.0) as usize;
        let x1 = ((b.2.ceil() + 2.0).max(0.0) as usize).min(self.width);
        let y1 = ((b.3.ceil() + 2.0).max(0.0) as usize).min(self.height);
        // Nothing on screen, or a shape right in front of the lens covering the view.
        if x0 >= x1 || y0 >= y1 || (x1 - x0) * (y1 - y0) > self.width * self.height / 4 {
            return None;
        }
        Some(BBox { x0, y0, x1, y1 })
    }

    fn draw(&mut self, shape: &Shape, b: BBox) {
        for y in b.y0..b.y1 {
            for x in b.x0..b.x1 {
                let mut acc = [0f32; 3];
                let mut hits = 0f32;
                let mut darken = 0f32;
                for (dx, dy) in SUB {
                    let Some(d) = self.view.dir(x as f64 + dx, y as f64 + dy) else {
                        continue;
                    };
                    match shape.hit(&self.origin, &self.cal.rig_dir_to_pitch_dir(&d)) {
                        Some(Hit::Color(c)) => {
                            for k in 0..3 {
                                acc[k] += c[k];
                            }
                            hits += 1.0;
                        }
                        Some(Hit::Darken(s)) => darken += s * 0.25,
                        None => {}
                    }
                }
                let p = &mut self.work[y * self.width + x];
                if hits > 0.0 {
                    for k in 0..3 {
                        p[k] = (acc[k] + (4.0 - hits) * p[k]) / 4.0;
                    }
                }
                if darken > 0.0 {
                    for v in p.iter_mut() {
                        *v *= 1.0 - darken;
                    }
                }
            }
        }
    }

    /// Renders `frame` into `out` (same size as the view), with exposure and noise.
    /// `frame_index` moves the noise pattern.
    pub fn render(
        &mut self,
        frame: &SceneFrame,
        exposure: Exposure,
        frame_index: u64,
        out: &mut Nv12Mut<'_>,
    ) {
        let (w, h) = (self.width, self.height);
        for r in 0..h {
            out.y[r * out.y_stride..r * out.y_stride + w]
                .copy_from_slice(&self.bg.data[r * w..(r + 1) * w]);
        }
        let off = w * h;
        for r in 0..h / 2 {
            out.uv[r * out.uv_stride..r * out.uv_stride + w]
                .copy_from_slice(&self.bg.data[off + r * w..off + (r + 1) * w]);
        }
        let mut dirty = Vec::new();
        for s in shapes(frame, &self.origin) {
            if let Some(b) = self.bbox(&s) {
                self.draw(&s, b);
                dirty.push(b);
            }
        }
        for b in &dirty {
            // Chroma works on 2x2 blocks: widen to even bounds.
            let b = BBox {
                x0: b.x0 & !1,
                y0: b.y0 & !1,
                x1: ((b.x1 + 1) & !1).min(w),
                y1: ((b.y1 + 1) & !1).min(h),
            };
            rgb_to_nv12(&self.work, w, out, b);
        }
        for b in &dirty {
            for y in b.y0..b.y1 {
                let r = y * w;
                self.work[r + b.x0..r + b.x1].copy_from_slice(&self.bg_rgb[r + b.x0..r + b.x1]);
            }
        }
        apply_exposure(out, exposure, &self.noise, frame_index);
    }
}

fn apply_exposure(out: &mut Nv12Mut<'_>, e: Exposure, noise: &[i8], frame_index: u64) {
    if e == Exposure::NEUTRAL {
        return;
    }
    let (w, h) = (out.width, out.height);
    // Luma and noise in 1/256 code values, so that the per-pixel work is two look-ups, an
    // add and a clamp (the renderer runs in real time beside the system it feeds).
    let mut yfix = [0i32; 256];
    let mut nfix = [0i32; 256];
    let mut clut = [0u8; 256];
    let amp = e.noise / 8.0;
    for i in 0..256 {
        yfix[i] = ((16.0 + (i as f32 - 16.0) * e.gain) * 256.0).round() as i32;
        nfix[i] = ((i as u8 as i8) as f32 * amp * 256.0).round() as i32;
        clut[i] = (128.0 + (i as f32 - 128.0) * e.gain)
            .round()
            .clamp(0.0, 255.0) as u8;
    }
    let start = (frame_index.wrapping_mul(7919) % 65_536) as usize;
    for r in 0..h {
        let row = &mut out.y[r * out.y_stride..r * out.y_stride + w];
        let nrow = &noise[start + r * w..start + (r + 1) * w];
        for (p, n) in row.iter_mut().zip(nrow) {
            let v = yfix[*p as usize] + nfix[*n as u8 as usize];
            *p = ((v + 128) >> 8).clamp(0, 255) as u8;
        }
    }
    for r in 0..h / 2 {
        for p in out.uv[r * out.uv_stride..r * out.uv_stride + w].iter_mut() {
            *p = clut[*p as usize];
        }
    }
}

/// Converts the RGB pixels of `b` into NV12 (chroma from the 2x2 average).
fn rgb_to_nv12(rgb: &[Rgb], w: usize, out: &mut Nv12Mut<'_>, b: BBox) {
    for y in b.y0..b.y1 {
        for x in b.x0..b.x1 {
            let (yy, _, _) = rgb_to_yuv(rgb[y * w + x]);
            out.y[y * out.y_stride + x] = yy.round().clamp(0.0, 255.0) as u8;
        }
    }
    for cy in (b.y0 / 2)..(b.y1 / 2) {
        for cx in (b.x0 / 2)..(b.x1 / 2) {
            let mut a = [0f32; 3];
            for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                let c = rgb[(cy * 2 + dy) * w + cx * 2 + dx];
                for k in 0..3 {
                    a[k] += c[k] * 0.25;
                }
            }
            let (_, u, v) = rgb_to_yuv(a);
            out.uv[cy * out.uv_stride + cx * 2] = u.round().clamp(0.0, 255.0) as u8;
            out.uv[cy * out.uv_stride + cx * 2 + 1] = v.round().clamp(0.0, 255.0) as u8;
        }
    }
}
