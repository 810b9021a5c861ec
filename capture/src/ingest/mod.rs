//! Ingest: the camera sources (synthetic, files, RTSP, V4L2, custom), one GStreamer pipeline
//! per camera, and pairing of their frames by timestamp; [`cuda_memory`] takes NVDEC output
//! in GPU memory without a host copy (CUDA backend).

pub mod camera;
pub mod cuda_memory;
pub mod feeder;
pub mod pairing;
pub mod sources;

pub use camera::{
    ingest_queue_frames, CameraError, CameraPipeline, HandOff, IngestEvent, SharedByCameras,
    TimeBase,
};
pub use pairing::{Pair, PairStats, Pairer};
pub use sources::{camera_pipeline, camera_sources, CameraSource};
