//! CPU stitching: two NV12 camera frames and the stitch tables in, one NV12 panorama out
//! (bilinear sampling, feathered blend, gain matching on the overlap), multi-threaded.

pub mod cuda;
mod gain;
mod kernel;
mod table;

pub use cuda::CudaStitcher;
pub use gain::{GainMatcher, GainSettings, GainStats};
pub use kernel::GainLuts;
pub use table::{CompactTable, Tap};

use shared::geometry::StitchLut;
use shared::gpu::GpuError;
use shared::image::{Nv12Mut, Nv12Ref};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum StitchError {
    #[error("camera {index} frame is {got_w}x{got_h}, the stitch tables were made for {want_w}x{want_h}")]
    CameraSize {
        index: usize,
        got_w: usize,
        got_h: usize,
        want_w: usize,
        want_h: usize,
    },
    #[error("output frame is {got_w}x{got_h}, the panorama is {want_w}x{want_h}")]
    OutputSize {
        got_w: usize,
        got_h: usize,
        want_w: usize,
        want_h: usize,
    },
    #[error(transparent)]
    Gpu(#[from] GpuError),
}

/// The CPU stitcher.
pub struct CpuStitcher {
    table: CompactTable,
    gain: GainMatcher,
    settings: GainSettings,
}

impl CpuStitcher {
    pub fn new(
        lut: &StitchLut,
        camera_sizes: [(usize, usize); 2],
        gain: GainSettings,
    ) -> CpuStitcher {
        CpuStitcher {
            table: CompactTable::from_lut(lut, camera_sizes),
            gain: GainMatcher::new(gain),
            settings: gain,
        }
    }

    pub fn panorama_size(&self) -> (usize, usize) {
        (self.table.width, self.table.height)
    }

    /// The kernel-ready tables (the CUDA stitcher uploads the same ones).
    pub fn table(&self) -> &CompactTable {
        &self.table
    }

    /// Gain matching settings (the CUDA stitcher is made with the same).
    pub fn gain_settings(&self) -> GainSettings {
        self.settings
    }

    /// Stitches one pair of frames (either may be missing) into `out`; returns the gains
    /// applied.
    pub fn stitch(
        &mut self,
        cams: [Option<&Nv12Ref<'_>>; 2],
        out: &mut Nv12Mut<'_>,
    ) -> Result<[f32; 2], StitchError> {
        for (i, c) in cams.iter().enumerate() {
            if let Some(c) = c {
                let (w, h) = self.table.src[i];
                if (c.width, c.height) != (w, h) {
                    return Err(StitchError::CameraSize {
                        index: i,
                        got_w: c.width,
                        got_h: c.height,
                        want_w: w,
                        want_h: h,
                    });
                }
            }
        }
        if (out.width, out.height) != (self.table.width, self.table.height) {
            return Err(StitchError::OutputSize {
                got_w: out.width,
                got_h: out.height,
                want_w: self.table.width,
                want_h: self.table.height,
            });
        }
        let gains = self.gain.update(kernel::overlap_means(&self.table, cams));
        kernel::stitch(&self.table, cams, &kernel::GainLuts::new(gains), out);
        Ok(gains)
    }

    pub fn gain_stats(&self) -> GainStats {
        self.gain.stats()
    }

    pub fn gains(&self) -> [f32; 2] {
        self.gain.gains()
    }
}
