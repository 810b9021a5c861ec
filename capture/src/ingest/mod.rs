//! Ingest: the camera sources (synthetic, files, RTSP, V4L2, custom), one GStreamer pipeline
//! per camera kept going by [`keeper`] (restarted after failures in real-time runs, with
//! [`health`] for operators), and pairing of their frames by timestamp; [`cuda_memory`] takes
//! NVDEC output in GPU memory without a host copy (CUDA backend).

pub mod arrival;
pub mod camera;
pub mod cuda_memory;
pub mod feeder;
pub mod health;
pub mod keeper;
pub mod pairing;
pub mod sources;

pub use camera::{
    ingest_queue_frames, CameraError, CameraExtras, CameraPipeline, HandOff, IngestEvent,
    PipelineEnd, SharedByCameras, TimeBase,
};
pub use health::{no_working_camera, CameraRetry, CameraWatch};
pub use keeper::{CameraSpec, KeptCamera};
pub use pairing::{Pair, PairStats, Pairer};
pub use sources::{camera_pipeline, camera_sources, CameraSource};
