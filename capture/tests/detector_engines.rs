//! The engines: start-up checks of the model file (missing, wrong input or output shape, not
//! ONNX) give clear errors; tract and ONNX Runtime give the same detections (within 1e-3 on
//! scores) on the test model, on the shipped model and on a real Ultralytics export (YOLO11n).
//!
//! The live ONNX Runtime half needs `--features ort` and the runtime's library: ORT_DYLIB_PATH,
//! or the PyPI `onnxruntime` package found through `python3`. Without it those tests print why
//! and pass. The YOLO11n export also carries ONNX Runtime's output on a fixed input, recorded
//! when it was exported, so tract is checked against ONNX Runtime on it in every build.

use capture::detector::decode::decode_tile;
use capture::detector::engine::{inspect_model, resolve_model_path, DEFAULT_MODEL};
use capture::detector::prepare::Letterbox;
use capture::detector::tract_engine::TractEngine;
use capture::detector::verifier::{crop_planes, BallVerifier};
mod synthetic_panorama;

use capture::detector::{
    load_engine, DecodeParams, Detector, DetectorError, InferenceEngine, Tile,
};
use shared::config::DetectorConfig;
use shared::geometry::Calibration;
use shared::image::Nv12Image;
use std::path::{Path, PathBuf};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn tiny_cfg() -> DetectorConfig {
    DetectorConfig {
        model: data("tiny_yolo.onnx").display().to_string(),
        tile_size: 256,
        tile_overlap: 32,
        thresholds: vec![0.55],
        min_size_px: vec![0.0],
        max_size_px: vec![10_000.0],
        max_detections: 1000,
        threads: 1,
        ..Default::default()
    }
}

/// A stitched synthetic panorama (1920 x 640) with a ball in view.
fn panorama() -> (Calibration, Nv12Image) {
    synthetic_panorama::stitched(3, 0)
}

#[test]
fn a_missing_model_names_the_file_and_where_it_looked() {
    let cfg = DetectorConfig {
        model: "models/no-such-model.onnx".into(),
        ..Default::default()
    };
    let e = load_engine(&cfg).err().expect("an error");
    assert!(matches!(e, DetectorError::ModelNotFound { .. }), "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains("no-such-model.onnx") && msg.contains("looked in"),
        "{msg}"
    );
    let e = resolve_model_path("/nonexistent/x.onnx")
        .unwrap_err()
        .to_string();
    assert!(e.contains("/nonexistent/x.onnx"), "{e}");
}

#[test]
fn a_model_with_other_classes_is_refused_at_start_up() {
    // The test model has 3 classes (7 output channels); configure 2.
    let cfg = DetectorConfig {
        classes: vec!["ball".into(), "player".into()],
        thresholds: vec![0.5],
        min_size_px: vec![1.0],
        max_size_px: vec![100.0],
        ..tiny_cfg()
    };
    let msg = load_engine(&cfg).err().expect("an error").to_string();
    assert!(
        msg.contains("wrong output shape")
            && msg.contains("[batch, 6, anchors]")
            && msg.contains("[?, 7, 336]"),
        "{msg}"
    );
}

#[test]
fn a_channels_last_model_is_refused_at_start_up() {
    let msg = inspect_model(&data("bad_input_nhwc.onnx"), 3, 640)
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("wrong input shape")
            && msg.contains("[batch, 3, height, width]")
            && msg.contains("[1, 64, 64, 3]"),
        "{msg}"
    );
}

#[test]
fn a_file_that_is_not_onnx_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("junk.onnx");
    std::fs::write(&p, b"this is not a model").unwrap();
    let msg = TractEngine::load(&p, 3, 640, 1)
        .err()
        .expect("an error")
        .to_string();
    assert!(
        msg.contains("junk.onnx") && msg.contains("not a readable ONNX file"),
        "{msg}"
    );
}

#[test]
fn the_test_model_loads_with_a_dynamic_batch() {
    let e = TractEngine::load(&data("tiny_yolo.onnx"), 3, 640, 1).unwrap();
    let info = e.info();
    assert_eq!(
        (info.batch, info.in_w, info.in_h, info.classes),
        (None, 64, 64, 3)
    );
}

#[test]
fn the_shipped_model_is_found_and_has_the_yolo_layout() {
    let p = resolve_model_path("").unwrap();
    assert!(p.ends_with(DEFAULT_MODEL), "{}", p.display());
    let info = inspect_model(&p, 3, 640).unwrap();
    assert_eq!((info.in_w, info.in_h, info.classes), (640, 640, 3));
}

#[test]
fn tract_detects_on_a_stitched_panorama_and_publishes_empty_frames_too() {
    let (cal, pano) = panorama();
    let mut d = Detector::from_config(&tiny_cfg(), &cal).unwrap();
    let msg = d.detect(&pano.as_ref(), 0, 0).unwrap();
    assert!(!msg.detections.is_empty());
    assert_eq!(msg.classes, vec!["ball", "player", "referee"]);
    for det in &msg.detections {
        let t = d.tiling().tiles[det.tile as usize];
        assert!(
            t.contains(det.cx as f64, det.cy as f64),
            "{det:?} outside {t:?}"
        );
    }
    let none = DetectorConfig {
        thresholds: vec![1.0],
        ..tiny_cfg()
    };
    let mut d = Detector::from_config(&none, &cal).unwrap();
    let msg = d.detect(&pano.as_ref(), 40, 1).unwrap();
    assert!(msg.detections.is_empty());
    assert_eq!((msg.pts_ns, msg.seq), (40, 1));
}

#[test]
fn a_frame_analysed_in_part_finds_what_the_whole_frame_finds_in_those_tiles() {
    let (cal, pano) = panorama();
    let cfg = DetectorConfig {
        thresholds: vec![0.63],
        ..tiny_cfg()
    };
    let mut d = Detector::from_config(&cfg, &cal).unwrap();
    let whole = d.detect(&pano.as_ref(), 0, 0).unwrap();
    assert_eq!(whole.region, None);
    assert_eq!(d.counts.truncated, 0, "a threshold with fewer detections");
    assert!(!whole.detections.is_empty());
    let n = d.tiling().tiles.len();
    assert!(n >= 3, "{n} tiles");
    for k in [0, n / 2, n - 1] {
        d.prepare_tiles(&pano.as_ref(), &[k]).unwrap();
        let part = d.infer().unwrap();
        let expected: Vec<_> = whole
            .detections
            .iter()
            .filter(|x| x.tile as usize == k)
            .cloned()
            .collect();
        assert_eq!(part.len(), expected.len(), "tile {k}");
        assert!(part == expected, "tile {k}");
        let t = d.tiling().tiles[k];
        let msg = d.message(part, 40, 1, std::time::Instant::now());
        assert_eq!(msg.region, Some([t.x, t.y, t.w, t.h]));
    }
    // Back to every tile: no region.
    let again = d.detect(&pano.as_ref(), 80, 2).unwrap();
    assert_eq!((again.detections, again.region), (whole.detections, None));
    assert!(d.prepare_tiles(&pano.as_ref(), &[n]).is_err());
}

#[test]
fn the_ball_verifier_keeps_the_balls_it_believes_and_counts_the_rest() {
    let (cal, pano) = panorama();
    // The test model's third class is frequent enough here to stand for the ball.
    // No per-frame cap: it would cut other detections with the balls there and not without.
    let base = DetectorConfig {
        classes: vec!["player".into(), "referee".into(), "ball".into()],
        max_detections: 1_000_000,
        ..tiny_cfg()
    };
    let mut plain = Detector::from_config(&base, &cal).unwrap();
    let all = plain.detect(&pano.as_ref(), 0, 0).unwrap().detections;
    assert_eq!(plain.counts.truncated, 0);
    // The test verifier's "probability" is the mean of its 16 px crop: predict it per ball.
    let mut balls: Vec<(shared::messages::Detection, f32)> = all
        .iter()
        .filter(|d| d.class_id == 2)
        .map(|d| {
            let i = d.tile as usize;
            let t = plain.tiling().tiles[i];
            let mut crop = vec![0.0; 3 * 16 * 16];
            let at = (d.cx as f64 - t.x as f64, d.cy as f64 - t.y as f64);
            crop_planes(plain.input_of(i), plain.letterbox(i), at, 16, &mut crop);
            (d.clone(), crop.iter().sum::<f32>() / crop.len() as f32)
        })
        .collect();
    assert!(balls.len() >= 4, "{} balls to verify", balls.len());
    balls.sort_by(|a, b| a.1.total_cmp(&b.1));
    // A threshold in the widest gap of the middle half: about half the balls go.
    let n = balls.len();
    let k = (n / 4..3 * n / 4)
        .max_by(|&a, &b| (balls[a + 1].1 - balls[a].1).total_cmp(&(balls[b + 1].1 - balls[b].1)))
        .unwrap();
    assert!(balls[k + 1].1 - balls[k].1 > 1e-4, "{balls:?}");
    let threshold = (balls[k].1 + balls[k + 1].1) / 2.0;
    let cfg = DetectorConfig {
        ball_verifier: data("mean_verifier.onnx").display().to_string(),
        ball_verifier_threshold: threshold,
        ..base
    };
    let mut d = Detector::from_config(&cfg, &cal).unwrap();
    let kept = d.detect(&pano.as_ref(), 0, 0).unwrap().detections;
    // Compared as sets of boxes: the order of equal scores is not part of the contract.
    let key =
        |x: &shared::messages::Detection| (x.class_id, x.tile, x.cx.to_bits(), x.cy.to_bits());
    let mut got: Vec<_> = kept.iter().map(key).collect();
    let mut want: Vec<_> = all
        .iter()
        .filter(|x| x.class_id != 2 || balls.iter().any(|(b, p)| b == *x && *p >= threshold))
        .map(key)
        .collect();
    got.sort();
    want.sort();
    let balls_of = |v: &[(u16, u16, u32, u32)]| v.iter().filter(|k| k.0 == 2).count();
    assert_eq!(balls_of(&got), balls_of(&want), "the bright balls kept");
    assert!(got == want, "players untouched, the bright balls kept");
    assert_eq!(d.counts.verified, n as u64);
    assert_eq!(d.counts.verifier_rejected, (k + 1) as u64);
    assert_eq!(d.counts.unverified, 0);
}

#[test]
fn balls_the_verifier_cannot_look_at_go_out_unverified_and_counted() {
    let mut v = BallVerifier::load(&data("mean_verifier.onnx"), 0.5).unwrap();
    assert_eq!(v.side(), 16);
    let ball = |cx: f32| shared::messages::Detection {
        cx,
        cy: 10.0,
        w: 4.0,
        h: 4.0,
        class_id: 0,
        score: 0.9,
        tile: 0,
    };
    let player = shared::messages::Detection {
        class_id: 1,
        ..ball(30.0)
    };
    let tile = Tile {
        id: 0,
        x: 0,
        y: 0,
        w: 64,
        h: 64,
        col: 0,
        row: 0,
    };
    let lb = Letterbox::new(64, 64, 64, 64);
    // No pixels to read (a GPU tile that could not be fetched): everything kept, counted.
    let mut dets = vec![ball(10.0), player.clone(), ball(50.0)];
    let c = v.verify(&mut dets, 0, 0, None, &tile, &lb);
    assert_eq!((c.verified, c.rejected, c.unverified), (0, 0, 2));
    assert_eq!(dets.len(), 3);
    // Dark pixels: both balls turned down (mean 0 < 0.5), the player kept; only balls from
    // `first` on are looked at.
    let planes = vec![0.0f32; 3 * 64 * 64];
    let mut dets = vec![ball(10.0), player.clone(), ball(50.0)];
    let c = v.verify(&mut dets, 1, 0, Some(&planes), &tile, &lb);
    assert_eq!((c.verified, c.rejected, c.unverified), (1, 1, 0));
    assert_eq!(dets, vec![ball(10.0), player.clone()]);
    // Bright pixels: kept.
    let planes = vec![1.0f32; 3 * 64 * 64];
    let mut dets = vec![ball(10.0), player, ball(50.0)];
    let c = v.verify(&mut dets, 0, 0, Some(&planes), &tile, &lb);
    assert_eq!((c.verified, c.rejected, c.error), (2, 0, None));
    assert_eq!(dets.len(), 3);
}

#[test]
fn a_ball_verifier_that_is_missing_or_not_one_is_refused_at_start_up() {
    let (cal, _) = panorama();
    let cfg = DetectorConfig {
        ball_verifier: "models/no-such-verifier.onnx".into(),
        ..tiny_cfg()
    };
    let e = Detector::from_config(&cfg, &cal).err().unwrap().to_string();
    assert!(
        e.contains("no-such-verifier.onnx") && e.contains("looked in"),
        "{e}"
    );
    // A detector is not a verifier: its output is not one probability per crop.
    let cfg = DetectorConfig {
        ball_verifier: data("tiny_yolo.onnx").display().to_string(),
        ..tiny_cfg()
    };
    let e = Detector::from_config(&cfg, &cal).err().unwrap().to_string();
    assert!(
        e.contains("ball verifier") && e.contains("tiny_yolo.onnx"),
        "{e}"
    );
}

#[test]
fn a_focused_frame_with_a_square_looks_around_the_ball_magnified() {
    let (cal, pano) = panorama();
    let cfg = DetectorConfig {
        focus_full_every: 100,
        focus_tile_size: 128,
        ..tiny_cfg()
    };
    let mut d = Detector::from_config(&cfg, &cal).unwrap();
    let n = d.tiling().tiles.len();
    assert_eq!(d.plan_tiles(0).len(), n, "no sighting yet: every tile");
    let ball = shared::messages::Detection {
        cx: 700.0,
        cy: 300.0,
        w: 4.0,
        h: 4.0,
        class_id: 0,
        score: 0.9,
        tile: 0,
    };
    d.prepare(&pano.as_ref()).unwrap();
    d.infer().unwrap();
    d.observe(0, &[ball]);
    // Next frame: one square of 128 px centred on the sighting, past the grid's indices.
    assert_eq!(d.plan_tiles(40_000_000), vec![n]);
    d.prepare_tiles(&pano.as_ref(), &[n]).unwrap();
    let found = d.infer().unwrap();
    for det in &found {
        assert_eq!(det.tile as usize, n);
        assert!((636.0..=764.0).contains(&det.cx) && (236.0..=364.0).contains(&det.cy));
    }
    let msg = d.message(found, 40_000_000, 1, std::time::Instant::now());
    assert_eq!(msg.region, Some([636, 236, 128, 128]));
    assert_eq!(d.analysed_tiles(), &[n]);
    // Nothing found there: the next frame is every tile again, and the square is gone.
    d.observe(40_000_000, &[]);
    assert_eq!(d.plan_tiles(80_000_000).len(), n);
    assert!(d.prepare_tiles(&pano.as_ref(), &[n]).is_err());
}

#[test]
fn with_focus_on_cue_a_lost_ball_is_looked_for_where_the_motion_cue_saw_it() {
    let (cal, pano) = panorama();
    let cfg = DetectorConfig {
        focus_on_cue: true,
        ..tiny_cfg()
    };
    let mut d = Detector::from_config(&cfg, &cal).unwrap();
    let n = d.tiling().tiles.len();
    assert!(n > 1, "the test needs a panorama of several tiles");
    // A full sweep that finds no ball; then the cue sees one.
    assert_eq!(d.plan_tiles(0).len(), n);
    d.observe(0, &[]);
    let (x, y) = (700.0, 300.0);
    d.cue_hint(20_000_000, x, y);
    let tiles = d.plan_tiles(40_000_000);
    assert!(d.on_cue());
    assert!(!tiles.is_empty() && tiles.len() < n, "{tiles:?} of {n}");
    assert!(tiles
        .iter()
        .all(|&i| d.tiling().tiles[i].contains(x as f64, y as f64)));
    d.prepare_tiles(&pano.as_ref(), &tiles).unwrap();
    let found = d.infer().unwrap();
    let msg = d.message(found, 40_000_000, 1, std::time::Instant::now());
    assert!(
        msg.region.is_some(),
        "a look at the cue's sighting is a focused pass"
    );
    // Nothing there: the sighting is dropped, and the next frame is every tile.
    d.observe(40_000_000, &[]);
    assert_eq!(d.plan_tiles(80_000_000).len(), n);
    assert!(!d.on_cue());

    // Off (the default), or without the motion cue: the cue's sightings are not used.
    for cfg in [
        tiny_cfg(),
        DetectorConfig {
            focus_on_cue: true,
            motion_cue: false,
            ..tiny_cfg()
        },
    ] {
        let mut d = Detector::from_config(&cfg, &cal).unwrap();
        d.plan_tiles(0);
        d.observe(0, &[]);
        d.cue_hint(20_000_000, x, y);
        assert_eq!(d.plan_tiles(40_000_000).len(), n);
        assert!(!d.on_cue());
    }
}

// ---- A real Ultralytics export ----

/// YOLO11n built from Ultralytics' own model definition, trained briefly and exported by
/// Ultralytics (tools/yolo11n_export.py), with ONNX Runtime's output on a fixed input recorded
/// beside it (`yolo11n.ort.f32`, `yolo11n.json`).
const YOLO11N: &str = "yolo11n.onnx";

/// tools/yolo11n_export.py's fixed input: `x[0, c, y, x] = ((7 x + 13 y + 29 c) mod 256) / 255`.
fn yolo11n_input() -> Vec<f32> {
    let mut v = Vec::with_capacity(3 * 640 * 640);
    for c in 0..3u32 {
        for y in 0..640u32 {
            for x in 0..640u32 {
                v.push(((7 * x + 13 * y + 29 * c) % 256) as f32 / 255.0);
            }
        }
    }
    v
}

/// Our decoder on one whole 640 px tile (no letterbox), every class at `threshold`.
fn decode_whole_tile(out: &[f32], threshold: f32) -> Vec<shared::messages::Detection> {
    let tile = Tile {
        id: 0,
        x: 0,
        y: 0,
        w: 640,
        h: 640,
        col: 0,
        row: 0,
    };
    let params = DecodeParams {
        thresholds: vec![threshold; 3],
        min_size: vec![0.0; 3],
        max_size: vec![10_000.0; 3],
        nms_iou: 0.5,
        seam_merge: 0.0,
        max_candidates: 1000,
    };
    let mut dets = Vec::new();
    decode_tile(
        out,
        out.len() / 7,
        &tile,
        &Letterbox::new(640, 640, 640, 640),
        &params,
        &mut dets,
    );
    dets
}

#[test]
fn an_ultralytics_yolo11n_export_runs_in_tract_as_onnx_runtime_ran_it() {
    let path = data(YOLO11N);
    let info = inspect_model(&path, 3, 640).unwrap();
    assert_eq!(
        (info.batch, info.in_w, info.in_h, info.classes),
        (Some(1), 640, 640, 3)
    );
    let mut engine = TractEngine::load(&path, 3, 640, 2).unwrap();
    let ours = engine.infer(&yolo11n_input(), 1).unwrap();
    assert_eq!((ours.batch, ours.channels, ours.anchors), (1, 7, 8400));
    let bytes = std::fs::read(data("yolo11n.ort.f32")).unwrap();
    let theirs: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    assert_eq!(theirs.len(), ours.data.len());
    let n = ours.anchors;
    let (mut max_box, mut max_score) = (0f32, 0f32);
    for (i, (a, b)) in ours.data.iter().zip(&theirs).enumerate() {
        let d = (a - b).abs();
        if i < 4 * n {
            max_box = max_box.max(d);
        } else {
            max_score = max_score.max(d);
        }
    }
    eprintln!("tract vs ONNX Runtime on YOLO11n: scores within {max_score:e}, boxes within {max_box:e} px");
    assert!(max_score < 1e-3 && max_box < 1e-2);

    // A trained head: scores and box sizes depend on the input (an untrained export gives the
    // same box and score at every anchor, and agreeing on that would prove little).
    let best: Vec<f32> = (0..n)
        .map(|i| (4..7).map(|c| theirs[c * n + i]).fold(0f32, f32::max))
        .collect();
    let mut sorted = best.clone();
    sorted.sort_by(|a, b| b.total_cmp(a));
    assert!(
        sorted[0] > 2.0 * sorted[n / 2],
        "scores barely vary: best {} median {}",
        sorted[0],
        sorted[n / 2]
    );
    // Our decoder on both outputs, at a threshold between the 30th and 31st best anchors'
    // scores: the same detections, boxes inside the tile.
    let threshold = (sorted[29] + sorted[30]) / 2.0;
    let da = decode_whole_tile(&ours.data, threshold);
    let db = decode_whole_tile(&theirs, threshold);
    eprintln!(
        "threshold {threshold}: {} detections from tract, {} from ONNX Runtime",
        da.len(),
        db.len()
    );
    assert!(!da.is_empty());
    let borderline = best
        .iter()
        .filter(|s| (*s - threshold).abs() < 1e-3)
        .count();
    let unmatched = da
        .iter()
        .filter(|x| {
            !db.iter().any(|y| {
                y.class_id == x.class_id
                    && (y.cx - x.cx).abs() < 0.05
                    && (y.cy - x.cy).abs() < 0.05
                    && (y.w - x.w).abs() < 0.05
                    && (y.score - x.score).abs() < 1e-3
            })
        })
        .count();
    assert!(
        unmatched <= borderline,
        "{unmatched} of {} unmatched",
        da.len()
    );
    for d in &da {
        assert!(
            (0.0..640.0).contains(&d.cx) && (0.0..640.0).contains(&d.cy) && d.w > 0.0,
            "{d:?}"
        );
    }
}

// ---- ONNX Runtime ----

/// The ONNX Runtime library: ORT_DYLIB_PATH, else the PyPI package's `capi/` folder.
#[cfg(feature = "ort")]
fn ort_library() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("ORT_DYLIB_PATH").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import onnxruntime, os; print(os.path.dirname(onnxruntime.__file__))",
        ])
        .output()
        .ok()?;
    let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()).join("capi");
    let lib = std::fs::read_dir(&dir)
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("libonnxruntime.so"))
        })?;
    Some(lib)
}

#[cfg(feature = "ort")]
fn engines_agree(cfg: &DetectorConfig) {
    let Some(lib) = ort_library() else {
        eprintln!(
            "SKIPPED: no ONNX Runtime library (set ORT_DYLIB_PATH or pip install onnxruntime)"
        );
        return;
    };
    let (cal, pano) = panorama();
    let mut a = Detector::from_config(cfg, &cal).unwrap();
    let ort_cfg = DetectorConfig {
        engine: "ort".into(),
        ort_library: lib.display().to_string(),
        ort_providers: vec!["cpu".into()],
        ..cfg.clone()
    };
    let mut b = Detector::from_config(&ort_cfg, &cal).unwrap();
    assert_eq!(b.engine().name(), "ort");
    // Raw outputs, tile by tile.
    a.prepare(&pano.as_ref()).unwrap();
    b.prepare(&pano.as_ref()).unwrap();
    let n = a.tiling().tiles.len();
    let mut ea = load_engine(cfg).unwrap();
    let mut eb = load_engine(&ort_cfg).unwrap();
    let mut max_score = 0f32;
    let mut max_box = 0f32;
    for i in 0..n {
        assert_eq!(a.input_of(i), b.input_of(i));
        let oa = ea.infer(a.input_of(i), 1).unwrap();
        let ob = eb.infer(b.input_of(i), 1).unwrap();
        assert_eq!((oa.channels, oa.anchors), (ob.channels, ob.anchors));
        for c in 0..oa.channels {
            for k in 0..oa.anchors {
                let (x, y) = (oa.data[c * oa.anchors + k], ob.data[c * ob.anchors + k]);
                if c < 4 {
                    max_box = max_box.max((x - y).abs());
                } else {
                    max_score = max_score.max((x - y).abs());
                }
            }
        }
    }
    eprintln!(
        "tract vs ort: max score difference {max_score:e}, max box difference {max_box:e} px"
    );
    assert!(max_score < 1e-3 && max_box < 1e-2);
    // Detections through the whole pipeline (batched).
    let da = a.infer().unwrap();
    let db = b.infer().unwrap();
    eprintln!("{} and {} detections", da.len(), db.len());
    assert!(
        !da.is_empty() && da.len() < 1000,
        "choose a threshold with some detections, below the cap"
    );
    let mut unmatched = 0;
    for x in &da {
        let m = db.iter().find(|y| {
            y.tile == x.tile
                && y.class_id == x.class_id
                && (y.cx - x.cx).abs() < 0.05
                && (y.cy - x.cy).abs() < 0.05
        });
        match m {
            Some(y) => assert!((y.score - x.score).abs() < 1e-3, "{x:?} vs {y:?}"),
            None => unmatched += 1,
        }
    }
    // A box whose score sits within 1e-3 of the threshold may be in one list only.
    let borderline = da
        .iter()
        .chain(&db)
        .filter(|x| (x.score - cfg.threshold(x.class_id as usize)).abs() < 1e-3)
        .count();
    assert!(
        unmatched <= borderline,
        "{unmatched} unmatched of {}",
        da.len()
    );
    assert!((da.len() as i64 - db.len() as i64).unsigned_abs() as usize <= borderline);
}

#[cfg(feature = "ort")]
#[test]
fn tract_and_onnx_runtime_agree_on_the_test_model() {
    engines_agree(&DetectorConfig {
        thresholds: vec![0.63],
        ..tiny_cfg()
    });
}

#[cfg(feature = "ort")]
#[test]
fn tract_and_onnx_runtime_agree_on_the_shipped_model() {
    let cfg = DetectorConfig {
        thresholds: vec![0.1],
        max_detections: 1000,
        threads: 2,
        ..Default::default()
    };
    engines_agree(&cfg);
}

#[cfg(feature = "ort")]
#[test]
fn tract_and_onnx_runtime_agree_on_an_ultralytics_yolo11n_export() {
    let base = DetectorConfig {
        model: data(YOLO11N).display().to_string(),
        tile_size: 640,
        max_detections: 1000,
        threads: 2,
        ..Default::default()
    };
    // A format check, not a tuned detector: the threshold is between the 50th and 51st best
    // scores tract gives on this panorama's tiles, so that there are detections to compare.
    let (cal, pano) = panorama();
    let mut d = Detector::from_config(&base, &cal).unwrap();
    d.prepare(&pano.as_ref()).unwrap();
    let mut engine = load_engine(&base).unwrap();
    let mut best = Vec::new();
    for i in 0..d.tiling().tiles.len() {
        let o = engine.infer(d.input_of(i), 1).unwrap();
        best.extend((0..o.anchors).map(|k| {
            (4..o.channels)
                .map(|c| o.data[c * o.anchors + k])
                .fold(0f32, f32::max)
        }));
    }
    best.sort_by(|a, b| b.total_cmp(a));
    engines_agree(&DetectorConfig {
        thresholds: vec![(best[49] + best[50]) / 2.0],
        ..base
    });
}

#[cfg(feature = "ort")]
#[test]
fn onnx_runtime_without_its_library_says_what_to_set() {
    // Only meaningful before any test of this binary loaded the runtime; the message names
    // the setting either way when the path is wrong.
    let cfg = DetectorConfig {
        engine: "ort".into(),
        ort_library: "/nonexistent/libonnxruntime.so".into(),
        ..tiny_cfg()
    };
    if let Err(e) = load_engine(&cfg) {
        let msg = e.to_string();
        assert!(
            msg.contains("libonnxruntime.so") || msg.contains("ONNX Runtime"),
            "{msg}"
        );
    }
}

#[cfg(not(feature = "ort"))]
#[test]
fn the_ort_engine_needs_the_ort_feature() {
    let cfg = DetectorConfig {
        engine: "ort".into(),
        ..tiny_cfg()
    };
    let msg = load_engine(&cfg).err().expect("an error").to_string();
    assert!(msg.contains("--features ort"), "{msg}");
}
