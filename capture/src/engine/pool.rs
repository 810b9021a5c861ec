//! The panorama frame pool: NV12 buffers of the panorama size, allocated once at start-up,
//! sized by the caller (delay x frame rate + margin). Stitching writes into a pooled buffer;
//! everything downstream holds references to it.

use gst::prelude::*;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum PoolError {
    #[error("the panorama pool needs {frames} frames of {frame_mb:.1} MB = {total_gb:.2} GB, but only {available_gb:.2} GB of memory is available; shorten playout.delay_s, lower the frame rate or the panorama size")]
    Insufficient {
        frames: u32,
        frame_mb: f64,
        total_gb: f64,
        available_gb: f64,
    },
    #[error("cannot set up the panorama pool: {0}")]
    Setup(String),
}

/// Pool of panorama buffers.
pub struct PanoramaPool {
    pool: gst_video::VideoBufferPool,
    pub info: gst_video::VideoInfo,
    pub capacity: u32,
}

/// Available memory (bytes) from /proc/meminfo, if readable.
fn mem_available() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

impl PanoramaPool {
    /// Allocates `capacity` NV12 frames of `width` x `height` now.
    pub fn new(width: u32, height: u32, capacity: u32) -> Result<PanoramaPool, PoolError> {
        let info = gst_video::VideoInfo::builder(gst_video::VideoFormat::Nv12, width, height)
            .build()
            .map_err(|e| PoolError::Setup(e.to_string()))?;
        let frame = info.size() as u64;
        let total = frame * capacity as u64;
        if let Some(avail) = mem_available() {
            // Keep a tenth of what is free for everything else.
            if total > avail / 10 * 9 {
                return Err(PoolError::Insufficient {
                    frames: capacity,
                    frame_mb: frame as f64 / 1e6,
                    total_gb: total as f64 / 1e9,
                    available_gb: avail as f64 / 1e9,
                });
            }
        }
        let caps = info
            .to_caps()
            .map_err(|e| PoolError::Setup(e.to_string()))?;
        let pool = gst_video::VideoBufferPool::new();
        let mut config = pool.config();
        config.set_params(Some(&caps), frame as u32, capacity, capacity);
        pool.set_config(config)
            .map_err(|e| PoolError::Setup(e.to_string()))?;
        // Activation allocates the `capacity` buffers (min = max).
        pool.set_active(true)
            .map_err(|e| PoolError::Setup(format!("allocating {capacity} frames: {e}")))?;
        Ok(PanoramaPool {
            pool,
            info,
            capacity,
        })
    }

    /// A free buffer, or `None` when every buffer is in use (never waits).
    pub fn acquire(&self) -> Option<gst::Buffer> {
        let params =
            gst::BufferPoolAcquireParams::with_flags(gst::BufferPoolAcquireFlags::DONTWAIT);
        self.pool.acquire_buffer(Some(&params)).ok()
    }

    /// Bytes of one frame.
    pub fn frame_bytes(&self) -> usize {
        self.info.size()
    }
}

impl Drop for PanoramaPool {
    fn drop(&mut self) {
        let _ = self.pool.set_active(false);
    }
}
