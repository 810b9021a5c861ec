//! The GPU panorama pool: NV12 frames in one device allocation made at start-up, sized by the
//! caller (delay x frame rate + margin). The stitcher writes into a frame it acquired; the
//! delay ring, the detector and the virtual camera hold references ([`GpuFrame`] clones);
//! the frame returns to the pool when the last reference goes.

use super::buffer::{DeviceBuffer, DeviceNv12};
use super::device::Gpu;
use super::error::GpuError;
use std::sync::{Arc, Mutex};

struct PoolInner {
    gpu: Arc<Gpu>,
    memory: DeviceBuffer,
    width: usize,
    height: usize,
    frame_bytes: usize,
    capacity: usize,
    free: Mutex<Vec<usize>>,
}

/// The pool. Cheap to clone (shared).
#[derive(Clone)]
pub struct GpuFramePool {
    inner: Arc<PoolInner>,
}

struct Slot {
    index: usize,
    pool: Arc<PoolInner>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Ok(mut f) = self.pool.free.lock() {
            f.push(self.index);
        }
    }
}

/// A reference to a pooled frame. Clones share the frame; it is free again when every clone
/// is gone.
#[derive(Clone)]
pub struct GpuFrame {
    slot: Arc<Slot>,
}

impl std::fmt::Debug for GpuFrame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "GpuFrame({})", self.slot.index)
    }
}

impl GpuFrame {
    /// The frame's pixels.
    pub fn nv12(&self) -> DeviceNv12<'_> {
        let p = &self.slot.pool;
        DeviceNv12::new(
            p.memory.ptr() + (self.slot.index * p.frame_bytes) as u64,
            p.width,
            p.height,
            p.width,
        )
    }

    /// The GPU the frame lives on.
    pub fn gpu(&self) -> &Arc<Gpu> {
        &self.slot.pool.gpu
    }

    /// Index of the frame in its pool.
    pub fn index(&self) -> usize {
        self.slot.index
    }
}

impl GpuFramePool {
    /// Allocates `capacity` packed NV12 frames of `width` x `height` now, in one allocation.
    /// Refuses when that would leave less than a tenth of the GPU's free memory.
    pub fn new(
        gpu: &Arc<Gpu>,
        width: usize,
        height: usize,
        capacity: usize,
    ) -> Result<GpuFramePool, GpuError> {
        if !width.is_multiple_of(2) || !height.is_multiple_of(2) || capacity == 0 {
            return Err(GpuError::Invalid(format!(
                "GPU pool of {capacity} frames of {width}x{height} (NV12 needs even sizes)"
            )));
        }
        let frame_bytes = width * height * 3 / 2;
        let total = frame_bytes * capacity;
        let (free, _) = gpu.memory()?;
        if total > free / 10 * 9 {
            return Err(GpuError::OutOfMemory {
                what: format!("the panorama pool ({capacity} frames of {width}x{height} NV12)"),
                need_gb: total as f64 / 1e9,
                free_gb: free as f64 / 1e9,
            });
        }
        let memory = gpu.alloc(total)?;
        tracing::info!(
            message = "GPU panorama pool allocated.",
            frames = capacity,
            frame_mb = frame_bytes as f64 / 1e6,
            total_gb = total as f64 / 1e9
        );
        Ok(GpuFramePool {
            inner: Arc::new(PoolInner {
                gpu: gpu.clone(),
                memory,
                width,
                height,
                frame_bytes,
                capacity,
                free: Mutex::new((0..capacity).rev().collect()),
            }),
        })
    }

    /// A free frame, or `None` when every frame is held (never waits).
    pub fn acquire(&self) -> Option<GpuFrame> {
        let index = self.inner.free.lock().ok()?.pop()?;
        Some(GpuFrame {
            slot: Arc::new(Slot {
                index,
                pool: self.inner.clone(),
            }),
        })
    }

    pub fn capacity(&self) -> usize {
        self.inner.capacity
    }

    /// Frames not held by anyone.
    pub fn available(&self) -> usize {
        self.inner.free.lock().map(|f| f.len()).unwrap_or(0)
    }

    pub fn frame_bytes(&self) -> usize {
        self.inner.frame_bytes
    }

    /// Device bytes of the whole pool.
    pub fn total_bytes(&self) -> usize {
        self.inner.frame_bytes * self.inner.capacity
    }

    pub fn size(&self) -> (usize, usize) {
        (self.inner.width, self.inner.height)
    }
}
