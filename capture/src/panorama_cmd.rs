//! `capture panorama`: stitch the configured source into a video file.

use anyhow::{Context, Result};
use capture::engine::{Engine, PanoramaPool};
use capture::setup;
use capture::sinks::PanoramaFileSink;
use shared::config::SystemConfig;
use shared::shutdown::Shutdown;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

pub async fn run(
    cfg: SystemConfig,
    mut shutdown: Shutdown,
    out: PathBuf,
    seconds: f64,
) -> Result<()> {
    let c = &cfg.capture;
    let cal = setup::calibration(c)?;
    let stitcher = setup::stitcher(c, &cal)?;
    let frames = (seconds * c.fps as f64).round().max(1.0) as u64;
    let stop = Arc::new(AtomicBool::new(false));
    // Every check before anything starts.
    let sink = PanoramaFileSink::create(&out, cal.panorama.width, cal.panorama.height, c.fps, true)
        .with_context(|| format!("panorama output {}", out.display()))?;
    let gpu = setup::gpu(c)?;
    let ingest = setup::start_ingest(
        c,
        &cal,
        gpu.as_deref(),
        false,
        Some(frames),
        None,
        std::time::Instant::now(),
        stop.clone(),
    )?;
    let cuda = gpu
        .as_ref()
        .map(|g| setup::cuda_stage(g, &stitcher, 8))
        .transpose()?;
    let mut engine = Engine {
        pool: PanoramaPool::new(cal.panorama.width, cal.panorama.height, 8)?,
        stitcher,
        gpu: cuda,
        sinks: vec![Box::new(sink)],
        frame_ns: shared::time::FrameRate::new(c.fps, 1).frame_duration_ns(),
        max_frames: Some(frames),
        // Synthetic frames and files wait for each other; live cameras keep the
        // one-frame rule (a stalled camera must not freeze the file).
        offline: !c.source.is_live(),
        ingest_dropped: ingest.dropped.clone(),
        stats: Default::default(),
        live_stats: Default::default(),
    };
    let events = ingest.events;
    let engine_stop = stop.clone();
    let mut task = tokio::task::spawn_blocking(move || {
        let end = engine.run(events, engine_stop);
        (end, engine.stats)
    });
    let (end, stats) = tokio::select! {
        r = &mut task => r?,
        _ = shutdown.wait() => {
            stop.store(true, Ordering::Relaxed);
            task.await?
        }
    };
    stop.store(true, Ordering::Relaxed);
    for mut cam in ingest.cameras {
        cam.stop();
    }
    if let Some(f) = ingest.feeder {
        let _ = f.join();
    }
    tracing::info!(message = "Panorama written.", path = %out.display(), frames = stats.panoramas, end = ?end, stats = ?stats);
    eprintln!(
        "panorama: {} frames written to {}",
        stats.panoramas,
        out.display()
    );
    if stats.panoramas == 0 {
        anyhow::bail!(
            "no panorama was stitched ({:?}, camera errors: {}); see the camera errors above",
            end,
            stats.camera_errors
        );
    }
    Ok(())
}
