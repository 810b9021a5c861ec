//! The CUDA stitcher: the CPU kernel's arithmetic on the GPU. The tables are uploaded once;
//! per frame only the overlap sums (16 bytes) come back for gain matching and the gain
//! look-up tables (1 KiB) go up. The panorama is written into a device frame.

use super::gain::{GainMatcher, GainSettings, GainStats};
use super::kernel::GainLuts;
use super::table::{CompactTable, Tap};
use super::StitchError;
use shared::gpu::{
    grid_1d, grid_2d, CudaFunction, DeviceBuffer, DeviceNv12, Gpu, GpuError, PushKernelArg,
};
use shared::image::{Nv12Image, Nv12Ref};
use std::sync::Arc;

/// CUDA C source of the stitch kernels.
pub const SOURCE: &str = include_str!("stitch.cu");

fn pos_word(t: &Tap) -> u32 {
    t.x0 as u32 | (t.y0 as u32) << 16
}

fn frac_word(t: &Tap) -> u32 {
    t.fx as u32 | (t.fy as u32) << 8 | (t.w as u32) << 16
}

/// Packs table entries into the kernel's 16-byte form (see `stitch.cu`).
pub fn pack(taps: &[[Tap; 2]]) -> Vec<[u32; 4]> {
    taps.iter()
        .map(|t| {
            [
                pos_word(&t[0]),
                frac_word(&t[0]),
                pos_word(&t[1]),
                frac_word(&t[1]),
            ]
        })
        .collect()
}

/// The gain look-up tables in the kernel's order: luma camera 0, 1, chroma camera 0, 1.
pub fn lut_bytes(luts: &GainLuts) -> [u8; 1024] {
    let mut b = [0u8; 1024];
    b[..256].copy_from_slice(&luts.y[0]);
    b[256..512].copy_from_slice(&luts.y[1]);
    b[512..768].copy_from_slice(&luts.c[0]);
    b[768..].copy_from_slice(&luts.c[1]);
    b
}

fn bilinear_ref(plane: &[u8], stride: usize, pos: u32, frac: u32, step: usize, c: usize) -> u32 {
    let (x0, y0) = ((pos & 0xffff) as usize, (pos >> 16) as usize);
    let (fx, fy) = (frac & 0xff, (frac >> 8) & 0xff);
    let i = y0 * stride + step * x0 + c;
    let dx = if fx != 0 { step } else { 0 };
    let dy = if fy != 0 { stride } else { 0 };
    let p = |k: usize| plane[k] as u32;
    let top = p(i) * (256 - fx) + p(i + dx) * fx;
    let bot = p(i + dy) * (256 - fx) + p(i + dy + dx) * fx;
    (top * (256 - fy) + bot * fy + 32768) >> 16
}

/// One output sample: the weighted blend of both cameras' gain-mapped bilinear samples
/// (`step`, `c`: bytes per pixel and component; `luts`: camera 0's LUT then camera 1's).
fn blend_ref(
    t: &[u32; 4],
    planes: [Option<(&[u8], usize)>; 2],
    (step, c): (usize, usize),
    luts: &[u8],
    empty: u8,
) -> u8 {
    let (mut acc, mut wsum) = (0u32, 0u32);
    for (i, plane) in planes.iter().enumerate() {
        let w = t[2 * i + 1] >> 16;
        let Some((p, stride)) = plane.filter(|_| w != 0) else {
            continue;
        };
        let s = bilinear_ref(p, stride, t[2 * i], t[2 * i + 1], step, c);
        acc += luts[256 * i + s as usize] as u32 * w;
        wsum += w;
    }
    (acc + wsum / 2)
        .checked_div(wsum)
        .map_or(empty, |v| v as u8)
}

/// The kernels' arithmetic on the CPU, reading the packed tables exactly as the GPU does:
/// the reference the GPU output is compared with, itself checked against [`super::CpuStitcher`].
pub fn reference(
    width: usize,
    height: usize,
    luma: &[[u32; 4]],
    chroma: &[[u32; 4]],
    cams: [Option<&Nv12Ref<'_>>; 2],
    luts: &[u8; 1024],
) -> Nv12Image {
    let mut out = Nv12Image::new(width, height);
    let y_planes = [0, 1].map(|i| cams[i].map(|c| (c.y, c.y_stride)));
    let uv_planes = [0, 1].map(|i| cams[i].map(|c| (c.uv, c.uv_stride)));
    for (k, t) in luma.iter().enumerate() {
        out.data[k] = blend_ref(t, y_planes, (1, 0), &luts[..512], 16);
    }
    let off = width * height;
    for (k, t) in chroma.iter().enumerate() {
        out.data[off + 2 * k] = blend_ref(t, uv_planes, (2, 0), &luts[512..], 128);
        out.data[off + 2 * k + 1] = blend_ref(t, uv_planes, (2, 1), &luts[512..], 128);
    }
    out
}

/// Stitches on the GPU.
pub struct CudaStitcher {
    gpu: Arc<Gpu>,
    width: usize,
    height: usize,
    src: [(usize, usize); 2],
    luma: DeviceBuffer,
    chroma: DeviceBuffer,
    overlap: DeviceBuffer,
    overlap_n: usize,
    luts: DeviceBuffer,
    sums: DeviceBuffer,
    k_luma: CudaFunction,
    k_chroma: CudaFunction,
    k_sums: CudaFunction,
    gain: GainMatcher,
}

impl CudaStitcher {
    /// Compiles the kernels and uploads the tables.
    pub fn new(
        gpu: Arc<Gpu>,
        table: &CompactTable,
        gain: GainSettings,
    ) -> Result<CudaStitcher, GpuError> {
        let m = gpu.load("stitch", SOURCE)?;
        let luma = gpu.upload_new(&pack(&table.luma))?;
        let chroma = gpu.upload_new(&pack(&table.chroma))?;
        let overlap = gpu.upload_new(&pack(&table.overlap))?;
        Ok(CudaStitcher {
            k_luma: m.function("stitch_luma")?,
            k_chroma: m.function("stitch_chroma")?,
            k_sums: m.function("overlap_sums")?,
            luts: gpu.alloc(1024)?,
            sums: gpu.alloc(16)?,
            width: table.width,
            height: table.height,
            src: table.src,
            luma,
            chroma,
            overlap,
            overlap_n: table.overlap.len(),
            gain: GainMatcher::new(gain),
            gpu,
        })
    }

    pub fn panorama_size(&self) -> (usize, usize) {
        (self.width, self.height)
    }

    /// Device bytes held by the tables.
    pub fn table_bytes(&self) -> usize {
        self.luma.len() + self.chroma.len() + self.overlap.len()
    }

    pub fn gpu(&self) -> &Arc<Gpu> {
        &self.gpu
    }

    fn overlap_means(
        &self,
        a: &DeviceNv12<'_>,
        b: &DeviceNv12<'_>,
    ) -> Result<Option<[f32; 2]>, GpuError> {
        if self.overlap_n == 0 {
            return Ok(None);
        }
        self.gpu.zero(self.sums.ptr(), 16)?;
        let (n, s0, s1) = (self.overlap_n as i32, a.pitch as i32, b.pitch as i32);
        let (t, y0, y1, sums) = (self.overlap.ptr(), a.ptr, b.ptr, self.sums.ptr());
        let mut l = self.gpu.stream().launch_builder(&self.k_sums);
        l.arg(&t)
            .arg(&n)
            .arg(&y0)
            .arg(&s0)
            .arg(&y1)
            .arg(&s1)
            .arg(&sums);
        // SAFETY: argument types match `overlap_sums`; every pointer is a live allocation of
        // the size the kernel indexes (tables made for these camera sizes, checked by caller).
        unsafe { l.launch(grid_1d(self.overlap_n)) }
            .map_err(|e| GpuError::driver("launching overlap_sums", e))?;
        let mut s = [0u64; 2];
        self.gpu.download(self.sums.ptr(), &mut s)?;
        let n = self.overlap_n as f32;
        Ok(Some([s[0] as f32 / n - 16.0, s[1] as f32 / n - 16.0]))
    }

    /// Stitches one pair (either camera may be missing) into `out`; returns the gains applied.
    pub fn stitch(
        &mut self,
        cams: [Option<&DeviceNv12<'_>>; 2],
        out: &DeviceNv12<'_>,
    ) -> Result<[f32; 2], StitchError> {
        for (i, c) in cams.iter().enumerate() {
            if let Some(c) = c {
                let (w, h) = self.src[i];
                if (c.width, c.height) != (w, h) {
                    return Err(StitchError::CameraSize {
                        index: i,
                        got_w: c.width,
                        got_h: c.height,
                        want_w: w,
                        want_h: h,
                    });
                }
            }
        }
        if (out.width, out.height) != (self.width, self.height) {
            return Err(StitchError::OutputSize {
                got_w: out.width,
                got_h: out.height,
                want_w: self.width,
                want_h: self.height,
            });
        }
        let means = match cams {
            [Some(a), Some(b)] => self.overlap_means(a, b)?,
            _ => None,
        };
        let gains = self.gain.update(means);
        self.stitch_with_gains(cams, out, gains)?;
        Ok(gains)
    }

    /// The blend with given gains, without measuring (the kernels alone, stream-ordered; sizes
    /// must have been checked by [`Self::stitch`] or match the tables).
    pub fn stitch_with_gains(
        &self,
        cams: [Option<&DeviceNv12<'_>>; 2],
        out: &DeviceNv12<'_>,
        gains: [f32; 2],
    ) -> Result<(), StitchError> {
        for (i, c) in cams.iter().enumerate() {
            if c.is_some_and(|c| (c.width, c.height) != self.src[i])
                || (out.width, out.height) != (self.width, self.height)
            {
                return Err(StitchError::Gpu(GpuError::Invalid(
                    "frame sizes differ from the tables".into(),
                )));
            }
        }
        self.gpu
            .upload(self.luts.ptr(), &lut_bytes(&GainLuts::new(gains)))?;
        let present = cams[0].is_some() as i32 | (cams[1].is_some() as i32) << 1;
        let y = |i: usize| cams[i].map_or((0u64, 0i32), |c| (c.ptr, c.pitch as i32));
        let uv = |i: usize| cams[i].map_or((0u64, 0i32), |c| (c.uv_ptr(), c.pitch as i32));
        let (luts, pitch) = (self.luts.ptr(), out.pitch as i32);
        for (kernel, table, (w, h), planes, dst, name) in [
            (
                &self.k_luma,
                self.luma.ptr(),
                (self.width, self.height),
                [y(0), y(1)],
                out.ptr,
                "stitch_luma",
            ),
            (
                &self.k_chroma,
                self.chroma.ptr(),
                (self.width / 2, self.height / 2),
                [uv(0), uv(1)],
                out.uv_ptr(),
                "stitch_chroma",
            ),
        ] {
            let (wi, hi) = (w as i32, h as i32);
            let mut l = self.gpu.stream().launch_builder(kernel);
            l.arg(&table).arg(&wi).arg(&hi);
            l.arg(&planes[0].0)
                .arg(&planes[0].1)
                .arg(&planes[1].0)
                .arg(&planes[1].1);
            l.arg(&present).arg(&luts).arg(&dst).arg(&pitch);
            // SAFETY: argument types match the kernel; the tables were made for these camera
            // and panorama sizes (checked above), so every index stays inside its plane.
            unsafe { l.launch(grid_2d(w, h, 32, 8)) }
                .map_err(|e| StitchError::Gpu(GpuError::driver(format!("launching {name}"), e)))?;
        }
        Ok(())
    }

    pub fn gain_stats(&self) -> GainStats {
        self.gain.stats()
    }

    pub fn gains(&self) -> [f32; 2] {
        self.gain.gains()
    }
}
