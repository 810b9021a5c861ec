//! `director`: turns ball and player tracks into a smooth virtual camera path.

mod node;

use anyhow::Result;
use clap::Parser;
use shared::cli::CommonArgs;
use shared::shutdown::Shutdown;

#[derive(Debug, Parser)]
#[command(
    name = "director",
    version,
    about = "Touchline director: tracks to a virtual camera path",
    long_about = "Touchline director: subscribes to the analyzer's tracks and capture's playout \
status, and publishes camera paths to capture. It can be killed and restarted at any time \
without a dropped video frame. Stop it with SIGINT or SIGTERM."
)]
struct Cli {
    #[command(flatten)]
    common: CommonArgs,
}

fn main() -> Result<()> {
    let shutdown = Shutdown::install()?;
    let cli = Cli::parse();
    shared::process::run_process("director", &cli.common, shutdown, node::run)
}
