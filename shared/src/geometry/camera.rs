//! Pinhole camera with OpenCV distortion, oriented in the rig frame.

use super::dir_from_lonlat;
use nalgebra::{Matrix3, Vector3};
use serde::{Deserialize, Serialize};

/// OpenCV distortion coefficients (radial k1 k2 k3, tangential p1 p2).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Distortion {
    pub k1: f64,
    pub k2: f64,
    pub p1: f64,
    pub p2: f64,
    pub k3: f64,
}

impl Distortion {
    /// Applies distortion to normalised image coordinates.
    pub fn distort(&self, x: f64, y: f64) -> (f64, f64) {
        let r2 = x * x + y * y;
        let radial = 1.0 + r2 * (self.k1 + r2 * (self.k2 + r2 * self.k3));
        let xd = x * radial + 2.0 * self.p1 * x * y + self.p2 * (r2 + 2.0 * x * x);
        let yd = y * radial + self.p1 * (r2 + 2.0 * y * y) + 2.0 * self.p2 * x * y;
        (xd, yd)
    }

    /// Inverts [`distort`](Self::distort): fixed-point iteration, then Newton's method where
    /// that does not settle (strong barrel distortion near the image corners); `None` when
    /// the point lies beyond the range the coefficients describe.
    pub fn undistort(&self, xd: f64, yd: f64) -> Option<(f64, f64)> {
        if *self == Distortion::default() {
            return Some((xd, yd));
        }
        self.undistort_fixed_point(xd, yd)
            .or_else(|| self.undistort_newton(xd, yd))
    }

    /// Newton's method on `distort(x, y) = (xd, yd)`, within the radius where the radial
    /// polynomial still grows.
    fn undistort_newton(&self, xd: f64, yd: f64) -> Option<(f64, f64)> {
        let limit = self.monotonic_r2();
        let (mut x, mut y) = (xd, yd);
        for _ in 0..60 {
            let (fx, fy) = self.distort(x, y);
            let (ex, ey) = (fx - xd, fy - yd);
            if ex.abs() < 1e-13 && ey.abs() < 1e-13 {
                break;
            }
            // Jacobian by central differences (the polynomial is smooth).
            let h = 1e-7;
            let (ax, ay) = self.distort(x + h, y);
            let (bx, by) = self.distort(x - h, y);
            let (cx, cy) = self.distort(x, y + h);
            let (dx, dy) = self.distort(x, y - h);
            let (j11, j21) = ((ax - bx) / (2.0 * h), (ay - by) / (2.0 * h));
            let (j12, j22) = ((cx - dx) / (2.0 * h), (cy - dy) / (2.0 * h));
            let det = j11 * j22 - j12 * j21;
            if det.abs() < 1e-12 {
                return None;
            }
            x -= (j22 * ex - j12 * ey) / det;
            y -= (-j21 * ex + j11 * ey) / det;
        }
        let (cx, cy) = self.distort(x, y);
        let ok = (cx - xd).abs() < 1e-10 && (cy - yd).abs() < 1e-10;
        (ok && limit.is_none_or(|l| x * x + y * y <= l)).then_some((x, y))
    }

    /// The squared radius where the radial polynomial stops growing (beyond it the model
    /// folds back and means nothing), if it does within a radius of 4.
    pub fn monotonic_r2(&self) -> Option<f64> {
        // d(r * (1 + k1 r^2 + k2 r^4 + k3 r^6))/dr = 1 + 3 k1 s + 5 k2 s^2 + 7 k3 s^3, s = r^2.
        let slope = |s: f64| 1.0 + s * (3.0 * self.k1 + s * (5.0 * self.k2 + s * 7.0 * self.k3));
        // No negative coefficient: the slope never falls below 1 (every lens without barrel
        // distortion, the synthetic cameras among them). This runs on every projection.
        if self.k1 >= 0.0 && self.k2 >= 0.0 && self.k3 >= 0.0 {
            return None;
        }
        // The first point of the 0.001 grid where the slope is no longer positive: found on a
        // 0.1 grid first, then in steps of 0.001 within that step.
        let mut coarse = 0.0;
        while coarse < 16.0 && slope(coarse + 0.1) > 0.0 {
            coarse += 0.1;
        }
        let mut s = coarse;
        while s < 16.0 {
            if slope(s) <= 0.0 {
                return Some(s);
            }
            s += 0.001;
        }
        None
    }

    fn undistort_fixed_point(&self, xd: f64, yd: f64) -> Option<(f64, f64)> {
        let (mut x, mut y) = (xd, yd);
        for _ in 0..100 {
            let r2 = x * x + y * y;
            let radial = 1.0 + r2 * (self.k1 + r2 * (self.k2 + r2 * self.k3));
            if radial <= 0.0 {
                return None;
            }
            let dx = 2.0 * self.p1 * x * y + self.p2 * (r2 + 2.0 * x * x);
            let dy = self.p1 * (r2 + 2.0 * y * y) + 2.0 * self.p2 * x * y;
            let nx = (xd - dx) / radial;
            let ny = (yd - dy) / radial;
            let step = (nx - x).abs() + (ny - y).abs();
            x = nx;
            y = ny;
            if step < 1e-14 {
                break;
            }
        }
        let (cx, cy) = self.distort(x, y);
        ((cx - xd).abs() < 1e-10 && (cy - yd).abs() < 1e-10).then_some((x, y))
    }

    pub fn is_finite(&self) -> bool {
        [self.k1, self.k2, self.p1, self.p2, self.k3]
            .iter()
            .all(|v| v.is_finite())
    }
}

/// One calibrated camera.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CameraModel {
    /// Name used in logs and errors (e.g. `left`).
    pub name: String,
    /// Image size in pixels.
    pub width: u32,
    pub height: u32,
    /// Focal lengths and principal point in pixels.
    pub fx: f64,
    pub fy: f64,
    pub cx: f64,
    pub cy: f64,
    #[serde(default)]
    pub distortion: Distortion,
    /// Orientation in the rig frame, degrees: yaw to the right, pitch up, roll clockwise.
    pub yaw_deg: f64,
    pub pitch_deg: f64,
    #[serde(default)]
    pub roll_deg: f64,
    /// Where this camera's optical centre sits relative to the rig's centre, metres in the
    /// rig frame (right, forward, up). Two real cameras on one mast are a few decimetres
    /// apart; the panorama is the view from the rig's centre, and each camera's picture is
    /// placed in it through the pitch plane, so that the pitch's lines meet at the seam.
    /// Zero (the default) for cameras that share the centre.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub offset_m: [f64; 3],
}

fn is_zero(v: &[f64; 3]) -> bool {
    v.iter().all(|x| *x == 0.0)
}

/// Two cameras farther apart than this are not one rig.
pub const MAX_OFFSET_M: f64 = 5.0;

impl CameraModel {
    /// The optical centre relative to the rig's centre (rig frame, metres).
    pub fn offset(&self) -> Vector3<f64> {
        Vector3::new(self.offset_m[0], self.offset_m[1], self.offset_m[2])
    }

    /// True when the camera's centre is the rig's.
    pub fn at_rig_centre(&self) -> bool {
        is_zero(&self.offset_m)
    }

    /// Rotation from the rig frame to the camera frame (rows: right, down, forward).
    pub fn rig_to_camera(&self) -> Matrix3<f64> {
        let f = dir_from_lonlat(self.yaw_deg, self.pitch_deg);
        let yaw = self.yaw_deg.to_radians();
        let r0 = Vector3::new(yaw.cos(), -yaw.sin(), 0.0);
        let d0 = f.cross(&r0);
        let roll = self.roll_deg.to_radians();
        let r = r0 * roll.cos() + d0 * roll.sin();
        let d = d0 * roll.cos() - r0 * roll.sin();
        Matrix3::from_rows(&[r.transpose(), d.transpose(), f.transpose()])
    }

    /// Largest squared radius (normalised, undistorted) that the image corners reach, grown
    /// by a margin: beyond it the distortion polynomial is not trusted (it can fold back).
    fn max_r2(&self) -> f64 {
        let corners = [
            (0.0, 0.0),
            (self.width as f64, 0.0),
            (0.0, self.height as f64),
            (self.width as f64, self.height as f64),
        ];
        let fold = self.distortion.monotonic_r2();
        let mut m: f64 = 0.0;
        for (u, v) in corners {
            let xd = (u - self.cx) / self.fx;
            let yd = (v - self.cy) / self.fy;
            // A corner beyond the model's range: the whole range is usable.
            let r2 = match self.distortion.undistort(xd, yd) {
                Some((x, y)) => x * x + y * y,
                None => fold.unwrap_or(xd * xd + yd * yd),
            };
            m = m.max(r2);
        }
        match fold {
            Some(f) => (m * 1.44).min(f),
            None => m * 1.44,
        }
    }

    /// Pixel of a rig-frame direction, or `None` when it is behind the camera or outside the
    /// range where the distortion model holds. The pixel may lie outside the image.
    pub fn project_dir(&self, rot: &Matrix3<f64>, d: &Vector3<f64>) -> Option<(f64, f64)> {
        self.project_dir_limited(rot, d, self.max_r2())
    }

    /// As [`project_dir`](Self::project_dir) with a precomputed radius limit (for tables).
    pub(crate) fn project_dir_limited(
        &self,
        rot: &Matrix3<f64>,
        d: &Vector3<f64>,
        max_r2: f64,
    ) -> Option<(f64, f64)> {
        let p = rot * d;
        if p.z <= 1e-9 {
            return None;
        }
        let (x, y) = (p.x / p.z, p.y / p.z);
        if x * x + y * y > max_r2 {
            return None;
        }
        let (xd, yd) = self.distortion.distort(x, y);
        Some((self.fx * xd + self.cx, self.fy * yd + self.cy))
    }

    pub(crate) fn radius_limit(&self) -> f64 {
        self.max_r2()
    }

    /// Rig-frame unit direction of a camera pixel.
    pub fn unproject(&self, rot: &Matrix3<f64>, u: f64, v: f64) -> Option<Vector3<f64>> {
        let xd = (u - self.cx) / self.fx;
        let yd = (v - self.cy) / self.fy;
        let (x, y) = self.distortion.undistort(xd, yd)?;
        let p = Vector3::new(x, y, 1.0).normalize();
        Some(rot.transpose() * p)
    }

    /// True when the pixel lies inside the image with its bilinear neighbours.
    pub fn contains(&self, u: f64, v: f64) -> bool {
        u >= 0.0 && v >= 0.0 && u <= (self.width - 1) as f64 && v <= (self.height - 1) as f64
    }

    /// All parameters are finite and plausible; the error names the bad field.
    pub fn check(&self) -> Result<(), String> {
        let fields = [
            ("fx", self.fx),
            ("fy", self.fy),
            ("cx", self.cx),
            ("cy", self.cy),
            ("yaw_deg", self.yaw_deg),
            ("pitch_deg", self.pitch_deg),
            ("roll_deg", self.roll_deg),
        ];
        for (k, v) in fields {
            if !v.is_finite() {
                return Err(format!("{k} is not a finite number ({v})"));
            }
        }
        if !self.distortion.is_finite() {
            return Err("distortion has a non-finite coefficient".into());
        }
        if !self.offset_m.iter().all(|v| v.is_finite()) || self.offset().norm() > MAX_OFFSET_M {
            return Err(format!(
                "offset_m {:?} must be finite and within {MAX_OFFSET_M} m of the rig's centre",
                self.offset_m
            ));
        }
        if self.width < 16 || self.height < 16 {
            return Err(format!(
                "image size {}x{} is too small",
                self.width, self.height
            ));
        }
        if self.fx <= 0.0 || self.fy <= 0.0 {
            return Err("fx and fy must be positive".into());
        }
        if self.pitch_deg.abs() >= 89.0 {
            return Err(format!(
                "pitch_deg {} is too steep (|pitch| must be under 89)",
                self.pitch_deg
            ));
        }
        Ok(())
    }

    /// A pinhole camera with a horizontal field of view, centred principal point.
    pub fn with_hfov(name: &str, width: u32, height: u32, hfov_deg: f64) -> CameraModel {
        let fx = (width as f64 / 2.0) / (hfov_deg.to_radians() / 2.0).tan();
        CameraModel {
            name: name.into(),
            width,
            height,
            fx,
            fy: fx,
            cx: (width as f64 - 1.0) / 2.0,
            cy: (height as f64 - 1.0) / 2.0,
            distortion: Distortion::default(),
            yaw_deg: 0.0,
            pitch_deg: 0.0,
            roll_deg: 0.0,
            offset_m: [0.0; 3],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cam() -> CameraModel {
        let mut c = CameraModel::with_hfov("t", 960, 540, 90.0);
        c.distortion = Distortion {
            k1: -0.08,
            k2: 0.015,
            p1: 0.001,
            p2: -0.0005,
            k3: 0.0,
        };
        c.yaw_deg = -38.0;
        c.pitch_deg = -17.0;
        c.roll_deg = 1.5;
        c
    }

    #[test]
    fn rotation_is_orthonormal_and_forward_is_optical_axis() {
        let c = cam();
        let r = c.rig_to_camera();
        assert!((r * r.transpose() - Matrix3::identity()).norm() < 1e-12);
        assert!((r.determinant() - 1.0).abs() < 1e-12);
        let f = dir_from_lonlat(c.yaw_deg, c.pitch_deg);
        let p = r * f;
        assert!(p.x.abs() < 1e-12 && p.y.abs() < 1e-12 && p.z > 0.99);
    }

    #[test]
    fn up_in_the_world_is_up_in_the_image() {
        let mut c = cam();
        c.roll_deg = 0.0;
        let r = c.rig_to_camera();
        let (_, v_low) = c
            .project_dir(&r, &dir_from_lonlat(c.yaw_deg, c.pitch_deg - 5.0))
            .unwrap();
        let (_, v_high) = c
            .project_dir(&r, &dir_from_lonlat(c.yaw_deg, c.pitch_deg + 5.0))
            .unwrap();
        assert!(v_high < v_low, "image y grows downwards");
        let (u_right, _) = c
            .project_dir(&r, &dir_from_lonlat(c.yaw_deg + 5.0, c.pitch_deg))
            .unwrap();
        assert!(u_right > c.cx);
    }

    #[test]
    fn pixel_direction_round_trip_below_0_001_px() {
        let c = cam();
        let r = c.rig_to_camera();
        for u in (0..960).step_by(37) {
            for v in (0..540).step_by(29) {
                let d = c.unproject(&r, u as f64, v as f64).unwrap();
                let (u2, v2) = c.project_dir(&r, &d).unwrap();
                assert!(
                    (u2 - u as f64).abs() < 1e-3 && (v2 - v as f64).abs() < 1e-3,
                    "({u},{v}) -> ({u2},{v2})"
                );
            }
        }
    }

    #[test]
    fn the_fold_is_found_on_the_fine_grid_and_lenses_without_barrel_never_fold() {
        let scan = |d: &Distortion| {
            let slope = |s: f64| 1.0 + s * (3.0 * d.k1 + s * (5.0 * d.k2 + s * 7.0 * d.k3));
            (0..16_000)
                .map(|i| i as f64 * 0.001)
                .find(|&s| slope(s) <= 0.0)
        };
        for (k1, k2, k3) in [
            (-0.3, 0.0, 0.0),
            (-0.08, 0.015, 0.0),
            (-0.45, 0.2, -0.05),
            (0.1, -0.2, 0.0),
            (-0.01, 0.0, 0.0),
            (0.0, 0.0, 0.0),
            (0.2, 0.1, 0.05),
        ] {
            let d = Distortion {
                k1,
                k2,
                k3,
                ..Distortion::default()
            };
            match (d.monotonic_r2(), scan(&d)) {
                (Some(a), Some(b)) => assert!((a - b).abs() < 1e-9, "{k1} {k2} {k3}: {a} vs {b}"),
                (a, b) => assert_eq!(a, b, "{k1} {k2} {k3}"),
            }
        }
    }

    #[test]
    fn strong_barrel_distortion_inverts_up_to_where_the_model_folds() {
        // A wide lens like the SoccerTrack rig's: the polynomial stops growing near r = 1.2.
        let d = Distortion {
            k1: -0.387,
            k2: 0.182,
            p1: 0.0003,
            p2: -0.0039,
            k3: -0.0507,
        };
        let fold = d.monotonic_r2().expect("this lens folds");
        assert!((1.0..2.0).contains(&fold), "{fold}");
        // Every radius short of the fold round-trips, including where fixed-point iteration
        // alone gives up.
        for k in 1..40 {
            let r = (fold.sqrt() * 0.99) * k as f64 / 40.0;
            let (x, y) = (r * 0.8, r * 0.6);
            let (xd, yd) = d.distort(x, y);
            let (ux, uy) = d.undistort(xd, yd).unwrap_or_else(|| panic!("r {r}"));
            assert!((ux - x).abs() < 1e-9 && (uy - y).abs() < 1e-9, "r {r}");
        }
    }

    #[test]
    fn behind_the_camera_is_none() {
        let c = cam();
        let r = c.rig_to_camera();
        assert!(c
            .project_dir(&r, &dir_from_lonlat(c.yaw_deg + 180.0, 0.0))
            .is_none());
    }

    #[test]
    fn non_finite_values_are_named() {
        let mut c = cam();
        c.fy = f64::NAN;
        assert!(c.check().unwrap_err().contains("fy"));
    }
}
