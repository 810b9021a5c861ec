//! Encoders and sinks fed with raw NV12 frames (and S16LE audio).

mod program;

pub use program::{
    container_of, OutputError, ProgramOutput, ProgramSettings, ProgramTarget, AUDIO_CHANNELS,
    AUDIO_RATE,
};
