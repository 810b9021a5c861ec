//! Helpers shared by the director's integration tests.
#![allow(dead_code)]

use shared::config::DirectorConfig;
use shared::messages::{BallState, PlayersSummary, TrackStatus, Tracks};
use shared::scene::Scenario;
use touchline_director::planner::PlanFrame;
use touchline_director::replay::{scenario_input, ReplayInput, SynthOptions};
use touchline_director::rig::Rig;
use touchline_director::synth::TrackFaults;

pub fn cfg() -> DirectorConfig {
    DirectorConfig::default()
}

pub fn rig(cfg: &DirectorConfig) -> Rig {
    Rig::from_config(cfg).unwrap()
}

/// Moderate detector faults, the same in every test that uses them.
pub fn faults(seed: u64) -> TrackFaults {
    TrackFaults {
        miss_rate: 0.05,
        noise_m: 0.2,
        false_positive_rate: 0.005,
        seed,
    }
}

pub fn scenario(sc: Scenario, secs: f64, seed: u64, faults: TrackFaults) -> ReplayInput {
    let cfg = cfg();
    let synth = SynthOptions {
        faults,
        scene_seed: seed,
        ..Default::default()
    };
    scenario_input(sc, secs, seed, &rig(&cfg), &synth).unwrap()
}

/// A measured ball at pitch metres `(x, y)`.
pub fn ball_at(rig: &Rig, x: f64, y: f64) -> BallState {
    let (px, py) = rig.cal.pitch_to_panorama(x, y, 0.11);
    BallState {
        x_m: x as f32,
        y_m: y as f32,
        z_m: 0.11,
        vx_mps: 0.0,
        vy_mps: 0.0,
        vz_mps: 0.0,
        px: px as f32,
        py: py as f32,
        confidence: 0.9,
        status: TrackStatus::Tracked,
    }
}

pub fn players_at(x: f64, y: f64) -> PlayersSummary {
    PlayersSummary {
        count: 20,
        cx_m: x as f32,
        cy_m: y as f32,
        spread_x_m: 12.0,
        spread_y_m: 8.0,
    }
}

pub fn tracks(pts_ns: u64, ball: Option<BallState>, players: Option<PlayersSummary>) -> Tracks {
    Tracks {
        pts_ns,
        ball,
        players,
    }
}

/// An axis of a planned frame: name, getter, (speed, acceleration, jerk) bounds.
type Axis = (&'static str, fn(&PlanFrame) -> f64, [f64; 3]);

/// Asserts the per-axis speed, acceleration and jerk bounds on consecutive planned frames
/// (finite differences of the positions, as a viewer sees them).
pub fn assert_within_bounds(frames: &[PlanFrame], cfg: &DirectorConfig, what: &str) {
    let dt = cfg.plan_step_ms as f64 / 1000.0;
    let axes: [Axis; 3] = [
        (
            "yaw",
            |f| f.yaw.p,
            [
                cfg.max_speed_deg_s,
                cfg.max_accel_deg_s2,
                cfg.max_jerk_deg_s3,
            ],
        ),
        (
            "pitch",
            |f| f.pitch.p,
            [
                cfg.max_speed_deg_s,
                cfg.max_accel_deg_s2,
                cfg.max_jerk_deg_s3,
            ],
        ),
        (
            "fov",
            |f| f.fov.p,
            [
                cfg.max_zoom_speed_deg_s,
                cfg.max_zoom_accel_deg_s2,
                cfg.max_zoom_jerk_deg_s3,
            ],
        ),
    ];
    for w in frames.windows(2) {
        assert_eq!(w[1].k, w[0].k + 1, "{what}: frames not contiguous");
    }
    for (name, get, bounds) in axes {
        let p: Vec<f64> = frames.iter().map(get).collect();
        let mut d: Vec<f64> = p.clone();
        for (order, bound) in bounds.iter().enumerate() {
            d = d.windows(2).map(|w| (w[1] - w[0]) / dt).collect();
            // 1e-6 relative: float rounding of the integration.
            let tol = bound * 1e-6 + 1e-6;
            for (i, v) in d.iter().enumerate() {
                assert!(
                    v.abs() <= bound + tol,
                    "{what}: {name} derivative {} = {v} over the bound {bound} at frame {}",
                    order + 1,
                    frames[i].k
                );
            }
        }
    }
}
