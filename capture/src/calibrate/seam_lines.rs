//! The seam measured on the pitch's painted lines. Wherever a line of the model crosses the
//! part of the panorama both cameras see, each camera's picture is sampled across the line
//! and the painted line found in it (the middle of its bright profile). The two cameras'
//! positions of the same painted line are then compared, in pixels at the production
//! panorama width: 0 means the stitched line is one line. Each camera's position against
//! the model's line is reported too (how far the calibration's line is from the paint).
//!
//! Pitch lines lie on the pitch plane, so they meet at the seam whatever the cameras'
//! separation; players, goals and stands do not, and are left out by the line test.

use super::pitch_lines;
use super::PRODUCTION_WIDTH;
use serde::Serialize;
use shared::geometry::Calibration;
use shared::image::Nv12Image;
use shared::stats::{median, percentile};

/// Smallest brightness step (luma code values) over the grass that counts as a painted line.
const MIN_CONTRAST: f64 = 12.0;
/// Panorama pixels (production width) between two measured points along a line.
const SPACING_PX: f64 = 4.0;
/// How far beyond the line's own width the search reaches on each side, production pixels.
const SEARCH_PX: f64 = 40.0;
/// Sampling step across a line, production pixels.
const STEP_PX: f64 = 0.25;
/// Width of a painted line (Laws of the Game: at most 12 cm).
const LINE_WIDTH_M: f64 = 0.12;

/// One point of a line both cameras see.
#[derive(Debug, Clone, Serialize)]
pub struct LinePoint {
    pub line: String,
    /// The model's line point, pitch metres.
    pub x_m: f64,
    pub y_m: f64,
    /// Where each camera shows the painted line, across the model's line (production pixels,
    /// signed), and their difference.
    pub left_px: f64,
    pub right_px: f64,
    pub disagreement_px: f64,
}

/// One line's points.
#[derive(Debug, Clone, Serialize)]
pub struct LineSummary {
    pub line: String,
    pub measured: usize,
    pub median_abs_px: f64,
    pub max_abs_px: f64,
}

/// The seam on the painted lines, production pixels.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LineSeam {
    /// Points on the model's lines inside the overlap, and those where both cameras showed
    /// one clear painted line (the others: a player on the line, worn paint, glare).
    pub looked: usize,
    pub measured: usize,
    /// |left - right| over the measured points.
    pub median_abs_px: Option<f64>,
    pub p90_abs_px: Option<f64>,
    pub max_abs_px: Option<f64>,
    /// Median |camera - model| per camera (left, right): the calibration against the paint.
    pub model_offset_median_px: [Option<f64>; 2],
    pub lines: Vec<LineSummary>,
    pub points: Vec<LinePoint>,
}

/// Bilinear luma of `img` at (x, y), or `None` outside it.
fn luma_at(img: &Nv12Image, x: f64, y: f64) -> Option<f64> {
    if !(x >= 0.0 && y >= 0.0) {
        return None;
    }
    let (x0, y0) = (x.floor() as usize, y.floor() as usize);
    if x0 + 1 >= img.width || y0 + 1 >= img.height {
        return None;
    }
    let (fx, fy) = (x - x0 as f64, y - y0 as f64);
    let p = |xx: usize, yy: usize| img.luma(xx, yy) as f64;
    let top = p(x0, y0) * (1.0 - fx) + p(x0 + 1, y0) * fx;
    let bottom = p(x0, y0 + 1) * (1.0 - fx) + p(x0 + 1, y0 + 1) * fx;
    Some(top * (1.0 - fy) + bottom * fy)
}

/// The middle of the one painted line in `profile` (luma sampled every [`STEP_PX`] across the
/// line, the model's line at the centre), as an offset from the centre in pixels; `None` if
/// there is no clear line, more than one, or a bright area far wider than `width_px`.
pub fn find_line(profile: &[f64], width_px: f64) -> Option<f64> {
    let n = profile.len();
    if n < 16 {
        return None;
    }
    // Gaussian smoothing, sigma 0.75 px, against sensor noise and compression blocks.
    let sigma = 0.75 / STEP_PX;
    let r = (3.0 * sigma).ceil() as isize;
    let kernel: Vec<f64> = (-r..=r)
        .map(|k| (-(k as f64).powi(2) / (2.0 * sigma * sigma)).exp())
        .collect();
    let smooth: Vec<f64> = (0..n as isize)
        .map(|i| {
            let (mut s, mut w) = (0.0, 0.0);
            for (j, kv) in (-r..=r).zip(&kernel) {
                let k = i + j;
                if k >= 0 && (k as usize) < n {
                    s += profile[k as usize] * kv;
                    w += kv;
                }
            }
            s / w
        })
        .collect();
    let background = median(&mut smooth.clone());
    let (peak_at, peak) = smooth
        .iter()
        .copied()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(&b.1))?;
    let contrast = peak - background;
    if contrast < MIN_CONTRAST {
        return None;
    }
    let half = background + contrast / 2.0;
    // The half-maximum crossings on each side of the peak, interpolated.
    let left = (1..=peak_at)
        .rev()
        .find(|&k| smooth[k - 1] < half)
        .map(|k| {
            let (a, b) = (smooth[k - 1], smooth[k]);
            (k - 1) as f64 + (half - a) / (b - a)
        })?;
    let right = (peak_at..n - 1).find(|&k| smooth[k + 1] < half).map(|k| {
        let (a, b) = (smooth[k], smooth[k + 1]);
        k as f64 + (a - half) / (a - b)
    })?;
    if (right - left) * STEP_PX > 2.0 * width_px + 4.0 {
        return None;
    }
    // Nothing else nearly as bright beside it: a second line, a white boot, a sock.
    let guard = 2.0 / STEP_PX;
    let rival = smooth.iter().enumerate().any(|(k, v)| {
        let k = k as f64;
        (k < left - guard || k > right + guard) && *v > background + 0.6 * contrast
    });
    if rival {
        return None;
    }
    Some(((left + right) / 2.0 - (n - 1) as f64 / 2.0) * STEP_PX)
}

/// A point where the model's line is looked at: the line's point on the pitch, its panorama
/// pixel (production width), the direction across it there, and the painted
/// line's width and the search's reach across it, in panorama pixels.
struct Crossing {
    x_m: f64,
    y_m: f64,
    at: (f64, f64),
    across: (f64, f64),
    width_px: f64,
    reach_px: f64,
}

/// Where every line of the pitch of `cal` is looked at, with its line's index into
/// [`pitch_lines::segments`]: every [`SPACING_PX`] in the panorama, except near another line
/// (at a junction the search across one line would find the other).
fn crossings(cal: &Calibration) -> Vec<(usize, Crossing)> {
    let pano = |x: f64, y: f64| cal.pitch_to_panorama(x, y, 0.0);
    let segments = pitch_lines::segments(cal.pitch.length_m, cal.pitch.width_m);
    let in_pano: Vec<Vec<(f64, f64)>> = segments
        .iter()
        .map(|s| s.points.iter().map(|&(x, y)| pano(x, y)).collect())
        .collect();
    let mut out = Vec::new();
    for (line, seg) in segments.iter().enumerate() {
        let pts = &seg.points;
        let mut last: Option<(f64, f64)> = None;
        for k in 1..pts.len().saturating_sub(1) {
            let (x, y) = pts[k];
            let p = in_pano[line][k];
            if last.is_some_and(|q| (p.0 - q.0).hypot(p.1 - q.1) < SPACING_PX) {
                continue;
            }
            last = Some(p);
            let (a, b) = (in_pano[line][k - 1], in_pano[line][k + 1]);
            let t = (b.0 - a.0, b.1 - a.1);
            let tl = t.0.hypot(t.1);
            let (tx, ty) = (pts[k + 1].0 - pts[k - 1].0, pts[k + 1].1 - pts[k - 1].1);
            let tm = tx.hypot(ty);
            if tl <= 0.0 || tm <= 0.0 {
                continue;
            }
            let across = (-t.1 / tl, t.0 / tl);
            let (ex, ey) = (-ty / tm * LINE_WIDTH_M / 2.0, tx / tm * LINE_WIDTH_M / 2.0);
            let (e1, e2) = (pano(x + ex, y + ey), pano(x - ex, y - ey));
            let width_px = ((e1.0 - e2.0) * across.0 + (e1.1 - e2.1) * across.1).abs();
            let reach_px = SEARCH_PX + width_px;
            let near_another = in_pano.iter().enumerate().any(|(j, other)| {
                j != line
                    && other
                        .iter()
                        .any(|q| (p.0 - q.0).abs() < reach_px && (p.1 - q.1).abs() < reach_px)
            });
            if near_another {
                continue;
            }
            out.push((
                line,
                Crossing {
                    x_m: x,
                    y_m: y,
                    at: p,
                    across,
                    width_px,
                    reach_px,
                },
            ));
        }
    }
    out
}

impl Crossing {
    /// The panorama pixel `s` pixels across the line.
    fn shifted(&self, s: f64) -> (f64, f64) {
        (self.at.0 + s * self.across.0, self.at.1 + s * self.across.1)
    }

    /// Camera `i`'s luma across the line, or `None` where the search leaves its picture.
    fn profile(&self, cal: &Calibration, frame: &Nv12Image, i: usize) -> Option<Vec<f64>> {
        let steps = (2.0 * self.reach_px / STEP_PX).round() as usize;
        (0..=steps)
            .map(|j| {
                let (u, v) = self.shifted(-self.reach_px + j as f64 * STEP_PX);
                let (cu, cv) = cal.panorama_to_camera(i, u, v)?;
                luma_at(frame, cu, cv)
            })
            .collect()
    }
}

/// `cal` with its panorama at the production width.
fn at_production(cal: &Calibration) -> Calibration {
    let mut cal = cal.clone();
    cal.panorama = cal.panorama.with_width(PRODUCTION_WIDTH);
    cal
}

/// The seam of `cal` on the painted lines in `frames` (each camera's picture at its full
/// size), measured at the production panorama width.
pub fn measure(cal: &Calibration, frames: [&Nv12Image; 2]) -> LineSeam {
    let cal = at_production(cal);
    let mut out = LineSeam::default();
    let names: Vec<String> = pitch_lines::segments(cal.pitch.length_m, cal.pitch.width_m)
        .into_iter()
        .map(|s| s.name)
        .collect();
    let mut found: Vec<Vec<LinePoint>> = vec![Vec::new(); names.len()];
    for (line, c) in crossings(&cal) {
        let (Some(pl), Some(pr)) = (c.profile(&cal, frames[0], 0), c.profile(&cal, frames[1], 1))
        else {
            continue;
        };
        out.looked += 1;
        let (Some(l), Some(r)) = (find_line(&pl, c.width_px), find_line(&pr, c.width_px)) else {
            continue;
        };
        found[line].push(LinePoint {
            line: names[line].clone(),
            x_m: c.x_m,
            y_m: c.y_m,
            left_px: l,
            right_px: r,
            disagreement_px: l - r,
        });
    }
    for (name, pts) in names.iter().zip(found) {
        if pts.is_empty() {
            continue;
        }
        let mut abs: Vec<f64> = pts.iter().map(|p| p.disagreement_px.abs()).collect();
        abs.sort_by(f64::total_cmp);
        out.lines.push(LineSummary {
            line: name.clone(),
            measured: pts.len(),
            median_abs_px: median(&mut abs.clone()),
            max_abs_px: *abs.last().unwrap_or(&0.0),
        });
        out.points.extend(pts);
    }
    out.measured = out.points.len();
    if out.measured > 0 {
        let mut abs: Vec<f64> = out.points.iter().map(|p| p.disagreement_px.abs()).collect();
        abs.sort_by(f64::total_cmp);
        out.median_abs_px = Some(median(&mut abs.clone()));
        out.p90_abs_px = Some(percentile(&abs, 0.9));
        out.max_abs_px = abs.last().copied();
        for (i, m) in out.model_offset_median_px.iter_mut().enumerate() {
            let mut v: Vec<f64> = out
                .points
                .iter()
                .map(|p| if i == 0 { p.left_px } else { p.right_px }.abs())
                .collect();
            *m = Some(median(&mut v));
        }
    }
    out
}

/// One painted-line point in the overlap as both cameras show it: each camera's pixel on
/// the paint, and the direction across the line in the panorama. The rig fit pulls the two
/// pixels' panorama positions together across the line, which is what the seam needs,
/// without asking where the line lies on the pitch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SeamPair {
    /// Which line, as an index into [`pitch_lines::segments`].
    pub line: usize,
    pub left_px: (f64, f64),
    pub right_px: (f64, f64),
    pub across: (f64, f64),
}

/// Every painted-line point both cameras show clearly near the lines of `cal`.
pub fn pairs(cal: &Calibration, frames: [&Nv12Image; 2]) -> Vec<SeamPair> {
    let cal = at_production(cal);
    let mut out = Vec::new();
    for (line, c) in crossings(&cal) {
        let found = |i: usize| {
            let s = find_line(&c.profile(&cal, frames[i], i)?, c.width_px)?;
            let (u, v) = c.shifted(s);
            cal.panorama_to_camera(i, u, v)
        };
        if let (Some(left_px), Some(right_px)) = (found(0), found(1)) {
            out.push(SeamPair {
                line,
                left_px,
                right_px,
                across: c.across,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A profile of `n` samples: grass at 80 with a little ripple, and lines (centre offset
    /// px, width px, brightness above the grass).
    fn profile(n: usize, lines: &[(f64, f64, f64)]) -> Vec<f64> {
        (0..n)
            .map(|k| {
                let s = (k as f64 - (n - 1) as f64 / 2.0) * STEP_PX;
                let mut v = 80.0 + 1.5 * (k as f64 * 1.7).sin();
                for (c, w, b) in lines {
                    // A soft-edged bar: the lens and the encoder blur the paint's edges.
                    let e = |x: f64| 1.0 / (1.0 + (-x / 0.4).exp());
                    v += b * (e(s - (c - w / 2.0)) - e(s - (c + w / 2.0)));
                }
                v
            })
            .collect()
    }

    #[test]
    fn a_painted_line_is_found_where_it_is_to_a_tenth_of_a_pixel() {
        for (c, w) in [(0.0, 3.0), (2.3, 3.0), (-4.7, 2.0), (6.1, 9.0)] {
            let p = profile(161, &[(c, w, 60.0)]);
            let got = find_line(&p, w).unwrap();
            assert!((got - c).abs() < 0.1, "line at {c} found at {got}");
        }
    }

    /// Both cameras' first frame of the synthetic pitch rendered with `cal`.
    fn synthetic_frames(cal: &Calibration) -> [Nv12Image; 2] {
        use crate::synthetic::{Exposure, SyntheticWorld};
        use shared::scene::{BallScript, BallSource, Scenario};
        let script = BallScript::generate(Scenario::Passes, 10.0, 2, &cal.pitch);
        let exposure = Exposure {
            gain: 1.0,
            noise: 2.0,
        };
        let mut world = SyntheticWorld::new(
            cal,
            BallSource::Script(script),
            3,
            shared::time::FrameRate::new(25, 1),
            [exposure; 2],
        );
        let (w, h) = (
            cal.cameras[0].width as usize,
            cal.cameras[0].height as usize,
        );
        let mut f = [Nv12Image::new(w, h), Nv12Image::new(w, h)];
        let [l, r] = &mut f;
        world.render_next(&mut l.as_mut(), &mut r.as_mut());
        f
    }

    #[test]
    fn the_synthetic_rigs_seam_is_measured_closed_and_a_turned_camera_open() {
        let cal = Calibration::synthetic(1920, 960, 540);
        let f = synthetic_frames(&cal);
        let s = measure(&cal, [&f[0], &f[1]]);
        let (m, p90) = (s.median_abs_px.unwrap(), s.p90_abs_px.unwrap());
        println!(
            "synthetic seam: {} of {} points, median {m:.3} px, p90 {p90:.3} px",
            s.measured, s.looked
        );
        assert!(s.measured >= 20, "only {} points measured", s.measured);
        // A pixel of these 960x540 cameras is about 3 px of the 5700 px panorama.
        assert!(m < 0.5 && p90 < 2.0, "median {m:.3} px, p90 {p90:.3} px");
        // The right camera believed turned by 0.1 degree: its lines move about 3.6 px sideways
        // at the production width, and only the lines across that direction show it.
        let mut turned = cal.clone();
        turned.cameras[1].yaw_deg += 0.1;
        let t = measure(&turned, [&f[0], &f[1]]);
        let px_per_deg =
            PRODUCTION_WIDTH as f64 / (cal.panorama.lon_max_deg - cal.panorama.lon_min_deg);
        let line = |n: &str| t.lines.iter().find(|l| l.line == n).unwrap().median_abs_px;
        let (across, along) = (line("halfway line"), line("near touchline"));
        let expected = 0.1 * px_per_deg;
        println!("turned 0.1 deg ({expected:.2} px): halfway line {across:.2} px, near touchline {along:.2} px");
        assert!(
            (across - expected).abs() < 0.5,
            "halfway line {across:.2} px apart"
        );
        assert!(along < 1.0, "near touchline {along:.2} px apart");
        // The seam points of the turned calibration say the same, pixel for pixel.
        let pairs = pairs(&turned, [&f[0], &f[1]]);
        assert!(pairs.len() >= s.measured / 2);
    }

    #[test]
    fn no_line_two_lines_or_a_bright_area_are_not_measured() {
        // Too faint to be paint.
        assert_eq!(find_line(&profile(161, &[(1.0, 3.0, 8.0)]), 3.0), None);
        // Two lines as bright as each other (a double line: which one is ours?).
        assert_eq!(
            find_line(&profile(161, &[(-6.0, 3.0, 60.0), (6.0, 3.0, 55.0)]), 3.0),
            None
        );
        // A bright area far wider than a line (a white shirt lying across it).
        assert_eq!(find_line(&profile(161, &[(0.0, 18.0, 60.0)]), 3.0), None);
        // A line cut off by the end of the profile.
        assert_eq!(find_line(&profile(161, &[(19.5, 3.0, 60.0)]), 3.0), None);
    }
}
