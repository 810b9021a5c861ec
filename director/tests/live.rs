//! Live mode end to end: the director process between a fake capture (playout status,
//! path subscriber) and a fake analyzer (tracks, snapshot replier), killed and restarted.

mod common;

use common::*;
use shared::messages::{CameraPath, Message, PlayoutStatus, SnapshotKind, Tracks};
use shared::scene::Scenario;
use shared::transport::{
    Endpoint, Publisher, PublisherOptions, Replier, Subscriber, SubscriberOptions,
};
use std::collections::VecDeque;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

const DELAY_MS: u64 = 2000;

fn start_director(config: &std::path::Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_director"))
        .arg("--config")
        .arg(config)
        .env("RUST_LOG", "warn")
        .spawn()
        .expect("director starts")
}

struct Fakes {
    status: Publisher,
    tracks: Publisher,
    snapshots: Replier,
    paths: Subscriber,
    history: VecDeque<Tracks>,
    next: usize,
}

impl Fakes {
    /// Runs the fakes for `secs` of wall time from `origin` (pts 0), collecting paths.
    async fn run(
        &mut self,
        input: &[Tracks],
        origin: Instant,
        secs: f64,
        paths: &mut Vec<CameraPath>,
    ) {
        let until = Instant::now() + Duration::from_secs_f64(secs);
        let mut last_status = Instant::now() - Duration::from_secs(2);
        while Instant::now() < until {
            let live = origin.elapsed().as_nanos() as u64;
            while self.next < input.len() && input[self.next].pts_ns <= live {
                let t = input[self.next].clone();
                self.tracks.publish(&Message::Tracks(t.clone())).unwrap();
                self.history.push_back(t);
                self.next += 1;
            }
            if last_status.elapsed() >= Duration::from_millis(500) {
                last_status = Instant::now();
                let s = PlayoutStatus {
                    live_pts: live,
                    playout_pts: live.saturating_sub(DELAY_MS * 1_000_000),
                    ring_depth: 50,
                    ring_capacity: 60,
                    fallback_active: false,
                    frames_in: 0,
                    frames_out: 0,
                    frames_dropped: 0,
                    frames_late: 0,
                    pose: None,
                    path_id: 0,
                    outputs: Vec::new(),
                    cameras: Vec::new(),
                    recording: Default::default(),
                };
                self.status.publish(&Message::PlayoutStatus(s)).unwrap();
            }
            tokio::select! {
                r = self.paths.recv() => {
                    if let Some(Message::CameraPath(p)) = r.map(|r| r.message) {
                        paths.push(p);
                    }
                }
                req = self.snapshots.recv() => {
                    if let Some(req) = req {
                        let since = match &req.message {
                            Message::SnapshotRequest(r) if r.kind == SnapshotKind::Tracks => r.since_pts_ns,
                            _ => u64::MAX,
                        };
                        let hist: VecDeque<Tracks> = self.history.iter().filter(|t| t.pts_ns >= since).cloned().collect();
                        req.reply(Message::SnapshotReply(touchline_director::publish::snapshot_reply(&hist, since)));
                    }
                }
                _ = tokio::time::sleep(Duration::from_millis(10)) => {}
            }
        }
    }
}

#[tokio::test(flavor = "current_thread")]
async fn publishes_paths_and_continues_them_after_a_kill() {
    let dir = tempfile::Builder::new()
        .prefix("tld")
        .tempdir_in("/tmp")
        .unwrap();
    let config = dir.path().join("touchline.toml");
    std::fs::write(
        &config,
        format!(
            "[runtime]\ndir = \"{}\"\n[playout]\ndelay_s = {}\n[director]\nreplan_period_ms = 100\ncommit_guard_ms = 100\nplayout_wait_ms = 500\n",
            dir.path().display(),
            DELAY_MS as f64 / 1000.0
        ),
    )
    .unwrap();
    let ep = |name: &str| Endpoint::ipc_in(dir.path(), name);
    let mut fakes = Fakes {
        status: Publisher::bind(
            "capture-pub",
            &ep("capture-pub.sock"),
            PublisherOptions::default(),
        )
        .await
        .unwrap(),
        tracks: Publisher::bind(
            "analyzer-pub",
            &ep("analyzer-pub.sock"),
            PublisherOptions::default(),
        )
        .await
        .unwrap(),
        snapshots: Replier::bind(
            "analyzer-rep",
            &ep("analyzer-rep.sock"),
            Duration::from_secs(1),
        )
        .await
        .unwrap(),
        paths: Subscriber::bind(
            "capture-paths",
            &ep("capture-paths.sock"),
            SubscriberOptions {
                topics: vec!["path".into()],
                channel_capacity: 1024,
            },
        )
        .await
        .unwrap(),
        history: VecDeque::new(),
        next: 0,
    };
    let input = scenario(Scenario::Passes, 60.0, 8, faults(8)).tracks;
    let origin = Instant::now();
    let mut first = Vec::new();
    let mut child = start_director(&config);
    fakes.run(&input, origin, 7.0, &mut first).await;
    // Kill it without warning, restart it.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    child.wait().unwrap();
    assert!(
        dir.path().join("director-plan.json").exists(),
        "checkpoint written"
    );
    let mut second = Vec::new();
    let mut child = start_director(&config);
    fakes.run(&input, origin, 5.0, &mut second).await;
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    );
    // At work (subscribed, planning, publishing), it stops within 2 s.
    let status = shared::process::wait_exit(&mut child, Duration::from_secs(2))
        .unwrap()
        .expect("director stops within 2 s of SIGTERM");
    assert!(
        status.success(),
        "director exits cleanly on SIGTERM: {status:?}"
    );

    assert!(first.len() > 20, "paths before the kill: {}", first.len());
    assert!(
        second.len() > 10,
        "paths after the restart: {}",
        second.len()
    );
    for p in first.iter().chain(&second) {
        assert!(
            p.keyframes
                .windows(2)
                .all(|w| w[1].pts_ns == w[0].pts_ns + 40_000_000),
            "contiguous keyframes"
        );
        // A path covers about the delay.
        let span = p.keyframes.last().unwrap().pts_ns - p.keyframes[0].pts_ns;
        assert!(span <= (DELAY_MS + 500) * 1_000_000, "span {span}");
    }
    // The first path after the restart continues the last one before it: where both have
    // a keyframe, they agree (the saved plan was taken over).
    let last = first.last().unwrap();
    let next = &second[0];
    let anchor = next.keyframes[0];
    let before = last.keyframes.iter().find(|k| k.pts_ns == anchor.pts_ns);
    if let Some(b) = before {
        assert!(
            (b.yaw - anchor.yaw).abs() < 0.05
                && (b.pitch - anchor.pitch).abs() < 0.05
                && (b.fov - anchor.fov).abs() < 0.05,
            "restart moved the path: {b:?} -> {anchor:?}"
        );
    } else {
        panic!(
            "the new path starts at {} beyond the old one's end",
            anchor.pts_ns
        );
    }
}

#[tokio::test(flavor = "current_thread")]
async fn replay_publish_feeds_tracks_and_answers_snapshots() {
    let dir = tempfile::Builder::new()
        .prefix("tlp")
        .tempdir_in("/tmp")
        .unwrap();
    let config = dir.path().join("touchline.toml");
    std::fs::write(
        &config,
        format!("[runtime]\ndir = \"{}\"\n", dir.path().display()),
    )
    .unwrap();
    let ep = |name: &str| Endpoint::ipc_in(dir.path(), name);
    let mut child = Command::new(env!("CARGO_BIN_EXE_director"))
        .args([
            "replay",
            "--publish",
            "--scenario",
            "passes",
            "--duration-s",
            "6",
            "--speed",
            "2",
            "--config",
        ])
        .arg(&config)
        .env("RUST_LOG", "warn")
        .spawn()
        .unwrap();
    let mut sub = Subscriber::connect(
        "test-tracks",
        &[ep("analyzer-pub.sock")],
        SubscriberOptions {
            topics: vec!["tracks".into()],
            channel_capacity: 4096,
        },
    );
    let mut got = 0u64;
    let mut answered = false;
    let until = Instant::now() + Duration::from_secs(6);
    while Instant::now() < until {
        if let Ok(Some(r)) = tokio::time::timeout(Duration::from_millis(100), sub.recv()).await {
            if matches!(r.message, Message::Tracks(_)) {
                got += 1;
            }
        }
        if got > 25 && !answered {
            let req =
                shared::transport::Requester::new(&ep("analyzer-rep.sock"), Default::default());
            let reply = req
                .request(&Message::SnapshotRequest(
                    shared::messages::SnapshotRequest {
                        kind: SnapshotKind::Tracks,
                        since_pts_ns: 0,
                    },
                ))
                .await
                .unwrap();
            match reply {
                Message::SnapshotReply(r) => assert!(!r.tracks.is_empty()),
                other => panic!("{other:?}"),
            }
            answered = true;
        }
    }
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    assert!(answered);
    // 6 s at 25 fps, played at twice real time; the subscriber joins a little late.
    assert!(got > 75, "{got} tracks received");
}
