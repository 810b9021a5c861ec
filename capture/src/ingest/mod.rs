//! Ingest: the camera sources (synthetic, files, RTSP, V4L2, custom), one GStreamer pipeline
//! per camera, and pairing of their frames by timestamp.

pub mod camera;
pub mod feeder;
pub mod pairing;
pub mod sources;

pub use camera::{CameraError, CameraPipeline, IngestEvent};
pub use pairing::{Pair, PairStats, Pairer};
pub use sources::{camera_pipeline, camera_sources, CameraSource};
