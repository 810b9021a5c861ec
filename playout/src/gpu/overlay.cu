// Panorama view kernels: a bilinear downscale of the NV12 panorama with the
// CPU's arithmetic (playout/src/overlay.rs `scale`), and the overlay drawing
// as a scatter of byte writes resolved on the host (last writer wins there,
// so every offset appears once and the result does not depend on order).

typedef unsigned char u8;
typedef unsigned int u32;

__device__ __forceinline__ u8 sample(const u8* __restrict__ plane, int stride, int w, int h, float u, float v,
                                     int step, int c) {
    u = fminf(fmaxf(u, 0.0f), (float)(w - 1));
    v = fminf(fmaxf(v, 0.0f), (float)(h - 1));
    int x0 = (int)u, y0 = (int)v;
    int x1 = min(x0 + 1, w - 1), y1 = min(y0 + 1, h - 1);
    u32 fx = (u32)((u - (float)x0) * 256.0f);
    u32 fy = (u32)((v - (float)y0) * 256.0f);
    const u8* r0 = plane + (size_t)y0 * stride + c;
    const u8* r1 = plane + (size_t)y1 * stride + c;
    u32 top = (u32)__ldg(r0 + x0 * step) * (256 - fx) + (u32)__ldg(r0 + x1 * step) * fx;
    u32 bot = (u32)__ldg(r1 + x0 * step) * (256 - fx) + (u32)__ldg(r1 + x1 * step) * fx;
    return (u8)((top * (256 - fy) + bot * fy + 32768) >> 16);
}

// One thread per destination luma pixel, and (for the upper-left pixel of
// each 2x2 block) its chroma pair. `sx`, `sy`: source pixels per destination
// pixel.
extern "C" __global__ void scale_nv12(const u8* __restrict__ src, int src_pitch, int sw, int sh,
                                      u8* __restrict__ dst, int dst_pitch, int dw, int dh, float sx, float sy) {
    int x = blockIdx.x * blockDim.x + threadIdx.x;
    int y = blockIdx.y * blockDim.y + threadIdx.y;
    if (x >= dw || y >= dh) return;
    float u = fmaxf(((float)x + 0.5f) * sx - 0.5f, 0.0f);
    float v = fmaxf(((float)y + 0.5f) * sy - 0.5f, 0.0f);
    dst[(size_t)y * dst_pitch + x] = sample(src, src_pitch, sw, sh, u, v, 1, 0);
    if (x < dw / 2 && y < dh / 2) {
        const u8* suv = src + (size_t)src_pitch * sh;
        u8* duv = dst + (size_t)dst_pitch * dh;
        // The CPU samples chroma at the same formula over chroma indices.
        duv[(size_t)y * dst_pitch + 2 * x] = sample(suv, src_pitch, sw / 2, sh / 2, u, v, 2, 0);
        duv[(size_t)y * dst_pitch + 2 * x + 1] = sample(suv, src_pitch, sw / 2, sh / 2, u, v, 2, 1);
    }
}

// One thread per write: `writes[i] = (byte offset from the frame start, value)`.
extern "C" __global__ void scatter_bytes(const uint2* __restrict__ writes, int n, u8* frame) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    uint2 w = writes[i];
    frame[w.x] = (u8)w.y;
}
