//! Playout: what happens to the panorama after stitching. Hosted by `capture`.
//!
//! - [`ring`]: the delay ring of frame references;
//! - [`pose`]: the pose store fed by camera paths, and the follower with its fallback;
//! - [`vcam`]: the virtual camera renderer and its pose limits;
//! - [`audio`]: audio delayed with the video, silence for stalls, the synthetic track;
//! - [`live_audio`]: the venue's sound from a GStreamer source;
//! - [`overlay`]: the panorama view's drawings;
//! - [`outputs`]: encoders and sinks;
//! - [`gpu`]: the virtual camera and the panorama view on the GPU (CUDA backend);
//! - [`frame`]: a panorama frame in system or GPU memory;
//! - [`engine`]: the playout thread tying them together.

pub mod audio;
pub mod check;
pub mod engine;
pub mod frame;
pub mod gpu;
pub mod live_audio;
pub mod outputs;
pub mod overlay;
pub mod pose;
pub mod preview;
pub mod ring;
pub mod vcam;
