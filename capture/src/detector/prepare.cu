// Tile preparation: NV12 panorama -> batched, letterboxed, normalised NCHW
// tensor (f32 or f16), in two passes per tile like the CPU preparer
// (capture/src/detector/prepare.rs): a horizontal antialiased linear filter of
// the crop converted to RGB (BT.709) into a scratch buffer, then the vertical
// filter into the letterboxed model input, rounded to 8 bits and scaled to
// [0, 1]. Same taps, same order of additions, no contraction: the same bits.

typedef unsigned char u8;

// Per tile, 12 ints: crop x, y, w, h; scaled w, h; left, top; first
// horizontal tap, first vertical tap; scratch offset (floats); unused.
#define P_X 0
#define P_Y 1
#define P_CW 2
#define P_CH 3
#define P_NW 4
#define P_NH 5
#define P_LEFT 6
#define P_TOP 7
#define P_HT 8
#define P_VT 9
#define P_MID 10

// `yuv`: five 256-entry tables (Y, R from V, G from U, G from V, B from U).
__device__ __forceinline__ void rgb_of(const u8* __restrict__ py, const u8* __restrict__ puv, int pitch,
                                       int x, int y, const float* __restrict__ yuv, float* rgb) {
    int Y = __ldg(py + (size_t)y * pitch + x);
    const u8* c = puv + (size_t)(y / 2) * pitch + (x / 2) * 2;
    int U = __ldg(c), V = __ldg(c + 1);
    float yy = __ldg(yuv + Y);
    rgb[0] = fminf(fmaxf(yy + __ldg(yuv + 256 + V), 0.0f), 255.0f);
    rgb[1] = fminf(fmaxf(yy + __ldg(yuv + 512 + U) + __ldg(yuv + 768 + V), 0.0f), 255.0f);
    rgb[2] = fminf(fmaxf(yy + __ldg(yuv + 1024 + U), 0.0f), 255.0f);
}

// Horizontal pass: thread (d, r, tile) -> scratch[r][d][0..3].
extern "C" __global__ void prep_rows(const u8* __restrict__ py, const u8* __restrict__ puv, int pitch,
                                     const int* __restrict__ params, const int4* __restrict__ taps,
                                     const float* __restrict__ weights, const float* __restrict__ yuv,
                                     float* __restrict__ mid) {
    const int* p = params + 12 * blockIdx.z;
    int d = blockIdx.x * blockDim.x + threadIdx.x;
    int r = blockIdx.y * blockDim.y + threadIdx.y;
    int nw = p[P_NW];
    if (d >= nw || r >= p[P_CH]) return;
    int4 t = __ldg(taps + p[P_HT] + d);
    float acc0 = 0.0f, acc1 = 0.0f, acc2 = 0.0f;
    int y = p[P_Y] + r;
    for (int i = 0; i < t.y; i++) {
        float rgb[3];
        rgb_of(py, puv, pitch, p[P_X] + t.x + i, y, yuv, rgb);
        float w = __ldg(weights + t.z + i);
        acc0 = acc0 + rgb[0] * w;
        acc1 = acc1 + rgb[1] * w;
        acc2 = acc2 + rgb[2] * w;
    }
    float* o = mid + p[P_MID] + ((size_t)r * nw + d) * 3;
    o[0] = acc0;
    o[1] = acc1;
    o[2] = acc2;
}

__device__ __forceinline__ float to_unit(float v) {
    float q = fminf(fmaxf(roundf(v), 0.0f), 255.0f);
    return (float)(u8)q * (1.0f / 255.0f);
}

// Vertical pass and output: thread (x, y, tile) -> the 3 planes of the tile
// in the NCHW tensor (`half_out`: f16, else f32).
extern "C" __global__ void prep_cols(const int* __restrict__ params, const int4* __restrict__ taps,
                                     const float* __restrict__ weights, const float* __restrict__ mid,
                                     int in_w, int in_h, void* out, int half_out) {
    const int* p = params + 12 * blockIdx.z;
    int x = blockIdx.x * blockDim.x + threadIdx.x;
    int y = blockIdx.y * blockDim.y + threadIdx.y;
    if (x >= in_w || y >= in_h) return;
    float v[3];
    const float pad = (float)(u8)114 * (1.0f / 255.0f);
    int d = x - p[P_LEFT], r = y - p[P_TOP];
    int nw = p[P_NW];
    if (d >= 0 && d < nw && r >= 0 && r < p[P_NH]) {
        int4 t = __ldg(taps + p[P_VT] + r);
        float acc0 = 0.0f, acc1 = 0.0f, acc2 = 0.0f;
        for (int i = 0; i < t.y; i++) {
            const float* m = mid + p[P_MID] + ((size_t)(t.x + i) * nw + d) * 3;
            float w = __ldg(weights + t.z + i);
            acc0 = acc0 + __ldg(m) * w;
            acc1 = acc1 + __ldg(m + 1) * w;
            acc2 = acc2 + __ldg(m + 2) * w;
        }
        v[0] = to_unit(acc0);
        v[1] = to_unit(acc1);
        v[2] = to_unit(acc2);
    } else {
        v[0] = v[1] = v[2] = pad;
    }
    size_t plane = (size_t)in_w * in_h;
    size_t base = (size_t)blockIdx.z * 3 * plane + (size_t)y * in_w + x;
    if (half_out) {
        unsigned short* o = (unsigned short*)out;
#pragma unroll
        for (int c = 0; c < 3; c++) {
            unsigned short h;
            asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(v[c]));
            o[base + c * plane] = h;
        }
    } else {
        float* o = (float*)out;
#pragma unroll
        for (int c = 0; c < 3; c++) o[base + c * plane] = v[c];
    }
}
