//! Plain image types used by the CPU paths: NV12 frames over borrowed or owned bytes,
//! BT.709 colour conversion, and image comparison (PSNR).

mod color;
mod nv12;
mod quality;

pub use color::{nv12_to_rgba, rgb_to_yuv, yuv_to_rgb, Rgb};
pub use nv12::{Nv12Image, Nv12Mut, Nv12Ref};
pub use quality::{psnr_luma_masked, PsnrError};
