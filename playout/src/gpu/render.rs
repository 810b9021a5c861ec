//! What playout's thread does with a frame on the CUDA backend: render the virtual camera (and
//! the panorama view) from the device panorama and download only the finished frames.

use super::{CudaPanoramaView, CudaVirtualCamera};
use crate::frame::FrameRef;
use crate::overlay::Dot;
use crate::pose::Pose;
use crate::vcam::VirtualCamera;
use shared::gpu::{DeviceBuffer, DeviceNv12, Gpu, GpuError};
use shared::image::{Nv12Mut, Nv12Ref};
use std::sync::Arc;

/// The GPU side of playout.
pub struct GpuRenderer {
    gpu: Arc<Gpu>,
    vcam: CudaVirtualCamera,
    view: Option<(CudaPanoramaView, DeviceBuffer, usize, usize)>,
    out: DeviceBuffer,
    /// Panorama-sized device frame for frames that arrive in system memory (the host-copy
    /// mode's upload, or a CPU-backend frame).
    upload: Option<DeviceBuffer>,
}

impl GpuRenderer {
    /// `view`: size of the panorama view, when there is one.
    pub fn new(
        gpu: Arc<Gpu>,
        vcam: VirtualCamera,
        view: Option<(usize, usize)>,
    ) -> Result<GpuRenderer, GpuError> {
        let out = gpu.alloc(vcam.out_w * vcam.out_h * 3 / 2)?;
        let view = match view {
            Some((w, h)) => Some((
                CudaPanoramaView::new(gpu.clone())?,
                gpu.alloc(w * h * 3 / 2)?,
                w,
                h,
            )),
            None => None,
        };
        Ok(GpuRenderer {
            vcam: CudaVirtualCamera::new(gpu.clone(), vcam)?,
            view,
            out,
            upload: None,
            gpu,
        })
    }

    pub fn gpu(&self) -> &Arc<Gpu> {
        &self.gpu
    }

    /// The device panorama of a frame, uploading it first if it is in system memory.
    fn device_frame<'a>(&'a self, frame: &'a FrameRef) -> Result<DeviceNv12<'a>, GpuError> {
        let p = &self.vcam.camera().pano;
        let (w, h) = (p.width as usize, p.height as usize);
        let host: Vec<u8>;
        let src: &[u8] = match frame {
            FrameRef::Cuda(f) => return Ok(f.nv12()),
            FrameRef::Downloaded(v) => v.as_slice(),
            FrameRef::Host(b) => {
                let map = b
                    .map_readable()
                    .map_err(|_| GpuError::Invalid("panorama buffer is not readable".into()))?;
                host = map.as_slice().to_vec();
                &host
            }
        };
        let dev = self
            .upload
            .as_ref()
            .ok_or_else(|| GpuError::Invalid("no upload frame".into()))?
            .nv12(w, h);
        let pano = Nv12Ref::packed(w, h, src).ok_or_else(|| {
            GpuError::Invalid(format!("panorama of {} bytes for {w}x{h}", src.len()))
        })?;
        self.gpu.upload_nv12(&pano, &dev)?;
        Ok(dev)
    }

    /// Renders `pose` from `frame` into `out` (packed NV12 of the output size) and, when given,
    /// the panorama view with its overlay points into `view` (packed NV12 of the view size).
    pub fn render(
        &mut self,
        frame: &FrameRef,
        pose: &Pose,
        out: &mut [u8],
        view: Option<(&mut [u8], &[Dot])>,
    ) -> Result<(), GpuError> {
        if !matches!(frame, FrameRef::Cuda(_)) && self.upload.is_none() {
            let p = &self.vcam.camera().pano;
            self.upload = Some(
                self.gpu
                    .alloc(p.width as usize * p.height as usize * 3 / 2)?,
            );
        }
        let (ow, oh) = (self.vcam.camera().out_w, self.vcam.camera().out_h);
        let pano = self.device_frame(frame)?;
        let dev_out = self.out.nv12(ow, oh);
        self.vcam.render(&pano, pose, &dev_out)?;
        if let (Some((v, buf, w, h)), Some((host, dots))) = (self.view.as_ref(), view) {
            let dv = buf.nv12(*w, *h);
            v.scale(&pano, &dv)?;
            v.draw(&dv, dots)?;
            let mut o = Nv12Mut::packed(*w, *h, host)
                .ok_or_else(|| GpuError::Invalid("panorama view buffer too small".into()))?;
            self.gpu.download_nv12(&dv, &mut o)?;
        }
        let mut o = Nv12Mut::packed(ow, oh, out)
            .ok_or_else(|| GpuError::Invalid("output buffer too small".into()))?;
        self.gpu.download_nv12(&dev_out, &mut o)
    }
}
