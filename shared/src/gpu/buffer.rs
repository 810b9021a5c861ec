//! Device memory: owned raw buffers and NV12 frame views into them.

use super::error::GpuError;
use cudarc::driver::{CudaSlice, CudaStream, DevicePtr};
use std::marker::PhantomData;
use std::sync::Arc;

/// An owned device allocation, addressed by its raw pointer in kernel arguments.
pub struct DeviceBuffer {
    // Owns the allocation; freed (stream-ordered) on drop.
    _slice: CudaSlice<u8>,
    ptr: u64,
    len: usize,
}

impl DeviceBuffer {
    pub(crate) fn new(stream: &Arc<CudaStream>, len: usize) -> Result<DeviceBuffer, GpuError> {
        // SAFETY: the memory is uninitialised; every user writes before reading, and tests
        // poison it first.
        let slice = unsafe { stream.alloc::<u8>(len.max(1)) }
            .map_err(|e| GpuError::driver(format!("allocating {:.1} MB", len as f64 / 1e6), e))?;
        let ptr = {
            let (p, _sync) = slice.device_ptr(stream);
            p
        };
        Ok(DeviceBuffer {
            _slice: slice,
            ptr,
            len,
        })
    }

    /// Raw device address of the first byte.
    pub fn ptr(&self) -> u64 {
        self.ptr
    }

    /// Bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// A packed NV12 view (`pitch == width`) of the start of the buffer.
    pub fn nv12(&self, width: usize, height: usize) -> DeviceNv12<'_> {
        assert!(
            width * height * 3 / 2 <= self.len,
            "a {width}x{height} NV12 frame does not fit in {} bytes",
            self.len
        );
        DeviceNv12::new(self.ptr, width, height, width)
    }
}

/// An NV12 frame in device memory: the Y plane (`pitch * height` bytes) followed by the
/// interleaved UV plane (`pitch * height / 2` bytes). Borrows the memory it points into.
#[derive(Debug, Clone, Copy)]
pub struct DeviceNv12<'a> {
    pub ptr: u64,
    /// Address of the UV plane (`ptr + pitch * height` in our own frames).
    pub uv: u64,
    pub width: usize,
    pub height: usize,
    pub pitch: usize,
    _memory: PhantomData<&'a ()>,
}

impl DeviceNv12<'_> {
    /// A view of NV12 device memory owned elsewhere (a decoder's buffer).
    ///
    /// # Safety
    /// `y` must address `height` rows and `uv` `height / 2` rows of `pitch` bytes of device
    /// memory of this process's CUDA context, valid for as long as the view is used.
    pub unsafe fn from_raw(y: u64, uv: u64, width: usize, height: usize, pitch: usize) -> Self {
        let mut v = Self::new(y, width, height, pitch);
        v.uv = uv;
        v
    }

    pub(crate) fn new(ptr: u64, width: usize, height: usize, pitch: usize) -> Self {
        DeviceNv12 {
            ptr,
            uv: ptr + (pitch * height) as u64,
            width,
            height,
            pitch,
            _memory: PhantomData,
        }
    }

    /// Address of the UV plane.
    pub fn uv_ptr(&self) -> u64 {
        self.uv
    }

    /// Bytes of the frame.
    pub fn bytes(&self) -> usize {
        self.pitch * self.height * 3 / 2
    }
}
