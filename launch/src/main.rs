//! `launch`: starts the system's processes, watches them and stops them; runs the demo.

mod children;
mod client;
mod control;
mod demo;
mod evaluate;
mod run;
mod status;
mod supervisor;
mod unit;
mod watch;

use anyhow::Result;
use clap::{Parser, Subcommand};
use shared::cli::CommonArgs;
use shared::shutdown::Shutdown;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "launch",
    version,
    about = "Touchline launch: run and supervise the whole system, control it, or run the demo",
    long_about = "Touchline launch: starts the processes of `[launch].processes`, watches them \
(exit status and heartbeats), restarts failed or hung ones, and stops them in reverse order. \
`status`, `restart` and `stop` talk to a running `launch run` through its control socket in the \
runtime directory, so give them the same --config."
)]
struct Cli {
    #[command(flatten)]
    common: CommonArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start every process of `[launch].processes` in order and supervise them until
    /// SIGINT/SIGTERM or `launch stop`.
    ///
    /// A process that exits or stops sending heartbeats (`launch.hung_timeout_ms`) is
    /// restarted with exponential backoff. More than `launch.max_restarts` restarts within
    /// `launch.restart_window_s`, or a usage error at start-up, stops everything and exits
    /// non-zero naming the process. A program that cannot be found starts nothing.
    Run,
    /// Show each supervised process (pid, state, uptime, restarts, last heartbeat, last
    /// exit) and capture's latest playout figures.
    Status {
        /// Print the raw JSON reply instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Restart one process now (counted in its restarts, not towards the restart limit).
    Restart {
        /// Process name, as in `[launch].processes`.
        process: String,
    },
    /// Stop every process in reverse start order and make `launch run` exit 0; waits until
    /// it has exited.
    Stop {
        /// Return as soon as launch has accepted the request.
        #[arg(long)]
        no_wait: bool,
    },
    /// Run the whole system on the synthetic pitch for a while and write the results to a
    /// folder (a recording of all messages and report.json).
    /// Print the systemd service for `launch run` with this configuration: its stop timeout
    /// follows the processes' stop timeouts (see docs/deployment.md).
    SystemdUnit {
        /// Folder of the installed binaries.
        #[arg(long, default_value = "/opt/touchline/bin")]
        bin_dir: PathBuf,
        /// User (and group) the service runs as.
        #[arg(long, default_value = "touchline")]
        user: String,
    },
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
        Command::Run => run::run(&cli.common, shutdown),
        Command::Status { json } => client::status(&cli.common, json),
        Command::Restart { process } => client::restart(&cli.common, &process),
        Command::Stop { no_wait } => client::stop(&cli.common, no_wait),
        Command::Demo { seconds, out } => demo::run(&cli.common, shutdown, seconds, &out),
        Command::SystemdUnit { bin_dir, user } => {
            let cfg = cli.common.load_config()?;
            unit::check_stop_timeout(&cfg)?;
            let config = match &cli.common.config {
                Some(p) => std::path::absolute(p)?,
                None => PathBuf::from("/etc/touchline/touchline.toml"),
            };
            print!("{}", unit::unit(&cfg, &config, &bin_dir, &user));
            Ok(())
        }
    }
}
