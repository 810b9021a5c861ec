//! NVDEC output consumed in GPU memory: GStreamer's CUDA elements (`nvh264dec`, ...) are given
//! our CUDA context, so decoder and kernels share one context, and decoded buffers in
//! `video/x-raw(memory:CUDAMemory)` are mapped with GStreamer's CUDA map flag, which yields
//! device pointers instead of a copy in system memory.
//!
//! `libgstcuda-1.0` is loaded at run time (the `gstreamer-cuda` crate has no bindings yet);
//! only `gst_cuda_context_new_wrapped` is needed from it.

use gst::glib;
use gst::glib::translate::{from_glib_full, ToGlibPtr, ToGlibPtrMut};
use gst::prelude::*;
use shared::gpu::{DeviceNv12, Gpu};
use std::sync::OnceLock;
use thiserror::Error;

/// `GST_MAP_CUDA`: map a CUDA memory as a device pointer.
const GST_MAP_CUDA: u32 = gst::ffi::GST_MAP_FLAG_LAST << 1;
/// Memory type of GStreamer's CUDA memory.
pub const CUDA_MEMORY_TYPE: &str = "gst.cuda.memory";
/// Context type (and structure field) through which CUDA elements find their context.
pub const CUDA_CONTEXT_TYPE: &str = "gst.cuda.context";
/// Caps feature of buffers in CUDA memory.
pub const CUDA_MEMORY_FEATURE: &str = "memory:CUDAMemory";

#[derive(Debug, Error)]
pub enum CudaMemoryError {
    #[error("GStreamer's CUDA library (libgstcuda-1.0.so.0, from gst-plugins-bad 1.22 or later) cannot be loaded: {0}")]
    Library(String),
    #[error("GStreamer refused to wrap our CUDA context")]
    Wrap,
    #[error("cannot map a decoded frame in CUDA memory")]
    Map,
    #[error("decoded frame layout not supported: {0}")]
    Layout(String),
}

/// `GstCudaContext *gst_cuda_context_new_wrapped (CUcontext, CUdevice)`.
type NewWrapped = unsafe extern "C" fn(
    ctx: *mut std::ffi::c_void,
    device: std::ffi::c_int,
) -> *mut glib::gobject_ffi::GObject;

/// `gboolean gst_cuda_load_library (void)`: loads the driver API into GStreamer's table.
type LoadLibrary = unsafe extern "C" fn() -> glib::ffi::gboolean;

struct GstCuda {
    // Keeps the library loaded for as long as the function pointer is used (the process).
    _lib: libloading::Library,
    new_wrapped: NewWrapped,
}

fn gst_cuda() -> Result<&'static GstCuda, CudaMemoryError> {
    static LIB: OnceLock<Result<GstCuda, String>> = OnceLock::new();
    LIB.get_or_init(|| {
        // SAFETY: loading a GStreamer library whose initialisers only register types.
        let lib = unsafe { libloading::Library::new("libgstcuda-1.0.so.0") }
            .map_err(|e| e.to_string())?;
        // SAFETY: the signature is `GstCudaContext * gst_cuda_context_new_wrapped (CUcontext,
        // CUdevice)` from gst/cuda/gstcudacontext.h.
        let new_wrapped = unsafe { lib.get::<NewWrapped>(b"gst_cuda_context_new_wrapped\0") }
            .map(|f| *f)
            .map_err(|e| e.to_string())?;
        // GStreamer calls the driver through its own table, filled by this (the nvcodec
        // plugin does it when it loads, which may be later than our first use).
        // SAFETY: `gboolean gst_cuda_load_library (void)`, idempotent.
        let load = unsafe { lib.get::<LoadLibrary>(b"gst_cuda_load_library\0") }
            .map(|f| *f)
            .map_err(|e| e.to_string())?;
        // SAFETY: as above.
        if unsafe { load() } == 0 {
            return Err("it cannot load the CUDA driver library".to_string());
        }
        Ok(GstCuda {
            _lib: lib,
            new_wrapped,
        })
    })
    .as_ref()
    .map_err(|e| CudaMemoryError::Library(e.clone()))
}

/// A `gst.cuda.context` GstContext wrapping our CUDA context, for the pipelines' CUDA elements.
pub fn shared_context(gpu: &Gpu) -> Result<gst::Context, CudaMemoryError> {
    let lib = gst_cuda()?;
    let ctx = gpu.context();
    // SAFETY: our context and device are live for the process; GStreamer takes no ownership
    // of a wrapped context.
    let raw = unsafe { (lib.new_wrapped)(ctx.cu_ctx() as *mut _, ctx.cu_device()) };
    if raw.is_null() {
        return Err(CudaMemoryError::Wrap);
    }
    // SAFETY: a new (full) reference to a GObject.
    let obj: glib::Object = unsafe { from_glib_full(raw) };
    // The field must hold the object with its own type (GstCudaContext), not plain GObject.
    let mut value = glib::Value::from_type(obj.type_());
    // SAFETY: `value` was made for exactly this object type.
    unsafe { glib::gobject_ffi::g_value_set_object(value.to_glib_none_mut().0, obj.as_ptr()) };
    let mut context = gst::Context::new(CUDA_CONTEXT_TYPE, true);
    {
        let s = context.get_mut().expect("new context").structure_mut();
        // SAFETY: the structure is writable (new context) and copies the value.
        unsafe {
            gst::ffi::gst_structure_set_value(
                s.as_mut_ptr(),
                c"gst.cuda.context".as_ptr(),
                value.to_glib_none().0,
            )
        };
        s.set("cuda-device-id", ctx.ordinal() as u32);
    }
    Ok(context)
}

/// Gives `context` to every CUDA element of `pipeline`: now, and whenever one asks.
pub fn share_with(pipeline: &gst::Pipeline, context: &gst::Context) {
    pipeline.set_context(context);
    let ctx = context.clone();
    let bus = pipeline.bus().expect("a pipeline has a bus");
    bus.set_sync_handler(move |_, msg| {
        if let gst::MessageView::NeedContext(n) = msg.view() {
            if n.context_type() == CUDA_CONTEXT_TYPE {
                if let Some(el) = msg.src().and_then(|s| s.downcast_ref::<gst::Element>()) {
                    el.set_context(&ctx);
                }
            }
        }
        gst::BusSyncReply::Pass
    });
}

/// True when the buffer's pixels are in GStreamer CUDA memory.
pub fn is_cuda_memory(buffer: &gst::BufferRef) -> bool {
    buffer.n_memory() > 0 && buffer.peek_memory(0).is_type(CUDA_MEMORY_TYPE)
}

/// A decoded NV12 frame mapped as device memory; unmapped on drop. Keep it until the GPU
/// work reading it has completed.
pub struct CudaFrame {
    frame: gst_video::ffi::GstVideoFrame,
    width: usize,
    height: usize,
}

// SAFETY: the mapping refers to a buffer reference it holds; unmapping from another thread
// is allowed by GStreamer.
unsafe impl Send for CudaFrame {}

impl CudaFrame {
    /// Maps `buffer` (NV12 in CUDA memory of our context) for reading on the GPU.
    pub fn map(
        buffer: &gst::Buffer,
        info: &gst_video::VideoInfo,
    ) -> Result<CudaFrame, CudaMemoryError> {
        if info.format() != gst_video::VideoFormat::Nv12 {
            return Err(CudaMemoryError::Layout(format!(
                "{:?}, NV12 expected",
                info.format()
            )));
        }
        let mut frame = std::mem::MaybeUninit::<gst_video::ffi::GstVideoFrame>::zeroed();
        // SAFETY: `frame` is written by the call; the buffer outlives the mapping (the frame
        // holds its own reference).
        let ok = unsafe {
            gst_video::ffi::gst_video_frame_map(
                frame.as_mut_ptr(),
                info.to_glib_none().0,
                buffer.as_mut_ptr(),
                gst::ffi::GST_MAP_READ | GST_MAP_CUDA,
            )
        };
        if ok == 0 {
            return Err(CudaMemoryError::Map);
        }
        // SAFETY: initialised by the successful map.
        let frame = unsafe { frame.assume_init() };
        Ok(CudaFrame {
            frame,
            width: info.width() as usize,
            height: info.height() as usize,
        })
    }

    /// The frame as a device NV12 view (both planes with one pitch).
    pub fn nv12(&self) -> Result<DeviceNv12<'_>, CudaMemoryError> {
        let f = &self.frame;
        let (y, uv) = (f.data[0] as u64, f.data[1] as u64);
        let (ys, uvs) = (f.info.stride[0] as usize, f.info.stride[1] as usize);
        if ys != uvs || y == 0 || uv == 0 {
            return Err(CudaMemoryError::Layout(format!(
                "Y stride {ys}, UV stride {uvs} (one pitch expected)"
            )));
        }
        // SAFETY: the mapping holds the memory; the view borrows `self`.
        Ok(unsafe { DeviceNv12::from_raw(y, uv, self.width, self.height, ys) })
    }
}

impl Drop for CudaFrame {
    fn drop(&mut self) {
        // SAFETY: mapped in `map`, unmapped once here.
        unsafe { gst_video::ffi::gst_video_frame_unmap(&mut self.frame) };
    }
}
