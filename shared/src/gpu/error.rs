//! Errors of the CUDA backend.

use cudarc::driver::DriverError;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum GpuError {
    #[error("no CUDA driver found (libcuda.so cannot be loaded): the `cuda` backend needs an NVIDIA GPU with its driver; use backend = \"cpu\" on this machine")]
    NoDriver,
    #[error("the CUDA driver is installed but finds no usable GPU ({0}); use backend = \"cpu\" on this machine")]
    NoDevice(String),
    #[error("NVRTC (libnvrtc.so) cannot be loaded: the `cuda` backend compiles its kernels at start-up and needs the CUDA runtime compiler on the library path")]
    NoNvrtc,
    #[error("compiling the {module} kernels failed: {log}")]
    Compile { module: String, log: String },
    #[error("CUDA {what} failed: {error}")]
    Driver { what: String, error: DriverError },
    #[error("GPU memory: {what} needs {need_gb:.2} GB but only {free_gb:.2} GB is free; shorten playout.delay_s, lower the frame rate or the panorama size")]
    OutOfMemory {
        what: String,
        need_gb: f64,
        free_gb: f64,
    },
    #[error("{0}")]
    Invalid(String),
}

impl GpuError {
    /// Wraps a driver error with what was being done.
    pub fn driver(what: impl Into<String>, error: DriverError) -> GpuError {
        GpuError::Driver {
            what: what.into(),
            error,
        }
    }
}
