//! Kicks seen once. A candidate outside a followed ball's gate may be the ball kicked; taken
//! as such, its velocity rests on that one measurement. A false candidate next to a still
//! ball (a boot, a sock) read as a kick sends the prediction off at tens of metres a second;
//! such a hypothesis coasts for half a second at most, while a kick seen twice coasts as
//! long as any moving ball.

mod common;

use analyzer::geom::PitchModel;
use analyzer::Analyzer;
use common::{ball_at, ball_of, cal, frame};
use shared::config::AnalyzerConfig;
use shared::messages::TrackStatus;
use shared::scene::BALL_RADIUS_M;

const DT: f64 = 0.04;

/// A ball lying still at (40, 30), seen in every frame for a second.
fn still_ball(a: &mut Analyzer) -> f64 {
    let cal = cal();
    let mut t = 0.0;
    for _ in 0..25 {
        let b = ball_of(
            a,
            &frame(t, vec![ball_at(&cal, 40.0, 30.0, BALL_RADIUS_M, 0.9)]),
        );
        t += DT;
        assert!(b.is_some());
    }
    t
}

#[test]
fn a_false_candidate_next_to_a_still_ball_does_not_send_it_flying() {
    let cal = cal();
    let mut a = Analyzer::new(&AnalyzerConfig::default(), PitchModel::new(cal.clone()));
    let mut t = still_ball(&mut a);
    // The ball is hidden; a boot 2 m away is taken for it once.
    ball_of(
        &mut a,
        &frame(t, vec![ball_at(&cal, 42.0, 30.0, BALL_RADIUS_M, 0.8)]),
    );
    t += DT;
    // Then nothing for 2 s: no report may run off with the boot's "kick".
    let mut worst: f64 = 0.0;
    for _ in 0..50 {
        if let Some(b) = ball_of(&mut a, &frame(t, vec![])) {
            if b.status != TrackStatus::Lost {
                let e = ((b.x_m as f64 - 40.0).powi(2) + (b.y_m as f64 - 30.0).powi(2)).sqrt();
                worst = worst.max(e);
            }
        }
        t += DT;
    }
    assert!(
        worst < 6.0,
        "a report {worst:.1} m from the still ball after one false candidate next to it"
    );
}

#[test]
fn a_kick_seen_twice_is_followed_through_a_gap() {
    let cal = cal();
    let mut a = Analyzer::new(&AnalyzerConfig::default(), PitchModel::new(cal.clone()));
    let mut t = still_ball(&mut a);
    // Kicked at 20 m/s along x, seen in the next three frames.
    let mut x = 40.0;
    for _ in 0..3 {
        x += 20.0 * DT;
        let b = ball_of(
            &mut a,
            &frame(t, vec![ball_at(&cal, x, 30.0, BALL_RADIUS_M, 0.9)]),
        );
        assert_eq!(b.map(|b| b.status), Some(TrackStatus::Tracked));
        t += DT;
    }
    // Hidden for a second: still predicted along its way (it slows down on the grass).
    let mut last = None;
    for _ in 0..25 {
        last = ball_of(&mut a, &frame(t, vec![]));
        t += DT;
    }
    let b = last.expect("a report");
    assert_eq!(b.status, TrackStatus::Predicted, "{b:?}");
    assert!(b.x_m > 55.0, "predicted at x = {:.1} m: {b:?}", b.x_m);
}
