//! Geometry: camera model, equirectangular panorama, pitch plane, rig calibration and the
//! stitch look-up tables.
//!
//! Frames and conventions (angles in degrees at the API, radians inside):
//! - **Pitch frame**: metres, origin at a corner of the pitch, `x` along the near touchline,
//!   `y` across the pitch away from the cameras, `z` up.
//! - **Rig frame**: origin at the cameras' optical centre, `+Y` forward (rig yaw 0 looks
//!   along the pitch's `+y`), `+X` right, `+Z` up.
//! - **Panorama**: equirectangular with square pixels. Longitude `lon` is the angle to the
//!   right of the rig's forward axis, latitude `lat` the angle above the horizon. Pixel
//!   coordinates are continuous with integer values at pixel centres (OpenCV convention):
//!   `u = (lon - lon_min)/deg_per_px - 0.5`, `v = (lat_max - lat)/deg_per_px - 0.5`.
//! - **Camera**: pinhole with OpenCV distortion (k1 k2 p1 p2 k3); camera frame x right, y down,
//!   z forward; orientation yaw/pitch/roll in the rig frame.
//! - **Virtual camera** ([`view`]): a perspective view of the panorama for a pose, the one
//!   model playout renders with and the director plans with.

mod calibration;
mod camera;
mod lut;
mod panorama;
mod pitch;
pub mod view;

pub use calibration::{Calibration, CalibrationError, RigPose};
pub use camera::{CameraModel, Distortion};
pub use lut::{CameraTable, LutError, LutSource, StitchLut, LEGACY_LUT_FILES};
pub use panorama::PanoramaSpec;
pub use pitch::{PitchSpec, PENALTY_SPOT_M, SPOT_RADIUS_M};

use nalgebra::Vector3;

/// Unit direction in the rig frame for a longitude/latitude in degrees.
pub fn dir_from_lonlat(lon_deg: f64, lat_deg: f64) -> Vector3<f64> {
    let (lon, lat) = (lon_deg.to_radians(), lat_deg.to_radians());
    Vector3::new(lat.cos() * lon.sin(), lat.cos() * lon.cos(), lat.sin())
}

/// Longitude and latitude in degrees of a direction in the rig frame (any length > 0).
pub fn lonlat_from_dir(d: &Vector3<f64>) -> (f64, f64) {
    let n = d.norm();
    let lon = d.x.atan2(d.y).to_degrees();
    let lat = (d.z / n).clamp(-1.0, 1.0).asin().to_degrees();
    (lon, lat)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lonlat_round_trip() {
        for lon in [-170.0, -45.0, 0.0, 30.0, 89.0] {
            for lat in [-80.0, -10.0, 0.0, 45.0] {
                let (a, b) = lonlat_from_dir(&dir_from_lonlat(lon, lat));
                assert!((a - lon).abs() < 1e-9 && (b - lat).abs() < 1e-9);
            }
        }
        // Forward is +Y, right is +X, up is +Z.
        assert!((dir_from_lonlat(0.0, 0.0) - Vector3::y()).norm() < 1e-12);
        assert!((dir_from_lonlat(90.0, 0.0) - Vector3::x()).norm() < 1e-12);
        assert!((dir_from_lonlat(0.0, 90.0) - Vector3::z()).norm() < 1e-12);
    }
}
