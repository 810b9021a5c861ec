//! Interop with another language: a Python client (pyzmq + msgpack) decodes our messages by
//! field name, and publishes a message that we decode. Needs `python3` with `pyzmq` and
//! `msgpack` (the README's test command installs them).

use shared::messages::*;
use shared::transport::*;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[tokio::test]
async fn python_client_reads_ours_and_we_read_theirs() {
    let probe = Command::new("python3")
        .args(["-c", "import zmq, msgpack"])
        .status()
        .expect("python3 is needed for the interop test");
    assert!(
        probe.success(),
        "python3 modules zmq and msgpack are needed: pip install pyzmq msgpack"
    );
    let dir = tempfile::tempdir().unwrap();
    let pub_ep = Endpoint::ipc_in(dir.path(), "rust-pub.sock");
    let sub_ep = Endpoint::ipc_in(dir.path(), "rust-sub.sock");
    let publisher = Publisher::bind("interop-pub", &pub_ep, PublisherOptions::default())
        .await
        .unwrap();
    let mut sub = Subscriber::bind("interop-sub", &sub_ep, SubscriberOptions::default())
        .await
        .unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/py/interop.py");
    let mut child = tokio::process::Command::new("python3")
        .args([script, &pub_ep.to_string(), &sub_ep.to_string()])
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();

    let deadline = Instant::now() + Duration::from_secs(20);
    let mut seq = 0u64;
    let path = loop {
        assert!(
            Instant::now() < deadline,
            "no CameraPath from the Python client"
        );
        publisher
            .publish(&Message::FrameTick(FrameTick {
                pts_ns: seq * 40_000_000,
                seq,
                width: 1920,
                height: 640,
            }))
            .unwrap();
        seq += 1;
        if let Ok(Some(r)) = tokio::time::timeout(Duration::from_millis(50), sub.recv()).await {
            if let Message::CameraPath(p) = r.message {
                break p;
            }
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("python client exited early with {status}");
        }
    };
    assert_eq!(path.path_id, 42);
    assert_eq!(path.keyframes.len(), 2);
    assert_eq!(path.keyframes[0].pts_ns, 1_000_000_000);
    assert_eq!(path.keyframes[0].yaw, -12.5);
    assert_eq!(path.keyframes[1].fov, 44.5);
    child.kill().await.ok();
}
