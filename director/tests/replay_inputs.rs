//! Replay inputs: determinism, and damaged inputs giving a clear error or a counted skip,
//! never a panic (library and command line).

mod common;

use common::*;
use shared::messages::{encode, Heartbeat, Message};
use shared::recording::RecordingWriter;
use shared::scene::Scenario;
use std::path::Path;
use std::process::Command;
use touchline_director::replay::{load_input, load_recording, ReplayError, SynthOptions};

fn director() -> Command {
    Command::new(env!("CARGO_BIN_EXE_director"))
}

fn write_recording(path: &Path, tracks: &[shared::messages::Tracks], extra_heartbeats: bool) {
    let mut w = RecordingWriter::create(path, "test", "director tests").unwrap();
    for (i, t) in tracks.iter().enumerate() {
        let m = Message::Tracks(t.clone());
        w.write_message(i as u64, m.topic(), &encode(&m).unwrap())
            .unwrap();
        if extra_heartbeats && i % 25 == 0 {
            let hb = Message::Heartbeat(Heartbeat {
                process: "analyzer".into(),
                pid: 1,
                seq: i as u64,
                uptime_ms: 0,
                problem: None,
                metrics: Default::default(),
            });
            w.write_message(i as u64, hb.topic(), &encode(&hb).unwrap())
                .unwrap();
        }
    }
    w.finish().unwrap();
}

#[test]
fn same_input_and_config_give_a_byte_identical_path_file() {
    let d = tempfile::tempdir().unwrap();
    let run = |out: &str| {
        let o = director()
            .args([
                "replay",
                "--scenario",
                "mixed",
                "--duration-s",
                "60",
                "--miss-rate",
                "0.1",
                "--noise-m",
                "0.3",
                "--false-positive-rate",
                "0.01",
                "--seed",
                "4",
                "--no-progress",
                "--out",
            ])
            .arg(d.path().join(out))
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        std::fs::read(d.path().join(out).join("path.csv")).unwrap()
    };
    let (a, b) = (run("a"), run("b"));
    assert!(a.len() > 1000);
    assert_eq!(a, b, "path.csv differs between two identical runs");
    // A recording of the same tracks replays identically too, and gives the same path as
    // the in-memory tracks.
    let input = scenario(Scenario::Mixed, 60.0, 4, faults(4));
    let rec = d.path().join("m.tlrec");
    write_recording(&rec, &input.tracks, true);
    let replay_rec = |out: &str| {
        let o = director()
            .args(["replay", "--no-progress", "--input"])
            .arg(&rec)
            .arg("--out")
            .arg(d.path().join(out))
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        std::fs::read(d.path().join(out).join("path.csv")).unwrap()
    };
    assert_eq!(replay_rec("r1"), replay_rec("r2"));
    let loaded = load_recording(&rec).unwrap();
    assert_eq!(loaded.tracks, input.tracks);
    assert_eq!(
        loaded.stats.other_records,
        input.tracks.len().div_ceil(25) as u64
    );
    for f in ["metrics.json", "report.html", "path.svg"] {
        assert!(d.path().join("r1").join(f).exists(), "{f}");
    }
}

#[test]
fn truncated_recording_replays_what_is_complete() {
    let d = tempfile::tempdir().unwrap();
    let input = scenario(Scenario::Passes, 30.0, 1, Default::default());
    let rec = d.path().join("t.tlrec");
    write_recording(&rec, &input.tracks, false);
    let bytes = std::fs::read(&rec).unwrap();
    std::fs::write(&rec, &bytes[..bytes.len() - 17]).unwrap();
    let loaded = load_recording(&rec).unwrap();
    assert_eq!(loaded.tracks.len(), input.tracks.len() - 1);
    assert!(loaded
        .stats
        .damaged_tail
        .as_deref()
        .unwrap()
        .contains("cut short"));
    let o = director()
        .args(["replay", "--no-progress", "--input"])
        .arg(&rec)
        .arg("--out")
        .arg(d.path().join("o"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.path().join("o/metrics.json")).unwrap()).unwrap();
    assert!(m["input"]["damaged_tail"]
        .as_str()
        .unwrap()
        .contains("cut short"));
}

#[test]
fn corrupt_records_are_counted_and_skipped() {
    let d = tempfile::tempdir().unwrap();
    let input = scenario(Scenario::Passes, 20.0, 1, Default::default());
    let rec = d.path().join("c.tlrec");
    let mut w = RecordingWriter::create(&rec, "test", "").unwrap();
    for (i, t) in input.tracks.iter().enumerate() {
        let m = Message::Tracks(t.clone());
        let mut payload = encode(&m).unwrap();
        if i % 50 == 7 {
            payload.truncate(payload.len() / 2); // a record whose payload does not decode
        }
        w.write_message(0, "tracks", &payload).unwrap();
    }
    w.finish().unwrap();
    // Garbage after the last record: a corrupt tail.
    let mut bytes = std::fs::read(&rec).unwrap();
    bytes.extend_from_slice(&5u32.to_le_bytes());
    bytes.extend_from_slice(&[0xc1; 5]);
    std::fs::write(&rec, &bytes).unwrap();
    let loaded = load_recording(&rec).unwrap();
    assert_eq!(
        loaded.stats.decode_errors,
        (0..input.tracks.len()).filter(|i| i % 50 == 7).count() as u64
    );
    assert!(loaded.stats.damaged_tail.is_some());
}

#[test]
fn empty_or_foreign_recordings_are_clear_errors() {
    let d = tempfile::tempdir().unwrap();
    let cfg = cfg();
    let rig = rig(&cfg);
    // A valid recording with no records.
    let empty = d.path().join("e.tlrec");
    write_recording(&empty, &[], false);
    let e = load_input(&empty, &rig, &SynthOptions::default(), false).unwrap_err();
    assert!(matches!(e, ReplayError::NoTracks { records: 0, .. }), "{e}");
    assert!(e.to_string().contains("no usable tracks"), "{e}");
    // A recording with only heartbeats.
    let hb = d.path().join("h.tlrec");
    let mut w = RecordingWriter::create(&hb, "test", "").unwrap();
    let m = Message::Heartbeat(Heartbeat {
        process: "x".into(),
        pid: 1,
        seq: 0,
        uptime_ms: 0,
        problem: None,
        metrics: Default::default(),
    });
    w.write_message(0, m.topic(), &encode(&m).unwrap()).unwrap();
    w.finish().unwrap();
    let e = load_input(&hb, &rig, &SynthOptions::default(), false)
        .unwrap_err()
        .to_string();
    assert!(e.contains("1 of other kinds"), "{e}");
    // A header cut short: the recording's own error.
    let bytes = std::fs::read(&empty).unwrap();
    let cut = d.path().join("cut.tlrec");
    std::fs::write(&cut, &bytes[..10]).unwrap();
    let e = load_input(&cut, &rig, &SynthOptions::default(), false)
        .unwrap_err()
        .to_string();
    assert!(e.contains("header"), "{e}");
    // An empty file is an empty CSV: a clear error.
    let zero = d.path().join("zero");
    std::fs::write(&zero, b"").unwrap();
    let e = load_input(&zero, &rig, &SynthOptions::default(), false)
        .unwrap_err()
        .to_string();
    assert!(e.contains("no usable rows"), "{e}");
    // Missing file.
    let e = load_input(
        &d.path().join("nope"),
        &rig,
        &SynthOptions::default(),
        false,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("nope"), "{e}");
    // The command line says so and exits non-zero, without a panic.
    for f in [&empty, &cut, &zero] {
        let o = director()
            .args(["replay", "--no-progress", "--input"])
            .arg(f)
            .arg("--out")
            .arg(d.path().join("o"))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success());
        assert!(!err.contains("panicked"), "{err}");
        assert!(err.contains(&*f.display().to_string()), "{err}");
    }
}

#[test]
fn csv_with_bad_rows_is_an_error_or_a_counted_skip() {
    let d = tempfile::tempdir().unwrap();
    let csv = d.path().join("traj.csv");
    let mut text = String::from("t_s,x_m,y_m,z_m\n");
    for i in 0..1500 {
        let t = i as f64 * 0.02;
        text.push_str(&format!(
            "{t:.2},{:.2},{:.2},0.11\n",
            30.0 + t,
            20.0 + 0.5 * t
        ));
        if i == 300 {
            text.push_str("6.01,abc,3,0\n");
        }
        if i == 600 {
            text.push_str("12.01,1,2\n");
        }
    }
    std::fs::write(&csv, &text).unwrap();
    let cfg = cfg();
    let rig = rig(&cfg);
    let e = load_input(&csv, &rig, &SynthOptions::default(), false)
        .unwrap_err()
        .to_string();
    assert!(e.contains("line 303") && e.contains("not a number"), "{e}");
    let ok = load_input(&csv, &rig, &SynthOptions::default(), true).unwrap();
    assert_eq!(ok.stats.skipped_rows, 2);
    assert!(ok.truth.is_some());
    let o = director()
        .args(["replay", "--no-progress", "--input"])
        .arg(&csv)
        .arg("--out")
        .arg(d.path().join("o"))
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("line 303"));
    let o = director()
        .args([
            "replay",
            "--no-progress",
            "--skip-bad-rows",
            "--miss-rate",
            "0.1",
            "--input",
        ])
        .arg(&csv)
        .arg("--out")
        .arg(d.path().join("o"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.path().join("o/metrics.json")).unwrap()).unwrap();
    assert_eq!(m["input"]["skipped_rows"], 2);
    assert!(m["planner"]["ball_in_frame_pct"].as_f64().unwrap() > 99.0);
    // Bad flags are usage errors.
    let o = director()
        .args(["replay", "--miss-rate", "2", "--input"])
        .arg(&csv)
        .arg("--out")
        .arg(d.path().join("o"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn help_mentions_config_and_touchline() {
    let o = director().arg("--help").output().unwrap();
    let s = String::from_utf8_lossy(&o.stdout);
    assert!(
        s.contains("--config") && s.contains("Touchline") && s.contains("replay"),
        "{s}"
    );
    let o = director().args(["replay", "--help"]).output().unwrap();
    let s = String::from_utf8_lossy(&o.stdout);
    for flag in [
        "--input",
        "--out",
        "--publish",
        "--miss-rate",
        "--noise-m",
        "--false-positive-rate",
        "--seed",
        "--config",
    ] {
        assert!(s.contains(flag), "{flag} missing in {s}");
    }
}
