//! Transport on real sockets: PUB/SUB and REQ/REP over ipc and tcp, subscribers that start
//! before and after the publisher, publisher processes killed and restarted, stale ipc files.

use shared::messages::*;
use shared::transport::*;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

fn free_tcp_endpoint() -> Endpoint {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    Endpoint::parse(&format!("tcp://127.0.0.1:{port}")).unwrap()
}

fn tick(seq: u64) -> Message {
    Message::FrameTick(FrameTick {
        pts_ns: seq * 40_000_000,
        seq,
        width: 1920,
        height: 640,
    })
}

/// Publishes ticks until the subscriber gets one (PUB/SUB joins are asynchronous), then
/// returns the first received tick.
async fn publish_until_received(publisher: &Publisher, sub: &mut Subscriber) -> FrameTick {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seq = 0;
    loop {
        assert!(Instant::now() < deadline, "nothing received within 10 s");
        publisher.publish(&tick(seq)).unwrap();
        seq += 1;
        if let Ok(Some(r)) = tokio::time::timeout(Duration::from_millis(50), sub.recv()).await {
            if let Message::FrameTick(t) = r.message {
                return t;
            }
        }
    }
}

async fn pubsub_roundtrip(ep: Endpoint) {
    let publisher = Publisher::bind("test-pub", &ep, PublisherOptions::default())
        .await
        .unwrap();
    let mut sub = Subscriber::connect("test-sub", &[ep], SubscriberOptions::default());
    let t = publish_until_received(&publisher, &mut sub).await;
    assert_eq!(t.width, 1920);
    assert_eq!(t.pts_ns, t.seq * 40_000_000);
    // Later messages arrive in order.
    for seq in 1000..1010 {
        publisher.publish(&tick(seq)).unwrap();
    }
    let mut got = Vec::new();
    while got.len() < 10 {
        let r = tokio::time::timeout(Duration::from_secs(5), sub.recv())
            .await
            .unwrap()
            .unwrap();
        if let Message::FrameTick(t) = r.message {
            if t.seq >= 1000 {
                got.push(t.seq);
            }
        }
    }
    assert_eq!(got, (1000..1010).collect::<Vec<_>>());
    assert!(publisher.counters().sent.load(Ordering::Relaxed) >= 11);
    assert!(sub.counters().received.load(Ordering::Relaxed) >= 11);
}

#[tokio::test]
async fn pubsub_over_ipc() {
    let dir = tempfile::tempdir().unwrap();
    pubsub_roundtrip(Endpoint::ipc_in(dir.path(), "p.sock")).await;
}

#[tokio::test]
async fn pubsub_over_tcp() {
    pubsub_roundtrip(free_tcp_endpoint()).await;
}

#[tokio::test]
async fn subscriber_started_before_publisher_receives() {
    let dir = tempfile::tempdir().unwrap();
    let ep = Endpoint::ipc_in(dir.path(), "late.sock");
    let mut sub = Subscriber::connect(
        "early-sub",
        std::slice::from_ref(&ep),
        SubscriberOptions::default(),
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let publisher = Publisher::bind("late-pub", &ep, PublisherOptions::default())
        .await
        .unwrap();
    publish_until_received(&publisher, &mut sub).await;
}

#[tokio::test]
async fn topic_filter_passes_only_subscribed_topics() {
    let ep = free_tcp_endpoint();
    let publisher = Publisher::bind("pub", &ep, PublisherOptions::default())
        .await
        .unwrap();
    let mut sub = Subscriber::connect(
        "sub",
        &[ep],
        SubscriberOptions {
            topics: vec!["path".into()],
            ..Default::default()
        },
    );
    let path = Message::CameraPath(CameraPath {
        path_id: 1,
        keyframes: vec![],
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        assert!(Instant::now() < deadline);
        publisher.publish(&tick(1)).unwrap();
        publisher.publish(&path).unwrap();
        if let Ok(Some(r)) = tokio::time::timeout(Duration::from_millis(50), sub.recv()).await {
            assert_eq!(r.message, path, "only the subscribed topic arrives");
            break;
        }
    }
}

#[tokio::test]
async fn heartbeats_flow_with_increasing_seq() {
    let ep = free_tcp_endpoint();
    let _publisher = Publisher::bind(
        "hb-pub",
        &ep,
        PublisherOptions {
            heartbeat: Some(HeartbeatSource {
                process: "unit".into(),
                interval: Duration::from_millis(100),
            }),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let mut sub = Subscriber::connect("hb-sub", &[ep], SubscriberOptions::default());
    let mut beats = Vec::new();
    while beats.len() < 6 {
        let r = tokio::time::timeout(Duration::from_secs(10), sub.recv())
            .await
            .unwrap()
            .unwrap();
        if let Message::Heartbeat(hb) = r.message {
            assert_eq!(hb.process, "unit");
            assert_eq!(hb.pid, std::process::id());
            beats.push((hb.seq, hb.uptime_ms));
        }
    }
    assert!(beats.windows(2).all(|w| w[1].0 > w[0].0), "{beats:?}");
    // One per interval, on the sender's own clock: the mean spacing of the uptimes stamped
    // in them is the configured 100 ms (a missed or doubled tick moves it by 20 ms or more).
    let (first, last) = (beats[0], beats[beats.len() - 1]);
    let per_beat = (last.1 - first.1) as f64 / (last.0 - first.0) as f64;
    assert!(
        (per_beat - 100.0).abs() <= 10.0,
        "{per_beat:.1} ms per heartbeat: {beats:?}"
    );
}

#[tokio::test]
async fn oversize_message_is_refused_and_counted() {
    let ep = free_tcp_endpoint();
    let publisher = Publisher::bind("big", &ep, PublisherOptions::default())
        .await
        .unwrap();
    let big = Message::CameraPath(CameraPath {
        path_id: 1,
        keyframes: vec![
            Keyframe {
                pts_ns: u64::MAX,
                yaw: 1.0,
                pitch: 1.0,
                fov: 1.0
            };
            5000
        ],
    });
    assert!(publisher.publish(&big).is_err());
    assert_eq!(
        publisher.counters().encode_errors.load(Ordering::Relaxed),
        1
    );
    assert_eq!(publisher.queued(), 0);
}

#[tokio::test]
async fn full_queue_drops_oldest_and_counts() {
    // A connecting publisher whose peer never appears keeps everything queued.
    let dir = tempfile::tempdir().unwrap();
    let ep = Endpoint::ipc_in(dir.path(), "nobody.sock");
    let publisher = Publisher::connect(
        "stuck",
        &ep,
        PublisherOptions {
            queue_capacity: 4,
            heartbeat: None,
        },
    );
    for i in 0..10 {
        publisher.publish(&tick(i)).unwrap();
    }
    assert_eq!(publisher.queued(), 4);
    assert_eq!(publisher.counters().dropped.load(Ordering::Relaxed), 6);
}

#[tokio::test]
async fn connecting_publisher_recovers_when_bound_subscriber_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let ep = Endpoint::ipc_in(dir.path(), "paths.sock");
    let publisher = Publisher::connect("director-paths", &ep, PublisherOptions::default());
    for round in 0..2 {
        let mut sub = Subscriber::bind("capture-paths", &ep, SubscriberOptions::default())
            .await
            .unwrap();
        publish_until_received(&publisher, &mut sub).await;
        drop(sub);
        // Round 1 proves a reconnect happened after the SUB went away.
        if round == 1 {
            assert!(publisher.counters().connects.load(Ordering::Relaxed) >= 2);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn reqrep_roundtrip(ep: Endpoint) {
    let mut rep = Replier::bind("rep", &ep, Duration::from_secs(1))
        .await
        .unwrap();
    tokio::spawn(async move {
        while let Some(req) = rep.recv().await {
            let Message::SnapshotRequest(r) = &req.message else {
                panic!("unexpected request")
            };
            let since = r.since_pts_ns;
            req.reply(Message::SnapshotReply(SnapshotReply {
                kind: SnapshotKind::Tracks,
                tracks: vec![Tracks {
                    pts_ns: since + 1,
                    ball: None,
                    players: None,
                }],
                playout: None,
                truncated: false,
            }));
        }
    });
    let req = Requester::new(&ep, RequesterOptions::default());
    for since in [5u64, 77] {
        let reply = req
            .request(&Message::SnapshotRequest(SnapshotRequest {
                kind: SnapshotKind::Tracks,
                since_pts_ns: since,
            }))
            .await
            .unwrap();
        match reply {
            Message::SnapshotReply(r) => assert_eq!(r.tracks[0].pts_ns, since + 1),
            other => panic!("unexpected reply {other:?}"),
        }
    }
}

#[tokio::test]
async fn reqrep_over_ipc() {
    let dir = tempfile::tempdir().unwrap();
    reqrep_roundtrip(Endpoint::ipc_in(dir.path(), "rep.sock")).await;
}

#[tokio::test]
async fn reqrep_over_tcp() {
    reqrep_roundtrip(free_tcp_endpoint()).await;
}

#[tokio::test]
async fn request_without_replier_fails_cleanly_then_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let ep = Endpoint::ipc_in(dir.path(), "absent.sock");
    let req = Requester::new(
        &ep,
        RequesterOptions {
            timeout: Duration::from_millis(200),
            retries: 1,
        },
    );
    let msg = Message::SnapshotRequest(SnapshotRequest {
        kind: SnapshotKind::Playout,
        since_pts_ns: 0,
    });
    let err = req.request(&msg).await.unwrap_err();
    assert!(
        matches!(err, RequestError::NoReply { attempts: 2, .. }),
        "{err}"
    );
    // The replier appears: the same requester works (a fresh socket per attempt).
    let mut rep = Replier::bind("rep", &ep, Duration::from_secs(1))
        .await
        .unwrap();
    tokio::spawn(async move {
        while let Some(r) = rep.recv().await {
            r.reply(Message::SnapshotReply(SnapshotReply {
                kind: SnapshotKind::Playout,
                tracks: vec![],
                playout: None,
                truncated: false,
            }));
        }
    });
    let req = Requester::new(&ep, RequesterOptions::default());
    assert!(matches!(
        req.request(&msg).await.unwrap(),
        Message::SnapshotReply(_)
    ));
}

// ---- separate processes ----

struct WirePublisher(Child);

impl WirePublisher {
    /// Starts `touchline-wire publish` and waits until it has bound.
    fn start(ep: &Endpoint) -> WirePublisher {
        let mut child = Command::new(env!("CARGO_BIN_EXE_touchline-wire"))
            .args(["publish", &ep.to_string(), "--tick-hz", "100"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start touchline-wire");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert!(line.starts_with("bound"), "publisher said {line:?}");
        WirePublisher(child)
    }

    fn kill9(mut self) {
        self.0.kill().unwrap(); // SIGKILL
        self.0.wait().unwrap();
    }
}

impl Drop for WirePublisher {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn next_tick(sub: &mut Subscriber, within: Duration) -> Option<FrameTick> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, sub.recv()).await {
            Ok(Some(Received {
                message: Message::FrameTick(t),
                ..
            })) => return Some(t),
            Ok(Some(_)) => {}
            _ => return None,
        }
    }
}

async fn publisher_process_restart(ep: Endpoint) {
    let first = WirePublisher::start(&ep);
    let mut sub = Subscriber::connect(
        "restart-sub",
        std::slice::from_ref(&ep),
        SubscriberOptions::default(),
    );
    next_tick(&mut sub, Duration::from_secs(10))
        .await
        .expect("first publisher reaches the subscriber");
    first.kill9();
    if let Endpoint::Ipc(p) = &ep {
        assert!(p.exists(), "SIGKILL leaves the ipc socket file behind");
    }
    // Drain what was in flight before the kill.
    while tokio::time::timeout(Duration::from_millis(100), sub.recv())
        .await
        .is_ok()
    {}
    let restart = Instant::now();
    let _second = WirePublisher::start(&ep);
    let t = next_tick(&mut sub, Duration::from_secs(5))
        .await
        .expect("restarted publisher reaches the subscriber");
    let took = restart.elapsed();
    println!("{ep}: subscriber received again {took:?} after the publisher process restarted");
    assert!(
        t.seq < 200,
        "ticks come from the new process (seq {})",
        t.seq
    );
    assert!(
        took < Duration::from_secs(1),
        "subscriber received again {took:?} after the restart; the requirement is under 1 s"
    );
}

#[tokio::test]
async fn killed_publisher_process_restarts_over_ipc_with_stale_file() {
    let dir = tempfile::tempdir().unwrap();
    publisher_process_restart(Endpoint::ipc_in(dir.path(), "cap.sock")).await;
}

#[tokio::test]
async fn killed_publisher_process_restarts_over_tcp() {
    publisher_process_restart(free_tcp_endpoint()).await;
}

#[tokio::test]
async fn binding_a_socket_in_use_names_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let ep = Endpoint::ipc_in(dir.path(), "busy.sock");
    let _live = WirePublisher::start(&ep);
    let err = Publisher::bind("second", &ep, PublisherOptions::default())
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("busy.sock") && err.contains("in use"), "{err}");
}
