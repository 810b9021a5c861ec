//! Playout: what happens to the panorama after stitching. Hosted by `capture`.
//!
//! - [`ring`]: the delay ring of frame references;
//! - [`pose`]: the pose store fed by camera paths, and the follower with its fallback;
//! - [`vcam`]: the virtual camera renderer and its pose limits;
//! - [`audio`]: audio delayed with the video, silence for stalls, the synthetic track;
//! - [`overlay`]: the panorama view's drawings;
//! - [`outputs`]: encoders and sinks;
//! - [`engine`]: the playout thread tying them together.

pub mod audio;
pub mod check;
pub mod engine;
pub mod live_audio;
pub mod outputs;
pub mod overlay;
pub mod pose;
pub mod ring;
pub mod vcam;
