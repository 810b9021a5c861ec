//! The capture path at production size, offline, as fast as it goes: camera frames uploaded
//! once each (from pre-rendered synthetic frames, or decoded from H.264 files), stitched on
//! the GPU into the device pool, held by playout's delay ring (7 s at 30 fps), rendered by the
//! GPU virtual camera and downloaded as a 1920x1080 frame (optionally encoded with x264).

use crate::{files, rig};
use anyhow::{bail, Context, Result};
use capture::engine::CudaStageError;
use playout::engine::{Playout, PlayoutInput, PlayoutSetup};
use playout::frame::FrameRef;
use playout::outputs::ProgramTarget;
use playout::ring::pool_frames_for;
use shared::config::{AudioSource, PlayoutConfig, RingModeConfig};
use shared::gpu::{DeviceNv12, Gpu};
use shared::image::Nv12Ref;
use shared::time::{secs_to_ns, FrameRate};
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Panoramas to push through.
    #[arg(long, default_value_t = 600)]
    pub frames: u64,
    /// `zero-copy` (the product) or `host-copy` (the old design).
    #[arg(long, default_value = "zero-copy")]
    pub ring_mode: String,
    #[arg(long, default_value_t = 7.0)]
    pub delay_s: f64,
    #[arg(long, default_value_t = 30)]
    pub fps: u32,
    /// Left and right H.264 files (from `make-files`); without them pre-rendered synthetic
    /// frames are uploaded.
    #[arg(long, num_args = 2)]
    pub files: Vec<PathBuf>,
    /// With --files: keep NVDEC's output in GPU memory (our CUDA context shared with the
    /// decoder) instead of downloading and uploading it.
    #[arg(long)]
    pub cuda_memory: bool,
    /// Also encode the programme with x264 into this file.
    #[arg(long)]
    pub record: Option<PathBuf>,
    /// Folder for the cached stitch tables.
    #[arg(long, default_value = "/tmp/touchline-tables")]
    pub cache: PathBuf,
}

/// Camera frames for the loop.
enum Source {
    Frames(Vec<[shared::image::Nv12Image; 2]>),
    Files(files::Decoders),
}

pub fn run(a: Args) -> Result<()> {
    let mode = match a.ring_mode.as_str() {
        "zero-copy" => RingModeConfig::ZeroCopy,
        "host-copy" => RingModeConfig::HostCopy,
        other => bail!("--ring-mode {other:?}: zero-copy or host-copy"),
    };
    let gpu = Gpu::open(0)?;
    let (free0, total) = gpu.memory()?;
    std::fs::create_dir_all(&a.cache)?;
    let cal = rig::calibration();
    let cpu = rig::stitcher(&cal, &a.cache)?;
    let rate = FrameRate::new(a.fps, 1);
    let pool_frames = pool_frames_for(secs_to_ns(a.delay_s), rate, 12);
    let mut stage = capture::setup::cuda_stage(&gpu, &cpu, pool_frames)?;
    let frame_bytes = stage.pool.frame_bytes();
    let (free1, _) = gpu.memory()?;
    let mut cfg = PlayoutConfig {
        delay_s: a.delay_s,
        ring_mode: mode,
        output_width: 1920,
        output_height: 1080,
        audio: AudioSource::None,
        ..PlayoutConfig::default()
    };
    cfg.bitrate_kbps = 8000;
    let ring_frames = rate.frames_in(secs_to_ns(a.delay_s)) as usize + 2;
    let pose_log =
        std::env::temp_dir().join(format!("gpu_bench_poses_{}.jsonl", std::process::id()));
    let playout = Playout::start(PlayoutSetup {
        calibration: cal.clone(),
        fps: a.fps,
        config: cfg,
        outputs: a
            .record
            .iter()
            .map(|p| ProgramTarget::File(p.clone()))
            .collect(),
        panorama_view: None,
        blocking: true,
        retry: playout::outputs::RetrySettings::default(),
        audio: false,
        // Every frame is rendered and downloaded (no output needs it without a record).
        pose_log: Some(pose_log.clone()),
        gpu: Some(gpu.clone()),
        record: true,
        preview: None,
    })?;
    let tx = playout.sender();
    let mut source = if a.files.len() == 2 {
        Source::Files(files::Decoders::open(
            &a.files[0],
            &a.files[1],
            a.cuda_memory.then_some(gpu.as_ref()),
        )?)
    } else {
        eprintln!("rendering 8 synthetic camera pairs ...");
        Source::Frames(rig::camera_pairs(&cal, 8))
    };
    let frame_ns = rate.frame_duration_ns();
    let (cw, ch) = (rig::CAM_W as usize, rig::CAM_H as usize);
    let before = gpu.transfers();
    let started = Instant::now();
    let mut waits = 0u64;
    let mut frames = 0u64;
    let mut decoded: Vec<files::Decoded>;
    while frames < a.frames {
        let (host, device): (Option<[Nv12Ref<'_>; 2]>, Option<[DeviceNv12<'_>; 2]>) =
            match &mut source {
                Source::Frames(v) => {
                    let p = &v[frames as usize % v.len()];
                    (Some([p[0].as_ref(), p[1].as_ref()]), None)
                }
                Source::Files(d) => {
                    let Some(p) = d.next_pair()? else { break };
                    decoded = p;
                    match (&decoded[0], &decoded[1]) {
                        (files::Decoded::Cuda(l), files::Decoded::Cuda(r)) => {
                            (None, Some([l.nv12()?, r.nv12()?]))
                        }
                        _ => (
                            Some([decoded[0].nv12(cw, ch)?, decoded[1].nv12(cw, ch)?]),
                            None,
                        ),
                    }
                }
            };
        let frame = loop {
            let result = match (&host, &device) {
                (Some(h), _) => stage.stitch([Some(&h[0]), Some(&h[1])]),
                (None, Some(d)) => stage.stitch_device([Some(&d[0]), Some(&d[1])]),
                (None, None) => unreachable!("every source gives frames"),
            };
            match result {
                Ok(f) => break f,
                // Offline: wait for playout to release a frame instead of dropping one.
                Err(CudaStageError::PoolExhausted) => {
                    waits += 1;
                    std::thread::sleep(Duration::from_micros(200));
                }
                Err(CudaStageError::Stitch(e)) => return Err(e).context("stitching"),
            }
        };
        tx.send(PlayoutInput::Frame {
            pts_ns: frames * frame_ns,
            seq: frames,
            frame: FrameRef::Cuda(frame),
        })
        .context("playout stopped")?;
        frames += 1;
    }
    drop(tx);
    let report = playout.finish();
    gpu.sync()?;
    let secs = started.elapsed().as_secs_f64();
    let t = gpu.transfers();
    let (htod, dtoh) = (
        t.host_to_device - before.host_to_device,
        t.device_to_host - before.device_to_host,
    );
    let (rss, hwm) = shared::process::host_memory();
    let (free2, _) = gpu.memory()?;
    let _ = std::fs::remove_file(&pose_log);
    let n = frames.max(1) as f64;
    let cam_up = if a.cuda_memory && a.files.len() == 2 {
        0.0
    } else {
        2.0 * (cw * ch * 3 / 2) as f64
    };
    let out_down = 1920.0 * 1080.0 * 1.5;
    let pano_bus = (htod as f64 / n - cam_up).max(0.0) + (dtoh as f64 / n - out_down).max(0.0);
    println!(
        "{{\"mode\":\"{}\",\"source\":\"{}\",\"frames\":{},\"frames_out\":{},\"seconds\":{:.3},\"fps\":{:.1},\
\"pool_frames\":{},\"pool_gb\":{:.3},\"ring_frames\":{},\"ring_gb\":{:.3},\"gpu_used_by_setup_gb\":{:.3},\"gpu_used_at_end_gb\":{:.3},\
\"host_rss_gb\":{:.3},\"host_peak_gb\":{:.3},\"htod_mb_per_frame\":{:.2},\"dtoh_mb_per_frame\":{:.2},\
\"panorama_mb_over_pcie_per_frame\":{:.2},\"ring_bytes_copied_mb_per_frame\":{:.2},\"pool_waits\":{},\"ring_overflowed\":{}}}",
        a.ring_mode,
        match (a.files.len() == 2, a.cuda_memory) {
            (true, true) => "h264-files-cuda-memory",
            (true, false) => "h264-files",
            _ => "uploaded-frames",
        },
        frames,
        report.frames_out,
        secs,
        n / secs,
        pool_frames,
        (pool_frames as usize * frame_bytes) as f64 / 1e9,
        ring_frames,
        (ring_frames * frame_bytes) as f64 / 1e9,
        (free0 - free1) as f64 / 1e9,
        (total - free2) as f64 / 1e9,
        rss as f64 / 1e9,
        hwm as f64 / 1e9,
        htod as f64 / n / 1e6,
        dtoh as f64 / n / 1e6,
        pano_bus / 1e6,
        report.ring_bytes_copied as f64 / n / 1e6,
        waits,
        report.ring_overflowed,
    );
    if report.frames_out != frames {
        bail!("playout showed {} of {frames} frames", report.frames_out);
    }
    for (name, r) in &report.outputs {
        if let Err(e) = r {
            bail!("output {name}: {e}");
        }
    }
    Ok(())
}
