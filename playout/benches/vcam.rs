//! Virtual camera render time per frame (CPU backend, rayon over all cores) at 1280x720 and
//! 1920x1080 from the demo (1920x640) and production (5700x1900) panoramas, against a memcpy
//! of the output bytes. Run: `cargo bench -p touchline-playout --bench vcam`.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use playout::pose::Pose;
use playout::vcam::{ViewLimits, VirtualCamera};
use shared::geometry::Calibration;
use shared::image::Nv12Image;

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("vcam");
    g.sample_size(20);
    for (pw, cw, ch) in [(1920u32, 960u32, 540u32), (5700, 3840, 2160)] {
        let cal = Calibration::synthetic(pw, cw, ch);
        let (w, h) = (cal.panorama.width as usize, cal.panorama.height as usize);
        let mut pano = Nv12Image::new(w, h);
        // A textured panorama, so the sampler reads real data.
        for (i, p) in pano.data.iter_mut().enumerate() {
            *p = (i.wrapping_mul(2_654_435_761) >> 24) as u8;
        }
        for (ow, oh) in [(1280usize, 720usize), (1920, 1080)] {
            let vcam = VirtualCamera::new(
                cal.panorama.clone(),
                ow,
                oh,
                ViewLimits {
                    min_fov: 10.0,
                    max_fov: 90.0,
                    roll_deg: 0.0,
                },
            );
            let pose = vcam.limit(&Pose {
                yaw: 12.0,
                pitch: -14.0,
                fov: 45.0,
            });
            let mut out = Nv12Image::new(ow, oh);
            g.bench_function(format!("render {ow}x{oh} from {pw}x{}", h), |b| {
                b.iter(|| vcam.render(&pano.as_ref(), black_box(&pose), &mut out.as_mut()))
            });
            if pw == 1920 {
                let src = vec![7u8; ow * oh * 3 / 2];
                let mut dst = vec![0u8; src.len()];
                g.bench_function(
                    format!("memcpy {ow}x{oh} NV12 ({} bytes)", src.len()),
                    |b| b.iter(|| dst.copy_from_slice(black_box(&src))),
                );
            }
        }
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
