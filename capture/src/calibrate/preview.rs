//! The calibration's picture: the first frame of both cameras stitched with the new
//! calibration, the pitch lines of the model drawn over it (magenta) and every landmark where
//! it was clicked (green: used in the fit, yellow: held out, red: outlier). Lines that run
//! through the grass's painted lines mean a good calibration. Also the seam's photometric
//! difference.

use super::landmarks::Landmark;
use super::rig_fit::Use;
use crate::stitch::{CpuStitcher, GainSettings};
use anyhow::{bail, Context, Result};
use gst::prelude::*;
use gst_video::prelude::*;
use shared::geometry::{Calibration, StitchLut};
use shared::image::{Nv12Image, Nv12Mut, Nv12Ref};
use std::path::Path;

/// The first video frame of a video or image file, as NV12 at its own size.
pub fn first_frame(path: &Path) -> Result<Nv12Image> {
    frame_at(path, 0)
}

/// Video frame `index` (0: the first) of a video or image file, as NV12 at its own size.
pub fn frame_at(path: &Path, index: usize) -> Result<Nv12Image> {
    if !path.exists() {
        bail!("{}: no such file", path.display());
    }
    let desc = format!(
        "filesrc location=\"{}\" ! decodebin ! videoconvert ! video/x-raw,format=NV12 ! appsink name=s sync=false max-buffers=1",
        path.display().to_string().replace('"', "\\\"")
    );
    let p = gst::parse::launch(&desc)?
        .downcast::<gst::Pipeline>()
        .map_err(|_| anyhow::anyhow!("not a pipeline"))?;
    let sink = p
        .by_name("s")
        .and_then(|e| e.downcast::<gst_app::AppSink>().ok())
        .context("appsink")?;
    p.set_state(gst::State::Playing)?;
    let mut sample = None;
    for _ in 0..=index {
        sample = sink.try_pull_sample(gst::ClockTime::from_seconds(30));
        if sample.is_none() {
            break;
        }
    }
    let _ = p.set_state(gst::State::Null);
    let sample = sample.with_context(|| {
        format!(
            "{}: video frame {index} could not be decoded (is it a video or an image GStreamer can read, with that many frames?)",
            path.display()
        )
    })?;
    let info = gst_video::VideoInfo::from_caps(sample.caps().context("caps")?)?;
    let buf = sample.buffer().context("buffer")?;
    let frame = gst_video::VideoFrameRef::from_buffer_ref_readable(buf, &info)
        .map_err(|_| anyhow::anyhow!("cannot map the frame"))?;
    let (w, h) = (info.width() as usize, info.height() as usize);
    let src = Nv12Ref {
        width: w,
        height: h,
        y: frame.plane_data(0)?,
        y_stride: frame.plane_stride()[0] as usize,
        uv: frame.plane_data(1)?,
        uv_stride: frame.plane_stride()[1] as usize,
    };
    Ok(Nv12Image::from_ref(&src))
}

/// Colours (Y, U, V) of the drawings.
const LINE: (u8, u8, u8) = (105, 212, 234);
const FIT: (u8, u8, u8) = (145, 54, 34);
const HELD: (u8, u8, u8) = (210, 16, 146);
const OUTLIER: (u8, u8, u8) = (81, 90, 240);

fn dot(img: &mut Nv12Mut<'_>, u: f64, v: f64, r: i64, c: (u8, u8, u8)) {
    let (cx, cy) = (u.round() as i64, v.round() as i64);
    for y in cy - r..=cy + r {
        for x in cx - r..=cx + r {
            if x < 0 || y < 0 || x >= img.width as i64 || y >= img.height as i64 {
                continue;
            }
            let (x, y) = (x as usize, y as usize);
            img.y[y * img.y_stride + x] = c.0;
            let k = (y / 2) * img.uv_stride + (x / 2) * 2;
            img.uv[k] = c.1;
            img.uv[k + 1] = c.2;
        }
    }
}

/// The stitched first frames at the calibration's panorama size, with the drawings; and the
/// mean luma difference (code values) and luma ratio (right / left) of the two cameras where
/// they overlap, before gain matching.
pub fn render(
    cal: &Calibration,
    frames: [&Nv12Image; 2],
    marks: &[(Landmark, Use)],
) -> Result<(Nv12Image, Option<(f64, f64)>)> {
    for (i, f) in frames.iter().enumerate() {
        let c = &cal.cameras[i];
        if (f.width, f.height) != (c.width as usize, c.height as usize) {
            bail!(
                "the {} camera's frame is {}x{} but its calibration is {}x{}: give a frame of that camera at its full size",
                c.name, f.width, f.height, c.width, c.height
            );
        }
    }
    let lut = StitchLut::compute(cal);
    let overlap = overlap_difference(&lut, frames);
    let sizes = [0, 1].map(|i| (frames[i].width, frames[i].height));
    let mut stitcher = CpuStitcher::new(
        &lut,
        sizes,
        GainSettings {
            smoothing: 1.0,
            max_gain: 1.5,
        },
    );
    let (w, h) = (cal.panorama.width as usize, cal.panorama.height as usize);
    let mut out = Nv12Image::new(w, h);
    {
        let mut o = out.as_mut();
        stitcher
            .stitch(
                [Some(&frames[0].as_ref()), Some(&frames[1].as_ref())],
                &mut o,
            )
            .context("stitching the preview")?;
        let r = (w as i64 / 2400).max(1);
        for (x, y) in super::pitch_lines::points(cal.pitch.length_m, cal.pitch.width_m) {
            let (u, v) = cal.pitch_to_panorama(x, y, 0.0);
            dot(&mut o, u, v, r - 1, LINE);
        }
        for (l, used) in marks {
            let Some(i) = cal.cameras.iter().position(|c| c.name == l.camera) else {
                continue;
            };
            if let Some((u, v)) = cal.camera_to_panorama(i, l.u_px, l.v_px) {
                let c = match used {
                    Use::Fit => FIT,
                    Use::Held => HELD,
                    Use::Outlier => OUTLIER,
                };
                dot(&mut o, u, v, 3 * r, c);
            }
        }
    }
    Ok((out, overlap))
}

/// Mean absolute luma difference and mean luma ratio (right / left) of the two cameras over
/// the panorama pixels both see, sampled at their nearest camera pixels.
fn overlap_difference(lut: &StitchLut, frames: [&Nv12Image; 2]) -> Option<(f64, f64)> {
    let (mut diff, mut a, mut b, mut n) = (0.0, 0.0, 0.0, 0u64);
    let n_px = (lut.width * lut.height) as usize;
    for k in 0..n_px {
        let [l, r] = &lut.cams;
        if !(l.w[k] > 0.0 && r.w[k] > 0.0 && l.x[k] >= 0.0 && r.x[k] >= 0.0) {
            continue;
        }
        let s = |i: usize, x: f32, y: f32| {
            let f = frames[i];
            let (x, y) = (
                (x.round() as usize).min(f.width - 1),
                (y.round() as usize).min(f.height - 1),
            );
            f.luma(x, y) as f64
        };
        let (yl, yr) = (s(0, l.x[k], l.y[k]), s(1, r.x[k], r.y[k]));
        diff += (yl - yr).abs();
        a += yl;
        b += yr;
        n += 1;
    }
    (n > 0 && a > 0.0).then(|| (diff / n as f64, b / a))
}

/// Writes an NV12 image as a JPEG file.
pub fn write_jpeg(img: &Nv12Image, path: &Path) -> Result<()> {
    let (w, h) = (img.width, img.height);
    let mut rgba = vec![0u8; w * h * 4];
    shared::image::nv12_to_rgba(&img.as_ref(), &mut rgba);
    let rgb: Vec<u8> = rgba.chunks(4).flat_map(|p| [p[0], p[1], p[2]]).collect();
    let enc = jpeg_encoder::Encoder::new_file(path, 88)
        .with_context(|| format!("writing {}", path.display()))?;
    enc.encode(&rgb, w as u16, h as u16, jpeg_encoder::ColorType::Rgb)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}
