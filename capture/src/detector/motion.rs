//! The motion cue: a cheap look at every panorama for a ball that moves, between the
//! detector's passes.
//!
//! The cameras are fixed, so the panorama's background (grass, paint, goals, stands) stays
//! put. A running average of each pixel's luma is that background; a pixel clearly brighter
//! than it and bright in itself is foreground that may be the (white) ball. Foreground pixels
//! are grouped into blobs, and a blob is taken for a ball when its size matches a ball's at
//! that place in the panorama (from the calibration), it is about round and filled, little
//! around it has changed, and its four sides look alike (a ball on the grass has grass all
//! round; a player's sock has the shorts above it, a head the shirt below it). Shadows and
//! the spot a ball has left are darker than the background and never count.
//!
//! What it cannot see: a ball lying still (it fades into the background within seconds), a
//! ball against a player, or a ball that is not brighter than the grass. The detector covers
//! those; the cue only adds sightings between its passes, marked as such
//! (`RawDetections::motion`), so that a frame without a cue sighting is not taken as "no
//! ball". Pure logic: luma in, detections out.

use super::mask::PanoramaMask;
use shared::geometry::Calibration;
use shared::messages::Detection;
use shared::scene::BALL_RADIUS_M;

/// Settings of the motion cue.
#[derive(Debug, Clone, PartialEq)]
pub struct MotionSettings {
    /// Luma above the background, code values, for a pixel to be foreground.
    pub rise_min: u8,
    /// Least luma of a foreground pixel (a ball is white; grass and kit colours moving over
    /// grass are not this bright).
    pub luma_min: u8,
    /// The background follows a background pixel by 1/2^`learn_shift` of the difference per
    /// frame, and a foreground pixel by 1/2^`hold_shift` (a ball that stops fades into the
    /// background in a few seconds rather than in a few frames).
    pub learn_shift: u32,
    pub hold_shift: u32,
    /// Frames at the start that only build the background.
    pub warmup_frames: u32,
    /// Blob size relative to the ball's expected diameter at its place: accepted range.
    pub size_ratio: (f32, f32),
    /// Share of changed pixels (either way) around a blob above which it is part of
    /// something else that moved.
    pub clutter_max: f32,
    /// Largest difference of mean luma between the sides of a blob (above, below, left,
    /// right) for it to stand alone on the grass, code values.
    pub sides_max: f32,
    /// Share of the field's pixels in the foreground above which the frame is not looked at
    /// (light changed, camera moved): the background is taken over from the frame instead.
    pub flood_max: f32,
    /// Score given to a cue sighting (below the analyzer's two-in-a-row confirmation score,
    /// so that the cue alone confirms a ball only over several frames).
    pub score: f32,
    /// Most sightings per frame (the largest contrast first).
    pub max_sightings: usize,
}

impl Default for MotionSettings {
    fn default() -> Self {
        MotionSettings {
            rise_min: 18,
            luma_min: 130,
            learn_shift: 3,
            hold_shift: 3,
            warmup_frames: 5,
            size_ratio: (0.4, 2.2),
            clutter_max: 0.12,
            sides_max: 10.0,
            flood_max: 0.05,
            score: 0.5,
            max_sightings: 6,
        }
    }
}

/// What the cue counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct MotionCounts {
    /// Frames looked at (after the warm-up).
    pub frames: u64,
    /// Frames not looked at because too much of the field changed at once.
    pub flooded: u64,
    /// Blobs found, and of them taken for a ball.
    pub blobs: u64,
    pub sightings: u64,
    /// Sightings beyond `max_sightings` in a frame.
    pub truncated: u64,
}

/// Height above the pitch that the cue looks up to, metres (a goal kick peaks near 30 m,
/// most lofted passes below 15 m).
pub const MASK_HEIGHT_M: f64 = 15.0;

/// Cells of the expected-diameter table, pixels.
const CELL: usize = 16;

/// The motion cue over one panorama size.
pub struct MotionCue {
    settings: MotionSettings,
    width: usize,
    height: usize,
    /// Per row, the field's pixels `[x0, x1)` (empty when `x0 >= x1`).
    spans: Vec<(usize, usize)>,
    field_pixels: usize,
    /// Background luma times 16.
    background: Vec<u16>,
    /// Expected ball diameter in pixels per `CELL`x`CELL` cell (0: no ball can be there).
    diameter: Vec<f32>,
    cells_x: usize,
    ball_class: u16,
    seen: u32,
    foreground: Vec<u32>,
    /// Rise above the background of each foreground pixel (times 16).
    rises: Vec<i32>,
    pub counts: MotionCounts,
}

/// One connected group of foreground pixels.
#[derive(Debug, Clone, Copy)]
struct Blob {
    n: u32,
    x0: usize,
    y0: usize,
    x1: usize,
    y1: usize,
    /// Sums of rise-weighted coordinates and of the rises.
    sx: f64,
    sy: f64,
    sw: f64,
    /// Largest rise above the background (times 16).
    peak: i32,
}

impl MotionCue {
    /// A cue for panoramas of `cal`, looking inside `mask`, reporting class `ball_class`.
    pub fn new(
        cal: &Calibration,
        mask: &PanoramaMask,
        ball_class: u16,
        settings: MotionSettings,
    ) -> MotionCue {
        let (width, height) = (cal.panorama.width as usize, cal.panorama.height as usize);
        let spans = row_spans(mask, width, height);
        let field_pixels = spans.iter().map(|&(a, b)| b.saturating_sub(a)).sum();
        let cells_x = width.div_ceil(CELL);
        let cells_y = height.div_ceil(CELL);
        let mut diameter = vec![0.0f32; cells_x * cells_y];
        for cy in 0..cells_y {
            for cx in 0..cells_x {
                let (u, v) = ((cx * CELL + CELL / 2) as f64, (cy * CELL + CELL / 2) as f64);
                diameter[cy * cells_x + cx] = expected_diameter(cal, u, v);
            }
        }
        // A ball in the air is nearer than where its sight line meets the grass, so never
        // smaller than the smallest ball on the pitch.
        let floor = cal
            .pitch
            .outline(0.0)
            .iter()
            .map(|&(x, y)| {
                let (u, v) = cal.pitch_to_panorama(x, y, BALL_RADIUS_M);
                expected_diameter(cal, u, v)
            })
            .filter(|d| *d > 0.0)
            .fold(f32::INFINITY, f32::min);
        if floor.is_finite() {
            for d in &mut diameter {
                *d = d.max(floor);
            }
        }
        MotionCue {
            settings,
            width,
            height,
            spans,
            field_pixels,
            background: vec![0; width * height],
            diameter,
            cells_x,
            ball_class,
            seen: 0,
            foreground: Vec::new(),
            rises: Vec::new(),
            counts: MotionCounts::default(),
        }
    }

    pub fn width(&self) -> usize {
        self.width
    }

    pub fn height(&self) -> usize {
        self.height
    }

    /// The ball's expected diameter in pixels at panorama pixel `(x, y)` (0 above the
    /// horizon).
    pub fn expected_diameter_at(&self, x: f64, y: f64) -> f32 {
        let cx = (x.max(0.0) as usize / CELL).min(self.cells_x - 1);
        let cy = (y.max(0.0) as usize / CELL).min(self.diameter.len() / self.cells_x - 1);
        self.diameter[cy * self.cells_x + cx]
    }

    /// Looks at one frame's luma plane (`stride` bytes per row, at least the panorama's
    /// size) and returns the balls it takes to be moving, best first.
    pub fn observe(&mut self, luma: &[u8], stride: usize) -> Vec<Detection> {
        assert!(stride >= self.width && luma.len() >= stride * (self.height - 1) + self.width);
        if self.seen < self.settings.warmup_frames {
            self.seen += 1;
            self.learn_all(luma, stride, self.seen == 1);
            return Vec::new();
        }
        self.counts.frames += 1;
        self.find_foreground(luma, stride);
        let flood = (self.settings.flood_max * self.field_pixels as f32) as usize;
        if self.foreground.len() > flood.max(16) {
            self.counts.flooded += 1;
            self.learn_all(luma, stride, true);
            return Vec::new();
        }
        let blobs = self.blobs();
        self.counts.blobs += blobs.len() as u64;
        let mut found: Vec<(f64, Detection)> = blobs
            .iter()
            .filter_map(|b| self.as_ball(b, luma, stride))
            .collect();
        found.sort_by(|a, b| b.0.total_cmp(&a.0));
        let keep = found.len().min(self.settings.max_sightings);
        self.counts.truncated += (found.len() - keep) as u64;
        self.counts.sightings += keep as u64;
        found.into_iter().take(keep).map(|(_, d)| d).collect()
    }

    /// The background taken over from the frame (`reset`) or moved towards it everywhere.
    fn learn_all(&mut self, luma: &[u8], stride: usize, reset: bool) {
        for y in 0..self.height {
            let row = &luma[y * stride..y * stride + self.width];
            let bg = &mut self.background[y * self.width..(y + 1) * self.width];
            for (b, &c) in bg.iter_mut().zip(row) {
                let c = (c as i32) << 4;
                *b = if reset {
                    c as u16
                } else {
                    (*b as i32 + ((c - *b as i32) >> 1)) as u16
                };
            }
        }
    }

    /// Collects the field's foreground pixels (indices, in scan order) and moves the
    /// background towards the frame.
    fn find_foreground(&mut self, luma: &[u8], stride: usize) {
        self.foreground.clear();
        self.rises.clear();
        let rise = (self.settings.rise_min as i32) << 4;
        let bright = self.settings.luma_min;
        let (learn, hold) = (self.settings.learn_shift, self.settings.hold_shift);
        for y in 0..self.height {
            let (x0, x1) = self.spans[y];
            if x0 >= x1 {
                continue;
            }
            let row = &luma[y * stride + x0..y * stride + x1];
            let base = y * self.width + x0;
            let bg = &mut self.background[base..base + (x1 - x0)];
            for (i, (b, &c)) in bg.iter_mut().zip(row).enumerate() {
                let d = ((c as i32) << 4) - *b as i32;
                let fg = d > rise && c >= bright;
                if fg {
                    self.foreground.push((base + i) as u32);
                    self.rises.push(d);
                }
                *b = (*b as i32 + (d >> if fg { hold } else { learn })) as u16;
            }
        }
    }

    /// Groups the foreground pixels into 8-connected blobs.
    fn blobs(&self) -> Vec<Blob> {
        let fg = &self.foreground;
        let rises = &self.rises;
        let w = self.width as u32;
        let mut parent: Vec<u32> = (0..fg.len() as u32).collect();
        fn root(p: &mut [u32], mut i: u32) -> u32 {
            while p[i as usize] != i {
                p[i as usize] = p[p[i as usize] as usize];
                i = p[i as usize];
            }
            i
        }
        for k in 0..fg.len() {
            let idx = fg[k];
            let x = idx % w;
            let join = |other: u32, p: &mut Vec<u32>| {
                if let Ok(j) = fg[..k].binary_search(&other) {
                    let (a, b) = (root(p, k as u32), root(p, j as u32));
                    if a != b {
                        p[a as usize] = b;
                    }
                }
            };
            if x > 0 {
                join(idx - 1, &mut parent);
            }
            if idx >= w {
                let up = idx - w;
                join(up, &mut parent);
                if x > 0 {
                    join(up - 1, &mut parent);
                }
                if x + 1 < w {
                    join(up + 1, &mut parent);
                }
            }
        }
        let mut index_of = vec![u32::MAX; fg.len()];
        let mut blobs: Vec<Blob> = Vec::new();
        for k in 0..fg.len() {
            let r = root(&mut parent, k as u32) as usize;
            let (x, y) = ((fg[k] % w) as usize, (fg[k] / w) as usize);
            if index_of[r] == u32::MAX {
                index_of[r] = blobs.len() as u32;
                blobs.push(Blob {
                    n: 0,
                    x0: x,
                    y0: y,
                    x1: x,
                    y1: y,
                    sx: 0.0,
                    sy: 0.0,
                    sw: 0.0,
                    peak: 0,
                });
            }
            let b = &mut blobs[index_of[r] as usize];
            b.n += 1;
            b.x0 = b.x0.min(x);
            b.x1 = b.x1.max(x);
            b.y0 = b.y0.min(y);
            b.y1 = b.y1.max(y);
            b.sx += x as f64 + 0.5;
            b.sy += y as f64 + 0.5;
            b.sw += 1.0;
            b.peak = b.peak.max(rises[k]);
        }
        blobs
    }

    /// The blob as a ball sighting with its contrast, if it looks like one.
    fn as_ball(&self, b: &Blob, luma: &[u8], stride: usize) -> Option<(f64, Detection)> {
        let (cx, cy) = (b.sx / b.sw, b.sy / b.sw);
        let expected = self.expected_diameter_at(cx, cy);
        if expected <= 0.0 {
            return None;
        }
        let (bw, bh) = ((b.x1 - b.x0 + 1) as f32, (b.y1 - b.y0 + 1) as f32);
        let size = bw.max(bh);
        let (lo, hi) = self.settings.size_ratio;
        if size < lo * expected || size > hi * expected + 1.0 {
            return None;
        }
        // A single pixel is a ball's core only with a clear rise (noise rarely makes one).
        // (1.5 times `rise_min`, in sixteenths)
        if b.n == 1 && b.peak < 24 * self.settings.rise_min as i32 {
            return None;
        }
        if bw.max(bh) / bw.min(bh) > 2.5 || (b.n as f32) < 0.35 * bw * bh {
            return None;
        }
        let clutter = self.clutter_around(b, expected, luma, stride);
        if clutter > self.settings.clutter_max {
            return None;
        }
        if self.sides_differ(b, expected, luma, stride) > self.settings.sides_max {
            return None;
        }
        let rank = f64::from(1.0 - clutter) * 100.0 + f64::from(b.n.min(50));
        // The blob is the bright core; the ball's box is its expected size, at least the blob.
        let side = size.max(expected);
        Some((
            rank,
            Detection {
                cx: cx as f32,
                cy: cy as f32,
                w: side,
                h: side,
                class_id: self.ball_class,
                score: self.settings.score,
                tile: 0,
            },
        ))
    }

    /// Largest difference of mean luma between the four strips around the blob (above,
    /// below, left, right; one expected diameter wide): a ball on the grass or against the
    /// stands has the same around it on every side, a player's sock has the shorts above it
    /// and a head the shirt below it.
    fn sides_differ(&self, b: &Blob, expected: f32, luma: &[u8], stride: usize) -> f32 {
        let r = expected.ceil() as usize + 1;
        let (w, h) = (self.width, self.height);
        let mean = |x0: usize, x1: usize, y0: usize, y1: usize| -> Option<f32> {
            let (x1, y1) = (x1.min(w), y1.min(h));
            if x0 >= x1 || y0 >= y1 {
                return None;
            }
            let mut sum = 0u32;
            for y in y0..y1 {
                sum += luma[y * stride + x0..y * stride + x1]
                    .iter()
                    .map(|&v| u32::from(v))
                    .sum::<u32>();
            }
            Some(sum as f32 / ((x1 - x0) * (y1 - y0)) as f32)
        };
        let (x0, x1, y0, y1) = (b.x0, b.x1 + 1, b.y0, b.y1 + 1);
        let strips = [
            mean(x0, x1, y0.saturating_sub(1 + r), y0.saturating_sub(1)),
            mean(x0, x1, y1 + 1, y1 + 1 + r),
            mean(x0.saturating_sub(1 + r), x0.saturating_sub(1), y0, y1),
            mean(x1 + 1, x1 + 1 + r, y0, y1),
        ];
        let m: Vec<f32> = strips.into_iter().flatten().collect();
        let (lo, hi) = m
            .iter()
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| {
                (a.min(v), b.max(v))
            });
        if m.len() < 2 {
            return f32::INFINITY;
        }
        hi - lo
    }

    /// Share of changed pixels (half the foreground rise, either way) in a ring around the
    /// blob (one expected diameter wide, a pixel off the blob's box).
    fn clutter_around(&self, b: &Blob, expected: f32, luma: &[u8], stride: usize) -> f32 {
        let r = expected.ceil() as usize + 1;
        let (ix0, iy0) = (b.x0.saturating_sub(1), b.y0.saturating_sub(1));
        let (ix1, iy1) = (b.x1 + 1, b.y1 + 1);
        let (ox0, oy0) = (ix0.saturating_sub(r), iy0.saturating_sub(r));
        let (ox1, oy1) = (
            (ix1 + r).min(self.width - 1),
            (iy1 + r).min(self.height - 1),
        );
        let rise = ((self.settings.rise_min as i32) << 4) / 2;
        let (mut ring, mut busy) = (0u32, 0u32);
        for y in oy0..=oy1 {
            for x in ox0..=ox1 {
                if (ix0..=ix1).contains(&x) && (iy0..=iy1).contains(&y) {
                    continue;
                }
                let c = luma[y * stride + x];
                let d = ((c as i32) << 4) - self.background[y * self.width + x] as i32;
                ring += 1;
                busy += u32::from(d.abs() > rise);
            }
        }
        if ring == 0 {
            return 1.0;
        }
        busy as f32 / ring as f32
    }
}

/// The ball's diameter in pixels at panorama pixel `(u, v)` if it lay on the grass there.
fn expected_diameter(cal: &Calibration, u: f64, v: f64) -> f32 {
    let Some((x, y)) = cal.panorama_to_pitch(u, v, BALL_RADIUS_M) else {
        return 0.0;
    };
    let (a, b) = (
        cal.pitch_to_panorama(x, y, 0.0),
        cal.pitch_to_panorama(x, y, 2.0 * BALL_RADIUS_M),
    );
    let d = (a.0 - b.0).hypot(a.1 - b.1);
    if d.is_finite() {
        d as f32
    } else {
        0.0
    }
}

/// Per row, the mask's pixels `[x0, x1)` at the row's centre line (the mask is convex).
fn row_spans(mask: &PanoramaMask, width: usize, height: usize) -> Vec<(usize, usize)> {
    let poly = &mask.polygon;
    (0..height)
        .map(|y| {
            let yc = y as f64 + 0.5;
            let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
            for i in 0..poly.len() {
                let (a, b) = (poly[i], poly[(i + 1) % poly.len()]);
                if (a.1 <= yc && b.1 > yc) || (b.1 <= yc && a.1 > yc) {
                    let x = a.0 + (yc - a.1) / (b.1 - a.1) * (b.0 - a.0);
                    lo = lo.min(x);
                    hi = hi.max(x);
                }
            }
            if lo > hi {
                return (0, 0);
            }
            let x0 = (lo.round().max(0.0) as usize).min(width);
            let x1 = (hi.round().max(0.0) as usize).min(width);
            (x0, x1)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detector::scenes::{LutCache, Scene, SceneVariety};

    const W: usize = 1920;
    const H: usize = 640;
    const GRASS: u8 = 100;

    fn cue() -> MotionCue {
        let cal = Calibration::synthetic(1920, 960, 540);
        let mask = PanoramaMask::from_pitch(&cal, 3.0, MASK_HEIGHT_M);
        MotionCue::new(&cal, &mask, 0, MotionSettings::default())
    }

    fn grass() -> Vec<u8> {
        vec![GRASS; W * H]
    }

    fn disc(img: &mut [u8], cx: f64, cy: f64, r: f64, luma: u8) {
        for y in (cy - r).floor() as usize..=(cy + r).ceil() as usize {
            for x in (cx - r).floor() as usize..=(cx + r).ceil() as usize {
                if (x as f64 + 0.5 - cx).hypot(y as f64 + 0.5 - cy) <= r {
                    img[y * W + x] = luma;
                }
            }
        }
    }

    fn rect(img: &mut [u8], x0: usize, y0: usize, w: usize, h: usize, luma: u8) {
        for y in y0..y0 + h {
            img[y * W + x0..y * W + x0 + w].fill(luma);
        }
    }

    /// Runs `frames` frames drawn by `draw(frame index, image)` over grass.
    fn run(
        c: &mut MotionCue,
        frames: usize,
        mut draw: impl FnMut(usize, &mut [u8]),
    ) -> Vec<Vec<Detection>> {
        (0..frames)
            .map(|i| {
                let mut img = grass();
                draw(i, &mut img);
                c.observe(&img, W)
            })
            .collect()
    }

    #[test]
    fn the_expected_ball_is_smaller_far_away_and_never_vanishes_above_the_grass() {
        let c = cue();
        // The centre spot: about 3 px (the synthetic truth says 3.03 at 1920 px).
        let centre = c.expected_diameter_at(959.5, 232.4);
        assert!((centre - 3.0).abs() < 0.3, "{centre}");
        let near = c.expected_diameter_at(960.0, 600.0);
        let far = c.expected_diameter_at(960.0, 180.0);
        assert!(near > centre && centre > far, "{near} {centre} {far}");
        // Above the far touchline (a ball in the air): the smallest ball on the pitch.
        assert!(c.expected_diameter_at(960.0, 60.0) >= far * 0.5);
    }

    #[test]
    fn a_ball_rolling_over_the_grass_is_found_in_every_frame_where_it_went() {
        let mut c = cue();
        let at = |i: usize| (700.0 + 3.0 * i as f64, 300.0 + 0.5 * i as f64);
        let seen = run(&mut c, 40, |i, img| {
            let (x, y) = at(i);
            disc(img, x, y, 1.6, 200);
        });
        for (i, d) in seen
            .iter()
            .enumerate()
            .skip(MotionSettings::default().warmup_frames as usize)
        {
            assert_eq!(d.len(), 1, "frame {i}: {d:?}");
            let (x, y) = at(i);
            assert!(
                (d[0].cx as f64 - x).hypot(d[0].cy as f64 - y) < 1.0,
                "{i}: {d:?}"
            );
            assert_eq!((d[0].class_id, d[0].score), (0, 0.5));
        }
        assert_eq!(c.counts.sightings, 35);
    }

    #[test]
    fn a_ball_that_stops_fades_into_the_background() {
        let mut c = cue();
        let seen = run(&mut c, 60, |i, img| {
            let x = 700.0 + 3.0 * i.min(20) as f64;
            disc(img, x, 300.0, 1.6, 200);
        });
        assert!(!seen[20].is_empty(), "still seen when it stops");
        assert!(
            seen[35..].iter().all(|d| d.is_empty()),
            "gone half a second later"
        );
    }

    #[test]
    fn a_white_strip_of_a_running_player_is_not_a_ball() {
        let mut c = cue();
        // A player 6 px wide: dark shirt over white shorts over dark socks, running right.
        let seen = run(&mut c, 30, |i, img| {
            let x = 800 + 2 * i;
            rect(img, x, 280, 6, 10, 60);
            rect(img, x, 290, 6, 3, 220);
            rect(img, x, 293, 6, 6, 60);
        });
        assert!(seen.iter().all(|d| d.is_empty()), "{seen:?}");
        assert!(c.counts.blobs > 0, "the shorts were foreground");
    }

    #[test]
    fn the_white_socks_of_a_slowly_walking_player_are_not_a_ball() {
        let mut c = cue();
        // Dark kit 4 px wide with white socks of a ball's size, a pixel every other frame:
        // little around the socks changes, but the kit above them is not grass.
        let seen = run(&mut c, 40, |i, img| {
            let x = 900 + i / 2;
            rect(img, x, 300, 4, 12, 60);
            rect(img, x, 312, 4, 2, 220);
        });
        assert!(seen.iter().all(|d| d.is_empty()), "{seen:?}");
    }

    #[test]
    fn what_is_too_big_too_small_or_darker_than_the_grass_is_not_a_ball() {
        let mut c = cue();
        let seen = run(&mut c, 20, |i, img| {
            let s = 4.0 * i as f64;
            // A bright blob five times a ball, a single faint pixel, a moving shadow.
            disc(img, 600.0 + s, 300.0, 8.0, 220);
            img[320 * W + 1000 + 4 * i] = GRASS + 20;
            disc(img, 1200.0 + s, 300.0, 1.6, 40);
        });
        assert!(seen.iter().all(|d| d.is_empty()), "{seen:?}");
    }

    #[test]
    fn a_light_change_over_the_whole_field_is_learnt_not_reported() {
        let mut c = cue();
        let mut brighter = false;
        let seen = run(&mut c, 12, |i, img| {
            if i >= 8 {
                brighter = true;
                img.fill(GRASS + 60);
            }
        });
        assert!(brighter && seen.iter().all(|d| d.is_empty()));
        assert_eq!(c.counts.flooded, 1, "{:?}", c.counts);
    }

    #[test]
    fn outside_the_field_nothing_is_looked_at() {
        let mut c = cue();
        // The bottom corners of the synthetic panorama are outside the pitch's outline.
        let seen = run(&mut c, 20, |i, img| {
            disc(img, 20.0 + 3.0 * i as f64, 630.0, 1.6, 200)
        });
        assert!(seen.iter().all(|d| d.is_empty()));
        assert_eq!(c.counts.blobs, 0);
    }

    /// The cue on rendered and stitched synthetic frames: a ball moving on the grass is seen
    /// in most frames, and few sightings are elsewhere.
    #[test]
    fn on_the_synthetic_pitch_a_moving_ball_is_seen_in_most_frames_and_little_else() {
        let variety = SceneVariety {
            widths: vec![1920],
            noise: (1.0, 3.0),
            blur_chance: 0.0,
            frame_step: (1, 1),
            ..SceneVariety::default()
        };
        let (mut moving, mut hit, mut elsewhere, mut frames) = (0, 0, 0, 0);
        for (seed, start_s) in [(5u64, 40.0), (8, 60.0)] {
            let variety = SceneVariety {
                start_s: (start_s, start_s),
                ..variety.clone()
            };
            let mut s = Scene::new(seed, &variety, &mut LutCache::default());
            let mask = PanoramaMask::from_pitch(&s.cal, 3.0, MASK_HEIGHT_M);
            let mut c = MotionCue::new(&s.cal, &mask, 0, MotionSettings::default());
            let mut last: Option<(f64, f64)> = None;
            for _ in 0..100 {
                let f = s.next_frame();
                let p = &s.pano;
                let d = c.observe(&p.data[..p.width * p.height], p.width);
                let b = &f.truth.ball;
                let step = last.map_or(0.0, |(x, y)| (b.px - x).hypot(b.py - y));
                last = Some((b.px, b.py));
                let near = |x: &Detection| {
                    (x.cx as f64 - b.px).hypot(x.cy as f64 - b.py) < 2.0 + b.diameter_px
                };
                frames += 1;
                if b.visible && step > 0.7 && b.z_m < 0.5 {
                    moving += 1;
                    hit += u32::from(d.iter().any(near));
                }
                elsewhere += d.iter().filter(|x| !near(x)).count();
            }
        }
        let (recall, fp) = (hit as f64 / moving as f64, elsewhere as f64 / frames as f64);
        eprintln!("sides_max {}: moving ball on the grass seen in {hit} of {moving} frames; {fp:.2} other sightings per frame", MotionSettings::default().sides_max);
        assert!(moving >= 50, "{moving}");
        assert!(recall >= 0.5, "{recall}");
        assert!(fp <= 1.0, "{fp}");
    }
}
