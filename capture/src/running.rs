//! Capture's engine running in the service: ingest, stitching, and the panorama sinks, on
//! their own threads, stopped on shutdown.

use anyhow::Result;
use capture::engine::{Engine, EngineEnd, EngineStats, PanoramaPool};
use capture::setup::{self, Ingest};
use capture::sinks::TickSink;
use shared::config::SystemConfig;
use shared::transport::Publisher;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// The running engine.
pub struct RunningEngine {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<(EngineEnd, EngineStats)>>,
    ingest: Option<Ingest>,
    pub stats: Arc<Mutex<EngineStats>>,
}

/// Starts ingest and the engine thread.
pub fn start(cfg: &SystemConfig, publisher: Arc<Publisher>) -> Result<RunningEngine> {
    let c = &cfg.capture;
    let cal = setup::calibration(c)?;
    let stitcher = setup::stitcher(c, &cal)?;
    let pool = PanoramaPool::new(cal.panorama.width, cal.panorama.height, 8)?;
    let stop = Arc::new(AtomicBool::new(false));
    let mut ingest = setup::start_ingest(c, &cal, c.realtime, None, stop.clone())?;
    let stats = Arc::new(Mutex::new(EngineStats::default()));
    let mut engine = Engine {
        stitcher,
        pool,
        sinks: vec![Box::new(TickSink { publisher })],
        frame_ns: shared::time::FrameRate::new(c.fps, 1).frame_duration_ns(),
        max_frames: None,
        stats: Default::default(),
        live_stats: stats.clone(),
    };
    let events = std::mem::replace(&mut ingest.events, std::sync::mpsc::channel().1);
    let engine_stop = stop.clone();
    let thread = std::thread::Builder::new()
        .name("engine".into())
        .spawn(move || {
            let end = engine.run(events, engine_stop);
            (end, engine.stats)
        })?;
    tracing::info!(
        message = "Capture engine started.",
        panorama = format!("{}x{}", cal.panorama.width, cal.panorama.height),
        source = ?c.source,
        fps = c.fps
    );
    Ok(RunningEngine {
        stop,
        thread: Some(thread),
        ingest: Some(ingest),
        stats,
    })
}

impl RunningEngine {
    /// Stops the cameras and the engine (sinks finish their files).
    pub async fn stop(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            if let Ok(Ok((end, stats))) = tokio::task::spawn_blocking(move || t.join()).await {
                tracing::info!(message = "Capture engine stopped.", end = ?end, stats = ?stats);
            }
        }
        if let Some(i) = self.ingest.take() {
            let _ = tokio::task::spawn_blocking(move || i.stop()).await;
        }
    }
}
