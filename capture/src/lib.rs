//! Touchline capture: sources, ingest, stitching and the detector stage. The `capture`
//! binary is a thin shell around this library.

pub mod calibrate;
pub mod detector;
pub mod discards;
pub mod engine;
pub mod ingest;
pub mod preflight;
pub mod setup;
pub mod sinks;
pub mod stitch;
pub mod synthetic;
