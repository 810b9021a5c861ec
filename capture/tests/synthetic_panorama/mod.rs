//! A stitched 1920x640 panorama of the synthetic pitch (passes scenario), for the detector
//! tests that need a real picture with a ball in it.

use capture::stitch::{CpuStitcher, GainSettings};
use capture::synthetic::{Exposure, SyntheticWorld};
use shared::geometry::{Calibration, StitchLut};
use shared::image::Nv12Image;
use shared::scene::{BallScript, BallSource, Scenario};
use shared::time::FrameRate;

/// The panorama of frame `skip` (0: the first) of the passes scenario with `seed`, and the
/// calibration it was stitched with.
pub fn stitched(seed: u64, skip: usize) -> (Calibration, Nv12Image) {
    let cal = Calibration::synthetic(1920, 960, 540);
    let script = BallScript::generate(Scenario::Passes, 30.0, seed, &cal.pitch);
    let mut world = SyntheticWorld::new(
        &cal,
        BallSource::Script(script),
        seed,
        FrameRate::new(25, 1),
        [Exposure::NEUTRAL; 2],
    );
    let mut l = Nv12Image::new(960, 540);
    let mut r = Nv12Image::new(960, 540);
    for _ in 0..=skip {
        world.render_next(&mut l.as_mut(), &mut r.as_mut());
    }
    let lut = StitchLut::compute(&cal);
    let mut st = CpuStitcher::new(&lut, [(960, 540); 2], GainSettings::default());
    let mut pano = Nv12Image::new(1920, 640);
    st.stitch([Some(&l.as_ref()), Some(&r.as_ref())], &mut pano.as_mut())
        .unwrap();
    (cal, pano)
}
