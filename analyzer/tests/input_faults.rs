//! Malformed or out-of-order input is handled and counted, never a crash; memory stays
//! bounded over a two-hour run; replays of recordings written through `RecordingWriter`.

mod common;

use analyzer::geom::PitchModel;
use analyzer::replay::replay;
use analyzer::static_fp::MAX_CELLS;
use analyzer::synth::{DetectorFaults, MissBursts, StreamSpec, SynthStream};
use analyzer::{Analyzer, Dropped, Outcome};
use common::cal;
use shared::config::AnalyzerConfig;
use shared::messages::{encode, Detection, Heartbeat, Message, RawDetections, TrackStatus};
use shared::recording::{RecordingReader, RecordingWriter};
use shared::scene::Scenario;

fn analyzer() -> Analyzer {
    Analyzer::new(&AnalyzerConfig::default(), PitchModel::new(cal()))
}

fn frames(seconds: f64, seed: u64) -> Vec<RawDetections> {
    SynthStream::new(
        StreamSpec {
            scenario: Scenario::Passes,
            duration_s: seconds,
            rate_hz: 25.0,
            seed,
            faults: DetectorFaults::default(),
        },
        &cal(),
    )
    .map(|f| f.dets)
    .collect()
}

#[test]
fn duplicates_and_late_frames_are_dropped_and_counted() {
    let mut a = analyzer();
    let f = frames(2.0, 1);
    assert!(matches!(a.process(&f[0]), Outcome::Analysed(_)));
    assert!(matches!(a.process(&f[1]), Outcome::Analysed(_)));
    assert_eq!(a.process(&f[1]), Outcome::Dropped(Dropped::Duplicate));
    assert_eq!(a.process(&f[0]), Outcome::Dropped(Dropped::OutOfOrder));
    assert!(matches!(a.process(&f[2]), Outcome::Analysed(_)));
    let c = a.counters();
    assert_eq!((c.frames_in, c.frames_analysed), (5, 3));
    assert_eq!((c.duplicate_frames, c.out_of_order_frames), (1, 1));
    assert_eq!(a.history().len(), 3);
}

#[test]
fn capture_restart_resets_and_tracking_resumes() {
    let mut a = analyzer();
    let f = frames(20.0, 2);
    let mut tracked_before = 0;
    for fr in &f[..250] {
        if let Outcome::Analysed(t) = a.process(fr) {
            tracked_before += t.ball.is_some() as u32;
        }
    }
    assert!(tracked_before > 200);
    // Capture restarts: pts starts again from zero (the second half of the stream, shifted).
    let t0 = f[250].pts_ns;
    let mut after = Vec::new();
    for (k, fr) in f[250..].iter().enumerate() {
        let mut fr = fr.clone();
        fr.pts_ns -= t0;
        if let Outcome::Analysed(t) = a.process(&fr) {
            after.push(t);
        }
        if k == 0 {
            // Nothing from the old time line: every lineage was born in this frame.
            let lineages = a.tracker().lineages();
            assert!(
                lineages.iter().all(|l| l.age == 0),
                "the tracker starts over"
            );
        }
    }
    assert_eq!(a.counters().capture_restarts, 1);
    assert_eq!(
        after.len(),
        f.len() - 250,
        "every frame after the restart is analysed"
    );
    // At most this frame's own detection (one confident candidate is reported at once).
    assert!(
        after[0]
            .ball
            .as_ref()
            .is_none_or(|b| b.status == TrackStatus::Tracked),
        "the tracker starts over: {:?}",
        after[0].ball
    );
    assert!(after.iter().filter(|t| t.ball.is_some()).count() > 200);
    assert!(
        a.history().iter().all(|t| t.pts_ns < f[250].pts_ns),
        "old time line forgotten"
    );
}

#[test]
fn malformed_detections_are_counted_never_a_crash() {
    let mut a = analyzer();
    let good = frames(1.0, 3);
    let bad = |cx: f32, w: f32, score: f32, class_id: u16| Detection {
        cx,
        cy: 300.0,
        w,
        h: 5.0,
        class_id,
        score,
        tile: 0,
    };
    let mut f = good[0].clone();
    f.detections = vec![
        bad(f32::NAN, 5.0, 0.9, 1),
        bad(100.0, -5.0, 0.9, 1),
        bad(100.0, 5.0, 7.0, 1),
        bad(f32::INFINITY, 5.0, 0.9, 0),
        bad(100.0, 5.0, 0.9, 99),
        bad(1e30, 1e30, 0.9, 1),
    ];
    assert!(matches!(a.process(&f), Outcome::Analysed(_)));
    assert_eq!(a.counters().malformed_detections, 6);
    // No class list at all, and a huge frame.
    let mut f = good[1].clone();
    f.classes.clear();
    a.process(&f);
    let mut f = good[2].clone();
    f.detections = (0..10_000)
        .map(|i| bad(i as f32 * 0.19, 4.0, 0.5, 1))
        .collect();
    a.process(&f);
    let c = a.counters();
    assert!(c.malformed_detections >= 6 + good[1].detections.len() as u64);
    assert!(c.candidates_capped >= 10_000 - 64);
    assert!(a.tracker().lineages().len() <= AnalyzerConfig::default().max_hypotheses);
    // pts at the extremes.
    let mut f = good[3].clone();
    f.pts_ns = u64::MAX;
    a.process(&f);
    f.pts_ns = 0;
    a.process(&f);
    assert_eq!(a.counters().capture_restarts, 1);
}

#[test]
fn two_hour_run_stays_bounded() {
    // Two hours at 5 Hz analysis, with every fault on, streamed (36 000 frames).
    let cfg = AnalyzerConfig::default();
    let mut a = Analyzer::new(&cfg, PitchModel::new(cal()));
    let spec = StreamSpec {
        scenario: Scenario::Mixed,
        duration_s: 7200.0,
        rate_hz: 5.0,
        seed: 9,
        faults: DetectorFaults {
            pixel_noise: 2.0,
            miss_bursts: Some(MissBursts {
                mean_gap_s: 10.0,
                max_s: 2.0,
            }),
            static_fps: vec![(20.0, 10.0), (80.0, 50.0)],
            random_fp_per_frame: 1.0,
            ..DetectorFaults::default()
        },
    };
    let history_bound = a.history().capacity_bound();
    let mut n = 0u64;
    let mut max_history = 0;
    let mut max_lineages = 0;
    let mut max_cells = 0;
    for f in SynthStream::new(spec, &cal()) {
        a.process(&f.dets);
        n += 1;
        max_history = max_history.max(a.history().len());
        max_lineages = max_lineages.max(a.tracker().lineages().len());
        max_cells = max_cells.max(a.suppressor().cells());
    }
    assert_eq!(n, 36_000);
    assert_eq!(a.counters().frames_analysed, 36_000);
    // 15 s at 5 Hz, plus the frame that closes the window.
    assert!(
        max_history <= 76 && max_history <= history_bound,
        "{max_history}"
    );
    assert!(max_lineages <= cfg.max_hypotheses, "{max_lineages}");
    assert!(max_cells <= MAX_CELLS, "{max_cells}");
    let c = a.counters();
    assert!(c.ball_tracked > 18_000, "{c:?}");
    eprintln!("two-hour run: {c:?}; max history {max_history}, lineages {max_lineages}, static cells {max_cells}");
}

#[test]
fn replay_of_a_recording_writes_tracks_for_every_frame() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.tlrec");
    let output = dir.path().join("out.tlrec");
    let f = frames(30.0, 4);
    let mut w = RecordingWriter::create(&input, "test", "synthetic dets").unwrap();
    for (i, fr) in f.iter().enumerate() {
        let m = Message::RawDetections(fr.clone());
        w.write_message(fr.pts_ns, m.topic(), &encode(&m).unwrap())
            .unwrap();
        if i % 25 == 0 {
            let hb = Message::Heartbeat(Heartbeat {
                process: "capture".into(),
                pid: 1,
                seq: i as u64,
                uptime_ms: 0,
                problem: None,
                metrics: Default::default(),
            });
            w.write_message(fr.pts_ns, hb.topic(), &encode(&hb).unwrap())
                .unwrap();
        }
    }
    // A late frame (0.4 s back), as a capture glitch would send.
    let m = Message::RawDetections(f[f.len() - 10].clone());
    w.write_message(0, m.topic(), &encode(&m).unwrap()).unwrap();
    w.finish().unwrap();
    // And a record cut short at the end (a crash while recording).
    let mut bytes = std::fs::read(&input).unwrap();
    bytes.extend_from_slice(&500u32.to_le_bytes());
    bytes.extend_from_slice(&[0x80; 10]);
    std::fs::write(&input, bytes).unwrap();

    let mut progress = 0;
    let s = replay(&input, &output, &AnalyzerConfig::default(), 100, |_| {
        progress += 1
    })
    .unwrap();
    assert_eq!(s.records_skipped, 30, "heartbeats are not replayed");
    assert_eq!(s.tracks_written, f.len() as u64);
    assert_eq!(s.counters.out_of_order_frames, 1);
    assert!(s.input_error.is_some());
    assert!(progress >= 7);
    let out: Vec<_> = RecordingReader::open(&output)
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    let tracks: Vec<_> = out
        .iter()
        .filter_map(|r| match r.message().unwrap() {
            Message::Tracks(t) => Some(t),
            _ => None,
        })
        .collect();
    assert_eq!(tracks.len(), f.len());
    assert!(tracks.windows(2).all(|w| w[0].pts_ns < w[1].pts_ns));
    assert!(tracks.iter().filter(|t| t.ball.is_some()).count() > f.len() * 8 / 10);
    // Deterministic: the same replay again gives the same tracks.
    let output2 = dir.path().join("out2.tlrec");
    replay(&input, &output2, &AnalyzerConfig::default(), 0, |_| {}).unwrap();
    let again: Vec<_> = RecordingReader::open(&output2)
        .unwrap()
        .map(|r| r.unwrap().payload)
        .collect();
    assert_eq!(
        again,
        out.iter().map(|r| r.payload.clone()).collect::<Vec<_>>()
    );
}
