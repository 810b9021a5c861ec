//! A view to render: maps its pixels to rig-frame directions and back. Cameras and the
//! panorama are both views, so the same scene renders identically into either.

use nalgebra::{Matrix3, Vector3};
use shared::geometry::{Calibration, CameraModel, PanoramaSpec};

pub trait View: Sync {
    fn size(&self) -> (usize, usize);
    /// Rig-frame unit direction through a (continuous) pixel position.
    fn dir(&self, u: f64, v: f64) -> Option<Vector3<f64>>;
    /// Pixel position of a rig-frame direction.
    fn project(&self, d: &Vector3<f64>) -> Option<(f64, f64)>;
}

/// One of the rig's cameras. Its directions are those of the panorama (from the rig's
/// centre): for a camera off the rig's centre, the grass it sees is where the panorama model
/// puts it (see `Calibration::camera_vector`), so a render of it stitches exactly.
pub struct CameraView {
    cal: Calibration,
    index: usize,
    rot: Matrix3<f64>,
}

impl CameraView {
    /// Camera `index` of `cal`.
    pub fn new(cal: &Calibration, index: usize) -> CameraView {
        CameraView {
            rot: cal.cameras[index].rig_to_camera(),
            cal: cal.clone(),
            index,
        }
    }

    fn cam(&self) -> &CameraModel {
        &self.cal.cameras[self.index]
    }
}

impl View for CameraView {
    fn size(&self) -> (usize, usize) {
        (self.cam().width as usize, self.cam().height as usize)
    }

    fn dir(&self, u: f64, v: f64) -> Option<Vector3<f64>> {
        let r = self.cam().unproject(&self.rot, u, v)?;
        if self.cam().at_rig_centre() {
            return Some(r);
        }
        Some(self.cal.panorama_direction(self.index, &r).normalize())
    }

    fn project(&self, d: &Vector3<f64>) -> Option<(f64, f64)> {
        self.cam()
            .project_dir(&self.rot, &self.cal.camera_vector(self.index, d))
    }
}

/// The equirectangular panorama (for reference renders in tests and evaluation).
pub struct PanoramaView {
    pub spec: PanoramaSpec,
}

impl View for PanoramaView {
    fn size(&self) -> (usize, usize) {
        (self.spec.width as usize, self.spec.height as usize)
    }

    fn dir(&self, u: f64, v: f64) -> Option<Vector3<f64>> {
        Some(self.spec.pixel_to_dir(u, v))
    }

    fn project(&self, d: &Vector3<f64>) -> Option<(f64, f64)> {
        Some(self.spec.dir_to_pixel(d))
    }
}
