//! The network at another side (`capture::detector::resize`, `detector.focus_magnify =
//! false`): the shipped models resized to a 160 px square give, at the square's centre, the
//! output the 640 px model gives on the same pixels; a decode that is not TinyDet's is
//! refused with the reason; a focused frame of the detector looks at the square at panorama
//! scale and finds the ball the full sweep found.

mod synthetic_panorama;

use capture::detector::engine::resolve_model_path;
use capture::detector::tract_engine::TractEngine;
use capture::detector::{Detector, DetectorError, InferenceEngine};
use shared::config::DetectorConfig;
use shared::geometry::Calibration;
use shared::image::Nv12Image;
use std::path::{Path, PathBuf};

const SHIPPED: [&str; 3] = [
    "models/touchline-detector.onnx",
    "models/touchline-detector-real.onnx",
    "models/touchline-detector-real-wide.onnx",
];

fn model(name: &str) -> PathBuf {
    resolve_model_path(name).unwrap()
}

/// A smooth, deterministic `[3, side, side]` image (a plain noise image would be nothing
/// like a tile; anything works for a same-output check).
fn image(side: usize) -> Vec<f32> {
    let mut v = Vec::with_capacity(3 * side * side);
    for c in 0..3 {
        for y in 0..side {
            for x in 0..side {
                let (fx, fy) = (x as f32, y as f32);
                let s = (fx * 0.031 + c as f32).sin() * (fy * 0.047 - c as f32).cos()
                    + ((fx + 2.0 * fy) * 0.11).sin() * 0.3;
                v.push((0.5 + 0.4 * s).clamp(0.0, 1.0));
            }
        }
    }
    v
}

fn crop(img: &[f32], side: usize, at: usize, size: usize) -> Vec<f32> {
    let mut v = Vec::with_capacity(3 * size * size);
    for c in 0..3 {
        for y in at..at + size {
            let row = c * side * side + y * side;
            v.extend_from_slice(&img[row + at..row + at + size]);
        }
    }
    v
}

#[test]
fn the_shipped_models_at_160_px_see_the_centre_of_a_tile_as_at_640() {
    let (big, small, at) = (640usize, 160usize, 240usize);
    let img = image(big);
    let part = crop(&img, big, at, small);
    for name in SHIPPED {
        let path = model(name);
        let mut full = TractEngine::load(&path, 3, 640, 1).unwrap();
        let mut sq = TractEngine::load_at_side(&path, 3, small as u32, 1, 0).unwrap();
        assert_eq!((sq.info().in_w, sq.info().in_h), (160, 160));
        let a = full.infer(&img, 1).unwrap();
        let b = sq.infer(&part, 1).unwrap();
        assert_eq!(a.channels, 7);
        assert_eq!(b.anchors, 40 * 40 + 20 * 20 + 10 * 10, "{name}");
        // The cells around the square's centre in each head (strides 4, 8, 16).
        let (mut off_a, mut off_b, mut compared) = (0, 0, 0);
        let mut worst = 0f32;
        for stride in [4usize, 8, 16] {
            let (ka, kb) = (big / stride, small / stride);
            for dy in [-1i64, 0, 1] {
                for dx in [-1i64, 0, 1] {
                    let (cy, cx) = ((kb as i64 / 2 + dy) as usize, (kb as i64 / 2 + dx) as usize);
                    let ib = off_b + cy * kb + cx;
                    let ia = off_a + (cy + at / stride) * ka + (cx + at / stride);
                    for ch in 0..7 {
                        let va = a.data[ch * a.anchors + ia];
                        let shift = if ch < 2 { at as f32 } else { 0.0 };
                        let vb = b.data[ch * b.anchors + ib] + shift;
                        worst = worst.max((va - vb).abs() / va.abs().max(1.0));
                        assert!(
                            (va - vb).abs() <= 1e-3 * va.abs().max(1.0),
                            "{name}, stride {stride}, cell ({cx}, {cy}), channel {ch}: {va} at 640, {vb} at 160"
                        );
                        compared += 1;
                    }
                }
            }
            off_a += ka * ka;
            off_b += kb * kb;
        }
        assert_eq!(compared, 3 * 9 * 7);
        eprintln!("{name}: largest relative difference {worst:.2e}");
    }
}

#[test]
fn a_side_the_heads_cannot_take_or_a_decode_that_is_not_tinydet_is_refused() {
    let path = model(SHIPPED[0]);
    let e = TractEngine::load_at_side(&path, 3, 168, 1, 0)
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("touchline-detector.onnx") && e.contains("168") && e.contains("multiple of 16"),
        "{e}"
    );
    // An Ultralytics export holds its anchors in one constant: not resized, and said why.
    let yolo = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/yolo11n.onnx");
    let e = TractEngine::load_at_side(&yolo, 3, 160, 1, 0)
        .err()
        .unwrap();
    assert!(matches!(e, DetectorError::ModelLoad { .. }), "{e}");
    let e = e.to_string();
    assert!(
        e.contains("yolo11n.onnx") && e.contains("160 px squares") && e.contains("TinyDet"),
        "{e}"
    );
}

fn panorama(seed: u64, skip: usize) -> (Calibration, Nv12Image) {
    synthetic_panorama::stitched(seed, skip)
}

#[test]
fn a_focused_frame_looks_at_the_square_at_panorama_scale_and_finds_the_same_ball() {
    let cfg = DetectorConfig {
        focus_full_every: 100,
        focus_tile_size: 160,
        focus_magnify: false,
        ..Default::default()
    };
    let mut seen = 0;
    for seed in 1..=6 {
        let (cal, pano) = panorama(seed, 50 * seed as usize);
        let mut d = Detector::from_config(&cfg, &cal).unwrap();
        let n = d.tiling().tiles.len();
        assert_eq!(d.plan_tiles(0).len(), n, "no sighting yet: every tile");
        d.prepare(&pano.as_ref()).unwrap();
        let swept = d.infer().unwrap();
        d.observe(0, &swept);
        let Some(ball) = swept.iter().find(|b| b.class_id == 0).cloned() else {
            eprintln!(
                "seed {seed}: no ball in the full sweep ({} detections)",
                swept.len()
            );
            continue;
        };
        seen += 1;
        // The same panorama again: one 160 px square around the ball, past the grid.
        assert_eq!(d.plan_tiles(40_000_000), vec![n]);
        d.prepare_tiles(&pano.as_ref(), &[n]).unwrap();
        let found = d.infer().unwrap();
        let region = d
            .message(found.clone(), 40_000_000, 1, std::time::Instant::now())
            .region
            .unwrap();
        assert_eq!((region[2], region[3]), (160, 160));
        let again = found
            .iter()
            .find(|b| b.class_id == 0)
            .unwrap_or_else(|| panic!("seed {seed}: the ball at {ball:?} not found in {region:?}"));
        // Not to the last digit: the sweep's tile may have held the ball near its edge.
        assert!(
            (again.cx - ball.cx).abs() < 1.0 && (again.cy - ball.cy).abs() < 1.0,
            "seed {seed}: {again:?} against {ball:?}"
        );
        assert!(
            (again.score - ball.score).abs() < 0.1,
            "seed {seed}: {again:?} against {ball:?}"
        );
    }
    assert!(
        seen >= 3,
        "the full sweep found the ball in {seen} of 6 panoramas"
    );
}

#[test]
fn the_example_configuration_loads_the_square_engine_with_the_shipped_model() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/demo.toml");
    let cfg = shared::config::SystemConfig::load(&path).unwrap();
    let d = &cfg.detector;
    assert!(!d.focus_magnify && d.focus_tile_size == 160 && d.focus_misses > 0);
    let cal = Calibration::synthetic(1920, 960, 540);
    let (_, pano) = panorama(1, 50);
    let mut det = Detector::from_config(d, &cal).unwrap();
    let n = det.tiling().tiles.len();
    assert_eq!(
        det.plan_tiles(0).len(),
        n,
        "the first frame is a full sweep"
    );
    det.prepare(&pano.as_ref()).unwrap();
    let swept = det.infer().unwrap();
    assert!(det.ball_found(&swept), "{swept:?}");
    det.observe(0, &swept);
    // Then the 160 px square, at panorama scale, which finds the ball again.
    for k in 1..4u64 {
        assert_eq!(det.plan_tiles(k * 40_000_000), vec![n], "frame {k}");
        det.prepare_tiles(&pano.as_ref(), &[n]).unwrap();
        let found = det.infer().unwrap();
        assert!(det.ball_found(&found), "frame {k}: {found:?}");
        assert_eq!(
            det.analysed_region().map(|r| (r[2], r[3])),
            Some((160, 160))
        );
        det.observe(k * 40_000_000, &found);
    }
}
