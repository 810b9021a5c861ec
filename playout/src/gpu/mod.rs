//! Playout on the GPU (CUDA backend): the virtual camera and the panorama view render from
//! the device panorama the delay ring references; only the finished output frame is
//! downloaded for the encoders.

mod overlay;
mod render;
mod vcam;

pub use overlay::CudaPanoramaView;
pub use render::GpuRenderer;
pub use vcam::{grid_reference, CudaVirtualCamera};

/// CUDA C source of the virtual camera kernels.
pub const VCAM_SOURCE: &str = include_str!("vcam.cu");
/// CUDA C source of the panorama view kernels.
pub const OVERLAY_SOURCE: &str = include_str!("overlay.cu");
