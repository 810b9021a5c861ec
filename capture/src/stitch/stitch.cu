// Stitch kernels: two NV12 cameras + per-pixel tables -> NV12 panorama.
//
// Each table entry is 16 bytes: for camera 0 then camera 1, one 32-bit word
// `x0 | y0 << 16` and one `fx | fy << 8 | w << 16` (8-bit bilinear fractions,
// weight out of 256, 0 = the camera does not contribute). The arithmetic is
// the CPU kernel's (capture/src/stitch/kernel.rs), integer for integer.

typedef unsigned char u8;
typedef unsigned int u32;
typedef unsigned long long u64;

__device__ __forceinline__ u32 bilinear(const u8* __restrict__ plane, int stride, u32 pos, u32 frac) {
    u32 x0 = pos & 0xffffu, y0 = pos >> 16;
    u32 fx = frac & 0xffu, fy = (frac >> 8) & 0xffu;
    long long i = (long long)y0 * stride + x0;
    int dx = fx != 0 ? 1 : 0;
    int dy = fy != 0 ? stride : 0;
    u32 p00 = __ldg(plane + i), p01 = __ldg(plane + i + dx);
    u32 p10 = __ldg(plane + i + dy), p11 = __ldg(plane + i + dy + dx);
    u32 top = p00 * (256 - fx) + p01 * fx;
    u32 bot = p10 * (256 - fx) + p11 * fx;
    return (top * (256 - fy) + bot * fy + 32768) >> 16;
}

__device__ __forceinline__ void bilinear_uv(const u8* __restrict__ plane, int stride, u32 pos, u32 frac,
                                            u32* u, u32* v) {
    u32 x0 = pos & 0xffffu, y0 = pos >> 16;
    u32 fx = frac & 0xffu, fy = (frac >> 8) & 0xffu;
    long long i = (long long)y0 * stride + 2 * x0;
    int dx = fx != 0 ? 2 : 0;
    int dy = fy != 0 ? stride : 0;
    u32 out[2];
#pragma unroll
    for (int c = 0; c < 2; c++) {
        u32 p00 = __ldg(plane + i + c), p01 = __ldg(plane + i + c + dx);
        u32 p10 = __ldg(plane + i + c + dy), p11 = __ldg(plane + i + c + dy + dx);
        u32 top = p00 * (256 - fx) + p01 * fx;
        u32 bot = p10 * (256 - fx) + p11 * fx;
        out[c] = (top * (256 - fy) + bot * fy + 32768) >> 16;
    }
    *u = out[0];
    *v = out[1];
}

// One thread per panorama luma pixel. `luts`: luma gain LUT of camera 0 and 1
// (256 bytes each), then the chroma LUTs. `present`: bit i set when camera i
// has a frame.
extern "C" __global__ void stitch_luma(const uint4* __restrict__ table, int width, int height,
                                       const u8* __restrict__ y0, int stride0,
                                       const u8* __restrict__ y1, int stride1, int present,
                                       const u8* __restrict__ luts, u8* __restrict__ out, int pitch) {
    int x = blockIdx.x * blockDim.x + threadIdx.x;
    int y = blockIdx.y * blockDim.y + threadIdx.y;
    if (x >= width || y >= height) return;
    uint4 t = __ldg(table + (size_t)y * width + x);
    u32 acc = 0, wsum = 0;
    u32 w0 = t.y >> 16, w1 = t.w >> 16;
    if (w0 != 0 && (present & 1)) {
        u32 s = bilinear(y0, stride0, t.x, t.y);
        acc += (u32)__ldg(luts + s) * w0;
        wsum += w0;
    }
    if (w1 != 0 && (present & 2)) {
        u32 s = bilinear(y1, stride1, t.z, t.w);
        acc += (u32)__ldg(luts + 256 + s) * w1;
        wsum += w1;
    }
    out[(size_t)y * pitch + x] = wsum != 0 ? (u8)((acc + wsum / 2) / wsum) : (u8)16;
}

// One thread per panorama chroma sample (a U/V pair).
extern "C" __global__ void stitch_chroma(const uint4* __restrict__ table, int cwidth, int cheight,
                                         const u8* __restrict__ uv0, int stride0,
                                         const u8* __restrict__ uv1, int stride1, int present,
                                         const u8* __restrict__ luts, u8* __restrict__ out, int pitch) {
    int x = blockIdx.x * blockDim.x + threadIdx.x;
    int y = blockIdx.y * blockDim.y + threadIdx.y;
    if (x >= cwidth || y >= cheight) return;
    uint4 t = __ldg(table + (size_t)y * cwidth + x);
    u32 au = 0, av = 0, wsum = 0;
    u32 w0 = t.y >> 16, w1 = t.w >> 16;
    if (w0 != 0 && (present & 1)) {
        u32 u, v;
        bilinear_uv(uv0, stride0, t.x, t.y, &u, &v);
        au += (u32)__ldg(luts + 512 + u) * w0;
        av += (u32)__ldg(luts + 512 + v) * w0;
        wsum += w0;
    }
    if (w1 != 0 && (present & 2)) {
        u32 u, v;
        bilinear_uv(uv1, stride1, t.z, t.w, &u, &v);
        au += (u32)__ldg(luts + 768 + u) * w1;
        av += (u32)__ldg(luts + 768 + v) * w1;
        wsum += w1;
    }
    uchar2 o;
    o.x = wsum != 0 ? (u8)((au + wsum / 2) / wsum) : (u8)128;
    o.y = wsum != 0 ? (u8)((av + wsum / 2) / wsum) : (u8)128;
    *reinterpret_cast<uchar2*>(out + (size_t)y * pitch + 2 * x) = o;
}

// Sums of the nearest luma sample of each camera over the overlap sample
// (gain measurement). `sums` holds two u64 counters, zeroed by the caller.
extern "C" __global__ void overlap_sums(const uint4* __restrict__ overlap, int n,
                                        const u8* __restrict__ y0, int stride0,
                                        const u8* __restrict__ y1, int stride1, u64* sums) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    u64 s0 = 0, s1 = 0;
    if (i < n) {
        uint4 t = __ldg(overlap + i);
        s0 = __ldg(y0 + (size_t)(t.x >> 16) * stride0 + (t.x & 0xffffu));
        s1 = __ldg(y1 + (size_t)(t.z >> 16) * stride1 + (t.z & 0xffffu));
    }
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) {
        s0 += __shfl_down_sync(0xffffffffu, s0, o);
        s1 += __shfl_down_sync(0xffffffffu, s1, o);
    }
    if ((threadIdx.x & 31) == 0) {
        atomicAdd(sums, s0);
        atomicAdd(sums + 1, s1);
    }
}
