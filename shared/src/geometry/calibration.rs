//! The rig calibration file (TOML): rig pose on the pitch, pitch size, panorama, cameras.

use super::{CameraModel, Distortion, PanoramaSpec, PitchSpec};
use nalgebra::{Matrix3, Vector3};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Where the rig stands and where it looks, in pitch metres and degrees.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RigPose {
    /// Position of the optical centre on the pitch plane (usually the halfway line, behind
    /// the near touchline: negative y) and its height above the grass.
    pub x_m: f64,
    pub y_m: f64,
    pub height_m: f64,
    /// Heading of the rig's forward axis, degrees clockwise from the pitch's +y.
    #[serde(default)]
    pub yaw_deg: f64,
}

/// Calibration errors name the key (or file) and what to do.
#[derive(Debug, Error)]
pub enum CalibrationError {
    #[error("cannot read calibration file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("calibration file {path}: {message}")]
    Parse { path: String, message: String },
    #[error("calibration `{key}`: {reason}")]
    Invalid { key: String, reason: String },
}

fn invalid(key: impl Into<String>, reason: impl Into<String>) -> CalibrationError {
    CalibrationError::Invalid {
        key: key.into(),
        reason: reason.into(),
    }
}

/// The whole rig.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Calibration {
    pub rig: RigPose,
    #[serde(default)]
    pub pitch: PitchSpec,
    pub panorama: PanoramaSpec,
    /// Exactly two cameras: left first, then right.
    pub cameras: Vec<CameraModel>,
}

impl Calibration {
    /// The built-in calibration of the synthetic pitch: a rig 15 m behind the near touchline
    /// at the halfway line, 10 m up; two 100 degree cameras with mild barrel distortion;
    /// a 160 x 53.3 degree panorama `pano_width` pixels wide (3:1).
    pub fn synthetic(pano_width: u32, cam_width: u32, cam_height: u32) -> Calibration {
        let mut left = CameraModel::with_hfov("left", cam_width, cam_height, 100.0);
        left.yaw_deg = -41.0;
        left.pitch_deg = -18.0;
        left.roll_deg = 0.4;
        left.distortion = Distortion {
            k1: -0.05,
            k2: 0.006,
            ..Default::default()
        };
        let mut right = left.clone();
        right.name = "right".into();
        right.yaw_deg = 41.0;
        right.pitch_deg = -17.6;
        right.roll_deg = -0.3;
        right.cx += 1.5;
        right.cy -= 1.0;
        let height = ((pano_width as f64) / 3.0).round() as u32;
        let span_lat = 160.0 * height as f64 / pano_width as f64;
        Calibration {
            rig: RigPose {
                x_m: 52.5,
                y_m: -15.0,
                height_m: 10.0,
                yaw_deg: 0.0,
            },
            pitch: PitchSpec::default(),
            panorama: PanoramaSpec {
                width: pano_width,
                height,
                lon_min_deg: -80.0,
                lon_max_deg: 80.0,
                lat_min_deg: 8.0 - span_lat,
                lat_max_deg: 8.0,
            },
            cameras: vec![left, right],
        }
    }

    pub fn load(path: &Path) -> Result<Calibration, CalibrationError> {
        let text = std::fs::read_to_string(path).map_err(|source| CalibrationError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_toml_str(&text, &path.display().to_string())
    }

    /// Parses and validates; `origin` names the text in errors.
    pub fn from_toml_str(text: &str, origin: &str) -> Result<Calibration, CalibrationError> {
        let c: Calibration = toml::from_str(text).map_err(|e| CalibrationError::Parse {
            path: origin.into(),
            message: e.to_string(),
        })?;
        c.validate()?;
        Ok(c)
    }

    pub fn to_toml_string(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_default()
    }

    /// A stable hash of everything the stitch tables depend on (hex).
    pub fn hash(&self) -> String {
        let mut h = Sha256::new();
        h.update(b"touchline-lut-v1\n");
        h.update(self.to_toml_string().as_bytes());
        let d = h.finalize();
        d.iter().take(12).map(|b| format!("{b:02x}")).collect()
    }

    /// The rig's right, forward and up axes in the pitch frame.
    fn rig_axes(&self) -> (Vector3<f64>, Vector3<f64>, Vector3<f64>) {
        let y = self.rig.yaw_deg.to_radians();
        (
            Vector3::new(y.cos(), -y.sin(), 0.0),
            Vector3::new(y.sin(), y.cos(), 0.0),
            Vector3::z(),
        )
    }

    /// A rig-frame direction expressed in the pitch frame.
    pub fn rig_dir_to_pitch_dir(&self, d: &Vector3<f64>) -> Vector3<f64> {
        let (r, f, u) = self.rig_axes();
        r * d.x + f * d.y + u * d.z
    }

    /// The optical centre in pitch metres.
    pub fn rig_origin(&self) -> Vector3<f64> {
        Vector3::new(self.rig.x_m, self.rig.y_m, self.rig.height_m)
    }

    /// Rig-frame direction (not normalised) towards a pitch point (metres, z up).
    pub fn pitch_to_dir(&self, x: f64, y: f64, z: f64) -> Vector3<f64> {
        let v = Vector3::new(x, y, z) - self.rig_origin();
        let (r, f, u) = self.rig_axes();
        Vector3::new(v.dot(&r), v.dot(&f), v.dot(&u))
    }

    /// Where a rig-frame direction meets the horizontal plane at height `z` (metres), if it
    /// does so in front of the rig.
    pub fn dir_to_pitch(&self, d: &Vector3<f64>, z: f64) -> Option<(f64, f64)> {
        self.ray_to_pitch(&Vector3::zeros(), d, z)
    }

    /// Where a ray from `from` (rig frame, metres from the rig's centre) along rig-frame
    /// direction `d` meets the horizontal plane at height `z`, if it does so ahead.
    fn ray_to_pitch(&self, from: &Vector3<f64>, d: &Vector3<f64>, z: f64) -> Option<(f64, f64)> {
        let w = self.rig_dir_to_pitch_dir(d);
        let o = self.rig_origin() + self.rig_dir_to_pitch_dir(from);
        if w.z.abs() < 1e-12 {
            return None;
        }
        let t = (z - o.z) / w.z;
        if t <= 0.0 {
            return None;
        }
        Some((o.x + t * w.x, o.y + t * w.y))
    }

    /// Panorama pixel of a pitch point.
    pub fn pitch_to_panorama(&self, x: f64, y: f64, z: f64) -> (f64, f64) {
        self.panorama.dir_to_pixel(&self.pitch_to_dir(x, y, z))
    }

    /// Pitch point (at height `z`) seen at a panorama pixel.
    pub fn panorama_to_pitch(&self, u: f64, v: f64, z: f64) -> Option<(f64, f64)> {
        self.dir_to_pitch(&self.panorama.pixel_to_dir(u, v), z)
    }

    /// Rotation of camera `i` (rig frame to camera frame).
    pub fn rotation(&self, i: usize) -> Matrix3<f64> {
        self.cameras[i].rig_to_camera()
    }

    /// Rig-frame vector from camera `i`'s centre to what the panorama shows in rig-frame
    /// direction `d` (seen from the rig's centre): the pitch plane where `d` meets it, and
    /// beyond the horizon the direction itself (far away). For a camera at the rig's centre
    /// this is `d`.
    pub fn camera_vector(&self, i: usize, d: &Vector3<f64>) -> Vector3<f64> {
        let c = &self.cameras[i];
        if c.at_rig_centre() || d.z >= 0.0 {
            return *d;
        }
        d * (-self.rig.height_m / d.z) - c.offset()
    }

    /// The inverse of [`camera_vector`](Self::camera_vector): the rig-frame direction, seen
    /// from the rig's centre, of what camera `i` sees along rig-frame direction `r`.
    pub fn panorama_direction(&self, i: usize, r: &Vector3<f64>) -> Vector3<f64> {
        let c = &self.cameras[i];
        if c.at_rig_centre() || r.z >= 0.0 {
            return *r;
        }
        let o = c.offset();
        let s = (-self.rig.height_m - o.z) / r.z;
        if s > 0.0 {
            o + r * s
        } else {
            *r
        }
    }

    /// Pixel of a pitch point in camera `i` (may be outside the image).
    pub fn pitch_to_camera(&self, i: usize, x: f64, y: f64, z: f64) -> Option<(f64, f64)> {
        let c = &self.cameras[i];
        c.project_dir(
            &c.rig_to_camera(),
            &(self.pitch_to_dir(x, y, z) - c.offset()),
        )
    }

    /// Pitch point (at height `z`) seen at a pixel of camera `i`.
    pub fn camera_to_pitch(&self, i: usize, u: f64, v: f64, z: f64) -> Option<(f64, f64)> {
        let c = &self.cameras[i];
        let d = c.unproject(&c.rig_to_camera(), u, v)?;
        self.ray_to_pitch(&c.offset(), &d, z)
    }

    /// Panorama pixel of a pixel of camera `i`.
    pub fn camera_to_panorama(&self, i: usize, u: f64, v: f64) -> Option<(f64, f64)> {
        let c = &self.cameras[i];
        let d = c.unproject(&c.rig_to_camera(), u, v)?;
        Some(self.panorama.dir_to_pixel(&self.panorama_direction(i, &d)))
    }

    /// Pixel of camera `i` seen at a panorama pixel (may be outside the image).
    pub fn panorama_to_camera(&self, i: usize, u: f64, v: f64) -> Option<(f64, f64)> {
        let c = &self.cameras[i];
        let d = self.camera_vector(i, &self.panorama.pixel_to_dir(u, v));
        c.project_dir(&c.rig_to_camera(), &d)
    }

    /// Seen by camera `i`, or within 1% of its image width outside the image.
    fn nearly_seen_by(&self, i: usize, d: &Vector3<f64>) -> bool {
        let c = &self.cameras[i];
        let m = c.width as f64 * 0.01;
        c.project_dir(&c.rig_to_camera(), &self.camera_vector(i, d))
            .is_some_and(|(u, v)| {
                u >= -m
                    && v >= -m
                    && u <= c.width as f64 - 1.0 + m
                    && v <= c.height as f64 - 1.0 + m
            })
    }

    fn seen_by(&self, i: usize, d: &Vector3<f64>) -> bool {
        let c = &self.cameras[i];
        c.project_dir(&c.rig_to_camera(), &self.camera_vector(i, d))
            .is_some_and(|(u, v)| c.contains(u, v))
    }

    /// Checks every value and the geometry as a whole: finite numbers, square panorama
    /// pixels, two cameras that overlap, the pitch inside the panorama and seen by a camera,
    /// and a panorama that is mostly seen. Errors name the key and what to change.
    // Long by design: one check per field of the file, each naming its field, in the order of the
    // file.
    pub fn validate(&self) -> Result<(), CalibrationError> {
        let r = &self.rig;
        for (k, v) in [
            ("rig.x_m", r.x_m),
            ("rig.y_m", r.y_m),
            ("rig.height_m", r.height_m),
            ("rig.yaw_deg", r.yaw_deg),
            ("pitch.length_m", self.pitch.length_m),
            ("pitch.width_m", self.pitch.width_m),
        ] {
            if !v.is_finite() {
                return Err(invalid(k, format!("is not a finite number ({v})")));
            }
        }
        if r.height_m <= 0.5 {
            return Err(invalid("rig.height_m", "must be above 0.5 m"));
        }
        if self.pitch.length_m < 10.0 || self.pitch.width_m < 10.0 {
            return Err(invalid(
                "pitch",
                "length_m and width_m must be at least 10 m",
            ));
        }
        let p = &self.panorama;
        for (k, v) in [
            ("panorama.lon_min_deg", p.lon_min_deg),
            ("panorama.lon_max_deg", p.lon_max_deg),
            ("panorama.lat_min_deg", p.lat_min_deg),
            ("panorama.lat_max_deg", p.lat_max_deg),
        ] {
            if !v.is_finite() {
                return Err(invalid(k, format!("is not a finite number ({v})")));
            }
        }
        if p.width < 64 || p.height < 32 || p.width > 16384 || p.height > 8192 {
            return Err(invalid(
                "panorama",
                format!(
                    "size {}x{} must be between 64x32 and 16384x8192",
                    p.width, p.height
                ),
            ));
        }
        if !(p.lon_min_deg < p.lon_max_deg && p.lon_max_deg - p.lon_min_deg <= 360.0) {
            return Err(invalid(
                "panorama.lon_max_deg",
                "must be above lon_min_deg and the span at most 360",
            ));
        }
        if !(p.lat_min_deg < p.lat_max_deg && p.lat_min_deg >= -90.0 && p.lat_max_deg <= 90.0) {
            return Err(invalid(
                "panorama.lat_max_deg",
                "must be above lat_min_deg, both within -90..90",
            ));
        }
        let dlon = (p.lon_max_deg - p.lon_min_deg) / p.width as f64;
        let dlat = (p.lat_max_deg - p.lat_min_deg) / p.height as f64;
        if ((dlon - dlat) / dlon).abs() > 0.005 {
            return Err(invalid(
                "panorama",
                format!(
                    "pixels are not square: {dlon:.5} deg/px across, {dlat:.5} deg/px down; make (lat_max_deg - lat_min_deg) = {:.4} for height {}",
                    dlon * p.height as f64,
                    p.height
                ),
            ));
        }
        if self.cameras.len() != 2 {
            return Err(invalid(
                "cameras",
                format!(
                    "exactly two cameras (left, right) are needed, found {}",
                    self.cameras.len()
                ),
            ));
        }
        for (i, c) in self.cameras.iter().enumerate() {
            c.check()
                .map_err(|e| invalid(format!("cameras[{i}] ({})", c.name), e))?;
        }
        self.check_coverage()
    }

    fn check_coverage(&self) -> Result<(), CalibrationError> {
        let p = &self.panorama;
        let steps = 40;
        let pitch_points = (0..=steps).flat_map(move |a| {
            (0..=steps).map(move |b| (a as f64 / steps as f64, b as f64 / steps as f64))
        });
        // 1. Every point of the pitch must be inside the panorama.
        for (fa, fb) in pitch_points.clone() {
            let (x, y) = (self.pitch.length_m * fa, self.pitch.width_m * fb);
            let d = self.pitch_to_dir(x, y, 0.0);
            let (u, v) = p.dir_to_pixel(&d);
            if !p.contains(u, v) {
                let (lon, lat) = super::lonlat_from_dir(&d);
                return Err(invalid(
                    "panorama",
                    format!(
                        "pitch point ({x:.1}, {y:.1}) m is outside the panorama (lon {lon:.1}, lat {lat:.1} deg): widen the lon/lat limits"
                    ),
                ));
            }
        }
        // 2. The cameras must overlap (coarse grid over the panorama), and see most of it.
        let (nu, nv) = (160usize, 60usize);
        let (mut both, mut any) = (0usize, 0usize);
        for j in 0..nv {
            for i in 0..nu {
                let u = (i as f64 + 0.5) * p.width as f64 / nu as f64 - 0.5;
                let v = (j as f64 + 0.5) * p.height as f64 / nv as f64 - 0.5;
                let d = p.pixel_to_dir(u, v);
                let (a, b) = (self.seen_by(0, &d), self.seen_by(1, &d));
                both += (a && b) as usize;
                any += (a || b) as usize;
            }
        }
        if both == 0 {
            return Err(invalid(
                "cameras",
                "the two cameras do not overlap: adjust cameras[].yaw_deg so their views share a band",
            ));
        }
        // 3. Every point of the pitch must be seen by a camera (within 1% of the image width
        // of its edge: a real rig's pitch corner may sit right at the edge of the view).
        for (fa, fb) in pitch_points {
            let (x, y) = (self.pitch.length_m * fa, self.pitch.width_m * fb);
            let d = self.pitch_to_dir(x, y, 0.0);
            if !self.nearly_seen_by(0, &d) && !self.nearly_seen_by(1, &d) {
                return Err(invalid(
                    "cameras",
                    format!("pitch point ({x:.1}, {y:.1}) m is seen by no camera: adjust the cameras' yaw/pitch or field of view"),
                ));
            }
        }
        let covered = any as f64 / (nu * nv) as f64;
        if covered < 0.6 {
            return Err(invalid(
                "panorama",
                format!(
                    "only {:.0}% of the panorama is seen by a camera: narrow lon/lat limits to the cameras' view",
                    covered * 100.0
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cal() -> Calibration {
        Calibration::synthetic(1920, 960, 540)
    }

    #[test]
    fn synthetic_calibration_is_valid_at_every_size() {
        for w in [960, 1920, 5700] {
            Calibration::synthetic(w, 960, 540).validate().unwrap();
        }
        Calibration::synthetic(5700, 3840, 2160).validate().unwrap();
    }

    #[test]
    fn toml_round_trip() {
        let c = cal();
        let back = Calibration::from_toml_str(&c.to_toml_string(), "test").unwrap();
        assert_eq!(back, c);
        assert_eq!(back.hash(), c.hash());
        let mut d = c.clone();
        d.cameras[0].yaw_deg += 0.01;
        assert_ne!(d.hash(), c.hash());
    }

    /// The test rig with its cameras 0.7 m apart on the mast.
    fn apart() -> Calibration {
        let mut c = cal();
        c.cameras[0].offset_m = [-0.3, 0.15, 0.1];
        c.cameras[1].offset_m = [0.3, -0.15, -0.1];
        c
    }

    #[test]
    fn cameras_apart_place_every_pitch_point_where_the_panorama_has_it() {
        let c = apart();
        c.validate().unwrap();
        let mut seen_by_both = 0;
        for x in (0..=105).step_by(5) {
            for y in (0..=68).step_by(4) {
                let (x, y) = (x as f64, y as f64);
                let (pu, pv) = c.pitch_to_panorama(x, y, 0.0);
                let mut seen = 0;
                for i in 0..2 {
                    let Some((u, v)) = c.pitch_to_camera(i, x, y, 0.0) else {
                        continue;
                    };
                    if !c.cameras[i].contains(u, v) {
                        continue;
                    }
                    seen += 1;
                    let (qu, qv) = c.camera_to_panorama(i, u, v).unwrap();
                    assert!(
                        (qu - pu).hypot(qv - pv) < 0.01,
                        "camera {i}: ({x},{y}) at ({qu:.2},{qv:.2}), panorama ({pu:.2},{pv:.2})"
                    );
                }
                seen_by_both += usize::from(seen == 2);
            }
        }
        assert!(
            seen_by_both >= 5,
            "only {seen_by_both} points in the overlap"
        );
        // Not the same as one centre: the parallax is there to be corrected.
        let one = cal();
        let d = (0..2)
            .filter_map(|i| {
                let (u, v) = c.pitch_to_camera(i, 52.5, 0.0, 0.0)?;
                let (a, b) = one.camera_to_panorama(i, u, v)?;
                let (pu, pv) = c.pitch_to_panorama(52.5, 0.0, 0.0);
                Some((a - pu).hypot(b - pv))
            })
            .fold(0.0, f64::max);
        assert!(d > 1.0, "offsets make no difference ({d} px)");
    }

    #[test]
    fn pitch_panorama_round_trip_below_0_05_px() {
        let c = cal();
        for x in [0.0, 10.0, 52.5, 80.0, 105.0] {
            for y in [0.0, 20.0, 34.0, 68.0] {
                let (u, v) = c.pitch_to_panorama(x, y, 0.0);
                let (x2, y2) = c.panorama_to_pitch(u, v, 0.0).unwrap();
                let (u2, v2) = c.pitch_to_panorama(x2, y2, 0.0);
                assert!((u - u2).abs() < 0.05 && (v - v2).abs() < 0.05);
                assert!((x - x2).abs() < 1e-6 && (y - y2).abs() < 1e-6);
            }
        }
    }

    #[test]
    fn camera_panorama_round_trip_below_0_05_px() {
        for c in [cal(), apart()] {
            camera_panorama_round_trip_below_0_05_px_for(&c);
        }
    }

    fn camera_panorama_round_trip_below_0_05_px_for(c: &Calibration) {
        for i in 0..2 {
            for u in (0..960).step_by(53) {
                for v in (0..540).step_by(41) {
                    let (pu, pv) = c.camera_to_panorama(i, u as f64, v as f64).unwrap();
                    let (u2, v2) = c.panorama_to_camera(i, pu, pv).unwrap();
                    assert!(
                        (u2 - u as f64).abs() < 0.05 && (v2 - v as f64).abs() < 0.05,
                        "cam {i} ({u},{v}) -> ({u2},{v2})"
                    );
                }
            }
        }
    }

    #[test]
    fn pitch_camera_round_trip_below_0_05_px() {
        for c in [cal(), apart()] {
            pitch_camera_round_trip_below_0_05_px_for(&c);
        }
    }

    fn pitch_camera_round_trip_below_0_05_px_for(c: &Calibration) {
        let mut tested = [0; 2];
        for (i, count) in tested.iter_mut().enumerate() {
            for x in [5.0, 30.0, 52.5, 75.0, 100.0] {
                for y in [2.0, 34.0, 66.0] {
                    let Some((u, v)) = c.pitch_to_camera(i, x, y, 0.0) else {
                        continue;
                    };
                    if !c.cameras[i].contains(u, v) {
                        continue;
                    }
                    let (x2, y2) = c.camera_to_pitch(i, u, v, 0.0).unwrap();
                    let (u2, v2) = c.pitch_to_camera(i, x2, y2, 0.0).unwrap();
                    assert!((u - u2).abs() < 0.05 && (v - v2).abs() < 0.05);
                    *count += 1;
                }
            }
        }
        // Each camera sees a good part of the grid (the test is not vacuous).
        assert!(
            tested.iter().all(|&n| n >= 5),
            "points tested per camera: {tested:?}"
        );
    }

    #[test]
    fn the_sky_does_not_meet_the_pitch() {
        let c = cal();
        assert!(c.panorama_to_pitch(960.0, 0.0, 0.0).is_none());
    }

    #[test]
    fn non_finite_value_is_named() {
        let mut c = cal();
        c.cameras[1].fx = f64::INFINITY;
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("cameras[1] (right)") && e.contains("fx"), "{e}");
        let mut c = cal();
        c.rig.height_m = f64::NAN;
        assert!(c
            .validate()
            .unwrap_err()
            .to_string()
            .contains("rig.height_m"));
    }

    #[test]
    fn cameras_that_do_not_overlap_are_refused() {
        let mut c = cal();
        c.cameras[0].yaw_deg = -70.0;
        c.cameras[1].yaw_deg = 70.0;
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("do not overlap"), "{e}");
        // Overlapping, but the left camera looks too high to see the near corner.
        let mut c = cal();
        c.cameras[0].pitch_deg = 5.0;
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("seen by no camera"), "{e}");
    }

    #[test]
    fn panorama_outside_the_view_is_refused() {
        let mut c = cal();
        c.panorama.lat_max_deg = 80.0;
        c.panorama.lat_min_deg = 26.67;
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("outside the panorama"), "{e}");
        // A panorama reaching far above and beside the cameras' view.
        let mut c = cal();
        c.panorama.lon_min_deg = -150.0;
        c.panorama.lon_max_deg = 150.0;
        c.panorama.lat_max_deg = 60.0;
        c.panorama.lat_min_deg = -40.0;
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("% of the panorama is seen"), "{e}");
        let mut c = cal();
        c.panorama.lon_min_deg = -40.0;
        c.panorama.lon_max_deg = 40.0;
        c.panorama.lat_min_deg = 8.0 - 80.0 / 3.0;
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("outside the panorama"), "{e}");
    }

    #[test]
    fn non_square_pixels_are_refused() {
        let mut c = cal();
        c.panorama.height = 500;
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("not square"), "{e}");
    }
}
