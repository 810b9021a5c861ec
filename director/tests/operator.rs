//! The operator's camera modes: the planner moves to the asked-for view from the first frame
//! that may still change, within its speed, acceleration and jerk bounds, never touching
//! frames already frozen, and `auto` hands back to play the same way.

mod common;

use common::*;
use shared::messages::CameraMode;
use shared::scene::Scenario;
use shared::time::{NS_PER_MS, NS_PER_SEC};
use std::collections::BTreeMap;
use touchline_director::operator::mode_pose;
use touchline_director::planner::{PlanFrame, Planner};

/// Replans like live from `from` to `until` (playout time), live `delay` ahead; `act` may
/// change the operator's mode before a replan. Returns every frame as it was frozen.
fn drive(
    planner: &mut Planner,
    tracks: &[shared::messages::Tracks],
    until: u64,
    mut act: impl FnMut(&mut Planner, u64),
) -> Vec<PlanFrame> {
    let cfg = planner.config().clone();
    let period = cfg.replan_period_ms * NS_PER_MS;
    let delay = cfg.delay_ms * NS_PER_MS;
    let mut frozen: BTreeMap<u64, PlanFrame> = BTreeMap::new();
    let mut next = 0;
    let mut t = 0;
    while t <= until {
        let live = t + delay;
        while next < tracks.len() && tracks[next].pts_ns <= live {
            planner.push_tracks(&tracks[next]);
            next += 1;
        }
        act(planner, t);
        planner.replan(t, live);
        let k = planner.frozen_frame(t);
        for f in planner.frames().filter(|f| f.k <= k) {
            if let Some(old) = frozen.get(&f.k) {
                assert_eq!(old, f, "frozen frame {} changed", f.k);
            }
            frozen.insert(f.k, *f);
        }
        t += period;
    }
    frozen.into_values().collect()
}

fn near(f: &PlanFrame, p: &touchline_director::view::Pose, tol: f64) -> bool {
    (f.yaw.p - p.yaw).abs() <= tol
        && (f.pitch.p - p.pitch).abs() <= tol
        && (f.fov.p - p.fov).abs() <= tol + 0.6
}

#[test]
fn wide_is_reached_within_the_bounds_and_auto_hands_back() {
    let cfg = cfg();
    let rig = rig(&cfg);
    let input = scenario(Scenario::Mixed, 70.0, 5, Default::default());
    let mut planner = Planner::new(&cfg, rig.clone());
    let wide = rig.wide_pose();
    let (at_wide, at_auto) = (20 * NS_PER_SEC, 40 * NS_PER_SEC);
    let mut wide_from = 0;
    let frames = drive(&mut planner, &input.tracks, 60 * NS_PER_SEC, |p, t| {
        if t == at_wide {
            assert!(p.set_operator(CameraMode::Wide, t).unwrap());
            wide_from = p.operator().unwrap().from_k;
            // The same mode again (launch repeats its state) changes nothing.
            assert!(!p.set_operator(CameraMode::Wide, t).unwrap());
        }
        if t == at_auto {
            assert!(p.set_operator(CameraMode::Auto, t).unwrap());
        }
    });
    assert_within_bounds(&frames, &cfg, "wide and back");
    let step = planner.step_ns();
    // It applies from the first frame that could still change, no earlier.
    assert_eq!(wide_from, planner.frozen_frame(at_wide) + 1);
    // Within 6 s of the command the camera is on the wide shot, and stays there until auto.
    let k = |pts: u64| pts / step;
    let on_wide: Vec<&PlanFrame> = frames
        .iter()
        .filter(|f| f.k >= k(at_wide + 6 * NS_PER_SEC) && f.k < k(at_auto))
        .collect();
    assert!(!on_wide.is_empty());
    for f in &on_wide {
        assert!(
            near(f, &wide, 0.6),
            "frame {} {:?} not on the wide shot {wide:?}",
            f.k,
            f.pose()
        );
    }
    // After auto the camera follows play again: it leaves the wide shot.
    let left_wide = frames
        .iter()
        .filter(|f| f.k >= k(at_auto + 8 * NS_PER_SEC))
        .any(|f| !near(f, &wide, 1.0));
    assert!(left_wide, "auto did not hand back to play");
}

#[test]
fn manual_hold_left_and_right_frame_their_pose() {
    let cfg = cfg();
    let rig = rig(&cfg);
    let input = scenario(Scenario::Passes, 60.0, 2, Default::default());
    let w = rig.wide_pose();
    let manual = CameraMode::Manual {
        yaw: (w.yaw + 5.0) as f32,
        pitch: w.pitch as f32,
        fov: 30.0,
    };
    for mode in [
        CameraMode::Left,
        CameraMode::Right,
        manual,
        CameraMode::Hold,
    ] {
        let mut planner = Planner::new(&cfg, rig.clone());
        let mut target = None;
        let at = 15 * NS_PER_SEC;
        let frames = drive(&mut planner, &input.tracks, 35 * NS_PER_SEC, |p, t| {
            if t == at {
                p.set_operator(mode, t).unwrap();
            }
            if t == at + NS_PER_SEC {
                target = p.operator().and_then(|o| o.pose);
            }
        });
        assert_within_bounds(&frames, &cfg, mode.name());
        let target = target.expect("a fixed pose");
        let settled: Vec<&PlanFrame> = frames
            .iter()
            .filter(|f| f.k * planner.step_ns() >= at + 8 * NS_PER_SEC)
            .collect();
        assert!(settled.len() > 100);
        for f in settled {
            assert!(
                near(f, &target, 0.6),
                "{}: frame {} {:?} not at {target:?}",
                mode.name(),
                f.k,
                f.pose()
            );
        }
        if mode == CameraMode::Hold {
            let expected = mode_pose(&rig, mode, target).unwrap();
            assert_eq!(expected, target);
        }
    }
}

#[test]
fn a_manual_pose_outside_the_panorama_changes_nothing() {
    let cfg = cfg();
    let rig = rig(&cfg);
    let w = rig.wide_pose();
    let mut planner = Planner::new(&cfg, rig);
    let e = planner
        .set_operator(
            CameraMode::Manual {
                yaw: 175.0,
                pitch: w.pitch as f32,
                fov: 30.0,
            },
            0,
        )
        .unwrap_err();
    assert!(e.contains("yaw"), "{e}");
    assert_eq!(planner.operator_mode(), CameraMode::Auto);
}
