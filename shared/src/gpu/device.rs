//! The GPU of a process: context, the one stream, run-time kernel compilation and counted
//! host <-> device copies.

use super::buffer::{DeviceBuffer, DeviceNv12};
use super::error::GpuError;
use crate::image::{Nv12Mut, Nv12Ref};
use cudarc::driver::{result, sys, CudaContext, CudaFunction, CudaModule, CudaStream};
use cudarc::nvrtc::{CompileError, CompileOptions};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Bytes copied between host and device since start, counted by every copy helper.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct TransferStats {
    pub host_to_device: u64,
    pub device_to_host: u64,
}

/// One GPU, its context and the stream all pixel work is ordered on.
pub struct Gpu {
    ctx: Arc<CudaContext>,
    stream: Arc<CudaStream>,
    arch: &'static str,
    name: String,
    htod: AtomicU64,
    dtoh: AtomicU64,
}

/// True when NVRTC can be loaded (kernels can be compiled here, with or without a GPU).
pub fn nvrtc_present() -> bool {
    // SAFETY: only tries to dlopen the library.
    unsafe { cudarc::nvrtc::sys::is_culib_present() }
}

/// NVRTC architecture option for a compute capability.
fn arch_for(major: i32, minor: i32) -> &'static str {
    match (major, minor) {
        (7, 5) => "sm_75",
        (8, 0) => "sm_80",
        (8, 6) => "sm_86",
        (8, 7) => "sm_87",
        (8, 9) => "sm_89",
        (9, 0) => "sm_90",
        (10, 0) => "sm_100",
        (12, 0) => "sm_120",
        // Anything else: PTX for the oldest target we support, JIT-compiled by the driver.
        _ => "compute_75",
    }
}

/// Compiles CUDA C to PTX for `arch` (e.g. "sm_90"). Floating-point contraction is off so
/// that kernels compute exactly what their CPU references compute.
pub fn compile_ptx(
    module: &str,
    src: &str,
    arch: &'static str,
) -> Result<cudarc::nvrtc::Ptx, GpuError> {
    if !nvrtc_present() {
        return Err(GpuError::NoNvrtc);
    }
    let opts = CompileOptions {
        arch: Some(arch),
        fmad: Some(false),
        name: Some(format!("{module}.cu")),
        options: vec!["--std=c++17".into()],
        ..Default::default()
    };
    cudarc::nvrtc::compile_ptx_with_opts(src, opts).map_err(|e| GpuError::Compile {
        module: module.into(),
        log: match e {
            CompileError::CompileError { log, .. } => log.to_string_lossy().into_owned(),
            other => other.to_string(),
        },
    })
}

/// A compiled, loaded module.
pub struct KernelModule {
    name: String,
    module: Arc<CudaModule>,
}

impl KernelModule {
    /// A kernel of the module by its `extern "C"` name.
    pub fn function(&self, name: &str) -> Result<CudaFunction, GpuError> {
        self.module
            .load_function(name)
            .map_err(|e| GpuError::driver(format!("loading kernel {}::{name}", self.name), e))
    }
}

impl Gpu {
    /// Opens GPU `ordinal`: checks for the driver and a device before touching either.
    pub fn open(ordinal: usize) -> Result<Arc<Gpu>, GpuError> {
        // SAFETY: only tries to dlopen the library; without it every other call would panic.
        if !unsafe { sys::is_culib_present() } {
            return Err(GpuError::NoDriver);
        }
        result::init().map_err(|e| GpuError::NoDevice(e.to_string()))?;
        let count = CudaContext::device_count().map_err(|e| GpuError::NoDevice(e.to_string()))?;
        if ordinal as i32 >= count {
            return Err(GpuError::NoDevice(format!(
                "GPU {ordinal} asked for, {count} found"
            )));
        }
        let ctx = CudaContext::new(ordinal).map_err(|e| GpuError::driver("creating context", e))?;
        // One stream orders everything (see the module docs); cudarc's per-buffer events are
        // not needed and would cost a record per launch argument.
        // SAFETY: no buffers exist yet.
        unsafe { ctx.disable_event_tracking() };
        let stream = ctx
            .new_stream()
            .map_err(|e| GpuError::driver("creating stream", e))?;
        let (major, minor) = ctx
            .compute_capability()
            .map_err(|e| GpuError::driver("reading compute capability", e))?;
        let name = ctx.name().unwrap_or_else(|_| "unknown GPU".into());
        tracing::info!(message = "GPU opened.", gpu = %name, compute_capability = format!("{major}.{minor}"), ordinal);
        Ok(Arc::new(Gpu {
            ctx,
            stream,
            arch: arch_for(major, minor),
            name,
            htod: AtomicU64::new(0),
            dtoh: AtomicU64::new(0),
        }))
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// NVRTC target of this GPU.
    pub fn arch(&self) -> &'static str {
        self.arch
    }

    pub fn stream(&self) -> &Arc<CudaStream> {
        &self.stream
    }

    pub fn context(&self) -> &Arc<CudaContext> {
        &self.ctx
    }

    /// Compiles and loads a module of kernels.
    pub fn load(&self, module: &str, src: &str) -> Result<KernelModule, GpuError> {
        let t = std::time::Instant::now();
        let ptx = compile_ptx(module, src, self.arch)?;
        let m = self
            .ctx
            .load_module(ptx)
            .map_err(|e| GpuError::driver(format!("loading module {module}"), e))?;
        tracing::debug!(
            message = "Kernels compiled.",
            module,
            ms = t.elapsed().as_millis() as u64
        );
        Ok(KernelModule {
            name: module.into(),
            module: m,
        })
    }

    /// An event that records time (for benchmarks: record it on [`Gpu::stream`] around work).
    pub fn timing_event(&self) -> Result<cudarc::driver::CudaEvent, GpuError> {
        self.ctx
            .new_event(Some(sys::CUevent_flags::CU_EVENT_DEFAULT))
            .map_err(|e| GpuError::driver("creating event", e))
    }

    /// Waits for all queued work; reports any asynchronous kernel fault.
    pub fn sync(&self) -> Result<(), GpuError> {
        self.stream
            .synchronize()
            .map_err(|e| GpuError::driver("stream synchronize", e))
    }

    /// Allocates `bytes` of device memory (contents undefined).
    pub fn alloc(&self, bytes: usize) -> Result<DeviceBuffer, GpuError> {
        DeviceBuffer::new(&self.stream, bytes)
    }

    /// Allocates and fills device memory from a host slice.
    pub fn upload_new<T: Copy>(&self, src: &[T]) -> Result<DeviceBuffer, GpuError> {
        let bytes = std::mem::size_of_val(src);
        let b = self.alloc(bytes.max(1))?;
        self.upload(b.ptr(), src)?;
        Ok(b)
    }

    /// Copies a host slice to device memory at `dst`, stream-ordered. `src` must be ordinary
    /// (pageable) memory, never pinned: the driver then stages it before returning, so it may
    /// be reused at once, and no wait for the GPU is needed.
    pub fn upload<T>(&self, dst: u64, src: &[T]) -> Result<(), GpuError> {
        self.ctx
            .bind_to_thread()
            .map_err(|e| GpuError::driver("binding context", e))?;
        // SAFETY: the caller's `dst` holds at least `size_of_val(src)` bytes (every caller
        // passes a buffer it sized); the copy is synchronised before `src` can go away.
        unsafe { result::memcpy_htod_async(dst, src, self.stream.cu_stream()) }
            .map_err(|e| GpuError::driver("host to device copy", e))?;
        self.htod
            .fetch_add(std::mem::size_of_val(src) as u64, Ordering::Relaxed);
        Ok(())
    }

    /// Copies device memory at `src` into a host slice (waits for it).
    pub fn download<T>(&self, src: u64, dst: &mut [T]) -> Result<(), GpuError> {
        self.ctx
            .bind_to_thread()
            .map_err(|e| GpuError::driver("binding context", e))?;
        // SAFETY: `src` holds at least `size_of_val(dst)` bytes; we wait before returning.
        unsafe { result::memcpy_dtoh_async(dst, src, self.stream.cu_stream()) }
            .map_err(|e| GpuError::driver("device to host copy", e))?;
        self.dtoh
            .fetch_add(std::mem::size_of_val(dst) as u64, Ordering::Relaxed);
        self.sync()
    }

    /// Sets `bytes` of device memory at `dst` to zero (stream-ordered).
    pub fn zero(&self, dst: u64, bytes: usize) -> Result<(), GpuError> {
        self.fill(dst, 0, bytes)
    }

    /// Sets `bytes` of device memory at `dst` to `value` (stream-ordered).
    pub fn fill(&self, dst: u64, value: u8, bytes: usize) -> Result<(), GpuError> {
        self.ctx
            .bind_to_thread()
            .map_err(|e| GpuError::driver("binding context", e))?;
        // SAFETY: `dst` is a live device allocation of at least `bytes`.
        unsafe { result::memset_d8_async(dst, value, bytes, self.stream.cu_stream()) }
            .map_err(|e| GpuError::driver("device memset", e))
    }

    /// Device-to-device copy of `bytes` (stream-ordered).
    pub fn copy(&self, dst: u64, src: u64, bytes: usize) -> Result<(), GpuError> {
        self.ctx
            .bind_to_thread()
            .map_err(|e| GpuError::driver("binding context", e))?;
        // SAFETY: both ranges are live device allocations of at least `bytes`.
        unsafe { result::memcpy_dtod_async(dst, src, bytes, self.stream.cu_stream()) }
            .map_err(|e| GpuError::driver("device to device copy", e))
    }

    fn copy_2d(
        &self,
        what: &str,
        src: (sys::CUmemorytype, *const u8, u64, usize),
        dst: (sys::CUmemorytype, *mut u8, u64, usize),
        width: usize,
        rows: usize,
    ) -> Result<(), GpuError> {
        let p = sys::CUDA_MEMCPY2D {
            srcXInBytes: 0,
            srcY: 0,
            srcMemoryType: src.0,
            srcHost: src.1 as *const _,
            srcDevice: src.2,
            srcArray: std::ptr::null_mut(),
            srcPitch: src.3,
            dstXInBytes: 0,
            dstY: 0,
            dstMemoryType: dst.0,
            dstHost: dst.1 as *mut _,
            dstDevice: dst.2,
            dstArray: std::ptr::null_mut(),
            dstPitch: dst.3,
            WidthInBytes: width,
            Height: rows,
        };
        // SAFETY: the caller checked both sides hold `rows` rows of `width` bytes at their
        // pitches.
        unsafe { sys::cuMemcpy2DAsync_v2(&p, self.stream.cu_stream()).result() }
            .map_err(|e| GpuError::driver(what, e))
    }

    /// Uploads a host NV12 image (any strides) into a device frame of the same size.
    pub fn upload_nv12(&self, src: &Nv12Ref<'_>, dst: &DeviceNv12<'_>) -> Result<(), GpuError> {
        check_same(src.width, src.height, dst)?;
        if src.y.len() < src.y_stride * (src.height - 1) + src.width
            || src.uv.len() < src.uv_stride * (src.height / 2 - 1) + src.width
        {
            return Err(GpuError::Invalid("NV12 host planes are too short".into()));
        }
        self.ctx
            .bind_to_thread()
            .map_err(|e| GpuError::driver("binding context", e))?;
        let host = sys::CUmemorytype::CU_MEMORYTYPE_HOST;
        let dev = sys::CUmemorytype::CU_MEMORYTYPE_DEVICE;
        let null = std::ptr::null_mut();
        self.copy_2d(
            "NV12 upload",
            (host, src.y.as_ptr(), 0, src.y_stride),
            (dev, null, dst.ptr, dst.pitch),
            src.width,
            src.height,
        )?;
        self.copy_2d(
            "NV12 upload",
            (host, src.uv.as_ptr(), 0, src.uv_stride),
            (dev, null, dst.uv_ptr(), dst.pitch),
            src.width,
            src.height / 2,
        )?;
        self.htod
            .fetch_add((src.width * src.height * 3 / 2) as u64, Ordering::Relaxed);
        self.sync()
    }

    /// Downloads a device NV12 frame into a host image (any strides) of the same size.
    pub fn download_nv12(
        &self,
        src: &DeviceNv12<'_>,
        dst: &mut Nv12Mut<'_>,
    ) -> Result<(), GpuError> {
        check_same(dst.width, dst.height, src)?;
        if dst.y.len() < dst.y_stride * (dst.height - 1) + dst.width
            || dst.uv.len() < dst.uv_stride * (dst.height / 2 - 1) + dst.width
        {
            return Err(GpuError::Invalid("NV12 host planes are too short".into()));
        }
        self.ctx
            .bind_to_thread()
            .map_err(|e| GpuError::driver("binding context", e))?;
        let host = sys::CUmemorytype::CU_MEMORYTYPE_HOST;
        let dev = sys::CUmemorytype::CU_MEMORYTYPE_DEVICE;
        let null = std::ptr::null();
        self.copy_2d(
            "NV12 download",
            (dev, null, src.ptr, src.pitch),
            (host, dst.y.as_mut_ptr(), 0, dst.y_stride),
            src.width,
            src.height,
        )?;
        self.copy_2d(
            "NV12 download",
            (dev, null, src.uv_ptr(), src.pitch),
            (host, dst.uv.as_mut_ptr(), 0, dst.uv_stride),
            src.width,
            src.height / 2,
        )?;
        self.dtoh
            .fetch_add((src.width * src.height * 3 / 2) as u64, Ordering::Relaxed);
        self.sync()
    }

    /// Bytes copied host <-> device so far.
    pub fn transfers(&self) -> TransferStats {
        TransferStats {
            host_to_device: self.htod.load(Ordering::Relaxed),
            device_to_host: self.dtoh.load(Ordering::Relaxed),
        }
    }

    /// Free and total device memory, bytes.
    pub fn memory(&self) -> Result<(usize, usize), GpuError> {
        self.ctx
            .mem_get_info()
            .map_err(|e| GpuError::driver("reading memory info", e))
    }
}

fn check_same(w: usize, h: usize, d: &DeviceNv12<'_>) -> Result<(), GpuError> {
    if (w, h) != (d.width, d.height) || w == 0 || h < 2 {
        return Err(GpuError::Invalid(format!(
            "NV12 copy between {w}x{h} and {}x{}",
            d.width, d.height
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_architectures_map_to_native_targets() {
        assert_eq!(arch_for(9, 0), "sm_90");
        assert_eq!(arch_for(8, 9), "sm_89");
        assert_eq!(arch_for(42, 1), "compute_75");
    }
}
