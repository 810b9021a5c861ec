//! Pose limits that keep the whole output frame inside the panorama.
//!
//! The frustum of a pose must stay within the panorama's longitude/latitude limits, less a
//! margin of one panorama pixel (bilinear sampling reads a neighbour). Tilt limits depend
//! only on the field of view (see [`crate::view`]); they are tabulated once per 0.1 degree
//! of field of view, taking the narrower range of the wider neighbour so the table never
//! allows a pose the exact check would refuse. Pan limits depend on tilt and field of view
//! and are computed exactly.

use crate::view::{Pose, ViewModel};
use shared::geometry::PanoramaSpec;

/// Field of view step of the tilt-limit table, degrees.
const FOV_STEP: f64 = 0.1;

/// The poses that keep the output inside the panorama.
#[derive(Debug, Clone)]
pub struct PoseLimits {
    lon_min: f64,
    lon_max: f64,
    lat_min: f64,
    lat_max: f64,
    fov_lo: f64,
    /// Widest field of view that fits at all (and at most the configured maximum).
    fov_hi: f64,
    /// `(pitch_lo, pitch_hi)` per table step from `fov_lo`.
    pitch_table: Vec<(f64, f64)>,
    /// The output's perspective model (aspect, roll).
    view: ViewModel,
}

impl PoseLimits {
    /// Limits for a panorama, a configured field of view range and the output's model.
    pub fn new(pano: &PanoramaSpec, fov_min: f64, fov_max: f64, view: ViewModel) -> PoseLimits {
        let margin = pano.deg_per_px();
        let mut l = PoseLimits {
            lon_min: pano.lon_min_deg + margin,
            lon_max: pano.lon_max_deg - margin,
            lat_min: pano.lat_min_deg + margin,
            lat_max: pano.lat_max_deg - margin,
            fov_lo: fov_min,
            fov_hi: fov_max,
            pitch_table: Vec::new(),
            view,
        };
        // Widest field of view that fits: bisection on "some tilt and pan fit".
        if !l.fits_somewhere(fov_max) {
            let (mut a, mut b) = (1.0f64.min(fov_min), fov_max);
            for _ in 0..60 {
                let m = 0.5 * (a + b);
                if l.fits_somewhere(m) {
                    a = m;
                } else {
                    b = m;
                }
            }
            l.fov_hi = a;
            l.fov_lo = l.fov_lo.min(a);
        }
        let steps = ((l.fov_hi - l.fov_lo) / FOV_STEP).ceil() as usize + 1;
        l.pitch_table = (0..=steps)
            .map(|i| {
                let f = (l.fov_lo + i as f64 * FOV_STEP).min(l.fov_hi);
                l.exact_pitch_range(f).unwrap_or((0.0, 0.0))
            })
            .collect();
        l
    }

    /// The output's perspective model.
    pub fn view(&self) -> &ViewModel {
        &self.view
    }

    /// Narrowest and widest usable field of view.
    pub fn fov_range(&self) -> (f64, f64) {
        (self.fov_lo, self.fov_hi)
    }

    fn fits_somewhere(&self, fov: f64) -> bool {
        match self.exact_pitch_range(fov) {
            Some((lo, hi)) if lo <= hi => {
                let mid = 0.5 * (lo + hi);
                [lo, mid, hi].iter().any(|&p| {
                    self.view
                        .frustum_extent(p, fov)
                        .is_some_and(|e| self.lon_max - self.lon_min >= 2.0 * e.half_lon)
                })
            }
            _ => false,
        }
    }

    /// Tilt range for a field of view by bisection on the exact frustum extent (the bottom
    /// and top latitudes both grow with the tilt).
    fn exact_pitch_range(&self, fov: f64) -> Option<(f64, f64)> {
        let lat_lo = |p: f64| {
            self.view
                .frustum_extent(p, fov)
                .map_or(f64::NEG_INFINITY, |e| e.lat_min)
        };
        let lat_hi = |p: f64| {
            self.view
                .frustum_extent(p, fov)
                .map_or(f64::INFINITY, |e| e.lat_max)
        };
        // Tilts whose frustum does not reach over a pole.
        let reach = 90.0 - self.view.half_tangents(fov).1.atan().to_degrees() - 0.01;
        let bisect = |f: &dyn Fn(f64) -> bool| {
            // Smallest p in [-reach, reach] with f(p) true (f monotonic false -> true).
            let (mut a, mut b) = (-reach, reach);
            if f(a) {
                return a;
            }
            if !f(b) {
                return f64::NAN;
            }
            for _ in 0..60 {
                let m = 0.5 * (a + b);
                if f(m) {
                    b = m;
                } else {
                    a = m;
                }
            }
            b
        };
        let lo = bisect(&|p| lat_lo(p) >= self.lat_min);
        // Largest p with lat_hi(p) <= lat_max: smallest p with lat_hi(p) > lat_max, less a
        // hair so the bound itself satisfies the check.
        let above = bisect(&|p| lat_hi(p) > self.lat_max);
        let hi = if above.is_nan() { reach } else { above - 1e-9 };
        if lo.is_nan() || lo > hi {
            return None;
        }
        Some((lo, hi))
    }

    /// Tilt range for a field of view (conservative table look-up).
    pub fn pitch_range(&self, fov: f64) -> (f64, f64) {
        let f = fov.clamp(self.fov_lo, self.fov_hi);
        let i = (((f - self.fov_lo) / FOV_STEP).ceil() as usize).min(self.pitch_table.len() - 1);
        self.pitch_table[i]
    }

    /// Pan range for a tilt and field of view.
    pub fn yaw_range(&self, pitch: f64, fov: f64) -> (f64, f64) {
        match self.view.frustum_extent(pitch, fov) {
            Some(e) if self.lon_min + e.half_lon <= self.lon_max - e.half_lon => {
                (self.lon_min + e.half_lon, self.lon_max - e.half_lon)
            }
            _ => {
                let mid = 0.5 * (self.lon_min + self.lon_max);
                (mid, mid)
            }
        }
    }

    /// The nearest pose inside the limits (field of view first, then tilt, then pan).
    pub fn clamp(&self, p: Pose) -> Pose {
        let fov = p.fov.clamp(self.fov_lo, self.fov_hi);
        let (plo, phi) = self.pitch_range(fov);
        let pitch = p.pitch.clamp(plo, phi.max(plo));
        let (ylo, yhi) = self.yaw_range(pitch, fov);
        Pose {
            yaw: p.yaw.clamp(ylo, yhi.max(ylo)),
            pitch,
            fov,
        }
    }

    /// The widest field of view at which the view centred on `(yaw, pitch)` stays inside
    /// the limits (the narrowest usable one when even that does not fit).
    pub fn widest_fov_at(&self, yaw: f64, pitch: f64) -> f64 {
        let fits = |f: f64| {
            let p = Pose { yaw, pitch, fov: f };
            self.clamp(p) == p
        };
        if fits(self.fov_hi) {
            return self.fov_hi;
        }
        if !fits(self.fov_lo) {
            return self.fov_lo;
        }
        let (mut a, mut b) = (self.fov_lo, self.fov_hi);
        for _ in 0..30 {
            let m = 0.5 * (a + b);
            if fits(m) {
                a = m;
            } else {
                b = m;
            }
        }
        a
    }

    /// The widest field of view at which some pose inside the limits shows the direction
    /// `(lon, lat)` within `(sx, sy)` of the frame (normalised, see [`crate::view`]); the
    /// narrowest usable one when none does. Near the panorama's edges a narrower view can
    /// reach closer to them, so this is where the safe zone is reachable at all.
    pub fn widest_fov_showing(&self, lon: f64, lat: f64, sx: f64, sy: f64) -> f64 {
        let shows = |f: f64| self.shows(lon, lat, f, sx, sy);
        if shows(self.fov_hi) {
            return self.fov_hi;
        }
        if !shows(self.fov_lo) {
            return self.fov_lo;
        }
        let (mut a, mut b) = (self.fov_lo, self.fov_hi);
        for _ in 0..24 {
            let m = 0.5 * (a + b);
            if shows(m) {
                a = m;
            } else {
                b = m;
            }
        }
        a
    }

    /// True when some pose inside the limits shows the direction `(lon, lat)` within
    /// `(sx, sy)` of the frame: the view centred on it as far as the limits allow, at the
    /// narrowest zoom (which reaches closest to the panorama's edges). False only near the
    /// edges (a ball at the very top of the panorama cannot be in the safe zone of any view).
    pub fn can_show(&self, lon: f64, lat: f64, sx: f64, sy: f64) -> bool {
        self.shows(lon, lat, self.fov_lo, sx, sy)
    }

    fn shows(&self, lon: f64, lat: f64, fov: f64, sx: f64, sy: f64) -> bool {
        let c = self.clamp(Pose {
            yaw: lon,
            pitch: lat,
            fov,
        });
        self.view
            .project(&c, lon, lat)
            .is_some_and(|(x, y)| x.abs() <= sx && y.abs() <= sy)
    }

    /// True when the whole frame of `p` lies inside the panorama (with `tol` degrees of
    /// slack for rounding).
    pub fn contains(&self, p: &Pose, tol: f64) -> bool {
        let Some(e) = self.view.frustum_extent(p.pitch, p.fov) else {
            return false;
        };
        p.fov >= self.fov_lo - tol
            && p.fov <= self.fov_hi + tol
            && e.lat_min >= self.lat_min - tol
            && e.lat_max <= self.lat_max + tol
            && p.yaw - e.half_lon >= self.lon_min - tol
            && p.yaw + e.half_lon <= self.lon_max + tol
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::geometry::Calibration;

    fn limits() -> PoseLimits {
        let cal = Calibration::synthetic(1920, 960, 540);
        PoseLimits::new(&cal.panorama, 20.0, 70.0, ViewModel::default())
    }

    #[test]
    fn clamped_poses_are_inside() {
        let l = limits();
        for yaw in [-100.0, -70.0, 0.0, 55.0, 90.0] {
            for pitch in [-60.0, -40.0, -20.0, 0.0, 10.0] {
                for fov in [10.0, 25.0, 45.0, 70.0, 90.0] {
                    let c = l.clamp(Pose { yaw, pitch, fov });
                    assert!(l.contains(&c, 1e-9), "{yaw} {pitch} {fov} -> {c:?}");
                }
            }
        }
    }

    #[test]
    fn inside_poses_are_unchanged() {
        let l = limits();
        let p = Pose {
            yaw: 10.0,
            pitch: -15.0,
            fov: 40.0,
        };
        assert!(l.contains(&p, 0.0));
        assert_eq!(l.clamp(p), p);
    }

    #[test]
    fn widest_view_is_limited_by_the_panorama_height() {
        let cal = Calibration::synthetic(1920, 960, 540);
        // 53.3 degrees of latitude: a 16:9 view cannot be much wider than ~85 degrees.
        let l = PoseLimits::new(&cal.panorama, 20.0, 120.0, ViewModel::default());
        let (_, hi) = l.fov_range();
        assert!(hi < 100.0 && hi > 70.0, "{hi}");
        let c = l.clamp(Pose {
            yaw: 0.0,
            pitch: 0.0,
            fov: 120.0,
        });
        assert!(l.contains(&c, 1e-9));
    }
}
