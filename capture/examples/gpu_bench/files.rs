//! H.264 camera files: written from the synthetic rig with x264, read back with NVDEC
//! (`nvh264dec`) into system memory for upload.

use crate::rig;
use anyhow::{bail, Context, Result};
use capture::ingest::cuda_memory::{self, CudaFrame};
use gst::prelude::*;
use gst_video::prelude::*;
use shared::gpu::Gpu;
use shared::image::Nv12Ref;
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Output folder (left.mp4 and right.mp4 are written there).
    #[arg(long)]
    pub out: PathBuf,
    #[arg(long, default_value_t = 300)]
    pub frames: u64,
    #[arg(long, default_value_t = 30)]
    pub fps: u32,
}

fn pipeline(desc: &str) -> Result<gst::Pipeline> {
    gst::parse::launch(desc)
        .with_context(|| format!("pipeline `{desc}`"))?
        .downcast::<gst::Pipeline>()
        .map_err(|_| anyhow::anyhow!("`{desc}` is not a pipeline"))
}

fn wait_eos(p: &gst::Pipeline) -> Result<()> {
    let bus = p.bus().context("bus")?;
    for msg in bus.iter_timed(gst::ClockTime::NONE) {
        match msg.view() {
            gst::MessageView::Eos(_) => return Ok(()),
            gst::MessageView::Error(e) => bail!("{} ({:?})", e.error(), e.debug()),
            _ => {}
        }
    }
    Ok(())
}

pub fn run(a: Args) -> Result<()> {
    std::fs::create_dir_all(&a.out)?;
    let cal = rig::calibration();
    // The rig of these files, for `capture.calibration` (the capture binary's files source).
    std::fs::write(a.out.join("calibration.toml"), cal.to_toml_string())?;
    let mut world = rig::world(&cal, a.fps);
    let (w, h) = (rig::CAM_W as usize, rig::CAM_H as usize);
    let caps = format!(
        "video/x-raw,format=NV12,width={w},height={h},framerate={}/1",
        a.fps
    );
    let mut pipes = Vec::new();
    let mut srcs = Vec::new();
    for name in ["left", "right"] {
        let path = a.out.join(format!("{name}.mp4"));
        let p = pipeline(&format!(
            "appsrc name=src format=time caps={caps} ! queue max-size-buffers=8 ! x264enc speed-preset=ultrafast bitrate=25000 key-int-max=30 threads=8 \
             ! h264parse ! mp4mux ! filesink location={}",
            path.display()
        ))?;
        let src = p
            .by_name("src")
            .and_then(|e| e.downcast::<gst_app::AppSrc>().ok())
            .context("appsrc")?;
        src.set_block(true);
        src.set_max_bytes((w * h * 6) as u64);
        p.set_state(gst::State::Playing)?;
        pipes.push(p);
        srcs.push(src);
    }
    let started = std::time::Instant::now();
    let frame_ns = 1_000_000_000 / a.fps as u64;
    for i in 0..a.frames {
        let mut l = shared::image::Nv12Image::new(w, h);
        let mut r = shared::image::Nv12Image::new(w, h);
        world.render_next(&mut l.as_mut(), &mut r.as_mut());
        for (src, img) in srcs.iter().zip([l, r]) {
            let mut b = gst::Buffer::from_mut_slice(img.data);
            if let Some(b) = b.get_mut() {
                b.set_pts(gst::ClockTime::from_nseconds(i * frame_ns));
                b.set_duration(gst::ClockTime::from_nseconds(frame_ns));
            }
            src.push_buffer(b).context("pushing a camera frame")?;
        }
    }
    for src in &srcs {
        src.end_of_stream()?;
    }
    for p in &pipes {
        wait_eos(p)?;
        p.set_state(gst::State::Null)?;
    }
    eprintln!(
        "{} frames per camera written to {} in {:.1} s",
        a.frames,
        a.out.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// A decoded camera frame in system memory, or in GPU memory mapped for the kernels.
pub enum Decoded {
    Host(gst_video::VideoFrame<gst_video::video_frame::Readable>),
    Cuda(CudaFrame),
}

impl Decoded {
    pub fn nv12(&self, w: usize, h: usize) -> Result<Nv12Ref<'_>> {
        let Decoded::Host(f) = self else {
            bail!("frame is in GPU memory");
        };
        if (f.width() as usize, f.height() as usize) != (w, h)
            || f.format() != gst_video::VideoFormat::Nv12
        {
            bail!(
                "decoded frame is {:?} {}x{}, expected NV12 {w}x{h}",
                f.format(),
                f.width(),
                f.height()
            );
        }
        Ok(Nv12Ref {
            width: w,
            height: h,
            y: f.plane_data(0)?,
            y_stride: f.plane_stride()[0] as usize,
            uv: f.plane_data(1)?,
            uv_stride: f.plane_stride()[1] as usize,
        })
    }
}

/// NVDEC decoders of both files, pulled in step.
pub struct Decoders {
    pipes: Vec<gst::Pipeline>,
    sinks: Vec<gst_app::AppSink>,
    cuda: bool,
}

impl Decoders {
    /// With `gpu`, frames stay in GPU memory (NVDEC's output in our CUDA context); without,
    /// NVDEC downloads them into system memory.
    pub fn open(left: &Path, right: &Path, gpu: Option<&Gpu>) -> Result<Decoders> {
        let context = gpu.map(cuda_memory::shared_context).transpose()?;
        let memory = if gpu.is_some() {
            "(memory:CUDAMemory)"
        } else {
            ""
        };
        if gst::ElementFactory::find("nvh264dec").is_none() {
            bail!("nvh264dec is not available (GStreamer's nvcodec plugin with an NVIDIA driver is needed)");
        }
        let mut pipes = Vec::new();
        let mut sinks = Vec::new();
        for path in [left, right] {
            let p = pipeline(&format!(
                "filesrc location={} ! qtdemux ! h264parse ! nvh264dec ! video/x-raw{memory},format=NV12 \
                 ! appsink name=sink sync=false max-buffers=4",
                path.display()
            ))?;
            if let Some(c) = &context {
                cuda_memory::share_with(&p, c);
            }
            let sink = p
                .by_name("sink")
                .and_then(|e| e.downcast::<gst_app::AppSink>().ok())
                .context("appsink")?;
            p.set_state(gst::State::Playing)?;
            pipes.push(p);
            sinks.push(sink);
        }
        Ok(Decoders {
            pipes,
            sinks,
            cuda: gpu.is_some(),
        })
    }

    /// The next frame of each file, or `None` at the end of either.
    pub fn next_pair(&mut self) -> Result<Option<Vec<Decoded>>> {
        let mut out = Vec::with_capacity(2);
        for s in &self.sinks {
            let Ok(sample) = s.pull_sample() else {
                return Ok(None);
            };
            let buffer = sample.buffer_owned().context("sample without buffer")?;
            let info =
                gst_video::VideoInfo::from_caps(sample.caps().context("sample without caps")?)?;
            if self.cuda {
                if !cuda_memory::is_cuda_memory(&buffer) {
                    bail!("the decoder gave system memory although CUDA memory was asked for");
                }
                out.push(Decoded::Cuda(CudaFrame::map(&buffer, &info)?));
                continue;
            }
            let frame = gst_video::VideoFrame::from_buffer_readable(buffer, &info)
                .map_err(|_| anyhow::anyhow!("cannot map a decoded frame"))?;
            out.push(Decoded::Host(frame));
        }
        Ok(Some(out))
    }
}

impl Drop for Decoders {
    fn drop(&mut self) {
        for p in &self.pipes {
            let _ = p.set_state(gst::State::Null);
        }
    }
}
