//! `capture`: the long-lived process. Binds the system's publisher (frame ticks, raw
//! detections, playout status, heartbeats) and the subscriber for camera paths.

mod node;

use capture as _;

use anyhow::Result;
use clap::Parser;
use shared::cli::CommonArgs;
use shared::shutdown::Shutdown;

#[derive(Debug, Parser)]
#[command(
    name = "capture",
    version,
    about = "Touchline capture: ingest, stitching and detector stage; hosts playout",
    long_about = "Touchline capture: the long-lived process of the system. It binds the publisher \
that carries frame ticks, raw detections, playout status and heartbeats, and the subscriber that \
receives camera paths from the director. Stop it with SIGINT or SIGTERM."
)]
struct Cli {
    #[command(flatten)]
    common: CommonArgs,
}

fn main() -> Result<()> {
    let shutdown = Shutdown::install()?;
    let cli = Cli::parse();
    shared::process::run_process("capture", &cli.common, shutdown, node::run)
}
