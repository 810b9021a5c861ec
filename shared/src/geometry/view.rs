//! The virtual camera's perspective model: the one playout renders with and the director plans
//! with.
//!
//! - A [`Pose`] is `(yaw, pitch, fov)` in degrees: the view centre's panorama longitude and
//!   latitude, and the horizontal field of view.
//! - A [`ViewModel`] is what every pose shares: the output's aspect (height over width) and a
//!   constant roll (degrees, positive clockwise).
//! - Directions are in the rig frame (`+Y` forward, `+X` right, `+Z` up, see
//!   [`dir_from_lonlat`]). The view's forward axis points at `(yaw, pitch)`; its right axis is
//!   the horizontal right of that direction turned by the roll about the forward axis.
//! - Normalised image coordinates: `(-1, -1)` is the bottom-left corner, `(1, 1)` the
//!   top-right one, so a point is in frame when both lie in `[-1, 1]`.
//!
//! Yaw is a turn about the vertical axis, so it only shifts longitudes: the frustum's latitude
//! range depends on `(pitch, fov)` alone, and its longitude range is `yaw` plus offsets that
//! also depend on `(pitch, fov)` alone ([`FrustumExtent`]).

use super::{dir_from_lonlat, lonlat_from_dir};
use nalgebra::Vector3;

/// A pose of the virtual camera, degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pose {
    pub yaw: f64,
    pub pitch: f64,
    pub fov: f64,
}

impl Pose {
    pub fn from_keyframe(k: &crate::messages::Keyframe) -> Pose {
        Pose {
            yaw: k.yaw as f64,
            pitch: k.pitch as f64,
            fov: k.fov as f64,
        }
    }

    /// The pose a fraction `t` of the way from `a` to `b`, angle by angle.
    pub fn lerp(a: &Pose, b: &Pose, t: f64) -> Pose {
        Pose {
            yaw: a.yaw + (b.yaw - a.yaw) * t,
            pitch: a.pitch + (b.pitch - a.pitch) * t,
            fov: a.fov + (b.fov - a.fov) * t,
        }
    }

    /// Largest change of any of the three angles.
    pub fn max_delta(&self, other: &Pose) -> f64 {
        (self.yaw - other.yaw)
            .abs()
            .max((self.pitch - other.pitch).abs())
            .max((self.fov - other.fov).abs())
    }
}

/// The view's axes in the rig frame for a pose.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ViewBasis {
    pub forward: Vector3<f64>,
    pub right: Vector3<f64>,
    pub down: Vector3<f64>,
    /// Tangents of the half fields of view (horizontal, vertical).
    pub tan_half: (f64, f64),
}

/// Angular extent of a view's frustum: latitudes covered and the half-width in longitude
/// about the yaw (the larger side's, when a roll makes the sides differ), degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FrustumExtent {
    pub lat_min: f64,
    pub lat_max: f64,
    pub half_lon: f64,
}

/// The shape every view shares: aspect (height / width) and roll.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ViewModel {
    pub aspect: f64,
    pub roll_deg: f64,
}

impl Default for ViewModel {
    /// 16:9, level horizon.
    fn default() -> Self {
        ViewModel {
            aspect: 9.0 / 16.0,
            roll_deg: 0.0,
        }
    }
}

impl ViewModel {
    /// The model of an output `width` x `height` with a constant roll.
    pub fn new(width: u32, height: u32, roll_deg: f64) -> ViewModel {
        ViewModel {
            aspect: height as f64 / width as f64,
            roll_deg,
        }
    }

    /// Tangents of the half fields of view `(horizontal, vertical)` for a horizontal field
    /// of view.
    pub fn half_tangents(&self, hfov_deg: f64) -> (f64, f64) {
        let tx = (hfov_deg.to_radians() / 2.0).tan();
        (tx, tx * self.aspect)
    }

    /// Vertical field of view (degrees) for a horizontal one.
    pub fn vfov(&self, hfov_deg: f64) -> f64 {
        2.0 * self.half_tangents(hfov_deg).1.atan().to_degrees()
    }

    /// The view's axes for a pose.
    pub fn basis(&self, p: &Pose) -> ViewBasis {
        let f = dir_from_lonlat(p.yaw, p.pitch);
        let yaw = p.yaw.to_radians();
        let r0 = Vector3::new(yaw.cos(), -yaw.sin(), 0.0);
        let d0 = f.cross(&r0);
        let roll = self.roll_deg.to_radians();
        ViewBasis {
            forward: f,
            right: r0 * roll.cos() + d0 * roll.sin(),
            down: d0 * roll.cos() - r0 * roll.sin(),
            tan_half: self.half_tangents(p.fov),
        }
    }

    /// Normalised image position of the direction `(lon, lat)` (degrees) in the view `pose`,
    /// or `None` when it lies behind the camera.
    pub fn project(&self, pose: &Pose, lon_deg: f64, lat_deg: f64) -> Option<(f64, f64)> {
        let b = self.basis(pose);
        let d = dir_from_lonlat(lon_deg, lat_deg);
        let z = d.dot(&b.forward);
        if z <= 1e-9 {
            return None;
        }
        Some((
            d.dot(&b.right) / z / b.tan_half.0,
            -d.dot(&b.down) / z / b.tan_half.1,
        ))
    }

    /// Longitude/latitude (degrees) seen at normalised image position `(x, y)` of `pose`.
    pub fn unproject(&self, pose: &Pose, x: f64, y: f64) -> (f64, f64) {
        let b = self.basis(pose);
        lonlat_from_dir(&(b.forward + b.right * (x * b.tan_half.0) - b.down * (y * b.tan_half.1)))
    }

    /// The extent of the frustum for a tilt and field of view; `None` when the view reaches
    /// over a pole. Exact for a level view; with a roll, taken from the border sampled every
    /// 1/200 of a side.
    pub fn frustum_extent(&self, pitch_deg: f64, hfov_deg: f64) -> Option<FrustumExtent> {
        if self.roll_deg == 0.0 {
            return self.level_extent(pitch_deg, hfov_deg);
        }
        let pose = Pose {
            yaw: 0.0,
            pitch: pitch_deg,
            fov: hfov_deg,
        };
        let b = self.basis(&pose);
        // Over a pole: some border ray points straight up or down past the vertical.
        let (tx, ty) = b.tan_half;
        let (mut lo, mut hi, mut half) = (f64::MAX, f64::MIN, 0f64);
        for i in 0..=200 {
            let t = -1.0 + 2.0 * i as f64 / 200.0;
            for (x, y) in [(t, 1.0), (t, -1.0), (1.0, t), (-1.0, t)] {
                let d = b.forward + b.right * (x * tx) - b.down * (y * ty);
                let horizontal_forward = d.y;
                if horizontal_forward <= 1e-6 {
                    return None;
                }
                let (lon, lat) = lonlat_from_dir(&d);
                lo = lo.min(lat);
                hi = hi.max(lat);
                half = half.max(lon.abs());
            }
        }
        Some(FrustumExtent {
            lat_min: lo,
            lat_max: hi,
            half_lon: half,
        })
    }

    /// The exact extent of a level (roll 0) frustum.
    ///
    /// Why this is exact: along the top or bottom edge (`b = +-ty`) the ray's height is fixed
    /// while its horizontal length grows with `|a|`, so the extreme latitude lies at the
    /// edge's centre when the edge points away from the horizon, else at its corners; along
    /// the side edges the longitude `atan2(tx, cos(th) - b sin(th))` is extreme at a corner.
    fn level_extent(&self, pitch_deg: f64, hfov_deg: f64) -> Option<FrustumExtent> {
        let (tx, ty) = self.half_tangents(hfov_deg);
        let th = pitch_deg.to_radians();
        let (s, c) = th.sin_cos();
        let edge_lat = |b: f64, corner: bool| {
            let a = if corner { tx } else { 0.0 };
            let fy = c - b * s;
            let fz = s + b * c;
            fz.atan2((a * a + fy * fy).sqrt()).to_degrees()
        };
        // Top edge: centre is highest if the edge points above the horizon.
        let top_up = s + ty * c >= 0.0;
        let lat_max = edge_lat(ty, !top_up);
        let bottom_down = s - ty * c <= 0.0;
        let lat_min = edge_lat(-ty, !bottom_down);
        let near = c - ty * s.abs();
        if near <= 1e-6 {
            return None;
        }
        let half_lon = tx.atan2(near).to_degrees();
        Some(FrustumExtent {
            lat_min,
            lat_max,
            half_lon,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn level() -> ViewModel {
        ViewModel::default()
    }

    #[test]
    fn centre_projects_to_origin_and_corners_round_trip() {
        for m in [
            level(),
            ViewModel::new(1280, 720, 3.0),
            ViewModel::new(1000, 1000, -5.0),
        ] {
            let p = Pose {
                yaw: 20.0,
                pitch: -15.0,
                fov: 50.0,
            };
            let (x, y) = m.project(&p, 20.0, -15.0).unwrap();
            assert!(x.abs() < 1e-12 && y.abs() < 1e-12);
            for (cx, cy) in [
                (1.0, 1.0),
                (-1.0, 1.0),
                (1.0, -1.0),
                (-1.0, -1.0),
                (0.3, -0.7),
            ] {
                let (lon, lat) = m.unproject(&p, cx, cy);
                let (x, y) = m.project(&p, lon, lat).unwrap();
                assert!((x - cx).abs() < 1e-9 && (y - cy).abs() < 1e-9, "{m:?}");
            }
            assert!(m.project(&p, 200.0, 0.0).is_none());
        }
        // Level: right of the centre is +x, above is +y.
        let m = level();
        let p = Pose {
            yaw: 20.0,
            pitch: -15.0,
            fov: 50.0,
        };
        assert!(m.project(&p, 25.0, -15.0).unwrap().0 > 0.0);
        assert!(m.project(&p, 20.0, -10.0).unwrap().1 > 0.0);
    }

    #[test]
    fn a_clockwise_roll_turns_the_horizon_anticlockwise_in_the_picture() {
        let m = ViewModel::new(1280, 720, 10.0);
        let p = Pose {
            yaw: 0.0,
            pitch: 0.0,
            fov: 60.0,
        };
        // A point on the horizon to the right appears above the centre line.
        let (x, y) = m.project(&p, 10.0, 0.0).unwrap();
        assert!(x > 0.0 && y > 0.0, "({x},{y})");
    }

    #[test]
    fn vertical_fov_follows_the_aspect() {
        let v = level().vfov(90.0);
        assert!((v - 2.0 * (0.5625f64).atan().to_degrees()).abs() < 1e-12);
        assert!((ViewModel::new(800, 800, 0.0).vfov(70.0) - 70.0).abs() < 1e-12);
    }

    #[test]
    fn extent_matches_dense_sampling_of_the_border() {
        for m in [level(), ViewModel::new(1280, 720, 4.0)] {
            for pitch in [-60.0, -35.0, -20.0, -5.0, 0.0, 10.0, 40.0] {
                for fov in [10.0, 30.0, 55.0, 80.0] {
                    let e = m.frustum_extent(pitch, fov).unwrap();
                    let p = Pose {
                        yaw: 0.0,
                        pitch,
                        fov,
                    };
                    let (mut lo, mut hi, mut half) = (f64::MAX, f64::MIN, 0.0f64);
                    for i in 0..=400 {
                        let t = -1.0 + 2.0 * i as f64 / 400.0;
                        for (x, y) in [(t, 1.0), (t, -1.0), (1.0, t), (-1.0, t)] {
                            let (lon, lat) = m.unproject(&p, x, y);
                            lo = lo.min(lat);
                            hi = hi.max(lat);
                            half = half.max(lon.abs());
                        }
                    }
                    let tol = if m.roll_deg == 0.0 { 1e-6 } else { 0.02 };
                    assert!(
                        (e.lat_min - lo).abs() < tol,
                        "{m:?} {pitch} {fov}: {e:?} vs {lo}"
                    );
                    assert!(
                        (e.lat_max - hi).abs() < tol,
                        "{m:?} {pitch} {fov}: {e:?} vs {hi}"
                    );
                    assert!(
                        (e.half_lon - half).abs() < tol,
                        "{m:?} {pitch} {fov}: {e:?}"
                    );
                }
            }
        }
    }
}
