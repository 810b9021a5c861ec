//! `analyzer`: turns raw detections from capture into ball and player tracks.

mod node;

use anyhow::Result;
use clap::Parser;
use shared::cli::CommonArgs;
use shared::shutdown::Shutdown;

#[derive(Debug, Parser)]
#[command(
    name = "analyzer",
    version,
    about = "Touchline analyzer: raw detections to ball and player tracks",
    long_about = "Touchline analyzer: subscribes to capture's raw detections and publishes ball and \
player tracks for the director. It can be restarted at any time without disturbing the video. \
Stop it with SIGINT or SIGTERM."
)]
struct Cli {
    #[command(flatten)]
    common: CommonArgs,
}

fn main() -> Result<()> {
    let shutdown = Shutdown::install()?;
    let cli = Cli::parse();
    shared::process::run_process("analyzer", &cli.common, shutdown, node::run)
}
