//! Replay speed: a 90-minute synthetic match (mixed play with detector faults) is written
//! to a recording, then replayed as `director replay` does: read and decode the recording,
//! run the planner over it, compute the metrics and write path.csv, metrics.json and the
//! report. Prints the speed factor (replayed time over wall time).
//!
//! `cargo bench -p touchline-director --bench replay_speed` (add `-- --minutes N` for
//! another length).

use shared::config::DirectorConfig;
use shared::messages::{encode, Message};
use shared::recording::RecordingWriter;
use shared::scene::Scenario;
use std::time::Instant;
use touchline_director::replay::{
    ball_reference, evaluate, load_recording, mode_shares, run_planner, scenario_input,
    SynthOptions,
};
use touchline_director::report::{
    metrics_table, write_metrics_json, write_path_csv, write_report, MetricsFile, ReportData,
};
use touchline_director::rig::Rig;
use touchline_director::synth::TrackFaults;

// Long by design: a benchmark's arguments, runs and printed table, read top to bottom.
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let minutes: f64 = args
        .iter()
        .position(|a| a == "--minutes")
        .and_then(|i| args.get(i + 1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(90.0);
    let cfg = DirectorConfig::default();
    let rig = Rig::from_config(&cfg).expect("built-in calibration");
    let dir = tempfile::tempdir().expect("temp dir");
    let rec = dir.path().join("match.tlrec");

    let t0 = Instant::now();
    let synth = SynthOptions {
        faults: TrackFaults {
            miss_rate: 0.05,
            noise_m: 0.2,
            false_positive_rate: 0.005,
            seed: 90,
        },
        ..Default::default()
    };
    let input = scenario_input(Scenario::Mixed, minutes * 60.0, 90, &rig, &synth).expect("input");
    let mut w =
        RecordingWriter::create(&rec, "bench", "90-minute synthetic match").expect("recording");
    for t in &input.tracks {
        let m = Message::Tracks(t.clone());
        w.write_message(t.pts_ns, m.topic(), &encode(&m).expect("encodes"))
            .expect("write");
    }
    w.finish().expect("finish");
    let setup = t0.elapsed().as_secs_f64();

    // What `director replay --input match.tlrec --out DIR` does, timed.
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).expect("out dir");
    let t1 = Instant::now();
    let input = load_recording(&rec).expect("recording reads");
    let t_read = t1.elapsed().as_secs_f64();
    let run = run_planner(&input, &cfg, &rig, |_, _| {});
    let t_plan = t1.elapsed().as_secs_f64() - t_read;
    let frames = run.frame_pts();
    let poses = run.poses();
    let m = evaluate(&input, &rig, &cfg, &frames, &poses);
    let ball = ball_reference(&input, &rig, &frames);
    write_path_csv(&out.join("path.csv"), &run.frames, run.step_ns, &ball).expect("csv");
    let table = metrics_table(&m, None);
    write_report(
        &out,
        &ReportData {
            title: "bench",
            t: frames.iter().map(|&p| p as f64 / 1e9).collect(),
            ours: poses,
            old_rules: None,
            naive: None,
            ball: &ball,
            metrics_table: table.clone(),
        },
    )
    .expect("report");
    let wall = t1.elapsed().as_secs_f64();
    write_metrics_json(
        &out.join("metrics.json"),
        &MetricsFile {
            input: &input.stats,
            faults: None,
            config: &cfg,
            planner: &m,
            baselines: None,
            counters: &run.counters,
            window: &run.window,
            modes: mode_shares(&run.frames).to_vec(),
            wall_s: wall,
            speed_factor: input.stats.duration_s / wall,
        },
    )
    .expect("metrics");
    let replayed = input.stats.duration_s;
    println!(
        "replay_speed: {:.0} min of tracks ({} frames, {} replans)",
        replayed / 60.0,
        run.frames.len(),
        run.counters.replans
    );
    println!("  input generation (not timed): {setup:.2} s");
    println!("  read + decode recording:      {t_read:.2} s");
    println!("  planner:                      {t_plan:.2} s");
    println!("  total replay (with metrics and outputs): {wall:.2} s");
    println!(
        "  speed factor: {:.0}x real time (target >= 50x)",
        replayed / wall
    );
    println!("{table}");
}
