//! A ball seen moving by the motion cue alone (`analyzer.motion_seeds`). After a shot the
//! detector may not see the ball for seconds while the cue sees it in frame after frame; the
//! cue cannot start a track from one sighting (a moving sock is a ball to it), but three on
//! one straight line at ball speed, while the reported ball goes unmeasured, can.

mod common;

use analyzer::geom::PitchModel;
use analyzer::Analyzer;
use common::{ball_at, ball_of, cal, frame};
use shared::config::AnalyzerConfig;
use shared::messages::{BallState, RawDetections, TrackStatus};
use shared::scene::BALL_RADIUS_M;

const DT: f64 = 0.04;

fn cue(pts_s: f64, dets: Vec<shared::messages::Detection>) -> RawDetections {
    let mut f = frame(pts_s, dets);
    f.motion = true;
    f
}

/// A ball lying still at (40, 30) seen by the detector for a second, then unseen for 0.8 s
/// (the cue sees nothing: a still ball), then struck from (20, 40) at 20 m/s towards the
/// goal, seen by the cue alone in every frame for 0.6 s. Returns the reports of the shot's
/// frames with where the ball was.
fn shot(motion_seeds: bool) -> Vec<(Option<BallState>, f64)> {
    let cal = cal();
    let cfg = AnalyzerConfig {
        motion_seeds,
        ..AnalyzerConfig::default()
    };
    let mut a = Analyzer::new(&cfg, PitchModel::new(cal.clone()));
    let mut t = 0.0;
    for _ in 0..25 {
        ball_of(
            &mut a,
            &frame(t, vec![ball_at(&cal, 40.0, 30.0, BALL_RADIUS_M, 0.9)]),
        );
        t += DT;
    }
    for _ in 0..20 {
        ball_of(&mut a, &cue(t, vec![]));
        t += DT;
    }
    let mut out = Vec::new();
    for k in 0..15 {
        let x = 20.0 - 20.0 * DT * k as f64;
        let b = ball_of(
            &mut a,
            &cue(t, vec![ball_at(&cal, x, 40.0, BALL_RADIUS_M, 0.5)]),
        );
        out.push((b, x));
        t += DT;
    }
    out
}

fn near(b: &Option<BallState>, x: f64) -> bool {
    b.as_ref().is_some_and(|b| {
        b.status != TrackStatus::Lost && (b.x_m as f64 - x).hypot(b.y_m as f64 - 40.0) < 1.5
    })
}

#[test]
fn a_shot_seen_by_the_cue_alone_is_followed_with_motion_seeds() {
    let on = shot(true);
    // From the third sighting on, the ball is reported where it is.
    let followed = on[2..].iter().filter(|(b, x)| near(b, *x)).count();
    assert!(
        followed >= on.len() - 3,
        "followed in {followed} of {} frames after the third sighting: {:?}",
        on.len() - 2,
        on.iter()
            .map(|(b, x)| (b.as_ref().map(|b| (b.x_m, b.y_m, b.status)), *x))
            .collect::<Vec<_>>()
    );
}

#[test]
fn without_motion_seeds_the_cue_starts_nothing() {
    let off = shot(false);
    let followed = off.iter().filter(|(b, x)| near(b, *x)).count();
    assert_eq!(
        followed, 0,
        "the cue alone started a track with motion_seeds off"
    );
}

#[test]
fn a_sock_going_back_and_forth_starts_nothing() {
    // Sightings 3 px apart, changing direction every frame: no straight line at ball speed.
    let cal = cal();
    let cfg = AnalyzerConfig {
        motion_seeds: true,
        ..AnalyzerConfig::default()
    };
    let mut a = Analyzer::new(&cfg, PitchModel::new(cal.clone()));
    let mut t = 0.0;
    for k in 0..25 {
        let x = 30.0 + if k % 2 == 0 { 0.0 } else { 0.6 };
        let y = 20.0 + 0.3 * (k % 3) as f64;
        let b = ball_of(
            &mut a,
            &cue(t, vec![ball_at(&cal, x, y, BALL_RADIUS_M, 0.5)]),
        );
        assert!(
            b.as_ref().is_none_or(|b| b.status == TrackStatus::Lost),
            "frame {k}: a track from a sock: {b:?}"
        );
        t += DT;
    }
}
