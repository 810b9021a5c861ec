//! The detector engines side by side on the same frames at production size (5700x1900
//! panorama, the shipped model's 1024 px tiles): tract on the CPU's cores, the `cuda` engine
//! on tiles uploaded from the host (batched, and one tile at a time), and the `cuda` engine on
//! tiles prepared in GPU memory (the capture path of the `cuda` backend). Prints one JSON
//! object: milliseconds per frame and per tile, the largest difference of the GPU engine's
//! raw output from tract's on identical tiles, and how the detections of the GPU path match
//! the CPU path's. `--tiles-out` writes the first frame's prepared tiles (raw f32,
//! `[tiles, 3, 640, 640]`) for `bench/gpu/engines/ort_cpu.py`, so ONNX Runtime runs on them too.

use crate::rig;
use anyhow::{Context, Result};
use capture::detector::cuda_engine::CudaEngine;
use capture::detector::{Detector, InferenceEngine, ModelOutput};
use shared::config::DetectorConfig;
use shared::gpu::Gpu;
use shared::image::Nv12Image;
use shared::messages::Detection;
use std::path::PathBuf;
use std::time::Instant;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Frames (consecutive synthetic panoramas) to compare and time.
    #[arg(long, default_value_t = 4)]
    pub frames: usize,
    /// Timed repetitions per frame and engine (the median is reported).
    #[arg(long, default_value_t = 5)]
    pub reps: usize,
    /// CPU threads for tract (0: every core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Folder for the cached stitch tables.
    #[arg(long, default_value = "/tmp/touchline-tables")]
    pub cache: PathBuf,
    /// Write the first frame's prepared tiles here (raw little-endian f32).
    #[arg(long)]
    pub tiles_out: Option<PathBuf>,
}

fn median(mut v: Vec<f64>) -> f64 {
    shared::stats::median(&mut v)
}

/// Median milliseconds of `f` over `reps` runs after one warm-up run.
fn time_ms(reps: usize, mut f: impl FnMut() -> Result<()>) -> Result<f64> {
    f()?;
    let mut t = Vec::with_capacity(reps);
    for _ in 0..reps {
        let s = Instant::now();
        f()?;
        t.push(s.elapsed().as_secs_f64() * 1e3);
    }
    Ok(median(t))
}

/// Largest absolute difference of box values and of class scores between two outputs.
fn output_diff(a: &ModelOutput, b: &ModelOutput) -> (f32, f32) {
    let (mut boxes, mut scores) = (0f32, 0f32);
    for (i, (x, y)) in a.data.iter().zip(&b.data).enumerate() {
        let channel = (i / a.anchors) % a.channels;
        let d = (x - y).abs();
        if channel < 4 {
            boxes = boxes.max(d);
        } else {
            scores = scores.max(d);
        }
    }
    (boxes, scores)
}

/// Detections of `a` with a partner in `b` (same class, centre within 1 px, score within
/// 0.03); the largest centre and score differences among those.
fn match_detections(a: &[Detection], b: &[Detection]) -> (usize, f32, f32) {
    let (mut n, mut px, mut sc) = (0, 0f32, 0f32);
    for d in a {
        let best = b
            .iter()
            .filter(|e| e.class_id == d.class_id)
            .map(|e| ((e.cx - d.cx).abs().max((e.cy - d.cy).abs()), e))
            .min_by(|x, y| x.0.total_cmp(&y.0));
        if let Some((dist, e)) = best {
            if dist <= 1.0 && (e.score - d.score).abs() <= 0.03 {
                n += 1;
                px = px.max(dist);
                sc = sc.max((e.score - d.score).abs());
            }
        }
    }
    (n, px, sc)
}

pub fn run(a: Args) -> Result<()> {
    let gpu = Gpu::open(0)?;
    std::fs::create_dir_all(&a.cache)?;
    let cal = rig::calibration();
    let mut stitcher = rig::stitcher(&cal, &a.cache)?;
    let threads = if a.threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        a.threads
    };
    let cfg = DetectorConfig {
        enabled: true,
        tile_size: 1024,
        thresholds: vec![0.75, 0.4, 0.4],
        threads: threads as u32,
        nice: 0,
        ..Default::default()
    };
    let (pw, ph) = (cal.panorama.width as usize, cal.panorama.height as usize);
    let panoramas: Vec<Nv12Image> = rig::camera_pairs(&cal, a.frames)
        .iter()
        .map(|[l, r]| -> Result<Nv12Image> {
            let mut p = Nv12Image::new(pw, ph);
            stitcher.stitch([Some(&l.as_ref()), Some(&r.as_ref())], &mut p.as_mut())?;
            Ok(p)
        })
        .collect::<Result<_>>()?;

    let mut cpu = Detector::from_config(&cfg, &cal).context("tract detector")?;
    let gcfg = DetectorConfig {
        engine: "cuda".into(),
        ..cfg.clone()
    };
    let mut gpu_host = Detector::from_config(&gcfg, &cal).context("cuda detector")?;
    let mut gpu_dev = Detector::from_config(&gcfg, &cal).context("cuda detector")?;
    gpu_dev.use_gpu(gpu.clone())?;
    let tiles = cpu.tiling().tiles.len();
    let info = cpu.engine().info().clone();
    let mut single = CudaEngine::load(&info.path, info.classes, info.in_w)?;
    single.prepare_batch(1)?;
    let dev_pano = gpu.alloc(panoramas[0].data.len())?;
    let mut tract = capture::detector::tract_engine::TractEngine::load(
        &info.path,
        info.classes,
        info.in_w,
        threads,
    )?;
    let mut cuda = CudaEngine::load(&info.path, info.classes, info.in_w)?;
    cuda.prepare_batch(tiles)?;
    let mut bytes_per_frame = 0;

    let (mut t_cpu, mut t_host, mut t_dev, mut t_single) = (vec![], vec![], vec![], vec![]);
    let (mut max_box, mut max_score) = (0f32, 0f32);
    let (mut n_cpu, mut n_dev, mut matched_cpu, mut matched_dev) = (0, 0, 0, 0);
    let (mut max_px, mut max_sc) = (0f32, 0f32);
    for (f, pano) in panoramas.iter().enumerate() {
        // Identical host tiles through both engines: the engines' own difference.
        cpu.prepare(&pano.as_ref())?;
        let per = 3 * (info.in_w * info.in_h) as usize;
        let input: Vec<f32> = (0..tiles).flat_map(|i| cpu.input_of(i).to_vec()).collect();
        if f == 0 {
            if let Some(path) = &a.tiles_out {
                let bytes: Vec<u8> = input.iter().flat_map(|v| v.to_le_bytes()).collect();
                std::fs::write(path, bytes).with_context(|| path.display().to_string())?;
            }
        }
        let out_cpu = tract.infer(&input, tiles)?;
        let out_gpu = cuda.infer(&input, tiles)?;
        let (b, s) = output_diff(&out_cpu, &out_gpu);
        (max_box, max_score) = (max_box.max(b), max_score.max(s));
        t_single.push(time_ms(a.reps, || {
            for i in 0..tiles {
                single.infer(&input[i * per..(i + 1) * per], 1)?;
            }
            Ok(())
        })?);

        // Whole frames: detections of the CPU path and of the GPU path.
        let want = cpu.detect(&pano.as_ref(), 0, f as u64)?.detections;
        gpu.upload_nv12(&pano.as_ref(), &dev_pano.nv12(pw, ph))?;
        let before = gpu_dev.engine().transfers().dtoh_bytes;
        gpu_dev.prepare_device(&dev_pano.nv12(pw, ph))?;
        let got = gpu_dev.infer()?;
        bytes_per_frame = gpu_dev.engine().transfers().dtoh_bytes - before;
        let (m1, p1, s1) = match_detections(&want, &got);
        let (m2, p2, s2) = match_detections(&got, &want);
        (n_cpu, n_dev) = (n_cpu + want.len(), n_dev + got.len());
        (matched_cpu, matched_dev) = (matched_cpu + m1, matched_dev + m2);
        (max_px, max_sc) = (max_px.max(p1.max(p2)), max_sc.max(s1.max(s2)));

        t_cpu.push(time_ms(a.reps.min(2), || {
            cpu.detect(&pano.as_ref(), 0, 0)?;
            Ok(())
        })?);
        t_host.push(time_ms(a.reps, || {
            gpu_host.detect(&pano.as_ref(), 0, 0)?;
            Ok(())
        })?);
        t_dev.push(time_ms(a.reps, || {
            gpu_dev.prepare_device(&dev_pano.nv12(pw, ph))?;
            gpu_dev.infer()?;
            Ok(())
        })?);
        eprintln!(
            "frame {f}: tract {} detections, cuda (device tiles) {}",
            want.len(),
            got.len()
        );
    }
    let per_frame = |name: &str, v: Vec<f64>| {
        let m = median(v);
        serde_json::json!({"engine": name, "ms_per_frame": m, "ms_per_tile": m / tiles as f64})
    };
    let report = serde_json::json!({
        "device": gpu.name(),
        "panorama": [pw, ph],
        "tiles_per_frame": tiles,
        "tile_px": cfg.tile_size,
        "model_input": [info.in_w, info.in_h],
        "frames": a.frames,
        "note": "per frame: tile preparation + inference + decoding; tract and cuda-host prepare on the CPU, cuda-device on the GPU; cuda-single-tile is the engine alone at batch 1",
        "results": [
            per_frame(&format!("tract-cpu-{threads}t"), t_cpu),
            per_frame("cuda-host-tiles-batched", t_host),
            per_frame("cuda-single-tile-batch1", t_single),
            per_frame("cuda-device-tiles-batched", t_dev),
        ],
        "raw_output_identical_tiles": {"max_box_diff_px": max_box, "max_score_diff": max_score},
        "detections": {
            "cpu_path": n_cpu, "gpu_path": n_dev,
            "cpu_matched_on_gpu": matched_cpu, "gpu_matched_on_cpu": matched_dev,
            "max_centre_diff_px": max_px, "max_score_diff": max_sc,
            "rule": "same class, centre within 1 px, score within 0.03"
        },
        "engine_output_bytes_read_back_per_frame": bytes_per_frame,
    });
    println!("{report}");
    Ok(())
}
