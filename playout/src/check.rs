//! Checking a recorded programme: decodes it, counts frames, checks the timestamps, finds the
//! synthetic source's sync flashes in the video and beeps in the audio, and measures the
//! audio/video offset between them.

use gst::prelude::*;
use std::path::Path;

pub use shared::artefacts::OutputCheck;

/// Decodes `path` and measures it.
pub fn inspect(path: &Path) -> Result<OutputCheck, String> {
    gst::init().map_err(|e| e.to_string())?;
    let desc = format!(
        "filesrc location=\"{}\" ! decodebin name=d \
         d. ! queue ! videoconvert ! video/x-raw,format=GRAY8 ! appsink name=v sync=false async=false \
         d. ! queue ! audioconvert ! audioresample ! audio/x-raw,format=S16LE,channels=1,rate=48000 ! appsink name=a sync=false async=false",
        path.display()
    );
    let p = gst::parse::launch(&desc)
        .map_err(|e| format!("{}: {e}", path.display()))?
        .downcast::<gst::Pipeline>()
        .map_err(|_| "not a pipeline".to_string())?;
    let v = p
        .by_name("v")
        .and_then(|e| e.downcast::<gst_app::AppSink>().ok())
        .ok_or("no video sink")?;
    let a = p
        .by_name("a")
        .and_then(|e| e.downcast::<gst_app::AppSink>().ok())
        .ok_or("no audio sink")?;
    p.set_state(gst::State::Playing)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let mut check = OutputCheck {
        monotonic: true,
        ..Default::default()
    };
    let (mut v_done, mut a_done) = (false, false);
    let mut last_pts: Option<u64> = None;
    let mut last_sum: Option<u64> = None;
    let mut frozen = 0u64;
    let mut prev_bright = false;
    let mut samples: Vec<i16> = Vec::new();
    let mut audio_start: Option<u64> = None;
    let bus = p.bus().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(600);
    while !(v_done && a_done) {
        if std::time::Instant::now() > deadline {
            let _ = p.set_state(gst::State::Null);
            return Err(format!(
                "{}: decoding did not finish within 10 minutes",
                path.display()
            ));
        }
        if let Some(msg) = bus.pop_filtered(&[gst::MessageType::Error]) {
            if let gst::MessageView::Error(e) = msg.view() {
                // A file without audio has no audio pad: that is fine, stop waiting for it.
                if e.error().to_string().contains("not-linked") || check.video_frames > 0 {
                    a_done = true;
                } else {
                    let _ = p.set_state(gst::State::Null);
                    return Err(format!("{}: {}", path.display(), e.error()));
                }
            }
        }
        if !v_done {
            match v.try_pull_sample(gst::ClockTime::from_mseconds(50)) {
                Some(s) => {
                    let b = s.buffer().unwrap();
                    let pts = b.pts().map(|t| t.nseconds()).unwrap_or(0);
                    if last_pts.is_some_and(|l| pts <= l) {
                        check.monotonic = false;
                    }
                    last_pts = Some(pts);
                    let m = b.map_readable().unwrap();
                    let sum: u64 = m.iter().step_by(7).map(|&x| x as u64).sum();
                    let mean = sum as f64 / (m.len() / 7).max(1) as f64;
                    if last_sum == Some(sum) {
                        frozen += 1;
                        check.longest_frozen = check.longest_frozen.max(frozen + 1);
                    } else {
                        frozen = 0;
                    }
                    last_sum = Some(sum);
                    let bright = mean > 200.0;
                    if bright && !prev_bright {
                        check.flashes_s.push(pts as f64 / 1e9);
                    }
                    prev_bright = bright;
                    check.video_frames += 1;
                }
                None => v_done = v.is_eos(),
            }
        }
        if !a_done {
            match a.try_pull_sample(gst::ClockTime::from_mseconds(5)) {
                Some(s) => {
                    let b = s.buffer().unwrap();
                    if audio_start.is_none() {
                        audio_start = b.pts().map(|t| t.nseconds());
                    }
                    let m = b.map_readable().unwrap();
                    samples.extend(m.chunks_exact(2).map(|c| i16::from_le_bytes([c[0], c[1]])));
                }
                None => {
                    a_done = a.is_eos() || (v_done && check.video_frames > 0 && samples.is_empty())
                }
            }
        }
    }
    let _ = p.set_state(gst::State::Null);
    check.audio_seconds = samples.len() as f64 / 48_000.0;
    // Beep onsets: 5 ms windows whose RMS jumps above a threshold after a quiet stretch.
    let win = 240;
    let t0 = audio_start.unwrap_or(0) as f64 / 1e9;
    let mut quiet = 0usize;
    for (i, w) in samples.chunks(win).enumerate() {
        let rms = (w.iter().map(|&s| (s as f64).powi(2)).sum::<f64>() / w.len() as f64).sqrt();
        if rms > 8000.0 {
            if quiet >= 20 {
                // Refine to the first loud sample in the window.
                let k = w.iter().position(|&s| s.unsigned_abs() > 6000).unwrap_or(0);
                check.beeps_s.push(t0 + (i * win + k) as f64 / 48_000.0);
            }
            quiet = 0;
        } else {
            quiet += 1;
        }
    }
    for f in &check.flashes_s {
        if let Some(b) = check.beeps_s.iter().find(|b| (**b - f).abs() < 0.5) {
            check.av_offsets_ms.push((b - f) * 1000.0);
        }
    }
    Ok(check)
}
