//! The planner against the old prototype's rules and a naive follower, on the same tracks:
//! every scripted scenario, and 10 minutes of mixed play, clean and with detector faults.
//! Prints the tables (`cargo test -p touchline-director --test comparison -- --nocapture`)
//! and asserts the targets on every scenario: ball in frame at least 99.5 % and in the safe
//! zone at least 95 % of in-play time, p99 angular acceleration and hunting count below both
//! baselines.
//! In-play frames with the ball outside the panorama are not judged, and frames where no
//! pose inside the panorama can hold the ball in the safe zone (a lofted ball at its top
//! edge) are judged for "in frame" only; both are counted in the metrics.

mod common;

use common::*;
use shared::scene::Scenario;
use touchline_director::metrics::{table, PathMetrics};
use touchline_director::replay::compare;
use touchline_director::synth::TrackFaults;

fn check(name: &str, ours: &PathMetrics, old: &PathMetrics, naive: &PathMetrics) -> Vec<String> {
    let mut failed = Vec::new();
    if ours.ball_in_frame_pct < 99.5 {
        failed.push(format!(
            "{name}: ball in frame {:.2} % < 99.5 %",
            ours.ball_in_frame_pct
        ));
    }
    if ours.ball_in_safe_zone_pct < 95.0 {
        failed.push(format!(
            "{name}: ball in safe zone {:.2} % < 95 %",
            ours.ball_in_safe_zone_pct
        ));
    }
    if !(ours.accel_deg_s2.p99 < old.accel_deg_s2.p99
        && ours.accel_deg_s2.p99 < naive.accel_deg_s2.p99)
    {
        failed.push(format!(
            "{name}: p99 acceleration {:.1} not below the baselines",
            ours.accel_deg_s2.p99
        ));
    }
    if !(ours.hunting_count < old.hunting_count && ours.hunting_count < naive.hunting_count) {
        failed.push(format!(
            "{name}: hunting {} not below the baselines",
            ours.hunting_count
        ));
    }
    failed
}

fn run(sc: Scenario, secs: f64, faults: TrackFaults) -> (Vec<(String, PathMetrics)>, Vec<String>) {
    let cfg = cfg();
    let input = scenario(sc, secs, 21, faults);
    let c = compare(&input, &cfg, &rig(&cfg));
    let tag = if faults.miss_rate > 0.0 {
        " +faults"
    } else {
        ""
    };
    let name = format!("{}{tag}", sc.name());
    let failed = check(&name, &c.ours, &c.old_rules, &c.naive);
    (
        vec![
            (format!("{name}: director"), c.ours),
            (format!("{name}: old rules"), c.old_rules),
            (format!("{name}: naive"), c.naive),
        ],
        failed,
    )
}

#[test]
fn every_scenario_against_the_baselines() {
    let mut rows = Vec::new();
    let mut failed = Vec::new();
    for sc in Scenario::ALL {
        for f in [TrackFaults::default(), faults(21)] {
            let (r, fl) = run(sc, 300.0, f);
            rows.extend(r);
            failed.extend(fl);
        }
    }
    println!("\nEvery scenario, 300 s each (seed 21; faults: 5 % misses, 0.2 m noise, 0.5 % false positives):\n\n{}", table(&rows));
    assert!(failed.is_empty(), "targets not met:\n{}", failed.join("\n"));
}

#[test]
fn ten_minutes_of_mixed_play_meet_every_target() {
    let mut rows = Vec::new();
    let mut failed = Vec::new();
    for f in [TrackFaults::default(), faults(21)] {
        let (r, fl) = run(Scenario::Mixed, 600.0, f);
        rows.extend(r);
        failed.extend(fl);
    }
    println!("\n10 minutes of mixed play (seed 21):\n\n{}", table(&rows));
    assert!(failed.is_empty(), "targets not met:\n{}", failed.join("\n"));
}
