//! The engine's CUDA stage: camera frames are uploaded once each (or, decoded by NVDEC into
//! GPU memory, read in place), stitched on the GPU into a frame of the device pool, and
//! handed on as a reference. No panorama byte crosses the bus.

use crate::stitch::{CudaStitcher, StitchError};
use shared::gpu::{DeviceBuffer, DeviceNv12, GpuError, GpuFrame, GpuFramePool};
use shared::image::Nv12Ref;

/// Stitcher, device pool and the camera upload frames.
pub struct CudaStage {
    pub stitcher: CudaStitcher,
    pub pool: GpuFramePool,
    /// Offline runs (`capture.realtime = false`): when every pool frame is in use, the engine
    /// waits for playout to release one instead of dropping the pair.
    pub wait_for_pool: bool,
    /// One device frame per camera, allocated at the first frame of its size.
    cams: [Option<(DeviceBuffer, usize, usize)>; 2],
}

/// Why a pair was not stitched.
#[derive(Debug)]
pub enum CudaStageError {
    PoolExhausted,
    Stitch(StitchError),
}

impl From<GpuError> for CudaStageError {
    fn from(e: GpuError) -> Self {
        CudaStageError::Stitch(StitchError::Gpu(e))
    }
}

impl CudaStage {
    pub fn new(stitcher: CudaStitcher, pool: GpuFramePool) -> CudaStage {
        CudaStage {
            stitcher,
            pool,
            wait_for_pool: false,
            cams: [None, None],
        }
    }

    /// Uploads the present cameras and stitches them into a pool frame.
    pub fn stitch(&mut self, cams: [Option<&Nv12Ref<'_>>; 2]) -> Result<GpuFrame, CudaStageError> {
        self.stitch_cameras(cams.map(|c| c.map(CameraInput::Host)))
    }

    /// Stitches camera frames already in GPU memory (NVDEC output) into a pool frame. Returns
    /// when the GPU has finished reading them, so their buffers may go back to the decoder.
    pub fn stitch_device(
        &mut self,
        cams: [Option<&DeviceNv12<'_>>; 2],
    ) -> Result<GpuFrame, CudaStageError> {
        self.stitch_cameras(cams.map(|c| c.map(CameraInput::Device)))
    }

    /// Stitches a pair whose frames may be in system memory (uploaded once each into the
    /// camera's device frame) or already in GPU memory (read in place). With a frame in GPU
    /// memory it returns when the GPU has finished reading it, so the decoder may reuse it.
    pub fn stitch_cameras(
        &mut self,
        cams: [Option<CameraInput<'_, '_>>; 2],
    ) -> Result<GpuFrame, CudaStageError> {
        let frame = self.pool.acquire().ok_or(CudaStageError::PoolExhausted)?;
        let gpu = self.stitcher.gpu().clone();
        for (slot, cam) in self.cams.iter_mut().zip(&cams) {
            let Some(CameraInput::Host(c)) = cam else {
                continue;
            };
            if slot
                .as_ref()
                .is_none_or(|(_, w, h)| (*w, *h) != (c.width, c.height))
            {
                *slot = Some((gpu.alloc(c.width * c.height * 3 / 2)?, c.width, c.height));
            }
            let (buf, w, h) = slot.as_ref().expect("allocated above");
            gpu.upload_nv12(c, &buf.nv12(*w, *h))?;
        }
        let dev: Vec<Option<DeviceNv12<'_>>> = self
            .cams
            .iter()
            .zip(&cams)
            .map(|(slot, cam)| match cam {
                Some(CameraInput::Host(_)) => slot.as_ref().map(|(b, w, h)| b.nv12(*w, *h)),
                Some(CameraInput::Device(d)) => Some(**d),
                None => None,
            })
            .collect();
        self.stitcher
            .stitch([dev[0].as_ref(), dev[1].as_ref()], &frame.nv12())
            .map_err(CudaStageError::Stitch)?;
        if cams
            .iter()
            .any(|c| matches!(c, Some(CameraInput::Device(_))))
        {
            gpu.sync()?;
        }
        Ok(frame)
    }
}

/// One camera frame for [`CudaStage::stitch_cameras`].
pub enum CameraInput<'r, 'a> {
    /// In system memory: uploaded once.
    Host(&'r Nv12Ref<'a>),
    /// In GPU memory of capture's context (a decoder's frame): read in place.
    Device(&'r DeviceNv12<'a>),
}
