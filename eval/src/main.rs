//! `touchline-eval`: the offline tooling of the detector. Writes training tiles from the
//! synthetic pitch and measures the configured detector on held-out synthetic frames or on
//! labelled real images. Nothing here runs in a broadcast.

mod commands;

use anyhow::Result;
use clap::{Parser, Subcommand};
use shared::cli::CommonArgs;
use shared::shutdown::Shutdown;

#[derive(Debug, Parser)]
#[command(
    name = "touchline-eval",
    version,
    about = "Touchline's offline detector tooling: training tiles and quality measurements",
    long_about = "Touchline's offline detector tooling. `dataset` writes training tiles with YOLO \
labels from the synthetic pitch; `detector-eval` measures the configured detector (the \
`[detector]` section of --config) on held-out synthetic frames, or with --images on a folder \
of labelled real images, and prints a JSON report. See docs/detector.md."
)]
struct Cli {
    #[command(flatten)]
    common: CommonArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write a detector training set from the synthetic pitch: model-input-sized JPEG tiles
    /// with YOLO labels, from varied scenes (see docs/detector.md).
    Dataset(commands::DatasetArgs),
    /// Measure the configured detector on held-out synthetic frames: ball recall, precision
    /// and localisation error, player recall (JSON on stdout); with --images, on labelled
    /// real images.
    DetectorEval(commands::EvalArgs),
}

fn main() -> std::process::ExitCode {
    shared::process::exit_with(run())
}

fn run() -> Result<()> {
    let shutdown = Shutdown::install()?;
    let cli = Cli::parse();
    match cli.command {
        Command::Dataset(args) => {
            shared::process::run_process("eval", &cli.common, shutdown, move |cfg, sd| {
                commands::run(cfg, sd, args)
            })
        }
        Command::DetectorEval(args) => {
            shared::process::run_process("eval", &cli.common, shutdown, move |cfg, sd| {
                commands::run_eval(cfg, sd, args)
            })
        }
    }
}
