//! Detector errors: what went wrong and, for start-up errors, what to change.

use std::path::PathBuf;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum DetectorError {
    #[error("detector model not found: {given:?} (looked in {})", tried.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "))]
    ModelNotFound { given: String, tried: Vec<PathBuf> },
    #[error("cannot load detector model {path}: {reason}")]
    ModelLoad { path: PathBuf, reason: String },
    #[error("detector model {path} has the wrong {what}: expected {expected}, found {found}")]
    ModelShape {
        path: PathBuf,
        what: &'static str,
        expected: String,
        found: String,
    },
    #[error("detector engine {engine:?} is not available: {reason}")]
    EngineUnavailable { engine: String, reason: String },
    #[error("inference failed ({engine}): {reason}")]
    Inference {
        engine: &'static str,
        reason: String,
    },
    #[error("detector configuration: {0}")]
    Config(String),
    #[error("detector on the GPU: {0}")]
    Gpu(#[from] shared::gpu::GpuError),
    #[error("frame {width}x{height} cannot be read: {reason}")]
    Frame {
        width: u32,
        height: u32,
        reason: String,
    },
}
