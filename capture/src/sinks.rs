//! Panorama sinks that live in capture: frame ticks on the bus, a panorama video file.

use crate::engine::{PanoramaFrame, PanoramaSink};
use playout::frame::FrameRef;
use playout::outputs::{ProgramOutput, ProgramSettings, ProgramTarget};
use shared::messages::{FrameTick, Message};
use shared::transport::Publisher;
use std::path::Path;
use std::sync::Arc;

/// Publishes a `FrameTick` for every panorama.
pub struct TickSink {
    pub publisher: Arc<Publisher>,
}

impl PanoramaSink for TickSink {
    fn name(&self) -> &str {
        "ticks"
    }

    fn frame(&mut self, f: &PanoramaFrame) {
        // The publisher counts what it cannot send; a tick is never worth stopping for.
        let _ = self.publisher.publish(&Message::FrameTick(FrameTick {
            pts_ns: f.pts_ns,
            seq: f.seq,
            width: f.width,
            height: f.height,
        }));
    }
}

/// Writes the panorama to a video file.
pub struct PanoramaFileSink {
    out: Option<ProgramOutput>,
    errors: u64,
}

impl PanoramaFileSink {
    pub fn create(
        path: &Path,
        width: u32,
        height: u32,
        fps: u32,
        blocking: bool,
    ) -> Result<Self, playout::outputs::OutputError> {
        let bitrate =
            ((width as u64 * height as u64 * fps as u64) / 8000).clamp(2000, 50_000) as u32;
        Ok(PanoramaFileSink {
            out: Some(ProgramOutput::create(
                &ProgramTarget::File(path.to_path_buf()),
                &ProgramSettings {
                    width,
                    height,
                    fps,
                    bitrate_kbps: bitrate,
                    audio: false,
                    blocking,
                    text: false,
                },
            )?),
            errors: 0,
        })
    }
}

impl PanoramaSink for PanoramaFileSink {
    fn name(&self) -> &str {
        "panorama-file"
    }

    fn frame(&mut self, f: &PanoramaFrame) {
        let Some(out) = self.out.as_mut() else {
            return;
        };
        let buffer = match &f.frame {
            FrameRef::Host(b) => b.clone(),
            // The file is for people to look at: the one place a GPU panorama is downloaded.
            FrameRef::Cuda(g) => match download(g, f.pts_ns) {
                Ok(b) => b,
                Err(e) => {
                    self.errors += 1;
                    tracing::warn!(message = "Cannot download the panorama for the file.", error = %e);
                    return;
                }
            },
            FrameRef::Downloaded(v) => gst::Buffer::from_slice(v.as_ref().clone()),
        };
        if out.push_video(buffer) != playout::outputs::Pushed::Queued {
            self.errors += 1;
        }
    }

    fn finish(&mut self) {
        if let Some(out) = self.out.take() {
            let name = out.name().to_string();
            match out.finish() {
                Ok(n) => {
                    tracing::info!(message = "Panorama file finished.", path = %name, frames = n)
                }
                Err(e) => {
                    tracing::error!(message = "Panorama file did not finish cleanly.", error = %e)
                }
            }
        }
    }
}

fn download(g: &shared::gpu::GpuFrame, pts_ns: u64) -> Result<gst::Buffer, shared::gpu::GpuError> {
    let d = g.nv12();
    let mut host = vec![0u8; d.bytes()];
    g.gpu().download(d.ptr, &mut host)?;
    let mut b = gst::Buffer::from_mut_slice(host);
    if let Some(b) = b.get_mut() {
        b.set_pts(gst::ClockTime::from_nseconds(pts_ns));
    }
    Ok(b)
}

/// Hands every panorama (a reference) to playout's delay ring.
pub struct PlayoutSink {
    pub tx: std::sync::mpsc::Sender<playout::engine::PlayoutInput>,
}

impl PanoramaSink for PlayoutSink {
    fn name(&self) -> &str {
        "playout"
    }

    fn frame(&mut self, f: &PanoramaFrame) {
        let _ = self.tx.send(playout::engine::PlayoutInput::Frame {
            pts_ns: f.pts_ns,
            seq: f.seq,
            frame: f.frame.clone(),
        });
    }
}
