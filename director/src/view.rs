//! The virtual camera's perspective model, the one playout renders with (pure; it may move to
//! `shared::geometry` once playout exists).
//!
//! - A pose is `(yaw, pitch, fov)` in degrees: the view centre's panorama longitude and
//!   latitude, and the horizontal field of view of a 16:9 perspective output. No roll.
//! - Directions are in the rig frame (`+Y` forward, `+X` right, `+Z` up, see
//!   `shared::geometry::dir_from_lonlat`). The view is the rig frame turned by `pitch` about
//!   `+X` (tilt, positive up), then by `yaw` about `+Z` (pan, positive right).
//! - Image coordinates are normalised to the frame: `(-1, -1)` is the bottom-left corner,
//!   `(1, 1)` the top-right one, so a point is in frame when both lie in `[-1, 1]`, and in
//!   a centred safe zone of relative size `(w, h)` when `|x| <= w` and `|y| <= h`.
//!
//! Because yaw is a turn about the vertical axis, it only shifts longitudes: the frustum's
//! latitude range depends on `(pitch, fov)` alone, and its longitude range is `yaw` plus a
//! half-width that also depends on `(pitch, fov)` alone ([`FrustumExtent`]).

/// Height over width of the output frame.
pub const ASPECT: f64 = 9.0 / 16.0;

/// A pose of the virtual camera, degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pose {
    pub yaw: f64,
    pub pitch: f64,
    pub fov: f64,
}

/// Vertical field of view (degrees) of a 16:9 view with horizontal field of view `hfov`.
pub fn vfov(hfov_deg: f64) -> f64 {
    2.0 * ((hfov_deg.to_radians() / 2.0).tan() * ASPECT)
        .atan()
        .to_degrees()
}

/// Tangents of the half fields of view `(horizontal, vertical)`.
pub fn half_tangents(hfov_deg: f64) -> (f64, f64) {
    let tx = (hfov_deg.to_radians() / 2.0).tan();
    (tx, tx * ASPECT)
}

/// Normalised image position of the direction `(lon, lat)` (degrees) in the view `pose`, or
/// `None` when it lies behind the camera.
pub fn project(pose: &Pose, lon_deg: f64, lat_deg: f64) -> Option<(f64, f64)> {
    let (lat, dl) = (lat_deg.to_radians(), (lon_deg - pose.yaw).to_radians());
    let th = pose.pitch.to_radians();
    // Direction relative to the yawed view (yaw removed), then the tilt removed.
    let (dx, dy, dz) = (lat.cos() * dl.sin(), lat.cos() * dl.cos(), lat.sin());
    let fwd = th.cos() * dy + th.sin() * dz;
    let up = -th.sin() * dy + th.cos() * dz;
    if fwd <= 1e-9 {
        return None;
    }
    let (tx, ty) = half_tangents(pose.fov);
    Some((dx / fwd / tx, up / fwd / ty))
}

/// Longitude/latitude (degrees) seen at normalised image position `(x, y)` of `pose`.
pub fn unproject(pose: &Pose, x: f64, y: f64) -> (f64, f64) {
    let (tx, ty) = half_tangents(pose.fov);
    let (a, b) = (x * tx, y * ty);
    let th = pose.pitch.to_radians();
    // Camera ray (a, 1, b) tilted by pitch about +X.
    let fy = th.cos() - b * th.sin();
    let fz = th.sin() + b * th.cos();
    let lon = a.atan2(fy).to_degrees() + pose.yaw;
    let lat = fz.atan2((a * a + fy * fy).sqrt()).to_degrees();
    (lon, lat)
}

/// Angular extent of the view's frustum: latitudes covered and the half-width in longitude
/// about the yaw, degrees. `None` when the view reaches over a pole.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FrustumExtent {
    pub lat_min: f64,
    pub lat_max: f64,
    pub half_lon: f64,
}

/// The exact extent of the perspective frustum for a tilt and field of view.
///
/// Why this is exact: along the top or bottom edge (`b = +-ty`) the ray's height is fixed
/// while its horizontal length grows with `|a|`, so the extreme latitude lies at the edge's
/// centre when the edge points away from the horizon, else at its corners; along the side
/// edges the longitude `atan2(tx, cos(th) - b sin(th))` is extreme at a corner.
pub fn frustum_extent(pitch_deg: f64, hfov_deg: f64) -> Option<FrustumExtent> {
    let (tx, ty) = half_tangents(hfov_deg);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn centre_projects_to_origin_and_corners_to_unit() {
        let p = Pose {
            yaw: 20.0,
            pitch: -15.0,
            fov: 50.0,
        };
        let (x, y) = project(&p, 20.0, -15.0).unwrap();
        assert!(x.abs() < 1e-12 && y.abs() < 1e-12);
        for (cx, cy) in [
            (1.0, 1.0),
            (-1.0, 1.0),
            (1.0, -1.0),
            (-1.0, -1.0),
            (0.3, -0.7),
        ] {
            let (lon, lat) = unproject(&p, cx, cy);
            let (x, y) = project(&p, lon, lat).unwrap();
            assert!((x - cx).abs() < 1e-9 && (y - cy).abs() < 1e-9);
        }
        // Right of the centre is +x, above is +y.
        let (x, _) = project(&p, 25.0, -15.0).unwrap();
        assert!(x > 0.0);
        let (_, y) = project(&p, 20.0, -10.0).unwrap();
        assert!(y > 0.0);
        assert!(project(&p, 200.0, 0.0).is_none());
    }

    #[test]
    fn vertical_fov_is_16_9() {
        let v = vfov(90.0);
        assert!((v - 2.0 * (0.5625f64).atan().to_degrees()).abs() < 1e-12);
    }

    #[test]
    fn extent_matches_dense_sampling_of_the_border() {
        for pitch in [-60.0, -35.0, -20.0, -5.0, 0.0, 10.0, 40.0] {
            for fov in [10.0, 30.0, 55.0, 80.0] {
                let e = frustum_extent(pitch, fov).unwrap();
                let p = Pose {
                    yaw: 0.0,
                    pitch,
                    fov,
                };
                let (mut lo, mut hi, mut half) = (f64::MAX, f64::MIN, 0.0f64);
                for i in 0..=400 {
                    let t = -1.0 + 2.0 * i as f64 / 400.0;
                    for (x, y) in [(t, 1.0), (t, -1.0), (1.0, t), (-1.0, t)] {
                        let (lon, lat) = unproject(&p, x, y);
                        lo = lo.min(lat);
                        hi = hi.max(lat);
                        half = half.max(lon.abs());
                    }
                }
                assert!(
                    (e.lat_min - lo).abs() < 1e-6,
                    "{pitch} {fov}: {e:?} vs {lo}"
                );
                assert!(
                    (e.lat_max - hi).abs() < 1e-6,
                    "{pitch} {fov}: {e:?} vs {hi}"
                );
                assert!((e.half_lon - half).abs() < 1e-6, "{pitch} {fov}: {e:?}");
            }
        }
    }
}
