//! `launch`: starts the system's processes, watches them and stops them; runs the demo.

mod children;
mod demo;

use anyhow::Result;
use clap::{Parser, Subcommand};
use shared::cli::CommonArgs;
use shared::shutdown::Shutdown;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "launch",
    version,
    about = "Touchline launch: run the whole system, or the demo on the synthetic pitch"
)]
struct Cli {
    #[command(flatten)]
    common: CommonArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the whole system on the synthetic pitch for a while and write the results to a
    /// folder (a recording of all messages and report.json).
    Demo {
        /// How long to run, in seconds.
        #[arg(long, default_value_t = 20)]
        seconds: u64,
        /// Output folder (created if missing).
        #[arg(long, default_value = "out/demo")]
        out: PathBuf,
    },
}

fn main() -> Result<()> {
    let shutdown = Shutdown::install()?;
    let cli = Cli::parse();
    match cli.command {
        Command::Demo { seconds, out } => demo::run(&cli.common, shutdown, seconds, &out),
    }
}
