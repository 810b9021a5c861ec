// Virtual camera kernels: the exact panorama position on a grid every GRID
// output pixels (double precision, as the CPU computes it), then bilinear
// interpolation of the grid and bilinear sampling of the NV12 panorama per
// output pixel, with the CPU renderer's arithmetic (playout/src/vcam.rs).

typedef unsigned char u8;
typedef unsigned int u32;

#define PI_D 3.14159265358979323846

// One thread per grid point. The pose basis (forward f, right r, down d) and
// the focal length come from the host; `dpp` is degrees per panorama pixel.
extern "C" __global__ void vcam_grid(double fx, double fy, double fz, double rx, double ry, double rz,
                                     double dx, double dy, double dz, double focal, int out_w, int out_h,
                                     double lon_min, double lat_max, double dpp, int gw, int gh, int step,
                                     float2* grid) {
    int k = blockIdx.x * blockDim.x + threadIdx.x;
    if (k >= gw * gh) return;
    double x = (double)((k % gw) * step), y = (double)((k / gw) * step);
    double nx = (x + 0.5 - (double)out_w / 2.0) / focal;
    double ny = (y + 0.5 - (double)out_h / 2.0) / focal;
    double X = fx + rx * nx + dx * ny;
    double Y = fy + ry * nx + dy * ny;
    double Z = fz + rz * nx + dz * ny;
    double n = sqrt(X * X + Y * Y + Z * Z);
    double lon = atan2(X, Y) * (180.0 / PI_D);
    double lat = asin(fmin(fmax(Z / n, -1.0), 1.0)) * (180.0 / PI_D);
    double u = (lon - lon_min) / dpp - 0.5;
    double v = (lat_max - lat) / dpp - 0.5;
    grid[k] = make_float2((float)u, (float)v);
}

__device__ __forceinline__ float2 map_at(const float2* __restrict__ grid, int gw, int step, int x, int y) {
    int cx = x / step, cy = y / step;
    float fx = (float)(x % step) / (float)step;
    float fy = (float)(y % step) / (float)step;
    float2 a = grid[cy * gw + cx], b = grid[cy * gw + cx + 1];
    float2 c = grid[(cy + 1) * gw + cx], d = grid[(cy + 1) * gw + cx + 1];
    float tx = a.x + (b.x - a.x) * fx, ty = a.y + (b.y - a.y) * fx;
    float bx = c.x + (d.x - c.x) * fx, by = c.y + (d.y - c.y) * fx;
    return make_float2(tx + (bx - tx) * fy, ty + (by - ty) * fy);
}

// Bilinear sample of an interleaved plane (`step` bytes per pixel, component
// `c`), clamped to the plane.
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

// One thread per output luma pixel.
extern "C" __global__ void vcam_luma(const float2* __restrict__ grid, int gw, int step,
                                     const u8* __restrict__ pano, int pano_pitch, int pw, int ph,
                                     u8* __restrict__ out, int pitch, int w, int h) {
    int x = blockIdx.x * blockDim.x + threadIdx.x;
    int y = blockIdx.y * blockDim.y + threadIdx.y;
    if (x >= w || y >= h) return;
    float2 m = map_at(grid, gw, step, x, y);
    out[(size_t)y * pitch + x] = sample(pano, pano_pitch, pw, ph, m.x, m.y, 1, 0);
}

// One thread per output chroma sample: the position is the mean of its 2x2
// luma block's, moved to the half-resolution plane.
extern "C" __global__ void vcam_chroma(const float2* __restrict__ grid, int gw, int step,
                                       const u8* __restrict__ pano_uv, int pano_pitch, int pw, int ph,
                                       u8* __restrict__ out_uv, int pitch, int w, int h) {
    int cx = blockIdx.x * blockDim.x + threadIdx.x;
    int cy = blockIdx.y * blockDim.y + threadIdx.y;
    if (cx >= w / 2 || cy >= h / 2) return;
    int x0 = 2 * cx, y0 = 2 * cy;
    int x1 = min(x0 + 1, w - 1), y1 = min(y0 + 1, h - 1);
    float2 a = map_at(grid, gw, step, x0, y0), b = map_at(grid, gw, step, x1, y0);
    float2 c = map_at(grid, gw, step, x0, y1), d = map_at(grid, gw, step, x1, y1);
    float u = (a.x + b.x + c.x + d.x) / 4.0f;
    float v = (a.y + b.y + c.y + d.y) / 4.0f;
    float uc = (u + 0.5f) / 2.0f - 0.5f, vc = (v + 0.5f) / 2.0f - 0.5f;
    uchar2 o;
    o.x = sample(pano_uv, pano_pitch, pw / 2, ph / 2, uc, vc, 2, 0);
    o.y = sample(pano_uv, pano_pitch, pw / 2, ph / 2, uc, vc, 2, 1);
    *reinterpret_cast<uchar2*>(out_uv + (size_t)cy * pitch + 2 * cx) = o;
}

// NV12 -> RGBA (BT.709 video range), one thread per pixel; the arithmetic of
// shared::image::yuv_to_rgb.
extern "C" __global__ void nv12_to_rgba(const u8* __restrict__ src, int pitch, int w, int h,
                                        u8* __restrict__ rgba, int rgba_pitch) {
    int x = blockIdx.x * blockDim.x + threadIdx.x;
    int y = blockIdx.y * blockDim.y + threadIdx.y;
    if (x >= w || y >= h) return;
    const u8* uvp = src + (size_t)pitch * h + (size_t)(y / 2) * pitch + (x / 2) * 2;
    float Y = ((float)__ldg(src + (size_t)y * pitch + x) - 16.0f) / 219.0f;
    float U = ((float)__ldg(uvp) - 128.0f) / 224.0f;
    float V = ((float)__ldg(uvp + 1) - 128.0f) / 224.0f;
    float r = Y + 1.5748f * V;
    float g = Y - 0.187324f * U - 0.468124f * V;
    float b = Y + 1.8556f * U;
    r = fminf(fmaxf(r, 0.0f), 1.0f);
    g = fminf(fmaxf(g, 0.0f), 1.0f);
    b = fminf(fmaxf(b, 0.0f), 1.0f);
    uchar4 o = make_uchar4((u8)roundf(r * 255.0f), (u8)roundf(g * 255.0f), (u8)roundf(b * 255.0f), 255);
    *reinterpret_cast<uchar4*>(rgba + (size_t)y * rgba_pitch + 4 * x) = o;
}
