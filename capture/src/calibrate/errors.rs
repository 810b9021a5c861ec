//! How far a calibration puts each landmark from where it was clicked: in image pixels, and in
//! metres on the pitch (where the clicked pixel's ray meets the grass against the landmark's
//! place).

use super::landmarks::Landmark;
use super::rig_fit::project;
use serde::Serialize;
use shared::geometry::Calibration;

/// One landmark's error.
#[derive(Debug, Clone, Serialize)]
pub struct LandmarkError {
    pub camera: String,
    pub name: String,
    pub x_m: f64,
    pub y_m: f64,
    pub u_px: f64,
    pub v_px: f64,
    /// Pixel error; `None` when the landmark is behind the camera.
    pub error_px: Option<f64>,
    /// Error on the pitch; `None` when the clicked pixel looks above the horizon.
    pub error_m: Option<f64>,
    /// `fit`, `held` or `outlier` in a fit's report; absent in a check.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub used: Option<super::rig_fit::Use>,
}

/// Summary of a set of landmark errors.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ErrorSummary {
    pub count: usize,
    pub rms_px: Option<f64>,
    pub max_px: Option<f64>,
    pub rms_m: Option<f64>,
    pub max_m: Option<f64>,
}

/// The error of each landmark under `cal` (landmarks of a camera `cal` does not have are
/// skipped).
pub fn landmark_errors(cal: &Calibration, marks: &[Landmark]) -> Vec<LandmarkError> {
    marks
        .iter()
        .filter_map(|l| {
            let i = cal.cameras.iter().position(|c| c.name == l.camera)?;
            let error_px =
                project(cal, i, l.x_m, l.y_m).map(|(u, v)| (u - l.u_px).hypot(v - l.v_px));
            let error_m = cal
                .camera_to_pitch(i, l.u_px, l.v_px, 0.0)
                .map(|(x, y)| (x - l.x_m).hypot(y - l.y_m));
            Some(LandmarkError {
                camera: l.camera.clone(),
                name: l.name.clone(),
                x_m: l.x_m,
                y_m: l.y_m,
                u_px: l.u_px,
                v_px: l.v_px,
                error_px,
                error_m,
                used: None,
            })
        })
        .collect()
}

fn rms(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| (v.iter().map(|e| e * e).sum::<f64>() / v.len() as f64).sqrt())
}

fn max(v: &[f64]) -> Option<f64> {
    v.iter().copied().reduce(f64::max)
}

pub fn summarise<'a>(errors: impl Iterator<Item = &'a LandmarkError>) -> ErrorSummary {
    let (mut px, mut m, mut count) = (Vec::new(), Vec::new(), 0);
    for e in errors {
        count += 1;
        px.extend(e.error_px);
        m.extend(e.error_m);
    }
    ErrorSummary {
        count,
        rms_px: rms(&px),
        max_px: max(&px),
        rms_m: rms(&m),
        max_m: max(&m),
    }
}
