//! The CUDA backend's foundation: one GPU context and stream per process, kernels compiled at
//! start-up from CUDA C with NVRTC, raw device buffers, NV12 frames in device memory, and the
//! panorama frame pool.
//!
//! The driver and NVRTC are loaded at run time (`cudarc` with dynamic loading), so every build
//! works on a machine without CUDA; [`Gpu::open`] says plainly when no driver or GPU is there.
//!
//! One stream orders all pixel work of a process (stitch, tile preparation, virtual camera,
//! copies). A pooled frame released by its last holder can therefore only be overwritten by
//! work submitted later on the same stream, after every read already queued: no events are
//! needed between the stitcher, the delay ring and the virtual camera.

mod buffer;
mod device;
mod error;
mod pool;
pub mod testing;

pub use buffer::{DeviceBuffer, DeviceNv12};
pub use device::{compile_ptx, nvrtc_present, Gpu, KernelModule, TransferStats};
pub use error::GpuError;
pub use pool::{GpuFrame, GpuFramePool};

/// Re-exported so that kernel wrappers in other crates use the same `cudarc`.
pub use cudarc::driver::{CudaFunction, LaunchConfig, PushKernelArg};

/// A launch grid covering `w` x `h` threads with blocks of `bx` x `by`.
pub fn grid_2d(w: usize, h: usize, bx: u32, by: u32) -> LaunchConfig {
    LaunchConfig {
        grid_dim: ((w as u32).div_ceil(bx), (h as u32).div_ceil(by), 1),
        block_dim: (bx, by, 1),
        shared_mem_bytes: 0,
    }
}

/// A launch grid covering `n` threads in blocks of 256.
pub fn grid_1d(n: usize) -> LaunchConfig {
    LaunchConfig {
        grid_dim: ((n as u32).div_ceil(256).max(1), 1, 1),
        block_dim: (256, 1, 1),
        shared_mem_bytes: 0,
    }
}
