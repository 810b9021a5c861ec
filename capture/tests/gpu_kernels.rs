//! The CUDA kernels of capture (stitch, tile preparation) against their CPU references.
//!
//! Everywhere: each kernel's CPU reference (its arithmetic on the packed inputs the GPU
//! receives) is checked against the CPU backend's code. With a GPU (set
//! `TOUCHLINE_REQUIRE_GPU=1` on the GPU machine to make it mandatory): the kernels' output
//! against the references, on random and synthetic inputs, with the output poisoned first so
//! that an unwritten pixel fails.

use capture::detector::mask::PanoramaMask;
use capture::detector::prepare::{rgb_to_planes, Letterbox, TilePreparer};
use capture::detector::prepare_cuda::{self, CudaTilePreparer, TensorType};
use capture::detector::Tiling;
use capture::stitch::{cuda, CpuStitcher, CudaStitcher, GainLuts, GainSettings};
use capture::synthetic::{Exposure, SyntheticWorld};
use rand::{Rng, SeedableRng};
use shared::geometry::{Calibration, StitchLut};
use shared::gpu::testing::gpu_for_test;
use shared::gpu::{compile_ptx, nvrtc_present, Gpu};
use shared::image::Nv12Image;
use shared::scene::{BallScript, BallSource, Scenario};
use shared::time::FrameRate;
use std::sync::Arc;

fn random_nv12(w: usize, h: usize, seed: u64) -> Nv12Image {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut img = Nv12Image::new(w, h);
    rng.fill(&mut img.data[..]);
    img
}

/// Both synthetic camera views of a rig (a pitch with players and a ball).
fn synthetic_views(cal: &Calibration) -> [Nv12Image; 2] {
    let script = BallScript::generate(Scenario::Passes, 10.0, 3, &cal.pitch);
    let exposure = [1.08, 0.93].map(|gain| Exposure { gain, noise: 2.0 });
    let mut w = SyntheticWorld::new(
        cal,
        BallSource::Script(script),
        3,
        FrameRate::new(25, 1),
        exposure,
    );
    let (cw, ch) = (
        cal.cameras[0].width as usize,
        cal.cameras[0].height as usize,
    );
    let mut l = Nv12Image::new(cw, ch);
    let mut r = Nv12Image::new(cw, ch);
    w.render_next(&mut l.as_mut(), &mut r.as_mut());
    [l, r]
}

fn max_abs_diff(a: &[u8], b: &[u8]) -> (u8, usize) {
    assert_eq!(a.len(), b.len());
    let mut worst = 0u8;
    let mut count = 0usize;
    for (x, y) in a.iter().zip(b) {
        let d = x.abs_diff(*y);
        worst = worst.max(d);
        count += (d != 0) as usize;
    }
    (worst, count)
}

struct StitchCase {
    name: &'static str,
    cal: Calibration,
    cams: [Nv12Image; 2],
}

fn stitch_cases() -> Vec<StitchCase> {
    let cal = Calibration::synthetic(960, 480, 270);
    let mut cases = vec![StitchCase {
        name: "synthetic pitch 2 x 480x270 -> 960x320",
        cams: synthetic_views(&cal),
        cal: cal.clone(),
    }];
    cases.push(StitchCase {
        name: "random 2 x 480x270 -> 960x320",
        cams: [random_nv12(480, 270, 1), random_nv12(480, 270, 2)],
        cal,
    });
    let big = Calibration::synthetic(1920, 960, 540);
    cases.push(StitchCase {
        name: "random 2 x 960x540 -> 1920x640",
        cams: [random_nv12(960, 540, 3), random_nv12(960, 540, 4)],
        cal: big,
    });
    cases
}

fn cpu_stitcher(cal: &Calibration) -> CpuStitcher {
    let lut = StitchLut::compute(cal);
    let sizes = [0, 1].map(|i| {
        (
            cal.cameras[i].width as usize,
            cal.cameras[i].height as usize,
        )
    });
    CpuStitcher::new(&lut, sizes, GainSettings::default())
}

#[test]
fn kernels_compile_for_hopper_with_nvrtc() {
    if !nvrtc_present() {
        eprintln!("NVRTC not found: compilation check skipped");
        assert!(
            !shared::gpu::testing::gpu_required(),
            "NVRTC is required on the GPU machine"
        );
        return;
    }
    for (name, src) in [("stitch", cuda::SOURCE), ("prepare", prepare_cuda::SOURCE)] {
        let ptx = compile_ptx(name, src, "sm_90").unwrap_or_else(|e| panic!("{e}"));
        assert!(
            ptx.to_src().contains(".entry"),
            "{name}: no kernel in the PTX"
        );
    }
}

#[test]
fn stitch_reference_matches_the_cpu_stitcher() {
    for case in stitch_cases().iter().take(2) {
        let mut st = cpu_stitcher(&case.cal);
        let (w, h) = st.panorama_size();
        let cams = [Some(&case.cams[0].as_ref()), Some(&case.cams[1].as_ref())];
        for missing in [None, Some(1usize)] {
            let mut cams = cams;
            if let Some(m) = missing {
                cams[m] = None;
            }
            let mut cpu = Nv12Image::new(w, h);
            let gains = st.stitch(cams, &mut cpu.as_mut()).unwrap();
            let luts = cuda::lut_bytes(&GainLuts::new(gains));
            let t = st.table();
            let reference = cuda::reference(
                w,
                h,
                &cuda::pack(&t.luma),
                &cuda::pack(&t.chroma),
                cams,
                &luts,
            );
            assert!(
                reference == cpu,
                "{} (missing {missing:?}): reference differs from the CPU stitcher",
                case.name
            );
        }
    }
}

fn stitch_on_gpu(gpu: &Arc<Gpu>, case: &StitchCase, missing: Option<usize>) {
    let mut cpu_st = cpu_stitcher(&case.cal);
    let mut gpu_st =
        CudaStitcher::new(gpu.clone(), cpu_st.table(), GainSettings::default()).unwrap();
    let (w, h) = cpu_st.panorama_size();
    let (cw, ch) = (case.cams[0].width, case.cams[0].height);
    let dev_cams: Vec<_> = case
        .cams
        .iter()
        .map(|c| {
            let b = gpu.alloc(c.data.len()).unwrap();
            gpu.upload_nv12(&c.as_ref(), &b.nv12(cw, ch)).unwrap();
            b
        })
        .collect();
    let out = gpu.alloc(w * h * 3 / 2).unwrap();
    let mut cams = [Some(&case.cams[0].as_ref()), Some(&case.cams[1].as_ref())];
    let views = [dev_cams[0].nv12(cw, ch), dev_cams[1].nv12(cw, ch)];
    let mut dcams = [Some(&views[0]), Some(&views[1])];
    if let Some(m) = missing {
        cams[m] = None;
        dcams[m] = None;
    }
    // Several frames: the gain matcher moves, and both sides must follow it identically.
    for frame in 0..3 {
        gpu.fill(out.ptr(), 0xA5, w * h * 3 / 2).unwrap();
        let mut cpu = Nv12Image::new(w, h);
        let g_cpu = cpu_st.stitch(cams, &mut cpu.as_mut()).unwrap();
        let g_gpu = gpu_st.stitch(dcams, &out.nv12(w, h)).unwrap();
        assert_eq!(g_cpu, g_gpu, "{}: gains differ at frame {frame}", case.name);
        let mut got = Nv12Image::new(w, h);
        gpu.download_nv12(&out.nv12(w, h), &mut got.as_mut())
            .unwrap();
        let (worst, count) = max_abs_diff(&got.data, &cpu.data);
        eprintln!(
            "stitch {} (missing {missing:?}) frame {frame}: max abs error {worst} LSB, {count} of {} samples differ",
            case.name,
            got.data.len()
        );
        assert!(worst <= 1, "{}: max abs error {worst} LSB", case.name);
    }
}

#[test]
fn stitch_kernel_matches_the_cpu_on_random_and_synthetic_frames() {
    let Some(gpu) = gpu_for_test("stitch_kernel") else {
        return;
    };
    for case in stitch_cases() {
        stitch_on_gpu(&gpu, &case, None);
    }
    stitch_on_gpu(&gpu, &stitch_cases()[0], Some(0));
}

struct PrepCase {
    name: &'static str,
    pano: Nv12Image,
    tile: u32,
    overlap: u32,
    input: u32,
}

fn prep_cases() -> Vec<PrepCase> {
    let cal = Calibration::synthetic(960, 480, 270);
    let mut st = cpu_stitcher(&cal);
    let views = synthetic_views(&cal);
    let mut pano = Nv12Image::new(960, 320);
    st.stitch(
        [Some(&views[0].as_ref()), Some(&views[1].as_ref())],
        &mut pano.as_mut(),
    )
    .unwrap();
    vec![
        PrepCase {
            name: "synthetic 960x320, tiles 256 -> input 160 (downscaled)",
            pano,
            tile: 256,
            overlap: 32,
            input: 160,
        },
        PrepCase {
            name: "random 640x214, tiles 128 -> input 128 (unscaled)",
            pano: random_nv12(640, 214, 7),
            tile: 128,
            overlap: 16,
            input: 128,
        },
        PrepCase {
            name: "random 300x100, one letterboxed crop -> input 96",
            pano: random_nv12(300, 100, 8),
            tile: 512,
            overlap: 16,
            input: 96,
        },
        PrepCase {
            name: "random 200x80, one crop upscaled -> input 256",
            pano: random_nv12(200, 80, 9),
            tile: 512,
            overlap: 16,
            input: 256,
        },
    ]
}

fn tiling_of(c: &PrepCase) -> (Tiling, Vec<Letterbox>) {
    let (w, h) = (c.pano.width as u32, c.pano.height as u32);
    let t = Tiling::new(w, h, c.tile, c.overlap, &PanoramaMask::whole(w, h));
    let lbs = t
        .tiles
        .iter()
        .map(|x| Letterbox::new(x.w, x.h, c.input, c.input))
        .collect();
    (t, lbs)
}

fn cpu_tensor(c: &PrepCase, t: &Tiling, lbs: &[Letterbox]) -> Vec<f32> {
    let per = (c.input * c.input * 3) as usize;
    let mut out = vec![0f32; per * t.tiles.len()];
    let mut rgb = vec![0u8; per];
    let mut prep = TilePreparer::new();
    for (i, tile) in t.tiles.iter().enumerate() {
        prep.tile_rgb(&c.pano.as_ref(), tile, &lbs[i], &mut rgb);
        rgb_to_planes(&rgb, &mut out[i * per..(i + 1) * per]);
    }
    out
}

#[test]
fn tile_preparation_reference_matches_the_cpu_preparer() {
    for c in prep_cases() {
        let (t, lbs) = tiling_of(&c);
        let packed = prepare_cuda::pack(&t, &lbs);
        let reference = prepare_cuda::reference(&c.pano.as_ref(), &packed);
        let cpu = cpu_tensor(&c, &t, &lbs);
        assert!(
            reference == cpu,
            "{}: reference differs from the CPU preparer",
            c.name
        );
    }
}

#[test]
fn tile_preparation_kernel_matches_the_cpu_in_f32_and_f16() {
    let Some(gpu) = gpu_for_test("tile_preparation_kernel") else {
        return;
    };
    for c in prep_cases() {
        let (t, lbs) = tiling_of(&c);
        let prep = CudaTilePreparer::new(gpu.clone(), &t, &lbs).unwrap();
        let (w, h) = (c.pano.width, c.pano.height);
        let pano = gpu.alloc(c.pano.data.len()).unwrap();
        gpu.upload_nv12(&c.pano.as_ref(), &pano.nv12(w, h)).unwrap();
        let cpu = cpu_tensor(&c, &t, &lbs);
        let n = prep.tensor_len();
        assert_eq!(n, cpu.len());
        let dev = gpu.alloc(n * 4).unwrap();
        // f32: poison with NaN (0xFF bytes), then compare in units of one 8-bit step.
        gpu.fill(dev.ptr(), 0xFF, n * 4).unwrap();
        prep.prepare(&pano.nv12(w, h), dev.ptr(), TensorType::F32)
            .unwrap();
        let mut got = vec![0f32; n];
        gpu.download(dev.ptr(), &mut got).unwrap();
        let worst = got
            .iter()
            .zip(&cpu)
            .map(|(a, b)| (a - b).abs() * 255.0)
            .fold(
                0f32,
                |m, d| if d.is_nan() { f32::INFINITY } else { m.max(d) },
            );
        let differ = got.iter().zip(&cpu).filter(|(a, b)| a != b).count();
        eprintln!(
            "prepare f32 {}: {} tiles, max abs error {worst:.3} LSB, {differ} of {n} differ",
            c.name,
            t.tiles.len()
        );
        assert!(
            worst <= 1.0 + 1e-3,
            "{}: f32 max abs error {worst} LSB",
            c.name
        );
        // f16: the f32 result rounded to half.
        gpu.fill(dev.ptr(), 0xFF, n * 2).unwrap();
        prep.prepare(&pano.nv12(w, h), dev.ptr(), TensorType::F16)
            .unwrap();
        let mut bits = vec![0u16; n];
        gpu.download(dev.ptr(), &mut bits).unwrap();
        let worst16 = bits
            .iter()
            .zip(&cpu)
            .map(|(b, r)| {
                let v = half::f16::from_bits(*b).to_f32();
                if v.is_nan() {
                    f32::INFINITY
                } else {
                    (v - half::f16::from_f32(*r).to_f32()).abs() * 255.0
                }
            })
            .fold(0f32, f32::max);
        eprintln!(
            "prepare f16 {}: max abs error against the rounded reference {worst16:.3} LSB",
            c.name
        );
        assert!(
            worst16 <= 1.0 + 1e-3,
            "{}: f16 max abs error {worst16} LSB",
            c.name
        );
    }
}

#[test]
fn cuda_backend_without_a_gpu_is_a_clear_start_error() {
    use shared::config::{Backend, CaptureConfig};
    assert!(
        capture::setup::gpu(&CaptureConfig::default())
            .unwrap()
            .is_none(),
        "the cpu backend opens no GPU"
    );
    let cfg = CaptureConfig {
        backend: Backend::Cuda,
        ..CaptureConfig::default()
    };
    match capture::setup::gpu(&cfg) {
        Ok(gpu) => assert!(gpu.is_some(), "the cuda backend must open a GPU"),
        Err(e) => {
            let m = format!("{e:#}");
            assert!(m.contains("capture.backend = \"cuda\""), "{m}");
            assert!(
                m.contains("no CUDA driver") || m.contains("no usable GPU"),
                "{m}"
            );
            assert!(
                !shared::gpu::testing::gpu_required(),
                "no GPU on the GPU machine: {m}"
            );
        }
    }
}

/// The stitched panorama of a synthetic rig of panorama width `width` (cameras of half that).
fn synthetic_panorama(width: u32) -> (Calibration, Nv12Image) {
    let cal = Calibration::synthetic(width, width / 2, width * 9 / 32);
    let mut st = cpu_stitcher(&cal);
    let views = synthetic_views(&cal);
    let (w, h) = (cal.panorama.width as usize, cal.panorama.height as usize);
    let mut pano = Nv12Image::new(w, h);
    st.stitch(
        [Some(&views[0].as_ref()), Some(&views[1].as_ref())],
        &mut pano.as_mut(),
    )
    .unwrap();
    (cal, pano)
}

/// Detections of `b` that match `d` (same class, centre within `px`, score within `score`).
fn matched(
    d: &shared::messages::Detection,
    b: &[shared::messages::Detection],
    px: f32,
    score: f32,
) -> bool {
    b.iter().any(|e| {
        e.class_id == d.class_id
            && (e.cx - d.cx).abs() <= px
            && (e.cy - d.cy).abs() <= px
            && (e.w - d.w).abs() <= 2.0 * px
            && (e.h - d.h).abs() <= 2.0 * px
            && (e.score - d.score).abs() <= score
    })
}

#[test]
fn cuda_engine_without_a_gpu_is_a_clear_start_error() {
    let cfg = shared::config::DetectorConfig {
        engine: "cuda".into(),
        ..Default::default()
    };
    match capture::detector::load_engine(&cfg) {
        Ok(e) => assert_eq!(e.name(), "cuda"),
        Err(e) => {
            let m = e.to_string();
            assert!(m.contains("detector.engine"), "{m}");
            assert!(m.contains("\"tract\""), "names the CPU engine to use: {m}");
            assert!(
                !shared::gpu::testing::gpu_required(),
                "the cuda engine did not load on the GPU machine: {m}"
            );
        }
    }
}

/// `cfg` on the `cuda` engine with tiles prepared on `gpu` (they never leave it), and the
/// panorama uploaded there.
fn gpu_detector(
    gpu: &Arc<Gpu>,
    cfg: &shared::config::DetectorConfig,
    cal: &Calibration,
    pano: &Nv12Image,
) -> (capture::detector::Detector, shared::gpu::DeviceBuffer) {
    let gcfg = shared::config::DetectorConfig {
        engine: "cuda".into(),
        ..cfg.clone()
    };
    let mut g = capture::detector::Detector::from_config(&gcfg, cal).unwrap();
    g.use_gpu(gpu.clone()).unwrap();
    assert!(g.tiles_stay_on_gpu(), "the cuda engine takes device tiles");
    let dev = gpu.alloc(pano.data.len()).unwrap();
    gpu.upload_nv12(&pano.as_ref(), &dev.nv12(pano.width, pano.height))
        .unwrap();
    (g, dev)
}

/// The shipped model through the GPU engine, its tiles prepared on the GPU and never
/// downloaded, against tract on the CPU with tiles prepared on the CPU, on one synthetic
/// demo-size panorama; then the GPU engine's time per frame.
#[test]
fn cuda_engine_on_gpu_tiles_matches_tract_on_the_cpu() {
    let Some(gpu) = gpu_for_test("cuda_engine") else {
        return;
    };
    let (cal, pano) = synthetic_panorama(1920);
    let cfg = shared::config::DetectorConfig {
        thresholds: vec![0.3],
        threads: 4,
        ..Default::default()
    };
    let mut cpu = capture::detector::Detector::from_config(&cfg, &cal).unwrap();
    let want = cpu.detect(&pano.as_ref(), 0, 0).unwrap().detections;
    let (mut g, dev) = gpu_detector(&gpu, &cfg, &cal, &pano);
    let (w, h) = (pano.width, pano.height);
    let before = gpu.transfers();
    g.prepare_device(&dev.nv12(w, h)).unwrap();
    let got = g.infer().unwrap();
    let after = gpu.transfers();
    assert_eq!(
        after.device_to_host, before.device_to_host,
        "no tile crossed back to the host through our GPU"
    );
    eprintln!(
        "cpu (tract): {} detections, gpu (cuda): {} detections, {} tiles",
        want.len(),
        got.len(),
        g.tiling().tiles.len()
    );
    assert!(
        want.iter().any(|d| d.class_id == 0),
        "the frame has a detected ball"
    );
    // Tiles prepared on either side differ by at most one 8-bit step, and the engines by
    // float rounding: every clear detection (0.05 above the threshold) is in the other set.
    let clear = |d: &&shared::messages::Detection| d.score >= 0.35;
    for d in want.iter().filter(clear) {
        assert!(matched(d, &got, 1.0, 0.03), "cpu {d:?} not on the gpu");
    }
    for d in got.iter().filter(clear) {
        assert!(matched(d, &want, 1.0, 0.03), "gpu {d:?} not on the cpu");
    }
    let mut ms = Vec::new();
    for _ in 0..20 {
        let t = std::time::Instant::now();
        g.prepare_device(&dev.nv12(w, h)).unwrap();
        g.infer().unwrap();
        ms.push(t.elapsed().as_secs_f64() * 1e3);
    }
    ms.sort_by(f64::total_cmp);
    let tiles = g.tiling().tiles.len() as f64;
    eprintln!(
        "cuda engine, {} tiles of {}: median {:.2} ms per frame ({:.2} ms per tile), engine alone {:.2} ms last frame; output read back {} bytes per frame",
        tiles,
        cfg.tile_size,
        ms[ms.len() / 2],
        ms[ms.len() / 2] / tiles,
        g.last_engine_us as f64 / 1e3,
        g.engine().transfers().dtoh_bytes / 21
    );
}

/// The ball verifier on tiles that stay on the GPU looks at the same crops as on the CPU: it
/// downloads the rows around each ball and looks at every ball (none unverified), turning
/// down about the same ones as the CPU detector does with tiles prepared on the CPU.
#[test]
fn ball_verifier_on_gpu_tiles_looks_as_on_the_cpu() {
    let Some(gpu) = gpu_for_test("ball_verifier") else {
        return;
    };
    let (cal, pano) = synthetic_panorama(1920);
    // Found from the repository root as the shipped detector is (the GPU machine runs the
    // test binary there).
    let cfg = shared::config::DetectorConfig {
        thresholds: vec![0.2],
        threads: 4,
        ball_verifier: "models/touchline-ball-verifier.onnx".into(),
        ball_verifier_threshold: 0.5,
        ..Default::default()
    };
    let mut cpu = capture::detector::Detector::from_config(&cfg, &cal).unwrap();
    let want = cpu.detect(&pano.as_ref(), 0, 0).unwrap().detections;
    let (mut g, dev) = gpu_detector(&gpu, &cfg, &cal, &pano);
    g.prepare_device(&dev.nv12(pano.width, pano.height))
        .unwrap();
    let got = g.infer().unwrap();
    let (c, gc) = (cpu.counts, g.counts);
    eprintln!("cpu {c:?}, gpu {gc:?}");
    assert!(c.verified > 0, "balls to look at: {c:?}");
    assert_eq!(gc.unverified, 0, "every ball on the GPU was looked at");
    // Tiles prepared on either side differ by one 8-bit step: a ball at the verifier's
    // threshold may go either way, no more than one in ten.
    let near = |a: u64, b: u64| a.abs_diff(b) <= 1 + a.max(b) / 10;
    assert!(near(c.verified, gc.verified), "{c:?} {gc:?}");
    assert!(
        near(c.verifier_rejected, gc.verifier_rejected),
        "{c:?} {gc:?}"
    );
    let balls =
        |v: &[shared::messages::Detection]| v.iter().filter(|d| d.class_id == 0).count() as u64;
    assert!(
        near(balls(&want), balls(&got)),
        "{} {}",
        balls(&want),
        balls(&got)
    );
}
