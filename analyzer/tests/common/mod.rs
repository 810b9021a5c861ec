//! Helpers shared by the integration tests: the fault classes, running our analyzer and the
//! baseline over a synthetic stream, and the metrics table.
#![allow(dead_code)]

use analyzer::baseline::Baseline;
use analyzer::geom::PitchModel;
use analyzer::metrics::{combine, evaluate, Criteria, TrackingMetrics};
use analyzer::synth::{
    DetectorFaults, DetectorTruth, MissBursts, SpareBall, StreamSpec, SynthFrame, SynthStream,
};
use analyzer::{Analyzer, Outcome};
use shared::config::AnalyzerConfig;
use shared::geometry::Calibration;
use shared::messages::{BallState, Detection, RawDetections};
use shared::scene::Scenario;

pub fn cal() -> Calibration {
    Calibration::synthetic(1920, 960, 540)
}

/// One fault class of the evaluation.
pub struct FaultClass {
    pub name: &'static str,
    pub scenario: Scenario,
    pub faults: DetectorFaults,
}

pub fn fault_classes() -> Vec<FaultClass> {
    let base = DetectorFaults::default;
    vec![
        FaultClass {
            name: "clean",
            scenario: Scenario::Passes,
            faults: base(),
        },
        FaultClass {
            name: "misses (bursts <= 2 s)",
            scenario: Scenario::Passes,
            faults: DetectorFaults {
                miss_bursts: Some(MissBursts {
                    mean_gap_s: 5.0,
                    max_s: 2.0,
                }),
                ..base()
            },
        },
        FaultClass {
            name: "static false positives",
            scenario: Scenario::Passes,
            faults: DetectorFaults {
                static_fps: vec![
                    (20.0, 10.0),
                    (52.5, 6.0),
                    (80.0, 50.0),
                    (35.0, 60.0),
                    (70.0, 20.0),
                ],
                ..base()
            },
        },
        FaultClass {
            name: "random false positives",
            scenario: Scenario::Passes,
            faults: DetectorFaults {
                random_fp_per_frame: 1.0,
                ..base()
            },
        },
        FaultClass {
            name: "position noise (3 px)",
            scenario: Scenario::Passes,
            faults: DetectorFaults {
                pixel_noise: 3.0,
                ..base()
            },
        },
        FaultClass {
            name: "lofted balls",
            scenario: Scenario::Lofted,
            faults: base(),
        },
        FaultClass {
            name: "ball still 10 s",
            scenario: Scenario::Still,
            faults: base(),
        },
        FaultClass {
            name: "two balls for 3 s",
            scenario: Scenario::Passes,
            faults: DetectorFaults {
                spare_ball: Some(SpareBall {
                    start_s: 20.0,
                    duration_s: 3.0,
                    x: 52.5,
                    y: -0.8,
                }),
                ..base()
            },
        },
        FaultClass {
            name: "all together (mixed play)",
            scenario: Scenario::Mixed,
            faults: DetectorFaults {
                pixel_noise: 2.0,
                miss_bursts: Some(MissBursts {
                    mean_gap_s: 8.0,
                    max_s: 2.0,
                }),
                static_fps: vec![(20.0, 10.0), (80.0, 50.0)],
                random_fp_per_frame: 0.5,
                spare_ball: Some(SpareBall {
                    start_s: 30.0,
                    duration_s: 3.0,
                    x: 52.5,
                    y: -0.8,
                }),
                ..base()
            },
        },
    ]
}

pub const SEEDS: [u64; 3] = [1, 2, 3];
pub const DURATION_S: f64 = 60.0;
pub const RATE_HZ: f64 = 25.0;

pub fn stream(fc: &FaultClass, seed: u64) -> Vec<SynthFrame> {
    SynthStream::new(
        StreamSpec {
            scenario: fc.scenario,
            duration_s: DURATION_S,
            rate_hz: RATE_HZ,
            seed,
            faults: fc.faults.clone(),
        },
        &cal(),
    )
    .collect()
}

pub fn run_ours(frames: &[SynthFrame]) -> Vec<Option<BallState>> {
    let mut a = Analyzer::new(&AnalyzerConfig::default(), PitchModel::new(cal()));
    frames
        .iter()
        .map(|f| match a.process(&f.dets) {
            Outcome::Analysed(t) => t.ball,
            Outcome::Dropped(d) => panic!("synthetic frame dropped: {d:?}"),
        })
        .collect()
}

pub fn run_baseline(frames: &[SynthFrame]) -> Vec<Option<BallState>> {
    let mut b = Baseline::new(PitchModel::new(cal()));
    frames.iter().map(|f| b.process(&f.dets).ball).collect()
}

/// Ours and the baseline over every seed of a fault class.
pub fn evaluate_class(fc: &FaultClass) -> (TrackingMetrics, TrackingMetrics) {
    let c = Criteria::default();
    let mut ours = Vec::new();
    let mut base = Vec::new();
    for seed in SEEDS {
        let frames = stream(fc, seed);
        let truth: Vec<DetectorTruth> = frames.iter().map(|f| f.truth).collect();
        ours.push(evaluate(&truth, &run_ours(&frames), &c));
        base.push(evaluate(&truth, &run_baseline(&frames), &c));
    }
    (combine(&ours), combine(&base))
}

fn cells(m: &TrackingMetrics) -> String {
    format!(
        "{:>6.2} | {:>6.1} | {:>6.1} | {:>4} | {:>5.2} / {:>5.2}",
        m.rmse_m, m.rmse_px, m.right_pct, m.breaks, m.reacquire_mean_s, m.reacquire_max_s
    )
}

/// The side-by-side table (Markdown).
pub fn table(rows: &[(String, TrackingMetrics, TrackingMetrics)]) -> String {
    let mut s = String::new();
    s.push_str("| fault class | who | RMSE m | RMSE px | right ball % | breaks | re-acquire mean / max s |\n");
    s.push_str("|---|---|---:|---:|---:|---:|---:|\n");
    for (name, ours, base) in rows {
        s.push_str(&format!("| {name} | ours | {} |\n", cells(ours)));
        s.push_str(&format!("| | baseline | {} |\n", cells(base)));
    }
    s
}

// Hand-made frames: one ball detection where a pitch point is seen.

pub fn ball_at(cal: &Calibration, x: f64, y: f64, z: f64, score: f32) -> Detection {
    let m = PitchModel::new(cal.clone());
    let (u, v) = m.to_pixel(x, y, z);
    let d = m.diameter_px(0.22, m.range(x, y, z)).max(2.0);
    Detection {
        cx: u as f32,
        cy: v as f32,
        w: d as f32,
        h: d as f32,
        class_id: 1,
        score,
        tile: 0,
    }
}

pub fn frame(pts_s: f64, dets: Vec<Detection>) -> RawDetections {
    RawDetections {
        pts_ns: (pts_s * 1e9).round() as u64,
        seq: 0,
        classes: vec!["player".into(), "ball".into()],
        detections: dets,
        inference_us: 0,
        region: None,
        motion: false,
    }
}

pub fn ball_of(a: &mut Analyzer, f: &RawDetections) -> Option<BallState> {
    match a.process(f) {
        Outcome::Analysed(t) => t.ball,
        Outcome::Dropped(d) => panic!("dropped: {d:?}"),
    }
}
