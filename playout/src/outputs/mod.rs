//! Encoders and sinks fed with raw NV12 frames.

mod file;

pub use file::{Container, FileOutput, FileOutputSettings, OutputError};
