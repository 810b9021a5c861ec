//! Checking a recorded programme: decodes it, counts frames, checks the timestamps, finds the
//! synthetic source's sync flashes in the video and beeps in the audio, and measures the
//! audio/video offset between them.

use gst::prelude::*;
use std::path::Path;

pub use shared::artefacts::OutputCheck;

/// Decodes `path` and measures it.
pub fn inspect(path: &Path) -> Result<OutputCheck, String> {
    gst::init().map_err(|e| e.to_string())?;
    let (p, v, a) = decode_pipeline(path)?;
    p.set_state(gst::State::Playing)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let mut check = OutputCheck {
        monotonic: true,
        ..Default::default()
    };
    let (mut v_done, mut a_done) = (false, false);
    let mut video = VideoTally::default();
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
                    video.add(&mut check, pts, &b.map_readable().unwrap());
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
    check.beeps_s = beep_onsets(&samples, audio_start.unwrap_or(0) as f64 / 1e9);
    for f in &check.flashes_s {
        if let Some(b) = check.beeps_s.iter().find(|b| (**b - f).abs() < 0.5) {
            check.av_offsets_ms.push((b - f) * 1000.0);
        }
    }
    Ok(check)
}

/// A decoding pipeline for `path` with a grey video sink `v` and a mono 48 kHz audio sink `a`.
fn decode_pipeline(
    path: &Path,
) -> Result<(gst::Pipeline, gst_app::AppSink, gst_app::AppSink), String> {
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
    let sink = |name: &str| {
        p.by_name(name)
            .and_then(|e| e.downcast::<gst_app::AppSink>().ok())
    };
    let v = sink("v").ok_or("no video sink")?;
    let a = sink("a").ok_or("no audio sink")?;
    Ok((p, v, a))
}

/// The video frames so far: timestamps in order, frozen runs (the same picture again), and
/// sync flashes (the mean brightness crossing 200).
#[derive(Default)]
struct VideoTally {
    last_pts: Option<u64>,
    last_sum: Option<u64>,
    frozen: u64,
    prev_bright: bool,
}

impl VideoTally {
    fn add(&mut self, check: &mut OutputCheck, pts: u64, grey: &[u8]) {
        if self.last_pts.is_some_and(|l| pts <= l) {
            check.monotonic = false;
        }
        self.last_pts = Some(pts);
        let sum: u64 = grey.iter().step_by(7).map(|&x| x as u64).sum();
        let mean = sum as f64 / (grey.len() / 7).max(1) as f64;
        if self.last_sum == Some(sum) {
            self.frozen += 1;
            check.longest_frozen = check.longest_frozen.max(self.frozen + 1);
        } else {
            self.frozen = 0;
        }
        self.last_sum = Some(sum);
        let bright = mean > 200.0;
        if bright && !self.prev_bright {
            check.flashes_s.push(pts as f64 / 1e9);
        }
        self.prev_bright = bright;
        check.video_frames += 1;
    }
}

/// Beep onsets (seconds, from `t0`): 5 ms windows whose RMS jumps above a threshold after a
/// quiet stretch, refined to the first loud sample in the window.
fn beep_onsets(samples: &[i16], t0: f64) -> Vec<f64> {
    let win = 240;
    let mut out = Vec::new();
    let mut quiet = 0usize;
    for (i, w) in samples.chunks(win).enumerate() {
        let rms = (w.iter().map(|&s| (s as f64).powi(2)).sum::<f64>() / w.len() as f64).sqrt();
        if rms > 8000.0 {
            if quiet >= 20 {
                let k = w.iter().position(|&s| s.unsigned_abs() > 6000).unwrap_or(0);
                out.push(t0 + (i * win + k) as f64 / 48_000.0);
            }
            quiet = 0;
        } else {
            quiet += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_beep_after_silence_is_found_at_its_first_loud_sample() {
        let mut s = vec![0i16; 48_000];
        for (i, x) in s[24_010..24_010 + 2400].iter_mut().enumerate() {
            *x = if i % 2 == 0 { 12_000 } else { -12_000 };
        }
        let b = beep_onsets(&s, 1.0);
        assert_eq!(b.len(), 1);
        assert!((b[0] - (1.0 + 24_010.0 / 48_000.0)).abs() < 1e-9, "{b:?}");
        assert!(beep_onsets(&vec![0i16; 4800], 0.0).is_empty());
    }

    #[test]
    fn frames_out_of_order_frozen_and_flashing_are_counted() {
        let mut c = OutputCheck {
            monotonic: true,
            ..Default::default()
        };
        let mut t = VideoTally::default();
        let dark = vec![20u8; 700];
        let bright = vec![240u8; 700];
        t.add(&mut c, 0, &dark);
        t.add(&mut c, 40_000_000, &dark);
        t.add(&mut c, 80_000_000, &dark);
        t.add(&mut c, 120_000_000, &bright);
        assert!(c.monotonic);
        t.add(&mut c, 100_000_000, &dark);
        assert!(!c.monotonic);
        assert_eq!(c.video_frames, 5);
        assert_eq!(c.longest_frozen, 3);
        assert_eq!(c.flashes_s, vec![0.12]);
    }
}
