//! The whole chain, replayed: raw detections that capture's detector (tract, with the model
//! shipped before the current one, ball threshold 0.65) published in two 40 s `launch demo` runs on the synthetic pitch (1920 px panorama,
//! scenario `mixed`, seeds 1 and 7; about 1.5 analysed frames per second on a 2-core machine),
//! with the synthetic source's ground truth of the same frames, extracted from the demo's
//! `messages.tlrec` and `truth.jsonl` into `tests/data/chain-seed*.jsonl`. The analyzer with
//! its default configuration must track the ball in a fair share of the frames where it is
//! visible, with a small error. The share cannot exceed the detector's recall on these frames
//! (a detection within 5 px of the ball in 19 of 62 and 20 of 38 of them).

use analyzer::{Analyzer, Outcome};
use shared::config::AnalyzerConfig;
use shared::messages::{Detection, RawDetections, TrackStatus};

#[derive(serde::Deserialize)]
struct Truth {
    x_m: f64,
    y_m: f64,
    visible: bool,
    in_play: bool,
}

#[derive(serde::Deserialize)]
struct Frame {
    pts_ns: u64,
    seq: u64,
    classes: Vec<String>,
    detections: Vec<Detection>,
    truth: Truth,
}

struct Score {
    frames: usize,
    tracked: usize,
    rmse_m: f64,
    worst_m: f64,
}

fn score(file: &str) -> Score {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    let mut a = Analyzer::from_config(&AnalyzerConfig::default()).unwrap();
    let (mut frames, mut errors) = (0, Vec::new());
    for line in text.lines() {
        let f: Frame = serde_json::from_str(line).unwrap();
        let raw = RawDetections {
            pts_ns: f.pts_ns,
            seq: f.seq,
            classes: f.classes,
            detections: f.detections,
            inference_us: 0,
            region: None,
            motion: false,
        };
        let Outcome::Analysed(t) = a.process(&raw) else {
            panic!("frame {} dropped", f.pts_ns);
        };
        if !(f.truth.visible && f.truth.in_play) {
            continue;
        }
        frames += 1;
        if let Some(b) = t.ball.filter(|b| b.status == TrackStatus::Tracked) {
            errors.push((b.x_m as f64 - f.truth.x_m).hypot(b.y_m as f64 - f.truth.y_m));
        }
    }
    let n = errors.len().max(1) as f64;
    let s = Score {
        frames,
        tracked: errors.len(),
        rmse_m: (errors.iter().map(|e| e * e).sum::<f64>() / n).sqrt(),
        worst_m: errors.iter().cloned().fold(0.0, f64::max),
    };
    eprintln!(
        "{file}: {} frames with the ball visible, tracked in {} ({:.1} %), RMSE {:.2} m, worst {:.2} m",
        s.frames,
        s.tracked,
        100.0 * s.tracked as f64 / s.frames as f64,
        s.rmse_m,
        s.worst_m
    );
    s
}

#[test]
fn recorded_detector_output_of_seed_1_is_tracked_closely() {
    let s = score("chain-seed1.jsonl");
    assert!(s.frames >= 60);
    assert!(
        s.tracked as f64 >= 0.25 * s.frames as f64,
        "tracked {}",
        s.tracked
    );
    assert!(s.rmse_m <= 1.0, "RMSE {}", s.rmse_m);
}

#[test]
fn recorded_detector_output_of_seed_7_is_tracked_closely() {
    let s = score("chain-seed7.jsonl");
    assert!(s.frames >= 35);
    assert!(
        s.tracked as f64 >= 0.4 * s.frames as f64,
        "tracked {}",
        s.tracked
    );
    assert!(s.rmse_m <= 2.5, "RMSE {}", s.rmse_m);
}

/// A second run of seed 1 (the detector analysed other frames): at 3.6 s a lofted ball 8.7 m
/// up is detected just below the horizon, where its viewing ray meets the grass ~370 m away;
/// that must never become the tracked position.
#[test]
fn a_ball_high_in_the_air_is_never_placed_off_the_pitch() {
    let s = score("chain-seed1-run2.jsonl");
    assert!(s.frames >= 45);
    assert!(
        s.tracked as f64 >= 0.2 * s.frames as f64,
        "tracked {}",
        s.tracked
    );
    assert!(s.worst_m <= 5.0, "worst {}", s.worst_m);
    assert!(s.rmse_m <= 1.0, "RMSE {}", s.rmse_m);
}
