//! Every process binary: real `--help`, a clear error for a bad config, a clean stop on
//! SIGTERM/SIGINT within 2 s; and the demo of the whole system end to end.
//!
//! The process binaries are siblings of `launch` in the target folder (`cargo test
//! --workspace` builds them all).

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn bin(name: &str) -> PathBuf {
    let launch = PathBuf::from(env!("CARGO_BIN_EXE_launch"));
    let p = launch.parent().unwrap().join(name);
    assert!(
        p.is_file(),
        "{} is missing: build the workspace first (cargo build --workspace)",
        p.display()
    );
    p
}

const PROCESSES: [&str; 3] = ["capture", "analyzer", "director"];

/// Tests that run the whole system take turns: on a two-core machine three systems at once
/// starve each other, and a stop measured then says more about the load than about the stop.
fn one_system_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());
    TURN.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The last lines of a log file, for a failure message.
fn tail_of(path: &std::path::Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

#[test]
fn every_binary_has_real_help() {
    for name in PROCESSES.iter().chain(["launch"].iter()) {
        let out = Command::new(bin(name)).arg("--help").output().unwrap();
        assert!(out.status.success(), "{name} --help failed");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("--config"),
            "{name} --help lacks --config:\n{text}"
        );
        assert!(
            text.contains("Touchline"),
            "{name} --help lacks a description:\n{text}"
        );
    }
}

#[test]
fn bad_config_is_refused_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("bad.toml");
    std::fs::write(&cfg, "[transport]\nheartbeat_interval_ms = 5\n").unwrap();
    for name in PROCESSES {
        let out = Command::new(bin(name))
            .arg("--config")
            .arg(&cfg)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{name} accepted a bad config");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("transport.heartbeat_interval_ms")
                && err.contains("between 100 and 10000"),
            "{name} error does not name the key and range:\n{err}"
        );
    }
}

#[test]
fn missing_config_file_is_named() {
    let out = Command::new(bin("capture"))
        .args(["--config", "/nonexistent/touchline.toml"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/nonexistent/touchline.toml"), "{err}");
}

fn config_in(dir: &std::path::Path) -> PathBuf {
    let cfg = dir.join("t.toml");
    std::fs::write(
        &cfg,
        format!("[runtime]\ndir = \"{}\"\n", dir.join("rt").display()),
    )
    .unwrap();
    cfg
}

/// Sends `signal` and waits up to 2 s for a clean exit; returns how long it took.
/// `log` is the process's stderr, shown when it fails.
fn stop_within_two_seconds(
    name: &str,
    child: &mut std::process::Child,
    signal: Signal,
    log: Option<&std::path::Path>,
) -> Duration {
    kill(Pid::from_raw(child.id() as i32), signal).unwrap();
    let t = Instant::now();
    let Some(status) = shared::process::wait_exit(child, Duration::from_secs(2)).unwrap() else {
        let _ = child.kill();
        let log = log.map(tail_of).unwrap_or_default();
        panic!("{name} did not stop within 2 s of {signal}; its log ends:\n{log}");
    };
    assert!(
        status.success(),
        "{name} exited with {status} after {signal}"
    );
    t.elapsed()
}

#[test]
fn every_process_stops_cleanly_within_two_seconds() {
    let _turn = one_system_at_a_time();
    for signal in [Signal::SIGTERM, Signal::SIGINT] {
        let dir = tempfile::tempdir().unwrap();
        let cfg = config_in(dir.path());
        // All three at once, so that they are at work when the signal comes: capture
        // stitching and publishing, the analyzer and director receiving.
        let mut children: Vec<_> = PROCESSES
            .iter()
            .map(|name| {
                let child = Command::new(bin(name))
                    .arg("--config")
                    .arg(&cfg)
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap();
                (*name, child)
            })
            .collect();
        std::thread::sleep(Duration::from_millis(2500));
        for (name, child) in children.iter_mut().rev() {
            assert!(child.try_wait().unwrap().is_none(), "{name} exited early");
            let took = stop_within_two_seconds(name, child, signal, None);
            println!("{name} stopped {took:?} after {signal}");
        }
    }
}

#[test]
fn launch_stops_its_processes_within_two_seconds() {
    let _turn = one_system_at_a_time();
    for signal in [Signal::SIGTERM, Signal::SIGINT] {
        let dir = tempfile::tempdir().unwrap();
        let cfg = config_in(dir.path());
        let log = dir.path().join("launch.log");
        let mut launch = Command::new(bin("launch"))
            .arg("--config")
            .arg(&cfg)
            .arg("run")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        // Until all three report to the supervisor.
        let t = Instant::now();
        loop {
            assert!(launch.try_wait().unwrap().is_none(), "launch exited early");
            let out = Command::new(bin("launch"))
                .arg("--config")
                .arg(&cfg)
                .arg("status")
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&out.stdout);
            if out.status.success() && text.matches("running").count() >= 3 {
                break;
            }
            assert!(
                t.elapsed() < Duration::from_secs(30),
                "the processes did not all start: {text}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        std::thread::sleep(Duration::from_millis(1000));
        let took = stop_within_two_seconds("launch", &mut launch, signal, Some(&log));
        println!("launch and its three processes stopped {took:?} after {signal}");
    }
}

#[test]
fn capture_restart_after_sigkill_reuses_the_stale_socket() {
    let _turn = one_system_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let cfg = config_in(dir.path());
    let mut first = Command::new(bin("capture"))
        .arg("--config")
        .arg(&cfg)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let sock = dir.path().join("rt/capture-pub.sock");
    let t = Instant::now();
    while !sock.exists() && t.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(sock.exists());
    first.kill().unwrap();
    first.wait().unwrap();
    assert!(sock.exists(), "SIGKILL leaves the socket file");
    let mut second = Command::new(bin("capture"))
        .arg("--config")
        .arg(&cfg)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(800));
    assert!(
        second.try_wait().unwrap().is_none(),
        "capture did not survive a stale socket file"
    );
    kill(Pid::from_raw(second.id() as i32), Signal::SIGTERM).unwrap();
    assert!(second.wait().unwrap().success());
}

#[test]
fn demo_runs_all_processes_and_writes_report_and_recording() {
    let _turn = one_system_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("demo");
    let run = Command::new(bin("launch"))
        .args(["demo", "--seconds", "8", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    let tail: Vec<&str> = stderr.lines().rev().take(40).collect();
    assert!(
        run.status.success(),
        "launch demo failed ({}), problems {}:\n{}",
        run.status,
        std::fs::read_to_string(out.join("report.json")).unwrap_or_default(),
        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    let procs = report["processes"].as_array().unwrap();
    assert_eq!(procs.len(), 3);
    for p in procs {
        assert_eq!(p["ended"], "terminated", "{p}");
        assert_eq!(p["exit_code"], 0, "{p}");
    }
    for name in ["capture", "analyzer"] {
        let p = procs.iter().find(|p| p["name"] == name).unwrap();
        assert!(p["heartbeats_seen"].as_u64().unwrap() >= 2, "{p}");
    }
    let n = report["messages_recorded"].as_u64().unwrap();
    let rec = shared::recording::RecordingReader::open(&out.join("messages.tlrec")).unwrap();
    let records: Vec<_> = rec.map(|r| r.unwrap()).collect();
    assert_eq!(records.len() as u64, n);
    assert!(records.iter().all(|r| r.message().is_ok()));
    // Without --config the demo ran its own configuration (examples/demo.toml), and says so
    // in the configuration it writes beside its results.
    let ran = shared::config::SystemConfig::load(&out.join("touchline.toml")).unwrap();
    let demo = shared::config::SystemConfig::demo().unwrap();
    assert!(ran.detector.enabled);
    assert_eq!(ran.detector.focus_tile_size, demo.detector.focus_tile_size);
    assert_eq!(ran.detector.focus_on_cue, demo.detector.focus_on_cue);
    assert_eq!(ran.detector.max_rate_hz, demo.detector.max_rate_hz);
    // The detector looked at the square around the ball: focused frames were analysed.
    let focused = records
        .iter()
        .filter_map(|r| match r.message() {
            Ok(shared::messages::Message::RawDetections(d)) => Some(d),
            _ => None,
        })
        .filter(|d| d.region.is_some())
        .count();
    assert!(focused > 0, "no focused frame in {n} messages");
}

#[test]
fn demo_with_missing_program_starts_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("c.toml");
    std::fs::write(
        &cfg,
        format!(
            "[runtime]\ndir = \"{}\"\n[launch]\nprocesses = [{{ name = \"capture\", program = \"capture\" }}, {{ name = \"ghost\", program = \"no-such-program\" }}]\n",
            dir.path().join("rt").display()
        ),
    )
    .unwrap();
    let out = Command::new(bin("launch"))
        .arg("--config")
        .arg(&cfg)
        .args(["demo", "--seconds", "1", "--out"])
        .arg(dir.path().join("o"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no-such-program") && err.contains("ghost"),
        "{err}"
    );
    assert!(
        !err.contains("Started process"),
        "something was started:\n{err}"
    );
}

#[test]
fn json_log_format_writes_one_json_object_per_line() {
    let _turn = one_system_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let cfg = config_in(dir.path());
    for name in PROCESSES {
        let mut child = Command::new(bin(name))
            .arg("--config")
            .arg(&cfg)
            .args(["--log-format", "json"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(1500));
        stop_within_two_seconds(name, &mut child, Signal::SIGTERM, None);
        let mut err = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
        let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
        assert!(
            lines.len() >= 2,
            "{name} logged {} lines:\n{err}",
            lines.len()
        );
        for line in &lines {
            let v: serde_json::Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("{name}: not a JSON line ({e}): {line}"));
            for key in ["timestamp", "level", "message"] {
                assert!(v.get(key).is_some(), "{name}: no `{key}` in {line}");
            }
            assert_eq!(v["process"], *name, "{name}: process field in {line}");
        }
    }
}
