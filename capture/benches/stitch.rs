//! Stitch time per frame at 1920x640 and 5700x1900 against a memcpy of the same bytes, and
//! the synthetic source's frame rate. Run: `cargo bench -p touchline-capture --bench stitch`.

use capture::stitch::{CpuStitcher, GainSettings};
use capture::synthetic::{Exposure, SyntheticWorld};
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use shared::geometry::{Calibration, StitchLut};
use shared::image::Nv12Image;
use shared::scene::{BallScript, BallSource, Scenario};
use shared::time::FrameRate;

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("stitch");
    g.sample_size(20);
    for (pw, cw, ch) in [(1920u32, 960u32, 540u32), (5700, 3840, 2160)] {
        let cal = Calibration::synthetic(pw, cw, ch);
        let lut = StitchLut::compute(&cal);
        let script = BallScript::generate(Scenario::Mixed, 10.0, 1, &cal.pitch);
        let ex = [
            Exposure {
                gain: 1.06,
                noise: 2.0,
            },
            Exposure {
                gain: 0.94,
                noise: 2.0,
            },
        ];
        let mut world = SyntheticWorld::new(
            &cal,
            BallSource::Script(script),
            1,
            FrameRate::new(25, 1),
            ex,
        );
        let (cw, ch) = (cw as usize, ch as usize);
        let mut l = Nv12Image::new(cw, ch);
        let mut r = Nv12Image::new(cw, ch);
        world.render_next(&mut l.as_mut(), &mut r.as_mut());
        let mut st = CpuStitcher::new(&lut, [(cw, ch); 2], GainSettings::default());
        let (w, h) = (cal.panorama.width as usize, cal.panorama.height as usize);
        let mut out = Nv12Image::new(w, h);
        g.bench_function(format!("stitch_{w}x{h}"), |b| {
            b.iter(|| {
                st.stitch([Some(&l.as_ref()), Some(&r.as_ref())], &mut out.as_mut())
                    .unwrap()
            })
        });
        let src = vec![7u8; out.data.len()];
        let mut dst = vec![0u8; out.data.len()];
        g.bench_function(format!("memcpy_{w}x{h}"), |b| {
            b.iter(|| {
                dst.copy_from_slice(black_box(&src));
                black_box(&dst);
            })
        });
        g.bench_function(format!("synthetic_source_2x{cw}x{ch}"), |b| {
            b.iter(|| world.render_next(&mut l.as_mut(), &mut r.as_mut()))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
