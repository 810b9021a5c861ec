//! Touchline capture: sources, ingest, stitching and the detector stage. The `capture`
//! binary is a thin shell around this library.

pub mod stitch;
pub mod synthetic;
