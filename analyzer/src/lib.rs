//! Touchline analyzer: raw detections in panorama pixels to one trustworthy ball track and a
//! players summary, in pitch metres.
//!
//! - [`gates`], [`field`]: candidate gates (cross-tile NMS from `shared::nms`), field mask;
//! - [`static_fp`]: static false-positive suppression that learns and forgets;
//! - [`tracker`]: the ball tracker (ground and ballistic models, hypotheses, re-acquisition);
//! - [`players`]: robust players summary;
//! - [`pipeline`]: all of it as one pure `Analyzer::process`, with [`counters`];
//! - [`history`]: the last N seconds for snapshot requests;
//! - [`replay`], [`record`]: offline re-runs and recording tools;
//! - [`synth`], [`metrics`], [`baseline`]: synthetic detection streams with faults, the
//!   evaluation metrics, and the old prototype's rules to compare against.

pub mod baseline;
pub mod counters;
pub mod field;
pub mod gates;
pub mod geom;
pub mod history;
pub mod metrics;
pub mod pipeline;
pub mod players;
pub mod record;
pub mod replay;
pub mod static_fp;
pub mod synth;
pub mod tracker;

pub use counters::Counters;
pub use pipeline::{Analyzer, Dropped, Outcome};
