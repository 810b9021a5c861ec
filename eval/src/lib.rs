//! Touchline's offline tooling for the detector, kept out of the live path of `capture`:
//!
//! - [`dataset`]: training tiles with YOLO labels from varied synthetic scenes
//!   (`touchline-eval dataset`);
//! - [`render_eval`]: the detector's quality against ground truth on held-out synthetic
//!   frames (`touchline-eval detector-eval`);
//! - [`image_eval`]: its quality on a folder of labelled real images
//!   (`touchline-eval detector-eval --images`), with [`grass`] as their field mask.
//!
//! The detector itself (engines, tiling, decoding) and the synthetic scenes are `capture`'s;
//! this crate drives them.

pub mod dataset;
pub mod grass;
pub mod image_eval;
pub mod render_eval;
