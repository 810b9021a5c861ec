//! The virtual camera (CPU): a perspective view of the equirectangular panorama for a pose,
//! bilinear sampling, multi-threaded. The panorama position of each output pixel is computed
//! exactly on a grid every few pixels and interpolated in between (the mapping is smooth), so
//! the trigonometry costs almost nothing. Pose limits keep every output pixel inside the
//! panorama.

use crate::pose::Pose;
use nalgebra::Vector3;
use rayon::prelude::*;
use shared::geometry::view::ViewModel;
use shared::geometry::{dir_from_lonlat, lonlat_from_dir, PanoramaSpec};
use shared::image::{Nv12Mut, Nv12Ref};

/// Grid step (output pixels) of the exact mapping.
pub const GRID: usize = 8;

/// The view's orientation for a pose: forward, right and down unit vectors in the rig frame,
/// and the focal length in output pixels (what the GPU renderer receives).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PoseBasis {
    pub f: [f64; 3],
    pub r: [f64; 3],
    pub d: [f64; 3],
    pub focal: f64,
}

/// Exact panorama positions every [`GRID`] output pixels: `gw x gh` points, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct MapGrid {
    pub gw: usize,
    pub gh: usize,
    pub points: Vec<(f32, f32)>,
}

/// Field-of-view bounds and roll of the virtual camera.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ViewLimits {
    pub min_fov: f64,
    pub max_fov: f64,
    /// Constant roll (degrees, positive clockwise); 0 keeps the horizon level.
    pub roll_deg: f64,
}

/// The virtual camera for one panorama and output size.
#[derive(Debug, Clone)]
pub struct VirtualCamera {
    pub pano: PanoramaSpec,
    pub out_w: usize,
    pub out_h: usize,
    pub limits: ViewLimits,
}

struct Basis {
    f: Vector3<f64>,
    r: Vector3<f64>,
    d: Vector3<f64>,
    focal: f64,
}

impl VirtualCamera {
    pub fn new(
        pano: PanoramaSpec,
        out_w: usize,
        out_h: usize,
        limits: ViewLimits,
    ) -> VirtualCamera {
        VirtualCamera {
            pano,
            out_w,
            out_h,
            limits,
        }
    }

    /// The shared perspective model of this output (aspect and roll), the one the director
    /// plans with.
    pub fn model(&self) -> ViewModel {
        ViewModel::new(self.out_w as u32, self.out_h as u32, self.limits.roll_deg)
    }

    fn basis(&self, p: &Pose) -> Basis {
        let b = self.model().basis(p);
        Basis {
            r: b.right,
            d: b.down,
            f: b.forward,
            focal: (self.out_w as f64 / 2.0) / b.tan_half.0,
        }
    }

    /// The basis of a pose, for the GPU renderer.
    pub fn pose_basis(&self, p: &Pose) -> PoseBasis {
        let b = self.basis(p);
        PoseBasis {
            f: [b.f.x, b.f.y, b.f.z],
            r: [b.r.x, b.r.y, b.r.z],
            d: [b.d.x, b.d.y, b.d.z],
            focal: b.focal,
        }
    }

    /// Size of the mapping grid (points across, down).
    pub fn grid_size(&self) -> (usize, usize) {
        (self.out_w.div_ceil(GRID) + 1, self.out_h.div_ceil(GRID) + 1)
    }

    /// The exact mapping on the grid for a pose.
    pub fn grid(&self, pose: &Pose) -> MapGrid {
        let b = self.basis(pose);
        let (gw, gh) = self.grid_size();
        let points = (0..gh * gw)
            .map(|k| {
                let (gx, gy) = ((k % gw) * GRID, (k / gw) * GRID);
                let (u, v) = self.pano_at(&b, gx as f64, gy as f64);
                (u as f32, v as f32)
            })
            .collect();
        MapGrid { gw, gh, points }
    }

    /// Panorama pixel seen at output pixel (x, y) (continuous, centres at integers).
    fn pano_at(&self, b: &Basis, x: f64, y: f64) -> (f64, f64) {
        let nx = (x + 0.5 - self.out_w as f64 / 2.0) / b.focal;
        let ny = (y + 0.5 - self.out_h as f64 / 2.0) / b.focal;
        let dir = b.f + b.r * nx + b.d * ny;
        self.pano.dir_to_pixel(&dir)
    }

    /// Output pixel where a panorama longitude/latitude appears for a pose (None if behind).
    pub fn project(&self, pose: &Pose, lon: f64, lat: f64) -> Option<(f64, f64)> {
        let b = self.basis(pose);
        let d = dir_from_lonlat(lon, lat);
        let z = d.dot(&b.f);
        if z <= 1e-9 {
            return None;
        }
        let x = d.dot(&b.r) / z * b.focal + self.out_w as f64 / 2.0 - 0.5;
        let y = d.dot(&b.d) / z * b.focal + self.out_h as f64 / 2.0 - 0.5;
        Some((x, y))
    }

    /// Longitude/latitude of the points along the output frame's border.
    fn border(&self, p: &Pose) -> Vec<(f64, f64)> {
        let b = self.basis(p);
        let (w, h) = (self.out_w as f64, self.out_h as f64);
        let mut v = Vec::with_capacity(64);
        for i in 0..=16 {
            let t = i as f64 / 16.0;
            for (x, y) in [
                (t * w - 0.5, -0.5),
                (t * w - 0.5, h - 0.5),
                (-0.5, t * h - 0.5),
                (w - 0.5, t * h - 0.5),
            ] {
                let nx = (x + 0.5 - w / 2.0) / b.focal;
                let ny = (y + 0.5 - h / 2.0) / b.focal;
                v.push(lonlat_from_dir(&(b.f + b.r * nx + b.d * ny)));
            }
        }
        v
    }

    /// The output frame's border in panorama pixels, as a closed polyline.
    pub fn border_pixels(&self, p: &Pose) -> Vec<(f64, f64)> {
        let b = self.basis(p);
        let (w, h) = (self.out_w as f64, self.out_h as f64);
        let mut pts = Vec::with_capacity(4 * 16 + 1);
        let corners = [
            (-0.5, -0.5),
            (w - 0.5, -0.5),
            (w - 0.5, h - 0.5),
            (-0.5, h - 0.5),
            (-0.5, -0.5),
        ];
        for c in corners.windows(2) {
            for i in 0..16 {
                let t = i as f64 / 16.0;
                let (x, y) = (
                    c[0].0 + (c[1].0 - c[0].0) * t,
                    c[0].1 + (c[1].1 - c[0].1) * t,
                );
                pts.push(self.pano_at(&b, x, y));
            }
        }
        pts.push(pts[0]);
        pts
    }

    /// How far the view sticks out of the panorama (degrees: left, right, top, bottom).
    fn overshoot(&self, p: &Pose) -> (f64, f64, f64, f64) {
        let s = &self.pano;
        // Half a pixel of margin so bilinear neighbours exist.
        let m = s.deg_per_px();
        let (mut l, mut r, mut t, mut bo) = (0f64, 0f64, 0f64, 0f64);
        for (lon, lat) in self.border(p) {
            l = l.max(s.lon_min_deg + m - lon);
            r = r.max(lon - (s.lon_max_deg - m));
            t = t.max(lat - (s.lat_max_deg - m));
            bo = bo.max(s.lat_min_deg + m - lat);
        }
        (l, r, t, bo)
    }

    /// The nearest pose whose whole view lies inside the panorama.
    pub fn limit(&self, pose: &Pose) -> Pose {
        let mut p = Pose {
            fov: pose.fov.clamp(self.limits.min_fov, self.limits.max_fov),
            ..*pose
        };
        if !(p.yaw.is_finite() && p.pitch.is_finite() && p.fov.is_finite()) {
            p = Pose {
                yaw: (self.pano.lon_min_deg + self.pano.lon_max_deg) / 2.0,
                pitch: (self.pano.lat_min_deg + self.pano.lat_max_deg) / 2.0,
                fov: self.limits.max_fov,
            };
        }
        p.yaw = p.yaw.clamp(self.pano.lon_min_deg, self.pano.lon_max_deg);
        p.pitch = p.pitch.clamp(self.pano.lat_min_deg, self.pano.lat_max_deg);
        for _ in 0..40 {
            let (l, r, t, b) = self.overshoot(&p);
            if l <= 0.0 && r <= 0.0 && t <= 0.0 && b <= 0.0 {
                return p;
            }
            if (l > 0.0 && r > 0.0) || (t > 0.0 && b > 0.0) {
                // Wider or taller than the panorama there: zoom in.
                p.fov *= 0.97;
                continue;
            }
            p.yaw += l - r;
            p.pitch += b - t;
            // Shifting changes the border's shape a little; a slight zoom makes it converge.
            if l.max(r).max(t).max(b) < 0.01 {
                p.fov *= 0.999;
            }
        }
        p
    }

    /// Renders `pose` (already limited) from `pano` into `out`.
    pub fn render(&self, pano: &Nv12Ref<'_>, pose: &Pose, out: &mut Nv12Mut<'_>) {
        self.render_grid(pano, &self.grid(pose), out);
    }

    /// Renders from a mapping grid made by [`Self::grid`].
    pub fn render_grid(&self, pano: &Nv12Ref<'_>, grid: &MapGrid, out: &mut Nv12Mut<'_>) {
        let (w, h) = (self.out_w, self.out_h);
        let (pw, ph) = (pano.width, pano.height);
        let (ys, uvs) = (out.y_stride, out.uv_stride);
        out.y
            .par_chunks_mut(ys * 2)
            .zip(out.uv.par_chunks_mut(uvs))
            .enumerate()
            .for_each_init(
                || [Vec::with_capacity(w), Vec::with_capacity(w)],
                |coords, (cy, (yrows, uvrow))| {
                    for (dy, row_coords) in coords.iter_mut().enumerate() {
                        // An odd last row: its chroma uses the row above twice.
                        let y = (cy * 2 + dy).min(h - 1);
                        grid_row(grid, y, w, row_coords);
                        if cy * 2 + dy >= h {
                            continue;
                        }
                        let row = &mut yrows[dy * ys..dy * ys + w];
                        for (px, &(u, v)) in row.iter_mut().zip(row_coords.iter()) {
                            *px = sample(pano.y, pano.y_stride, pw, ph, u, v, 1, 0);
                        }
                    }
                    let [top, bot] = &*coords;
                    for cx in 0..w / 2 {
                        // The chroma sample sits at the centre of its 2x2 luma block.
                        let (x0, x1) = (2 * cx, (2 * cx + 1).min(w - 1));
                        let (a, b, c, d) = (top[x0], top[x1], bot[x0], bot[x1]);
                        let (u, v) = ((a.0 + b.0 + c.0 + d.0) / 4.0, (a.1 + b.1 + c.1 + d.1) / 4.0);
                        let (uc, vc) = ((u + 0.5) / 2.0 - 0.5, (v + 0.5) / 2.0 - 0.5);
                        uvrow[2 * cx] =
                            sample(pano.uv, pano.uv_stride, pw / 2, ph / 2, uc, vc, 2, 0);
                        uvrow[2 * cx + 1] =
                            sample(pano.uv, pano.uv_stride, pw / 2, ph / 2, uc, vc, 2, 1);
                    }
                },
            );
    }
}

/// The panorama position of every pixel of output row `y` (`w` pixels), interpolated
/// bilinearly between the grid's exact points, into `out`.
fn grid_row(grid: &MapGrid, y: usize, w: usize, out: &mut Vec<(f32, f32)>) {
    out.clear();
    let gw = grid.gw;
    let (gy, fy) = (y / GRID, (y % GRID) as f32 / GRID as f32);
    let upper = &grid.points[gy * gw..(gy + 1) * gw];
    let lower = &grid.points[(gy + 1) * gw..(gy + 2) * gw];
    for (gx, (ab, cd)) in upper.windows(2).zip(lower.windows(2)).enumerate() {
        let (a, bq, c, d) = (ab[0], ab[1], cd[0], cd[1]);
        let x0 = gx * GRID;
        for k in 0..GRID.min(w.saturating_sub(x0)) {
            let fx = k as f32 / GRID as f32;
            let top = (a.0 + (bq.0 - a.0) * fx, a.1 + (bq.1 - a.1) * fx);
            let bot = (c.0 + (d.0 - c.0) * fx, c.1 + (d.1 - c.1) * fx);
            out.push((top.0 + (bot.0 - top.0) * fy, top.1 + (bot.1 - top.1) * fy));
        }
    }
}

/// Bilinear sample of an interleaved plane (`step` bytes per pixel, component `c`), clamped
/// to the plane.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(crate) fn sample(
    plane: &[u8],
    stride: usize,
    w: usize,
    h: usize,
    u: f32,
    v: f32,
    step: usize,
    c: usize,
) -> u8 {
    // In 1/256 pixel: the integer part indexes, the fraction weighs (a NaN reads as 0).
    let ui = ((u * 256.0) as i32).clamp(0, ((w - 1) << 8) as i32) as u32;
    let vi = ((v * 256.0) as i32).clamp(0, ((h - 1) << 8) as i32) as u32;
    let (x0, y0) = ((ui >> 8) as usize, (vi >> 8) as usize);
    let (fx, fy) = (ui & 255, vi & 255);
    // A zero fraction reads its own pixel twice, which also keeps the last row and column
    // inside the plane.
    let dx = if fx != 0 { step } else { 0 };
    let dy = if fy != 0 { stride } else { 0 };
    let i = y0 * stride + x0 * step + c;
    let p = |k: usize| plane[k] as u32;
    let top = p(i) * (256 - fx) + p(i + dx) * fx;
    let bot = p(i + dy) * (256 - fx) + p(i + dy + dx) * fx;
    ((top * (256 - fy) + bot * fy + 32768) >> 16) as u8
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::image::Nv12Image;

    fn spec() -> PanoramaSpec {
        shared::geometry::Calibration::synthetic(1920, 960, 540).panorama
    }

    fn cam() -> VirtualCamera {
        VirtualCamera::new(
            spec(),
            1280,
            720,
            ViewLimits {
                min_fov: 10.0,
                max_fov: 100.0,
                roll_deg: 0.0,
            },
        )
    }

    #[test]
    fn known_panorama_points_land_where_the_projection_says() {
        let vc = cam();
        let s = spec();
        for pose in [
            Pose {
                yaw: 0.0,
                pitch: -15.0,
                fov: 40.0,
            },
            Pose {
                yaw: -35.0,
                pitch: -10.0,
                fov: 25.0,
            },
            Pose {
                yaw: 40.0,
                pitch: -20.0,
                fov: 60.0,
            },
        ] {
            let pose = vc.limit(&pose);
            for (dlon, dlat) in [(0.0, 0.0), (-6.0, 3.0), (5.0, -4.0), (8.0, 2.5)] {
                let (lon, lat) = (
                    pose.yaw + dlon * pose.fov / 40.0,
                    pose.pitch + dlat * pose.fov / 40.0,
                );
                // A bright 5x5 spot at that panorama position on a dark field.
                let mut pano = Nv12Image::new(1920, 640);
                let (u, v) = s.lonlat_to_pixel(lon, lat);
                let (ui, vi) = (u.round() as i64, v.round() as i64);
                for y in vi - 2..=vi + 2 {
                    for x in ui - 2..=ui + 2 {
                        pano.data[y as usize * 1920 + x as usize] = 235;
                    }
                }
                // The spot's true centre (it is drawn on whole pixels).
                let (lon_c, lat_c) = s.pixel_to_lonlat(ui as f64, vi as f64);
                let (ex, ey) = vc.project(&pose, lon_c, lat_c).unwrap();
                let mut out = Nv12Image::new(1280, 720);
                vc.render(&pano.as_ref(), &pose, &mut out.as_mut());
                let (mut sx, mut sy, mut sw) = (0.0, 0.0, 0.0);
                for y in 0..720 {
                    for x in 0..1280 {
                        let l = out.data[y * 1280 + x] as f64 - 16.0;
                        if l > 5.0 {
                            sx += x as f64 * l;
                            sy += y as f64 * l;
                            sw += l;
                        }
                    }
                }
                let (cx, cy) = (sx / sw, sy / sw);
                let err = ((cx - ex).powi(2) + (cy - ey).powi(2)).sqrt();
                assert!(err < 0.5, "pose {pose:?} point ({dlon},{dlat}): rendered ({cx:.2},{cy:.2}) expected ({ex:.2},{ey:.2}) error {err:.3} px");
            }
        }
    }

    #[test]
    fn limits_keep_the_whole_view_inside_the_panorama() {
        let vc = cam();
        let s = spec();
        for pose in [
            Pose {
                yaw: -80.0,
                pitch: 8.0,
                fov: 60.0,
            },
            Pose {
                yaw: 80.0,
                pitch: -45.0,
                fov: 40.0,
            },
            Pose {
                yaw: 0.0,
                pitch: -20.0,
                fov: 170.0,
            },
            Pose {
                yaw: f64::NAN,
                pitch: 0.0,
                fov: 30.0,
            },
            Pose {
                yaw: 500.0,
                pitch: -500.0,
                fov: 1.0,
            },
        ] {
            let p = vc.limit(&pose);
            for (lon, lat) in vc.border(&p) {
                assert!(
                    lon >= s.lon_min_deg
                        && lon <= s.lon_max_deg
                        && lat >= s.lat_min_deg
                        && lat <= s.lat_max_deg,
                    "{pose:?} -> {p:?} sees ({lon},{lat})"
                );
            }
            assert!(p.fov >= 10.0 - 1e-9 && p.fov <= 100.0);
        }
        // A pose well inside is left alone.
        let inside = Pose {
            yaw: 5.0,
            pitch: -15.0,
            fov: 30.0,
        };
        assert_eq!(vc.limit(&inside), inside);
    }

    #[test]
    fn every_fov_change_takes_effect() {
        let vc = cam();
        let mut pano = Nv12Image::new(1920, 640);
        for (i, p) in pano.data[..1920 * 640].iter_mut().enumerate() {
            *p = ((i % 1920) / 8 % 2 * 100 + 50) as u8;
        }
        let mut prev: Option<Nv12Image> = None;
        for fov in [30.0, 30.5, 31.0, 40.0] {
            let mut out = Nv12Image::new(1280, 720);
            vc.render(
                &pano.as_ref(),
                &Pose {
                    yaw: 0.0,
                    pitch: -15.0,
                    fov,
                },
                &mut out.as_mut(),
            );
            if let Some(p) = &prev {
                assert_ne!(p, &out, "fov {fov} rendered the same image");
            }
            prev = Some(out);
        }
    }
}
