//! The rig as the director sees it: pitch metres to view angles (through the calibration)
//! and the pose limits of the panorama.

use crate::limits::PoseLimits;
use crate::view::{Pose, ViewModel};
use shared::config::{DirectorConfig, SystemConfig};
use shared::geometry::{lonlat_from_dir, Calibration, CalibrationError};
use std::path::Path;

/// Calibration, the output's perspective model, and pose limits.
#[derive(Debug, Clone)]
pub struct Rig {
    pub cal: Calibration,
    /// Playout's model of the output (aspect and roll from `[playout]`).
    pub view: ViewModel,
    pub limits: PoseLimits,
}

impl Rig {
    pub fn new(cal: Calibration, cfg: &DirectorConfig, view: ViewModel) -> Rig {
        let limits = PoseLimits::new(&cal.panorama, cfg.fov_min_deg, cfg.fov_max_deg, view);
        Rig { cal, view, limits }
    }

    /// The rig of `director.calibration` (the built-in synthetic one when it is empty) with a
    /// 16:9 level output.
    pub fn from_config(cfg: &DirectorConfig) -> Result<Rig, CalibrationError> {
        Self::with_view(cfg, ViewModel::default())
    }

    /// The rig of the whole configuration: its calibration and playout's output model
    /// (`playout.output_width`, `output_height`, `roll_deg`).
    pub fn from_system(cfg: &SystemConfig) -> Result<Rig, CalibrationError> {
        let p = &cfg.playout;
        Self::with_view(
            &cfg.director,
            ViewModel::new(p.output_width, p.output_height, p.roll_deg),
        )
    }

    fn with_view(cfg: &DirectorConfig, view: ViewModel) -> Result<Rig, CalibrationError> {
        let cal = if cfg.calibration.is_empty() {
            Calibration::synthetic(1920, 960, 540)
        } else {
            Calibration::load(Path::new(&cfg.calibration))?
        };
        Ok(Rig::new(cal, cfg, view))
    }

    /// Longitude and latitude (degrees) of a pitch point (metres, z up).
    pub fn lonlat(&self, x: f64, y: f64, z: f64) -> (f64, f64) {
        lonlat_from_dir(&self.cal.pitch_to_dir(x, y, z))
    }

    /// Distance from the rig's optical centre to a pitch point, metres.
    pub fn distance(&self, x: f64, y: f64, z: f64) -> f64 {
        self.cal.pitch_to_dir(x, y, z).norm()
    }

    /// The wide shot: the pitch centre at the widest usable field of view, inside the limits.
    pub fn wide_pose(&self) -> Pose {
        let p = &self.cal.pitch;
        let (yaw, pitch) = self.lonlat(p.length_m / 2.0, p.width_m / 2.0, 0.0);
        self.limits.clamp(Pose {
            yaw,
            pitch,
            fov: self.limits.fov_range().1,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_director_plans_with_playouts_output_shape() {
        let mut cfg = SystemConfig::default();
        cfg.playout.output_width = 1440;
        cfg.playout.output_height = 1080;
        cfg.playout.roll_deg = 2.0;
        let rig = Rig::from_system(&cfg).unwrap();
        assert_eq!(rig.view, ViewModel::new(1440, 1080, 2.0));
        assert_eq!(rig.limits.view(), &rig.view);
        // A 4:3 frame is taller than 16:9: at the same field of view it sees more latitude.
        let wide = Rig::from_system(&SystemConfig::default()).unwrap();
        let (a, b) = (
            rig.view.frustum_extent(-15.0, 40.0).unwrap(),
            wide.view.frustum_extent(-15.0, 40.0).unwrap(),
        );
        assert!(a.lat_max - a.lat_min > b.lat_max - b.lat_min);
    }
}
