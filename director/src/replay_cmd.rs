//! The `director replay` command: arguments, progress bar, output files.

use anyhow::{bail, Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use shared::cli::CommonArgs;
use shared::scene::Scenario;
use shared::shutdown::Shutdown;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use touchline_director::baselines;
use touchline_director::publish::{publish, PublishOptions};
use touchline_director::replay::{
    ball_reference, evaluate, load_input, mode_shares, run_planner, scenario_input, ReplayInput,
    SynthOptions,
};
use touchline_director::report::{
    metrics_table, write_metrics_json, write_path_csv, write_report, Baselines, MetricsFile,
    ReportData,
};
use touchline_director::rig::Rig;
use touchline_director::synth::TrackFaults;

fn parse_scenario(s: &str) -> Result<Scenario, String> {
    Scenario::parse(s).ok_or_else(|| {
        let names: Vec<&str> = Scenario::ALL.iter().map(|s| s.name()).collect();
        format!("unknown scenario {s:?}; one of {}", names.join(", "))
    })
}

fn parse_rate(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|_| format!("{s:?} is not a number"))?;
    if (0.0..=1.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!("must be between 0 and 1, got {v}"))
    }
}

fn parse_non_negative(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|_| format!("{s:?} is not a number"))?;
    if v.is_finite() && v >= 0.0 {
        Ok(v)
    } else {
        Err(format!("must be a number >= 0, got {v}"))
    }
}

/// Arguments of `director replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// Input: a Touchline recording (its `tracks`) or a trajectory CSV (`t_s,x_m,y_m,z_m`,
    /// pitch metres: the ground truth, turned into tracks through the pitch model).
    #[arg(long, required_unless_present = "scenario")]
    input: Option<PathBuf>,

    /// Instead of --input: a scripted scenario of the synthetic match (passes, lofted, shot,
    /// out_of_play, hidden, still, mixed).
    #[arg(long, value_parser = parse_scenario, conflicts_with = "input")]
    scenario: Option<Scenario>,

    /// Length of the --scenario, seconds.
    #[arg(long, default_value_t = 600.0, value_parser = parse_non_negative)]
    duration_s: f64,

    /// Output directory for path.csv, metrics.json, report.html and path.svg (created).
    #[arg(long, required_unless_present = "publish")]
    out: Option<PathBuf>,

    /// Also run the old prototype's rules and the naive follower on the same input and
    /// report their metrics side by side.
    #[arg(long)]
    baselines: bool,

    /// Trajectory/scenario inputs: probability that a visible ball is not detected.
    #[arg(long, default_value_t = 0.0, value_parser = parse_rate)]
    miss_rate: f64,

    /// Trajectory/scenario inputs: detection noise (standard deviation), metres.
    #[arg(long, default_value_t = 0.0, value_parser = parse_non_negative)]
    noise_m: f64,

    /// Trajectory/scenario inputs: probability per frame of a false ball detection.
    #[arg(long, default_value_t = 0.0, value_parser = parse_rate)]
    false_positive_rate: f64,

    /// Seed of the simulated faults and of the scenario script.
    #[arg(long, default_value_t = 1)]
    seed: u64,

    /// Trajectory/scenario inputs: frame rate of the generated tracks.
    #[arg(long, default_value_t = 25.0)]
    fps: f64,

    /// Trajectory CSV: skip (and count) bad rows instead of stopping at the first.
    #[arg(long)]
    skip_bad_rows: bool,

    /// No progress bar.
    #[arg(long)]
    no_progress: bool,

    /// Publish the tracks into a running system in real time (in place of the analyzer)
    /// instead of replaying offline.
    #[arg(long)]
    publish: bool,

    /// With --publish: replay speed (1 = real time).
    #[arg(long, default_value_t = 1.0, value_parser = parse_non_negative)]
    speed: f64,

    /// With --publish: move frame times onto capture's timeline (its first frame tick or
    /// playout status).
    #[arg(long)]
    rebase: bool,
}

fn load(args: &ReplayArgs, rig: &Rig) -> Result<ReplayInput> {
    let synth = SynthOptions {
        fps: args.fps,
        faults: TrackFaults {
            miss_rate: args.miss_rate,
            noise_m: args.noise_m,
            false_positive_rate: args.false_positive_rate,
            seed: args.seed,
        },
        scene_seed: args.seed,
    };
    let input = match (&args.input, args.scenario) {
        (_, Some(sc)) => scenario_input(sc, args.duration_s, args.seed, rig, &synth)?,
        (Some(path), None) => load_input(path, rig, &synth, args.skip_bad_rows)?,
        (None, None) => bail!("give --input or --scenario"),
    };
    let s = &input.stats;
    tracing::info!(
        message = "Replay input read.",
        kind = %s.kind,
        source = %s.source,
        tracks = s.tracks,
        duration_s = s.duration_s,
        skipped_rows = s.skipped_rows,
        decode_errors = s.decode_errors,
        other_records = s.other_records,
        out_of_order = s.out_of_order,
        damaged_tail = s.damaged_tail.as_deref().unwrap_or("none"),
    );
    Ok(input)
}

/// The replay's progress bar on a terminal (hidden with `--no-progress`), in thousandths.
fn progress_bar(hidden: bool) -> ProgressBar {
    let bar = if hidden {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(1000)
    };
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:40}] {percent}% {elapsed}/{eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message("replaying");
    bar
}

/// Runs `director replay`.
pub fn run(common: &CommonArgs, args: &ReplayArgs, shutdown: Shutdown) -> Result<()> {
    if args.publish {
        return run_publish(common, args, shutdown);
    }
    let cfg = common
        .load_config()
        .context("director replay: configuration")?;
    shared::telemetry::init("director", &cfg.logging, common.log_format);
    let rig = Rig::from_system(&cfg).context("director.calibration")?;
    let out = args.out.clone().context("--out is required")?;
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let started = Instant::now();
    let input = load(args, &rig)?;

    let bar = progress_bar(args.no_progress);
    let run = run_planner(&input, &cfg.director, &rig, |done, total| {
        bar.set_position(done * 1000 / total.max(1));
    });
    bar.finish_and_clear();

    let frames = run.frame_pts();
    let poses = run.poses();
    let ours = evaluate(&input, &rig, &cfg.director, &frames, &poses);
    let base = args.baselines.then(|| {
        let old = baselines::old_prototype(&input.tracks, &rig, &frames);
        let naive = baselines::naive_follower(&input.tracks, &rig, &frames);
        let mo = evaluate(&input, &rig, &cfg.director, &frames, &old);
        let mn = evaluate(&input, &rig, &cfg.director, &frames, &naive);
        (old, naive, mo, mn)
    });
    let ball = ball_reference(&input, &rig, &frames);
    write_path_csv(&out.join("path.csv"), &run.frames, run.step_ns, &ball)?;
    let table = metrics_table(&ours, base.as_ref().map(|b| (&b.2, &b.3)));
    let title = format!("Touchline director replay: {}", input.stats.source);
    write_report(
        &out,
        &ReportData {
            title: &title,
            t: frames.iter().map(|&p| p as f64 / 1e9).collect(),
            ours: poses,
            old_rules: base.as_ref().map(|b| b.0.as_slice()),
            naive: base.as_ref().map(|b| b.1.as_slice()),
            ball: &ball,
            metrics_table: table.clone(),
        },
    )?;
    let wall = started.elapsed().as_secs_f64();
    let speed = input.stats.duration_s / wall.max(1e-9);
    let synthetic = input.truth.is_some() && input.stats.kind != "recording";
    write_metrics_json(
        &out.join("metrics.json"),
        &MetricsFile {
            input: &input.stats,
            faults: synthetic.then_some(TrackFaults {
                miss_rate: args.miss_rate,
                noise_m: args.noise_m,
                false_positive_rate: args.false_positive_rate,
                seed: args.seed,
            }),
            config: &cfg.director,
            planner: &ours,
            baselines: base.as_ref().map(|b| Baselines {
                old_rules: &b.2,
                naive: &b.3,
            }),
            counters: &run.counters,
            window: &run.window,
            modes: mode_shares(&run.frames).to_vec(),
            wall_s: wall,
            speed_factor: speed,
        },
    )?;
    println!("{table}");
    println!(
        "replayed {:.1} s of tracks in {wall:.2} s ({speed:.0}x real time); wrote {}/{{path.csv,metrics.json,report.html,path.svg}}",
        input.stats.duration_s,
        out.display()
    );
    Ok(())
}

fn run_publish(common: &CommonArgs, args: &ReplayArgs, shutdown: Shutdown) -> Result<()> {
    let opts = PublishOptions {
        speed: args.speed.max(0.01),
        rebase: args.rebase,
        rebase_wait: Duration::from_secs(10),
    };
    // Reading the input happens inside the process frame so that logging is set up.
    let args_input = (args.input.clone(), args.scenario);
    let seed = args.seed;
    let faults = TrackFaults {
        miss_rate: args.miss_rate,
        noise_m: args.noise_m,
        false_positive_rate: args.false_positive_rate,
        seed,
    };
    let (fps, duration_s, skip_bad_rows) = (args.fps, args.duration_s, args.skip_bad_rows);
    shared::process::run_process(
        "director",
        common,
        shutdown,
        move |cfg, shutdown| async move {
            let rig = Rig::from_system(&cfg).context("director.calibration")?;
            let synth = SynthOptions {
                fps,
                faults,
                scene_seed: seed,
            };
            let input = match args_input {
                (_, Some(sc)) => scenario_input(sc, duration_s, seed, &rig, &synth)?,
                (Some(path), None) => load_input(&path, &rig, &synth, skip_bad_rows)?,
                (None, None) => bail!("give --input or --scenario"),
            };
            tracing::info!(
                message = "Publishing tracks in place of the analyzer.",
                tracks = input.tracks.len(),
                duration_s = input.stats.duration_s,
                speed = opts.speed
            );
            let s = publish(cfg, input, opts, shutdown).await?;
            tracing::info!(
                message = "Replay publishing finished.",
                published = s.published,
                snapshots = s.snapshots_served,
                stopped_early = s.stopped_early
            );
            Ok(())
        },
    )
}
