//! The rig as the director sees it: pitch metres to view angles (through the calibration)
//! and the pose limits of the panorama.

use crate::limits::PoseLimits;
use crate::view::Pose;
use shared::config::DirectorConfig;
use shared::geometry::{lonlat_from_dir, Calibration, CalibrationError};
use std::path::Path;

/// Calibration plus pose limits.
#[derive(Debug, Clone)]
pub struct Rig {
    pub cal: Calibration,
    pub limits: PoseLimits,
}

impl Rig {
    pub fn new(cal: Calibration, cfg: &DirectorConfig) -> Rig {
        let limits = PoseLimits::new(&cal.panorama, cfg.fov_min_deg, cfg.fov_max_deg);
        Rig { cal, limits }
    }

    /// The rig of `director.calibration`, or the built-in synthetic one when it is empty.
    pub fn from_config(cfg: &DirectorConfig) -> Result<Rig, CalibrationError> {
        let cal = if cfg.calibration.is_empty() {
            Calibration::synthetic(1920, 960, 540)
        } else {
            Calibration::load(Path::new(&cfg.calibration))?
        };
        Ok(Rig::new(cal, cfg))
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
