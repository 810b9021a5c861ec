//! The virtual camera on the GPU: the mapping grid in double precision from the pose basis,
//! then NV12 (and optionally RGBA) output with the CPU renderer's arithmetic.

use crate::pose::Pose;
use crate::vcam::{MapGrid, PoseBasis, VirtualCamera, GRID};
use shared::geometry::PanoramaSpec;
use shared::gpu::{
    grid_1d, grid_2d, CudaFunction, DeviceBuffer, DeviceNv12, Gpu, GpuError, PushKernelArg,
};
use std::sync::Arc;

/// The grid kernel's arithmetic on the CPU from the values it is given (basis, focal,
/// panorama limits): the reference for the GPU grid, itself checked against
/// [`VirtualCamera::grid`].
pub fn grid_reference(
    basis: &PoseBasis,
    out: (usize, usize),
    pano: &PanoramaSpec,
    size: (usize, usize),
) -> MapGrid {
    let (gw, gh) = size;
    let dpp = pano.deg_per_px();
    let points = (0..gw * gh)
        .map(|k| {
            let (x, y) = (((k % gw) * GRID) as f64, ((k / gw) * GRID) as f64);
            let nx = (x + 0.5 - out.0 as f64 / 2.0) / basis.focal;
            let ny = (y + 0.5 - out.1 as f64 / 2.0) / basis.focal;
            let c = |i: usize| basis.f[i] + basis.r[i] * nx + basis.d[i] * ny;
            let (dx, dy, dz) = (c(0), c(1), c(2));
            let n = (dx * dx + dy * dy + dz * dz).sqrt();
            let lon = dx.atan2(dy).to_degrees();
            let lat = (dz / n).clamp(-1.0, 1.0).asin().to_degrees();
            let u = (lon - pano.lon_min_deg) / dpp - 0.5;
            let v = (pano.lat_max_deg - lat) / dpp - 0.5;
            (u as f32, v as f32)
        })
        .collect();
    MapGrid { gw, gh, points }
}

/// Renders the virtual camera on the GPU.
pub struct CudaVirtualCamera {
    gpu: Arc<Gpu>,
    vcam: VirtualCamera,
    grid: DeviceBuffer,
    k_grid: CudaFunction,
    k_luma: CudaFunction,
    k_chroma: CudaFunction,
    k_rgba: CudaFunction,
}

impl CudaVirtualCamera {
    pub fn new(gpu: Arc<Gpu>, vcam: VirtualCamera) -> Result<CudaVirtualCamera, GpuError> {
        let m = gpu.load("vcam", super::VCAM_SOURCE)?;
        let (gw, gh) = vcam.grid_size();
        Ok(CudaVirtualCamera {
            grid: gpu.alloc(gw * gh * 8)?,
            k_grid: m.function("vcam_grid")?,
            k_luma: m.function("vcam_luma")?,
            k_chroma: m.function("vcam_chroma")?,
            k_rgba: m.function("nv12_to_rgba")?,
            vcam,
            gpu,
        })
    }

    pub fn camera(&self) -> &VirtualCamera {
        &self.vcam
    }

    /// Device address of the mapping grid of the last render (`gw x gh` float pairs).
    pub fn grid_ptr(&self) -> u64 {
        self.grid.ptr()
    }

    /// Renders `pose` (already limited) from the panorama into `out` (output-sized).
    /// Stream-ordered: returns before the GPU is done.
    pub fn render(
        &self,
        pano: &DeviceNv12<'_>,
        pose: &Pose,
        out: &DeviceNv12<'_>,
    ) -> Result<(), GpuError> {
        let v = &self.vcam;
        if (out.width, out.height) != (v.out_w, v.out_h) {
            return Err(GpuError::Invalid(format!(
                "virtual camera output is {}x{}, the frame {}x{}",
                v.out_w, v.out_h, out.width, out.height
            )));
        }
        if (pano.width, pano.height) != (v.pano.width as usize, v.pano.height as usize) {
            return Err(GpuError::Invalid(format!(
                "panorama frame is {}x{}, the virtual camera was made for {}x{}",
                pano.width, pano.height, v.pano.width, v.pano.height
            )));
        }
        let b = v.pose_basis(pose);
        let (gw, gh) = v.grid_size();
        let (gwi, ghi, step) = (gw as i32, gh as i32, GRID as i32);
        let (ow, oh) = (v.out_w as i32, v.out_h as i32);
        let (lon_min, lat_max, dpp) = (v.pano.lon_min_deg, v.pano.lat_max_deg, v.pano.deg_per_px());
        let grid = self.grid.ptr();
        let mut l = self.gpu.stream().launch_builder(&self.k_grid);
        for x in b.f.iter().chain(&b.r).chain(&b.d) {
            l.arg(x);
        }
        l.arg(&b.focal)
            .arg(&ow)
            .arg(&oh)
            .arg(&lon_min)
            .arg(&lat_max)
            .arg(&dpp);
        l.arg(&gwi).arg(&ghi).arg(&step).arg(&grid);
        // SAFETY: argument types match `vcam_grid`; the grid buffer holds gw x gh points.
        unsafe { l.launch(grid_1d(gw * gh)) }
            .map_err(|e| GpuError::driver("launching vcam_grid", e))?;
        let (pw, ph, pp) = (pano.width as i32, pano.height as i32, pano.pitch as i32);
        let op = out.pitch as i32;
        for (k, src, dst, (w, h), name) in [
            (
                &self.k_luma,
                pano.ptr,
                out.ptr,
                (v.out_w, v.out_h),
                "vcam_luma",
            ),
            (
                &self.k_chroma,
                pano.uv_ptr(),
                out.uv_ptr(),
                (v.out_w / 2, v.out_h / 2),
                "vcam_chroma",
            ),
        ] {
            let mut l = self.gpu.stream().launch_builder(k);
            l.arg(&grid)
                .arg(&gwi)
                .arg(&step)
                .arg(&src)
                .arg(&pp)
                .arg(&pw)
                .arg(&ph);
            l.arg(&dst).arg(&op).arg(&ow).arg(&oh);
            // SAFETY: argument types match the kernel; samples are clamped inside the
            // panorama and writes stay inside the output frame of the checked size.
            unsafe { l.launch(grid_2d(w, h, 32, 8)) }
                .map_err(|e| GpuError::driver(format!("launching {name}"), e))?;
        }
        Ok(())
    }

    /// Converts an output-sized NV12 frame to RGBA (`width * 4` bytes per row) at `rgba`.
    pub fn to_rgba(&self, frame: &DeviceNv12<'_>, rgba: &DeviceBuffer) -> Result<(), GpuError> {
        let (w, h) = (frame.width, frame.height);
        if rgba.len() < w * h * 4 {
            return Err(GpuError::Invalid(format!(
                "RGBA buffer of {} bytes for {w}x{h}",
                rgba.len()
            )));
        }
        let (src, pitch, wi, hi) = (frame.ptr, frame.pitch as i32, w as i32, h as i32);
        let (dst, dp) = (rgba.ptr(), (w * 4) as i32);
        let mut l = self.gpu.stream().launch_builder(&self.k_rgba);
        l.arg(&src).arg(&pitch).arg(&wi).arg(&hi).arg(&dst).arg(&dp);
        // SAFETY: argument types match `nv12_to_rgba`; both buffers hold w x h pixels.
        unsafe { l.launch(grid_2d(w, h, 32, 8)) }
            .map_err(|e| GpuError::driver("launching nv12_to_rgba", e))?;
        Ok(())
    }
}
