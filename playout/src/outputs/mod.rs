//! Encoders and sinks fed with raw NV12 frames (and S16LE audio): [`program`] builds one
//! output's pipeline, [`slot`] keeps an output going across failures, [`lifecycle`] decides
//! when, and [`elements`] lists the GStreamer elements a configuration needs.

pub mod elements;
pub mod lifecycle;
mod program;
pub mod slot;

pub use lifecycle::RetrySettings;
pub use program::{
    container_of, OutputError, ProgramOutput, ProgramSettings, ProgramTarget, Pushed,
    AUDIO_CHANNELS, AUDIO_RATE,
};
pub use slot::{free_file, OutputSlot};
