//! Benchmarks of the CUDA backend at production size, for the GPU machine (bench/gpu/run.sh
//! builds the command lines; bench/README.md has the numbers):
//!
//! - `kernels`: each kernel's time, the bytes it must move, and the ratio to the device copy
//!   bandwidth measured in the same run;
//! - `engines`: the detector engines side by side on the same frames (tract on the CPU, the
//!   `cuda` engine on host and on device tiles), times and agreement;
//! - `make-files`: two H.264 files of the synthetic rig's cameras (x264), the input of
//!   `pipeline --files`;
//! - `pipeline`: stitch + delay ring + virtual camera offline as fast as it goes, with the
//!   delay ring in `zero-copy` or `host-copy` mode: frames per second, GPU and host memory,
//!   bytes across PCIe per frame.

mod engines;
mod files;
mod kernels;
mod pipeline;
mod rig;

use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "gpu_bench",
    about = "CUDA backend benchmarks at production size"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Engines(engines::Args),
    Kernels(kernels::Args),
    MakeFiles(files::Args),
    Pipeline(pipeline::Args),
}

fn main() -> Result<()> {
    shared::telemetry::init("gpu_bench", &shared::config::LoggingConfig::default(), None);
    gst::init()?;
    match Cli::parse().command {
        Command::Engines(a) => engines::run(a),
        Command::Kernels(a) => kernels::run(a),
        Command::MakeFiles(a) => files::run(a),
        Command::Pipeline(a) => pipeline::run(a),
    }
}
