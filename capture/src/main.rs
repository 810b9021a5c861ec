//! `capture`: the long-lived process. Ingests both cameras, stitches the panorama, publishes
//! frame ticks, and hosts playout. Binds the system's publisher and the camera-path
//! subscriber.

mod calibrate_cmd;
mod eval_forward;
mod node;
mod panorama_cmd;
mod running;

use anyhow::Result;
use clap::{Parser, Subcommand};
use shared::cli::CommonArgs;
use shared::shutdown::Shutdown;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "capture",
    version,
    about = "Touchline capture: ingest, stitching and detector stage; hosts playout",
    long_about = "Touchline capture: the long-lived process of the system. It ingests both cameras \
(or the synthetic pitch), stitches them into the panorama, and binds the publisher that carries \
frame ticks, raw detections, playout status and heartbeats, and the subscriber that receives \
camera paths from the director. Stop it with SIGINT or SIGTERM."
)]
struct Cli {
    #[command(flatten)]
    common: CommonArgs,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run capture (the default when no subcommand is given).
    Run,
    /// Stitch the configured source and write the panorama to a video file (.mp4 or .mkv),
    /// as fast as possible, so a person can look at it.
    Panorama {
        /// Output file (.mp4 or .mkv).
        #[arg(long)]
        out: PathBuf,
        /// Seconds of video to write.
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
    },
    /// Moved to `touchline-eval dataset` (this runs it, with the same arguments).
    #[command(disable_help_flag = true)]
    Dataset {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<std::ffi::OsString>,
    },
    /// Moved to `touchline-eval detector-eval` (this runs it, with the same arguments).
    #[command(disable_help_flag = true)]
    DetectorEval {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<std::ffi::OsString>,
    },
    /// Make or check the rig calibration file.
    #[command(subcommand)]
    Calibrate(Box<calibrate_cmd::CalibrateCommand>),
    /// Decode a recorded programme (MP4, MKV) and print what it holds as JSON: video frames,
    /// audio seconds, whether timestamps increase, the longest frozen run, and the synthetic
    /// source's flashes and beeps with the audio/video offsets between them.
    CheckOutput {
        /// The file to check.
        file: PathBuf,
    },
}

fn main() -> std::process::ExitCode {
    // A configuration that cannot work here (a missing element) exits with CONFIG_EXIT_CODE,
    // which a supervisor does not restart.
    shared::process::exit_with(run())
}

fn run() -> Result<()> {
    let shutdown = Shutdown::install()?;
    let cli = Cli::parse();
    gst::init()?;
    match cli.command {
        None | Some(Command::Run) => shared::process::run_process_checked(
            "capture",
            &cli.common,
            shutdown,
            |cfg| Ok(capture::preflight::check_run(cfg)?),
            node::run,
        ),
        Some(Command::Panorama { out, seconds }) => {
            let check_out = out.clone();
            shared::process::run_process_checked(
                "capture",
                &cli.common,
                shutdown,
                move |cfg| Ok(capture::preflight::check_panorama(cfg, &check_out)?),
                move |cfg, sd| panorama_cmd::run(cfg, sd, out, seconds),
            )
        }
        Some(Command::Dataset { .. }) => eval_forward::forward("dataset"),
        Some(Command::Calibrate(cmd)) => {
            shared::telemetry::init("capture", &Default::default(), cli.common.log_format);
            calibrate_cmd::run(*cmd)
        }
        Some(Command::CheckOutput { file }) => {
            shared::telemetry::init("capture", &Default::default(), cli.common.log_format);
            anyhow::ensure!(
                file.is_file(),
                "{}: no such file (give the recorded programme, e.g. out/demo/broadcast.mp4)",
                file.display()
            );
            let check = playout::check::inspect(&file)
                .map_err(|e| anyhow::anyhow!("{}: cannot decode: {e}", file.display()))?;
            println!("{}", serde_json::to_string(&check)?);
            Ok(())
        }
        Some(Command::DetectorEval { .. }) => eval_forward::forward("detector-eval"),
    }
}
