//! Varied synthetic scenes for training tiles and for evaluation: the synthetic pitch at
//! several panorama sizes (so ball sizes vary), every ball scenario, per-camera exposure and
//! noise, and motion blur of the ball along its path during a random shutter time. Frames are
//! stitched by the real stitcher, seam included.

use crate::stitch::{CpuStitcher, GainSettings};
use crate::synthetic::{Exposure, SyntheticWorld};
use shared::geometry::{Calibration, StitchLut};
use shared::image::{Nv12Image, Nv12Mut};
use shared::scene::{BallScript, BallSource, GroundTruth, Scenario};
use shared::time::FrameRate;
use std::collections::HashMap;
use std::sync::Arc;

/// A small deterministic generator (SplitMix64): the same seed gives the same dataset.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[lo, hi)`.
    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64)
    }

    /// Uniform integer in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.range(0.0, 1.0) < p
    }
}

/// How scenes vary.
#[derive(Debug, Clone, PartialEq)]
pub struct SceneVariety {
    /// Panorama widths to draw from (multiples of 6; camera images are half as wide, 16:9).
    pub widths: Vec<u32>,
    /// Exposure gain range per camera.
    pub gain: (f64, f64),
    /// Luma noise amplitude range.
    pub noise: (f64, f64),
    /// Probability that a frame's ball is blurred by its motion, and the shutter range as a
    /// fraction of the frame time.
    pub blur_chance: f64,
    pub shutter: (f64, f64),
    /// Frames advanced between sampled frames.
    pub frame_step: (usize, usize),
    /// Where in the 120 s script a scene's first sampled frame is, seconds (drawn per scene).
    /// Sampling from the start only would show mostly the kick-off: the ball on the centre
    /// spot and in the open, rarely at a player's feet or in the air.
    pub start_s: (f64, f64),
}

impl Default for SceneVariety {
    fn default() -> Self {
        SceneVariety {
            widths: vec![1920, 2880, 3840, 5700],
            gain: (0.75, 1.3),
            noise: (0.5, 5.0),
            blur_chance: 0.5,
            shutter: (0.2, 1.0),
            frame_step: (3, 12),
            start_s: (0.0, 105.0),
        }
    }
}

/// One scene: a match at one panorama size with its own exposure, rendered frame by frame.
pub struct Scene {
    pub cal: Calibration,
    pub scenario: Scenario,
    world: SyntheticWorld,
    ball: BallSource,
    stitcher: CpuStitcher,
    cams: [Nv12Image; 2],
    /// The current stitched (and possibly blurred) panorama.
    pub pano: Nv12Image,
    rate: FrameRate,
    rng: Rng,
    variety: SceneVariety,
    /// Frame index of the first sampled frame.
    start_frame: u64,
}

/// One rendered frame's truth and what was done to it.
#[derive(Debug, Clone)]
pub struct SceneFrame {
    pub truth: GroundTruth,
    /// Ball motion during the shutter, panorama pixels (0 when not blurred).
    pub blur: (f64, f64),
}

/// Stitch tables by panorama width (computing them is the slow part of a new scene).
#[derive(Default)]
pub struct LutCache(HashMap<u32, Arc<StitchLut>>);

impl LutCache {
    fn get(&mut self, cal: &Calibration) -> Arc<StitchLut> {
        self.0
            .entry(cal.panorama.width)
            .or_insert_with(|| Arc::new(StitchLut::compute(cal)))
            .clone()
    }
}

/// The synthetic rig for a panorama width (cameras half as wide, 16:9, even sizes).
pub fn rig_for_width(width: u32) -> Calibration {
    let cw = (width / 2) & !1;
    let ch = ((cw as f64 * 9.0 / 16.0).round() as u32) & !1;
    Calibration::synthetic(width, cw, ch)
}

impl Scene {
    /// A new scene from `seed`; picks its size, scenario and exposure from `variety`.
    pub fn new(seed: u64, variety: &SceneVariety, luts: &mut LutCache) -> Scene {
        let mut rng = Rng::new(seed);
        let width = variety.widths[rng.below(variety.widths.len())];
        let cal = rig_for_width(width);
        let scenario = Scenario::ALL[rng.below(Scenario::ALL.len())];
        let ball = BallSource::Script(BallScript::generate(scenario, 120.0, seed, &cal.pitch));
        let exposure = [0, 1].map(|_| Exposure {
            gain: rng.range(variety.gain.0, variety.gain.1) as f32,
            noise: rng.range(variety.noise.0, variety.noise.1) as f32,
        });
        let rate = FrameRate::new(25, 1);
        let start_s = rng.range(variety.start_s.0, variety.start_s.1.max(variety.start_s.0));
        let start_frame = (start_s * rate.num as f64 / rate.den as f64).round() as u64;
        let world = SyntheticWorld::new(&cal, ball.clone(), seed, rate, exposure);
        let lut = luts.get(&cal);
        let sizes = [0, 1].map(|i| {
            (
                cal.cameras[i].width as usize,
                cal.cameras[i].height as usize,
            )
        });
        let stitcher = CpuStitcher::new(
            &lut,
            sizes,
            GainSettings {
                smoothing: 0.5,
                max_gain: 1.5,
            },
        );
        let cams = sizes.map(|(w, h)| Nv12Image::new(w, h));
        let pano = Nv12Image::new(cal.panorama.width as usize, cal.panorama.height as usize);
        Scene {
            cal,
            scenario,
            world,
            ball,
            stitcher,
            cams,
            pano,
            rate,
            rng,
            variety: variety.clone(),
            start_frame,
        }
    }

    /// Skips a random number of frames, renders and stitches the next one (blurring the ball
    /// sometimes) into [`Scene::pano`].
    pub fn next_frame(&mut self) -> SceneFrame {
        let (lo, hi) = self.variety.frame_step;
        let skip = lo + self.rng.below(hi.saturating_sub(lo) + 1);
        let first = self.world.next_index() == 0;
        if first {
            // Players and ball are simulated through the skipped part (cheap: no pixels).
            for _ in 0..self.start_frame {
                self.world.skip_next();
            }
        }
        for _ in 1..skip.max(1) {
            self.world.skip_next();
        }
        let [l, r] = &mut self.cams;
        let truth = self.world.render_next(&mut l.as_mut(), &mut r.as_mut());
        // Let the gain matcher settle on the scene's first frame.
        for _ in 0..if first { 4 } else { 1 } {
            let _ = self.stitcher.stitch(
                [Some(&self.cams[0].as_ref()), Some(&self.cams[1].as_ref())],
                &mut self.pano.as_mut(),
            );
        }
        let mut blur = (0.0, 0.0);
        if truth.ball.visible && self.rng.chance(self.variety.blur_chance) {
            let shutter = self
                .rng
                .range(self.variety.shutter.0, self.variety.shutter.1)
                * self.rate.frame_duration_ns() as f64
                / 1e9;
            let (a, b) = (
                self.ball.at(truth.t_s - shutter / 2.0),
                self.ball.at(truth.t_s + shutter / 2.0),
            );
            let (ax, ay) = self.cal.pitch_to_panorama(a.x, a.y, a.z);
            let (bx, by) = self.cal.pitch_to_panorama(b.x, b.y, b.z);
            blur = (bx - ax, by - ay);
            if blur.0.hypot(blur.1) > 0.7 {
                let r = truth.ball.diameter_px * 1.5 + 3.0;
                motion_blur(
                    &mut self.pano.as_mut(),
                    (truth.ball.px, truth.ball.py),
                    blur,
                    r,
                );
            } else {
                blur = (0.0, 0.0);
            }
        }
        SceneFrame { truth, blur }
    }

    pub fn rng(&mut self) -> &mut Rng {
        &mut self.rng
    }
}

fn sample(plane: &[u8], stride: usize, w: usize, h: usize, x: f64, y: f64) -> f64 {
    let x = x.clamp(0.0, (w - 1) as f64);
    let y = y.clamp(0.0, (h - 1) as f64);
    let (x0, y0) = (x.floor() as usize, y.floor() as usize);
    let (x1, y1) = ((x0 + 1).min(w - 1), (y0 + 1).min(h - 1));
    let (fx, fy) = (x - x0 as f64, y - y0 as f64);
    let p = |xx: usize, yy: usize| plane[yy * stride + xx] as f64;
    (p(x0, y0) * (1.0 - fx) + p(x1, y0) * fx) * (1.0 - fy)
        + (p(x0, y1) * (1.0 - fx) + p(x1, y1) * fx) * fy
}

/// Averages the image along `motion` (centred) inside a window around `centre` that covers
/// the streak: the look of an object moving during the exposure.
pub fn motion_blur(img: &mut Nv12Mut<'_>, centre: (f64, f64), motion: (f64, f64), radius: f64) {
    let (w, h) = (img.width, img.height);
    let len = motion.0.hypot(motion.1);
    let taps = (len.ceil() as usize * 2 + 1).clamp(3, 64);
    let x0 = (centre.0 - radius - motion.0.abs() / 2.0).floor().max(0.0) as usize;
    let x1 = ((centre.0 + radius + motion.0.abs() / 2.0).ceil() as usize).min(w - 1);
    let y0 = (centre.1 - radius - motion.1.abs() / 2.0).floor().max(0.0) as usize;
    let y1 = ((centre.1 + radius + motion.1.abs() / 2.0).ceil() as usize).min(h - 1);
    if x0 >= x1 || y0 >= y1 {
        return;
    }
    let ys = img.y_stride;
    let src: Vec<u8> = img.y.to_vec();
    for y in y0..=y1 {
        for x in x0..=x1 {
            let mut acc = 0.0;
            for k in 0..taps {
                let t = k as f64 / (taps - 1) as f64 - 0.5;
                acc += sample(
                    &src,
                    ys,
                    w,
                    h,
                    x as f64 + motion.0 * t,
                    y as f64 + motion.1 * t,
                );
            }
            img.y[y * ys + x] = (acc / taps as f64).round().clamp(0.0, 255.0) as u8;
        }
    }
    // Chroma at half resolution, each of U and V.
    let (cw, ch, us) = (w / 2, h / 2, img.uv_stride);
    let srcuv: Vec<u8> = img.uv.to_vec();
    for cy in y0 / 2..=(y1 / 2).min(ch - 1) {
        for cx in x0 / 2..=(x1 / 2).min(cw - 1) {
            for c in 0..2 {
                let mut acc = 0.0;
                for k in 0..taps {
                    let t = k as f64 / (taps - 1) as f64 - 0.5;
                    let sx = (cx as f64 + motion.0 / 2.0 * t).clamp(0.0, (cw - 1) as f64);
                    let sy = (cy as f64 + motion.1 / 2.0 * t).clamp(0.0, (ch - 1) as f64);
                    // Nearest chroma sample (interleaved U/V).
                    let (ix, iy) = (sx.round() as usize, sy.round() as usize);
                    acc += srcuv[iy * us + ix * 2 + c] as f64;
                }
                img.uv[cy * us + cx * 2 + c] = (acc / taps as f64).round() as u8;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rng_is_deterministic_and_in_range() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        for _ in 0..100 {
            let x = a.range(2.0, 3.0);
            assert_eq!(x, b.range(2.0, 3.0));
            assert!((2.0..3.0).contains(&x));
        }
    }

    #[test]
    fn blur_spreads_a_dot_along_the_motion() {
        let mut img = Nv12Image::new(40, 20);
        img.data[10 * 40 + 20] = 235;
        motion_blur(&mut img.as_mut(), (20.0, 10.0), (8.0, 0.0), 3.0);
        assert!(img.luma(20, 10) < 120);
        assert!(img.luma(23, 10) > 16 && img.luma(17, 10) > 16);
        assert_eq!(img.luma(20, 13), 16);
    }
}
