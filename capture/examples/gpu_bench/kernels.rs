//! Kernel times at production size against the bytes each must move and the device copy
//! bandwidth measured in the same run.

use crate::rig;
use anyhow::{Context, Result};
use capture::detector::mask::PanoramaMask;
use capture::detector::prepare::Letterbox;
use capture::detector::prepare_cuda::{CudaTilePreparer, TensorType};
use capture::detector::Tiling;
use capture::stitch::CudaStitcher;
use playout::gpu::{CudaPanoramaView, CudaVirtualCamera};
use playout::overlay;
use playout::pose::Pose;
use playout::vcam::{ViewLimits, VirtualCamera};
use shared::gpu::Gpu;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Timed repetitions per kernel (the median is reported).
    #[arg(long, default_value_t = 50)]
    pub reps: usize,
    /// Folder for the cached stitch tables.
    #[arg(long, default_value = "/tmp/touchline-tables")]
    pub cache: PathBuf,
}

/// Median milliseconds of `f` over `reps` runs, timed with device events (after a warm-up).
fn time_ms(gpu: &Arc<Gpu>, reps: usize, mut f: impl FnMut(usize) -> Result<()>) -> Result<f64> {
    for i in 0..3 {
        f(i)?;
    }
    gpu.sync()?;
    let mut times = Vec::with_capacity(reps);
    for i in 0..reps {
        let (start, end) = (gpu.timing_event()?, gpu.timing_event()?);
        start.record(gpu.stream())?;
        f(i)?;
        end.record(gpu.stream())?;
        times.push(start.elapsed_ms(&end)? as f64);
    }
    gpu.sync()?;
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2])
}

struct Row {
    name: String,
    ms: f64,
    bytes: f64,
}

pub fn run(a: Args) -> Result<()> {
    let gpu = Gpu::open(0)?;
    let (free, total) = gpu.memory()?;
    println!(
        "device: {} ({}), {:.1} of {:.1} GB free",
        gpu.name(),
        gpu.arch(),
        free as f64 / 1e9,
        total as f64 / 1e9
    );
    let mut rows = Vec::new();

    // Device copy bandwidth: a 1 GiB device-to-device copy, bytes read plus bytes written.
    let n = 1usize << 30;
    let (src, dst) = (gpu.alloc(n)?, gpu.alloc(n)?);
    gpu.fill(src.ptr(), 7, n)?;
    let ms = time_ms(&gpu, 20, |_| Ok(gpu.copy(dst.ptr(), src.ptr(), n)?))?;
    let copy_bw = 2.0 * n as f64 / (ms / 1e3);
    drop((src, dst));
    rows.push(Row {
        name: "device copy 1 GiB (read + write)".into(),
        ms,
        bytes: 2.0 * n as f64,
    });

    // Stitch: 2 x 3840x2160 NV12 -> 5700x1900 NV12.
    std::fs::create_dir_all(&a.cache)?;
    let cal = rig::calibration();
    let cpu = rig::stitcher(&cal, &a.cache)?;
    let pairs = rig::camera_pairs(&cal, 1);
    let (cw, ch) = (rig::CAM_W as usize, rig::CAM_H as usize);
    let cams: Vec<_> = pairs[0]
        .iter()
        .map(|c| -> Result<_> {
            let b = gpu.alloc(c.data.len())?;
            gpu.upload_nv12(&c.as_ref(), &b.nv12(cw, ch))?;
            Ok(b)
        })
        .collect::<Result<_>>()?;
    let mut st = CudaStitcher::new(gpu.clone(), cpu.table(), cpu.gain_settings())
        .context("CUDA stitcher")?;
    let (pw, ph) = st.panorama_size();
    let outs: Vec<_> = (0..4)
        .map(|_| gpu.alloc(pw * ph * 3 / 2))
        .collect::<Result<_, _>>()?;
    let views = [cams[0].nv12(cw, ch), cams[1].nv12(cw, ch)];
    let frame_bytes = (pw * ph * 3 / 2) as f64;
    let cam_bytes = 2.0 * (cw * ch * 3 / 2) as f64;
    let table_bytes = st.table_bytes() as f64;
    let ms = time_ms(&gpu, a.reps, |i| {
        st.stitch_with_gains(
            [Some(&views[0]), Some(&views[1])],
            &outs[i % 4].nv12(pw, ph),
            [1.02, 0.98],
        )?;
        Ok(())
    })?;
    rows.push(Row {
        name: "stitch kernels (luma + chroma)".into(),
        ms,
        bytes: table_bytes + cam_bytes + frame_bytes,
    });
    let ms = time_ms(&gpu, a.reps, |i| {
        st.stitch(
            [Some(&views[0]), Some(&views[1])],
            &outs[i % 4].nv12(pw, ph),
        )?;
        Ok(())
    })?;
    rows.push(Row {
        name: "stitch with gain measurement (+ 16 B down, 1 KiB up, 1 sync)".into(),
        ms,
        bytes: table_bytes + cam_bytes + frame_bytes,
    });
    let pano = outs[0].nv12(pw, ph);
    st.stitch([Some(&views[0]), Some(&views[1])], &pano)?;

    // Tile preparation: 1024x1024 tiles over the whole panorama, into 1024 and 640 inputs.
    for input in [1024u32, 640] {
        let tiling = Tiling::new(
            pw as u32,
            ph as u32,
            1024,
            64,
            &PanoramaMask::whole(pw as u32, ph as u32),
        );
        let lbs: Vec<_> = tiling
            .tiles
            .iter()
            .map(|t| Letterbox::new(t.w, t.h, input, input))
            .collect();
        let prep = CudaTilePreparer::new(gpu.clone(), &tiling, &lbs)?;
        let tensor = gpu.alloc(prep.tensor_len() * 4)?;
        let crops: f64 = tiling.tiles.iter().map(|t| (t.w * t.h) as f64 * 1.5).sum();
        let mid: f64 = tiling
            .tiles
            .iter()
            .zip(&lbs)
            .map(|(t, l)| (l.new_w * t.h) as f64 * 12.0 * 2.0)
            .sum();
        for ty in [TensorType::F32, TensorType::F16] {
            let ms = time_ms(&gpu, a.reps, |_| {
                Ok(prep.prepare(&pano, tensor.ptr(), ty)?)
            })?;
            rows.push(Row {
                name: format!(
                    "tile preparation {} x 1024x1024 -> {input}x{input} {ty:?}",
                    tiling.tiles.len()
                ),
                ms,
                bytes: crops + mid + (prep.tensor_len() * ty.bytes()) as f64,
            });
        }
    }

    // Virtual camera: 1920x1080 NV12 and RGBA from the panorama.
    let vc = VirtualCamera::new(
        cal.panorama.clone(),
        1920,
        1080,
        ViewLimits {
            min_fov: 12.0,
            max_fov: 90.0,
            roll_deg: 0.0,
        },
    );
    let pose = vc.limit(&Pose {
        yaw: 10.0,
        pitch: -15.0,
        fov: 35.0,
    });
    let cuda = CudaVirtualCamera::new(gpu.clone(), vc)?;
    let out = gpu.alloc(1920 * 1080 * 3 / 2)?;
    let rgba = gpu.alloc(1920 * 1080 * 4)?;
    let out_bytes = (1920 * 1080 * 3 / 2) as f64;
    // Each output sample reads at least one panorama sample: count the output size twice.
    let ms = time_ms(&gpu, a.reps, |_| {
        Ok(cuda.render(&pano, &pose, &out.nv12(1920, 1080))?)
    })?;
    rows.push(Row {
        name: "virtual camera 1920x1080 NV12 (grid + luma + chroma)".into(),
        ms,
        bytes: 2.0 * out_bytes,
    });
    let ms = time_ms(&gpu, a.reps, |_| {
        Ok(cuda.to_rgba(&out.nv12(1920, 1080), &rgba)?)
    })?;
    rows.push(Row {
        name: "NV12 -> RGBA 1920x1080".into(),
        ms,
        bytes: out_bytes + 1920.0 * 1080.0 * 4.0,
    });

    // Panorama view: 1280-wide downscale with overlays.
    let (vw, vh) = (1280usize, 426usize);
    let view = CudaPanoramaView::new(gpu.clone())?;
    let vbuf = gpu.alloc(vw * vh * 3 / 2)?;
    let vcam = cuda.camera().clone();
    let dots = overlay::plan(
        vw as f64 / pw as f64,
        None,
        Some((2800.0, 1200.0)),
        &vcam,
        &pose,
    );
    let ms = time_ms(&gpu, a.reps, |_| {
        view.scale(&pano, &vbuf.nv12(vw, vh))?;
        Ok(view.draw(&vbuf.nv12(vw, vh), &dots)?)
    })?;
    rows.push(Row {
        name: format!("panorama view {vw}x{vh} + overlay ({} points)", dots.len()),
        ms,
        bytes: 2.0 * (vw * vh * 3 / 2) as f64,
    });

    println!(
        "copy bandwidth measured: {:.0} GB/s (read + write)",
        copy_bw / 1e9
    );
    println!(
        "| kernel | median ms | bytes moved (MB, at least) | GB/s | share of copy bandwidth |"
    );
    println!("|---|---:|---:|---:|---:|");
    for r in rows {
        let bw = r.bytes / (r.ms / 1e3);
        println!(
            "| {} | {:.3} | {:.1} | {:.0} | {:.0}% |",
            r.name,
            r.ms,
            r.bytes / 1e6,
            bw / 1e9,
            100.0 * bw / copy_bw
        );
    }
    Ok(())
}
