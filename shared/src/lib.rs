//! Touchline shared crate: everything the processes agree on.
//!
//! - [`messages`]: the wire message types and their versioned MessagePack codec;
//! - [`transport`]: ZeroMQ sockets behind our own API (bounded queues, counters, heartbeats);
//! - [`config`]: the one system configuration file, with defaults and validation;
//! - [`recording`]: the recording file format (header + length-prefixed records);
//! - [`time`]: presentation timestamps, frame rates and clocks;
//! - [`telemetry`]: tracing setup; [`shutdown`]: SIGINT/SIGTERM handling;
//! - [`backoff`]: restart pacing (exponential backoff, restart intensity) with time passed in;
//! - [`cli`]: command-line arguments common to every binary;
//! - [`atomic_file`]: replacing a file so that a reader never sees half of it;
//! - [`gpu`]: the CUDA backend's context, run-time compiled kernels, device frames and pool.

pub mod artefacts;
pub mod atomic_file;
pub mod backoff;
pub mod cli;
pub mod config;
pub mod discard;
pub mod geometry;
pub mod gpu;
pub mod image;
pub mod messages;
pub mod nms;
pub mod operator;
pub mod peers;
pub mod process;
pub mod recording;
pub mod scene;
pub mod schedule;
pub mod shutdown;
pub mod stats;
pub mod telemetry;
pub mod time;
pub mod transport;
