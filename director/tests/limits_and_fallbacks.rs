//! Limits always respected (pose inside the panorama, speed/acceleration/jerk bounds), and
//! the fallbacks: ball lost -> players' centre -> wide shot.

mod common;

use common::*;
use shared::scene::Scenario;
use shared::time::NS_PER_MS;
use touchline_director::framing::FramingMode;
use touchline_director::planner::Planner;
use touchline_director::replay::run_planner;
use touchline_director::view::Pose;

#[test]
fn every_shown_pose_is_inside_the_panorama_and_within_the_bounds() {
    let cfg = cfg();
    let rig = rig(&cfg);
    for sc in Scenario::ALL {
        for f in [faults(0), faults(11)] {
            let f = if f.seed == 0 {
                touchline_director::synth::TrackFaults::default()
            } else {
                f
            };
            let input = scenario(sc, 90.0, 7, f);
            let run = run_planner(&input, &cfg, &rig, |_, _| {});
            assert!(run.frames.len() > 2000);
            for fr in &run.frames {
                let p = fr.pose();
                assert!(
                    rig.limits.contains(&p, 1e-9),
                    "{}: {p:?} outside the panorama",
                    sc.name()
                );
                // What goes on the wire (f32) is inside too, within f32 rounding.
                let kf = Pose {
                    yaw: p.yaw as f32 as f64,
                    pitch: p.pitch as f32 as f64,
                    fov: p.fov as f32 as f64,
                };
                assert!(
                    rig.limits.contains(&kf, 1e-4),
                    "{}: keyframe {kf:?}",
                    sc.name()
                );
                assert!(p.fov >= cfg.fov_min_deg - 1e-9 && p.fov <= cfg.fov_max_deg + 1e-9);
            }
            assert_within_bounds(&run.frames, &cfg, sc.name());
            assert_eq!(run.counters.bound_forced, 0, "{}", sc.name());
        }
    }
}

#[test]
fn tighter_bounds_from_the_config_are_respected() {
    let mut cfg = cfg();
    cfg.max_speed_deg_s = 10.0;
    cfg.max_accel_deg_s2 = 8.0;
    cfg.max_jerk_deg_s3 = 20.0;
    cfg.max_zoom_speed_deg_s = 3.0;
    cfg.max_zoom_accel_deg_s2 = 4.0;
    cfg.max_zoom_jerk_deg_s3 = 10.0;
    let input = scenario(Scenario::Mixed, 120.0, 9, faults(9));
    let run = run_planner(&input, &cfg, &rig(&cfg), |_, _| {});
    assert_within_bounds(&run.frames, &cfg, "tight bounds");
}

/// 10 s of ball, 10 s of players only, 10 s of nothing, then the ball again.
fn fallback_tracks(rig: &touchline_director::rig::Rig) -> Vec<shared::messages::Tracks> {
    (0..1250u64)
        .map(|i| {
            let pts = i * 40 * NS_PER_MS;
            let t = i as f64 * 0.04;
            let ball = (!(10.0..30.0).contains(&t)).then(|| ball_at(rig, 30.0 + t, 30.0));
            let players = (!(20.0..30.0).contains(&t)).then(|| players_at(70.0, 40.0));
            tracks(pts, ball, players)
        })
        .collect()
}

#[test]
fn ball_lost_falls_back_to_players_then_to_the_wide_shot() {
    let cfg = cfg();
    let rig = rig(&cfg);
    let input = touchline_director::replay::ReplayInput {
        tracks: fallback_tracks(&rig),
        ..Default::default()
    };
    let run = run_planner(&input, &cfg, &rig, |_, _| {});
    let at = |s: f64| {
        run.frames
            .iter()
            .find(|f| f.k == (s / 0.04).round() as u64)
            .unwrap()
    };
    assert_eq!(at(5.0).mode, FramingMode::Ball);
    // Ball held for ball_hold_s after the last observation, then the players.
    assert_eq!(at(10.0 + cfg.ball_hold_s + 0.5).mode, FramingMode::Players);
    assert_eq!(at(19.0).mode, FramingMode::Players);
    assert_eq!(at(20.0 + cfg.players_hold_s + 0.5).mode, FramingMode::Wide);
    assert_eq!(at(28.5).mode, FramingMode::Wide);
    // The ball coming back is known ahead: the camera goes to it before it appears.
    assert_eq!(at(29.5).mode, FramingMode::Ball);
    assert_eq!(at(35.0).mode, FramingMode::Ball);
    // The camera settles on the players' centre (within the dead zone) ...
    let (plon, plat) = rig.lonlat(70.0, 40.0, 0.0);
    let p = at(19.5).pose();
    assert!(
        (p.yaw - plon).abs() < 6.0 && (p.pitch - plat).abs() < 4.0,
        "{p:?} vs {plon} {plat}"
    );
    // ... then on the wide shot.
    let wide = rig.wide_pose();
    let p = at(27.5).pose();
    assert!((p.yaw - wide.yaw).abs() < 1.0, "{p:?} vs {wide:?}");
    assert!((p.pitch - wide.pitch).abs() < 1.0, "{p:?} vs {wide:?}");
    assert!(p.fov > wide.fov - 2.0, "{p:?} vs {wide:?}");
    assert_within_bounds(&run.frames, &cfg, "fallbacks");
}

#[test]
fn short_gaps_are_bridged_with_the_future_position() {
    let cfg = cfg();
    let rig = rig(&cfg);
    // The ball rolls from x=30 to x=70 m in 8 s with a 1.5 s gap in the middle.
    let input = touchline_director::replay::ReplayInput {
        tracks: (0..500u64)
            .map(|i| {
                let t = i as f64 * 0.04;
                let x = 30.0 + 5.0 * t.min(8.0);
                let seen = !(4.0..5.5).contains(&t);
                tracks(
                    i * 40 * NS_PER_MS,
                    seen.then(|| ball_at(&rig, x, 34.0)),
                    None,
                )
            })
            .collect(),
        ..Default::default()
    };
    let run = run_planner(&input, &cfg, &rig, |_, _| {});
    for f in run.frames.iter().filter(|f| (100..138).contains(&f.k)) {
        assert_eq!(f.mode, FramingMode::Ball, "frame {} not bridged", f.k);
    }
}

#[test]
fn no_tracks_at_all_plans_nothing_and_window_counts_garbage() {
    let cfg = cfg();
    let rig = rig(&cfg);
    let mut p = Planner::new(&cfg, rig.clone());
    assert!(
        p.replan(0, 7_000 * NS_PER_MS).is_some(),
        "plans the wide shot"
    );
    assert!(p.frames().all(|f| f.mode == FramingMode::Wide));
    // Garbage is counted, not used.
    let mut b = ball_at(&rig, 50.0, 30.0);
    b.x_m = f32::NAN;
    p.push_tracks(&tracks(8_000 * NS_PER_MS, Some(b), None));
    let mut b = ball_at(&rig, 50.0, 30.0);
    b.y_m = 5000.0;
    p.push_tracks(&tracks(8_040 * NS_PER_MS, Some(b), None));
    p.push_tracks(&tracks(8_040 * NS_PER_MS, None, None));
    let c = p.window_counters();
    assert_eq!(c.implausible_ball, 2);
    assert_eq!(c.duplicates, 1);
    // Playout time going back (capture restarted) resets the plan instead of panicking.
    p.replan(9_000 * NS_PER_MS, 16_000 * NS_PER_MS);
    p.replan(1_000 * NS_PER_MS, 8_000 * NS_PER_MS);
    assert_eq!(p.counters().timeline_resets, 1);
}

/// A still ball measured until 4 s, then an analyzer prediction running away from it at
/// 20 m/s with its confidence fading (`0.9 e^-t`, as the analyzer reports a coasting ball),
/// and the ball measured again where it lay from 6 s.
fn runaway_prediction(rig: &touchline_director::rig::Rig) -> Vec<shared::messages::Tracks> {
    (0..300u64)
        .map(|i| {
            let t = i as f64 * 0.04;
            let mut b = ball_at(rig, 30.0, 34.0);
            if (4.0..6.0).contains(&t) {
                let since = t - 4.0;
                b = ball_at(rig, 30.0 + 20.0 * since, 34.0);
                b.status = shared::messages::TrackStatus::Predicted;
                b.confidence = (0.9 * (-since).exp()) as f32;
            }
            tracks(i * 40 * NS_PER_MS, Some(b), None)
        })
        .collect()
}

#[test]
fn a_fading_prediction_is_bridged_over_not_followed() {
    let rig = rig(&cfg());
    let (still, _) = rig.lonlat(30.0, 34.0, 0.11);
    let input = touchline_director::replay::ReplayInput {
        tracks: runaway_prediction(&rig),
        ..Default::default()
    };
    // How far the camera turns away from the still ball between 4 and 8 s.
    let away = |min_confidence: f64| {
        let mut cfg = cfg();
        cfg.min_confidence = min_confidence;
        let run = run_planner(&input, &cfg, &rig, |_, _| {});
        assert_within_bounds(&run.frames, &cfg, "runaway prediction");
        run.frames
            .iter()
            .filter(|f| (100..200).contains(&f.k))
            .map(|f| (f.pose().yaw - still).abs())
            .fold(0.0, f64::max)
    };
    let (followed, bridged) = (away(0.2), away(0.6));
    // At 0.2 the prediction is used for 1.5 s (to 60 m); at 0.6 for 0.4 s (to 38 m).
    assert!(
        bridged < 0.5 * followed,
        "turned {bridged:.1} deg away with min_confidence 0.6, {followed:.1} with 0.2"
    );
}
