//! The analyzer binary over real sockets: raw detections published as capture would, tracks
//! received as the director would, a snapshot request, its own recording, a clean stop.

mod common;

use analyzer::synth::{DetectorFaults, StreamSpec, SynthStream};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use shared::config::SystemConfig;
use shared::messages::{Message, SnapshotKind, SnapshotRequest};
use shared::recording::RecordingReader;
use shared::scene::Scenario;
use shared::transport::{Publisher, PublisherOptions, Requester, Subscriber, SubscriberOptions};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[tokio::test(flavor = "current_thread")]
async fn live_node_publishes_tracks_and_answers_snapshots() {
    // A short path: unix socket paths are limited to 107 bytes.
    let dir = tempfile::Builder::new()
        .prefix("tla")
        .tempdir_in("/tmp")
        .unwrap();
    let rec = dir.path().join("self.tlrec");
    let cfg_path = dir.path().join("t.toml");
    std::fs::write(
        &cfg_path,
        format!(
            "[runtime]\ndir = \"{}\"\n[analyzer]\nlog_interval_s = 1\nrecord_path = \"{}\"\n",
            dir.path().join("rt").display(),
            rec.display()
        ),
    )
    .unwrap();
    let cfg = SystemConfig::load(&cfg_path).unwrap();
    shared::transport::prepare_runtime_dir(&cfg.runtime.dir()).unwrap();
    let eps = cfg.endpoints();
    // Capture's side: the bound publisher of raw detections.
    let capture = Publisher::bind(
        "test-capture",
        &eps.capture_pub,
        PublisherOptions::default(),
    )
    .await
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_analyzer"))
        .arg("--config")
        .arg(&cfg_path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut tracks_sub = Subscriber::connect(
        "test-director",
        std::slice::from_ref(&eps.analyzer_pub),
        SubscriberOptions {
            topics: vec!["tracks".into()],
            channel_capacity: 4096,
        },
    );
    let frames: Vec<_> = SynthStream::new(
        StreamSpec {
            scenario: Scenario::Passes,
            duration_s: 20.0,
            rate_hz: 25.0,
            seed: 5,
            faults: DetectorFaults::default(),
        },
        &common::cal(),
    )
    .collect();
    let started = Instant::now();
    let mut received = Vec::new();
    let mut next = 0;
    // Publish until enough tracks came back (subscribers join late: keep sending).
    while received.len() < 100 && started.elapsed() < Duration::from_secs(20) {
        if next < frames.len() {
            capture
                .publish(&Message::RawDetections(frames[next].dets.clone()))
                .unwrap();
            next += 1;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
        while let Some(r) = tracks_sub.try_recv() {
            if let Message::Tracks(t) = r.message {
                received.push(t);
            }
        }
    }
    assert!(
        received.len() >= 100,
        "only {} tracks received",
        received.len()
    );
    assert!(received.windows(2).all(|w| w[0].pts_ns < w[1].pts_ns));
    assert!(received.iter().filter(|t| t.ball.is_some()).count() > 50);
    assert!(received
        .iter()
        .all(|t| t.players.as_ref().is_some_and(|p| p.count >= 15)));

    let req = Requester::new(&eps.analyzer_rep, cfg.transport.requester_options());
    let reply = req
        .request(&Message::SnapshotRequest(SnapshotRequest {
            kind: SnapshotKind::Tracks,
            since_pts_ns: 0,
        }))
        .await
        .unwrap();
    let Message::SnapshotReply(reply) = reply else {
        panic!("not a snapshot reply: {reply:?}");
    };
    assert_eq!(reply.kind, SnapshotKind::Tracks);
    assert!(!reply.truncated);
    assert!(reply.tracks.len() >= 100, "{}", reply.tracks.len());
    let last = received.last().unwrap().pts_ns;
    assert!(reply.tracks.iter().any(|t| t.pts_ns == last));

    kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).unwrap();
    let status = shared::process::wait_exit(&mut child, Duration::from_secs(2))
        .unwrap()
        .expect("analyzer stops within 2 s of SIGTERM");
    assert!(status.success(), "{status}");
    let records: Vec<_> = RecordingReader::open(&rec)
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    let dets = records.iter().filter(|r| r.topic == "dets").count();
    let tracks = records.iter().filter(|r| r.topic == "tracks").count();
    assert!(
        dets >= 100 && tracks == dets,
        "dets {dets}, tracks {tracks}"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn record_subcommand_writes_what_publishers_send_and_stops_on_sigint() {
    let dir = tempfile::Builder::new()
        .prefix("tlr")
        .tempdir_in("/tmp")
        .unwrap();
    let ep = shared::transport::Endpoint::parse(&format!("ipc://{}/p.sock", dir.path().display()))
        .unwrap();
    let publisher = Publisher::bind("test-pub", &ep, PublisherOptions::default())
        .await
        .unwrap();
    let out = dir.path().join("rec.tlrec");
    let mut child = Command::new(env!("CARGO_BIN_EXE_analyzer"))
        .args(["record", "--connect", &ep.to_string(), "--output"])
        .arg(&out)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let frames: Vec<_> = SynthStream::new(
        StreamSpec {
            scenario: Scenario::Passes,
            duration_s: 4.0,
            rate_hz: 25.0,
            seed: 6,
            faults: DetectorFaults::default(),
        },
        &common::cal(),
    )
    .collect();
    for f in &frames {
        publisher
            .publish(&Message::RawDetections(f.dets.clone()))
            .unwrap();
        tokio::time::sleep(Duration::from_millis(15)).await;
    }
    kill(Pid::from_raw(child.id() as i32), Signal::SIGINT).unwrap();
    let status = shared::process::wait_exit(&mut child, Duration::from_secs(2))
        .unwrap()
        .expect("record stops within 2 s of SIGINT");
    assert!(status.success(), "{status}");
    let records: Vec<_> = RecordingReader::open(&out)
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    // The subscriber joins a little late; most frames are there, decodable, in order.
    assert!(records.len() >= frames.len() / 2, "{}", records.len());
    let pts: Vec<u64> = records
        .iter()
        .map(|r| r.message().unwrap().pts_ns().unwrap())
        .collect();
    assert!(pts.windows(2).all(|w| w[0] < w[1]));
}
