//! A view to render: maps its pixels to rig-frame directions and back. Cameras and the
//! panorama are both views, so the same scene renders identically into either.

use nalgebra::{Matrix3, Vector3};
use shared::geometry::{CameraModel, PanoramaSpec};

pub trait View: Sync {
    fn size(&self) -> (usize, usize);
    /// Rig-frame unit direction through a (continuous) pixel position.
    fn dir(&self, u: f64, v: f64) -> Option<Vector3<f64>>;
    /// Pixel position of a rig-frame direction.
    fn project(&self, d: &Vector3<f64>) -> Option<(f64, f64)>;
}

/// One of the rig's cameras.
pub struct CameraView {
    cam: CameraModel,
    rot: Matrix3<f64>,
}

impl CameraView {
    pub fn new(cam: &CameraModel) -> CameraView {
        CameraView {
            rot: cam.rig_to_camera(),
            cam: cam.clone(),
        }
    }
}

impl View for CameraView {
    fn size(&self) -> (usize, usize) {
        (self.cam.width as usize, self.cam.height as usize)
    }

    fn dir(&self, u: f64, v: f64) -> Option<Vector3<f64>> {
        self.cam.unproject(&self.rot, u, v)
    }

    fn project(&self, d: &Vector3<f64>) -> Option<(f64, f64)> {
        self.cam.project_dir(&self.rot, d)
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
