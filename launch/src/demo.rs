//! `launch demo`: runs the whole system on the synthetic pitch for a fixed time, records every
//! message the processes publish, and writes `report.json`.

use crate::children;
use crate::run::{DemoSide, Incident, ProcessOutcome};
use anyhow::{Context, Result};
use serde::Serialize;
use shared::cli::CommonArgs;
use shared::config::SystemConfig;
use shared::messages::Message;
use shared::recording::RecordingWriter;
use shared::shutdown::Shutdown;
use shared::transport::{RateLimitedLog, Received, Subscriber, SubscriberOptions};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

#[derive(Debug, Serialize)]
struct ProcessReport {
    #[serde(flatten)]
    outcome: ProcessOutcome,
    heartbeats_seen: u64,
}

#[derive(Debug, Serialize)]
struct Report {
    seconds_requested: u64,
    seconds_run: f64,
    stopped_by_signal: bool,
    processes: Vec<ProcessReport>,
    /// Restarts of all processes together, and every exit or hung kill that caused one.
    restarts: u32,
    incidents: Vec<Incident>,
    messages_recorded: u64,
    messages_by_topic: BTreeMap<String, u64>,
    /// Messages that could not be written to the recording (e.g. disk full).
    recording_errors: u64,
    recording: String,
    broadcast: String,
    panorama: String,
    evaluation: crate::evaluate::Evaluation,
}

/// Writes every message the processes publish to the demo's recording. A failed write is
/// counted and logged once in a while; it never stops the broadcast.
pub(crate) struct Recorder {
    sub: Subscriber,
    writer: RecordingWriter,
    by_topic: BTreeMap<String, u64>,
    heartbeats: BTreeMap<String, u64>,
    errors: u64,
    error_log: RateLimitedLog,
}

impl Recorder {
    pub(crate) async fn recv(&mut self) -> Option<Received> {
        self.sub.recv().await
    }

    pub(crate) fn record(&mut self, r: Received) {
        *self
            .by_topic
            .entry(r.message.topic().to_string())
            .or_default() += 1;
        if let Message::Heartbeat(hb) = &r.message {
            *self.heartbeats.entry(hb.process.clone()).or_default() += 1;
        }
        let topic = String::from_utf8_lossy(&r.topic);
        if let Err(e) = self
            .writer
            .write_message(r.recv_unix_ns, &topic, &r.payload)
        {
            self.errors += 1;
            if self.error_log.check(Instant::now()).is_some() {
                tracing::error!(message = "Cannot write to the demo's message recording; the broadcast goes on.", path = %self.writer.path().display(), error = %e, failed_writes = self.errors);
            }
        }
    }
}

/// Removes `name` and its numbered siblings (`name-2.ext`, ...) left in `out` by an earlier
/// demo.
fn remove_earlier(out: &Path, name: &str) {
    let p = Path::new(name);
    let stem = p
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let ext = p
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    let numbered = |f: &str| {
        f.strip_prefix(&format!("{stem}-"))
            .and_then(|rest| rest.strip_suffix(&ext))
            .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
    };
    let Ok(entries) = std::fs::read_dir(out) else {
        return;
    };
    for e in entries.flatten() {
        let f = e.file_name().to_string_lossy().into_owned();
        if f == name || numbered(&f) {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

pub fn run(common: &CommonArgs, shutdown: Shutdown, seconds: u64, out: &Path) -> Result<()> {
    // Without a configuration file, the demo's own (`examples/demo.toml`, built in).
    let mut cfg = match &common.config {
        Some(_) => common.load_config(),
        None => SystemConfig::demo(),
    }
    .context("loading the configuration")?;
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
    // A demo run replaces the files of an earlier demo in the same folder (file outputs
    // never overwrite: they would write `broadcast-2.mp4` beside the old file).
    let set = |slot: &mut String, name: &str| {
        if slot.is_empty() {
            *slot = file(name);
            remove_earlier(&out, name);
        }
    };
    for name in ["messages.tlrec", "report.json"] {
        remove_earlier(&out, name);
    }
    set(&mut cfg.playout.record, "broadcast.mp4");
    set(&mut cfg.playout.panorama_view, "panorama.mp4");
    set(&mut cfg.playout.pose_log, "poses.jsonl");
    set(&mut cfg.playout.report, "playout.json");
    set(&mut cfg.capture.truth_log, "truth.jsonl");
    cfg.validate().context("demo configuration")?;
    shared::transport::prepare_runtime_dir(&cfg.runtime.dir())?;
    let config_path = out.join("touchline.toml");
    std::fs::write(&config_path, cfg.to_toml_string())
        .with_context(|| format!("writing {}", config_path.display()))?;

    let result =
        actix::System::new().block_on(run_async(&cfg, &config_path, shutdown, seconds, &out));
    if common.config.is_none() {
        let _ = std::fs::remove_dir_all(cfg.runtime.dir());
    }
    result
}

impl Recorder {
    /// Subscribes to capture's and the analyzer's publishers, writing to `path`.
    fn start(cfg: &SystemConfig, path: &Path) -> Result<Recorder> {
        let eps = cfg.endpoints();
        let writer =
            RecordingWriter::create(path, "launch demo", "capture and analyzer publishers")?;
        Ok(Recorder {
            sub: Subscriber::connect(
                "demo-recorder",
                &[eps.capture_pub.clone(), eps.analyzer_pub.clone()],
                SubscriberOptions::default(),
            ),
            writer,
            by_topic: BTreeMap::new(),
            heartbeats: BTreeMap::new(),
            errors: 0,
            error_log: RateLimitedLog::new(Duration::from_secs(10)),
        })
    }
}

/// `launch evaluate`: the evaluation of a finished demo's folder, with the configuration it
/// ran with, printed as JSON.
pub fn evaluate_again(out: &Path) -> Result<()> {
    let config_path = out.join("touchline.toml");
    let cfg = SystemConfig::load(&config_path).with_context(|| {
        format!(
            "{} is not a demo's folder (it needs the touchline.toml the demo wrote)",
            out.display()
        )
    })?;
    let evaluation = crate::evaluate::evaluate(&cfg, out);
    println!("{}", serde_json::to_string_pretty(&evaluation)?);
    for what in &evaluation.not_measured {
        eprintln!("not measured: {what}");
    }
    check_problems(&evaluation.problems)
}

/// Writes `report.json` and tells where everything is.
fn finish(cfg: &SystemConfig, report: &Report, rec_path: &Path, out: &Path) -> Result<()> {
    let report_path = out.join("report.json");
    std::fs::write(&report_path, serde_json::to_string_pretty(report)?)
        .with_context(|| format!("writing {}", report_path.display()))?;
    eprintln!(
        "Touchline demo finished ({} restarts).\n  broadcast:  {}\n  panorama:   {}\n  recording:  {}\n  report:     {}",
        report.restarts,
        cfg.playout.record,
        cfg.playout.panorama_view,
        rec_path.display(),
        report_path.display()
    );
    for what in &report.evaluation.not_measured {
        eprintln!("  not measured: {what}");
    }
    Ok(())
}

/// Fails naming what went wrong in the run (the evaluation's problems).
fn check_problems(problems: &[String]) -> Result<()> {
    if !problems.is_empty() {
        anyhow::bail!(
            "the demo ran, but {} went wrong (report.json `problems`):\n  {}",
            if problems.len() == 1 {
                "one thing".to_string()
            } else {
                format!("{} things", problems.len())
            },
            problems.join("\n  ")
        );
    }
    Ok(())
}

async fn run_async(
    cfg: &SystemConfig,
    config_path: &Path,
    shutdown: Shutdown,
    seconds: u64,
    out: &Path,
) -> Result<()> {
    crate::run::check_heartbeat_timing(cfg)?;
    crate::unit::check_stop_timeout(cfg)?;
    // Every check happens before anything starts: a missing program starts nothing.
    children::resolve_all(&cfg.launch.processes)?;
    let rec_path = out.join("messages.tlrec");
    let mut recorder = Recorder::start(cfg, &rec_path)?;
    eprintln!(
        "Touchline demo: running {} for {seconds} s under supervision; results go to {}",
        cfg.launch
            .processes
            .iter()
            .map(|p| p.name.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        out.display()
    );
    let started = Instant::now();
    let stop_reason = shutdown.clone();
    let supervised = crate::run::supervise(
        cfg,
        config_path,
        &cfg.runtime.dir(),
        shutdown,
        Some(DemoSide {
            deadline: tokio::time::Instant::now() + Duration::from_secs(seconds),
            recorder: &mut recorder,
        }),
    )
    .await;
    let seconds_run = started.elapsed().as_secs_f64();
    let by_signal = stop_reason.reason().is_some();
    let Recorder {
        writer,
        by_topic,
        heartbeats,
        errors,
        ..
    } = recorder;
    let messages_recorded = writer.records();
    if let Err(e) = writer.finish() {
        tracing::error!(message = "Cannot finish the demo's message recording.", path = %rec_path.display(), error = %e);
    }
    let processes: Vec<ProcessReport> = supervised
        .processes
        .into_iter()
        .map(|outcome| ProcessReport {
            heartbeats_seen: heartbeats.get(&outcome.name).copied().unwrap_or(0),
            outcome,
        })
        .collect();
    let report = Report {
        seconds_requested: seconds,
        seconds_run,
        stopped_by_signal: by_signal,
        restarts: processes.iter().map(|p| p.outcome.restarts).sum(),
        processes,
        incidents: supervised.incidents,
        messages_recorded,
        messages_by_topic: by_topic,
        recording_errors: errors,
        recording: rec_path.display().to_string(),
        broadcast: cfg.playout.record.clone(),
        panorama: cfg.playout.panorama_view.clone(),
        evaluation: crate::evaluate::evaluate(cfg, out),
    };
    finish(cfg, &report, &rec_path, out)?;
    supervised.result?;
    check_problems(&report.evaluation.problems)
}
