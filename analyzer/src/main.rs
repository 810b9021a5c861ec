//! `analyzer`: turns raw detections from capture into ball and player tracks.
//!
//! Without a subcommand it runs live (as `launch` starts it: `analyzer --config FILE`);
//! `replay` re-runs the tracker offline on a recording; `record` writes what publishers send.

mod node;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use shared::cli::CommonArgs;
use shared::shutdown::Shutdown;
use shared::transport::Endpoint;
use std::path::{Path, PathBuf};

#[derive(Debug, Parser)]
#[command(
    name = "analyzer",
    version,
    about = "Touchline analyzer: raw detections to ball and player tracks",
    long_about = "Touchline analyzer: subscribes to capture's raw detections and publishes ball and \
player tracks for the director, and answers snapshot requests with the last seconds of tracks. \
It can be restarted at any time without disturbing the video. Stop it with SIGINT or SIGTERM.\n\n\
Without a subcommand it runs live. `replay` re-runs it offline on a recording; `record` writes \
what any publishers send to a recording file."
)]
struct Cli {
    #[command(flatten)]
    common: CommonArgs,
    /// Live mode: record the analyzer's input (raw detections) and output (tracks) to this
    /// file (overrides `analyzer.record_path`).
    #[arg(long, value_name = "FILE")]
    record: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Re-run the analyzer on the raw detections of a recording, faster than real time, and
    /// write the input and the new tracks to a new recording.
    Replay {
        /// Recording to read (RawDetections records are used, others skipped).
        #[arg(long, value_name = "FILE")]
        input: PathBuf,
        /// Recording to write.
        #[arg(long, value_name = "FILE")]
        output: PathBuf,
        /// Print the summary as JSON on stdout.
        #[arg(long)]
        json: bool,
        /// No progress line on a terminal (it never shows elsewhere).
        #[arg(long)]
        no_progress: bool,
    },
    /// Subscribe to publishers and write every message to a recording file, until SIGINT or
    /// SIGTERM (or `--seconds`). Without `--connect`: capture's and the analyzer's publishers
    /// from the configuration.
    Record {
        /// Publisher endpoint to subscribe to (repeatable): ipc://PATH or tcp://HOST:PORT.
        #[arg(long, value_name = "ENDPOINT")]
        connect: Vec<String>,
        /// Recording to write.
        #[arg(long, value_name = "FILE")]
        output: PathBuf,
        /// Stop after this many seconds.
        #[arg(long)]
        seconds: Option<f64>,
    },
}

fn main() -> Result<()> {
    let shutdown = Shutdown::install()?;
    let cli = Cli::parse();
    match cli.command {
        None => {
            let record = cli.record.clone();
            shared::process::run_process("analyzer", &cli.common, shutdown, move |cfg, sd| {
                node::run(cfg, sd, record)
            })
        }
        Some(Command::Replay {
            input,
            output,
            json,
            no_progress,
        }) => replay(&cli.common, &input, &output, json, no_progress),
        Some(Command::Record {
            connect,
            output,
            seconds,
        }) => record(&cli.common, shutdown, &connect, &output, seconds),
    }
}

fn replay(
    common: &CommonArgs,
    input: &Path,
    output: &Path,
    json: bool,
    no_progress: bool,
) -> Result<()> {
    let cfg = common.load_config().context("loading the configuration")?;
    shared::telemetry::init("analyzer", &cfg.logging, common.log_format);
    eprintln!(
        "analyzer replay: {} -> {}",
        input.display(),
        output.display()
    );
    let bar = if no_progress {
        indicatif::ProgressBar::hidden()
    } else {
        indicatif::ProgressBar::new_spinner()
    };
    let summary = analyzer::replay::replay(input, output, &cfg.analyzer, 250, |p| {
        bar.set_message(format!(
            "{} frames, {:.1} s of play in {:.1} s",
            p.frames, p.pts_span_s, p.wall_s
        ));
        bar.tick();
    })
    .with_context(|| format!("replaying {}", input.display()))?;
    bar.finish_and_clear();
    let c = &summary.counters;
    eprintln!(
        "analyzer replay: {} records read ({} skipped, {} undecodable), {} tracks written, \
{:.1} s of play in {:.2} s ({:.0}x real time)",
        summary.records_in,
        summary.records_skipped,
        summary.decode_errors,
        summary.tracks_written,
        summary.progress.pts_span_s,
        summary.progress.wall_s,
        summary.speed
    );
    eprintln!(
        "  frames: {} in, {} analysed, {} duplicate, {} out of order, {} capture restarts",
        c.frames_in,
        c.frames_analysed,
        c.duplicate_frames,
        c.out_of_order_frames,
        c.capture_restarts
    );
    eprintln!(
        "  ball: {} tracked, {} predicted, {} lost; {} track switches; {} static-suppressed candidates",
        c.ball_tracked, c.ball_predicted, c.ball_lost, c.track_switches, c.static_suppressed
    );
    eprintln!(
        "  dropped detections: {} malformed, {} below score, {} aspect, {} size, {} outside field, {} NMS, {} capped",
        c.malformed_detections,
        c.below_score,
        c.aspect_rejected,
        c.size_rejected,
        c.outside_field,
        c.nms_suppressed,
        c.candidates_capped
    );
    if let Some(e) = &summary.input_error {
        eprintln!("  input ended early: {e}");
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    }
    Ok(())
}

fn record(
    common: &CommonArgs,
    shutdown: Shutdown,
    connect: &[String],
    output: &Path,
    seconds: Option<f64>,
) -> Result<()> {
    let cfg = common.load_config().context("loading the configuration")?;
    shared::telemetry::init("analyzer", &cfg.logging, common.log_format);
    let endpoints: Vec<Endpoint> = if connect.is_empty() {
        let eps = cfg.endpoints();
        vec![eps.capture_pub, eps.analyzer_pub]
    } else {
        connect
            .iter()
            .map(|s| Endpoint::parse(s).with_context(|| format!("--connect {s}")))
            .collect::<Result<_>>()?
    };
    if seconds.is_some_and(|s| !(s.is_finite() && s >= 0.0)) {
        bail!("--seconds must be a non-negative number");
    }
    let list = endpoints
        .iter()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    eprintln!("analyzer record: {list} -> {}", output.display());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let summary = rt
        .block_on(analyzer::record::record(
            &endpoints, output, seconds, shutdown,
        ))
        .with_context(|| format!("recording to {}", output.display()))?;
    let topics = summary
        .by_topic
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ");
    eprintln!(
        "analyzer record: {} records in {:.1} s ({topics}) written to {}",
        summary.records,
        summary.seconds,
        output.display()
    );
    Ok(())
}
