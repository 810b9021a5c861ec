//! Capture's engine running in the service: ingest, stitching, playout and the panorama
//! sinks, on their own threads, stopped on shutdown (outputs finalised).

use anyhow::{Context, Result};
use capture::engine::{Engine, EngineEnd, EngineStats, PanoramaPool};
use capture::setup::{self, Ingest};
use capture::sinks::{PlayoutSink, TickSink};
use gst::prelude::*;
use playout::engine::{Playout, PlayoutInput, PlayoutSetup};
use playout::outputs::ProgramTarget;
use playout::ring::pool_frames_for;
use shared::config::{AudioSource, SourceKind, SystemConfig};
use shared::gpu::{Gpu, TransferStats};
use shared::messages::PlayoutStatus;
use shared::time::{secs_to_ns, FrameRate};
use shared::transport::Publisher;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Reads the detector stage's counters from any thread.
pub type DetectorStatsFn = Arc<dyn Fn() -> capture::detector::DetectorStats + Send + Sync>;

/// The running engine and playout.
pub struct RunningEngine {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<(EngineEnd, EngineStats)>>,
    ingest: Option<Ingest>,
    audio: Option<JoinHandle<()>>,
    live_audio: Option<playout::live_audio::LiveAudio>,
    playout: Option<Playout>,
    report_path: Option<PathBuf>,
    /// When ingest started, and the GPU with its pool size and transfer counters then.
    started: Instant,
    gpu: Option<(Arc<Gpu>, usize, TransferStats)>,
    pub stats: Arc<Mutex<EngineStats>>,
    /// Reads the detector stage's counters, when the detector runs.
    detector_stats: Option<DetectorStatsFn>,
    /// Each camera's record, left then right.
    pub cameras: Vec<Arc<Mutex<capture::ingest::CameraWatch>>>,
    pub playout_tx: Sender<PlayoutInput>,
    pub playout_status: Arc<Mutex<PlayoutStatus>>,
}

impl RunningEngine {
    /// The detector stage's counters, when the detector runs.
    pub fn detector_stats(&self) -> Option<DetectorStatsFn> {
        self.detector_stats.clone()
    }

    /// The GPU and its frame pool's size (`cuda` backend), for monitoring.
    pub fn gpu(&self) -> Option<(Arc<Gpu>, usize)> {
        self.gpu.as_ref().map(|(g, pool, _)| (g.clone(), *pool))
    }
}

/// GPU figures for the heartbeat's metrics: device memory used and total, the frame pool,
/// bytes copied each way.
pub fn gpu_metrics(gpu: &Gpu, pool_bytes: usize) -> Vec<(String, f64)> {
    let t = gpu.transfers();
    let mut m = vec![
        ("gpu_pool_bytes".to_string(), pool_bytes as f64),
        (
            "gpu_host_to_device_bytes_total".to_string(),
            t.host_to_device as f64,
        ),
        (
            "gpu_device_to_host_bytes_total".to_string(),
            t.device_to_host as f64,
        ),
    ];
    if let Ok((free, total)) = gpu.memory() {
        m.push((
            "gpu_memory_used_bytes".to_string(),
            total.saturating_sub(free) as f64,
        ));
        m.push(("gpu_memory_total_bytes".to_string(), total as f64));
    }
    m
}

/// The RTMP stream key: from the key file, else `TOUCHLINE_RTMP_KEY`. Never logged.
fn rtmp_key(cfg: &SystemConfig) -> Result<String> {
    let p = &cfg.playout;
    if !p.rtmp_key_file.is_empty() {
        let k = std::fs::read_to_string(&p.rtmp_key_file)
            .with_context(|| format!("playout.rtmp_key_file = {:?}", p.rtmp_key_file))?;
        return Ok(k.trim().to_string());
    }
    std::env::var("TOUCHLINE_RTMP_KEY")
        .map(|k| k.trim().to_string())
        .context("playout.rtmp_url is set but there is no stream key: set playout.rtmp_key_file or TOUCHLINE_RTMP_KEY")
}

fn outputs(cfg: &SystemConfig) -> Result<(Vec<ProgramTarget>, Option<ProgramTarget>)> {
    let p = &cfg.playout;
    let mut v = Vec::new();
    if !p.record.is_empty() {
        v.push(ProgramTarget::File(PathBuf::from(&p.record)));
    }
    if !p.rtmp_url.is_empty() {
        v.push(ProgramTarget::Rtmp {
            url: p.rtmp_url.clone(),
            key: rtmp_key(cfg)?,
        });
    }
    if !p.srt_url.is_empty() {
        v.push(ProgramTarget::Srt {
            url: p.srt_url.clone(),
        });
    }
    if p.display {
        v.push(ProgramTarget::Display);
    }
    let view = match p.panorama_view.as_str() {
        "" => None,
        "display" => Some(ProgramTarget::Display),
        path => Some(ProgramTarget::File(PathBuf::from(path))),
    };
    Ok((v, view))
}

/// Playout with its outputs, audio, pose log, recording schedule and previews.
fn start_playout(
    cfg: &SystemConfig,
    cal: &shared::geometry::Calibration,
    gpu: Option<Arc<Gpu>>,
    audio_on: bool,
) -> Result<Playout> {
    let (c, p) = (&cfg.capture, &cfg.playout);
    let (targets, view) = outputs(cfg)?;
    Playout::start(PlayoutSetup {
        calibration: cal.clone(),
        fps: c.fps,
        config: p.clone(),
        outputs: targets,
        panorama_view: view,
        // Offline (not real time): outputs apply back-pressure instead of queueing.
        blocking: !c.realtime,
        retry: playout::outputs::RetrySettings::from_config(p, c.realtime),
        audio: audio_on,
        pose_log: (!p.pose_log.is_empty()).then(|| PathBuf::from(&p.pose_log)),
        gpu,
        record: record_at_start(cfg),
        preview: (p.preview_interval_ms > 0 && !cfg.operator.http_bind.trim().is_empty()).then(
            || playout::preview::PreviewSettings {
                dir: cfg.runtime.dir(),
                interval_ns: p.preview_interval_ms * 1_000_000,
                width: p.preview_width as usize,
            },
        ),
    })
    .context("playout on the GPU")
}

/// The live audio source, its running time 0 at `start`.
fn start_live_audio(
    pipeline: &str,
    start: Instant,
    tx: Sender<PlayoutInput>,
) -> Result<playout::live_audio::LiveAudio> {
    let origin = gst::SystemClock::obtain().time()
        - gst::ClockTime::from_nseconds(start.elapsed().as_nanos() as u64);
    playout::live_audio::LiveAudio::start(pipeline, origin, move |chunk| {
        let _ = tx.send(PlayoutInput::Audio(chunk));
    })
    .context("starting the live audio source")
}

/// The synthetic source's audio (a click on every sync flash), paced in real time when
/// capture is.
fn synthetic_audio(
    period_ns: u64,
    realtime: bool,
    start: Instant,
    stop: Arc<AtomicBool>,
    tx: Sender<PlayoutInput>,
) -> JoinHandle<()> {
    std::thread::Builder::new()
        .name("synthetic-audio".into())
        .spawn(move || {
            let mut gen = playout::audio::SyntheticAudio::new(period_ns);
            while !stop.load(Ordering::Relaxed) {
                let chunk = gen.next_chunk(20);
                if realtime {
                    let due = start
                        + Duration::from_nanos(chunk.pts().map(|p| p.nseconds()).unwrap_or(0));
                    let now = Instant::now();
                    if due > now {
                        std::thread::sleep(due - now);
                    }
                }
                if tx.send(PlayoutInput::Audio(chunk)).is_err() {
                    break;
                }
            }
        })
        .expect("spawn audio thread")
}

/// The detector stage, on the GPU's tiles when there is one, with the motion cue on
/// host-memory frames.
fn detector_sink(
    cfg: &SystemConfig,
    cal: &shared::geometry::Calibration,
    mut d: capture::detector::Detector,
    gpu: Option<&Arc<Gpu>>,
    publisher: &Arc<Publisher>,
) -> Result<capture::detector::DetectorSink> {
    if let Some(g) = gpu {
        d.use_gpu(g.clone())
            .context("detector tile preparation on the GPU")?;
    }
    tracing::info!(
        message = "Detector ready.",
        engine = d.engine().name(),
        tiles = d.tiling().tiles.len(),
        tiles_in = if d.tiles_stay_on_gpu() {
            "gpu memory"
        } else {
            "host memory"
        },
        max_rate_hz = cfg.detector.max_rate_hz
    );
    // The detector takes the newest panorama when it is free and skips the rest.
    // The motion cue reads host-memory frames only.
    let cue = if d.tiles_stay_on_gpu() {
        None
    } else {
        capture::detector::motion_cue(&cfg.detector, cal)
    };
    let mut sink = capture::detector::DetectorSink::start(
        d,
        Box::new(publisher.clone()),
        cfg.detector.max_rate_hz,
    )?;
    if let Some(cue) = cue {
        // The cue's frames wait behind the detector's at most half the playout delay,
        // so that the director still has the other half to plan them.
        let hold_ns =
            ((cfg.playout.delay_s * 0.5 * 1e9) as u64).min(capture::detector::stage::MAX_HOLD_NS);
        tracing::info!(
            message = "Motion cue on.",
            max_hold_ms = hold_ns / 1_000_000
        );
        sink = sink.with_motion_cue(cue, hold_ns);
    }
    Ok(sink)
}

/// Where the panoramas live for the delay: the device pool of the CUDA backend (the
/// system-memory pool then only has to exist: one frame), else a system-memory pool. Also
/// the device pool's size in bytes.
fn frame_stores(
    cfg: &SystemConfig,
    cal: &shared::geometry::Calibration,
    stitcher: &capture::stitch::CpuStitcher,
    gpu: Option<&Arc<Gpu>>,
) -> Result<(Option<capture::engine::CudaStage>, PanoramaPool, usize)> {
    let (c, p) = (&cfg.capture, &cfg.playout);
    let rate = FrameRate::new(c.fps, 1);
    let frames = pool_frames_for(secs_to_ns(p.delay_s), rate, p.pool_margin);
    let mut cuda = gpu
        .map(|g| setup::cuda_stage(g, stitcher, frames))
        .transpose()?;
    if let Some(s) = cuda.as_mut() {
        s.wait_for_pool = !c.realtime;
    }
    let pool_bytes = cuda.as_ref().map_or(0, |s| s.pool.total_bytes());
    let pool = PanoramaPool::new(
        cal.panorama.width,
        cal.panorama.height,
        if cuda.is_some() { 1 } else { frames },
    )?;
    Ok((cuda, pool, pool_bytes))
}

/// The detector of the configuration for this rig.
fn detector(
    cfg: &SystemConfig,
    cal: &shared::geometry::Calibration,
) -> Result<capture::detector::Detector> {
    let d = capture::detector::Detector::from_config(&cfg.detector, cal)
        .context("detector: cannot start (fix [detector] or set enabled = false)")?;
    tracing::info!(message = "Detector ready.", engine = d.engine().name(), model = %d.engine().info().path.display(), tiles = d.tiling().tiles.len(), max_rate_hz = cfg.detector.max_rate_hz);
    Ok(d)
}

/// The engine on its own thread, fed by the ingest's events.
fn spawn_engine(
    mut engine: Engine,
    ingest: &mut Ingest,
    stop: Arc<AtomicBool>,
) -> Result<JoinHandle<(EngineEnd, EngineStats)>> {
    let events = std::mem::replace(&mut ingest.events, std::sync::mpsc::channel().1);
    Ok(std::thread::Builder::new()
        .name("engine".into())
        .spawn(move || {
            let end = engine.run(events, stop);
            (end, engine.stats)
        })?)
}

/// The venue audio: the live source, its running time 0 at `start` (the time line of the
/// synthetic source, and within the cameras' start-up skew of live camera pipelines), or the
/// synthetic source's clicks; neither when audio is off.
fn start_audio(
    cfg: &SystemConfig,
    audio_on: bool,
    start: Instant,
    stop: Arc<AtomicBool>,
    tx: Sender<PlayoutInput>,
) -> Result<(
    Option<JoinHandle<()>>,
    Option<playout::live_audio::LiveAudio>,
)> {
    let p = &cfg.playout;
    if p.audio == AudioSource::Live {
        let live = start_live_audio(&p.audio_pipeline, start, tx)?;
        return Ok((None, Some(live)));
    }
    Ok((
        audio_on.then(|| {
            synthetic_audio(
                secs_to_ns(p.sync_flash_period_s),
                cfg.capture.realtime,
                start,
                stop,
                tx,
            )
        }),
        None,
    ))
}

/// Ingest on its own threads; the synthetic source flashes for the sync check.
fn start_ingest(
    cfg: &SystemConfig,
    cal: &shared::geometry::Calibration,
    gpu: Option<&Gpu>,
    start: Instant,
    stop: Arc<AtomicBool>,
) -> Result<Ingest> {
    let (c, p) = (&cfg.capture, &cfg.playout);
    let flash_every = (c.source == SourceKind::Synthetic && p.sync_flash_period_s > 0.0)
        .then(|| (p.sync_flash_period_s * c.fps as f64).round() as u64);
    setup::start_ingest(c, cal, gpu, c.realtime, None, flash_every, start, stop)
}

/// Whether the programme has sound: the live source, or the synthetic source's clicks with
/// the synthetic cameras.
fn audio_on(cfg: &SystemConfig) -> bool {
    match cfg.playout.audio {
        AudioSource::Synthetic => cfg.capture.source == SourceKind::Synthetic,
        AudioSource::Live => true,
        AudioSource::None => false,
    }
}

/// Starts ingest, playout and the engine thread.
pub fn start(cfg: &SystemConfig, publisher: Arc<Publisher>) -> Result<RunningEngine> {
    let c = &cfg.capture;
    let p = &cfg.playout;
    let cal = setup::calibration(c)?;
    let stitcher = setup::stitcher(c, &cal)?;
    let detector = if cfg.detector.enabled {
        Some(detector(cfg, &cal)?)
    } else {
        None
    };
    let rate = FrameRate::new(c.fps, 1);
    let gpu = setup::gpu(c)?;
    let (cuda, pool, pool_bytes) = frame_stores(cfg, &cal, &stitcher, gpu.as_ref())?;
    let audio_on = audio_on(cfg);
    let playout = start_playout(cfg, &cal, gpu.clone(), audio_on)?;
    let playout_tx = playout.sender();
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let gpu_at_start = gpu.as_ref().map(|g| (g.clone(), pool_bytes, g.transfers()));
    let mut ingest = start_ingest(cfg, &cal, gpu.as_deref(), start, stop.clone())?;
    let (audio, live_audio) = start_audio(cfg, audio_on, start, stop.clone(), playout_tx.clone())?;
    let stats = Arc::new(Mutex::new(EngineStats::default()));
    let mut sinks: Vec<Box<dyn capture::engine::PanoramaSink>> = vec![
        Box::new(TickSink {
            publisher: publisher.clone(),
        }),
        Box::new(PlayoutSink {
            tx: playout_tx.clone(),
        }),
    ];
    let detector = detector
        .map(|d| detector_sink(cfg, &cal, d, gpu.as_ref(), &publisher))
        .transpose()?;
    let detector_stats: Option<DetectorStatsFn> = detector
        .as_ref()
        .map(|sink| Arc::new(sink.stats_handle()) as DetectorStatsFn);
    sinks.extend(detector.map(|d| Box::new(d) as Box<dyn capture::engine::PanoramaSink>));
    let thread = spawn_engine(
        Engine {
            stitcher,
            pool,
            gpu: cuda,
            sinks,
            frame_ns: rate.frame_duration_ns(),
            max_frames: None,
            offline: !c.realtime,
            ingest_dropped: ingest.dropped.clone(),
            stats: Default::default(),
            live_stats: stats.clone(),
        },
        &mut ingest,
        stop.clone(),
    )?;
    let cameras = ingest.watches();
    tracing::info!(
        message = "Capture engine started.",
        panorama = format!("{}x{}", cal.panorama.width, cal.panorama.height),
        source = ?c.source,
        fps = c.fps,
        delay_s = p.delay_s,
        audio = audio_on,
    );
    Ok(RunningEngine {
        stop,
        thread: Some(thread),
        ingest: Some(ingest),
        audio,
        live_audio,
        playout_status: playout.status_handle(),
        playout: Some(playout),
        report_path: (!p.report.is_empty()).then(|| PathBuf::from(&p.report)),
        started: start,
        gpu: gpu_at_start,
        stats,
        detector_stats,
        cameras,
        playout_tx,
    })
}

use shared::artefacts::{CaptureReport, GpuRunReport, RunReport};

impl RunningEngine {
    /// True once the engine has stopped by itself (end of input or a frame limit).
    pub fn engine_ended(&self) -> bool {
        self.thread.as_ref().is_none_or(|t| t.is_finished())
    }

    fn run_report(&self, frames_out: u64) -> RunReport {
        let seconds = self.started.elapsed().as_secs_f64();
        let (host_rss_bytes, host_peak_bytes) = shared::process::host_memory();
        let n = frames_out.max(1) as f64;
        let gpu = self.gpu.as_ref().map(|(g, pool_bytes, before)| {
            let t = g.transfers();
            let (htod, dtoh) = (
                t.host_to_device - before.host_to_device,
                t.device_to_host - before.device_to_host,
            );
            GpuRunReport {
                pool_bytes: *pool_bytes,
                device_used_bytes: g.memory().map_or(0, |(free, total)| total - free),
                host_to_device_bytes: htod,
                device_to_host_bytes: dtoh,
                host_to_device_per_frame: htod as f64 / n,
                device_to_host_per_frame: dtoh as f64 / n,
            }
        });
        RunReport {
            seconds,
            fps: frames_out as f64 / seconds.max(1e-9),
            host_rss_bytes,
            host_peak_bytes,
            gpu,
        }
    }
}

impl RunningEngine {
    /// Stops the cameras and the engine, shows what is left in the delay ring and finalises
    /// every output.
    pub async fn stop(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let mut engine_stats = EngineStats::default();
        if let Some(t) = self.thread.take() {
            if let Ok(Ok((end, stats))) = tokio::task::spawn_blocking(move || t.join()).await {
                tracing::info!(message = "Capture engine stopped.", end = ?end, stats = ?stats);
                engine_stats = stats;
            }
        }
        if let Some(a) = self.audio.take() {
            let _ = tokio::task::spawn_blocking(move || a.join()).await;
        }
        drop(self.live_audio.take());
        if let Some(p) = self.playout.take() {
            if let Ok(report) = tokio::task::spawn_blocking(move || p.finish()).await {
                tracing::info!(message = "Playout finished.", frames_in = report.frames_in, frames_out = report.frames_out, outputs = ?report.outputs);
                let run = self.run_report(report.frames_out);
                tracing::info!(message = "Run summary.", run = ?run);
                if let Some(path) = &self.report_path {
                    let r = CaptureReport {
                        engine: engine_stats,
                        playout: report,
                        run,
                        detector: self.detector_stats.as_ref().map(|f| f()),
                    };
                    if let Err(e) =
                        std::fs::write(path, serde_json::to_string_pretty(&r).unwrap_or_default())
                    {
                        tracing::warn!(message = "Cannot write the playout report.", path = %path.display(), error = %e);
                    }
                }
            }
        }
        if let Some(i) = self.ingest.take() {
            let _ = tokio::task::spawn_blocking(move || i.stop()).await;
        }
    }
}

/// Whether recording and streaming start on: as launch's operator state says (a capture
/// restarted by launch), else as the match schedule wants now, else on.
fn record_at_start(cfg: &SystemConfig) -> bool {
    if let Some(o) = shared::operator::load_if_supervised(&cfg.runtime.dir()) {
        return o.record;
    }
    let now = shared::time::unix_now_ns() as i64;
    let on = cfg
        .operator
        .schedule(now)
        .wants_recording(now)
        .unwrap_or(true);
    if !on {
        tracing::info!(
            message =
                "Outside the scheduled matches: recording and streaming wait for the next one."
        );
    }
    on
}
