//! The equirectangular panorama: size, angular limits, pixel <-> direction.

use super::{dir_from_lonlat, lonlat_from_dir};
use nalgebra::Vector3;
use serde::{Deserialize, Serialize};

/// Panorama size and angular limits (degrees). Pixels are square: the checks in
/// [`Calibration::validate`](super::Calibration::validate) require
/// `(lon_max - lon_min)/width == (lat_max - lat_min)/height` within 0.5 %.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PanoramaSpec {
    pub width: u32,
    pub height: u32,
    pub lon_min_deg: f64,
    pub lon_max_deg: f64,
    pub lat_min_deg: f64,
    pub lat_max_deg: f64,
}

impl PanoramaSpec {
    /// Degrees per pixel (taken from the longitude span; latitude uses the same value).
    pub fn deg_per_px(&self) -> f64 {
        (self.lon_max_deg - self.lon_min_deg) / self.width as f64
    }

    /// Panorama pixel of a longitude/latitude.
    pub fn lonlat_to_pixel(&self, lon: f64, lat: f64) -> (f64, f64) {
        let d = self.deg_per_px();
        (
            (lon - self.lon_min_deg) / d - 0.5,
            (self.lat_max_deg - lat) / d - 0.5,
        )
    }

    /// Longitude/latitude of a panorama pixel.
    pub fn pixel_to_lonlat(&self, u: f64, v: f64) -> (f64, f64) {
        let d = self.deg_per_px();
        (
            self.lon_min_deg + (u + 0.5) * d,
            self.lat_max_deg - (v + 0.5) * d,
        )
    }

    /// Rig-frame unit direction of a panorama pixel.
    pub fn pixel_to_dir(&self, u: f64, v: f64) -> Vector3<f64> {
        let (lon, lat) = self.pixel_to_lonlat(u, v);
        dir_from_lonlat(lon, lat)
    }

    /// Panorama pixel of a rig-frame direction.
    pub fn dir_to_pixel(&self, d: &Vector3<f64>) -> (f64, f64) {
        let (lon, lat) = lonlat_from_dir(d);
        self.lonlat_to_pixel(lon, lat)
    }

    /// True when the pixel lies inside the image (with bilinear neighbours).
    pub fn contains(&self, u: f64, v: f64) -> bool {
        u >= 0.0 && v >= 0.0 && u <= (self.width - 1) as f64 && v <= (self.height - 1) as f64
    }

    /// A copy with another pixel size over the same angular limits (height follows, rounded
    /// to an even number: NV12 frames need even sizes).
    pub fn with_width(&self, width: u32) -> PanoramaSpec {
        let scale = width as f64 / self.width as f64;
        PanoramaSpec {
            width,
            height: (((self.height as f64) * scale / 2.0).round() as u32 * 2).max(2),
            ..self.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> PanoramaSpec {
        PanoramaSpec {
            width: 1920,
            height: 640,
            lon_min_deg: -80.0,
            lon_max_deg: 80.0,
            lat_min_deg: -43.333333333,
            lat_max_deg: 10.0,
        }
    }

    #[test]
    fn pixel_direction_round_trip() {
        let s = spec();
        for (u, v) in [(0.0, 0.0), (959.5, 320.0), (1919.0, 639.0), (12.25, 600.75)] {
            let (u2, v2) = s.dir_to_pixel(&s.pixel_to_dir(u, v));
            assert!((u - u2).abs() < 1e-9 && (v - v2).abs() < 1e-9);
        }
    }

    #[test]
    fn pixel_edges_match_limits() {
        let s = spec();
        let (lon, lat) = s.pixel_to_lonlat(-0.5, -0.5);
        assert!((lon + 80.0).abs() < 1e-12 && (lat - 10.0).abs() < 1e-12);
        let (lon, _) = s.pixel_to_lonlat(1919.5, 0.0);
        assert!((lon - 80.0).abs() < 1e-12);
    }
}
