//! The CUDA kernels of playout (virtual camera, panorama view) and the GPU frame pool with the
//! delay ring, against their CPU references.
//!
//! Everywhere: the references (the grid from the values the kernel receives, the overlay's
//! resolved writes) are checked against the CPU renderer. With a GPU (set
//! `TOUCHLINE_REQUIRE_GPU=1` on the GPU machine to make it mandatory): kernel output against
//! the CPU, on random and synthetic panoramas, with outputs poisoned first.

use playout::frame::FrameRef;
use playout::gpu::{
    grid_reference, CudaPanoramaView, CudaVirtualCamera, OVERLAY_SOURCE, VCAM_SOURCE,
};
use playout::overlay;
use playout::pose::Pose;
use playout::ring::{DelayRing, RingFrame, RingMode};
use playout::vcam::{ViewLimits, VirtualCamera};
use rand::{Rng, SeedableRng};
use shared::geometry::{Calibration, PanoramaSpec};
use shared::gpu::testing::gpu_for_test;
use shared::gpu::{compile_ptx, nvrtc_present, GpuFramePool};
use shared::image::{nv12_to_rgba, Nv12Image};
use shared::messages::{BallState, TrackStatus, Tracks};

fn spec() -> PanoramaSpec {
    Calibration::synthetic(1920, 960, 540).panorama
}

fn camera(out_w: usize, out_h: usize) -> VirtualCamera {
    VirtualCamera::new(
        spec(),
        out_w,
        out_h,
        ViewLimits {
            min_fov: 10.0,
            max_fov: 100.0,
            roll_deg: 0.0,
        },
    )
}

fn poses(vc: &VirtualCamera) -> Vec<Pose> {
    [
        (0.0, -15.0, 40.0),
        (-35.0, -10.0, 25.0),
        (40.0, -20.0, 60.0),
        (12.3, -17.7, 12.5),
        (0.0, -16.0, 90.0),
    ]
    .iter()
    .map(|&(yaw, pitch, fov)| vc.limit(&Pose { yaw, pitch, fov }))
    .collect()
}

fn random_nv12(w: usize, h: usize, seed: u64) -> Nv12Image {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut img = Nv12Image::new(w, h);
    rng.fill(&mut img.data[..]);
    img
}

/// Smooth gradients with sharp lines: what a pitch looks like to a sampler.
fn synthetic_pano(w: usize, h: usize) -> Nv12Image {
    let mut img = Nv12Image::new(w, h);
    for y in 0..h {
        for x in 0..w {
            let line = (x % 97 < 2) || (y % 61 < 2);
            img.data[y * w + x] = if line {
                235
            } else {
                (40 + (x * 3 + y * 5) % 150) as u8
            };
        }
    }
    for (i, p) in img.data[w * h..].iter_mut().enumerate() {
        *p = (64 + (i * 7) % 128) as u8;
    }
    img
}

fn max_abs_diff(a: &[u8], b: &[u8]) -> (u8, usize) {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).fold((0, 0), |(m, n), (x, y)| {
        let d = x.abs_diff(*y);
        (m.max(d), n + (d != 0) as usize)
    })
}

fn tracks() -> Tracks {
    Tracks {
        pts_ns: 0,
        ball: Some(BallState {
            x_m: 0.0,
            y_m: 0.0,
            z_m: 0.0,
            vx_mps: 0.0,
            vy_mps: 0.0,
            vz_mps: 0.0,
            px: 900.0,
            py: 400.0,
            confidence: 1.0,
            status: TrackStatus::Tracked,
        }),
        players: None,
    }
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
    for (name, src) in [("vcam", VCAM_SOURCE), ("overlay", OVERLAY_SOURCE)] {
        let ptx = compile_ptx(name, src, "sm_90").unwrap_or_else(|e| panic!("{e}"));
        assert!(
            ptx.to_src().contains(".entry"),
            "{name}: no kernel in the PTX"
        );
    }
}

#[test]
fn grid_reference_matches_the_cpu_camera() {
    let vc = camera(1280, 720);
    for pose in poses(&vc) {
        let g = vc.grid(&pose);
        let r = grid_reference(&vc.pose_basis(&pose), (1280, 720), &vc.pano, vc.grid_size());
        assert_eq!(g, r, "pose {pose:?}");
    }
}

#[test]
fn resolved_overlay_writes_paint_what_draw_paints() {
    let vc = camera(1280, 720);
    let pose = poses(&vc)[0];
    let (w, h) = (640, 214);
    let k = w as f64 / 1920.0;
    let t = tracks();
    let mut drawn = synthetic_pano(w, h);
    overlay::draw(
        &mut drawn.as_mut(),
        k,
        Some(&t),
        Some((800.0, 420.0)),
        &vc,
        &pose,
    );
    let mut scattered = synthetic_pano(w, h);
    let dots = overlay::plan(k, Some(&t), Some((800.0, 420.0)), &vc, &pose);
    for [off, v] in overlay::resolve(&dots, w, h, w) {
        scattered.data[off as usize] = v as u8;
    }
    assert!(drawn == scattered);
    assert!(drawn != synthetic_pano(w, h), "the overlay drew nothing");
}

#[test]
fn virtual_camera_kernel_matches_the_cpu_in_nv12_and_rgba() {
    let Some(gpu) = gpu_for_test("virtual_camera_kernel") else {
        return;
    };
    let s = spec();
    let (pw, ph) = (s.width as usize, s.height as usize);
    for (out_w, out_h) in [(1280usize, 720usize), (1920, 1080), (642, 362)] {
        let vc = camera(out_w, out_h);
        let cuda = CudaVirtualCamera::new(gpu.clone(), vc.clone()).unwrap();
        let out = gpu.alloc(out_w * out_h * 3 / 2).unwrap();
        let rgba = gpu.alloc(out_w * out_h * 4).unwrap();
        for (name, pano) in [
            ("random", random_nv12(pw, ph, 11)),
            ("synthetic", synthetic_pano(pw, ph)),
        ] {
            let dev = gpu.alloc(pano.data.len()).unwrap();
            gpu.upload_nv12(&pano.as_ref(), &dev.nv12(pw, ph)).unwrap();
            for pose in poses(&vc) {
                gpu.fill(out.ptr(), 0xA5, out_w * out_h * 3 / 2).unwrap();
                cuda.render(&dev.nv12(pw, ph), &pose, &out.nv12(out_w, out_h))
                    .unwrap();
                let mut got = Nv12Image::new(out_w, out_h);
                gpu.download_nv12(&out.nv12(out_w, out_h), &mut got.as_mut())
                    .unwrap();
                let mut cpu = Nv12Image::new(out_w, out_h);
                vc.render(&pano.as_ref(), &pose, &mut cpu.as_mut());
                let (worst, count) = max_abs_diff(&got.data, &cpu.data);
                // The grid (double precision trigonometry on both sides, then rounded to f32).
                let (gw, gh) = vc.grid_size();
                let mut grid = vec![0f32; gw * gh * 2];
                gpu.download(cuda.grid_ptr(), &mut grid).unwrap();
                let g = vc.grid(&pose);
                let grid_err = g
                    .points
                    .iter()
                    .enumerate()
                    .map(|(i, p)| (p.0 - grid[2 * i]).abs().max((p.1 - grid[2 * i + 1]).abs()))
                    .fold(0f32, f32::max);
                eprintln!(
                    "vcam {out_w}x{out_h} {name} {pose:?}: max abs error {worst} LSB, {count} of {} differ; grid max error {grid_err:e} px",
                    got.data.len()
                );
                assert!(worst <= 1, "max abs error {worst} LSB");
                assert!(grid_err < 1e-3, "grid error {grid_err} px");
                // RGBA of the GPU's NV12 against the CPU conversion of the same NV12.
                gpu.fill(rgba.ptr(), 0, out_w * out_h * 4).unwrap();
                cuda.to_rgba(&out.nv12(out_w, out_h), &rgba).unwrap();
                let mut got_rgba = vec![0u8; out_w * out_h * 4];
                gpu.download(rgba.ptr(), &mut got_rgba).unwrap();
                let mut cpu_rgba = vec![0u8; out_w * out_h * 4];
                nv12_to_rgba(&got.as_ref(), &mut cpu_rgba);
                let (worst, count) = max_abs_diff(&got_rgba, &cpu_rgba);
                assert!(
                    worst <= 1,
                    "RGBA max abs error {worst} LSB ({count} differ)"
                );
            }
        }
    }
}

#[test]
fn panorama_view_kernels_match_the_cpu() {
    let Some(gpu) = gpu_for_test("panorama_view_kernels") else {
        return;
    };
    let s = spec();
    let (pw, ph) = (s.width as usize, s.height as usize);
    let vc = camera(1280, 720);
    let pose = poses(&vc)[1];
    let view = CudaPanoramaView::new(gpu.clone()).unwrap();
    for (name, pano) in [
        ("random", random_nv12(pw, ph, 21)),
        ("synthetic", synthetic_pano(pw, ph)),
    ] {
        let dev = gpu.alloc(pano.data.len()).unwrap();
        gpu.upload_nv12(&pano.as_ref(), &dev.nv12(pw, ph)).unwrap();
        for (vw, vh) in [(1280usize, 426usize), (640, 214)] {
            let k = vw as f64 / pw as f64;
            let dots = overlay::plan(k, Some(&tracks()), Some((800.0, 420.0)), &vc, &pose);
            let out = gpu.alloc(vw * vh * 3 / 2).unwrap();
            gpu.fill(out.ptr(), 0xA5, vw * vh * 3 / 2).unwrap();
            view.scale(&dev.nv12(pw, ph), &out.nv12(vw, vh)).unwrap();
            view.draw(&out.nv12(vw, vh), &dots).unwrap();
            let mut got = Nv12Image::new(vw, vh);
            gpu.download_nv12(&out.nv12(vw, vh), &mut got.as_mut())
                .unwrap();
            let mut cpu = Nv12Image::new(vw, vh);
            overlay::scale(&pano.as_ref(), &mut cpu.as_mut());
            overlay::apply(&mut cpu.as_mut(), &dots);
            let (worst, count) = max_abs_diff(&got.data, &cpu.data);
            eprintln!("panorama view {name} {vw}x{vh}: max abs error {worst} LSB, {count} differ");
            assert!(worst <= 1, "max abs error {worst} LSB");
        }
    }
}

#[test]
fn delay_ring_holds_references_to_pooled_gpu_frames() {
    let Some(gpu) = gpu_for_test("delay_ring_gpu_frames") else {
        return;
    };
    let (w, h) = (640, 214);
    let pool = GpuFramePool::new(&gpu, w, h, 4).unwrap();
    let mut ring: DelayRing<FrameRef> = DelayRing::new(100, 8, RingMode::ZeroCopy);
    let mut indices = Vec::new();
    for pts in [0u64, 40, 80, 120] {
        let f = pool.acquire().expect("a free frame");
        indices.push(f.index());
        ring.push(RingFrame {
            pts_ns: pts,
            seq: pts,
            buffer: FrameRef::Cuda(f),
        });
    }
    assert!(
        pool.acquire().is_none(),
        "every frame is referenced by the ring"
    );
    assert_eq!(pool.available(), 0);
    let out = ring.pop_due(100).unwrap();
    let FrameRef::Cuda(f) = &out.buffer else {
        panic!("zero-copy ring changed the frame kind")
    };
    assert_eq!(f.index(), indices[0], "the same device frame comes out");
    assert_eq!(ring.stats().bytes_copied, 0);
    drop(out);
    assert_eq!(
        pool.available(),
        1,
        "the frame returns to the pool with its last reference"
    );

    // Host-copy (the old design): the frame goes to system memory and back.
    let mut old: DelayRing<FrameRef> = DelayRing::new(0, 8, RingMode::HostCopy);
    let f = pool.acquire().unwrap();
    let img = random_nv12(w, h, 5);
    gpu.upload_nv12(&img.as_ref(), &f.nv12()).unwrap();
    let before = gpu.transfers();
    old.push(RingFrame {
        pts_ns: 0,
        seq: 0,
        buffer: FrameRef::Cuda(f),
    });
    assert_eq!(pool.available(), 1, "the host copy holds no device frame");
    let out = old.pop_due(0).unwrap();
    let FrameRef::Downloaded(bytes) = &out.buffer else {
        panic!("host-copy ring should hold a system-memory copy")
    };
    assert!(bytes.as_slice() == img.data.as_slice());
    let moved = gpu.transfers().device_to_host - before.device_to_host;
    assert_eq!(moved as usize, w * h * 3 / 2);
    assert_eq!(old.stats().bytes_copied as usize, 2 * w * h * 3 / 2);
}
