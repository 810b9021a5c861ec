//! The panorama view on the GPU: bilinear downscale of the device panorama, then the overlay
//! points (rasterised on the host, a few thousand bytes) scattered into it.

use crate::overlay::{resolve, Dot};
use shared::gpu::{
    grid_1d, grid_2d, CudaFunction, DeviceBuffer, DeviceNv12, Gpu, GpuError, PushKernelArg,
};
use std::sync::{Arc, Mutex};

/// Scales and draws the panorama view on the GPU.
pub struct CudaPanoramaView {
    gpu: Arc<Gpu>,
    /// Upload buffer for the writes, grown when a frame needs more.
    writes: Mutex<Option<DeviceBuffer>>,
    k_scale: CudaFunction,
    k_scatter: CudaFunction,
}

impl CudaPanoramaView {
    pub fn new(gpu: Arc<Gpu>) -> Result<CudaPanoramaView, GpuError> {
        let m = gpu.load("overlay", super::OVERLAY_SOURCE)?;
        Ok(CudaPanoramaView {
            k_scale: m.function("scale_nv12")?,
            k_scatter: m.function("scatter_bytes")?,
            writes: Mutex::new(None),
            gpu,
        })
    }

    /// Bilinear downscale of `src` into `dst` (stream-ordered).
    pub fn scale(&self, src: &DeviceNv12<'_>, dst: &DeviceNv12<'_>) -> Result<(), GpuError> {
        let sx = src.width as f32 / dst.width as f32;
        let sy = src.height as f32 / dst.height as f32;
        let (sp, sw, sh) = (src.pitch as i32, src.width as i32, src.height as i32);
        let (dp, dw, dh) = (dst.pitch as i32, dst.width as i32, dst.height as i32);
        let (s, d) = (src.ptr, dst.ptr);
        let mut l = self.gpu.stream().launch_builder(&self.k_scale);
        l.arg(&s)
            .arg(&sp)
            .arg(&sw)
            .arg(&sh)
            .arg(&d)
            .arg(&dp)
            .arg(&dw)
            .arg(&dh)
            .arg(&sx)
            .arg(&sy);
        // SAFETY: argument types match `scale_nv12`; samples are clamped inside the source
        // and writes stay inside the destination.
        unsafe { l.launch(grid_2d(dst.width, dst.height, 32, 8)) }
            .map_err(|e| GpuError::driver("launching scale_nv12", e))?;
        Ok(())
    }

    /// Draws overlay points into `frame` (what [`crate::overlay::apply`] does on the CPU).
    pub fn draw(&self, frame: &DeviceNv12<'_>, dots: &[Dot]) -> Result<(), GpuError> {
        let writes = resolve(dots, frame.width, frame.height, frame.pitch);
        if writes.is_empty() {
            return Ok(());
        }
        let bytes = writes.len() * 8;
        let mut slot = self
            .writes
            .lock()
            .map_err(|_| GpuError::Invalid("overlay upload buffer poisoned".into()))?;
        if slot.as_ref().is_none_or(|b| b.len() < bytes) {
            *slot = Some(self.gpu.alloc(bytes.next_power_of_two())?);
        }
        let buf = slot.as_ref().expect("allocated above");
        self.gpu.upload(buf.ptr(), &writes)?;
        let (w, n, f) = (buf.ptr(), writes.len() as i32, frame.ptr);
        let mut l = self.gpu.stream().launch_builder(&self.k_scatter);
        l.arg(&w).arg(&n).arg(&f);
        // SAFETY: argument types match `scatter_bytes`; every offset was made inside the
        // frame by `resolve`.
        unsafe { l.launch(grid_1d(writes.len())) }
            .map_err(|e| GpuError::driver("launching scatter_bytes", e))?;
        Ok(())
    }
}
