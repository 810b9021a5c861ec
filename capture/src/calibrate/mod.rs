//! `capture calibrate`: the rig calibration file every process reads, made from what a club
//! technician has: photos of a checkerboard (or given intrinsics) and pitch landmarks clicked
//! in each camera's image; and a check of any calibration against landmarks.
//!
//! - [`intrinsics`]: each camera's focal lengths, principal point and distortion;
//! - [`landmarks`]: reading landmark files (CVAT XML, CSV);
//! - [`rig_fit`]: the rig's pose on the pitch and each camera's orientation, fitted robustly;
//! - [`coverage`]: the panorama's limits for the fitted rig;
//! - [`errors`]: per-landmark errors in pixels and metres;
//! - [`preview`]: the stitched first frames with the model's pitch lines drawn over them;
//! - [`pitch_lines`]: the painted lines of a standard pitch, by name;
//! - [`seam_lines`]: the seam measured on those lines in the real pictures;
//! - [`solve`]: the least-squares solver behind the fits.

pub mod coverage;
pub mod errors;
pub mod intrinsics;
pub mod landmarks;
pub mod pitch_lines;
pub mod preview;
pub mod rig_fit;
pub mod seam_lines;
pub mod solve;

use errors::{landmark_errors, summarise, ErrorSummary, LandmarkError};
use intrinsics::Intrinsics;
use landmarks::Landmark;
use rig_fit::{RigFit, Use};
use serde::Serialize;
use shared::geometry::{Calibration, CameraModel, PanoramaSpec, PitchSpec, RigPose};
use std::collections::BTreeMap;

/// The production panorama width the seam is judged at.
pub const PRODUCTION_WIDTH: u32 = 5700;

/// Which landmarks to hold out of the fit to measure it: every `every`-th of each camera,
/// by name (0: none).
pub fn held_out(marks: &[Landmark], every: usize) -> Vec<bool> {
    let mut held = vec![false; marks.len()];
    if every == 0 {
        return held;
    }
    let mut by_camera: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (k, l) in marks.iter().enumerate() {
        by_camera.entry(&l.camera).or_default().push(k);
    }
    for ks in by_camera.values_mut() {
        ks.sort_by(|a, b| marks[*a].name.cmp(&marks[*b].name));
        for (j, k) in ks.iter().enumerate() {
            if j % every == every / 2 {
                held[*k] = true;
            }
        }
    }
    held
}

/// A camera model with intrinsics and no orientation yet.
pub fn camera_of(name: &str, i: &Intrinsics) -> CameraModel {
    CameraModel {
        name: name.into(),
        width: i.width,
        height: i.height,
        fx: i.fx,
        fy: i.fy,
        cx: i.cx,
        cy: i.cy,
        distortion: i.distortion,
        yaw_deg: 0.0,
        pitch_deg: 0.0,
        roll_deg: 0.0,
        offset_m: [0.0; 3],
    }
}

/// Where the two cameras see a landmark they both saw, in the panorama.
#[derive(Debug, Clone, Serialize)]
pub struct SeamPoint {
    pub name: String,
    /// Distance between the two cameras' views of it in the panorama, pixels at the
    /// calibration's width and at the production width.
    pub disagreement_px: f64,
    pub disagreement_px_production: f64,
}

/// The seam: shared landmarks, the painted lines, and the photometric difference where the
/// cameras overlap.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SeamReport {
    pub shared_landmarks: Vec<SeamPoint>,
    pub max_disagreement_px_production: Option<f64>,
    /// Mean absolute luma difference (code values) and luma ratio right/left in the overlap,
    /// before gain matching (from the preview frames).
    pub overlap_luma_difference: Option<f64>,
    pub overlap_luma_ratio: Option<f64>,
    /// The seam on the painted lines in the frames (see [`seam_lines`]), and how many of
    /// their points the fit closed the seam on (0: landmarks only).
    pub lines: Option<seam_lines::LineSeam>,
    pub line_points_fitted: usize,
}

/// Everything a fit produced, for `report.json`.
#[derive(Debug, Clone, Serialize)]
pub struct FitReport {
    pub rig: RigPose,
    pub cameras: Vec<CameraModel>,
    pub intrinsics: Vec<Intrinsics>,
    pub panorama: PanoramaSpec,
    pub converged: bool,
    /// Per camera: landmarks used in the fit, and held out of it.
    pub fit: BTreeMap<String, ErrorSummary>,
    pub held_out: BTreeMap<String, ErrorSummary>,
    /// Held-out landmarks that are outliers by the fit's rule (wrong clicks), left out of
    /// `held_out`'s numbers and named here.
    pub held_out_outliers: Vec<String>,
    /// Landmarks the fit found inconsistent and left out, by name (`camera:label`).
    pub outliers: Vec<String>,
    pub seam: SeamReport,
    pub landmarks: Vec<LandmarkError>,
}

/// The calibration of a fitted rig with its panorama at `width`.
pub fn calibration_from(fit: &RigFit, pitch: &PitchSpec, width: u32) -> Calibration {
    let mut cal = rig_fit::calibration_of(&fit.rig, &fit.cameras, pitch);
    cal.panorama = coverage::panorama_for(&cal, width);
    cal
}

/// Rounds of finding the painted lines in the overlap near the current fit and refitting.
pub const SEAM_ROUNDS: usize = 2;

/// Fits the rig to the landmarks and, given both cameras' pictures, closes the seam on the
/// painted lines both cameras show: the lines are found near the landmark fit's lines, the
/// rig is refitted to the landmarks and the seam together, and the lines are found again
/// near the new ones ([`SEAM_ROUNDS`] times). Also returns the seam points of the last round.
pub fn fit_rig(
    cameras: &[CameraModel; 2],
    pitch: &PitchSpec,
    marks: &[Landmark],
    held: &[bool],
    options: &rig_fit::FitOptions,
    frames: Option<[&shared::image::Nv12Image; 2]>,
) -> Result<(RigFit, Vec<seam_lines::SeamPair>), rig_fit::FitError> {
    let mut fit = rig_fit::fit(cameras, pitch, marks, held, options)?;
    let Some(frames) = frames else {
        return Ok((fit, Vec::new()));
    };
    let mut seam = rig_fit::SeamPoints::default();
    for _ in 0..SEAM_ROUNDS {
        let cal = calibration_from(&fit, pitch, PRODUCTION_WIDTH);
        let p = &cal.panorama;
        seam = rig_fit::SeamPoints {
            pairs: seam_lines::pairs(&cal, frames),
            px_per_deg: p.width as f64 / (p.lon_max_deg - p.lon_min_deg),
        };
        fit = rig_fit::fit_with_seam(cameras, pitch, marks, held, options, &seam)?;
    }
    Ok((fit, seam.pairs))
}

/// The seam's shared landmarks under `cal`.
pub fn seam_points(cal: &Calibration, marks: &[Landmark]) -> Vec<SeamPoint> {
    let scale = PRODUCTION_WIDTH as f64 / cal.panorama.width as f64;
    let mut out = Vec::new();
    for l in marks.iter().filter(|l| l.camera == cal.cameras[0].name) {
        let Some(r) = marks
            .iter()
            .find(|r| r.camera == cal.cameras[1].name && r.name == l.name)
        else {
            continue;
        };
        let (Some(a), Some(b)) = (
            cal.camera_to_panorama(0, l.u_px, l.v_px),
            cal.camera_to_panorama(1, r.u_px, r.v_px),
        ) else {
            continue;
        };
        let d = (a.0 - b.0).hypot(a.1 - b.1);
        out.push(SeamPoint {
            name: l.name.clone(),
            disagreement_px: d,
            disagreement_px_production: d * scale,
        });
    }
    out
}

/// The report of a fit (the preview's overlap numbers are added by the caller).
pub fn report(
    cal: &Calibration,
    fit: &RigFit,
    intrinsics: Vec<Intrinsics>,
    marks: &[Landmark],
) -> FitReport {
    let mut errs = landmark_errors(cal, marks);
    for (e, u) in errs.iter_mut().zip(&fit.uses) {
        e.used = Some(*u);
    }
    let mut fit_s = BTreeMap::new();
    let mut held_s = BTreeMap::new();
    for c in &cal.cameras {
        fit_s.insert(
            c.name.clone(),
            summarise(
                errs.iter()
                    .filter(|e| e.camera == c.name && e.used == Some(Use::Fit)),
            ),
        );
    }
    // A held-out landmark is judged by the same rule as the fitted ones.
    let limit = outlier_limit(&errs, cal);
    let mut held_out_outliers = Vec::new();
    for c in &cal.cameras {
        let held: Vec<&LandmarkError> = errs
            .iter()
            .filter(|e| e.camera == c.name && e.used == Some(Use::Held))
            .collect();
        for e in &held {
            if e.error_px.is_none_or(|p| p > limit) {
                held_out_outliers.push(format!("{}:{}", e.camera, e.name));
            }
        }
        held_s.insert(
            c.name.clone(),
            summarise(
                held.into_iter()
                    .filter(|e| e.error_px.is_some_and(|p| p <= limit)),
            ),
        );
    }
    let outliers = errs
        .iter()
        .filter(|e| e.used == Some(Use::Outlier))
        .map(|e| format!("{}:{}", e.camera, e.name))
        .collect();
    let shared = seam_points(cal, marks);
    let max_d = shared
        .iter()
        .map(|s| s.disagreement_px_production)
        .reduce(f64::max);
    FitReport {
        rig: cal.rig.clone(),
        cameras: cal.cameras.clone(),
        intrinsics,
        panorama: cal.panorama.clone(),
        converged: fit.converged,
        fit: fit_s,
        held_out: held_s,
        held_out_outliers,
        outliers,
        seam: SeamReport {
            shared_landmarks: shared,
            max_disagreement_px_production: max_d,
            ..Default::default()
        },
        landmarks: errs,
    }
}

/// The outlier threshold the fit used, from the used landmarks' errors (see [`rig_fit`]).
fn outlier_limit(errs: &[LandmarkError], cal: &Calibration) -> f64 {
    let mut used: Vec<f64> = errs
        .iter()
        .filter(|e| e.used == Some(Use::Fit))
        .filter_map(|e| e.error_px)
        .collect();
    used.sort_by(f64::total_cmp);
    let median = used.get(used.len() / 2).copied().unwrap_or(0.0);
    let scale = cal.cameras[0].width as f64 / 3072.0;
    rig_fit::outlier_limit(median, scale)
}
