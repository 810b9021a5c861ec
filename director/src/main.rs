//! `director`: turns ball and player tracks into a smooth virtual camera path.
//!
//! Without a subcommand (or with `live`) it runs live mode; `replay` runs the same planner
//! offline over a recording, a trajectory CSV or a scripted scenario, or feeds one into a
//! running system with `--publish`.

mod replay_cmd;

use anyhow::Result;
use clap::{Parser, Subcommand};
use shared::cli::CommonArgs;
use shared::shutdown::Shutdown;

#[derive(Debug, Parser)]
#[command(
    name = "director",
    version,
    about = "Touchline director: tracks to a virtual camera path",
    long_about = "Touchline director: subscribes to the analyzer's tracks and capture's playout \
status, and publishes camera paths to capture. It can be killed and restarted at any time \
without a dropped video frame. Stop it with SIGINT or SIGTERM.\n\n\
Without a subcommand it runs live mode (`director --config FILE`). `director replay` runs the \
same planner offline over a recording or a trajectory CSV and writes path.csv, metrics.json \
and report.html; `director replay --publish` feeds a recording into a running system instead \
of the analyzer."
)]
struct Cli {
    #[command(flatten)]
    common: CommonArgs,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Live mode (the default): plan and publish camera paths from the analyzer's tracks.
    Live,
    /// Replay tracks through the planner offline (metrics, path, report), or publish them
    /// into a running system with --publish.
    Replay(Box<replay_cmd::ReplayArgs>),
}

fn main() -> Result<()> {
    let shutdown = Shutdown::install()?;
    let cli = Cli::parse();
    match cli.command {
        None | Some(Command::Live) => shared::process::run_process(
            "director",
            &cli.common,
            shutdown,
            touchline_director::node::run,
        ),
        Some(Command::Replay(args)) => replay_cmd::run(&cli.common, &args, shutdown),
    }
}
