//! `launch demo`: runs the whole system on the synthetic pitch for a fixed time, records every
//! message the processes publish, and writes `report.json`.

use crate::children::{self, ChildProcess, Stopped};
use anyhow::{bail, Context, Result};
use serde::Serialize;
use shared::cli::CommonArgs;
use shared::config::SystemConfig;
use shared::messages::Message;
use shared::recording::RecordingWriter;
use shared::shutdown::Shutdown;
use shared::transport::{Subscriber, SubscriberOptions};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

#[derive(Debug, Serialize)]
struct ProcessReport {
    name: String,
    pid: u32,
    uptime_s: f64,
    /// How it ended: "terminated", "killed" or "exited early".
    ended: String,
    exit_code: Option<i32>,
    heartbeats_seen: u64,
}

#[derive(Debug, Serialize)]
struct Report {
    seconds_requested: u64,
    seconds_run: f64,
    stopped_by_signal: bool,
    processes: Vec<ProcessReport>,
    messages_recorded: u64,
    messages_by_topic: BTreeMap<String, u64>,
    recording: String,
    broadcast: String,
    panorama: String,
    evaluation: crate::evaluate::Evaluation,
}

pub fn run(common: &CommonArgs, shutdown: Shutdown, seconds: u64, out: &Path) -> Result<()> {
    let mut cfg = common.load_config().context("loading the configuration")?;
    shared::telemetry::init("launch", &cfg.logging, common.log_format);
    std::fs::create_dir_all(out)
        .with_context(|| format!("creating the output folder {}", out.display()))?;
    let out = out
        .canonicalize()
        .with_context(|| format!("resolving {}", out.display()))?;
    // A private runtime directory, so the demo never collides with a running system.
    if common.config.is_none() {
        cfg.runtime.dir = format!("/tmp/touchline-demo-{}", std::process::id());
    }
    // The demo's outputs, unless the config names others.
    let file = |name: &str| out.join(name).display().to_string();
    let set = |slot: &mut String, name: &str| {
        if slot.is_empty() {
            *slot = file(name);
        }
    };
    set(&mut cfg.playout.record, "broadcast.mp4");
    set(&mut cfg.playout.panorama_view, "panorama.mp4");
    set(&mut cfg.playout.pose_log, "poses.jsonl");
    set(&mut cfg.playout.report, "playout.json");
    set(&mut cfg.capture.truth_log, "truth.jsonl");
    // The demo runs the whole chain: the detector feeds the analyzer.
    if common.config.is_none() {
        cfg.detector.enabled = true;
    }
    cfg.validate().context("demo configuration")?;
    shared::transport::prepare_runtime_dir(&cfg.runtime.dir())?;
    let config_path = out.join("touchline.toml");
    std::fs::write(&config_path, cfg.to_toml_string())
        .with_context(|| format!("writing {}", config_path.display()))?;

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let result = rt.block_on(run_async(&cfg, &config_path, shutdown, seconds, &out));
    if common.config.is_none() {
        let _ = std::fs::remove_dir_all(cfg.runtime.dir());
    }
    result
}

async fn run_async(
    cfg: &SystemConfig,
    config_path: &Path,
    mut shutdown: Shutdown,
    seconds: u64,
    out: &Path,
) -> Result<()> {
    let eps = cfg.endpoints();
    // Every check happens before anything starts: a missing program starts nothing.
    children::resolve_all(&cfg.launch.processes)?;
    let rec_path = out.join("messages.tlrec");
    let mut rec =
        RecordingWriter::create(&rec_path, "launch demo", "capture and analyzer publishers")?;
    let mut sub = Subscriber::connect(
        "demo-recorder",
        &[eps.capture_pub.clone(), eps.analyzer_pub.clone()],
        SubscriberOptions::default(),
    );

    let mut running: Vec<ChildProcess> = Vec::new();
    for spec in &cfg.launch.processes {
        match children::spawn(spec, config_path, None) {
            Ok(c) => running.push(c),
            Err(e) => {
                stop_all(&mut running, cfg);
                return Err(e);
            }
        }
    }
    eprintln!(
        "Touchline demo: running {} processes for {seconds} s; results go to {}",
        running.len(),
        out.display()
    );

    let started = Instant::now();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds);
    let mut by_topic: BTreeMap<String, u64> = BTreeMap::new();
    let mut heartbeats: BTreeMap<String, u64> = BTreeMap::new();
    let mut early_exit: Option<(String, Option<i32>)> = None;
    let mut check = tokio::time::interval(Duration::from_millis(200));
    let mut by_signal = false;
    loop {
        tokio::select! {
            _ = tokio::time::sleep_until(deadline) => break,
            _ = shutdown.wait() => { by_signal = true; break }
            r = sub.recv() => {
                let Some(r) = r else { break };
                *by_topic.entry(r.message.topic().to_string()).or_default() += 1;
                if let Message::Heartbeat(hb) = &r.message {
                    *heartbeats.entry(hb.process.clone()).or_default() += 1;
                }
                let topic = String::from_utf8_lossy(&r.topic);
                rec.write_message(r.recv_unix_ns, &topic, &r.payload)?;
            }
            _ = check.tick() => {
                let exited = running
                    .iter_mut()
                    .find_map(|p| match p.child.try_wait() {
                        Ok(Some(status)) => Some((p.name.clone(), status.code())),
                        _ => None,
                    });
                if exited.is_some() {
                    early_exit = exited;
                    break;
                }
            }
        }
    }
    let seconds_run = started.elapsed().as_secs_f64();
    let mut reports = Vec::new();
    let timeout = Duration::from_millis(cfg.launch.stop_timeout_ms);
    for p in running.iter_mut().rev() {
        let pid = p.child.id();
        let uptime_s = p.started.elapsed().as_secs_f64();
        let (ended, exit_code) = match children::stop(p, timeout) {
            Stopped::Terminated(c) => ("terminated", c),
            Stopped::Killed => ("killed", None),
            Stopped::AlreadyExited(c) => ("exited early", c),
        };
        reports.push(ProcessReport {
            name: p.name.clone(),
            pid,
            uptime_s,
            ended: ended.into(),
            exit_code,
            heartbeats_seen: heartbeats.get(&p.name).copied().unwrap_or(0),
        });
    }
    reports.reverse();
    let messages_recorded = rec.records();
    rec.finish()?;
    let report = Report {
        seconds_requested: seconds,
        seconds_run,
        stopped_by_signal: by_signal,
        processes: reports,
        messages_recorded,
        messages_by_topic: by_topic,
        recording: rec_path.display().to_string(),
        broadcast: cfg.playout.record.clone(),
        panorama: cfg.playout.panorama_view.clone(),
        evaluation: crate::evaluate::evaluate(cfg, out),
    };
    let report_path = out.join("report.json");
    std::fs::write(&report_path, serde_json::to_string_pretty(&report)?)
        .with_context(|| format!("writing {}", report_path.display()))?;
    eprintln!(
        "Touchline demo finished.\n  broadcast:  {}\n  panorama:   {}\n  recording:  {}\n  report:     {}",
        cfg.playout.record,
        cfg.playout.panorama_view,
        rec_path.display(),
        report_path.display()
    );
    if let Some((name, code)) = early_exit {
        bail!(
            "process {name:?} exited early (exit code {code:?}); see its [{name}] log lines above"
        );
    }
    Ok(())
}

fn stop_all(running: &mut [ChildProcess], cfg: &SystemConfig) {
    let timeout = Duration::from_millis(cfg.launch.stop_timeout_ms);
    for p in running.iter_mut().rev() {
        children::stop(p, timeout);
    }
}
