//! Detector speed: tiles per second and milliseconds per analysed frame (tile preparation +
//! inference + decoding) at the demo size (1920x640, 640 px tiles) and at 5700x1900 with
//! 1024 px tiles, tract and ONNX Runtime on the same model, side by side. Prints a table.
//!
//! Run: `cargo bench -p touchline-capture --features ort --bench detector`
//! (ONNX Runtime from ORT_DYLIB_PATH, else the PyPI `onnxruntime` package found through
//! python3; without `--features ort` or a library only tract is measured).
//! Environment: DETECTOR_BENCH_FRAMES (default 8), DETECTOR_BENCH_THREADS (default 2),
//! DETECTOR_BENCH_MODEL (default: the shipped model).

use capture::detector::Detector;
use capture::stitch::{CpuStitcher, GainSettings};
use capture::synthetic::{Exposure, SyntheticWorld};
use shared::config::DetectorConfig;
use shared::geometry::{Calibration, StitchLut};
use shared::image::Nv12Image;
use shared::scene::{BallScript, BallSource, Scenario};
use shared::time::FrameRate;
use std::time::Instant;

fn env_or<T: std::str::FromStr>(key: &str, default: T) -> T {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn panorama(pw: u32) -> (Calibration, Nv12Image) {
    let cw = pw / 2 / 4 * 4;
    let ch = (cw * 9 / 16) & !1;
    let cal = Calibration::synthetic(pw, cw, ch);
    let script = BallScript::generate(Scenario::Mixed, 10.0, 1, &cal.pitch);
    let mut world = SyntheticWorld::new(
        &cal,
        BallSource::Script(script),
        1,
        FrameRate::new(25, 1),
        [Exposure {
            gain: 1.0,
            noise: 2.0,
        }; 2],
    );
    let (cw, ch) = (cw as usize, ch as usize);
    let mut l = Nv12Image::new(cw, ch);
    let mut r = Nv12Image::new(cw, ch);
    world.render_next(&mut l.as_mut(), &mut r.as_mut());
    let lut = StitchLut::compute(&cal);
    let mut st = CpuStitcher::new(&lut, [(cw, ch); 2], GainSettings::default());
    let mut pano = Nv12Image::new(cal.panorama.width as usize, cal.panorama.height as usize);
    st.stitch([Some(&l.as_ref()), Some(&r.as_ref())], &mut pano.as_mut())
        .unwrap();
    (cal, pano)
}

#[cfg(feature = "ort")]
fn ort_library() -> Option<String> {
    if let Ok(p) = std::env::var("ORT_DYLIB_PATH") {
        return Some(p);
    }
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import onnxruntime, os, glob; print(glob.glob(os.path.join(os.path.dirname(onnxruntime.__file__), 'capi', 'libonnxruntime.so*'))[0])",
        ])
        .output()
        .ok()?;
    let s = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (!s.is_empty()).then_some(s)
}

/// The same settings on ONNX Runtime (CPU provider), when it can be measured.
#[cfg(feature = "ort")]
fn ort_config(base: &DetectorConfig) -> Option<DetectorConfig> {
    match ort_library() {
        Some(lib) => Some(DetectorConfig {
            engine: "ort".into(),
            ort_library: lib,
            ort_providers: vec!["cpu".into()],
            ..base.clone()
        }),
        None => {
            eprintln!("ort: not measured: no ONNX Runtime library found");
            None
        }
    }
}

#[cfg(not(feature = "ort"))]
fn ort_config(_: &DetectorConfig) -> Option<DetectorConfig> {
    eprintln!("ort: not measured: built without `--features ort`");
    None
}

struct Row {
    size: String,
    tile: u32,
    tiles: usize,
    engine: String,
    prepare_ms: f64,
    infer_ms: f64,
    frame_ms: f64,
}

fn measure(
    cfg: &DetectorConfig,
    cal: &Calibration,
    pano: &Nv12Image,
    frames: usize,
) -> Option<Row> {
    let mut d = match Detector::from_config(cfg, cal) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("{}: not measured: {e}", cfg.engine);
            return None;
        }
    };
    // Warm-up.
    d.detect(&pano.as_ref(), 0, 0).ok()?;
    let (mut prep, mut inf) = (0.0, 0.0);
    for i in 0..frames {
        let t = Instant::now();
        d.prepare(&pano.as_ref()).ok()?;
        let t1 = Instant::now();
        let dets = d.infer().ok()?;
        let t2 = Instant::now();
        std::hint::black_box((i, dets));
        prep += (t1 - t).as_secs_f64() * 1e3;
        inf += (t2 - t1).as_secs_f64() * 1e3;
    }
    let n = frames as f64;
    Some(Row {
        size: format!("{}x{}", cal.panorama.width, cal.panorama.height),
        tile: cfg.tile_size,
        tiles: d.tiling().tiles.len(),
        engine: d.engine().name().to_string(),
        prepare_ms: prep / n,
        infer_ms: inf / n,
        frame_ms: (prep + inf) / n,
    })
}

fn main() {
    // `cargo bench` passes `--bench`; nothing to parse.
    let frames: usize = env_or("DETECTOR_BENCH_FRAMES", 8);
    let threads: u32 = env_or("DETECTOR_BENCH_THREADS", 2);
    let model: String = env_or("DETECTOR_BENCH_MODEL", String::new());
    let mut rows = Vec::new();
    for (pw, tile) in [(1920u32, 640u32), (5700, 1024)] {
        let (cal, pano) = panorama(pw);
        let base = DetectorConfig {
            model: model.clone(),
            tile_size: tile,
            threads,
            ..Default::default()
        };
        let engines: Vec<DetectorConfig> = std::iter::once(base.clone())
            .chain(ort_config(&base))
            .collect();
        for cfg in &engines {
            if let Some(r) = measure(cfg, &cal, &pano, frames) {
                eprintln!("{} {} done", r.size, r.engine);
                rows.push(r);
            }
        }
    }
    println!();
    println!("Detector, {frames} frames each, {threads} threads, model input 640x640, all tiles of a frame in one batch");
    println!();
    println!("| panorama | tile | tiles | engine | prepare ms | inference + decode ms | ms / frame | tiles / s | frames / s |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for r in &rows {
        println!(
            "| {} | {} | {} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.2} |",
            r.size,
            r.tile,
            r.tiles,
            r.engine,
            r.prepare_ms,
            r.infer_ms,
            r.frame_ms,
            r.tiles as f64 * 1e3 / r.frame_ms,
            1e3 / r.frame_ms
        );
    }
}
