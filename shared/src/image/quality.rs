//! Image comparison.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum PsnrError {
    #[error("images differ in size: {0}x{1} against {2}x{3}")]
    Size(usize, usize, usize, usize),
    #[error("the mask selects no pixel")]
    EmptyMask,
}

/// PSNR (dB) of the luma planes over the pixels where `mask(x, y)` is true. Identical
/// images give `f64::INFINITY`.
pub fn psnr_luma_masked(
    a: &super::Nv12Ref<'_>,
    b: &super::Nv12Ref<'_>,
    mask: impl Fn(usize, usize) -> bool,
) -> Result<f64, PsnrError> {
    if a.width != b.width || a.height != b.height {
        return Err(PsnrError::Size(a.width, a.height, b.width, b.height));
    }
    let (mut se, mut n) = (0f64, 0u64);
    for y in 0..a.height {
        for x in 0..a.width {
            if mask(x, y) {
                let d = a.y[y * a.y_stride + x] as f64 - b.y[y * b.y_stride + x] as f64;
                se += d * d;
                n += 1;
            }
        }
    }
    if n == 0 {
        return Err(PsnrError::EmptyMask);
    }
    let mse = se / n as f64;
    Ok(if mse == 0.0 {
        f64::INFINITY
    } else {
        10.0 * (255.0f64 * 255.0 / mse).log10()
    })
}
