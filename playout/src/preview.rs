//! Low-rate JPEG snapshots of what playout already has (the programme and the panorama view
//! with its overlays) for the operator page: written into the runtime directory, replaced
//! atomically, read by launch's web server. The pixels never travel over ZeroMQ.

use crate::overlay;
use shared::image::{nv12_to_rgba, Nv12Image, Nv12Ref};
use std::path::{Path, PathBuf};

/// File names in the preview folder.
pub use shared::operator::{
    PREVIEW_PANORAMA_FILE as PANORAMA_FILE, PREVIEW_PROGRAMME_FILE as PROGRAMME_FILE,
};

/// JPEG quality of the snapshots.
const QUALITY: u8 = 80;

/// Where and how often snapshots are written.
#[derive(Debug, Clone)]
pub struct PreviewSettings {
    pub dir: PathBuf,
    /// Programme time between snapshots, ns.
    pub interval_ns: u64,
    /// Width of each snapshot, pixels (height follows the aspect).
    pub width: usize,
}

pub use shared::artefacts::PreviewStats;

/// `src` scaled to `width` (even) with its aspect.
pub fn scaled(src: &Nv12Ref<'_>, width: usize) -> Nv12Image {
    let w = width.clamp(2, src.width.max(2)) & !1;
    let h =
        (((w as f64 * src.height as f64 / src.width.max(1) as f64).round() as usize) & !1).max(2);
    let mut img = Nv12Image::new(w, h);
    overlay::scale(src, &mut img.as_mut());
    img
}

/// Writes an NV12 image as a JPEG, replacing `path` atomically.
pub fn write_jpeg(img: &Nv12Ref<'_>, path: &Path) -> Result<(), String> {
    let (w, h) = (img.width, img.height);
    let mut rgba = vec![0u8; w * h * 4];
    nv12_to_rgba(img, &mut rgba);
    shared::atomic_file::replace_with(path, |f| {
        jpeg_encoder::Encoder::new(f, QUALITY)
            .encode(&rgba, w as u16, h as u16, jpeg_encoder::ColorType::Rgba)
            .map_err(std::io::Error::other)
    })
    .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_is_a_scaled_jpeg_replaced_in_place() {
        let mut src = Nv12Image::new(320, 180);
        for (i, y) in src.data[..320 * 180].iter_mut().enumerate() {
            *y = (i % 320) as u8;
        }
        let small = scaled(&src.as_ref(), 101);
        assert_eq!((small.width, small.height), (100, 56));
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(PROGRAMME_FILE);
        for _ in 0..2 {
            write_jpeg(&small.as_ref(), &p).unwrap();
        }
        let bytes = std::fs::read(&p).unwrap();
        assert_eq!(&bytes[..2], &[0xFF, 0xD8], "a JPEG");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().collect();
        assert_eq!(names.len(), 1, "nothing left beside the picture");
    }
}
