//! `launch`: starts the system's processes, watches them and stops them; runs the demo.

mod children;
mod client;
mod control;
mod demo;
mod desk;
mod evaluate;
mod http;
mod metrics;
mod observe;
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
    /// Take over the programme camera, or hand it back (`auto`). The director moves there
    /// within its speed and acceleration bounds from the first frame it can still change,
    /// and keeps the mode across its own restarts.
    Camera {
        #[arg(value_enum)]
        mode: CameraArg,
        /// Pan of the view centre, degrees (manual).
        #[arg(long, required_if_eq("mode", "manual"), allow_hyphen_values = true)]
        yaw: Option<f32>,
        /// Tilt of the view centre, degrees, positive up (manual).
        #[arg(long, required_if_eq("mode", "manual"), allow_hyphen_values = true)]
        pitch: Option<f32>,
        /// Horizontal field of view, degrees (manual).
        #[arg(long, required_if_eq("mode", "manual"))]
        fov: Option<f32>,
    },
    /// Start or stop recording and streaming now (until the schedule's next edge).
    Recording {
        #[arg(value_enum)]
        action: RecordingArg,
    },
    /// Show, add or remove scheduled matches: recording and streaming start at kick-off
    /// minus the pre-roll and stop at its end.
    Schedule {
        #[command(subcommand)]
        action: ScheduleArg,
    },
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
    /// Run the whole system on the synthetic pitch for a while and write the results to a
    /// folder (a recording of all messages and report.json). Without --config it runs the
    /// demo's configuration (examples/demo.toml, built in: the detector on, looking at a
    /// square around the ball between full sweeps).
    Demo {
        /// How long to run, in seconds.
        #[arg(long, default_value_t = 20)]
        seconds: u64,
        /// Output folder (created if missing).
        #[arg(long, default_value = "out/demo")]
        out: PathBuf,
    },
    /// Evaluate a finished demo's folder again and print the evaluation as JSON (as in its
    /// report.json), with the configuration it ran with (`<OUT>/touchline.toml`; --config is
    /// not used). For a changed definition or a folder from an older version; nothing runs.
    Evaluate {
        /// The demo's output folder.
        out: PathBuf,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum CameraArg {
    /// The director follows play.
    Auto,
    /// The whole pitch.
    Wide,
    /// A fixed view of the left half.
    Left,
    /// A fixed view of the right half.
    Right,
    /// Stay where the camera is.
    Hold,
    /// A fixed pose: --yaw, --pitch, --fov.
    Manual,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum RecordingArg {
    Start,
    Stop,
}

#[derive(Debug, Subcommand)]
enum ScheduleArg {
    /// The scheduled matches and what is being recorded.
    List,
    /// Schedule a match.
    Add {
        /// Kick-off, RFC 3339 with its offset (2026-12-06T15:00:00+01:00).
        #[arg(long, conflicts_with = "in_s", required_unless_present = "in_s")]
        start: Option<String>,
        /// Kick-off this many seconds from now, instead of --start.
        #[arg(long)]
        in_s: Option<f64>,
        /// Length of the match, minutes.
        #[arg(long)]
        duration_min: f64,
        /// Recording starts this many minutes before kick-off.
        #[arg(long, default_value_t = 15.0)]
        preroll_min: f64,
    },
    /// Remove the match with this kick-off (as `schedule list` prints it).
    Remove {
        #[arg(long)]
        start: String,
    },
}

fn operator_command(command: &Command) -> Option<desk::OperatorCommand> {
    use desk::OperatorCommand as O;
    use shared::messages::CameraMode as M;
    Some(match command {
        Command::Camera {
            mode,
            yaw,
            pitch,
            fov,
        } => O::Camera {
            camera: match mode {
                CameraArg::Auto => M::Auto,
                CameraArg::Wide => M::Wide,
                CameraArg::Left => M::Left,
                CameraArg::Right => M::Right,
                CameraArg::Hold => M::Hold,
                CameraArg::Manual => M::Manual {
                    yaw: yaw.unwrap_or_default(),
                    pitch: pitch.unwrap_or_default(),
                    fov: fov.unwrap_or_default(),
                },
            },
        },
        Command::Recording { action } => O::Recording {
            on: matches!(action, RecordingArg::Start),
        },
        Command::Schedule { action } => match action {
            ScheduleArg::List => O::Show,
            ScheduleArg::Add {
                start,
                in_s,
                duration_min,
                preroll_min,
            } => O::ScheduleAdd(desk::MatchRequest {
                start: start.clone(),
                start_in_s: *in_s,
                duration_s: duration_min * 60.0,
                preroll_s: preroll_min * 60.0,
            }),
            ScheduleArg::Remove { start } => O::ScheduleRemove {
                start: start.clone(),
            },
        },
        _ => return None,
    })
}

fn main() -> Result<()> {
    let shutdown = Shutdown::install()?;
    let cli = Cli::parse();
    if let Some(cmd) = operator_command(&cli.command) {
        return client::operator(&cli.common, cmd);
    }
    match cli.command {
        Command::Run => run::run(&cli.common, shutdown),
        Command::Status { json } => client::status(&cli.common, json),
        Command::Restart { process } => client::restart(&cli.common, &process),
        Command::Stop { no_wait } => client::stop(&cli.common, no_wait),
        Command::Demo { seconds, out } => demo::run(&cli.common, shutdown, seconds, &out),
        Command::Evaluate { out } => demo::evaluate_again(&out),
        Command::Camera { .. } | Command::Recording { .. } | Command::Schedule { .. } => {
            unreachable!("operator commands are handled above")
        }
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
