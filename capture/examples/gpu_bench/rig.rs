//! The production-size rig of the benchmarks: the built-in synthetic calibration at
//! 2 x 3840x2160 -> 5700x1900, its stitch tables (cached on disk), and rendered camera frames.

use anyhow::Result;
use capture::stitch::{CpuStitcher, GainSettings};
use capture::synthetic::{Exposure, SyntheticWorld};
use shared::geometry::{Calibration, StitchLut};
use shared::image::Nv12Image;
use shared::scene::{BallScript, BallSource, Scenario};
use shared::time::FrameRate;
use std::path::Path;

pub const PANO_W: u32 = 5700;
pub const CAM_W: u32 = 3840;
pub const CAM_H: u32 = 2160;

pub fn calibration() -> Calibration {
    Calibration::synthetic(PANO_W, CAM_W, CAM_H)
}

/// The CPU stitcher (its tables are what the GPU uploads), tables cached in `cache`.
pub fn stitcher(cal: &Calibration, cache: &Path) -> Result<CpuStitcher> {
    let t = std::time::Instant::now();
    let (lut, src) = StitchLut::load_or_compute(cal, Some(cache));
    eprintln!(
        "stitch tables: {src:?} in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let sizes = [0, 1].map(|i| {
        (
            cal.cameras[i].width as usize,
            cal.cameras[i].height as usize,
        )
    });
    Ok(CpuStitcher::new(&lut, sizes, GainSettings::default()))
}

/// A synthetic match seen by both cameras, frame after frame.
pub fn world(cal: &Calibration, fps: u32) -> SyntheticWorld {
    let script = BallScript::generate(Scenario::Mixed, 120.0, 9, &cal.pitch);
    let exposure = [1.06, 0.94].map(|gain| Exposure { gain, noise: 2.0 });
    SyntheticWorld::new(
        cal,
        BallSource::Script(script),
        9,
        FrameRate::new(fps, 1),
        exposure,
    )
}

/// `n` consecutive camera pairs.
pub fn camera_pairs(cal: &Calibration, n: usize) -> Vec<[Nv12Image; 2]> {
    let mut w = world(cal, 30);
    (0..n)
        .map(|_| {
            let mut l = Nv12Image::new(CAM_W as usize, CAM_H as usize);
            let mut r = Nv12Image::new(CAM_W as usize, CAM_H as usize);
            w.render_next(&mut l.as_mut(), &mut r.as_mut());
            [l, r]
        })
        .collect()
}
