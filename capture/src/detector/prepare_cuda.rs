//! Tile preparation on the GPU: the CPU preparer's two filter passes (same taps, same order
//! of additions) from the device panorama into a batched NCHW tensor in device memory, f32
//! or f16. Only the finished tensor leaves the GPU, and only when the inference engine
//! cannot take device memory.

use super::prepare::{taps, yuv_tables_flat, Letterbox, PAD_VALUE};
use super::tiling::Tiling;
use shared::gpu::{
    grid_2d, CudaFunction, DeviceBuffer, DeviceNv12, Gpu, GpuError, LaunchConfig, PushKernelArg,
};
use shared::image::Nv12Ref;
use std::sync::Arc;

/// CUDA C source of the preparation kernels.
pub const SOURCE: &str = include_str!("prepare.cu");

/// Element type of the model input tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TensorType {
    F32,
    F16,
}

impl TensorType {
    pub fn bytes(&self) -> usize {
        match self {
            TensorType::F32 => 4,
            TensorType::F16 => 2,
        }
    }
}

/// The kernels' inputs, packed on the host once per tiling.
#[derive(Debug, Clone, PartialEq)]
pub struct PackedTiles {
    /// Per tile: crop x, y, w, h; scaled w, h; left, top; first horizontal and vertical tap;
    /// scratch offset (floats); unused.
    pub params: Vec<[i32; 12]>,
    /// Per output coordinate: first source sample, tap count, first weight, unused.
    pub taps: Vec<[i32; 4]>,
    pub weights: Vec<f32>,
    /// Floats of scratch the horizontal pass needs.
    pub mid_len: usize,
    pub in_w: usize,
    pub in_h: usize,
}

fn push_taps(t: &[super::prepare::Taps], taps: &mut Vec<[i32; 4]>, weights: &mut Vec<f32>) -> i32 {
    let first = taps.len() as i32;
    for tap in t {
        taps.push([
            tap.start as i32,
            tap.weights.len() as i32,
            weights.len() as i32,
            0,
        ]);
        weights.extend_from_slice(&tap.weights);
    }
    first
}

/// Packs the tiles' geometry and filter taps.
pub fn pack(tiling: &Tiling, letterboxes: &[Letterbox]) -> PackedTiles {
    let (mut params, mut taps_v, mut weights) = (Vec::new(), Vec::new(), Vec::new());
    let mut mid = 0usize;
    let (mut in_w, mut in_h) = (0, 0);
    for (t, lb) in tiling.tiles.iter().zip(letterboxes) {
        let ht = push_taps(
            &taps(t.w as usize, lb.new_w as usize),
            &mut taps_v,
            &mut weights,
        );
        let vt = push_taps(
            &taps(t.h as usize, lb.new_h as usize),
            &mut taps_v,
            &mut weights,
        );
        params.push([
            t.x as i32,
            t.y as i32,
            t.w as i32,
            t.h as i32,
            lb.new_w as i32,
            lb.new_h as i32,
            lb.left as i32,
            lb.top as i32,
            ht,
            vt,
            mid as i32,
            0,
        ]);
        mid += (lb.new_w * t.h * 3) as usize;
        (in_w, in_h) = (lb.in_w as usize, lb.in_h as usize);
    }
    PackedTiles {
        params,
        taps: taps_v,
        weights,
        mid_len: mid,
        in_w,
        in_h,
    }
}

/// The kernels' arithmetic on the CPU from the packed inputs: the reference the GPU output is
/// compared with, itself checked against [`super::prepare::TilePreparer`].
pub fn reference(pano: &Nv12Ref<'_>, p: &PackedTiles) -> Vec<f32> {
    let yuv = yuv_tables_flat();
    let rgb = |x: usize, y: usize| -> [f32; 3] {
        let yy = yuv[pano.y[y * pano.y_stride + x] as usize];
        let c = (y / 2) * pano.uv_stride + (x / 2) * 2;
        let (u, v) = (pano.uv[c] as usize, pano.uv[c + 1] as usize);
        [
            (yy + yuv[256 + v]).clamp(0.0, 255.0),
            (yy + yuv[512 + u] + yuv[768 + v]).clamp(0.0, 255.0),
            (yy + yuv[1024 + u]).clamp(0.0, 255.0),
        ]
    };
    let unit = |v: f32| v.round().clamp(0.0, 255.0) as u8 as f32 * (1.0 / 255.0);
    let plane = p.in_w * p.in_h;
    let mut out = vec![PAD_VALUE as f32 * (1.0 / 255.0); p.params.len() * 3 * plane];
    for (k, q) in p.params.iter().enumerate() {
        let [x0, y0, _, ch, nw, nh, left, top, ht, vt, _, _] = q.map(|v| v as usize);
        let mut mid = vec![0f32; nw * ch * 3];
        for r in 0..ch {
            for d in 0..nw {
                let t = p.taps[ht + d];
                let mut acc = [0f32; 3];
                for i in 0..t[1] as usize {
                    let c = rgb(x0 + t[0] as usize + i, y0 + r);
                    let w = p.weights[t[2] as usize + i];
                    for (a, c) in acc.iter_mut().zip(c) {
                        *a += c * w;
                    }
                }
                mid[(r * nw + d) * 3..(r * nw + d) * 3 + 3].copy_from_slice(&acc);
            }
        }
        for r in 0..nh {
            let t = p.taps[vt + r];
            for d in 0..nw {
                let mut acc = [0f32; 3];
                for i in 0..t[1] as usize {
                    let w = p.weights[t[2] as usize + i];
                    let m = ((t[0] as usize + i) * nw + d) * 3;
                    for (c, a) in acc.iter_mut().enumerate() {
                        *a += mid[m + c] * w;
                    }
                }
                for (c, a) in acc.iter().enumerate() {
                    out[k * 3 * plane + c * plane + (top + r) * p.in_w + left + d] = unit(*a);
                }
            }
        }
    }
    out
}

/// Prepares the detector's tiles on the GPU.
pub struct CudaTilePreparer {
    gpu: Arc<Gpu>,
    packed: PackedTiles,
    pano: (usize, usize),
    params: DeviceBuffer,
    taps: DeviceBuffer,
    weights: DeviceBuffer,
    yuv: DeviceBuffer,
    mid: DeviceBuffer,
    rows: CudaFunction,
    cols: CudaFunction,
}

impl CudaTilePreparer {
    pub fn new(
        gpu: Arc<Gpu>,
        tiling: &Tiling,
        letterboxes: &[Letterbox],
    ) -> Result<CudaTilePreparer, GpuError> {
        if tiling.tiles.is_empty() || tiling.tiles.len() != letterboxes.len() {
            return Err(GpuError::Invalid(format!(
                "{} tiles and {} letterboxes",
                tiling.tiles.len(),
                letterboxes.len()
            )));
        }
        let m = gpu.load("prepare", SOURCE)?;
        let packed = pack(tiling, letterboxes);
        Ok(CudaTilePreparer {
            params: gpu.upload_new(&packed.params)?,
            taps: gpu.upload_new(&packed.taps)?,
            weights: gpu.upload_new(&packed.weights)?,
            yuv: gpu.upload_new(&yuv_tables_flat())?,
            mid: gpu.alloc(packed.mid_len * 4)?,
            rows: m.function("prep_rows")?,
            cols: m.function("prep_cols")?,
            pano: (tiling.width as usize, tiling.height as usize),
            packed,
            gpu,
        })
    }

    pub fn tiles(&self) -> usize {
        self.packed.params.len()
    }

    /// Elements of the whole batched tensor (`tiles x 3 x in_h x in_w`).
    pub fn tensor_len(&self) -> usize {
        self.tiles() * 3 * self.packed.in_w * self.packed.in_h
    }

    /// Writes every tile of `pano` into the tensor at device address `out` (which must hold
    /// [`Self::tensor_len`] elements of `ty`). Stream-ordered: returns before the GPU is done.
    pub fn prepare(&self, pano: &DeviceNv12<'_>, out: u64, ty: TensorType) -> Result<(), GpuError> {
        if (pano.width, pano.height) != self.pano {
            return Err(GpuError::Invalid(format!(
                "panorama is {}x{}, the tiles were made for {}x{}",
                pano.width, pano.height, self.pano.0, self.pano.1
            )));
        }
        let p = &self.packed;
        let tiles = self.tiles() as u32;
        let max_nw = p.params.iter().map(|q| q[4]).max().unwrap_or(1) as usize;
        let max_ch = p.params.iter().map(|q| q[3]).max().unwrap_or(1) as usize;
        let with_z = |mut c: LaunchConfig| {
            c.grid_dim.2 = tiles;
            c
        };
        let (y, uv, pitch) = (pano.ptr, pano.uv_ptr(), pano.pitch as i32);
        let (params, taps, weights, yuv, mid) = (
            self.params.ptr(),
            self.taps.ptr(),
            self.weights.ptr(),
            self.yuv.ptr(),
            self.mid.ptr(),
        );
        let mut l = self.gpu.stream().launch_builder(&self.rows);
        l.arg(&y)
            .arg(&uv)
            .arg(&pitch)
            .arg(&params)
            .arg(&taps)
            .arg(&weights)
            .arg(&yuv)
            .arg(&mid);
        // SAFETY: argument types match `prep_rows`; the packed taps index inside each tile's
        // crop, which lies inside the panorama of the checked size.
        unsafe { l.launch(with_z(grid_2d(max_nw, max_ch, 32, 8))) }
            .map_err(|e| GpuError::driver("launching prep_rows", e))?;
        let (in_w, in_h) = (p.in_w as i32, p.in_h as i32);
        let half = (ty == TensorType::F16) as i32;
        let mut l = self.gpu.stream().launch_builder(&self.cols);
        l.arg(&params)
            .arg(&taps)
            .arg(&weights)
            .arg(&mid)
            .arg(&in_w)
            .arg(&in_h)
            .arg(&out)
            .arg(&half);
        // SAFETY: as above; `out` holds `tensor_len` elements of `ty` (the caller's contract).
        unsafe { l.launch(with_z(grid_2d(p.in_w, p.in_h, 32, 8))) }
            .map_err(|e| GpuError::driver("launching prep_cols", e))?;
        Ok(())
    }

    /// Prepares into a device tensor and downloads it into `host` (f32), for engines that take
    /// host memory: only the prepared tiles cross the bus.
    pub fn prepare_to_host(
        &self,
        pano: &DeviceNv12<'_>,
        scratch: &DeviceBuffer,
        host: &mut [f32],
    ) -> Result<(), GpuError> {
        let n = self.tensor_len();
        if host.len() != n || scratch.len() < n * 4 {
            return Err(GpuError::Invalid(format!(
                "tensor of {n} floats, host buffer {} floats, device scratch {} bytes",
                host.len(),
                scratch.len()
            )));
        }
        self.prepare(pano, scratch.ptr(), TensorType::F32)?;
        self.gpu.download(scratch.ptr(), host)
    }

    pub fn gpu(&self) -> &Arc<Gpu> {
        &self.gpu
    }
}
