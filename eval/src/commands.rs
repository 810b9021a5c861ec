//! `touchline-eval dataset` (training tiles with labels from the synthetic pitch) and
//! `touchline-eval detector-eval` (detector quality on held-out synthetic frames, or with
//! `--images` on a folder of labelled real images).

use anyhow::{Context, Result};
use capture::detector::engine::resolve_model_path;
use capture::detector::tract_engine::TractEngine;
use capture::detector::{load_engine, InferenceEngine};
use eval::dataset::{export, ExportSpec};
use eval::render_eval::{evaluate, EvalSpec};
use shared::config::SystemConfig;
use shared::shutdown::Shutdown;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct DatasetArgs {
    /// Output folder (images/, labels/, ignore/, tiles.jsonl, dataset.json).
    #[arg(long)]
    out: PathBuf,
    /// Tiles to write.
    #[arg(long, default_value_t = 4000)]
    tiles: usize,
    /// Seed of the scenes (use different seeds for training, validation and evaluation).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Tile side in model input pixels (the model trains on these crops and runs on larger
    /// inputs at the same scale).
    #[arg(long, default_value_t = 320)]
    size: u32,
    /// JPEG quality (1-100).
    #[arg(long, default_value_t = 75)]
    quality: u8,
    /// Panorama widths the scenes are drawn from (multiples of 6, comma separated).
    #[arg(long, value_delimiter = ',', default_value = "1920,2880,3840,5700")]
    widths: Vec<u32>,
    /// Frames sampled from each scene.
    #[arg(long, default_value_t = 40)]
    frames_per_scene: usize,
    /// Range of model-input pixels per panorama pixel, `lo,hi` (the run-time scale is the
    /// model input side over `detector.tile_size`: 1.0 for 640 px tiles, 0.625 for 1024).
    #[arg(long, value_delimiter = ',', num_args = 1..=2, default_value = "0.5,1.3")]
    scale: Vec<f64>,
    /// Probability that a tile is placed around the visible ball (otherwise a tile of the
    /// run-time grid: players, grass, lines, stands).
    #[arg(long, default_value_t = 0.6)]
    ball_tile_chance: f64,
    /// Tiles cut from each sampled frame.
    #[arg(long, default_value_t = 4)]
    tiles_per_frame: usize,
}

#[derive(Debug, clap::Args)]
pub struct EvalArgs {
    /// Frames to analyse.
    #[arg(long, default_value_t = 300)]
    frames: usize,
    /// Seed of the scenes (not one a training or validation set was made from).
    #[arg(long, default_value_t = 90_001)]
    seed: u64,
    /// Panorama width (default: capture.panorama_width).
    #[arg(long)]
    width: Option<u32>,
    /// Tile side (default: detector.tile_size).
    #[arg(long)]
    tile_size: Option<u32>,
    /// Model file (default: detector.model).
    #[arg(long)]
    model: Option<String>,
    /// Run the model resized to take SIDE x SIDE images (tract), as the focus square at
    /// panorama scale does (`detector.focus_magnify = false`); with `--tile-size SIDE` this
    /// measures what that square sees. Synthetic scenes only.
    #[arg(long, value_name = "SIDE")]
    model_side: Option<u32>,
    /// Engine, tract or ort (default: detector.engine).
    #[arg(long)]
    engine: Option<String>,
    /// Ball threshold to report at (default: the ball's entry in detector.thresholds).
    #[arg(long)]
    threshold: Option<f32>,
    /// Also write the report (JSON) here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Evaluate on labelled images instead of synthetic scenes: DIR/images/*.jpg|png with
    /// YOLO txt labels in DIR/labels/ (class cx cy w h, normalised).
    #[arg(long, value_name = "DIR")]
    images: Option<PathBuf>,
    /// With --images: resize every image to WxH first (sets stretched from 16:9, e.g.
    /// 1920x1080).
    #[arg(long, value_name = "WxH", value_parser = parse_size)]
    resize: Option<(u32, u32)>,
    /// With --images: then scale by this (the size the scene has in the panorama).
    #[arg(long, default_value_t = 1.0)]
    scale: f64,
    /// With --images: the model class of each label id, in label id order (`-`: not
    /// evaluated). The default fits the DFL sets: ball, goalkeeper, player, referee.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "ball,player,player,referee"
    )]
    label_classes: Vec<String>,
    /// With --images: only images whose name starts with one of these (e.g. match ids).
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// With --images: at most this many images (0: all).
    #[arg(long, default_value_t = 0)]
    limit: usize,
    /// With --images: where detections count. `whole`: the whole picture; `grass`: only
    /// detections whose ground point (ball centre, a person's feet) is on the grass found in
    /// the picture, as the calibrated field mask keeps live analysis on the pitch.
    #[arg(long, value_enum, default_value_t = FieldArg::Whole)]
    field: FieldArg,
    /// With --images: also write each image's counted detections (and field polygon) to this
    /// file, one JSON object a line, to look at what was found.
    #[arg(long)]
    detections_out: Option<PathBuf>,
}

/// `--field` values.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum FieldArg {
    /// The whole picture (stands, boards and staff included).
    Whole,
    /// The grass found in each picture.
    Grass,
}

fn parse_size(s: &str) -> Result<(u32, u32), String> {
    let (w, h) = s
        .split_once(['x', 'X'])
        .ok_or_else(|| format!("{s:?}: expected WxH, e.g. 1920x1080"))?;
    let n = |v: &str| {
        v.trim()
            .parse::<u32>()
            .ok()
            .filter(|n| (2..=16384).contains(n))
            .ok_or_else(|| format!("{s:?}: sides must be 2-16384"))
    };
    Ok((n(w)?, n(h)?))
}

pub async fn run(_cfg: SystemConfig, _shutdown: Shutdown, a: DatasetArgs) -> Result<()> {
    anyhow::ensure!((1..=100).contains(&a.quality), "--quality must be 1-100");
    anyhow::ensure!(
        a.widths.iter().all(|w| w % 6 == 0 && *w >= 96),
        "--widths must be multiples of 6 (>= 96)"
    );
    let mut spec = ExportSpec::new(a.out.clone(), a.tiles, a.seed);
    spec.input_size = a.size;
    spec.quality = a.quality;
    spec.frames_per_scene = a.frames_per_scene.max(1);
    spec.variety.widths = a.widths.clone();
    anyhow::ensure!(
        a.scale.iter().all(|s| (0.05..=8.0).contains(s)),
        "--scale must be within 0.05-8"
    );
    spec.scale = (a.scale[0], *a.scale.last().unwrap_or(&a.scale[0]));
    anyhow::ensure!(
        spec.scale.0 <= spec.scale.1,
        "--scale: lo must not exceed hi"
    );
    anyhow::ensure!(
        (0.0..=1.0).contains(&a.ball_tile_chance),
        "--ball-tile-chance must be within 0-1"
    );
    spec.ball_tile_chance = a.ball_tile_chance;
    spec.tiles_per_frame = a.tiles_per_frame.max(1);
    let summary = tokio::task::spawn_blocking(move || {
        let bar = indicatif::ProgressBar::new_spinner();
        let r = export(&spec, &mut |s| {
            bar.set_message(format!(
                "dataset: {} tiles, {} frames, {} scenes, {:.1} MB",
                s.tiles,
                s.frames,
                s.scenes,
                s.bytes as f64 / 1e6
            ));
            bar.tick();
        });
        bar.finish_and_clear();
        r
    })
    .await?
    .with_context(|| format!("writing the dataset to {}", a.out.display()))?;
    tracing::info!(message = "Dataset written.", out = %a.out.display(), summary = ?summary);
    eprintln!(
        "dataset: {} tiles ({} balls, {} people, {} ignored boxes, {} blurred balls) from {} frames of {} scenes, {:.1} MB, in {}",
        summary.tiles,
        summary.balls,
        summary.people,
        summary.ignored,
        summary.blurred,
        summary.frames,
        summary.scenes,
        summary.bytes as f64 / 1e6,
        a.out.display()
    );
    Ok(())
}

pub async fn run_eval(cfg: SystemConfig, _shutdown: Shutdown, a: EvalArgs) -> Result<()> {
    let mut dc = cfg.detector.clone();
    if let Some(m) = a.model.clone() {
        dc.model = m;
    }
    if let Some(e) = a.engine.clone() {
        dc.engine = e;
    }
    if let Some(t) = a.tile_size {
        dc.tile_size = t;
    }
    if let Some(t) = a.threshold {
        anyhow::ensure!((0.0..=1.0).contains(&t), "--threshold must be within 0-1");
        let ball = dc
            .classes
            .iter()
            .position(|c| c == "ball")
            .context("detector.classes has no \"ball\" class")?;
        let mut all: Vec<f32> = (0..dc.classes.len()).map(|i| dc.threshold(i)).collect();
        all[ball] = t;
        dc.thresholds = all;
    }
    dc.validate().context("detector settings")?;
    if let Some(dir) = a.images.clone() {
        anyhow::ensure!(
            a.model_side.is_none(),
            "--model-side works on the synthetic scenes only; leave out --images"
        );
        let spec = image_spec(&dc, dir, &a, cfg.analyzer.nms_iou)?;
        return run_image_eval(dc, spec, a.json.clone()).await;
    }
    let width = a.width.unwrap_or(cfg.capture.panorama_width);
    anyhow::ensure!(width.is_multiple_of(6), "--width must be a multiple of 6");
    let spec = EvalSpec::new(a.frames, a.seed, width);
    let report = tokio::task::spawn_blocking(move || -> Result<_> {
        let engine: Box<dyn InferenceEngine> = match a.model_side {
            Some(side) => Box::new(
                TractEngine::load_at_side(
                    &resolve_model_path(&dc.model)?,
                    dc.classes.len(),
                    side,
                    dc.threads as usize,
                    0,
                )
                .context("loading the detector at --model-side")?,
            ),
            None => load_engine(&dc).context("loading the detector")?,
        };
        let bar = frames_bar(spec.frames as u64, "frames");
        let r = evaluate(&dc, &spec, engine, &mut |n| bar.set_position(n as u64))?;
        bar.finish_and_clear();
        Ok(r)
    })
    .await??;
    let text = serde_json::to_string_pretty(&report)?;
    println!("{text}");
    if let Some(p) = a.json {
        std::fs::write(&p, &text).with_context(|| format!("writing {}", p.display()))?;
    }
    eprintln!(
        "detector-eval: {} frames {}x{}, {} tiles of {}: ball recall {:.3} precision {:.3} at {:.2} (visible balls {}, {} more on a painted spot not counted, mean diameter {:.1} px), localisation error mean {:.2} px, p95 {:.2} px; player recall {:.3}; {:.0} ms per frame ({})",
        report.frames,
        report.panorama[0],
        report.panorama[1],
        report.tiles,
        report.tile_size,
        report.ball_recall,
        report.ball_precision,
        report.ball_threshold,
        report.balls_visible,
        report.balls_on_spot,
        report.ball_diameter_mean_px,
        report.loc_err_mean_px,
        report.loc_err_p95_px,
        report.player_recall,
        report.mean_frame_ms,
        report.engine
    );
    Ok(())
}

/// What `detector-eval --images` evaluates on, from the arguments.
fn image_spec(
    dc: &shared::config::DetectorConfig,
    dir: PathBuf,
    a: &EvalArgs,
    nms_iou: f32,
) -> Result<eval::image_eval::ImageEvalSpec> {
    anyhow::ensure!(
        (0.05..=8.0).contains(&a.scale),
        "--scale must be within 0.05-8"
    );
    let label_classes = a
        .label_classes
        .iter()
        .map(|name| match name.trim() {
            "-" => Ok(None),
            n => dc
                .classes
                .iter()
                .position(|c| c == n)
                .map(|i| Some(i as u16))
                .with_context(|| {
                    format!(
                        "--label-classes: {n:?} is not one of detector.classes {:?} (or `-`)",
                        dc.classes
                    )
                }),
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(eval::image_eval::ImageEvalSpec {
        dir,
        resize: a.resize,
        scale: a.scale,
        label_classes,
        only: a.only.clone(),
        limit: a.limit,
        field: match a.field {
            FieldArg::Whole => eval::image_eval::Field::Whole,
            FieldArg::Grass => eval::image_eval::Field::Grass,
        },
        detections_out: a.detections_out.clone(),
        people_nms_iou: Some(nms_iou),
    })
}

/// `detector-eval --images`: the configured detector on labelled images.
async fn run_image_eval(
    dc: shared::config::DetectorConfig,
    spec: eval::image_eval::ImageEvalSpec,
    json: Option<PathBuf>,
) -> Result<()> {
    use eval::image_eval::evaluate_images;
    let report = tokio::task::spawn_blocking(move || -> Result<_> {
        let bar = frames_bar(0, "images");
        let r = evaluate_images(&dc, &spec, &mut |n, of| {
            bar.set_length(of as u64);
            bar.set_position(n as u64);
        })
        .with_context(|| format!("evaluating on {}", spec.dir.display()))?;
        bar.finish_and_clear();
        Ok(r)
    })
    .await??;
    let text = serde_json::to_string_pretty(&report)?;
    println!("{text}");
    if let Some(p) = json {
        std::fs::write(&p, &text).with_context(|| format!("writing {}", p.display()))?;
    }
    let by_size: Vec<String> = report
        .ball_recall_by_size
        .iter()
        .map(|b| format!("{} px {}/{}", b.size_px, b.found, b.balls))
        .collect();
    eprintln!(
        "detector-eval: {} images {}x{} (field: {}), {:.1} tiles of {}: ball recall {:.3} precision {:.3} at {:.2} ({} balls, median {:.1} px; {}), localisation error mean {:.2} px; {}; {:.0} ms per image ({})",
        report.images,
        report.image_size[0],
        report.image_size[1],
        report.field,
        report.tiles_per_image,
        report.tile_size,
        report.ball_recall,
        report.ball_precision,
        report.ball_threshold,
        report.balls,
        report.ball_size_median_px,
        by_size.join(", "),
        report.loc_err_mean_px,
        report
            .people
            .iter()
            .map(|p| format!("{} recall {:.3} precision {:.3}", p.class, p.recall, p.precision))
            .collect::<Vec<_>>()
            .join(", "),
        report.mean_image_ms,
        report.engine
    );
    Ok(())
}

/// A progress bar for `detector-eval` on a terminal (hidden elsewhere).
fn frames_bar(len: u64, what: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(len);
    bar.set_style(
        indicatif::ProgressStyle::with_template(&format!(
            "detector-eval [{{bar:40}}] {{pos}}/{{len}} {what} {{elapsed}}/{{eta}}"
        ))
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar
}
