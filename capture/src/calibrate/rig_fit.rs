//! The rig's pose on the pitch from pitch landmarks: the rig's place, each camera's yaw,
//! pitch and roll and (by default) each camera's own optical centre about the rig's, with the
//! cameras' intrinsics held fixed or refined under a prior ([`FitOptions`]); given seam points
//! on the painted lines both cameras show ([`SeamPoints`]), the two cameras' views of the same
//! paint are pulled together too. Robust: each camera starts from a homography fitted with
//! RANSAC (pitch plane -> undistorted image), the joint least-squares fit then runs on the
//! inliers, and a landmark (or seam point) whose error stays far beyond the others' is left
//! out; landmarks left out are reported by name.

use super::landmarks::Landmark;
use super::seam_lines::SeamPair;
use super::solve::minimize;
use nalgebra::{DVector, Vector3};
use shared::geometry::{Calibration, CameraModel, PanoramaSpec, PitchSpec, RigPose};
use thiserror::Error;
use vision_calibration_core::{Pt2, RansacOptions};

/// A landmark's error never exceeds this many pixels (at 3072 px width) without being an
/// outlier, whatever the spread of the others.
const OUTLIER_FLOOR_PX: f64 = 8.0;
/// ... and beyond this many robust standard deviations it is one.
const OUTLIER_SIGMAS: f64 = 3.5;

#[derive(Debug, Error)]
pub enum FitError {
    #[error("camera {camera}: only {got} landmarks; at least {need} spread over the pitch are needed (add landmarks to its file)")]
    TooFew {
        camera: String,
        got: usize,
        need: usize,
    },
    #[error("camera {camera}: the landmarks lie (nearly) on one line; add landmarks off that line, e.g. on the other touchline or the penalty area")]
    Collinear { camera: String },
    #[error("camera {camera}: landmark {name} cannot be seen by this camera: its pixel does not come from the lens (behind the camera or far outside the image); check its label and pixel")]
    Behind { camera: String, name: String },
    #[error("camera {camera}: no consistent pose from its landmarks ({reason}); check that the file belongs to this camera and that the pitch positions are in metres")]
    NoPose { camera: String, reason: String },
    #[error("camera {camera}: the landmarks put the camera under the pitch, so their pitch positions are mirrored: y probably runs from the other touchline (try the other --y-origin), or x from the other goal line")]
    Mirrored { camera: String },
    #[error("the joint fit did not converge (rms {rms_px:.1} px); check the landmarks and the intrinsics")]
    NoConvergence { rms_px: f64 },
}

/// The error beyond which a landmark is an outlier, from the median error of the used ones;
/// `scale`: image width / 3072.
pub fn outlier_limit(median_px: f64, scale: f64) -> f64 {
    (OUTLIER_SIGMAS * 1.4826 * median_px).max(OUTLIER_FLOOR_PX * scale)
}

/// Minimum landmarks per camera: a homography needs 4; a few more make outliers findable.
pub const MIN_LANDMARKS: usize = 6;

/// What became of each landmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Use {
    /// Used in the fit.
    Fit,
    /// Left out of the fit on purpose, to measure it (held out).
    Held,
    /// Found inconsistent with the others and left out.
    Outlier,
}

/// The fitted rig.
#[derive(Debug, Clone)]
pub struct RigFit {
    pub rig: RigPose,
    /// Both cameras with their fitted yaw, pitch and roll (intrinsics as given).
    pub cameras: [CameraModel; 2],
    /// Per landmark (in input order): what it was used for.
    pub uses: Vec<Use>,
    pub converged: bool,
}

/// A calibration with these cameras and rig (a placeholder panorama), for projecting.
pub fn calibration_of(rig: &RigPose, cameras: &[CameraModel; 2], pitch: &PitchSpec) -> Calibration {
    Calibration {
        rig: rig.clone(),
        pitch: pitch.clone(),
        panorama: PanoramaSpec {
            width: 3000,
            height: 1000,
            lon_min_deg: -90.0,
            lon_max_deg: 90.0,
            lat_min_deg: -60.0,
            lat_max_deg: 0.0,
        },
        cameras: cameras.to_vec(),
    }
}

/// Pixel of a pitch point in camera `i`, without the distortion model's range limit (the fit
/// must see smooth errors), or `None` behind the camera.
pub fn project(cal: &Calibration, i: usize, x: f64, y: f64) -> Option<(f64, f64)> {
    let c = &cal.cameras[i];
    let p = c.rig_to_camera() * (cal.pitch_to_dir(x, y, 0.0) - c.offset());
    if p.z <= 1e-6 {
        return None;
    }
    let (xd, yd) = c.distortion.distort(p.x / p.z, p.y / p.z);
    Some((c.fx * xd + c.cx, c.fy * yd + c.cy))
}

/// The camera index of a landmark (`left` 0, `right` 1).
pub fn camera_index(l: &Landmark, cameras: &[CameraModel; 2]) -> Option<usize> {
    cameras.iter().position(|c| c.name == l.camera)
}

/// Undistorted normalised image point of a pixel of `c`.
fn normalised(c: &CameraModel, u: f64, v: f64) -> Option<(f64, f64)> {
    c.distortion.undistort((u - c.cx) / c.fx, (v - c.cy) / c.fy)
}

/// Ratio of the smaller to the larger spread of points: near 0 when they lie on a line.
fn spread_ratio(pts: &[(f64, f64)]) -> f64 {
    let n = pts.len() as f64;
    let (mx, my) = pts
        .iter()
        .fold((0.0, 0.0), |a, p| (a.0 + p.0 / n, a.1 + p.1 / n));
    let (mut sxx, mut syy, mut sxy) = (0.0, 0.0, 0.0);
    for (x, y) in pts {
        sxx += (x - mx) * (x - mx);
        syy += (y - my) * (y - my);
        sxy += (x - mx) * (y - my);
    }
    let tr = sxx + syy;
    let det = sxx * syy - sxy * sxy;
    let disc = (tr * tr / 4.0 - det).max(0.0).sqrt();
    let (l1, l2) = (tr / 2.0 + disc, tr / 2.0 - disc);
    if l1 <= 0.0 {
        0.0
    } else {
        (l2.max(0.0) / l1).sqrt()
    }
}

/// One camera's first pose: centre (pitch metres), yaw, pitch and roll in the pitch frame,
/// and the indices of the homography's inliers.
struct Start {
    centre: Vector3<f64>,
    angles: [f64; 3],
    inliers: Vec<usize>,
}

/// One camera's pose from its landmarks (see [`Start`]).
fn initial_pose(cam: &CameraModel, marks: &[&Landmark], seed: u64) -> Result<Start, FitError> {
    let camera = cam.name.clone();
    if marks.len() < MIN_LANDMARKS {
        return Err(FitError::TooFew {
            camera,
            got: marks.len(),
            need: MIN_LANDMARKS,
        });
    }
    let world: Vec<(f64, f64)> = marks.iter().map(|l| (l.x_m, l.y_m)).collect();
    if spread_ratio(&world) < 0.02 {
        return Err(FitError::Collinear { camera });
    }
    let mut src = Vec::new();
    let mut dst = Vec::new();
    for l in marks {
        let (x, y) = normalised(cam, l.u_px, l.v_px).ok_or_else(|| FitError::Behind {
            camera: camera.clone(),
            name: l.name.clone(),
        })?;
        src.push(Pt2::new(l.x_m, l.y_m));
        dst.push(Pt2::new(x, y));
    }
    let opts = RansacOptions {
        max_iters: 2000,
        // 12 px on the normalised plane.
        thresh: 12.0 / cam.fx,
        min_inliers: (marks.len() / 2).max(4),
        confidence: 0.999,
        seed,
        refit_on_inliers: true,
    };
    let (h, inliers) = vision_geometry::homography::dlt_homography_ransac(&src, &dst, &opts)
        .map_err(|e| FitError::NoPose {
            camera: camera.clone(),
            reason: e.to_string(),
        })?;
    let pose = vision_calibration_linear::planar_pose::estimate_planar_pose_from_h(
        &nalgebra::Matrix3::identity(),
        &h,
    )
    .map_err(|e| FitError::NoPose {
        camera: camera.clone(),
        reason: e.to_string(),
    })?;
    // `pose` maps pitch coordinates into camera coordinates (x right, y down, z forward). A
    // homography fixes it up to the sign of its scale: the other solution negates the first
    // two columns of the rotation and the translation. The right one sees the landmarks in
    // front of the camera.
    let r = pose.rotation.to_rotation_matrix().into_inner();
    let t = pose.translation.vector;
    let flipped = r * nalgebra::Matrix3::from_diagonal(&Vector3::new(-1.0, -1.0, 1.0));
    let in_front = |r: &nalgebra::Matrix3<f64>, t: &Vector3<f64>| {
        inliers
            .iter()
            .filter(|&&k| (r * Vector3::new(marks[k].x_m, marks[k].y_m, 0.0) + t).z > 0.0)
            .count()
    };
    let (r, t) = if in_front(&flipped, &-t) > in_front(&r, &t) {
        (flipped, -t)
    } else {
        (r, t)
    };
    let centre = -(r.transpose() * t);
    if centre.z <= 0.0 {
        // Only a mirrored pitch puts the camera under the grass.
        return Err(FitError::Mirrored { camera });
    }
    Ok(Start {
        centre,
        angles: angles_of(&r),
        inliers,
    })
}

/// Yaw, pitch and roll (degrees, the convention of [`CameraModel`]) of a pitch-to-camera
/// rotation (rows: right, down, forward), for a rig with heading 0.
pub fn angles_of(rot: &nalgebra::Matrix3<f64>) -> [f64; 3] {
    let f: Vector3<f64> = rot.row(2).transpose();
    let r: Vector3<f64> = rot.row(0).transpose();
    let yaw = f.x.atan2(f.y);
    let pitch = f.z.clamp(-1.0, 1.0).asin();
    let r0 = Vector3::new(yaw.cos(), -yaw.sin(), 0.0);
    let d0 = f.cross(&r0);
    let roll = r.dot(&d0).atan2(r.dot(&r0));
    [yaw.to_degrees(), pitch.to_degrees(), roll.to_degrees()]
}

/// The calibration of a parameter vector `[x, y, h, yaw, pitch, roll (left), yaw, pitch,
/// roll (right), ...]` laid out as `layout` says.
fn with_params(
    p: &DVector<f64>,
    cameras: &[CameraModel; 2],
    pitch: &PitchSpec,
    layout: Layout,
) -> Calibration {
    let mut cams = cameras.clone();
    for (i, c) in cams.iter_mut().enumerate() {
        c.yaw_deg = p[3 + 3 * i];
        c.pitch_deg = p[4 + 3 * i];
        c.roll_deg = p[5 + 3 * i];
        if let Some(base) = layout.intrinsics {
            // Refined intrinsics: focal length (aspect kept), principal point, k1.
            let o = base + 4 * i;
            let aspect = cameras[i].fy / cameras[i].fx;
            c.fx = p[o];
            c.fy = p[o] * aspect;
            c.cx = p[o + 1];
            c.cy = p[o + 2];
            c.distortion.k1 = p[o + 3];
        }
        if let Some(o) = layout.offsets {
            let sign = if i == 0 { -1.0 } else { 1.0 };
            c.offset_m = [sign * p[o], sign * p[o + 1], sign * p[o + 2]];
        }
    }
    calibration_of(
        &RigPose {
            x_m: p[0],
            y_m: p[1],
            height_m: p[2],
            yaw_deg: 0.0,
        },
        &cams,
        pitch,
    )
}

/// How far refined intrinsics may stray from the given ones: one standard deviation of
/// focal length (relative), principal point (pixels at 3072 px width) and k1 costs as much as
/// [`PRIOR_PX`] of landmark error. Landmarks on a pitch hardly tell the principal point from
/// the camera's yaw and pitch: without this the fit trades one for the other.
const PRIOR_SIGMA: (f64, f64, f64) = (0.03, 60.0, 0.03);
const PRIOR_PX: f64 = 3.0;

/// How far each camera's centre may stray from the rig's: one standard deviation costs as
/// much as [`PRIOR_PX`] of landmark error. Landmarks far away hardly tell a camera's centre
/// along its view from its focal length; the prior keeps it where a mast puts it.
const OFFSET_SIGMA_M: f64 = 0.25;

/// The priors' residuals (empty for parameters that are not fitted).
fn priors(p: &DVector<f64>, cameras: &[CameraModel; 2], layout: Layout) -> Vec<f64> {
    let mut r = Vec::new();
    if let Some(base) = layout.intrinsics {
        for (i, c) in cameras.iter().enumerate() {
            let o = base + 4 * i;
            let scale = c.width as f64 / 3072.0;
            r.push((p[o] / c.fx - 1.0) / PRIOR_SIGMA.0 * PRIOR_PX);
            r.push((p[o + 1] - c.cx) / (PRIOR_SIGMA.1 * scale) * PRIOR_PX);
            r.push((p[o + 2] - c.cy) / (PRIOR_SIGMA.1 * scale) * PRIOR_PX);
            r.push((p[o + 3] - c.distortion.k1) / PRIOR_SIGMA.2 * PRIOR_PX);
        }
    }
    if let Some(o) = layout.offsets {
        r.extend((0..3).map(|k| p[o + k] / OFFSET_SIGMA_M * PRIOR_PX));
    }
    r
}

/// Pixel error (du, dv) of each landmark under `cal`; a landmark behind its camera counts
/// as 10 000 px.
pub fn pixel_errors(cal: &Calibration, marks: &[(usize, &Landmark)]) -> Vec<(f64, f64)> {
    marks
        .iter()
        .map(|(i, l)| match project(cal, *i, l.x_m, l.y_m) {
            Some((u, v)) => (u - l.u_px, v - l.v_px),
            None => (1e4, 1e4),
        })
        .collect()
}

/// How the rig is fitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FitOptions {
    /// Also fit each camera's focal length, principal point and k1 (for a camera whose video
    /// mode frames the sensor differently from the photos its intrinsics came from); the rest
    /// of the distortion stays as given.
    pub refine_intrinsics: bool,
    /// Give each camera its own optical centre, symmetric about the rig's centre (real
    /// cameras on one mast are a few decimetres apart), held near the rig's centre by a prior.
    /// Off: both cameras share the rig's centre.
    pub camera_offsets: bool,
}

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions {
            refine_intrinsics: false,
            camera_offsets: true,
        }
    }
}

/// Where the optional parameters sit in the parameter vector: after the rig's position and
/// the cameras' angles (9), each camera's focal length, principal point and k1 (8), then the
/// half baseline from the rig's centre to the right camera (3; the left one sits opposite).
#[derive(Debug, Clone, Copy)]
struct Layout {
    intrinsics: Option<usize>,
    offsets: Option<usize>,
}

impl Layout {
    fn of(options: &FitOptions) -> Layout {
        let intrinsics = options.refine_intrinsics.then_some(9);
        let offsets = options
            .camera_offsets
            .then_some(if intrinsics.is_some() { 17 } else { 9 });
        Layout {
            intrinsics,
            offsets,
        }
    }
}

/// How much one seam point counts against one landmark coordinate (both in pixels).
pub const SEAM_WEIGHT: f64 = 1.0;

/// A seam point whose cameras stay further apart than this after a fit (production
/// pixels), or beyond [`OUTLIER_SIGMAS`] robust deviations, is left out: a player on the
/// line, or the two cameras finding different lines.
const SEAM_OUTLIER_FLOOR_PX: f64 = 3.0;

/// The painted lines in the overlap, for the fit: the pairs and the production panorama's
/// pixels per degree the seam is judged in.
#[derive(Debug, Clone, Default)]
pub struct SeamPoints {
    pub pairs: Vec<SeamPair>,
    pub px_per_deg: f64,
}

/// Signed distance across the line between the two cameras' panorama positions of each
/// seam point under `cal`, in pixels at `px_per_deg`; 10 000 where a pixel does not map.
pub fn seam_errors(cal: &Calibration, pairs: &[&SeamPair], px_per_deg: f64) -> Vec<f64> {
    let p = &cal.panorama;
    let scale = px_per_deg / (p.width as f64 / (p.lon_max_deg - p.lon_min_deg));
    pairs
        .iter()
        .map(|s| {
            let (Some(a), Some(b)) = (
                cal.camera_to_panorama(0, s.left_px.0, s.left_px.1),
                cal.camera_to_panorama(1, s.right_px.0, s.right_px.1),
            ) else {
                return 1e4;
            };
            ((a.0 - b.0) * s.across.0 + (a.1 - b.1) * s.across.1) * scale
        })
        .collect()
}

/// Fits the rig. `held[k]`: landmark `k` is held out (never used in the fit).
pub fn fit(
    cameras: &[CameraModel; 2],
    pitch: &PitchSpec,
    marks: &[Landmark],
    held: &[bool],
    options: &FitOptions,
) -> Result<RigFit, FitError> {
    fit_with_seam(cameras, pitch, marks, held, options, &SeamPoints::default())
}

/// Fits the rig to landmarks and, beside them, closes the seam on the painted lines both
/// cameras show (see [`super::seam_lines::pairs`]); seam points whose cameras stay apart
/// after a fit are left out.
pub fn fit_with_seam(
    cameras: &[CameraModel; 2],
    pitch: &PitchSpec,
    marks: &[Landmark],
    held: &[bool],
    options: &FitOptions,
    seam: &SeamPoints,
) -> Result<RigFit, FitError> {
    let mut seam_used = vec![true; seam.pairs.len()];
    let layout = Layout::of(options);
    let mut uses: Vec<Use> = held
        .iter()
        .map(|h| if *h { Use::Held } else { Use::Fit })
        .collect();
    let index: Vec<Option<usize>> = marks.iter().map(|l| camera_index(l, cameras)).collect();
    // Each camera alone: a first pose and the homography's outliers.
    let mut centres = Vec::new();
    let mut angles = Vec::new();
    for (ci, cam) in cameras.iter().enumerate() {
        let ks: Vec<usize> = (0..marks.len())
            .filter(|&k| index[k] == Some(ci) && uses[k] == Use::Fit)
            .collect();
        let these: Vec<&Landmark> = ks.iter().map(|&k| &marks[k]).collect();
        let Start {
            centre: c,
            angles: a,
            inliers,
        } = initial_pose(cam, &these, 7 + ci as u64)?;
        for (j, &k) in ks.iter().enumerate() {
            if !inliers.contains(&j) {
                uses[k] = Use::Outlier;
            }
        }
        centres.push(c);
        angles.push(a);
    }
    let centre = (centres[0] + centres[1]) / 2.0;
    let mut p = DVector::from_vec(vec![
        centre.x,
        centre.y,
        centre.z,
        angles[0][0],
        angles[0][1],
        angles[0][2],
        angles[1][0],
        angles[1][1],
        angles[1][2],
    ]);
    let mut steps = DVector::from_element(9, 1e-5);
    let mut v: Vec<f64> = p.as_slice().to_vec();
    let mut st: Vec<f64> = steps.as_slice().to_vec();
    if layout.intrinsics.is_some() {
        // Start from the given intrinsics; their steps follow their scales.
        for c in cameras {
            v.extend([c.fx, c.cx, c.cy, c.distortion.k1]);
            st.extend([1e-3, 1e-3, 1e-3, 1e-7]);
        }
    }
    if layout.offsets.is_some() {
        // Both cameras start at the rig's centre.
        v.extend([0.0; 3]);
        st.extend([1e-5; 3]);
    }
    p = DVector::from_vec(v);
    steps = DVector::from_vec(st);
    let mut converged = false;
    // Fit on the inliers; leave out what stays far beyond the rest; again until stable.
    for _ in 0..8 {
        let used: Vec<(usize, &Landmark)> = (0..marks.len())
            .filter(|&k| uses[k] == Use::Fit)
            .filter_map(|k| Some((index[k]?, &marks[k])))
            .collect();
        let on_seam: Vec<&SeamPair> = seam
            .pairs
            .iter()
            .zip(&seam_used)
            .filter_map(|(o, u)| u.then_some(o))
            .collect();
        let f = minimize(p.clone(), steps.clone(), |q| {
            let cal = with_params(q, cameras, pitch, layout);
            let e = pixel_errors(&cal, &used);
            let mut r: Vec<f64> = e.into_iter().flat_map(|(a, b)| [a, b]).collect();
            let d = seam_errors(&cal, &on_seam, seam.px_per_deg);
            r.extend(d.into_iter().map(|d| d * SEAM_WEIGHT));
            r.extend(priors(q, cameras, layout));
            DVector::from_vec(r)
        });
        p = f.params;
        converged = f.converged;
        let cal = with_params(&p, cameras, pitch, layout);
        let mut changed = false;
        if !seam.pairs.is_empty() {
            let all: Vec<&SeamPair> = seam.pairs.iter().collect();
            let d: Vec<f64> = seam_errors(&cal, &all, seam.px_per_deg)
                .into_iter()
                .map(f64::abs)
                .collect();
            let mut kept: Vec<f64> = d
                .iter()
                .zip(&seam_used)
                .filter_map(|(e, u)| u.then_some(*e))
                .collect();
            kept.sort_by(f64::total_cmp);
            let median = kept.get(kept.len() / 2).copied().unwrap_or(0.0);
            let limit = (OUTLIER_SIGMAS * 1.4826 * median).max(SEAM_OUTLIER_FLOOR_PX);
            for (u, e) in seam_used.iter_mut().zip(&d) {
                if *u != (*e <= limit) {
                    *u = *e <= limit;
                    changed = true;
                }
            }
        }
        // Robust spread of the used landmarks' errors; then test every landmark not held
        // out, so that one left out too early can come back.
        let all: Vec<(usize, (usize, &Landmark))> = (0..marks.len())
            .filter(|&k| uses[k] != Use::Held)
            .filter_map(|k| Some((k, (index[k]?, &marks[k]))))
            .collect();
        let errs: Vec<f64> = pixel_errors(&cal, &all.iter().map(|(_, m)| *m).collect::<Vec<_>>())
            .into_iter()
            .map(|(a, b)| a.hypot(b))
            .collect();
        let mut used_errs: Vec<f64> = all
            .iter()
            .zip(&errs)
            .filter(|((k, _), _)| uses[*k] == Use::Fit)
            .map(|(_, e)| *e)
            .collect();
        used_errs.sort_by(f64::total_cmp);
        let median = used_errs.get(used_errs.len() / 2).copied().unwrap_or(0.0);
        let limit = outlier_limit(median, cameras[0].width as f64 / 3072.0);
        for ((k, _), e) in all.iter().zip(&errs) {
            let now = if *e > limit { Use::Outlier } else { Use::Fit };
            if uses[*k] != now {
                uses[*k] = now;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    let cal = with_params(&p, cameras, pitch, layout);
    if !converged {
        let used: Vec<(usize, &Landmark)> = (0..marks.len())
            .filter(|&k| uses[k] == Use::Fit)
            .filter_map(|k| Some((index[k]?, &marks[k])))
            .collect();
        let e = pixel_errors(&cal, &used);
        let rms_px =
            (e.iter().map(|(a, b)| a * a + b * b).sum::<f64>() / e.len().max(1) as f64).sqrt();
        if rms_px > 50.0 {
            return Err(FitError::NoConvergence { rms_px });
        }
    }
    // The rig's heading: halfway between the cameras, so the panorama is centred on the rig.
    let mut cams = [cal.cameras[0].clone(), cal.cameras[1].clone()];
    let heading = (cams[0].yaw_deg + cams[1].yaw_deg) / 2.0;
    let (sin, cos) = heading.to_radians().sin_cos();
    for c in cams.iter_mut() {
        c.yaw_deg -= heading;
        // The offsets were fitted in the pitch's axes; the rig's frame turns with its heading.
        let [x, y, z] = c.offset_m;
        c.offset_m = [x * cos - y * sin, x * sin + y * cos, z];
    }
    Ok(RigFit {
        rig: RigPose {
            yaw_deg: heading,
            ..cal.rig.clone()
        },
        cameras: cams,
        uses,
        converged,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Landmarks of the synthetic rig: pitch points every `step` metres that a camera sees,
    /// projected exactly.
    fn synthetic_marks(cal: &Calibration, step: f64) -> Vec<Landmark> {
        let mut v = Vec::new();
        for (i, c) in cal.cameras.iter().enumerate() {
            let mut x = 0.0;
            while x <= 105.0 {
                let mut y = 0.0;
                while y <= 68.0 {
                    if let Some((u, w)) = cal.pitch_to_camera(i, x, y, 0.0) {
                        if c.contains(u, w) {
                            v.push(Landmark {
                                camera: c.name.clone(),
                                name: format!("({x},{y})"),
                                x_m: x,
                                y_m: y,
                                u_px: u,
                                v_px: w,
                            });
                        }
                    }
                    y += step;
                }
                x += step;
            }
        }
        v
    }

    fn cameras(cal: &Calibration) -> [CameraModel; 2] {
        [cal.cameras[0].clone(), cal.cameras[1].clone()]
    }

    #[test]
    fn the_synthetic_rig_is_recovered_from_its_landmarks_and_a_wrong_one_is_named() {
        let truth = Calibration::synthetic(1920, 960, 540);
        let mut marks = synthetic_marks(&truth, 8.75);
        // One landmark clicked 40 px off.
        marks[5].u_px += 40.0;
        let bad = format!("{}:{}", marks[5].camera, marks[5].name);
        let fit = fit(
            &cameras(&truth),
            &truth.pitch,
            &marks,
            &vec![false; marks.len()],
            &FitOptions::default(),
        )
        .unwrap();
        assert!(fit.converged);
        assert!((fit.rig.x_m - 52.5).abs() < 0.05, "{:?}", fit.rig);
        assert!((fit.rig.y_m + 15.0).abs() < 0.05, "{:?}", fit.rig);
        assert!((fit.rig.height_m - 10.0).abs() < 0.05, "{:?}", fit.rig);
        for (c, t) in fit.cameras.iter().zip(&truth.cameras) {
            assert!((c.yaw_deg + fit.rig.yaw_deg - t.yaw_deg).abs() < 0.02);
            assert!((c.pitch_deg - t.pitch_deg).abs() < 0.02);
            assert!((c.roll_deg - t.roll_deg).abs() < 0.02);
        }
        let outliers: Vec<String> = marks
            .iter()
            .zip(&fit.uses)
            .filter(|(_, u)| **u == Use::Outlier)
            .map(|(l, _)| format!("{}:{}", l.camera, l.name))
            .collect();
        assert_eq!(outliers, vec![bad]);
    }

    #[test]
    fn cameras_with_their_own_centres_are_recovered_and_their_seam_closes() {
        // The two cameras 0.7 m apart on the mast, the rig's centre between them.
        let mut truth = Calibration::synthetic(1920, 960, 540);
        truth.cameras[0].offset_m = [-0.3, 0.15, 0.1];
        truth.cameras[1].offset_m = [0.3, -0.15, -0.1];
        let marks = synthetic_marks(&truth, 5.0);
        let held = vec![false; marks.len()];
        let run = |camera_offsets: bool| {
            let options = FitOptions {
                camera_offsets,
                ..Default::default()
            };
            // What a technician has: the intrinsics, not where the centres are.
            let mut cams = cameras(&truth);
            for c in cams.iter_mut() {
                c.offset_m = [0.0; 3];
            }
            let f = fit(&cams, &truth.pitch, &marks, &held, &options).unwrap();
            assert!(f.converged);
            let cal = calibration_of(&f.rig, &f.cameras, &truth.pitch);
            let seam = super::super::seam_points(&cal, &marks);
            assert!(seam.len() >= 3, "only {} shared landmarks", seam.len());
            let worst = seam.iter().map(|p| p.disagreement_px).fold(0.0, f64::max);
            (f, worst)
        };
        let (one, one_seam) = run(false);
        let (own, own_seam) = run(true);
        for (c, t) in own.cameras.iter().zip(&truth.cameras) {
            for k in 0..3 {
                assert!(
                    (c.offset_m[k] - t.offset_m[k]).abs() < 0.02,
                    "{}: offset {:?}, truth {:?}",
                    c.name,
                    c.offset_m,
                    t.offset_m
                );
            }
        }
        assert!((own.rig.height_m - 10.0).abs() < 0.02, "{:?}", own.rig);
        // The prior that keeps the centres near the rig's holds them a centimetre or two
        // short of the truth: a fraction of a pixel at the seam.
        assert!(own_seam < 1.0, "seam {own_seam:.3} px with own centres");
        assert!(
            one_seam > 4.0 * own_seam,
            "seam {one_seam:.3} px with one centre, {own_seam:.3} px with own centres"
        );
        // With their own centres every landmark fits; one centre has to leave some out or
        // spread the parallax over them.
        assert!(own.uses.iter().all(|u| *u == Use::Fit));
        println!(
            "one centre: {} outliers, seam {one_seam:.2} px; own centres: seam {own_seam:.3} px",
            one.uses.iter().filter(|u| **u == Use::Outlier).count()
        );
    }

    /// The seam points of `truth` where both cameras see the pitch, every `step` metres, each
    /// measured across both panorama axes, as the painted lines would give them.
    fn synthetic_seam(truth: &Calibration, step: f64) -> Vec<SeamPair> {
        let mut v = Vec::new();
        let mut x = 0.0;
        while x <= 105.0 {
            let mut y = 0.0;
            while y <= 68.0 {
                let px = |i: usize| {
                    let (u, w) = truth.pitch_to_camera(i, x, y, 0.0)?;
                    truth.cameras[i].contains(u, w).then_some((u, w))
                };
                if let (Some(left_px), Some(right_px)) = (px(0), px(1)) {
                    for across in [(1.0, 0.0), (0.0, 1.0)] {
                        v.push(SeamPair {
                            line: 0,
                            left_px,
                            right_px,
                            across,
                        });
                    }
                }
                y += step;
            }
            x += step;
        }
        v
    }

    #[test]
    fn painted_lines_in_the_overlap_close_a_seam_that_imprecise_landmarks_leave_open() {
        let truth = Calibration::synthetic(1920, 960, 540);
        let mut marks = synthetic_marks(&truth, 7.0);
        // Clicks a few pixels off, as real ones are (deterministic, up to 4 px each way).
        for (k, l) in marks.iter_mut().enumerate() {
            let r = |s: f64| ((k as f64 * s).sin() * 43758.5453).fract();
            l.u_px += 4.0 * r(12.9898);
            l.v_px += 4.0 * r(78.233);
        }
        let held = vec![false; marks.len()];
        let pairs = synthetic_seam(&truth, 2.0);
        assert!(pairs.len() >= 20, "only {} seam points", pairs.len());
        let seam = SeamPoints {
            pairs: pairs.clone(),
            px_per_deg: 35.0,
        };
        let opts = FitOptions::default();
        let cams = cameras(&truth);
        let worst = |f: &RigFit| {
            let cal = calibration_of(&f.rig, &f.cameras, &truth.pitch);
            let all: Vec<&SeamPair> = pairs.iter().collect();
            seam_errors(&cal, &all, 35.0)
                .into_iter()
                .map(f64::abs)
                .fold(0.0, f64::max)
        };
        let alone = fit(&cams, &truth.pitch, &marks, &held, &opts).unwrap();
        let with = fit_with_seam(&cams, &truth.pitch, &marks, &held, &opts, &seam).unwrap();
        let (a, w) = (worst(&alone), worst(&with));
        println!("seam: landmarks alone {a:.3} px, with the lines {w:.3} px");
        assert!(w < 0.25, "seam {w:.3} px with the lines");
        assert!(
            a > 3.0 * w,
            "seam {a:.3} px alone, {w:.3} px with the lines"
        );
        // The landmarks still hold the rig where it is.
        assert!((with.rig.height_m - 10.0).abs() < 0.3, "{:?}", with.rig);
        assert!(with.uses.iter().all(|u| *u == Use::Fit));
    }

    #[test]
    fn a_landmark_behind_the_camera_is_an_outlier_named_as_such() {
        let truth = Calibration::synthetic(1920, 960, 540);
        let mut marks = synthetic_marks(&truth, 8.75);
        // Labelled 40 m behind the rig: no pixel of the camera can show it.
        marks[3].y_m = -55.0;
        let name = format!("{}:{}", marks[3].camera, marks[3].name);
        let fit = fit(
            &cameras(&truth),
            &truth.pitch,
            &marks,
            &vec![false; marks.len()],
            &FitOptions::default(),
        )
        .unwrap();
        assert_eq!(fit.uses[3], Use::Outlier, "{name}");
        assert_eq!(fit.uses.iter().filter(|u| **u == Use::Outlier).count(), 1);
        assert!((fit.rig.height_m - 10.0).abs() < 0.05);
    }

    #[test]
    fn bad_landmark_sets_are_refused_with_what_to_do() {
        let truth = Calibration::synthetic(1920, 960, 540);
        let cams = cameras(&truth);
        let all = synthetic_marks(&truth, 8.75);
        // Too few for the left camera.
        let few: Vec<Landmark> = all
            .iter()
            .filter(|l| l.camera == "right")
            .cloned()
            .chain(all.iter().filter(|l| l.camera == "left").take(3).cloned())
            .collect();
        let e = fit(
            &cams,
            &truth.pitch,
            &few,
            &vec![false; few.len()],
            &FitOptions::default(),
        )
        .unwrap_err();
        assert!(
            matches!(e, FitError::TooFew { ref camera, got: 3, .. } if camera == "left"),
            "{e}"
        );
        // All on one line (the near touchline) for the left camera.
        let line: Vec<Landmark> = all
            .iter()
            .filter(|l| l.camera == "right" || l.y_m == 0.0)
            .cloned()
            .collect();
        if line.iter().filter(|l| l.camera == "left").count() >= MIN_LANDMARKS {
            let e = fit(
                &cams,
                &truth.pitch,
                &line,
                &vec![false; line.len()],
                &FitOptions::default(),
            )
            .unwrap_err();
            assert!(matches!(e, FitError::Collinear { .. }), "{e}");
        }
        // y measured from the other touchline: the pitch is mirrored.
        let mirrored: Vec<Landmark> = all
            .iter()
            .cloned()
            .map(|mut l| {
                l.y_m = 68.0 - l.y_m;
                l
            })
            .collect();
        let e = fit(
            &cams,
            &truth.pitch,
            &mirrored,
            &vec![false; mirrored.len()],
            &FitOptions::default(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("--y-origin"), "{e}");
    }
}
