//! Playout: what happens to the panorama after stitching. Hosted by `capture`.
//!
//! - [`outputs`]: encoders and sinks (files now; streams and displays with the playout work).

pub mod outputs;
