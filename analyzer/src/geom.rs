//! The pitch model as the analyzer uses it: panorama pixels to pitch metres and back, the
//! rig's position, the angular size of a pixel, and points along a viewing ray.

use shared::geometry::{Calibration, PitchSpec};
use shared::scene::BALL_RADIUS_M;
use thiserror::Error;

/// Heights (metres) at which a ball candidate's viewing ray is sampled: the ball may be
/// anywhere from the grass to a high lofted ball.
pub const RAY_HEIGHTS_M: [f64; 8] = [BALL_RADIUS_M, 1.0, 2.5, 5.0, 8.0, 12.0, 17.0, 24.0];

/// Why the analyzer's geometry could not be set up.
#[derive(Debug, Error)]
pub enum GeometryError {
    #[error(transparent)]
    Calibration(#[from] shared::geometry::CalibrationError),
}

/// A point on a viewing ray.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RayPoint {
    pub x: f64,
    pub y: f64,
    pub z: f64,
    /// Distance from the rig's optical centre, metres.
    pub range: f64,
}

/// Calibration plus the derived numbers the analyzer needs often.
#[derive(Debug, Clone)]
pub struct PitchModel {
    cal: Calibration,
    rad_per_px: f64,
}

impl PitchModel {
    pub fn new(cal: Calibration) -> PitchModel {
        let rad_per_px = cal.panorama.deg_per_px().to_radians();
        PitchModel { cal, rad_per_px }
    }

    /// The calibration named by the config (`calibration`), or the built-in synthetic rig.
    pub fn from_config(cfg: &shared::config::AnalyzerConfig) -> Result<PitchModel, GeometryError> {
        let cal = if cfg.calibration.trim().is_empty() {
            Calibration::synthetic(cfg.panorama_width, 960, 540)
        } else {
            Calibration::load(std::path::Path::new(&cfg.calibration))?
        };
        Ok(PitchModel::new(cal))
    }

    pub fn calibration(&self) -> &Calibration {
        &self.cal
    }

    pub fn pitch(&self) -> &PitchSpec {
        &self.cal.pitch
    }

    /// Angle subtended by one panorama pixel, radians (square pixels).
    pub fn rad_per_px(&self) -> f64 {
        self.rad_per_px
    }

    pub fn rig(&self) -> (f64, f64, f64) {
        (self.cal.rig.x_m, self.cal.rig.y_m, self.cal.rig.height_m)
    }

    /// Distance from the rig to a pitch point.
    pub fn range(&self, x: f64, y: f64, z: f64) -> f64 {
        let (ox, oy, oz) = self.rig();
        ((x - ox).powi(2) + (y - oy).powi(2) + (z - oz).powi(2)).sqrt()
    }

    /// Panorama pixel of a pitch point.
    pub fn to_pixel(&self, x: f64, y: f64, z: f64) -> (f64, f64) {
        self.cal.pitch_to_panorama(x, y, z)
    }

    /// Pitch point at height `z` seen at a pixel, if the ray reaches that height in front.
    pub fn to_pitch(&self, u: f64, v: f64, z: f64) -> Option<(f64, f64)> {
        self.cal.panorama_to_pitch(u, v, z)
    }

    /// The point of the pixel's viewing ray at height `z`.
    pub fn ray_at(&self, u: f64, v: f64, z: f64) -> Option<RayPoint> {
        let (x, y) = self.to_pitch(u, v, z)?;
        Some(RayPoint {
            x,
            y,
            z,
            range: self.range(x, y, z),
        })
    }

    /// The point at `range` metres along the pixel's viewing ray.
    pub fn ray_at_range(&self, u: f64, v: f64, range: f64) -> RayPoint {
        let d = self.cal.panorama.pixel_to_dir(u, v);
        let d = d / d.norm();
        // Rig frame to pitch frame: the rig's right/forward axes are the pitch's x/y turned
        // by the rig yaw.
        let yaw = self.cal.rig.yaw_deg.to_radians();
        let (ox, oy, oz) = self.rig();
        let wx = d.x * yaw.cos() + d.y * yaw.sin();
        let wy = -d.x * yaw.sin() + d.y * yaw.cos();
        RayPoint {
            x: ox + range * wx,
            y: oy + range * wy,
            z: oz + range * d.z,
            range,
        }
    }

    /// The point of the pixel's viewing ray nearest to a pitch point (at least 1 m in front
    /// of the rig).
    pub fn ray_nearest(&self, u: f64, v: f64, p: (f64, f64, f64)) -> RayPoint {
        let (ox, oy, oz) = self.rig();
        let one = self.ray_at_range(u, v, 1.0);
        let (dx, dy, dz) = (one.x - ox, one.y - oy, one.z - oz);
        let t = (p.0 - ox) * dx + (p.1 - oy) * dy + (p.2 - oz) * dz;
        self.ray_at_range(u, v, t.max(1.0))
    }

    /// Apparent diameter in pixels of an object `diameter_m` wide at `range` metres.
    pub fn diameter_px(&self, diameter_m: f64, range: f64) -> f64 {
        2.0 * (diameter_m / 2.0 / range.max(0.1)).atan() / self.rad_per_px
    }

    /// Range at which an object `diameter_m` wide looks `diameter_px` pixels wide.
    pub fn range_for_diameter(&self, diameter_m: f64, diameter_px: f64) -> f64 {
        let a = diameter_px.max(0.1) * self.rad_per_px;
        diameter_m / 2.0 / (a / 2.0).tan()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_ray_point_is_the_point_itself_when_on_the_ray() {
        let m = model();
        let (u, v) = m.to_pixel(60.0, 40.0, 8.0);
        let q = m.ray_nearest(u, v, (60.0, 40.0, 8.0));
        assert!((q.x - 60.0).abs() < 1e-3 && (q.y - 40.0).abs() < 1e-3 && (q.z - 8.0).abs() < 1e-3);
        // From a point on the grass below it, the ray passes above.
        let q = m.ray_nearest(u, v, (60.0, 40.0, 0.11));
        assert!(
            q.z > 4.0 && ((q.x - 60.0).powi(2) + (q.y - 40.0).powi(2)).sqrt() < 4.0,
            "{q:?}"
        );
    }

    fn model() -> PitchModel {
        PitchModel::new(Calibration::synthetic(1920, 960, 540))
    }

    #[test]
    fn ray_at_range_matches_the_projection() {
        let m = model();
        let (u, v) = m.to_pixel(30.0, 20.0, 3.0);
        let r = m.range(30.0, 20.0, 3.0);
        let p = m.ray_at_range(u, v, r);
        assert!((p.x - 30.0).abs() < 1e-6 && (p.y - 20.0).abs() < 1e-6 && (p.z - 3.0).abs() < 1e-6);
    }

    #[test]
    fn diameter_and_range_are_inverse() {
        let m = model();
        let d = m.diameter_px(0.22, 40.0);
        assert!((m.range_for_diameter(0.22, d) - 40.0).abs() < 1e-6);
        assert!(d > 2.0 && d < 6.0, "{d}");
    }
}
