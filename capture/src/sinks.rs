//! Panorama sinks that live in capture: frame ticks on the bus, a panorama video file.

use crate::engine::{PanoramaFrame, PanoramaSink};
use playout::outputs::{FileOutput, FileOutputSettings};
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
    out: Option<FileOutput>,
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
            out: Some(FileOutput::create(
                path,
                &FileOutputSettings {
                    width,
                    height,
                    fps,
                    bitrate_kbps: bitrate,
                    blocking,
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
        if let Some(out) = self.out.as_mut() {
            if let Err(e) = out.push(f.buffer.clone()) {
                self.errors += 1;
                if self.errors == 1 {
                    tracing::error!(message = "Panorama file output failed; the rest of capture continues.", error = %e);
                }
            }
        }
    }

    fn finish(&mut self) {
        if let Some(out) = self.out.take() {
            let path = out.path().to_path_buf();
            match out.finish() {
                Ok(n) => {
                    tracing::info!(message = "Panorama file finished.", path = %path.display(), frames = n)
                }
                Err(e) => {
                    tracing::error!(message = "Panorama file did not finish cleanly.", error = %e)
                }
            }
        }
    }
}
