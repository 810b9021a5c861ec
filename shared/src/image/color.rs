//! BT.709 limited-range colour conversion (what GStreamer assumes for HD NV12).

/// Linear-ish RGB in [0, 1] (we do not model gamma; the synthetic scene is painted in it).
pub type Rgb = [f32; 3];

/// RGB in [0, 1] to (Y, U, V) in video range (Y 16..235, U/V 16..240), as floats.
#[inline]
pub fn rgb_to_yuv(c: Rgb) -> (f32, f32, f32) {
    let [r, g, b] = c;
    let y = 16.0 + 219.0 * (0.2126 * r + 0.7152 * g + 0.0722 * b);
    let u = 128.0 + 224.0 * (-0.114_572 * r - 0.385_428 * g + 0.5 * b);
    let v = 128.0 + 224.0 * (0.5 * r - 0.454_153 * g - 0.045_847 * b);
    (y, u, v)
}

/// Video-range YUV to RGB in [0, 1] (clamped).
#[inline]
pub fn yuv_to_rgb(y: f32, u: f32, v: f32) -> Rgb {
    let y = (y - 16.0) / 219.0;
    let u = (u - 128.0) / 224.0;
    let v = (v - 128.0) / 224.0;
    let r = y + 1.5748 * v;
    let g = y - 0.187_324 * u - 0.468_124 * v;
    let b = y + 1.8556 * u;
    [r.clamp(0.0, 1.0), g.clamp(0.0, 1.0), b.clamp(0.0, 1.0)]
}

/// NV12 to packed RGBA (`width * 4` bytes per row, alpha 255): each pixel's luma with the
/// chroma of its 2x2 block through [`yuv_to_rgb`], rounded to 8 bits.
pub fn nv12_to_rgba(src: &super::Nv12Ref<'_>, out: &mut [u8]) {
    assert!(
        out.len() >= src.width * src.height * 4,
        "RGBA buffer too small"
    );
    for y in 0..src.height {
        for x in 0..src.width {
            let c = (y / 2) * src.uv_stride + (x / 2) * 2;
            let [r, g, b] = yuv_to_rgb(
                src.y[y * src.y_stride + x] as f32,
                src.uv[c] as f32,
                src.uv[c + 1] as f32,
            );
            let o = (y * src.width + x) * 4;
            out[o..o + 4].copy_from_slice(&[
                (r * 255.0).round() as u8,
                (g * 255.0).round() as u8,
                (b * 255.0).round() as u8,
                255,
            ]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_reference_points() {
        let (y, u, v) = rgb_to_yuv([1.0, 1.0, 1.0]);
        assert!((y - 235.0).abs() < 0.01 && (u - 128.0).abs() < 0.01 && (v - 128.0).abs() < 0.01);
        let (y, _, _) = rgb_to_yuv([0.0, 0.0, 0.0]);
        assert!((y - 16.0).abs() < 0.01);
        for c in [[0.2, 0.5, 0.1], [0.9, 0.1, 0.3], [0.0, 0.0, 1.0]] {
            let (y, u, v) = rgb_to_yuv(c);
            let back = yuv_to_rgb(y, u, v);
            for k in 0..3 {
                assert!((back[k] - c[k]).abs() < 1e-3, "{c:?} -> {back:?}");
            }
        }
    }
}
