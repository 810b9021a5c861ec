//! Building capture from the config: calibration, stitch tables, stitcher, camera pipelines
//! and (for the synthetic source) the feeder thread.

use crate::ingest::sources::decode_on_gpu;
use crate::ingest::{
    camera_sources, feeder, ingest_queue_frames, CameraRetry, CameraSource, CameraSpec,
    CameraWatch, HandOff, IngestEvent, KeptCamera, TimeBase,
};
use crate::stitch::{CpuStitcher, GainSettings};
use crate::synthetic::{Exposure, SyntheticWorld};
use anyhow::{bail, Context, Result};
use shared::config::{Backend, CaptureConfig, SourceKind};
use shared::geometry::{Calibration, LutSource, StitchLut};
use shared::gpu::Gpu;
use shared::scene::{BallScript, BallSource, Scenario, Trajectory};
use shared::time::FrameRate;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::mpsc::Receiver;
use std::sync::Arc;
use std::thread::JoinHandle;

/// The rig calibration of the config (file or built-in synthetic rig), validated.
pub fn calibration(cfg: &CaptureConfig) -> Result<Calibration> {
    if cfg.calibration.is_empty() {
        let c = Calibration::synthetic(cfg.panorama_width, cfg.camera_width, cfg.camera_height);
        c.validate().context("built-in synthetic calibration")?;
        return Ok(c);
    }
    let c = Calibration::load(Path::new(&cfg.calibration))
        .with_context(|| format!("capture.calibration = {:?}", cfg.calibration))?;
    Ok(c)
}

fn cache_dir(cfg: &CaptureConfig) -> Option<PathBuf> {
    if !cfg.table_cache.is_empty() {
        return Some(PathBuf::from(&cfg.table_cache));
    }
    if let Some(x) = std::env::var_os("XDG_CACHE_HOME").filter(|x| !x.is_empty()) {
        return Some(PathBuf::from(x).join("touchline"));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/touchline"))
}

/// The stitcher for the calibration: legacy tables if configured, else computed (cached).
pub fn stitcher(cfg: &CaptureConfig, cal: &Calibration) -> Result<CpuStitcher> {
    let sizes = [0, 1].map(|i| {
        (
            cal.cameras[i].width as usize,
            cal.cameras[i].height as usize,
        )
    });
    let lut = if !cfg.legacy_tables.is_empty() {
        let l = StitchLut::import_legacy(
            Path::new(&cfg.legacy_tables),
            cal.panorama.width,
            cal.panorama.height,
            [0, 1].map(|i| (cal.cameras[i].width, cal.cameras[i].height)),
        )
        .with_context(|| format!("capture.legacy_tables = {:?}", cfg.legacy_tables))?;
        tracing::info!(message = "Imported legacy stitch tables.", folder = %cfg.legacy_tables);
        l
    } else {
        let t = std::time::Instant::now();
        let (l, src) = StitchLut::load_or_compute(cal, cache_dir(cfg).as_deref());
        match src {
            LutSource::Cache(p) => {
                tracing::info!(message = "Stitch tables loaded from cache.", path = %p.display())
            }
            LutSource::Computed { saved } => {
                tracing::info!(message = "Stitch tables computed.", ms = t.elapsed().as_millis() as u64, cached = ?saved)
            }
        }
        l
    };
    let coverage = lut.coverage();
    if coverage < 0.5 {
        bail!(
            "the stitch tables cover only {:.0}% of the panorama; check the calibration",
            coverage * 100.0
        );
    }
    Ok(CpuStitcher::new(
        &lut,
        sizes,
        GainSettings {
            smoothing: cfg.gain_smoothing,
            max_gain: cfg.max_gain,
        },
    ))
}

/// The GPU of the `cuda` backend (`None` for `cpu`). A missing driver or GPU is an error
/// that names the setting.
pub fn gpu(cfg: &CaptureConfig) -> Result<Option<Arc<Gpu>>> {
    match cfg.backend {
        Backend::Cpu => Ok(None),
        Backend::Cuda => Gpu::open(cfg.gpu_device as usize)
            .map(Some)
            .context("capture.backend = \"cuda\" cannot start"),
    }
}

/// The GPU stage of the engine: the stitcher's tables on the GPU and the device panorama pool
/// of `frames` frames.
pub fn cuda_stage(
    gpu: &Arc<Gpu>,
    stitcher: &CpuStitcher,
    frames: u32,
) -> Result<crate::engine::CudaStage> {
    let s =
        crate::stitch::CudaStitcher::new(gpu.clone(), stitcher.table(), stitcher.gain_settings())
            .context("CUDA stitcher")?;
    let (w, h) = stitcher.panorama_size();
    let pool =
        shared::gpu::GpuFramePool::new(gpu, w, h, frames as usize).context("GPU panorama pool")?;
    tracing::info!(
        message = "CUDA backend ready.",
        gpu = gpu.name(),
        table_mb = s.table_bytes() / 1_000_000,
        pool_frames = frames,
        pool_gb = pool.total_bytes() as f64 / 1e9
    );
    Ok(crate::engine::CudaStage::new(s, pool))
}

/// The synthetic match of the config.
pub fn synthetic_world(
    cfg: &CaptureConfig,
    cal: &Calibration,
    duration_s: f64,
) -> Result<SyntheticWorld> {
    let ball = if cfg.trajectory.is_empty() {
        let sc = Scenario::parse(&cfg.scenario).expect("validated");
        BallSource::Script(BallScript::generate(
            sc,
            duration_s.max(60.0),
            cfg.seed,
            &cal.pitch,
        ))
    } else {
        let t = Trajectory::load(Path::new(&cfg.trajectory), &cal.pitch, false)
            .with_context(|| format!("capture.trajectory = {:?}", cfg.trajectory))?;
        BallSource::File(t)
    };
    let exposure = [0, 1].map(|i| Exposure {
        gain: cfg.exposure[i],
        noise: cfg.noise,
    });
    Ok(SyntheticWorld::new(
        cal,
        ball,
        cfg.seed,
        FrameRate::new(cfg.fps, 1),
        exposure,
    ))
}

/// Running camera pipelines and the synthetic feeder.
pub struct Ingest {
    pub events: Receiver<IngestEvent>,
    /// Camera frames dropped at ingest (live runs, engine behind), per camera.
    pub dropped: [Arc<std::sync::atomic::AtomicU64>; 2],
    pub cameras: Vec<KeptCamera>,
    pub feeder: Option<JoinHandle<u64>>,
}

impl Ingest {
    /// Each camera's record (frames, state, restarts), left then right.
    pub fn watches(&self) -> Vec<Arc<std::sync::Mutex<CameraWatch>>> {
        self.cameras.iter().map(|c| c.watch.clone()).collect()
    }
}

impl Ingest {
    /// Stops the cameras and waits for the feeder.
    pub fn stop(mut self) {
        for c in self.cameras.iter_mut() {
            c.stop();
        }
        if let Some(f) = self.feeder.take() {
            let _ = f.join();
        }
    }
}

/// GStreamer has an NVDEC decoder (the nvcodec plugin found a driver and a decoder).
fn nvdec_present() -> bool {
    ["nvh264dec", "nvh265dec"]
        .iter()
        .any(|f| gst::ElementFactory::find(f).is_some())
}

/// The CUDA context to give camera pipelines that decode into GPU memory, or `None` when
/// cameras decode into system memory (the reason is logged where `gpu_decode` asked for it).
fn gpu_decode_context(cfg: &CaptureConfig, gpu: Option<&Gpu>) -> Option<gst::Context> {
    let gpu = gpu?;
    let nvdec = nvdec_present();
    if !decode_on_gpu(cfg, nvdec) {
        if decode_on_gpu(cfg, true) {
            tracing::warn!(message = "capture.gpu_decode: GStreamer has no NVDEC decoder (nvh264dec/nvh265dec from gstreamer1.0-plugins-bad with an NVIDIA driver); cameras are decoded into system memory and uploaded.");
        }
        return None;
    }
    match crate::ingest::cuda_memory::shared_context(gpu) {
        Ok(c) => {
            tracing::info!(
                message = "Cameras decode into GPU memory (NVDEC, capture's CUDA context)."
            );
            Some(c)
        }
        Err(e) => {
            tracing::warn!(message = "capture.gpu_decode: cannot share capture's CUDA context with GStreamer; cameras are decoded into system memory and uploaded.", error = %e);
            None
        }
    }
}

/// The configuration key of camera `i`'s source, for messages.
fn source_key(cfg: &CaptureConfig, i: usize) -> String {
    match cfg.source {
        SourceKind::Synthetic => "capture.source".into(),
        SourceKind::Files => format!("capture.files[{i}]"),
        SourceKind::Rtsp => format!("capture.rtsp[{i}]"),
        SourceKind::V4l2 => format!("capture.devices[{i}]"),
        SourceKind::Custom => format!("capture.pipelines[{i}]"),
    }
}

/// The synthetic source's feeder thread, pushing the rendered pair into both cameras'
/// appsrc elements.
fn spawn_feeder(
    world: SyntheticWorld,
    cameras: &[KeptCamera],
    settings: feeder::FeederSettings,
    stop: Arc<AtomicBool>,
) -> Result<JoinHandle<u64>> {
    let appsrcs = [0, 1].map(|i| {
        cameras[i]
            .appsrc
            .clone()
            .expect("synthetic cameras have an appsrc")
    });
    Ok(std::thread::Builder::new()
        .name("synthetic".into())
        .spawn(move || feeder::run(world, appsrcs, settings, stop))?)
}

/// Starts both camera pipelines (and the feeder for the synthetic source). `gpu`: the
/// `cuda` backend's GPU, whose context decoders share when frames stay in GPU memory.
///
/// In real-time runs a camera that fails or ends is restarted with backoff (a file plays
/// again from its start) while the broadcast goes on; in offline runs an end is final.
#[allow(clippy::too_many_arguments)]
pub fn start_ingest(
    cfg: &CaptureConfig,
    cal: &Calibration,
    gpu: Option<&Gpu>,
    realtime: bool,
    max_frames: Option<u64>,
    flash_every: Option<u64>,
    start: std::time::Instant,
    stop: Arc<AtomicBool>,
) -> Result<Ingest> {
    // The synthetic world first: a bad trajectory file fails before any pipeline starts.
    let world = (cfg.source == SourceKind::Synthetic)
        .then(|| {
            let duration = max_frames.map_or(3.0 * 3600.0, |f| f as f64 / cfg.fps as f64);
            synthetic_world(cfg, cal, duration)
        })
        .transpose()?;
    let (tx, rx) = std::sync::mpsc::sync_channel(ingest_queue_frames(cfg.fps));
    // A live camera cannot wait for the engine: its frames are dropped (and counted) instead.
    let block = !realtime && !cfg.source.is_live();
    let hand_off = [0, 1].map(|_| HandOff {
        events: tx.clone(),
        block,
        dropped: Default::default(),
    });
    let cuda_context = gpu_decode_context(cfg, gpu);
    let sources = camera_sources(cfg, cuda_context.is_some());
    // Live cameras stamp frames with the running time of their capture: one time base
    // for both makes those stamps comparable. Files in a real-time run are paced to their
    // timestamps on that time base, as a live camera would deliver them. Offline files and
    // the synthetic source carry their own timestamps from zero.
    let files_live = realtime && cfg.source == SourceKind::Files;
    let time_base = (cfg.source.is_live() || files_live).then(TimeBase::now);
    // Real-time runs keep cameras going: a failed or ended camera is restarted.
    let retry = (realtime && cfg.source != SourceKind::Synthetic).then(CameraRetry::default);
    let mut cameras = Vec::new();
    for (i, src) in sources.iter().enumerate() {
        let c = &cal.cameras[i];
        let spec = CameraSpec {
            cam: i,
            name: c.name.clone(),
            source: src.clone(),
            size: (c.width, c.height),
            fps: cfg.fps,
            key: source_key(cfg, i),
            replays: cfg.source == SourceKind::Files,
            sync: files_live,
            stamp_on_arrival: (cfg.source == SourceKind::Rtsp)
                .then_some(crate::ingest::sources::RTSP_LATENCY_MS * 1_000_000),
            cuda_context: cuda_context.clone(),
            time_base: time_base.clone(),
        };
        cameras.push(
            KeptCamera::start(spec, hand_off[i].clone(), retry).with_context(|| {
                format!("starting camera {i} ({}, {})", c.name, source_key(cfg, i))
            })?,
        );
    }
    let feeder = match world {
        Some(world) => {
            debug_assert!(sources.iter().all(|s| *s == CameraSource::Synthetic));
            let settings = feeder::FeederSettings {
                realtime,
                max_frames,
                truth_log: (!cfg.truth_log.is_empty()).then(|| PathBuf::from(&cfg.truth_log)),
                flash_every,
                start,
            };
            Some(spawn_feeder(world, &cameras, settings, stop)?)
        }
        None => None,
    };
    Ok(Ingest {
        events: rx,
        dropped: hand_off.map(|h| h.dropped),
        cameras,
        feeder,
    })
}
