//! Stitching the synthetic camera views against a panorama rendered directly from the scene.

use capture::stitch::{CpuStitcher, GainSettings};
use capture::synthetic::{Exposure, PanoramaView, SyntheticWorld, ViewRenderer};
use shared::geometry::{Calibration, StitchLut};
use shared::image::{psnr_luma_masked, Nv12Image};
use shared::scene::{BallScript, BallSource, Scenario, Segment, SegmentKind};
use shared::time::FrameRate;

const EXPOSURE: [Exposure; 2] = [
    Exposure {
        gain: 1.06,
        noise: 2.0,
    },
    Exposure {
        gain: 0.94,
        noise: 2.0,
    },
];

fn world(cal: &Calibration, ball: BallSource) -> SyntheticWorld {
    SyntheticWorld::new(cal, ball, 5, FrameRate::new(25, 1), EXPOSURE)
}

/// Stitches the world's next frame, converging the gain matcher on it first.
fn stitch_next(
    world: &mut SyntheticWorld,
    stitcher: &mut CpuStitcher,
) -> (
    Nv12Image,
    shared::scene::GroundTruth,
    shared::scene::SceneFrame,
) {
    let cal = world.calibration().clone();
    let (cw, ch) = (
        cal.cameras[0].width as usize,
        cal.cameras[0].height as usize,
    );
    let mut l = Nv12Image::new(cw, ch);
    let mut r = Nv12Image::new(cw, ch);
    let truth = world.render_next(&mut l.as_mut(), &mut r.as_mut());
    let scene = world.scene_frame();
    let mut pano = Nv12Image::new(cal.panorama.width as usize, cal.panorama.height as usize);
    for _ in 0..80 {
        stitcher
            .stitch([Some(&l.as_ref()), Some(&r.as_ref())], &mut pano.as_mut())
            .unwrap();
    }
    (pano, truth, scene)
}

#[test]
fn stitched_panorama_matches_direct_render_above_30_db_on_the_pitch() {
    let cal = Calibration::synthetic(1920, 960, 540);
    let script = BallScript::generate(Scenario::Passes, 10.0, 2, &cal.pitch);
    let mut w = world(&cal, BallSource::Script(script));
    let lut = StitchLut::compute(&cal);
    let mut st = CpuStitcher::new(&lut, [(960, 540), (960, 540)], GainSettings::default());
    let (pano, _, scene) = stitch_next(&mut w, &mut st);
    let gains = st.gains();
    // Gains meet in the middle: 1.06 * g0 == 0.94 * g1.
    assert!(
        (1.06 * gains[0] - 0.94 * gains[1]).abs() < 0.01,
        "gains {gains:?}"
    );

    let mut reference = ViewRenderer::new(
        &cal,
        Box::new(PanoramaView {
            spec: cal.panorama.clone(),
        }),
    );
    let mut direct = Nv12Image::new(1920, 640);
    reference.render(&scene, Exposure::NEUTRAL, 0, &mut direct.as_mut());
    let on_pitch = |x: usize, y: usize| {
        cal.panorama_to_pitch(x as f64, y as f64, 0.0)
            .is_some_and(|(px, py)| cal.pitch.contains(px, py, 0.0))
    };
    let psnr = psnr_luma_masked(&pano.as_ref(), &direct.as_ref(), on_pitch).unwrap();
    eprintln!("stitched vs direct render, luma PSNR on the pitch: {psnr:.2} dB");
    assert!(psnr > 30.0, "PSNR {psnr:.2} dB");

    // No visible seam: the overlap band is as close to the reference as the rest.
    let lut_ref = &lut;
    let in_overlap = |x: usize, y: usize| {
        let k = y * 1920 + x;
        on_pitch(x, y) && lut_ref.cams[0].w[k] > 0.0 && lut_ref.cams[1].w[k] > 0.0
    };
    let seam = psnr_luma_masked(&pano.as_ref(), &direct.as_ref(), in_overlap).unwrap();
    let single = psnr_luma_masked(&pano.as_ref(), &direct.as_ref(), |x, y| {
        on_pitch(x, y) && !in_overlap(x, y)
    })
    .unwrap();
    eprintln!("luma PSNR in the overlap band: {seam:.2} dB, outside it: {single:.2} dB");
    assert!(seam > 30.0, "overlap PSNR {seam:.2} dB");
    assert!(
        seam >= single - 1.0,
        "the overlap band ({seam:.2} dB) is worse than the single-camera pitch ({single:.2} dB)"
    );
}

#[test]
fn stitched_ball_is_within_one_pixel_of_ground_truth() {
    let cal = Calibration::synthetic(1920, 960, 540);
    let lut = StitchLut::compute(&cal);
    // Balls at several places, including the overlap band near the halfway line.
    for (x, y) in [(30.0, 30.0), (50.0, 40.0), (80.0, 20.0), (15.0, 60.0)] {
        let script = BallScript::from_segments(vec![Segment {
            start_s: 0.0,
            duration_s: 10.0,
            from: (x, y),
            to: (x, y),
            kind: SegmentKind::Still,
        }]);
        let mut w = world(&cal, BallSource::Script(script));
        let mut st = CpuStitcher::new(&lut, [(960, 540), (960, 540)], GainSettings::default());
        let (pano, truth, _) = stitch_next(&mut w, &mut st);
        // Clean plate: the stitched backgrounds with the same gains.
        let mut plate = Nv12Image::new(1920, 640);
        let (bl, br) = (
            w.camera(0).background().clone(),
            w.camera(1).background().clone(),
        );
        let mut st2 = CpuStitcher::new(
            &lut,
            [(960, 540), (960, 540)],
            GainSettings {
                smoothing: 1.0,
                max_gain: 1.5,
            },
        );
        st2.stitch(
            [Some(&bl.as_ref()), Some(&br.as_ref())],
            &mut plate.as_mut(),
        )
        .unwrap();
        let (gx, gy) = (truth.ball.px, truth.ball.py);
        assert!(truth.ball.visible, "ball at ({x}, {y}) m is hidden");
        let r = (truth.ball.diameter_px * 1.5).ceil() as i64 + 2;
        let mut maxd = -999.0f64;
        for yy in (gy as i64 - r)..=(gy as i64 + r) {
            for xx in (gx as i64 - r)..=(gx as i64 + r) {
                maxd = maxd.max(
                    pano.luma(xx as usize, yy as usize) as f64
                        - plate.luma(xx as usize, yy as usize) as f64,
                );
            }
        }
        assert!(
            maxd > 8.0,
            "ball at ({x}, {y}) m: no bright blob (max {maxd})"
        );
        let (mut sx, mut sy, mut sw) = (0f64, 0f64, 0f64);
        for yy in (gy as i64 - r)..=(gy as i64 + r) {
            for xx in (gx as i64 - r)..=(gx as i64 + r) {
                let (xu, yu) = (xx as usize, yy as usize);
                let d = pano.luma(xu, yu) as f64 - plate.luma(xu, yu) as f64;
                // The white ball is brighter than the grass; shadows and noise are not.
                if d > 0.3 * maxd {
                    sx += xx as f64 * d;
                    sy += yy as f64 * d;
                    sw += d;
                }
            }
        }
        assert!(
            sw > 0.0,
            "ball at ({x}, {y}) m not found in the panorama (truth {gx:.1},{gy:.1}, {:.1} px)",
            truth.ball.diameter_px
        );
        let (cx, cy) = (sx / sw, sy / sw);
        let err = ((cx - gx).powi(2) + (cy - gy).powi(2)).sqrt();
        eprintln!("ball at ({x}, {y}) m: stitched ({cx:.2}, {cy:.2}) truth ({gx:.2}, {gy:.2}) error {err:.2} px");
        assert!(
            err < 1.0,
            "ball at ({x}, {y}) m is {err:.2} px from the truth"
        );
    }
}

#[test]
fn legacy_tables_give_the_same_panorama_as_computed_ones() {
    let cal = Calibration::synthetic(960, 480, 270);
    let lut = StitchLut::compute(&cal);
    let dir = tempfile::tempdir().unwrap();
    lut.write_legacy(dir.path()).unwrap();
    let imported =
        StitchLut::import_legacy(dir.path(), 960, 320, [(480, 270), (480, 270)]).unwrap();
    let script = BallScript::generate(Scenario::Mixed, 10.0, 4, &cal.pitch);
    let mut w = world(&cal, BallSource::Script(script));
    let mut l = Nv12Image::new(480, 270);
    let mut r = Nv12Image::new(480, 270);
    w.render_next(&mut l.as_mut(), &mut r.as_mut());
    let mut a = Nv12Image::new(960, 320);
    let mut b = Nv12Image::new(960, 320);
    CpuStitcher::new(&lut, [(480, 270); 2], GainSettings::default())
        .stitch([Some(&l.as_ref()), Some(&r.as_ref())], &mut a.as_mut())
        .unwrap();
    CpuStitcher::new(&imported, [(480, 270); 2], GainSettings::default())
        .stitch([Some(&l.as_ref()), Some(&r.as_ref())], &mut b.as_mut())
        .unwrap();
    assert_eq!(a, b);
}

#[test]
fn a_missing_camera_leaves_its_side_black_but_stitches_the_rest() {
    let cal = Calibration::synthetic(960, 480, 270);
    let lut = StitchLut::compute(&cal);
    let script = BallScript::generate(Scenario::Mixed, 10.0, 4, &cal.pitch);
    let mut w = world(&cal, BallSource::Script(script));
    let mut l = Nv12Image::new(480, 270);
    let mut r = Nv12Image::new(480, 270);
    w.render_next(&mut l.as_mut(), &mut r.as_mut());
    let mut out = Nv12Image::new(960, 320);
    let mut st = CpuStitcher::new(&lut, [(480, 270); 2], GainSettings::default());
    st.stitch([Some(&l.as_ref()), None], &mut out.as_mut())
        .unwrap();
    // Left of the overlap: content; far right: black.
    let (u, v) = cal.pitch_to_panorama(20.0, 30.0, 0.0);
    assert!(out.luma(u as usize, v as usize) > 40);
    let (u, v) = cal.pitch_to_panorama(95.0, 30.0, 0.0);
    assert_eq!(out.luma(u as usize, v as usize), 16);
    // Wrong sizes are refused with a clear error.
    let small = Nv12Image::new(320, 180);
    let e = st
        .stitch([Some(&small.as_ref()), None], &mut out.as_mut())
        .unwrap_err()
        .to_string();
    assert!(e.contains("camera 0") && e.contains("480x270"), "{e}");
}
